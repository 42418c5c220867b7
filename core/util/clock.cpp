// utc_timestamp (see clock.hpp).
#include "core/util/clock.hpp"

#include <ctime>

namespace dhs::util {

std::string utc_timestamp() {
    const std::time_t t = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buf;
}

}  // namespace dhs::util

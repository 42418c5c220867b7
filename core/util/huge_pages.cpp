// HugePagesOff (see huge_pages.hpp).
#include "core/util/huge_pages.hpp"

#include <sys/prctl.h>

namespace dhs::util {

HugePagesOff::HugePagesOff() : previous_(::prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)) {
    if (previous_ == 0) ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}

HugePagesOff::~HugePagesOff() {
    if (previous_ == 0) ::prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
}

}  // namespace dhs::util

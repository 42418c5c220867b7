// fuzz_spool: the spool file reader (core/engine/spool.*) on any file, as the engine uses it:
// verify_spool (the --resume check), read_spool_summary (the gather's plan), read_spool (a
// whole unit), and a SpoolReader streaming every column the way the gather does (numbers
// into a buffer of the declared size, strings into fixed-width slots of the header's
// max_string_bytes). A dhs::Error (DataError) is the right answer to a bad file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/spool.hpp"
#include "core/error.hpp"
#include "fuzz_util.hpp"

namespace {

void stream_like_gather(const std::string& path) {
    dhs::engine::SpoolReader r(path);
    while (!r.at_end()) {
        const auto& g = r.next_group();
        const auto& c = r.next_column();
        const std::size_t count = static_cast<std::size_t>(g.rows) * c.cell_size();
        if (c.dtype == dhs::DType::string) {
            const std::size_t width = static_cast<std::size_t>(c.max_string_bytes);
            if (width > 0 && count <= (std::size_t{64} << 20) / width) {
                std::vector<char> slots(count * width);
                r.read_strings_fixed(slots.data(), width);
            } else {  // fixed-width slots this large are the gather's business: read them as strings
                std::vector<std::string> v(count);
                r.read_strings(v.data(), v.size());
            }
        } else {
            std::vector<char> raw(count * dhs::dtype_size(c.dtype));
            r.read_raw(raw.data(), raw.size());
        }
    }
    r.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dhs::fuzz::ScratchFile file("spool", ".spool");
    file.write(data, size);
    (void)dhs::engine::verify_spool(file.path());
    try {
        (void)dhs::engine::read_spool_summary(file.path());
    } catch (const dhs::Error&) {
    }
    try {
        (void)dhs::engine::read_spool(file.path());
    } catch (const dhs::Error&) {
    }
    try {
        stream_like_gather(file.path());
    } catch (const dhs::Error&) {
    }
    return 0;
}

// fuzz_sweep_reader: SweepReader (core/fits/sweep_reader.*) on any file, as the sample stage
// uses it: open (header, columns, the size check against the file), then every readable
// column read in row blocks, first all at once with optional requests, then streamed with
// for_each_block. A dhs::Error (FitsError, MissingColumnError, DataError) is the right answer
// to a bad file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fits/sweep_reader.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const dhs::fuzz::ScratchFile file("sweep", ".fits");
    file.write(data, size);
    try {
        dhs::fits::SweepReader r(file.path(), 7);
        std::vector<dhs::fits::ColumnRequest> requests;
        std::vector<std::string> names;
        for (const auto& c : r.columns()) {
            requests.push_back({c.name, false});
            if (c.readable) names.push_back(c.name);
        }
        requests.push_back({"NO_SUCH_COLUMN", false});
        const std::int64_t n = r.num_rows();
        // Units of at most 64 rows, each read in blocks of 7 (the reader's block size above).
        for (std::int64_t b0 = 0; b0 < n; b0 += 64) {
            try {
                (void)r.read(requests, b0, std::min(n, b0 + 64));
            } catch (const dhs::FitsError&) {  // an unreadable column type (X, C, M, P, Q) requested
                break;
            }
        }
        r.for_each_block(names, 5, [](const dhs::Table&, std::int64_t) {});
    } catch (const dhs::Error&) {
    }
    return 0;
}

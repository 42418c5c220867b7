// fuzz_lenscat: the lens-catalog CSV readers of the sample stage (mpi_stages/sample/
// lens_catalog.*): read_lenscat (lenscat's name,RA,DEC,zlens,type,grading,ref with free-text
// zlens and RFC 4180 quoting), collapse_duplicates over what it read, and
// read_position_catalog (confusers, contaminants) on the same bytes. A dhs::Error (DataError)
// is the right answer to a bad file.
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "fuzz_util.hpp"
#include "mpi_stages/sample/lens_catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dhs::stages::sample;
    static const dhs::fuzz::ScratchFile file("lenscat", ".csv");
    file.write(data, size);
    try {
        const LensCatalog cat = read_lenscat(file.path());
        (void)collapse_duplicates(cat, 1.0);
        (void)collapse_duplicates(cat, 60.0);
    } catch (const dhs::Error&) {
    }
    try {
        (void)read_position_catalog(file.path());
    } catch (const dhs::Error&) {
    }
    return 0;
}

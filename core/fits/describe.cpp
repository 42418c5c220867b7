// describe_file for FITS (see describe.hpp).
#include "core/fits/describe.hpp"

#include <fmt/format.h>

#include "core/fits/cfitsio_handle.hpp"

namespace dhs::fits {

namespace {
std::string key_string(fitsfile* f, const char* key) {
    char value[FLEN_VALUE] = {0};
    int status = 0;
    fits_read_key(f, TSTRING, key, value, nullptr, &status);
    return status == 0 ? std::string(value) : std::string();
}
}  // namespace

std::string describe_file(const std::string& path, std::size_t max_columns) {
    FitsFile file = FitsFile::open(path);
    fitsfile* f = fptr(file);
    std::string out = fmt::format("FITS file {}\n", path);
    int n = file.hdu_count();
    for (int hdu = 1; hdu <= n; ++hdu) {
        int type = file.move_to(hdu);
        int status = 0;
        std::string extname = key_string(f, "EXTNAME");
        std::string label = fmt::format("HDU {}{}", hdu, extname.empty() ? "" : " '" + extname + "'");
        if (type == IMAGE_HDU) {
            int bitpix = 0, naxis = 0;
            long naxes[9] = {0};
            fits_get_img_param(f, 9, &bitpix, &naxis, naxes, &status);
            file.check(status, "cannot read image parameters");
            int compressed = fits_is_compressed_image(f, &status);
            std::string dims;
            for (int i = 0; i < naxis; ++i) dims += fmt::format("{}{}", i ? "x" : "", naxes[i]);
            out += fmt::format("{}: image {} BITPIX={}{}\n", label, naxis ? dims : "(empty)", bitpix,
                               compressed ? fmt::format(" tile-compressed ({})", key_string(f, "ZCMPTYPE")) : "");
        } else {
            long nrows = 0;
            int ncols = 0;
            fits_get_num_rows(f, &nrows, &status);
            fits_get_num_cols(f, &ncols, &status);
            file.check(status, "cannot read table size");
            out += fmt::format("{}: {} table, {} rows, {} columns\n", label, type == BINARY_TBL ? "binary" : "ASCII",
                               nrows, ncols);
            for (int c = 1; c <= ncols; ++c) {
                if (max_columns > 0 && static_cast<std::size_t>(c) > max_columns) {
                    out += fmt::format("  ... {} more columns\n", ncols - c + 1);
                    break;
                }
                std::string k = std::to_string(c);
                out += fmt::format("  {:<28} {:<8} {}\n", key_string(f, ("TTYPE" + k).c_str()),
                                   key_string(f, ("TFORM" + k).c_str()), key_string(f, ("TUNIT" + k).c_str()));
            }
        }
    }
    return out;
}

}  // namespace dhs::fits

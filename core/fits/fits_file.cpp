// FitsFile: RAII cfitsio handle and checked-status wrapper (see fits_file.hpp).
#include "core/fits/cfitsio_handle.hpp"

#include <utility>

#include "core/error.hpp"

namespace dhs::fits {

namespace {
inline fitsfile* F(void* p) { return static_cast<fitsfile*>(p); }
}  // namespace

std::string cfitsio_messages(int status) {
    std::string out;
    if (status != 0) {
        char text[FLEN_STATUS] = {0};
        fits_get_errstatus(status, text);
        out = text;
    }
    char msg[FLEN_ERRMSG] = {0};
    while (fits_read_errmsg(msg) != 0) {
        std::string m(msg);
        while (!m.empty() && (m.back() == ' ' || m.back() == '\n')) m.pop_back();
        if (m.empty()) continue;
        if (!out.empty()) out += "; ";
        out += m;
    }
    return out;
}

FitsFile FitsFile::open(const std::string& path, Mode mode) {
    fitsfile* f = nullptr;
    int status = 0;
    fits_open_file(&f, path.c_str(), mode == Mode::read_only ? READONLY : READWRITE, &status);
    if (status != 0) {
        std::string lib = cfitsio_messages(status);
        if (f != nullptr) {
            int s2 = 0;
            fits_close_file(f, &s2);
        }
        throw FitsError(path, 0, "", status, "cannot open as FITS", lib);
    }
    return FitsFile(f, path);
}

FitsFile FitsFile::create(const std::string& path) {
    fitsfile* f = nullptr;
    int status = 0;
    std::string bang = "!" + path;  // '!' tells cfitsio to overwrite
    fits_create_file(&f, bang.c_str(), &status);
    if (status != 0) throw FitsError(path, 0, "", status, "cannot create", cfitsio_messages(status));
    return FitsFile(f, path);
}

FitsFile::FitsFile(FitsFile&& other) noexcept
    : fptr_(std::exchange(other.fptr_, nullptr)), path_(std::move(other.path_)) {}

FitsFile& FitsFile::operator=(FitsFile&& other) noexcept {
    if (this != &other) {
        if (fptr_ != nullptr) {
            int status = 0;
            fits_close_file(F(fptr_), &status);
        }
        fptr_ = std::exchange(other.fptr_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

FitsFile::~FitsFile() {
    if (fptr_ != nullptr) {
        int status = 0;
        fits_close_file(F(fptr_), &status);  // errors are dropped: a destructor never throws
        fits_clear_errmsg();
    }
}

void FitsFile::close() {
    if (fptr_ == nullptr) return;
    int status = 0;
    fits_close_file(F(fptr_), &status);
    fptr_ = nullptr;
    if (status != 0) throw FitsError(path_, 0, "", status, "closing failed", cfitsio_messages(status));
}

int FitsFile::current_hdu() const {
    int hdu = 0;
    fits_get_hdu_num(F(fptr_), &hdu);
    return hdu;
}

int FitsFile::hdu_count() const {
    int n = 0, status = 0;
    fits_get_num_hdus(F(fptr_), &n, &status);
    check(status, "cannot count HDUs");
    return n;
}

int FitsFile::move_to(int hdu) {
    int type = 0, status = 0;
    fits_movabs_hdu(F(fptr_), hdu, &type, &status);
    if (status != 0)
        throw FitsError(path_, hdu, "", status, "cannot move to HDU", cfitsio_messages(status));
    return type;
}

void FitsFile::move_to_first_table() {
    int n = hdu_count();
    for (int hdu = 1; hdu <= n; ++hdu) {
        if (move_to(hdu) == BINARY_TBL) {
            int status = 0, compressed = fits_is_compressed_image(F(fptr_), &status);
            if (compressed == 0) return;
        }
    }
    throw FitsError(path_, 0, "", 0, "no binary table HDU in file", "");
}

void FitsFile::check(int status, const std::string& what, const std::string& column) const {
    if (status == 0) return;
    int hdu = 0;
    if (fptr_ != nullptr) fits_get_hdu_num(F(fptr_), &hdu);
    throw FitsError(path_, hdu, column, status, what, cfitsio_messages(status));
}

}  // namespace dhs::fits

// RAII ownership of a cfitsio `fitsfile*` and the one checked wrapper through which every
// cfitsio status becomes a dhs::FitsError carrying file, HDU, column and cfitsio's own
// message stack. Include <fitsio.h> only in .cpp files of core/fits.
#pragma once

#include <string>

namespace dhs::fits {

/// @brief An open FITS file, closed on destruction (never throws from the destructor).
/// Move-only. Rank-local.
class FitsFile {
public:
    enum class Mode { read_only, read_write };

    /// @brief Opens `path` (any cfitsio extended filename) for reading or writing.
    /// @throws FitsError naming the file when it is missing, not FITS or unreadable.
    static FitsFile open(const std::string& path, Mode mode = Mode::read_only);
    /// @brief Creates a new file, replacing an existing one.
    static FitsFile create(const std::string& path);

    FitsFile() = default;
    FitsFile(FitsFile&& other) noexcept;
    FitsFile& operator=(FitsFile&& other) noexcept;
    FitsFile(const FitsFile&) = delete;
    FitsFile& operator=(const FitsFile&) = delete;
    ~FitsFile();

    /// @brief The cfitsio `fitsfile*` as an opaque pointer; core/fits/cfitsio_handle.hpp
    /// turns it back into `fitsfile*` for .cpp files that include <fitsio.h>.
    void* raw() const noexcept { return fptr_; }
    const std::string& path() const noexcept { return path_; }
    explicit operator bool() const noexcept { return fptr_ != nullptr; }

    /// @brief The current HDU, 1-based (the primary HDU is 1).
    int current_hdu() const;
    /// @brief Number of HDUs in the file.
    int hdu_count() const;
    /// @brief Moves to HDU `hdu` (1-based). @returns its cfitsio type (IMAGE_HDU, BINARY_TBL...).
    int move_to(int hdu);
    /// @brief Moves to the first HDU holding a binary table. @throws FitsError if there is none.
    void move_to_first_table();

    /// @brief Throws FitsError for a non-zero cfitsio `status`, with this file, the current
    /// HDU, `column` (may be empty) and cfitsio's message stack; a no-op for status 0.
    void check(int status, const std::string& what, const std::string& column = "") const;

    /// @brief Closes now, reporting a close error (flush failures matter for written files).
    void close();

private:
    FitsFile(void* f, std::string path) : fptr_(f), path_(std::move(path)) {}
    void* fptr_ = nullptr;
    std::string path_;
};

/// @brief cfitsio's message for `status` plus everything on its error-message stack
/// (the stack is emptied). Rank-local; cfitsio's stack is per thread only when cfitsio is
/// built reentrant, so call it right after the failing call.
std::string cfitsio_messages(int status);

}  // namespace dhs::fits

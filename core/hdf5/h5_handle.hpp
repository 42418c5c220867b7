// RAII ownership of HDF5 identifiers (hid_t) and the checked wrapper through which every
// negative HDF5 return becomes a dhs::HdfError carrying HDF5's own error stack. After
// HighFive's bits/H5Exception_misc.hpp. Include only from .cpp files (it pulls in hdf5.h).
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

namespace dhs::hdf5 {

/// @brief HDF5's error stack, innermost first, as one line ("H5Dopen2: not found; ..."); the
/// stack is cleared. Rank-local.
std::string error_stack();

/// @brief Throws HdfError(file, object, what + stack) when `id_or_status` < 0; returns it otherwise.
hid_t check(hid_t id_or_status, const std::string& file, const std::string& object, const std::string& what);

/// @brief Turns off HDF5's automatic printing of error stacks (dhs reports them itself).
void silence_automatic_errors();

/// @brief An owned HDF5 identifier, closed with the right H5*close on destruction. Move-only;
/// never throws from the destructor.
class Handle {
public:
    Handle() = default;
    explicit Handle(hid_t id) : id_(id) {}
    Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
    Handle& operator=(Handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    hid_t get() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ >= 0; }
    void reset() noexcept;
    /// @brief Gives up ownership without closing; returns the identifier.
    hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

private:
    hid_t id_ = H5I_INVALID_HID;
};

}  // namespace dhs::hdf5

// Transparent huge pages for this process, on or off (prctl PR_SET_THP_DISABLE). dhs backs its
// heap with huge pages at start (the sampling stage's column buffers gain 30-40% from it), but
// libtorch's many short-lived activation buffers pay for it in page clearing: the training and
// scoring stages turn it off while they run (measured: the score stage 8-15% faster).
#pragma once

namespace dhs::util {

/// @brief Turns transparent huge pages off for the process until the guard is destroyed, then
/// restores the previous setting. Failures (old kernels) are ignored: it is only a speed setting.
class HugePagesOff {
public:
    HugePagesOff();
    ~HugePagesOff();
    HugePagesOff(const HugePagesOff&) = delete;
    HugePagesOff& operator=(const HugePagesOff&) = delete;

private:
    int previous_ = -1;
};

}  // namespace dhs::util

// Out-of-line anchor for kernels/sampling/photometry.hpp (the functions are inline; this keeps the
// kernels library non-empty and checks the header compiles on its own).
#include "kernels/sampling/photometry.hpp"

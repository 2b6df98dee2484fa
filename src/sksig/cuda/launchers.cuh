// Host-side entry points of the CUDA cores. Each returns a sksig::Status code and never
// throws; CUDA failures come back as kCudaError.
#pragma once

namespace sksig {
namespace cuda {

// Number of visible CUDA devices; 0 (and kOk) when there is no driver or no device.
int device_count(int* count) noexcept;

// Name of device `device`, written NUL-terminated into buf (at most len bytes).
int device_name(int device, char* buf, int len) noexcept;

// The CPU emulation's controls (emulation.hpp): set the order in which the threads of a
// barrier phase run (0 ascending, 1 descending, 2 random with `seed`), and take the
// memory fault seen since the last call into buf ("" when none). kInvalidArgument in a
// real CUDA build.
int emulation_control(int order, unsigned seed, char* buf, int len) noexcept;

}  // namespace cuda
}  // namespace sksig

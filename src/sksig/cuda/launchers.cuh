// Host-side entry points of the CUDA cores. Each returns a sksig::Status code and never
// throws; CUDA failures come back as kCudaError.
#pragma once

namespace sksig {
namespace cuda {

// Number of visible CUDA devices; 0 (and kOk) when there is no driver or no device.
int device_count(int* count) noexcept;

// Name of device `device`, written NUL-terminated into buf (at most len bytes).
int device_name(int device, char* buf, int len) noexcept;

}  // namespace cuda
}  // namespace sksig

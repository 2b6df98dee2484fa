// Device queries used by sksig.cuda.is_available() and show_config().
#include <cstring>

#include "launchers.cuh"
#include "runtime.cuh"
#include "sksig/status.hpp"

namespace sksig {
namespace cuda {

int device_count(int* count) noexcept {
  *count = 0;
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return kOk;
  }
  *count = n;
  return kOk;
}

int device_name(int device, char* buf, int len) noexcept {
  if (len <= 0) return kInvalidArgument;
  buf[0] = '\0';
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return kCudaError;
  }
  std::strncpy(buf, prop.name, static_cast<size_t>(len - 1));
  buf[len - 1] = '\0';
  return kOk;
}

int emulation_control(int order, unsigned seed, char* buf, int len) noexcept {
#if defined(SKSIG_CUDA_EMULATION)
  if (len <= 0 || order < 0 || order > 2) return kInvalidArgument;
  emulation::set_schedule(order, seed);
  std::strncpy(buf, emulation::take_fault().c_str(), static_cast<size_t>(len - 1));
  buf[len - 1] = '\0';
  return kOk;
#else
  (void)order, (void)seed, (void)buf, (void)len;
  return kInvalidArgument;
#endif
}

}  // namespace cuda
}  // namespace sksig

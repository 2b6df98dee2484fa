// Host-side helpers shared by the CUDA cores: error codes, stream-ordered scratch, the
// device guard, the thread budget of a block and its dynamic shared memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "runtime.cuh"
#include "sksig/status.hpp"

// Most threads per block of the cores (the CPU emulation builds with fewer, so that
// small tests exercise the loops over work longer than a block).
#ifndef SKSIG_CUDA_MAX_THREADS
#define SKSIG_CUDA_MAX_THREADS 512
#endif

namespace sksig {
namespace cuda {

// A CUDA error as a sksig::Status; clears a non-sticky error so later calls proceed.
inline int status_of(cudaError_t err) {
  if (err == cudaSuccess) return kOk;
  cudaGetLastError();
  return err == cudaErrorMemoryAllocation ? kOutOfMemory : kCudaError;
}

// Stream-ordered scratch buffer, freed (on the stream) when it goes out of scope.
class Scratch {
 public:
  explicit Scratch(cudaStream_t s) : stream_(s) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (ptr_) cudaFreeAsync(ptr_, stream_);
  }
  int allocate(std::size_t bytes) {
    if (bytes == 0) return kOk;
    return status_of(cudaMallocAsync(&ptr_, bytes, stream_));
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

// Sets the device for the duration of a call and restores the caller's.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    ok_ = cudaGetDevice(&previous_) == cudaSuccess && cudaSetDevice(device) == cudaSuccess;
    if (!ok_) cudaGetLastError();
  }
  ~DeviceGuard() {
    if (ok_) cudaSetDevice(previous_);
  }
  bool ok() const { return ok_; }

 private:
  int previous_ = 0;
  bool ok_ = false;
};

// Threads of a block whose work is `width` wide: whole warps, at most max_threads.
inline unsigned block_threads(std::int64_t width, int max_threads) {
  return static_cast<unsigned>(
      std::min<std::int64_t>(max_threads, std::max<std::int64_t>(32, (width + 31) / 32 * 32)));
}

// The device's limit of dynamic shared bytes per block for kernels that opt in.
inline int shared_optin(int device, int& optin) {
  return status_of(
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
}

// Opts kernel in to `bytes` of dynamic shared memory (needed above the default 48 KiB).
template <class Kernel>
int allow_shared(Kernel kernel, std::size_t bytes) {
  if (bytes <= 48 * 1024) return kOk;
  return status_of(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(bytes)));
}

}  // namespace cuda
}  // namespace sksig

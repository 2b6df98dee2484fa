// Host-side helpers shared by the CUDA cores: error codes, stream-ordered scratch, the
// device guard, and the thread budget of a block.
#pragma once

#include <cstddef>

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

}  // namespace cuda
}  // namespace sksig

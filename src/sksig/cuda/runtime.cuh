// The CUDA runtime for the kernels in this folder, or its CPU emulation (emulation.hpp)
// when SKSIG_CUDA_EMULATION is defined. Kernels launch with SKSIG_LAUNCH and take their
// dynamic shared memory with SKSIG_DYNAMIC_SHARED, so that the same source runs on a GPU
// and, for tests on machines without one, on the CPU.
#pragma once

#if defined(SKSIG_CUDA_EMULATION)
#include "emulation.hpp"
// kernel<<<grid, block, shared, stream>>>(args...) becomes SKSIG_LAUNCH(...)(args...).
#define SKSIG_LAUNCH(kernel, grid, block, shared, stream) \
  ::sksig::emulation::Launch((kernel), (grid), (block), (shared), (stream))
#define SKSIG_DYNAMIC_SHARED(T, name) \
  T* name = static_cast<T*>(::sksig::emulation::dynamic_shared())
#else
#include <cuda_runtime.h>
#define SKSIG_LAUNCH(kernel, grid, block, shared, stream) \
  kernel<<<(grid), (block), (shared), (stream)>>>
#define SKSIG_DYNAMIC_SHARED(T, name)                                      \
  extern __shared__ __align__(16) unsigned char sksig_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(sksig_dynamic_shared_)
#endif

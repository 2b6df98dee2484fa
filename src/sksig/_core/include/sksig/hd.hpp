// SKSIG_HD marks small formulas that are compiled for both the CPU and CUDA cores,
// so that each formula is written once.
#pragma once

#if defined(__CUDACC__)
#define SKSIG_HD __host__ __device__ __forceinline__
#else
#define SKSIG_HD inline
#endif

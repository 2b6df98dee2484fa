// SKSIG_HD marks small formulas that are compiled for both the CPU and CUDA cores,
// so that each formula is written once (and always inlined, so that a formula called in
// a vectorised CPU loop costs what the written-out expression would).
#pragma once

#if defined(__CUDACC__)
#define SKSIG_HD __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define SKSIG_HD inline __attribute__((always_inline))
#else
#define SKSIG_HD inline
#endif

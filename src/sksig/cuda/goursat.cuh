// Host entry points of the CUDA signature-kernel cores (goursat.cu). Plain C++ types only,
// so that the Cython module compiles without the CUDA headers.
//
// Every pointer is a device pointer of the dtype given by `dbl` (double when true, float
// otherwise), C-contiguous; `stream` is a cudaStream_t and `device` the CUDA device they
// live on. Each function returns a sksig::Status code, never throws, never synchronises:
// the work is enqueued on `stream` (scratch comes from the stream-ordered allocator).
#pragma once

#include <cstdint>

#include "sksig/goursat.hpp"

namespace sksig {
namespace cuda {

// Forward of n_pairs pairs, pairwise (pair p = (x[p], y[p])) or Gram (p = i * ny + j).
// x: (*, L1, d), y: (*, L2, d) (transformed, padded). out: n_pairs kernels. grid: null or
// (n_pairs, M1 + 1, M2 + 1). symmetric: a Gram of x with itself (y equal to x, equal
// orders, grid null), solved on the upper triangle and mirrored, exactly symmetric.
// fused_delta: linear static kernels compute Delta per cell in the wavefront (false:
// through a Delta scratch, as for every other kernel). chunk: pairs per round (bounds
// scratch memory), <= 0 means automatic.
int sig_kernel_forward(bool dbl, const void* x, const void* y, std::int64_t n_pairs,
                       std::int64_t ny, bool gram, bool symmetric, GoursatShape sh,
                       KernelParams kernel, bool fused_delta, void* out, void* grid,
                       std::int64_t chunk, int device, void* stream) noexcept;

// Backprop of the nx * ny Gram pairs (gram) or of the nx = ny pairs (x[p], y[p]).
// derivs: one value per pair, or one grid per pair when grid_derivs. k_grid: forward
// grids to reuse, or null. gx: (nx, L1, d), gy: (ny, L2, d), either null; each receives
// the sum over its pairs (for a pairwise call: that pair's gradient). gamma: null or
// (n_pairs, L1 - 1, L2 - 1), dF/dDelta per pair. chunk as in sig_kernel_forward.
int sig_kernel_backward(bool dbl, const void* x, const void* y, std::int64_t nx,
                        std::int64_t ny, bool gram, GoursatShape sh, KernelParams kernel,
                        const void* derivs, bool grid_derivs, const void* k_grid, void* gx,
                        void* gy, void* gamma, std::int64_t chunk, int device,
                        void* stream) noexcept;

}  // namespace cuda
}  // namespace sksig

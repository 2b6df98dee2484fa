// Signature kernels on the GPU: the Goursat scheme of SPEC.md 4.2 and its exact adjoint
// (section 5), with the same per-cell formulas as the CPU core (cell_coefficients and
// cell_sensitivity in goursat.hpp, the static kernels of static_kernels.hpp).
//
// Layout of one call, processed in chunks of pairs so that scratch memory stays bounded:
//   1. delta_kernel: the increment Gram Delta of every pair of the chunk (one thread per
//      entry), into scratch.
//   2. forward_kernel: one block per pair, anti-diagonal wavefront with the threads
//      along the anti-diagonal (looping when it is longer than the block), three rolling
//      anti-diagonals in shared memory (global scratch when they do not fit), a
//      __syncthreads between anti-diagonals. Writes the grid only when one is asked for.
//   3. backprop: forward_kernel into a full grid K per pair (or a copy of k_grid), then
//      adjoint_kernel sweeps the anti-diagonals backwards, keeping three rolling
//      diagonals of Lambda and overwriting K[r, c] (no longer needed at that point) by
//      dF/dd of the cell (r-1, c-1); gamma_kernel sums those per segment pair
//      (deterministic order), and chain_kernel pulls Gamma back to the path points, one
//      thread per output point, looping over that path's pairs in ascending order (no
//      atomics, so results are reproducible run to run).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "goursat.cuh"
#include "common.cuh"
#include "runtime.cuh"
#include "sksig/goursat.hpp"
#include "sksig/static_kernels.hpp"
#include "sksig/status.hpp"

namespace sksig {
namespace cuda {
namespace {

using i64 = std::int64_t;

// Threads per wavefront block (the CPU emulation uses fewer, to exercise the loops).
constexpr int kMaxThreads = SKSIG_CUDA_MAX_THREADS;
constexpr int kElementwiseThreads = 256;
constexpr i64 kScratchBudget = i64(1) << 30;  // default bytes of per-chunk scratch
constexpr i64 kMaxBlocks = (i64(1) << 31) - 1;

// Pair p of a call -> (index in x, index in y): pairwise (i = j = p), Gram (row-major
// over nx x ny) or, for a symmetric Gram, the upper triangle i <= j of ny x ny, row-major.
struct Pairs {
  i64 ny;
  bool gram;
  bool upper = false;
  __host__ __device__ static i64 row_start(i64 i, i64 n) { return i * n - i * (i - 1) / 2; }
  __host__ __device__ void operator()(i64 p, i64& i, i64& j) const {
    if (upper) {
      // The row from the quadratic formula, then corrected for floating-point rounding.
      const double m = 2.0 * double(ny) + 1.0;
      i64 r = static_cast<i64>((m - sqrt(m * m - 8.0 * double(p))) / 2.0);
      r = r < 0 ? 0 : (r > ny - 1 ? ny - 1 : r);
      while (r > 0 && row_start(r, ny) > p) --r;
      while (r + 1 < ny && row_start(r + 1, ny) <= p) ++r;
      i = r;
      j = r + (p - row_start(r, ny));
    } else if (gram) {
      i = p / ny;
      j = p - i * ny;
    } else {
      i = j = p;
    }
  }
};

// The full n x n Gram from its upper triangle (row-major, i <= j): exactly symmetric.
template <class T>
__global__ void mirror_kernel(const T* __restrict__ upper, i64 n, T* __restrict__ out) {
  for (i64 e = blockIdx.x * i64(blockDim.x) + threadIdx.x; e < n * n;
       e += i64(gridDim.x) * blockDim.x) {
    const i64 r = e / n, c = e - r * n;
    const i64 a = r < c ? r : c, b = r < c ? c : r;
    out[e] = upper[Pairs::row_start(a, n) + (b - a)];
  }
}

unsigned elementwise_blocks(i64 n) {
  return static_cast<unsigned>(
      std::min<i64>((n + kElementwiseThreads - 1) / kElementwiseThreads, 65535 * 8));
}

// Delta[lp, p, q] of the pairs p0 + lp, lp < count (SPEC.md 3.2), same operation order as
// delta_row in static_kernels.hpp.
template <class T>
__global__ void delta_kernel(const T* __restrict__ x, const T* __restrict__ y, Pairs pairs,
                             i64 p0, i64 count, GoursatShape sh, StaticKernel<T> k,
                             T* __restrict__ delta) {
  const i64 n1 = sh.L1 - 1, n2 = sh.L2 - 1, d = sh.d, per = n1 * n2;
  const i64 total = count * per;
  for (i64 e = blockIdx.x * i64(blockDim.x) + threadIdx.x; e < total;
       e += i64(gridDim.x) * blockDim.x) {
    const i64 lp = e / per, rem = e - lp * per, p = rem / n2, q = rem - p * n2;
    i64 i, j;
    pairs(p0 + lp, i, j);
    const T* xa = x + (i * sh.L1 + p) * d;
    const T* yb = y + (j * sh.L2 + q) * d;
    T v;
    if (k.is_linear()) {
      T acc = 0;
      for (i64 c = 0; c < d; ++c) acc += (xa[d + c] - xa[c]) * (yb[d + c] - yb[c]);
      v = k.linear_scale() * acc;
    } else {
      v = k.value(xa + d, yb + d, d) - k.value(xa, yb + d, d) - k.value(xa + d, yb, d) +
          k.value(xa, yb, d);
    }
    delta[e] = v;
  }
}

// Rolling anti-diagonals of block blockIdx.x: dynamic shared memory, or its slice of a
// global buffer when they do not fit.
template <class T>
__device__ T* diagonal_buffer(T* global, i64 size) {
  SKSIG_DYNAMIC_SHARED(T, shared);
  return global ? global + blockIdx.x * 3 * size : shared;
}

// The wavefront of one pair, run by one block: K[i, j] = (K[i-1, j] + K[i, j-1]) A -
// K[i-1, j-1] B on anti-diagonal s = i + j, with the coefficients of f Delta of the cell
// (i-1, j-1), given by fdelta(i-1, j-1). Diagonals are indexed by the row i (size
// M1 + 1). Diagonal s is written into slot s % 3, which last held diagonal s - 3, read
// for the last time at step s - 1 (before its barrier).
template <class T, class CellDelta>
__device__ void forward_sweep(const GoursatShape& sh, T* buf, const CellDelta& fdelta,
                              T* out, T* g) {
  const i64 M1 = sh.M1(), M2 = sh.M2(), size = M1 + 1;
  for (i64 s = 0; s <= M1 + M2; ++s) {
    T* cur = buf + (s % 3) * size;
    const T* prev = buf + ((s + 2) % 3) * size;   // diagonal s - 1
    const T* prev2 = buf + ((s + 1) % 3) * size;  // diagonal s - 2
    const i64 lo = s > M2 ? s - M2 : 0, hi = s < M1 ? s : M1;
    for (i64 i = lo + threadIdx.x; i <= hi; i += blockDim.x) {
      const i64 j = s - i;
      T v = T(1);
      if (i > 0 && j > 0) {
        T a, b;
        cell_coefficients(fdelta(i - 1, j - 1), a, b);
        v = (prev[i - 1] + prev[i]) * a - prev2[i - 1] * b;
      }
      cur[i] = v;
      if (g) g[i * (M2 + 1) + j] = v;
      if (out && i == M1 && j == M2) *out = v;
    }
    __syncthreads();
  }
}

// One block per pair lp of the chunk, Delta read from the delta_kernel's scratch.
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    forward_kernel(const T* __restrict__ delta, GoursatShape sh, T f, T* diag_global,
                   T* __restrict__ out, T* __restrict__ grid) {
  const i64 lp = blockIdx.x;
  const i64 n2 = sh.n2();
  const T* dl = delta + lp * sh.n1() * n2;
  auto fdelta = [&](i64 r, i64 c) { return f * dl[(r >> sh.lam1) * n2 + (c >> sh.lam2)]; };
  forward_sweep(sh, diagonal_buffer(diag_global, sh.M1() + 1), fdelta,
                out ? out + lp : nullptr, grid ? grid + lp * sh.grid_size() : nullptr);
}

// Linear static kernels without a Delta scratch: the block stages both paths'
// increments in shared memory, transposed (channel-major, so that the threads of an
// anti-diagonal read consecutive addresses), and each cell computes its
// Delta = scale <dx_p, dy_q> in delta_kernel's operation order (the same values).
// Shared layout: 3 (M1 + 1) diagonal entries, then dx (d x n1), then dy (d x n2).
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    fused_linear_forward_kernel(const T* __restrict__ x, const T* __restrict__ y,
                                Pairs pairs, i64 p0, GoursatShape sh, T f, T scale,
                                T* __restrict__ out, T* __restrict__ grid) {
  const i64 lp = blockIdx.x;
  const i64 n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
  i64 i, j;
  pairs(p0 + lp, i, j);
  SKSIG_DYNAMIC_SHARED(T, shared);
  T* dx = shared + 3 * (sh.M1() + 1);
  T* dy = dx + d * n1;
  const T* xa = x + i * sh.L1 * d;
  const T* yb = y + j * sh.L2 * d;
  for (i64 e = threadIdx.x; e < d * n1; e += blockDim.x) {
    const i64 c = e / n1, p = e - c * n1;
    dx[e] = xa[(p + 1) * d + c] - xa[p * d + c];
  }
  for (i64 e = threadIdx.x; e < d * n2; e += blockDim.x) {
    const i64 c = e / n2, q = e - c * n2;
    dy[e] = yb[(q + 1) * d + c] - yb[q * d + c];
  }
  __syncthreads();
  auto fdelta = [&](i64 r, i64 c) {
    const i64 p = r >> sh.lam1, q = c >> sh.lam2;
    T acc = 0;
    for (i64 k = 0; k < d; ++k) acc += dx[k * n1 + p] * dy[k * n2 + q];
    return f * (scale * acc);
  };
  forward_sweep(sh, shared, fdelta, out ? out + lp : nullptr,
                grid ? grid + lp * sh.grid_size() : nullptr);
}

// Adjoint sweep of pair lp (SPEC.md 5, steps 2-4) over diagonals s = M1 + M2 .. 2 of the
// interior r, c >= 1:
//   Lam[r, c] = S[r, c] + [r < M1] A(r, c-1) Lam[r+1, c] - [r, c < M2] B(r, c) Lam[r+1, c+1]
//               + [c < M2] A(r-1, c) Lam[r, c+1]
// (Lam on diagonals s + 1 and s + 2, slots (s + 1) % 3 and (s + 2) % 3). K[r, c] is
// overwritten by Lam[r, c] * dK[r, c]/dd: step s reads K on diagonals s - 1 and s - 2
// only, and diagonal s of K was last read at step s + 1.
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    adjoint_kernel(const T* __restrict__ delta, GoursatShape sh, T f, T* diag_global,
                   T* __restrict__ K, const T* __restrict__ seed,
                   const T* __restrict__ corner) {
  const i64 lp = blockIdx.x;
  const i64 n1 = sh.L1 - 1, n2 = sh.L2 - 1, M1 = sh.M1(), M2 = sh.M2();
  if (M1 == 0 || M2 == 0) return;  // uniform over the block: no barrier is skipped
  const i64 size = M1 + 1, cols = M2 + 1;
  T* buf = diagonal_buffer(diag_global, size);
  const T* dl = delta + lp * n1 * n2;
  T* Kp = K + lp * (M1 + 1) * cols;
  const T* S = seed ? seed + lp * (M1 + 1) * cols : nullptr;
  const T c_seed = seed ? T(0) : corner[lp];
  auto dcell = [&](i64 i, i64 j) { return f * dl[(i >> sh.lam1) * n2 + (j >> sh.lam2)]; };
  for (i64 s = M1 + M2; s >= 2; --s) {
    T* cur = buf + (s % 3) * size;
    const T* next = buf + ((s + 1) % 3) * size;   // diagonal s + 1
    const T* next2 = buf + ((s + 2) % 3) * size;  // diagonal s + 2
    const i64 lo = s - M2 > 1 ? s - M2 : 1, hi = s - 1 < M1 ? s - 1 : M1;
    for (i64 r = lo + threadIdx.x; r <= hi; r += blockDim.x) {
      const i64 c = s - r;
      T v = S ? S[r * cols + c] : (r == M1 && c == M2 ? c_seed : T(0));
      T a, b;
      if (r < M1) {
        cell_coefficients(dcell(r, c - 1), a, b);
        v += a * next[r + 1];
      }
      if (r < M1 && c < M2) {
        cell_coefficients(dcell(r, c), a, b);
        v -= b * next2[r + 1];
      }
      if (c < M2) {
        cell_coefficients(dcell(r - 1, c), a, b);
        v += a * next[r];
      }
      cur[r] = v;
      const T k_up = Kp[(r - 1) * cols + c], k_left = Kp[r * cols + c - 1];
      const T k_diag = Kp[(r - 1) * cols + c - 1];
      Kp[r * cols + c] = v * cell_sensitivity(dcell(r - 1, c - 1), k_up, k_left, k_diag);
    }
    __syncthreads();
  }
}

// Gamma[lp, p, q] = f * sum of dF/dd over the 2^lam1 x 2^lam2 cells of segment pair
// (p, q), read from the overwritten grids.
template <class T>
__global__ void gamma_kernel(const T* __restrict__ G, GoursatShape sh, T f, i64 count,
                             T* __restrict__ gamma) {
  const i64 n1 = sh.L1 - 1, n2 = sh.L2 - 1, per = n1 * n2;
  const i64 R1 = sh.R1(), R2 = sh.R2(), cols = sh.M2() + 1, cells = sh.grid_size();
  for (i64 e = blockIdx.x * i64(blockDim.x) + threadIdx.x; e < count * per;
       e += i64(gridDim.x) * blockDim.x) {
    const i64 lp = e / per, rem = e - lp * per, p = rem / n2, q = rem - p * n2;
    const T* g = G + lp * cells;
    T acc = 0;
    for (i64 a = 0; a < R1; ++a) {
      const T* row = g + (p * R1 + a + 1) * cols + q * R2 + 1;
      for (i64 b = 0; b < R2; ++b) acc += row[b];
    }
    gamma[e] = f * acc;
  }
}

// Gradient of one side. "self" is the side whose gradient is written (x: gs_self = n2,
// gs_other = 1; y: the transpose), o the output path, a the output point. Pairs of the
// chunk [p0, p0 + count) that involve o are visited in ascending order; the gradient of
// each is added (SPEC.md 3.3, with the CPU's increment form for linear kernels).
template <class T>
__global__ void chain_kernel(const T* __restrict__ gamma, const T* __restrict__ self,
                             const T* __restrict__ other, i64 L_self, i64 L_other, i64 d,
                             StaticKernel<T> k, Pairs pairs, bool x_side, i64 o_lo,
                             i64 n_out, i64 p0, i64 count, T* __restrict__ g) {
  const i64 n_self = L_self - 1, n_other = L_other - 1;
  const i64 gs_self = x_side ? n_other : 1, gs_other = x_side ? 1 : n_self;
  const i64 nx_pairs = pairs.gram ? (p0 + count - 1) / pairs.ny - p0 / pairs.ny + 1 : 1;
  for (i64 e = blockIdx.x * i64(blockDim.x) + threadIdx.x; e < n_out * L_self;
       e += i64(gridDim.x) * blockDim.x) {
    const i64 o = o_lo + e / L_self, a = e % L_self;
    const T* sa = self + (o * L_self + a) * d;
    T* ga = g + (o * L_self + a) * d;
    // Pairs of o in the chunk: p = first + t * step, t < n.
    i64 first, step, n;
    if (!pairs.gram) {
      first = o, step = 1, n = (o >= p0 && o < p0 + count) ? 1 : 0;
    } else if (x_side) {
      const i64 lo = p0 > o * pairs.ny ? p0 : o * pairs.ny;
      const i64 hi = p0 + count < (o + 1) * pairs.ny ? p0 + count : (o + 1) * pairs.ny;
      first = lo, step = 1, n = hi > lo ? hi - lo : 0;
    } else {
      const i64 i_lo = p0 / pairs.ny;
      first = i_lo * pairs.ny + o, step = pairs.ny, n = nx_pairs;
    }
    for (i64 t = 0; t < n; ++t) {
      const i64 p = first + t * step;
      if (p < p0 || p >= p0 + count) continue;
      i64 i, j;
      pairs(p, i, j);
      const T* ob = other + (x_side ? j : i) * L_other * d;
      const T* G = gamma + (p - p0) * n_self * n_other;
      auto Gat = [&](i64 u, i64 v) -> T {
        return (u < 0 || v < 0 || u >= n_self || v >= n_other) ? T(0)
                                                                 : G[u * gs_self + v * gs_other];
      };
      if (k.is_linear()) {
        const T scale = k.linear_scale();
        for (i64 v = 0; v < n_other; ++v) {
          const T w = scale * (Gat(a - 1, v) - Gat(a, v));
          if (w == T(0)) continue;
          for (i64 c = 0; c < d; ++c) ga[c] += w * (ob[(v + 1) * d + c] - ob[v * d + c]);
        }
      } else {
        const bool radial = k.is_radial();
        for (i64 b = 0; b <= n_other; ++b) {
          const T dk = Gat(a - 1, b - 1) - Gat(a, b - 1) - Gat(a - 1, b) + Gat(a, b);
          if (dk == T(0)) continue;
          const T* obb = ob + b * d;
          const T s = dk * k.grad_scalar(sa, obb, d);
          for (i64 c = 0; c < d; ++c) ga[c] += radial ? s * (sa[c] - obb[c]) : s * obb[c];
        }
      }
    }
  }
}

// Launch geometry and scratch of the wavefront kernels for one shape.
template <class T>
struct Wavefront {
  unsigned threads = 32;
  size_t shared = 0;  // dynamic shared bytes (0 with global diagonals)
  bool global_diagonals = false;
  int optin = 0;  // the device's opt-in limit of shared bytes per block

  int setup(const GoursatShape& sh, int device) {
    const i64 rows = sh.M1() + 1, width = std::min(sh.M1(), sh.M2()) + 1;
    threads = block_threads(width, kMaxThreads);
    const i64 bytes = 3 * rows * static_cast<i64>(sizeof(T));
    int status = shared_optin(device, optin);
    if (status != kOk) return status;
    global_diagonals = bytes > optin;
    shared = global_diagonals ? 0 : static_cast<size_t>(bytes);
    status = allow_shared(forward_kernel<T>, shared);
    if (status != kOk) return status;
    return allow_shared(adjoint_kernel<T>, shared);
  }
  i64 global_elements(const GoursatShape& sh) const {
    return global_diagonals ? 3 * (sh.M1() + 1) : 0;
  }
};

// Dynamic shared bytes of fused_linear_forward_kernel for this shape, or 0 when the
// fused wavefront does not apply: not allowed by the caller (SKSIG_CUDA_DELTA=scratch,
// to compare the two designs in benchmarks/bench_cuda.py), non-linear static kernel, or
// staged increments beyond the opt-in limit.
template <class T>
i64 fused_shared_bytes(const GoursatShape& sh, const StaticKernel<T>& k, int optin,
                       bool allow_fused) {
  if (!allow_fused || !k.is_linear()) return 0;
  const i64 bytes = (3 * (sh.M1() + 1) + sh.d * (sh.n1() + sh.n2())) * i64(sizeof(T));
  return bytes <= optin ? bytes : 0;
}

bool valid_shape(const GoursatShape& sh) {
  return sh.L1 >= 1 && sh.L2 >= 1 && sh.d >= 1 && sh.lam1 >= 0 && sh.lam2 >= 0 &&
         sh.lam1 < 31 && sh.lam2 < 31;
}

i64 pick_chunk(i64 chunk, i64 n_pairs, i64 bytes_per_pair) {
  if (chunk <= 0) chunk = std::max<i64>(1, kScratchBudget / std::max<i64>(1, bytes_per_pair));
  return std::max<i64>(1, std::min({chunk, n_pairs, kMaxBlocks}));
}

template <class T>
int forward_pairs(const T* x, const T* y, i64 n_pairs, Pairs pairs, GoursatShape sh,
                  KernelParams kp, bool allow_fused, T* out, T* grid, i64 chunk,
                  int device, cudaStream_t stream) {
  if (!valid_shape(sh) || n_pairs < 0) return kInvalidArgument;
  if (n_pairs == 0) return kOk;
  DeviceGuard guard(device);
  if (!guard.ok()) return kCudaError;
  const StaticKernel<T> k = make_static_kernel<T>(kp);
  const T f = T(1) / T(i64(1) << (sh.lam1 + sh.lam2));
  Wavefront<T> wf;
  int status = wf.setup(sh, device);
  if (status != kOk) return status;
  if (const i64 fused = fused_shared_bytes(sh, k, wf.optin, allow_fused)) {
    status = allow_shared(fused_linear_forward_kernel<T>, static_cast<size_t>(fused));
    if (status != kOk) return status;
    for (i64 p0 = 0; p0 < n_pairs; p0 += kMaxBlocks) {
      const i64 count = std::min(kMaxBlocks, n_pairs - p0);
      SKSIG_LAUNCH(fused_linear_forward_kernel<T>, static_cast<unsigned>(count), wf.threads,
                   static_cast<size_t>(fused), stream)(
          x, y, pairs, p0, sh, f, k.linear_scale(), out + p0,
          grid ? grid + p0 * sh.grid_size() : nullptr);
      status = status_of(cudaGetLastError());
      if (status != kOk) return status;
    }
    return kOk;
  }
  const i64 n_delta = sh.n1() * sh.n2(), n_diag = wf.global_elements(sh);
  chunk = pick_chunk(chunk, n_pairs, (n_delta + n_diag) * i64(sizeof(T)));
  Scratch scratch(stream);
  status = scratch.allocate(static_cast<size_t>(chunk * (n_delta + n_diag)) * sizeof(T));
  if (status != kOk) return status;
  T* delta = scratch.as<T>();
  T* diag = wf.global_diagonals ? delta + chunk * n_delta : nullptr;
  for (i64 p0 = 0; p0 < n_pairs; p0 += chunk) {
    const i64 count = std::min(chunk, n_pairs - p0);
    if (count * n_delta > 0)
      SKSIG_LAUNCH(delta_kernel<T>, elementwise_blocks(count * n_delta), kElementwiseThreads,
                   0, stream)(x, y, pairs, p0, count, sh, k, delta);
    SKSIG_LAUNCH(forward_kernel<T>, static_cast<unsigned>(count), wf.threads, wf.shared, stream)(
        delta, sh, f, diag, out + p0, grid ? grid + p0 * sh.grid_size() : nullptr);
    status = status_of(cudaGetLastError());
    if (status != kOk) return status;
  }
  return kOk;
}

// A call of sig_kernel_forward. symmetric: a Gram of x with itself (y == x in content,
// equal dyadic orders, no grids): only the upper triangle is solved, then mirrored.
template <class T>
int forward_impl(const T* x, const T* y, i64 n_pairs, i64 ny, bool gram, bool symmetric,
                 GoursatShape sh, KernelParams kp, bool allow_fused, T* out, T* grid,
                 i64 chunk, int device, cudaStream_t stream) {
  if (!symmetric)
    return forward_pairs(x, y, n_pairs, Pairs{ny, gram}, sh, kp, allow_fused, out, grid,
                         chunk, device, stream);
  if (!gram || grid || ny < 0 || n_pairs != ny * ny || sh.L1 != sh.L2 || sh.lam1 != sh.lam2)
    return kInvalidArgument;
  if (n_pairs == 0) return kOk;
  DeviceGuard guard(device);
  if (!guard.ok()) return kCudaError;
  const i64 n_upper = ny * (ny + 1) / 2;
  Scratch upper(stream);
  int status = upper.allocate(static_cast<size_t>(n_upper) * sizeof(T));
  if (status != kOk) return status;
  status = forward_pairs(x, x, n_upper, Pairs{ny, true, true}, sh, kp, allow_fused,
                         upper.as<T>(), static_cast<T*>(nullptr), chunk, device, stream);
  if (status != kOk) return status;
  SKSIG_LAUNCH(mirror_kernel<T>, elementwise_blocks(n_pairs), kElementwiseThreads, 0,
               stream)(upper.as<T>(), ny, out);
  return status_of(cudaGetLastError());
}

template <class T>
int backward_impl(const T* x, const T* y, i64 nx, i64 ny, bool gram, GoursatShape sh,
                  KernelParams kp, const T* derivs, bool grid_derivs, const T* k_grid, T* gx,
                  T* gy, T* gamma, i64 chunk, int device, cudaStream_t stream) {
  if (!valid_shape(sh) || nx < 0 || ny < 0 || (!gram && nx != ny)) return kInvalidArgument;
  const i64 n_pairs = gram ? nx * ny : nx;
  DeviceGuard guard(device);
  if (!guard.ok()) return kCudaError;
  const i64 sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
  int status = kOk;
  if (gx && nx * sx > 0) status = status_of(cudaMemsetAsync(gx, 0, nx * sx * sizeof(T), stream));
  if (status == kOk && gy && ny * sy > 0)
    status = status_of(cudaMemsetAsync(gy, 0, ny * sy * sizeof(T), stream));
  if (status != kOk || n_pairs == 0) return status;
  const StaticKernel<T> k = make_static_kernel<T>(kp);
  const T f = T(1) / T(i64(1) << (sh.lam1 + sh.lam2));
  Wavefront<T> wf;
  status = wf.setup(sh, device);
  if (status != kOk) return status;
  const i64 n_delta = sh.n1() * sh.n2(), n_diag = wf.global_elements(sh);
  const i64 cells = sh.grid_size();
  const i64 n_gamma = gamma ? 0 : n_delta;  // written straight into the output when asked
  const i64 per_pair = 2 * n_delta + cells + n_diag;  // delta, gamma, K, diagonals
  chunk = pick_chunk(chunk, n_pairs, per_pair * i64(sizeof(T)));
  Scratch scratch(stream);
  status = scratch.allocate(
      static_cast<size_t>(chunk * (n_delta + n_gamma + cells + n_diag)) * sizeof(T));
  if (status != kOk) return status;
  T* delta = scratch.as<T>();
  T* K = delta + chunk * n_delta;
  T* gbuf = K + chunk * cells;
  T* diag = wf.global_diagonals ? gbuf + chunk * n_gamma : nullptr;
  const Pairs pairs{ny, gram};
  for (i64 p0 = 0; p0 < n_pairs; p0 += chunk) {
    const i64 count = std::min(chunk, n_pairs - p0);
    T* G = gamma ? gamma + p0 * n_delta : gbuf;
    if (count * n_delta > 0)
      SKSIG_LAUNCH(delta_kernel<T>, elementwise_blocks(count * n_delta), kElementwiseThreads,
                   0, stream)(x, y, pairs, p0, count, sh, k, delta);
    if (k_grid) {
      status = status_of(cudaMemcpyAsync(K, k_grid + p0 * cells, count * cells * sizeof(T),
                                         cudaMemcpyDeviceToDevice, stream));
      if (status != kOk) return status;
    } else {
      SKSIG_LAUNCH(forward_kernel<T>, static_cast<unsigned>(count), wf.threads, wf.shared,
                   stream)(delta, sh, f, diag, nullptr, K);
    }
    SKSIG_LAUNCH(adjoint_kernel<T>, static_cast<unsigned>(count), wf.threads, wf.shared,
                 stream)(delta, sh, f, diag, K, grid_derivs ? derivs + p0 * cells : nullptr,
                         grid_derivs ? nullptr : derivs + p0);
    if (count * n_delta > 0)
      SKSIG_LAUNCH(gamma_kernel<T>, elementwise_blocks(count * n_delta), kElementwiseThreads,
                   0, stream)(K, sh, f, count, G);
    if (gx) {
      const i64 o_lo = gram ? p0 / ny : p0;
      const i64 n_out = gram ? (p0 + count - 1) / ny - o_lo + 1 : count;
      SKSIG_LAUNCH(chain_kernel<T>, elementwise_blocks(n_out * sh.L1), kElementwiseThreads,
                   0, stream)(G, x, y, sh.L1, sh.L2, sh.d, k, pairs, true, o_lo, n_out, p0,
                              count, gx);
    }
    if (gy) {
      const i64 o_lo = gram ? 0 : p0, n_out = gram ? ny : count;
      SKSIG_LAUNCH(chain_kernel<T>, elementwise_blocks(n_out * sh.L2), kElementwiseThreads,
                   0, stream)(G, y, x, sh.L2, sh.L1, sh.d, k, pairs, false, o_lo, n_out, p0,
                              count, gy);
    }
    status = status_of(cudaGetLastError());
    if (status != kOk) return status;
  }
  return kOk;
}

}  // namespace

int sig_kernel_forward(bool dbl, const void* x, const void* y, std::int64_t n_pairs,
                       std::int64_t ny, bool gram, bool symmetric, GoursatShape sh,
                       KernelParams kernel, bool fused_delta, void* out, void* grid,
                       std::int64_t chunk, int device, void* stream) noexcept {
  return guarded([&] {
    auto s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return forward_impl(static_cast<const double*>(x), static_cast<const double*>(y),
                          n_pairs, ny, gram, symmetric, sh, kernel, fused_delta,
                          static_cast<double*>(out),
                          static_cast<double*>(grid), chunk, device, s);
    return forward_impl(static_cast<const float*>(x), static_cast<const float*>(y), n_pairs,
                        ny, gram, symmetric, sh, kernel, fused_delta, static_cast<float*>(out),
                        static_cast<float*>(grid), chunk, device, s);
  });
}

int sig_kernel_backward(bool dbl, const void* x, const void* y, std::int64_t nx,
                        std::int64_t ny, bool gram, GoursatShape sh, KernelParams kernel,
                        const void* derivs, bool grid_derivs, const void* k_grid, void* gx,
                        void* gy, void* gamma, std::int64_t chunk, int device,
                        void* stream) noexcept {
  return guarded([&] {
    auto s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return backward_impl(static_cast<const double*>(x), static_cast<const double*>(y), nx,
                           ny, gram, sh, kernel, static_cast<const double*>(derivs),
                           grid_derivs, static_cast<const double*>(k_grid),
                           static_cast<double*>(gx), static_cast<double*>(gy),
                           static_cast<double*>(gamma), chunk, device, s);
    return backward_impl(static_cast<const float*>(x), static_cast<const float*>(y), nx, ny,
                         gram, sh, kernel, static_cast<const float*>(derivs), grid_derivs,
                         static_cast<const float*>(k_grid), static_cast<float*>(gx),
                         static_cast<float*>(gy), static_cast<float*>(gamma), chunk, device,
                         s);
  });
}

}  // namespace cuda
}  // namespace sksig

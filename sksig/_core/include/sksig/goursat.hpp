// Signature kernels by the Goursat PDE scheme of SPEC.md section 4.2, and its exact
// discrete adjoint (section 5).
//
// Speed: the recursion along a grid row is a serial chain, so a single pair is
// latency bound. We solve Lanes<T> pairs at once with the lanes innermost
// ([cell][lane] layout), which turns every update into independent SIMD work with no
// per-cell branches. Each lane is computed with exactly the same operations whatever
// the other lanes hold, so results do not depend on how pairs are grouped, on n_jobs or
// on max_batch.
//
// Memory: the forward keeps two grid rows per lane (the increment Gram is produced one
// segment row at a time); only return_grid and the backprop hold a whole grid, for
// Lanes<T> pairs per thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "static_kernels.hpp"
#include "status.hpp"

namespace sksig {

template <class T>
constexpr int kLanes = 128 / sizeof(T);  // 16 doubles or 32 floats: enough chains in flight

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SKSIG_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SKSIG_CLONES
#endif

// One refined grid row: knew[j+1] = (kold[j+1] + knew[j]) A - kold[j] B for j < M2,
// with A, B constant over the 2^lam2 cells of each segment column.
#define SKSIG_SWEEP_ROW_BODY(T)                                                  \
  constexpr int W = kLanes<T>;                                                   \
  for (int w = 0; w < W; ++w) knew[w] = T(1);                                    \
  for (std::int64_t q = 0; q < n2; ++q) {                                        \
    const T* a = A + q * W;                                                      \
    const T* b = B + q * W;                                                      \
    for (std::int64_t s = 0; s < R2; ++s) {                                      \
      const std::int64_t j = (q * R2 + s) * W;                                   \
      _Pragma("omp simd") for (int w = 0; w < W; ++w) knew[j + W + w] =          \
          (kold[j + W + w] + knew[j + w]) * a[w] - kold[j + w] * b[w];           \
    }                                                                            \
  }

SKSIG_CLONES static void sweep_row(const double* __restrict kold, double* __restrict knew,
                                   const double* __restrict A, const double* __restrict B,
                                   std::int64_t n2, std::int64_t R2) {
  SKSIG_SWEEP_ROW_BODY(double)
}
SKSIG_CLONES static void sweep_row(const float* __restrict kold, float* __restrict knew,
                                   const float* __restrict A, const float* __restrict B,
                                   std::int64_t n2, std::int64_t R2) {
  SKSIG_SWEEP_ROW_BODY(float)
}

// One row r of the adjoint sweep (SPEC.md 5, step 3) fused with step 4 for the cells
// (r-1, c-1) whose output K[r, c] this row's lambda multiplies:
//   lam[c] = S[c] + A(r, c-1) lnext[c] - B(r, c) lnext[c+1] + A(r-1, c) lam[c+1]
//   gamma(p', q) += f lam[c] ((1/2 + d/6)(K[r-1, c] + K[r, c-1]) + (d/6) K[r-1, c-1])
// Arow_r/Brow_r are the coefficient rows of cell row r (any finite row when r = M1, as
// lnext is then zero), Arow_m/Drow_m those of cell row r-1; lam and lnext have M2+2
// entries (the last one zero); S is the seed row.
#define SKSIG_ADJOINT_ROW_BODY(T)                                                      \
  constexpr int W = kLanes<T>;                                                         \
  const std::int64_t M2 = n2 * R2;                                                     \
  for (int w = 0; w < W; ++w) lam[(M2 + 1) * W + w] = T(0);                            \
  for (std::int64_t c = M2; c >= 1; --c) {                                             \
    const std::int64_t qc = std::min<std::int64_t>(c / R2, n2 - 1);                    \
    const std::int64_t qm = (c - 1) / R2;                                              \
    const T* ar_m = Arow_r + qm * W;                                                   \
    const T* br_c = Brow_r + qc * W;                                                   \
    const T* am_c = Arow_m + qc * W;                                                   \
    const T* dm = Drow_m + qm * W;                                                     \
    T* g = gamma_row + qm * W;                                                         \
    const T* s = S + c * W;                                                            \
    const T* kr = Kr + c * W;                                                          \
    const T* km = Km + c * W;                                                          \
    T* l = lam + c * W;                                                                \
    const T* ln = lnext + c * W;                                                       \
    _Pragma("omp simd") for (int w = 0; w < W; ++w) {                                  \
      const T v = s[w] + ar_m[w] * ln[w] - br_c[w] * ln[W + w] + am_c[w] * l[W + w];   \
      l[w] = v;                                                                        \
      const T d = dm[w];                                                               \
      g[w] += v * ((T(0.5) + d / T(6)) * (km[w] + kr[w - W]) + (d / T(6)) * km[w - W]); \
    }                                                                                  \
  }

SKSIG_CLONES static void adjoint_row(
    double* __restrict lam, const double* __restrict lnext, const double* __restrict S,
    const double* __restrict Kr, const double* __restrict Km,
    const double* __restrict Arow_r, const double* __restrict Brow_r,
    const double* __restrict Arow_m, const double* __restrict Drow_m,
    double* __restrict gamma_row, std::int64_t n2, std::int64_t R2) {
  SKSIG_ADJOINT_ROW_BODY(double)
}
SKSIG_CLONES static void adjoint_row(
    float* __restrict lam, const float* __restrict lnext, const float* __restrict S,
    const float* __restrict Kr, const float* __restrict Km,
    const float* __restrict Arow_r, const float* __restrict Brow_r,
    const float* __restrict Arow_m, const float* __restrict Drow_m,
    float* __restrict gamma_row, std::int64_t n2, std::int64_t R2) {
  SKSIG_ADJOINT_ROW_BODY(float)
}

// Problem sizes shared by every pair of one call (ragged inputs arrive padded).
struct GoursatShape {
  std::int64_t L1, L2, d;
  int lam1, lam2;
  std::int64_t n1() const { return L1 - 1; }
  std::int64_t n2() const { return L2 - 1; }
  std::int64_t R1() const { return std::int64_t(1) << lam1; }
  std::int64_t R2() const { return std::int64_t(1) << lam2; }
  std::int64_t M1() const { return n1() * R1(); }
  std::int64_t M2() const { return n2() * R2(); }
  std::int64_t grid_size() const { return (M1() + 1) * (M2() + 1); }
};

// Per-thread solver for one block of kLanes<T> pairs.
template <class T>
struct GoursatBlock {
  static constexpr int W = kLanes<T>;
  const StaticKernel<T>& kernel;
  GoursatShape sh;
  T f;
  std::vector<T> dy, kprev, kcur, delta, A, B, rows;

  GoursatBlock(const StaticKernel<T>& k, const GoursatShape& s) : kernel(k), sh(s) {
    f = std::ldexp(T(1), -(s.lam1 + s.lam2));
  }

  // Cell parameters d = f Delta, A(d) and B(d) of segment row p for every lane into
  // drow/arow/brow (n2 * W each).
  void coefficient_row(const T* const* xs, const T* const* ys, std::int64_t p, T* drow,
                       T* arow, T* brow) {
    const std::int64_t n2 = sh.n2(), d = sh.d;
    for (int w = 0; w < W; ++w)
      delta_row(kernel, xs[w], ys[w], kernel.is_linear() ? dy.data() + w * n2 * d : nullptr,
                sh.L2, d, p, kprev.data() + w * sh.L2, kcur.data() + w * sh.L2, drow + w, W);
    for (std::int64_t i = 0; i < n2 * W; ++i) {
      const T dd = f * drow[i];  // the cell parameter d of SPEC.md 4.2
      arow[i] = T(1) + dd / T(2) + dd * dd / T(12);
      brow[i] = T(1) - dd * dd / T(12);
      drow[i] = dd;
    }
  }

  void prepare(const T* const* xs, const T* const* ys, bool keep_all_rows) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
    const std::int64_t nrows = keep_all_rows ? std::max<std::int64_t>(n1, 1) : 1;
    delta.assign(nrows * n2 * W, T(0));
    A.assign(nrows * n2 * W, T(0));
    B.assign(nrows * n2 * W, T(0));
    if (kernel.is_linear()) {
      dy.resize(W * n2 * d);
      for (int w = 0; w < W; ++w)
        for (std::int64_t q = 0; q < n2; ++q)
          for (std::int64_t c = 0; c < d; ++c)
            dy[(w * n2 + q) * d + c] = ys[w][(q + 1) * d + c] - ys[w][q * d + c];
    } else {
      kprev.resize(W * sh.L2);
      kcur.resize(W * sh.L2);
    }
  }

  // Solves the block. grid: (M1+1)(M2+1)W or null (then only two rows are kept);
  // result: W values. With keep_coefficients all d/A/B rows stay for the adjoint; with
  // solve false only they are computed (the caller supplies the grid).
  void forward(const T* const* xs, const T* const* ys, T* grid, T* result,
               bool keep_coefficients, bool solve = true) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), R1 = sh.R1(), M2 = sh.M2();
    const std::int64_t row = (M2 + 1) * W;
    prepare(xs, ys, keep_coefficients);
    if (!grid) rows.resize(2 * row);
    T* cur = grid ? grid : rows.data();
    std::fill(cur, cur + row, T(1));
    std::int64_t r = 0;
    for (std::int64_t p = 0; p < n1; ++p) {
      const std::int64_t off = keep_coefficients ? p * n2 * W : 0;
      coefficient_row(xs, ys, p, delta.data() + off, A.data() + off, B.data() + off);
      if (!solve) continue;
      for (std::int64_t s = 0; s < R1; ++s, ++r) {
        T* next = grid ? grid + (r + 1) * row : (cur == rows.data() ? rows.data() + row
                                                                    : rows.data());
        sweep_row(cur, next, A.data() + off, B.data() + off, n2, sh.R2());
        cur = next;
      }
    }
    if (solve)
      for (int w = 0; w < W; ++w) result[w] = cur[M2 * W + w];
  }

  // Adjoint of the block given the full grid K and the coefficients kept by forward.
  // seed: (M1+1)(M2+1)W grid seed, or null with corner[w] the seed of K[M1, M2].
  // gamma: n1 * n2 * W output, dF/dDelta.
  void adjoint(const T* K, const T* seed, const T* corner, T* gamma) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), M1 = sh.M1(), M2 = sh.M2();
    const std::int64_t row = (M2 + 2) * W;
    std::fill(gamma, gamma + n1 * n2 * W, T(0));
    if (n1 == 0 || n2 == 0) return;
    rows.assign(2 * row, T(0));
    T* lnext = rows.data();  // row M1 + 1: zero
    T* lam = rows.data() + row;
    std::vector<T> corner_seed;  // a zero row, with the corner seed while r = M1
    if (!seed) {
      corner_seed.assign((M2 + 1) * W, T(0));
      for (int w = 0; w < W; ++w) corner_seed[M2 * W + w] = corner[w];
    }
    for (std::int64_t r = M1; r >= 1; --r) {
      const std::int64_t pr = std::min<std::int64_t>(r >> sh.lam1, n1 - 1);
      const std::int64_t pm = (r - 1) >> sh.lam1;
      const T* S = seed ? seed + r * (M2 + 1) * W : corner_seed.data();
      adjoint_row(lam, lnext, S, K + r * (M2 + 1) * W, K + (r - 1) * (M2 + 1) * W,
                  A.data() + pr * n2 * W, B.data() + pr * n2 * W, A.data() + pm * n2 * W,
                  delta.data() + pm * n2 * W, gamma + pm * n2 * W, n2, sh.R2());
      std::swap(lam, lnext);
      if (!seed && r == M1)
        for (int w = 0; w < W; ++w) corner_seed[M2 * W + w] = T(0);
    }
    for (std::int64_t i = 0; i < n1 * n2 * W; ++i) gamma[i] *= f;
  }
};

// Pairs of one call: pairwise (pair p = (x[p], y[p])) or Gram (p = i * ny + j).
template <class T>
struct PairSource {
  const T* x;
  const T* y;
  std::int64_t ny;
  bool gram;
  GoursatShape sh;
  void pair(std::int64_t p, std::int64_t& i, std::int64_t& j) const {
    if (gram) {
      i = p / ny;
      j = p % ny;
    } else {
      i = j = p;
    }
  }
  // Lane pointers for pairs [p0, p0 + count); unused lanes repeat the first pair.
  void lanes(std::int64_t p0, std::int64_t count, const T** xs, const T** ys) const {
    for (int w = 0; w < kLanes<T>; ++w) {
      std::int64_t i, j;
      pair(p0 + (w < count ? w : 0), i, j);
      xs[w] = x + i * sh.L1 * sh.d;
      ys[w] = y + j * sh.L2 * sh.d;
    }
  }
};

template <class T>
bool all_finite(const T* v, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

// Copies lanes [0, count) of a [cell][lane] block to pair-major outputs and back.
template <class T>
void scatter_grid(const T* block, std::int64_t count, std::int64_t cells, T* out) {
  constexpr int W = kLanes<T>;
  for (std::int64_t w = 0; w < count; ++w)
    for (std::int64_t c = 0; c < cells; ++c) out[w * cells + c] = block[c * W + w];
}

template <class T>
void gather_grid(const T* const* src, std::int64_t cells, T* block) {
  constexpr int W = kLanes<T>;
  for (std::int64_t w = 0; w < W; ++w)
    for (std::int64_t c = 0; c < cells; ++c) block[c * W + w] = src[w][c];
}

// Forward for n_pairs pairs: out[p] = k(pair p); grid (optional) (n_pairs, M1+1, M2+1).
template <class T>
int sig_kernel_pairs(const T* x, const T* y, std::int64_t n_pairs, std::int64_t ny,
                     bool gram, GoursatShape sh, KernelParams kp, T* out, T* grid,
                     int n_threads) noexcept {
  const StaticKernel<T> kernel = make_static_kernel<T>(kp);
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  constexpr int W = kLanes<T>;
  const PairSource<T> src{x, y, ny, gram, sh};
  const std::int64_t n_blocks = (n_pairs + W - 1) / W;
  const std::int64_t cells = sh.grid_size();
  return parallel_for(n_blocks, n_threads, [&](std::int64_t blk) {
    GoursatBlock<T> solver(kernel, sh);
    const std::int64_t p0 = blk * W, count = std::min<std::int64_t>(W, n_pairs - p0);
    const T* xs[W];
    const T* ys[W];
    src.lanes(p0, count, xs, ys);
    std::vector<T> block_grid(grid ? cells * W : 0);
    T result[W];
    solver.forward(xs, ys, grid ? block_grid.data() : nullptr, result, false);
    for (std::int64_t w = 0; w < count; ++w) out[p0 + w] = result[w];
    if (grid) scatter_grid(block_grid.data(), count, cells, grid + p0 * cells);
    return all_finite(result, count) ? kOk : kNonFinite;
  });
}

// Symmetric Gram of n paths with equal dyadic orders: pairs i <= j are solved in blocks
// along each row and mirrored (grids transposed), so the result is exactly symmetric.
template <class T>
int sig_kernel_gram_symmetric(const T* x, std::int64_t n, GoursatShape sh, KernelParams kp,
                              T* out, T* grid, int n_threads) noexcept {
  const StaticKernel<T> kernel = make_static_kernel<T>(kp);
  if (sh.L1 != sh.L2 || sh.lam1 != sh.lam2 || sh.L1 < 1 || sh.d < 1) return kInvalidArgument;
  constexpr int W = kLanes<T>;
  return guarded([&]() -> int {
    // Row i holds pairs (i, i..n-1) in ceil((n - i) / W) blocks.
    std::vector<std::int64_t> first(n + 1, 0);
    for (std::int64_t i = 0; i < n; ++i) first[i + 1] = first[i] + (n - i + W - 1) / W;
    const std::int64_t cells = sh.grid_size(), side = sh.M1() + 1;
    return parallel_for(first[n], n_threads, [&](std::int64_t blk) {
      const std::int64_t i =
          std::upper_bound(first.begin(), first.end(), blk) - first.begin() - 1;
      const std::int64_t j0 = i + (blk - first[i]) * W;
      const std::int64_t count = std::min<std::int64_t>(W, n - j0);
      const T* xs[W];
      const T* ys[W];
      for (int w = 0; w < W; ++w) {
        xs[w] = x + i * sh.L1 * sh.d;
        ys[w] = x + (j0 + (w < count ? w : 0)) * sh.L1 * sh.d;
      }
      GoursatBlock<T> solver(kernel, sh);
      std::vector<T> block_grid(grid ? cells * W : 0);
      T result[W];
      solver.forward(xs, ys, grid ? block_grid.data() : nullptr, result, false);
      for (std::int64_t w = 0; w < count; ++w) {
        const std::int64_t j = j0 + w;
        out[i * n + j] = result[w];
        out[j * n + i] = result[w];
        if (!grid) continue;
        T* gij = grid + (i * n + j) * cells;
        T* gji = grid + (j * n + i) * cells;
        for (std::int64_t a = 0; a < side; ++a)
          for (std::int64_t b = 0; b < side; ++b) {
            const T v = block_grid[(a * side + b) * W + w];
            gij[a * side + b] = v;
            gji[b * side + a] = v;
          }
      }
      return all_finite(result, count) ? kOk : kNonFinite;
    });
  });
}

// Backprop for n_pairs pairs (pairwise or Gram, as in sig_kernel_pairs).
//   derivs: n_pairs values, or n_pairs grids when grid_derivs.
//   k_grid: n_pairs forward grids to use instead of recomputing, or null.
//   gx, gy: per-pair gradients w.r.t. the (transformed) paths, (n_pairs, L1, d) and
//     (n_pairs, L2, d), either may be null; gamma: per-pair dF/dDelta (n_pairs, n1, n2)
//     or null.
// Pairs [0, n_pairs) are processed independently; callers reduce Gram gradients.
template <class T>
int sig_kernel_pairs_backprop(const T* x, const T* y, std::int64_t p_begin,
                              std::int64_t n_pairs, std::int64_t ny, bool gram,
                              GoursatShape sh, KernelParams kp, const T* derivs,
                              bool grid_derivs, const T* k_grid, T* gx, T* gy, T* gamma,
                              int n_threads) noexcept {
  const StaticKernel<T> kernel = make_static_kernel<T>(kp);
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  constexpr int W = kLanes<T>;
  const PairSource<T> src{x, y, ny, gram, sh};
  const std::int64_t n_blocks = (n_pairs + W - 1) / W;
  const std::int64_t cells = sh.grid_size(), n1 = sh.n1(), n2 = sh.n2();
  const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
  return parallel_for(n_blocks, n_threads, [&](std::int64_t blk) {
    const std::int64_t q0 = blk * W, count = std::min<std::int64_t>(W, n_pairs - q0);
    const std::int64_t p0 = p_begin + q0;  // global pair index of lane 0
    const T* xs[W];
    const T* ys[W];
    src.lanes(p0, count, xs, ys);
    GoursatBlock<T> solver(kernel, sh);
    std::vector<T> K(cells * W), G(n1 * n2 * W), seed;
    T result[W];
    solver.forward(xs, ys, K.data(), result, true, k_grid == nullptr);
    if (k_grid) {
      const T* grids[W];
      for (int w = 0; w < W; ++w) grids[w] = k_grid + (p0 + (w < count ? w : 0)) * cells;
      gather_grid(grids, cells, K.data());
    }
    T corner[W];
    if (grid_derivs) {
      seed.resize(cells * W);
      const T* seeds[W];
      for (int w = 0; w < W; ++w) seeds[w] = derivs + (p0 + (w < count ? w : 0)) * cells;
      gather_grid(seeds, cells, seed.data());
    } else {
      for (int w = 0; w < W; ++w) corner[w] = w < count ? derivs[p0 + w] : T(0);
    }
    solver.adjoint(K.data(), grid_derivs ? seed.data() : nullptr, corner, G.data());
    for (std::int64_t w = 0; w < count; ++w) {
      const std::int64_t q = q0 + w;
      if (gamma)
        for (std::int64_t a = 0; a < n1 * n2; ++a) gamma[q * n1 * n2 + a] = G[a * W + w];
      if (gx || gy)
        delta_backprop(kernel, G.data() + w, n2 * W, W, xs[w], ys[w], sh.L1, sh.L2, sh.d,
                       gx ? gx + q * sx : nullptr, gy ? gy + q * sy : nullptr);
      if (gx && !all_finite(gx + q * sx, sx)) return kNonFinite;
      if (gy && !all_finite(gy + q * sy, sy)) return kNonFinite;
    }
    return kOk;
  });
}

// Gram backprop: gradients summed over the other side, in ascending pair order for
// every chunk size, so results are identical for any n_jobs and max_batch.
// gx: (nx, L1, d), gy: (ny, L2, d), either may be null. chunk: pairs per round.
template <class T>
int sig_kernel_gram_backprop(const T* x, std::int64_t nx, const T* y, std::int64_t ny,
                             GoursatShape sh, KernelParams kernel, const T* derivs,
                             bool grid_derivs, const T* k_grid, T* gx, T* gy,
                             std::int64_t chunk, int n_threads) noexcept {
  return guarded([&]() -> int {
    const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d, n_pairs = nx * ny;
    if (gx) std::fill(gx, gx + nx * sx, T(0));
    if (gy) std::fill(gy, gy + ny * sy, T(0));
    chunk = std::max<std::int64_t>(1, std::min(chunk, n_pairs));
    std::vector<T> bx(gx ? chunk * sx : 0), by(gy ? chunk * sy : 0);
    for (std::int64_t p0 = 0; p0 < n_pairs; p0 += chunk) {
      const std::int64_t count = std::min(chunk, n_pairs - p0);
      int status = sig_kernel_pairs_backprop(
          x, y, p0, count, ny, true, sh, kernel, derivs, grid_derivs, k_grid,
          gx ? bx.data() : nullptr, gy ? by.data() : nullptr, static_cast<T*>(nullptr),
          n_threads);
      if (status != kOk) return status;
      // Each output path is owned by one thread; its terms are added in pair order.
      const std::int64_t i_lo = p0 / ny, i_hi = (p0 + count - 1) / ny;
      if (gx) {
        status = parallel_for(i_hi - i_lo + 1, n_threads, [&](std::int64_t k) {
          const std::int64_t i = i_lo + k;
          const std::int64_t a = std::max(p0, i * ny), b = std::min(p0 + count, (i + 1) * ny);
          T* g = gx + i * sx;
          for (std::int64_t p = a; p < b; ++p)
            for (std::int64_t e = 0; e < sx; ++e) g[e] += bx[(p - p0) * sx + e];
          return kOk;
        });
        if (status != kOk) return status;
      }
      if (gy) {
        status = parallel_for(ny, n_threads, [&](std::int64_t j) {
          T* g = gy + j * sy;
          for (std::int64_t i = i_lo; i <= i_hi; ++i) {
            const std::int64_t p = i * ny + j;
            if (p < p0 || p >= p0 + count) continue;
            for (std::int64_t e = 0; e < sy; ++e) g[e] += by[(p - p0) * sy + e];
          }
          return kOk;
        });
        if (status != kOk) return status;
      }
    }
    return kOk;
  });
}

}  // namespace sksig

// Branched signature kernels (the non-planar kernel of branched rough paths, by the
// depth recursion K_0 = 1, K_m = exp(int int K_{m-1} dkappa)) on the dyadically
// refined grid of a pair of paths, and the exact adjoint of that discrete scheme.
//
// Scheme (grid of M1 x M2 refined cells, cell coefficient delta = Delta[p, q] /
// 2^(lam1 + lam2) on the sub-cells of segments p and q):
//   I_m(i+1, j+1) = I_m(i, j+1) + I_m(i+1, j) - I_m(i, j)
//                   + delta(i, j) * (mean of K_{m-1} at the four corners of the cell),
//   K_m = exp(I_m), I_m = 0 on the axes, K_0 = 1; the kernel is K_depth at the far
// corner. All depths advance together row by row (forward memory O(depth M2) per pair).
// The adjoint keeps the grids of every depth per pair (thread-local), then runs the
// depths backwards: dF/dI_m = dF/dK_m K_m, its suffix sums give dF/d(cell term), which
// feed dF/ddelta and the corners of K_{m-1}. Arithmetic is in double for both dtypes.
// Pairs are independent parallel_for items: results are identical for every n_jobs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fast_exp.hpp"
#include "goursat.hpp"
#include "gram_rounds.hpp"
#include "simd.hpp"
#include "static_kernels.hpp"

namespace sksig {
namespace bck {

// One depth of one row: t = delta * mean of K_{m-1} over each cell; ic[j + 1] =
// ic[j] + ip[j + 1] - ip[j] + t[j]; kc = exp(ic).
inline void level_row(const double* dl, const double* kl, const double* kh,
                      const double* ip, double* ic, double* kc, double* t,
                      std::int64_t M2) {
  simd_call([](const double* __restrict dl, const double* kl, const double* kh,
               const double* ip, double* ic, double* kc, double* __restrict t,
               std::int64_t M2) SKSIG_KERNEL_BODY {
    for (std::int64_t j = 0; j < M2; ++j)
      t[j] = dl[j] * (0.25 * ((kl[j] + kl[j + 1]) + (kh[j] + kh[j + 1])));
    ic[0] = 0.0;
    double run = 0.0;
    for (std::int64_t j = 0; j < M2; ++j) {
      run += (ip[j + 1] - ip[j]) + t[j];
      ic[j + 1] = run;
    }
    kc[0] = 1.0;
    for (std::int64_t j = 1; j <= M2; ++j) kc[j] = fast_exp(ic[j]);
  }, dl, kl, kh, ip, ic, kc, t, M2);
}

template <class T>
struct Work {
  std::vector<T> delta, kprev, kcur, dy, gamma;
  std::vector<double> Kp, Kc, Ip, Ic;  // forward rows, (depth + 1) x (M2 + 1)
  std::vector<double> K;               // adjoint: grids of depths 1..depth
  std::vector<double> Kb, Kb_low, S, dgrid, dl, t;
};

// Delta (n1 x n2) of one pair into w.delta.
template <class T>
void pair_delta(const StaticKernel<T>& k, const T* x, const T* y, const GoursatShape& sh,
                Work<T>& w) {
  const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
  w.delta.resize(n1 * n2);
  w.kprev.resize(sh.L2);
  w.kcur.resize(sh.L2);
  w.dy.resize(n2 * d);
  for (std::int64_t q = 0; q < n2; ++q)
    for (std::int64_t c = 0; c < d; ++c) w.dy[q * d + c] = y[(q + 1) * d + c] - y[q * d + c];
  for (std::int64_t p = 0; p < n1; ++p)
    delta_row(k, x, y, w.dy.data(), sh.L2, d, p, w.kprev.data(), w.kcur.data(),
              w.delta.data() + p * n2, 1);
}

// Forward of one pair (Delta in w.delta). Returns K_depth at the far corner; row(i, K)
// receives the rows of all depths (K[m * (M2 + 1) + j]) for i = 0..M1.
template <class T, class Row>
double forward(const GoursatShape& sh, int depth, Work<T>& w, Row&& row) {
  const std::int64_t M1 = sh.M1(), M2 = sh.M2(), n2 = sh.n2(), cols = M2 + 1;
  const double f = std::ldexp(1.0, -(sh.lam1 + sh.lam2));
  const std::int64_t levels = depth + 1;
  w.Kp.assign(levels * cols, 1.0);
  w.Kc.assign(levels * cols, 1.0);
  w.Ip.assign(levels * cols, 0.0);
  w.Ic.assign(levels * cols, 0.0);
  w.dl.resize(M2);
  w.t.resize(M2);
  row(0, w.Kp.data());
  for (std::int64_t i = 0; i < M1; ++i) {
    check_interrupt();
    const T* drow = w.delta.data() + (i >> sh.lam1) * n2;
    for (std::int64_t j = 0; j < M2; ++j) w.dl[j] = f * double(drow[j >> sh.lam2]);
    for (int m = 1; m <= depth; ++m)
      level_row(w.dl.data(), w.Kp.data() + (m - 1) * cols, w.Kc.data() + (m - 1) * cols,
                w.Ip.data() + m * cols, w.Ic.data() + m * cols, w.Kc.data() + m * cols,
                w.t.data(), M2);
    row(i + 1, w.Kc.data());
    std::swap(w.Kp, w.Kc);
    std::swap(w.Ip, w.Ic);
  }
  return w.Kp[depth * cols + M2];
}

// Backprop of one pair: seed dF/dk (grid_seed null) or dF/dgrid of K_depth
// ((M1 + 1) x (M2 + 1)); writes gamma = dF/dDelta into w.gamma and the path gradients.
template <class T>
void backprop(const StaticKernel<T>& k, const T* x, const T* y, const GoursatShape& sh,
              int depth, Work<T>& w, T seed, const T* grid_seed, T* gx, T* gy) {
  const std::int64_t M1 = sh.M1(), M2 = sh.M2(), n1 = sh.n1(), n2 = sh.n2();
  const std::int64_t cols = M2 + 1, cells = (M1 + 1) * cols;
  const double f = std::ldexp(1.0, -(sh.lam1 + sh.lam2));
  pair_delta(k, x, y, sh, w);
  w.K.resize(std::size_t(depth) * cells);
  forward(sh, depth, w, [&](std::int64_t i, const double* rows) {
    for (int m = 1; m <= depth; ++m)
      std::copy(rows + m * cols, rows + (m + 1) * cols,
                w.K.begin() + (m - 1) * cells + i * cols);
  });
  w.Kb.assign(cells, 0.0);
  if (grid_seed)
    for (std::int64_t c = 0; c < cells; ++c) w.Kb[c] = double(grid_seed[c]);
  else
    w.Kb[cells - 1] = double(seed);
  w.Kb_low.resize(cells);
  w.S.resize(2 * cols);
  w.dgrid.assign(M1 * M2, 0.0);  // dF/ddelta per refined cell
  for (int m = depth; m >= 1; --m) {
    check_interrupt();
    const double* Km = w.K.data() + (m - 1) * cells;
    const double* Kl = m >= 2 ? w.K.data() + (m - 2) * cells : nullptr;  // K_{m-1}
    std::fill(w.Kb_low.begin(), w.Kb_low.end(), 0.0);
    // S(a, b) = sum_{i > a, j > b} dF/dI_m(i, j), rows a = M1-1..0 (two rolling rows).
    double* Snext = w.S.data();  // S(a + 1, .), zero beyond the grid
    double* Scur = w.S.data() + cols;
    std::fill(Snext, Snext + cols, 0.0);
    for (std::int64_t a = M1 - 1; a >= 0; --a) {
      const T* drow = w.delta.data() + (a >> sh.lam1) * n2;
      Scur[M2] = 0.0;
      double run = 0.0;  // sum_{j > b} dF/dI_m(a + 1, j)
      for (std::int64_t b = M2 - 1; b >= 0; --b) {
        const std::int64_t c = (a + 1) * cols + b + 1;
        run += w.Kb[c] * Km[c];
        const double s = Snext[b] + run;
        Scur[b] = s;
        const double delta = f * double(drow[b >> sh.lam2]);
        const std::int64_t c00 = a * cols + b;
        const double mean = Kl ? 0.25 * (Kl[c00] + Kl[c00 + 1] + Kl[c00 + cols] +
                                         Kl[c00 + cols + 1])
                               : 1.0;
        w.dgrid[a * M2 + b] += s * mean;
        if (Kl) {
          const double g = 0.25 * s * delta;
          w.Kb_low[c00] += g;
          w.Kb_low[c00 + 1] += g;
          w.Kb_low[c00 + cols] += g;
          w.Kb_low[c00 + cols + 1] += g;
        }
      }
      std::swap(Snext, Scur);
    }
    std::swap(w.Kb, w.Kb_low);
  }
  // dF/dDelta[p, q] = f * sum over the sub-cells of segments p, q.
  w.gamma.assign(n1 * n2, T(0));
  std::vector<double> acc(n1 * n2, 0.0);
  for (std::int64_t a = 0; a < M1; ++a)
    for (std::int64_t b = 0; b < M2; ++b)
      acc[(a >> sh.lam1) * n2 + (b >> sh.lam2)] += w.dgrid[a * M2 + b];
  for (std::int64_t e = 0; e < n1 * n2; ++e) w.gamma[e] = T(f * acc[e]);
  delta_backprop(k, w.gamma.data(), n2, 1, x, y, sh.L1, sh.L2, sh.d, gx, gy);
}

}  // namespace bck

// Forward entry point: n_pairs pairs (x[p], y[p]) or (gram) p = i * ny + j; out[p] =
// kernel, grid (n_pairs, M1 + 1, M2 + 1) of K_depth or null.
template <class T>
int branched_kernel_pairs(const T* x, const T* y, std::int64_t n_pairs, std::int64_t ny,
                          bool gram, GoursatShape sh, int depth, KernelParams kp, T* out,
                          T* grid, int n_threads) noexcept {
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || depth < 0) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> k = make_static_kernel<T>(kp);
    const std::int64_t cells = sh.grid_size(), cols = sh.M2() + 1;
    std::vector<bck::Work<T>> work(std::max(n_threads, 1));
    return parallel_for(n_pairs, n_threads, [&](std::int64_t p) -> int {
      const std::int64_t i = gram ? p / ny : p, j = gram ? p % ny : p;
      T* g = grid ? grid + p * cells : nullptr;
      if (sh.n1() == 0 || sh.n2() == 0 || depth == 0) {
        out[p] = T(1);
        if (g) std::fill(g, g + cells, T(1));
        return kOk;
      }
      bck::Work<T>& w = work[thread_index()];
      bck::pair_delta(k, x + i * sh.L1 * sh.d, y + j * sh.L2 * sh.d, sh, w);
      const double r = bck::forward(sh, depth, w, [&](std::int64_t row, const double* K) {
        if (g)
          for (std::int64_t c = 0; c < cols; ++c) g[row * cols + c] = T(K[depth * cols + c]);
      });
      out[p] = T(r);
      if (!std::isfinite(out[p])) return kNonFinite;
      if (g && !all_finite(g, cells)) return kNonFinite;
      return kOk;
    });
  });
}

// Backprop entry point for pairs [p_begin, p_begin + n_pairs) (indexing as above).
// derivs: one value per pair or (grid_derivs) one grid per pair, by global pair; gx
// (n_pairs, L1, d), gy (n_pairs, L2, d) indexed from p_begin, either may be null.
template <class T>
int branched_kernel_pairs_backprop(const T* x, const T* y, std::int64_t p_begin,
                                   std::int64_t n_pairs, std::int64_t ny, bool gram,
                                   GoursatShape sh, int depth, KernelParams kp,
                                   const T* derivs, bool grid_derivs, T* gx, T* gy,
                                   int n_threads) noexcept {
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || depth < 0) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> k = make_static_kernel<T>(kp);
    const std::int64_t cells = sh.grid_size(), sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
    std::vector<bck::Work<T>> work(std::max(n_threads, 1));
    return parallel_for(n_pairs, n_threads, [&](std::int64_t r) -> int {
      const std::int64_t p = p_begin + r;
      const std::int64_t i = gram ? p / ny : p, j = gram ? p % ny : p;
      T* gxr = gx ? gx + r * sx : nullptr;
      T* gyr = gy ? gy + r * sy : nullptr;
      if (sh.n1() == 0 || sh.n2() == 0 || depth == 0) {
        if (gxr) std::fill(gxr, gxr + sx, T(0));
        if (gyr) std::fill(gyr, gyr + sy, T(0));
        return kOk;
      }
      bck::backprop(k, x + i * sx, y + j * sy, sh, depth, work[thread_index()],
                    grid_derivs ? T(0) : derivs[p],
                    grid_derivs ? derivs + p * cells : nullptr, gxr, gyr);
      if (gxr && !all_finite(gxr, sx)) return kNonFinite;
      if (gyr && !all_finite(gyr, sy)) return kNonFinite;
      return kOk;
    });
  });
}

// Gram backprop: per-pair gradients in rounds of `chunk` pairs, summed over the other
// side in ascending pair order (identical for every n_jobs and chunk).
template <class T>
int branched_kernel_gram_backprop(const T* x, std::int64_t nx, const T* y, std::int64_t ny,
                                  GoursatShape sh, int depth, KernelParams kp,
                                  const T* derivs, bool grid_derivs, T* gx, T* gy,
                                  std::int64_t chunk, int n_threads) noexcept {
  return guarded([&]() -> int {
    return gram_backprop_rounds(
        nx, ny, sh.L1 * sh.d, sh.L2 * sh.d, gx, gy, chunk,
        [&](std::int64_t p0, std::int64_t count, T* bx, T* by) {
          return branched_kernel_pairs_backprop(x, y, p0, count, ny, true, sh, depth, kp,
                                                derivs, grid_derivs, bx, by, n_threads);
        });
  });
}

}  // namespace sksig

// Signature kernels by a high-order ("polynomial") solver of the Goursat PDE, and the
// exact adjoint of that discrete scheme.
//
// On the cell of segment p of x and segment q of y (local coordinates s, t in [0, 1])
// the PDE d2k/dsdt = c k has the constant coefficient c = Delta[p, q] (the increment
// Gram of the static kernel). Write the bottom edge k(s, 0) and the left edge k(0, t)
// by their Taylor derivatives at the corner, alpha_m = d^m k(s, 0)/ds^m and
// beta_m = d^m k(0, t)/dt^m, m = 0..P (alpha_0 = beta_0 = k at the corner). The power
// series of the solution, K_{m+1,n+1} = c K_{m,n} / ((m+1)(n+1)), gives in closed form
//   top edge:    alpha'_m = sum_{j<=m} e_j alpha_{m-j} + e_m sum_{l>=1} G_{m,l} beta_l,
//   right edge:  beta'_m  = sum_{j<=m} e_j beta_{m-j}  + e_m sum_{l>=1} G_{m,l} alpha_l,
//   corner:      k(1, 1)  = sum_m alpha_m phi_m(c) + sum_{l>=1} beta_l phi_l(c),
// with e_j = c^j / j!, G_{m,l} = m! / (m+l)! and phi_m(c) = sum_j c^j / (j! (m+j)!)
// (a scaled Bessel function, phi_m = c^{-m/2} I_m(2 sqrt c)). Given polynomial edges of
// degree P these are exact; the only approximation of the scheme is that each output
// edge keeps its derivatives up to degree P. The grid keeps one value per vertex (the
// exact corner values) and P derivatives per cell edge, so its cost per cell is
// O(P^2) and its memory O(L2 P) per pair. Arithmetic is in double for both dtypes.
//
// The adjoint walks the cells backwards with the transposed formulas; d e_j/dc =
// e_{j-1} and d phi_m/dc = phi_{m+1}. The cell inputs are stored for stripes of rows;
// beyond a budget, checkpoints of one edge row every ~sqrt(n1) rows are kept and each
// stripe is recomputed from its checkpoint.
//
// Pairs are independent items of parallel_for with the same operations per pair, so
// results are identical for every n_jobs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "goursat.hpp"
#include "static_kernels.hpp"

// The per-cell loops get an x86-64-v3 (AVX2 + FMA) clone picked at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SKSIG_POLY_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SKSIG_POLY_CLONES
#endif

namespace sksig {
namespace poly {

// Tables that depend on the order P only.
struct Tables {
  int P, n;                     // highest degree, n = P + 1 coefficients
  std::vector<double> inv;      // 1 / j
  std::vector<double> inv2;     // 1 / (j (j + 1))
  std::vector<double> invfact;  // 1 / m!, m = 0..P + 2
  std::vector<double> G;        // G[m * n + l] = m! / (m + l)! (l >= 1; column 0 zero)
  std::vector<double> Gt;       // Gt[l * n + m] = G[m * n + l]
  explicit Tables(int order) : P(order), n(order + 1) {
    inv.assign(n + 3, 0.0);
    inv2.assign(n + 3, 0.0);
    invfact.assign(n + 3, 1.0);
    for (int j = 1; j < n + 3; ++j) {
      inv[j] = 1.0 / j;
      inv2[j] = 1.0 / (double(j) * double(j + 1));
      invfact[j] = invfact[j - 1] / j;
    }
    G.assign(std::size_t(n) * n, 0.0);
    Gt.assign(std::size_t(n) * n, 0.0);
    for (int m = 0; m < n; ++m) {
      double r = 1.0;
      for (int l = 1; l < n; ++l) {
        r /= double(m + l);
        G[m * n + l] = r;
        Gt[l * n + m] = r;
      }
    }
  }
};

// Per-thread scratch of one cell.
struct Cell {
  std::vector<double> e, phi, u, w, ta, tb, t1, t2;
  explicit Cell(int n)
      : e(n + 2), phi(n + 2), u(n), w(n), ta(n), tb(n), t1(n), t2(n) {}
};

// e_j = c^j / j! (j = 0..P) and phi_m(c), m = 0..P + 1.
SKSIG_POLY_CLONES inline void coefficients(const Tables& t, double c, Cell& s) {
  const int P = t.P;
  double* e = s.e.data();
  e[0] = 1.0;
  for (int j = 1; j <= P; ++j) e[j] = e[j - 1] * c * t.inv[j];
  // psi_m = m! phi_m = sum_j c^j m! / (j! (m + j)!) -> 1 as m grows: the series at
  // m = P + 1, P + 2, then the backward recurrence psi_{m-1} = psi_m + c psi_{m+1} /
  // (m (m + 1)) (stable: phi_m is its minimal solution).
  double psi[2];
  for (int k = 0; k < 2; ++k) {
    const int m = P + 1 + k;
    double term = 1.0, sum = 1.0;
    for (int j = 0; j < 4096; ++j) {
      term *= c / (double(j + 1) * double(m + j + 1));
      sum += term;
      if (std::fabs(term) <= 1e-18 * std::fabs(sum)) break;
    }
    psi[k] = sum;
  }
  double* phi = s.phi.data();
  double hi = psi[1], cur = psi[0];  // psi_{m+1}, psi_m
  phi[P + 1] = cur * t.invfact[P + 1];
  for (int m = P + 1; m >= 1; --m) {
    const double prev = cur + c * hi * t.inv2[m];
    hi = cur;
    cur = prev;
    phi[m - 1] = cur * t.invfact[m - 1];
  }
}

// One cell forward. a, b: edge derivatives with a[0] = b[0] = v (the corner value);
// writes a_out[0..P], b_out[0..P] (entries 0 unused by the grid) and returns the corner.
// Call coefficients() first.
SKSIG_POLY_CLONES inline double cell_forward(const Tables& t, Cell& s, const double* __restrict a,
                           const double* __restrict b, double* __restrict ao,
                           double* __restrict bo) {
  const int n = t.n;
  const double* __restrict e = s.e.data();
  double* __restrict u = s.u.data();
  double* __restrict w = s.w.data();
  for (int m = 0; m < n; ++m) ao[m] = bo[m] = u[m] = w[m] = 0.0;
  for (int j = 0; j < n; ++j) {  // Toeplitz parts
    const double ej = e[j];
    for (int m = j; m < n; ++m) {
      ao[m] += ej * a[m - j];
      bo[m] += ej * b[m - j];
    }
  }
  for (int l = 1; l < n; ++l) {  // u = G b, w = G a (l >= 1)
    const double* __restrict g = t.Gt.data() + std::size_t(l) * n;
    const double al = a[l], bl = b[l];
    for (int m = 0; m < n; ++m) {
      u[m] += g[m] * bl;
      w[m] += g[m] * al;
    }
  }
  const double* phi = s.phi.data();
  double corner = a[0] * phi[0];
  for (int m = 0; m < n; ++m) {
    ao[m] += e[m] * u[m];
    bo[m] += e[m] * w[m];
  }
  for (int m = 1; m < n; ++m) corner += (a[m] + b[m]) * phi[m];
  return corner;
}

// Adjoint of cell_forward (with the same c; call coefficients() first). aob, bob:
// adjoints of a_out, b_out (entries 1..P; entry 0 ignored); vob: adjoint of the
// corner. Writes ab, bb (adjoints of a, b, entries 1..P) and returns the adjoint of
// the corner value v = a[0] = b[0]; adds dF/dc to *cb.
SKSIG_POLY_CLONES inline double cell_adjoint(const Tables& t, Cell& s, const double* __restrict a,
                           const double* __restrict b, const double* __restrict aob,
                           const double* __restrict bob, double vob,
                           double* __restrict ab, double* __restrict bb, double* cb) {
  const int n = t.n, P = t.P;
  const double* __restrict e = s.e.data();
  const double* __restrict phi = s.phi.data();
  double* __restrict ta = s.ta.data();  // Toeplitz part of a_out (its c-derivative
  double* __restrict tb = s.tb.data();  // at m is the part at m - 1)
  double* __restrict t1 = s.t1.data();
  double* __restrict t2 = s.t2.data();
  for (int m = 0; m < n; ++m) ta[m] = tb[m] = ab[m] = bb[m] = t1[m] = t2[m] = 0.0;
  for (int j = 0; j < n; ++j) {
    const double ej = e[j];
    for (int m = j; m < n; ++m) {
      ta[m] += ej * a[m - j];
      tb[m] += ej * b[m - j];
    }
  }
  double dc = 0.0;
  for (int m = 1; m < n; ++m) dc += aob[m] * ta[m - 1] + bob[m] * tb[m - 1];
  // Transposed Toeplitz: ab[k] += sum_{m >= max(k, 1)} e_{m-k} aob[m].
  for (int j = 0; j < n; ++j) {
    const double ej = e[j];
    const int m0 = j > 0 ? j : 1;
    for (int m = m0; m < n; ++m) {
      ab[m - j] += ej * aob[m];
      bb[m - j] += ej * bob[m];
    }
  }
  // G parts: a_out[m] += e_m (G b)_m. Rows m >= 1 of G, weighted by e_m aob[m] for the
  // adjoint of b and by e_{m-1} aob[m] for dF/dc (t1, t2 collect G^T of those).
  for (int m = 1; m < n; ++m) {
    const double* __restrict g = t.G.data() + std::size_t(m) * n;
    const double sa = e[m] * aob[m], sb = e[m] * bob[m];
    const double ca = e[m - 1] * aob[m], cbm = e[m - 1] * bob[m];
    for (int l = 1; l < n; ++l) {
      bb[l] += g[l] * sa;
      ab[l] += g[l] * sb;
      t1[l] += g[l] * ca;
      t2[l] += g[l] * cbm;
    }
  }
  for (int l = 1; l < n; ++l) dc += t1[l] * b[l] + t2[l] * a[l];
  // Corner: v phi_0 + sum_{m >= 1} (a_m + b_m) phi_m.
  dc += vob * a[0] * phi[1];
  for (int m = 1; m < n; ++m) {
    ab[m] += vob * phi[m];
    bb[m] += vob * phi[m];
    dc += vob * (a[m] + b[m]) * phi[m + 1];
  }
  (void)P;
  *cb += dc;
  return vob * phi[0] + ab[0] + bb[0];
}

// Per-thread buffers of one pair.
template <class T>
struct PairWork {
  Cell cell;
  std::vector<double> B, V, a, ao, bo, bnew;         // forward rows
  std::vector<T> kprev, kcur, dy, delta;             // static kernel rows, Delta
  std::vector<double> ckB, ckV, stA, stB;            // checkpoints, stripe states
  std::vector<double> Bb, Vb, Vb_next, ab, aob, bb;  // adjoint rows
  std::vector<T> gamma;
  explicit PairWork(int n) : cell(n) {}
};

struct PairShape {
  std::int64_t L1, L2, d;
  int P;
  std::int64_t n1() const { return L1 - 1; }
  std::int64_t n2() const { return L2 - 1; }
};

// Delta of the pair, (n1, n2) row-major, into w.delta.
template <class T>
void pair_delta(const StaticKernel<T>& k, const T* x, const T* y, const PairShape& sh,
                PairWork<T>& w) {
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

// Forward over rows [p0, p1) from the edge row B (n2 x n) and vertex row V (L2) on the
// line s = p0, updated in place to the line s = p1. When store, the inputs of every
// cell (a and b, n each, a[0] = b[0] = its corner vertex) go to stA/stB at
// (p - p0) * n2 + q. emit(p + 1, V) after each row.
template <class T, class Emit>
void rows_forward(const Tables& t, PairWork<T>& w, const PairShape& sh, std::int64_t p0,
                  std::int64_t p1, bool store, Emit&& emit) {
  const int n = t.n;
  const std::int64_t n2 = sh.n2();
  double* B = w.B.data();
  double* V = w.V.data();
  double* a = w.a.data();
  double* ao = w.ao.data();
  double* bo = w.bo.data();
  for (std::int64_t p = p0; p < p1; ++p) {
    check_interrupt();
    std::fill(a, a + n, 0.0);
    double v_old = V[0];  // vertex (p, q) before the row overwrites it
    for (std::int64_t q = 0; q < n2; ++q) {
      const double c = double(w.delta[p * n2 + q]);
      coefficients(t, c, w.cell);
      double* b = B + q * n;
      a[0] = b[0] = v_old;
      if (store) {
        std::copy(a, a + n, w.stA.data() + ((p - p0) * n2 + q) * n);
        std::copy(b, b + n, w.stB.data() + ((p - p0) * n2 + q) * n);
      }
      const double corner = cell_forward(t, w.cell, a, b, ao, bo);
      std::copy(bo, bo + n, b);
      std::copy(ao, ao + n, a);
      v_old = V[q + 1];
      V[q + 1] = corner;
    }
    emit(p + 1, V);
  }
}

// Forward of one pair: returns k(x, y); grid (L1 x L2, optional) gets every vertex.
template <class T>
double pair_forward(const Tables& t, const StaticKernel<T>& k, const T* x, const T* y,
                    const PairShape& sh, PairWork<T>& w, T* grid) {
  const int n = t.n;
  const std::int64_t n1 = sh.n1(), n2 = sh.n2();
  if (grid) std::fill(grid, grid + sh.L1 * sh.L2, T(1));
  if (n1 == 0 || n2 == 0) return 1.0;
  pair_delta(k, x, y, sh, w);
  w.B.assign(n2 * n, 0.0);
  w.V.assign(sh.L2, 1.0);
  w.a.resize(n);
  w.ao.resize(n);
  w.bo.resize(n);
  rows_forward(t, w, sh, 0, n1, false, [&](std::int64_t r, const double* V) {
    if (grid)
      for (std::int64_t q = 0; q < sh.L2; ++q) grid[r * sh.L2 + q] = T(V[q]);
  });
  return w.V[n2];
}

// Bytes of cell states per row of a stripe.
inline double stripe_row_bytes(const PairShape& sh) {
  return 2.0 * double(sh.n2()) * (sh.P + 1) * sizeof(double);
}

// Backprop of one pair. seed: dF/dk (when grid_seed is null) or dF/dgrid (L1 x L2).
// gamma (n1 x n2) receives dF/dDelta; gx, gy (optional) the path gradients.
template <class T>
void pair_backprop(const Tables& t, const StaticKernel<T>& k, const T* x, const T* y,
                   const PairShape& sh, PairWork<T>& w, T seed, const T* grid_seed,
                   T* gx, T* gy) {
  const int n = t.n;
  const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
  if (n1 == 0 || n2 == 0) {
    if (gx) std::fill(gx, gx + sh.L1 * d, T(0));
    if (gy) std::fill(gy, gy + sh.L2 * d, T(0));
    return;
  }
  pair_delta(k, x, y, sh, w);
  constexpr double kBudget = double(std::int64_t(64) << 20);
  std::int64_t stripe = n1;
  if (double(n1) * stripe_row_bytes(sh) > kBudget)
    stripe = std::max<std::int64_t>(1, std::int64_t(std::sqrt(double(n1))));
  const std::int64_t n_stripes = (n1 + stripe - 1) / stripe;
  w.B.assign(n2 * n, 0.0);
  w.V.assign(sh.L2, 1.0);
  w.a.resize(n);
  w.ao.resize(n);
  w.bo.resize(n);
  auto none = [](std::int64_t, const double*) {};
  // Checkpoints: the rows at the start of every stripe.
  w.ckB.resize(n_stripes * n2 * n);
  w.ckV.resize(n_stripes * sh.L2);
  for (std::int64_t s = 0; s < n_stripes; ++s) {
    std::copy(w.B.begin(), w.B.end(), w.ckB.begin() + s * n2 * n);
    std::copy(w.V.begin(), w.V.end(), w.ckV.begin() + s * sh.L2);
    if (s + 1 < n_stripes) rows_forward(t, w, sh, s * stripe, (s + 1) * stripe, false, none);
  }
  w.stA.resize(stripe * n2 * n);
  w.stB.resize(stripe * n2 * n);
  // Adjoint rows: Bb (adjoint of the edge row leaving line p + 1), Vb_next (vertices of
  // line p + 1, complete), Vb (line p, being filled).
  w.Bb.assign(n2 * n, 0.0);
  w.Vb_next.assign(sh.L2, 0.0);
  w.Vb.assign(sh.L2, 0.0);
  w.ab.resize(n);
  w.aob.resize(n);
  w.bb.resize(n);
  w.gamma.resize(n1 * n2);
  auto seed_at = [&](std::int64_t p, std::int64_t q) -> double {
    if (grid_seed) return double(grid_seed[p * sh.L2 + q]);
    return (p == n1 && q == n2) ? double(seed) : 0.0;
  };
  for (std::int64_t q = 0; q < sh.L2; ++q) w.Vb_next[q] = seed_at(n1, q);
  for (std::int64_t s = n_stripes - 1; s >= 0; --s) {
    const std::int64_t p0 = s * stripe, p1 = std::min(n1, p0 + stripe);
    std::copy(w.ckB.begin() + s * n2 * n, w.ckB.begin() + (s + 1) * n2 * n, w.B.begin());
    std::copy(w.ckV.begin() + s * sh.L2, w.ckV.begin() + (s + 1) * sh.L2, w.V.begin());
    rows_forward(t, w, sh, p0, p1, true, none);
    for (std::int64_t p = p1 - 1; p >= p0; --p) {
      check_interrupt();
      for (std::int64_t q = 0; q < sh.L2; ++q) w.Vb[q] = seed_at(p, q);
      std::fill(w.aob.begin(), w.aob.end(), 0.0);  // the top row's outputs are unused
      for (std::int64_t q = n2 - 1; q >= 0; --q) {
        const double c = double(w.delta[p * n2 + q]);
        coefficients(t, c, w.cell);
        const double* a = w.stA.data() + ((p - p0) * n2 + q) * n;
        const double* b = w.stB.data() + ((p - p0) * n2 + q) * n;
        double* bob = w.Bb.data() + q * n;
        double dc = 0.0;
        const double vb = cell_adjoint(t, w.cell, a, b, w.aob.data(), bob,
                                       w.Vb_next[q + 1], w.ab.data(), w.bb.data(), &dc);
        w.gamma[p * n2 + q] = T(dc);
        w.Vb[q] += vb;
        std::copy(w.bb.begin(), w.bb.end(), bob);
        std::copy(w.ab.begin(), w.ab.end(), w.aob.begin());
      }
      std::swap(w.Vb, w.Vb_next);
    }
  }
  delta_backprop(k, w.gamma.data(), n2, 1, x, y, sh.L1, sh.L2, d, gx, gy);
}

}  // namespace poly

// Forward entry point: n_pairs pairs (x[p], y[p]), or (gram) p = i * ny + j.
// out[p] = k; grid (n_pairs, L1, L2) or null.
template <class T>
int sig_kernel_poly_pairs(const T* x, const T* y, std::int64_t n_pairs, std::int64_t ny,
                          bool gram, std::int64_t L1, std::int64_t L2, std::int64_t d,
                          int order, KernelParams kp, T* out, T* grid,
                          int n_threads) noexcept {
  if (L1 < 1 || L2 < 1 || d < 1 || order < 1) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> k = make_static_kernel<T>(kp);
    const poly::Tables t(order);
    const poly::PairShape sh{L1, L2, d, order};
    std::vector<poly::PairWork<T>> work;
    work.reserve(std::max(n_threads, 1));
    for (int i = 0; i < std::max(n_threads, 1); ++i) work.emplace_back(t.n);
    return parallel_for(n_pairs, n_threads, [&](std::int64_t p) -> int {
      const std::int64_t i = gram ? p / ny : p, j = gram ? p % ny : p;
      const T r = T(poly::pair_forward(t, k, x + i * L1 * d, y + j * L2 * d, sh,
                                       work[thread_index()],
                                       grid ? grid + p * L1 * L2 : nullptr));
      out[p] = r;
      if (!std::isfinite(r)) return kNonFinite;
      if (grid && !all_finite(grid + p * L1 * L2, L1 * L2)) return kNonFinite;
      return kOk;
    });
  });
}

// Backprop entry point for pairs [p_begin, p_begin + n_pairs) (pairwise or Gram
// indexing as above). derivs: one value per pair, or (grid_derivs) one L1 x L2 grid per
// pair, indexed by the global pair. gx (n_pairs, L1, d), gy (n_pairs, L2, d), indexed
// from p_begin; either may be null.
template <class T>
int sig_kernel_poly_pairs_backprop(const T* x, const T* y, std::int64_t p_begin,
                                   std::int64_t n_pairs, std::int64_t ny, bool gram,
                                   std::int64_t L1, std::int64_t L2, std::int64_t d,
                                   int order, KernelParams kp, const T* derivs,
                                   bool grid_derivs, T* gx, T* gy,
                                   int n_threads) noexcept {
  if (L1 < 1 || L2 < 1 || d < 1 || order < 1) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> k = make_static_kernel<T>(kp);
    const poly::Tables t(order);
    const poly::PairShape sh{L1, L2, d, order};
    std::vector<poly::PairWork<T>> work;
    work.reserve(std::max(n_threads, 1));
    for (int i = 0; i < std::max(n_threads, 1); ++i) work.emplace_back(t.n);
    return parallel_for(n_pairs, n_threads, [&](std::int64_t r) -> int {
      const std::int64_t p = p_begin + r;
      const std::int64_t i = gram ? p / ny : p, j = gram ? p % ny : p;
      T* gxr = gx ? gx + r * L1 * d : nullptr;
      T* gyr = gy ? gy + r * L2 * d : nullptr;
      poly::pair_backprop(t, k, x + i * L1 * d, y + j * L2 * d, sh, work[thread_index()],
                          grid_derivs ? T(0) : derivs[p],
                          grid_derivs ? derivs + p * L1 * L2 : nullptr, gxr, gyr);
      if (gxr && !all_finite(gxr, L1 * d)) return kNonFinite;
      if (gyr && !all_finite(gyr, L2 * d)) return kNonFinite;
      return kOk;
    });
  });
}

// Gram backprop: per-pair gradients in rounds of `chunk` pairs, summed over the other
// side in ascending pair order (identical for every n_jobs and chunk).
template <class T>
int sig_kernel_poly_gram_backprop(const T* x, std::int64_t nx, const T* y, std::int64_t ny,
                                  std::int64_t L1, std::int64_t L2, std::int64_t d,
                                  int order, KernelParams kp, const T* derivs,
                                  bool grid_derivs, T* gx, T* gy, std::int64_t chunk,
                                  int n_threads) noexcept {
  return guarded([&]() -> int {
    const std::int64_t sx = L1 * d, sy = L2 * d, n_pairs = nx * ny;
    if (gx) std::fill(gx, gx + nx * sx, T(0));
    if (gy) std::fill(gy, gy + ny * sy, T(0));
    if (n_pairs == 0) return kOk;
    chunk = std::max<std::int64_t>(1, std::min(chunk, n_pairs));
    std::vector<T> bx(gx ? chunk * sx : 0), by(gy ? chunk * sy : 0);
    for (std::int64_t p0 = 0; p0 < n_pairs; p0 += chunk) {
      const std::int64_t count = std::min(chunk, n_pairs - p0);
      int status = sig_kernel_poly_pairs_backprop(
          x, y, p0, count, ny, true, L1, L2, d, order, kp, derivs, grid_derivs,
          gx ? bx.data() : nullptr, gy ? by.data() : nullptr, n_threads);
      if (status != kOk) return status;
      for (std::int64_t p = p0; p < p0 + count; ++p) {
        const std::int64_t i = p / ny, j = p % ny;
        if (gx)
          for (std::int64_t e = 0; e < sx; ++e) gx[i * sx + e] += bx[(p - p0) * sx + e];
        if (gy)
          for (std::int64_t e = 0; e < sy; ++e) gy[j * sy + e] += by[(p - p0) * sy + e];
      }
    }
    return kOk;
  });
}

}  // namespace sksig

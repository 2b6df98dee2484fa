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
// Pairs are solved four at a time in SIMD lanes (blocks of consecutive pairs, the
// remainder one by one), each lane with its own operations only; blocks are
// parallel_for items, so results are identical for every n_jobs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

#include "goursat.hpp"
#include "gram_rounds.hpp"
#include "simd.hpp"
#include "static_kernels.hpp"

// Helpers of the per-cell kernels are inlined into each copy of their bodies (compiled
// for its instruction set; see simd_call).
#if defined(__GNUC__)
#define SKSIG_POLY_INLINE inline __attribute__((always_inline))
#else
#define SKSIG_POLY_INLINE inline
#endif

namespace sksig {
namespace poly {

// Buffers read as lane vectors are 64-byte aligned.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};
using Buffer = std::vector<double, AlignedAllocator<double>>;

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

// W pairs are solved in lock-step: every per-cell array is laid out [coefficient][lane]
// (a[m * W + l]), so each update is one SIMD operation over the lanes with no shuffles.
// A lane's operations never depend on the other lanes, so a pair's result does not
// depend on its block or lane.

// Per-thread scratch of one cell (W lanes).
template <int W>
struct Cell {
  Buffer e, phi, u, w, ta, tb, t1, t2, ra, rb, xa, xb, ya, yb, c;
  explicit Cell(int n)
      : e((n + 2) * W), phi((n + 2) * W), u(n * W), w(n * W), ta(n * W), tb(n * W),
        t1(n * W), t2(n * W), ra(n * W), rb(n * W), xa(n * W), xb(n * W), ya(n * W),
        yb(n * W), c(W) {}
};

// e_j = c^j / j! (j = 0..P) and phi_m(c), m = 0..P + 1, for the lanes' c.
template <int W>
void coefficients(const Tables& t, Cell<W>& s) {
  simd_call([](const Tables& t, Cell<W>& s) SKSIG_KERNEL_BODY {
    const int P = t.P;
    const double* c = s.c.data();
    double* __restrict e = s.e.data();
    double* __restrict phi = s.phi.data();
    for (int l = 0; l < W; ++l) e[l] = 1.0;
    for (int j = 1; j <= P; ++j)
      for (int l = 0; l < W; ++l) e[j * W + l] = e[(j - 1) * W + l] * c[l] * t.inv[j];
    // psi_m = m! phi_m = sum_j c^j m! / (j! (m + j)!) -> 1 as m grows: the series at
    // m = P + 1, P + 2 (per lane), then the backward recurrence psi_{m-1} = psi_m +
    // c psi_{m+1} / (m (m + 1)) (stable: phi_m is its minimal solution).
    double hi[W], cur[W];
    for (int l = 0; l < W; ++l)
      for (int k = 0; k < 2; ++k) {
        const int m = P + 1 + k;
        double term = 1.0, sum = 1.0;
        for (int j = 0; j < 4096; ++j) {
          term *= c[l] / (double(j + 1) * double(m + j + 1));
          sum += term;
          if (std::fabs(term) <= 1e-18 * std::fabs(sum)) break;
        }
        (k ? hi : cur)[l] = sum;
      }
    for (int l = 0; l < W; ++l) phi[(P + 1) * W + l] = cur[l] * t.invfact[P + 1];
    for (int m = P + 1; m >= 1; --m) {
      const double r = t.inv2[m], f = t.invfact[m - 1];
      for (int l = 0; l < W; ++l) {
        const double prev = cur[l] + c[l] * hi[l] * r;
        hi[l] = cur[l];
        cur[l] = prev;
        phi[(m - 1) * W + l] = prev * f;
      }
    }
  }, t, s);
}

// W lanes as one GCC vector (a register of AVX2 for W = 4), for loads and stores of
// the [coefficient][lane] arrays; one lane is a plain double.
template <int W>
struct Lanes {
  typedef double type __attribute__((vector_size(8 * W), aligned(8), may_alias));
};
template <>
struct Lanes<1> {
  typedef double type;
};

template <class V>
SKSIG_POLY_INLINE void to_lanes(const V& v, double* out, int W) {
  std::memcpy(out, &v, sizeof(double) * W);
}

// o[i..i+3] = v0..v3: the four outputs of one unrolled step below.
template <class V>
SKSIG_POLY_INLINE void store_four(V* o, int i, V v0, V v1, V v2, V v3) {
  o[i] = v0;
  o[i + 1] = v1;
  o[i + 2] = v2;
  o[i + 3] = v3;
}

// Dot products of pairs of vectors with the rows of a matrix, four rows at a time
// (eight independent accumulators keep the FMA units busy):
//   ox[r] = sum_{k0 <= k < n} M[r * ld + k] x[k],  oy[r] likewise with y,  r = r0..n-1.
template <class V>
SKSIG_POLY_INLINE void row_dots(const double* M, int ld, int n, int r0, int k0, const V* x,
                     const V* y, V* ox, V* oy) {
  const V zero = {};
  int r = r0;
  for (; r + 4 <= n; r += 4) {
    const double* m0 = M + std::size_t(r) * ld;
    const double* m1 = m0 + ld;
    const double* m2 = m1 + ld;
    const double* m3 = m2 + ld;
    V x0 = zero, x1 = zero, x2 = zero, x3 = zero, y0 = zero, y1 = zero, y2 = zero,
      y3 = zero;
    for (int k = k0; k < n; ++k) {
      const V xk = x[k], yk = y[k];
      x0 += m0[k] * xk;
      y0 += m0[k] * yk;
      x1 += m1[k] * xk;
      y1 += m1[k] * yk;
      x2 += m2[k] * xk;
      y2 += m2[k] * yk;
      x3 += m3[k] * xk;
      y3 += m3[k] * yk;
    }
    store_four(ox, r, x0, x1, x2, x3);
    store_four(oy, r, y0, y1, y2, y3);
  }
  for (; r < n; ++r) {
    const double* mr = M + std::size_t(r) * ld;
    V xr = zero, yr = zero;
    for (int k = k0; k < n; ++k) {
      xr += mr[k] * x[k];
      yr += mr[k] * y[k];
    }
    ox[r] = xr;
    oy[r] = yr;
  }
}

// Lower-triangular Toeplitz products ox[m] = sum_{j <= m} e[j] x[m - j] (oy likewise),
// m = 0..n-1, four m at a time.
template <class V>
SKSIG_POLY_INLINE void toeplitz(const V* e, int n, const V* x, const V* y, V* ox, V* oy) {
  const V zero = {};
  int m = 0;
  for (; m + 4 <= n; m += 4) {
    V x0 = zero, x1 = zero, x2 = zero, x3 = zero, y0 = zero, y1 = zero, y2 = zero,
      y3 = zero;
    for (int j = 0; j <= m; ++j) {  // the terms all four m share
      const V ej = e[j];
      x0 += ej * x[m - j];
      y0 += ej * y[m - j];
      x1 += ej * x[m + 1 - j];
      y1 += ej * y[m + 1 - j];
      x2 += ej * x[m + 2 - j];
      y2 += ej * y[m + 2 - j];
      x3 += ej * x[m + 3 - j];
      y3 += ej * y[m + 3 - j];
    }
    for (int j = m + 1; j <= m + 1; ++j) {
      x1 += e[j] * x[m + 1 - j];
      y1 += e[j] * y[m + 1 - j];
    }
    for (int j = m + 1; j <= m + 2; ++j) {
      x2 += e[j] * x[m + 2 - j];
      y2 += e[j] * y[m + 2 - j];
    }
    for (int j = m + 1; j <= m + 3; ++j) {
      x3 += e[j] * x[m + 3 - j];
      y3 += e[j] * y[m + 3 - j];
    }
    store_four(ox, m, x0, x1, x2, x3);
    store_four(oy, m, y0, y1, y2, y3);
  }
  for (; m < n; ++m) {
    V xm = zero, ym = zero;
    for (int j = 0; j <= m; ++j) {
      xm += e[j] * x[m - j];
      ym += e[j] * y[m - j];
    }
    ox[m] = xm;
    oy[m] = ym;
  }
}

// What cell_forward and cell_adjoint read, as W-lane vectors: the edge derivatives a, b
// and the cell's e_j and phi_m (n = P + 1 coefficients).
template <int W>
struct CellInputs {
  using V = typename Lanes<W>::type;
  int n;
  const V* a;
  const V* b;
  const V* e;
  const V* phi;
  CellInputs(const Tables& t, const Cell<W>& s, const double* a_, const double* b_)
      : n(t.n),
        a(reinterpret_cast<const V*>(a_)),
        b(reinterpret_cast<const V*>(b_)),
        e(reinterpret_cast<const V*>(s.e.data())),
        phi(reinterpret_cast<const V*>(s.phi.data())) {}
};

// One cell forward. a, b: edge derivatives with a[0] = b[0] = v (the corner value);
// writes a_out, b_out (entries m = 0 unused by the grid) and the corner (W values).
// Call coefficients() first.
template <int W>
void cell_forward(const Tables& t, Cell<W>& s, const double* a_, const double* b_,
                  double* ao_, double* bo_, double* corner) {
  simd_call([](const Tables& t, Cell<W>& s, const double* a_, const double* b_,
               double* ao_, double* bo_, double* corner) SKSIG_KERNEL_BODY {
    using V = typename Lanes<W>::type;
    const auto [n, a, b, e, phi] = CellInputs<W>(t, s, a_, b_);
    V* ao = reinterpret_cast<V*>(ao_);
    V* bo = reinterpret_cast<V*>(bo_);
    V* u = reinterpret_cast<V*>(s.u.data());
    V* w = reinterpret_cast<V*>(s.w.data());
    toeplitz(e, n, a, b, ao, bo);
    row_dots(t.G.data(), n, n, 0, 1, b, a, u, w);  // u = G b, w = G a (columns >= 1)
    for (int m = 0; m < n; ++m) {
      ao[m] += e[m] * u[m];
      bo[m] += e[m] * w[m];
    }
    V c = a[0] * phi[0];
    for (int m = 1; m < n; ++m) c += (a[m] + b[m]) * phi[m];
    to_lanes(c, corner, W);
  }, t, s, a_, b_, ao_, bo_, corner);
}

// Adjoint of cell_forward (same c; call coefficients() first). aob, bob: adjoints of
// a_out, b_out (entries m >= 1; m = 0 ignored); vob: adjoint of the corner. Writes ab,
// bb (adjoints of a, b for m >= 1), vb (adjoint of the corner value v = a[0] = b[0])
// and adds dF/dc to cb (W values each).
template <int W>
void cell_adjoint(const Tables& t, Cell<W>& s, const double* a_, const double* b_,
                  const double* aob_, const double* bob_, const double* vob_, double* ab_,
                  double* bb_, double* vb, double* cb) {
  simd_call([](const Tables& t, Cell<W>& s, const double* a_, const double* b_,
               const double* aob_, const double* bob_, const double* vob_, double* ab_,
               double* bb_, double* vb, double* cb) SKSIG_KERNEL_BODY {
    using V = typename Lanes<W>::type;
    const auto [n, a, b, e, phi] = CellInputs<W>(t, s, a_, b_);
    const V* aob = reinterpret_cast<const V*>(aob_);
    const V* bob = reinterpret_cast<const V*>(bob_);
    V* ab = reinterpret_cast<V*>(ab_);
    V* bb = reinterpret_cast<V*>(bb_);
    V* ta = reinterpret_cast<V*>(s.ta.data());  // Toeplitz part of a_out (its c-derivative
    V* tb = reinterpret_cast<V*>(s.tb.data());  // at m is the part at m - 1)
    const V zero = {};
    V vob;
    std::memcpy(&vob, vob_, sizeof(double) * W);
    toeplitz(e, n, a, b, ta, tb);
    V dc = zero;
    for (int m = 1; m < n; ++m) dc += aob[m] * ta[m - 1] + bob[m] * tb[m - 1];
    // Transposed Toeplitz: ab[k] = sum_{m >= max(k, 1)} e_{m-k} aob[m], and the G parts
    // (a_out[m] += e_m (G b)_m): bb[k] += sum_{m >= 1} G_{m,k} e_m aob[m]; for dF/dc the
    // weights e_{m-1} aob[m] instead (ca, cbm below, contracted with b and a).
    V* sa = reinterpret_cast<V*>(s.t1.data());  // e_m aob[m], e_m bob[m]
    V* sb = reinterpret_cast<V*>(s.t2.data());
    V* ca = reinterpret_cast<V*>(s.u.data());   // e_{m-1} aob[m], e_{m-1} bob[m]
    V* cbm = reinterpret_cast<V*>(s.w.data());
    sa[0] = sb[0] = ca[0] = cbm[0] = zero;
    for (int m = 1; m < n; ++m) {
      sa[m] = e[m] * aob[m];
      sb[m] = e[m] * bob[m];
      ca[m] = e[m - 1] * aob[m];
      cbm[m] = e[m - 1] * bob[m];
    }
    // ab[k] = sum_{m >= max(k, 1)} e_{m-k} aob[m] (aob[0] is ignored: zeroed in sa).
    V* ra = reinterpret_cast<V*>(s.ra.data());
    V* rb = reinterpret_cast<V*>(s.rb.data());
    ra[0] = rb[0] = zero;
    for (int m = 1; m < n; ++m) {
      ra[m] = aob[m];
      rb[m] = bob[m];
    }
    for (int k = 0; k < n; ++k) {
      V xa = zero, xb = zero;
      for (int m = k; m < n; ++m) {
        xa += e[m - k] * ra[m];
        xb += e[m - k] * rb[m];
      }
      ab[k] = xa;
      bb[k] = xb;
    }
    // G^T products over rows m >= 1 (sa[0] = ... = 0).
    V* xa = reinterpret_cast<V*>(s.xa.data());
    V* xb = reinterpret_cast<V*>(s.xb.data());
    V* ya = reinterpret_cast<V*>(s.ya.data());
    V* yb = reinterpret_cast<V*>(s.yb.data());
    row_dots(t.Gt.data(), n, n, 1, 1, sb, sa, xa, xb);
    row_dots(t.Gt.data(), n, n, 1, 1, cbm, ca, ya, yb);
    for (int k = 1; k < n; ++k) {
      ab[k] += xa[k];
      bb[k] += xb[k];
      dc += yb[k] * b[k] + ya[k] * a[k];
    }
    // Corner: v phi_0 + sum_{m >= 1} (a_m + b_m) phi_m.
    dc += vob * a[0] * phi[1];
    for (int m = 1; m < n; ++m) {
      ab[m] += vob * phi[m];
      bb[m] += vob * phi[m];
      dc += vob * (a[m] + b[m]) * phi[m + 1];
    }
    const V v = vob * phi[0] + ab[0] + bb[0];
    double dcl[W];
    to_lanes(dc, dcl, W);
    to_lanes(v, vb, W);
    for (int l = 0; l < W; ++l) cb[l] += dcl[l];
  }, t, s, a_, b_, aob_, bob_, vob_, ab_, bb_, vb, cb);
}

// Per-thread buffers of one block of W pairs.
template <class T, int W>
struct PairWork {
  static constexpr int width = W;
  Cell<W> cell;
  Buffer B, V, a, ao, bo, corner, vb, cb;            // forward rows, cell outputs
  Buffer delta;                                      // Delta, (n1, n2, W)
  std::vector<T> kprev, kcur, dy, drow, gamma;       // one lane's static kernel rows
  Buffer ckB, ckV, stA, stB;                         // checkpoints, stripe states
  Buffer Bb, Vb, Vb_next, ab, aob, bb;               // adjoint rows
  explicit PairWork(int n) : cell(n) {}
};

struct PairShape {
  std::int64_t L1, L2, d;
  int P;
  std::int64_t n1() const { return L1 - 1; }
  std::int64_t n2() const { return L2 - 1; }
};

// Delta of the lanes' pairs into w.delta, (n1, n2, W).
template <class T, int W>
void block_delta(const StaticKernel<T>& k, const T* const* xs, const T* const* ys,
                 const PairShape& sh, PairWork<T, W>& w) {
  const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
  w.delta.resize(n1 * n2 * W);
  w.kprev.resize(sh.L2);
  w.kcur.resize(sh.L2);
  w.dy.resize(n2 * d);
  w.drow.resize(n2);
  for (int l = 0; l < W; ++l) {
    const T* x = xs[l];
    const T* y = ys[l];
    for (std::int64_t q = 0; q < n2; ++q)
      for (std::int64_t c = 0; c < d; ++c) w.dy[q * d + c] = y[(q + 1) * d + c] - y[q * d + c];
    for (std::int64_t p = 0; p < n1; ++p) {
      delta_row(k, x, y, w.dy.data(), sh.L2, d, p, w.kprev.data(), w.kcur.data(),
                w.drow.data(), 1);
      for (std::int64_t q = 0; q < n2; ++q) w.delta[(p * n2 + q) * W + l] = double(w.drow[q]);
    }
  }
}

// Forward over rows [p0, p1) from the edge row B (n2 x n x W) and vertex row V (L2 x W)
// on the line s = p0, updated in place to the line s = p1. When store, the inputs of
// every cell (a and b, n x W each, a[0] = b[0] = its corner vertex) go to stA/stB at
// (p - p0) * n2 + q. emit(p + 1, V) after each row.
template <class T, int W, class Emit>
void rows_forward(const Tables& t, PairWork<T, W>& w, const PairShape& sh, std::int64_t p0,
                  std::int64_t p1, bool store, Emit&& emit) {
  const int n = t.n;
  const std::int64_t n2 = sh.n2(), nw = std::int64_t(n) * W;
  double* B = w.B.data();
  double* V = w.V.data();
  double* a = w.a.data();
  double* ao = w.ao.data();
  double* bo = w.bo.data();
  double* corner = w.corner.data();
  double v_old[W];
  for (std::int64_t p = p0; p < p1; ++p) {
    check_interrupt();
    std::fill(a, a + nw, 0.0);
    for (int l = 0; l < W; ++l) v_old[l] = V[l];  // vertex (p, q) before the overwrite
    for (std::int64_t q = 0; q < n2; ++q) {
      for (int l = 0; l < W; ++l) w.cell.c[l] = w.delta[(p * n2 + q) * W + l];
      coefficients<W>(t, w.cell);
      double* b = B + q * nw;
      for (int l = 0; l < W; ++l) a[l] = b[l] = v_old[l];
      if (store) {
        std::copy(a, a + nw, w.stA.data() + ((p - p0) * n2 + q) * nw);
        std::copy(b, b + nw, w.stB.data() + ((p - p0) * n2 + q) * nw);
      }
      cell_forward<W>(t, w.cell, a, b, ao, bo, corner);
      std::copy(bo, bo + nw, b);
      std::copy(ao, ao + nw, a);
      for (int l = 0; l < W; ++l) {
        v_old[l] = V[(q + 1) * W + l];
        V[(q + 1) * W + l] = corner[l];
      }
    }
    emit(p + 1, V);
  }
}

template <class T, int W>
void start_rows(const Tables& t, const PairShape& sh, PairWork<T, W>& w) {
  const std::int64_t nw = std::int64_t(t.n) * W;
  w.B.assign(sh.n2() * nw, 0.0);
  w.V.assign(sh.L2 * W, 1.0);
  w.a.resize(nw);
  w.ao.resize(nw);
  w.bo.resize(nw);
  w.corner.resize(W);
}

// Forward of W pairs: result[l] = k(xs[l], ys[l]); grids[l] (L1 x L2, or null) gets
// every vertex. Requires n1, n2 >= 1.
template <class T, int W>
void block_forward(const Tables& t, const StaticKernel<T>& k, const T* const* xs,
                   const T* const* ys, const PairShape& sh, PairWork<T, W>& w,
                   double* result, T* const* grids) {
  block_delta(k, xs, ys, sh, w);
  start_rows(t, sh, w);
  rows_forward(t, w, sh, 0, sh.n1(), false, [&](std::int64_t r, const double* V) {
    for (int l = 0; l < W; ++l)
      if (grids[l])
        for (std::int64_t q = 0; q < sh.L2; ++q) grids[l][r * sh.L2 + q] = T(V[q * W + l]);
  });
  for (int l = 0; l < W; ++l) result[l] = w.V[sh.n2() * W + l];
}

// Bytes of cell states per row of a stripe (W lanes).
inline double stripe_row_bytes(const PairShape& sh, int W) {
  return 2.0 * double(sh.n2()) * (sh.P + 1) * W * sizeof(double);
}

// Backprop of W pairs. seeds[l]: dF/dk of lane l (when grid_seeds[l] is null) or
// grid_seeds[l]: dF/dgrid (L1 x L2). gxs[l], gys[l] (optional) get the path gradients.
// Requires n1, n2 >= 1.
template <class T, int W>
void block_backprop(const Tables& t, const StaticKernel<T>& k, const T* const* xs,
                    const T* const* ys, const PairShape& sh, PairWork<T, W>& w,
                    const T* seeds, const T* const* grid_seeds, T* const* gxs,
                    T* const* gys) {
  const int n = t.n;
  const std::int64_t n1 = sh.n1(), n2 = sh.n2(), nw = std::int64_t(n) * W;
  block_delta(k, xs, ys, sh, w);
  constexpr double kBudget = double(std::int64_t(64) << 20);
  std::int64_t stripe = n1;
  if (double(n1) * stripe_row_bytes(sh, W) > kBudget)
    stripe = std::max<std::int64_t>(1, std::int64_t(std::sqrt(double(n1))));
  const std::int64_t n_stripes = (n1 + stripe - 1) / stripe;
  start_rows(t, sh, w);
  auto none = [](std::int64_t, const double*) {};
  // Checkpoints: the rows at the start of every stripe.
  w.ckB.resize(n_stripes * n2 * nw);
  w.ckV.resize(n_stripes * sh.L2 * W);
  for (std::int64_t s = 0; s < n_stripes; ++s) {
    std::copy(w.B.begin(), w.B.end(), w.ckB.begin() + s * n2 * nw);
    std::copy(w.V.begin(), w.V.end(), w.ckV.begin() + s * sh.L2 * W);
    if (s + 1 < n_stripes) rows_forward(t, w, sh, s * stripe, (s + 1) * stripe, false, none);
  }
  w.stA.resize(stripe * n2 * nw);
  w.stB.resize(stripe * n2 * nw);
  // Adjoint rows: Bb (adjoint of the edge row leaving line p + 1), Vb_next (vertices of
  // line p + 1, complete), Vb (line p, being filled).
  w.Bb.assign(n2 * nw, 0.0);
  w.Vb_next.assign(sh.L2 * W, 0.0);
  w.Vb.assign(sh.L2 * W, 0.0);
  w.ab.resize(nw);
  w.aob.resize(nw);
  w.bb.resize(nw);
  w.vb.resize(W);
  w.cb.assign(n1 * n2 * W, 0.0);
  auto seed_row = [&](std::int64_t p, double* row) {
    for (int l = 0; l < W; ++l)
      for (std::int64_t q = 0; q < sh.L2; ++q)
        row[q * W + l] = grid_seeds[l] ? double(grid_seeds[l][p * sh.L2 + q])
                         : (p == n1 && q == n2) ? double(seeds[l]) : 0.0;
  };
  seed_row(n1, w.Vb_next.data());
  for (std::int64_t s = n_stripes - 1; s >= 0; --s) {
    const std::int64_t p0 = s * stripe, p1 = std::min(n1, p0 + stripe);
    std::copy(w.ckB.begin() + s * n2 * nw, w.ckB.begin() + (s + 1) * n2 * nw, w.B.begin());
    std::copy(w.ckV.begin() + s * sh.L2 * W, w.ckV.begin() + (s + 1) * sh.L2 * W,
              w.V.begin());
    rows_forward(t, w, sh, p0, p1, true, none);
    for (std::int64_t p = p1 - 1; p >= p0; --p) {
      check_interrupt();
      seed_row(p, w.Vb.data());
      std::fill(w.aob.begin(), w.aob.end(), 0.0);  // the top row's outputs are unused
      for (std::int64_t q = n2 - 1; q >= 0; --q) {
        for (int l = 0; l < W; ++l) w.cell.c[l] = w.delta[(p * n2 + q) * W + l];
        coefficients<W>(t, w.cell);
        const double* a = w.stA.data() + ((p - p0) * n2 + q) * nw;
        const double* b = w.stB.data() + ((p - p0) * n2 + q) * nw;
        double* bob = w.Bb.data() + q * nw;
        cell_adjoint<W>(t, w.cell, a, b, w.aob.data(), bob, w.Vb_next.data() + (q + 1) * W,
                        w.ab.data(), w.bb.data(), w.vb.data(),
                        w.cb.data() + (p * n2 + q) * W);
        for (int l = 0; l < W; ++l) w.Vb[q * W + l] += w.vb[l];
        std::copy(w.bb.begin(), w.bb.end(), bob);
        std::copy(w.ab.begin(), w.ab.end(), w.aob.begin());
      }
      std::swap(w.Vb, w.Vb_next);
    }
  }
  w.gamma.resize(n1 * n2);
  for (int l = 0; l < W; ++l) {
    if (!gxs[l] && !gys[l]) continue;
    for (std::int64_t i = 0; i < n1 * n2; ++i) w.gamma[i] = T(w.cb[i * W + l]);
    delta_backprop(k, w.gamma.data(), n2, 1, xs[l], ys[l], sh.L1, sh.L2, sh.d, gxs[l],
                   gys[l]);
  }
}

// Pairs [p_begin, p_begin + n_pairs): pairwise (x[p], y[p]) or Gram (x[p / ny],
// y[p % ny]), cut into blocks of kPolyLanes consecutive pairs and single pairs for the
// rest, so that a pair's block depends on its index only.
constexpr int kPolyLanes = 4;

template <class T>
struct Blocks {
  PairSource<T> src;  // the pair indexing of goursat.hpp
  std::int64_t p_begin, n_pairs, n_wide;
  Blocks(const T* x, const T* y, std::int64_t ny, bool gram, PairShape sh,
         std::int64_t p_begin_, std::int64_t n_pairs_)
      : src{x, y, ny, gram, GoursatShape{sh.L1, sh.L2, sh.d, 0, 0}}, p_begin(p_begin_),
        n_pairs(n_pairs_), n_wide(n_pairs_ / kPolyLanes) {}
  std::int64_t count() const { return n_wide + (n_pairs - n_wide * kPolyLanes); }
  bool wide(std::int64_t blk) const { return blk < n_wide; }
  // Local index (from p_begin) of the first pair of block blk.
  std::int64_t first(std::int64_t blk) const {
    return blk < n_wide ? blk * kPolyLanes : n_wide * kPolyLanes + (blk - n_wide);
  }
  void paths(std::int64_t r, const T*& xp, const T*& yp) const {
    src.template lanes<1>(p_begin + r, 1, &xp, &yp);
  }
};

template <class T, int W>
struct Works {
  std::vector<PairWork<T, W>> items;
  Works(int n, int n_threads) {
    items.reserve(std::max(n_threads, 1));
    for (int i = 0; i < std::max(n_threads, 1); ++i) items.emplace_back(n);
  }
  PairWork<T, W>& mine() { return items[thread_index()]; }
};

// Runs solve(work, r0) for every block of `blocks` (r0: its first pair, local index),
// work the calling thread's workspace of the block's width.
template <class T, class Solve>
int for_blocks(const Blocks<T>& blocks, int n, int n_threads, Solve&& solve) {
  Works<T, kPolyLanes> wide(n, n_threads);
  Works<T, 1> narrow(n, n_threads);
  return parallel_for(blocks.count(), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t r0 = blocks.first(blk);
    if (blocks.wide(blk)) return solve(wide.mine(), r0);
    return solve(narrow.mine(), r0);
  });
}

// The frame of the two entry points below: the argument checks, then (guarded) the
// static kernel, tables and shape, one_point() when a path has a single point (no
// segment), else body(kernel, tables, shape).
template <class T, class OnePoint, class Body>
int entry(std::int64_t L1, std::int64_t L2, std::int64_t d, int order, KernelParams kp,
          OnePoint&& one_point, Body&& body) noexcept {
  if (L1 < 1 || L2 < 1 || d < 1 || order < 1) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> k = make_static_kernel<T>(kp);
    const Tables t(order);
    const PairShape sh{L1, L2, d, order};
    if (L1 == 1 || L2 == 1) return one_point();
    return body(k, t, sh);
  });
}

}  // namespace poly

// Forward entry point: n_pairs pairs (x[p], y[p]), or (gram) p = i * ny + j.
// out[p] = k; grid (n_pairs, L1, L2) or null.
template <class T>
int sig_kernel_poly_pairs(const T* x, const T* y, std::int64_t n_pairs, std::int64_t ny,
                          bool gram, std::int64_t L1, std::int64_t L2, std::int64_t d,
                          int order, KernelParams kp, T* out, T* grid,
                          int n_threads) noexcept {
  auto one_point = [&] {  // kernel 1, grid of ones
    std::fill(out, out + n_pairs, T(1));
    if (grid) std::fill(grid, grid + n_pairs * L1 * L2, T(1));
    return static_cast<int>(kOk);
  };
  return poly::entry<T>(L1, L2, d, order, kp, one_point, [&](const StaticKernel<T>& k,
                                                             const poly::Tables& t,
                                                             const poly::PairShape& sh) {
    const poly::Blocks<T> blocks(x, y, ny, gram, sh, 0, n_pairs);
    return poly::for_blocks(blocks, t.n, n_threads, [&](auto& work, std::int64_t r0) -> int {
      constexpr int W = std::remove_reference_t<decltype(work)>::width;
      const T* xs[W];
      const T* ys[W];
      T* grids[W];
      double result[W];
      for (int l = 0; l < W; ++l) {
        blocks.paths(r0 + l, xs[l], ys[l]);
        grids[l] = grid ? grid + (r0 + l) * L1 * L2 : nullptr;
        if (grids[l]) std::fill(grids[l], grids[l] + L2, T(1));
      }
      poly::block_forward<T, W>(t, k, xs, ys, sh, work, result, grids);
      for (int l = 0; l < W; ++l) {
        out[r0 + l] = T(result[l]);
        if (!std::isfinite(out[r0 + l])) return kNonFinite;
        if (grids[l] && !all_finite(grids[l], L1 * L2)) return kNonFinite;
      }
      return static_cast<int>(kOk);
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
  auto one_point = [&] {  // gradients 0
    if (gx) std::fill(gx, gx + n_pairs * L1 * d, T(0));
    if (gy) std::fill(gy, gy + n_pairs * L2 * d, T(0));
    return static_cast<int>(kOk);
  };
  return poly::entry<T>(L1, L2, d, order, kp, one_point, [&](const StaticKernel<T>& k,
                                                             const poly::Tables& t,
                                                             const poly::PairShape& sh) {
    const poly::Blocks<T> blocks(x, y, ny, gram, sh, p_begin, n_pairs);
    return poly::for_blocks(blocks, t.n, n_threads, [&](auto& work, std::int64_t r0) -> int {
      constexpr int W = std::remove_reference_t<decltype(work)>::width;
      const T* xs[W];
      const T* ys[W];
      const T* gseeds[W];
      T seeds[W];
      T* gxs[W];
      T* gys[W];
      for (int l = 0; l < W; ++l) {
        const std::int64_t r = r0 + l, p = p_begin + r;
        blocks.paths(r, xs[l], ys[l]);
        gseeds[l] = grid_derivs ? derivs + p * L1 * L2 : nullptr;
        seeds[l] = grid_derivs ? T(0) : derivs[p];
        gxs[l] = gx ? gx + r * L1 * d : nullptr;
        gys[l] = gy ? gy + r * L2 * d : nullptr;
      }
      poly::block_backprop<T, W>(t, k, xs, ys, sh, work, seeds, gseeds, gxs, gys);
      for (int l = 0; l < W; ++l) {
        if (gxs[l] && !all_finite(gxs[l], L1 * d)) return kNonFinite;
        if (gys[l] && !all_finite(gys[l], L2 * d)) return kNonFinite;
      }
      return static_cast<int>(kOk);
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
    return gram_backprop_rounds(
        nx, ny, L1 * d, L2 * d, gx, gy, chunk,
        [&](std::int64_t p0, std::int64_t count, T* bx, T* by) {
          return sig_kernel_poly_pairs_backprop(x, y, p0, count, ny, true, L1, L2, d, order,
                                                kp, derivs, grid_derivs, bx, by, n_threads);
        });
  });
}

}  // namespace sksig

// Branched signatures (SPEC.md sections 10-11): Chen products with the BCK (non-planar)
// or MKW (planar) coproduct, the log in the same Hopf algebra, and its adjoint.
//
// The combinatorics live in flat tables built once in Python (sksig/_trees.py). A basis
// vector has n + 1 entries, entry 0 being the scalar term. For every basis element e
// (1..n) the *reduced* coproduct terms (both sides non-empty) are
//   t in [term_ptr[e-1], term_ptr[e]):  term_coef[t] * prod_{j in left(t)} A[j] * B[term_right[t]]
// with left(t) = left_idx[left_ptr[t] .. left_ptr[t+1]) (one forest index when planar,
// the trees of the pruned forest when non-planar, A being a character there). The two
// remaining terms e (x) 1 and 1 (x) e are added explicitly. Every left index and every
// right index is smaller than e (fewer nodes), which allows in-place updates in
// descending order.
//
// One straight segment with increment v has the value seg_coef[e] * prod of v over the
// node labels of e (labels[label_ptr[e-1] .. label_ptr[e])).
#pragma once

#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

struct BranchedTables {
  std::int64_t n;  // basis size without the scalar term
  const std::int64_t* term_ptr;   // n + 1
  const double* term_coef;        // n_terms
  const std::int64_t* term_right; // n_terms
  const std::int64_t* left_ptr;   // n_terms + 1
  const std::int64_t* left_idx;
  const double* seg_coef;         // n + 1
  const std::int64_t* label_ptr;  // n + 1
  const std::int64_t* labels;
};

namespace detail {

template <class T>
inline T left_product(const BranchedTables& tb, std::int64_t t, const T* a) noexcept {
  std::int64_t p = tb.left_ptr[t], q = tb.left_ptr[t + 1];
  T prod = a[tb.left_idx[p]];
  for (++p; p < q; ++p) prod *= a[tb.left_idx[p]];
  return prod;
}

// Value of one straight segment with increment v on every basis element.
template <class T>
inline void segment_values(const BranchedTables& tb, const T* v, T* e) noexcept {
  e[0] = T(1);
  for (std::int64_t i = 1; i <= tb.n; ++i) {
    T prod = static_cast<T>(tb.seg_coef[i]);
    for (std::int64_t p = tb.label_ptr[i - 1]; p < tb.label_ptr[i]; ++p)
      prod *= v[tb.labels[p]];
    e[i] = prod;
  }
}

// x <- x * b in place (Chen's identity, x from the earlier piece).
template <class T>
inline void chen_in_place(const BranchedTables& tb, T* x, const T* b) noexcept {
  for (std::int64_t e = tb.n; e >= 1; --e) {
    T acc = x[e] + b[e];
    for (std::int64_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t)
      acc += static_cast<T>(tb.term_coef[t]) * left_product(tb, t, x) * b[tb.term_right[t]];
    x[e] = acc;
  }
}

// out = (reduced) a * p: the (X - eps) * P_k step of the log.
template <class T>
inline void reduced_product(const BranchedTables& tb, const T* a, const T* p,
                            T* out) noexcept {
  out[0] = T(0);
  for (std::int64_t e = 1; e <= tb.n; ++e) {
    T acc = T(0);
    for (std::int64_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t)
      acc += static_cast<T>(tb.term_coef[t]) * left_product(tb, t, a) * p[tb.term_right[t]];
    out[e] = acc;
  }
}

template <class T>
inline T log_coef(int k) noexcept {
  return (k % 2 ? T(1) : T(-1)) / static_cast<T>(k);
}

}  // namespace detail

// out: (batch, n + 1) branched signatures of piecewise-linear paths (batch, length, dim).
template <class T>
int branched_sig(const T* path, T* out, std::int64_t batch, std::int64_t length,
                 std::int64_t dim, const BranchedTables& tb, int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    T* x = out + b * m;
    const T* p = path + b * length * dim;
    std::vector<T> seg(static_cast<std::size_t>(m)), v(static_cast<std::size_t>(dim));
    x[0] = T(1);
    for (std::int64_t i = 1; i < m; ++i) x[i] = T(0);
    bool first = true;
    for (std::int64_t s = 0; s + 1 < length; ++s) {
      bool zero = true;
      for (std::int64_t c = 0; c < dim; ++c) {
        v[c] = p[(s + 1) * dim + c] - p[s * dim + c];
        zero = zero && v[c] == T(0);
      }
      if (zero) continue;  // a constant piece (e.g. ragged padding) is the identity
      if (first) {
        detail::segment_values(tb, v.data(), x);
        first = false;
      } else {
        detail::segment_values(tb, v.data(), seg.data());
        detail::chen_in_place(tb, x, seg.data());
      }
    }
    return kOk;
  });
}

// out: (batch, n + 1) log of (batch, n + 1) inputs whose scalar entry is taken as 1;
// out[., 0] = 0.
template <class T>
int branched_log(const T* x, T* out, std::int64_t batch, int degree,
                 const BranchedTables& tb, int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* xb = x + b * m;
    T* ob = out + b * m;
    std::vector<T> a(xb, xb + m), p(a), q(static_cast<std::size_t>(m));
    a[0] = T(0);
    p[0] = T(0);
    for (std::int64_t i = 0; i < m; ++i) ob[i] = a[i];
    for (int k = 2; k <= degree; ++k) {
      detail::reduced_product(tb, a.data(), p.data(), q.data());
      const T c = detail::log_coef<T>(k);
      for (std::int64_t i = 1; i < m; ++i) ob[i] += c * q[i];
      p.swap(q);
    }
    return kOk;
  });
}

// grad_x: (batch, n + 1) vector-Jacobian product of branched_log with cotangent grad_out
// (batch, n + 1; entry 0 ignored). grad_x[., 0] = 0.
template <class T>
int branched_log_backprop(const T* x, const T* grad_out, T* grad_x, std::int64_t batch,
                          int degree, const BranchedTables& tb, int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* xb = x + b * m;
    const T* g = grad_out + b * m;
    T* gx = grad_x + b * m;
    std::vector<T> a(xb, xb + m);
    a[0] = T(0);
    // Forward: P_1 .. P_degree.
    std::vector<T> P(static_cast<std::size_t>(m) * (degree > 0 ? degree : 1));
    for (std::int64_t i = 0; i < m; ++i) P[i] = a[i];
    for (int k = 2; k <= degree; ++k)
      detail::reduced_product(tb, a.data(), P.data() + (k - 2) * m, P.data() + (k - 1) * m);
    // Reverse: h = dL/dP_k, starting from k = degree.
    std::vector<T> h(static_cast<std::size_t>(m)), hprev(static_cast<std::size_t>(m));
    for (std::int64_t i = 0; i < m; ++i) gx[i] = T(0);
    {
      const T c = detail::log_coef<T>(degree);
      h[0] = T(0);
      for (std::int64_t i = 1; i < m; ++i) h[i] = c * g[i];
    }
    for (int k = degree; k >= 2; --k) {
      const T* pk1 = P.data() + (k - 2) * m;
      const T c = detail::log_coef<T>(k - 1);
      hprev[0] = T(0);
      for (std::int64_t i = 1; i < m; ++i) hprev[i] = c * g[i];
      for (std::int64_t e = 1; e <= tb.n; ++e) {
        const T he = h[e];
        if (he == T(0)) continue;
        for (std::int64_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
          const T w = static_cast<T>(tb.term_coef[t]) * he;
          const std::int64_t r = tb.term_right[t];
          const std::int64_t p0 = tb.left_ptr[t], p1 = tb.left_ptr[t + 1];
          T prod = a[tb.left_idx[p0]];
          for (std::int64_t p = p0 + 1; p < p1; ++p) prod *= a[tb.left_idx[p]];
          hprev[r] += w * prod;
          const T wr = w * pk1[r];
          if (p1 - p0 == 1) {
            gx[tb.left_idx[p0]] += wr;
          } else {
            for (std::int64_t p = p0; p < p1; ++p) {
              T others = wr;
              for (std::int64_t q = p0; q < p1; ++q)
                if (q != p) others *= a[tb.left_idx[q]];
              gx[tb.left_idx[p]] += others;
            }
          }
        }
      }
      h.swap(hprev);
    }
    for (std::int64_t i = 1; i < m; ++i) gx[i] += h[i];
    gx[0] = T(0);
    return kOk;
  });
}

// Lyndon coordinates (planar methods 1 and 2): out[i] = log[pos[i]], then (method 2)
// the unitriangular solve c_i = out_i - sum_{p in row i} val[p] * c_{idx[p]}.
template <class T>
int lyndon_project(const T* log, T* out, std::int64_t batch, std::int64_t m,
                   std::int64_t n_lyndon, const std::int64_t* pos, bool solve,
                   const std::int64_t* tri_ptr, const std::int64_t* tri_idx,
                   const double* tri_val, int n_threads) noexcept {
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* lb = log + b * m;
    T* ob = out + b * n_lyndon;
    for (std::int64_t i = 0; i < n_lyndon; ++i) {
      T acc = lb[pos[i]];
      if (solve)
        for (std::int64_t p = tri_ptr[i]; p < tri_ptr[i + 1]; ++p)
          acc -= static_cast<T>(tri_val[p]) * ob[tri_idx[p]];
      ob[i] = acc;
    }
    return kOk;
  });
}

// Adjoint of lyndon_project: grad_log (batch, m) from grad_out (batch, n_lyndon).
template <class T>
int lyndon_project_backprop(const T* grad_out, T* grad_log, std::int64_t batch,
                            std::int64_t m, std::int64_t n_lyndon, const std::int64_t* pos,
                            bool solve, const std::int64_t* tri_ptr,
                            const std::int64_t* tri_idx, const double* tri_val,
                            int n_threads) noexcept {
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    std::vector<T> g(grad_out + b * n_lyndon, grad_out + (b + 1) * n_lyndon);
    if (solve)
      for (std::int64_t i = n_lyndon - 1; i >= 0; --i)
        for (std::int64_t p = tri_ptr[i]; p < tri_ptr[i + 1]; ++p)
          g[tri_idx[p]] -= static_cast<T>(tri_val[p]) * g[i];
    T* gl = grad_log + b * m;
    for (std::int64_t i = 0; i < m; ++i) gl[i] = T(0);
    for (std::int64_t i = 0; i < n_lyndon; ++i) gl[pos[i]] = g[i];
    return kOk;
  });
}

}  // namespace sksig

// Branched signatures (SPEC.md sections 10-11): Chen products with the BCK (non-planar)
// or MKW (planar) coproduct, the log in the same Hopf algebra, and its adjoint.
//
// The combinatorics live in flat tables built once in Python (sksig/_trees.py). A basis
// vector has n + 1 entries, entry 0 being the scalar term. For every basis element e
// (1..n) the *reduced* coproduct terms (both sides non-empty) are
//   t in [term_ptr[e-1], term_ptr[e]):  term_coef[t] * A[term_left[t]] * B[term_right[t]]
// The two remaining terms e (x) 1 and 1 (x) e are added explicitly. Planar: left is a
// forest, read directly. Non-planar: A is a character, so a left forest of several
// trees is the product of their values; such products are computed once per use into
// the extended entries A[n + 1 + j] = A[forest_first[j]] * A[forest_rest[j]] (the rest
// being a tree or an earlier forest), making every term a single lookup. Every left and
// right index of element e has fewer nodes than e, which allows in-place updates in
// descending order; right indices are sorted descending within each element.
//
// One straight segment with increment v has the value c(e) * prod of v over the node
// labels of e; it is built from a parent element with one node fewer.
#pragma once

#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

template <class T>
struct BranchedTables {
  std::int64_t n;                   // basis size without the scalar term
  int degree;
  const std::int32_t* term_ptr;     // n + 1
  const T* term_coef;               // n_terms
  const std::int32_t* term_right;   // n_terms, descending within each element
  const std::int32_t* term_left;    // n_terms, index into the extended vector
  std::int64_t n_forest;            // extended entries (non-planar products)
  const std::int32_t* forest_first;
  const std::int32_t* forest_rest;
  const std::int32_t* seg_parent;   // n + 1: element with one node fewer
  const std::int32_t* seg_label;    // n + 1: label of the removed node
  const T* seg_ratio;               // n + 1: c(e) / c(parent)
  const std::int32_t* order_start;  // degree + 2: first element with >= k nodes
};

namespace detail {

template <class T>
inline void forest_products(const BranchedTables<T>& tb, T* a) noexcept {
  T* f = a + tb.n + 1;
  for (std::int64_t j = 0; j < tb.n_forest; ++j)
    f[j] = a[tb.forest_first[j]] * a[tb.forest_rest[j]];
}

// Adjoint of forest_products: pushes g[n + 1 + j] back onto the trees.
template <class T>
inline void forest_products_backprop(const BranchedTables<T>& tb, const T* a,
                                     T* g) noexcept {
  const std::int64_t off = tb.n + 1;
  for (std::int64_t j = tb.n_forest - 1; j >= 0; --j) {
    const T gj = g[off + j];
    g[tb.forest_first[j]] += gj * a[tb.forest_rest[j]];
    g[tb.forest_rest[j]] += gj * a[tb.forest_first[j]];
  }
}

// Value of one straight segment with increment v on every basis element:
// E[e] = E[parent] * v[label] * ratio (one node more than the parent).
template <class T>
inline void segment_values(const BranchedTables<T>& tb, const T* v, T* e) noexcept {
  e[0] = T(1);
  for (std::int64_t i = 1; i <= tb.n; ++i)
    e[i] = e[tb.seg_parent[i]] * v[tb.seg_label[i]] * tb.seg_ratio[i];
}

// x <- x * b in place (Chen's identity, x from the earlier piece); x is extended.
template <class T>
inline void chen_in_place(const BranchedTables<T>& tb, T* x, const T* b) noexcept {
  forest_products(tb, x);
  for (std::int64_t e = tb.n; e >= 1; --e) {
    T acc = x[e] + b[e];
    for (std::int32_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t)
      acc += tb.term_coef[t] * x[tb.term_left[t]] * b[tb.term_right[t]];
    x[e] = acc;
  }
}

// out = (reduced) a * p where p vanishes below k nodes (a extended, forest products
// filled): the (X - eps) * P_k step of the log. The scan of each element stops at the
// first right index with fewer than k nodes; out vanishes below k + 1 nodes.
template <class T>
inline void reduced_product(const BranchedTables<T>& tb, const T* a, const T* p, int k,
                            T* out) noexcept {
  const std::int32_t first = tb.order_start[k];
  const std::int64_t lo = tb.order_start[k + 1];
  for (std::int64_t e = 0; e < lo; ++e) out[e] = T(0);
  for (std::int64_t e = lo; e <= tb.n; ++e) {
    T acc = T(0);
    for (std::int32_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
      const std::int32_t r = tb.term_right[t];
      if (r < first) break;
      acc += tb.term_coef[t] * a[tb.term_left[t]] * p[r];
    }
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
                 std::int64_t dim, const BranchedTables<T>& tb, int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* p = path + b * length * dim;
    std::vector<T> x(static_cast<std::size_t>(m + tb.n_forest), T(0));
    std::vector<T> seg(static_cast<std::size_t>(m)), v(static_cast<std::size_t>(dim));
    x[0] = T(1);
    bool first = true;
    for (std::int64_t s = 0; s + 1 < length; ++s) {
      bool zero = true;
      for (std::int64_t c = 0; c < dim; ++c) {
        v[c] = p[(s + 1) * dim + c] - p[s * dim + c];
        zero = zero && v[c] == T(0);
      }
      if (zero) continue;  // a constant piece (e.g. ragged padding) is the identity
      if (first) {
        detail::segment_values(tb, v.data(), x.data());
        first = false;
      } else {
        detail::segment_values(tb, v.data(), seg.data());
        detail::chen_in_place(tb, x.data(), seg.data());
      }
    }
    T* xb = out + b * m;
    for (std::int64_t i = 0; i < m; ++i) xb[i] = x[i];
    return kOk;
  });
}

// out: (batch, n + 1) log of (batch, n + 1) inputs whose scalar entry is taken as 1;
// out[., 0] = 0.
template <class T>
int branched_log(const T* x, T* out, std::int64_t batch, const BranchedTables<T>& tb,
                 int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* xb = x + b * m;
    T* ob = out + b * m;
    std::vector<T> a(static_cast<std::size_t>(m + tb.n_forest));
    std::vector<T> p(xb, xb + m), q(static_cast<std::size_t>(m));
    for (std::int64_t i = 0; i < m; ++i) a[i] = xb[i];
    a[0] = T(0);
    p[0] = T(0);
    detail::forest_products(tb, a.data());
    for (std::int64_t i = 0; i < m; ++i) ob[i] = a[i];
    for (int k = 2; k <= tb.degree; ++k) {
      detail::reduced_product(tb, a.data(), p.data(), k - 1, q.data());
      const T c = detail::log_coef<T>(k);
      for (std::int64_t i = tb.order_start[k]; i < m; ++i) ob[i] += c * q[i];
      p.swap(q);
    }
    return kOk;
  });
}

// grad_x: (batch, n + 1) vector-Jacobian product of branched_log with cotangent grad_out
// (batch, n + 1; entry 0 ignored). grad_x[., 0] = 0.
template <class T>
int branched_log_backprop(const T* x, const T* grad_out, T* grad_x, std::int64_t batch,
                          const BranchedTables<T>& tb, int n_threads) noexcept {
  const std::int64_t m = tb.n + 1;
  const int degree = tb.degree;
  return parallel_for(batch, n_threads, [&](std::int64_t b) -> int {
    const T* xb = x + b * m;
    const T* g = grad_out + b * m;
    T* gx = grad_x + b * m;
    const std::size_t ext = static_cast<std::size_t>(m + tb.n_forest);
    std::vector<T> a(ext), ga(ext, T(0));
    for (std::int64_t i = 0; i < m; ++i) a[i] = xb[i];
    a[0] = T(0);
    detail::forest_products(tb, a.data());
    // Forward: P_1 .. P_degree (P_k vanishes below k nodes).
    std::vector<T> P(static_cast<std::size_t>(m) * static_cast<std::size_t>(degree));
    for (std::int64_t i = 0; i < m; ++i) P[i] = a[i];
    for (int k = 2; k <= degree; ++k)
      detail::reduced_product(tb, a.data(), P.data() + (k - 2) * m, k - 1,
                              P.data() + (k - 1) * m);
    // Reverse: h = dL/dP_k from k = degree down. Entries of P_k that vanish
    // identically (below k nodes) carry no gradient and are skipped.
    std::vector<T> h(static_cast<std::size_t>(m)), hprev(static_cast<std::size_t>(m));
    {
      const T c = detail::log_coef<T>(degree);
      for (std::int64_t i = 0; i < m; ++i) h[i] = c * g[i];
    }
    for (int k = degree; k >= 2; --k) {
      const T* pk1 = P.data() + (k - 2) * m;
      const std::int32_t first = tb.order_start[k - 1];
      const T c = detail::log_coef<T>(k - 1);
      for (std::int64_t i = 0; i < m; ++i) hprev[i] = c * g[i];
      for (std::int64_t e = tb.order_start[k]; e <= tb.n; ++e) {
        const T he = h[e];
        if (he == T(0)) continue;
        for (std::int32_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
          const std::int32_t r = tb.term_right[t];
          if (r < first) break;
          const std::int32_t l = tb.term_left[t];
          const T w = tb.term_coef[t] * he;
          hprev[r] += w * a[l];
          ga[l] += w * pk1[r];
        }
      }
      h.swap(hprev);
    }
    for (std::int64_t i = 1; i < m; ++i) ga[i] += h[i];
    detail::forest_products_backprop(tb, a.data(), ga.data());
    for (std::int64_t i = 1; i < m; ++i) gx[i] = ga[i];
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

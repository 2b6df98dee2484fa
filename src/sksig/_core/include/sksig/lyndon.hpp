// Sparse tables of the Lyndon bases of the free Lie algebra (SPEC.md section 8).
//
// The tables are built once per (dimension, degree) in Python (sksig/_lyndon.py, they
// are small: 2860 words for d = 10, N = 4) and read here through plain arrays:
//   pos[w]                       flat tensor index (tensor_algebra.hpp layout) of the
//                                Lyndon word w; Lyndon order = by length, then lexicographic.
//   tri_ptr, tri_col, tri_val    the strictly lower part of T[u, w] = <P_w, u> as CSR by
//                                row u (T is unitriangular and block diagonal by level).
//   exp_ptr, exp_pos, exp_val    the expansion of the bracket P_w into words (CSR by w,
//                                column = flat tensor index).
#pragma once

#include <cstdint>
#include <vector>

namespace sksig {

struct LyndonTables {
  std::int64_t n = 0;  // number of Lyndon words (log_sig_length)
  const std::int64_t* pos = nullptr;
  const std::int64_t* tri_ptr = nullptr;
  const std::int64_t* tri_col = nullptr;
  const double* tri_val = nullptr;
  const std::int64_t* exp_ptr = nullptr;
  const std::int64_t* exp_pos = nullptr;
  const double* exp_val = nullptr;

  // Indices within the top level N (offset top_offset) of the Lyndon words of length N,
  // which come last in Lyndon order.
  std::vector<std::int64_t> top_level(std::int64_t top_offset) const {
    std::vector<std::int64_t> top;
    for (std::int64_t w = 0; w < n; ++w)
      if (pos[w] >= top_offset) top.push_back(pos[w] - top_offset);
    return top;
  }

  // Lyndon-word coordinates of a tensor: out[w] = Z[pos[w]].
  template <class T>
  void gather(const T* Z, T* out) const {
    for (std::int64_t w = 0; w < n; ++w) out[w] = Z[pos[w]];
  }

  // Adjoint of gather: dZ[pos[w]] += g[w].
  template <class T>
  void scatter_add(const T* g, T* dZ) const {
    for (std::int64_t w = 0; w < n; ++w) dZ[pos[w]] += g[w];
  }

  // Solve T c = c in place (forward substitution in Lyndon order).
  template <class T>
  void solve(T* c) const {
    for (std::int64_t u = 0; u < n; ++u) {
      T acc = c[u];
      for (std::int64_t p = tri_ptr[u]; p < tri_ptr[u + 1]; ++p)
        acc -= static_cast<T>(tri_val[p]) * c[tri_col[p]];
      c[u] = acc;
    }
  }

  // Solve T^T x = x in place (backward substitution): the adjoint of solve.
  template <class T>
  void solve_transposed(T* x) const {
    for (std::int64_t u = n - 1; u >= 0; --u) {
      const T xu = x[u];
      for (std::int64_t p = tri_ptr[u]; p < tri_ptr[u + 1]; ++p)
        x[tri_col[p]] -= static_cast<T>(tri_val[p]) * xu;
    }
  }

  // Tensor of the Lie element sum_w c_w P_w (Z must be zeroed by the caller).
  template <class T>
  void expand_add(const T* c, T* Z) const {
    for (std::int64_t w = 0; w < n; ++w)
      for (std::int64_t p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
        Z[exp_pos[p]] += static_cast<T>(exp_val[p]) * c[w];
  }

  // Adjoint of expand_add: dc[w] += <dZ, P_w>.
  template <class T>
  void expand_adjoint(const T* dZ, T* dc) const {
    for (std::int64_t w = 0; w < n; ++w) {
      T acc = 0;
      for (std::int64_t p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
        acc += static_cast<T>(exp_val[p]) * dZ[exp_pos[p]];
      dc[w] += acc;
    }
  }
};

}  // namespace sksig

// The table view of the Lyndon bases of the free Lie algebra (SPEC.md section 8): what
// the kernels include. The tables are built once per (dimension, degree) by
// build_lyndon_tables (lyndon_builder.hpp, cached by sksig/_lyndon.py) and read here
// through plain arrays:
//   pos[w]                       flat tensor index (tensor_algebra.hpp layout) of the
//                                Lyndon word w; Lyndon order = by length, then lexicographic.
//   tri_ptr, tri_col, tri_val    the strictly lower part of T[u, w] = <P_w, u> as CSR by
//                                row u (T is unitriangular and block diagonal by level).
//   exp_ptr, exp_pos, exp_val    the expansion of the bracket P_w into words (CSR by w,
//                                column = flat tensor index).
// The per-row formulas are SKSIG_HD, shared with the CUDA join (sksig/cuda/log_sig.cu).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "hd.hpp"

// The table loops below are inlined into the simd_call copies of the kernels that use
// them (so they run with the copy's instruction set).
#if defined(__GNUC__)
#define SKSIG_TABLE_INLINE __attribute__((always_inline))
#else
#define SKSIG_TABLE_INLINE
#endif

namespace sksig {

// The two row formulas of the Lyndon tables, on CSR arrays (ptr, idx, val) and a vector
// x, the terms of row r summed in stored order:
//   solve row:  acc - sum_p val[p] x[idx[p]]  (one row of a forward or, on the
//               transposed entries, backward substitution by T),
//   dot row:    acc + sum_p val[p] x[idx[p]]  (one entry of an expansion sum_w c_w P_w).
template <class T, class X>
SKSIG_HD T lyndon_solve_row(T acc, const std::int64_t* ptr, const std::int64_t* idx,
                            const double* val, std::int64_t r, const X* x) {
  for (std::int64_t p = ptr[r]; p < ptr[r + 1]; ++p)
    acc -= static_cast<T>(val[p]) * x[idx[p]];
  return acc;
}

template <class T, class X>
SKSIG_HD T lyndon_dot_row(T acc, const std::int64_t* ptr, const std::int64_t* idx,
                          const double* val, std::int64_t r, const X* x) {
  for (std::int64_t p = ptr[r]; p < ptr[r + 1]; ++p)
    acc += static_cast<T>(val[p]) * x[idx[p]];
  return acc;
}

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
  SKSIG_TABLE_INLINE void gather(const T* Z, T* out) const {
    for (std::int64_t w = 0; w < n; ++w) out[w] = Z[pos[w]];
  }

  // Adjoint of gather: dZ[pos[w]] += g[w].
  template <class T>
  SKSIG_TABLE_INLINE void scatter_add(const T* g, T* dZ) const {
    for (std::int64_t w = 0; w < n; ++w) dZ[pos[w]] += g[w];
  }

  // Solve T c = c in place (forward substitution in Lyndon order).
  template <class T>
  SKSIG_TABLE_INLINE void solve(T* c) const {
    for (std::int64_t u = 0; u < n; ++u)
      c[u] = lyndon_solve_row(c[u], tri_ptr, tri_col, tri_val, u, c);
  }

  // Solve T^T x = x in place (backward substitution): the adjoint of solve.
  template <class T>
  SKSIG_TABLE_INLINE void solve_transposed(T* x) const {
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

  // Index of the first Lyndon word at flat index >= top_offset (the words of the top
  // level come last).
  std::int64_t first_at(std::int64_t top_offset) const {
    return std::lower_bound(pos, pos + n, top_offset) - pos;
  }

  // The Lie element sum_w c_w P_w on the levels below the top (Z zeroed there by the
  // caller) and at the Lyndon words u of the top level, which are assigned: there the
  // coefficient is sum_w T[u, w] c_w (T is block diagonal by level), so the expansions
  // of the top-level brackets are not needed. top_first = first_at(top offset).
  template <class T>
  SKSIG_TABLE_INLINE void expand_lower_and_top(const T* c, T* Z, std::int64_t top_first) const {
    for (std::int64_t w = 0; w < top_first; ++w)
      for (std::int64_t p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
        Z[exp_pos[p]] += static_cast<T>(exp_val[p]) * c[w];
    for (std::int64_t u = top_first; u < n; ++u)
      Z[pos[u]] = lyndon_dot_row(c[u], tri_ptr, tri_col, tri_val, u, c);
  }

  // Adjoint of expand_lower_and_top: dc[w] += <dZ, P_w> for a dZ whose top level
  // vanishes outside the Lyndon words.
  template <class T>
  SKSIG_TABLE_INLINE void expand_lower_and_top_adjoint(const T* dZ, T* dc,
                                                       std::int64_t top_first) const {
    for (std::int64_t w = 0; w < top_first; ++w)
      dc[w] += lyndon_dot_row(T(0), exp_ptr, exp_pos, exp_val, w, dZ);
    for (std::int64_t u = top_first; u < n; ++u) {
      const T g = dZ[pos[u]];
      dc[u] += g;
      for (std::int64_t p = tri_ptr[u]; p < tri_ptr[u + 1]; ++p)
        dc[tri_col[p]] += static_cast<T>(tri_val[p]) * g;
    }
  }

  // Adjoint of expand_add: dc[w] += <dZ, P_w>.
  template <class T>
  void expand_adjoint(const T* dZ, T* dc) const {
    for (std::int64_t w = 0; w < n; ++w)
      dc[w] += lyndon_dot_row(T(0), exp_ptr, exp_pos, exp_val, w, dZ);
  }
};

}  // namespace sksig

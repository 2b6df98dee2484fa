// Host entry points of the CUDA branched signatures (branched.cu). Plain C++ types only:
// the Cython module includes this without the CUDA headers. Every pointer is a device
// pointer (tables included: sksig/cuda/_branched.py uploads them once per device).
#pragma once

#include <cstdint>

namespace sksig {
namespace cuda {

// The tables of sksig/_trees.py (meaning as in sksig/branched.hpp) plus the derived
// gather tables that let one thread own each output entry. m = n + 1 entries with the
// scalar term, ext = m + n_forest with the non-planar forest products.
struct BranchedDeviceTables {
  std::int64_t n;          // basis size without the scalar term
  std::int64_t n_forest;   // extended (forest product) entries, 0 when planar
  int degree;
  int forest_levels;       // largest number of trees in a product entry (1 if none)
  const std::int32_t* term_ptr;     // n + 1
  const std::int32_t* term_right;   // n_terms, descending within each element
  const std::int32_t* term_left;    // n_terms, extended index
  const std::int32_t* term_elem;    // n_terms: the element e the term belongs to
  const void* term_coef;            // n_terms, T
  const std::int32_t* seg_parent;   // m
  const std::int32_t* seg_label;    // m
  const void* seg_ratio;            // m, T
  const std::int32_t* order_start;  // degree + 2: first element with >= k nodes
  const std::int32_t* forest_first;  // n_forest
  const std::int32_t* forest_rest;   // n_forest
  // Product entries j grouped by their number of trees L = 2..forest_levels:
  // fl_idx[fl_ptr[L] .. fl_ptr[L + 1]).
  const std::int32_t* fl_ptr;
  const std::int32_t* fl_idx;
  // Backprop gathers. Terms with right index r: tr_term[tr_ptr[r] .. tr_ptr[r + 1])
  // (ascending term index); terms with left index l (extended): tl_term[tl_ptr[l] ..
  // tl_ptr[l + 1]).
  const std::int32_t* tr_ptr;
  const std::int32_t* tr_term;
  const std::int32_t* tl_ptr;
  const std::int32_t* tl_term;
  // Adjoint of the forest products: target u (extended) receives
  // sum_q g[fb_src[q]] * a[fb_other[q]], q in [fb_ptr[u], fb_ptr[u + 1]); targets with
  // l trees are ft_idx[ft_ptr[l] .. ft_ptr[l + 1]), l = 1..forest_levels - 1.
  const std::int32_t* fb_ptr;
  const std::int32_t* fb_src;
  const std::int32_t* fb_other;
  const std::int32_t* ft_ptr;
  const std::int32_t* ft_idx;
  // Adjoint of the segment values: the children of element i (elements whose
  // seg_parent is i), sc_idx[sc_ptr[i] .. sc_ptr[i + 1]) (descending), and the elements
  // whose seg_label is channel c, sl_idx[sl_ptr[c] .. sl_ptr[c + 1]) (descending).
  const std::int32_t* sc_ptr;
  const std::int32_t* sc_idx;
  const std::int32_t* sl_ptr;
  const std::int32_t* sl_idx;
};

// Elements where the log computes P_K (as BranchedTables::level_ptr/level_idx), and for
// the backprop a membership mask: mask[K * m + e] != 0 iff e is in level K.
struct BranchedDeviceLevels {
  const std::int32_t* level_ptr;
  const std::int32_t* level_idx;
  const std::uint8_t* mask;  // (degree + 1) * m, backprop only (may be null otherwise)
};

// Planar methods 1-2 (as sksig::LyndonMap); n_lyndon < 0 means method 0.
struct BranchedDeviceLyndon {
  std::int64_t n_lyndon;
  const std::int64_t* pos;
  bool solve;
  const std::int64_t* tri_ptr;
  const std::int64_t* tri_idx;
  const double* tri_val;
  std::int64_t n_solve;             // rows i with off-diagonal entries, ascending
  const std::int64_t* solve_rows;
};

// out (batch, n + scalar_out): branched signatures of paths (batch, length, dim).
int branched_sig(bool dbl, const void* path, void* out, std::int64_t batch,
                 std::int64_t length, std::int64_t dim, const BranchedDeviceTables& tb,
                 bool scalar_out, int device, void* stream) noexcept;

// grad_path (batch, length, dim), overwritten: the vector-Jacobian product of
// branched_sig at path, given its output bsig and the cotangent grad (both (batch,
// n + scalar); a scalar entry is taken as 1 and gets no gradient).
int branched_sig_backprop(bool dbl, const void* path, const void* bsig, const void* grad,
                          void* grad_path, std::int64_t batch, std::int64_t length,
                          std::int64_t dim, const BranchedDeviceTables& tb, bool scalar,
                          int device, void* stream) noexcept;

// out (batch, n + scalar_out) or (batch, n_lyndon): the log of x (batch, n + scalar_in).
int branched_log(bool dbl, const void* x, void* out, std::int64_t batch,
                 const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
                 bool scalar_in, bool scalar_out, const BranchedDeviceLyndon& lyn,
                 int device, void* stream) noexcept;

// grad_x (batch, n + scalar_in): vector-Jacobian product of branched_log at x with the
// cotangent grad_out ((batch, n + scalar_grad) or (batch, n_lyndon)).
int branched_log_backprop(bool dbl, const void* x, const void* grad_out, void* grad_x,
                          std::int64_t batch, const BranchedDeviceTables& tb,
                          const BranchedDeviceLevels& levels, bool scalar_in,
                          bool scalar_grad, const BranchedDeviceLyndon& lyn, int device,
                          void* stream) noexcept;

}  // namespace cuda
}  // namespace sksig

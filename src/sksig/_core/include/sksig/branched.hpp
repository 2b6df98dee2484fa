// Branched signatures (SPEC.md sections 10-11): Chen products with the BCK (non-planar)
// or MKW (planar) coproduct, the log in the same Hopf algebra, and its adjoint.
//
// The combinatorics live in flat tables built once in Python (sksig/_tree_tables.py). A basis
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

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "branched_terms.hpp"
#include "finite.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "status.hpp"

// The 32-byte vector helpers below are always inlined: GCC's note on their ABI is off.
#include "psabi_off.hpp"

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
  // Log only: elements where P_K is needed, level_idx[level_ptr[K] .. level_ptr[K+1])
  // for K = 2..degree: all elements with >= K nodes (the CPU cores need these full
  // levels; the CUDA core also takes only what Lyndon outputs need).
  const std::int32_t* level_ptr;
  const std::int32_t* level_idx;
  // The elements of each level again, those below `degree` nodes first and then the
  // top elements (run_top), each part by descending number of terms whose right index
  // has at least K - 1 nodes (ties in level_idx order), with the end of those terms
  // (rights are sorted descending, so they come first): top_log walks level 2's top
  // elements in this order, two at a time, so neighbouring elements have equal counts.
  const std::int32_t* run_idx;
  const std::int32_t* run_end;
  // Backprop gathers, by right (_r) and by left (_l) index: groups
  // [rev_lev[K], rev_lev[K + 1]) of level K, group g holding the entries
  // [rev_ptr[g], rev_ptr[g + 1]) = (term rev_t, element rev_e) that share that index,
  // in the (element, term) order of the level.
  const std::int32_t *rev_lev_r, *rev_ptr_r, *rev_t_r, *rev_e_r;
  const std::int32_t *rev_lev_l, *rev_ptr_l, *rev_t_l, *rev_e_l;
  // The n elements in the order fused_series takes them (null: ascending), by number
  // of nodes and then by how many terms feed 1, 2, ... levels (neighbours run the same
  // loop trip counts, so the branches stay predicted).
  const std::int32_t* fused_order = nullptr;
};

// Sets BranchedTables::fused_order (the Cython layer declares only the other fields).
template <class T>
void set_fused_order(BranchedTables<T>& tb, const std::int32_t* order) noexcept {
  tb.fused_order = order;
}

// Planar methods 1-2: a row holds the log at the Lyndon forests, row[i] = log[pos[i]],
// then (solve) in the Lyndon bracket basis by the unitriangular solve
// c_i = row_i - sum_{p in row i of the CSR} val[p] * c_{idx[p]} (idx[p] < i).
struct LyndonMap {
  std::int64_t n_lyndon;
  const std::int64_t* pos;
  bool solve;
  const std::int64_t *tri_ptr, *tri_idx;  // the solve's CSR rows
  const double* tri_val;
};

namespace detail {

// Items are processed in blocks of kLanes with the block index innermost
// (value of element i for lane j at [i * kLanes + j]): every table lookup serves all
// lanes and the lane loops vectorise. Each lane does exactly the arithmetic of a
// one-item computation, so results do not depend on the blocking or on n_jobs.
// 16 lanes: the index and coefficient loads of a term serve twice as many items as
// with 8 and the two interleaved sums still fit the 16 AVX2 registers. Measured again
// with fused_series (Zen 3, d=3, degree 4, batch 1024, length 64, CPU time at one
// thread against 16): 8 lanes, whose block fits L1, is slower everywhere (non-planar
// log +47% double / +23% float, its backprop +13% / +15%, branched_sig +19% / +41%);
// 32 lanes speeds branched_sig and its backprop (-4% double, -12..-15% float) but
// slows the logs and their backprops (+4..+9%); all the cores keep 16 (a wider block
// for branched_sig alone would need a width per core).
constexpr int kLanes = 16;
using Lanes = std::int64_t;

#if defined(_OPENMP)
#define SKSIG_LANES _Pragma("omp simd") for (int j = 0; j < kLanes; ++j)
#else
#define SKSIG_LANES for (int j = 0; j < kLanes; ++j)
#endif

template <class T>
void forest_products(const BranchedTables<T>& tb, T* a) noexcept {
  simd_call([](const BranchedTables<T>& tb, T* a) SKSIG_KERNEL_BODY {
    T* f = a + (tb.n + 1) * kLanes;
    for (std::int64_t i = 0; i < tb.n_forest; ++i) {
      const T* x = a + Lanes{tb.forest_first[i]} * kLanes;
      const T* y = a + Lanes{tb.forest_rest[i]} * kLanes;
      T* o = f + i * kLanes;
      SKSIG_LANES o[j] = x[j] * y[j];
    }
  }, tb, a);
}

// Adjoint of forest_products: pushes g at the product entries back onto the trees.
template <class T>
void forest_products_backprop(const BranchedTables<T>& tb, const T* a,
                                     T* g) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* a, T* g) SKSIG_KERNEL_BODY {
    const std::int64_t off = tb.n + 1;
    for (std::int64_t i = tb.n_forest - 1; i >= 0; --i) {
      const Lanes f = Lanes{tb.forest_first[i]} * kLanes, r = Lanes{tb.forest_rest[i]} * kLanes;
      const T* gi = g + (off + i) * kLanes;
      SKSIG_LANES g[f + j] += gi[j] * a[r + j];
      SKSIG_LANES g[r + j] += gi[j] * a[f + j];
    }
  }, tb, a, g);
}

// Value of one straight segment with increments v (dim x lanes) on every element:
// E[e] = E[parent] * v[label] * c(e) / c(parent).
template <class T>
void segment_values(const BranchedTables<T>& tb, const T* v, T* e) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* v, T* e) SKSIG_KERNEL_BODY {
    SKSIG_LANES e[j] = T(1);
    for (std::int64_t i = 1; i <= tb.n; ++i) {
      const T* p = e + Lanes{tb.seg_parent[i]} * kLanes;
      const T* w = v + Lanes{tb.seg_label[i]} * kLanes;
      const T ratio = tb.seg_ratio[i];
      T* o = e + i * kLanes;
      SKSIG_LANES o[j] = segment_entry(p[j], w[j], ratio);
    }
  }, tb, v, e);
}

// x <- x * b in place (Chen's identity, x from the earlier piece); x is extended.
template <class T>
void chen_in_place(const BranchedTables<T>& tb, T* x, const T* b) noexcept {
  simd_call([](const BranchedTables<T>& tb, T* x, const T* b) SKSIG_KERNEL_BODY {
    forest_products(tb, x);
    alignas(64) T acc[kLanes];
    for (std::int64_t e = tb.n; e >= 1; --e) {
      T* xe = x + e * kLanes;
      const T* be = b + e * kLanes;
      SKSIG_LANES acc[j] = xe[j] + be[j];
      for (std::int32_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
        const T c = tb.term_coef[t];
        const T* xl = x + Lanes{tb.term_left[t]} * kLanes;
        const T* br = b + Lanes{tb.term_right[t]} * kLanes;
        SKSIG_LANES acc[j] += coproduct_term(c, xl[j], br[j]);
      }
      SKSIG_LANES xe[j] = acc[j];
    }
  }, tb, x, b);
}

// The end of level K's elements below `degree` nodes in run order (the top elements,
// with `degree` nodes, come last there; top_log computes their log).
template <class T>
std::int32_t run_top(const BranchedTables<T>& tb, int K) noexcept {
  const std::int32_t top = tb.order_start[tb.degree];
  return static_cast<std::int32_t>(
      std::partition_point(tb.run_idx + tb.level_ptr[K], tb.run_idx + tb.level_ptr[K + 1],
                           [top](std::int32_t e) { return e < top; }) - tb.run_idx);
}

// The log's series in one pass over the elements (ascending, so by number of nodes):
// a term whose right factor has r nodes contributes to P_2 .. P_{r+1} of its element,
// coef * a[left] * P_{k-1}[right] (P_1 = a), so coef * a[left] is formed once and used
// for every level, and each element's sums stay in registers, instead of one pass over
// all elements per level that streams every operand and partial result through L2.
// The terms of every sum are added in table order from 0 (rights descend, so the
// terms of P_k are a prefix of the element's). Levels are taken fused_levels() at a
// time (their sums fill the registers); fused_terms runs the terms of CNT levels, then
// those of CNT - 1, ...
template <class T>
constexpr int fused_levels() {
  return 12 / (kLanes / Vec<T>::size);  // 3 (double) or 6 (float) sums of kLanes lanes
}

template <int CNT, int GL, class T, class V>
__attribute__((always_inline)) inline void fused_terms(
    V (&acc)[GL][kLanes / Vec<T>::size], const BranchedTables<T>& tb, const T* a,
    const T* const* src, int g0, std::int32_t& t, std::int32_t t_end) noexcept {
  if constexpr (CNT >= 1) {
    constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
    const std::int32_t* const term_right = tb.term_right;
    const std::int32_t* const term_left = tb.term_left;
    const T* const term_coef = tb.term_coef;
    // Terms whose right has at least g0 + CNT nodes feed CNT levels of the group.
    const std::int32_t bound = tb.order_start[g0 + CNT];
    for (; t < t_end && term_right[t] >= bound; ++t) {
      const T cf = term_coef[t];
      const T* al = a + Lanes{term_left[t]} * kLanes;
      const Lanes r = Lanes{term_right[t]} * kLanes;
      for (int h = 0; h < np; ++h) {
        const V ca = cf * load_vec(al + h * ps);  // coproduct_term's first product
        for (int j = 0; j < CNT; ++j) acc[j][h] += ca * load_vec(src[j] + r + h * ps);
      }
    }
    fused_terms<CNT - 1, GL>(acc, tb, a, src, g0, t, t_end);
  }
}

// Levels 2 + g0 .. 1 + g0 + GL of element e (s nodes): P_k stored at P + (k - 2) *
// p_stride when k < degree and s < degree (only such entries are read as right
// factors), and o[e] = base + c_k P_k added in level order (base = a[e] at level 2).
template <int GL, class T>
__attribute__((always_inline)) inline void fused_group(const BranchedTables<T>& tb,
                                                       const T* a, T* P, Lanes p_stride,
                                                       T* o, std::int64_t e, int s,
                                                       int g0) noexcept {
  using V = typename Vec<T>::type;
  constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
  V acc[GL][np] = {};
  const T* src[GL];
  for (int j = 0; j < GL; ++j) src[j] = g0 + j == 0 ? a : P + (g0 + j - 1) * p_stride;
  std::int32_t t = tb.term_ptr[e - 1];
  fused_terms<GL, GL>(acc, tb, a, src, g0, t, tb.term_ptr[e]);
  const Lanes at = e * kLanes;
  if (s < tb.degree)
    for (int j = 0; j < GL; ++j) {
      const int k = 2 + g0 + j;
      if (k < tb.degree)
        for (int h = 0; h < np; ++h) store_vec(P + (k - 2) * p_stride + at + h * ps, acc[j][h]);
    }
  if (o != nullptr) {  // the sum stays in registers across the group's levels
    const T* base = (g0 == 0 ? a : o) + at;
    V sum[np];
    for (int h = 0; h < np; ++h) sum[h] = load_vec(base + h * ps);
    for (int j = 0; j < GL; ++j) {
      const T c = branched_log_coef<T>(2 + g0 + j);
      for (int h = 0; h < np; ++h) sum[h] = sum[h] + c * acc[j][h];
    }
    for (int h = 0; h < np; ++h) store_vec(o + at + h * ps, sum[h]);
  }
}

// The first `count` elements (in fused_order, or ascending without it) of the full
// series (every level holds every element with enough nodes): P_k (k < degree) where
// later levels read it, and, if o is given, o = a + sum_k c_k P_k (each element's
// levels added in order). Elements with fewer nodes come first, so count =
// order_start[degree] - 1 gives every P_k a later level reads (the elements with
// `degree` nodes are left to top_log).
template <class T>
void fused_series(const BranchedTables<T>& tb, const T* a, T* P, Lanes p_stride, T* o,
                  std::int64_t count) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* a, T* P, Lanes p_stride, T* o,
      std::int64_t count) SKSIG_KERNEL_BODY {
    constexpr int G = fused_levels<T>();
    static_assert(G >= 1 && G <= 6, "the switch below has groups of 1 to 6 levels");
    const std::int32_t* const order = tb.fused_order;
    int s = 1;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t e = order != nullptr ? order[i] : i + 1;
      while (s < tb.degree && e >= tb.order_start[s + 1]) ++s;
      if (s == 1) {  // no level: o = a
        if (o != nullptr) {
          SKSIG_LANES o[e * kLanes + j] = a[e * kLanes + j];
        }
        continue;
      }
      for (int g0 = 0; g0 < s - 1; g0 += G) {
        switch (s - 1 - g0 < G ? s - 1 - g0 : G) {
          case 1: fused_group<1>(tb, a, P, p_stride, o, e, s, g0); break;
          case 2: fused_group<2>(tb, a, P, p_stride, o, e, s, g0); break;
          case 3: fused_group<3>(tb, a, P, p_stride, o, e, s, g0); break;
          case 4: if constexpr (G >= 4) fused_group<4>(tb, a, P, p_stride, o, e, s, g0); break;
          case 5: if constexpr (G >= 5) fused_group<5>(tb, a, P, p_stride, o, e, s, g0); break;
          default: if constexpr (G >= 6) fused_group<6>(tb, a, P, p_stride, o, e, s, g0); break;
        }
      }
    }
  }, tb, a, P, p_stride, o, count);
}

// Whether every level K of the log holds every element with at least K nodes (method
// 0), the case fused_series computes.
template <class T>
bool full_levels(const BranchedTables<T>& tb) noexcept {
  const std::int64_t m = tb.n + 1;
  for (int k = 2; k <= tb.degree; ++k)
    if (tb.level_ptr[k + 1] - tb.level_ptr[k] != m - tb.order_start[k]) return false;
  return true;
}

// The elements with `degree` nodes (the top elements) in the full series. Such an
// element is never a factor of another (every factor has fewer nodes), so only its
// log value o[e] = a[e] + sum_k c_k P_k[e] is needed, and since every term t of e, with
// right factor r, feeds the levels k = 2 .. s_r + 1 (s_r: the nodes of r, at most
// degree - 1), the levels' sums collapse into one:
//   o[e] = a[e] + sum_t coef_t * a[left_t] * W[r],   W[r] = sum_{k=2}^{s_r+1} c_k P_{k-1}[r]
// (P_1 = a): one product per term instead of one per term and level. The top elements
// make up most of the basis, so this halves the log's arithmetic (d=3, degree 4:
// 2,244 products per item become 1,207). W is stored below degree nodes only.
template <class T>
void log_weights(const BranchedTables<T>& tb, const T* a, const T* P, Lanes p_stride,
                 T* W) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* a, const T* P, Lanes p_stride,
               T* W) SKSIG_KERNEL_BODY {
    const std::int64_t top = tb.order_start[tb.degree];
    const T c2 = branched_log_coef<T>(2);
    int s = 1;
    for (std::int64_t r = 1; r < top; ++r) {
      while (r >= tb.order_start[s + 1]) ++s;
      const Lanes at = r * kLanes;
      T* w = W + at;
      SKSIG_LANES w[j] = c2 * a[at + j];
      for (int k = 3; k <= s + 1; ++k) {
        const T ck = branched_log_coef<T>(k);
        const T* pk = P + (k - 3) * p_stride + at;  // P_{k-1}
        SKSIG_LANES w[j] += ck * pk[j];
      }
    }
  }, tb, a, P, p_stride, W);
}

// o[e] = a[e] + sum_t coef_t * a[left_t] * W[right_t] for every top element (see
// log_weights), taken as they come in level 2's run order (after the elements below
// degree nodes, by term count), two at a time with their sums interleaved
// (independent chains); each sum is formed term by term in table order. o may be a.
template <class T>
void top_log(const BranchedTables<T>& tb, const T* a, const T* W, T* o) noexcept {
  if (tb.degree < 2) return;  // no terms: o = a
  simd_call([](const BranchedTables<T>& tb, const T* a, const T* W, T* o) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
    // Local copies: the table pointers stay in registers across the term loop.
    const std::int32_t* const term_ptr = tb.term_ptr;
    const std::int32_t* const term_right = tb.term_right;
    const std::int32_t* const term_left = tb.term_left;
    const T* const term_coef = tb.term_coef;
    const std::int32_t* const run_idx = tb.run_idx;
    const std::int32_t* const run_end = tb.run_end;  // level 2: every term
  #define SKSIG_TERM(acc, t)                                                       \
    do {                                                                           \
      const T cf = term_coef[t];                                                   \
      const T* al = a + Lanes{term_left[t]} * kLanes;                              \
      const T* wr = W + Lanes{term_right[t]} * kLanes;                             \
      for (int h = 0; h < np; ++h)                                                 \
        acc[h] += coproduct_term(cf, load_vec(al + h * ps), load_vec(wr + h * ps)); \
    } while (false)
  #define SKSIG_FINISH(e, acc)                                                     \
    do {                                                                           \
      const Lanes at = Lanes{e} * kLanes;                                          \
      for (int h = 0; h < np; ++h)                                                 \
        store_vec(o + at + h * ps, load_vec(a + at + h * ps) + acc[h]);           \
    } while (false)
    const std::int32_t hi = tb.level_ptr[3];
    std::int32_t i = run_top(tb, 2);
    for (; i + 1 < hi; i += 2) {
      const std::int32_t end0 = run_end[i], end1 = run_end[i + 1];
      std::int32_t t0 = term_ptr[run_idx[i] - 1], t1 = term_ptr[run_idx[i + 1] - 1];
      V acc0[np] = {}, acc1[np] = {};
      for (; t1 < end1; ++t0, ++t1) {  // run order: element 1 has no more terms than 0
        SKSIG_TERM(acc0, t0);
        SKSIG_TERM(acc1, t1);
      }
      for (; t0 < end0; ++t0) SKSIG_TERM(acc0, t0);
      SKSIG_FINISH(run_idx[i], acc0);
      SKSIG_FINISH(run_idx[i + 1], acc1);
    }
    if (i < hi) {
      V acc0[np] = {};
      for (std::int32_t t = term_ptr[run_idx[i] - 1]; t < run_end[i]; ++t) SKSIG_TERM(acc0, t);
      SKSIG_FINISH(run_idx[i], acc0);
    }
  #undef SKSIG_TERM
  #undef SKSIG_FINISH
  }, tb, a, W, o);
}

// The reverse pass of the full series (full_levels), one pass per side (not one per
// level and side). H_k = dL/dP_k (H_1: of P_1 = a as a value) satisfies
//   H_k[r] = c_k g[r] + sum over the terms t (of elements e) with right factor r of
//            coef_t * H_{k+1}[e] * a[left_t],
// every such e having more nodes than r. A top element's H_k is c_k g[e] (its o is
// its only use), so the terms of top elements add c_{k+1} * T[r] with
// T[r] = sum_t coef_t * g[e] * a[left_t], one product per term for all levels (as in
// top_log). Taking the elements below degree nodes in descending order gives each its
// H_1 .. H_{s_r} at once from its terms (every one feeds all those levels), a[left]
// loaded once for all. H_k is stored at H + (k - 1) * hs below degree nodes.
template <int GL, class T>
__attribute__((always_inline)) inline void reverse_right_group(
    const BranchedTables<T>& tb, const T* a, const T* g, T* H, Lanes hs, std::int64_t r,
    int g0, std::int32_t q0, std::int32_t q_top, std::int32_t q1) noexcept {
  using V = typename Vec<T>::type;
  constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
  const std::int32_t* const rt = tb.rev_t_r;
  const std::int32_t* const re = tb.rev_e_r;
  V acc[GL][np], top[np] = {};
  for (std::int32_t q = q_top; q < q1; ++q) {  // T[r]
    const std::int32_t t = rt[q];
    const T* al = a + Lanes{tb.term_left[t]} * kLanes;
    const T* ge = g + Lanes{re[q]} * kLanes;
    for (int h = 0; h < np; ++h)
      top[h] += coproduct_term(tb.term_coef[t], load_vec(ge + h * ps), load_vec(al + h * ps));
  }
  for (int j = 0; j < GL; ++j) {
    const T ck = branched_log_coef<T>(1 + g0 + j), cn = branched_log_coef<T>(2 + g0 + j);
    for (int h = 0; h < np; ++h)
      acc[j][h] = ck * load_vec(g + r * kLanes + h * ps) + cn * top[h];
  }
  for (std::int32_t q = q0; q < q_top; ++q) {
    const std::int32_t t = rt[q];
    const T* al = a + Lanes{tb.term_left[t]} * kLanes;
    const T* he = H + Lanes{re[q]} * kLanes + (g0 + 1) * hs;  // H_{k + 1}[e]
    for (int h = 0; h < np; ++h) {
      const V ca = tb.term_coef[t] * load_vec(al + h * ps);
      for (int j = 0; j < GL; ++j) acc[j][h] += ca * load_vec(he + j * hs + h * ps);
    }
  }
  for (int j = 0; j < GL; ++j)
    for (int h = 0; h < np; ++h)
      store_vec(H + (g0 + j) * hs + r * kLanes + h * ps, acc[j][h]);
}

// Side 0 (see reverse_right_group): H_1 .. H_{s_r} of every element r below degree
// nodes, descending, from the level-2 gathers by right index (all of r's terms, groups
// ascending by r, each in element order: the top elements' terms last).
template <class T>
void reverse_right(const BranchedTables<T>& tb, const T* a, const T* g, T* H, Lanes hs) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* a, const T* g, T* H,
               Lanes hs) SKSIG_KERNEL_BODY {
    constexpr int G = fused_levels<T>();
    const std::int32_t top = tb.order_start[tb.degree];
    const std::int32_t first = tb.rev_lev_r[2];
    const std::int32_t *const ptr = tb.rev_ptr_r, *const re = tb.rev_e_r;
    std::int32_t grp = tb.rev_lev_r[3] - 1;  // level 2's groups, walked downwards
    int s = tb.degree - 1;
    for (std::int64_t r = top - 1; r >= 1; --r) {
      while (r < tb.order_start[s]) --s;
      while (grp >= first && tb.term_right[tb.rev_t_r[ptr[grp]]] > r) --grp;
      std::int32_t q0 = 0, q1 = 0;  // no term has right factor r: H_k[r] = c_k g[r]
      if (grp >= first && tb.term_right[tb.rev_t_r[ptr[grp]]] == r) q0 = ptr[grp], q1 = ptr[grp + 1];
      std::int32_t q_top = q0;
      while (q_top < q1 && re[q_top] < top) ++q_top;
      for (int g0 = 0; g0 < s; g0 += G) {
        switch (s - g0 < G ? s - g0 : G) {
          case 1: reverse_right_group<1>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
          case 2: reverse_right_group<2>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
          case 3: reverse_right_group<3>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
          case 4: if constexpr (G >= 4) reverse_right_group<4>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
          case 5: if constexpr (G >= 5) reverse_right_group<5>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
          default: if constexpr (G >= 6) reverse_right_group<6>(tb, a, g, H, hs, r, g0, q0, q_top, q1); break;
        }
      }
    }
  }, tb, a, g, H, hs);
}

constexpr int kMaxFusedReverseDegree = 64;  // reverse_left's cursors, one per level

// Side 1: ga[left] += coef * H_k[e] * P_{k-1}[right] over the levels k, in one register
// chain per left index. Terms of elements below degree nodes go level by level (k =
// degree .. 2, the level gathers by left index); a top element's terms once, as
// coef * g[e] * W[right] (W of log_weights), from the level-2 gathers, whose groups hold
// every term. P_{k-1} is at P + (k - 3) * p_stride for k >= 3 (P_1 = a).
template <class T>
void reverse_left(const BranchedTables<T>& tb, const T* a, const T* P, Lanes p_stride,
                  const T* W, const T* g, const T* H, Lanes hs, T* ga) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* a, const T* P, Lanes p_stride,
               const T* W, const T* g, const T* H, Lanes hs, T* ga) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
    const int degree = tb.degree;
    const std::int32_t top = tb.order_start[degree];
    const std::int32_t *const rt = tb.rev_t_l, *const re = tb.rev_e_l, *const ptr = tb.rev_ptr_l;
    const std::int32_t* const left = tb.term_left;
    auto key = [&](std::int32_t grp) { return left[rt[ptr[grp]]]; };
    // One cursor per level over its groups (ascending left index); levels merged.
    std::int32_t cur[kMaxFusedReverseDegree + 1], end[kMaxFusedReverseDegree + 1];
    for (int k = 2; k <= degree; ++k) cur[k] = tb.rev_lev_l[k], end[k] = tb.rev_lev_l[k + 1];
    for (;;) {
      std::int32_t l = -1;
      for (int k = 2; k <= degree; ++k)
        if (cur[k] < end[k] && (l < 0 || key(cur[k]) < l)) l = key(cur[k]);
      if (l < 0) break;
      V acc[np] = {};
      for (int k = degree; k >= 2; --k) {
        if (cur[k] >= end[k] || key(cur[k]) != l) continue;
        const T* const pk = k == 2 ? a : P + (k - 3) * p_stride;  // P_{k-1}
        const T* const hk = H + (k - 1) * hs;                       // H_k
        std::int32_t q = ptr[cur[k]];
        const std::int32_t q_end = ptr[cur[k] + 1];
        for (; q < q_end && re[q] < top; ++q) {
          const std::int32_t t = rt[q];
          const T* he = hk + Lanes{re[q]} * kLanes;
          const T* pr = pk + Lanes{tb.term_right[t]} * kLanes;
          for (int h = 0; h < np; ++h)
            acc[h] += coproduct_term(tb.term_coef[t], load_vec(he + h * ps), load_vec(pr + h * ps));
        }
        if (k == 2)
          for (; q < q_end; ++q) {
            const std::int32_t t = rt[q];
            const T* ge = g + Lanes{re[q]} * kLanes;
            const T* wr = W + Lanes{tb.term_right[t]} * kLanes;
            for (int h = 0; h < np; ++h)
              acc[h] += coproduct_term(tb.term_coef[t], load_vec(ge + h * ps), load_vec(wr + h * ps));
          }
        ++cur[k];
      }
      T* d = ga + Lanes{l} * kLanes;
      for (int h = 0; h < np; ++h) store_vec(d + h * ps, acc[h]);
    }
  }, tb, a, P, p_stride, W, g, H, hs, ga);
}

// Whether log_block and log_backprop_block take the full series (fused_series for
// the elements below degree nodes, top_log and the fused reverse pass for the rest).
template <class T>
bool full_series(const BranchedTables<T>& tb) noexcept {
  return tb.degree <= kMaxFusedReverseDegree && full_levels(tb);
}

// Per-thread scratch memory reused across blocks and calls (large blocks would
// otherwise be mapped and faulted in afresh for every block). Contents are undefined.
template <class T>
T* workspace(std::int64_t size) {
  static thread_local std::vector<T> buffer;
  constexpr std::int64_t pad = 64 / sizeof(T);
  if (static_cast<std::int64_t>(buffer.size()) < size + pad)
    buffer.resize(static_cast<std::size_t>(size + pad));
  const auto addr = reinterpret_cast<std::uintptr_t>(buffer.data());
  return buffer.data() + ((64 - addr % 64) % 64) / sizeof(T);
}

inline std::int64_t n_blocks(std::int64_t batch) noexcept {
  return (batch + kLanes - 1) / kLanes;
}

// 4 x 4 transpose of doubles: v[l][k] <- v[k][l].
template <class V>
__attribute__((always_inline)) inline void transpose4(V& v0, V& v1, V& v2, V& v3) noexcept {
#if defined(__clang__)
#define SKSIG_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shufflevector(x, y, i0, i1, i2, i3)
#else
  using M = std::int64_t __attribute__((vector_size(32)));
#define SKSIG_SHUFFLE(x, y, i0, i1, i2, i3) __builtin_shuffle(x, y, M{i0, i1, i2, i3})
#endif
  const V t0 = SKSIG_SHUFFLE(v0, v1, 0, 4, 2, 6);
  const V t1 = SKSIG_SHUFFLE(v0, v1, 1, 5, 3, 7);
  const V t2 = SKSIG_SHUFFLE(v2, v3, 0, 4, 2, 6);
  const V t3 = SKSIG_SHUFFLE(v2, v3, 1, 5, 3, 7);
  v0 = SKSIG_SHUFFLE(t0, t2, 0, 1, 4, 5);
  v1 = SKSIG_SHUFFLE(t1, t3, 0, 1, 4, 5);
  v2 = SKSIG_SHUFFLE(t0, t2, 2, 3, 6, 7);
  v3 = SKSIG_SHUFFLE(t1, t3, 2, 3, 6, 7);
#undef SKSIG_SHUFFLE
}

// The rows [b0, b0 + live) of a (batch, n or n + 1) array (rows past the batch alias
// row b0) and the shift from entry index to column (1 without the scalar entry).
template <class T>
struct BlockRows {
  std::int64_t shift, live;
  T* rows[kLanes];
  BlockRows(T* x, std::int64_t batch, std::int64_t m, bool scalar, std::int64_t b0) noexcept
      : shift(scalar ? 0 : 1), live(batch - b0 < kLanes ? batch - b0 : kLanes) {
    for (int j = 0; j < kLanes; ++j) rows[j] = x + (b0 + (j < live ? j : 0)) * (m - shift);
  }
};

// Copy rows [b0, b0 + kLanes) of a (batch, n or n + 1) array into lane layout over
// the n + 1 entries (missing rows: 0). Without the scalar entry in the rows
// (scalar = false), lane entry 0 is set to 0. Entries are the outer loop: the rows
// are read as kLanes streams and the block written in order. Check: also return
// whether the entries 1 .. m - 1 read are finite (as store_block's check: the
// caller's input check happens while the rows pass through registers, instead of a
// separate pass over memory before the call); else true.
// Always inlined (as store_block): the callers' AVX2 clone then compiles the
// transposes for AVX2 too instead of calling a baseline copy.
template <bool Check = false, class T>
__attribute__((always_inline)) inline bool load_block(const T* x, std::int64_t batch,
                                                      std::int64_t m, bool scalar,
                                                      std::int64_t b0, T* blk) noexcept {
  const BlockRows<const T> r(x, batch, m, scalar, b0);
  const std::int64_t shift = r.shift, live = r.live;
  const T* const* rows = r.rows;
  T z[kLanes] = {};  // kLanes independent sums (short dependency chains)
  for (int j = 0; j < kLanes; ++j) blk[j] = j < live && scalar ? rows[j][0] : T(0);
  if (live == kLanes) {
    std::int64_t i = 1;
    if constexpr (Vec<T>::size == 4) {
      // 4 x 4 tiles: four row pieces become four entries of four lanes.
      typename Vec<T>::type zv = {};
      for (; i + 4 <= m; i += 4)
        for (int j = 0; j < kLanes; j += 4) {
          auto v0 = load_vec(rows[j] + i - shift), v1 = load_vec(rows[j + 1] + i - shift),
               v2 = load_vec(rows[j + 2] + i - shift),
               v3 = load_vec(rows[j + 3] + i - shift);
          if constexpr (Check) zv = zv + ((v0 - v0) + (v1 - v1)) + ((v2 - v2) + (v3 - v3));
          transpose4(v0, v1, v2, v3);
          T* b = blk + i * kLanes + j;
          store_vec(b, v0);
          store_vec(b + kLanes, v1);
          store_vec(b + 2 * kLanes, v2);
          store_vec(b + 3 * kLanes, v3);
        }
      if constexpr (Check)
        for (int l = 0; l < 4; ++l) z[l] = zv[l];
    }
    for (; i < m; ++i)
      for (int j = 0; j < kLanes; ++j) {
        const T v = rows[j][i - shift];
        blk[i * kLanes + j] = v;
        if constexpr (Check) z[j] = z[j] + (v - v);
      }
  } else {
    for (std::int64_t i = 1; i < m; ++i)
      for (int j = 0; j < kLanes; ++j) {
        const T v = j < live ? rows[j][i - shift] : T(0);
        blk[i * kLanes + j] = v;
        if constexpr (Check) z[j] = z[j] + (v - v);
      }
  }
  bool ok = true;
  if constexpr (Check)
    for (int j = 0; j < kLanes; ++j) ok = ok && z[j] == T(0);
  return ok;
}

// Inverse of load_block (scalar = false drops lane entry 0). Check: also return
// whether the entries 1 .. m - 1 stored are finite (finite.hpp's test, v - v summed:
// 0 exactly when all are, NaN otherwise), while they are in registers, instead of a
// pass over the stored rows; else true.
template <bool Check = false, class T>
__attribute__((always_inline)) inline bool store_block(const T* blk, std::int64_t batch,
                                                       std::int64_t m, bool scalar,
                                                       std::int64_t b0, T* x) noexcept {
  const BlockRows<T> r(x, batch, m, scalar, b0);
  const std::int64_t shift = r.shift, live = r.live;
  T* const* rows = r.rows;
  T z[kLanes] = {};  // kLanes independent sums (short dependency chains)
  if (scalar)
    for (int j = 0; j < live; ++j) rows[j][0] = blk[j];
  if (live == kLanes) {
    std::int64_t i = 1;
    if constexpr (Vec<T>::size == 4) {
      // 4 x 4 tiles: four entries of four lanes become four row pieces.
      typename Vec<T>::type zv = {};
      for (; i + 4 <= m; i += 4)
        for (int j = 0; j < kLanes; j += 4) {
          const T* b = blk + i * kLanes + j;
          auto v0 = load_vec(b), v1 = load_vec(b + kLanes), v2 = load_vec(b + 2 * kLanes),
               v3 = load_vec(b + 3 * kLanes);
          if constexpr (Check) zv = zv + ((v0 - v0) + (v1 - v1)) + ((v2 - v2) + (v3 - v3));
          transpose4(v0, v1, v2, v3);
          store_vec(rows[j] + i - shift, v0);
          store_vec(rows[j + 1] + i - shift, v1);
          store_vec(rows[j + 2] + i - shift, v2);
          store_vec(rows[j + 3] + i - shift, v3);
        }
      if constexpr (Check)
        for (int l = 0; l < 4; ++l) z[l] = zv[l];
    }
    for (; i < m; ++i)
      for (int j = 0; j < kLanes; ++j) {
        const T v = blk[i * kLanes + j];
        rows[j][i - shift] = v;
        if constexpr (Check) z[j] = z[j] + (v - v);
      }
  } else {
    for (std::int64_t i = 1; i < m; ++i)
      for (int j = 0; j < live; ++j) {
        const T v = blk[i * kLanes + j];
        rows[j][i - shift] = v;
        if constexpr (Check) z[j] = z[j] + (v - v);
      }
  }
  bool ok = true;
  if constexpr (Check)
    for (int j = 0; j < kLanes; ++j) ok = ok && z[j] == T(0);
  return ok;
}

// Rows [b0, b0 + kLanes) of a (batch, n_lyndon) array from the lane layout blk: the
// Lyndon entries gathered (with ly.solve, the unitriangular solve, lane by lane as a
// row would) into tmp ((n_lyndon + 1) * kLanes values: Lyndon entry i at tmp entry
// i + 1), then stored by store_block's transposes. Returns whether the rows stored
// are finite.
template <class T>
__attribute__((always_inline)) inline bool store_lyndon(const T* blk, std::int64_t batch, const LyndonMap& ly,
                         std::int64_t b0, T* x, T* tmp) noexcept {
  for (std::int64_t i = 0; i < ly.n_lyndon; ++i) {
    T* c = tmp + (i + 1) * kLanes;
    const T* src = blk + ly.pos[i] * kLanes;
    SKSIG_LANES c[j] = src[j];
    if (ly.solve)
      for (std::int64_t p = ly.tri_ptr[i]; p < ly.tri_ptr[i + 1]; ++p) {
        const T v = static_cast<T>(ly.tri_val[p]);
        const T* o = tmp + (ly.tri_idx[p] + 1) * kLanes;
        SKSIG_LANES c[j] -= v * o[j];
      }
  }
  return store_block<true>(tmp, batch, ly.n_lyndon + 1, false, b0, x);
}

// Adjoint of store_lyndon: lane layout over m entries (zero off the Lyndon forests)
// from rows of a (batch, n_lyndon) cotangent, through tmp as store_lyndon. Returns
// whether the rows read are finite.
template <class T>
__attribute__((always_inline)) inline bool load_lyndon(const T* x, std::int64_t batch, std::int64_t m,
                        const LyndonMap& ly, std::int64_t b0, T* blk, T* tmp) noexcept {
  const bool ok = load_block<true>(x, batch, ly.n_lyndon + 1, false, b0, tmp);
  if (ly.solve)
    for (std::int64_t i = ly.n_lyndon - 1; i >= 0; --i) {
      const T* c = tmp + (i + 1) * kLanes;
      for (std::int64_t p = ly.tri_ptr[i]; p < ly.tri_ptr[i + 1]; ++p) {
        const T v = static_cast<T>(ly.tri_val[p]);
        T* o = tmp + (ly.tri_idx[p] + 1) * kLanes;
        SKSIG_LANES o[j] -= v * c[j];
      }
    }
  for (std::int64_t i = 0; i < m * kLanes; ++i) blk[i] = T(0);
  for (std::int64_t i = 0; i < ly.n_lyndon; ++i) {
    T* dst = blk + ly.pos[i] * kLanes;
    const T* c = tmp + (i + 1) * kLanes;
    SKSIG_LANES dst[j] = c[j];
  }
  return ok;
}

}  // namespace detail

// out: (batch, n + scalar_out) branched signatures of piecewise-linear paths
// (batch, length, dim).
template <class T>
int branched_sig(const T* path, T* out, std::int64_t batch, std::int64_t length,
                 std::int64_t dim, const BranchedTables<T>& tb, bool scalar_out,
                 int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1;
  return parallel_items(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t b0 = blk * kLanes, ext = (m + tb.n_forest) * kLanes;
    // x (extended), the segment's values and its increments, in the thread's workspace.
    T* x = detail::workspace<T>(ext + (m + dim) * kLanes);
    T *seg = x + ext, *v = seg + m * kLanes;
    std::fill(x, x + ext, T(0));
    for (int j = 0; j < kLanes; ++j) x[j] = T(1);
    for (std::int64_t s = 0; s + 1 < length; ++s) {
      check_interrupt();
      bool zero = true;
      for (int j = 0; j < kLanes; ++j) {
        const bool live = b0 + j < batch;
        const T* p = path + (b0 + j) * length * dim + s * dim;
        for (std::int64_t c = 0; c < dim; ++c) {
          const T inc = live ? p[dim + c] - p[c] : T(0);
          v[c * kLanes + j] = inc;
          zero = zero && inc == T(0);
        }
      }
      if (zero) continue;  // constant pieces (e.g. ragged padding) are the identity
      detail::segment_values(tb, v, seg);
      detail::chen_in_place(tb, x, seg);
    }
    detail::store_block(x, batch, m, scalar_out, b0, out);
    return kOk;
  });
}

namespace detail {

// Scratch values of log_block: a (extended) and o, then P_2 .. P_{degree - 1} and W
// below degree nodes, then store_lyndon's.
template <class T>
std::int64_t log_scratch(const BranchedTables<T>& tb, const LyndonMap* lyn) noexcept {
  const std::int64_t m = tb.n + 1;
  const std::int64_t p = std::int64_t{tb.degree > 2 ? tb.degree - 1 : 1} * tb.order_start[tb.degree];
  return (2 * m + tb.n_forest + p + (lyn != nullptr ? lyn->n_lyndon + 1 : 0)) * kLanes;
}

// The log of the block at b0 (the full series); w holds log_scratch values. *finite
// says whether the input rows read and the rows stored are finite.
template <class T>
void log_block(const T* x, T* out, std::int64_t batch, const BranchedTables<T>& tb,
               bool scalar_in, bool scalar_out, const LyndonMap* lyn, std::int64_t b0, T* w,
               bool* finite) noexcept {
  simd_call([](const T* x, T* out, std::int64_t batch, const BranchedTables<T>& tb,
      bool scalar_in, bool scalar_out, const LyndonMap* lyn, std::int64_t b0, T* w,
      bool* finite) SKSIG_KERNEL_BODY {
    const std::int64_t m = tb.n + 1, mw = m * kLanes;
    const std::int32_t top = tb.order_start[tb.degree];
    const Lanes below = Lanes{top} * kLanes;
    T *a = w, *o = a + (m + tb.n_forest) * kLanes, *P = o + mw;
    T* const W = P + (tb.degree > 2 ? tb.degree - 2 : 0) * below;
    const bool in_ok = load_block<true>(x, batch, m, scalar_in, b0, a);
    SKSIG_LANES a[j] = T(0);
    forest_products(tb, a);
    // The log in place in a: the elements below degree nodes (read as factors
    // meanwhile) put theirs in o, copied over afterwards; top_log writes the others
    // (never factors) over a directly.
    fused_series(tb, a, P, below, o, std::int64_t{top} - 1);
    log_weights(tb, a, P, below, W);
    top_log(tb, a, W, a);
    for (std::int64_t i = kLanes; i < below; ++i) a[i] = o[i];
    const bool out_ok = lyn != nullptr
                            ? store_lyndon(a, batch, *lyn, b0, out, W + below)
                            : store_block<true>(a, batch, m, scalar_out, b0, out);
    *finite = in_ok && out_ok;
  }, x, out, batch, tb, scalar_in, scalar_out, lyn, b0, w, finite);
}

// Scratch values of log_backprop_block: a, ga (extended), g, then P_2 .. P_{degree - 1},
// H_1 .. H_{degree - 1} and W below degree nodes, then load_lyndon's.
template <class T>
std::int64_t log_backprop_scratch(const BranchedTables<T>& tb, const LyndonMap* lyn) noexcept {
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes;
  const std::int64_t below = std::int64_t{tb.order_start[tb.degree]} * kLanes;
  return 2 * ext + m * kLanes + std::int64_t{2 * tb.degree} * below +
         (lyn != nullptr ? (lyn->n_lyndon + 1) * kLanes : 0);
}

// The gradient of the block at b0 (the full series and its reverse pass); w holds
// log_backprop_scratch values. *finite says whether the input rows read (x and
// grad_out) and the rows stored are finite.
template <class T>
void log_backprop_block(const T* x, const T* grad_out, T* grad_x, std::int64_t batch,
                        const BranchedTables<T>& tb, bool scalar_in, bool scalar_grad,
                        const LyndonMap* lyn, std::int64_t b0, T* w, bool* finite) noexcept {
  simd_call([](const T* x, const T* grad_out, T* grad_x, std::int64_t batch,
      const BranchedTables<T>& tb, bool scalar_in, bool scalar_grad, const LyndonMap* lyn,
      std::int64_t b0, T* w, bool* finite) SKSIG_KERNEL_BODY {
    const std::int64_t m = tb.n + 1, mw = m * kLanes, ext = (m + tb.n_forest) * kLanes;
    const int degree = tb.degree;
    const std::int32_t top = tb.order_start[degree];
    const Lanes below = Lanes{top} * kLanes;
    // P_1 = a; P_2 .. P_{degree - 1}, H_1 .. H_{degree - 1} and W below degree nodes
    // only (the reverse pass reads no more).
    T *a = w, *ga = a + ext, *g = ga + ext, *P = g + mw;
    T* const H = P + (degree > 2 ? degree - 2 : 0) * below;
    T* const W = H + (degree > 1 ? degree - 1 : 0) * below;
    T* const lyndon_tmp = W + below;
    for (std::int64_t i = 0; i < ext; ++i) ga[i] = T(0);
    bool in_ok = load_block<true>(x, batch, m, scalar_in, b0, a);
    if (lyn != nullptr)
      in_ok = load_lyndon(grad_out, batch, m, *lyn, b0, g, lyndon_tmp) && in_ok;
    else
      in_ok = load_block<true>(grad_out, batch, m, scalar_grad, b0, g) && in_ok;
    SKSIG_LANES a[j] = g[j] = T(0);
    forest_products(tb, a);
    fused_series(tb, a, P, below, static_cast<T*>(nullptr), std::int64_t{top} - 1);
    log_weights(tb, a, P, below, W);
    reverse_right(tb, a, g, H, below);
    reverse_left(tb, a, P, below, W, g, H, below, ga);
    const T c1 = branched_log_coef<T>(1);
    for (std::int64_t i = kLanes; i < below; ++i) ga[i] += H[i];
    for (std::int64_t i = below; i < mw; ++i) ga[i] += c1 * g[i];
    forest_products_backprop(tb, a, ga);
    SKSIG_LANES ga[j] = T(0);
    *finite = store_block<true>(ga, batch, m, scalar_in, b0, grad_x) && in_ok;
  }, x, grad_out, grad_x, batch, tb, scalar_in, scalar_grad, lyn, b0, w, finite);
}

}  // namespace detail

// out: (batch, n + scalar_out) log of (batch, n + scalar_in) inputs; an input scalar
// entry is ignored (taken as 1), an output one is 0. With lyn, out is (batch,
// lyn->n_lyndon) in that layout instead. kNonFinite when an input entry read (all but
// the scalar one) is NaN or inf or a result overflowed: the caller need not scan x
// before or out after the call, only x then, to tell which. The tables must hold the
// full levels (full_series; also with lyn: the Lyndon entries are read off the full
// log), else kInvalidArgument.
template <class T>
int branched_log(const T* x, T* out, std::int64_t batch, const BranchedTables<T>& tb,
                 bool scalar_in, bool scalar_out, const LyndonMap* lyn,
                 int n_threads) noexcept {
  using detail::kLanes;
  if (!detail::full_series(tb)) return kInvalidArgument;
  const std::int64_t size = detail::log_scratch(tb, lyn);
  return parallel_items(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    bool finite = true;
    detail::log_block(x, out, batch, tb, scalar_in, scalar_out, lyn, blk * kLanes,
                      detail::workspace<T>(size), &finite);
    return finite ? kOk : kNonFinite;
  });
}

// grad_x: (batch, n + scalar_in) vector-Jacobian product of branched_log at x (same
// shape) with cotangent grad_out (batch, n + scalar_grad; a scalar entry is ignored,
// or (batch, lyn->n_lyndon) with lyn); grad_x[., 0] = 0 when present. kNonFinite
// when an input entry read (the scalar ones are not) is NaN or inf or a result
// overflowed, as branched_log.
template <class T>
int branched_log_backprop(const T* x, const T* grad_out, T* grad_x, std::int64_t batch,
                          const BranchedTables<T>& tb, bool scalar_in, bool scalar_grad,
                          const LyndonMap* lyn, int n_threads) noexcept {
  using detail::kLanes;
  if (!detail::full_series(tb)) return kInvalidArgument;
  const std::int64_t size = detail::log_backprop_scratch(tb, lyn);
  return parallel_items(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    bool finite = true;
    detail::log_backprop_block(x, grad_out, grad_x, batch, tb, scalar_in, scalar_grad, lyn,
                               blk * kLanes, detail::workspace<T>(size), &finite);
    return finite ? kOk : kNonFinite;
  });
}

namespace detail {

// Adjoint of segment_values at increments v with values E: pushes gE (consumed, from
// the largest elements down) onto gv (dim x lanes, accumulated).
template <class T>
void segment_values_backprop(const BranchedTables<T>& tb, const T* v,
                                               const T* E, T* gE, T* gv) noexcept {
  simd_call([](const BranchedTables<T>& tb, const T* v, const T* E, T* gE,
      T* gv) SKSIG_KERNEL_BODY {
    for (std::int64_t i = tb.n; i >= 1; --i) {
      T* gp = gE + Lanes{tb.seg_parent[i]} * kLanes;
      const T* p = E + Lanes{tb.seg_parent[i]} * kLanes;
      const T* w = v + Lanes{tb.seg_label[i]} * kLanes;
      T* gw = gv + Lanes{tb.seg_label[i]} * kLanes;
      const T ratio = tb.seg_ratio[i];
      const T* g = gE + i * kLanes;
      SKSIG_LANES {
        const T gr = g[j] * ratio;
        gp[j] += gr * w[j];
        gw[j] += gr * p[j];
      }
    }
  }, tb, v, E, gE, gv);
}

// The coproduct terms grouped by one of their indices (right or left): group k holds
// the entries [ptr[k], ptr[k + 1]) = (term, its element), in (element, term) order.
struct TermGroups {
  std::vector<std::int32_t> ptr, term, elem;
  template <class T>
  TermGroups(const BranchedTables<T>& tb, const std::int32_t* key, std::int64_t size)
      : ptr(static_cast<std::size_t>(size + 1), 0) {
    const std::int32_t n_terms = tb.term_ptr[tb.n];
    term.resize(static_cast<std::size_t>(n_terms));
    elem.resize(static_cast<std::size_t>(n_terms));
    for (std::int32_t t = 0; t < n_terms; ++t) ++ptr[key[t] + 1];
    for (std::int64_t k = 0; k < size; ++k) ptr[k + 1] += ptr[k];
    std::vector<std::int32_t> fill(ptr.begin(), ptr.end() - 1);
    for (std::int64_t e = 1; e <= tb.n; ++e)
      for (std::int32_t t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
        const std::int32_t q = fill[key[t]]++;
        term[q] = t;
        elem[q] = static_cast<std::int32_t>(e);
      }
  }
};

// Adjoint of chen_in_place: with x (extended, forest products filled) the prefix and b
// the segment, x_new(e) = x(e) + b(e) + sum_t coef_t x(left_t) b(right_t) for e >= 1.
// Given g = dF/dx_new, writes gx (extended, entries 1..; the caller folds the forest
// entries back with forest_products_backprop) and gb (entries 1..n). Each entry sums
// its own terms in registers (by_left, by_right: the terms grouped by that index).
template <class T>
void chen_backprop(const BranchedTables<T>& tb, const TermGroups& by_left,
                                     const TermGroups& by_right, const T* x, const T* b,
                                     const T* g, T* gx, T* gb) noexcept {
  simd_call([](const BranchedTables<T>& tb, const TermGroups& by_left,
      const TermGroups& by_right, const T* x, const T* b, const T* g, T* gx,
      T* gb) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int np = kLanes / Vec<T>::size, ps = Vec<T>::size;
    const T* const term_coef = tb.term_coef;
    // side 0: gb[r] = g[r] + sum (coef g[e]) x[left]; side 1: gx[l] = g[l] + ... b[right].
    for (int side = 0; side < 2; ++side) {
      const TermGroups& grp = side ? by_left : by_right;
      const std::int32_t* const other = side ? tb.term_right : tb.term_left;
      const T* const src = side ? b : x;
      T* const dst = side ? gx : gb;
      const std::int64_t size = side ? tb.n + 1 + tb.n_forest : tb.n + 1;
      for (std::int64_t k = 1; k < size; ++k) {
        V acc[np];
        for (int h = 0; h < np; ++h)
          acc[h] = k <= tb.n ? load_vec(g + k * kLanes + h * ps) : V{};
        for (std::int32_t q = grp.ptr[k]; q < grp.ptr[k + 1]; ++q) {
          const std::int32_t t = grp.term[q];
          const T cf = term_coef[t];
          const T* ge = g + Lanes{grp.elem[q]} * kLanes;
          const T* sv = src + Lanes{other[t]} * kLanes;
          for (int h = 0; h < np; ++h)
            acc[h] += coproduct_term(cf, load_vec(ge + h * ps), load_vec(sv + h * ps));
        }
        for (int h = 0; h < np; ++h) store_vec(dst + k * kLanes + h * ps, acc[h]);
      }
    }
  }, tb, by_left, by_right, x, b, g, gx, gb);
}

}  // namespace detail

// grad_path (batch, length, dim), overwritten: the vector-Jacobian product of
// branched_sig at path, given its output bsig and the cotangent grad (both (batch,
// n + scalar); a scalar entry is taken as 1 and gets no gradient). Segments are taken
// off bsig from the last one back, each by Chen's product with the segment of
// increment -v (its inverse: a straight line run backwards), and the adjoints of
// Chen's product and of the segment's values are accumulated on the way.
template <class T>
int branched_sig_backprop(const T* path, const T* bsig, const T* grad, T* grad_path,
                          std::int64_t batch, std::int64_t length, std::int64_t dim,
                          const BranchedTables<T>& tb, bool scalar, int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes, mw = m * kLanes;
  // Per block: x, gx and g extended (g and gx trade places after every segment), gb,
  // the values of the segment and of its inverse, v, -v and gv.
  const std::int64_t size = 3 * ext + 3 * mw + 3 * dim * kLanes;
  return guarded([&] {
    const detail::TermGroups by_left(tb, tb.term_left, m + tb.n_forest);
    const detail::TermGroups by_right(tb, tb.term_right, m);
    return parallel_items(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
      const std::int64_t b0 = blk * kLanes;
      const std::int64_t live = batch - b0 < kLanes ? batch - b0 : kLanes;
      T* const mem = detail::workspace<T>(size);
      std::fill(mem, mem + size, T(0));
      T *x = mem, *gx = x + ext, *g = gx + ext, *gb = g + ext, *seg = gb + mw,
        *neg = seg + mw, *v = neg + mw, *mv = v + dim * kLanes, *gv = mv + dim * kLanes;
      detail::load_block(bsig, batch, m, scalar, b0, x);
      detail::load_block(grad, batch, m, scalar, b0, g);
      for (int j = 0; j < kLanes; ++j) {
        x[j] = T(1);
        g[j] = T(0);
      }
      for (std::int64_t j = 0; j < live; ++j) {
        T* gp = grad_path + (b0 + j) * length * dim;
        for (std::int64_t i = 0; i < length * dim; ++i) gp[i] = T(0);
      }
      for (std::int64_t s = length - 2; s >= 0; --s) {
        check_interrupt();
        for (int j = 0; j < kLanes; ++j) {
          const T* p = path + (b0 + (j < live ? j : 0)) * length * dim + s * dim;
          for (std::int64_t c = 0; c < dim; ++c) {
            const T inc = j < live ? p[dim + c] - p[c] : T(0);
            v[c * kLanes + j] = inc;
            mv[c * kLanes + j] = -inc;
          }
        }
        detail::segment_values(tb, mv, neg);
        detail::chen_in_place(tb, x, neg);  // x: the prefix before segment s
        detail::forest_products(tb, x);
        detail::segment_values(tb, v, seg);
        for (std::int64_t i = 0; i < dim * kLanes; ++i) gv[i] = T(0);
        for (int j = 0; j < kLanes; ++j) gb[j] = T(0);  // the empty forest (unused)
        detail::chen_backprop(tb, by_left, by_right, x, seg, g, gx, gb);
        detail::forest_products_backprop(tb, x, gx);
        detail::segment_values_backprop(tb, v, seg, gb, gv);
        std::swap(g, gx);  // the prefix's cotangent (entries past m are scratch)
        for (std::int64_t j = 0; j < live; ++j) {
          T* gp = grad_path + (b0 + j) * length * dim + s * dim;
          for (std::int64_t c = 0; c < dim; ++c) {
            gp[dim + c] += gv[c * kLanes + j];
            gp[c] -= gv[c * kLanes + j];
          }
        }
      }
      return kOk;
    });
  });
}

#undef SKSIG_LANES

}  // namespace sksig

#include "psabi_on.hpp"

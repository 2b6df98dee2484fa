// The branched-signature group operations on given vectors (not on paths): Chen's
// product of two branched signatures, the product with one straight segment (appended
// or prepended), the branched signature of one segment, and the exact adjoint of each.
//
// Built from the per-block pieces of branched.hpp (segment_values, chen_in_place,
// chen_backprop and the forest products): every function here is one of them applied
// to a block of kLanes items, so, as there, each lane does the arithmetic of a
// one-item computation and results do not depend on n_jobs. Vectors are (batch, n +
// scalar) rows; a scalar entry is read as 1 (these are characters: the value at the
// empty forest is 1) and written as 1, its gradient as 0. Displacements are (batch,
// dim) rows.
#pragma once

#include <cstdint>

#include "branched.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace sksig {

namespace detail {

// x <- x * b in place, the arithmetic of chen_in_place (the same operations in the
// same order, so the same bits) with each element's sum held in vector registers:
// one product per item is all these functions do, so this loop is their cost. The
// body runs in the copy for this CPU (simd_call).
template <class T>
void chen_product(const BranchedTables<T>& tb, T* x, const T* b) noexcept {
  simd_call([](const BranchedTables<T>& tb, T* x, const T* b) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int ps = Vec<T>::size, np = kLanes / ps;
    forest_products(tb, x);
    const std::int32_t* const term_ptr = tb.term_ptr;
    const std::int32_t* const term_right = tb.term_right;
    const std::int32_t* const term_left = tb.term_left;
    const T* const term_coef = tb.term_coef;
    for (std::int64_t e = tb.n; e >= 1; --e) {
      T* xe = x + e * kLanes;
      const T* be = b + e * kLanes;
      V acc[np];
      for (int h = 0; h < np; ++h) acc[h] = load_vec(xe + h * ps) + load_vec(be + h * ps);
      for (std::int32_t t = term_ptr[e - 1]; t < term_ptr[e]; ++t) {
        const T c = term_coef[t];
        const T* xl = x + Lanes{term_left[t]} * kLanes;
        const T* br = b + Lanes{term_right[t]} * kLanes;
        for (int h = 0; h < np; ++h)
          acc[h] += c * load_vec(xl + h * ps) * load_vec(br + h * ps);
      }
      for (int h = 0; h < np; ++h) store_vec(xe + h * ps, acc[h]);
    }
  }, tb, x, b);
}

// Rows [b0, b0 + kLanes) of a (batch, dim) array as lanes v[c * kLanes + j] (missing
// rows: 0, so a padded lane is the identity segment).
template <class T>
inline void load_increments(const T* disp, std::int64_t batch, std::int64_t dim,
                            std::int64_t b0, T* v) noexcept {
  for (int j = 0; j < kLanes; ++j) {
    const bool live = b0 + j < batch;
    for (std::int64_t c = 0; c < dim; ++c)
      v[c * kLanes + j] = live ? disp[(b0 + j) * dim + c] : T(0);
  }
}

// Inverse of load_increments for the live rows.
template <class T>
inline void store_increments(const T* v, std::int64_t batch, std::int64_t dim,
                             std::int64_t b0, T* disp) noexcept {
  for (int j = 0; j < kLanes && b0 + j < batch; ++j)
    for (std::int64_t c = 0; c < dim; ++c) disp[(b0 + j) * dim + c] = v[c * kLanes + j];
}

// Rows [b0, b0 + kLanes) of a (batch, m or m - 1) array into lane layout, one row
// after the other (missing rows: 0; without the scalar entry lane entry 0 is 0). Unlike
// branched.hpp's load_block, which reads the kLanes rows side by side, each row is read
// as one sequential stream: these functions do one product per row, so they stream
// their inputs from memory, and kLanes concurrent streams per array defeat the
// hardware prefetchers on large batches (3.5 us per item at batch 500 against 9 us at
// 10 000 for d = 3, degree 4, before this change).
template <class T>
inline void load_rows(const T* x, std::int64_t batch, std::int64_t m, bool scalar,
                      std::int64_t b0, T* blk) noexcept {
  const std::int64_t width = scalar ? m : m - 1, shift = scalar ? 0 : 1;
  for (int j = 0; j < kLanes; ++j) {
    if (b0 + j >= batch) {
      for (std::int64_t i = 0; i < m; ++i) blk[i * kLanes + j] = T(0);
      continue;
    }
    const T* row = x + (b0 + j) * width - shift;
    if (!scalar) blk[j] = T(0);
    for (std::int64_t i = shift; i < m; ++i) blk[i * kLanes + j] = row[i];
  }
}

// Inverse of load_rows for the live rows (scalar = false drops lane entry 0).
template <class T>
inline void store_rows(const T* blk, std::int64_t batch, std::int64_t m, bool scalar,
                       std::int64_t b0, T* x) noexcept {
  const std::int64_t width = scalar ? m : m - 1, shift = scalar ? 0 : 1;
  for (int j = 0; j < kLanes && b0 + j < batch; ++j) {
    T* row = x + (b0 + j) * width - shift;
    for (std::int64_t i = shift; i < m; ++i) row[i] = blk[i * kLanes + j];
  }
}

// A block of rows as a character in lane layout (scalar entry 1).
template <class T>
inline void load_character(const T* x, std::int64_t batch, std::int64_t m, bool scalar,
                           std::int64_t b0, T* blk) noexcept {
  load_rows(x, batch, m, scalar, b0, blk);
  for (int j = 0; j < kLanes; ++j) blk[j] = T(1);
}

// The two factors of a join on one block: x = bsig's character and y = the segment's
// values (v: the increments disp), or the other way round with prepend.
template <class T>
void join_factors(const BranchedTables<T>& tb, const T* bsig, const T* disp,
                  std::int64_t batch, std::int64_t dim, bool scalar, bool prepend,
                  std::int64_t b0, T* v, T* x, T* y) {
  load_increments(disp, batch, dim, b0, v);
  load_character(bsig, batch, tb.n + 1, scalar, b0, prepend ? y : x);
  segment_values(tb, v, prepend ? x : y);
}

// Runs body(b0, by_left, by_right) for the blocks of lanes b0 = 0, kLanes, ... of the
// batch, with the coproduct terms grouped by left and by right factor (the groups
// chen_backprop reads).
template <class T, class Body>
int chen_backprop_blocks(const BranchedTables<T>& tb, std::int64_t batch, int n_threads,
                         Body&& body) noexcept {
  const std::int64_t m = tb.n + 1;
  return guarded([&] {
    const TermGroups by_left(tb, tb.term_left, m + tb.n_forest);
    const TermGroups by_right(tb, tb.term_right, m);
    return parallel_for(n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
      return body(blk * kLanes, by_left, by_right);
    });
  });
}

// The cotangents gx, gy of the characters x, y of one block of x * y given the rows g
// (scalar entries 0): x's forest products are appended first, gg receives g's rows.
template <class T>
void chen_block_backprop(const BranchedTables<T>& tb, const TermGroups& by_left,
                         const TermGroups& by_right, const T* g, std::int64_t batch,
                         bool scalar, std::int64_t b0, T* x, const T* y, T* gg, T* gx,
                         T* gy) {
  forest_products(tb, x);
  load_rows(g, batch, tb.n + 1, scalar, b0, gg);
  for (int j = 0; j < kLanes; ++j) gg[j] = gx[j] = gy[j] = T(0);
  chen_backprop(tb, by_left, by_right, x, y, gg, gx, gy);
  forest_products_backprop(tb, x, gx);
  for (int j = 0; j < kLanes; ++j) gx[j] = T(0);
}

}  // namespace detail

// out = a * b (Chen's product: the signature of a path followed by another), all
// (batch, n + scalar). out may alias a or b.
template <class T>
int branched_combine(const T* a, const T* b, T* out, std::int64_t batch,
                     const BranchedTables<T>& tb, bool scalar, int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes;
  return parallel_for(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t b0 = blk * kLanes;
    T* x = detail::workspace<T>(ext + m * kLanes);
    T* y = x + ext;
    detail::load_character(a, batch, m, scalar, b0, x);
    detail::load_character(b, batch, m, scalar, b0, y);
    detail::chen_product(tb, x, y);
    detail::store_rows(x, batch, m, scalar, b0, out);
    return kOk;
  });
}

// (ga, gb): the vector-Jacobian products of branched_combine at (a, b) with cotangent g
// (all (batch, n + scalar); scalar entries get 0).
template <class T>
int branched_combine_backprop(const T* a, const T* b, const T* g, T* ga, T* gb,
                              std::int64_t batch, const BranchedTables<T>& tb, bool scalar,
                              int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes, mw = m * kLanes;
  return detail::chen_backprop_blocks(tb, batch, n_threads, [&](std::int64_t b0,
                                                                const auto& by_left,
                                                                const auto& by_right) {
    T* x = detail::workspace<T>(2 * ext + 3 * mw);
    T *gx = x + ext, *y = gx + ext, *gy = y + mw, *gg = gy + mw;
    detail::load_character(a, batch, m, scalar, b0, x);
    detail::load_character(b, batch, m, scalar, b0, y);
    detail::chen_block_backprop(tb, by_left, by_right, g, batch, scalar, b0, x, y, gg, gx,
                                gy);
    detail::store_rows(gx, batch, m, scalar, b0, ga);
    detail::store_rows(gy, batch, m, scalar, b0, gb);
    return static_cast<int>(kOk);
  });
}

// out = bsig * S(v) (append) or S(v) * bsig (prepend), S(v) the branched signature of
// the straight segment with increment v = disp (batch, dim).
template <class T>
int branched_join(const T* bsig, const T* disp, T* out, std::int64_t batch,
                  std::int64_t dim, const BranchedTables<T>& tb, bool scalar, bool prepend,
                  int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes;
  return parallel_for(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t b0 = blk * kLanes;
    T* x = detail::workspace<T>(2 * ext + dim * kLanes);
    T *y = x + ext, *v = y + ext;
    detail::join_factors(tb, bsig, disp, batch, dim, scalar, prepend, b0, v, x, y);
    detail::chen_product(tb, x, y);
    detail::store_rows(x, batch, m, scalar, b0, out);
    return kOk;
  });
}

// (gbsig, gdisp): the vector-Jacobian products of branched_join with cotangent g.
template <class T>
int branched_join_backprop(const T* bsig, const T* disp, const T* g, T* gbsig, T* gdisp,
                           std::int64_t batch, std::int64_t dim, const BranchedTables<T>& tb,
                           bool scalar, bool prepend, int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, ext = (m + tb.n_forest) * kLanes, mw = m * kLanes;
  return detail::chen_backprop_blocks(tb, batch, n_threads, [&](std::int64_t b0,
                                                                const auto& by_left,
                                                                const auto& by_right) {
    T* x = detail::workspace<T>(2 * ext + 3 * mw + 2 * dim * kLanes);
    T *gx = x + ext, *y = gx + ext, *gy = y + mw, *gg = gy + mw, *v = gg + mw,
      *gv = v + dim * kLanes;
    detail::join_factors(tb, bsig, disp, batch, dim, scalar, prepend, b0, v, x, y);
    detail::chen_block_backprop(tb, by_left, by_right, g, batch, scalar, b0, x, y, gg, gx,
                                gy);
    for (std::int64_t i = 0; i < dim * kLanes; ++i) gv[i] = T(0);
    // The segment's cotangent is consumed by its adjoint; bsig's is stored first.
    if (prepend) {
      detail::store_rows(gy, batch, m, scalar, b0, gbsig);
      detail::segment_values_backprop(tb, v, x, gx, gv);
    } else {
      detail::store_rows(gx, batch, m, scalar, b0, gbsig);
      detail::segment_values_backprop(tb, v, y, gy, gv);
    }
    detail::store_increments(gv, batch, dim, b0, gdisp);
    return static_cast<int>(kOk);
  });
}

// out (batch, n + scalar): the branched signatures of straight segments with
// increments disp (batch, dim).
template <class T>
int linear_branched_sig(const T* disp, T* out, std::int64_t batch, std::int64_t dim,
                        const BranchedTables<T>& tb, bool scalar, int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1;
  return parallel_for(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t b0 = blk * kLanes;
    T* e = detail::workspace<T>((m + dim) * kLanes);
    T* v = e + m * kLanes;
    detail::load_increments(disp, batch, dim, b0, v);
    detail::segment_values(tb, v, e);
    detail::store_rows(e, batch, m, scalar, b0, out);
    return kOk;
  });
}

// gdisp (batch, dim): the vector-Jacobian product of linear_branched_sig with
// cotangent g (batch, n + scalar; a scalar entry is ignored).
template <class T>
int linear_branched_sig_backprop(const T* disp, const T* g, T* gdisp, std::int64_t batch,
                                 std::int64_t dim, const BranchedTables<T>& tb, bool scalar,
                                 int n_threads) noexcept {
  using detail::kLanes;
  const std::int64_t m = tb.n + 1, mw = m * kLanes;
  return parallel_for(detail::n_blocks(batch), n_threads, [&](std::int64_t blk) -> int {
    const std::int64_t b0 = blk * kLanes;
    T* e = detail::workspace<T>(2 * mw + 2 * dim * kLanes);
    T *ge = e + mw, *v = ge + mw, *gv = v + dim * kLanes;
    detail::load_increments(disp, batch, dim, b0, v);
    detail::segment_values(tb, v, e);
    detail::load_rows(g, batch, m, scalar, b0, ge);
    for (int j = 0; j < kLanes; ++j) ge[j] = T(0);
    for (std::int64_t i = 0; i < dim * kLanes; ++i) gv[i] = T(0);
    detail::segment_values_backprop(tb, v, e, ge, gv);
    detail::store_increments(gv, batch, dim, b0, gdisp);
    return kOk;
  });
}

}  // namespace sksig

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

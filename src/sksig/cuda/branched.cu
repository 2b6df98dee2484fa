// Branched signatures on the GPU (SPEC.md sections 10-11): Chen products over the segments,
// the log in the branched Hopf algebra and its adjoint, with the tables of
// sksig/_trees.py (meaning as in sksig/branched.hpp) plus gather tables derived from them
// in sksig/cuda/_branched.py (uploaded once per device and dtype, see branched.cuh).
//
// Design. One block per batch item (path or signature); its working vectors (one
// coefficient per basis element, plus the non-planar forest products) live in dynamic
// shared memory, or in a per-block slice of global scratch when they exceed the device's
// opt-in limit (then the batch is processed in chunks of about 1 GiB of scratch). The
// threads of a block own basis elements (element i goes to thread i mod blockDim), and
// every owner sums its table terms in the CPU core's order (no atomics: results are
// reproducible run to run, and close to the CPU's to rounding; nvcc may contract to FMA).
//   * branched_sig: per segment, the increment (one thread per channel), the one-segment
//     signature level by level (an element with k nodes reads its parent with k - 1; a
//     barrier per level), the forest products of the running signature level by level
//     (a product of L trees reads one of L - 1 trees), in the same phases; then the Chen
//     product y = x * E into a second buffer (every element reads only x and E), a
//     barrier, and the buffers swap. Segments with zero increment (ragged padding) are
//     skipped by the whole block (the decision reads only the shared increment).
//   * branched_log: P_1 = a, P_k = (a - eps) * P_{k-1} restricted to the elements of
//     level k (one owner each, reading a and P_{k-1} of the previous phase), P_k in a
//     ping-pong pair of buffers, log += c_k P_k by the owner; a barrier per k.
//   * backprop: the forward P_2 .. P_{degree-1} kept, then for k = degree .. 2 the
//     adjoint of one step in gather form: dL/dP_{k-1}[r] by the owner of r over the terms
//     whose right index is r (tr_*), dL/da[l] accumulated by the owner of l over the terms
//     whose left index is l (tl_*), both restricted to the elements of level k by a
//     membership mask; then the adjoint of the forest products, from products of many
//     trees down to trees (fb_*, ft_*). A barrier per phase.
//   * branched_sig_backprop: the CPU core's reverse pass, per segment from the last:
//     x <- x * seg(-v) (the Chen product above, into the free buffer of three rotating
//     extended ones), the forest products of the prefix, then the adjoint of x * seg(v)
//     in gather form (by right index over tr_*, by left index over tl_*), the forest
//     products' adjoint, the segment values' adjoint level by level from the top (each
//     element gathers from its children, sc_*) and onto the increment (each channel
//     gathers the elements with its label, sl_*; that thread owns the channel's column
//     of the output throughout). Segments with zero increment are not skipped: their
//     gradient is not zero.
// Race freedom: within a phase every written entry has one owner, and the entries read
// were written in earlier phases (before a __syncthreads) or are the owner's own; the
// increment is double-buffered because a skipped segment has no barrier after its reads.
// The planar Lyndon solve (method 2) is sequential per item: thread 0 does the few rows
// with off-diagonal entries after all threads have gathered the Lyndon values.
//
// Flops per item, for a "% of peak" figure (n_terms = reduced coproduct terms):
//   branched_sig: (length - 1) * (3 n_terms + 2 n + n_forest) (Chen: 3 per term + 1 per
//   element; segment: 2 per element; forest products: 1 each);
//   branched_sig_to_log_sig: about 3 n_terms_used * (degree - 1) (terms of the level
//   lists up to the first right factor that vanishes) + n_forest;
//   backprop: about 3x the log (forward, then two gathers of 3 flops per term and step);
//   branched_sig_backprop: about (length - 1) * (12 n_terms + 12 n + 6 n_forest) (two
//   Chen products and two gathers, 3 per term; two segments, 2 per element, and their
//   adjoint, 6; the forest products twice, 1 each, and their adjoint, 4).
#include <algorithm>
#include <cstdint>

#include "branched.cuh"
#include "common.cuh"
#include "runtime.cuh"
#include "sksig/branched_terms.hpp"
#include "sksig/status.hpp"

namespace sksig {
namespace cuda {
namespace {

using i64 = std::int64_t;
using i32 = std::int32_t;

// Threads per block (the CPU emulation builds with fewer, to exercise the strided loops).
constexpr int kMaxThreads = SKSIG_CUDA_MAX_THREADS < 256 ? SKSIG_CUDA_MAX_THREADS : 256;
constexpr i64 kScratchBudget = i64(1) << 30;  // bytes of global scratch per chunk
constexpr i64 kMaxBlocks = (i64(1) << 31) - 1;

// The working vectors of block blockIdx.x: dynamic shared memory, or its slice of a
// global buffer when they do not fit.
template <class T>
__device__ T* item_buffer(T* global, i64 per_item) {
  SKSIG_DYNAMIC_SHARED(T, shared);
  return global ? global + i64(blockIdx.x) * per_item : shared;
}

// Forest products x[m + j] = x[first[j]] * x[rest[j]] of the products of L trees, for
// one level L (the rest has L - 1 trees: written in an earlier phase).
template <class T>
__device__ void forest_level(const BranchedDeviceTables& tb, int L, T* x) {
  const i64 m = tb.n + 1;
  for (i64 q = tb.fl_ptr[L] + threadIdx.x; q < tb.fl_ptr[L + 1]; q += blockDim.x) {
    const i64 j = tb.fl_idx[q];
    x[m + j] = x[tb.forest_first[j]] * x[tb.forest_rest[j]];
  }
}

// All forest products of x (entries 0..n of x complete before the call), a barrier after
// each level.
template <class T>
__device__ void forest_products(const BranchedDeviceTables& tb, T* x) {
  for (int L = 2; L <= tb.forest_levels; ++L) {
    forest_level(tb, L, x);
    __syncthreads();
  }
}

// out[e] = sum over the terms of e with right index >= first of coef * a[left] * p[right]
// for the elements e of level k (the (a - eps) * P_{k-1} step), and log[e] += c * out[e]
// when log is given. One owner per element.
template <class T>
__device__ void reduced_product(const BranchedDeviceTables& tb, const BranchedDeviceLevels& lv,
                                const T* a, const T* p, int k, T* out, T c, T* log) {
  const T* coef = static_cast<const T*>(tb.term_coef);
  const i32 first = tb.order_start[k - 1];
  for (i64 i = lv.level_ptr[k] + threadIdx.x; i < lv.level_ptr[k + 1]; i += blockDim.x) {
    const i64 e = lv.level_idx[i];
    T acc = T(0);
    for (i32 t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t) {
      const i32 r = tb.term_right[t];
      if (r < first) break;
      acc += coproduct_term(coef[t], a[tb.term_left[t]], p[r]);
    }
    out[e] = acc;
    if (log) log[e] += c * acc;
  }
}

// The one-segment signature seg (entries 1..n; seg[0] = 1 set by the caller) of the
// increment v, level by level (an element with k nodes reads its parent with k - 1),
// and in the same phases the forest products of x (entries 0..n complete before the
// call); a barrier after each phase.
template <class T>
__device__ void segment_and_forests(const BranchedDeviceTables& tb, const T* v, T* seg,
                                    T* x) {
  const T* ratio = static_cast<const T*>(tb.seg_ratio);
  const int phases = tb.degree > tb.forest_levels - 1 ? tb.degree : tb.forest_levels - 1;
  for (int k = 1; k <= phases; ++k) {
    if (k <= tb.degree) {
      for (i64 i = tb.order_start[k] + threadIdx.x; i < tb.order_start[k + 1];
           i += blockDim.x)
        seg[i] = segment_entry(seg[tb.seg_parent[i]], v[tb.seg_label[i]], ratio[i]);
    }
    if (k + 1 <= tb.forest_levels) forest_level(tb, k + 1, x);
    __syncthreads();
  }
}

// Chen's product y = x * seg on entries 1..n (x extended with its forest products):
// every owner reads only x and seg, so y must be another buffer.
template <class T>
__device__ void chen_product(const BranchedDeviceTables& tb, const T* x, const T* seg,
                             T* y) {
  const T* coef = static_cast<const T*>(tb.term_coef);
  for (i64 e = 1 + threadIdx.x; e <= tb.n; e += blockDim.x) {
    T acc = x[e] + seg[e];
    for (i32 t = tb.term_ptr[e - 1]; t < tb.term_ptr[e]; ++t)
      acc += coproduct_term(coef[t], x[tb.term_left[t]], seg[tb.term_right[t]]);
    y[e] = acc;
  }
}

// Adjoint of the forest products of a: the cotangent ga of the product entries is
// pushed back onto their factors, a product of L trees being complete once the
// products of L + 1 trees have been pushed back (targets with l trees at phase l); a
// barrier after each phase.
template <class T>
__device__ void forest_products_adjoint(const BranchedDeviceTables& tb, const T* a, T* ga) {
  for (int l = tb.forest_levels - 1; l >= 1; --l) {
    for (i64 q = tb.ft_ptr[l] + threadIdx.x; q < tb.ft_ptr[l + 1]; q += blockDim.x) {
      const i64 u = tb.ft_idx[q];
      T acc = ga[u];
      for (i32 z = tb.fb_ptr[u]; z < tb.fb_ptr[u + 1]; ++z)
        acc += ga[tb.fb_src[z]] * a[tb.fb_other[z]];
      ga[u] = acc;
    }
    __syncthreads();
  }
}

template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    sig_kernel(const T* __restrict__ path, T* __restrict__ out, i64 b0, i64 length, i64 dim,
               BranchedDeviceTables tb, bool scalar_out, T* scratch) {
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  const i64 item = b0 + blockIdx.x;
  T* x = item_buffer(scratch, 2 * ext + m + 2 * dim);
  T* y = x + ext;
  T* seg = y + ext;
  T* v = seg + m;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) x[i] = i ? T(0) : T(1);
  if (threadIdx.x == 0) y[0] = seg[0] = T(1);  // never written again
  __syncthreads();
  const T* p = path + item * length * dim;
  for (i64 s = 0; s + 1 < length; ++s) {
    T* vs = v + (s & 1) * dim;
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x)
      vs[c] = p[(s + 1) * dim + c] - p[s * dim + c];
    __syncthreads();
    bool zero = true;
    for (i64 c = 0; c < dim; ++c) zero = zero && vs[c] == T(0);
    if (zero) continue;  // the identity (uniform over the block)
    segment_and_forests(tb, vs, seg, x);
    chen_product(tb, x, seg, y);
    __syncthreads();
    T* swap = x;
    x = y;
    y = swap;
  }
  const i64 width = tb.n + (scalar_out ? 1 : 0), shift = scalar_out ? 0 : 1;
  T* o = out + item * width;
  for (i64 i = shift + threadIdx.x; i < m; i += blockDim.x) o[i - shift] = x[i];
}

template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    log_kernel(const T* __restrict__ xin, T* __restrict__ out, i64 b0, BranchedDeviceTables tb,
               BranchedDeviceLevels lv, bool scalar_in, bool scalar_out,
               BranchedDeviceLyndon ly, T* scratch) {
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  const i64 item = b0 + blockIdx.x;
  T* a = item_buffer(scratch, ext + 3 * m);
  T* o = a + ext;
  T* q = o + m;
  T* r = q + m;
  const i64 width_in = tb.n + (scalar_in ? 1 : 0), shift_in = scalar_in ? 0 : 1;
  const T* row = xin + item * width_in;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    const T val = i ? row[i - shift_in] : T(0);
    a[i] = val;
    o[i] = val;
  }
  __syncthreads();
  forest_products(tb, a);
  const T* p = a;  // P_1
  for (int k = 2; k <= tb.degree; ++k) {
    reduced_product(tb, lv, a, p, k, q, branched_log_coef<T>(k), o);
    __syncthreads();
    p = q;
    T* swap = q;
    q = r;
    r = swap;
  }
  if (ly.n_lyndon >= 0) {
    // Values at the Lyndon forests; then (method 2) the unitriangular solve, row by row
    // in ascending order over the rows that have off-diagonal entries (thread 0: a row
    // reads the solved values of earlier rows).
    T* orow = out + item * ly.n_lyndon;
    for (i64 i = threadIdx.x; i < ly.n_lyndon; i += blockDim.x) orow[i] = o[ly.pos[i]];
    if (ly.solve) {
      __syncthreads();
      if (threadIdx.x == 0) {
        for (i64 w = 0; w < ly.n_solve; ++w) {
          const i64 i = ly.solve_rows[w];
          T acc = o[ly.pos[i]];
          for (i64 z = ly.tri_ptr[i]; z < ly.tri_ptr[i + 1]; ++z)
            acc -= static_cast<T>(ly.tri_val[z]) * orow[ly.tri_idx[z]];
          orow[i] = acc;
        }
      }
    }
    return;
  }
  const i64 width = tb.n + (scalar_out ? 1 : 0), shift = scalar_out ? 0 : 1;
  T* orow = out + item * width;
  for (i64 i = shift + threadIdx.x; i < m; i += blockDim.x) orow[i - shift] = o[i];
}

template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    log_backprop_kernel(const T* __restrict__ xin, const T* __restrict__ gout,
                        T* __restrict__ gx, i64 b0, BranchedDeviceTables tb,
                        BranchedDeviceLevels lv, bool scalar_in, bool scalar_grad,
                        BranchedDeviceLyndon ly, T* scratch) {
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  const int degree = tb.degree;
  const i64 item = b0 + blockIdx.x;
  T* a = item_buffer(scratch, 2 * ext + (degree > 2 ? degree + 1 : 3) * m);
  T* ga = a + ext;
  T* g = ga + ext;
  T* h = g + m;
  T* hp = h + m;
  T* P2 = hp + m;
  auto P = [&](int k) -> T* { return k == 1 ? a : P2 + (k - 2) * m; };
  const T* coef = static_cast<const T*>(tb.term_coef);
  const i64 width_in = tb.n + (scalar_in ? 1 : 0), shift_in = scalar_in ? 0 : 1;
  const T* row = xin + item * width_in;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) a[i] = i ? row[i - shift_in] : T(0);
  for (i64 i = threadIdx.x; i < ext; i += blockDim.x) ga[i] = T(0);
  if (ly.n_lyndon < 0) {
    const i64 width_g = tb.n + (scalar_grad ? 1 : 0), shift_g = scalar_grad ? 0 : 1;
    const T* grow = gout + item * width_g;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) g[i] = i ? grow[i - shift_g] : T(0);
  } else {
    // Adjoint of the Lyndon output: g is zero off the Lyndon forests.
    const T* grow = gout + item * ly.n_lyndon;
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) g[i] = T(0);
    __syncthreads();
    for (i64 i = threadIdx.x; i < ly.n_lyndon; i += blockDim.x) g[ly.pos[i]] = grow[i];
    if (ly.solve) {
      // Adjoint of the solve: rows with off-diagonal entries in descending order
      // (g[pos[i]] holds the cotangent of row i; pos is injective).
      __syncthreads();
      if (threadIdx.x == 0) {
        for (i64 w = ly.n_solve - 1; w >= 0; --w) {
          const i64 i = ly.solve_rows[w];
          const T gi = g[ly.pos[i]];
          for (i64 z = ly.tri_ptr[i]; z < ly.tri_ptr[i + 1]; ++z)
            g[ly.pos[ly.tri_idx[z]]] -= static_cast<T>(ly.tri_val[z]) * gi;
        }
      }
    }
  }
  __syncthreads();
  forest_products(tb, a);
  // Forward: P_2 .. P_{degree-1} (the reverse pass never reads P_degree).
  for (int k = 2; k < degree; ++k) {
    reduced_product(tb, lv, a, P(k - 1), k, P(k), T(0), static_cast<T*>(nullptr));
    __syncthreads();
  }
  {
    const T c = branched_log_coef<T>(degree);
    for (i64 i = threadIdx.x; i < m; i += blockDim.x) h[i] = c * g[i];
  }
  __syncthreads();
  // Reverse: h = dL/dP_k for k = degree .. 2.
  for (int k = degree; k >= 2; --k) {
    const T c = branched_log_coef<T>(k - 1);
    const i32 first = tb.order_start[k - 1];
    const T* pk = P(k - 1);
    const std::uint8_t* in_level = lv.mask + k * m;
    for (i64 rr = threadIdx.x; rr < m; rr += blockDim.x) {
      T acc = c * g[rr];
      if (rr >= first) {
        for (i32 z = tb.tr_ptr[rr]; z < tb.tr_ptr[rr + 1]; ++z) {
          const i32 t = tb.tr_term[z];
          const i32 e = tb.term_elem[t];
          if (in_level[e]) acc += coproduct_term(coef[t], h[e], a[tb.term_left[t]]);
        }
      }
      hp[rr] = acc;
    }
    for (i64 l = threadIdx.x; l < ext; l += blockDim.x) {
      T acc = ga[l];
      for (i32 z = tb.tl_ptr[l]; z < tb.tl_ptr[l + 1]; ++z) {
        const i32 t = tb.tl_term[z];
        const i32 r = tb.term_right[t];
        if (r < first) continue;
        const i32 e = tb.term_elem[t];
        if (in_level[e]) acc += coproduct_term(coef[t], h[e], pk[r]);
      }
      ga[l] = acc;
    }
    __syncthreads();
    T* swap = h;
    h = hp;
    hp = swap;
  }
  for (i64 i = threadIdx.x; i < m; i += blockDim.x)
    if (i) ga[i] += h[i];
  __syncthreads();
  forest_products_adjoint(tb, a, ga);
  T* orow = gx + item * width_in;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    if (i) orow[i - shift_in] = ga[i];
    else if (scalar_in) orow[0] = T(0);
  }
}

// The gradient of branched_sig at one path (the CPU core's reverse pass): starting from
// its signature x and cotangent g, each segment s from the last is taken off x by
// Chen's product with the segment of increment -v (its inverse), then the adjoint of
// the product x * seg is gathered (gE by right index, gx by left index, over tr_*,
// tl_*), the forest products' adjoint folded into gx, and gE pushed through the
// segment's values: level by level from the top (an element gathers from its children,
// sc_*), then onto the increment (each channel gathers its elements, sl_*). Three
// extended buffers rotate: x, g and a free one (receiving x * (-v), then gx).
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    sig_backprop_kernel(const T* __restrict__ path, const T* __restrict__ bsig,
                        const T* __restrict__ grad, T* __restrict__ gpath, i64 b0,
                        i64 length, i64 dim, BranchedDeviceTables tb, bool scalar,
                        T* scratch) {
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  const i64 item = b0 + blockIdx.x;
  T* x = item_buffer(scratch, 3 * ext + 2 * m + 2 * dim);
  T* g = x + ext;
  T* f = g + ext;
  T* seg = f + ext;
  T* gE = seg + m;
  T* v = gE + m;
  T* mv = v + dim;
  const T* coef = static_cast<const T*>(tb.term_coef);
  const T* ratio = static_cast<const T*>(tb.seg_ratio);
  const i64 width = tb.n + (scalar ? 1 : 0), shift = scalar ? 0 : 1;
  const T* xrow = bsig + item * width;
  const T* grow = grad + item * width;
  for (i64 i = threadIdx.x; i < m; i += blockDim.x) {
    x[i] = i ? xrow[i - shift] : T(1);
    g[i] = i ? grow[i - shift] : T(0);
  }
  if (threadIdx.x == 0) f[0] = seg[0] = T(1);  // never written again
  const T* p = path + item * length * dim;
  T* gp = gpath + item * length * dim;
  // Channel c of gp is owned by the thread of channel c throughout.
  for (i64 c = threadIdx.x; c < dim; c += blockDim.x)
    for (i64 i = 0; i < length; ++i) gp[i * dim + c] = T(0);
  for (i64 s = length - 2; s >= 0; --s) {
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) {
      const T inc = p[(s + 1) * dim + c] - p[s * dim + c];
      v[c] = inc;
      mv[c] = -inc;
    }
    __syncthreads();
    segment_and_forests(tb, mv, seg, x);
    chen_product(tb, x, seg, f);  // the prefix before segment s
    __syncthreads();
    T* swap = x;
    x = f;
    f = swap;
    segment_and_forests(tb, v, seg, x);
    // Adjoint of x * seg: gE[r] (r = 1..n) by right index, f = gx (extended) by left.
    for (i64 r = 1 + threadIdx.x; r < m; r += blockDim.x) {
      T acc = g[r];
      for (i32 z = tb.tr_ptr[r]; z < tb.tr_ptr[r + 1]; ++z) {
        const i32 t = tb.tr_term[z];
        acc += coproduct_term(coef[t], g[tb.term_elem[t]], x[tb.term_left[t]]);
      }
      gE[r] = acc;
    }
    for (i64 l = 1 + threadIdx.x; l < ext; l += blockDim.x) {
      T acc = l < m ? g[l] : T(0);
      for (i32 z = tb.tl_ptr[l]; z < tb.tl_ptr[l + 1]; ++z) {
        const i32 t = tb.tl_term[z];
        acc += coproduct_term(coef[t], g[tb.term_elem[t]], seg[tb.term_right[t]]);
      }
      f[l] = acc;
    }
    __syncthreads();
    forest_products_adjoint(tb, x, f);
    // Adjoint of the segment's values, from the largest elements down.
    for (int k = tb.degree - 1; k >= 1; --k) {
      for (i64 i = tb.order_start[k] + threadIdx.x; i < tb.order_start[k + 1];
           i += blockDim.x) {
        T acc = gE[i];
        for (i32 z = tb.sc_ptr[i]; z < tb.sc_ptr[i + 1]; ++z) {
          const i32 ch = tb.sc_idx[z];
          acc += gE[ch] * ratio[ch] * v[tb.seg_label[ch]];
        }
        gE[i] = acc;
      }
      __syncthreads();
    }
    for (i64 c = threadIdx.x; c < dim; c += blockDim.x) {
      T acc = T(0);
      for (i32 z = tb.sl_ptr[c]; z < tb.sl_ptr[c + 1]; ++z) {
        const i32 i = tb.sl_idx[z];
        acc += gE[i] * ratio[i] * seg[tb.seg_parent[i]];
      }
      gp[(s + 1) * dim + c] += acc;
      gp[s * dim + c] -= acc;
    }
    __syncthreads();
    swap = g;  // the prefix's cotangent (entries past m are scratch)
    g = f;
    f = swap;
  }
}

// Launch geometry and scratch of one call.
struct Plan {
  unsigned threads = 32;
  size_t shared = 0;  // dynamic shared bytes (0 with global working vectors)
  bool global = false;
  i64 chunk = 1;      // items per launch
};

template <class T, class Kernel>
int make_plan(Kernel kernel, i64 m, i64 per_item, i64 batch, int device, Plan& plan) {
  plan.threads = block_threads(m, kMaxThreads);
  const i64 bytes = per_item * static_cast<i64>(sizeof(T));
  int optin = 0;
  int status = shared_optin(device, optin);
  if (status != kOk) return status;
  plan.global = bytes > optin;
  plan.shared = plan.global ? 0 : static_cast<size_t>(bytes);
  status = allow_shared(kernel, plan.shared);
  if (status != kOk) return status;
  plan.chunk = plan.global ? std::max<i64>(1, kScratchBudget / std::max<i64>(1, bytes)) : batch;
  plan.chunk = std::max<i64>(1, std::min({plan.chunk, batch, kMaxBlocks}));
  return kOk;
}

bool valid(const BranchedDeviceTables& tb) {
  return tb.n >= 1 && tb.n_forest >= 0 && tb.degree >= 1 && tb.forest_levels >= 1;
}

// Runs launch(blocks, plan, b0, scratch) over the batch in chunks of plan.chunk items,
// one block per item, with per_item values of global scratch per block when an item's
// working vectors do not fit in shared memory.
template <class T, class Kernel, class Launch>
int run_in_chunks(Kernel kernel, i64 m, i64 per_item, i64 batch, int device,
                  cudaStream_t stream, Launch&& launch) {
  DeviceGuard guard(device);
  if (!guard.ok()) return kCudaError;
  Plan plan;
  int status = make_plan<T>(kernel, m, per_item, batch, device, plan);
  if (status != kOk) return status;
  Scratch scratch(stream);
  if (plan.global) {
    status = scratch.allocate(static_cast<size_t>(plan.chunk * per_item) * sizeof(T));
    if (status != kOk) return status;
  }
  for (i64 b0 = 0; b0 < batch; b0 += plan.chunk) {
    launch(static_cast<unsigned>(std::min(plan.chunk, batch - b0)), plan, b0,
           scratch.as<T>());
    status = status_of(cudaGetLastError());
    if (status != kOk) return status;
  }
  return kOk;
}

template <class T>
int sig_impl(const T* path, T* out, i64 batch, i64 length, i64 dim,
             const BranchedDeviceTables& tb, bool scalar_out, int device,
             cudaStream_t stream) {
  if (!valid(tb) || batch < 0 || length < 1 || dim < 1) return kInvalidArgument;
  if (batch == 0) return kOk;
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  return run_in_chunks<T>(sig_kernel<T>, m, 2 * ext + m + 2 * dim, batch, device, stream,
                          [&](unsigned blocks, const Plan& p, i64 b0, T* w) {
    SKSIG_LAUNCH(sig_kernel<T>, blocks, p.threads, p.shared, stream)(
        path, out, b0, length, dim, tb, scalar_out, w);
  });
}

template <class T>
int log_impl(const T* x, T* out, i64 batch, const BranchedDeviceTables& tb,
             const BranchedDeviceLevels& lv, bool scalar_in, bool scalar_out,
             const BranchedDeviceLyndon& ly, int device, cudaStream_t stream) {
  if (!valid(tb) || batch < 0) return kInvalidArgument;
  if (batch == 0) return kOk;
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  return run_in_chunks<T>(log_kernel<T>, m, ext + 3 * m, batch, device, stream,
                          [&](unsigned blocks, const Plan& p, i64 b0, T* w) {
    SKSIG_LAUNCH(log_kernel<T>, blocks, p.threads, p.shared, stream)(
        x, out, b0, tb, lv, scalar_in, scalar_out, ly, w);
  });
}

template <class T>
int backprop_impl(const T* x, const T* grad_out, T* grad_x, i64 batch,
                  const BranchedDeviceTables& tb, const BranchedDeviceLevels& lv,
                  bool scalar_in, bool scalar_grad, const BranchedDeviceLyndon& ly,
                  int device, cudaStream_t stream) {
  if (!valid(tb) || batch < 0 || lv.mask == nullptr) return kInvalidArgument;
  if (batch == 0) return kOk;
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  const i64 per_item = 2 * ext + (tb.degree > 2 ? tb.degree + 1 : 3) * m;
  return run_in_chunks<T>(log_backprop_kernel<T>, m, per_item, batch, device, stream,
                          [&](unsigned blocks, const Plan& p, i64 b0, T* w) {
    SKSIG_LAUNCH(log_backprop_kernel<T>, blocks, p.threads, p.shared, stream)(
        x, grad_out, grad_x, b0, tb, lv, scalar_in, scalar_grad, ly, w);
  });
}

template <class T>
int sig_backprop_impl(const T* path, const T* bsig, const T* grad, T* grad_path, i64 batch,
                      i64 length, i64 dim, const BranchedDeviceTables& tb, bool scalar,
                      int device, cudaStream_t stream) {
  if (!valid(tb) || batch < 0 || length < 1 || dim < 1) return kInvalidArgument;
  if (batch == 0) return kOk;
  const i64 m = tb.n + 1, ext = m + tb.n_forest;
  return run_in_chunks<T>(sig_backprop_kernel<T>, m, 3 * ext + 2 * m + 2 * dim, batch,
                          device, stream, [&](unsigned blocks, const Plan& p, i64 b0, T* w) {
    SKSIG_LAUNCH(sig_backprop_kernel<T>, blocks, p.threads, p.shared, stream)(
        path, bsig, grad, grad_path, b0, length, dim, tb, scalar, w);
  });
}

}  // namespace

int branched_sig(bool dbl, const void* path, void* out, std::int64_t batch,
                 std::int64_t length, std::int64_t dim, const BranchedDeviceTables& tb,
                 bool scalar_out, int device, void* stream) noexcept {
  return guarded([&] {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return sig_impl(static_cast<const double*>(path), static_cast<double*>(out), batch,
                      length, dim, tb, scalar_out, device, s);
    return sig_impl(static_cast<const float*>(path), static_cast<float*>(out), batch, length,
                    dim, tb, scalar_out, device, s);
  });
}

int branched_sig_backprop(bool dbl, const void* path, const void* bsig, const void* grad,
                          void* grad_path, std::int64_t batch, std::int64_t length,
                          std::int64_t dim, const BranchedDeviceTables& tb, bool scalar,
                          int device, void* stream) noexcept {
  return guarded([&] {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return sig_backprop_impl(static_cast<const double*>(path),
                               static_cast<const double*>(bsig),
                               static_cast<const double*>(grad),
                               static_cast<double*>(grad_path), batch, length, dim, tb,
                               scalar, device, s);
    return sig_backprop_impl(static_cast<const float*>(path), static_cast<const float*>(bsig),
                             static_cast<const float*>(grad), static_cast<float*>(grad_path),
                             batch, length, dim, tb, scalar, device, s);
  });
}

int branched_log(bool dbl, const void* x, void* out, std::int64_t batch,
                 const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
                 bool scalar_in, bool scalar_out, const BranchedDeviceLyndon& lyn,
                 int device, void* stream) noexcept {
  return guarded([&] {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return log_impl(static_cast<const double*>(x), static_cast<double*>(out), batch, tb,
                      levels, scalar_in, scalar_out, lyn, device, s);
    return log_impl(static_cast<const float*>(x), static_cast<float*>(out), batch, tb, levels,
                    scalar_in, scalar_out, lyn, device, s);
  });
}

int branched_log_backprop(bool dbl, const void* x, const void* grad_out, void* grad_x,
                          std::int64_t batch, const BranchedDeviceTables& tb,
                          const BranchedDeviceLevels& levels, bool scalar_in,
                          bool scalar_grad, const BranchedDeviceLyndon& lyn, int device,
                          void* stream) noexcept {
  return guarded([&] {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (dbl)
      return backprop_impl(static_cast<const double*>(x), static_cast<const double*>(grad_out),
                           static_cast<double*>(grad_x), batch, tb, levels, scalar_in,
                           scalar_grad, lyn, device, s);
    return backprop_impl(static_cast<const float*>(x), static_cast<const float*>(grad_out),
                         static_cast<float*>(grad_x), batch, tb, levels, scalar_in, scalar_grad,
                         lyn, device, s);
  });
}

}  // namespace cuda
}  // namespace sksig

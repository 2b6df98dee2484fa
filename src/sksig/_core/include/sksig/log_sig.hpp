// Signatures, log-signatures (SPEC.md sections 7-8) and the log-signature join with a
// straight segment (section 9), with their backward passes.
//
// Work is split per path (or per join item) in contiguous chunks, each chunk owning its
// scratch memory; every item is computed the same way whatever the chunking, so results
// are bitwise identical for every thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "finite.hpp"
#include "lyndon.hpp"
#include "lyndon_builder.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "status.hpp"
#include "tensor_algebra.hpp"

namespace sksig {

// build_lyndon_tables (lyndon_builder.hpp) with its exceptions as a status, for the Python
// layer: kInvalidArgument, kOutOfMemory, kInterrupted.
inline int build_lyndon_tables_status(int dim, int degree, LyndonTableArrays& out) noexcept {
  return guarded([&] {
    try {
      build_lyndon_tables(dim, degree, out);
    } catch (const std::invalid_argument&) {
      return kInvalidArgument;
    }
    return kOk;
  });
}

namespace detail {

// Runs body(first, last) over contiguous chunks of [0, n), handed out dynamically. Many
// small chunks, so that on a loaded machine a thread that is preempted or starts late
// holds up the others (which wait for it at the end) by little.
template <class Body>
int parallel_chunks(std::int64_t n, int n_threads, Body&& body) noexcept {
  if (n <= 0) return kOk;
  const std::int64_t workers = std::max(1, n_threads);
  const std::int64_t n_chunks = std::min<std::int64_t>(n, workers * 32);
  const std::int64_t per = (n + n_chunks - 1) / n_chunks;
  const std::int64_t real_chunks = (n + per - 1) / per;
  return parallel_items(real_chunks, n_threads, [&](std::int64_t c) {
    const std::int64_t first = c * per;
    return body(first, std::min(n, first + per));
  });
}

// Scratch objects of one call, one per thread working at once: a chunk takes one (or
// makes it) and gives it back, so each is allocated and zeroed once per thread and call
// rather than once per chunk. What a chunk leaves in it is what a chunk's next pack
// would find anyway (every pack zeroes or overwrites what it reads).
template <class S>
class ScratchPool {
 public:
  explicit ScratchPool(int n_threads) {
    free_.reserve(static_cast<std::size_t>(std::max(1, n_threads)));
  }

  template <class Make>
  std::unique_ptr<S> take(Make&& make) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        std::unique_ptr<S> s = std::move(free_.back());
        free_.pop_back();
        return s;
      }
    }
    return make();
  }

  void give(std::unique_ptr<S> s) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < free_.capacity()) free_.push_back(std::move(s));  // no allocation
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<S>> free_;
};

// Scratch for mul_exp_segment: two level-N buffers, v / j for j = 1..N, and v.
template <class T>
struct SegmentScratch {
  std::vector<T> buf, vs, v;
  explicit SegmentScratch(const TensorShape& sh)
      : buf(2 * sh.pw[sh.N]), vs(sh.N * sh.d), v(sh.d) {}
  T* b1() { return buf.data(); }
  T* b2() { return buf.data() + buf.size() / 2; }
};

// S <- S (x) exp(v) (level N at the words of top only, if given).
template <int D, class T>
void mul_segment(const TensorShape& sh, T* S, const T* v, SegmentScratch<T>& w,
                 const TopWords* top = nullptr) {
  mul_exp_segment<D>(sh, S, v, w.b1(), w.b2(), w.vs.data(), top);
}

// Signature of one path (length points of dim channels) into S (full layout).
template <int D, class T>
void path_signature(const TensorShape& sh, const T* path, std::int64_t length, T* S,
                    SegmentScratch<T>& w) {
  const int d = D ? D : sh.d;
  std::fill(S, S + sh.size(), T(0));
  S[0] = T(1);
  for (std::int64_t i = 0; i + 1 < length; ++i) {
    check_interrupt();
    for (int c = 0; c < d; ++c) w.v[c] = path[(i + 1) * d + c] - path[i * d + c];
    mul_segment<D>(sh, S, w.v.data(), w);
  }
}

// Runs body(packs_first, packs_last, valid) over chunks of packs of W items; pack p
// holds items [p W, p W + valid(p)). Packs are cut at multiples of W whatever the thread
// count; body allocates its scratch once per chunk.
template <int W, class Body>
int parallel_packs(std::int64_t n, int n_threads, Body&& body) noexcept {
  const std::int64_t n_packs = (n + W - 1) / W;
  auto valid = [n](std::int64_t p) {
    return static_cast<int>(std::min<std::int64_t>(W, n - p * W));
  };
  return parallel_chunks(n_packs, n_threads, [&](std::int64_t first, std::int64_t last) {
    return body(first, last, valid);
  });
}

// parallel_packs with the dimension dispatched (dispatch_dim):
// body(dc, packs_first, packs_last, valid), dc holding the compile-time dimension.
template <int W, class Body>
int dim_packs(int dim, std::int64_t n, int n_threads, Body&& body) {
  return dispatch_dim(dim, [&](auto dc) {
    return parallel_packs<W>(n, n_threads, [&](std::int64_t p0, std::int64_t p1, auto valid) {
      return body(dc, p0, p1, valid);
    });
  });
}

// The pack helpers below are inlined into the simd_call copies of the per-pack bodies
// (so they run with the copy's instruction set).
#if defined(__GNUC__)
#define SKSIG_PACK_INLINE inline __attribute__((always_inline))
#else
#define SKSIG_PACK_INLINE inline
#endif

// dst[e].x[l] = src[(first + l) * stride + e] for e < count (0 in unused lanes).
template <class T, int W>
SKSIG_PACK_INLINE void load_pack(Pack<T, W>* dst, const T* src, std::int64_t stride,
                                 std::int64_t count, std::int64_t first, int valid) {
  const T* rows = src + first * stride;
  if (valid == W) {  // no test per entry
    for (std::int64_t e = 0; e < count; ++e)
      for (int l = 0; l < W; ++l) dst[e].x[l] = rows[l * stride + e];
    return;
  }
  for (std::int64_t e = 0; e < count; ++e)
    for (int l = 0; l < W; ++l) dst[e].x[l] = l < valid ? rows[l * stride + e] : T(0);
}

template <class T, int W>
SKSIG_PACK_INLINE void store_pack(const Pack<T, W>* src, T* dst, std::int64_t stride,
                                  std::int64_t count, std::int64_t first, int valid) {
  for (int l = 0; l < valid; ++l)
    for (std::int64_t e = 0; e < count; ++e) dst[(first + l) * stride + e] = src[e].x[l];
}

// Whether the packs x[0..count) hold no NaN or inf (unused lanes hold zeros).
template <class T, int W>
SKSIG_PACK_INLINE bool packs_finite(const Pack<T, W>* x, std::int64_t count) {
  static_assert(sizeof(Pack<T, W>) == W * sizeof(T), "a pack is W values");
  return all_finite(reinterpret_cast<const T*>(x), count * W);
}

// The bits of a join's finiteness report (see log_sig_join): bit i for the i-th input
// array in argument order, kResultNonFinite for a result.
constexpr int kResultNonFinite = 1 << 8;

// x[0..count) = 0 (Pack and float types: zero is all bits 0).
template <class P>
SKSIG_PACK_INLINE void zero(P* x, std::int64_t count) {
  static_assert(std::is_trivially_copyable<P>::value, "memset needs a trivial type");
  std::memset(static_cast<void*>(x), 0, static_cast<std::size_t>(count) * sizeof(P));
}

// Zeroes levels 0..N-1 and level N at the words of top (the rest is left as it is).
template <class P>
SKSIG_PACK_INLINE void zero_lower_and_top(const TensorShape& sh, P* X, const TopWords& top) {
  zero(X, sh.off[sh.N]);
  P* XN = X + sh.off[sh.N];
  for (std::int64_t q = 0; q < top.size(); ++q) XN[top.word[q]] = P(0);
}

// dst = src on levels 0..N-1 and level N at the words of top.
template <class P>
SKSIG_PACK_INLINE void copy_lower_and_top(const TensorShape& sh, const P* src, P* dst,
                                          const TopWords& top) {
  std::copy(src, src + sh.off[sh.N], dst);
  const P* sN = src + sh.off[sh.N];
  P* dN = dst + sh.off[sh.N];
  for (std::int64_t q = 0; q < top.size(); ++q) dN[top.word[q]] = sN[top.word[q]];
}

// Signatures of the paths first..first+valid-1 into S (one tensor of packs).
template <int D, class T, int W>
void pack_signature(const TensorShape& sh, const T* path, std::int64_t length,
                    std::int64_t first, int valid, Pack<T, W>* S,
                    SegmentScratch<Pack<T, W>>& w, const TopWords* top = nullptr) {
  const int d = D ? D : sh.d;
  std::fill(S, S + sh.size(), Pack<T, W>(T(0)));
  S[0] = Pack<T, W>(T(1));
  for (std::int64_t i = 0; i + 1 < length; ++i) {
    check_interrupt();
    for (int l = 0; l < W; ++l) {
      const T* x = l < valid ? path + (first + l) * length * d : nullptr;
      for (int c = 0; c < d; ++c) w.v[c].x[l] = x ? x[(i + 1) * d + c] - x[i * d + c] : T(0);
    }
    mul_segment<D>(sh, S, w.v.data(), w, top);
  }
}

// What log_sig and its backprop share: the shape, the output length (method 0: the
// tensor without or with its scalar term; 1 and 2: the Lyndon coordinates) and the
// Horner chain of the tensor log.
template <class P>
struct LogSetup {
  TensorShape sh;
  std::int64_t out_len;
  HornerChain<P> chain;
  LogSetup(int dim, int degree, int method, bool scalar_term, const LyndonTables& tables)
      : sh(dim, degree),
        out_len(method == 0 ? sh.size() - (scalar_term ? 0 : 1) : tables.n),
        chain(HornerChain<P>::log_chain(degree)) {}
};

// The common start of sig, log_sig and their backprops: the argument check (method
// in 0..2 for the logs), then body() with exceptions as a status.
template <class Body>
int path_call(std::int64_t batch, std::int64_t length, int dim, int degree, int method,
              Body&& body) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded(body);
}

}  // namespace detail

// out: (batch, size - 1 + scalar_term).
template <class T>
int sig(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim, int degree,
        bool scalar_term, int n_threads) noexcept {
  return detail::path_call(batch, length, dim, degree, 0, [&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t skip = scalar_term ? 0 : 1;
    return detail::dim_packs<W>(dim, batch, n_threads, [&](auto dc, std::int64_t p0,
                                                         std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n);
      detail::SegmentScratch<P> w(sh);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        detail::pack_signature<D>(sh, path, length, p * W, valid(p), S.data(), w);
        detail::store_pack(S.data() + skip, out, n - skip, n - skip, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
  });
}

// Output length of log_sig per method: 0 -> size - 1 + scalar_term, 1 and 2 -> tables.n.
template <class T>
int log_sig(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim,
            int degree, int method, bool scalar_term, const LyndonTables& tables,
            int n_threads) noexcept {
  return detail::path_call(batch, length, dim, degree, method, [&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const detail::LogSetup<P> setup(dim, degree, method, scalar_term, tables);
    const TensorShape& sh = setup.sh;
    const std::int64_t n = sh.size(), out_len = setup.out_len;
    const HornerChain<P>& chain = setup.chain;
    // Methods 1 and 2 read level N only at Lyndon words.
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    const TopWords* top_p = method == 0 ? nullptr : &top;
    struct Scratch {
      std::vector<P> S, Q, o;
      detail::SegmentScratch<P> w;
    };
    detail::ScratchPool<Scratch> pool(n_threads);
    return detail::dim_packs<W>(dim, batch, n_threads, [&](auto dc, std::int64_t p0,
                                                         std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::unique_ptr<Scratch> scratch = pool.take([&] {
        return std::unique_ptr<Scratch>(new Scratch{std::vector<P>(n), std::vector<P>(2 * n),
                                                    std::vector<P>(tables.n),
                                                    detail::SegmentScratch<P>(sh)});
      });
      std::vector<P>& S = scratch->S;
      std::vector<P>& Q = scratch->Q;
      std::vector<P>& o = scratch->o;
      detail::SegmentScratch<P>& w = scratch->w;
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        const std::int64_t first = p * W;
        // Methods 1 and 2 need the signature's level N at the Lyndon words only.
        detail::pack_signature<D>(sh, path, length, first, valid(p), S.data(), w, top_p);
        P* Z = chain.template run<D>(sh, S.data(), Q.data(), false, top_p);
        if (method == 0) {  // Z[0] is 0
          detail::store_pack(Z + (scalar_term ? 0 : 1), out, out_len, out_len, first,
                             valid(p));
        } else {
          tables.gather(Z, o.data());
          if (method == 2) tables.solve(o.data());
          detail::store_pack(o.data(), out, out_len, out_len, first, valid(p));
        }
      }
      pool.give(std::move(scratch));
      return static_cast<int>(kOk);
    });
  });
}

namespace detail {

// Scratch of the reverse sweep for one pack: the cotangent G and its successor dP, the
// increment v and -v, its gradient dv, and the work of mul_exp_segment_adjoint.
template <class P>
struct SweepScratch {
  std::vector<P> G, dP, v, mv, dv, work;
  // The top level is never read by the sweep's adjoint (see reverse_sweep): the
  // signature is peeled on levels 0..N-1 only (no words at level N).
  TopWords no_top;
  explicit SweepScratch(const TensorShape& sh)
      : G(sh.size()), dP(sh.size()), v(sh.d), mv(sh.d), dv(sh.d),
        work(mul_exp_segment_adjoint_work(sh)), no_top(sh, {}) {}
};

// The exact reverse pass of S = exp(dx_0) (x) ... (x) exp(dx_{L-2}) for the paths
// first..first+valid-1 (one pack). On entry S holds their signatures (levels 0..N-1 are
// read) and s.G the cotangent dF/dS (all levels); grad_path rows of the pack's paths are
// overwritten with dF/dx. Segments are walked backwards: the prefix signature before
// segment i is recovered as S (x) exp(-dx_i) (the exact inverse of exp(dx_i)), then the
// adjoint of "prefix (x) exp(dx_i)" gives the prefix's cotangent and dF/d(dx_i). Only
// levels 0..N-1 of each prefix are read by that adjoint, so level N is never peeled.
template <int D, class T, int W>
void reverse_sweep(const TensorShape& sh, const T* path, std::int64_t length,
                   std::int64_t first, int valid, Pack<T, W>* S, SweepScratch<Pack<T, W>>& s,
                   SegmentScratch<Pack<T, W>>& w, T* grad_path) {
  using P = Pack<T, W>;
  const int d = D ? D : sh.d;
  for (int l = 0; l < valid; ++l) {
    T* gx = grad_path + (first + l) * length * d;
    std::fill(gx, gx + length * d, T(0));
  }
  P* G = s.G.data();
  P* dP = s.dP.data();
  for (std::int64_t i = length - 2; i >= 0; --i) {
    check_interrupt();
    for (int l = 0; l < W; ++l) {
      const T* x = l < valid ? path + (first + l) * length * d : nullptr;
      for (int c = 0; c < d; ++c) {
        const T inc = x ? x[(i + 1) * d + c] - x[i * d + c] : T(0);
        s.v[c].x[l] = inc;
        s.mv[c].x[l] = -inc;
      }
    }
    mul_segment<D>(sh, S, s.mv.data(), w, &s.no_top);  // prefix before segment i
    zero(dP, sh.size());
    zero(s.dv.data(), d);
    mul_exp_segment_adjoint<D>(sh, S, s.v.data(), G, dP, s.dv.data(), s.work.data());
    for (int l = 0; l < valid; ++l) {
      T* gx = grad_path + (first + l) * length * d;
      for (int c = 0; c < d; ++c) {
        gx[(i + 1) * d + c] += s.dv[c].x[l];
        gx[i * d + c] -= s.dv[c].x[l];
      }
    }
    std::swap(G, dP);
  }
}

}  // namespace detail

// Vector-Jacobian product of sig with respect to the (transformed) paths, given their
// signatures: sig and grad_sig are (batch, size - 1 + scalar_term) as sig's output (a
// scalar term, if present, is taken as 1 and gets no gradient); grad_path (batch,
// length, dim) is overwritten.
template <class T>
int sig_backprop(const T* path, const T* sig, const T* grad_sig, T* grad_path,
                 std::int64_t batch, std::int64_t length, int dim, int degree,
                 bool scalar_term, int n_threads) noexcept {
  return detail::path_call(batch, length, dim, degree, 0, [&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size(), skip = scalar_term ? 0 : 1, len = n - skip;
    return detail::dim_packs<W>(dim, batch, n_threads, [&](auto dc, std::int64_t p0,
                                                         std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n);
      detail::SweepScratch<P> s(sh);
      detail::SegmentScratch<P> w(sh);
      for (std::int64_t p = p0; p < p1; ++p) {
        detail::load_pack(S.data() + 1, sig + 1 - skip, len, n - 1, p * W, valid(p));
        S[0] = P(T(1));
        detail::load_pack(s.G.data() + 1, grad_sig + 1 - skip, len, n - 1, p * W,
                          valid(p));
        s.G[0] = P(T(0));
        detail::reverse_sweep<D>(sh, path, length, p * W, valid(p), S.data(), s, w,
                                 grad_path);
      }
      return static_cast<int>(kOk);
    });
  });
}

// Vector-Jacobian product of log_sig with respect to the (transformed) paths.
// grad_out: (batch, out_len) as in log_sig; grad_path: (batch, length, dim), overwritten.
// The signature is recomputed, the cotangent pulled back through the Lyndon solve and
// gather (methods 1, 2) and the tensor log, then the signature's reverse sweep.
template <class T>
int log_sig_backprop(const T* path, const T* grad_out, T* grad_path, std::int64_t batch,
                     std::int64_t length, int dim, int degree, int method, bool scalar_term,
                     const LyndonTables& tables, int n_threads) noexcept {
  return detail::path_call(batch, length, dim, degree, method, [&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const detail::LogSetup<P> setup(dim, degree, method, scalar_term, tables);
    const TensorShape& sh = setup.sh;
    const HornerChain<P>& chain = setup.chain;
    const std::int64_t n = sh.size(), out_len = setup.out_len, m = chain.steps();
    return detail::dim_packs<W>(dim, batch, n_threads, [&](auto dc, std::int64_t p0,
                                                         std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), Q((m + 1) * n), dZ(n), dQ2(n), g(tables.n);
      detail::SweepScratch<P> s(sh);
      detail::SegmentScratch<P> w(sh);
      for (std::int64_t p = p0; p < p1; ++p) {
        const std::int64_t first = p * W;
        detail::pack_signature<D>(sh, path, length, first, valid(p), S.data(), w);
        chain.template run<D>(sh, S.data(), Q.data(), true);
        // Cotangent on the tensor log (its scalar term gets none).
        detail::zero(dZ.data(), n);
        if (method == 0) {
          detail::load_pack(dZ.data() + 1, grad_out + (scalar_term ? 1 : 0), out_len,
                            n - 1, first, valid(p));
        } else {
          detail::load_pack(g.data(), grad_out, out_len, tables.n, first, valid(p));
          if (method == 2) tables.solve_transposed(g.data());
          tables.scatter_add(g.data(), dZ.data());
        }
        detail::zero(s.G.data(), n);
        chain.template adjoint<D>(sh, S.data(), Q.data(), dZ.data(), dQ2.data(),
                                  s.G.data());
        detail::reverse_sweep<D>(sh, path, length, first, valid(p), S.data(), s, w,
                                 grad_path);
      }
      return static_cast<int>(kOk);
    });
  });
}

namespace detail {

// Scratch of the join and its backprop for one chunk, in one allocation.
template <class P>
struct JoinScratch {
  std::vector<P> mem;
  P *L, *Q, *c, *g, *v, *gv, *buf, *vs, *work, *C, *dZ, *dQ2, *dC, *dA, *dL;
  // Q: q_tensors tensors; backprop also allocates the cotangents and work.
  JoinScratch(const TensorShape& sh, std::int64_t m, std::int64_t q_tensors, bool backprop) {
    const std::int64_t n = sh.size(), d = sh.d;
    const std::int64_t sizes[] = {n, q_tensors * n, m, m, d, d, 2 * sh.pw[sh.N], sh.N * d,
                                  backprop ? mul_exp_segment_adjoint_work(sh) : 0,
                                  backprop ? 6 * n : 0};
    std::int64_t total = 0;
    for (std::int64_t x : sizes) total += x;
    mem.resize(static_cast<std::size_t>(total));
    P* p = mem.data();
    P** const slots[] = {&L, &Q, &c, &g, &v, &gv, &buf, &vs, &work, &C};
    for (int i = 0; i < 10; ++i) {
      *slots[i] = p;
      p += sizes[i];
    }
    dZ = C + n;
    dQ2 = C + 2 * n;
    dC = C + 3 * n;
    dA = C + 4 * n;
    dL = C + 5 * n;
  }
};

// What the join of one pack needs besides its scratch (built once per call).
template <class P>
struct JoinSetup {
  const LyndonTables& tables;
  TensorShape sh;
  HornerChain<P> exp_chain, log_chain;
  TopWords top;
  std::int64_t top_first;  // first Lyndon word of the top level

  JoinSetup(int dim, int degree, const LyndonTables& t)
      : tables(t),
        sh(dim, degree),
        exp_chain(HornerChain<P>::exp_chain(degree)),
        log_chain(HornerChain<P>::log_chain(degree)),
        top(sh, t.top_level(sh.off[degree])),
        top_first(t.first_at(sh.off[degree])) {}
};

// The join of the items first..first+valid-1 (one pack). Level N is only ever read at
// Lyndon words: exp(L)_N feeds (exp(L) exp(v))_N entry by entry, which feeds log(...)_N
// entry by entry; the other level-N entries of the buffers are left stale. The loads,
// stores and table loops run in the simd_call copy; the tensor kernels it calls pick
// their own. bad |= the finiteness bits (kResultNonFinite) of the pack's inputs and
// results, tested while they are in cache.
template <int D, class T, int W>
void join_pack(const JoinSetup<Pack<T, W>>& j, const T* ls, const T* disp, T* out,
               std::int64_t first, int valid, JoinScratch<Pack<T, W>>& s, int& bad) {
  simd_call([](const JoinSetup<Pack<T, W>>& j, const T* ls, const T* disp, T* out,
               std::int64_t first, int valid, JoinScratch<Pack<T, W>>& s, int& bad)
                SKSIG_KERNEL_BODY {
    const TensorShape& sh = j.sh;
    const std::int64_t n = sh.size(), m = j.tables.n;
    const int dim = sh.d;
    zero(s.L, sh.off[sh.N]);
    load_pack(s.c, ls, m, m, first, valid);
    load_pack(s.v, disp, dim, dim, first, valid);
    if (!packs_finite(s.c, m)) bad |= 1;
    if (!packs_finite(s.v, dim)) bad |= 2;
    j.tables.expand_lower_and_top(s.c, s.L, j.top_first);
    auto* A = j.exp_chain.template run<D>(sh, s.L, s.Q, false, &j.top);
    mul_exp_segment<D>(sh, A, s.v, s.buf, s.buf + sh.pw[sh.N], s.vs, &j.top);
    auto* Z = j.log_chain.template run<D>(sh, A, s.Q + 2 * n, false, &j.top);
    j.tables.gather(Z, s.c);
    j.tables.solve(s.c);
    if (!packs_finite(s.c, m)) bad |= kResultNonFinite;
    store_pack(s.c, out, m, m, first, valid);
  }, j, ls, disp, out, first, valid, s, bad);
}

// Its vector-Jacobian product (Q holds the exp and then the log intermediates).
template <int D, class T, int W>
void join_backprop_pack(const JoinSetup<Pack<T, W>>& j, const T* d_out, const T* ls,
                        const T* disp, T* grad_ls, T* grad_disp, std::int64_t first,
                        int valid, JoinScratch<Pack<T, W>>& s, int& bad) {
  simd_call([](const JoinSetup<Pack<T, W>>& j, const T* d_out, const T* ls, const T* disp,
               T* grad_ls, T* grad_disp, std::int64_t first, int valid,
               JoinScratch<Pack<T, W>>& s, int& bad) SKSIG_KERNEL_BODY {
    const TensorShape& sh = j.sh;
    const TopWords& top = j.top;
    const std::int64_t n = sh.size(), m = j.tables.n;
    const int dim = sh.d;
    auto* const QA = s.Q;
    auto* const QL = s.Q + (j.exp_chain.steps() + 1) * n;
    zero(s.L, sh.off[sh.N]);
    load_pack(s.c, ls, m, m, first, valid);
    load_pack(s.v, disp, dim, dim, first, valid);
    load_pack(s.g, d_out, m, m, first, valid);
    if (!packs_finite(s.g, m)) bad |= 1;
    if (!packs_finite(s.c, m)) bad |= 2;
    if (!packs_finite(s.v, dim)) bad |= 4;
    j.tables.expand_lower_and_top(s.c, s.L, j.top_first);
    const auto* A = j.exp_chain.template run<D>(sh, s.L, QA, true, &top);
    copy_lower_and_top(sh, A, s.C, top);
    mul_exp_segment<D>(sh, s.C, s.v, s.buf, s.buf + sh.pw[sh.N], s.vs, &top);
    j.log_chain.template run<D>(sh, s.C, QL, true, &top);
    // Backward through solve, gather, log, the product by exp(v), exp and expand. Every
    // level-N cotangent below vanishes outside the Lyndon words.
    for (auto* x : {s.dZ, s.dC, s.dA, s.dL}) zero_lower_and_top(sh, x, top);
    zero(s.gv, dim);
    zero(s.c, m);  // now the gradient of ls
    j.tables.solve_transposed(s.g);
    j.tables.scatter_add(s.g, s.dZ);
    j.log_chain.template adjoint<D>(sh, s.C, QL, s.dZ, s.dQ2, s.dC, &top);
    mul_exp_segment_adjoint<D>(sh, A, s.v, s.dC, s.dA, s.gv, s.work, &top);
    j.exp_chain.template adjoint<D>(sh, s.L, QA, s.dA, s.dQ2, s.dL, &top);
    j.tables.expand_lower_and_top_adjoint(s.dL, s.c, j.top_first);
    if (!packs_finite(s.c, m) || !packs_finite(s.gv, dim)) bad |= kResultNonFinite;
    store_pack(s.c, grad_ls, m, m, first, valid);
    store_pack(s.gv, grad_disp, dim, dim, first, valid);
  }, j, d_out, ls, disp, grad_ls, grad_disp, first, valid, s, bad);
}

// Rows of a (batch, row_len) array that a pack reads or writes.
struct PackRows {
  const void* data;
  std::int64_t row_bytes;
};

// Asks the cache for the rows [first, first + count) of each array ahead of their use
// (the next pack's inputs and outputs, while this pack computes).
inline void prefetch_rows(std::initializer_list<PackRows> arrays, std::int64_t first,
                          std::int64_t count, bool for_write) {
#if defined(__GNUC__)
  for (const PackRows& a : arrays) {
    const char* p = static_cast<const char*>(a.data) + first * a.row_bytes;
    const char* const end = p + count * a.row_bytes;
    // Into L2 (locality 1): a pack's work tensors fill L1, which would evict them.
    for (; p < end; p += 64) {
      if (for_write)
        __builtin_prefetch(p, 1, 1);
      else
        __builtin_prefetch(p, 0, 1);
    }
  }
#else
  (void)arrays, (void)first, (void)count, (void)for_write;
#endif
}

// The common frame of log_sig_join and its backprop: the argument check, the setup,
// then per_pack(dc, setup, first, valid, scratch) on every pack (dc: the compile-time
// dimension), with exceptions as a status. Q holds four tensors (the forward) or the
// exp and log intermediates (the backprop). ins and outs: the arrays per_pack reads and
// writes, prefetched one pack ahead. *nonfinite: the OR of per_pack's finiteness bits
// (set when the call succeeds).
template <class T, class PerPack>
int join_call(std::int64_t batch, int dim, int degree, const LyndonTables& tables,
              int n_threads, bool backprop, std::initializer_list<PackRows> ins,
              std::initializer_list<PackRows> outs, int* nonfinite,
              PerPack&& per_pack) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  *nonfinite = 0;
  std::atomic<int> seen{0};
  const int status = guarded([&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const JoinSetup<P> setup(dim, degree, tables);
    const std::int64_t q_tensors =
        backprop ? setup.exp_chain.steps() + 1 + setup.log_chain.steps() + 1 : 4;
    ScratchPool<JoinScratch<P>> pool(n_threads);
    return dim_packs<W>(dim, batch, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      std::unique_ptr<JoinScratch<P>> s = pool.take([&] {
        return std::make_unique<JoinScratch<P>>(setup.sh, tables.n, q_tensors, backprop);
      });
      int bad = 0;
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        if (p + 1 < p1) {
          prefetch_rows(ins, (p + 1) * W, valid(p + 1), false);
          prefetch_rows(outs, (p + 1) * W, valid(p + 1), true);
        }
        per_pack(dc, setup, p * W, valid(p), *s, bad);
      }
      pool.give(std::move(s));
      seen.fetch_or(bad, std::memory_order_relaxed);
      return static_cast<int>(kOk);
    });
  });
  if (status == kOk) *nonfinite = seen.load();
  return status;
}

}  // namespace detail

// log_sig_join: ls (batch, tables.n) Lyndon-bracket coordinates, disp (batch, dim),
// out (batch, tables.n) = coordinates of log(exp(sum_w c_w P_w) (x) exp(v)).
// *nonfinite: which arrays hold a NaN or inf, tested as they are read and written (one
// pass over memory instead of a separate one per array): 1 ls, 2 disp,
// detail::kResultNonFinite out (meaningless when an input is flagged).
template <class T>
int log_sig_join(const T* ls, const T* disp, T* out, std::int64_t batch, int dim, int degree,
                 const LyndonTables& tables, int n_threads, int* nonfinite) noexcept {
  const std::int64_t row = tables.n * static_cast<std::int64_t>(sizeof(T));
  const std::int64_t vec = dim * static_cast<std::int64_t>(sizeof(T));
  return detail::join_call<T>(batch, dim, degree, tables, n_threads, false,
                              {{ls, row}, {disp, vec}}, {{out, row}}, nonfinite,
                              [&](auto dc, const auto& setup, std::int64_t first, int valid,
                                  auto& s, int& bad) {
    detail::join_pack<decltype(dc)::value>(setup, ls, disp, out, first, valid, s, bad);
  });
}

// Vector-Jacobian product of log_sig_join with respect to both inputs. *nonfinite as in
// log_sig_join: 1 d_out, 2 ls, 4 disp, detail::kResultNonFinite grad_ls or grad_disp.
template <class T>
int log_sig_join_backprop(const T* d_out, const T* ls, const T* disp, T* grad_ls,
                          T* grad_disp, std::int64_t batch, int dim, int degree,
                          const LyndonTables& tables, int n_threads, int* nonfinite) noexcept {
  const std::int64_t row = tables.n * static_cast<std::int64_t>(sizeof(T));
  const std::int64_t vec = dim * static_cast<std::int64_t>(sizeof(T));
  return detail::join_call<T>(batch, dim, degree, tables, n_threads, true,
                              {{d_out, row}, {ls, row}, {disp, vec}},
                              {{grad_ls, row}, {grad_disp, vec}}, nonfinite,
                              [&](auto dc, const auto& setup, std::int64_t first, int valid,
                                  auto& s, int& bad) {
    detail::join_backprop_pack<decltype(dc)::value>(setup, d_out, ls, disp, grad_ls,
                                                    grad_disp, first, valid, s, bad);
  });
}

}  // namespace sksig

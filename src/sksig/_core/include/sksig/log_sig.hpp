// Signatures, log-signatures (SPEC.md sections 7-8) and the log-signature join with a
// straight segment (section 9), with their backward passes.
//
// Work is split per path (or per join item) in contiguous chunks, each chunk owning its
// scratch memory; every item is computed the same way whatever the chunking, so results
// are bitwise identical for every thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "lyndon.hpp"
#include "pack.hpp"
#include "parallel.hpp"
#include "status.hpp"
#include "tensor_algebra.hpp"

namespace sksig {

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
  return parallel_for(real_chunks, n_threads, [&](std::int64_t c) {
    const std::int64_t first = c * per;
    return body(first, std::min(n, first + per));
  });
}

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

// dst[e].x[l] = src[(first + l) * stride + e] for e < count (0 in unused lanes).
template <class T, int W>
void load_pack(Pack<T, W>* dst, const T* src, std::int64_t stride, std::int64_t count,
               std::int64_t first, int valid) {
  for (std::int64_t e = 0; e < count; ++e)
    for (int l = 0; l < W; ++l) dst[e].x[l] = l < valid ? src[(first + l) * stride + e] : T(0);
}

template <class T, int W>
void store_pack(const Pack<T, W>* src, T* dst, std::int64_t stride, std::int64_t count,
                std::int64_t first, int valid) {
  for (int l = 0; l < valid; ++l)
    for (std::int64_t e = 0; e < count; ++e) dst[(first + l) * stride + e] = src[e].x[l];
}

// Scratch of one chunk: one allocation cut into consecutive buffers of the given sizes
// (zero-initialized), handed out in order by next().
template <class P>
class Carver {
 public:
  Carver(std::initializer_list<std::int64_t> sizes) {
    std::int64_t total = 0;
    for (std::int64_t s : sizes) {
      starts_.push_back(total);
      total += s;
    }
    mem_.resize(static_cast<std::size_t>(total));
  }
  P* next() { return mem_.data() + starts_[i_++]; }

 private:
  std::vector<P> mem_;
  std::vector<std::int64_t> starts_;
  std::size_t i_ = 0;
};

// x[0..count) = 0 (Pack and float types: zero is all bits 0).
template <class P>
void zero(P* x, std::int64_t count) {
  static_assert(std::is_trivially_copyable<P>::value, "memset needs a trivial type");
  std::memset(static_cast<void*>(x), 0, static_cast<std::size_t>(count) * sizeof(P));
}

// Zeroes levels 0..N-1 and level N at the words of top (the rest is left as it is).
template <class P>
void zero_lower_and_top(const TensorShape& sh, P* X, const TopWords& top) {
  zero(X, sh.off[sh.N]);
  P* XN = X + sh.off[sh.N];
  for (std::int64_t q = 0; q < top.size(); ++q) XN[top.word[q]] = P(0);
}

// dst = src on levels 0..N-1 and level N at the words of top.
template <class P>
void copy_lower_and_top(const TensorShape& sh, const P* src, P* dst, const TopWords& top) {
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
    for (int l = 0; l < W; ++l) {
      const T* x = l < valid ? path + (first + l) * length * d : nullptr;
      for (int c = 0; c < d; ++c) w.v[c].x[l] = x ? x[(i + 1) * d + c] - x[i * d + c] : T(0);
    }
    mul_segment<D>(sh, S, w.v.data(), w, top);
  }
}

}  // namespace detail

// out: (batch, size - 1 + scalar_term).
template <class T>
int sig(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim, int degree,
        bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t skip = scalar_term ? 0 : 1;
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_packs<W>(batch, n_threads, [&](std::int64_t p0,
                                                             std::int64_t p1, auto valid) {
        std::vector<P> S(n);
        detail::SegmentScratch<P> w(sh);
        for (std::int64_t p = p0; p < p1; ++p) {
          detail::pack_signature<D>(sh, path, length, p * W, valid(p), S.data(), w);
          detail::store_pack(S.data() + skip, out, n - skip, n - skip, p * W, valid(p));
        }
        return static_cast<int>(kOk);
      });
    });
  });
}

// Output length of log_sig per method: 0 -> size - 1 + scalar_term, 1 and 2 -> tables.n.
template <class T>
int log_sig(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim,
            int degree, int method, bool scalar_term, const LyndonTables& tables,
            int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t out_len = method == 0 ? n - (scalar_term ? 0 : 1) : tables.n;
    const auto chain = HornerChain<P>::log_chain(degree);
    // Methods 1 and 2 read level N only at Lyndon words.
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    const TopWords* top_p = method == 0 ? nullptr : &top;
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_packs<W>(batch, n_threads, [&](std::int64_t p0,
                                                             std::int64_t p1, auto valid) {
        std::vector<P> S(n), Q(2 * n), o(tables.n);
        detail::SegmentScratch<P> w(sh);
        for (std::int64_t p = p0; p < p1; ++p) {
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
        return static_cast<int>(kOk);
      });
    });
  });
}

// Vector-Jacobian product of log_sig with respect to the (transformed) paths.
// grad_out: (batch, out_len) as in log_sig; grad_path: (batch, length, dim), overwritten.
template <class T>
int log_sig_backprop(const T* path, const T* grad_out, T* grad_path, std::int64_t batch,
                     std::int64_t length, int dim, int degree, int method, bool scalar_term,
                     const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t out_len = method == 0 ? n - (scalar_term ? 0 : 1) : tables.n;
    const auto chain = HornerChain<T>::log_chain(degree);
    const std::int64_t m = chain.steps();
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t first,
                                                           std::int64_t last) {
        std::vector<T> S(n), Q((m + 1) * n), dZ(n), dQ2(n), G(n), dP(n), v(dim), mv(dim),
            dv(dim), g(tables.n), work(mul_exp_segment_adjoint_work(sh));
        detail::SegmentScratch<T> w(sh);
        for (std::int64_t b = first; b < last; ++b) {
          const T* x = path + b * length * dim;
          T* gx = grad_path + b * length * dim;
          std::fill(gx, gx + length * dim, T(0));
          if (length < 2) continue;
          detail::path_signature<D>(sh, x, length, S.data(), w);
          chain.template run<D>(sh, S.data(), Q.data(), true);
          // Cotangent on the tensor log.
          std::fill(dZ.begin(), dZ.end(), T(0));
          const T* go = grad_out + b * out_len;
          if (method == 0) {
            std::copy(go + (scalar_term ? 1 : 0), go + out_len, dZ.begin() + 1);
          } else {
            std::copy(go, go + tables.n, g.begin());
            if (method == 2) tables.solve_transposed(g.data());
            tables.scatter_add(g.data(), dZ.data());
          }
          std::fill(G.begin(), G.end(), T(0));
          chain.template adjoint<D>(sh, S.data(), Q.data(), dZ.data(), dQ2.data(),
                                    G.data());
          // Reverse sweep: S = P_i (x) exp(v_i); peel one segment at a time.
          for (std::int64_t i = length - 2; i >= 0; --i) {
            for (int c = 0; c < dim; ++c) {
              v[c] = x[(i + 1) * dim + c] - x[i * dim + c];
              mv[c] = -v[c];
            }
            detail::mul_segment<D>(sh, S.data(), mv.data(), w);  // prefix before i
            std::fill(dP.begin(), dP.end(), T(0));
            std::fill(dv.begin(), dv.end(), T(0));
            mul_exp_segment_adjoint<D>(sh, S.data(), v.data(), G.data(), dP.data(),
                                       dv.data(), work.data());
            for (int c = 0; c < dim; ++c) {
              gx[(i + 1) * dim + c] += dv[c];
              gx[i * dim + c] -= dv[c];
            }
            std::swap(G, dP);
          }
        }
        return kOk;
      });
    });
  });
}

// log_sig_join: ls (batch, tables.n) Lyndon-bracket coordinates, disp (batch, dim),
// out (batch, tables.n) = coordinates of log(exp(sum_w c_w P_w) (x) exp(v)).
template <class T>
int log_sig_join(const T* ls, const T* disp, T* out, std::int64_t batch, int dim, int degree,
                 const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size(), m = tables.n;
    const auto exp_chain = HornerChain<P>::exp_chain(degree);
    const auto log_chain = HornerChain<P>::log_chain(degree);
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_packs<W>(batch, n_threads, [&](std::int64_t p0,
                                                             std::int64_t p1, auto valid_of) {
        // All scratch in one allocation.
        detail::Carver<P> mem({n, 4 * n, m, dim, 2 * sh.pw[sh.N], sh.N * dim});
        P* const L = mem.next();
        P* const Q = mem.next();
        P* const c = mem.next();
        P* const v = mem.next();
        P* const buf = mem.next();
        P* const vs = mem.next();
        for (std::int64_t p = p0; p < p1; ++p) {
          const std::int64_t first = p * W;
          const int valid = valid_of(p);
          detail::zero(L, n);
          detail::load_pack(c, ls, m, m, first, valid);
          detail::load_pack(v, disp, dim, dim, first, valid);
          tables.expand_add(c, L);
          // Level N is only ever read at Lyndon words: exp(L)_N feeds (exp(L) exp(v))_N
          // entry by entry, which feeds log(...)_N entry by entry.
          P* A = exp_chain.template run<D>(sh, L, Q, false, &top);
          mul_exp_segment<D>(sh, A, v, buf, buf + sh.pw[sh.N], vs, &top);
          P* Z = log_chain.template run<D>(sh, A, Q + 2 * n, false, &top);
          tables.gather(Z, c);
          tables.solve(c);
          detail::store_pack(c, out, m, m, first, valid);
        }
        return static_cast<int>(kOk);
      });
    });
  });
}

// Vector-Jacobian product of log_sig_join with respect to both inputs.
template <class T>
int log_sig_join_backprop(const T* d_out, const T* ls, const T* disp, T* grad_ls,
                          T* grad_disp, std::int64_t batch, int dim, int degree,
                          const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size(), m = tables.n;
    const auto exp_chain = HornerChain<P>::exp_chain(degree);
    const auto log_chain = HornerChain<P>::log_chain(degree);
    const std::int64_t me = exp_chain.steps(), ml = log_chain.steps();
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_packs<W>(batch, n_threads, [&](std::int64_t p0,
                                                             std::int64_t p1, auto valid_of) {
        // All scratch in one allocation.
        detail::Carver<P> mem({n, (me + 1) * n, (ml + 1) * n, n, n, n, n, n, n, m, m, dim,
                               dim, mul_exp_segment_adjoint_work(sh), 2 * sh.pw[sh.N],
                               sh.N * dim});
        P* const L = mem.next();
        P* const QA = mem.next();
        P* const QL = mem.next();
        P* const C = mem.next();
        P* const dZ = mem.next();
        P* const dQ2 = mem.next();
        P* const dC = mem.next();
        P* const dA = mem.next();
        P* const dL = mem.next();
        P* const c = mem.next();  // gc, the gradient, reuses it
        P* const g = mem.next();
        P* const v = mem.next();
        P* const gv = mem.next();
        P* const work = mem.next();
        P* const buf = mem.next();
        P* const vs = mem.next();
        for (std::int64_t p = p0; p < p1; ++p) {
          const std::int64_t first = p * W;
          const int valid = valid_of(p);
          detail::zero(L, n);
          detail::load_pack(c, ls, m, m, first, valid);
          detail::load_pack(v, disp, dim, dim, first, valid);
          detail::load_pack(g, d_out, m, m, first, valid);
          tables.expand_add(c, L);
          // Below, every level-N entry is read (and written) at the Lyndon words only,
          // so the other level-N entries of the buffers are neither zeroed nor copied.
          const P* A = exp_chain.template run<D>(sh, L, QA, true, &top);
          detail::copy_lower_and_top(sh, A, C, top);
          mul_exp_segment<D>(sh, C, v, buf, buf + sh.pw[sh.N], vs, &top);
          log_chain.template run<D>(sh, C, QL, true, &top);
          // Backward through solve, gather, log, the product by exp(v), exp and expand.
          // Every level-N cotangent below vanishes outside the Lyndon words.
          for (P* buf_ : {dZ, dC, dA, dL}) detail::zero_lower_and_top(sh, buf_, top);
          detail::zero(gv, dim);
          detail::zero(c, m);
          tables.solve_transposed(g);
          tables.scatter_add(g, dZ);
          log_chain.template adjoint<D>(sh, C, QL, dZ, dQ2, dC, &top);
          mul_exp_segment_adjoint<D>(sh, A, v, dC, dA, gv, work, &top);
          exp_chain.template adjoint<D>(sh, L, QA, dA, dQ2, dL, &top);
          tables.expand_adjoint(dL, c);
          detail::store_pack(c, grad_ls, m, m, first, valid);
          detail::store_pack(gv, grad_disp, dim, dim, first, valid);
        }
        return static_cast<int>(kOk);
      });
    });
  });
}

}  // namespace sksig

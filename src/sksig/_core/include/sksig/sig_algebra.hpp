// The signature algebra on stored (log-)signatures, with exact adjoints: Chen products
// of two signatures (sig_combine) or of a signature and a straight segment (sig_join,
// appended or prepended), the signature of one segment (linear_sig), the tensor log and
// exp between signatures and log-signatures (sig_to_log_sig, logsig_to_sig), the BCH
// product of two log-signatures (log_sig_combine), and signatures whose segment
// factors carry a fixed correction of level >= 2 (sig_corrected).
//
// Every formula is one of tensor_algebra.hpp (products, Horner chains for exp and log,
// the segment product) or lyndon.hpp (gather, triangular solve, bracket expansion);
// this file only wires them to batches. Items are processed in packs of W lanes with
// the pack boundaries fixed by the batch, so results do not depend on n_threads.
//
// Signature-shaped arrays are (batch, size - 1 + scalar_term): a scalar term in an
// input is taken as 1 (it is a constant of the algebra) and its gradient is 0.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "log_sig.hpp"
#include "lyndon.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "status.hpp"
#include "tensor_algebra.hpp"

namespace sksig {
namespace algebra_detail {

using detail::load_pack;
using detail::store_pack;
using detail::zero;

// S (full layout, n entries) from rows of n - 1 + has_term entries; S_0 = 1.
template <class T, int W>
void load_sig(Pack<T, W>* S, const T* src, const TensorShape& sh, bool has_term,
              std::int64_t first, int valid) {
  const std::int64_t n = sh.size(), len = n - 1 + (has_term ? 1 : 0);
  load_pack(S + 1, src + (has_term ? 1 : 0), len, n - 1, first, valid);
  S[0] = Pack<T, W>(T(1));
}

// Rows of n - 1 + has_term entries from S (the scalar term written as it is in S).
template <class T, int W>
void store_sig(const Pack<T, W>* S, T* dst, const TensorShape& sh, bool has_term,
               std::int64_t first, int valid) {
  const std::int64_t n = sh.size(), len = n - 1 + (has_term ? 1 : 0);
  store_pack(S + (has_term ? 0 : 1), dst, len, len, first, valid);
}

// rev[i]: flat index of the word of flat index i read backwards. Reversing words is an
// anti-automorphism of the tensor algebra (rev(a b) = rev(b) rev(a)) that fixes
// exp(v), so exp(v) (x) S = rev(rev(S) (x) exp(v)).
inline std::vector<std::int64_t> word_reversal(const TensorShape& sh) {
  std::vector<std::int64_t> rev(sh.size());
  for (int k = 0; k <= sh.N; ++k)
    for (std::int64_t u = 0; u < sh.pw[k]; ++u) {
      std::int64_t r = 0, x = u;
      for (int i = 0; i < k; ++i) {
        r = r * sh.d + x % sh.d;
        x /= sh.d;
      }
      rev[sh.off[k] + u] = sh.off[k] + r;
    }
  return rev;
}

template <class P>
void permute(const std::vector<std::int64_t>& perm, const P* src, P* dst) {
  for (std::size_t i = 0; i < perm.size(); ++i) dst[perm[i]] = src[i];
}

template <class T>
using PackOf = Pack<T, pack_width<T>()>;

// Scratch tensors: one vector of sizes[k] packs each.
template <class P, class... Sizes>
std::array<std::vector<P>, sizeof...(Sizes)> tensors(Sizes... sizes) {
  return {std::vector<P>(static_cast<std::size_t>(sizes))...};
}

// The loop of every entry point below: the packs of W lanes of the batch split among
// the threads, the dimension dispatched at compile time (D constant), each thread's
// scratch = make() made once, then per pack item(D constant, scratch, first lane,
// valid lanes) with Ctrl-C polled before each pack.
template <class T, class Make, class Item>
int for_each_pack(std::int64_t batch, int dim, int n_threads, Make&& make, Item&& item) {
  constexpr int W = pack_width<T>();
  return dispatch_dim(dim, [&](auto dc) {
    return detail::parallel_packs<W>(
        batch, n_threads, [&](std::int64_t p0, std::int64_t p1, auto valid) {
          auto scratch = make();
          for (std::int64_t p = p0; p < p1; ++p) {
            check_interrupt();
            item(dc, scratch, p * W, static_cast<int>(valid(p)));
          }
          return static_cast<int>(kOk);
        });
  });
}

// The frame of the entry points below: the argument checks, then (guarded) body(shape).
template <class Body>
int on_shape(std::int64_t batch, int dim, int degree, Body&& body) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] { return body(TensorShape(dim, degree)); });
}

// A signature (sig, rows in the scalar-term format term) or, with sig null, 1.
template <class T, int W>
void load_sig_or_one(Pack<T, W>* S, const T* sig, const TensorShape& sh, bool term,
                     std::int64_t first, int valid) {
  if (sig) {
    load_sig(S, sig, sh, term, first, valid);
  } else {
    zero(S, sh.size());
    S[0] = Pack<T, W>(T(1));
  }
}

}  // namespace algebra_detail

namespace algebra_detail {

// Chen product of two rows holding levels 1..N of elements with scalar term 1 (no
// scalar entry): level k of the product is A_k + B_k + sum_{0<i<k} A_i (x) B_{k-i}.
// Read and written in place in the rows (no copy into a full tensor, no transposition
// into packs): the inner loops run over contiguous words of B_{k-i}, the fixed-length
// rows of level 1 unrolled when D is known.
template <int D, class T>
void combine_rows(const TensorShape& s, const T* a, const T* b, T* out) {
  simd_call([](const TensorShape& s, const T* __restrict__ a, const T* __restrict__ b,
               T* __restrict__ out) SKSIG_KERNEL_BODY {
    const int d = D ? D : s.d;
    for (int k = 1; k <= s.N; ++k) {
      const std::int64_t nk = s.pw[k];
      T* o = out + s.off[k] - 1;
      const T* ak = a + s.off[k] - 1;
      const T* bk = b + s.off[k] - 1;
      for (std::int64_t u = 0; u < nk; ++u) o[u] = ak[u] + bk[u];
      for (int i = 1; i < k; ++i) {
        const int j = k - i;
        const T* ai = a + s.off[i] - 1;
        const T* bj = b + s.off[j] - 1;
        if (j == 1) {
          for (std::int64_t u = 0; u < s.pw[i]; ++u) {
            const T au = ai[u];
            T* row = o + u * d;
            for (int w = 0; w < d; ++w) row[w] += product_term(au, bj[w]);
          }
        } else {
          const std::int64_t nj = s.pw[j];
          for (std::int64_t u = 0; u < s.pw[i]; ++u) {
            const T au = ai[u];
            T* row = o + u * nj;
            for (std::int64_t w = 0; w < nj; ++w) row[w] += product_term(au, bj[w]);
          }
        }
      }
    }
  }, s, a, b, out);
}

}  // namespace algebra_detail

// out = sig1 (x) sig2 (all three in the same scalar-term format), item by item on the
// rows themselves (see combine_rows).
template <class T>
int sig_combine(const T* a, const T* b, T* out, std::int64_t batch, int dim, int degree,
                bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    const TensorShape sh(dim, degree);
    const std::int64_t skip = scalar_term ? 1 : 0, row = sh.size() - 1 + skip;
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t i0,
                                                           std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) {
          if ((i & 255) == 0) check_interrupt();
          T* o = out + i * row;
          if (scalar_term) o[0] = T(1);
          algebra_detail::combine_rows<D>(sh, a + i * row + skip, b + i * row + skip,
                                          o + skip);
        }
        return static_cast<int>(kOk);
      });
    });
  });
}

// Gradients of <d_out, sig1 (x) sig2> with respect to sig1 and sig2.
template <class T>
int sig_combine_backprop(const T* d_out, const T* a, const T* b, T* grad_a, T* grad_b,
                         std::int64_t batch, int dim, int degree, bool scalar_term,
                         int n_threads) noexcept {
  return algebra_detail::on_shape(batch, dim, degree, [&](const TensorShape& sh) {
    using namespace algebra_detail;
    using P = PackOf<T>;
    const std::int64_t n = sh.size();
    auto make = [&] { return tensors<P>(n, n, n, n, n); };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      auto& [A, B, G, dA, dB] = s;
      load_sig(A.data(), a, sh, scalar_term, first, valid);
      load_sig(B.data(), b, sh, scalar_term, first, valid);
      load_sig(G.data(), d_out, sh, scalar_term, first, valid);
      G[0] = P(T(0));
      zero(dA.data(), n);
      zero(dB.data(), n);
      tensor_mul_adjoint<D>(sh, A.data(), B.data(), G.data(), dA.data(), dB.data(), degree,
                            P(T(1)));
      dA[0] = P(T(0));
      dB[0] = P(T(0));
      store_sig(dA.data(), grad_a, sh, scalar_term, first, valid);
      store_sig(dB.data(), grad_b, sh, scalar_term, first, valid);
    });
  });
}

// out = sig (x) exp(v), or exp(v) (x) sig with prepend. With sig = null the input is 1
// (the signature of the segment alone, linear_sig).
template <class T>
int sig_join(const T* sig, const T* disp, T* out, std::int64_t batch, int dim, int degree,
             bool prepend, bool scalar_term, int n_threads) noexcept {
  return algebra_detail::on_shape(batch, dim, degree, [&](const TensorShape& sh) {
    using namespace algebra_detail;
    using P = PackOf<T>;
    const auto rev = prepend ? word_reversal(sh) : std::vector<std::int64_t>();
    auto make = [&] {
      return std::make_pair(tensors<P>(sh.size(), sh.size()), detail::SegmentScratch<P>(sh));
    };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      auto& [S, R] = s.first;
      detail::SegmentScratch<P>& w = s.second;
      load_sig_or_one(S.data(), sig, sh, scalar_term, first, valid);
      load_pack(w.v.data(), disp, dim, dim, first, valid);
      if (prepend) {
        permute(rev, S.data(), R.data());
        detail::mul_segment<D>(sh, R.data(), w.v.data(), w);
        permute(rev, R.data(), S.data());
      } else {
        detail::mul_segment<D>(sh, S.data(), w.v.data(), w);
      }
      store_sig(S.data(), out, sh, scalar_term, first, valid);
    });
  });
}

// Gradients of <d_out, sig_join(sig, v)> with respect to sig (skipped when sig is null,
// linear_sig) and v.
template <class T>
int sig_join_backprop(const T* d_out, const T* sig, const T* disp, T* grad_sig,
                      T* grad_disp, std::int64_t batch, int dim, int degree, bool prepend,
                      bool scalar_term, int n_threads) noexcept {
  return algebra_detail::on_shape(batch, dim, degree, [&](const TensorShape& sh) {
    using namespace algebra_detail;
    using P = PackOf<T>;
    const std::int64_t n = sh.size();
    const auto rev = prepend ? word_reversal(sh) : std::vector<std::int64_t>();
    auto make = [&] {
      return tensors<P>(n, n, n, n, dim, dim, mul_exp_segment_adjoint_work(sh));
    };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      auto& [A, G, dA, tmp, v, dv, work] = s;
      load_sig_or_one(A.data(), sig, sh, scalar_term, first, valid);
      load_sig(G.data(), d_out, sh, scalar_term, first, valid);
      G[0] = P(T(0));
      load_pack(v.data(), disp, dim, dim, first, valid);
      if (prepend) {  // the adjoint of the reversal is the reversal
        permute(rev, A.data(), tmp.data());
        std::swap(A, tmp);
        permute(rev, G.data(), tmp.data());
        std::swap(G, tmp);
      }
      zero(dA.data(), n);
      zero(dv.data(), dim);
      mul_exp_segment_adjoint<D>(sh, A.data(), v.data(), G.data(), dA.data(), dv.data(),
                                 work.data());
      if (prepend) {
        permute(rev, dA.data(), tmp.data());
        std::swap(dA, tmp);
      }
      dA[0] = P(T(0));
      if (grad_sig) store_sig(dA.data(), grad_sig, sh, scalar_term, first, valid);
      store_pack(dv.data(), grad_disp, dim, dim, first, valid);
    });
  });
}

namespace algebra_detail {

// The Lie element X (full layout, X_0 = 0) of the log-signature rows ls: method 0 the
// tensor itself (rows in the scalar-term format in_term), method 1 Lyndon-word
// coefficients (turned into bracket coordinates by the triangular solve), method 2
// bracket coordinates. c: tables.n scratch entries.
template <class T, int W>
void load_lie(Pack<T, W>* X, Pack<T, W>* c, const T* ls, const TensorShape& sh, int method,
              bool in_term, const LyndonTables& tables, std::int64_t first, int valid) {
  if (method == 0) {
    load_sig(X, ls, sh, in_term, first, valid);
    X[0] = Pack<T, W>(T(0));
    return;
  }
  zero(X, sh.size());
  load_pack(c, ls, tables.n, tables.n, first, valid);
  if (method == 1) tables.solve(c);
  tables.expand_add(c, X);
}

// The two sides of the tensor exp and log: a signature (rows of size - 1 + term entries,
// scalar term 1) or a Lie element as method 0 (the tensor itself, rows as a
// signature's), 1 (Lyndon-word coefficients) or 2 (Lyndon-bracket coordinates).
struct Side {
  bool lie;
  int method;
  bool term;
  bool tensor() const { return !lie || method == 0; }
};

inline bool valid_args(std::int64_t batch, int dim, int degree, Side from, Side to) {
  const int method = from.lie ? from.method : to.method;
  return batch >= 0 && dim >= 1 && degree >= 1 && method >= 0 && method <= 2;
}

// X (full layout) from the rows src of side `side`; c: tables.n scratch entries.
template <class T, int W>
void load_side(Pack<T, W>* X, Pack<T, W>* c, const T* src, const TensorShape& sh, Side side,
               const LyndonTables& tables, std::int64_t first, int valid) {
  if (side.lie) {
    load_lie(X, c, src, sh, side.method, side.term, tables, first, valid);
  } else {
    load_sig(X, src, sh, side.term, first, valid);
  }
}

// The rows dst of side `side` from Z (a Lie element's scalar is set to 0 first).
template <class T, int W>
void store_side(Pack<T, W>* Z, Pack<T, W>* c, T* dst, const TensorShape& sh, Side side,
                const LyndonTables& tables, std::int64_t first, int valid) {
  if (side.tensor()) {
    if (side.lie) Z[0] = Pack<T, W>(T(0));
    store_sig(Z, dst, sh, side.term, first, valid);
    return;
  }
  tables.gather(Z, c);
  if (side.method == 2) tables.solve(c);
  store_pack(c, dst, tables.n, tables.n, first, valid);
}

// Adjoint of store_side: the cotangent dZ (full layout, scalar 0) of the rows grad.
template <class T, int W>
void load_side_adjoint(Pack<T, W>* dZ, Pack<T, W>* g, const T* grad, const TensorShape& sh,
                       Side side, const LyndonTables& tables, std::int64_t first,
                       int valid) {
  if (side.tensor()) {
    load_sig(dZ, grad, sh, side.term, first, valid);
    dZ[0] = Pack<T, W>(T(0));
    return;
  }
  zero(dZ, sh.size());
  load_pack(g, grad, tables.n, tables.n, first, valid);
  if (side.method == 2) tables.solve_transposed(g);
  tables.scatter_add(g, dZ);
}

// Adjoint of load_side: the rows grad from the cotangent dX (its scalar set to 0).
template <class T, int W>
void store_side_adjoint(Pack<T, W>* dX, Pack<T, W>* c, T* grad, const TensorShape& sh,
                        Side side, const LyndonTables& tables, std::int64_t first,
                        int valid) {
  dX[0] = Pack<T, W>(T(0));
  if (side.tensor()) {
    store_sig(dX, grad, sh, side.term, first, valid);
    return;
  }
  zero(c, tables.n);
  tables.expand_adjoint(dX, c);
  if (side.method == 1) tables.solve_transposed(c);
  store_pack(c, grad, tables.n, tables.n, first, valid);
}

// The shape and the Horner chain of a map to side `to`: log to a Lie element, exp to a
// signature.
template <class P>
struct ChainOf {
  TensorShape sh;
  std::int64_t n;
  HornerChain<P> chain;
  ChainOf(int dim, int degree, Side to)
      : sh(dim, degree),
        n(sh.size()),
        chain(to.lie ? HornerChain<P>::log_chain(degree)
                     : HornerChain<P>::exp_chain(degree)) {}
};

// out = log(in) (from a signature to a Lie element) or exp(in) (the other way), by the
// Horner chains; level N of a log is computed at the Lyndon words only when only those
// are stored.
template <class T>
int exp_or_log(const T* in, T* out, std::int64_t batch, int dim, int degree, Side from,
               Side to, const LyndonTables& tables, int n_threads) noexcept {
  if (!valid_args(batch, dim, degree, from, to)) return kInvalidArgument;
  return guarded([&] {
    using P = PackOf<T>;
    const ChainOf<P> cx(dim, degree, to);
    const TopWords top(cx.sh, to.tensor() ? std::vector<std::int64_t>()
                                          : tables.top_level(cx.sh.off[degree]));
    const TopWords* top_p = to.tensor() ? nullptr : &top;
    auto make = [&] { return tensors<P>(cx.n, 2 * cx.n, tables.n); };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      auto& [X, Q, c] = s;
      load_side(X.data(), c.data(), in, cx.sh, from, tables, first, valid);
      P* Z = cx.chain.template run<D>(cx.sh, X.data(), Q.data(), false, top_p);
      store_side(Z, c.data(), out, cx.sh, to, tables, first, valid);
    });
  });
}

// Gradient of <grad_out, exp_or_log(in)> with respect to in.
template <class T>
int exp_or_log_backprop(const T* in, const T* grad_out, T* grad_in, std::int64_t batch,
                        int dim, int degree, Side from, Side to, const LyndonTables& tables,
                        int n_threads) noexcept {
  if (!valid_args(batch, dim, degree, from, to)) return kInvalidArgument;
  return guarded([&] {
    using P = PackOf<T>;
    const ChainOf<P> cx(dim, degree, to);
    const std::int64_t n = cx.n, q = (cx.chain.steps() + 1) * n;
    auto make = [&] { return tensors<P>(n, q, n, n, n, tables.n); };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      auto& [X, Q, dZ, dQ2, dX, c] = s;
      load_side(X.data(), c.data(), in, cx.sh, from, tables, first, valid);
      cx.chain.template run<D>(cx.sh, X.data(), Q.data(), true);
      load_side_adjoint(dZ.data(), c.data(), grad_out, cx.sh, to, tables, first, valid);
      zero(dX.data(), n);
      cx.chain.template adjoint<D>(cx.sh, X.data(), Q.data(), dZ.data(), dQ2.data(),
                                   dX.data());
      store_side_adjoint(dX.data(), c.data(), grad_in, cx.sh, from, tables, first, valid);
    });
  });
}

}  // namespace algebra_detail

// Log-signatures from signatures: the tensor log of sig, as method 0 (the tensor, in
// the scalar-term format out_term), 1 (Lyndon-word coefficients) or 2 (Lyndon-bracket
// coordinates).
template <class T>
int sig_to_log_sig(const T* sig, T* out, std::int64_t batch, int dim, int degree,
                   int method, bool in_term, bool out_term, const LyndonTables& tables,
                   int n_threads) noexcept {
  return algebra_detail::exp_or_log(sig, out, batch, dim, degree, {false, 0, in_term},
                                    {true, method, out_term}, tables, n_threads);
}

template <class T>
int sig_to_log_sig_backprop(const T* sig, const T* grad_out, T* grad_sig, std::int64_t batch,
                            int dim, int degree, int method, bool in_term, bool out_term,
                            const LyndonTables& tables, int n_threads) noexcept {
  return algebra_detail::exp_or_log_backprop(sig, grad_out, grad_sig, batch, dim, degree,
                                             {false, 0, in_term}, {true, method, out_term},
                                             tables, n_threads);
}

// Signatures from log-signatures: exp of the Lie element.
template <class T>
int logsig_to_sig(const T* ls, T* out, std::int64_t batch, int dim, int degree, int method,
                  bool in_term, bool out_term, const LyndonTables& tables,
                  int n_threads) noexcept {
  return algebra_detail::exp_or_log(ls, out, batch, dim, degree, {true, method, in_term},
                                    {false, 0, out_term}, tables, n_threads);
}

template <class T>
int logsig_to_sig_backprop(const T* ls, const T* grad_sig, T* grad_ls, std::int64_t batch,
                           int dim, int degree, int method, bool in_term, bool out_term,
                           const LyndonTables& tables, int n_threads) noexcept {
  return algebra_detail::exp_or_log_backprop(ls, grad_sig, grad_ls, batch, dim, degree,
                                             {true, method, in_term}, {false, 0, out_term},
                                             tables, n_threads);
}
namespace algebra_detail {

// Scratch of log_sig_combine for one chunk: the Lie elements X1, X2, their exps E1, E2
// (with the exp chains' intermediates when keep), the product C and the log chain.
template <class P>
struct CombineScratch {
  std::int64_t n, qe, ql;
  std::vector<P> X1, X2, QE1, QE2, C, QL, c1, c2, g, dZ, dQ2, dC, dE1, dE2, dX1, dX2;
  CombineScratch(const TensorShape& sh, std::int64_t m, int exp_steps, int log_steps,
                 bool keep)
      : n(sh.size()),
        qe(keep ? exp_steps + 1 : 2),
        ql(keep ? log_steps + 1 : 2),
        X1(n), X2(n), QE1(qe * n), QE2(qe * n), C(n), QL(ql * n), c1(m), c2(m),
        g(keep ? m : 0), dZ(keep ? n : 0), dQ2(keep ? n : 0), dC(keep ? n : 0),
        dE1(keep ? n : 0), dE2(keep ? n : 0), dX1(keep ? n : 0), dX2(keep ? n : 0) {}
};

// What log_sig_combine and its backprop share for one (dim, degree): the shape, the
// exp and log chains, and the Lyndon words of the top level.
template <class P>
struct CombineContext {
  TensorShape sh;
  std::int64_t m;
  HornerChain<P> ec, lc;
  TopWords top;
  std::int64_t top_first;
  CombineContext(int dim, int degree, const LyndonTables& tables)
      : sh(dim, degree),
        m(tables.n),
        ec(HornerChain<P>::exp_chain(degree)),
        lc(HornerChain<P>::log_chain(degree)),
        top(sh, tables.top_level(sh.off[degree])),
        top_first(tables.first_at(sh.off[degree])) {}
};

// BCH of the bracket coordinates of one pack: c1, c2 loaded, E1, E2, C, log computed
// (level N only at the Lyndon words). Returns the log (in s.QL).
template <int D, class P>
P* combine_forward(const CombineContext<P>& cx, const LyndonTables& tables,
                   CombineScratch<P>& s, bool keep, P** E1, P** E2) {
  const TensorShape& sh = cx.sh;
  zero(s.X1.data(), sh.off[sh.N]);
  zero(s.X2.data(), sh.off[sh.N]);
  tables.expand_lower_and_top(s.c1.data(), s.X1.data(), cx.top_first);
  tables.expand_lower_and_top(s.c2.data(), s.X2.data(), cx.top_first);
  *E1 = cx.ec.template run<D>(sh, s.X1.data(), s.QE1.data(), keep, &cx.top);
  *E2 = cx.ec.template run<D>(sh, s.X2.data(), s.QE2.data(), keep, &cx.top);
  tensor_mul_maybe_top<D>(sh, *E1, *E2, s.C.data(), sh.N, P(1), 0, &cx.top);
  return cx.lc.template run<D>(sh, s.C.data(), s.QL.data(), keep, &cx.top);
}

// The loop of log_sig_combine and its backprop: per pack, c1 and c2 loaded from the
// rows ls1, ls2 and the forward pass run (keeping the chains' intermediates when keep),
// then item(D constant, context, scratch, log, E1, E2, first lane, valid lanes).
template <class T, class Item>
int for_each_combine(const T* ls1, const T* ls2, std::int64_t batch, int dim, int degree,
                     const LyndonTables& tables, int n_threads, bool keep, Item&& item) {
  using P = PackOf<T>;
  const CombineContext<P> cx(dim, degree, tables);
  const std::int64_t m = cx.m;
  auto make = [&] { return CombineScratch<P>(cx.sh, m, cx.ec.steps(), cx.lc.steps(), keep); };
  return for_each_pack<T>(batch, dim, n_threads, make,
                          [&](auto dc, auto& s, std::int64_t first, int valid) {
    constexpr int D = decltype(dc)::value;
    load_pack(s.c1.data(), ls1, m, m, first, valid);
    load_pack(s.c2.data(), ls2, m, m, first, valid);
    P *E1, *E2;
    P* Z = combine_forward<D>(cx, tables, s, keep, &E1, &E2);
    item(dc, cx, s, Z, E1, E2, first, valid);
  });
}

}  // namespace algebra_detail

// log(exp(L1) (x) exp(L2)) in Lyndon-bracket coordinates (rows of tables.n entries).
template <class T>
int log_sig_combine(const T* ls1, const T* ls2, T* out, std::int64_t batch, int dim,
                    int degree, const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    const std::int64_t m = tables.n;
    return for_each_combine(ls1, ls2, batch, dim, degree, tables, n_threads, false,
                            [&](auto, const auto&, auto& s, auto* Z, auto*, auto*,
                                std::int64_t first, int valid) {
      tables.gather(Z, s.c1.data());
      tables.solve(s.c1.data());
      store_pack(s.c1.data(), out, m, m, first, valid);
    });
  });
}

template <class T>
int log_sig_combine_backprop(const T* d_out, const T* ls1, const T* ls2, T* grad1, T* grad2,
                             std::int64_t batch, int dim, int degree,
                             const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    using P = PackOf<T>;
    const std::int64_t m = tables.n;
    return for_each_combine(ls1, ls2, batch, dim, degree, tables, n_threads, true,
                            [&](auto dc, const CombineContext<P>& cx, auto& s, P*, P* E1,
                                P* E2, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      const TensorShape& sh = cx.sh;
      const TopWords* top = &cx.top;
      load_pack(s.g.data(), d_out, m, m, first, valid);
      // Every level-N cotangent below vanishes outside the Lyndon words.
      for (auto* x : {&s.dZ, &s.dC, &s.dE1, &s.dE2, &s.dX1, &s.dX2})
        detail::zero_lower_and_top(sh, x->data(), cx.top);
      tables.solve_transposed(s.g.data());
      tables.scatter_add(s.g.data(), s.dZ.data());
      cx.lc.template adjoint<D>(sh, s.C.data(), s.QL.data(), s.dZ.data(), s.dQ2.data(),
                                s.dC.data(), top);
      tensor_mul_adjoint_maybe_top<D>(sh, E1, E2, s.dC.data(), s.dE1.data(), s.dE2.data(),
                                      sh.N, P(1), 0, top);
      cx.ec.template adjoint<D>(sh, s.X1.data(), s.QE1.data(), s.dE1.data(), s.dQ2.data(),
                                s.dX1.data(), top);
      cx.ec.template adjoint<D>(sh, s.X2.data(), s.QE2.data(), s.dE2.data(), s.dQ2.data(),
                                s.dX2.data(), top);
      zero(s.c1.data(), m);
      zero(s.c2.data(), m);
      tables.expand_lower_and_top_adjoint(s.dX1.data(), s.c1.data(), cx.top_first);
      tables.expand_lower_and_top_adjoint(s.dX2.data(), s.c2.data(), cx.top_first);
      store_pack(s.c1.data(), grad1, m, m, first, valid);
      store_pack(s.c2.data(), grad2, m, m, first, valid);
    });
  });
}

namespace algebra_detail {

// X = dx_i + c_i: level 1 the increment of segment i, levels 2..N the correction row
// of each lane (corr + item * sb + i * ss, off[N + 1] - off[2] entries), level 0 zero.
template <class T, int W>
void corrected_increment(const TensorShape& sh, const T* path, const T* corr,
                         std::int64_t sb, std::int64_t ss, std::int64_t length,
                         std::int64_t first, int valid, std::int64_t i, Pack<T, W>* X) {
  const int d = sh.d;
  const std::int64_t width = sh.size() - sh.off[2];
  X[0] = Pack<T, W>(T(0));
  for (int l = 0; l < W; ++l) {
    const bool on = l < valid;
    const T* x = on ? path + (first + l) * length * d : nullptr;
    const T* c = on ? corr + (first + l) * sb + i * ss : nullptr;
    for (int e = 0; e < d; ++e) X[1 + e].x[l] = on ? x[(i + 1) * d + e] - x[i * d + e] : T(0);
    for (std::int64_t e = 0; e < width; ++e) X[sh.off[2] + e].x[l] = on ? c[e] : T(0);
  }
}

// The loop of sig_corrected and its backprop: for_each_pack with scratch = make(cx)
// (cx: the shape and the exp chain) and item(D constant, shape, exp chain, scratch,
// first, valid).
template <class T, class Make, class Item>
int corrected_packs(std::int64_t batch, std::int64_t length, int dim, int degree,
                    int n_threads, Make&& make, Item&& item) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    const ChainOf<PackOf<T>> cx(dim, degree, Side{false, 0, false});
    return for_each_pack<T>(batch, dim, n_threads, [&] { return make(cx); },
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      item(dc, cx.sh, cx.chain, s, first, valid);
    });
  });
}

}  // namespace algebra_detail

// Signatures whose segment factors are exp(dx_i + c_i), c_i a fixed correction of
// levels 2..N (rows of off[N + 1] - off[2] entries read at corr + item * sb + i * ss;
// a stride of 0 shares a row). out: (batch, size - 1 + scalar_term).
template <class T>
int sig_corrected(const T* path, const T* corr, std::int64_t sb, std::int64_t ss, T* out,
                  std::int64_t batch, std::int64_t length, int dim, int degree,
                  bool scalar_term, int n_threads) noexcept {
  using namespace algebra_detail;
  using P = PackOf<T>;
  auto make = [](const ChainOf<P>& cx) { return tensors<P>(cx.n, cx.n, cx.n, 2 * cx.n); };
  return corrected_packs<T>(batch, length, dim, degree, n_threads, make,
                            [&](auto dc, const TensorShape& sh, const HornerChain<P>& ec,
                                auto& s, std::int64_t first, int valid) {
    constexpr int D = decltype(dc)::value;
    auto& [S, C, X, Q] = s;
    zero(S.data(), sh.size());
    S[0] = P(T(1));
    for (std::int64_t i = 0; i + 1 < length; ++i) {
      check_interrupt();
      corrected_increment(sh, path, corr, sb, ss, length, first, valid, i, X.data());
      const P* E = ec.template run<D>(sh, X.data(), Q.data(), false);
      tensor_mul<D>(sh, S.data(), E, C.data(), degree, P(T(1)));
      std::swap(S, C);
    }
    store_sig(S.data(), out, sh, scalar_term, first, valid);
  });
}

// Vector-Jacobian product of sig_corrected with respect to the paths (the correction
// is a constant), walking the segments backwards from the signatures as sig_backprop
// does: the prefix before segment i is S (x) exp(-X_i), then the adjoints of the
// product and of exp(X_i) give the prefix's cotangent and that of the increment.
template <class T>
int sig_corrected_backprop(const T* path, const T* corr, std::int64_t sb, std::int64_t ss,
                           const T* sig, const T* grad_sig, T* grad_path, std::int64_t batch,
                           std::int64_t length, int dim, int degree, bool scalar_term,
                           int n_threads) noexcept {
  using namespace algebra_detail;
  using P = PackOf<T>;
  auto make = [](const ChainOf<P>& cx) {
    const std::int64_t n = cx.n, q = (cx.chain.steps() + 1) * n;
    return tensors<P>(n, n, n, n, q, 2 * n, n, n, n, n, n);
  };
  return corrected_packs<T>(batch, length, dim, degree, n_threads, make,
                            [&](auto dc, const TensorShape& sh, const HornerChain<P>& ec,
                                auto& s, std::int64_t first, int valid) {
    constexpr int D = decltype(dc)::value;
    const std::int64_t n = sh.size();
    auto& [S, G, X, mX, Q, Qi, Pre, dPre, dE, dQ2, dX] = s;
    for (int l = 0; l < valid; ++l) {
      T* gx = grad_path + (first + l) * length * dim;
      std::fill(gx, gx + length * dim, T(0));
    }
    load_sig(S.data(), sig, sh, scalar_term, first, valid);
    load_sig(G.data(), grad_sig, sh, scalar_term, first, valid);
    G[0] = P(T(0));
    for (std::int64_t i = length - 2; i >= 0; --i) {
      check_interrupt();
      corrected_increment(sh, path, corr, sb, ss, length, first, valid, i, X.data());
      for (std::int64_t e = 0; e < n; ++e) mX[e] = -X[e];
      const P* Einv = ec.template run<D>(sh, mX.data(), Qi.data(), false);
      tensor_mul<D>(sh, S.data(), Einv, Pre.data(), degree, P(T(1)));
      const P* E = ec.template run<D>(sh, X.data(), Q.data(), true);
      zero(dPre.data(), n);
      zero(dE.data(), n);
      tensor_mul_adjoint<D>(sh, Pre.data(), E, G.data(), dPre.data(), dE.data(), degree,
                            P(T(1)));
      zero(dX.data(), n);
      ec.template adjoint<D>(sh, X.data(), Q.data(), dE.data(), dQ2.data(), dX.data());
      for (int l = 0; l < valid; ++l) {
        T* gx = grad_path + (first + l) * length * dim;
        for (int c = 0; c < dim; ++c) {
          gx[(i + 1) * dim + c] += dX[1 + c].x[l];
          gx[i * dim + c] -= dX[1 + c].x[l];
        }
      }
      std::swap(S, Pre);
      std::swap(G, dPre);
    }
  });
}

// Expanding signatures: out[b, t] = signature of path[b, 0..t] (t = 0..length-1; the
// first is 1), rows of size - 1 + scalar_term entries, out of shape (batch, length,
// row). One Horner pass per segment, the running signature stored after each.
template <class T>
int sig_expanding(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim,
                  int degree, bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    using P = PackOf<T>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size(), skip = scalar_term ? 0 : 1, row = n - skip;
    auto make = [&] {
      return std::make_pair(std::vector<P>(n), detail::SegmentScratch<P>(sh));
    };
    return for_each_pack<T>(batch, dim, n_threads, make,
                            [&](auto dc, auto& s, std::int64_t first, int valid) {
      constexpr int D = decltype(dc)::value;
      constexpr int W = pack_width<T>();
      std::vector<P>& S = s.first;
      detail::SegmentScratch<P>& w = s.second;
      zero(S.data(), n);
      S[0] = P(T(1));
      for (std::int64_t t = 0; t < length; ++t) {
        check_interrupt();
        if (t > 0) {
          for (int l = 0; l < W; ++l) {
            const T* x = l < valid ? path + (first + l) * length * dim : nullptr;
            for (int c = 0; c < dim; ++c)
              w.v[c].x[l] = x ? x[t * dim + c] - x[(t - 1) * dim + c] : T(0);
          }
          detail::mul_segment<D>(sh, S.data(), w.v.data(), w);
        }
        // Row t of each path of the pack: stride length * row between paths.
        for (int l = 0; l < valid; ++l) {
          T* o = out + ((first + l) * length + t) * row;
          for (std::int64_t e = 0; e < row; ++e) o[e] = S[skip + e].x[l];
        }
      }
    });
  });
}

}  // namespace sksig

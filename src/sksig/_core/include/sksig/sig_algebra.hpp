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

// Runs body(D constant, p0, p1, valid) over packs of the batch with the dimension
// dispatched at compile time.
template <class T, class Body>
int run_packs(std::int64_t batch, int dim, int n_threads, Body&& body) {
  constexpr int W = pack_width<T>();
  return dispatch_dim(dim, [&](auto dc) {
    return detail::parallel_packs<W>(
        batch, n_threads,
        [&](std::int64_t p0, std::int64_t p1, auto valid) { return body(dc, p0, p1, valid); });
  });
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
            for (int w = 0; w < d; ++w) row[w] += au * bj[w];
          }
        } else {
          const std::int64_t nj = s.pw[j];
          for (std::int64_t u = 0; u < s.pw[i]; ++u) {
            const T au = ai[u];
            T* row = o + u * nj;
            for (std::int64_t w = 0; w < nj; ++w) row[w] += au * bj[w];
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
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> A(n), B(n), G(n), dA(n), dB(n);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_sig(A.data(), a, sh, scalar_term, p * W, valid(p));
        load_sig(B.data(), b, sh, scalar_term, p * W, valid(p));
        load_sig(G.data(), d_out, sh, scalar_term, p * W, valid(p));
        G[0] = P(T(0));
        zero(dA.data(), n);
        zero(dB.data(), n);
        tensor_mul_adjoint<D>(sh, A.data(), B.data(), G.data(), dA.data(), dB.data(), degree,
                              P(T(1)));
        dA[0] = P(T(0));
        dB[0] = P(T(0));
        store_sig(dA.data(), grad_a, sh, scalar_term, p * W, valid(p));
        store_sig(dB.data(), grad_b, sh, scalar_term, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
  });
}

// out = sig (x) exp(v), or exp(v) (x) sig with prepend. With sig = null the input is 1
// (the signature of the segment alone, linear_sig).
template <class T>
int sig_join(const T* sig, const T* disp, T* out, std::int64_t batch, int dim, int degree,
             bool prepend, bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto rev = prepend ? word_reversal(sh) : std::vector<std::int64_t>();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), R(n);
      detail::SegmentScratch<P> w(sh);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        if (sig) {
          load_sig(S.data(), sig, sh, scalar_term, p * W, valid(p));
        } else {
          zero(S.data(), n);
          S[0] = P(T(1));
        }
        load_pack(w.v.data(), disp, dim, dim, p * W, valid(p));
        if (prepend) {
          permute(rev, S.data(), R.data());
          detail::mul_segment<D>(sh, R.data(), w.v.data(), w);
          permute(rev, R.data(), S.data());
        } else {
          detail::mul_segment<D>(sh, S.data(), w.v.data(), w);
        }
        store_sig(S.data(), out, sh, scalar_term, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
  });
}

// Gradients of <d_out, sig_join(sig, v)> with respect to sig (skipped when sig is null,
// linear_sig) and v.
template <class T>
int sig_join_backprop(const T* d_out, const T* sig, const T* disp, T* grad_sig,
                      T* grad_disp, std::int64_t batch, int dim, int degree, bool prepend,
                      bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto rev = prepend ? word_reversal(sh) : std::vector<std::int64_t>();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> A(n), G(n), dA(n), tmp(n), v(dim), dv(dim),
          work(mul_exp_segment_adjoint_work(sh));
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        if (sig) {
          load_sig(A.data(), sig, sh, scalar_term, p * W, valid(p));
        } else {
          zero(A.data(), n);
          A[0] = P(T(1));
        }
        load_sig(G.data(), d_out, sh, scalar_term, p * W, valid(p));
        G[0] = P(T(0));
        load_pack(v.data(), disp, dim, dim, p * W, valid(p));
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
        if (grad_sig) store_sig(dA.data(), grad_sig, sh, scalar_term, p * W, valid(p));
        store_pack(dv.data(), grad_disp, dim, dim, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
  });
}

// Log-signatures from signatures: the tensor log of sig, as method 0 (the tensor, in
// the scalar-term format out_term), 1 (Lyndon-word coefficients) or 2 (Lyndon-bracket
// coordinates).
template <class T>
int sig_to_log_sig(const T* sig, T* out, std::int64_t batch, int dim, int degree,
                   int method, bool in_term, bool out_term, const LyndonTables& tables,
                   int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto chain = HornerChain<P>::log_chain(degree);
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    const TopWords* top_p = method == 0 ? nullptr : &top;
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), Q(2 * n), o(tables.n);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_sig(S.data(), sig, sh, in_term, p * W, valid(p));
        P* Z = chain.template run<D>(sh, S.data(), Q.data(), false, top_p);
        if (method == 0) {
          Z[0] = P(T(0));
          store_sig(Z, out, sh, out_term, p * W, valid(p));
        } else {
          tables.gather(Z, o.data());
          if (method == 2) tables.solve(o.data());
          store_pack(o.data(), out, tables.n, tables.n, p * W, valid(p));
        }
      }
      return static_cast<int>(kOk);
    });
  });
}

template <class T>
int sig_to_log_sig_backprop(const T* sig, const T* grad_out, T* grad_sig, std::int64_t batch,
                            int dim, int degree, int method, bool in_term, bool out_term,
                            const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto chain = HornerChain<P>::log_chain(degree);
    const std::int64_t m = chain.steps();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), Q((m + 1) * n), dZ(n), dQ2(n), dS(n), g(tables.n);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_sig(S.data(), sig, sh, in_term, p * W, valid(p));
        chain.template run<D>(sh, S.data(), Q.data(), true);
        if (method == 0) {
          load_sig(dZ.data(), grad_out, sh, out_term, p * W, valid(p));
          dZ[0] = P(T(0));
        } else {
          zero(dZ.data(), n);
          load_pack(g.data(), grad_out, tables.n, tables.n, p * W, valid(p));
          if (method == 2) tables.solve_transposed(g.data());
          tables.scatter_add(g.data(), dZ.data());
        }
        zero(dS.data(), n);
        chain.template adjoint<D>(sh, S.data(), Q.data(), dZ.data(), dQ2.data(), dS.data());
        dS[0] = P(T(0));
        store_sig(dS.data(), grad_sig, sh, in_term, p * W, valid(p));
      }
      return static_cast<int>(kOk);
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

}  // namespace algebra_detail

// Signatures from log-signatures: exp of the Lie element.
template <class T>
int logsig_to_sig(const T* ls, T* out, std::int64_t batch, int dim, int degree, int method,
                  bool in_term, bool out_term, const LyndonTables& tables,
                  int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto chain = HornerChain<P>::exp_chain(degree);
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> X(n), Q(2 * n), c(tables.n);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_lie(X.data(), c.data(), ls, sh, method, in_term, tables, p * W, valid(p));
        P* S = chain.template run<D>(sh, X.data(), Q.data(), false);
        store_sig(S, out, sh, out_term, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
  });
}

template <class T>
int logsig_to_sig_backprop(const T* ls, const T* grad_sig, T* grad_ls, std::int64_t batch,
                           int dim, int degree, int method, bool in_term, bool out_term,
                           const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1 || method < 0 || method > 2)
    return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto chain = HornerChain<P>::exp_chain(degree);
    const std::int64_t m = chain.steps();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> X(n), Q((m + 1) * n), dS(n), dQ2(n), dX(n), c(tables.n);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_lie(X.data(), c.data(), ls, sh, method, in_term, tables, p * W, valid(p));
        chain.template run<D>(sh, X.data(), Q.data(), true);
        load_sig(dS.data(), grad_sig, sh, out_term, p * W, valid(p));
        dS[0] = P(T(0));
        zero(dX.data(), n);
        chain.template adjoint<D>(sh, X.data(), Q.data(), dS.data(), dQ2.data(), dX.data());
        dX[0] = P(T(0));
        if (method == 0) {
          store_sig(dX.data(), grad_ls, sh, in_term, p * W, valid(p));
        } else {
          zero(c.data(), tables.n);
          tables.expand_adjoint(dX.data(), c.data());
          if (method == 1) tables.solve_transposed(c.data());
          store_pack(c.data(), grad_ls, tables.n, tables.n, p * W, valid(p));
        }
      }
      return static_cast<int>(kOk);
    });
  });
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

// BCH of the bracket coordinates of one pack: c1, c2 loaded, E1, E2, C, log computed
// (level N only at the Lyndon words). Returns the log (in s.QL).
template <int D, class P>
P* combine_forward(const TensorShape& sh, const LyndonTables& tables, const TopWords& top,
                   std::int64_t top_first, const HornerChain<P>& ec,
                   const HornerChain<P>& lc, CombineScratch<P>& s, bool keep, P** E1,
                   P** E2) {
  zero(s.X1.data(), sh.off[sh.N]);
  zero(s.X2.data(), sh.off[sh.N]);
  tables.expand_lower_and_top(s.c1.data(), s.X1.data(), top_first);
  tables.expand_lower_and_top(s.c2.data(), s.X2.data(), top_first);
  *E1 = ec.template run<D>(sh, s.X1.data(), s.QE1.data(), keep, &top);
  *E2 = ec.template run<D>(sh, s.X2.data(), s.QE2.data(), keep, &top);
  tensor_mul_maybe_top<D>(sh, *E1, *E2, s.C.data(), sh.N, P(1), 0, &top);
  return lc.template run<D>(sh, s.C.data(), s.QL.data(), keep, &top);
}

}  // namespace algebra_detail

// log(exp(L1) (x) exp(L2)) in Lyndon-bracket coordinates (rows of tables.n entries).
template <class T>
int log_sig_combine(const T* ls1, const T* ls2, T* out, std::int64_t batch, int dim,
                    int degree, const LyndonTables& tables, int n_threads) noexcept {
  if (batch < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t m = tables.n;
    const auto ec = HornerChain<P>::exp_chain(degree);
    const auto lc = HornerChain<P>::log_chain(degree);
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    const std::int64_t top_first = tables.first_at(sh.off[degree]);
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      CombineScratch<P> s(sh, m, ec.steps(), lc.steps(), false);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_pack(s.c1.data(), ls1, m, m, p * W, valid(p));
        load_pack(s.c2.data(), ls2, m, m, p * W, valid(p));
        P *E1, *E2;
        P* Z = combine_forward<D>(sh, tables, top, top_first, ec, lc, s, false, &E1, &E2);
        tables.gather(Z, s.c1.data());
        tables.solve(s.c1.data());
        store_pack(s.c1.data(), out, m, m, p * W, valid(p));
      }
      return static_cast<int>(kOk);
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
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t m = tables.n, n = sh.size();
    const auto ec = HornerChain<P>::exp_chain(degree);
    const auto lc = HornerChain<P>::log_chain(degree);
    const TopWords top(sh, tables.top_level(sh.off[degree]));
    const std::int64_t top_first = tables.first_at(sh.off[degree]);
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      CombineScratch<P> s(sh, m, ec.steps(), lc.steps(), true);
      for (std::int64_t p = p0; p < p1; ++p) {
        check_interrupt();
        load_pack(s.c1.data(), ls1, m, m, p * W, valid(p));
        load_pack(s.c2.data(), ls2, m, m, p * W, valid(p));
        load_pack(s.g.data(), d_out, m, m, p * W, valid(p));
        P *E1, *E2;
        combine_forward<D>(sh, tables, top, top_first, ec, lc, s, true, &E1, &E2);
        // Every level-N cotangent below vanishes outside the Lyndon words.
        for (auto* x : {&s.dZ, &s.dC, &s.dE1, &s.dE2, &s.dX1, &s.dX2})
          detail::zero_lower_and_top(sh, x->data(), top);
        tables.solve_transposed(s.g.data());
        tables.scatter_add(s.g.data(), s.dZ.data());
        lc.template adjoint<D>(sh, s.C.data(), s.QL.data(), s.dZ.data(), s.dQ2.data(),
                               s.dC.data(), &top);
        tensor_mul_adjoint_maybe_top<D>(sh, E1, E2, s.dC.data(), s.dE1.data(), s.dE2.data(),
                                        sh.N, P(1), 0, &top);
        ec.template adjoint<D>(sh, s.X1.data(), s.QE1.data(), s.dE1.data(), s.dQ2.data(),
                               s.dX1.data(), &top);
        ec.template adjoint<D>(sh, s.X2.data(), s.QE2.data(), s.dE2.data(), s.dQ2.data(),
                               s.dX2.data(), &top);
        zero(s.c1.data(), m);
        zero(s.c2.data(), m);
        tables.expand_lower_and_top_adjoint(s.dX1.data(), s.c1.data(), top_first);
        tables.expand_lower_and_top_adjoint(s.dX2.data(), s.c2.data(), top_first);
        store_pack(s.c1.data(), grad1, m, m, p * W, valid(p));
        store_pack(s.c2.data(), grad2, m, m, p * W, valid(p));
      }
      (void)n;
      return static_cast<int>(kOk);
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

}  // namespace algebra_detail

// Signatures whose segment factors are exp(dx_i + c_i), c_i a fixed correction of
// levels 2..N (rows of off[N + 1] - off[2] entries read at corr + item * sb + i * ss;
// a stride of 0 shares a row). out: (batch, size - 1 + scalar_term).
template <class T>
int sig_corrected(const T* path, const T* corr, std::int64_t sb, std::int64_t ss, T* out,
                  std::int64_t batch, std::int64_t length, int dim, int degree,
                  bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto ec = HornerChain<P>::exp_chain(degree);
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), C(n), X(n), Q(2 * n);
      for (std::int64_t p = p0; p < p1; ++p) {
        zero(S.data(), n);
        S[0] = P(T(1));
        for (std::int64_t i = 0; i + 1 < length; ++i) {
          check_interrupt();
          corrected_increment(sh, path, corr, sb, ss, length, p * W, valid(p), i, X.data());
          const P* E = ec.template run<D>(sh, X.data(), Q.data(), false);
          tensor_mul<D>(sh, S.data(), E, C.data(), degree, P(T(1)));
          std::swap(S, C);
        }
        store_sig(S.data(), out, sh, scalar_term, p * W, valid(p));
      }
      return static_cast<int>(kOk);
    });
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
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    using namespace algebra_detail;
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto ec = HornerChain<P>::exp_chain(degree);
    const std::int64_t m = ec.steps();
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n), G(n), X(n), mX(n), Q((m + 1) * n), Qi(2 * n), Pre(n), dPre(n),
          dE(n), dQ2(n), dX(n);
      for (std::int64_t p = p0; p < p1; ++p) {
        const std::int64_t first = p * W;
        for (int l = 0; l < valid(p); ++l) {
          T* gx = grad_path + (first + l) * length * dim;
          std::fill(gx, gx + length * dim, T(0));
        }
        load_sig(S.data(), sig, sh, scalar_term, first, valid(p));
        load_sig(G.data(), grad_sig, sh, scalar_term, first, valid(p));
        G[0] = P(T(0));
        for (std::int64_t i = length - 2; i >= 0; --i) {
          check_interrupt();
          corrected_increment(sh, path, corr, sb, ss, length, first, valid(p), i, X.data());
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
          for (int l = 0; l < valid(p); ++l) {
            T* gx = grad_path + (first + l) * length * dim;
            for (int c = 0; c < dim; ++c) {
              gx[(i + 1) * dim + c] += dX[1 + c].x[l];
              gx[i * dim + c] -= dX[1 + c].x[l];
            }
          }
          std::swap(S, Pre);
          std::swap(G, dPre);
        }
      }
      return static_cast<int>(kOk);
    });
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
    constexpr int W = pack_width<T>();
    using P = Pack<T, W>;
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size(), skip = scalar_term ? 0 : 1, row = n - skip;
    return run_packs<T>(batch, dim, n_threads, [&](auto dc, std::int64_t p0,
                                                   std::int64_t p1, auto valid) {
      constexpr int D = decltype(dc)::value;
      std::vector<P> S(n);
      detail::SegmentScratch<P> w(sh);
      for (std::int64_t p = p0; p < p1; ++p) {
        const std::int64_t first = p * W;
        zero(S.data(), n);
        S[0] = P(T(1));
        for (std::int64_t t = 0; t < length; ++t) {
          check_interrupt();
          if (t > 0) {
            for (int l = 0; l < W; ++l) {
              const T* x = l < valid(p) ? path + (first + l) * length * dim : nullptr;
              for (int c = 0; c < dim; ++c)
                w.v[c].x[l] = x ? x[t * dim + c] - x[(t - 1) * dim + c] : T(0);
            }
            detail::mul_segment<D>(sh, S.data(), w.v.data(), w);
          }
          // Row t of each path of the pack: stride length * row between paths.
          for (int l = 0; l < valid(p); ++l) {
            T* o = out + ((first + l) * length + t) * row;
            for (std::int64_t e = 0; e < row; ++e) o[e] = S[skip + e].x[l];
          }
        }
      }
      return static_cast<int>(kOk);
    });
  });
}

}  // namespace sksig

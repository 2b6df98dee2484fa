// Signatures, log-signatures (SPEC.md sections 7-8) and the log-signature join with a
// straight segment (section 9), with their backward passes.
//
// Work is split per path (or per join item) in contiguous chunks, each chunk owning its
// scratch memory; every item is computed the same way whatever the chunking, so results
// are bitwise identical for every thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lyndon.hpp"
#include "parallel.hpp"
#include "status.hpp"
#include "tensor_algebra.hpp"

namespace sksig {

namespace detail {

// Runs body(first, last) over contiguous chunks of [0, n).
template <class Body>
int parallel_chunks(std::int64_t n, int n_threads, Body&& body) noexcept {
  if (n <= 0) return kOk;
  const std::int64_t workers = std::max(1, n_threads);
  const std::int64_t n_chunks = std::min<std::int64_t>(n, workers * 8);
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

// S <- S (x) exp(v).
template <int D, class T>
void mul_segment(const TensorShape& sh, T* S, const T* v, SegmentScratch<T>& w) {
  mul_exp_segment<D>(sh, S, v, w.b1(), w.b2(), w.vs.data());
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

}  // namespace detail

// out: (batch, size - 1 + scalar_term).
template <class T>
int sig(const T* path, T* out, std::int64_t batch, std::int64_t length, int dim, int degree,
        bool scalar_term, int n_threads) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || degree < 1) return kInvalidArgument;
  return guarded([&] {
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t skip = scalar_term ? 0 : 1;
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t first,
                                                           std::int64_t last) {
        std::vector<T> S(n);
        detail::SegmentScratch<T> w(sh);
        for (std::int64_t b = first; b < last; ++b) {
          detail::path_signature<D>(sh, path + b * length * dim, length, S.data(), w);
          std::copy(S.begin() + skip, S.end(), out + b * (n - skip));
        }
        return kOk;
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
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const std::int64_t out_len = method == 0 ? n - (scalar_term ? 0 : 1) : tables.n;
    const auto chain = HornerChain<T>::log_chain(degree);
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t first,
                                                           std::int64_t last) {
        std::vector<T> S(n), Q(2 * n);
        detail::SegmentScratch<T> w(sh);
        for (std::int64_t b = first; b < last; ++b) {
          detail::path_signature<D>(sh, path + b * length * dim, length, S.data(), w);
          T* Z = chain.template run<D>(sh, S.data(), Q.data(), false);
          T* o = out + b * out_len;
          if (method == 0) {
            std::copy(Z + (scalar_term ? 0 : 1), Z + n, o);  // Z[0] is 0
          } else {
            tables.gather(Z, o);
            if (method == 2) tables.solve(o);
          }
        }
        return kOk;
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
        std::vector<T> S(n), Q((m + 1) * n), dZ(n), dQ2(n), G(n), dP(n), E(n), dE(n),
            v(dim), mv(dim), dv(dim), g(tables.n);
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
            exp_segment<D>(sh, v.data(), E.data());
            std::fill(dP.begin(), dP.end(), T(0));
            std::fill(dE.begin(), dE.end(), T(0));
            tensor_mul_adjoint<D>(sh, S.data(), E.data(), G.data(), dP.data(), dE.data(),
                                  degree, T(1));
            std::fill(dv.begin(), dv.end(), T(0));
            exp_segment_adjoint<D>(sh, E.data(), dE.data(), dv.data());
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
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto exp_chain = HornerChain<T>::exp_chain(degree);
    const auto log_chain = HornerChain<T>::log_chain(degree);
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t first,
                                                           std::int64_t last) {
        std::vector<T> L(n), Q(2 * n);
        detail::SegmentScratch<T> w(sh);
        for (std::int64_t b = first; b < last; ++b) {
          std::fill(L.begin(), L.end(), T(0));
          tables.expand_add(ls + b * tables.n, L.data());
          T* A = exp_chain.template run<D>(sh, L.data(), Q.data(), false);
          std::copy(A, A + n, L.begin());
          detail::mul_segment<D>(sh, L.data(), disp + b * dim, w);
          T* Z = log_chain.template run<D>(sh, L.data(), Q.data(), false);
          T* o = out + b * tables.n;
          tables.gather(Z, o);
          tables.solve(o);
        }
        return kOk;
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
    const TensorShape sh(dim, degree);
    const std::int64_t n = sh.size();
    const auto exp_chain = HornerChain<T>::exp_chain(degree);
    const auto log_chain = HornerChain<T>::log_chain(degree);
    const std::int64_t me = exp_chain.steps(), ml = log_chain.steps();
    return dispatch_dim(dim, [&](auto dc) {
      constexpr int D = decltype(dc)::value;
      return detail::parallel_chunks(batch, n_threads, [&](std::int64_t first,
                                                           std::int64_t last) {
        std::vector<T> L(n), QA((me + 1) * n), QL((ml + 1) * n), C(n), E(n), dZ(n),
            dQ2(n), dC(n), dA(n), dE(n), dL(n), g(tables.n);
        detail::SegmentScratch<T> w(sh);
        for (std::int64_t b = first; b < last; ++b) {
          const T* v = disp + b * dim;
          std::fill(L.begin(), L.end(), T(0));
          tables.expand_add(ls + b * tables.n, L.data());
          const T* A = exp_chain.template run<D>(sh, L.data(), QA.data(), true);
          std::copy(A, A + n, C.begin());
          detail::mul_segment<D>(sh, C.data(), v, w);
          log_chain.template run<D>(sh, C.data(), QL.data(), true);
          // Backward through solve, gather, log, the product by exp(v), exp, expand.
          std::copy(d_out + b * tables.n, d_out + (b + 1) * tables.n, g.begin());
          tables.solve_transposed(g.data());
          std::fill(dZ.begin(), dZ.end(), T(0));
          tables.scatter_add(g.data(), dZ.data());
          std::fill(dC.begin(), dC.end(), T(0));
          log_chain.template adjoint<D>(sh, C.data(), QL.data(), dZ.data(), dQ2.data(),
                                        dC.data());
          exp_segment<D>(sh, v, E.data());
          std::fill(dA.begin(), dA.end(), T(0));
          std::fill(dE.begin(), dE.end(), T(0));
          tensor_mul_adjoint<D>(sh, A, E.data(), dC.data(), dA.data(), dE.data(), degree,
                                T(1));
          T* gv = grad_disp + b * dim;
          std::fill(gv, gv + dim, T(0));
          exp_segment_adjoint<D>(sh, E.data(), dE.data(), gv);
          std::fill(dL.begin(), dL.end(), T(0));
          exp_chain.template adjoint<D>(sh, L.data(), QA.data(), dA.data(), dQ2.data(),
                                        dL.data());
          T* gc = grad_ls + b * tables.n;
          std::fill(gc, gc + tables.n, T(0));
          tables.expand_adjoint(dL.data(), gc);
        }
        return kOk;
      });
    });
  });
}

}  // namespace sksig

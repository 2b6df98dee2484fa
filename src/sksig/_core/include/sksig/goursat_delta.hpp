// The Goursat PDE scheme of goursat.hpp driven by a precomputed increment Gram.
//
// For static kernels defined in Python (sksig/_custom_kernel.py), the increment Gram
// Delta[p, q] of every pair is computed by the user's code; this header only solves
// the PDE on it and differentiates the solution with respect to Delta. One pair at a
// time and one lane (no SIMD blocking): simpler and slower than goursat.hpp, with the
// same per-cell formulas (cell_coefficients, d = f Delta, f = 2^-(lam1 + lam2)):
//
//   K[r+1][c+1] = (K[r][c+1] + K[r+1][c]) A(d) - K[r][c] B(d),   K = 1 on the axes,
//
// where cell (r, c) of the refined grid lies in segment pair (r >> lam1, c >> lam2).
// The adjoint keeps the whole grid of one pair per thread and runs the cells in
// reverse order: dK/dd = (1/2 + d/6)(K[r][c+1] + K[r+1][c]) + (d/6) K[r][c].
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

namespace delta_detail {

template <class T>
inline void coefficients(T d, T& a, T& b) {
  a = T(1) + d / T(2) + d * d / T(12);
  b = T(1) - d * d / T(12);
}

// Whole grid of one pair into K ((M1 + 1) x (M2 + 1), row-major).
template <class T>
void solve(const T* delta, std::int64_t n1, std::int64_t n2, int lam1, int lam2, T* K) {
  const std::int64_t M1 = n1 << lam1, M2 = n2 << lam2, W = M2 + 1;
  const T f = std::ldexp(T(1), -(lam1 + lam2));
  for (std::int64_t c = 0; c <= M2; ++c) K[c] = T(1);
  for (std::int64_t r = 0; r < M1; ++r) {
    if ((r & 255) == 255) check_interrupt();
    const T* drow = delta + (r >> lam1) * n2;
    T* up = K + r * W;
    T* cur = up + W;
    cur[0] = T(1);
    for (std::int64_t c = 0; c < M2; ++c) {
      T a, b;
      coefficients(f * drow[c >> lam2], a, b);
      cur[c + 1] = (up[c + 1] + cur[c]) * a - up[c] * b;
    }
  }
}

}  // namespace delta_detail

// out[p] = k(pair p) from delta (n_pairs, n1, n2); one rolling row pair per thread.
template <class T>
int sig_kernel_from_delta(const T* delta, std::int64_t n_pairs, std::int64_t n1,
                          std::int64_t n2, int lam1, int lam2, T* out,
                          int n_threads) noexcept {
  if (n_pairs < 0 || n1 < 0 || n2 < 0 || lam1 < 0 || lam2 < 0) return kInvalidArgument;
  return parallel_for(n_pairs, n_threads, [&](std::int64_t p) {
    const std::int64_t M1 = n1 << lam1, M2 = n2 << lam2;
    const T f = std::ldexp(T(1), -(lam1 + lam2));
    const T* dp = delta + p * n1 * n2;
    std::vector<T> up(M2 + 1, T(1)), cur(M2 + 1, T(1));
    for (std::int64_t r = 0; r < M1; ++r) {
      if ((r & 255) == 255) check_interrupt();
      const T* drow = dp + (r >> lam1) * n2;
      cur[0] = T(1);
      for (std::int64_t c = 0; c < M2; ++c) {
        T a, b;
        delta_detail::coefficients(f * drow[c >> lam2], a, b);
        cur[c + 1] = (up[c + 1] + cur[c]) * a - up[c] * b;
      }
      up.swap(cur);
    }
    out[p] = up[M2];
    return std::isfinite(static_cast<double>(out[p])) ? kOk : kNonFinite;
  });
}

// gamma[p] = derivs[p] * dk(pair p)/dDelta, shape (n_pairs, n1, n2).
template <class T>
int sig_kernel_from_delta_backprop(const T* delta, const T* derivs, std::int64_t n_pairs,
                                   std::int64_t n1, std::int64_t n2, int lam1, int lam2,
                                   T* gamma, int n_threads) noexcept {
  if (n_pairs < 0 || n1 < 0 || n2 < 0 || lam1 < 0 || lam2 < 0) return kInvalidArgument;
  return parallel_for(n_pairs, n_threads, [&](std::int64_t p) {
    const std::int64_t M1 = n1 << lam1, M2 = n2 << lam2, W = M2 + 1;
    const T f = std::ldexp(T(1), -(lam1 + lam2));
    const T* dp = delta + p * n1 * n2;
    T* gp = gamma + p * n1 * n2;
    for (std::int64_t i = 0; i < n1 * n2; ++i) gp[i] = T(0);
    std::vector<T> K((M1 + 1) * W), Kbar((M1 + 1) * W, T(0));
    delta_detail::solve(dp, n1, n2, lam1, lam2, K.data());
    Kbar[M1 * W + M2] = derivs[p];
    for (std::int64_t r = M1 - 1; r >= 0; --r) {
      if ((r & 255) == 255) check_interrupt();
      const std::int64_t pr = r >> lam1;
      for (std::int64_t c = M2 - 1; c >= 0; --c) {
        const T kb = Kbar[(r + 1) * W + c + 1];
        if (kb == T(0)) continue;
        const T d = f * dp[pr * n2 + (c >> lam2)];
        T a, b;
        delta_detail::coefficients(d, a, b);
        const T k_up = K[r * W + c + 1], k_left = K[(r + 1) * W + c], k_diag = K[r * W + c];
        Kbar[r * W + c + 1] += kb * a;
        Kbar[(r + 1) * W + c] += kb * a;
        Kbar[r * W + c] -= kb * b;
        const T dd = (T(0.5) + d / T(6)) * (k_up + k_left) + d / T(6) * k_diag;
        gp[pr * n2 + (c >> lam2)] += f * kb * dd;
      }
    }
    for (std::int64_t i = 0; i < n1 * n2; ++i)
      if (!std::isfinite(static_cast<double>(gp[i]))) return kNonFinite;
    return kOk;
  });
}

}  // namespace sksig

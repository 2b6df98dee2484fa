// Kernel learning: derivatives of signature kernels with respect to the parameters of
// the static kernel and to a scale applied to the paths, from the adjoint of the
// Goursat scheme (goursat.hpp).
//
// The kernel depends on the static kernel only through the increment Gram Delta, so for
// a parameter theta, dF/dtheta = sum_{s,t} Gamma[s, t] dDelta[s, t]/dtheta with
// Gamma = dF/dDelta. Summing by parts moves the second difference onto Gamma:
//   dF/dtheta = sum_{a,b} w[a, b] d kappa(x_a, y_b)/dtheta,
//   w[a, b] = Gamma[a-1, b-1] - Gamma[a, b-1] - Gamma[a-1, b] + Gamma[a, b]
// (Gamma is zero outside its n1 x n2 range), the weights delta_backprop uses for the
// path gradient. A scale c multiplying the path values (not a time channel) enters as
// kappa(c x_a, c y_b), whose derivative in log c at the current paths is
// x_a . grad_1 kappa + y_b . grad_2 kappa over the scaled channels: s |x_a - y_b|^2 for
// radial kernels (grad_1 kappa = s (a - b)) and 2 s <x_a, y_b> for the others
// (grad_1 kappa = s b).
//
// Each block of pairs is solved forward (keeping its coefficients), its adjoint gives
// Gamma in a per-thread buffer, and the contraction runs lane by lane. Gamma for all
// pairs is never held; the cost per pair is one forward solve, one adjoint sweep (with
// its recomputation of the grid) and one pass over the point pairs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "goursat.hpp"

namespace sksig {

// Columns of the per-pair Jacobian: dk/dp0, dk/dp1, dk/dp2 (StaticKernel's parameters)
// and dk/dlog(scale).
constexpr int kParamColumns = 4;

// sum_{a,b} w[a, b] (dkappa/dp0, dkappa/dp1, dkappa/dp2, dkappa/dlog c) for one pair
// (x: L1 points, y: L2 points, d channels; gamma: n1 x n2 row-major). The last channel
// is not scaled when time_last (the time channel of time augmentation).
template <class T>
void param_contraction(const StaticKernel<T>& k, const T* gamma, const T* x, const T* y,
                       std::int64_t L1, std::int64_t L2, std::int64_t d, bool time_last,
                       double* out) {
  const std::int64_t n1 = L1 - 1, n2 = L2 - 1;
  double acc[kParamColumns] = {0, 0, 0, 0};
  auto G = [&](std::int64_t p, std::int64_t q) -> T {
    return (p < 0 || q < 0 || p >= n1 || q >= n2) ? T(0) : gamma[p * n2 + q];
  };
  const bool radial = k.is_radial();
  const std::int64_t last = d - 1;
  for (std::int64_t a = 0; a <= n1; ++a) {
    const T* xa = x + a * d;
    for (std::int64_t b = 0; b <= n2; ++b) {
      const T w = G(a - 1, b - 1) - G(a, b - 1) - G(a - 1, b) + G(a, b);
      if (w == T(0)) continue;
      const T* yb = y + b * d;
      T dot = 0, r2 = 0;
      for (std::int64_t c = 0; c < d; ++c) {
        dot += xa[c] * yb[c];
        const T diff = xa[c] - yb[c];
        r2 += diff * diff;
      }
      T value, s, dp[3];
      k.eval(dot, r2, value, s);
      k.param_grad(dot, r2, value, dp);
      T dot_c = dot, r2_c = r2;  // over the scaled channels
      if (time_last) {
        const T diff = xa[last] - yb[last];
        dot_c -= xa[last] * yb[last];
        r2_c -= diff * diff;
      }
      const T dscale = radial ? s * r2_c : T(2) * s * dot_c;
      acc[0] += double(w) * double(dp[0]);
      acc[1] += double(w) * double(dp[1]);
      acc[2] += double(w) * double(dp[2]);
      acc[3] += double(w) * double(dscale);
    }
  }
  for (int m = 0; m < kParamColumns; ++m) out[m] = acc[m];
}

// Pairs (x[i1[p]], y[i2[p]]) for p in [0, n_pairs): values[p] = k (may be null) and
// jac[p, :] = derivs[p] * dk/d(p0, p1, p2, log c) (derivs null means 1).
template <int W, class T>
int param_jacobian_blocks(const T* x, const T* y, const std::int64_t* i1,
                          const std::int64_t* i2, std::int64_t n_pairs, GoursatShape sh,
                          const StaticKernel<T>& kernel, const T* derivs, bool time_last,
                          T* values, T* jac, int n_threads) {
  const std::int64_t n1 = sh.n1(), n2 = sh.n2();
  const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
  const std::int64_t stripe = adjoint_stripe<W, T>(sh);
  Workspaces<T, W> spaces(kernel, sh, n_threads);
  const std::int64_t n_blocks = (n_pairs + W - 1) / W;
  return parallel_for(n_blocks, n_threads, [&](std::int64_t blk) {
    const std::int64_t p0 = blk * W, count = std::min<std::int64_t>(W, n_pairs - p0);
    const T* xs[W];
    const T* ys[W];
    T corner[W];
    for (int w = 0; w < W; ++w) {
      const std::int64_t p = p0 + (w < count ? w : 0);  // unused lanes repeat lane 0
      xs[w] = x + i1[p] * sx;
      ys[w] = y + i2[p] * sy;
      corner[w] = w < count ? (derivs ? derivs[p] : T(1)) : T(0);
    }
    Workspace<T, W>& ws = spaces.mine();
    GoursatBlock<T, W>& solver = ws.solver;
    T result[W];
    solver.forward(xs, ys, result, true, true);  // values, and the coefficients kept
    if (!all_finite(result, count)) return kNonFinite;
    if (values)
      for (std::int64_t w = 0; w < count; ++w) values[p0 + w] = result[w];
    BigVector<T>& lane = ws.lane;
    lane.resize(count * n1 * n2);
    solver.adjoint(nullptr, nullptr, corner, stripe, ws.ckpt, ws.grid, ws.seed, ws.gamma,
                   lane.data(), count);
    for (std::int64_t w = 0; w < count; ++w) {
      double out[kParamColumns];
      param_contraction(kernel, lane.data() + w * n1 * n2, xs[w], ys[w], sh.L1, sh.L2, sh.d,
                        time_last, out);
      T* row = jac + (p0 + w) * kParamColumns;
      for (int m = 0; m < kParamColumns; ++m) row[m] = T(out[m]);
      if (!all_finite(row, kParamColumns)) return kNonFinite;
    }
    return kOk;
  });
}

// Entry point (see param_jacobian_blocks). Like sig_kernel_pairs_backprop, pairs are
// solved one lane at a time when a kLanes<T>-wide block would exceed the wide budget.
template <class T>
int sig_kernel_param_jacobian(const T* x, const T* y, const std::int64_t* i1,
                              const std::int64_t* i2, std::int64_t n_pairs, GoursatShape sh,
                              KernelParams kp, const T* derivs, bool time_last, T* values,
                              T* jac, int n_threads) noexcept {
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0 || n_pairs < 0)
    return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> kernel = make_static_kernel<T>(kp);
    // A block keeps dF/dDelta and each lane's copy of it (ws.lane): two grid-sized
    // arrays per lane.
    const double wide_bytes = adjoint_lane_bytes<T>(sh, 2) * kLanes<T>;
    if (wide_bytes > double(BlockSplit::kWideBudget))
      return param_jacobian_blocks<1>(x, y, i1, i2, n_pairs, sh, kernel, derivs, time_last,
                                      values, jac, n_threads);
    return param_jacobian_blocks<kLanes<T>>(x, y, i1, i2, n_pairs, sh, kernel, derivs,
                                            time_last, values, jac, n_threads);
  });
}

}  // namespace sksig

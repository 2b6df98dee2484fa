// Static kernels (SPEC.md section 3): values, gradients, the increment Gram Delta of one
// pair of paths and the chain rule from dF/dDelta back to the path points.
#pragma once

#include <cmath>
#include <cstdint>

#include <vector>

#include "hd.hpp"
#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

// Exported to Python by sksig/_core/native.pxd (sksig._core.native.KERNEL_KINDS).
enum KernelKind : int {
  kLinear = 0,
  kScaledLinear = 1,
  kRBF = 2,
  kPolynomial = 3,
  kMatern12 = 4,
  kMatern32 = 5,
  kMatern52 = 6,
  kRationalQuadratic = 7,
};

// A static kernel with up to three parameters (meaning per kind):
//   ScaledLinear: p0 = scale;  RBF, Matern: p0 = sigma;  RationalQuadratic: p0 = sigma,
//   p1 = alpha;  Polynomial: p0 = degree, p1 = gamma, p2 = scale (clamp: beta -> max(beta, 0)).
template <class T>
struct StaticKernel {
  int kind;
  T p0, p1, p2;
  bool clamp;  // polynomial only: pySigLib's clamping rule, decided in Python

  // Kernels whose increment Gram is a scaled inner product of increments.
  SKSIG_HD bool is_linear() const { return kind == kLinear || kind == kScaledLinear; }
  SKSIG_HD T linear_scale() const { return kind == kScaledLinear ? p0 * p0 : T(1); }
  // Radial kernels have grad_1 k = s (a - b); the others grad_1 k = s b.
  SKSIG_HD bool is_radial() const { return kind != kPolynomial && !is_linear(); }

  // Value, and the scalar s of the gradient (see is_radial), from <a,b> and |a-b|^2.
  SKSIG_HD void eval(T dot, T r2, T& value, T& s) const {
    switch (kind) {
      case kLinear:
        value = dot;
        s = T(1);
        return;
      case kScaledLinear:
        value = p0 * p0 * dot;
        s = p0 * p0;
        return;
      case kRBF:
        value = std::exp(-r2 / p0);
        s = -T(2) / p0 * value;
        return;
      case kPolynomial: {
        T beta = dot + p1;
        if (p0 == T(0)) {  // constant kernel (pow(0, 0) = 1)
          value = p2;
          s = T(0);
          return;
        }
        if (clamp && beta < T(0)) {  // max(beta, 0): flat there
          value = T(0);
          s = T(0);
          return;
        }
        value = p2 * std::pow(beta, p0);
        s = p2 * p0 * std::pow(beta, p0 - T(1));
        return;
      }
      case kMatern12: {
        T rho = std::sqrt(r2 + T(1e-30));
        value = std::exp(-rho / p0);
        s = -value / (p0 * (rho > T(1e-15) ? rho : T(1e-15)));
        return;
      }
      case kMatern32: {
        T u = std::sqrt(T(3)) * std::sqrt(r2 + T(1e-30)) / p0;
        T e = std::exp(-u);
        value = (T(1) + u) * e;
        s = -T(3) / (p0 * p0) * e;
        return;
      }
      case kMatern52: {
        T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
        T e = std::exp(-u);
        value = (T(1) + u + u * u / T(3)) * e;
        s = -T(5) / (T(3) * p0 * p0) * (T(1) + u) * e;
        return;
      }
      default: {  // kRationalQuadratic
        T base = T(1) + r2 / (T(2) * p1 * p0 * p0);
        value = std::pow(base, -p1);
        s = -value / (base * p0 * p0);
        return;
      }
    }
  }

  // Derivatives of the value with respect to the parameters p0, p1, p2 (kernel
  // learning), from <a,b>, |a-b|^2 and the value itself. Parameters a kind lacks get
  // zero, and so does the polynomial degree (a discrete choice, not learned).
  SKSIG_HD void param_grad(T dot, T r2, T value, T* dp) const {
    dp[0] = dp[1] = dp[2] = T(0);
    switch (kind) {
      case kScaledLinear:  // p0^2 <a, b>
        dp[0] = T(2) * p0 * dot;
        return;
      case kRBF:  // exp(-r2 / p0)
        dp[0] = value * r2 / (p0 * p0);
        return;
      case kPolynomial: {  // p2 beta^p0, beta = <a, b> + p1
        const T beta = dot + p1;
        if (p0 == T(0)) {
          dp[2] = T(1);
          return;
        }
        if (clamp && beta < T(0)) return;
        const T power = std::pow(beta, p0 - T(1));
        dp[1] = p2 * p0 * power;
        dp[2] = power * beta;
        return;
      }
      case kMatern12: {  // exp(-rho / p0)
        const T rho = std::sqrt(r2 + T(1e-30));
        dp[0] = value * rho / (p0 * p0);
        return;
      }
      case kMatern32: {  // (1 + u) exp(-u), u = sqrt(3) rho / p0: dk/du = -u exp(-u)
        const T u = std::sqrt(T(3)) * std::sqrt(r2 + T(1e-30)) / p0;
        dp[0] = u * u * std::exp(-u) / p0;
        return;
      }
      case kMatern52: {  // (1 + u + u^2/3) exp(-u): dk/du = -u (1 + u) exp(-u) / 3
        const T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
        dp[0] = u * u * (T(1) + u) * std::exp(-u) / (T(3) * p0);
        return;
      }
      case kRationalQuadratic: {  // base^(-p1), base = 1 + r2 / (2 p1 p0^2)
        const T z = r2 / (T(2) * p1 * p0 * p0);
        const T base = T(1) + z;
        dp[0] = value * r2 / (base * p0 * p0 * p0);
        dp[1] = value * (z / base - std::log1p(z));
        return;
      }
      default:  // kLinear: no parameters
        return;
    }
  }

  // The value alone, from <a,b> and |a-b|^2: the operations eval uses for it, without
  // those of s (the polynomial kernel then takes one pow, not two).
  SKSIG_HD T value_of(T dot, T r2) const {
    switch (kind) {
      case kLinear:
        return dot;
      case kScaledLinear:
        return p0 * p0 * dot;
      case kRBF:
        return std::exp(-r2 / p0);
      case kPolynomial: {
        T beta = dot + p1;
        if (p0 == T(0)) return p2;
        if (clamp && beta < T(0)) return T(0);
        return p2 * std::pow(beta, p0);
      }
      case kMatern12:
        return std::exp(-std::sqrt(r2 + T(1e-30)) / p0);
      case kMatern32: {
        T u = std::sqrt(T(3)) * std::sqrt(r2 + T(1e-30)) / p0;
        return (T(1) + u) * std::exp(-u);
      }
      case kMatern52: {
        T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
        return (T(1) + u + u * u / T(3)) * std::exp(-u);
      }
      default:
        return std::pow(T(1) + r2 / (T(2) * p1 * p0 * p0), -p1);
    }
  }

  // <a, b> and |a - b|^2, the two sums every kernel value is a function of.
  SKSIG_HD static void sums(const T* a, const T* b, std::int64_t d, T& dot, T& r2) {
    dot = 0;
    r2 = 0;
    for (std::int64_t c = 0; c < d; ++c) {
      dot += a[c] * b[c];
      T diff = a[c] - b[c];
      r2 += diff * diff;
    }
  }

  SKSIG_HD T value(const T* a, const T* b, std::int64_t d) const {
    T dot, r2;
    sums(a, b, d, dot, r2);
    return value_of(dot, r2);
  }

  SKSIG_HD T grad_scalar(const T* a, const T* b, std::int64_t d) const {
    T dot, r2;
    sums(a, b, d, dot, r2);
    T v, s;
    eval(dot, r2, v, s);
    return s;
  }
};

// The kernel as entry points receive it (no template, so Cython can build it).
struct KernelParams {
  int kind;
  double p0, p1, p2;
  bool clamp;
};

template <class T>
StaticKernel<T> make_static_kernel(const KernelParams& k) {
  return StaticKernel<T>{k.kind, T(k.p0), T(k.p1), T(k.p2), k.clamp};
}

// Increment Gram of x (L1 points) and y (L2 points), row p only:
//   out[q * stride] = Delta[p, q], q = 0..L2-2.
// For non-linear kernels, kappa_prev holds k(x[p], y[.]) on entry (filled when p == 0)
// and k(x[p+1], y[.]) on exit. dy holds the increments of y (linear kernels only).
template <class T>
void delta_row(const StaticKernel<T>& k, const T* x, const T* y, const T* dy,
               std::int64_t L2, std::int64_t d, std::int64_t p, T* kappa_prev,
               T* kappa_cur, T* out, std::int64_t stride) {
  const std::int64_t n2 = L2 - 1;
  if (k.is_linear()) {
    const T s = k.linear_scale();
    const T* x0 = x + p * d;
    const T* x1 = x0 + d;
    for (std::int64_t q = 0; q < n2; ++q) {
      T acc = 0;
      for (std::int64_t c = 0; c < d; ++c) acc += (x1[c] - x0[c]) * dy[q * d + c];
      out[q * stride] = s * acc;
    }
    return;
  }
  if (p == 0)
    for (std::int64_t q = 0; q < L2; ++q) kappa_prev[q] = k.value(x, y + q * d, d);
  for (std::int64_t q = 0; q < L2; ++q) kappa_cur[q] = k.value(x + (p + 1) * d, y + q * d, d);
  for (std::int64_t q = 0; q < n2; ++q)
    out[q * stride] = kappa_cur[q + 1] - kappa_prev[q + 1] - kappa_cur[q] + kappa_prev[q];
  for (std::int64_t q = 0; q < L2; ++q) kappa_prev[q] = kappa_cur[q];
}

// Chain rule (SPEC.md 3.3): gamma[p * gstride_p + q * gstride_q] = dF/dDelta[p, q] ->
// gx (L1, d) and gy (L2, d), overwritten. Either output may be null.
template <class T>
void delta_backprop(const StaticKernel<T>& k, const T* gamma, std::int64_t gs_p,
                    std::int64_t gs_q, const T* x, const T* y, std::int64_t L1,
                    std::int64_t L2, std::int64_t d, T* gx, T* gy) {
  const std::int64_t n1 = L1 - 1, n2 = L2 - 1;
  if (gx)
    for (std::int64_t i = 0; i < L1 * d; ++i) gx[i] = 0;
  if (gy)
    for (std::int64_t i = 0; i < L2 * d; ++i) gy[i] = 0;
  auto G = [&](std::int64_t p, std::int64_t q) -> T {
    return (p < 0 || q < 0 || p >= n1 || q >= n2) ? T(0) : gamma[p * gs_p + q * gs_q];
  };
  if (k.is_linear()) {
    // Delta = s dX dY^T: pull back to the increments with two matrix products, then
    // to the points (x[a] enters dx_{a-1} with + and dx_a with -).
    const T s = k.linear_scale();
    std::vector<T> dx(n1 * d), dy(n2 * d), gdx(n1 * d, T(0)), gdy(n2 * d, T(0));
    for (std::int64_t i = 0; i < n1 * d; ++i) dx[i] = x[i + d] - x[i];
    for (std::int64_t i = 0; i < n2 * d; ++i) dy[i] = y[i + d] - y[i];
    for (std::int64_t p = 0; p < n1; ++p) {
      T* gp = gdx.data() + p * d;
      const T* xp = dx.data() + p * d;
      for (std::int64_t q = 0; q < n2; ++q) {
        const T g = s * gamma[p * gs_p + q * gs_q];
        const T* yq = dy.data() + q * d;
        T* gq = gdy.data() + q * d;
        for (std::int64_t c = 0; c < d; ++c) {
          gp[c] += g * yq[c];
          gq[c] += g * xp[c];
        }
      }
    }
    auto to_points = [d](const std::vector<T>& gd, std::int64_t n, T* out) {
      for (std::int64_t a = 0; a <= n; ++a)
        for (std::int64_t c = 0; c < d; ++c)
          out[a * d + c] = (a > 0 ? gd[(a - 1) * d + c] : T(0)) - (a < n ? gd[a * d + c] : T(0));
    };
    if (gx) to_points(gdx, n1, gx);
    if (gy) to_points(gdy, n2, gy);
    return;
  }
  const bool radial = k.is_radial();
  for (std::int64_t a = 0; a <= n1; ++a) {
    const T* xa = x + a * d;
    for (std::int64_t b = 0; b <= n2; ++b) {
      const T dk = G(a - 1, b - 1) - G(a, b - 1) - G(a - 1, b) + G(a, b);
      if (dk == T(0)) continue;
      const T* yb = y + b * d;
      const T s = dk * k.grad_scalar(xa, yb, d);
      for (std::int64_t c = 0; c < d; ++c) {
        if (radial) {
          const T v = s * (xa[c] - yb[c]);
          if (gx) gx[a * d + c] += v;
          if (gy) gy[b * d + c] -= v;
        } else {
          if (gx) gx[a * d + c] += s * yb[c];
          if (gy) gy[b * d + c] += s * xa[c];
        }
      }
    }
  }
}

// Batched increment Gram of pairs (x[b], y[b]): delta (batch, L1-1, L2-1).
template <class T>
int increment_gram(const T* x, const T* y, std::int64_t batch, std::int64_t L1,
                   std::int64_t L2, std::int64_t d, KernelParams kp, T* delta,
                   int n_threads) noexcept {
  const StaticKernel<T> k = make_static_kernel<T>(kp);
  if (L1 < 1 || L2 < 1 || d < 1) return kInvalidArgument;
  const std::int64_t n1 = L1 - 1, n2 = L2 - 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) {
    const T* xb = x + b * L1 * d;
    const T* yb = y + b * L2 * d;
    std::vector<T> dy(n2 * d), kp(L2), kc(L2);
    for (std::int64_t q = 0; q < n2; ++q)
      for (std::int64_t c = 0; c < d; ++c) dy[q * d + c] = yb[(q + 1) * d + c] - yb[q * d + c];
    for (std::int64_t p = 0; p < n1; ++p)
      delta_row(k, xb, yb, dy.data(), L2, d, p, kp.data(), kc.data(),
                delta + (b * n1 + p) * n2, 1);
    return kOk;
  });
}

// Its vector-Jacobian product: gamma (batch, L1-1, L2-1) -> gx (batch, L1, d),
// gy (batch, L2, d).
template <class T>
int increment_gram_backprop(const T* gamma, const T* x, const T* y, std::int64_t batch,
                            std::int64_t L1, std::int64_t L2, std::int64_t d,
                            KernelParams kp, T* gx, T* gy, int n_threads) noexcept {
  const StaticKernel<T> k = make_static_kernel<T>(kp);
  if (L1 < 1 || L2 < 1 || d < 1) return kInvalidArgument;
  const std::int64_t n1 = L1 - 1, n2 = L2 - 1;
  return parallel_for(batch, n_threads, [&](std::int64_t b) {
    delta_backprop(k, gamma + b * n1 * n2, n2, 1, x + b * L1 * d, y + b * L2 * d, L1, L2, d,
                   gx + b * L1 * d, gy + b * L2 * d);
    return kOk;
  });
}

}  // namespace sksig

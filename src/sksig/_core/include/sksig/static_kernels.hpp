// Static kernels (SPEC.md section 3): values, gradients, the increment Gram Delta of one
// pair of paths and the chain rule from dF/dDelta back to the path points.
#pragma once

#include <cmath>
#include <cstdint>

#include <vector>

#include "fast_exp.hpp"
#include "hd.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "status.hpp"

namespace sksig {

// The exp of the static kernels: fast_exp on the CPU in float and double (every CPU
// path, vectorised or not, and the CUDA emulation compute the same kernel values), the
// GPU's own exp in device code, std::exp in long double (the extended-range solver of
// goursat_log.hpp, which has no vector path).
template <class T>
SKSIG_HD T kernel_exp(T x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  if constexpr (sizeof(T) > sizeof(double)) {
    return std::exp(x);
  } else {
    return fast_exp(x);
  }
#endif
}

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

// op.template run<K>() for K = kind: code for one kind compiled with the kind known (a
// loop over it then has no switch inside, so the exp kernels' loops vectorise). Kinds
// are 0..kRationalQuadratic; anything else runs as the last, as a switch's default.
template <int K = 0, class Op>
SKSIG_HD auto with_kind(int kind, const Op& op) -> decltype(op.template run<0>()) {
  if constexpr (K == kRationalQuadratic) {
    return op.template run<K>();
  } else {
    return kind == K ? op.template run<K>() : with_kind<K + 1>(kind, op);
  }
}

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
    with_kind(kind, EvalOp{this, dot, r2, &value, &s});
  }
  struct EvalOp {
    const StaticKernel* k;
    T dot, r2;
    T *value, *s;
    template <int Kind>
    SKSIG_HD void run() const { k->template eval_as<Kind>(dot, r2, *value, *s); }
  };

  // eval for a kind known at compile time (a loop over it has no switch inside, so the
  // exp kernels' loops vectorise).
  template <int Kind>
  SKSIG_HD void eval_as(T dot, T r2, T& value, T& s) const {
    if constexpr (Kind == kLinear) {
      value = dot;
      s = T(1);
    } else if constexpr (Kind == kScaledLinear) {
      value = p0 * p0 * dot;
      s = p0 * p0;
    } else if constexpr (Kind == kRBF) {
      value = kernel_exp(-r2 / p0);
      s = -T(2) / p0 * value;
    } else if constexpr (Kind == kPolynomial) {
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
    } else if constexpr (Kind == kMatern12) {
      T rho = std::sqrt(r2 + T(1e-30));
      value = kernel_exp(-rho / p0);
      s = -value / (p0 * (rho > T(1e-15) ? rho : T(1e-15)));
    } else if constexpr (Kind == kMatern32) {
      T u = std::sqrt(T(3)) * std::sqrt(r2 + T(1e-30)) / p0;
      T e = kernel_exp(-u);
      value = (T(1) + u) * e;
      s = -T(3) / (p0 * p0) * e;
    } else if constexpr (Kind == kMatern52) {
      T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
      T e = kernel_exp(-u);
      value = (T(1) + u + u * u / T(3)) * e;
      s = -T(5) / (T(3) * p0 * p0) * (T(1) + u) * e;
    } else {  // kRationalQuadratic
      T base = T(1) + r2 / (T(2) * p1 * p0 * p0);
      value = std::pow(base, -p1);
      s = -value / (base * p0 * p0);
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
        dp[0] = u * u * kernel_exp(-u) / p0;
        return;
      }
      case kMatern52: {  // (1 + u + u^2/3) exp(-u): dk/du = -u (1 + u) exp(-u) / 3
        const T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
        dp[0] = u * u * (T(1) + u) * kernel_exp(-u) / (T(3) * p0);
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
  SKSIG_HD T value_of(T dot, T r2) const { return with_kind(kind, ValueOp{this, dot, r2}); }
  struct ValueOp {
    const StaticKernel* k;
    T dot, r2;
    template <int Kind>
    SKSIG_HD T run() const { return k->template value_as<Kind>(dot, r2); }
  };

  template <int Kind>
  SKSIG_HD T value_as(T dot, T r2) const {
    if constexpr (Kind == kLinear) {
      return dot;
    } else if constexpr (Kind == kScaledLinear) {
      return p0 * p0 * dot;
    } else if constexpr (Kind == kRBF) {
      return kernel_exp(-r2 / p0);
    } else if constexpr (Kind == kPolynomial) {
      T beta = dot + p1;
      if (p0 == T(0)) return p2;
      if (clamp && beta < T(0)) return T(0);
      return p2 * std::pow(beta, p0);
    } else if constexpr (Kind == kMatern12) {
      return kernel_exp(-std::sqrt(r2 + T(1e-30)) / p0);
    } else if constexpr (Kind == kMatern32) {
      T u = std::sqrt(T(3)) * std::sqrt(r2 + T(1e-30)) / p0;
      return (T(1) + u) * kernel_exp(-u);
    } else if constexpr (Kind == kMatern52) {
      T u = std::sqrt(T(5)) * std::sqrt(r2 + T(1e-30)) / p0;
      return (T(1) + u + u * u / T(3)) * kernel_exp(-u);
    } else {
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

// Row forms of value_of and of eval's gradient scalar, for the hot loops:
//   value_row: out[i] = k.value_of(dot[i], r2[i]);
//   grad_row:  out[i] = g[i] * s(dot[i], r2[i]), s as eval gives it;  i < n.
// One loop per kind (with_kind) in the vector copy (simd.hpp): the operations of the
// scalar functions, so the same bits; the exp kernels' loops vectorise.
template <class T>
struct ValueRow {
  const StaticKernel<T>& k;
  const T *dot, *r2;
  T* out;
  std::int64_t n;
  template <int Kind>
  void run() const {
    simd_call([](const StaticKernel<T> k, const T* __restrict dot, const T* __restrict r2,
                 T* __restrict out, std::int64_t n) SKSIG_KERNEL_BODY {
      for (std::int64_t i = 0; i < n; ++i) out[i] = k.template value_as<Kind>(dot[i], r2[i]);
    }, k, dot, r2, out, n);
  }
};

template <class T>
void value_row(const StaticKernel<T>& k, const T* dot, const T* r2, T* out,
               std::int64_t n) {
  with_kind(k.kind, ValueRow<T>{k, dot, r2, out, n});
}

template <class T>
struct GradRow {
  const StaticKernel<T>& k;
  const T *dot, *r2, *g;
  T* out;
  std::int64_t n;
  template <int Kind>
  void run() const {
    simd_call([](const StaticKernel<T> k, const T* __restrict dot, const T* __restrict r2,
                 const T* __restrict g, T* __restrict out, std::int64_t n) SKSIG_KERNEL_BODY {
      for (std::int64_t i = 0; i < n; ++i) {
        T v, s;
        k.template eval_as<Kind>(dot[i], r2[i], v, s);
        out[i] = g[i] * s;
      }
    }, k, dot, r2, g, out, n);
  }
};

template <class T>
void grad_row(const StaticKernel<T>& k, const T* dot, const T* r2, const T* g, T* out,
              std::int64_t n) {
  with_kind(k.kind, GradRow<T>{k, dot, r2, g, out, n});
}

// |x_a - y_b|^2 (radial) or <x_a, y_b> (the others: the one sum each kind reads) for
// b < n, y transposed (yt[c * n + b] = y_b[c]): the operations and order of
// StaticKernel::sums per b, vectorised across b.
template <class T>
void sums_row(const T* xa, const T* yt, std::int64_t n, std::int64_t d, bool radial,
              T* out) {
  simd_call([](const T* __restrict xa, const T* __restrict yt, std::int64_t n,
               std::int64_t d, bool radial, T* __restrict out) SKSIG_KERNEL_BODY {
    if (radial) {
      for (std::int64_t b = 0; b < n; ++b) {
        const T diff = xa[0] - yt[b];
        out[b] = T(0) + diff * diff;
      }
      for (std::int64_t c = 1; c < d; ++c) {
        const T* yc = yt + c * n;
        for (std::int64_t b = 0; b < n; ++b) {
          const T diff = xa[c] - yc[b];
          out[b] += diff * diff;
        }
      }
    } else {
      for (std::int64_t b = 0; b < n; ++b) out[b] = T(0) + xa[0] * yt[b];
      for (std::int64_t c = 1; c < d; ++c) {
        const T* yc = yt + c * n;
        for (std::int64_t b = 0; b < n; ++b) out[b] += xa[c] * yc[b];
      }
    }
  }, xa, yt, n, d, radial, out);
}

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

// The accumulation of the chain rule for point a of x, b = 0..n-1 in order, skipping
// dk[b] == 0: radial kernels gxa += s_b (x_a - y_b), gy_b -= the same; the others
// gxa += s_b y_b, gy_b += s_b x_a. D > 0 is d known at compile time (then x_a's
// gradient stays in registers across b), D = 0 any d: the same operations either way.
template <int D, class T>
void chain_row_d(const T* xa, const T* y, const T* dk, const T* s, T* gxa, T* gy,
                 std::int64_t n, std::int64_t d, bool radial) {
  simd_call([](const T* __restrict xa, const T* __restrict y, const T* __restrict dk,
               const T* __restrict s, T* __restrict gxa, T* __restrict gy, std::int64_t n,
               std::int64_t d, bool radial) SKSIG_KERNEL_BODY {
    const std::int64_t dd = D > 0 ? D : d;
    for (std::int64_t b = 0; b < n; ++b) {
      if (dk[b] == T(0)) continue;
      const T sb = s[b];
      const T* yb = y + b * dd;
      T* gyb = gy + b * dd;
      if (radial) {
        for (std::int64_t c = 0; c < dd; ++c) {
          const T v = sb * (xa[c] - yb[c]);
          gxa[c] += v;
          gyb[c] -= v;
        }
      } else {
        for (std::int64_t c = 0; c < dd; ++c) {
          gxa[c] += sb * yb[c];
          gyb[c] += sb * xa[c];
        }
      }
    }
  }, xa, y, dk, s, gxa, gy, n, d, radial);
}

template <class T>
void chain_row(const T* xa, const T* y, const T* dk, const T* s, T* gxa, T* gy,
               std::int64_t n, std::int64_t d, bool radial) {
  switch (d) {
    case 2:
      return chain_row_d<2>(xa, y, dk, s, gxa, gy, n, d, radial);
    case 3:
      return chain_row_d<3>(xa, y, dk, s, gxa, gy, n, d, radial);
    case 4:
      return chain_row_d<4>(xa, y, dk, s, gxa, gy, n, d, radial);
    case 8:
      return chain_row_d<8>(xa, y, dk, s, gxa, gy, n, d, radial);
    default:
      return chain_row_d<0>(xa, y, dk, s, gxa, gy, n, d, radial);
  }
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
  // Point a of x at a time: the weights dk of every point b of y, their sums and the
  // gradient scalars as rows (vectorised for the exp kernels), then the accumulation in
  // the order of one (a, b) pair after another (chain_row). Null outputs go to scratch.
  const bool radial = k.is_radial();
  std::vector<T> yt(d * L2), dk(L2), sums(L2), s(L2), gx_scratch, gy_scratch;
  std::vector<T> gprev(L2 + 1, T(0)), gcur(L2 + 1, T(0));  // G(a - 1, b - 1), G(a, b - 1)
  for (std::int64_t b = 0; b <= n2; ++b)
    for (std::int64_t c = 0; c < d; ++c) yt[c * L2 + b] = y[b * d + c];
  if (!gx) gx_scratch.assign(d, T(0));
  if (!gy) gy_scratch.assign(L2 * d, T(0));
  T* gyo = gy ? gy : gy_scratch.data();
  for (std::int64_t a = 0; a <= n1; ++a) {
    const T* xa = x + a * d;
    // Rows of G padded with its zeros: gcur[b] = G(a, b - 1), b = 0..L2.
    std::swap(gprev, gcur);
    for (std::int64_t b = 1; b <= n2; ++b) gcur[b] = a < n1 ? G(a, b - 1) : T(0);
    simd_call([](const T* __restrict gp, const T* __restrict gc, T* __restrict dk,
                 std::int64_t L2) SKSIG_KERNEL_BODY {
      for (std::int64_t b = 0; b < L2; ++b) dk[b] = gp[b] - gc[b] - gp[b + 1] + gc[b + 1];
    }, static_cast<const T*>(gprev.data()), static_cast<const T*>(gcur.data()), dk.data(),
       L2);
    sums_row(xa, yt.data(), L2, d, radial, sums.data());
    // eval reads only r2 for radial kernels and only dot for the others.
    grad_row(k, sums.data(), sums.data(), dk.data(), s.data(), L2);
    chain_row(xa, y, dk.data(), s.data(), gx ? gx + a * d : gx_scratch.data(), gyo, L2, d,
              radial);
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

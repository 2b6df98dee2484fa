// exp(x) written as plain arithmetic, so that a loop calling it vectorises (no library
// call) and the vector and scalar copies of a kernel (simd.hpp) give the same bits.
//
// Double: x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts, the first
// with trailing zeros so that k * kLn2Hi is exact, and the rounding error of r kept),
// exp(r) = 1 + r + r^2 q(r) with q the Taylor polynomial of degree 11 (truncation
// below 1e-17, evaluated by Estrin's scheme), the 1 + r added last with its rounding error carried, so that the
// result is rounded essentially once; then times 2^k. The integer k comes out of the
// "round by adding 1.5 * 2^52" trick, and 2^k is built in the exponent bits of two
// factors 2^k1 * 2^k2 (k1 = round(k / 2)), each a normal number even when exp(x) is
// subnormal: p * 2^k1 is exact, and the product with 2^k2 rounds once, so subnormal
// results are right instead of flushed. Edges: exp is 0 below -746 and inf above 710
// (-inf -> 0, +inf -> inf), NaN stays NaN. Error: at most 0.68 ulp for normal results
// and 0.76 ulp (of the subnormal spacing) for subnormal ones, as measured by
// tests/test_fast_exp.py against a long-double oracle over [-745.2, 709.8].
//
// Float: the double routine on the widened argument, rounded once to float; the double
// result is within about 1e-16 relatively, so the float result is the correctly rounded
// one except in rare near-ties (then within 0.5 + 2^-28 ulp), overflow (x above about
// 88.72) gives inf, and subnormal results round correctly.
//
// Only additions, multiplications, exact conversions and 64-bit integer additions and
// left shifts: no contraction (simd.hpp's rule), nothing that differs between the
// baseline and x86-64-v3 copies.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "hd.hpp"
#include "simd.hpp"

namespace sksig {

namespace fast_exp_detail {
constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: x + kShift rounds x to an int
constexpr std::uint64_t kShiftBits = 0x4338000000000000ULL;  // its bit pattern

// 2^n for an integer n in [-1022, 1023] held in the low bits of s = n + kShift.
SKSIG_HD double pow2_of_shifted(double s) {
  std::uint64_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  bits = (bits - kShiftBits + 1023) << 52;  // unsigned: wraps for n < 0, as it should
  double p;
  std::memcpy(&p, &bits, sizeof p);
  return p;
}

// exp(x) before its scaling by 2^k: the steps fast_exp and fast_exp_vec share (X is
// double or a Vec<double>, whose lanes take the same operations). s = x log2(e) +
// kShift, whose low bits hold k = round(x / ln2), and the result p = exp(x - k ln2).
#include "psabi_off.hpp"
template <class X>
SKSIG_HD SKSIG_KERNEL_BODY X exp_reduced(X x, X& s) {
  constexpr double kLog2e = 1.4426950408889634, kLn2Hi = 0.6931471803691238,
                   kLn2Lo = 1.9082149292705877e-10;
  s = x * kLog2e + kShift;
  const X k = s - kShift;  // round(x / ln2), in -1076..1024
  // r = x - k ln2 = rh - rl: rh exact, r rounded, c its rounding error (Fast2Sum).
  const X rh = x - k * kLn2Hi, rl = k * kLn2Lo;
  const X r = rh - rl;
  const X c = (rh - r) - rl;
  // exp(r + c) = 1 + r + r^2 q(r) + c (1 + r) + O(c r^2), q(r) = 1/2 + r/6 + ... + r^11/13!
  // q by Estrin's scheme (a dependency chain of 7 operations, not 22): pairs of terms,
  // then combined with r^2 and r^4.
  const X r2 = r * r, r4 = r2 * r2;
  const X a01 = 0.5 + r * (1.0 / 6.0), a23 = 1.0 / 24.0 + r * (1.0 / 120.0),
          a45 = 1.0 / 720.0 + r * (1.0 / 5040.0),
          a67 = 1.0 / 40320.0 + r * (1.0 / 362880.0),
          a89 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0),
          a1011 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const X b03 = a01 + r2 * a23, b47 = a45 + r2 * a67, b811 = a89 + r2 * a1011;
  const X q = b03 + r4 * (b47 + r4 * b811);
  const X t = c + r * (c + r * q);  // all but 1 + r, small (|t| < 0.08)
  const X h = 1.0 + r;
  const X e = (1.0 - h) + r;  // 1 + r = h + e exactly (Fast2Sum, |r| < 1)
  return h + (e + t);         // exp(r), rounded once at the end
}
#include "psabi_on.hpp"
}  // namespace fast_exp_detail

SKSIG_HD double fast_exp(double x) {
  using fast_exp_detail::kShift;
  using fast_exp_detail::pow2_of_shifted;
  double s;
  const double p = fast_exp_detail::exp_reduced(x, s);
  const double k = s - kShift;
  // 2^k = 2^k1 2^k2 with k1 = round(k / 2) (exact: k / 2 is a multiple of 1/2), both
  // in [-538, 512].
  const double s1 = k * 0.5 + kShift;
  const double k2 = k - (s1 - kShift);
  const double y = (p * pow2_of_shifted(s1)) * pow2_of_shifted(k2 + kShift);
  // Out of range, the lines above computed garbage: exp is 0 below -746 and inf above
  // 710. Selected with bit masks (with plain selects the compiler moves the arithmetic
  // into a branch, and the loop no longer vectorises); NaN fails both comparisons and
  // stays NaN.
  const std::uint64_t under = x < -746.0 ? ~std::uint64_t(0) : 0;
  const std::uint64_t over = x > 710.0 ? ~std::uint64_t(0) : 0;
  std::uint64_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  bits = (bits & ~(under | over)) | (over & 0x7ff0000000000000ULL);
  double out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

SKSIG_HD float fast_exp(float x) {
  return static_cast<float>(fast_exp(static_cast<double>(x)));
}

#if defined(__GNUC__) && !defined(__CUDACC__)
#include "psabi_off.hpp"
// out[j] = fast_exp(in[j]) for N vectors (simd.hpp's Vec) of j, the same bits. When every lane
// lies in [-708, 709], exp(x) = p 2^k is a normal number and both products of
// fast_exp's final scaling (p 2^k1, then 2^k2) are exact, so one product by 2^k (built
// from x log2(e) + kShift, whose low bits hold k) gives the same result, and the
// out-of-range masks select nothing; otherwise each lane takes fast_exp itself. The
// steps before are fast_exp's, operation for operation.
template <int N>
__attribute__((always_inline)) inline void fast_exp_vec(const double* in, double* out) {
  using V = Vec<double>::type;
  typedef std::int64_t I __attribute__((vector_size(32)));
  typedef std::uint64_t U __attribute__((vector_size(32)));
  using fast_exp_detail::kShiftBits;
  constexpr int S = Vec<double>::size;
  V x[N];
  bool all = true;
  for (int n = 0; n < N; ++n) {
    x[n] = load_vec(in + n * S);
    const I inside = (x[n] >= -708.0) & (x[n] <= 709.0);  // false for NaN
    for (int l = 0; l < S; ++l) all = all && inside[l] != 0;
  }
  if (!all) {
    for (int j = 0; j < N * S; ++j) out[j] = fast_exp(in[j]);
    return;
  }
  // N independent vectors one after another in straight-line code, so that their
  // chains overlap.
  V s0[N], p[N];
  for (int n = 0; n < N; ++n) p[n] = fast_exp_detail::exp_reduced(x[n], s0[n]);
  for (int n = 0; n < N; ++n) {
    U bits;
    std::memcpy(&bits, &s0[n], sizeof bits);
    bits = (bits - kShiftBits + 1023) << 52;  // 2^k, as pow2_of_shifted(s0)
    V pow2;
    std::memcpy(&pow2, &bits, sizeof pow2);
    store_vec(out + n * S, p[n] * pow2);
  }
}
#include "psabi_on.hpp"
#endif

// out[j] = fast_exp(in[j]), j < n, in the vector copy where the CPU has it.
template <class T>
void exp_row(const T* in, T* out, std::int64_t n) noexcept {
  simd_call([](const T* __restrict in, T* __restrict out, std::int64_t n) SKSIG_KERNEL_BODY {
    for (std::int64_t j = 0; j < n; ++j) out[j] = fast_exp(in[j]);
  }, in, out, n);
}

}  // namespace sksig

// Extended-range signature kernels: the overflow-safe normalized kernel and log k.
//
// Signature kernels of unscaled data can exceed the range of double (1e308) while the
// quantities users want from them, k(x,y) / sqrt(k(x,x) k(y,y)) and log k(x,y), are
// ordinary numbers. Here the Goursat scheme of goursat.hpp and its exact adjoint run in
// long double, whose exponent range (to 2^16383 with the x87 / IEEE quad formats of
// Linux on x86-64 and ARM64) holds every kernel of practical paths, with no rescaling
// logic and the same formulas cell by cell. Results leave as a double mantissa and an
// integer power of two (k = mantissa * 2^exponent), so that normalization and
// logarithms are formed in Python without ever forming the overflowing value; the
// adjoint takes its seeds in the same split form. extended_range() says whether this
// platform's long double has the wider exponent (where it does not, the Python layer
// reports that the kernel overflows).
//
// Pairs are given as index lists (ii[p], jj[p]) into the path batches, so one entry
// point serves pairwise kernels, Gram upper triangles and diagonals.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "goursat.hpp"

namespace sksig {

// One pair per block: long double has no SIMD lanes worth interleaving.
template <>
constexpr int kLanes<long double> = 1;

inline bool extended_range() { return LDBL_MAX_EXP > 1024; }

namespace detail {

// Copies the paths of the listed pairs into long double buffers (pair-major).
template <class T>
void gather_pairs(const T* src, const std::int64_t* idx, std::int64_t n_pairs,
                  std::int64_t stride, std::vector<long double>& out) {
  out.resize(n_pairs * stride);
  for (std::int64_t p = 0; p < n_pairs; ++p)
    for (std::int64_t e = 0; e < stride; ++e)
      out[p * stride + e] = static_cast<long double>(src[idx[p] * stride + e]);
}

}  // namespace detail

// k(x[ii[p]], y[jj[p]]) = mantissa[p] * 2^exponent[p] (mantissa 0 for k = 0).
template <class T>
int sig_kernel_pairs_extended(const T* x, const T* y, std::int64_t n_pairs,
                              const std::int64_t* ii, const std::int64_t* jj,
                              GoursatShape sh, KernelParams kp, double* mantissa,
                              std::int64_t* exponent, int n_threads) noexcept {
  using X = long double;
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  return guarded([&]() -> int {
    std::vector<X> xe, ye, k(n_pairs);
    detail::gather_pairs(x, ii, n_pairs, sh.L1 * sh.d, xe);
    detail::gather_pairs(y, jj, n_pairs, sh.L2 * sh.d, ye);
    const int status = sig_kernel_pairs<X>(xe.data(), ye.data(), n_pairs, n_pairs, false,
                                           sh, kp, k.data(), static_cast<X*>(nullptr),
                                           n_threads);
    if (status != kOk) return status;
    for (std::int64_t p = 0; p < n_pairs; ++p) {
      int e = 0;
      const X m = std::frexp(k[p], &e);
      mantissa[p] = static_cast<double>(m);
      exponent[p] = e;
    }
    return kOk;
  });
}

// Gradients of sum_p seed[p] * k(x[ii[p]], y[jj[p]]) with seed[p] = seed_mantissa[p] *
// 2^seed_exponent[p], per pair: gx (n_pairs, L1, d), gy (n_pairs, L2, d), either null.
// The seeds of the normalized kernel and of log k carry 1/k, so the gradients are
// ordinary numbers even where k itself is not a double.
template <class T>
int sig_kernel_pairs_backprop_extended(const T* x, const T* y, std::int64_t n_pairs,
                                       const std::int64_t* ii, const std::int64_t* jj,
                                       GoursatShape sh, KernelParams kp,
                                       const double* seed_mantissa,
                                       const std::int64_t* seed_exponent, T* gx, T* gy,
                                       int n_threads) noexcept {
  using X = long double;
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  return guarded([&]() -> int {
    const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
    std::vector<X> xe, ye, seeds(n_pairs), gxe(gx ? n_pairs * sx : 0),
        gye(gy ? n_pairs * sy : 0);
    detail::gather_pairs(x, ii, n_pairs, sx, xe);
    detail::gather_pairs(y, jj, n_pairs, sy, ye);
    for (std::int64_t p = 0; p < n_pairs; ++p)
      seeds[p] = std::ldexp(static_cast<X>(seed_mantissa[p]), int(seed_exponent[p]));
    const int status = sig_kernel_pairs_backprop<X>(
        xe.data(), ye.data(), 0, n_pairs, n_pairs, false, sh, kp, seeds.data(), false,
        static_cast<const X*>(nullptr), gx ? gxe.data() : nullptr,
        gy ? gye.data() : nullptr, static_cast<X*>(nullptr), n_threads);
    if (status != kOk) return status;
    for (std::int64_t i = 0; i < n_pairs * sx && gx; ++i) gx[i] = static_cast<T>(gxe[i]);
    for (std::int64_t i = 0; i < n_pairs * sy && gy; ++i) gy[i] = static_cast<T>(gye[i]);
    if (gx && !all_finite(gx, n_pairs * sx)) return kNonFinite;
    if (gy && !all_finite(gy, n_pairs * sy)) return kNonFinite;
    return kOk;
  });
}

}  // namespace sksig

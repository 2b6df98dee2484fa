// Pack<T, W>: W independent items computed in lock-step. The tensor-algebra kernels are
// templates on the scalar type; instantiated with a Pack they process W paths (or join
// items) at once, so every short inner loop (one letter, d = 2..4) becomes a SIMD loop
// over items. Lanes never mix, so each item's result does not depend on its lane or on
// which other items share its pack.
#pragma once

// SKSIG_SIMD_CLONES: the hot tensor kernels are compiled twice, for baseline x86-64 and
// for x86-64-v3 (AVX2 + FMA, where a Pack<double, 4> fills one register), and the CPU
// picks one at load time. Elsewhere (other compilers or CPUs) it is empty.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SKSIG_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SKSIG_SIMD_CLONES
#endif

// SKSIG_NO_FP_CONTRACT: GCC's default -ffp-contract=fast may fuse a product and a sum
// of different statements into one FMA in some lanes of a Pack and not in others (after
// partial vectorisation), so that an item's result would depend on its lane. Kernels
// where this was seen are compiled without contraction (the cost measured was nil).
#if defined(__GNUC__) && !defined(__clang__)
#define SKSIG_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define SKSIG_NO_FP_CONTRACT
#endif

namespace sksig {

template <class T, int W>
struct Pack {
  T x[W];

  Pack() = default;
  Pack(T s) {  // NOLINT: implicit, so that scalar constants read naturally
    for (int l = 0; l < W; ++l) x[l] = s;
  }
  Pack& operator+=(const Pack& o) {
    for (int l = 0; l < W; ++l) x[l] += o.x[l];
    return *this;
  }
  Pack& operator-=(const Pack& o) {
    for (int l = 0; l < W; ++l) x[l] -= o.x[l];
    return *this;
  }
  Pack& operator*=(const Pack& o) {
    for (int l = 0; l < W; ++l) x[l] *= o.x[l];
    return *this;
  }
  friend Pack operator+(Pack a, const Pack& b) { return a += b; }
  friend Pack operator-(Pack a, const Pack& b) { return a -= b; }
  friend Pack operator*(Pack a, const Pack& b) { return a *= b; }
  friend Pack operator/(Pack a, const Pack& b) {
    for (int l = 0; l < W; ++l) a.x[l] /= b.x[l];
    return a;
  }
  friend Pack operator-(Pack a) {
    for (int l = 0; l < W; ++l) a.x[l] = -a.x[l];
    return a;
  }
};

// Items per pack: a few SIMD registers' worth, small enough that the per-thread scratch
// (about twenty tensors) stays in cache.
template <class T>
constexpr int pack_width() {
  return sizeof(T) == 4 ? 8 : 4;
}

}  // namespace sksig

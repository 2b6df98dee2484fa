// The SIMD vocabulary of the CPU cores, in one place: the vector path of the hot
// kernels, its one floating-point rule, and the two ways items are laid out in lanes.
//
// The rule: no floating-point contraction. Every product is rounded before it is added
// (a * b + c is never fused into one FMA), in every core, on every CPU and in both
// paths below. CMake compiles every target that includes these headers with
// -ffp-contract=off (GCC's default, "fast", would fuse where FMA exists: on the vector
// path only on x86-64, everywhere on aarch64). The two paths then perform the same IEEE
// operations in the same order, so results are bitwise identical whichever runs;
// tests/test_simd_paths.py checks that by running the scalar path in a subprocess.
//
// The vector path: on x86-64 Linux with GCC, each hot kernel is compiled twice, for
// baseline x86-64 and for x86-64-v3 (AVX2 and FMA: a Pack<double, 4> or a Vec<double>
// fills one register), and simd_call picks one per call from a flag read once per
// process: the v3 copy where the CPU supports it, unless the environment variable
// SKSIG_VECTOR_CLONES is set to 0 (the scalar path, for that test). Elsewhere (other
// compilers, CPUs or CUDA) there is one copy.
#pragma once

#include <cstdlib>
#include <cstring>
#include <utility>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__CUDACC__)
#define SKSIG_HAVE_VECTOR_PATH 1
#else
#define SKSIG_HAVE_VECTOR_PATH 0
#endif

// A kernel body handed to simd_call: a lambda marked SKSIG_KERNEL_BODY, e.g.
//   simd_call([&]() SKSIG_KERNEL_BODY { ... });
// It is inlined into each copy and so compiled for that copy's instruction set.
#if defined(__GNUC__)
#define SKSIG_KERNEL_BODY __attribute__((always_inline))
#else
#define SKSIG_KERNEL_BODY
#endif

namespace sksig {

// Whether simd_call takes the vector path (read once per process).
inline bool vector_clones_enabled() {
#if SKSIG_HAVE_VECTOR_PATH
  static const bool enabled = [] {
    const char* env = std::getenv("SKSIG_VECTOR_CLONES");
    if (env && std::strcmp(env, "0") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v3") != 0;
  }();
  return enabled;
#else
  return false;
#endif
}

namespace detail {
#if SKSIG_HAVE_VECTOR_PATH
template <class F, class... A>
__attribute__((target("arch=x86-64-v3"))) void vector_copy(F& body, A&&... args) {
  body(std::forward<A>(args)...);
}
#endif
template <class F, class... A>
void scalar_copy(F& body, A&&... args) {
  body(std::forward<A>(args)...);
}
}  // namespace detail

// body(args...) in the copy for this CPU. The body is a capture-less lambda taking the
// kernel's parameters as its own (pointers by value, possibly __restrict), so that its
// copies see fresh locals, as a function would, not references to the caller's frame.
template <class F, class... A>
inline void simd_call(F&& body, A&&... args) {
#if SKSIG_HAVE_VECTOR_PATH
  if (vector_clones_enabled()) {
    detail::vector_copy(body, std::forward<A>(args)...);
    return;
  }
#endif
  detail::scalar_copy(body, std::forward<A>(args)...);
}

// Pack<T, W>: W independent items computed in lock-step. The tensor-algebra kernels are
// templates on the scalar type; instantiated with a Pack they process W paths (or join
// items) at once, so every short inner loop (one letter, d = 2..4) becomes a SIMD loop
// over items. Lanes never mix, so each item's result does not depend on its lane or on
// which other items share its pack.
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

#if defined(__GNUC__) && !defined(__CUDACC__)
#if !defined(__clang__)
#pragma GCC diagnostic push  // always inlined: the ABI note on vectors does not apply
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
// Vec<T>: a GCC/Clang vector of 32 bytes (one AVX2 register, two SSE registers on the
// scalar path), for kernels that keep lane-block accumulators in registers. Every lane
// operation is the plain IEEE one. Passed by value only between always-inlined helpers.
template <class T>
struct Vec {
  static constexpr int size = 32 / static_cast<int>(sizeof(T));
  typedef T type __attribute__((vector_size(32)));
};

template <class T>
__attribute__((always_inline)) inline typename Vec<T>::type load_vec(const T* p) noexcept {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
__attribute__((always_inline)) inline void store_vec(T* p,
                                                     typename Vec<T>::type v) noexcept {
  std::memcpy(p, &v, sizeof v);
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

}  // namespace sksig

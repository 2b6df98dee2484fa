// Truncated tensor algebra T^(N)(R^d) (SPEC.md section 7).
//
// A tensor is one flat array holding levels 0..N: level 0 (the scalar) at index 0,
// then level k at offset (d^k - 1) / (d - 1) (k for d = 1), the word (i1, ..., ik)
// at i1 d^(k-1) + ... + ik within its level (row-major, i.e. lexicographic).
//
// Products, exp and log are written as "Horner" chains of products by an element X
// without scalar term; each chain keeps its intermediates when an adjoint is needed,
// so every backward pass is the exact reverse of its forward pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

// The hot kernels get an AVX2+FMA clone picked at load time on x86-64 CPUs that have
// it (GCC function multi-versioning); the default clone keeps the build portable.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(SKSIG_NO_CLONES)
#define SKSIG_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define SKSIG_CLONES
#endif

namespace sksig {

struct TensorShape {
  int d = 0;
  int N = 0;
  std::vector<std::int64_t> pw;   // pw[k] = d^k, k = 0..N
  std::vector<std::int64_t> off;  // off[k] = start of level k, off[N + 1] = size

  TensorShape(int dim, int degree) : d(dim), N(degree), pw(degree + 1), off(degree + 2) {
    pw[0] = 1;
    off[0] = 0;
    for (int k = 1; k <= N; ++k) pw[k] = pw[k - 1] * d;
    for (int k = 0; k <= N; ++k) off[k + 1] = off[k] + pw[k];
  }
  std::int64_t size() const { return off[N + 1]; }
  // Number of entries of levels 0..level.
  std::int64_t size_to(int level) const { return off[level + 1]; }
};

// Kernels take the dimension as a template argument D when it is small (the inner
// loops over one letter are then fixed-length and unrolled); D = 0 reads it from the
// shape. dispatch_dim picks the instantiation.
template <class F>
decltype(auto) dispatch_dim(int d, F&& f) {
  switch (d) {
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    default: return f(std::integral_constant<int, 0>{});
  }
}

// out = scale * (a (x) b), levels 0..max_level. Levels of `a` below a_lo are taken as 0
// (a_lo = 1 for elements without scalar term). `b` is read only up to the levels that
// contribute, so a `b` known only to level max_level - a_lo suffices. out must not
// alias a or b.
template <int D, class T>
SKSIG_CLONES void tensor_mul(const TensorShape& s, const T* a, const T* b, T* out, int max_level,
                T scale, int a_lo = 0) {
  const int d = D ? D : s.d;
  for (int k = 0; k <= max_level; ++k) {
    T* o = out + s.off[k];
    const std::int64_t nk = s.pw[k];
    std::fill(o, o + nk, T(0));
    for (int i = a_lo; i <= k; ++i) {
      const int j = k - i;
      const T* ai = a + s.off[i];
      const T* bj = b + s.off[j];
      if (j == 0) {  // a_k times a scalar
        const T bs = bj[0] * scale;
#pragma omp simd
        for (std::int64_t u = 0; u < nk; ++u) o[u] += ai[u] * bs;
      } else if (j == 1) {  // rows of one letter
        for (std::int64_t u = 0; u < s.pw[i]; ++u) {
          const T au = ai[u] * scale;
          T* row = o + u * d;
          for (int c = 0; c < d; ++c) row[c] += au * bj[c];
        }
      } else {
        const std::int64_t nj = s.pw[j];
        for (std::int64_t u = 0; u < s.pw[i]; ++u) {
          const T au = ai[u] * scale;
          T* row = o + u * nj;
#pragma omp simd
          for (std::int64_t w = 0; w < nj; ++w) row[w] += au * bj[w];
        }
      }
    }
  }
}

// Adjoint of tensor_mul: given dout (levels 0..max_level), accumulate
// da += scale * dout contracted with b on the right and
// db += scale * a contracted with dout on the left. Either of da, db may be null.
template <int D, class T>
SKSIG_CLONES void tensor_mul_adjoint(const TensorShape& s, const T* a, const T* b, const T* dout, T* da,
                        T* db, int max_level, T scale, int a_lo = 0) {
  const int d = D ? D : s.d;
  for (int k = 0; k <= max_level; ++k) {
    const T* o = dout + s.off[k];
    for (int i = a_lo; i <= k; ++i) {
      const int j = k - i;
      const T* ai = a + s.off[i];
      const T* bj = b + s.off[j];
      const std::int64_t ni = s.pw[i];
      T* dai = da ? da + s.off[i] : nullptr;
      T* dbj = db ? db + s.off[j] : nullptr;
      if (j == 0) {
        if (dai) {
          const T bs = bj[0] * scale;
#pragma omp simd
          for (std::int64_t u = 0; u < ni; ++u) dai[u] += o[u] * bs;
        }
        if (dbj) {
          T acc = 0;
#pragma omp simd reduction(+ : acc)
          for (std::int64_t u = 0; u < ni; ++u) acc += ai[u] * o[u];
          dbj[0] += scale * acc;
        }
      } else if (j == 1) {
        for (std::int64_t u = 0; u < ni; ++u) {
          const T* row = o + u * d;
          if (dai) {
            T acc = 0;
            for (int c = 0; c < d; ++c) acc += row[c] * bj[c];
            dai[u] += scale * acc;
          }
          if (dbj) {
            const T au = ai[u] * scale;
            for (int c = 0; c < d; ++c) dbj[c] += au * row[c];
          }
        }
      } else {
        const std::int64_t nj = s.pw[j];
        for (std::int64_t u = 0; u < ni; ++u) {
          const T* row = o + u * nj;
          if (dai) {
            T acc = 0;
#pragma omp simd reduction(+ : acc)
            for (std::int64_t w = 0; w < nj; ++w) acc += row[w] * bj[w];
            dai[u] += scale * acc;
          }
          if (dbj) {
            const T au = ai[u] * scale;
#pragma omp simd
            for (std::int64_t w = 0; w < nj; ++w) dbj[w] += au * row[w];
          }
        }
      }
    }
  }
}

// S <- S (x) exp(v) for a level-1 element v (d entries), in place, by Horner's rule
// per level: the new level k is S_k + (((S_0 v/k + S_1) v/(k-1) + ...) + S_{k-1}) v.
// Levels are updated from the top so that lower levels are still the old ones.
// buf1, buf2 hold d^N entries each; vs holds N * d entries (v / j for j = 1..N).
template <int D, class T>
SKSIG_CLONES void mul_exp_segment(const TensorShape& s, T* S, const T* v, T* buf1, T* buf2,
                                  T* vs) {
  const int d = D ? D : s.d;
  for (int j = 1; j <= s.N; ++j)
    for (int c = 0; c < d; ++c) vs[(j - 1) * d + c] = v[c] / static_cast<T>(j);
  // One Horner step: dst[u d + c] (+)= (src[u] + Si[u]) * w[c]. With D known, w sits in
  // registers (a local copy: the compiler cannot assume dst does not alias w).
  auto step = [&](T* __restrict__ dst, const T* __restrict__ src,
                  const T* __restrict__ Si, std::int64_t n_rows, const T* w,
                  bool accumulate) {
    T wl[D ? D : 1];
    if constexpr (D > 0) {
      for (int c = 0; c < D; ++c) wl[c] = w[c];
    }
    const T* ww = D ? wl : w;
    for (std::int64_t u = 0; u < n_rows; ++u) {
      const T bu = (src ? src[u] : T(0)) + Si[u];
      T* __restrict__ row = dst + u * d;
      if (accumulate) {
        for (int c = 0; c < d; ++c) row[c] += bu * ww[c];
      } else {
        for (int c = 0; c < d; ++c) row[c] = bu * ww[c];
      }
    }
  };
  for (int k = s.N; k >= 1; --k) {
    T* B = buf1;
    T* B2 = buf2;
    T* Sk = S + s.off[k];
    // Level 0 starts every chain: B = S_0 v / k (a "row" of the scalar).
    if (k == 1) {
      step(Sk, nullptr, S, 1, vs, true);
      continue;
    }
    step(B, nullptr, S, 1, vs + (k - 1) * d, false);
    for (int i = 1; i < k - 1; ++i) {
      step(B2, B, S + s.off[i], s.pw[i], vs + (k - i - 1) * d, false);
      std::swap(B, B2);
    }
    // Last step (multiplier v / 1) goes straight into level k.
    step(Sk, B, S + s.off[k - 1], s.pw[k - 1], vs, true);
  }
}

// E = exp(v) for a level-1 element v: E_k = E_{k-1} (x) v / k.
template <int D, class T>
SKSIG_CLONES void exp_segment(const TensorShape& s, const T* v, T* E) {
  const int d = D ? D : s.d;
  E[0] = T(1);
  for (int k = 1; k <= s.N; ++k) {
    const T inv = T(1) / static_cast<T>(k);
    const T* prev = E + s.off[k - 1];
    T* cur = E + s.off[k];
    for (std::int64_t u = 0; u < s.pw[k - 1]; ++u) {
      const T pu = prev[u] * inv;
      for (int c = 0; c < d; ++c) cur[u * d + c] = pu * v[c];
    }
  }
}

// Adjoint of exp_segment: accumulate dv += d<dE, exp(v)>/dv. dE is overwritten.
template <int D, class T>
SKSIG_CLONES void exp_segment_adjoint(const TensorShape& s, const T* E, T* dE, T* dv) {
  const int d = D ? D : s.d;
  for (int k = s.N; k >= 1; --k) {
    const T inv = T(1) / static_cast<T>(k);
    const T* prev = E + s.off[k - 1];
    T* dprev = dE + s.off[k - 1];
    const T* dcur = dE + s.off[k];
    for (std::int64_t u = 0; u < s.pw[k - 1]; ++u) {
      const T* row = dcur + u * d;
      const T pu = prev[u] * inv;
      T acc = 0;
      // v is read back from E_1 = v (level 1 of exp(v)).
      for (int c = 0; c < d; ++c) {
        acc += row[c] * E[1 + c];
        dv[c] += pu * row[c];
      }
      dprev[u] += acc * inv;
    }
  }
}

// A Horner chain Q_0 = c0 (a scalar), Q_{t+1} = c[t] + s[t] X (x) Q_t for t < m, where
// X has no scalar term and Q_{t+1} is needed up to level lvl[t]. With
//   exp: c0 = 1, steps k = N..1 with (c, s, lvl) = (1, 1/k, N-k+1);
//   log: c0 = 1/N, steps n = N-1..1 with (1/n, -1, N-n), then (0, 1, N),
// the chain ends in exp(X) and log(1 + X) truncated at level N.
template <class T>
struct HornerChain {
  T c0 = 0;
  std::vector<T> c, sc;
  std::vector<int> lvl;

  static HornerChain exp_chain(int N) {
    HornerChain h;
    h.c0 = T(1);
    for (int k = N; k >= 1; --k) {
      h.c.push_back(T(1));
      h.sc.push_back(T(1) / static_cast<T>(k));
      h.lvl.push_back(N - k + 1);
    }
    return h;
  }
  static HornerChain log_chain(int N) {
    HornerChain h;
    h.c0 = T(1) / static_cast<T>(N);
    for (int n = N - 1; n >= 1; --n) {
      h.c.push_back(T(1) / static_cast<T>(n));
      h.sc.push_back(T(-1));
      h.lvl.push_back(N - n);
    }
    h.c.push_back(T(0));
    h.sc.push_back(T(1));
    h.lvl.push_back(N);
    return h;
  }
  int steps() const { return static_cast<int>(c.size()); }

  // Q holds steps() + 1 tensors of s.size() entries each (all intermediates kept);
  // the result is tensor number steps(). When keep is false only two tensors are used
  // (Q and Q + size, ping-pong) and the result's address is returned.
  template <int D>
  T* run(const TensorShape& sh, const T* X, T* Q, bool keep) const {
    const std::int64_t n = sh.size();
    T* prev = Q;
    prev[0] = c0;
    for (int t = 0; t < steps(); ++t) {
      T* cur = keep ? Q + (t + 1) * n : (prev == Q ? Q + n : Q);
      tensor_mul<D>(sh, X, prev, cur, lvl[t], sc[t], 1);
      cur[0] += c[t];
      prev = cur;
    }
    return prev;
  }

  // Given dQ_m (levels 0..N) in dQ, accumulate dX; Q from run(keep = true). dQ and dQ2
  // are scratch tensors (dQ is consumed).
  template <int D>
  void adjoint(const TensorShape& sh, const T* X, const T* Q, T* dQ, T* dQ2, T* dX) const {
    const std::int64_t n = sh.size();
    for (int t = steps() - 1; t >= 0; --t) {
      const int lo = t > 0 ? lvl[t - 1] : 0;
      std::fill(dQ2, dQ2 + sh.size_to(lo), T(0));
      tensor_mul_adjoint<D>(sh, X, Q + t * n, dQ, dX, dQ2, lvl[t], sc[t], 1);
      std::swap(dQ, dQ2);
    }
  }
};

}  // namespace sksig

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
#include <utility>
#include <vector>

#include "horner.hpp"
#include "simd.hpp"
#include "tensor_shape.hpp"
#include "tensor_terms.hpp"

namespace sksig {

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
void tensor_mul(const TensorShape& s, const T* a, const T* b, T* out,
                             int max_level, T scale, int a_lo = 0) {
  simd_call([](const TensorShape& s, const T* a, const T* b, T* out, int max_level, T scale,
      int a_lo) SKSIG_KERNEL_BODY {
    const int d = D ? D : s.d;
    for (int k = 0; k <= max_level; ++k) {
      T* o = out + s.off[k];
      const std::int64_t nk = s.pw[k];
      if (k < a_lo) std::fill(o, o + nk, T(0));
      // The first term of each level is assigned, the others added: one pass less.
      for (int i = a_lo; i <= k; ++i) {
        const bool first = i == a_lo;
        const int j = k - i;
        const T* ai = a + s.off[i];
        const T* bj = b + s.off[j];
        if (j == 0) {  // a_k times a scalar
          const T bs = bj[0] * scale;
          if (first) {
            for (std::int64_t u = 0; u < nk; ++u) o[u] = product_term(ai[u], bs);
          } else {
            for (std::int64_t u = 0; u < nk; ++u) o[u] += product_term(ai[u], bs);
          }
        } else {
          const std::int64_t nj = j == 1 ? d : s.pw[j];  // j = 1: fixed-length rows
          for (std::int64_t u = 0; u < s.pw[i]; ++u) {
            const T au = ai[u] * scale;
            T* row = o + word_at(u, 0, nj);
            if (first) {
              for (std::int64_t w = 0; w < nj; ++w) row[w] = product_term(au, bj[w]);
            } else {
              for (std::int64_t w = 0; w < nj; ++w) row[w] += product_term(au, bj[w]);
            }
          }
        }
      }
    }
  }, s, a, b, out, max_level, scale, a_lo);
}

// Adjoint of tensor_mul: given dout (levels 0..max_level), accumulate
// da += scale * dout contracted with b on the right and
// db += scale * a contracted with dout on the left. Either of da, db may be null.
template <int D, class T>
void tensor_mul_adjoint(const TensorShape& s, const T* a, const T* b, const T* dout, T* da,
                        T* db, int max_level, T scale, int a_lo = 0) {
  simd_call([](const TensorShape& s, const T* a, const T* b, const T* dout, T* da, T* db,
      int max_level, T scale, int a_lo) SKSIG_KERNEL_BODY {
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
            for (std::int64_t u = 0; u < ni; ++u)
              dai[u] += product_term_adjoint(ai[u], bs, o[u]).left;
          }
          if (dbj) {
            T acc = 0;
            for (std::int64_t u = 0; u < ni; ++u)
              acc += product_term_adjoint(ai[u], bj[0], o[u]).right;
            dbj[0] += scale * acc;
          }
        } else if (j == 1) {
          for (std::int64_t u = 0; u < ni; ++u) {
            const T* row = o + word_at(u, 0, d);
            if (dai) {
              T acc = 0;
              for (int c = 0; c < d; ++c)
                acc += product_term_adjoint(ai[u], bj[c], row[c]).left;
              dai[u] += scale * acc;
            }
            if (dbj) {
              const T au = ai[u] * scale;
              for (int c = 0; c < d; ++c)
                dbj[c] += product_term_adjoint(au, bj[c], row[c]).right;
            }
          }
        } else {
          const std::int64_t nj = s.pw[j];
          for (std::int64_t u = 0; u < ni; ++u) {
            const T* row = o + word_at(u, 0, nj);
            if (dai) {
              T acc = 0;
              for (std::int64_t w = 0; w < nj; ++w)
                acc += product_term_adjoint(ai[u], bj[w], row[w]).left;
              dai[u] += scale * acc;
            }
            if (dbj) {
              const T au = ai[u] * scale;
  #pragma omp simd
              for (std::int64_t w = 0; w < nj; ++w)
                dbj[w] += product_term_adjoint(au, bj[w], row[w]).right;
            }
          }
        }
      }
    }
  }, s, a, b, dout, da, db, max_level, scale, a_lo);
}

// A set of words of the top level N (e.g. the Lyndon words of length N), with each word
// u split for every i = 0..N into prefix u / d^(N-i) and suffix u % d^(N-i), so that the
// products below need no integer division. For mul_exp_segment, the same words by
// prefix: rows(i) lists the distinct prefixes of length i (i = 1..N-1, ascending, their
// index within level i), and runs the words as runs of consecutive last letters,
// (prefix of length N - 1, first letter, last letter + 1) per run.
struct TopWords {
  std::vector<std::int64_t> word, pre, suf;  // pre, suf: (N + 1) entries per word
  std::vector<std::int64_t> row_list, row_off, runs;

  TopWords(const TensorShape& s, std::vector<std::int64_t> words) : word(std::move(words)) {
    const std::int64_t n = static_cast<std::int64_t>(word.size());
    pre.resize(n * (s.N + 1));
    suf.resize(n * (s.N + 1));
    for (std::int64_t q = 0; q < n; ++q)
      for (int i = 0; i <= s.N; ++i) {
        const WordSplit w = split_word(word[q], s.pw[s.N - i]);
        pre[q * (s.N + 1) + i] = s.off[i] + w.prefix;
        suf[q * (s.N + 1) + i] = s.off[s.N - i] + w.suffix;
      }
    std::vector<std::int64_t> sorted(word);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    row_off.assign(static_cast<std::size_t>(s.N) + 1, 0);
    for (int i = 1; i < s.N; ++i) {
      row_off[i] = static_cast<std::int64_t>(row_list.size());
      std::int64_t last = -1;
      for (std::int64_t u : sorted) {  // ascending words have ascending prefixes
        const std::int64_t r = u / s.pw[s.N - i];
        if (r != last) row_list.push_back(last = r);
      }
    }
    row_off[s.N] = static_cast<std::int64_t>(row_list.size());
    for (std::size_t q = 0; q < sorted.size(); ++q) {
      const std::int64_t r = sorted[q] / s.d, c = sorted[q] % s.d;
      if (q > 0 && sorted[q - 1] + 1 == sorted[q] && sorted[q - 1] / s.d == r) {
        runs.back() = c + 1;
      } else {
        runs.insert(runs.end(), {r, c, c + 1});
      }
    }
  }
  std::int64_t size() const { return static_cast<std::int64_t>(word.size()); }
  // The distinct prefixes of length i (1 <= i < N).
  const std::int64_t* rows(int i) const { return row_list.data() + row_off[i]; }
  std::int64_t n_rows(int i) const { return row_off[i + 1] - row_off[i]; }
  std::int64_t n_runs() const { return static_cast<std::int64_t>(runs.size()) / 3; }
};

// f(std::integral_constant<int, K>{}) with K = count for count = 1..6 (a loop of K
// iterations in f is then unrolled), else with K = 0 (f reads count at run time).
template <class F>
inline SKSIG_KERNEL_BODY void dispatch_count(int count, F&& f) {
  switch (count) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    default: return f(std::integral_constant<int, 0>{});
  }
}

// f(u, pre, suf, k) for each word of top: u its index within level N, pre[t] and suf[t]
// (t < k) the flat indices of the prefix and suffix of its terms i = a_lo + t, k =
// N + 1 - a_lo. Inlined, with k a compile-time constant for the usual degrees
// (dispatch_count), so that f's loops over the terms unroll.
template <class F>
inline SKSIG_KERNEL_BODY void for_each_top_word(const TensorShape& s, const TopWords& top,
                                                int a_lo, F&& f) {
  const int N = s.N;
  const std::int64_t nq = top.size();
  const std::int64_t* const pre0 = top.pre.data() + a_lo;
  const std::int64_t* const suf0 = top.suf.data() + a_lo;
  const std::int64_t* const word = top.word.data();
  dispatch_count(N + 1 - a_lo, [&](auto terms) {
    constexpr int K = decltype(terms)::value;
    const int k = K ? K : N + 1 - a_lo;
    for (std::int64_t q = 0; q < nq; ++q)
      f(word[q], pre0 + q * (N + 1), suf0 + q * (N + 1), k);
  });
}

// Top level of tensor_mul at the words of `top` only: out_N[u] for u in top.
template <class T>
void tensor_mul_top(const TensorShape& s, const T* a, const T* b, T* out,
                    const TopWords& top, T scale, int a_lo) {
  simd_call([](const TensorShape& s, const T* a, const T* b, T* out, const TopWords& top,
      T scale, int a_lo) SKSIG_KERNEL_BODY {
    T* o = out + s.off[s.N];
    for_each_top_word(s, top, a_lo, [&](std::int64_t u, const std::int64_t* pre,
                                        const std::int64_t* suf, int k) {
      T acc = 0;
      for (int t = 0; t < k; ++t) acc += product_term(a[pre[t]], b[suf[t]]);
      o[u] = scale * acc;
    });
  }, s, a, b, out, top, scale, a_lo);
}

// Adjoint of tensor_mul_top, for a dout whose level N vanishes outside `top`.
template <class T>
void tensor_mul_top_adjoint(const TensorShape& s, const T* a, const T* b, const T* dout,
                            T* da, T* db, const TopWords& top, T scale, int a_lo) {
  simd_call([](const TensorShape& s, const T* a, const T* b, const T* dout, T* da, T* db,
      const TopWords& top, T scale, int a_lo) SKSIG_KERNEL_BODY {
    const T* o = dout + s.off[s.N];
    for_each_top_word(s, top, a_lo, [&](std::int64_t u, const std::int64_t* pre,
                                        const std::int64_t* suf, int k) {
      const T g = o[u] * scale;
      if (da)
        for (int t = 0; t < k; ++t)
          da[pre[t]] += product_term_adjoint(a[pre[t]], b[suf[t]], g).left;
      if (db)
        for (int t = 0; t < k; ++t)
          db[suf[t]] += product_term_adjoint(a[pre[t]], b[suf[t]], g).right;
    });
  }, s, a, b, dout, da, db, top, scale, a_lo);
}

// Full product up to max_level, or (top != null and max_level = N) levels below N in
// full and level N at the words of top only.
template <int D, class T>
void tensor_mul_maybe_top(const TensorShape& s, const T* a, const T* b, T* out, int max_level,
                          T scale, int a_lo, const TopWords* top) {
  if (top && max_level == s.N) {
    tensor_mul<D>(s, a, b, out, s.N - 1, scale, a_lo);
    tensor_mul_top(s, a, b, out, *top, scale, a_lo);
  } else {
    tensor_mul<D>(s, a, b, out, max_level, scale, a_lo);
  }
}

template <int D, class T>
void tensor_mul_adjoint_maybe_top(const TensorShape& s, const T* a, const T* b,
                                  const T* dout, T* da, T* db, int max_level, T scale,
                                  int a_lo, const TopWords* top) {
  if (top && max_level == s.N) {
    tensor_mul_adjoint<D>(s, a, b, dout, da, db, s.N - 1, scale, a_lo);
    tensor_mul_top_adjoint(s, a, b, dout, da, db, *top, scale, a_lo);
  } else {
    tensor_mul_adjoint<D>(s, a, b, dout, da, db, max_level, scale, a_lo);
  }
}

// vs[(j - 1) d + c] = v[c] / j for j = 1..N (the multipliers of the Horner chains of
// exp(v)). Where j is a power of two, v * (1 / j) is the same number (1 / j is exact and
// both are the correctly rounded v / j), and a product costs a fraction of a division.
template <class T>
inline SKSIG_KERNEL_BODY void segment_multipliers(const T* v, T* vs, int d, int N) {
  for (int j = 1; j <= N; ++j) {
    T* vj = vs + (j - 1) * d;
    if ((j & (j - 1)) == 0) {
      const T r = T(1) / static_cast<T>(j);
      for (int c = 0; c < d; ++c) vj[c] = v[c] * r;
    } else {
      for (int c = 0; c < d; ++c) vj[c] = v[c] / static_cast<T>(j);
    }
  }
}

// S <- S (x) exp(v) for a level-1 element v (d entries), in place, by Horner's rule
// per level: the new level k is S_k + (((S_0 v/k + S_1) v/(k-1) + ...) + S_{k-1}) v.
// Levels are updated from the top so that lower levels are still the old ones.
// buf1, buf2 hold d^N entries each; vs holds N * d entries (v / j for j = 1..N).
// With top != null, level N is updated at the words of top only (each entry of level N
// depends only on itself and lower levels, so the others may be left stale; with an
// empty top, level N is not updated at all), and its chain computes only the rows that
// lead to them (top->rows).
template <int D, class T>
void mul_exp_segment(const TensorShape& s, T* S, const T* v, T* buf1, T* buf2, T* vs,
                     const TopWords* top = nullptr) {
  simd_call([](const TensorShape& s, T* S, const T* v, T* buf1, T* buf2, T* vs,
      const TopWords* top) SKSIG_KERNEL_BODY {
    const int d = D ? D : s.d;
    const int N = s.N;
    segment_multipliers(v, vs, d, N);
    // One Horner step on row u: dst[u d + c] (+)= (src[u] + Si[u]) * w[c] (src[u] taken
    // as 0 without src). With D known, w sits in registers (a local copy: the compiler
    // cannot assume dst does not alias w).
    auto row_step = [&](T* __restrict__ dst, const T* __restrict__ src,
                        const T* __restrict__ Si, std::int64_t u, const T* ww,
                        bool accumulate) SKSIG_KERNEL_BODY {
      const T bu = src ? src[u] + Si[u] : T(0) + Si[u];
      T* __restrict__ row = dst + u * d;
      if (accumulate) {
        for (int c = 0; c < d; ++c) row[c] += bu * ww[c];
      } else {
        for (int c = 0; c < d; ++c) row[c] = bu * ww[c];
      }
    };
    auto step = [&](T* __restrict__ dst, const T* __restrict__ src,
                    const T* __restrict__ Si, std::int64_t n_rows, const T* w,
                    bool accumulate) SKSIG_KERNEL_BODY {
      T wl[D ? D : 1];
      if constexpr (D > 0) {
        for (int c = 0; c < D; ++c) wl[c] = w[c];
      }
      const T* ww = D ? wl : w;
      if (src) {
        for (std::int64_t u = 0; u < n_rows; ++u) row_step(dst, src, Si, u, ww, accumulate);
      } else {
        for (std::int64_t u = 0; u < n_rows; ++u)
          row_step(dst, nullptr, Si, u, ww, accumulate);
      }
    };
    // The same on the listed rows only (never accumulating, src given).
    auto step_rows = [&](T* __restrict__ dst, const T* __restrict__ src,
                         const T* __restrict__ Si, const std::int64_t* rows,
                         std::int64_t n_rows, const T* w) SKSIG_KERNEL_BODY {
      T wl[D ? D : 1];
      if constexpr (D > 0) {
        for (int c = 0; c < D; ++c) wl[c] = w[c];
      }
      const T* ww = D ? wl : w;
      for (std::int64_t r = 0; r < n_rows; ++r) row_step(dst, src, Si, rows[r], ww, false);
    };
    for (int k = N; k >= 1; --k) {
      const bool top_k = top && k == N;
      if (top_k && top->size() == 0) continue;
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
        if (top_k) {
          step_rows(B2, B, S + s.off[i], top->rows(i), top->n_rows(i), vs + (k - i - 1) * d);
        } else {
          step(B2, B, S + s.off[i], s.pw[i], vs + (k - i - 1) * d, false);
        }
        std::swap(B, B2);
      }
      // Last step (multiplier v / 1) goes straight into level k.
      const T* Sl = S + s.off[k - 1];
      if (top_k) {
        const std::int64_t* run = top->runs.data();
        for (std::int64_t q = 0; q < top->n_runs(); ++q, run += 3) {
          const std::int64_t u = run[0];
          const T bu = B[u] + Sl[u];
          T* __restrict__ row = Sk + u * d;
          for (std::int64_t c = run[1]; c < run[2]; ++c) row[c] += bu * v[c];
        }
      } else {
        step(Sk, B, Sl, s.pw[k - 1], vs, true);
      }
    }
  }, s, S, v, buf1, buf2, vs, top);
}

// Scratch entries mul_exp_segment_adjoint needs.
inline std::int64_t mul_exp_segment_adjoint_work(const TensorShape& s) {
  return 2 * s.off[s.N] + (s.N + 1) * static_cast<std::int64_t>(s.d);
}

// Adjoint of mul_exp_segment: with C = A (x) exp(v) (levels 0..N) and a cotangent dC,
// accumulate dA += dC contracted with exp(v) and dv += the gradient through v.
// Level k of C is the Horner chain H_0 = A_0, H_i = H_{i-1} (x) v / (k - i + 1) + A_i
// (i < k), C_k = H_{k-1} (x) v + A_k; each chain is recomputed and run backwards, which
// costs O(N d^N) instead of the general product adjoint followed by that of exp(v).
// work: mul_exp_segment_adjoint_work(s) entries. With top != null, level N of dC must
// vanish outside top.
template <int D, class T>
void mul_exp_segment_adjoint(const TensorShape& s, const T* A, const T* v, const T* dC,
                             T* dA, T* dv, T* work, const TopWords* top = nullptr) {
  simd_call([](const TensorShape& s, const T* A, const T* v, const T* dC, T* dA, T* dv,
      T* work, const TopWords* top) SKSIG_KERNEL_BODY {
    const int d = D ? D : s.d;
    const int N = s.N;
    T* H = work;
    T* dH = H + s.off[N];
    T* vs = dH + s.off[N];  // vs[(j - 1) d + c] = v[c] / j, as in the forward pass
    T* t = vs + N * d;
    segment_multipliers(v, vs, d, N);
    // One reversed step X = P (x) w (+ ...): dP[u] = sum_c dX[u d + c] w[c], and
    // dv[c] += inv * sum_u dX[u d + c] P[u] (w = v * inv).
    auto back = [&](const T* __restrict__ dX, const T* __restrict__ P, std::int64_t n_rows,
                    const T* w, T inv, T* __restrict__ dP) {
      T wl[D ? D : 1], tl[D ? D : 1];
      if constexpr (D > 0) {
        for (int c = 0; c < D; ++c) {
          wl[c] = w[c];
          tl[c] = T(0);
        }
      } else {
        std::fill(t, t + d, T(0));
      }
      const T* ww = D ? wl : w;
      T* tt = D ? tl : t;
      for (std::int64_t u = 0; u < n_rows; ++u) {
        const T* __restrict__ row = dX + u * d;
        const T pu = P[u];
        T acc = row[0] * ww[0];
        tt[0] += row[0] * pu;
        for (int c = 1; c < d; ++c) {
          acc += row[c] * ww[c];
          tt[c] += row[c] * pu;
        }
        dP[u] = acc;
      }
      for (int c = 0; c < d; ++c) dv[c] += tt[c] * inv;
    };
    dA[0] += dC[0];
    H[0] = A[0];
    for (int k = 1; k <= N; ++k) {
      const T* dCk = dC + s.off[k];
      T* dAk = dA + s.off[k];
      const bool top_k = top && k == N;
      if (top_k) {
        for (std::int64_t q = 0; q < top->size(); ++q) dAk[top->word[q]] += dCk[top->word[q]];
      } else {
        for (std::int64_t u = 0; u < s.pw[k]; ++u) dAk[u] += dCk[u];
      }
      // Forward chain for level k (H_0 = A_0 is shared by all chains).
      for (int i = 1; i < k; ++i) {
        const T* w = vs + (k - i) * d;
        const T* Hp = H + s.off[i - 1];
        const T* Ai = A + s.off[i];
        T* __restrict__ Hi = H + s.off[i];
        for (std::int64_t u = 0; u < s.pw[i - 1]; ++u)
          for (int c = 0; c < d; ++c) Hi[u * d + c] = Hp[u] * w[c] + Ai[u * d + c];
      }
      // Backwards: dH_{k-1} from dC_k, then down to dH_0.
      T* dHl = dH + s.off[k - 1];
      const T* Hl = H + s.off[k - 1];
      if (top_k) {
        std::fill(dHl, dHl + s.pw[k - 1], T(0));
        for (std::int64_t q = 0; q < top->size(); ++q) {
          const std::int64_t row = top->pre[q * (N + 1) + N - 1] - s.off[N - 1];
          const std::int64_t c = top->suf[q * (N + 1) + N - 1] - s.off[1];
          const T g = dCk[top->word[q]];
          dHl[row] += g * v[c];
          dv[c] += g * Hl[row];
        }
      } else {
        back(dCk, Hl, s.pw[k - 1], v, T(1), dHl);
      }
      // Levels i = k-1 down to 1, counted upwards by j = k - i (a down-counting int
      // loop let GCC assume a 2^31-iteration wrap in the runtime-dimension build).
      for (int j = 1; j < k; ++j) {
        const int i = k - j;
        T* dHi = dH + s.off[i];
        T* dAi = dA + s.off[i];
        for (std::int64_t u = 0; u < s.pw[i]; ++u) dAi[u] += dHi[u];
        back(dHi, H + s.off[i - 1], s.pw[i - 1], vs + static_cast<std::int64_t>(j) * d,
             T(1) / static_cast<T>(j + 1), dH + s.off[i - 1]);
      }
      dA[0] += dH[0];
    }
  }, s, A, v, dC, dA, dv, work, top);
}

// A Horner chain Q_0 = c0 (a scalar), Q_{t+1} = c[t] + s[t] X (x) Q_t for t < m, where
// X has no scalar term and Q_{t+1} is needed up to level lvl[t]. With the coefficients
// of horner.hpp (lvl[t] = t + 1), the chain ends in exp(X) and log(1 + X) truncated at
// level N.
template <class T>
struct HornerChain {
  T c0 = 0;
  std::vector<T> c, sc;
  std::vector<int> lvl;

  static HornerChain exp_chain(int N) {
    HornerChain h;
    h.c0 = exp_chain_start<T>();
    for (int t = 0; t < N; ++t) h.push(exp_chain_step<T>(N, t), t + 1);
    return h;
  }
  static HornerChain log_chain(int N) {
    HornerChain h;
    h.c0 = log_chain_start<T>(N);
    for (int t = 0; t < N; ++t) h.push(log_chain_step<T>(N, t), t + 1);
    return h;
  }
  void push(const HornerStep<T>& step, int level) {
    c.push_back(step.add);
    sc.push_back(step.scale);
    lvl.push_back(level);
  }
  int steps() const { return static_cast<int>(c.size()); }

  // Q holds steps() + 1 tensors of s.size() entries each (all intermediates kept);
  // the result is tensor number steps(). When keep is false only two tensors are used
  // (Q and Q + size, ping-pong) and the result's address is returned.
  // With top != null the final step computes level N at the words in top only.
  template <int D>
  T* run(const TensorShape& sh, const T* X, T* Q, bool keep,
         const TopWords* top = nullptr) const {
    const std::int64_t n = sh.size();
    T* prev = Q;
    prev[0] = c0;
    for (int t = 0; t < steps(); ++t) {
      T* cur = keep ? Q + (t + 1) * n : (prev == Q ? Q + n : Q);
      tensor_mul_maybe_top<D>(sh, X, prev, cur, lvl[t], sc[t], 1, top);
      cur[0] += c[t];
      prev = cur;
    }
    return prev;
  }

  // Given dQ_m (levels 0..N) in dQ, accumulate dX; Q from run(keep = true). dQ and dQ2
  // are scratch tensors (dQ is consumed).
  // With top != null (as in run), dQ_m must vanish on level N outside top.
  template <int D>
  void adjoint(const TensorShape& sh, const T* X, const T* Q, T* dQ, T* dQ2, T* dX,
               const TopWords* top = nullptr) const {
    const std::int64_t n = sh.size();
    for (int t = steps() - 1; t >= 0; --t) {
      const int lo = t > 0 ? lvl[t - 1] : 0;
      std::fill(dQ2, dQ2 + sh.size_to(lo), T(0));
      tensor_mul_adjoint_maybe_top<D>(sh, X, Q + t * n, dQ, dX, dQ2, lvl[t], sc[t], 1, top);
      std::swap(dQ, dQ2);
    }
  }
};

}  // namespace sksig

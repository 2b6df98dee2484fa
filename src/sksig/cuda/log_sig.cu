// The log-signature join on the GPU (SPEC.md section 9) and its exact adjoint: the math
// of sksig::log_sig_join / log_sig_join_backprop (sksig/log_sig.hpp), per batch item
//   L = sum_w c_w P_w (expand), A = exp(L), C = A (x) exp(v), Z = log(C),
//   out = T^{-1} (Z at the Lyndon words)   (T unitriangular, sksig/lyndon.hpp),
// exp and log as the same Horner chains as the CPU (coefficients from sksig/horner.hpp,
// the product's terms and their adjoints from sksig/tensor_terms.hpp):
//   exp: Q_1 = 1 + L/N, Q_{s+1} = 1 + L (x) Q_s / (N - s), A = Q_N;
//   log: R_1 = 1/(N-1) - C' /N, R_{s+1} = 1/(N-1-s) - C' (x) R_s, Z = C' (x) R_{N-1}
// (C' = C without its scalar; step s is needed up to level s + 1).
//
// One block per batch item (grid-stride over items). The block's tensors (sum_k d^k
// entries each) live in dynamic shared memory when they fit the device's opt-in limit,
// else in a slice of a global scratch buffer (the grid is then capped so that scratch
// stays near 1 GiB). Every stage is a "gather": each output coordinate is computed by
// one thread (flat coordinate index = thread index mod blockDim), summing over its
// prefix/suffix splits (or, in the adjoints, over its extensions) in a fixed order, and
// a __syncthreads separates stages. In the adjoints the long sums of the low levels
// (d^(K-1) terms at level 1) are cut into chunks of about total/blockDim terms, one
// thread per chunk, and a second phase adds each output's chunk partials in order. A
// stage writes only buffers that no thread reads in that stage, and each coordinate
// has one writer: race-free and bitwise reproducible (no atomics). As on the CPU,
// level N of A, C and Z is computed at the Lyndon words of length N only (the other
// entries are never read); every cotangent is written in full.
// The triangular solves run in wavefronts precomputed on the host (rows whose
// dependencies are in earlier waves; at most ~20 waves for the usual sizes), each row in
// the CPU's operation order. The gradient of v goes through E = exp(v) built level by
// level (E_j[q l] = E_{j-1}[q] v_l / j), with per-thread partial sums reduced in thread
// order.
//
// Flops per item (for "% of peak"): a product at levels <= K costs sum_{k<=K} k d^k
// multiply-adds (N d^N / N at level N, only Lyndon words); the forward runs 2N + 1 such
// products, about 2 (2N + 1) sum_{k<N} k d^k + 2 (2N+1) N |Lyndon_N| flops, plus the
// expansion (2 nnz(P)) and the solve (2 nnz(T)). The backward recomputes the forward and
// runs two adjoint products per product (about 3x the forward). The exact count is
// flops() in benchmarks/bench_cuda_log_sig.py (e.g. d = 5, N = 4: 17,170 forward and
// 58,050 backward flops per item).
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "log_sig.cuh"
#include "common.cuh"
#include "runtime.cuh"
#include "sksig/horner.hpp"
#include "sksig/lyndon.hpp"
#include "sksig/status.hpp"
#include "sksig/tensor_shape.hpp"
#include "sksig/tensor_terms.hpp"

namespace sksig {
namespace cuda {
namespace {

using i64 = std::int64_t;

constexpr int kMaxThreads = SKSIG_CUDA_MAX_THREADS < 256 ? SKSIG_CUDA_MAX_THREADS : 256;
constexpr i64 kScratchBudget = i64(1) << 30;  // bytes of global scratch per call
#ifdef SKSIG_CUDA_EMULATION
constexpr i64 kMaxBlocks = 16;  // so that tests run several items per block
#else
constexpr i64 kMaxBlocks = i64(1) << 20;
#endif

// Device tables of one (dim, degree), all pointers into one device allocation.
struct Tables {
  int d = 0, N = 0;
  i64 n = 0;      // tensor size sum_{k<=N} d^k
  i64 m = 0;      // number of Lyndon words
  i64 n_top = 0;  // Lyndon words of length N
  i64 n_x = 0;    // distinct tensor positions of the expansion
  i64 n_waves = 0, n_twaves = 0;
  i64 width = 0;  // d^N (host-readable)
  const i64* off = nullptr;   // N + 2: start of level k
  const i64* pw = nullptr;    // N + 1: d^k
  const i64* pos = nullptr;   // m: flat tensor index of word w
  const i64* top = nullptr;   // n_top: index within level N of the length-N words
  const i64* exp_ptr = nullptr;  // expansion by word (CSR): m + 1
  const i64* exp_pos = nullptr;
  const double* exp_val = nullptr;
  const i64* x_pos = nullptr;  // expansion by position: n_x positions, CSR over words
  const i64* x_ptr = nullptr;
  const i64* x_word = nullptr;
  const double* x_val = nullptr;
  const i64* tri_ptr = nullptr;  // strictly lower part of T by row (as on the host)
  const i64* tri_col = nullptr;
  const double* tri_val = nullptr;
  const i64* wave_ptr = nullptr;  // rows of the forward substitution by wave
  const i64* wave_rows = nullptr;
  const i64* trt_ptr = nullptr;  // the same entries by column, rows descending
  const i64* trt_row = nullptr;
  const double* trt_val = nullptr;
  const i64* twave_ptr = nullptr;  // columns of the backward substitution by wave
  const i64* twave_cols = nullptr;
};

// ---------------------------------------------------------------- device helpers

__device__ __forceinline__ i64 div_small(i64 x, i64 d) {
  if (x < (i64(1) << 32) && d < (i64(1) << 32))
    return static_cast<i64>(static_cast<std::uint32_t>(x) / static_cast<std::uint32_t>(d));
  return x / d;
}

// Calls f(k, u) for the coordinates u of levels lo..hi; level N at the words of t.top
// only when top_last. The coordinates are numbered in that order and thread i takes
// those with number = i (mod blockDim): one writer per coordinate.
template <class F>
__device__ void for_coords(const Tables& t, int lo, int hi, bool top_last, F&& f) {
  const i64 P = blockDim.x, tid = threadIdx.x;
  i64 flat = 0;
  for (int k = lo; k <= hi; ++k) {
    const bool top = top_last && k == t.N;
    const i64 count = top ? t.n_top : t.pw[k];
    const i64 start = ((tid - flat) % P + P) % P;
    for (i64 e = start; e < count; e += P) f(k, top ? t.top[e] : e);
    flat += count;
  }
}

// sum_{i=a_lo..k} a_i[u / d^(k-i)] b_{k-i}[u % d^(k-i)] (b = the scalar b0 when null),
// the terms of sksig/tensor_terms.hpp summed over the splits j = k - i ascending (the
// split at j + 1 moves the prefix's last letter to the front of the suffix).
template <class T>
__device__ T mul_entry(const Tables& t, const T* a, const T* b, T b0, int k, i64 u,
                       int a_lo) {
  if (!b) return product_term(a[t.off[k] + u], b0);
  T acc = 0;
  WordSplit w{u, 0};
  for (int j = 0; j <= k - a_lo; ++j) {  // i = k - j
    acc += product_term(a[t.off[k - j] + w.prefix], b[t.off[j] + w.suffix]);
    if (j < k - a_lo) {
      const i64 q = div_small(w.prefix, t.d);
      w.suffix = word_at(w.prefix - q * t.d, w.suffix, t.pw[j]);
      w.prefix = q;
    }
  }
  return acc;
}

// out = c_add + scale * a (x) b at levels 0..K (a's levels below a_lo taken as 0; level
// N at the Lyndon words only). b null: b is the scalar b0.
template <class T>
__device__ void mul_stage(const Tables& t, const T* a, const T* b, T b0, T* out, int K,
                          T scale, int a_lo, T c_add) {
  for_coords(t, 0, K, true, [&](int k, i64 u) {
    T v = k < a_lo ? T(0) : scale * mul_entry(t, a, b, b0, k, u, a_lo);
    if (k == 0) v += c_add;
    out[t.off[k] + u] = v;
  });
  __syncthreads();
}

// Adjoint of out = c + scale * a (x) b (levels <= K, a_lo as above), given dout at
// levels >= 1 (its level N vanishing outside the Lyndon words):
//   da_i[p] (+)= scale sum_{k=i..K} sum_s dout_k[p s] b_{k-i}[s]     (levels 1..K)
//   db_j[q]  = scale sum_{i=a_lo..K-j} sum_p a_i[p] dout_{i+j}[p q]  (levels 1..K-a_lo)
// The scalar gradients are dead (the scalars of Q_s, A and E are constants).
// The sums of the low levels are long (d^(K-1) terms at level 1) while there are few
// of them, so each sum is cut into chunks of at most `len` terms, len >= total / P, and
// the chunks are the units handed to the threads. A sum of one chunk is written
// directly; the chunks of longer sums leave partials in red (at most 2 P of them, since
// such a sum has ceil(W / len) < 2 W / len chunks), which a second phase adds in chunk
// order. Each unit and each output has one writer: deterministic, race-free.
__device__ __forceinline__ i64 da_terms(const Tables& t, bool has_b, int i, int K) {
  if (!has_b) return 1;
  i64 w = 0;
  for (int k = i; k <= K; ++k) w += t.pw[k - i];
  return w;
}

__device__ __forceinline__ i64 db_terms(const Tables& t, int j, int K, int a_lo) {
  i64 w = 0;
  for (int i = a_lo; i <= K - j; ++i) w += t.pw[i];
  return w;
}

// Visits the units level by level: da levels 1..K (kind 0), then db levels 1..K-a_lo
// (kind 1); f(kind, level, terms, chunks, red_base) per level, in the same order for
// every thread.
template <class F>
__device__ void for_adjoint_levels(const Tables& t, bool has_b, bool has_db, int K,
                                   int a_lo, i64 len, F&& f) {
  i64 red = 0;
  for (int kind = 0; kind < (has_db ? 2 : 1); ++kind) {
    const int hi = kind == 0 ? K : K - a_lo;
    for (int lvl = 1; lvl <= hi; ++lvl) {
      const i64 w = kind == 0 ? da_terms(t, has_b, lvl, K) : db_terms(t, lvl, K, a_lo);
      const i64 chunks = (w + len - 1) / len;
      f(kind, lvl, w, chunks, red);
      if (chunks > 1) red += t.pw[lvl] * chunks;
    }
  }
}

template <class T>
__device__ void mul_adjoint_stage(const Tables& t, const T* a, const T* b, T b0,
                                  const T* dout, int K, T scale, int a_lo, T* da,
                                  bool accumulate, T* db, T* red) {
  const i64 P = blockDim.x, tid = threadIdx.x;
  i64 total = 0;
  for_adjoint_levels(t, b != nullptr, db != nullptr, K, a_lo, 1,
                     [&](int, int lvl, i64 w, i64, i64) { total += t.pw[lvl] * w; });
  const i64 len = (total + P - 1) / P > 32 ? (total + P - 1) / P : 32;
  auto finish = [&](int kind, int lvl, i64 o, T acc) {
    if (kind == 0) {
      T* x = da + t.off[lvl] + o;
      *x = accumulate ? *x + scale * acc : scale * acc;
    } else {
      db[t.off[lvl] + o] = scale * acc;
    }
  };
  bool split = false;
  i64 flat = 0;
  for_adjoint_levels(t, b != nullptr, db != nullptr, K, a_lo, len,
                     [&](int kind, int lvl, i64 w, i64 chunks, i64 red_base) {
    const i64 units = t.pw[lvl] * chunks;
    split = split || chunks > 1;
    for (i64 e = ((tid - flat) % P + P) % P; e < units; e += P) {
      const i64 o = e / chunks, c = e - o * chunks;
      const i64 t0 = c * len, t1 = t0 + len < w ? t0 + len : w;
      T acc = 0;
      if (kind == 0 && !b) {
        acc = product_term_adjoint(a[t.off[lvl] + o], b0, dout[t.off[lvl] + o]).left;
      } else if (kind == 0) {  // terms (k, s), k = lvl.., s < d^(k-lvl)
        int k = lvl;
        i64 base = 0;
        while (t0 >= base + t.pw[k - lvl]) base += t.pw[k++ - lvl];
        i64 s = t0 - base, nj = t.pw[k - lvl];
        const T* row = dout + t.off[k] + word_at(o, 0, nj);
        const T* bj = b + t.off[k - lvl];
        for (i64 tt = t0; tt < t1; ++tt) {
          acc += product_term_adjoint(a[t.off[lvl] + o], bj[s], row[s]).left;
          if (++s == nj && tt + 1 < t1) {
            s = 0;
            ++k;
            nj = t.pw[k - lvl];
            row = dout + t.off[k] + word_at(o, 0, nj);
            bj = b + t.off[k - lvl];
          }
        }
      } else {  // terms (i, p), i = a_lo.., p < d^i
        const i64 nj = t.pw[lvl];
        int i = a_lo;
        i64 base = 0;
        while (t0 >= base + t.pw[i]) base += t.pw[i++];
        i64 p = t0 - base;
        for (i64 tt = t0; tt < t1; ++tt) {
          acc += product_term_adjoint(a[t.off[i] + p], b[t.off[lvl] + o],
                                      dout[t.off[i + lvl] + word_at(p, o, nj)]).right;
          if (++p == t.pw[i] && tt + 1 < t1) {
            p = 0;
            ++i;
          }
        }
      }
      if (chunks == 1) {
        finish(kind, lvl, o, acc);
      } else {
        red[red_base + e] = acc;
      }
    }
    flat += units;
  });
  if (split) {  // uniform over the block: every thread computed the same plan
    __syncthreads();
    flat = 0;
    for_adjoint_levels(t, b != nullptr, db != nullptr, K, a_lo, len,
                       [&](int kind, int lvl, i64, i64 chunks, i64 red_base) {
      if (chunks == 1) return;
      for (i64 o = ((tid - flat) % P + P) % P; o < t.pw[lvl]; o += P) {
        T acc = 0;
        for (i64 c = 0; c < chunks; ++c) acc += red[red_base + o * chunks + c];
        finish(kind, lvl, o, acc);
      }
      flat += t.pw[lvl];
    });
  }
  __syncthreads();
}

// E = exp(v) at levels 0..N: E_k[l_1 .. l_k] = prod_m v[l_m] / k!.
template <class T>
__device__ void exp_segment(const Tables& t, const T* v, T* E) {
  for_coords(t, 0, t.N, false, [&](int k, i64 u) {
    T acc = 1;
    i64 r = u;
    for (int m = 1; m <= k; ++m) {
      const i64 q = div_small(r, t.d);
      acc *= v[r - q * t.d] / T(m);
      r = q;
    }
    E[t.off[k] + u] = acc;
  });
}

// L = sum_w c_w P_w: zero, barrier, then each expansion position summed over its words
// in ascending order (the CPU's order; lyndon_dot_row of sksig/lyndon.hpp), barrier.
// `also` runs in the zeroing phase.
template <class T, class F>
__device__ void expand_stage(const Tables& t, const T* c, T* L, F&& also) {
  for (i64 e = threadIdx.x; e < t.n; e += blockDim.x) L[e] = T(0);
  also();
  __syncthreads();
  for (i64 e = threadIdx.x; e < t.n_x; e += blockDim.x)
    L[t.x_pos[e]] = lyndon_dot_row(T(0), t.x_ptr, t.x_word, t.x_val, e, c);
  __syncthreads();
}

// A substitution by T in waves (each wave's rows depend only on earlier waves; a barrier
// after each): x[r] = rhs[r] - sum_p val[p] x[idx[p]] for the rows r of the waves, in
// the CPU's row order (lyndon_solve_row of sksig/lyndon.hpp). rhs_at maps a row to its
// index in rhs.
template <class T, class RhsAt>
__device__ void wave_solve(i64 n_waves, const i64* wave_ptr, const i64* wave_rows,
                           const i64* ptr, const i64* idx, const double* val, const T* rhs,
                           RhsAt rhs_at, T* x) {
  for (i64 w = 0; w < n_waves; ++w) {
    for (i64 e = wave_ptr[w] + threadIdx.x; e < wave_ptr[w + 1]; e += blockDim.x) {
      const i64 r = wave_rows[e];
      x[r] = lyndon_solve_row(rhs[rhs_at(r)], ptr, idx, val, r, x);
    }
    __syncthreads();
  }
}

// out = T^{-1} (Z at the Lyndon words): forward substitution by rows.
template <class T>
__device__ void solve_stage(const Tables& t, const T* Z, T* out) {
  const i64* pos = t.pos;
  wave_solve(t.n_waves, t.wave_ptr, t.wave_rows, t.tri_ptr, t.tri_col, t.tri_val, Z,
             [pos](i64 u) { return pos[u]; }, out);
}

// g = T^{-T} x: backward substitution by columns (the entries of each column in the
// order in which the CPU's solve_transposed updates it).
template <class T>
__device__ void solve_transposed_stage(const Tables& t, const T* x, T* g) {
  wave_solve(t.n_twaves, t.twave_ptr, t.twave_cols, t.trt_ptr, t.trt_row, t.trt_val, x,
             [](i64 col) { return col; }, g);
}

template <class T>
__device__ T* workspace(T* global, i64 size) {
  SKSIG_DYNAMIC_SHARED(T, shared);
  return global ? global + blockIdx.x * size : shared;
}

// ---------------------------------------------------------------- kernels

// Workspace per block: 3 tensors (L / C, and two chain buffers).
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    join_kernel(Tables t, const T* __restrict__ ls, const T* __restrict__ disp,
                T* __restrict__ out, i64 batch, T* ws_global, i64 ws_size) {
  T* ws = workspace(ws_global, ws_size);
  const int N = t.N;
  T* L = ws;
  T* P[2] = {ws + t.n, ws + 2 * t.n};
  for (i64 b = blockIdx.x; b < batch; b += gridDim.x) {
    const T* c = ls + b * t.m;
    const T* v = disp + b * t.d;
    T* o = out + b * t.m;
    expand_stage(t, c, L, [] {});
    const T* q = nullptr;
    for (int s = 0; s < N; ++s) {  // exp chain: P[s & 1] = Q_{s+1}
      const HornerStep<T> h = exp_chain_step<T>(N, s);
      mul_stage(t, L, q, exp_chain_start<T>(), P[s & 1], s + 1, h.scale, 1, h.add);
      q = P[s & 1];
    }
    const T* A = q;
    T* E = P[N & 1];  // held Q_{N-1}, last read before the previous barrier
    exp_segment(t, v, E);
    __syncthreads();
    mul_stage(t, A, E, T(0), L, N, T(1), 0, T(0));  // C into L (L no longer needed)
    q = nullptr;
    for (int s = 0; s < N; ++s) {  // log chain: P[s & 1] = R_{s+1} (A, E are dead)
      const HornerStep<T> h = log_chain_step<T>(N, s);
      mul_stage(t, L, q, log_chain_start<T>(N), P[s & 1], s + 1, h.scale, 1, h.add);
      q = P[s & 1];
    }
    solve_stage(t, q, o);
  }
}

// Workspace per block: L, E, C, Q_1..Q_N (exp), R_1..R_N (log), two cotangent buffers,
// dC, dE, dL (tensors), g (m entries), the dv partial sums (blockDim * d), and the
// adjoint stages' chunk partials (2 blockDim + 64).
template <class T>
__global__ void __launch_bounds__(kMaxThreads)
    join_backprop_kernel(Tables t, const T* __restrict__ d_out, const T* __restrict__ ls,
                         const T* __restrict__ disp, T* __restrict__ grad_ls,
                         T* __restrict__ grad_disp, i64 batch, T* ws_global, i64 ws_size) {
  T* ws = workspace(ws_global, ws_size);
  const int N = t.N, d = t.d;
  const i64 n = t.n;
  T* L = ws;
  T* E = L + n;
  T* C = E + n;
  T* QA = C + n;       // QA + (s - 1) n = Q_s
  T* QL = QA + N * n;  // QL + (s - 1) n = R_s
  T* D[2] = {QL + N * n, QL + (N + 1) * n};
  T* dC = QL + (N + 2) * n;
  T* dE = dC + n;
  T* dL = dE + n;
  T* g = dL + n;
  T* part = g + t.m + threadIdx.x * i64(d);
  T* red = g + t.m + blockDim.x * i64(d);
  auto Q = [&](T* base, int s) -> T* { return s == 0 ? nullptr : base + (s - 1) * n; };
  for (i64 b = blockIdx.x; b < batch; b += gridDim.x) {
    const T* c = ls + b * t.m;
    const T* v = disp + b * d;
    // Forward, keeping the chains' intermediates.
    expand_stage(t, c, L, [&] {
      exp_segment(t, v, E);
      for (i64 e = threadIdx.x; e < n; e += blockDim.x) {
        D[0][e] = T(0);
        dC[e] = T(0);
        dL[e] = T(0);
      }
      for (int l = 0; l < d; ++l) part[l] = T(0);
    });
    for (int s = 0; s < N; ++s) {
      const HornerStep<T> h = exp_chain_step<T>(N, s);
      mul_stage(t, L, Q(QA, s), exp_chain_start<T>(), Q(QA, s + 1), s + 1, h.scale, 1,
                h.add);
    }
    const T* A = Q(QA, N);
    mul_stage(t, A, E, T(0), C, N, T(1), 0, T(0));
    for (int s = 0; s < N; ++s) {
      const HornerStep<T> h = log_chain_step<T>(N, s);
      mul_stage(t, C, Q(QL, s), log_chain_start<T>(N), Q(QL, s + 1), s + 1, h.scale, 1,
                h.add);
    }
    // Backward: solve^T, scatter to the Lyndon positions of dZ (zeroed above).
    solve_transposed_stage(t, d_out + b * t.m, g);
    for (i64 w = threadIdx.x; w < t.m; w += blockDim.x) D[0][t.pos[w]] = g[w];
    __syncthreads();
    int cur = 0;
    for (int s = N - 1; s >= 0; --s) {  // log chain
      mul_adjoint_stage(t, C, Q(QL, s), log_chain_start<T>(N), D[cur], s + 1,
                        log_chain_step<T>(N, s).scale, 1, dC, true,
                        s > 0 ? D[1 - cur] : nullptr, red);
      cur = 1 - cur;
    }
    // C = A (x) E: dA into D[0] (free: the last log step wrote nothing), dE.
    mul_adjoint_stage(t, A, E, T(0), dC, N, T(1), 0, D[0], false, dE, red);
    cur = 0;
    // dv through E_j[q l] = E_{j-1}[q] v_l / j, top level first (dE becomes the total
    // cotangent G level by level); thread partials per letter.
    for (int j = N; j >= 1; --j) {
      const T inv = T(1) / T(j);
      const T* Gj = dE + t.off[j];
      const T* Ep = E + t.off[j - 1];
      for_coords(t, j, j, false, [&](int, i64 u) {
        const i64 q = div_small(u, d);
        part[u - q * d] += Gj[u] * Ep[q] * inv;
      });
      if (j > 1) {
        T* Gp = dE + t.off[j - 1];
        for_coords(t, j - 1, j - 1, false, [&](int, i64 q) {
          T acc = 0;
          for (int l = 0; l < d; ++l) acc += Gj[q * d + l] * v[l];
          Gp[q] += inv * acc;
        });
      }
      __syncthreads();
    }
    for (int s = N - 1; s >= 0; --s) {  // exp chain
      mul_adjoint_stage(t, L, Q(QA, s), exp_chain_start<T>(), D[cur], s + 1,
                        exp_chain_step<T>(N, s).scale, 1, dL, true,
                        s > 0 ? D[1 - cur] : nullptr, red);
      cur = 1 - cur;
    }
    // Outputs: dv (partials summed in thread order) and the expansion's adjoint.
    T* base = g + t.m;
    for (i64 l = threadIdx.x; l < d; l += blockDim.x) {
      T acc = 0;
      for (i64 th = 0; th < blockDim.x; ++th) acc += base[th * d + l];
      grad_disp[b * d + l] = acc;
    }
    for (i64 w = threadIdx.x; w < t.m; w += blockDim.x)
      grad_ls[b * t.m + w] = lyndon_dot_row(T(0), t.exp_ptr, t.exp_pos, t.exp_val, w, dL);
    __syncthreads();  // the next item overwrites the workspace
  }
}

// ---------------------------------------------------------------- host side

struct TableEntry {
  Tables t;
  void* blob = nullptr;  // device memory, kept for the process lifetime
};

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::tuple<int, int, int>, std::unique_ptr<TableEntry>>& table_cache() {
  static std::map<std::tuple<int, int, int>, std::unique_ptr<TableEntry>> cache;
  return cache;
}

// Wave number of each row: 1 + the largest wave among its dependencies (rows of `deps`).
std::vector<i64> waves_of(i64 m, const std::vector<i64>& ptr, const std::vector<i64>& idx,
                          bool descending, i64* n_waves) {
  std::vector<i64> wave(m, 0);
  *n_waves = m ? 1 : 0;
  for (i64 s = 0; s < m; ++s) {
    const i64 u = descending ? m - 1 - s : s;
    i64 w = 0;
    for (i64 p = ptr[u]; p < ptr[u + 1]; ++p) w = std::max(w, wave[idx[p]] + 1);
    wave[u] = w;
    *n_waves = std::max(*n_waves, w + 1);
  }
  return wave;
}

void group_by_wave(const std::vector<i64>& wave, i64 n_waves, std::vector<i64>& ptr,
                   std::vector<i64>& rows) {
  ptr.assign(n_waves + 1, 0);
  for (i64 w : wave) ++ptr[w + 1];
  for (i64 k = 0; k < n_waves; ++k) ptr[k + 1] += ptr[k];
  rows.assign(wave.size(), 0);
  std::vector<i64> fill(ptr.begin(), ptr.end() - 1);
  for (i64 u = 0; u < static_cast<i64>(wave.size()); ++u) rows[fill[wave[u]]++] = u;
}

int build_tables(int dim, int degree, i64 m, const i64* pos, const i64* tri_ptr,
                 const i64* tri_col, const double* tri_val, const i64* exp_ptr,
                 const i64* exp_pos, const double* exp_val, TableEntry& entry) {
  const int d = dim, N = degree;
  const TensorShape shape(d, N);  // the CPU's geometry, uploaded as t.off and t.pw
  const std::vector<i64>& off = shape.off;
  const std::vector<i64>& pw = shape.pw;
  const i64 n = shape.size();
  std::vector<i64> top;
  for (i64 w = 0; w < m; ++w)
    if (pos[w] >= off[N]) top.push_back(pos[w] - off[N]);
  const i64 n_exp = exp_ptr[m], n_tri = tri_ptr[m];
  // Expansion by position: entries sorted by (position, word).
  std::vector<std::tuple<i64, i64, double>> by_pos;
  by_pos.reserve(n_exp);
  for (i64 w = 0; w < m; ++w)
    for (i64 p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
      by_pos.emplace_back(exp_pos[p], w, exp_val[p]);
  std::stable_sort(by_pos.begin(), by_pos.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) < std::get<0>(b);
  });
  std::vector<i64> x_pos, x_ptr{0}, x_word;
  std::vector<double> x_val;
  for (const auto& e : by_pos) {
    if (x_pos.empty() || x_pos.back() != std::get<0>(e)) {
      if (!x_pos.empty()) x_ptr.push_back(static_cast<i64>(x_word.size()));
      x_pos.push_back(std::get<0>(e));
    }
    x_word.push_back(std::get<1>(e));
    x_val.push_back(std::get<2>(e));
  }
  if (!x_pos.empty()) x_ptr.push_back(static_cast<i64>(x_word.size()));
  // Forward substitution waves.
  std::vector<i64> tp(tri_ptr, tri_ptr + m + 1), tc(tri_col, tri_col + n_tri);
  i64 n_waves = 0, n_twaves = 0;
  std::vector<i64> wave_ptr, wave_rows, twave_ptr, twave_cols;
  const std::vector<i64> wave = waves_of(m, tp, tc, false, &n_waves);
  group_by_wave(wave, n_waves, wave_ptr, wave_rows);
  // Transposed: column w lists the rows u > w with T[u, w] != 0, u descending (the order
  // in which the CPU's backward substitution updates x[w]).
  std::vector<i64> trt_ptr(m + 1, 0), trt_row(n_tri);
  std::vector<double> trt_val(n_tri);
  for (i64 p = 0; p < n_tri; ++p) ++trt_ptr[tc[p] + 1];
  for (i64 w = 0; w < m; ++w) trt_ptr[w + 1] += trt_ptr[w];
  {
    std::vector<i64> fill(trt_ptr.begin(), trt_ptr.end() - 1);
    for (i64 u = m - 1; u >= 0; --u)
      for (i64 p = tp[u]; p < tp[u + 1]; ++p) {
        trt_row[fill[tc[p]]] = u;
        trt_val[fill[tc[p]]++] = tri_val[p];
      }
  }
  const std::vector<i64> twave = waves_of(m, trt_ptr, trt_row, true, &n_twaves);
  group_by_wave(twave, n_twaves, twave_ptr, twave_cols);

  // One allocation: the integer arrays, then the doubles.
  std::vector<std::pair<const i64*, i64>> ints = {
      {off.data(), N + 2},          {pw.data(), N + 1},
      {pos, m},                     {top.data(), static_cast<i64>(top.size())},
      {exp_ptr, m + 1},             {exp_pos, n_exp},
      {x_pos.data(), static_cast<i64>(x_pos.size())},
      {x_ptr.data(), static_cast<i64>(x_ptr.size())},
      {x_word.data(), static_cast<i64>(x_word.size())},
      {tp.data(), m + 1},           {tc.data(), n_tri},
      {wave_ptr.data(), n_waves + 1}, {wave_rows.data(), m},
      {trt_ptr.data(), m + 1},      {trt_row.data(), n_tri},
      {twave_ptr.data(), n_twaves + 1}, {twave_cols.data(), m}};
  std::vector<std::pair<const double*, i64>> dbls = {
      {exp_val, n_exp}, {x_val.data(), static_cast<i64>(x_val.size())},
      {tri_val, n_tri}, {trt_val.data(), n_tri}};
  i64 n_int = 0, n_dbl = 0;
  for (auto& a : ints) n_int += a.second;
  for (auto& a : dbls) n_dbl += a.second;
  std::vector<i64> host_i(n_int);
  std::vector<double> host_d(n_dbl);
  std::vector<i64> at_i, at_d;
  i64 k = 0;
  for (auto& a : ints) {
    at_i.push_back(k);
    std::copy(a.first, a.first + a.second, host_i.begin() + k);
    k += a.second;
  }
  k = 0;
  for (auto& a : dbls) {
    at_d.push_back(k);
    std::copy(a.first, a.first + a.second, host_d.begin() + k);
    k += a.second;
  }
  const size_t bytes = (n_int + n_dbl) * 8 + 8;
  int status = status_of(cudaMalloc(&entry.blob, bytes));
  if (status != kOk) return status;
  i64* dev_i = static_cast<i64*>(entry.blob);
  double* dev_d = reinterpret_cast<double*>(dev_i + n_int);
  if (n_int)
    status = status_of(cudaMemcpy(dev_i, host_i.data(), n_int * 8, cudaMemcpyHostToDevice));
  if (status == kOk && n_dbl)
    status = status_of(cudaMemcpy(dev_d, host_d.data(), n_dbl * 8, cudaMemcpyHostToDevice));
  if (status != kOk) {
    cudaFree(entry.blob);
    entry.blob = nullptr;
    return status;
  }
  Tables& t = entry.t;
  t.d = d;
  t.N = N;
  t.n = n;
  t.m = m;
  t.n_top = static_cast<i64>(top.size());
  t.n_x = static_cast<i64>(x_pos.size());
  t.n_waves = n_waves;
  t.width = pw[N];
  t.n_twaves = n_twaves;
  const i64** iptrs[] = {&t.off,     &t.pw,       &t.pos,       &t.top,       &t.exp_ptr,
                         &t.exp_pos, &t.x_pos,    &t.x_ptr,     &t.x_word,    &t.tri_ptr,
                         &t.tri_col, &t.wave_ptr, &t.wave_rows, &t.trt_ptr,   &t.trt_row,
                         &t.twave_ptr, &t.twave_cols};
  for (size_t a = 0; a < ints.size(); ++a) *iptrs[a] = dev_i + at_i[a];
  const double** dptrs[] = {&t.exp_val, &t.x_val, &t.tri_val, &t.trt_val};
  for (size_t a = 0; a < dbls.size(); ++a) *dptrs[a] = dev_d + at_d[a];
  return kOk;
}

// Launch geometry: threads, shared bytes (0 = global workspace) and the grid.
template <class T>
struct Geometry {
  unsigned threads = 32;
  size_t shared = 0;
  bool global = false;
  i64 ws = 0;  // workspace entries per block
  i64 grid = 0;

  template <class K>
  int setup(K kernel, const Tables& t, i64 batch, i64 ws_fixed, i64 ws_per_thread,
            int device) {
    // The widest level (d^N, host values only: t's pointers are device memory).
    const i64 widest = std::max<i64>(t.m, t.width);
    threads = block_threads(widest, kMaxThreads);
    ws = ws_fixed + ws_per_thread * threads;
    int optin = 0;
    int status = shared_optin(device, optin);
    if (status != kOk) return status;
    const i64 bytes = ws * i64(sizeof(T));
    global = bytes > optin;
    if (global) {
      shared = 0;
      grid = std::max<i64>(
          1, std::min({batch, kMaxBlocks, kScratchBudget / std::max<i64>(1, bytes)}));
    } else {
      shared = static_cast<size_t>(bytes);
      grid = std::min<i64>(batch, kMaxBlocks);
      status = allow_shared(kernel, shared);
    }
    return status;
  }
};

// Launches kernel(t, args..., batch, scratch, ws) over the batch with a workspace of
// ws_fixed + ws_per_thread * threads entries per block (Geometry), in global scratch
// when it exceeds shared memory.
template <class T, class... Args>
int launch_join(void (*kernel)(Tables, Args..., i64, T*, i64), i64 ws_fixed,
                i64 ws_per_thread, const Tables& t, i64 batch, int device,
                cudaStream_t stream, Args... args) {
  if (batch < 0) return kInvalidArgument;
  if (batch == 0) return kOk;
  DeviceGuard guard(device);
  if (!guard.ok()) return kCudaError;
  Geometry<T> geo;
  int status = geo.setup(kernel, t, batch, ws_fixed, ws_per_thread, device);
  if (status != kOk) return status;
  Scratch scratch(stream);
  if (geo.global) {
    status = scratch.allocate(static_cast<size_t>(geo.grid * geo.ws) * sizeof(T));
    if (status != kOk) return status;
  }
  SKSIG_LAUNCH(kernel, static_cast<unsigned>(geo.grid), geo.threads, geo.shared,
               stream)(t, args..., batch, scratch.as<T>(), geo.ws);
  return status_of(cudaGetLastError());
}

template <class T>
int join_impl(const T* ls, const T* disp, T* out, i64 batch, const Tables& t, int device,
              cudaStream_t stream) {
  return launch_join<T, const T*, const T*, T*>(join_kernel<T>, 3 * t.n, 0, t, batch,
                                                device, stream, ls, disp, out);
}

template <class T>
int join_backprop_impl(const T* d_out, const T* ls, const T* disp, T* grad_ls,
                       T* grad_disp, i64 batch, const Tables& t, int device,
                       cudaStream_t stream) {
  return launch_join<T, const T*, const T*, const T*, T*, T*>(
      join_backprop_kernel<T>, (2 * i64(t.N) + 8) * t.n + t.m + 64, t.d + 2, t, batch,
      device, stream, d_out, ls, disp, grad_ls, grad_disp);
}

// Runs f(T(), tables, stream) with T = double (dbl) or float, for the tables handle of
// log_sig_tables.
template <class F>
int with_tables(bool dbl, std::uintptr_t tables, void* stream, F&& f) noexcept {
  return guarded([&] {
    if (!tables) return static_cast<int>(kInvalidArgument);
    const Tables& t = *reinterpret_cast<const Tables*>(tables);
    const auto s = static_cast<cudaStream_t>(stream);
    return dbl ? f(double(), t, s) : f(float(), t, s);
  });
}

}  // namespace

int log_sig_tables(int dim, int degree, std::int64_t n_words, const std::int64_t* pos,
                   const std::int64_t* tri_ptr, const std::int64_t* tri_col,
                   const double* tri_val, const std::int64_t* exp_ptr,
                   const std::int64_t* exp_pos, const double* exp_val, int device,
                   std::uintptr_t* handle) noexcept {
  return guarded([&]() -> int {
    if (dim < 1 || degree < 1 || n_words < 0 || !handle) return kInvalidArgument;
    std::lock_guard<std::mutex> lock(table_mutex());
    auto key = std::make_tuple(device, dim, degree);
    auto& cache = table_cache();
    auto it = cache.find(key);
    if (it == cache.end()) {
      if (!pos || !tri_ptr || !exp_ptr) return kInvalidArgument;
      DeviceGuard guard(device);
      if (!guard.ok()) return kCudaError;
      auto entry = std::make_unique<TableEntry>();
      const int status = build_tables(dim, degree, n_words, pos, tri_ptr, tri_col, tri_val,
                                      exp_ptr, exp_pos, exp_val, *entry);
      if (status != kOk) return status;
      it = cache.emplace(key, std::move(entry)).first;
    }
    *handle = reinterpret_cast<std::uintptr_t>(&it->second->t);
    return kOk;
  });
}

int log_sig_join(bool dbl, const void* ls, const void* disp, void* out, std::int64_t batch,
                 std::uintptr_t tables, int device, void* stream) noexcept {
  return with_tables(dbl, tables, stream, [&](auto zero, const Tables& t, cudaStream_t s) {
    using T = decltype(zero);
    return join_impl(static_cast<const T*>(ls), static_cast<const T*>(disp),
                     static_cast<T*>(out), batch, t, device, s);
  });
}

int log_sig_join_backprop(bool dbl, const void* d_out, const void* ls, const void* disp,
                          void* grad_ls, void* grad_disp, std::int64_t batch,
                          std::uintptr_t tables, int device, void* stream) noexcept {
  return with_tables(dbl, tables, stream, [&](auto zero, const Tables& t, cudaStream_t s) {
    using T = decltype(zero);
    return join_backprop_impl(static_cast<const T*>(d_out), static_cast<const T*>(ls),
                              static_cast<const T*>(disp), static_cast<T*>(grad_ls),
                              static_cast<T*>(grad_disp), batch, t, device, s);
  });
}

}  // namespace cuda
}  // namespace sksig

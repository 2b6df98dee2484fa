// Signature kernels by the Goursat PDE scheme of SPEC.md section 4.2, and its exact
// discrete adjoint (section 5).
//
// Speed: the recursion along a grid row is a serial chain, so a single pair is
// latency bound. We solve kLanes<T> pairs at once with the lanes innermost
// ([cell][lane] layout), which turns every update into independent SIMD work with no
// per-cell branches. Each lane is computed with exactly the same operations whatever
// the other lanes hold, so results do not depend on how pairs are grouped, on n_jobs or
// on max_batch. Within a block the forward sweeps bands of 2-4 grid rows at once with
// each row's chain in registers (sweep_band), and forms the linear kernel's
// coefficients in register tiles (linear_coefficient_tiles).
//
// Memory: the forward keeps two grid rows per lane (five with return_grid: a band and
// the row above; the increment Gram is produced a few segment rows at a time) and
// streams return_grid rows straight to the output. The
// backprop keeps whole grids per block only up to 64 MiB; beyond that it keeps
// checkpoint rows and recomputes stripes of about sqrt(M1) rows. Its per-segment
// arrays (n1 x n2 per lane) fall back to one lane per block for very long paths; the
// increment Gram's array is reused for dF/dDelta, row by row as the adjoint finishes
// with it, so a block holds one such array.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "finite.hpp"
#include "parallel.hpp"
#include "simd.hpp"
#include "static_kernels.hpp"
#include "status.hpp"

namespace sksig {

// Index of the calling thread inside parallel_for (0 when serial).
inline int thread_index() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// The two per-cell formulas of SPEC.md 4.2 and 5, shared with the CUDA cores
// (sksig/cuda/goursat.cu). Cell parameter d = f Delta:
//   A(d) = 1 + d/2 + d^2/12,  B(d) = 1 - d^2/12, and
//   dK_out/dd = (1/2 + d/6)(K_up + K_left) + (d/6) K_diag.
template <class T>
SKSIG_HD void cell_coefficients(T d, T& a, T& b) {
  a = T(1) + d / T(2) + d * d / T(12);
  b = T(1) - d * d / T(12);
}

template <class T>
SKSIG_HD T cell_sensitivity(T d, T k_up, T k_left, T k_diag) {
  return (T(0.5) + d / T(6)) * (k_up + k_left) + (d / T(6)) * k_diag;
}

// Pairs per block: 8 doubles or 16 floats (two AVX2 registers per value). The banded
// sweeps keep 2-4 rows' chains in flight, so wider blocks add no speed: at this width
// the coefficient tiles fit the registers and a band's rows stay in L1 (CPU ms per
// call, B32 d8 float64, one thread, 16 -> 8 lanes: forward L64 0.29 -> 0.17, L256 3.4
// -> 2.8, L256 dyadic 1 4.5 -> 4.1, L1024 51 -> 44, RBF 8.6 -> 8.2; backprop L256 16.8
// -> 13.8, dyadic 1 24.4 -> 22.3, RBF 42.2 -> 38.4, L512 78.3 -> 52.5, but L64 0.96 ->
// 1.63; 4 lanes lost at dyadic order 1+). A backprop block's grid-sized arrays are half
// as large, and a small batch gives two threads twice as many blocks to share.
template <class T>
constexpr int kLanes = 64 / sizeof(T);

// One refined grid row: knew[j+1] = (kold[j+1] + knew[j]) A - kold[j] B for j < M2,
// with A, B constant over the 2^lam2 cells of each segment column.
#define SKSIG_SWEEP_ROW_BODY(T, WIDTH)                                           \
  constexpr int W = WIDTH;                                                       \
  for (int w = 0; w < W; ++w) knew[w] = T(1);                                    \
  for (std::int64_t q = 0; q < n2; ++q) {                                        \
    const T* a = A + q * W;                                                      \
    const T* b = B + q * W;                                                      \
    for (std::int64_t s = 0; s < R2; ++s) {                                      \
      const std::int64_t j = (q * R2 + s) * W;                                   \
      _Pragma("omp simd") for (int w = 0; w < W; ++w) knew[j + W + w] =          \
          (kold[j + W + w] + knew[j + w]) * a[w] - kold[j + w] * b[w];           \
    }                                                                            \
  }

template <int Width, class T>
static void sweep_row(const T* __restrict kold, T* __restrict knew, const T* __restrict A,
                      const T* __restrict B, std::int64_t n2, std::int64_t R2) {
  simd_call([](const T* __restrict kold, T* __restrict knew, const T* __restrict A,
      const T* __restrict B, std::int64_t n2, std::int64_t R2) SKSIG_KERNEL_BODY {
    SKSIG_SWEEP_ROW_BODY(T, Width)
  }, kold, knew, A, B, n2, R2);
}

#if defined(__GNUC__) && !defined(__CUDACC__)
#include "psabi_off.hpp"
#define SKSIG_GOURSAT_BANDS 1
// Whether the forward of a Width-lane block runs on Vec<T> registers (sweep_band,
// coefficient tiles): float and double blocks of whole vectors.
template <class T, int Width>
constexpr bool banded() {
  return (std::is_same_v<T, double> || std::is_same_v<T, float>)&&Width >= Vec<T>::size &&
         Width % Vec<T>::size == 0;
}

// K refined grid rows in one pass (a band): out[k][j+1] = (up + left) A_k - diag B_k
// with up/diag the row above (kold for k = 0) at columns j+1/j and left out[k][j], the
// cell formula of SKSIG_SWEEP_ROW_BODY with its operations in its order. Each row's
// left value stays in a register (a row is a serial chain: keeping it out of memory
// takes the store-to-load trip out of the chain), the K rows' chains overlap, and
// each loaded value of the row above serves K rows. Shared: all K rows use the
// coefficient row a[0]/b[0] (sub-rows of one segment row). AllRows false: only the
// last row is stored (the others are not wanted).
template <class T, int W, int K, bool Shared, bool AllRows>
static void sweep_band(const T* kold, T* const* out, const T* const* a, const T* const* b,
                       std::int64_t n2, std::int64_t R2) {
  struct Args {
    const T* kold;
    T* out[K];
    const T* a[K];
    const T* b[K];
  } args{kold, {}, {}, {}};
  for (int k = 0; k < K; ++k) {
    args.out[k] = out[k];
    args.a[k] = a[Shared ? 0 : k];
    args.b[k] = b[Shared ? 0 : k];
  }
  simd_call([](const Args& g, std::int64_t n2, std::int64_t R2) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int S = Vec<T>::size, NV = W / S;
    // Local copies: stores through out[k] could otherwise alias g (reloaded per cell).
    const T* kold = g.kold;
    T* out[K];
    const T* a[K];
    const T* b[K];
    for (int k = 0; k < K; ++k) {
      out[k] = g.out[k];
      a[k] = g.a[k];
      b[k] = g.b[k];
    }
    V one;
    for (int i = 0; i < S; ++i) one[i] = T(1);
    V left[K][NV], diag0[NV];
    for (int v = 0; v < NV; ++v) diag0[v] = load_vec(kold + v * S);
    for (int k = 0; k < K; ++k)
      for (int v = 0; v < NV; ++v) {
        left[k][v] = one;  // the grid's left column
        if (AllRows || k == K - 1) store_vec(out[k] + v * S, one);
      }
    for (std::int64_t q = 0; q < n2; ++q) {
      const std::int64_t cq = q * W;
      for (std::int64_t s = 0; s < R2; ++s) {
        const std::int64_t j1 = (q * R2 + s + 1) * W;
        for (int v = 0; v < NV; ++v) {
          V up = load_vec(kold + j1 + v * S);
          V diag = diag0[v];
          diag0[v] = up;
          V av = load_vec(a[0] + cq + v * S), bv = load_vec(b[0] + cq + v * S);
          for (int k = 0; k < K; ++k) {
            if (!Shared && k > 0) {
              av = load_vec(a[k] + cq + v * S);
              bv = load_vec(b[k] + cq + v * S);
            }
            const V nv = (up + left[k][v]) * av - diag * bv;
            if (AllRows || k == K - 1) store_vec(out[k] + j1 + v * S, nv);
            diag = left[k][v];
            left[k][v] = nv;
            up = nv;
          }
        }
      }
    }
  }, args, n2, R2);
}

// Linear-kernel coefficients of NP segment rows (see GoursatBlock::coefficient_rows):
// Delta = scale (0 + sum_c dx_c dy_c), d = f Delta, A(d), B(d), for every lane, in
// register tiles of NP rows x 2 columns x one vector of lanes, so each loaded dx/dy
// vector serves 2/NP products (drow null: d not kept); the per-lane operations and their order are those of
// the row-by-row loops (and cell_coefficients). Unit: scale and f are both 1, so the
// two products by them (exact identities) are left out.
template <class T, int W, int NP, bool Unit>
static void linear_coefficient_tiles(const T* dx, const T* dy, T* drow, T* arow, T* brow,
                                     std::int64_t n2, std::int64_t d, T scale, T f) {
  simd_call([](const T* __restrict dx, const T* __restrict dy, T* __restrict drow,
               T* __restrict arow, T* __restrict brow, std::int64_t n2, std::int64_t d,
               T scale, T f) SKSIG_KERNEL_BODY {
    using V = typename Vec<T>::type;
    constexpr int S = Vec<T>::size, NV = W / S;
    V zero, one, two, twelve, vs, vf;
    for (int i = 0; i < S; ++i) {
      zero[i] = T(0);
      one[i] = T(1);
      two[i] = T(2);
      twelve[i] = T(12);
      vs[i] = scale;
      vf[i] = f;
    }
    auto tile = [&](std::int64_t q0, auto qt) SKSIG_KERNEL_BODY {
      constexpr int QT = decltype(qt)::value;
      for (int v = 0; v < NV; ++v) {
        const T* x0 = dx + v * S;
        const T* y0 = dy + q0 * d * W + v * S;
        V acc[NP][QT];
        for (int r = 0; r < NP; ++r) {
          const V xv = load_vec(x0 + r * d * W);
          for (int u = 0; u < QT; ++u) acc[r][u] = zero + xv * load_vec(y0 + u * d * W);
        }
        for (std::int64_t c = 1; c < d; ++c) {
          V yv[QT];
          for (int u = 0; u < QT; ++u) yv[u] = load_vec(y0 + (u * d + c) * W);
          for (int r = 0; r < NP; ++r) {
            const V xv = load_vec(x0 + (r * d + c) * W);
            for (int u = 0; u < QT; ++u) acc[r][u] += xv * yv[u];
          }
        }
        for (int r = 0; r < NP; ++r)
          for (int u = 0; u < QT; ++u) {
            V dd = acc[r][u];
            if constexpr (!Unit) dd = vf * (vs * dd);
            const V q12 = dd * dd / twelve;
            const std::int64_t i = (r * n2 + q0 + u) * W + v * S;
            if (drow) store_vec(drow + i, dd);
            store_vec(arow + i, one + dd / two + q12);
            store_vec(brow + i, one - q12);
          }
      }
    };
    std::int64_t q = 0;
    for (; q + 2 <= n2; q += 2) tile(q, std::integral_constant<int, 2>{});
    if (q < n2) tile(q, std::integral_constant<int, 1>{});
  }, dx, dy, drow, arow, brow, n2, d, scale, f);
}
#include "psabi_on.hpp"
#else
#define SKSIG_GOURSAT_BANDS 0
template <class T, int Width>
constexpr bool banded() {
  return false;
}
// Declared only (the forward names them in branches that banded() discards).
template <class T, int W, int K, bool Shared, bool AllRows>
void sweep_band(const T* kold, T* const* out, const T* const* a, const T* const* b,
                std::int64_t n2, std::int64_t R2);
template <class T, int W, int NP, bool Unit>
void linear_coefficient_tiles(const T* dx, const T* dy, T* drow, T* arow, T* brow,
                              std::int64_t n2, std::int64_t d, T scale, T f);
#endif

// One row r of the adjoint sweep (SPEC.md 5, step 3) fused with step 4 for the cells
// (r-1, c-1) whose output K[r, c] this row's lambda multiplies:
//   lam[c] = S[c] + A(r, c-1) lnext[c] - B(r, c) lnext[c+1] + A(r-1, c) lam[c+1]
//   gamma(p', q) += f lam[c] ((1/2 + d/6)(K[r-1, c] + K[r, c-1]) + (d/6) K[r-1, c-1])
// Arow_r/Brow_r are the coefficient rows of cell row r (any finite row when r = M1, as
// lnext is then zero), Arow_m that of cell row r-1 and Erow_m its d / 6 (formed once
// per segment row: cell_sensitivity's operations, with d / 6 taken from the row); lam
// and lnext have M2+2 entries (the last one zero); S is the seed row.
#define SKSIG_ADJOINT_ROW_BODY(T, WIDTH)                                               \
  constexpr int W = WIDTH;                                                             \
  const std::int64_t M2 = n2 << lam2;                                                  \
  for (int w = 0; w < W; ++w) lam[(M2 + 1) * W + w] = T(0);                            \
  for (std::int64_t c = M2; c >= 1; --c) {                                             \
    const std::int64_t qc = std::min<std::int64_t>(c >> lam2, n2 - 1);                 \
    const std::int64_t qm = (c - 1) >> lam2;                                           \
    const T* ar_m = Arow_r + qm * W;                                                   \
    const T* br_c = Brow_r + qc * W;                                                   \
    const T* am_c = Arow_m + qc * W;                                                   \
    const T* em = Erow_m + qm * W;                                                     \
    T* g = gamma_row + qm * W;                                                         \
    const T* s = S + c * W;                                                            \
    const T* kr = Kr + c * W;                                                          \
    const T* km = Km + c * W;                                                          \
    T* l = lam + c * W;                                                                \
    const T* ln = lnext + c * W;                                                       \
    _Pragma("omp simd") for (int w = 0; w < W; ++w) {                                  \
      const T v = s[w] + ar_m[w] * ln[w] - br_c[w] * ln[W + w] + am_c[w] * l[W + w];   \
      l[w] = v;                                                                        \
      g[w] += v * ((T(0.5) + em[w]) * (km[w] + kr[w - W]) + em[w] * km[w - W]);        \
    }                                                                                  \
  }

template <int Width, class T>
static void adjoint_row(
    T* __restrict lam, const T* __restrict lnext, const T* __restrict S,
    const T* __restrict Kr, const T* __restrict Km, const T* __restrict Arow_r,
    const T* __restrict Brow_r, const T* __restrict Arow_m, const T* __restrict Erow_m,
    T* __restrict gamma_row, std::int64_t n2, int lam2) {
  simd_call([](T* __restrict lam, const T* __restrict lnext, const T* __restrict S,
      const T* __restrict Kr, const T* __restrict Km, const T* __restrict Arow_r,
      const T* __restrict Brow_r, const T* __restrict Arow_m, const T* __restrict Erow_m,
      T* __restrict gamma_row, std::int64_t n2, int lam2) SKSIG_KERNEL_BODY {
    SKSIG_ADJOINT_ROW_BODY(T, Width)
  }, lam, lnext, S, Kr, Km, Arow_r, Brow_r, Arow_m, Erow_m, gamma_row, n2, lam2);
}

// One lane: for grids too large to hold a wide block of them (see BlockSplit).
template <class T>
static void sweep_row_1(const T* __restrict kold, T* __restrict knew,
                        const T* __restrict A, const T* __restrict B, std::int64_t n2,
                        std::int64_t R2) {
  SKSIG_SWEEP_ROW_BODY(T, 1)
}
template <class T>
static void adjoint_row_1(T* __restrict lam, const T* __restrict lnext,
                          const T* __restrict S, const T* __restrict Kr,
                          const T* __restrict Km, const T* __restrict Arow_r,
                          const T* __restrict Brow_r, const T* __restrict Arow_m,
                          const T* __restrict Erow_m, T* __restrict gamma_row,
                          std::int64_t n2, int lam2) {
  SKSIG_ADJOINT_ROW_BODY(T, 1)
}

template <int W, class T>
inline void sweep(const T* kold, T* knew, const T* A, const T* B, std::int64_t n2,
                  std::int64_t R2) {
  if constexpr (W == 1)
    sweep_row_1(kold, knew, A, B, n2, R2);
  else
    sweep_row<W>(kold, knew, A, B, n2, R2);
}

template <int W, class T>
inline void adjoint(T* lam, const T* lnext, const T* S, const T* Kr, const T* Km,
                    const T* Ar, const T* Br, const T* Am, const T* Em, T* g,
                    std::int64_t n2, int lam2) {
  if constexpr (W == 1)
    adjoint_row_1(lam, lnext, S, Kr, Km, Ar, Br, Am, Em, g, n2, lam2);
  else
    adjoint_row<W>(lam, lnext, S, Kr, Km, Ar, Br, Am, Em, g, n2, lam2);
}

// Buffers of the backprop kept between calls. A fresh buffer is faulted in 4 KiB at a
// time (B32 d8, dyadic order 1: about 500 faults per block and call at L64-L256, some
// 15% of an L64 backprop, and faults serialise threads), so freed buffers of 64 KiB and
// more are kept, up to kKeep bytes (the most recently freed), for the next call to
// take one of about its size instead of asking the system again.
class BufferCache {
 public:
  static constexpr std::size_t kMin = std::size_t(64) << 10, kKeep = std::size_t(64) << 20;

  // The process's cache (a child made by fork() starts its own: the parent's mutex may
  // be held by a thread the child does not have).
  static BufferCache* instance() noexcept {
    static std::atomic<BufferCache*> current{nullptr};
    BufferCache* c = current.load(std::memory_order_acquire);
    if (c != nullptr && c->pid_ == detail::process_id()) return c;
    BufferCache* fresh = new (std::nothrow) BufferCache;
    if (fresh == nullptr) return nullptr;
    if (current.compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) return fresh;
    delete fresh;
    return c;
  }

  // A kept buffer of bytes to 5/4 bytes (the most recently freed), or null.
  void* take(std::size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = kept_.size(); i-- > 0;) {
      if (kept_[i].bytes < bytes || kept_[i].bytes > bytes + bytes / 4) continue;
      void* p = kept_[i].p;
      held_ -= kept_[i].bytes;
      kept_.erase(kept_.begin() + std::ptrdiff_t(i));
      return p;
    }
    return nullptr;
  }

  // Keeps p (from std::malloc or std::aligned_alloc, at least `bytes` long), freeing
  // the oldest kept buffers to stay within kKeep; frees p itself when it is larger.
  void keep(void* p, std::size_t bytes) noexcept {
    if (bytes > kKeep) return std::free(p);
    std::lock_guard<std::mutex> lock(mutex_);
    while (held_ + bytes > kKeep) {
      std::free(kept_.front().p);
      held_ -= kept_.front().bytes;
      kept_.erase(kept_.begin());
    }
    try {
      kept_.push_back({p, bytes});
      held_ += bytes;
    } catch (...) {
      std::free(p);
    }
  }

 private:
  BufferCache() : pid_(detail::process_id()) {}
  struct Kept {
    void* p;
    std::size_t bytes;
  };
  const long pid_;
  std::mutex mutex_;
  std::vector<Kept> kept_;  // oldest first
  std::size_t held_ = 0;
};

// Allocator of the PDE cores' per-call buffers: from 64 KiB up they come from
// BufferCache when it has one, and from 2 MiB up they are 2 MiB aligned and ask Linux
// for transparent huge pages, so they are faulted in by the dozen rather than by the
// thousand (4 KiB faults cost about as much CPU time as the adjoint itself, and
// serialise threads).
template <class T>
struct ReusedAllocator {
  using value_type = T;
  static constexpr std::size_t kHuge = std::size_t(2) << 20;
  ReusedAllocator() = default;
  template <class U>
  ReusedAllocator(const ReusedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    BufferCache* cache = bytes >= BufferCache::kMin ? BufferCache::instance() : nullptr;
    if (void* kept = cache ? cache->take(bytes) : nullptr) return static_cast<T*>(kept);
    if (bytes < kHuge) {
      void* p = std::malloc(bytes);
      if (!p) throw std::bad_alloc();
      return static_cast<T*>(p);
    }
    const std::size_t whole = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, whole);
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // A hint (failure only costs speed) on whole huge pages: a partial last one would
    // be faulted in 4 KiB at a time.
    madvise(p, whole, MADV_HUGEPAGE);
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    BufferCache* cache = bytes >= BufferCache::kMin ? BufferCache::instance() : nullptr;
    if (cache)
      cache->keep(p, bytes);
    else
      std::free(p);
  }
  template <class U>
  bool operator==(const ReusedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const ReusedAllocator<U>&) const noexcept { return false; }
};
template <class T>
using ReusedVector = std::vector<T, ReusedAllocator<T>>;

// As ReusedAllocator, for the backprop's grid-sized buffers (tens of MiB): resize
// default-initialises (leaves doubles unset) rather than zeroing, as every user writes
// an element before reading it, and zeroing tens of MiB per call is a pass over memory
// for nothing.
template <class T>
struct BigBufferAllocator : ReusedAllocator<T> {
  BigBufferAllocator() = default;
  template <class U>
  BigBufferAllocator(const BigBufferAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using BigVector = std::vector<T, BigBufferAllocator<T>>;

// Problem sizes shared by every pair of one call (ragged inputs arrive padded).
struct GoursatShape {
  std::int64_t L1, L2, d;
  int lam1, lam2;
  SKSIG_HD std::int64_t n1() const { return L1 - 1; }
  SKSIG_HD std::int64_t n2() const { return L2 - 1; }
  SKSIG_HD std::int64_t R1() const { return std::int64_t(1) << lam1; }
  SKSIG_HD std::int64_t R2() const { return std::int64_t(1) << lam2; }
  SKSIG_HD std::int64_t M1() const { return n1() * R1(); }
  SKSIG_HD std::int64_t M2() const { return n2() * R2(); }
  SKSIG_HD std::int64_t grid_size() const { return (M1() + 1) * (M2() + 1); }
};

// Per-thread solver for one block of Width pairs.
template <class T, int Width = kLanes<T>>
struct GoursatBlock {
  static constexpr int W = Width;
  const StaticKernel<T>& kernel;
  GoursatShape sh;
  T f;
  ReusedVector<T> dy, kprev, kcur, rows;
  BigVector<T> delta;  // n1 x n2 x W with keep_coefficients, else one block of rows
  // A(d) and B(d) of one block of rows for the forward sweep; the adjoint re-forms them
  // from the kept delta rows (ab_row), so that a block holds one n1 x n2 x W array, not
  // three (two threads' arrays overflowed the last-level cache at L = 256).
  ReusedVector<T> A, B, ab_cache;
  std::vector<std::int64_t> ab_tag;  // segment row in each ab_cache slot, or -1
  std::vector<T> xpt, ypts, dot, r2;  // kernel_row's inputs and sums (non-linear kernels)
  // The adjoint's last finished row of dF/dDelta, and linear_backprop's increments
  // beside their gradients.
  ReusedVector<T> pending, gdx, gdy;

  GoursatBlock(const StaticKernel<T>& k, const GoursatShape& s) : kernel(k), sh(s) {
    f = std::ldexp(T(1), -(s.lam1 + s.lam2));
  }

  // Segment rows whose coefficients are formed together: the increment Gram then reads
  // each column of dY once from L2 for all of them.
  static constexpr std::int64_t kRowBlock = 4;  // linear_coefficient_tiles: NP <= 4

  // Cell parameters d = f Delta, A(d) and B(d) of segment rows p0..p0+np-1 for every
  // lane into drow/arow/brow (np rows of n2 * W each); np <= kRowBlock.
  void coefficient_rows(const T* const* xs, const T* const* ys, std::int64_t p0,
                        std::int64_t np, T* drow, T* arow, T* brow, bool keep_d = true) {
    const std::int64_t n2 = sh.n2(), d = sh.d;
    if (kernel.is_linear()) {
      // Delta row = s dx_p . dY across lanes: dx is laid out [row][c][lane], dy
      // [q][c][lane].
      const T scale = kernel.linear_scale();
      T* dx = kcur.data();  // kRowBlock * d * W
      for (std::int64_t r = 0; r < np; ++r)
        for (std::int64_t c = 0; c < d; ++c)
          for (int w = 0; w < W; ++w)
            dx[(r * d + c) * W + w] = xs[w][(p0 + r + 1) * d + c] - xs[w][(p0 + r) * d + c];
      if constexpr (banded<T, W>()) {
        const T* dyp = dy.data();
        if (!keep_d) drow = nullptr;
        auto tiles = [&](auto unit) {
          constexpr bool U = decltype(unit)::value;
          switch (np) {
            case 1: linear_coefficient_tiles<T, W, 1, U>(dx, dyp, drow, arow, brow, n2, d, scale, f); break;
            case 2: linear_coefficient_tiles<T, W, 2, U>(dx, dyp, drow, arow, brow, n2, d, scale, f); break;
            case 3: linear_coefficient_tiles<T, W, 3, U>(dx, dyp, drow, arow, brow, n2, d, scale, f); break;
            default: linear_coefficient_tiles<T, W, 4, U>(dx, dyp, drow, arow, brow, n2, d, scale, f);
          }
        };
        if (scale == T(1) && f == T(1))
          tiles(std::true_type{});
        else
          tiles(std::false_type{});
        return;
      }
      simd_call([](const T* __restrict dx, const T* __restrict dyq, T* __restrict drow,
                   std::int64_t n2, std::int64_t d, std::int64_t np,
                   T scale) SKSIG_KERNEL_BODY {
        for (std::int64_t q = 0; q < n2; ++q) {
          const T* y0 = dyq + q * d * W;
          for (std::int64_t r = 0; r < np; ++r) {
            // acc = 0 + sum_c dx_c dy_c, the first term added to 0 explicitly (the
            // same operations as zeroing acc first, which compilers do with a slow
            // block store).
            const T* xr = dx + r * d * W;
            T acc[W];
#pragma omp simd
            for (int w = 0; w < W; ++w) acc[w] = T(0) + xr[w] * y0[w];
            for (std::int64_t c = 1; c < d; ++c) {
              const T* yq = y0 + c * W;
              const T* xc = xr + c * W;
#pragma omp simd
              for (int w = 0; w < W; ++w) acc[w] += xc[w] * yq[w];
            }
            T* o = drow + (r * n2 + q) * W;
#pragma omp simd
            for (int w = 0; w < W; ++w) o[w] = scale * acc[w];
          }
        }
      }, static_cast<const T*>(dx), static_cast<const T*>(dy.data()), drow, n2, d, np,
         scale);
    } else {
      kernel_coefficient_rows(xs, p0, np, keep_d ? drow : nullptr, arow, brow);
      return;
    }
    simd_call([](T* __restrict drow, T* __restrict arow, T* __restrict brow,
                 std::int64_t n, T f) SKSIG_KERNEL_BODY {
#pragma omp simd
      for (std::int64_t i = 0; i < n; ++i) {
        const T dd = f * drow[i];  // the cell parameter d of SPEC.md 4.2
        cell_coefficients(dd, arow[i], brow[i]);
        drow[i] = dd;
      }
    }, drow, arow, brow, np * n2 * W, f);
  }

  // Coefficients of segment rows p0..p0+np-1 of a non-linear kernel (np <= kRowBlock),
  // in one pass over y: at each column q, the sums (squared distances or inner
  // products, see kernel_row) of points p0+1..p0+np against y_q, their kernel values,
  // and with those of column q - 1 and of point p0 (kprev, [q][lane]; point 0 is
  // formed by kernel_row when p0 = 0) the increment Gram
  //   Delta[p, q-1] = k(x_{p+1}, y_q) - k(x_p, y_q) - k(x_{p+1}, y_{q-1}) + k(x_p, y_{q-1}),
  // then d = f Delta, A(d), B(d) into drow (unless null), arow, brow. Per lane, each
  // value takes the operations of kernel_row (sums, value_of), of the four-term Delta
  // above and of cell_coefficients in that order, so the bits do not depend on the
  // tiling; kprev gets point p0 + np. Each y_q serves np rows, and the values stay in
  // L1 from the exp to the coefficients (the RBF exp runs on fast_exp_vec).
  void kernel_coefficient_rows(const T* const* xs, std::int64_t p0, std::int64_t np,
                               T* drow, T* arow, T* brow) {
    const std::int64_t d = sh.d;
    if (p0 == 0) kernel_row(xs, 0, kprev.data());
    T* xr = xpt.data();  // [r][c][lane], points p0 + 1 + r
    for (std::int64_t r = 0; r < np; ++r)
      for (std::int64_t c = 0; c < d; ++c)
        for (int w = 0; w < W; ++w) xr[(r * d + c) * W + w] = xs[w][(p0 + 1 + r) * d + c];
    with_kind(kernel.kind, KernelTiles{this, np, drow, arow, brow});
  }
  struct KernelTiles {
    GoursatBlock* s;
    std::int64_t np;
    T *drow, *arow, *brow;
    template <int Kind>
    void run() const {
      switch (np) {
        case 1: return s->template kernel_tiles<Kind, 1>(drow, arow, brow);
        case 2: return s->template kernel_tiles<Kind, 2>(drow, arow, brow);
        case 3: return s->template kernel_tiles<Kind, 3>(drow, arow, brow);
        default: return s->template kernel_tiles<Kind, 4>(drow, arow, brow);
      }
    }
  };
#include "psabi_off.hpp"
  template <int Kind, int NP>
  void kernel_tiles(T* drow, T* arow, T* brow) {
    simd_call([](const StaticKernel<T> k, const T* __restrict xr, const T* __restrict yp,
                 T* __restrict kp, T* __restrict drow, T* __restrict arow,
                 T* __restrict brow, std::int64_t L2, std::int64_t d, T f) SKSIG_KERNEL_BODY {
      // StaticKernel::is_radial for this kind: which sum value_as reads.
      constexpr bool radial = Kind != kPolynomial && Kind != kLinear && Kind != kScaledLinear;
      const std::int64_t n2 = L2 - 1;
      alignas(64) T sums[NP * W];
      alignas(64) T val[2][(NP + 1) * W];  // columns q - 1 and q: points p0..p0+NP
      for (std::int64_t q = 0; q < L2; ++q) {
        const T* yq = yp + q * d * W;
        // sums[r][w] = 0 + the first term, then the others (kernel_row's order).
        for (int r = 0; r < NP; ++r) {
          const T* x = xr + r * d * W;
#pragma omp simd
          for (int w = 0; w < W; ++w) {
            if constexpr (radial) {
              const T diff = x[w] - yq[w];
              sums[r * W + w] = T(0) + diff * diff;
            } else {
              sums[r * W + w] = T(0) + x[w] * yq[w];
            }
          }
        }
        for (std::int64_t c = 1; c < d; ++c)
          for (int r = 0; r < NP; ++r) {
            const T* x = xr + (r * d + c) * W;
            const T* y = yq + c * W;
#pragma omp simd
            for (int w = 0; w < W; ++w) {
              if constexpr (radial) {
                const T diff = x[w] - y[w];
                sums[r * W + w] += diff * diff;
              } else {
                sums[r * W + w] += x[w] * y[w];
              }
            }
          }
        T* v = val[q & 1];
        const T* u = val[(q & 1) ^ 1];
#pragma omp simd
        for (int w = 0; w < W; ++w) v[w] = kp[q * W + w];
#if SKSIG_GOURSAT_BANDS
        if constexpr (Kind == kRBF && std::is_same_v<T, double> && banded<T, W>()) {
          // value_as<kRBF> = fast_exp(-r2 / p0), a vector at a time (fast_exp_vec).
          constexpr int S = Vec<T>::size, N = W / S;
          for (int i = 0; i < NP * W; i += S)
            store_vec(sums + i, -load_vec(sums + i) / k.p0);
          for (int i = 0; i < NP * W; i += N * S) fast_exp_vec<N>(sums + i, v + W + i);
        } else
#endif
        {
#pragma omp simd
          for (int i = 0; i < NP * W; ++i)
            v[W + i] = k.template value_as<Kind>(sums[i], sums[i]);
        }
#pragma omp simd
        for (int w = 0; w < W; ++w) kp[q * W + w] = v[NP * W + w];
        if (q == 0) continue;
        for (int r = 0; r < NP; ++r) {
          const std::int64_t o = (r * n2 + q - 1) * W;
#pragma omp simd
          for (int w = 0; w < W; ++w) {
            const T delta = v[(r + 1) * W + w] - v[r * W + w] - u[(r + 1) * W + w] +
                            u[r * W + w];
            const T dd = f * delta;  // the cell parameter d of SPEC.md 4.2
            cell_coefficients(dd, arow[o + w], brow[o + w]);
            if (drow) drow[o + w] = dd;
          }
        }
      }
    }, kernel, static_cast<const T*>(xpt.data()), static_cast<const T*>(ypts.data()),
       kprev.data(), drow, arow, brow, sh.L2, sh.d, f);
  }
#include "psabi_on.hpp"

  // Kernel values k(x_a, y_q) of every lane for q = 0..L2-1 into out ([q][lane]): the
  // squared distances (radial kernels) or inner products (the others: the one sum each
  // kind reads) across lanes (ypts holds y [q][c][lane]), then the values as one row
  // (value_row, vectorised for the exp kernels), with the operations and order of
  // StaticKernel::value per lane.
  void kernel_row(const T* const* xs, std::int64_t a, T* out) {
    const std::int64_t d = sh.d, L2 = sh.L2;
    T* xa = xpt.data();  // d * W
    for (std::int64_t c = 0; c < d; ++c)
      for (int w = 0; w < W; ++w) xa[c * W + w] = xs[w][a * d + c];
    const bool radial = kernel.is_radial();
    T* sums = radial ? r2.data() : dot.data();
    simd_call([](const T* __restrict xa, const T* __restrict yp, T* __restrict sums,
                 std::int64_t L2, std::int64_t d, bool radial) SKSIG_KERNEL_BODY {
      // out[w] = sum_c term(x[c][w], y[c][w]): 0 + the first term, then the others.
      auto lane_sums = [d](const T* x, const T* y, T* out, auto term) SKSIG_KERNEL_BODY {
        T acc[W];
#pragma omp simd
        for (int w = 0; w < W; ++w) acc[w] = T(0) + term(x[w], y[w]);
        for (std::int64_t c = 1; c < d; ++c)
#pragma omp simd
          for (int w = 0; w < W; ++w) acc[w] += term(x[c * W + w], y[c * W + w]);
#pragma omp simd
        for (int w = 0; w < W; ++w) out[w] = acc[w];
      };
      for (std::int64_t q = 0; q < L2; ++q) {
        if (radial)
          lane_sums(xa, yp + q * d * W, sums + q * W, [](T a, T b) SKSIG_KERNEL_BODY {
            const T diff = a - b;
            return diff * diff;
          });
        else
          lane_sums(xa, yp + q * d * W, sums + q * W,
                    [](T a, T b) SKSIG_KERNEL_BODY { return a * b; });
      }
    }, static_cast<const T*>(xa), static_cast<const T*>(ypts.data()), sums, L2, d, radial);
    // value_of reads only r2 for radial kernels and only dot for the others.
    value_row(kernel, static_cast<const T*>(sums), static_cast<const T*>(sums), out, L2 * W);
  }

  void prepare(const T* const* xs, const T* const* ys, bool keep_all_rows) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
    const std::int64_t nrows = std::max<std::int64_t>(keep_all_rows ? n1 : std::min(n1, kRowBlock), 1);
    const std::int64_t block_rows = std::max<std::int64_t>(std::min(n1, kRowBlock), 1);
    delta.resize(nrows * n2 * W);
    A.resize(block_rows * n2 * W);
    B.resize(block_rows * n2 * W);
    if (kernel.is_linear()) {
      dy.resize(W * n2 * d);
      kcur.resize(kRowBlock * W * d);
      for (std::int64_t q = 0; q < n2; ++q)
        for (std::int64_t c = 0; c < d; ++c)
          for (int w = 0; w < W; ++w)
            dy[(q * d + c) * W + w] = ys[w][(q + 1) * d + c] - ys[w][q * d + c];
    } else {
      kprev.resize(W * sh.L2);
      dot.resize(W * sh.L2);
      r2.resize(W * sh.L2);
      xpt.resize(kRowBlock * W * d);
      ypts.resize(W * sh.L2 * d);
      for (std::int64_t q = 0; q < sh.L2; ++q)
        for (std::int64_t c = 0; c < d; ++c)
          for (int w = 0; w < W; ++w) ypts[(q * d + c) * W + w] = ys[w][q * d + c];
    }
  }

  // Solves the block from two rolling rows: result gets the W kernels. With
  // keep_coefficients all d/A/B rows stay for the adjoint; with solve false only they
  // are computed.
  void forward(const T* const* xs, const T* const* ys, T* result, bool keep_coefficients,
               bool solve = true) {
    forward_rows<false>(xs, ys, result, keep_coefficients, solve,
                        [](std::int64_t, const T*) {});
  }

  // As above, calling emit(r, row) for every grid row r = 0..M1 ([col][lane] layout)
  // as soon as it is known, so grids stream to their outputs from rolling rows;
  // rows_wanted false: emit would do nothing, so no row but the last is stored.
  template <class Emit>
  void forward(const T* const* xs, const T* const* ys, T* result, bool keep_coefficients,
               bool solve, Emit&& emit, bool rows_wanted = true) {
    if (rows_wanted)
      forward_rows<true>(xs, ys, result, keep_coefficients, solve, emit);
    else
      forward(xs, ys, result, keep_coefficients, solve);
  }

  // The forward; kEmit false: no row but the last is wanted (bands store one row).
  template <bool kEmit, class Emit>
  void forward_rows(const T* const* xs, const T* const* ys, T* result,
                    bool keep_coefficients, bool solve, Emit&& emit) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), R1 = sh.R1(), M2 = sh.M2();
    const std::int64_t row = (M2 + 1) * W;
    prepare(xs, ys, keep_coefficients);
    constexpr int kRing = banded<T, W>() ? kBandRows + 1 : 2;
    rows.resize((kEmit ? kRing : 2) * row);
    int ci = 0;  // ring slot of the last row solved
    T* cur = rows.data();
    std::fill(cur, cur + row, T(1));
    if (solve) emit(0, cur);
    std::int64_t r = 0;
    for (std::int64_t p0 = 0; p0 < n1; p0 += kRowBlock) {
      const std::int64_t np = std::min(kRowBlock, n1 - p0);
      const std::int64_t base = keep_coefficients ? p0 * n2 * W : 0;
      coefficient_rows(xs, ys, p0, np, delta.data() + base, A.data(), B.data(),
                       keep_coefficients);
      if (!solve) continue;
      // Refined rows t of the block, in bands of K (sub-row t uses coefficient row
      // t / R1); every band row is emitted in order.
      for (std::int64_t t = 0, nt = np * R1; t < nt;) {
        check_interrupt();
        const int K = banded<T, W>() ? band_rows(t, nt, R1) : 1;
        T* out[kBandRows];
        const T* a[kBandRows];
        const T* b[kBandRows];
        for (int k = 0; k < K; ++k) {
          // Without emit only the band's last row is stored: two slots take turns.
          const int slot = kEmit ? (ci + 1 + k) % kRing : (ci + 1) % 2;
          out[k] = rows.data() + slot * row;
          const std::int64_t off = ((t + k) / R1) * n2 * W;
          a[k] = A.data() + off;
          b[k] = B.data() + off;
        }
        if constexpr (banded<T, W>()) {
          if (K == 4)
            sweep_band<T, W, 4, true, kEmit>(cur, out, a, b, n2, sh.R2());
          else if (K == 2 && a[0] == a[1])
            sweep_band<T, W, 2, true, kEmit>(cur, out, a, b, n2, sh.R2());
          else if (K == 2)
            sweep_band<T, W, 2, false, kEmit>(cur, out, a, b, n2, sh.R2());
          else
            sweep_band<T, W, 1, true, kEmit>(cur, out, a, b, n2, sh.R2());
        } else {
          sweep<W>(cur, out[0], a[0], b[0], n2, sh.R2());
        }
        if constexpr (kEmit)
          for (int k = 0; k < K; ++k) emit(r + 1 + k, out[k]);
        ci = kEmit ? (ci + K) % kRing : (ci + 1) % 2;
        cur = out[K - 1];
        r += K;
        t += K;
      }
    }
    if (solve)
      for (int w = 0; w < W; ++w) result[w] = cur[M2 * W + w];
  }

  // Rows per band of the forward sweep: 4 sub-rows of one segment row where R1 allows,
  // else 2 (of one or two segment rows), 1 for the last odd row.
  static constexpr int kBandRows = 4;
  static int band_rows(std::int64_t t, std::int64_t nt, std::int64_t R1) {
    if (R1 % 4 == 0 && t % 4 == 0 && nt - t >= 4) return 4;
    return nt - t >= 2 ? 2 : 1;
  }

  // A and B of segment row p, formed from the kept delta row by the same operations as
  // in coefficient_rows (so the same bits), in slot p % ab_slots of a ring sized by
  // ab_reserve: the rows of one recomputed stripe and the row above stay formed for the
  // adjoint (which would otherwise form each again, one division per cell).
  // The slot also gets d / 6 of the row (e, for the adjoint's cell_sensitivity).
  const T* ab_row(std::int64_t p, const T*& a, const T*& b) {
    const std::int64_t n = sh.n2() * W;
    const std::int64_t slot = p % std::int64_t(ab_tag.size());
    T* as = ab_cache.data() + 3 * slot * n;
    if (ab_tag[slot] != p) {
      ab_tag[slot] = p;
      simd_call([](const T* __restrict dl, T* __restrict as, T* __restrict bs,
                   T* __restrict es, std::int64_t n) SKSIG_KERNEL_BODY {
#pragma omp simd
        for (std::int64_t i = 0; i < n; ++i) {
          cell_coefficients(dl[i], as[i], bs[i]);
          es[i] = dl[i] / T(6);
        }
      }, static_cast<const T*>(delta.data() + p * n), as, as + n, as + 2 * n, n);
    }
    a = as;
    b = as + n;
    return as + 2 * n;
  }
  // Slots for the segment rows of stripes of `stripe` grid rows (with the row above and
  // a band's rows: any kBandRows + 1 consecutive segment rows, or a stripe's and two
  // more, get distinct slots), all empty.
  void ab_reserve(std::int64_t stripe) {
    const std::int64_t slots =
        std::max<std::int64_t>(kBandRows + 1, (stripe >> sh.lam1) + 3);
    ab_cache.resize(3 * slots * sh.n2() * W);
    ab_tag.assign(slots, -1);
  }

  // Grid rows r0 + 1 .. r0 + K (K <= kBandRows) from row r0 (kold) into out[0..K-1],
  // in one band where the block is banded (else row by row): the coefficient rows of
  // cell rows r0 .. r0 + K - 1 come from ab_row, whose ring keeps them all formed.
  void sweep_rows(const T* kold, T* const* out, std::int64_t r0, int K) {
    const T* a[kBandRows];
    const T* b[kBandRows];
    bool shared = true;
    for (int k = 0; k < K; ++k) {
      ab_row((r0 + k) >> sh.lam1, a[k], b[k]);
      shared = shared && a[k] == a[0];
    }
    const std::int64_t n2 = sh.n2(), R2 = sh.R2();
    if constexpr (banded<T, W>()) {
      switch (K * 2 + (shared ? 1 : 0)) {
        case 9: return sweep_band<T, W, 4, true, true>(kold, out, a, b, n2, R2);
        case 8: return sweep_band<T, W, 4, false, true>(kold, out, a, b, n2, R2);
        case 7: return sweep_band<T, W, 3, true, true>(kold, out, a, b, n2, R2);
        case 6: return sweep_band<T, W, 3, false, true>(kold, out, a, b, n2, R2);
        case 5: return sweep_band<T, W, 2, true, true>(kold, out, a, b, n2, R2);
        case 4: return sweep_band<T, W, 2, false, true>(kold, out, a, b, n2, R2);
        default: return sweep_band<T, W, 1, true, true>(kold, out, a, b, n2, R2);
      }
    } else {
      for (int k = 0; k < K; ++k) sweep<W>(k ? out[k - 1] : kold, out[k], a[k], b[k], n2, R2);
    }
  }

  // Rows between the checkpoints of an adjoint without a stored grid (M1 >= 1).
  std::int64_t checkpoint_stride(std::int64_t stripe) const {
    return std::max<std::int64_t>(1, std::min(stripe, sh.M1()));
  }

  // The forward (result gets the W kernels) keeping the coefficients for the adjoint
  // and, for adjoint(..., have_ckpt = true) with the same stripe, its checkpoint rows
  // 0, stripe, 2 stripe, ... (< M1) in ckpt: the rows are those the adjoint would
  // sweep again (the same operations), so it need not.
  void forward_checkpoints(const T* const* xs, const T* const* ys, T* result,
                           std::int64_t stripe, ReusedVector<T>& ckpt) {
    if (sh.n1() == 0 || sh.n2() == 0) return forward(xs, ys, result, true, false);
    stripe = checkpoint_stride(stripe);
    const std::int64_t krow = (sh.M2() + 1) * W, last = ((sh.M1() - 1) / stripe) * stripe;
    ckpt.resize((last / stripe + 1) * krow);
    forward(xs, ys, result, true, true, [&](std::int64_t r, const T* row) {
      if (r % stripe == 0 && r <= last)
        std::copy(row, row + krow, ckpt.data() + (r / stripe) * krow);
    });
  }

  // Adjoint of the block (SPEC.md 5, steps 2-4): dF/dDelta of every lane into delta
  // ([p][q][lane], in place of the increment Gram, whose rows are dead by then) and,
  // when gamma is not null, of the first `count` lanes into gamma (lane-major, n1 * n2
  // per lane). Segment row p is accumulated across lanes in grow (n2 * W, cache
  // resident) and written out, scaled by f, as soon as its last grid row is done.
  // Needs the coefficients of forward(..., keep_coefficients = true, solve = false).
  // K rows come from grids[w] (pair-major user grids), two rows at a time, or else are
  // recomputed in stripes of at most `stripe` + 1 rows from checkpoint rows kept every
  // `stripe` rows, so memory is O((M1 / stripe + stripe) rows) rather than a whole grid
  // per lane. seeds[w]: grid-shaped seeds, or null with corner[w] seeding K[M1, M2].
  void adjoint(const T* const* grids, const T* const* seeds, const T* corner,
               std::int64_t stripe, ReusedVector<T>& ckpt, BigVector<T>& band,
               ReusedVector<T>& seed_band, ReusedVector<T>& grow, T* gamma,
               std::int64_t count, bool have_ckpt = false) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), M1 = sh.M1(), M2 = sh.M2();
    const std::int64_t krow = (M2 + 1) * W, lrow = (M2 + 2) * W, ng = n1 * n2;
    if (n1 == 0 || n2 == 0) return;
    // A stored grid is read two rows at a time (row hi is the previous row lo).
    stripe = grids ? 1 : checkpoint_stride(stripe);
    const std::int64_t R1m = sh.R1() - 1;
    ab_reserve(stripe);
    if (!grids && !have_ckpt) {  // checkpoint rows 0, stripe, 2 stripe, ... (< M1)
      const std::int64_t last = ((M1 - 1) / stripe) * stripe;
      ckpt.resize((last / stripe + 1) * krow);
      // A ring of a band's rows and the row above; bands end at checkpoint rows.
      constexpr int kRing = kBandRows + 1;
      rows.resize(kRing * krow);
      int ci = 0;
      T* cur = rows.data();
      std::fill(cur, cur + krow, T(1));
      std::copy(cur, cur + krow, ckpt.data());
      for (std::int64_t r = 0; r < last;) {
        check_interrupt();
        const std::int64_t next = (r / stripe + 1) * stripe;
        const int K = banded<T, W>() ? int(std::min<std::int64_t>(kBandRows, next - r)) : 1;
        T* out[kBandRows];
        for (int k = 0; k < K; ++k) out[k] = rows.data() + ((ci + 1 + k) % kRing) * krow;
        sweep_rows(cur, out, r, K);
        ci = (ci + K) % kRing;
        cur = out[K - 1];
        r += K;
        if (r % stripe == 0) std::copy(cur, cur + krow, ckpt.data() + (r / stripe) * krow);
      }
    }
    band.resize((stripe + 1) * krow);
    grow.assign(n2 * W, T(0));
    seed_band.assign(seeds ? stripe * krow : krow, T(0));
    if (!seeds)
      for (int w = 0; w < W; ++w) seed_band[M2 * W + w] = corner[w];
    pending.resize(n2 * W);
    std::int64_t pending_row = -1;
    std::vector<T> lam_rows(2 * lrow, T(0));
    T* lnext = lam_rows.data();  // row M1 + 1: zero
    T* lam = lam_rows.data() + lrow;
    const T* zero_seed = nullptr;
    std::vector<T> zeros;
    if (!seeds) {
      zeros.assign(krow, T(0));
      zero_seed = zeros.data();
    }
    // Row r of every lane's grid (or seeds) into band row `to`, [col][lane]. Rows are
    // read in descending order, one short run per lane, which hardware prefetchers
    // do not anticipate: row r - 1 is prefetched now, to arrive during row r's sweep.
    auto gather = [&](const T* const* src, std::int64_t r, T* to) {
#if defined(__GNUC__)
      if (r > 0)
        for (int w = 0; w < W; ++w)
          for (std::int64_t c = 0; c <= M2; c += 64 / sizeof(T))
            __builtin_prefetch(src[w] + (r - 1) * (M2 + 1) + c);
#endif
      // In chunks of columns that stay in L1, as store_lanes does (B32 L256 d8: the
      // backprop given k_grid 17.9 -> 17.0 ms).
      constexpr std::int64_t kChunk = 128 / sizeof(T);
      for (std::int64_t c0 = 0; c0 <= M2; c0 += kChunk) {
        const std::int64_t c1 = std::min(M2 + 1, c0 + kChunk);
        for (int w = 0; w < W; ++w) {
          const T* g = src[w] + r * (M2 + 1);
          for (std::int64_t c = c0; c < c1; ++c) to[c * W + w] = g[c];
        }
      }
    };
    // With grids the band holds two rows, hi in slot hi_slot and lo in the other; the
    // lo row becomes the next hi row in place.
    int hi_slot = 1;
    for (std::int64_t hi = M1; hi >= 1;) {
      const std::int64_t lo = ((hi - 1) / stripe) * stripe;  // rows lo..hi in the band
      if (grids) {
        if (hi == M1) gather(grids, hi, band.data() + hi_slot * krow);
        gather(grids, lo, band.data() + (1 - hi_slot) * krow);
      } else {
        std::copy(ckpt.data() + (lo / stripe) * krow, ckpt.data() + (lo / stripe + 1) * krow,
                  band.data());
        for (std::int64_t r = lo; r < hi;) {  // in bands, every row kept
          const int K = banded<T, W>() ? int(std::min<std::int64_t>(kBandRows, hi - r)) : 1;
          T* out[kBandRows];
          for (int k = 0; k < K; ++k) out[k] = band.data() + (r - lo + 1 + k) * krow;
          sweep_rows(band.data() + (r - lo) * krow, out, r, K);
          r += K;
        }
      }
      if (seeds)
        for (std::int64_t r = lo + 1; r <= hi; ++r)
          gather(seeds, r, seed_band.data() + (r - lo - 1) * krow);
      for (std::int64_t r = hi; r > lo; --r) {
        check_interrupt();
        const std::int64_t pr = std::min<std::int64_t>(r >> sh.lam1, n1 - 1);
        const std::int64_t pm = (r - 1) >> sh.lam1;
        const T* S = seeds ? seed_band.data() + (r - lo - 1) * krow
                           : (r == M1 ? seed_band.data() : zero_seed);
        const T* Kr = band.data() + (grids ? hi_slot : r - lo) * krow;
        const T* Km = grids ? band.data() + (1 - hi_slot) * krow : Kr - krow;
        const T *ar, *br, *am, *bm;
        ab_row(pr, ar, br);  // then pm: two slots, so row pr stays
        const T* em = ab_row(pm, am, bm);
        sksig::adjoint<W>(lam, lnext, S, Kr, Km, ar, br, am, em, grow.data(), n2, sh.lam2);
        std::swap(lam, lnext);
        if (((r - 1) & R1m) == 0) {  // segment row pm is complete
          // Delta row pm + 1 is no longer read (rows left have segment rows <= pm; a
          // cache miss in ab_row re-forms row pm, so row pm must stay): the pending
          // dF/dDelta row pm + 1 goes there, row pm becomes the pending one.
          if (pending_row >= 0)
            std::copy(pending.begin(), pending.end(), delta.data() + pending_row * n2 * W);
          scale_row(grow.data(), pending.data(), n2 * W, f);
          pending_row = pm;
          if (gamma)
            for (std::int64_t q = 0; q < n2; ++q)
              for (std::int64_t w = 0; w < count; ++w)
                gamma[w * ng + pm * n2 + q] = pending[q * W + w];
        }
      }
      hi = lo;
      hi_slot = 1 - hi_slot;
    }
    std::copy(pending.begin(), pending.end(), delta.data() + pending_row * n2 * W);
  }

  // out = in * f and in = 0 (n entries).
  static void scale_row(T* in, T* out, std::int64_t n, T f) {
    simd_call([](T* __restrict in, T* __restrict out, std::int64_t n, T f) SKSIG_KERNEL_BODY {
#pragma omp simd
      for (std::int64_t i = 0; i < n; ++i) {
        out[i] = in[i] * f;
        in[i] = T(0);
      }
    }, in, out, n, f);
  }

  // dF/dx and dF/dy of the linear kernel (Delta = s dX dY^T) from dF/dDelta kept in
  // delta by adjoint(), for the first `count` lanes: per lane exactly the operations
  // of delta_backprop (static_kernels.hpp) in the same order (gdx[p] sums over q
  // ascending, gdy[q] over p ascending), across lanes at once. Tiles of kP segment
  // rows by kQ columns keep the sums in registers; each increment sits beside its
  // gradient ([row][c][increment, gradient][lane]), as loads of one array 4 KiB apart
  // from stores to another stall. gx, gy: (count, L1, d) and (count, L2, d), or null.
  void linear_backprop(const T* const* xs, std::int64_t count, T* gx, T* gy) {
    const std::int64_t n1 = sh.n1(), n2 = sh.n2(), d = sh.d;
    gdx.assign(std::max<std::int64_t>(n1, 1) * d * 2 * W, T(0));
    gdy.assign(std::max<std::int64_t>(n2, 1) * d * 2 * W, T(0));
    for (std::int64_t p = 0; p < n1; ++p)
      for (std::int64_t c = 0; c < d; ++c)
        for (int w = 0; w < W; ++w)
          gdx[(p * d + c) * 2 * W + w] = xs[w][(p + 1) * d + c] - xs[w][p * d + c];
    for (std::int64_t q = 0; q < n2; ++q)
      for (std::int64_t c = 0; c < d; ++c)
        for (int w = 0; w < W; ++w)
          gdy[(q * d + c) * 2 * W + w] = dy[(q * d + c) * W + w];
    const T* gam = delta.data();
    const T s = kernel.linear_scale();
#if defined(__GNUC__) && !defined(__CUDACC__)
    if constexpr ((std::is_same_v<T, double> || std::is_same_v<T, float>) &&
                  W % Vec<T>::size == 0) {
      simd_call([](const T* __restrict gam, T* __restrict xb, T* __restrict yb,
                   std::int64_t n1, std::int64_t n2, std::int64_t d, T s) SKSIG_KERNEL_BODY {
        using V = typename Vec<T>::type;
        constexpr int VS = Vec<T>::size;
        constexpr std::int64_t kQ = 16;
        V sv;
        for (int v = 0; v < VS; ++v) sv[v] = s;
        // scaled false: s is 1 and s * g is g, bit for bit, so the product is skipped
        // (a fifth of the tile's arithmetic).
        auto tile = [&](auto rows, auto scaled, std::int64_t p0, std::int64_t q0,
                        std::int64_t q1) SKSIG_KERNEL_BODY {
          constexpr int P = decltype(rows)::value;
          auto times_s = [&](V g) {
            if constexpr (decltype(scaled)::value) return sv * g;
            else return g;
          };
          for (std::int64_t c = 0; c < d; ++c)
            for (int w0 = 0; w0 < W; w0 += VS) {
              V ax[P], xv[P];
              for (int i = 0; i < P; ++i) {
                const T* xi = xb + ((p0 + i) * d + c) * 2 * W + w0;
                xv[i] = load_vec(xi);
                ax[i] = load_vec(xi + W);
              }
              std::int64_t q = q0;
              // Two columns at a time: two independent chains of gdy sums.
              for (; q + 1 < q1; q += 2) {
                T* ya = yb + (q * d + c) * 2 * W + w0;
                T* yc = ya + d * 2 * W;
                const V yva = load_vec(static_cast<const T*>(ya));
                const V yvc = load_vec(static_cast<const T*>(yc));
                V aya = load_vec(static_cast<const T*>(ya + W));
                V ayc = load_vec(static_cast<const T*>(yc + W));
                for (int i = 0; i < P; ++i) {
                  const T* gi = gam + ((p0 + i) * n2 + q) * W + w0;
                  const V ga = times_s(load_vec(gi));
                  const V gc = times_s(load_vec(gi + W));
                  ax[i] += ga * yva;
                  aya += ga * xv[i];
                  ax[i] += gc * yvc;
                  ayc += gc * xv[i];
                }
                store_vec(ya + W, aya);
                store_vec(yc + W, ayc);
              }
              for (; q < q1; ++q) {
                T* yq = yb + (q * d + c) * 2 * W + w0;
                const V yv = load_vec(static_cast<const T*>(yq));
                V ay = load_vec(static_cast<const T*>(yq + W));
                for (int i = 0; i < P; ++i) {
                  const V g = times_s(load_vec(gam + ((p0 + i) * n2 + q) * W + w0));
                  ax[i] += g * yv;
                  ay += g * xv[i];
                }
                store_vec(yq + W, ay);
              }
              for (int i = 0; i < P; ++i)
                store_vec(xb + ((p0 + i) * d + c) * 2 * W + w0 + W, ax[i]);
            }
        };
        auto tiles = [&](auto scaled) SKSIG_KERNEL_BODY {
          // Tiles of 8 rows where they fit: each row's x-gradient sum is one serial
          // chain of adds, and 8 chains keep the adders busier than 4 (B32 L256 d8
          // backprop 5% faster); the sums run in the same order whatever the tile.
          std::int64_t p0 = 0;
          for (; p0 + 8 <= n1; p0 += 8)
            for (std::int64_t q0 = 0; q0 < n2; q0 += kQ)
              tile(std::integral_constant<int, 8>(), scaled, p0, q0, std::min(n2, q0 + kQ));
          for (; p0 + 4 <= n1; p0 += 4)
            for (std::int64_t q0 = 0; q0 < n2; q0 += kQ)
              tile(std::integral_constant<int, 4>(), scaled, p0, q0, std::min(n2, q0 + kQ));
          for (; p0 < n1; ++p0)
            for (std::int64_t q0 = 0; q0 < n2; q0 += kQ)
              tile(std::integral_constant<int, 1>(), scaled, p0, q0, std::min(n2, q0 + kQ));
        };
        if (s == T(1))
          tiles(std::false_type());
        else
          tiles(std::true_type());
      }, gam, gdx.data(), gdy.data(), n1, n2, d, s);
    } else
#endif
    {
      T* xb = gdx.data();
      T* yb = gdy.data();
      for (std::int64_t p = 0; p < n1; ++p)
        for (std::int64_t q = 0; q < n2; ++q)
          for (int w = 0; w < W; ++w) {
            const T g = s * gam[(p * n2 + q) * W + w];
            for (std::int64_t c = 0; c < d; ++c) {
              T* xi = xb + (p * d + c) * 2 * W + w;
              T* yi = yb + (q * d + c) * 2 * W + w;
              xi[W] += g * yi[0];
              yi[W] += g * xi[0];
            }
          }
    }
    // To the points: x[a] enters dx[a-1] with + and dx[a] with -.
    auto to_points = [&](const ReusedVector<T>& gd, std::int64_t n, T* out,
                         std::int64_t stride) {
      for (std::int64_t w = 0; w < count; ++w)
        for (std::int64_t a = 0; a <= n; ++a)
          for (std::int64_t c = 0; c < d; ++c)
            out[w * stride + a * d + c] =
                (a > 0 ? gd[((a - 1) * d + c) * 2 * W + W + w] : T(0)) -
                (a < n ? gd[(a * d + c) * 2 * W + W + w] : T(0));
    };
    if (gx) to_points(gdx, n1, gx, sh.L1 * d);
    if (gy) to_points(gdy, n2, gy, sh.L2 * d);
  }
};

// Per-thread buffers, reused from block to block so that large grids are allocated
// (and page-faulted) once per call and thread, not once per block.
template <class T, int W = kLanes<T>>
struct Workspace {
  static constexpr int width = W;
  GoursatBlock<T, W> solver;
  // grid: K rows of the adjoint; gamma: one segment row of dF/dDelta, all lanes;
  // lane: dF/dDelta per lane.
  ReusedVector<T> gamma, seed, ckpt;
  BigVector<T> grid, lane;
  Workspace(const StaticKernel<T>& k, const GoursatShape& s) : solver(k, s) {}
};

template <class T, int W = kLanes<T>>
struct Workspaces {
  std::vector<Workspace<T, W>> items;
  Workspaces(const StaticKernel<T>& k, const GoursatShape& s, int n_threads) {
    items.reserve(std::max(n_threads, 1));
    for (int t = 0; t < std::max(n_threads, 1); ++t) items.emplace_back(k, s);
  }
  Workspace<T, W>& mine() { return items[thread_index()]; }
};

// Per-thread forward buffers for parallel_items bodies (which must not index by
// omp_get_thread_num): each item claims a free workspace for its duration. There are
// as many as threads, and no more items than threads run at once, so one is free.
template <class T, int W = kLanes<T>>
struct ClaimedWorkspaces : Workspaces<T, W> {
  std::vector<std::atomic<bool>> busy;
  ClaimedWorkspaces(const StaticKernel<T>& k, const GoursatShape& s, int n_threads)
      : Workspaces<T, W>(k, s, n_threads), busy(this->items.size()) {
    for (auto& b : busy) b.store(false);
  }
  // f(workspace) on a claimed workspace, released afterwards (also on exceptions).
  template <class F>
  int with(F&& f) {
    std::size_t i = 0;
    for (;; i = (i + 1) % busy.size())
      if (!busy[i].exchange(true, std::memory_order_acquire)) break;
    struct Release {
      std::atomic<bool>& flag;
      ~Release() { flag.store(false, std::memory_order_release); }
    } release{busy[i]};
    return f(this->items[i]);
  }
};

// Pairs of one call: pairwise (pair p = (x[p], y[p])) or Gram (p = i * ny + j).
template <class T>
struct PairSource {
  const T* x;
  const T* y;
  std::int64_t ny;
  bool gram;
  GoursatShape sh;
  void pair(std::int64_t p, std::int64_t& i, std::int64_t& j) const {
    if (gram) {
      i = p / ny;
      j = p % ny;
    } else {
      i = j = p;
    }
  }
  // Lane pointers for pairs [p0, p0 + count); unused lanes repeat the first pair.
  template <int W = kLanes<T>>
  void lanes(std::int64_t p0, std::int64_t count, const T** xs, const T** ys) const {
    for (int w = 0; w < W; ++w) {
      std::int64_t i, j;
      pair(p0 + (w < count ? w : 0), i, j);
      xs[w] = x + i * sh.L1 * sh.d;
      ys[w] = y + j * sh.L2 * sh.d;
    }
  }
};

// How the pairs of one call are cut into blocks. Full blocks of `lanes` pairs fill
// every SIMD lane; the remaining `tail` pairs go into blocks of `tail_lanes` (one lane,
// or one SIMD vector's worth), unless there are enough of them to pay for a padded
// wide block (its unused lanes repeat a pair: solving one pair in a wide block costs
// `lanes` times its memory and, as the lanes share the loop, more time than a narrower
// block). Grids whose wide rows would exceed kWideBudget bytes per block use one lane
// throughout. Every lane performs the same operations whatever the width, so results
// do not depend on the cut.
struct BlockSplit {
  static constexpr std::int64_t kWideBudget = std::int64_t(256) << 20;
  std::int64_t width, tail_width, n_wide, n_blocks;
  // n_pairs pairs; wide_row_bytes: bytes per block that grow with the width (per lane
  // times the lanes).
  BlockSplit(std::int64_t n_pairs, int lanes, double wide_row_bytes, int tail_lanes = 1)
      : width(lanes) {
    const bool wide_ok = lanes > 1 && wide_row_bytes <= double(kWideBudget);
    tail_width = wide_ok ? tail_lanes : 1;
    const std::int64_t full = wide_ok ? n_pairs / lanes : 0;
    const std::int64_t tail = n_pairs - full * lanes;
    const bool pad = wide_ok && tail > lanes / 2;
    n_wide = full + (pad ? 1 : 0);
    n_blocks = n_wide + (pad ? 0 : (tail + tail_width - 1) / tail_width);
  }
  bool wide(std::int64_t blk) const { return blk < n_wide; }
  std::int64_t block_width(std::int64_t blk) const { return wide(blk) ? width : tail_width; }
  // First pair and pair count of block blk (pairs [0, n_pairs)).
  void range(std::int64_t blk, std::int64_t n_pairs, std::int64_t& p0,
             std::int64_t& count) const {
    const bool in_wide = blk < n_wide;
    p0 = in_wide ? blk * width : n_wide * width + (blk - n_wide) * tail_width;
    count = std::min<std::int64_t>(in_wide ? width : tail_width, n_pairs - p0);
  }
};

// Workspaces for the blocks of a BlockSplit: wide, vector-wide tail and one-lane ones.
template <class T, int W, int V>
struct SplitWorkspaces {
  ClaimedWorkspaces<T, W> wide;
  ClaimedWorkspaces<T, V> tails;
  ClaimedWorkspaces<T, 1> narrow;
  SplitWorkspaces(const StaticKernel<T>& k, const GoursatShape& s, int n_threads)
      : wide(k, s, n_threads), tails(k, s, n_threads), narrow(k, s, n_threads) {}
  // f(workspace) on a claimed workspace of block blk's width.
  template <class F>
  int with(const BlockSplit& split, std::int64_t blk, F&& f) {
    const std::int64_t w = split.block_width(blk);
    if (w == W) return wide.with(f);
    return w > 1 ? tails.with(f) : narrow.with(f);
  }
};

// Lanes of the tail blocks: one SIMD vector where the banded sweep runs on vectors,
// else one. In the forward a padded vector block beats one-lane blocks even for a
// single pair, as its band rows' chains overlap (CPU ms, d3 at dyadic order 0, L500: four
// pairs 9.1 as one-lane blocks, 0.93 as one 4-lane block; one pair of L2000 37 as one
// lane, 17 for a whole 4-lane block).
template <class T>
constexpr int tail_lanes() {
#if SKSIG_GOURSAT_BANDS
  return banded<T, Vec<T>::size>() && Vec<T>::size < kLanes<T> ? Vec<T>::size : 1;
#else
  return 1;
#endif
}

// Whether all of a call's pairs go into blocks of one SIMD vector (tail_lanes) rather
// than kLanes: with the linear kernel at dyadic order 0, where forming each cell's
// coefficient (an increment inner product) outweighs the sweep, for the backprop, for
// a forward of fewer than four wide blocks per thread that vector blocks give two
// threads (twice as many blocks balance the threads better) and for one whose wide
// blocks' increments and coefficient rows outgrow a core's share of L2. Python calls, B32 d8 float64, ms at 8 -> 4 lanes:
// backprop at 2 threads L128 2.84 -> 2.58, L256 9.29 -> 7.61, L512 33.1 -> 29.0, at
// one thread L64 1.22 -> 1.14 (L256 equal); forward at 2 threads L128 0.86 -> 0.70,
// L1024 23.5 -> 22.0, at one thread L1024 42.8 -> 39.8. Elsewhere the 8-lane sweeps
// win (dyadic order 2 backprop at 2 threads 30.2 -> 36.7; RBF equal).
// wide: the call's cut into kLanes blocks (vector blocks need its tails vector-wide:
// blocks small enough to be wide), n_blocks: its blocks, threads: those a forward
// would use with vector blocks.
template <class T>
bool vector_blocks(const StaticKernel<T>& kernel, const GoursatShape& sh,
                   const BlockSplit& wide, std::int64_t n_blocks, int threads,
                   bool backprop) {
  if (wide.tail_width == 1) return false;
  if (!kernel.is_linear() || sh.lam1 != 0 || sh.lam2 != 0) return false;
  if (backprop || (threads > 1 && n_blocks < 4 * std::int64_t(threads))) return true;
  constexpr double kL2Share = 384 << 10;
  const double wide_bytes = double(sh.n2()) * kLanes<T> * sizeof(T) *
                            double(sh.d + 2 * GoursatBlock<T>::kRowBlock);
  return wide_bytes > kL2Share;
}

// Rows a wide forward block holds: two, or a band's rows and the row above when the
// rows are wanted (the grid is returned).
template <class T>
double ring_rows(const void* grid) {
  constexpr bool wide = banded<T, kLanes<T>>();
  return grid && wide ? GoursatBlock<T>::kBandRows + 1.0 : 2.0;
}

// Threads worth starting for n_pairs pairs in n_blocks blocks. A second thread only
// pays when each thread gets at least kMinCellsPerThread cells of work (grid cells of
// the sweep plus increment-Gram terms, a fraction of a nanosecond each per lane) and
// two blocks: a helper joins a call tens of
// microseconds late and runs its first block up to 1.5x slower than the calling thread,
// its caches cold (Python calls, B32 d8, 2 threads against 1: the forward of L32 0.149
// -> 0.167 ms with 2^17 cells a thread; the backprop of 8 pairs of L64 in two blocks
// 0.352 -> 0.403 ms). Results never depend on it. passes: sweeps over each grid (a
// backprop makes about four: checkpoints, recomputation, adjoint, chain rule).
inline int forward_threads(int n_threads, std::int64_t n_blocks, std::int64_t n_pairs,
                           const GoursatShape& sh, double passes = 1.0) {
  constexpr double kMinCellsPerThread = 1 << 19;
  const double work = passes * double(n_pairs) *
                      (double(sh.M1()) * double(sh.M2()) +
                       double(sh.n1()) * double(sh.n2()) * double(sh.d));
  const double cap = std::min({double(std::max(n_threads, 1)), work / kMinCellsPerThread,
                               double((n_blocks + 1) / 2)});
  return std::max(1, int(cap));
}

// Whether the polynomial kernel clamps (beta = <a, b> + gamma < 0, SPEC.md 3.1) at some
// static-Gram entry the kernel functions evaluate: point a of path p of x (nx paths of
// L1 points) against every point b of path p of y, or (gram) of every path of y (ny
// paths of L2 points). beta is formed exactly as StaticKernel::value forms it. Rows of
// x are independent items, so the answer does not depend on n_threads.
template <class T>
int polynomial_clamps(const T* x, std::int64_t nx, std::int64_t L1, const T* y,
                      std::int64_t ny, std::int64_t L2, std::int64_t d, bool gram,
                      T gamma, int n_threads, bool* clamps) noexcept {
  std::atomic<bool> found{false};
  const int status = parallel_for(nx * L1, n_threads, [&](std::int64_t row) -> int {
    if (found.load(std::memory_order_relaxed)) return kOk;
    const T* a = x + row * d;
    const T* b = gram ? y : y + (row / L1) * L2 * d;
    const std::int64_t count = gram ? ny * L2 : L2;
    for (std::int64_t j = 0; j < count; ++j, b += d) {
      T dot = 0;
      for (std::int64_t c = 0; c < d; ++c) dot += a[c] * b[c];
      if (dot + gamma < T(0)) {
        found.store(true, std::memory_order_relaxed);
        break;
      }
    }
    return kOk;
  });
  *clamps = found.load();
  return status;
}

// Stores lanes [0, count) of a [col][lane] row of len columns (V lanes) as dst[w][c *
// stride]. Lane by lane across the whole row read it V times from L2 (a wide row
// outgrows L1); chunks of columns that stay in L1 read it once (B32 L256 d8: storing
// the grids took 1.85 ms per call, now 1.15; the forward with return_grid 6.3 -> 5.5).
template <int V, class T>
inline void store_lanes(const T* row, std::int64_t len, std::int64_t count, T* const* dst,
                        std::int64_t stride) {
  constexpr std::int64_t kChunk = 128 / sizeof(T);  // 2 KiB of the row
  for (std::int64_t c0 = 0; c0 < len; c0 += kChunk) {
    const std::int64_t c1 = std::min(len, c0 + kChunk);
    for (std::int64_t w = 0; w < count; ++w) {
      T* d = dst[w];
      for (std::int64_t c = c0; c < c1; ++c) d[c * stride] = row[c * V + w];
    }
  }
}

// Forward for n_pairs pairs: out[p] = k(pair p); grid (optional) (n_pairs, M1+1, M2+1).
// With the linear kernel, when the second path is refined longer (M2 > M1), the pair
// is solved transposed, k(x, y) = k(y, x) on the transposed grid, so that the rolling
// rows run along the shorter side (one pair at dyadic order (0, 24) needs two rows of
// 2 cells, not of 2^24). Its increment Gram and the sweep are exactly symmetric, so the
// values are bitwise those of the other orientation (the backprop, which recomputes
// grids untransposed, agrees bit for bit); other kernels form Delta from four kernel
// values in an order that transposition changes, so they keep their orientation.
template <class T>
int sig_kernel_pairs(const T* x, const T* y, std::int64_t n_pairs, std::int64_t ny,
                     bool gram, GoursatShape sh, KernelParams kp, T* out, T* grid,
                     int n_threads) noexcept {
  const StaticKernel<T> kernel = make_static_kernel<T>(kp);
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  constexpr int W = kLanes<T>;
  return guarded([&]() -> int {
    const PairSource<T> src{x, y, ny, gram, sh};
    const bool transpose = kernel.is_linear() && sh.M2() > sh.M1();
    const GoursatShape solved =
        transpose ? GoursatShape{sh.L2, sh.L1, sh.d, sh.lam2, sh.lam1} : sh;
    constexpr int V = tail_lanes<T>();
    const double lane_bytes = ring_rows<T>(grid) * double(solved.M2() + 1) * sizeof(T);
    BlockSplit split(n_pairs, W, lane_bytes * W, V);
    const BlockSplit vectors(n_pairs, V, lane_bytes * V, V);
    if (vector_blocks(kernel, solved, split, split.n_blocks,
                      forward_threads(n_threads, vectors.n_blocks, n_pairs, sh), false))
      split = vectors;
    n_threads = forward_threads(n_threads, split.n_blocks, n_pairs, sh);
    const std::int64_t cells = sh.grid_size(), row_len = sh.M2() + 1;
    SplitWorkspaces<T, W, V> spaces(kernel, solved, n_threads);
    auto solve = [&](auto& ws, std::int64_t p0, std::int64_t count) -> int {
      constexpr int V = std::remove_reference_t<decltype(ws)>::width;
      const T* xs[V];
      const T* ys[V];
      src.template lanes<V>(p0, count, xs, ys);
      T result[V];
      const std::int64_t solved_len = solved.M2() + 1;
      ws.solver.forward(transpose ? ys : xs, transpose ? xs : ys, result, false, true,
                        [&](std::int64_t r, const T* row) {
        if (!grid) return;
        T* dst[V];  // solved row r is column r of the pair's grid when transposed
        for (std::int64_t w = 0; w < count; ++w)
          dst[w] = grid + (p0 + w) * cells + (transpose ? r : r * row_len);
        store_lanes<V>(row, solved_len, count, dst, transpose ? row_len : 1);
      }, grid != nullptr);
      for (std::int64_t w = 0; w < count; ++w) out[p0 + w] = result[w];
      return all_finite(result, count) ? kOk : kNonFinite;
    };
    // Blocks on the caller and pool helpers that join while blocks remain: a helper
    // that is not scheduled in time costs nothing (an OpenMP team waits for it).
    return parallel_items(split.n_blocks, n_threads, [&](std::int64_t blk) {
      std::int64_t p0, count;
      split.range(blk, n_pairs, p0, count);
      return spaces.with(split, blk, [&](auto& ws) { return solve(ws, p0, count); });
    });
  });
}

// Symmetric Gram of n paths with equal dyadic orders: pairs i <= j are solved in blocks
// along each row (cut as in BlockSplit) and mirrored (grids transposed), so the result
// is exactly symmetric.
template <class T>
int sig_kernel_gram_symmetric(const T* x, std::int64_t n, GoursatShape sh, KernelParams kp,
                              T* out, T* grid, int n_threads) noexcept {
  const StaticKernel<T> kernel = make_static_kernel<T>(kp);
  if (sh.L1 != sh.L2 || sh.lam1 != sh.lam2 || sh.L1 < 1 || sh.d < 1) return kInvalidArgument;
  constexpr int W = kLanes<T>;
  return guarded([&]() -> int {
    const double lane_bytes = ring_rows<T>(grid) * double(sh.M2() + 1) * sizeof(T);
    constexpr int V = tail_lanes<T>();
    // Row i holds pairs (i, i..n-1) in BlockSplit(n - i, lanes).n_blocks blocks.
    int lanes = W;
    std::vector<std::int64_t> first(n + 1, 0);
    auto cut = [&] {
      for (std::int64_t i = 0; i < n; ++i)
        first[i + 1] = first[i] + BlockSplit(n - i, lanes, lane_bytes * lanes, V).n_blocks;
    };
    const std::int64_t n_pairs = n * (n + 1) / 2;
    lanes = V;
    cut();
    const int vector_threads = forward_threads(n_threads, first[n], n_pairs, sh);
    lanes = W;
    cut();
    if (vector_blocks(kernel, sh, BlockSplit(n, W, lane_bytes * W, V), first[n],
                      vector_threads, false)) {
      lanes = V;
      cut();
    }
    n_threads = forward_threads(n_threads, first[n], n_pairs, sh);
    const std::int64_t cells = sh.grid_size(), side = sh.M1() + 1;
    SplitWorkspaces<T, W, V> spaces(kernel, sh, n_threads);
    auto solve = [&](auto& ws, std::int64_t i, std::int64_t j0, std::int64_t count) -> int {
      constexpr int V = std::remove_reference_t<decltype(ws)>::width;
      const T* xs[V];
      const T* ys[V];
      for (int w = 0; w < V; ++w) {
        xs[w] = x + i * sh.L1 * sh.d;
        ys[w] = x + (j0 + (w < count ? w : 0)) * sh.L1 * sh.d;
      }
      T result[V];
      ws.solver.forward(xs, ys, result, false, true, [&](std::int64_t a, const T* row) {
        if (!grid) return;
        T* gij[V];  // row a of grid (i, j) and column a of grid (j, i)
        T* gji[V];
        for (std::int64_t w = 0; w < count; ++w) {
          gij[w] = grid + (i * n + j0 + w) * cells + a * side;
          gji[w] = grid + ((j0 + w) * n + i) * cells + a;
        }
        store_lanes<V>(row, side, count, gij, 1);
        store_lanes<V>(row, side, count, gji, side);
      }, grid != nullptr);
      for (std::int64_t w = 0; w < count; ++w) {
        out[i * n + j0 + w] = result[w];
        out[(j0 + w) * n + i] = result[w];
      }
      return all_finite(result, count) ? kOk : kNonFinite;
    };
    return parallel_items(first[n], n_threads, [&](std::int64_t blk) {  // as above
      const std::int64_t i =
          std::upper_bound(first.begin(), first.end(), blk) - first.begin() - 1;
      const BlockSplit split(n - i, lanes, lane_bytes * lanes, V);
      std::int64_t q0, count;
      split.range(blk - first[i], n - i, q0, count);
      return spaces.with(split, blk - first[i],
                         [&](auto& ws) { return solve(ws, i, i + q0, count); });
    });
  });
}

// Backprop for n_pairs pairs (pairwise or Gram, as in sig_kernel_pairs).
//   derivs: n_pairs values, or n_pairs grids when grid_derivs.
//   k_grid: n_pairs forward grids to use instead of recomputing, or null.
//   gx, gy: per-pair gradients w.r.t. the (transformed) paths, (n_pairs, L1, d) and
//     (n_pairs, L2, d), either may be null; gamma: per-pair dF/dDelta (n_pairs, n1, n2)
//     or null.
// Pairs [0, n_pairs) are processed independently; callers reduce Gram gradients.
// Rows per stripe of the adjoint of one W-lane block: whole grids while they fit in a
// core's share of cache; beyond, stripes of about sqrt(M1) rows recomputed from
// checkpoint rows (one extra forward sweep, memory O(sqrt(M1)) rows). A grid-sized
// band per thread is slower than the extra sweep once the threads' bands overflow the
// last-level cache (B32 L256 d8: two threads were slower than one).
template <int W, class T>
std::int64_t adjoint_stripe(const GoursatShape& sh) {
  constexpr std::int64_t kGridBudget = std::int64_t(1) << 20;
  const std::int64_t row_bytes = (sh.M2() + 1) * W * std::int64_t(sizeof(T));
  if ((sh.M1() + 1) * row_bytes <= kGridBudget) return sh.M1();
  return std::max<std::int64_t>(1, std::int64_t(std::sqrt(double(sh.M1()))));
}

// Bytes per lane of an adjoint block: `grids` grid-sized arrays (n1 x n2: dF/dDelta,
// and whatever a caller keeps per lane beside it) and the band and checkpoint rows
// (two stripes of about sqrt(M1) rows).
template <class T>
double adjoint_lane_bytes(const GoursatShape& sh, int grids) {
  return (double(grids) * double(sh.n1()) * double(sh.n2()) +
          (2.0 * std::sqrt(double(sh.M1())) + 8.0) * double(sh.M2() + 2)) *
         double(sizeof(T));
}

template <int W, class T>
int pairs_backprop(const T* x, const T* y, std::int64_t p_begin, std::int64_t n_pairs,
                   std::int64_t ny, bool gram, GoursatShape sh,
                   const StaticKernel<T>& kernel, const T* derivs, bool grid_derivs,
                   const T* k_grid, T* gx, T* gy, T* gamma, int n_threads) {
  const PairSource<T> src{x, y, ny, gram, sh};
  const std::int64_t n_blocks = (n_pairs + W - 1) / W;
  const std::int64_t cells = sh.grid_size(), n1 = sh.n1(), n2 = sh.n2();
  const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d;
  const std::int64_t stripe = adjoint_stripe<W, T>(sh);
  // Blocks on the pool, as the forward's (a helper that is late costs nothing).
  n_threads = forward_threads(n_threads, n_blocks, n_pairs, sh, 4.0);
  ClaimedWorkspaces<T, W> spaces(kernel, sh, n_threads);
  return parallel_items(n_blocks, n_threads, [&](std::int64_t blk) {
    return spaces.with([&](Workspace<T, W>& ws) {
      const std::int64_t q0 = blk * W, count = std::min<std::int64_t>(W, n_pairs - q0);
      const std::int64_t p0 = p_begin + q0;  // global pair index of lane 0
      const T* xs[W];
      const T* ys[W];
      src.template lanes<W>(p0, count, xs, ys);
      GoursatBlock<T, W>& solver = ws.solver;
      T result[W];
      if (k_grid)
        solver.forward(xs, ys, result, true, false);  // coefficients only
      else
        solver.forward_checkpoints(xs, ys, result, stripe, ws.ckpt);
      const T* grids[W];
      const T* seeds[W];
      T corner[W];
      for (int w = 0; w < W; ++w) {
        const std::int64_t p = p0 + (w < count ? w : 0);
        grids[w] = k_grid ? k_grid + p * cells : nullptr;
        seeds[w] = grid_derivs ? derivs + p * cells : nullptr;
        corner[w] = w < count ? (grid_derivs ? T(0) : derivs[p0 + w]) : T(0);
      }
      solver.adjoint(k_grid ? grids : nullptr, grid_derivs ? seeds : nullptr, corner, stripe,
                     ws.ckpt, ws.grid, ws.seed, ws.gamma,
                     gamma ? gamma + q0 * n1 * n2 : nullptr, count, !k_grid);
      if ((gx || gy) && kernel.is_linear())
        solver.linear_backprop(xs, count, gx ? gx + q0 * sx : nullptr,
                               gy ? gy + q0 * sy : nullptr);
      for (std::int64_t w = 0; w < count; ++w) {
        const std::int64_t q = q0 + w;
        if ((gx || gy) && !kernel.is_linear())  // dF/dDelta of lane w: stride W
          delta_backprop(kernel, solver.delta.data() + w, n2 * W, W, xs[w], ys[w], sh.L1,
                         sh.L2, sh.d, gx ? gx + q * sx : nullptr, gy ? gy + q * sy : nullptr);
        if (gx && !all_finite(gx + q * sx, sx)) return kNonFinite;
        if (gy && !all_finite(gy + q * sy, sy)) return kNonFinite;
      }
      return kOk;
    });
  });
}

// Backprop entry point. Pairs are cut as in BlockSplit: full blocks of kLanes<T>
// pairs (or of one vector, see vector_blocks), the rest in vector-wide or one-lane
// blocks; blocks hold coefficient and gradient arrays of
// n1 x n2 per lane and rows of M2 + 1 per lane, so large grids use one lane throughout
// (same operations per pair, so identical results).
template <class T>
int sig_kernel_pairs_backprop(const T* x, const T* y, std::int64_t p_begin,
                              std::int64_t n_pairs, std::int64_t ny, bool gram,
                              GoursatShape sh, KernelParams kp, const T* derivs,
                              bool grid_derivs, const T* k_grid, T* gx, T* gy, T* gamma,
                              int n_threads) noexcept {
  if (sh.L1 < 1 || sh.L2 < 1 || sh.d < 1 || sh.lam1 < 0 || sh.lam2 < 0) return kInvalidArgument;
  return guarded([&]() -> int {
    const StaticKernel<T> kernel = make_static_kernel<T>(kp);
    constexpr int W = kLanes<T>;
    // B32 L1024 d8 at dyadic order 0 (134 MiB per block) went from one lane per block
    // to 16 once this counted the one grid-sized array a block holds: 1049 -> 457 ms.
    constexpr int V = tail_lanes<T>();
    const double per_lane = adjoint_lane_bytes<T>(sh, 1);
    const BlockSplit split(n_pairs, W, per_lane * W, V);
    // Wide blocks first, then the tail's (outputs are indexed from p_begin).
    const std::int64_t n_wide = vector_blocks(kernel, sh, split, split.n_blocks, 1, true)
                                    ? 0
                                    : std::min(n_pairs, split.n_wide * W);
    if (n_wide > 0) {
      const int status = pairs_backprop<W>(x, y, p_begin, n_wide, ny, gram, sh, kernel,
                                           derivs, grid_derivs, k_grid, gx, gy, gamma,
                                           n_threads);
      if (status != kOk) return status;
    }
    if (n_wide == n_pairs) return kOk;
    const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d, ng = sh.n1() * sh.n2();
    auto tail = [&](auto lanes) {
      return pairs_backprop<decltype(lanes)::value>(
          x, y, p_begin + n_wide, n_pairs - n_wide, ny, gram, sh, kernel, derivs,
          grid_derivs, k_grid, gx ? gx + n_wide * sx : nullptr,
          gy ? gy + n_wide * sy : nullptr, gamma ? gamma + n_wide * ng : nullptr,
          n_threads);
    };
    // A tail of one pair stays one lane: its adjoint is one serial chain either way,
    // and a vector block would hold V times its memory (CPU ms, L1000 d3: 36 one-lane,
    // 38 in a 4-lane block; three pairs of L1000: 78 one-lane, 37 in one block).
    return split.tail_width > 1 && n_pairs - n_wide > 1
               ? tail(std::integral_constant<int, V>{})
               : tail(std::integral_constant<int, 1>{});
  });
}

// Gram backprop: gradients summed over the other side, in ascending pair order for
// every chunk size, so results are identical for any n_jobs and max_batch.
// gx: (nx, L1, d), gy: (ny, L2, d), either may be null. chunk: pairs per round.
template <class T>
int sig_kernel_gram_backprop(const T* x, std::int64_t nx, const T* y, std::int64_t ny,
                             GoursatShape sh, KernelParams kernel, const T* derivs,
                             bool grid_derivs, const T* k_grid, T* gx, T* gy,
                             std::int64_t chunk, int n_threads) noexcept {
  return guarded([&]() -> int {
    const std::int64_t sx = sh.L1 * sh.d, sy = sh.L2 * sh.d, n_pairs = nx * ny;
    if (gx) std::fill(gx, gx + nx * sx, T(0));
    if (gy) std::fill(gy, gy + ny * sy, T(0));
    chunk = std::max<std::int64_t>(1, std::min(chunk, n_pairs));
    std::vector<T> bx(gx ? chunk * sx : 0), by(gy ? chunk * sy : 0);
    for (std::int64_t p0 = 0; p0 < n_pairs; p0 += chunk) {
      const std::int64_t count = std::min(chunk, n_pairs - p0);
      int status = sig_kernel_pairs_backprop(
          x, y, p0, count, ny, true, sh, kernel, derivs, grid_derivs, k_grid,
          gx ? bx.data() : nullptr, gy ? by.data() : nullptr, static_cast<T*>(nullptr),
          n_threads);
      if (status != kOk) return status;
      // Each output path is owned by one thread; its terms are added in pair order.
      const std::int64_t i_lo = p0 / ny, i_hi = (p0 + count - 1) / ny;
      if (gx) {
        status = parallel_for(i_hi - i_lo + 1, n_threads, [&](std::int64_t k) {
          const std::int64_t i = i_lo + k;
          const std::int64_t a = std::max(p0, i * ny), b = std::min(p0 + count, (i + 1) * ny);
          T* g = gx + i * sx;
          for (std::int64_t p = a; p < b; ++p)
            for (std::int64_t e = 0; e < sx; ++e) g[e] += bx[(p - p0) * sx + e];
          return kOk;
        });
        if (status != kOk) return status;
      }
      if (gy) {
        status = parallel_for(ny, n_threads, [&](std::int64_t j) {
          T* g = gy + j * sy;
          for (std::int64_t i = i_lo; i <= i_hi; ++i) {
            const std::int64_t p = i * ny + j;
            if (p < p0 || p >= p0 + count) continue;
            for (std::int64_t e = 0; e < sy; ++e) g[e] += by[(p - p0) * sy + e];
          }
          return kOk;
        });
        if (status != kOk) return status;
      }
    }
    return kOk;
  });
}

}  // namespace sksig

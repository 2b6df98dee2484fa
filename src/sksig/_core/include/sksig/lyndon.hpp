// Sparse tables of the Lyndon bases of the free Lie algebra (SPEC.md section 8).
//
// The tables are built once per (dimension, degree) by build_lyndon_tables below
// (cached by sksig/_lyndon.py) and read here through plain arrays:
//   pos[w]                       flat tensor index (tensor_algebra.hpp layout) of the
//                                Lyndon word w; Lyndon order = by length, then lexicographic.
//   tri_ptr, tri_col, tri_val    the strictly lower part of T[u, w] = <P_w, u> as CSR by
//                                row u (T is unitriangular and block diagonal by level).
//   exp_ptr, exp_pos, exp_val    the expansion of the bracket P_w into words (CSR by w,
//                                column = flat tensor index).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace sksig {

struct LyndonTables {
  std::int64_t n = 0;  // number of Lyndon words (log_sig_length)
  const std::int64_t* pos = nullptr;
  const std::int64_t* tri_ptr = nullptr;
  const std::int64_t* tri_col = nullptr;
  const double* tri_val = nullptr;
  const std::int64_t* exp_ptr = nullptr;
  const std::int64_t* exp_pos = nullptr;
  const double* exp_val = nullptr;

  // Indices within the top level N (offset top_offset) of the Lyndon words of length N,
  // which come last in Lyndon order.
  std::vector<std::int64_t> top_level(std::int64_t top_offset) const {
    std::vector<std::int64_t> top;
    for (std::int64_t w = 0; w < n; ++w)
      if (pos[w] >= top_offset) top.push_back(pos[w] - top_offset);
    return top;
  }

  // Lyndon-word coordinates of a tensor: out[w] = Z[pos[w]].
  template <class T>
  void gather(const T* Z, T* out) const {
    for (std::int64_t w = 0; w < n; ++w) out[w] = Z[pos[w]];
  }

  // Adjoint of gather: dZ[pos[w]] += g[w].
  template <class T>
  void scatter_add(const T* g, T* dZ) const {
    for (std::int64_t w = 0; w < n; ++w) dZ[pos[w]] += g[w];
  }

  // Solve T c = c in place (forward substitution in Lyndon order).
  template <class T>
  void solve(T* c) const {
    for (std::int64_t u = 0; u < n; ++u) {
      T acc = c[u];
      for (std::int64_t p = tri_ptr[u]; p < tri_ptr[u + 1]; ++p)
        acc -= static_cast<T>(tri_val[p]) * c[tri_col[p]];
      c[u] = acc;
    }
  }

  // Solve T^T x = x in place (backward substitution): the adjoint of solve.
  template <class T>
  void solve_transposed(T* x) const {
    for (std::int64_t u = n - 1; u >= 0; --u) {
      const T xu = x[u];
      for (std::int64_t p = tri_ptr[u]; p < tri_ptr[u + 1]; ++p)
        x[tri_col[p]] -= static_cast<T>(tri_val[p]) * xu;
    }
  }

  // Tensor of the Lie element sum_w c_w P_w (Z must be zeroed by the caller).
  template <class T>
  void expand_add(const T* c, T* Z) const {
    for (std::int64_t w = 0; w < n; ++w)
      for (std::int64_t p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
        Z[exp_pos[p]] += static_cast<T>(exp_val[p]) * c[w];
  }

  // Adjoint of expand_add: dc[w] += <dZ, P_w>.
  template <class T>
  void expand_adjoint(const T* dZ, T* dc) const {
    for (std::int64_t w = 0; w < n; ++w) {
      T acc = 0;
      for (std::int64_t p = exp_ptr[w]; p < exp_ptr[w + 1]; ++p)
        acc += static_cast<T>(exp_val[p]) * dZ[exp_pos[p]];
      dc[w] += acc;
    }
  }
};

// The arrays of LyndonTables, owned (what build_lyndon_tables returns).
struct LyndonTableArrays {
  std::vector<std::int64_t> pos, tri_ptr, tri_col, exp_ptr, exp_pos;
  std::vector<double> tri_val, exp_val;
};

namespace detail {

// Insertion-ordered accumulator of (key, integer coefficient) terms: an open-addressing
// hash from key to the term's slot; the terms themselves are appended to out_pos /
// out_val, in the order of first insertion (the order the tables define).
class OrderedTerms {
 public:
  // Make room for up to max_terms distinct keys (load factor <= 1/2).
  void reserve(std::size_t max_terms) {
    std::size_t size = 16;
    int bits = 4;
    while (size < 2 * max_terms) size *= 2, ++bits;
    if (size > keys_.size()) {
      keys_.assign(size, -1);
      slots_.assign(size, 0);
      mask_ = size - 1;
      shift_ = 64 - bits;
    }
  }

  // Adds coef to the term of key (key >= 0), appending it at the end when new.
  void add(std::int64_t key, double coef, std::vector<std::int64_t>& out_pos,
           std::vector<double>& out_val) {
    std::size_t h = slot_of(key);
    while (true) {
      const std::int64_t k = keys_[h];
      if (k == key) {
        out_val[slots_[h]] += coef;
        return;
      }
      if (k < 0) {
        keys_[h] = key;
        slots_[h] = static_cast<std::int64_t>(out_pos.size());
        out_pos.push_back(key);
        out_val.push_back(coef);
        return;
      }
      h = (h + 1) & mask_;
    }
  }

  // Empties the hash of the keys out_pos[first:] (all that were added since the last
  // clear), leaving it ready for the next bracket.
  void clear(const std::vector<std::int64_t>& out_pos, std::size_t first) {
    for (std::size_t p = first; p < out_pos.size(); ++p) {
      std::size_t h = slot_of(out_pos[p]);
      while (keys_[h] != out_pos[p]) h = (h + 1) & mask_;
      keys_[h] = -1;
    }
  }

 private:
  std::size_t slot_of(std::int64_t key) const {  // Fibonacci hashing
    return static_cast<std::size_t>(static_cast<std::uint64_t>(key) *
                                    0x9E3779B97F4A7C15ull >> shift_);
  }

  std::vector<std::int64_t> keys_, slots_;
  std::size_t mask_ = 0;
  int shift_ = 63;
};

}  // namespace detail

// The tables of (dim, degree), dim >= 1, degree >= 1, exactly as SPEC.md section 8
// defines them (tests/_oracles_lyndon.py is the reference, entry by entry):
//   * Lyndon words in Lyndon order (by length, then lexicographic), which is increasing
//     flat index, so pos is sorted;
//   * P_w = e_w for a letter, else [P_u, P_v] with v the longest proper Lyndon suffix of
//     w; its terms are listed in the order of first appearance when, for each term a of
//     P_u then each term b of P_v, the words ab (+) and then ba (-) are added, and the
//     terms whose coefficients cancel are dropped;
//   * T stored by row u, columns w increasing, diagonal left out.
// Coefficients are integers of magnitude at most 2^(degree-1) (the terms of a bracket of
// n letters have absolute values summing to at most 2^(n-1)); degree <= 53 whenever
// dim >= 2 keeps every partial sum exact in double. Memory: the arrays plus one bit per
// tensor entry. Throws std::invalid_argument on bad sizes, std::bad_alloc when out of
// memory. The arrays are written to t (emptied first).
inline void build_lyndon_tables(int dim, int degree, LyndonTableArrays& t) {
  using i64 = std::int64_t;
  if (dim < 1 || degree < 1)
    throw std::invalid_argument("build_lyndon_tables: dim and degree must be >= 1");
  if (dim >= 2 && degree > 53)
    throw std::invalid_argument("build_lyndon_tables: degree too large");
  const i64 d = dim;
  std::vector<i64> power(degree + 1), offset(degree + 2);
  power[0] = 1;
  offset[0] = 0;
  for (int k = 0; k <= degree; ++k) {
    if (k) power[k] = power[k - 1] * d;
    offset[k + 1] = offset[k] + power[k];
  }
  const i64 size = offset[degree + 1];  // tensor entries, levels 0..degree

  // Lyndon words of length <= degree (Duval's generation), marked in a bitmap of flat
  // indices; reading the bitmap in order lists them in Lyndon order.
  std::vector<std::uint64_t> is_lyndon(static_cast<std::size_t>(size / 64 + 1), 0);
  {
    std::vector<int> w(1, -1);
    while (!w.empty()) {
      ++w.back();
      i64 index = 0;
      for (int letter : w) index = index * d + letter;
      const i64 flat = offset[w.size()] + index;
      is_lyndon[flat >> 6] |= std::uint64_t{1} << (flat & 63);
      const std::size_t m = w.size();
      while (w.size() < static_cast<std::size_t>(degree)) w.push_back(w[w.size() - m]);
      while (!w.empty() && w.back() == dim - 1) w.pop_back();
    }
  }
  auto lyndon_at = [&](i64 flat) {
    return (is_lyndon[flat >> 6] >> (flat & 63)) & 1;
  };

  t = LyndonTableArrays();
  for (std::size_t b = 0; b < is_lyndon.size(); ++b)
    if (is_lyndon[b])
      for (int j = 0; j < 64; ++j)
        if ((is_lyndon[b] >> j) & 1) t.pos.push_back(static_cast<i64>(b) * 64 + j);
  const i64 n = static_cast<i64>(t.pos.size());
  auto id_of = [&](i64 flat) {
    return static_cast<i64>(std::lower_bound(t.pos.begin(), t.pos.end(), flat) -
                            t.pos.begin());
  };
  std::vector<int> length(n);
  {
    int k = 1;
    for (i64 w = 0; w < n; ++w) {
      while (t.pos[w] >= offset[k + 1]) ++k;
      length[w] = k;
    }
  }

  // Expansions, word after word (the factors u, v of w come before w).
  t.exp_ptr.assign(n + 1, 0);
  detail::OrderedTerms terms;
  for (i64 w = 0; w < n; ++w) {
    const int len = length[w];
    const i64 index = t.pos[w] - offset[len];
    if (len == 1) {
      t.exp_pos.push_back(t.pos[w]);
      t.exp_val.push_back(1.0);
      t.exp_ptr[w + 1] = static_cast<i64>(t.exp_pos.size());
      continue;
    }
    int split = 1;  // w = u v, v the longest proper Lyndon suffix
    while (!lyndon_at(offset[len - split] + index % power[len - split])) ++split;
    const i64 u = id_of(offset[split] + index / power[len - split]);
    const i64 v = id_of(offset[len - split] + index % power[len - split]);
    const i64 shift_u = power[split], shift_v = power[len - split];
    const i64 off_u = offset[split], off_v = offset[len - split], off_w = offset[len];
    const i64 u0 = t.exp_ptr[u], u1 = t.exp_ptr[u + 1];
    const i64 v0 = t.exp_ptr[v], v1 = t.exp_ptr[v + 1];
    const std::size_t max_terms = 2 * static_cast<std::size_t>((u1 - u0) * (v1 - v0));
    terms.reserve(max_terms);
    const std::size_t first = t.exp_pos.size();
    if (t.exp_pos.capacity() < first + max_terms) {
      const std::size_t cap = std::max(first + max_terms, 2 * t.exp_pos.capacity());
      t.exp_pos.reserve(cap);
      t.exp_val.reserve(cap);
    }
    // No reallocation below: the factors' terms can be read in place.
    for (i64 p = u0; p < u1; ++p) {
      const i64 a = t.exp_pos[p] - off_u;
      const double ca = t.exp_val[p];
      for (i64 q = v0; q < v1; ++q) {
        const i64 b = t.exp_pos[q] - off_v;
        const double c = ca * t.exp_val[q];
        terms.add(off_w + a * shift_v + b, c, t.exp_pos, t.exp_val);
        terms.add(off_w + b * shift_u + a, -c, t.exp_pos, t.exp_val);
      }
    }
    terms.clear(t.exp_pos, first);
    std::size_t kept = first;  // drop cancelled terms, keeping the order
    for (std::size_t p = first; p < t.exp_pos.size(); ++p) {
      if (t.exp_val[p] != 0.0) {
        t.exp_pos[kept] = t.exp_pos[p];
        t.exp_val[kept] = t.exp_val[p];
        ++kept;
      }
    }
    t.exp_pos.resize(kept);
    t.exp_val.resize(kept);
    t.exp_ptr[w + 1] = static_cast<i64>(kept);
  }

  // T[u, w] = <P_w, u> off the diagonal, by row u: count, then fill in order of w.
  t.tri_ptr.assign(n + 1, 0);
  for (i64 w = 0; w < n; ++w)
    for (i64 p = t.exp_ptr[w]; p < t.exp_ptr[w + 1]; ++p)
      if (t.exp_pos[p] != t.pos[w] && lyndon_at(t.exp_pos[p]))
        ++t.tri_ptr[id_of(t.exp_pos[p]) + 1];
  for (i64 u = 0; u < n; ++u) t.tri_ptr[u + 1] += t.tri_ptr[u];
  t.tri_col.resize(t.tri_ptr[n]);
  t.tri_val.resize(t.tri_ptr[n]);
  {
    std::vector<i64> next(t.tri_ptr.begin(), t.tri_ptr.end() - 1);
    for (i64 w = 0; w < n; ++w)
      for (i64 p = t.exp_ptr[w]; p < t.exp_ptr[w + 1]; ++p)
        if (t.exp_pos[p] != t.pos[w] && lyndon_at(t.exp_pos[p])) {
          const i64 slot = next[id_of(t.exp_pos[p])]++;
          t.tri_col[slot] = w;
          t.tri_val[slot] = t.exp_val[p];
        }
  }
}

}  // namespace sksig

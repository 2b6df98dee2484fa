// The builder of the Lyndon tables (the arrays that lyndon.hpp's LyndonTables views):
// build_lyndon_tables and the owned arrays it fills. Only the Python binding
// (sksig/_core/_log_sig.pyx, through log_sig.hpp) builds tables; the kernels include
// lyndon.hpp alone.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>
#include <vector>

#include "interrupt.hpp"
#include "lyndon.hpp"

namespace sksig {

// A growable array of int64 or double in malloc'd memory: growing a large one is a
// realloc (glibc moves its pages instead of copying them), and release() hands the
// memory to a caller that will free() it (sksig/_core/_log_sig.pyx lends it to numpy).
template <class T>
class PodArray {
 public:
  PodArray() = default;
  PodArray(const PodArray&) = delete;
  PodArray& operator=(const PodArray&) = delete;
  PodArray(PodArray&& o) noexcept { swap(o); }
  PodArray& operator=(PodArray&& o) noexcept {
    PodArray tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~PodArray() { std::free(data_); }

  void swap(PodArray& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }

  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    void* p = std::realloc(data_, n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    capacity_ = n;
  }
  // Shrinking keeps the memory; growing zero-fills the new entries.
  void resize(std::size_t n) {
    reserve(n);
    if (n > size_) std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    size_ = n;
  }
  void push_back(T x) {  // room must have been reserved
    data_[size_++] = x;
  }
  // For entries written through data() up to n <= capacity().
  void set_size(std::size_t n) { size_ = n; }
  void shrink_to_fit() {
    if (size_ == capacity_ || size_ == 0) return;
    void* p = std::realloc(data_, size_ * sizeof(T));
    if (p != nullptr) {
      data_ = static_cast<T*>(p);
      capacity_ = size_;
    }
  }
  // Gives up the memory (the caller free()s it); the array is left empty.
  T* release() {
    T* p = data_;
    data_ = nullptr;
    size_ = capacity_ = 0;
    return p;
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

// The arrays of LyndonTables, owned (what build_lyndon_tables writes).
struct LyndonTableArrays {
  PodArray<std::int64_t> pos, tri_ptr, tri_col, exp_ptr, exp_pos;
  PodArray<double> tri_val, exp_val;
};

namespace detail {

inline std::int64_t popcount(std::uint64_t x) {
#if defined(__POPCNT__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_popcountll(x);
#else
  x -= (x >> 1) & 0x5555555555555555ull;
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<std::int64_t>((x * 0x0101010101010101ull) >> 56);
#endif
}

// Insertion-ordered accumulator of (key, coefficient) terms for one bracket at a time:
// an open-addressing hash from key to the term's place in the output arrays, whose
// entries are valid only in the generation (bracket) that wrote them.
class OrderedTerms {
 public:
  // Starts a bracket of up to max_terms distinct keys (load factor <= 1/2).
  void start(std::size_t max_terms) {
    if (max_terms >= (std::size_t{1} << 31)) throw std::bad_alloc();  // 32-bit places
    std::size_t size = 16;
    int bits = 4;
    while (size < 2 * max_terms) size *= 2, ++bits;
    if (size > table_.size()) {
      table_.assign(size, Entry());
      mask_ = size - 1;
      shift_ = 64 - bits;
      generation_ = 0;
    }
    if (++generation_ == 0) {  // wrapped around: forget every older generation
      for (Entry& e : table_) e.generation = 0;
      generation_ = 1;
    }
  }

  // Adds coef to the term of key: pos[i], val[i] for the first `count` terms of the
  // bracket, in the order of first appearance; a new key is appended at `count`.
  void add(std::int64_t key, double coef, std::int64_t* pos, double* val,
           std::int64_t& count) {
    std::size_t h = static_cast<std::size_t>(static_cast<std::uint64_t>(key) *
                                             0x9E3779B97F4A7C15ull >> shift_);
    while (true) {
      Entry& e = table_[h];
      if (e.generation != generation_) {
        e = Entry{key, static_cast<std::uint32_t>(count), generation_};
        pos[count] = key;
        val[count] = coef;
        ++count;
        return;
      }
      if (e.key == key) {
        val[e.place] += coef;
        return;
      }
      h = (h + 1) & mask_;
    }
  }

 private:
  struct Entry {
    std::int64_t key = -1;
    std::uint32_t place = 0;
    std::uint32_t generation = 0;
  };
  std::vector<Entry> table_;
  std::size_t mask_ = 0;
  int shift_ = 63;
  std::uint32_t generation_ = 0;
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
// dim >= 2 keeps every partial sum exact in double. Memory: the arrays (the expansion's
// reserved capacity at most doubles as it grows, untouched beyond the terms written, and
// is given back at the end), two bits per tensor entry, 16 bytes per entry of T (and 8
// per word) until T is sorted by row, and a hash of at most 64 bytes per term of the
// largest bracket. Throws std::invalid_argument on bad sizes, std::bad_alloc when out
// of memory, Interrupted on Ctrl-C (interrupt.hpp). The arrays are written to t
// (emptied first).
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
  // indices with the count of marks before each 64-bit block: reading it in order lists
  // the words in Lyndon order, and the rank of a Lyndon word's flat index is its id.
  struct Block {
    std::uint64_t bits = 0;
    i64 before = 0;
  };
  std::vector<Block> marks(static_cast<std::size_t>(size / 64 + 1));
  {
    std::vector<int> w(1, -1);
    while (!w.empty()) {
      ++w.back();
      i64 index = 0;
      for (int letter : w) index = index * d + letter;
      const i64 flat = offset[w.size()] + index;
      marks[flat >> 6].bits |= std::uint64_t{1} << (flat & 63);
      const std::size_t m = w.size();
      while (w.size() < static_cast<std::size_t>(degree)) w.push_back(w[w.size() - m]);
      while (!w.empty() && w.back() == dim - 1) w.pop_back();
    }
  }
  auto lyndon_at = [&](i64 flat) { return (marks[flat >> 6].bits >> (flat & 63)) & 1; };
  auto id_of = [&](i64 flat) {  // flat: a Lyndon word's
    const Block& b = marks[flat >> 6];
    return b.before + detail::popcount(b.bits & ((std::uint64_t{1} << (flat & 63)) - 1));
  };

  t = LyndonTableArrays();
  {
    i64 count = 0;
    for (Block& b : marks) {
      b.before = count;
      count += detail::popcount(b.bits);
    }
    t.pos.reserve(static_cast<std::size_t>(count));
  }
  for (std::size_t b = 0; b < marks.size(); ++b)
    if (marks[b].bits)
      for (int j = 0; j < 64; ++j)
        if ((marks[b].bits >> j) & 1) t.pos.push_back(static_cast<i64>(b) * 64 + j);
  const i64 n = static_cast<i64>(t.pos.size());
  std::vector<int> length(n);
  {
    int k = 1;
    for (i64 w = 0; w < n; ++w) {
      while (t.pos[w] >= offset[k + 1]) ++k;
      length[w] = k;
    }
  }

  // Expansions, word after word (the factors u, v of w come before w), collecting the
  // off-diagonal entries of T (the terms of P_w at other Lyndon words) on the way.
  t.exp_ptr.resize(n + 1);
  t.tri_ptr.resize(n + 1);
  // The entries of T in order of w (then transposed): row u and value, per w.
  PodArray<i64> entry_row, entry_ptr;
  PodArray<double> entry_val;
  entry_ptr.resize(n + 1);
  detail::OrderedTerms terms;
  for (i64 w = 0; w < n; ++w) {
    if ((w & 1023) == 0) check_interrupt();  // throws Interrupted on Ctrl-C
    const int len = length[w];
    const i64 index = t.pos[w] - offset[len];
    const std::size_t first = t.exp_pos.size();
    std::size_t max_terms = 1;
    i64 u = 0, v = 0;
    int split = 1;  // w = u v, v the longest proper Lyndon suffix
    if (len > 1) {
      while (!lyndon_at(offset[len - split] + index % power[len - split])) ++split;
      u = id_of(offset[split] + index / power[len - split]);
      v = id_of(offset[len - split] + index % power[len - split]);
      max_terms = 2 * static_cast<std::size_t>((t.exp_ptr[u + 1] - t.exp_ptr[u]) *
                                               (t.exp_ptr[v + 1] - t.exp_ptr[v]));
    }
    if (t.exp_pos.capacity() < first + max_terms) {
      const std::size_t cap =
          std::max<std::size_t>({first + max_terms, 2 * t.exp_pos.capacity(), 1024});
      t.exp_pos.reserve(cap);
      t.exp_val.reserve(cap);
    }
    i64* const exp_pos = t.exp_pos.data();
    double* const exp_val = t.exp_val.data();
    if (len == 1) {
      exp_pos[first] = t.pos[w];
      exp_val[first] = 1.0;
      t.exp_pos.set_size(first + 1);
      t.exp_val.set_size(first + 1);
      t.exp_ptr[w + 1] = static_cast<i64>(first + 1);
      entry_ptr[w + 1] = static_cast<i64>(entry_row.size());
      continue;
    }
    const i64 shift_u = power[split], shift_v = power[len - split];
    const i64 off_u = offset[split], off_v = offset[len - split], off_w = offset[len];
    const i64 u0 = t.exp_ptr[u], u1 = t.exp_ptr[u + 1];
    const i64 v0 = t.exp_ptr[v], v1 = t.exp_ptr[v + 1];
    i64* const out_pos = exp_pos + first;
    double* const out_val = exp_val + first;
    i64 count = 0;
    terms.start(max_terms);
    for (i64 p = u0; p < u1; ++p) {
      const i64 a = exp_pos[p] - off_u;
      const double ca = exp_val[p];
      for (i64 q = v0; q < v1; ++q) {
        const i64 b = exp_pos[q] - off_v;
        const double c = ca * exp_val[q];
        terms.add(off_w + a * shift_v + b, c, out_pos, out_val, count);
        terms.add(off_w + b * shift_u + a, -c, out_pos, out_val, count);
      }
    }
    i64 kept = 0;  // drop cancelled terms, keeping the order
    const i64 pos_w = t.pos[w];
    for (i64 j = 0; j < count; ++j) {
      const i64 key = out_pos[j];
      const double c = out_val[j];
      out_pos[kept] = key;
      out_val[kept] = c;
      const bool nonzero = c != 0.0;
      kept += nonzero;
      if (nonzero && lyndon_at(key) && key != pos_w) {
        const i64 row = id_of(key);
        ++t.tri_ptr[row + 1];
        if (entry_row.size() == entry_row.capacity()) {
          entry_row.reserve(std::max<std::size_t>(1024, 2 * entry_row.capacity()));
          entry_val.reserve(entry_row.capacity());
        }
        entry_row.push_back(row);
        entry_val.push_back(c);
      }
    }
    entry_ptr[w + 1] = static_cast<i64>(entry_row.size());
    t.exp_pos.set_size(first + kept);
    t.exp_val.set_size(first + kept);
    t.exp_ptr[w + 1] = static_cast<i64>(first + kept);
  }

  // T[u, w] = <P_w, u> off the diagonal, by row u: the entries, collected in order of
  // w, are sorted by row (stably, so columns increase along each row).
  for (i64 u = 0; u < n; ++u) t.tri_ptr[u + 1] += t.tri_ptr[u];
  t.tri_col.resize(t.tri_ptr[n]);
  t.tri_val.resize(t.tri_ptr[n]);
  {
    std::vector<i64> next(t.tri_ptr.begin(), t.tri_ptr.end() - 1);  // next slot per row
    i64* const tri_col = t.tri_col.data();
    double* const tri_val = t.tri_val.data();
    for (i64 w = 0; w < n; ++w)
      for (i64 e = entry_ptr[w]; e < entry_ptr[w + 1]; ++e) {
        const i64 slot = next[entry_row[e]]++;
        tri_col[slot] = w;
        tri_val[slot] = entry_val[e];
      }
  }
  // Give back the capacity beyond the last term (a realloc that moves nothing).
  t.exp_pos.shrink_to_fit();
  t.exp_val.shrink_to_fit();
}

}  // namespace sksig

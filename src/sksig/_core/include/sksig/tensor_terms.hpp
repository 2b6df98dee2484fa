// The per-element formulas of the truncated tensor product out = scale * a (x) b in the
// layout of tensor_shape.hpp, shared by the CPU cores (tensor_algebra.hpp and
// sig_algebra.hpp, which run them over whole rows of words on packs of lanes) and the
// CUDA join (sksig/cuda/log_sig.cu, one output word per thread):
//   a word u of level k splits at j (0 <= j <= k) into its prefix of level k - j and its
//   suffix of level j, u = prefix d^j + suffix (split_word, word_at);
//   out_k[u] = scale sum_j a_{k-j}[prefix] b_j[suffix], one term of which is
//   product_term(a_{k-j}[prefix], b_j[suffix]);
//   the adjoint of that term, given the cotangent g of out_k[u], adds g b_j[suffix] to
//   da_{k-j}[prefix] and a_{k-j}[prefix] g to db_j[suffix] (product_term_adjoint; a
//   loop that accumulates one of the two takes that half, the other is never computed).
// Each core sums the terms in its own order (the CPU by rows of words, scaling each
// row's left factor, the GPU by output word, scaling the sum), so CPU and GPU agree to
// rounding, not bitwise.
#pragma once

#include <cstdint>

#include "hd.hpp"

namespace sksig {

struct WordSplit {
  std::int64_t prefix, suffix;
};

// The prefix and suffix of the word u whose suffix ranges over pw_j = d^j words.
SKSIG_HD WordSplit split_word(std::int64_t u, std::int64_t pw_j) {
  return {u / pw_j, u % pw_j};
}

// The inverse of split_word: the word with that prefix and suffix.
SKSIG_HD std::int64_t word_at(std::int64_t prefix, std::int64_t suffix, std::int64_t pw_j) {
  return prefix * pw_j + suffix;
}

template <class A, class B>
SKSIG_HD auto product_term(A left, B right) -> decltype(left * right) {
  return left * right;
}

template <class T>
struct TermCotangents {
  T left, right;  // to add to da_{k-j}[prefix] and to db_j[suffix]
};

template <class A, class B, class G>
SKSIG_HD auto product_term_adjoint(A left, B right, G g)
    -> TermCotangents<decltype(g * right)> {
  return {g * right, left * g};
}

}  // namespace sksig

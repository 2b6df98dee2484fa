// Signature coefficients at chosen words, without the full truncated signature.
//
// The requested words and all their prefixes form a trie (the empty word, whose
// coefficient is always 1, is its root and is not stored). A node u of depth k has the
// ancestors a_1, ..., a_k = u (a_m the prefix of m letters). Appending a straight
// segment of increment D to a path multiplies its signature by exp(D) (Chen), so in
// coordinates
//
//   S'(u) = sum_{j=0..k} S(a_j) D_{u_{j+1}} ... D_{u_k} / (k - j)!,   S(a_0) = 1,
//
// which only reads prefixes of u: the trie is closed under it. Evaluated by Horner's
// rule, h_0 = 1, h_m = h_{m-1} D_{u_m} / (k - m + 1) + S(a_m), S'(u) = h_k, which costs
// k multiply-adds per node and segment; nodes are updated deepest first, so that the
// update can be done in place (a node only reads shallower nodes and itself).
//
// The backward pass takes the segments off again (multiplying by exp(-D), the same
// update with -D), and pulls the cotangent back through each Horner chain.
//
// Trie layout (built by sksig/_sig_coef.py): nodes 0..n_nodes-1 sorted by depth;
// anc[anc_ptr[u] .. anc_ptr[u+1]) lists a_1, ..., a_k = u; letter[u] is u's last letter.
#pragma once

#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

struct WordTrie {
  std::int64_t n_nodes;
  const std::int64_t* anc_ptr;  // n_nodes + 1
  const std::int64_t* anc;      // ancestors of every node, root excluded, node included
  const std::int64_t* letter;   // n_nodes
  std::int64_t max_depth;
};

namespace detail {

// off[pos] = (k - m + 1) * dim + letter(a_m) for the m-th ancestor of a node of depth
// k: the entry of the scaled increments ds[j * dim + c] = d[c] / j that its Horner step
// multiplies by, so that the inner loop is one load, one multiply and one add.
inline std::vector<std::int64_t> step_offsets(const WordTrie& trie, std::int64_t dim) {
  std::vector<std::int64_t> off(static_cast<std::size_t>(trie.anc_ptr[trie.n_nodes]));
  for (std::int64_t u = 0; u < trie.n_nodes; ++u) {
    const std::int64_t begin = trie.anc_ptr[u], k = trie.anc_ptr[u + 1] - begin;
    for (std::int64_t m = 1; m <= k; ++m)
      off[begin + m - 1] = (k - m + 1) * dim + trie.letter[trie.anc[begin + m - 1]];
  }
  return off;
}

// ds[j * dim + c] = d[c] / j for j = 1..max_depth.
template <class T>
void scale_increment(const T* d, std::int64_t dim, std::int64_t max_depth, T* ds) {
  for (std::int64_t j = 1; j <= max_depth; ++j) {
    const T inv = T(1) / static_cast<T>(j);
    for (std::int64_t c = 0; c < dim; ++c) ds[j * dim + c] = d[c] * inv;
  }
}

// One segment: state <- state (x) exp(d) on the trie (in place), ds from d.
template <class T>
void trie_step(const WordTrie& trie, const std::int64_t* off, const T* ds, T* state) {
  for (std::int64_t u = trie.n_nodes - 1; u >= 0; --u) {
    const std::int64_t begin = trie.anc_ptr[u], end = trie.anc_ptr[u + 1];
    T h = T(1);
    for (std::int64_t pos = begin; pos < end; ++pos)
      h = h * ds[off[pos]] + state[trie.anc[pos]];
    state[u] = h;
  }
}

template <class T>
void trie_forward(const WordTrie& trie, const std::int64_t* off, const T* path,
                  std::int64_t length, std::int64_t dim, T* state, T* d, T* ds) {
  for (std::int64_t u = 0; u < trie.n_nodes; ++u) state[u] = T(0);
  for (std::int64_t i = 0; i + 1 < length; ++i) {
    if ((i & 1023) == 1023) check_interrupt();
    for (std::int64_t c = 0; c < dim; ++c) d[c] = path[(i + 1) * dim + c] - path[i * dim + c];
    scale_increment(d, dim, trie.max_depth, ds);
    trie_step(trie, off, ds, state);
  }
}

// The argument checks and step offsets of sig_coef and sig_coef_backprop: kOk or the
// error status.
inline int coef_setup(std::int64_t batch, std::int64_t length, std::int64_t dim,
                      const WordTrie& trie, std::int64_t n_out,
                      std::vector<std::int64_t>& off) noexcept {
  if (batch < 0 || length < 0 || dim < 1 || trie.n_nodes < 0 || n_out < 0)
    return kInvalidArgument;
  return guarded([&] {
    off = step_offsets(trie, dim);
    return kOk;
  });
}

}  // namespace detail

// out[p, j] = S(path p)(out_node[j]); out_node[j] = -1 is the empty word (1).
template <class T>
int sig_coef(const T* path, T* out, std::int64_t batch, std::int64_t length,
             std::int64_t dim, const WordTrie& trie, const std::int64_t* out_node,
             std::int64_t n_out, int n_threads) noexcept {
  std::vector<std::int64_t> off;
  const int status = detail::coef_setup(batch, length, dim, trie, n_out, off);
  if (status != kOk) return status;
  return parallel_for(batch, n_threads, [&](std::int64_t p) {
    std::vector<T> state(static_cast<std::size_t>(trie.n_nodes) + 1), d(dim),
        ds((trie.max_depth + 1) * dim);
    detail::trie_forward(trie, off.data(), path + p * length * dim, length, dim,
                         state.data(), d.data(), ds.data());
    T* row = out + p * n_out;
    for (std::int64_t j = 0; j < n_out; ++j)
      row[j] = out_node[j] < 0 ? T(1) : state[out_node[j]];
    for (std::int64_t j = 0; j < n_out; ++j)
      if (!(row[j] - row[j] == T(0))) return kNonFinite;
    return kOk;
  });
}

// grad_path[p] = dF/d path[p] given grad_out[p, j] = dF/d out[p, j] (out as above).
// The final state is final_state[p] (n_nodes values: sig_coef's output with every
// prefix, reordered by the caller) or, when final_state is null, recomputed from the
// path; the reverse sweep removes one segment at a time (multiplying by exp(-d)) and
// pulls the cotangent back through each node's Horner chain.
template <class T>
int sig_coef_backprop(const T* path, const T* grad_out, T* grad_path, std::int64_t batch,
                      std::int64_t length, std::int64_t dim, const WordTrie& trie,
                      const std::int64_t* out_node, std::int64_t n_out,
                      const T* final_state, int n_threads) noexcept {
  std::vector<std::int64_t> off;
  const int status = detail::coef_setup(batch, length, dim, trie, n_out, off);
  if (status != kOk) return status;
  return parallel_for(batch, n_threads, [&](std::int64_t p) {
    const std::int64_t n = trie.n_nodes, D = trie.max_depth;
    const T* x = path + p * length * dim;
    T* gx = grad_path + p * length * dim;
    for (std::int64_t i = 0; i < length * dim; ++i) gx[i] = T(0);
    std::vector<T> state(static_cast<std::size_t>(n) + 1), g(n + 1), g_prev(n + 1),
        d(dim), ds((D + 1) * dim), minus_ds((D + 1) * dim), d_bar(dim), h(D + 1),
        inv(D + 1, T(0));
    for (std::int64_t j = 1; j <= D; ++j) inv[j] = T(1) / static_cast<T>(j);
    if (final_state) {
      for (std::int64_t u = 0; u < n; ++u) state[u] = final_state[p * n + u];
    } else {
      detail::trie_forward(trie, off.data(), x, length, dim, state.data(), d.data(),
                           ds.data());
    }
    const T* go = grad_out + p * n_out;
    for (std::int64_t j = 0; j < n_out; ++j)
      if (out_node[j] >= 0) g[out_node[j]] += go[j];  // the empty word is constant
    for (std::int64_t i = length - 2; i >= 0; --i) {
      if ((i & 1023) == 1023) check_interrupt();
      for (std::int64_t c = 0; c < dim; ++c) {
        d[c] = x[(i + 1) * dim + c] - x[i * dim + c];
        d_bar[c] = T(0);
      }
      detail::scale_increment(d.data(), dim, D, ds.data());
      for (std::int64_t k = dim; k < (D + 1) * dim; ++k) minus_ds[k] = -ds[k];
      // The state before segment i: take the segment off again.
      detail::trie_step(trie, off.data(), minus_ds.data(), state.data());
      for (std::int64_t u = 0; u < n; ++u) g_prev[u] = T(0);
      for (std::int64_t u = 0; u < n; ++u) {
        if (g[u] == T(0)) continue;
        const std::int64_t begin = trie.anc_ptr[u], k = trie.anc_ptr[u + 1] - begin;
        h[0] = T(1);
        for (std::int64_t m = 1; m <= k; ++m)
          h[m] = h[m - 1] * ds[off[begin + m - 1]] + state[trie.anc[begin + m - 1]];
        T h_bar = g[u];
        for (std::int64_t m = k; m >= 1; --m) {
          const std::int64_t pos = begin + m - 1;
          const std::int64_t j = k - m + 1, c = off[pos] - j * dim;
          g_prev[trie.anc[pos]] += h_bar;
          d_bar[c] += h_bar * h[m - 1] * inv[j];
          h_bar = h_bar * ds[off[pos]];
        }
      }
      g.swap(g_prev);
      for (std::int64_t c = 0; c < dim; ++c) {
        gx[(i + 1) * dim + c] += d_bar[c];
        gx[i * dim + c] -= d_bar[c];
      }
    }
    for (std::int64_t i = 0; i < length * dim; ++i)
      if (!(gx[i] - gx[i] == T(0))) return kNonFinite;
    return kOk;
  });
}

}  // namespace sksig

// The geometry of a truncated tensor T^(N)(R^d), shared by the CPU cores
// (tensor_algebra.hpp) and the CUDA join (sksig/cuda/log_sig.cu, whose device tables
// are uploaded from it): one flat array holding levels 0..N, level 0 (the scalar) at
// index 0, then level k at offset (d^k - 1) / (d - 1) (k for d = 1), the word
// (i1, ..., ik) at i1 d^(k-1) + ... + ik within its level (row-major, i.e.
// lexicographic).
#pragma once

#include <cstdint>
#include <vector>

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

}  // namespace sksig

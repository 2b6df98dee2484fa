// The coefficients of the Horner chains of the truncated exponential and logarithm
// (SPEC.md section 7), shared by the CPU cores (HornerChain in tensor_algebra.hpp) and
// the CUDA join (sksig/cuda/log_sig.cu). For an element X without scalar term, the chain
//   Q_0 = start,  Q_{t+1} = add_t + scale_t X (x) Q_t  (t = 0..N-1, Q_{t+1} needed up to
//   level t + 1)
// ends in Q_N = exp(X) with start = 1, (add_t, scale_t) = (1, 1/(N - t)), and in
// Q_N = log(1 + X) with start = 1/N, (add_t, scale_t) = (1/(N-1-t), -1) for t < N - 1
// and (0, 1) for the last step.
#pragma once

#include "hd.hpp"

namespace sksig {

template <class T>
struct HornerStep {
  T add, scale;
};

template <class T>
SKSIG_HD T exp_chain_start() {
  return T(1);
}

template <class T>
SKSIG_HD HornerStep<T> exp_chain_step(int N, int t) {
  return {T(1), T(1) / static_cast<T>(N - t)};
}

template <class T>
SKSIG_HD T log_chain_start(int N) {
  return T(1) / static_cast<T>(N);
}

template <class T>
SKSIG_HD HornerStep<T> log_chain_step(int N, int t) {
  if (t == N - 1) return {T(0), T(1)};
  return {T(1) / static_cast<T>(N - 1 - t), T(-1)};
}

}  // namespace sksig

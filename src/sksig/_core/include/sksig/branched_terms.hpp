// The per-element formulas of the branched signatures (SPEC.md sections 10-11), shared
// by the CPU core (branched.hpp, where the arguments are lanes or 32-byte vectors of
// lanes) and the CUDA core (sksig/cuda/branched.cu, one element per thread):
//   one term of a reduced coproduct   coef * left * right  (in that order),
//   one entry of a segment's value    parent * letter * ratio (ratio = c(e) / c(parent)),
//   the coefficient of P_k in the log (-1)^(k+1) / k.
#pragma once

#include "hd.hpp"

namespace sksig {

template <class C, class A, class B>
SKSIG_HD auto coproduct_term(C coef, A left, B right) -> decltype(coef * left * right) {
  return coef * left * right;
}

template <class A, class B, class R>
SKSIG_HD auto segment_entry(A parent, B letter, R ratio) -> decltype(parent * letter * ratio) {
  return parent * letter * ratio;
}

template <class T>
SKSIG_HD T branched_log_coef(int k) {
  return (k % 2 ? T(1) : T(-1)) / static_cast<T>(k);
}

}  // namespace sksig

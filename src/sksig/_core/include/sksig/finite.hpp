// The finiteness test of inputs and results.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace sksig {

// True when v[0..n) holds no NaN or inf. v - v is a zero for a finite v (-0 only when
// rounding downwards: the shift drops the sign bit) and NaN otherwise, so OR-ing the
// shifted bit patterns of the differences gives 0 exactly when all are finite. (Built
// without -ffast-math, which would fold v - v to 0.) An integer OR-reduction, unlike an early exit or a running
// floating-point sum, vectorises at the baseline instruction set: a pass over cached
// data costs a fraction of a nanosecond per value.
template <class T>
bool all_finite(const T* v, std::int64_t n) noexcept {
  if constexpr (sizeof(T) != 8 && sizeof(T) != 4) {  // long double (goursat_log.hpp)
    for (std::int64_t i = 0; i < n; ++i)
      if (!(v[i] - v[i] == T(0))) return false;
    return true;
  }
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  Bits seen = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T d = v[i] - v[i];
    Bits bits;
    std::memcpy(&bits, &d, sizeof bits);
    seen |= bits << 1;
  }
  return seen == 0;
}

}  // namespace sksig

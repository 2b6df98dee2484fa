// Gram backprops in rounds: the per-pair path gradients of a Gram (pair p = i * ny + j)
// computed `chunk` pairs at a time and added to the two sides in ascending pair order,
// so that the result is the same for every chunk and thread count. Used by the
// polynomial (goursat_poly.hpp) and branched (branched_kernel.hpp) kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "status.hpp"

namespace sksig {

// gx (nx, sx) and gy (ny, sy) are zeroed, then for each round pairs(p0, count, bx, by)
// writes the gradients of pairs [p0, p0 + count) into bx (count, sx) and by (count, sy)
// (null where gx or gy is) and returns a status; gx[i] += bx[p], gy[j] += by[p].
template <class T, class Pairs>
int gram_backprop_rounds(std::int64_t nx, std::int64_t ny, std::int64_t sx, std::int64_t sy,
                         T* gx, T* gy, std::int64_t chunk, Pairs&& pairs) {
  const std::int64_t n_pairs = nx * ny;
  if (gx) std::fill(gx, gx + nx * sx, T(0));
  if (gy) std::fill(gy, gy + ny * sy, T(0));
  if (n_pairs == 0) return kOk;
  chunk = std::max<std::int64_t>(1, std::min(chunk, n_pairs));
  std::vector<T> bx(gx ? chunk * sx : 0), by(gy ? chunk * sy : 0);
  for (std::int64_t p0 = 0; p0 < n_pairs; p0 += chunk) {
    const std::int64_t count = std::min(chunk, n_pairs - p0);
    const int status = pairs(p0, count, gx ? bx.data() : nullptr, gy ? by.data() : nullptr);
    if (status != kOk) return status;
    for (std::int64_t p = p0; p < p0 + count; ++p) {
      const std::int64_t i = p / ny, j = p % ny;
      if (gx)
        for (std::int64_t e = 0; e < sx; ++e) gx[i * sx + e] += bx[(p - p0) * sx + e];
      if (gy)
        for (std::int64_t e = 0; e < sy; ++e) gy[j * sy + e] += by[(p - p0) * sy + e];
    }
  }
  return kOk;
}

}  // namespace sksig

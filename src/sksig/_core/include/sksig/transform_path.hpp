// Path transforms (SPEC.md section 2): lead-lag (lag block first, then lead block) and
// time augmentation (a last channel t_i = end_time * i / (L' - 1)), lead-lag first.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "parallel.hpp"
#include "status.hpp"

namespace sksig {

inline std::int64_t transformed_length(std::int64_t length, bool lead_lag) {
  return lead_lag ? 2 * length - 1 : length;
}

inline std::int64_t transformed_dim(std::int64_t dim, bool time_aug, bool lead_lag) {
  return (lead_lag ? 2 * dim : dim) + (time_aug ? 1 : 0);
}

// One path: in (length, dim) -> out (transformed_length, transformed_dim), both row-major.
template <class T>
void transform_one_path(const T* in, T* out, std::int64_t length, std::int64_t dim,
                        bool time_aug, bool lead_lag, T end_time) {
  const std::int64_t out_len = transformed_length(length, lead_lag);
  const std::int64_t out_dim = transformed_dim(dim, time_aug, lead_lag);
  for (std::int64_t r = 0; r < out_len; ++r) {
    T* row = out + r * out_dim;
    if (lead_lag) {
      const T* lag = in + (r / 2) * dim;
      const T* lead = in + ((r + 1) / 2) * dim;
      for (std::int64_t c = 0; c < dim; ++c) {
        row[c] = lag[c];
        row[dim + c] = lead[c];
      }
    } else {
      for (std::int64_t c = 0; c < dim; ++c) row[c] = in[r * dim + c];
    }
    if (time_aug) {
      // A one-point path sits at time 0 (its signature quantities are all trivial).
      // end_time * r overflows for end_time near the largest float: divide first then.
      const T steps = static_cast<T>(out_len > 1 ? out_len - 1 : 1);
      const bool huge = std::abs(end_time) > std::numeric_limits<T>::max() / steps;
      row[out_dim - 1] = out_len <= 1 ? T(0)
                         : huge       ? end_time / steps * static_cast<T>(r)
                                      : end_time * static_cast<T>(r) / steps;
    }
  }
}

// Adjoint of transform_one_path: grad_out (transformed_length, transformed_dim) ->
// grad_in (length, dim). The time channel does not depend on the path and is dropped.
template <class T>
void transform_one_path_backprop(const T* grad_out, T* grad_in, std::int64_t length,
                                 std::int64_t dim, bool time_aug, bool lead_lag) {
  const std::int64_t out_dim = transformed_dim(dim, time_aug, lead_lag);
  if (!lead_lag) {
    for (std::int64_t k = 0; k < length; ++k)
      for (std::int64_t c = 0; c < dim; ++c) grad_in[k * dim + c] = grad_out[k * out_dim + c];
    return;
  }
  const std::int64_t out_len = transformed_length(length, true);
  for (std::int64_t k = 0; k < length; ++k) {
    for (std::int64_t c = 0; c < dim; ++c) {
      // x[k] is the lag part of rows 2k and 2k+1 and the lead part of rows 2k-1 and 2k.
      T g = grad_out[(2 * k) * out_dim + c] + grad_out[(2 * k) * out_dim + dim + c];
      if (2 * k + 1 < out_len) g += grad_out[(2 * k + 1) * out_dim + c];
      if (k >= 1) g += grad_out[(2 * k - 1) * out_dim + dim + c];
      grad_in[k * dim + c] = g;
    }
  }
}

template <class T>
int transform_path(const T* in, T* out, std::int64_t batch, std::int64_t length,
                   std::int64_t dim, bool time_aug, bool lead_lag, T end_time,
                   int n_threads) noexcept {
  if (batch < 0 || length < 1 || dim < 0) return kInvalidArgument;
  const std::int64_t in_size = length * dim;
  const std::int64_t out_size =
      transformed_length(length, lead_lag) * transformed_dim(dim, time_aug, lead_lag);
  return parallel_for(batch, n_threads, [&](std::int64_t b) {
    transform_one_path(in + b * in_size, out + b * out_size, length, dim, time_aug, lead_lag,
                       end_time);
    return kOk;
  });
}

template <class T>
int transform_path_backprop(const T* grad_out, T* grad_in, std::int64_t batch,
                            std::int64_t length, std::int64_t dim, bool time_aug,
                            bool lead_lag, int n_threads) noexcept {
  if (batch < 0 || length < 1 || dim < 0) return kInvalidArgument;
  const std::int64_t in_size = length * dim;
  const std::int64_t out_size =
      transformed_length(length, lead_lag) * transformed_dim(dim, time_aug, lead_lag);
  return parallel_for(batch, n_threads, [&](std::int64_t b) {
    transform_one_path_backprop(grad_out + b * out_size, grad_in + b * in_size, length, dim,
                                time_aug, lead_lag);
    return kOk;
  });
}

}  // namespace sksig

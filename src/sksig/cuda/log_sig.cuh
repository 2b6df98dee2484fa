// Host entry points of the CUDA log-signature join (log_sig.cu). Plain C++ types only,
// so that the Cython module compiles without the CUDA headers.
//
// Every array pointer is a device pointer of the dtype given by `dbl` (double when true,
// float otherwise), C-contiguous; `stream` is a cudaStream_t and `device` the CUDA device
// they live on. Each function returns a sksig::Status code, never throws, never
// synchronises: the work is enqueued on `stream` (scratch from the stream-ordered
// allocator).
#pragma once

#include <cstdint>

namespace sksig {
namespace cuda {

// Device copy of the Lyndon tables of (dim, degree) (the host arrays of
// sksig._lyndon.lyndon_tables, layout in sksig/lyndon.hpp) plus the schedules derived
// from them, uploaded once per (device, dim, degree) and kept for the process lifetime.
// *handle receives an opaque handle for the functions below (the same one on every call
// with the same key; the arrays are read only on the first). This one call synchronises
// (a blocking upload), once per key.
int log_sig_tables(int dim, int degree, std::int64_t n_words, const std::int64_t* pos,
                   const std::int64_t* tri_ptr, const std::int64_t* tri_col,
                   const double* tri_val, const std::int64_t* exp_ptr,
                   const std::int64_t* exp_pos, const double* exp_val, int device,
                   std::uintptr_t* handle) noexcept;

// ls: (batch, n_words) Lyndon-bracket coordinates, disp: (batch, dim), out: (batch,
// n_words) = coordinates of log(exp(sum_w c_w P_w) (x) exp(v)) truncated at degree.
int log_sig_join(bool dbl, const void* ls, const void* disp, void* out, std::int64_t batch,
                 std::uintptr_t tables, int device, void* stream) noexcept;

// Vector-Jacobian product of log_sig_join: grad_ls (batch, n_words) and grad_disp
// (batch, dim) are overwritten.
int log_sig_join_backprop(bool dbl, const void* d_out, const void* ls, const void* disp,
                          void* grad_ls, void* grad_disp, std::int64_t batch,
                          std::uintptr_t tables, int device, void* stream) noexcept;

}  // namespace cuda
}  // namespace sksig

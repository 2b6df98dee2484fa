# cython: language_level=3
"""The native contract of the CPU cores: every C++ entry point and struct of
include/sksig/*.hpp that Cython calls, declared once, and the helpers every wrapper
shares. The CUDA launchers (sksig/cuda/cuda_native.pxd) reuse its structs.

``from sksig._core cimport native`` (the build puts ``src`` on Cython's include path),
then call ``native.<entry point>``. Every entry point returns a status code
(include/sksig/status.hpp) and never throws: wrappers call it without the GIL through
:func:`check`, which raises the matching Python exception. The typed objects that cross
from Python are the cdef classes below (implemented in native.pyx):
:class:`StaticKernelParams` (a built-in static kernel) and :class:`LyndonTables`.
"""
cimport cython
from libc.stdint cimport int32_t, int64_t
from libcpp cimport bool as cbool


# ---- status codes and Ctrl-C (status.hpp, interrupt.hpp) -----------------------------
cdef inline int check(int status, const char* where) except -1 nogil:
    """Raise the exception of a non-zero native status (see sksig/_core/_errors.py)."""
    if status != 0:
        with gil:
            from sksig._core._errors import raise_for_status
            raise_for_status(status, where.decode())
    return 0


cdef extern from "sksig/interrupt.hpp" namespace "sksig" nogil:
    int interrupt_begin() noexcept
    int interrupt_end() noexcept


# Read-only arrays in the tables' structs below (one line declares a group of fields).
ctypedef const int32_t* int32_array
ctypedef const int64_t* int64_array
ctypedef const double* float64_array


# ---- buffers: a flat view's data, NULL when it is empty (never dereferenced then) ----
ctypedef fused item:
    float
    double
    int32_t
    int64_t


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline item* data_or_null(item[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline const item* cdata_or_null(const item[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


# ---- the vectorisable exp of the static kernels (fast_exp.hpp) -------------------------
cdef extern from "sksig/fast_exp.hpp" namespace "sksig" nogil:
    void exp_row[T](const T* x, T* out, int64_t n) noexcept


# ---- static kernels and the Goursat PDE (static_kernels.hpp, goursat*.hpp) ------------
cdef extern from "sksig/static_kernels.hpp" namespace "sksig" nogil:
    cdef enum KernelKind:
        kLinear
        kScaledLinear
        kRBF
        kPolynomial
        kMatern12
        kMatern32
        kMatern52
        kRationalQuadratic

    cdef struct KernelParams:
        int kind
        double p0, p1, p2
        cbool clamp


cdef class StaticKernelParams:
    """A built-in static kernel as every kernel core receives it (see native.pyx)."""
    cdef KernelParams c
    cdef readonly int kind
    cdef readonly double p0, p1, p2
    cdef readonly bint clamp


cdef extern from "sksig/goursat.hpp" namespace "sksig" nogil:
    cdef cppclass GoursatShape:
        int64_t L1, L2, d
        int lam1, lam2

    int increment_gram[T](const T* x, const T* y, int64_t batch, int64_t L1, int64_t L2,
                          int64_t d, KernelParams k, T* delta,
                          int n_threads) noexcept
    int increment_gram_backprop[T](const T* gamma, const T* x, const T* y, int64_t batch,
                                   int64_t L1, int64_t L2, int64_t d, KernelParams k,
                                   T* gx, T* gy, int n_threads) noexcept
    int sig_kernel_pairs[T](const T* x, const T* y, int64_t n_pairs, int64_t ny,
                            cbool gram, GoursatShape sh, KernelParams kernel, T* out,
                            T* grid, int n_threads) noexcept
    int sig_kernel_gram_symmetric[T](const T* x, int64_t n, GoursatShape sh,
                                     KernelParams kernel, T* out, T* grid,
                                     int n_threads) noexcept
    int sig_kernel_pairs_backprop[T](const T* x, const T* y, int64_t p_begin,
                                     int64_t n_pairs, int64_t ny, cbool gram,
                                     GoursatShape sh, KernelParams kernel,
                                     const T* derivs, cbool grid_derivs, const T* k_grid,
                                     T* gx, T* gy, T* gamma, int n_threads) noexcept
    int polynomial_clamps[T](const T* x, int64_t nx, int64_t L1, const T* y, int64_t ny,
                             int64_t L2, int64_t d, cbool gram, T gamma, int n_threads,
                             cbool* clamps) noexcept
    int sig_kernel_gram_backprop[T](const T* x, int64_t nx, const T* y, int64_t ny,
                                    GoursatShape sh, KernelParams kernel,
                                    const T* derivs, cbool grid_derivs, const T* k_grid,
                                    T* gx, T* gy, int64_t chunk, int n_threads) noexcept


cdef inline GoursatShape goursat_shape(int64_t L1, int64_t L2, int64_t d,
                                       (int, int) orders) noexcept nogil:
    """The PDE grid of paths of L1 and L2 points in d channels, refined by orders."""
    cdef GoursatShape sh
    sh.L1 = L1
    sh.L2 = L2
    sh.d = d
    sh.lam1 = orders[0]
    sh.lam2 = orders[1]
    return sh


cdef inline GoursatShape paths_shape(const Py_ssize_t* x, const Py_ssize_t* y,
                                     (int, int) orders) noexcept nogil:
    """The PDE grid of batches of paths of shapes x (n, L1, d) and y (m, L2, d)."""
    return goursat_shape(x[1], y[1], x[2], orders)


cdef extern from "sksig/goursat_log.hpp" namespace "sksig" nogil:
    cbool extended_range()
    int sig_kernel_pairs_extended[T](const T* x, const T* y, int64_t n_pairs,
                                     const int64_t* ii, const int64_t* jj, GoursatShape sh,
                                     KernelParams kernel, double* mantissa,
                                     int64_t* exponent, int n_threads) noexcept
    int sig_kernel_pairs_backprop_extended[T](const T* x, const T* y, int64_t n_pairs,
                                              const int64_t* ii, const int64_t* jj,
                                              GoursatShape sh, KernelParams kernel,
                                              const double* seed_mantissa,
                                              const int64_t* seed_exponent, T* gx, T* gy,
                                              int n_threads) noexcept


cdef extern from "sksig/goursat_poly.hpp" namespace "sksig" nogil:
    int sig_kernel_poly_pairs[T](const T* x, const T* y, int64_t n_pairs, int64_t ny,
                                 cbool gram, int64_t L1, int64_t L2, int64_t d,
                                 int order, KernelParams kernel, T* out, T* grid,
                                 int n_threads) noexcept
    int sig_kernel_poly_pairs_backprop[T](const T* x, const T* y, int64_t p_begin,
                                          int64_t n_pairs, int64_t ny, cbool gram,
                                          int64_t L1, int64_t L2, int64_t d, int order,
                                          KernelParams kernel, const T* derivs,
                                          cbool grid_derivs, T* gx, T* gy,
                                          int n_threads) noexcept
    int sig_kernel_poly_gram_backprop[T](const T* x, int64_t nx, const T* y, int64_t ny,
                                         int64_t L1, int64_t L2, int64_t d, int order,
                                         KernelParams kernel, const T* derivs,
                                         cbool grid_derivs, T* gx, T* gy, int64_t chunk,
                                         int n_threads) noexcept


cdef extern from "sksig/goursat_delta.hpp" namespace "sksig" nogil:
    int sig_kernel_from_delta[T](const T* delta, int64_t n_pairs, int64_t n1, int64_t n2,
                                 int lam1, int lam2, T* out, int n_threads) noexcept
    int sig_kernel_from_delta_backprop[T](const T* delta, const T* derivs, int64_t n_pairs,
                                          int64_t n1, int64_t n2, int lam1, int lam2,
                                          T* gamma, int n_threads) noexcept


cdef extern from "sksig/branched_kernel.hpp" namespace "sksig" nogil:
    int branched_kernel_pairs[T](const T* x, const T* y, int64_t n_pairs, int64_t ny,
                                 cbool gram, GoursatShape sh, int depth,
                                 KernelParams kernel, T* out, T* grid,
                                 int n_threads) noexcept
    int branched_kernel_pairs_backprop[T](const T* x, const T* y, int64_t p_begin,
                                          int64_t n_pairs, int64_t ny, cbool gram,
                                          GoursatShape sh, int depth, KernelParams kernel,
                                          const T* derivs, cbool grid_derivs, T* gx,
                                          T* gy, int n_threads) noexcept
    int branched_kernel_gram_backprop[T](const T* x, int64_t nx, const T* y, int64_t ny,
                                         GoursatShape sh, int depth, KernelParams kernel,
                                         const T* derivs, cbool grid_derivs, T* gx,
                                         T* gy, int64_t chunk, int n_threads) noexcept


cdef extern from "sksig/kernel_learning.hpp" namespace "sksig" nogil:
    int sig_kernel_param_jacobian[T](const T* x, const T* y, const int64_t* i1,
                                     const int64_t* i2, int64_t n_pairs,
                                     GoursatShape sh, KernelParams kernel,
                                     const T* derivs, cbool time_last, T* values,
                                     T* jac, int n_threads) noexcept


# ---- paths (transform_path.hpp, finite.hpp) -----------------------------------------
cdef extern from "sksig/transform_path.hpp" namespace "sksig" nogil:
    int transform_path[T](const T* path, T* out, int64_t batch, int64_t length,
                          int64_t dim, cbool time_aug, cbool lead_lag, T end_time,
                          int n_threads) noexcept
    int transform_path_backprop[T](const T* grad_out, T* grad_in, int64_t batch,
                                   int64_t length, int64_t dim, cbool time_aug,
                                   cbool lead_lag, int n_threads) noexcept


cdef extern from "sksig/finite.hpp" namespace "sksig" nogil:
    cbool all_finite[T](const T* v, int64_t n) noexcept


# Compile-time probes (no header): the OpenMP thread limit, and whether the compiler
# could emit AVX (every module is built with the same options).
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int sksig_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int sksig_omp_max_threads(void) { return 1; }
    #endif
    static int sksig_built_with_avx(void) {
    #if defined(__AVX__)
      return 1;
    #else
      return 0;
    #endif
    }
    """
    int omp_max_threads "sksig_omp_max_threads"() noexcept nogil
    int built_with_avx "sksig_built_with_avx"() noexcept nogil


# ---- signatures, log-signatures and their algebra (lyndon.hpp, log_sig.hpp, ...) ----
cdef extern from "sksig/lyndon.hpp" namespace "sksig" nogil:
    cdef cppclass LyndonTablesView "sksig::LyndonTables":
        int64_t n
        int64_array pos, tri_ptr, tri_col, exp_ptr, exp_pos
        float64_array tri_val, exp_val

    cdef cppclass PodArray[T]:
        size_t size()
        T* release()

    cdef cppclass LyndonTableArrays:
        PodArray[int64_t] pos, tri_ptr, tri_col, exp_ptr, exp_pos
        PodArray[double] tri_val, exp_val


cdef class LyndonTables:
    """The Lyndon-basis tables of one (dim, degree), with their native view
    (see native.pyx)."""
    cdef LyndonTablesView view
    cdef readonly object pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val


cdef extern from "sksig/log_sig.hpp" namespace "sksig" nogil:
    int build_lyndon_tables_status(int dim, int degree, LyndonTableArrays& out) noexcept
    int sig[T](const T* path, T* out, int64_t batch, int64_t length, int dim, int degree,
               cbool scalar_term, int n_threads) noexcept
    int sig_backprop[T](const T* path, const T* sig, const T* grad_sig, T* grad_path,
                        int64_t batch, int64_t length, int dim, int degree,
                        cbool scalar_term, int n_threads) noexcept
    int log_sig[T](const T* path, T* out, int64_t batch, int64_t length, int dim,
                   int degree, int method, cbool scalar_term,
                   const LyndonTablesView& tables, int n_threads) noexcept
    int log_sig_backprop[T](const T* path, const T* grad_out, T* grad_path, int64_t batch,
                            int64_t length, int dim, int degree, int method,
                            cbool scalar_term, const LyndonTablesView& tables,
                            int n_threads) noexcept
    int log_sig_join[T](const T* ls, const T* disp, T* out, int64_t batch, int dim,
                        int degree, const LyndonTablesView& tables, int n_threads,
                        int* nonfinite) noexcept
    int log_sig_join_backprop[T](const T* d_out, const T* ls, const T* disp, T* grad_ls,
                                 T* grad_disp, int64_t batch, int dim, int degree,
                                 const LyndonTablesView& tables, int n_threads,
                                 int* nonfinite) noexcept


cdef extern from "sksig/sig_algebra.hpp" namespace "sksig" nogil:
    int sig_combine[T](const T* a, const T* b, T* out, int64_t batch, int dim, int degree,
                       cbool scalar_term, int n_threads) noexcept
    int sig_combine_backprop[T](const T* d_out, const T* a, const T* b, T* grad_a,
                                T* grad_b, int64_t batch, int dim, int degree,
                                cbool scalar_term, int n_threads) noexcept
    int sig_join[T](const T* sig, const T* disp, T* out, int64_t batch, int dim,
                    int degree, cbool prepend, cbool scalar_term, int n_threads) noexcept
    int sig_join_backprop[T](const T* d_out, const T* sig, const T* disp, T* grad_sig,
                             T* grad_disp, int64_t batch, int dim, int degree,
                             cbool prepend, cbool scalar_term, int n_threads) noexcept
    int sig_to_log_sig[T](const T* sig, T* out, int64_t batch, int dim, int degree,
                          int method, cbool in_term, cbool out_term,
                          const LyndonTablesView& tables, int n_threads) noexcept
    int logsig_to_sig[T](const T* ls, T* out, int64_t batch, int dim, int degree,
                         int method, cbool in_term, cbool out_term,
                         const LyndonTablesView& tables, int n_threads) noexcept
    # The two conversions' vector-Jacobian products:
    int sig_to_log_sig_backprop[T](const T* sig, const T* grad_out, T* grad_sig,
                                   int64_t batch, int dim, int degree, int method,
                                   cbool in_term, cbool out_term,
                                   const LyndonTablesView& tables, int n_threads) noexcept
    int logsig_to_sig_backprop[T](const T* ls, const T* grad_sig, T* grad_ls,
                                  int64_t batch, int dim, int degree, int method,
                                  cbool in_term, cbool out_term,
                                  const LyndonTablesView& tables, int n_threads) noexcept
    int log_sig_combine[T](const T* ls1, const T* ls2, T* out, int64_t batch, int dim,
                           int degree, const LyndonTablesView& tables,
                           int n_threads) noexcept
    int log_sig_combine_backprop[T](const T* d_out, const T* ls1, const T* ls2, T* grad1,
                                    T* grad2, int64_t batch, int dim, int degree,
                                    const LyndonTablesView& tables, int n_threads) noexcept
    int sig_corrected[T](const T* path, const T* corr, int64_t corr_batch_stride,
                         int64_t corr_seg_stride, T* out, int64_t batch, int64_t length,
                         int dim, int degree, cbool scalar_term, int n_threads) noexcept
    int sig_corrected_backprop[T](const T* path, const T* corr, int64_t corr_batch_stride,
                                  int64_t corr_seg_stride, const T* sig,
                                  const T* grad_sig, T* grad_path, int64_t batch,
                                  int64_t length, int dim, int degree, cbool scalar_term,
                                  int n_threads) noexcept
    int sig_expanding[T](const T* path, T* out, int64_t batch, int64_t length, int dim,
                         int degree, cbool scalar_term, int n_threads) noexcept


cdef extern from "sksig/sig_coef.hpp" namespace "sksig" nogil:
    cdef cppclass WordTrie:
        int64_t n_nodes, max_depth
        int64_array anc_ptr, anc, letter

    int sig_coef[T](const T* path, T* out, int64_t batch, int64_t length, int64_t dim,
                    const WordTrie& trie, const int64_t* out_node, int64_t n_out,
                    int n_threads) noexcept
    int sig_coef_backprop[T](const T* path, const T* grad_out, T* grad_path,
                             int64_t batch, int64_t length, int64_t dim,
                             const WordTrie& trie, const int64_t* out_node, int64_t n_out,
                             const T* final_state, int n_threads) noexcept


# ---- branched (rooted-tree) signatures (branched.hpp, branched_algebra.hpp) ----------
cdef extern from "sksig/branched.hpp" namespace "sksig" nogil:
    cdef cppclass BranchedTables[T]:  # the fields grouped as branched.hpp documents them
        int64_t n, n_forest
        int degree
        const T* term_coef
        const T* seg_ratio
        int32_array term_ptr, term_right, term_left
        int32_array forest_first, forest_rest
        int32_array seg_parent, seg_label, order_start
        int32_array level_ptr, level_idx, run_idx, run_end
        int32_array rev_lev_r, rev_ptr_r, rev_t_r, rev_e_r
        int32_array rev_lev_l, rev_ptr_l, rev_t_l, rev_e_l

    cdef cppclass LyndonMap:
        int64_t n_lyndon
        cbool solve
        int64_array pos, tri_ptr, tri_idx
        const double* tri_val

    int branched_sig[T](const T* path, T* out, int64_t batch, int64_t length,
                        int64_t dim, const BranchedTables[T]& tb, cbool scalar_out,
                        int n_threads) noexcept
    int branched_sig_backprop[T](const T* path, const T* bsig, const T* grad,
                                 T* grad_path, int64_t batch, int64_t length,
                                 int64_t dim, const BranchedTables[T]& tb, cbool scalar,
                                 int n_threads) noexcept
    int branched_log[T](const T* x, T* out, int64_t batch, const BranchedTables[T]& tb,
                        cbool scalar_in, cbool scalar_out, const LyndonMap* lyn,
                        int n_threads) noexcept
    int branched_log_backprop[T](const T* x, const T* grad_out, T* grad_x,
                                 int64_t batch, const BranchedTables[T]& tb,
                                 cbool scalar_in, cbool scalar_grad,
                                 const LyndonMap* lyn, int n_threads) noexcept


cdef extern from "sksig/branched_algebra.hpp" namespace "sksig" nogil:
    int branched_combine[T](const T* a, const T* b, T* out, int64_t batch,
                            const BranchedTables[T]& tb, cbool scalar,
                            int n_threads) noexcept
    int branched_combine_backprop[T](const T* a, const T* b, const T* g, T* ga, T* gb,
                                     int64_t batch, const BranchedTables[T]& tb,
                                     cbool scalar, int n_threads) noexcept
    int branched_join[T](const T* bsig, const T* disp, T* out, int64_t batch,
                         int64_t dim, const BranchedTables[T]& tb, cbool scalar,
                         cbool prepend, int n_threads) noexcept
    int branched_join_backprop[T](const T* bsig, const T* disp, const T* g, T* gbsig,
                                  T* gdisp, int64_t batch, int64_t dim,
                                  const BranchedTables[T]& tb, cbool scalar,
                                  cbool prepend, int n_threads) noexcept
    int linear_branched_sig[T](const T* disp, T* out, int64_t batch, int64_t dim,
                               const BranchedTables[T]& tb, cbool scalar,
                               int n_threads) noexcept
    int linear_branched_sig_backprop[T](const T* disp, const T* g, T* gdisp,
                                        int64_t batch, int64_t dim,
                                        const BranchedTables[T]& tb, cbool scalar,
                                        int n_threads) noexcept

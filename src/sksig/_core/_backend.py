"""The CPU backend: thin functions over the Cython modules of :mod:`sksig._core`.

Every function here has a twin of the same name and signature in
:mod:`sksig.cuda._backend`. The public functions validate their inputs once
(:mod:`sksig._array`) and then call one of the two with contiguous, shaped arrays of
one dtype: numpy arrays here, torch tensors on their device there. Outputs are
preallocated by the caller (:func:`empty`, :func:`zeros`); None means "not wanted".
A non-finite result raises FloatingPointError (the caller words the message), a
failed allocation MemoryError, Ctrl-C KeyboardInterrupt (:func:`sksig._interrupt.call`).
"""

import numpy as np

from sksig._array import all_finite
from sksig._core import (
    _branched,
    _branched_kernel,
    _log_sig,
    _sig_algebra,
    _sig_coef,
    _sig_kernel,
    _sig_kernel_poly,
)
from sksig._core.native import LyndonTables
from sksig._interrupt import call
from sksig._lyndon import lyndon_tables

# Bytes of per-pair gradient buffers the Gram backprop may hold at once by default.
_GRAM_BUFFER_BYTES = 64 * 2**20
# Below about this many coproduct-term evaluations per thread (~0.1 ms), starting and
# joining threads costs more than it saves; results never depend on the thread count.
# Tuned on an idle machine: a busy one would favour fewer threads.
_WORK_PER_THREAD = 100_000


def empty(shape, caller):
    return np.empty(shape, caller.dtype)


def zeros(shape, caller):
    return np.zeros(shape, caller.dtype)


def equal(x, y):
    """Whether two arrays have equal shapes and values."""
    return x.shape == y.shape and bool(np.array_equal(x, y))


def _flat(a, like):
    """A 1-D view of an output (an empty array for "not wanted")."""
    return np.empty(0, like.dtype) if a is None else a.reshape(-1)


def _finite(a):
    if a is not None and not all_finite(a):
        raise FloatingPointError


# ------------------------------------------------------------------ signature kernel


def sig_kernel_forward(x, y, gram, symmetric, orders, kernel, out, grid, n_threads):
    """Kernels of the pairs (x[p], y[p]) or (Gram) (x[i], y[j]) into out, and their
    PDE grids into grid (or None); symmetric: a Gram of x with itself, mirrored."""
    if grid is None:
        grid = np.empty(0, x.dtype)
    else:
        grid = grid.reshape(-1)
    if symmetric:
        call(_sig_kernel.forward_symmetric, x, orders, kernel, out, grid, n_threads)
    else:
        call(_sig_kernel.forward, x, y, gram, orders, kernel, out, grid, n_threads)
    # No pass over the grid: the core has checked every kernel, and every grid entry
    # feeds its grid's last one (the kernel) through sums and products, so a finite
    # kernel means a finite grid.


def sig_kernel_backward(x, y, orders, kernel, derivs, grid_derivs, k_grid, gx, gy,
                        gamma, n_threads):
    """Pairwise backprop: gradients on x and y (or None) and on the increment Gram."""
    call(_sig_kernel.backward, x, y, orders, kernel, derivs, grid_derivs,
         _flat(k_grid, x), _flat(gx, x), _flat(gy, x), _flat(gamma, x), n_threads)
    _finite(gamma)


def sig_kernel_backward_gram(x, y, orders, kernel, derivs, grid_derivs, k_grid, gx, gy,
                             max_batch, n_threads):
    """Gram backprop (gradients summed over the other side), in rounds of pairs."""
    per_pair = (x[0].size + y[0].size) * x.itemsize if x.shape[0] else 1
    chunk = max_batch**2 if max_batch > 0 else max(1024, _GRAM_BUFFER_BYTES // per_pair)
    # At most all pairs: max_batch=2**40 would not fit the native int64.
    chunk = min(chunk, max(1, x.shape[0] * y.shape[0]))
    call(_sig_kernel.backward_gram, x, y, orders, kernel, derivs, grid_derivs,
         _flat(k_grid, x), _flat(gx, x), _flat(gy, x), chunk, n_threads)
    _finite(gx)
    _finite(gy)


# ------------------------------------------------------------------ log-signature join


# The CPU join tests its inputs and results for NaN/inf as it reads and writes them
# and returns what it found (see log_sig_join_finite in sksig/_log_sig.py).


def log_sig_join(ls, disp, out, dim, degree, n_threads):
    return call(_log_sig.log_sig_join, ls, disp, out, dim, degree,
                lyndon_tables(dim, degree), n_threads)


def log_sig_join_backprop(d_out, ls, disp, grad_ls, grad_disp, dim, degree, n_threads):
    return call(_log_sig.log_sig_join_backprop, d_out, ls, disp, grad_ls, grad_disp,
                dim, degree, lyndon_tables(dim, degree), n_threads)


# ------------------------------------------------------------------ branched signatures


def _threads_for(n_threads, work):
    return max(1, min(n_threads, int(work // _WORK_PER_THREAD)))


def _n_terms(tb):
    return tb.native()["term_coef_float64"].shape[0] + tb.n


def branched_sig(data, out, tb, scalar_term, n_threads):
    """Branched signatures of the transformed paths data (n, L, d) into out."""
    work = data.shape[0] * max(data.shape[1] - 1, 0) * _n_terms(tb)
    call(_branched.sig, data, out, tb.core("sig"), scalar_term,
         _threads_for(n_threads, work))


def branched_sig_backprop(data, bsig, derivs, grad, tb, scalar_term, n_threads):
    """Gradient (into grad, zeroed) of the branched signatures bsig of data."""
    work = 4 * data.shape[0] * max(data.shape[1] - 1, 0) * _n_terms(tb)
    call(_branched.sig_backprop, data, bsig, derivs, grad, tb.core("sig"), scalar_term,
         _threads_for(n_threads, work))


# Work per coproduct term of the branched log and its backprop, in the units of
# _WORK_PER_THREAD: the log's terms are cheaper than a Chen step's (one product each
# for the elements with `degree` nodes, most of the basis; top_log in branched.hpp).
# Measured 2 / 1 threads, d=3, degree 4, non-planar, after a pause: log at 512 items
# 1.01, 1,024 items 1.33; backprop at 256 items 0.96, 512 items 1.36 (planar: log at
# 64 items 0.97, 128 items 1.11).
_LOG_TERM_WORK, _LOG_BACKPROP_TERM_WORK = 0.25, 0.5


def branched_log(flat, out, tb, method, had_scalar, scalar_out, n_threads):
    """Branched log of (batch, n + had_scalar) values into out, in the layout of
    method (0: every forest, 1 and 2: the Lyndon coordinates)."""
    n_threads = _threads_for(n_threads, _LOG_TERM_WORK * flat.shape[0] * _n_terms(tb))
    if method == 0:
        call(_branched.log, flat, out, tb.core("log"), had_scalar, scalar_out,
             n_threads)
    else:
        call(_branched.log, flat, out, tb.core("lyndon"), had_scalar, False, n_threads,
             method == 2)


def branched_log_backprop(flat, derivs, grad, tb, method, had_scalar, scalar_grad,
                          n_threads):
    n_threads = _threads_for(n_threads,
                             _LOG_BACKPROP_TERM_WORK * flat.shape[0] * _n_terms(tb))
    call(_branched.log_backprop, flat, derivs, grad,
         tb.core("lyndon" if method else "log"), had_scalar, scalar_grad, n_threads,
         method == 2)


# ------------------------------------------- polynomial and branched signature kernels
# CPU only (listed in CPU_ONLY below): these have no twin in sksig.cuda._backend (their
# public functions copy CUDA tensors to the host). Outputs are preallocated as above;
# gx, gy None: not wanted.


def _pairs_per_round(x, y, max_batch):
    """Pairs per round of a Gram backprop: ``max_batch**2``, else as many as
    _GRAM_BUFFER_BYTES of gradient buffers hold (at least 64), at most all."""
    per_pair = (x[0].size + y[0].size) * x.itemsize if x.shape[0] else 1
    chunk = max_batch**2 if max_batch > 0 else max(64, _GRAM_BUFFER_BYTES // per_pair)
    return min(chunk, max(1, x.shape[0] * y.shape[0]))


def sig_kernel_poly_forward(x, y, gram, order, kernel, out, grid, n_threads):
    """Kernels of the pairs or the Gram by the polynomial solver (vertex grids into
    grid, or None)."""
    call(_sig_kernel_poly.forward, x, y, gram, order, kernel, out, _flat(grid, x),
         n_threads)


def sig_kernel_poly_backward(x, y, order, kernel, derivs, grid_derivs, gx, gy,
                             n_threads):
    call(_sig_kernel_poly.backward, x, y, order, kernel, derivs, grid_derivs,
         _flat(gx, x), _flat(gy, x), n_threads)


def sig_kernel_poly_backward_gram(x, y, order, kernel, derivs, grid_derivs, gx, gy,
                                  max_batch, n_threads):
    call(_sig_kernel_poly.backward_gram, x, y, order, kernel, derivs, grid_derivs,
         _flat(gx, x), _flat(gy, x), _pairs_per_round(x, y, max_batch), n_threads)


def branched_kernel_forward(x, y, gram, orders, depth, kernel, out, grid, n_threads):
    """Branched kernels of the pairs or the Gram (final-depth grids into grid, or
    None)."""
    call(_branched_kernel.forward, x, y, gram, orders, depth, kernel, out,
         _flat(grid, x), n_threads)


def branched_kernel_backward(x, y, orders, depth, kernel, derivs, grid_derivs, gx, gy,
                             n_threads):
    call(_branched_kernel.backward, x, y, orders, depth, kernel, derivs, grid_derivs,
         _flat(gx, x), _flat(gy, x), n_threads)


def branched_kernel_backward_gram(x, y, orders, depth, kernel, derivs, grid_derivs, gx,
                                  gy, max_batch, n_threads):
    call(_branched_kernel.backward_gram, x, y, orders, depth, kernel, derivs,
         grid_derivs, _flat(gx, x), _flat(gy, x), _pairs_per_round(x, y, max_batch),
         n_threads)
# ------------------------------------------------- the branched and signature algebra
# (Chen products, segments and their adjoints; the thread count follows the work as
# for branched_sig, and never changes a result.) These have no CUDA kernel yet: their
# public functions compute on the CPU and say so.

CPU_ONLY = (
    # forward maps
    "branched_combine", "branched_join", "branched_linear", "sig_combine", "sig_join",
    "sig_to_log_sig", "logsig_to_sig", "log_sig_combine", "sig_expanding",
    "sig_corrected", "sig_coef", "log_tables",
    # their adjoints
    "branched_combine_backprop", "branched_join_backprop", "branched_linear_backprop",
    "sig_combine_backprop", "sig_join_backprop", "sig_to_log_sig_backprop",
    "logsig_to_sig_backprop", "log_sig_combine_backprop", "sig_corrected_backprop",
    "sig_coef_backprop",
    # the polynomial and branched signature kernels
    "sig_kernel_poly_forward", "sig_kernel_poly_backward",
    "sig_kernel_poly_backward_gram", "branched_kernel_forward",
    "branched_kernel_backward", "branched_kernel_backward_gram",
)


def _sig_threads(tb, rows, n_threads, factor=1):
    return _threads_for(n_threads, factor * rows * _n_terms(tb))


def branched_combine(a, b, out, tb, scalar_term, n_threads):
    call(_branched.combine, a, b, out, tb.core("sig"), scalar_term,
         _sig_threads(tb, a.shape[0], n_threads))


def branched_combine_backprop(a, b, derivs, grad_a, grad_b, tb, scalar_term, n_threads):
    call(_branched.combine_backprop, a, b, derivs, grad_a, grad_b, tb.core("sig"),
         scalar_term, _sig_threads(tb, a.shape[0], n_threads, 3))


def branched_join(bsig, disp, out, tb, scalar_term, prepend, n_threads):
    call(_branched.join, bsig, disp, out, tb.core("sig"), scalar_term, prepend,
         _sig_threads(tb, bsig.shape[0], n_threads))


def branched_join_backprop(bsig, disp, derivs, grad_bsig, grad_disp, tb, scalar_term,
                           prepend, n_threads):
    n_threads = _sig_threads(tb, bsig.shape[0], n_threads, 3)
    call(_branched.join_backprop, bsig, disp, derivs, grad_bsig, grad_disp,
         tb.core("sig"), scalar_term, prepend, n_threads)


def branched_linear(disp, out, tb, scalar_term, n_threads):
    call(_branched.linear, disp, out, tb.core("sig"), scalar_term,
         _sig_threads(tb, disp.shape[0], n_threads))


def branched_linear_backprop(disp, derivs, grad_disp, tb, scalar_term, n_threads):
    call(_branched.linear_backprop, disp, derivs, grad_disp, tb.core("sig"),
         scalar_term, _sig_threads(tb, disp.shape[0], n_threads, 2))


# Truncated tensor algebra on flat (rows, length) arrays: a None input is the identity
# (sig_join of None is the segment's signature), a None output is not wanted. Method 0
# of the log conversions reads no Lyndon table (``tables`` is then an empty one).


def sig_combine(a, b, out, dim, degree, scalar_term, n_threads):
    call(_sig_algebra.sig_combine, a, b, out, dim, degree, scalar_term, n_threads)


def sig_combine_backprop(derivs, a, b, grad_a, grad_b, dim, degree, scalar_term,
                         n_threads):
    call(_sig_algebra.sig_combine_backprop, derivs, a, b, grad_a, grad_b, dim, degree,
         scalar_term, n_threads)


def sig_join(sig, disp, out, dim, degree, prepend, scalar_term, n_threads):
    call(_sig_algebra.sig_join, sig, disp, out, dim, degree, prepend, scalar_term,
         n_threads)


def sig_join_backprop(d_out, sig, disp, grad_sig, grad_disp, dim, degree, prepend,
                      scalar_term, n_threads):
    call(_sig_algebra.sig_join_backprop, d_out, sig, disp, grad_sig, grad_disp, dim,
         degree, prepend, scalar_term, n_threads)


def log_tables(dim, degree, method):
    """The Lyndon tables a log conversion of ``method`` reads: method 0 reads none
    (and must not pay for building them)."""
    return lyndon_tables(dim, degree) if method else LyndonTables.empty()


def sig_to_log_sig(sig, out, dim, degree, method, in_term, out_term, n_threads):
    call(_sig_algebra.convert, False, sig, out, dim, degree, method, in_term, out_term,
         log_tables(dim, degree, method), n_threads)


def logsig_to_sig(ls, out, dim, degree, method, in_term, out_term, n_threads):
    call(_sig_algebra.convert, True, ls, out, dim, degree, method, in_term, out_term,
         log_tables(dim, degree, method), n_threads)


def sig_to_log_sig_backprop(sig, derivs, grad, dim, degree, method, in_term, out_term,
                            n_threads):
    call(_sig_algebra.convert_backprop, False, sig, derivs, grad, dim, degree, method,
         in_term, out_term, log_tables(dim, degree, method), n_threads)


def logsig_to_sig_backprop(ls, derivs, grad, dim, degree, method, in_term, out_term,
                           n_threads):
    call(_sig_algebra.convert_backprop, True, ls, derivs, grad, dim, degree, method,
         in_term, out_term, log_tables(dim, degree, method), n_threads)


def log_sig_combine(ls1, ls2, out, dim, degree, n_threads):
    call(_sig_algebra.log_sig_combine, ls1, ls2, out, dim, degree,
         lyndon_tables(dim, degree), n_threads)


def log_sig_combine_backprop(derivs, ls1, ls2, grad1, grad2, dim, degree, n_threads):
    call(_sig_algebra.log_sig_combine_backprop, derivs, ls1, ls2, grad1, grad2, dim,
         degree, lyndon_tables(dim, degree), n_threads)


def sig_expanding(paths, out, degree, scalar_term, n_threads):
    """Signatures of every prefix of each path (n, length, dim) into out."""
    call(_sig_algebra.sig_expanding, paths, out, degree, scalar_term, n_threads)


def sig_corrected(data, rows, out, degree, scalar_term, n_threads):
    call(_sig_algebra.sig_corrected, data, rows, out, degree, scalar_term, n_threads)


def sig_corrected_backprop(data, rows, sig, derivs, grad, degree, scalar_term,
                           n_threads):
    call(_sig_algebra.sig_corrected_backprop, data, rows, sig, derivs, grad, degree,
         scalar_term, n_threads)


def sig_coef(data, out, trie, n_threads):
    """Coefficients at the nodes of a word trie ``trie`` (its arrays: ancestors,
    letters, depth and output nodes) of the paths data into out."""
    call(_sig_coef.sig_coef, data, out, *trie, n_threads)


def sig_coef_backprop(data, derivs, grad, trie, final, n_threads):
    call(_sig_coef.sig_coef_backprop, data, derivs, grad, *trie, final, n_threads)

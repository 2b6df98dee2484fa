"""Gram matrices of signature kernels computed block by block.

A Gram of ``n1 x n2`` path pairs is cut into rectangular blocks. Three limits size a
block:

* memory: a block holds at most ``working_memory`` MiB of kernel values, scikit-learn's
  convention (``sklearn.set_config(working_memory=...)``, 1024 MiB by default);
* time: a block solves at most about ``2**28`` PDE grid cells per thread (a fraction
  of a second), so that progress is reported often and Ctrl-C is answered between
  blocks;
* parallelism: under a joblib backend with several workers there are at least four
  blocks per worker, so the workers share the load.

A symmetric Gram ``K(X, X)`` computes only the blocks on and above the diagonal (the
diagonal blocks by the native symmetric path) and mirrors them.

The blocks run through :class:`joblib.Parallel` without forcing a backend. Without a
joblib configuration they run one after the other in this process, each on ``n_jobs``
OpenMP threads. Under ``joblib.parallel_config(backend="dask")`` (or Ray's backend, or
any backend asked for more than one worker) each block is a task; joblib ships the path
arrays to the workers once (dask scatters them, loky memory-maps them) and each task
slices its block out of them.

Dask arrays of paths are handled by :func:`map_path_chunks`: a transformer's
``transform`` becomes a lazy ``dask.array`` computed chunk by chunk.
"""

import math
import os
import sys
import time

import numpy as np
import sklearn
from joblib import Parallel, delayed
from joblib.parallel import get_active_backend

from sksig._array import as_path_batch
from sksig._docs import fill_doc
from sksig._kernel_setup import host_kernels
from sksig._static_kernels import LinearKernel, as_static_kernel
from sksig._validation import (
    check_bool,
    check_dyadic_order,
    check_end_time,
    check_int,
    resolve_n_jobs,
)

__all__ = ["gram_blocks", "map_path_chunks", "needs_blocks", "sig_kernel_gram_blocks"]

# PDE grid cells one block may solve per thread: about a quarter of a second.
_BLOCK_CELLS = 2**28
# Blocks per worker under a parallel joblib backend (load balancing).
_BLOCKS_PER_WORKER = 4


@fill_doc
def sig_kernel_gram_blocks(path1, path2, dyadic_order, *, static_kernel=None,
                           time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1,
                           out=None, verbose=0):
    """Gram matrix of signature kernels, block by block, optionally out of core.

    The same numbers as :func:`sig_kernel_gram`, computed in blocks whose size follows
    scikit-learn's ``working_memory`` setting. The blocks are written into ``out``,
    which may be any array supporting slice assignment (a :class:`numpy.memmap`, a
    zarr array), so a Gram larger than memory can be computed with memory bounded by
    one block. The blocks run through :class:`joblib.Parallel`: by default one after
    the other in this process on ``n_jobs`` threads; under
    ``joblib.parallel_config(backend="dask")`` on the workers of a Dask cluster.
    Ctrl-C interrupts the computation between blocks (a fraction of a second).

    Parameters
    ----------
    path1 : array-like of shape (n1, length_1, dim), torch.Tensor or list of 2-D arrays
        First batch of paths (a ragged list may hold paths of different lengths).
    path2 : array-like of shape (n2, length_2, dim), torch.Tensor, list or None
        Second batch, same dimension. None means ``path1``: the Gram is then symmetric
        and each block off the diagonal is computed once and mirrored (also when
        ``path2 is path1``). With unequal dyadic orders every block is computed.
    dyadic_order : int or pair of ints
        As in :func:`sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time : optional
        As in :func:`sig_kernel`.
    n_jobs : int or None, default=1
        OpenMP threads per block; None means 1, -1 all cores. Under a parallel joblib
        backend this is the number of threads of each task. Results do not depend on
        it.
    out : array-like of shape (n1, n2), str, os.PathLike or None, default=None
        Where to write the Gram: any object with ``shape`` and slice assignment (e.g.
        ``numpy.memmap`` or a zarr array; values are cast to its dtype), or the path
        of a new ``.npy`` file, written block by block without mapping it, so that
        this process holds one block at a time (the written pages of a
        ``numpy.memmap`` instead stay in its resident set). None allocates a numpy
        array.
    verbose : int, default=0
        If positive, print the progress (blocks done, rate, time left).

    Returns
    -------
    ndarray of shape (n1, n2), out, or numpy.memmap
        The Gram, in the dtype of the paths: ``out`` itself when it is an array, a
        read-only ``numpy.memmap`` of the file when it is a path.

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As in :func:`sig_kernel_gram`; ``ValueError`` also for paths with more than one
        batch axis or an ``out`` of the wrong shape, ``TypeError`` for an ``out``
        without slice assignment.
    KeyboardInterrupt
        On Ctrl-C; the blocks written so far stay in ``out``.

    See Also
    --------
    sig_kernel_gram : The Gram in one native call, with grids and batch shapes.
    SigKernel : The estimator, which computes its Grams with these blocks.

    {gram_example}
    >>> sksig.sig_kernel_gram_blocks(X, None, 0)
    array([[2.25, 4.  ],
           [4.  , 9.  ]])
    >>> out = np.zeros((2, 1), dtype=np.float32)  # or a numpy.memmap, a zarr array
    >>> sksig.sig_kernel_gram_blocks(X, X[:1], 0, out=out) is out
    True
    >>> out
    array([[2.25],
           [4.  ]], dtype=float32)
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     gram = sksig.sig_kernel_gram_blocks(X, None, 0,
    ...                                         out=os.path.join(folder, "gram.npy"))
    ...     print(gram[1])
    ...     del gram  # close the file before the folder goes
    [4. 9.]
    """
    check_int(verbose, "verbose")
    n_threads = resolve_n_jobs(n_jobs)
    orders = check_dyadic_order(dyadic_order)
    as_static_kernel(static_kernel)  # validates
    kw = dict(time_aug=check_bool(time_aug, "time_aug"),
              lead_lag=check_bool(lead_lag, "lead_lag"),
              end_time=check_end_time(end_time), n_threads=n_threads)
    b1 = as_path_batch(path1, "path1", **kw)
    symmetric = path2 is None or path2 is path1
    b2 = b1 if symmetric else as_path_batch(path2, "path2", caller=b1.caller, **kw)
    for name, b in (("path1", b1), ("path2", b2)):
        if len(b.batch_shape) != 1:
            raise ValueError(
                f"{name} must be one batch of paths, shape (n_paths, length, dim) or a "
                f"list of 2-D paths, got batch shape {b.batch_shape}"
            )
    if b1.raw_dim != b2.raw_dim:
        raise ValueError(
            f"path1 and path2 must have the same dimension, got {b1.raw_dim} and "
            f"{b2.raw_dim}"
        )
    run = dict(symmetric=symmetric, verbose=verbose, dyadic_order=orders,
               static_kernel=static_kernel, n_jobs=n_threads)
    if not isinstance(out, (str, os.PathLike)):
        return gram_blocks(b1.data, b2.data, out=out, **run)
    with _NpyFile(out, (b1.n_paths, b2.n_paths), b1.data.dtype) as writer:
        gram_blocks(b1.data, b2.data, out=writer, **run)
    return np.load(out, mmap_mode="r")


class _NpyFile:
    """A new ``.npy`` file written by slice assignment through plain file writes (no
    page of it is mapped in this process)."""

    def __init__(self, path, shape, dtype):
        # open_memmap writes the header and sizes the (sparse) file, touching no page.
        header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        self.offset, self.shape, self.dtype = header.offset, shape, np.dtype(dtype)
        del header
        self.file = open(path, "r+b")  # closed by __exit__

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def __setitem__(self, key, value):
        rows, cols = key
        value = np.asarray(value, dtype=self.dtype)
        row_bytes = self.shape[1] * self.dtype.itemsize
        start = self.offset + cols.start * self.dtype.itemsize
        if cols.start == 0 and cols.stop == self.shape[1]:  # whole rows: one write
            self.file.seek(start + rows.start * row_bytes)
            self.file.write(np.ascontiguousarray(value).tobytes())
            return
        for i, row in enumerate(value):
            self.file.seek(start + (rows.start + i) * row_bytes)
            self.file.write(row.tobytes())


def gram_blocks(A, B, *, symmetric, dyadic_order, static_kernel=None, n_jobs=1,
                max_batch=-1, out=None, verbose=0, label="sksig"):
    """The Gram ``K(A, B)`` of transformed, padded paths (3-D numpy arrays), in blocks.

    ``symmetric`` means ``B`` holds the paths of ``A``; it is ignored with unequal
    dyadic orders. See the module docstring for the block sizes and the backends.
    ``max_batch`` (validated by the estimators) does not change the blocks.
    Each block is one native call (:func:`sksig._kernel_setup.host_kernels`); the
    normalized Gram (:func:`sksig._normalized_kernel.normalized_gram`) is built on
    this one.
    """
    orders = check_dyadic_order(dyadic_order)
    symmetric = symmetric and orders[0] == orders[1]
    n1, n2 = A.shape[0], B.shape[0]
    if out is None:
        out = np.empty((n1, n2), A.dtype)
    elif not hasattr(out, "__setitem__") or not hasattr(out, "shape"):
        raise TypeError(
            f"out must be an array supporting slice assignment (numpy.memmap, zarr "
            f"array), got {type(out).__name__}"
        )
    elif tuple(out.shape) != (n1, n2):
        raise ValueError(f"out must have the Gram's shape {(n1, n2)}, got "
                         f"{tuple(out.shape)}")
    if n1 == 0 or n2 == 0:
        return out
    static = LinearKernel() if static_kernel is None else static_kernel
    options = dict(dyadic_order=orders, static_kernel=static, n_jobs=n_jobs)
    backend, backend_jobs = get_active_backend()
    workers = _backend_workers(backend, backend_jobs)
    cells = ((((A.shape[1] - 1) << orders[0]) + 1)
             * (((B.shape[1] - 1) << orders[1]) + 1))
    plan = _Plan(n1, n2, symmetric, _max_pairs(
        n1, n2, symmetric, A.itemsize, cells, resolve_n_jobs(n_jobs), workers))
    if workers > 1 or backend_jobs is not None:
        results = Parallel(return_as="generator_unordered")(
            delayed(_block)(A, B, task, options) for task in plan.blocks())
    else:  # in this process: one block after the other, Ctrl-C between blocks
        results = (_block(A, B, task, options) for task in plan.blocks())
    progress = _Progress(label, plan) if verbose else None
    for (rows, cols), block in results:
        out[rows, cols] = block
        if symmetric and rows != cols:
            out[cols, rows] = block.T
        if progress is not None:
            progress.update(plan.pairs(rows, cols))
    if progress is not None:
        progress.close()
    return out


def needs_blocks(n1, n2, symmetric, itemsize, cells, n_threads):
    """Whether a Gram exceeds one block under the memory and time limits (then
    :func:`sksig.sig_kernel_gram` hands it to :func:`gram_blocks`; each block, within
    the limits by construction, is one native call)."""
    max_pairs = _max_pairs(n1, n2, symmetric, itemsize, cells, n_threads, 1)
    return _Plan(n1, n2, symmetric, max_pairs).n_blocks > 1


def _backend_workers(backend, n_jobs):
    """Workers of the active joblib backend; 1 means: run in this process.

    A backend whose default is several workers (dask, ray) counts even with one
    worker, so that ``parallel_config(backend="dask")`` always sends the blocks to the
    cluster; a local backend counts only when asked for several workers.
    """
    default = getattr(backend, "default_n_jobs", 1)
    if n_jobs is None and default == 1:
        return 1
    try:
        return max(2 if default != 1 else 1,
                   backend.effective_n_jobs(default if n_jobs is None else n_jobs))
    except Exception:  # a backend that cannot tell before starting
        return 2


def _max_pairs(n1, n2, symmetric, itemsize, cells, n_threads, workers):
    """Most path pairs in one block, under the memory, time and balance limits."""
    memory = int(sklearn.get_config()["working_memory"] * 2**20) // itemsize
    limit = min(memory, _BLOCK_CELLS * n_threads // max(cells, 1))
    if workers > 1:
        total = n1 * (n1 + 1) // 2 if symmetric else n1 * n2
        limit = min(limit, -(-total // (_BLOCKS_PER_WORKER * workers)))
    return max(1, limit)


class _Plan:
    """The blocks of a Gram: square tiles on and above the diagonal for a symmetric
    Gram; otherwise full rows when they fit, else tiles. Blocks are generated lazily
    (a huge out-of-core Gram has millions)."""

    def __init__(self, n1, n2, symmetric, max_pairs):
        self.n1, self.n2, self.symmetric = n1, n2, symmetric
        side = max(1, math.isqrt(max_pairs))
        if symmetric:
            self.rows = self.cols = side
        elif n2 <= side:
            self.rows, self.cols = max(1, max_pairs // n2), n2
        elif n1 <= side:
            self.rows, self.cols = n1, max(1, max_pairs // n1)
        else:
            self.rows = self.cols = side
        tiles1, tiles2 = -(-n1 // self.rows), -(-n2 // self.cols)
        self.n_blocks = tiles1 * (tiles1 + 1) // 2 if symmetric else tiles1 * tiles2
        self.total = n1 * (n1 + 1) // 2 if symmetric else n1 * n2

    def blocks(self):
        """``(rows, cols)`` slices, row by row."""
        for lo in range(0, self.n1, self.rows):
            rows = slice(lo, min(lo + self.rows, self.n1))
            for c in range(lo if self.symmetric else 0, self.n2, self.cols):
                yield rows, slice(c, min(c + self.cols, self.n2))

    def pairs(self, rows, cols):
        """Path pairs solved by a block (a diagonal tile solves each pair once)."""
        n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
        if self.symmetric and rows == cols:
            return n_rows * (n_rows + 1) // 2
        return n_rows * n_cols


def _block(A, B, task, options):
    """One block of the Gram (a joblib task: the paths travel once, slices are
    taken where the task runs)."""
    rows, cols = task
    # A diagonal block of a symmetric Gram has equal halves: it then takes the native
    # symmetric path.
    return task, host_kernels(A[rows], B[cols], gram=True, **options)


class _Progress:
    """``verbose`` output: blocks done, rate and time left, on one updated line."""

    def __init__(self, label, plan):
        self.label, self.plan = label, plan
        self.done = self.blocks = 0
        self.start = self.shown = time.perf_counter()

    def update(self, pairs):
        plan = self.plan
        self.blocks += 1
        self.done += pairs
        now = time.perf_counter()
        if now - self.shown < 0.2 and self.blocks < plan.n_blocks:
            return
        self.shown = now
        elapsed = now - self.start
        left = elapsed * (plan.total - self.done) / self.done if self.done else 0.0
        print(f"\r[{self.label}] Gram {plan.n1} x {plan.n2}: block "
              f"{self.blocks}/{plan.n_blocks} ({100 * self.done / plan.total:5.1f}%), "
              f"{self.blocks / max(elapsed, 1e-9):.1f} blocks/s, {elapsed:.1f} s "
              f"elapsed, {left:.1f} s left", end="", file=sys.stdout, flush=True)

    def close(self):
        print(file=sys.stdout, flush=True)


# ---------------------------------------------------------------------- dask arrays
def is_dask_array(x):
    """Whether ``x`` is a ``dask.array.Array`` (without importing dask)."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "map_blocks")


def map_path_chunks(estimator, X, n_features_out, name="X"):
    """``estimator.transform`` over a dask array of paths, as a lazy dask array.

    ``X`` holds paths ``(n_samples, length, n_channels)`` or rows
    ``(n_samples, length * n_channels)`` chunked along samples only; the result has
    shape ``(n_samples, n_features_out)`` and the same chunks along samples. The
    fitted estimator becomes one node of the graph, shipped once to each worker.
    """
    import dask

    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} as a dask array must be 2-D (n_samples, length * n_channels) or "
            f"3-D (n_samples, length, n_channels), got shape {X.shape}"
        )
    if any(len(c) != 1 for c in X.chunks[1:]):
        raise ValueError(
            f"{name} must be chunked along samples (axis 0) only, got chunks "
            f"{tuple(len(c) for c in X.chunks)} per axis; use "
            f"{name}.rechunk({{{', '.join(f'{a}: -1' for a in range(1, X.ndim))}}})"
        )
    if X.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    dtype = X.dtype if X.dtype == np.float32 else np.dtype(np.float64)
    return X.map_blocks(
        _transform_chunk, dask.delayed(estimator, pure=True), dtype=dtype,
        chunks=(X.chunks[0], (n_features_out,)),
        drop_axis=[2] if X.ndim == 3 else [],
        meta=np.empty((0, 0), dtype),
    )


def _transform_chunk(chunk, estimator):
    return estimator.transform(chunk)

"""What every signature-kernel function shares: the validated pair of path batches
(:class:`_Setup`), the checks of derivatives and output options, and the native call
with its overflow and memory messages. The finite-difference, polynomial and branched
kernels all build on it."""

import numbers
import os
import sys
import warnings

import numpy as np

from sksig._array import (
    all_finite,
    as_array,
    as_path_batch,
    check_same_batch,
)
from sksig._dispatch import backend
from sksig._interrupt import call
from sksig._static_kernels import as_static_kernel
from sksig._validation import (
    check_bool,
    check_dyadic_order,
    check_end_time,
    resolve_n_jobs,
)

# Refined grid cells per pair beyond which a call would run for hours.
_MAX_CELLS = 2**36

# Whether the polynomial kernel's clamping was reported (once per process, as pySigLib).
_clamping_reported = False


def _caller_level():
    """The stacklevel, for a warning issued by the caller, of the first frame outside
    sksig: the warning then points at the user's line."""
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


class _Setup:
    """Validated arguments shared by the kernel functions. With ``device=True`` paths
    for the CUDA backend stay on their device (``self.backend`` computes)."""

    def __init__(self, path1, path2, dyadic_order, static_kernel, time_aug, lead_lag,
                 end_time, n_jobs, *, gram, caller=None, basepoint=None, device=False):
        self.basepoint = basepoint
        self.device = device
        self.time_aug = check_bool(time_aug, "time_aug")
        self.lead_lag = check_bool(lead_lag, "lead_lag")
        self.end_time = check_end_time(end_time)
        self.n_threads = resolve_n_jobs(n_jobs)
        self.orders = check_dyadic_order(dyadic_order)
        self.static_kernel = static_kernel
        self.kernel = as_static_kernel(static_kernel)
        self.b1, self.b2 = self._path_batches(path1, path2, caller)
        if self.b1.raw_dim != self.b2.raw_dim:
            raise ValueError(
                f"path1 and path2 must have the same dimension, got {self.b1.raw_dim} "
                f"and {self.b2.raw_dim}"
            )
        if not gram:
            check_same_batch(self.b1.batch_shape, self.b2.batch_shape, "path1", "path2")
        lam1, lam2 = self.orders
        self.grid_shape = ((self.b1.length - 1) * 2**lam1 + 1,
                           (self.b2.length - 1) * 2**lam2 + 1)
        if self.grid_shape[0] * self.grid_shape[1] > _MAX_CELLS:
            raise ValueError(
                f"dyadic_order={dyadic_order} refines these paths to a PDE grid of "
                f"{self.grid_shape[0]} x {self.grid_shape[1]} points per pair, too "
                "many to compute; use a smaller dyadic order or shorter paths"
            )
        self.ragged = self.b1.ragged or self.b2.ragged
        self.caller = self.b1.caller
        self.backend = backend(self.caller)
        if self.kernel.clamp and not _clamping_reported:  # a clamping polynomial kernel
            self._report_clamping(gram)

    def symmetric(self):
        """A Gram of the paths with themselves, solvable on its upper triangle: equal
        dyadic orders and equal transformed paths."""
        return (self.orders[0] == self.orders[1]
                and self.backend.equal(self.b1.data, self.b2.data))

    def _host_paths(self):
        """The transformed paths as numpy arrays."""
        if self.caller.on_device:
            return tuple(b.data.cpu().numpy() for b in (self.b1, self.b2))
        return self.b1.data, self.b2.data

    def _report_clamping(self, gram):
        """pySigLib's one-time RuntimeWarning when the polynomial kernel clamps."""
        global _clamping_reported
        from sksig._core import _sig_kernel

        x, y = self._host_paths()
        gamma = self.kernel.p1  # the polynomial kernel's offset
        if _sig_kernel.polynomial_kernel_clamps(x, y, gram, gamma, self.n_threads):
            _clamping_reported = True
            warnings.warn(
                "PolynomialKernel clamps: <a, b> + gamma < 0 at some pairs of points, "
                "where max(<a, b> + gamma, 0) is used instead (pySigLib's rule for "
                "degrees other than 0-5; see PolynomialKernel). Shown once per "
                "process.",
                RuntimeWarning, stacklevel=_caller_level(),
            )

    def _path_batches(self, path1, path2, caller):
        """Both paths transformed and padded (PathBatch or DevicePathBatch)."""
        kw = dict(time_aug=self.time_aug, lead_lag=self.lead_lag,
                  end_time=self.end_time, n_threads=self.n_threads,
                  basepoint=self.basepoint, device=self.device)
        b1 = as_path_batch(path1, "path1", caller=caller, **kw)
        b2 = as_path_batch(path2, "path2", caller=b1.caller, **kw)
        return b1, b2

    def empty(self, shape):
        return self.backend.empty(shape, self.caller)

    def zeros(self, shape):
        return self.backend.zeros(shape, self.caller)

    def cpu_only(self, where, **options):
        """normalize and return_log are computed on the CPU only: a clear error for
        paths on a CUDA device (call only then)."""
        for name, value in options.items():
            if value:
                raise NotImplementedError(
                    f"{where}({name}=...) is not implemented for CUDA tensors; pass "
                    "CPU tensors"
                )

    @staticmethod
    def grid_shape_error(name, want, got):
        return ValueError(
            f"{name} must have the PDE grid shape {want} (batch shape + "
            f"((L1'-1)*2**lambda1 + 1, (L2'-1)*2**lambda2 + 1) for the transformed "
            f"paths), got {got}"
        )

    def no_ragged_grid(self, what):
        if self.ragged:
            raise ValueError(
                f"{what} needs paths of one length: ragged lists have grids of "
                "different shapes; pass arrays, or compute each pair separately"
            )

    def grid_array(self, value, name, batch_shape):
        """A grid-shaped argument (derivs or k_grid), shape-checked exactly."""
        array, _ = as_array(value, name, caller=self.caller)
        want = tuple(batch_shape) + self.grid_shape
        if array.shape != want:
            raise self.grid_shape_error(name, want, tuple(array.shape))
        return array.reshape(-1)


def _overflow_message(where):
    return (
        f"{where}: the signature kernel overflowed to inf/NaN. The kernel grows "
        "exponentially with the size of the path increments: rescale the paths (e.g. "
        "divide them by their typical range) or lower the dyadic order (coarse grids "
        "of large increments are also unstable); float32 overflows much sooner than "
        "float64"
    )


def _native(where, fn, *args):
    try:
        call(fn, *args)  # Ctrl-C stops a native core (a backend function calls it)
    except FloatingPointError:
        raise FloatingPointError(_overflow_message(where)) from None
    except MemoryError:
        # Name the arguments this function has (only the Gram backprop has a
        # max_batch that bounds its buffers).
        raise MemoryError(
            f"{where}: out of memory for the PDE work buffers; lower dyadic_order or "
            "pass fewer or shorter paths"
            + (", or a smaller max_batch" if "gram_backprop" in where else "")
        ) from None


def forward(s, where, gram, symmetric=False, grid=None):
    """The plain kernels of a validated setup by one native call, flat: pairs
    ``(n,)`` or a Gram ``(n1 * n2,)`` (``symmetric``: solved on ``i <= j`` and
    mirrored); the PDE grids go to ``grid`` when it is given."""
    out = s.empty(s.b1.n_paths * s.b2.n_paths if gram else s.b1.n_paths)
    _native(where, s.backend.sig_kernel_forward, s.b1.data, s.b2.data, gram, symmetric,
            s.orders, s.kernel, out, grid, s.n_threads)
    return out


def host_kernels(x, y, *, gram, dyadic_order, static_kernel, n_jobs):
    """Kernels of transformed, padded numpy paths ``x``, ``y`` (3-D) by one native call:
    pairs ``(n,)`` or the Gram ``(n1, n2)``, in their dtype. A Gram of equal paths
    (and equal orders) is solved on ``i <= j`` and mirrored, exactly as
    :func:`sksig.sig_kernel_gram` does. The layer under the blocked Gram and the
    normalisation, which therefore never call the public functions."""
    s = _Setup(x, y, dyadic_order, static_kernel, False, False, 1.0, n_jobs, gram=gram)
    if not gram:
        return forward(s, "sig_kernel", False)
    out = forward(s, "sig_kernel_gram", True, s.symmetric())
    return out.reshape(s.b1.n_paths, s.b2.n_paths)


def _check_finite(array, where):
    if not all_finite(array):
        raise FloatingPointError(_overflow_message(where))


def _check_output(normalize, return_log, return_grid):
    normalize = check_bool(normalize, "normalize")
    return_log = check_bool(return_log, "return_log")
    if return_grid and (normalize or return_log):
        raise ValueError("return_grid=True cannot be combined with normalize=True or "
                         "return_log=True (grids are those of the plain kernel)")
    return normalize, return_log


def _check_flags(left_deriv, right_deriv):
    left = check_bool(left_deriv, "left_deriv")
    right = check_bool(right_deriv, "right_deriv")
    if not (left or right):
        raise ValueError("at least one of left_deriv and right_deriv must be True")
    return left, right


def _derivs_array(s, derivs):
    if isinstance(derivs, numbers.Real) and not isinstance(derivs, (bool, np.bool_)):
        if not np.isfinite(derivs):
            raise ValueError(f"derivs must be finite, got {derivs}")
        # A plain number takes the paths' dtype and kind.
        derivs = s.caller.out(np.asarray(derivs, dtype=s.caller.dtype))
        if s.caller.on_device:
            derivs = _device_scalar(derivs, s.caller)
    return as_array(derivs, "derivs", caller=s.caller)[0]


def _device_scalar(array, caller):
    import torch

    return torch.from_numpy(array).to(caller.device)


def _pair_derivs(s, derivs, return_grid):
    """derivs of the pairwise backprops, flat, shape-checked."""
    batch = s.b1.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        return s.grid_array(derivs, "derivs", batch)
    array = _derivs_array(s, derivs)
    n = s.b1.n_paths
    shape = tuple(array.shape)
    ok = shape == tuple(batch) or shape == (n,) or (
        batch == () and _size(array) == 1 and array.ndim <= 2)
    if not ok:
        raise ValueError(
            f"derivs must have the kernels' batch shape {tuple(batch)}"
            + (" (or a flat vector of that size)" if len(batch) > 1 else "")
            + f", got {shape}"
        )
    return array.reshape(-1)


def _gram_derivs(s, derivs, return_grid):
    """derivs of the Gram backprops, flat, shape-checked."""
    shape = s.b1.batch_shape + s.b2.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        return s.grid_array(derivs, "derivs", shape)
    array = _derivs_array(s, derivs)
    if tuple(array.shape) != tuple(shape):
        raise ValueError(
            f"derivs must have the Gram's shape {tuple(shape)}, got "
            f"{tuple(array.shape)}"
        )
    return array.reshape(-1)


def _backprop_flags(left_deriv, right_deriv, return_grid):
    """The checked ``left_deriv``, ``right_deriv`` and ``return_grid`` of a backprop."""
    return (*_check_flags(left_deriv, right_deriv),
            check_bool(return_grid, "return_grid"))


def _path_grads(s, gx, gy, left, right):
    """Gradients on the transformed paths (flat or shaped) as gradients with respect
    to the inputs; None where not asked."""
    return (s.b1.grad_to_input(gx.reshape(s.b1.data.shape), s.n_threads)
            if left else None,
            s.b2.grad_to_input(gy.reshape(s.b2.data.shape), s.n_threads)
            if right else None)


def _size(array):
    return array.size if isinstance(array, np.ndarray) else array.numel()


def _k_grid(s, k_grid, batch_shape):
    if k_grid is None:
        return None
    s.no_ragged_grid("k_grid")
    return s.grid_array(k_grid, "k_grid", batch_shape)


def _check_normalize_backprop(normalize, k_grid, return_grid):
    normalize = check_bool(normalize, "normalize")
    if normalize and (k_grid is not None or return_grid):
        raise ValueError("normalize=True cannot be combined with k_grid or "
                         "return_grid=True (grids are those of the plain kernel)")
    return normalize


def _empty_grid(s):
    """The placeholder grid of a call that returns none."""
    return np.empty(0, s.caller.dtype)

"""The input layer used by every public function.

It accepts numpy arrays (any memory order, read-only, memmaps), torch tensors (CPU or
CUDA; torch is never imported here unless the caller passed a tensor), nested lists,
and ragged lists of 2-D paths. It validates, converts once to a C-contiguous float32 or
float64 numpy array for the native cores, and remembers how to give results back in the
caller's kind, dtype and device (:class:`Caller`).

A function with a CUDA kernel passes ``device=True``: then torch CUDA tensors (when
the CUDA cores are available; CPU tensors inside the CUDA emulation) are validated by
the same rules but stay on their device, as contiguous tensors (:func:`as_array`) or a
:class:`DevicePathBatch` (:func:`as_path_batch`), and ``caller.on_device`` tells the
function to call the CUDA backend. Every other function gets host copies and its
results go back to the tensor's device (:meth:`Caller.out`).

Ragged batches are packed exactly: a path padded with copies of its last point has the
same signature, log-signature, branched signature and signature kernel, because the
padding adds only zero increments. Transforms are applied to each path before padding,
so a time channel always runs over the path's own points.
"""

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np

from sksig._core import _finite

__all__ = [
    "Caller",
    "PathBatch",
    "as_array",
    "as_path_batch",
    "check_basepoint",
    "check_same_batch",
    "check_trailing_length",
    "scalar_term_length",
    "check_scale",
]


def _is_torch(x):
    # Check the type's module instead of importing torch: `import sksig` stays light.
    # The answer is remembered per type: this runs several times per call.
    cls = type(x)
    known = _TORCH_TYPES.get(cls)
    if known is None:
        known = cls.__module__.split(".")[0] == "torch" and hasattr(cls, "detach")
        _TORCH_TYPES[cls] = known
    return known


_TORCH_TYPES = {}


@dataclass(frozen=True)
class Caller:
    """How results go back to the caller: array kind, dtype and (torch) device."""

    kind: str  # "numpy" or "torch"
    dtype: np.dtype
    device: object = None  # a torch.device for torch callers
    on_device: bool = False  # arrays stay torch tensors on device (the CUDA backend)

    def out(self, array, checked=False):
        """Return a native result (numpy) as the caller's kind, dtype and device.

        Inputs are finite, so an inf or NaN here is an overflow: raise instead of
        returning it (a later NaN would otherwise poison everything downstream).
        ``checked``: a CPU core already checked its host result (it reports an
        overflow itself), so the scan is skipped. Results of the CUDA backend
        (``on_device``) are tensors already there, always checked here.
        """
        if self.on_device:
            if array.numel() and not bool(_torch().isfinite(array).all()):
                raise overflow_error(self.dtype.name)
            return array
        # np.asarray keeps 0-d results 0-d (np.ascontiguousarray would make them 1-d).
        array = np.asarray(array, dtype=self.dtype, order="C")
        if not checked and not all_finite(array):
            raise overflow_error(self.dtype.name)
        if self.kind == "numpy":
            return array
        tensor = _torch().from_numpy(array)
        if self.device is _torch_cpu() or self.device.type == "cpu":
            return tensor
        return tensor.to(self.device)

    def describe(self):
        where = f" on {self.device}" if self.kind == "torch" else ""
        return f"{self.kind} {self.dtype.name}{where}"


def overflow_error(dtype_name):
    """The error for a non-finite result of finite inputs (signature-type functions)."""
    return FloatingPointError(
        f"the result overflowed to inf/NaN in {dtype_name}: the inputs are too large "
        "(signature terms grow like |increment|**k / k!); rescale the paths (e.g. "
        "divide them by their typical range) or lower the degree"
        + (", or use float64" if dtype_name == "float32" else "")
    )


def nonfinite_error(name):
    """The error for an input argument ``name`` holding NaN or inf."""
    return ValueError(f"{name} contains NaN or inf values")


def all_finite(array):
    """Return True when the numpy ``array`` holds no NaN or inf."""
    native = _NATIVE_CHECKS.get(array.dtype)
    if native is not None and array.flags.c_contiguous:
        return native(array.reshape(-1))
    return bool(np.isfinite(array).all())


_NATIVE_CHECKS = {np.dtype(np.float64): _finite.all_finite_float64,
                  np.dtype(np.float32): _finite.all_finite_float32}


_DLPACK_CUDA_DEVICES = (2, 13)  # kDLCUDA, kDLCUDAManaged


def foreign_cuda_array(x):
    """True for a CUDA array that is neither numpy nor torch (CuPy, JAX, Numba...)."""
    if _is_torch(x) or isinstance(x, np.ndarray):
        return False
    if hasattr(x, "__dlpack_device__"):
        try:
            return int(x.__dlpack_device__()[0]) in _DLPACK_CUDA_DEVICES
        except Exception:  # a broken producer: not ours to diagnose here
            return False
    return hasattr(x, "__cuda_array_interface__")


def _torch_numpy(x, name):
    """``(array, device)`` for a torch tensor: a view when it can be one."""
    if not x.requires_grad:
        # The quickest way to view a CPU tensor (this runs for every array of every
        # call); it raises for another device, a lazy negation or a dtype numpy lacks.
        try:
            return x.numpy(), _torch_cpu()
        except (RuntimeError, TypeError):
            pass
    tensor = x.detach()
    device = tensor.device
    if device.type == "meta":
        raise TypeError(
            f"{name} is a meta tensor (a shape without data); pass a tensor with values"
        )
    if tensor.layout is not _torch().strided:
        raise TypeError(
            f"{name} must be a dense (strided) tensor, got layout {tensor.layout}; "
            "convert it with .to_dense()"
        )
    if device.type != "cpu":
        tensor = tensor.cpu()
    if tensor.dtype.is_complex:
        raise TypeError(f"{name} must be a real float32 or float64 tensor")
    try:
        return tensor.resolve_neg().numpy(), device
    except TypeError as exc:  # bfloat16 and other dtypes numpy does not know
        raise TypeError(
            f"{name} must be float32 or float64, got {tensor.dtype}"
        ) from exc


@functools.cache
def _torch():
    import torch

    return torch


@functools.cache
def _torch_cpu():
    return _torch().device("cpu")


def _numpy_from(x, name):
    """Convert one array-like to numpy without changing a float32/float64 dtype."""
    if isinstance(x, np.ndarray):
        return x, "numpy", None
    if _is_torch(x):
        array, device = _torch_numpy(x, name)
        return array, "torch", device
    if foreign_cuda_array(x):  # the GPU-aware functions convert these before this point
        raise TypeError(
            f"{name} is a CUDA array of {type(x).__module__.split('.')[0]}, which this "
            "function does not take; pass a numpy array or a torch tensor (e.g. "
            "torch.from_dlpack(x))"
        )
    if isinstance(x, (list, tuple, numbers.Number)) or hasattr(x, "__array__"):
        try:
            array = np.asarray(x)
        except ValueError as exc:
            raise ValueError(f"{name} is not a regular array: {exc}") from exc
        return array, "numpy", None
    raise TypeError(
        f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}"
    )


def _float_dtype(array, name):
    kind = array.dtype.kind
    if kind == "f" and array.dtype.itemsize in (4, 8):
        # Either byte order: non-native ('>f8' on little-endian) is converted.
        return np.dtype(f"f{array.dtype.itemsize}")
    if kind in "iu":
        return np.dtype(np.float64)
    raise TypeError(
        f"{name} must have dtype float32 or float64 (integers are converted to "
        f"float64), got {array.dtype}"
    )


def as_array(x, name, *, caller=None, min_ndim=0, check_finite=True, device=False):
    """Validate one array argument and return ``(array, caller)``.

    Parameters
    ----------
    x : array-like or torch.Tensor
        The argument.
    name : str
        Its name, used in error messages.
    caller : Caller, optional
        The kind/dtype/device already fixed by an earlier argument of the same call;
        ``x`` must agree with it.
    min_ndim : int, default=0
        Minimum number of dimensions.
    check_finite : bool, default=True
        Reject NaN and inf.
    device : bool, default=False
        The function has a CUDA kernel: a first argument that goes to the CUDA
        backend (:func:`goes_to_device`) fixes an ``on_device`` caller.

    Returns
    -------
    array : ndarray or torch.Tensor
        C-contiguous float32 or float64 copy or view of ``x`` (a contiguous tensor
        on the caller's device when ``caller.on_device``).
    caller : Caller
        ``caller`` if given, else the description of ``x``.
    """
    if caller is None:
        if device and _is_torch(x) and goes_to_device(x):
            caller = device_caller(x)
    if caller is not None and caller.on_device:
        return device_tensor(x, name, caller, min_ndim, check_finite), caller
    array, kind, device = _numpy_from(x, name)
    dtype = _float_dtype(array, name)
    if caller is None:
        caller = Caller(kind, dtype, device)
    else:
        if kind != caller.kind:
            raise TypeError(
                f"{name} is a {kind} array but the other inputs are {caller.kind}; "
                "pass all arrays of one call as numpy or all as torch"
            )
        if kind == "torch" and device is not caller.device and device != caller.device:
            raise ValueError(
                f"{name} is on {device} but the other inputs are on {caller.device}"
            )
        if array.dtype.kind == "f" and dtype != caller.dtype:
            raise TypeError(
                f"{name} has dtype {dtype} but the other inputs have {caller.dtype}; "
                "use one floating dtype for all arrays of one call"
            )
        dtype = caller.dtype
    if array.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {array.shape}"
        )
    # Not np.ascontiguousarray: it turns 0-d arrays into shape (1,).
    array = np.asarray(array, dtype=dtype, order="C")
    if check_finite and not all_finite(array):
        raise nonfinite_error(name)
    return array, caller


def contiguous(array):
    """A C-contiguous numpy array or torch tensor (no copy when it already is)."""
    return array.contiguous() if _is_torch(array) else np.ascontiguousarray(array)


def scalar_term_length(shape, name, length, scalar_term=None, *, next_length=None):
    """Decide whether an input with trailing axis ``shape[-1]`` carries a scalar term.

    Signature-shaped inputs may carry the constant level-0 term first. ``scalar_term``
    True or False demands exactly ``length + 1`` or ``length`` entries. ``None`` infers
    it from the length, which is ambiguous when ``length + 1`` is also the length
    without the scalar term of the next degree (``next_length``): an array of the
    wrong degree would otherwise be misread silently, so that case is refused. Any
    other length is an error, never silently shifted.

    Returns
    -------
    bool
        Whether the first entry is the scalar term.
    """
    n = shape[-1] if len(shape) else None
    if scalar_term is None:
        if n == length:
            return False
        if n == length + 1:
            if next_length == length + 1:
                raise ValueError(
                    f"{name} has trailing length {n}, which is ambiguous here: the "
                    f"{length} entries of this degree with the scalar term first, or "
                    "the entries of the next degree without it; pass scalar_term=True "
                    "or scalar_term=False"
                )
            return True
        raise ValueError(
            f"{name} must have trailing length {length} (or {length + 1} with the "
            f"scalar term first), got shape {tuple(shape)}"
        )
    want = length + int(scalar_term)
    if n != want:
        raise ValueError(
            f"{name} must have trailing length {want} "
            f"({'with' if scalar_term else 'without'} the scalar term, as "
            f"scalar_term={scalar_term}), got shape {tuple(shape)}"
        )
    return bool(scalar_term)


def check_trailing_length(shape, name, length, what=""):
    """Inputs with no scalar-term convention: exactly ``length`` trailing entries."""
    n = shape[-1] if len(shape) else None
    if n != length:
        raise ValueError(
            f"{name} must have trailing length {length}{what}, got shape "
            f"{tuple(shape)}"
        )


def check_same_batch(shape1, shape2, name1, name2):
    """Paired inputs must have identical batch shapes (no broadcasting)."""
    if tuple(shape1) != tuple(shape2):
        raise ValueError(
            f"{name1} and {name2} must have the same batch shape, got "
            f"{tuple(shape1)} and {tuple(shape2)}"
        )


class _Batch:
    """The sizes of a batch of paths ``data`` (n_paths, length, dim)."""

    @property
    def n_paths(self):
        return self.data.shape[0]

    @property
    def length(self):
        return self.data.shape[1]

    @property
    def dim(self):
        return self.data.shape[2]


@dataclass
class PathBatch(_Batch):
    """A batch of paths ready for a native core.

    Attributes
    ----------
    data : ndarray of shape (n_paths, length, dim)
        C-contiguous, transformed and (for ragged input) padded with last points.
    batch_shape : tuple
        Leading batch axes of the input (``(n_paths,)`` for a ragged list).
    raw_lengths : list of int or None
        Point counts of a ragged list before transformation; None for arrays.
    raw_length, raw_dim : int
        Length and dimension of the untransformed paths (``raw_length`` is the
        longest for ragged input).
    caller : Caller
        How to give results back.
    """

    data: np.ndarray
    batch_shape: tuple
    raw_lengths: list
    raw_length: int
    raw_dim: int
    time_aug: bool
    lead_lag: bool
    caller: Caller
    basepoint: bool = False  # a point was prepended to every path (not an input)
    scale: float = 1.0  # factor applied to the raw values before the transforms

    @property
    def ragged(self):
        return self.raw_lengths is not None

    def grad_to_input(self, grad, n_threads=1):
        """Pull a gradient on ``data`` back to the caller's input (caller's kind).

        Padded points are copies of the last point, so their gradients add up there;
        then the transform's adjoint is applied, the gradient of a prepended basepoint
        dropped (it is not an input) and the ``scale`` factor applied.
        """
        grad = np.ascontiguousarray(grad, dtype=self.data.dtype)
        first = int(self.basepoint)
        if not self.ragged:
            out = self._untransform(grad, self.raw_length + first, n_threads)
            out = out[:, first:] * self.scale if first or self.scale != 1.0 else out
            return self.caller.out(out.reshape(self.batch_shape + out.shape[1:]))
        grads = []
        for i, raw_len in enumerate(self.raw_lengths):
            n = transformed_length(raw_len + first, self.lead_lag)
            if n == 0:
                grads.append(self.caller.out(np.zeros((0, self.raw_dim), grad.dtype)))
                continue
            g = grad[i, :n].copy()
            g[n - 1] += grad[i, n:].sum(axis=0)
            out = self._untransform(g[None], raw_len + first, 1)
            grads.append(self.caller.out(out[0, first:] * self.scale))
        return grads

    def _untransform(self, grad, length, n_threads):
        """The transform adjoint: gradients on transformed points -> raw points."""
        from sksig._core import _transform_path

        if not (self.time_aug or self.lead_lag):
            return grad
        out = np.empty((grad.shape[0], length, self.raw_dim), grad.dtype)
        _transform_path.backward(np.ascontiguousarray(grad), out, self.time_aug,
                                 self.lead_lag, n_threads)
        return out


def transformed_length(length, lead_lag):
    """Number of points after the lead-lag transform (unchanged without it)."""
    return 2 * length - 1 if lead_lag else length


def transformed_dim(dim, time_aug, lead_lag):
    """Number of channels after lead-lag (doubles) and time augmentation (+1)."""
    return (2 * dim if lead_lag else dim) + (1 if time_aug else 0)


def check_time_channel(end_time, dtype_name, largest):
    """The time channel ends at ``end_time``: it must be finite in the paths' dtype."""
    if abs(end_time) > largest:
        raise ValueError(
            f"end_time={end_time:g} does not fit in {dtype_name} paths (largest value "
            f"{largest:g}); use float64 paths or a smaller end_time"
        )


def _transform(paths, time_aug, lead_lag, end_time, n_threads):
    from sksig._core import _transform_path

    if not (time_aug or lead_lag):
        return paths
    if time_aug:
        check_time_channel(end_time, paths.dtype.name, float(np.finfo(paths.dtype).max))
    n, length, dim = paths.shape
    shape = (n, transformed_length(length, lead_lag),
             transformed_dim(dim, time_aug, lead_lag))
    out = np.empty(shape, paths.dtype)
    _transform_path.forward(paths, out, time_aug, lead_lag, end_time, n_threads)
    return out


def _is_ragged_list(path):
    if not isinstance(path, (list, tuple)) or len(path) == 0:
        return False
    return all(
        _is_torch(p) or (isinstance(p, np.ndarray) and p.ndim == 2)
        or (isinstance(p, (list, tuple)) and np.ndim(p) == 2)
        for p in path
    )


def check_basepoint(basepoint):
    """Validate ``basepoint``: None/False (none), True (the origin) or a point.

    Returns None or a 1-D float64 numpy array (the origin as an empty array, whose
    dimension is taken from the paths).
    """
    if basepoint is None or basepoint is False or (
            isinstance(basepoint, np.bool_) and not basepoint):
        return None
    if basepoint is True or isinstance(basepoint, np.bool_):
        return np.zeros(0)
    point, _ = as_array(basepoint, "basepoint")
    if point.ndim != 1 or point.size == 0:
        raise ValueError(
            "basepoint must be None, True (the origin) or a point of shape (dim,), got "
            f"shape {point.shape}"
        )
    return point.astype(np.float64)


def check_scale(scale, name="scale"):
    """Return ``scale`` as a finite Python float > 0."""
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got "
                        f"{type(scale).__name__}")
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {scale}")
    return scale


def _prepend(paths, point, scale, name):
    """Paths (n, length, dim) with ``point`` prepended (None: none) and scaled."""
    if point is not None:
        dim = paths.shape[-1]
        if point.size == 0:
            point = np.zeros(dim)
        elif point.size != dim:
            raise ValueError(
                f"basepoint has {point.size} coordinates but the paths of {name} have "
                f"dim={dim}"
            )
        start = np.broadcast_to(point.astype(paths.dtype), paths[:, :1].shape)
        paths = np.concatenate([start, paths], axis=1)
    if scale != 1.0:
        paths = paths * paths.dtype.type(scale)
    return paths


def as_path_batch(path, name, *, caller=None, time_aug=False, lead_lag=False,
                  end_time=1.0, n_threads=1, min_length=1, basepoint=None, scale=1.0,
                  device=False):
    """Validate, transform and pack paths for a native core.

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor, or list of 2-D arrays
        The paths. A list of 2-D arrays (possibly of different lengths) is a ragged
        batch of shape ``(len(path),)``.
    name : str
        Argument name for error messages.
    caller : Caller, optional
        Kind/dtype/device fixed by an earlier argument of the same call.
    time_aug, lead_lag : bool
        Path transforms (see ``transform_path``), applied to each path before padding.
    end_time : float
        Final value of the time channel.
    n_threads : int
        Threads for the transform.
    min_length : int, default=1
        Minimum number of points per path (before a basepoint is prepended).
    basepoint : None, bool or array-like of shape (dim,), default=None
        A point prepended to every path (True: the origin), before ``scale``.
    scale : float, default=1.0
        Factor applied to the raw values (basepoint included) before the transforms.
    device : bool, default=False
        As in :func:`as_array`: paths going to the CUDA backend stay on their device.

    Returns
    -------
    PathBatch or DevicePathBatch
    """
    point = check_basepoint(basepoint)
    scale = check_scale(scale)
    first = point is not None
    if isinstance(path, (list, tuple)) and len(path) == 0:
        raise ValueError(
            f"{name} is an empty list; for an empty batch pass an array of shape "
            "(0, length, dim)"
        )
    if device and caller is None:
        head = path[0] if isinstance(path, (list, tuple)) else path
        if _is_torch(head) and goes_to_device(head):
            caller = device_caller(head)
    if caller is not None and caller.on_device:
        return DevicePathBatch(path, name, caller, time_aug, lead_lag, end_time,
                               min_length, point, scale)
    if _is_ragged_list(path):
        arrays = []
        for i, p in enumerate(path):
            array, caller = as_array(p, f"{name}[{i}]", caller=caller, min_ndim=2)
            if array.ndim != 2:
                raise ValueError(
                    f"{name}[{i}] must be a 2-D path (length, dim) in a list of paths, "
                    f"got shape {array.shape}"
                )
            arrays.append(array)
        dims = {a.shape[1] for a in arrays}
        if len(dims) != 1:
            raise ValueError(
                f"all paths in {name} must have the same dimension, got {sorted(dims)}"
            )
        raw_lengths = [a.shape[0] for a in arrays]
        raw_dim = dims.pop()
        _check_path_shape(arrays[int(np.argmin(raw_lengths))][None], name, min_length)
        transformed = [
            _transform(_prepend(a[None], point, scale, name), time_aug, lead_lag,
                       end_time, 1)[0]
            for a in arrays
        ]
        longest = max(t.shape[0] for t in transformed)
        data = np.empty((len(arrays), longest, transformed[0].shape[1]), caller.dtype)
        for i, t in enumerate(transformed):
            data[i, : t.shape[0]] = t
            # A path without points (allowed when min_length=0) pads with zeros.
            data[i, t.shape[0]:] = t[-1] if t.shape[0] else 0
        return PathBatch(data, (len(arrays),), raw_lengths, max(raw_lengths), raw_dim,
                         time_aug, lead_lag, caller, first, scale)
    array, caller = as_array(path, name, caller=caller, min_ndim=2)
    _check_path_shape(array, name, min_length)
    batch_shape = array.shape[:-2]
    # An explicit count: -1 is ambiguous for zero-point paths.
    flat = array.reshape((math.prod(batch_shape),) + array.shape[-2:])
    flat = _prepend(flat, point, scale, name)
    data = _transform(flat, time_aug, lead_lag, end_time, n_threads)
    return PathBatch(np.ascontiguousarray(data), batch_shape, None, array.shape[-2],
                     array.shape[-1], time_aug, lead_lag, caller, first, scale)


def _check_path_shape(array, name, min_length):
    length, dim = array.shape[-2:]
    if dim < 1:
        raise ValueError(
            f"{name} must have at least one channel (shape (..., length, dim) with "
            f"dim >= 1), got shape {tuple(array.shape)}"
        )
    if length < min_length:
        raise ValueError(
            f"{name} must have at least {min_length} point(s) per path, got shape "
            f"{tuple(array.shape)}"
        )


# ----------------------------------------------------------- tensors kept on device


def goes_to_device(x):
    """True when ``x`` is a torch tensor for the CUDA backend: on a CUDA device with
    the CUDA cores available, or any tensor inside the CUDA emulation."""
    if not _is_torch(x):
        return False
    if x.is_cuda:
        from sksig import cuda

        return cuda.is_available()
    return _emulating()


@functools.cache
def _runtime():
    from sksig.cuda import _runtime

    return _runtime


def _emulating():
    return _runtime().emulating()


def device_caller(x):
    """The on-device Caller fixed by the first tensor of a call."""
    dtype = np.dtype(np.float32) if x.dtype == _torch().float32 else np.dtype(
        np.float64)
    return Caller("torch", dtype, x.device, True)


def torch_dtype(caller):
    """The torch dtype of an on-device caller."""
    torch = _torch()
    return torch.float64 if caller.dtype == np.float64 else torch.float32


def device_tensor(x, name, caller, min_ndim=0, check_finite=True):
    """Validate one tensor of an on-device call (the rules of :func:`as_array`);
    return it contiguous on the caller's device."""
    if not _is_torch(x):
        raise TypeError(
            f"{name} is a {type(x).__name__} but the other inputs are torch tensors on "
            f"{caller.device}; pass all arrays of one call as torch tensors on one "
            "device"
        )
    if x.device != caller.device:
        raise ValueError(
            f"{name} is on {x.device} but the other inputs are on {caller.device}"
        )
    dtype = torch_dtype(caller)
    if x.dtype.is_complex or x.dtype == _torch().bool:
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.dtype.is_floating_point:
        if x.dtype not in (_torch().float32, _torch().float64):
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        if x.dtype != dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but the other inputs have {dtype}; "
                "use one floating dtype for all arrays of one call"
            )
    x = x.detach().to(dtype)
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape "
            f"{tuple(x.shape)}"
        )
    if check_finite and x.numel() and not bool(_torch().isfinite(x).all()):
        raise nonfinite_error(name)
    return x.contiguous()


def device_transform(x, time_aug, lead_lag, end_time):
    """transform_path of (n, L, d) tensors with torch operations (autograd gives
    their adjoint)."""
    torch = _torch()
    if lead_lag:
        length = x.shape[1]
        doubled = x.repeat_interleave(2, dim=1)
        # row 2k = (x[k], x[k]), row 2k+1 = (x[k], x[k+1]): lag first, lead second.
        x = torch.cat([doubled[:, : 2 * length - 1], doubled[:, 1:]], dim=2)
    if time_aug:
        largest = torch.finfo(x.dtype).max
        check_time_channel(end_time, str(x.dtype).replace("torch.", ""), largest)
        n, length = x.shape[:2]
        t = torch.arange(length, dtype=x.dtype, device=x.device)
        if length <= 1:
            t = torch.zeros_like(t)
        elif abs(end_time) > largest / (length - 1):
            t = end_time / (length - 1) * t  # end_time * t would overflow (as on CPU)
        else:
            t = end_time * t / (length - 1)
        x = torch.cat([x, t[None, :, None].expand(n, length, 1)], dim=2)
    return x


class DevicePathBatch(_Batch):
    """The :class:`PathBatch` of torch tensors kept on their device.

    ``data`` (n_paths, length, dim) is contiguous on the caller's device: the
    basepoint, ``scale``, the transforms and ragged padding are torch operations, and
    :meth:`grad_to_input` pulls a gradient back through them with torch autograd
    (their exact adjoint).
    """

    def __init__(self, path, name, caller, time_aug, lead_lag, end_time, min_length,
                 point, scale):
        self.caller = caller
        self.ragged = isinstance(path, (list, tuple))
        items = list(path) if self.ragged else [path]
        leaves = []
        for k, p in enumerate(items):
            label = f"{name}[{k}]" if self.ragged else name
            t = device_tensor(p, label, caller, min_ndim=2)
            if self.ragged and t.ndim != 2:
                raise ValueError(
                    f"{label} must be a 2-D path (length, dim) in a list of paths, got "
                    f"shape {tuple(t.shape)}"
                )
            _check_path_shape(t, name, min_length)
            leaves.append(t)
        dims = sorted({t.shape[-1] for t in leaves})
        if len(dims) != 1:
            raise ValueError(
                f"all paths in {name} must have the same dimension, got {dims}"
            )
        self.raw_dim = dims[0]
        self._leaves = leaves
        self._options = (time_aug, lead_lag, end_time, point, scale, name)
        self.batch_shape = (len(leaves),) if self.ragged else tuple(
            leaves[0].shape[:-2])
        self.data = self._graph(leaves).detach().contiguous()

    def _graph(self, leaves):
        time_aug, lead_lag, end_time, point, scale, name = self._options
        torch = _torch()

        def prepared(t):  # (n, L, d): basepoint, scale, transforms
            if point is not None:
                if point.size not in (0, t.shape[-1]):
                    raise ValueError(
                        f"basepoint has {point.size} coordinates but the paths of "
                        f"{name} have dim={t.shape[-1]}"
                    )
                start = torch.zeros(t[:, :1].shape, dtype=t.dtype, device=t.device)
                if point.size:
                    start = start + torch.from_numpy(point).to(t.device, t.dtype)
                t = torch.cat([start, t], dim=1)
            if scale != 1.0:
                t = t * scale
            return device_transform(t, time_aug, lead_lag, end_time)

        if not self.ragged:
            t = leaves[0]
            return prepared(t.reshape((-1,) + tuple(t.shape[-2:])))
        paths = [prepared(t[None])[0] for t in leaves]
        longest = max(p.shape[0] for p in paths)
        return torch.stack(
            [torch.cat([p, p[-1:].expand(longest - p.shape[0], -1)]) for p in paths]
        )

    def grad_to_input(self, grad, n_threads=1):
        """Pull a gradient on ``data`` back to the caller's tensor(s)."""
        torch = _torch()
        leaves = [t.detach().requires_grad_(True) for t in self._leaves]
        with torch.enable_grad():
            graph = self._graph(leaves)
        grads = torch.autograd.grad(graph, leaves, grad.reshape(self.data.shape),
                                    allow_unused=True)
        grads = [torch.zeros_like(t) if g is None else g
                 for g, t in zip(grads, leaves, strict=True)]
        return grads if self.ragged else grads[0]

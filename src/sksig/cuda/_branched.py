"""Branched signatures and branched log-signatures of torch CUDA tensors, on their GPU.

:mod:`sksig._branched` sends a call here when an array argument is a CUDA tensor and the
CUDA cores are available; arguments, checks and results are those of the CPU functions,
but nothing leaves the device: path transforms and ragged padding are torch operations
(:class:`sksig.cuda._device_arrays.Paths`), the Chen products, the log and its adjoint
run in branched.cu on the caller's current stream. ``n_jobs`` is validated and ignored.

The coproduct tables come from the CPU builders (:func:`sksig._tree_tables.tables`); the
gather tables the kernels need (terms by right and by left factor, forest products by
number of trees and their adjoint, level masks) are derived here once per (dimension,
degree, planar) and uploaded once per (device, dtype), then kept for the process.
"""

import threading

import numpy as np
import torch

from sksig import _branched as _cpu
from sksig._array import check_same_batch, scalar_term_length, transformed_dim
from sksig._tree_tables import native_tables
from sksig._trees import branched_sig_length
from sksig._validation import resolve_n_jobs
from sksig.cuda._device_arrays import (
    Paths,
    Reference,
    finite_result,
    launch,
    native,
    pointer,
    reference,
    tensor,
)

__all__ = [
    "branched_log_sig",
    "branched_sig",
    "branched_sig_backprop",
    "branched_sig_to_log_sig",
    "branched_sig_to_log_sig_backprop",
]

_LOCK = threading.Lock()
_HOST = {}  # (dim, degree, planar[, part]) -> dict of numpy arrays and counts
_DEVICE = {}  # (device, dtype, key) -> (dict for the launchers, tensors kept alive)


def _csr(keys, size):
    """(ptr of length size + 1, order) grouping the positions of keys (stable)."""
    order = np.argsort(keys, kind="stable").astype(np.int32)
    counts = np.bincount(np.asarray(keys, np.int64), minlength=size)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return ptr, order


def _build_gathers(tb):
    """The tables of branched.cuh for one BranchedTables (host arrays)."""
    nat = tb.native()
    m = tb.n + 1
    first, rest = nat["forest_first"], nat["forest_rest"]
    n_forest = first.shape[0]
    ext = m + n_forest
    # Number of trees of each extended entry (trees 1, products L >= 2; a product's rest
    # is a tree or an earlier product).
    trees_of = np.ones(ext, np.int64)
    trees_of[0] = 0
    trees_of[m:] = 0  # unknown yet
    todo = np.arange(n_forest)
    while todo.size:  # one round per number of trees (at most degree)
        known = trees_of[rest[todo]] > 0
        trees_of[m + todo[known]] = 1 + trees_of[rest[todo[known]]]
        todo = todo[~known]
    forest_trees = trees_of[m:]
    forest_levels = int(forest_trees.max()) if n_forest else 1
    order = np.argsort(forest_trees, kind="stable").astype(np.int32)
    fl_ptr = np.searchsorted(forest_trees[order], np.arange(forest_levels + 2)).astype(
        np.int32
    )
    term_ptr = nat["term_ptr"]
    right, left = nat["term_right"], nat["term_left"]
    term_elem = np.repeat(np.arange(1, m, dtype=np.int32), np.diff(term_ptr))
    tr_ptr, tr_term = _csr(right, m)
    tl_ptr, tl_term = _csr(left, ext)
    # Adjoint of x[m + j] = x[first[j]] * x[rest[j]]: target first gets g[m + j] *
    # x[rest], target rest gets g[m + j] * x[first]; per target in descending j.
    src = np.arange(m, ext, dtype=np.int32)
    target = np.concatenate([first, rest]).astype(np.int64)
    fb_src = np.concatenate([src, src])
    fb_other = np.concatenate([rest, first]).astype(np.int32)
    perm = np.lexsort((-fb_src.astype(np.int64), target))
    fb_ptr = np.concatenate(
        [[0], np.cumsum(np.bincount(target, minlength=ext))]
    ).astype(np.int32)
    targets = np.flatnonzero(np.diff(fb_ptr))
    t_order = np.argsort(trees_of[targets], kind="stable")
    ft_idx = targets[t_order].astype(np.int32)
    ft_ptr = np.searchsorted(
        trees_of[targets][t_order], np.arange(forest_levels + 1)
    ).astype(np.int32)
    # Adjoint of the segment values: children by parent and elements by label, each
    # group in descending element order (that of the CPU's scatter).
    desc = np.arange(m - 1, 0, -1, dtype=np.int32)
    sc_ptr, by_parent = _csr(nat["seg_parent"][desc], m)
    sl_ptr, by_label = _csr(nat["seg_label"][desc], tb.d)
    sc_idx, sl_idx = desc[by_parent], desc[by_label]
    ints = {
        "term_ptr": term_ptr,
        "term_right": right,
        "term_left": left,
        "term_elem": term_elem,
        "seg_parent": nat["seg_parent"],
        "seg_label": nat["seg_label"],
        "order_start": nat["order_start"],
        "forest_first": first,
        "forest_rest": rest,
        "fl_ptr": fl_ptr,
        "fl_idx": order,
        "tr_ptr": tr_ptr,
        "tr_term": tr_term,
        "tl_ptr": tl_ptr,
        "tl_term": tl_term,
        "fb_ptr": fb_ptr,
        "fb_src": fb_src[perm],
        "fb_other": fb_other[perm],
        "ft_ptr": ft_ptr,
        "ft_idx": ft_idx,
        "sc_ptr": sc_ptr,
        "sc_idx": sc_idx,
        "sl_ptr": sl_ptr,
        "sl_idx": sl_idx,
    }
    ints = {k: np.ascontiguousarray(v, np.int32) for k, v in ints.items()}
    counts = {
        "n": tb.n,
        "n_forest": n_forest,
        "degree": tb.degree,
        "forest_levels": forest_levels,
    }
    floats = {
        "term_coef": nat["term_coef_float64"],
        "seg_ratio": nat["seg_ratio_float64"],
    }
    return ints, floats, counts


def _build_levels(tb, lyndon_only):
    lv = tb.levels(lyndon_only)
    ptr, idx = lv["level_ptr"], lv["level_idx"]
    mask = np.zeros((tb.degree + 1, tb.n + 1), np.uint8)
    for k in range(2, tb.degree + 1):
        mask[k, idx[ptr[k]: ptr[k + 1]]] = 1
    ints = {"level_ptr": ptr, "level_idx": idx, "mask": mask.reshape(-1)}
    return ints, {}, {}


def _build_lyndon(tb):
    ly = tb.lyndon()
    ints = {
        "pos": np.ascontiguousarray(ly["positions"], np.int64),
        "tri_ptr": np.ascontiguousarray(ly["tri_ptr"], np.int64),
        "tri_idx": np.ascontiguousarray(ly["tri_idx"], np.int64),
        "tri_val": np.ascontiguousarray(ly["tri_val"], np.float64),
    }
    ints["solve_rows"] = np.flatnonzero(np.diff(ints["tri_ptr"])).astype(np.int64)
    counts = {
        "n_lyndon": int(ly["positions"].shape[0]),
        "n_solve": int(ints["solve_rows"].shape[0]),
    }
    return ints, {}, counts


_BUILDERS = {
    "gathers": _build_gathers,
    "levels_full": lambda tb: _build_levels(tb, False),
    "levels_lyndon": lambda tb: _build_levels(tb, True),
    "lyndon": _build_lyndon,
}


def _device_tables(tb, part, ref):
    """Launcher dict (pointers and counts) of one part of the tables on ref's device."""
    key = (tb.d, tb.degree, tb.planar, part)
    dkey = (str(ref.device), ref.dtype, key)
    with _LOCK:
        hit = _DEVICE.get(dkey)
        if hit is not None:
            return hit[0]
        host = _HOST.get(key)
        if host is None:
            host = _HOST[key] = _BUILDERS[part](tb)
        ints, floats, counts = host
        keep = {k: torch.from_numpy(v).to(ref.device) for k, v in ints.items()}
        for k, v in floats.items():
            keep[k] = torch.from_numpy(v).to(ref.device, ref.dtype)
        if ref.device.type == "cuda":
            # Once per device and table: the copies must have landed before kernels on
            # any stream read them.
            torch.cuda.synchronize(ref.device)
        out = dict(counts)
        out.update({k: pointer(t) for k, t in keep.items()})
        _DEVICE[dkey] = (out, keep)
        return out


def prepare(tb, parts):
    """Upload the table parts of tb to the current CUDA device, for both dtypes."""
    device = torch.device("cuda", torch.cuda.current_device())
    for dtype in (torch.float64, torch.float32):
        for part in parts:
            _device_tables(tb, part, Reference(device, dtype))


def _no_basepoint(where, basepoint):
    if basepoint is not None:
        raise NotImplementedError(
            f"{where}(basepoint=...) is not implemented for CUDA tensors; prepend the "
            "point with torch.cat, or pass CPU tensors"
        )


def _zero_point_paths(path):
    if isinstance(path, (list, tuple)):
        return False
    shape = getattr(path, "shape", None)
    return shape is not None and len(shape) >= 2 and shape[-2] == 0


def _branched_sig(path, degree, time_aug, lead_lag, end_time, planar, scalar_term):
    """(signatures (n_paths, n + scalar_term), batch_shape, ref, tables), on device."""
    ref = reference(path)
    if _zero_point_paths(path):
        t = tensor(path, "path", ref, min_ndim=2)
        if t.shape[-1] < 1:
            raise ValueError(
                f"path must have at least one channel, got shape {tuple(t.shape)}"
            )
        tb = native_tables(transformed_dim(t.shape[-1], time_aug, lead_lag), degree,
                           planar)
        n_paths = int(np.prod(t.shape[:-2], dtype=np.int64))
        out = ref.zeros((n_paths, tb.n + scalar_term))
        out[:, :scalar_term] = 1
        return out, tuple(t.shape[:-2]), ref, tb
    paths = Paths(path, "path", ref, time_aug, lead_lag, end_time, False)
    data = paths.data
    tb = native_tables(data.shape[2], degree, planar)
    out = ref.empty((paths.n_paths, tb.n + scalar_term))
    if tb.n == 0:
        out.fill_(1)
    elif paths.n_paths:
        dev = _device_tables(tb, "gathers", ref)
        with launch(ref) as (device, stream):
            native().branched_sig(
                data.dtype == torch.float64, pointer(data), pointer(out), paths.n_paths,
                data.shape[1], data.shape[2], dev, scalar_term, device, stream,
            )
    return out, paths.batch_shape, ref, tb


def branched_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                 planar=False, scalar_term=False, correction=None, basepoint=None,
                 n_jobs=1):
    """:func:`sksig.branched_sig` on the GPU (same arguments and results)."""
    _no_basepoint("branched_sig", basepoint)
    degree, time_aug, lead_lag, end_time, planar, scalar_term, _ = _cpu._path_args(
        degree, time_aug, lead_lag, end_time, planar, scalar_term, correction, n_jobs)
    out, batch_shape, ref, _ = _branched_sig(
        path, degree, time_aug, lead_lag, end_time, planar, scalar_term
    )
    finite_result(out)
    return out.reshape(tuple(batch_shape) + (out.shape[1],))


def _cotangent(value, name, paths, n, scalar_term, ref, next_length=None):
    """(flat (n_paths, n + has_term), has_term): sksig._log_sig._cotangent on device."""
    t = tensor(value, name, ref, min_ndim=1)
    if tuple(t.shape[:-1]) != tuple(paths.batch_shape):
        raise ValueError(f"{name} must have the paths' batch shape "
                         f"{tuple(paths.batch_shape)} before its last axis, got shape "
                         f"{tuple(t.shape)}")
    has_term = scalar_term_length(tuple(t.shape), name, n, scalar_term,
                                  next_length=next_length)
    return t.reshape((paths.n_paths, n + has_term)).contiguous(), has_term


def branched_sig_backprop(path, bsig, bsig_derivs, degree, *, time_aug=False,
                          lead_lag=False, end_time=1.0, planar=False, correction=None,
                          basepoint=None, n_jobs=1):
    """:func:`sksig.branched_sig_backprop` on the GPU (same arguments and results)."""
    _no_basepoint("branched_sig_backprop", basepoint)
    degree, time_aug, lead_lag, end_time, planar, _, _ = _cpu._path_args(
        degree, time_aug, lead_lag, end_time, planar, False, correction, n_jobs)
    ref = reference(path, bsig, bsig_derivs)
    if _zero_point_paths(path):  # no segment: no gradient
        return torch.zeros_like(tensor(path, "path", ref, min_ndim=2))
    paths = Paths(path, "path", ref, time_aug, lead_lag, end_time, True)
    data = paths.data
    dim = data.shape[2]
    tb = native_tables(dim, degree, planar)
    next_n = branched_sig_length(dim, degree + 1, planar=planar)
    flat, scalar = _cotangent(bsig, "bsig", paths, tb.n, None, ref, next_n)
    derivs, _ = _cotangent(bsig_derivs, "bsig_derivs", paths, tb.n, scalar, ref)
    grad = torch.zeros_like(data)
    if paths.n_paths and tb.n:
        dev = _device_tables(tb, "gathers", ref)
        with launch(ref) as (device, stream):
            native().branched_sig_backprop(
                data.dtype == torch.float64, pointer(data), pointer(flat),
                pointer(derivs), pointer(grad), paths.n_paths, data.shape[1], dim, dev,
                scalar, device, stream,
            )
    finite_result(grad)
    return paths.grad_to_input(grad)


def _bsig_input(bsig, tb, scalar_term, ref):
    """(flat (batch, n + had_scalar), had_scalar, batch_shape); rules of the CPU."""
    x = tensor(bsig, "bsig", ref, min_ndim=1)
    had_scalar = _cpu.bsig_has_scalar(tuple(x.shape), tb, scalar_term)
    return x.reshape((-1, tb.n + had_scalar)), had_scalar, tuple(x.shape[:-1])


def _log(flat, had_scalar, tb, method, scalar_out, ref):
    """Branched log of (batch, n + had_scalar) values in the layout of ``method``."""
    batch = flat.shape[0]
    lyn = None
    if method == 0:
        out = ref.empty((batch, tb.n + scalar_out))
    else:
        lyn = _device_tables(tb, "lyndon", ref)
        out = ref.empty((batch, lyn["n_lyndon"]))
    if batch and out.shape[1]:
        dev = _device_tables(tb, "gathers", ref)
        levels = _device_tables(tb, "levels_lyndon" if method else "levels_full", ref)
        with launch(ref) as (device, stream):
            native().branched_log(
                flat.dtype == torch.float64, pointer(flat), pointer(out), batch, dev,
                levels, had_scalar, bool(scalar_out and method == 0), lyn, method == 2,
                device, stream,
            )
    finite_result(out)
    return out


def branched_sig_to_log_sig(bsig, dimension, degree, *, time_aug=False, lead_lag=False,
                            planar=False, method=None, scalar_term=None, n_jobs=1):
    """:func:`sksig.branched_sig_to_log_sig` on the GPU (same arguments and results)."""
    dim, degree, planar, method = _cpu._log_args(dimension, degree, time_aug, lead_lag,
                                                 planar, method)
    resolve_n_jobs(n_jobs)
    tb = native_tables(dim, degree, planar)
    ref = reference(bsig)
    flat, had_scalar, batch_shape = _bsig_input(bsig, tb, scalar_term, ref)
    out = _log(flat, had_scalar, tb, method, had_scalar, ref)
    return out.reshape(batch_shape + (out.shape[1],))


def branched_log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                     planar=False, scalar_term=False, method=None, correction=None,
                     basepoint=None, n_jobs=1):
    """:func:`sksig.branched_log_sig` on the GPU (same arguments and results)."""
    _no_basepoint("branched_log_sig", basepoint)
    degree, time_aug, lead_lag, end_time, planar, scalar_term, _ = _cpu._path_args(
        degree, time_aug, lead_lag, end_time, planar, scalar_term, correction, n_jobs,
        min_degree=1)
    method = _cpu._check_method(method, planar)
    bsig, batch_shape, ref, tb = _branched_sig(
        path, degree, time_aug, lead_lag, end_time, planar, False
    )
    finite_result(bsig)
    out = _log(bsig, False, tb, method, scalar_term, ref)
    return out.reshape(tuple(batch_shape) + (out.shape[1],))


def branched_sig_to_log_sig_backprop(bsig, blogsig_derivs, dimension, degree, *,
                                     time_aug=False, lead_lag=False, planar=False,
                                     method=None, scalar_term=None, n_jobs=1):
    """:func:`sksig.branched_sig_to_log_sig_backprop` on the GPU (same arguments and
    results)."""
    dim, degree, planar, method = _cpu._log_args(dimension, degree, time_aug, lead_lag,
                                                 planar, method)
    resolve_n_jobs(n_jobs)
    tb = native_tables(dim, degree, planar)
    ref = reference(bsig, blogsig_derivs)
    flat, had_scalar, batch_shape = _bsig_input(bsig, tb, scalar_term, ref)
    derivs = tensor(blogsig_derivs, "blogsig_derivs", ref, min_ndim=1)
    check_same_batch(batch_shape, derivs.shape[:-1], "bsig", "blogsig_derivs")
    scalar_grad = _cpu._check_log_derivs_length(tb, method, tuple(derivs.shape),
                                                had_scalar)
    length = derivs.shape[-1]
    lyn = _device_tables(tb, "lyndon", ref) if method else None
    grad = torch.empty_like(flat)
    batch = flat.shape[0]
    if batch:
        g = derivs.reshape((-1, length))
        dev = _device_tables(tb, "gathers", ref)
        levels = _device_tables(tb, "levels_lyndon" if method else "levels_full", ref)
        with launch(ref) as (device, stream):
            native().branched_log_backprop(
                flat.dtype == torch.float64, pointer(flat), pointer(g), pointer(grad),
                batch, dev, levels, had_scalar, scalar_grad, lyn, method == 2, device,
                stream,
            )
    finite_result(grad)
    return grad.reshape(batch_shape + (grad.shape[1],))

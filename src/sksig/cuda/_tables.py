"""Tables of the CUDA cores, built once per process and uploaded once per device.

The log-signature join uses the CPU's Lyndon tables
(:func:`sksig._lyndon.lyndon_tables`) uploaded by the launcher module (a handle per
device). The branched kernels use gather tables derived here from the CPU's
coproduct tables (:func:`sksig._tree_tables.native_tables`): terms by right and by
left factor, forest products by number of trees and their adjoint, level masks; built
once per
(dimension, degree, planar), uploaded once per (device, dtype), then kept for the
process.
"""

import threading

import numpy as np
import torch

from sksig._lyndon import lyndon_tables
from sksig._memo import build_once
from sksig.cuda._runtime import native, pointer

__all__ = ["branched_tables", "log_sig_tables", "prepare_branched"]

_LOCK = threading.Lock()
_HANDLES = {}  # (launcher module, device index, dim, degree) -> log_sig table handle
_HOST = {}  # (dim, degree, planar[, part]) -> dict of numpy arrays and counts
_DEVICE = {}  # (device, dtype, key, launcher module) -> table object (keeps tensors)


def log_sig_tables(dim, degree, device):
    """Handle of the join's tables of (dim, degree) on device (an index) for the
    launcher module in use."""
    module = native()
    # Made from the host arrays of the CPU cores (themselves built once per process).
    return build_once(_HANDLES, _LOCK, (module.__name__, device, dim, degree),
                      lambda: module.log_sig_tables(dim, degree,
                                                    lyndon_tables(dim, degree), device))


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


# The table object of each part: a typed struct of the launcher module (counts and
# device pointers), holding the tensors it points into.
_CLASSES = {"gathers": "BranchedTables", "levels_full": "BranchedLevels",
            "levels_lyndon": "BranchedLevels", "lyndon": "BranchedLyndon"}


def branched_tables(tb, part, device, dtype):
    """The table object of one part of the tables of tb on a device, for the launcher
    module in use (uploaded on first use)."""
    module = native()
    key = (tb.d, tb.degree, tb.planar, part)
    dkey = (str(device), dtype, key, module.__name__)
    with _LOCK:
        hit = _DEVICE.get(dkey)
        if hit is not None:
            return hit
        host = _HOST.get(key)
        if host is None:
            host = _HOST[key] = _BUILDERS[part](tb)
        ints, floats, counts = host
        keep = {k: torch.from_numpy(v).to(device) for k, v in ints.items()}
        for k, v in floats.items():
            keep[k] = torch.from_numpy(v).to(device, dtype)
        if device.type == "cuda":
            # Once per device and table: the copies must have landed before kernels on
            # any stream read them.
            torch.cuda.synchronize(device)
        pointers = {k: pointer(t) for k, t in keep.items()}
        tables = getattr(module, _CLASSES[part])(dict(counts), pointers, keep)
        _DEVICE[dkey] = tables
        return tables


def prepare_branched(tb, parts):
    """Upload the table parts of tb to the current CUDA device, for both dtypes."""
    device = torch.device("cuda", torch.cuda.current_device())
    for dtype in (torch.float64, torch.float32):
        for part in parts:
            branched_tables(tb, part, device, dtype)

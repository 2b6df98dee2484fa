"""Signatures with a fixed correction per segment (``correction=`` of :func:`sksig.sig`
and :func:`sksig.sig_backprop`): each segment contributes exp(dx + c), c holding levels
2 to m; validated here, computed by the native cores of the signature algebra."""

import numpy as np

from sksig._array import as_array
from sksig._core import _backend as _cpu


def correction_rows(correction, batch, degree, lead_lag):
    """Validate ``correction`` for the paths of ``batch`` (a PathBatch).

    Returns None for no correction (None or an empty array), else a C-contiguous array
    of shape (1 or n_paths, 1 or n_segments, width) holding levels 2..degree of each
    segment's correction in the transformed dimension (``width = sum_{k=2..degree}
    dim'^k``; the time channel of ``time_aug`` gets zeros, levels above the highest
    supplied are zero).
    """
    if correction is None:
        return None
    array, _ = as_array(correction, "correction", caller=batch.caller, min_ndim=1)
    if array.size == 0:
        return None
    if lead_lag:
        raise ValueError("correction cannot be combined with lead_lag=True")
    if batch.basepoint:
        raise ValueError("correction cannot be combined with a basepoint (the "
                         "prepended segment would have no correction row)")
    if batch.ragged:
        raise ValueError("correction needs an array of paths of one length, not a list")
    d, n_seg = batch.raw_dim, batch.raw_length - 1
    widths = {}
    total = 0
    for m in range(2, max(degree, 1) + 1):
        total += d**m
        widths[total] = m
    shapes = ["(C,)", f"({n_seg}, C)", f"{batch.batch_shape + (n_seg,)} + (C,)"]
    lead = array.shape[:-1]
    if lead not in ((), (n_seg,), batch.batch_shape + (n_seg,)):
        raise ValueError(f"correction must have shape {', '.join(shapes)}, got "
                         f"{array.shape}")
    width = array.shape[-1]
    if width not in widths:
        raise ValueError(
            f"correction has {width} entries per row; expected d^2 + ... + d^m for "
            f"dimension d={d} and 2 <= m <= degree={degree}: one of {sorted(widths)}")
    m = widths[width]
    dim = batch.dim
    if not lead:
        rows = array.reshape(1, 1, width)
    elif lead == (n_seg,):
        rows = array.reshape(1, n_seg, width)
    else:
        rows = array.reshape(batch.n_paths, n_seg, width)
    out_width = sum(dim**k for k in range(2, degree + 1))
    out = np.zeros(rows.shape[:2] + (out_width,), rows.dtype)
    start_in = start_out = 0
    for k in range(2, degree + 1):
        if k <= m:
            # Word (i1..ik) over d letters sits at the same tuple over dim letters.
            idx = np.zeros(d**k, np.int64)
            for digits in np.ndindex((d,) * k):
                flat_in = np.ravel_multi_index(digits, (d,) * k)
                idx[flat_in] = np.ravel_multi_index(digits, (dim,) * k)
            out[..., start_out + idx] = rows[..., start_in:start_in + d**k]
            start_in += d**k
        start_out += dim**k
    return np.ascontiguousarray(out)


def corrected_sig(batch, rows, out, degree, scalar_term, n_threads):
    """Signatures of the paths with the corrected segment factors, into ``out``."""
    _cpu.sig_corrected(batch.data, rows, out, degree, scalar_term, n_threads)


def corrected_sig_backprop(batch, rows, sig, derivs, grad, degree, has_term, n_threads):
    _cpu.sig_corrected_backprop(batch.data, rows, sig, derivs, grad, degree, has_term,
                                n_threads)

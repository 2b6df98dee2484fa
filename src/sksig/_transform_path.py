"""Path transforms: time augmentation and lead-lag."""

import numpy as np

from sksig._array import (
    PathBatch,
    as_array,
    as_path_batch,
    check_basepoint,
    transformed_length,
)
from sksig._docs import fill_doc
from sksig._validation import check_bool, check_end_time, resolve_n_jobs

__all__ = ["transform_path", "transform_path_backprop"]


@fill_doc
def transform_path(path, *, time_aug=False, lead_lag=False, end_time=1.0,
                   basepoint=None, n_jobs=1):
    """Apply lead-lag and/or time augmentation to paths.

    Lead-lag turns ``L`` points in ``R^d`` into ``2L - 1`` points in ``R^{2d}``: row
    ``2k`` is ``(x[k], x[k])`` and row ``2k + 1`` is ``(x[k], x[k + 1])`` (lag block
    first, lead block second). Time augmentation then appends a last channel running
    linearly from 0 to ``end_time`` over the points (0 for a one-point path).

    Parameters
    ----------
    {paths}
    time_aug : bool, default=False
        Append the time channel.
    lead_lag : bool, default=False
        Apply the lead-lag transform (before time augmentation).
    end_time : float, default=1.0
        Value of the time channel at the last point.
    {basepoint_n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., length', dim')
        ``length' = 2 * length - 1`` with lead-lag, else ``length`` (plus one point
        before the transforms with a ``basepoint``);
        ``dim' = (2 * dim if lead_lag else dim) + time_aug``. A list for ragged input.
        With both flags off and no basepoint, the input is returned unchanged.

    Raises
    ------
    TypeError
        If ``path`` is not a float array or a flag is not a bool.
    ValueError
        If ``path`` has fewer than 2 dimensions, no points, no channels, or NaN/inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.transform_path(np.array([[0.0], [1.0]]), time_aug=True, lead_lag=True)
    array([[0. , 0. , 0. ],
           [0. , 1. , 0.5],
           [1. , 1. , 1. ]])
    """
    time_aug = check_bool(time_aug, "time_aug")
    lead_lag = check_bool(lead_lag, "lead_lag")
    end_time = check_end_time(end_time)
    n_threads = resolve_n_jobs(n_jobs)
    batch = as_path_batch(path, "path", time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads, basepoint=basepoint)
    if not (time_aug or lead_lag or batch.basepoint):
        return path
    if batch.ragged:
        return [
            batch.caller.out(
                batch.data[i, : transformed_length(n + batch.basepoint, lead_lag)])
            for i, n in enumerate(batch.raw_lengths)
        ]
    shape = batch.batch_shape + batch.data.shape[1:]
    return batch.caller.out(batch.data.reshape(shape))


def transform_path_backprop(derivs, *, time_aug=False, lead_lag=False, end_time=1.0,
                            basepoint=None, n_jobs=1):
    """Backpropagate gradients through :func:`transform_path`.

    Parameters
    ----------
    derivs : array-like of shape (..., length', dim'), torch.Tensor or list
        Gradient of a scalar function with respect to the transformed paths.
    time_aug, lead_lag : bool, default=False
        The flags that were passed to :func:`transform_path`.
    end_time : float, default=1.0
        Accepted for symmetry with :func:`transform_path`; it does not affect the result
        (the time channel does not depend on the path).
    basepoint : None, True or array-like, default=None
        The ``basepoint`` passed to :func:`transform_path`: the gradient of the
        prepended point is dropped (it is not an input).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., length, dim)
        Gradient with respect to the original paths (a list for ragged input).

    Raises
    ------
    ValueError
        If the shape of ``derivs`` is not one that :func:`transform_path` produces
        with these flags (an even length or a channel count that does not fit).

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.transform_path_backprop(np.ones((3, 3)), time_aug=True, lead_lag=True)
    array([[3.],
           [3.]])
    """
    time_aug = check_bool(time_aug, "time_aug")
    lead_lag = check_bool(lead_lag, "lead_lag")
    check_end_time(end_time)
    first = int(check_basepoint(basepoint) is not None)
    n_threads = resolve_n_jobs(n_jobs)
    if isinstance(derivs, (list, tuple)) and derivs and all(
        np.ndim(d) == 2 for d in derivs
    ):
        return [
            transform_path_backprop(d, time_aug=time_aug, lead_lag=lead_lag,
                                    basepoint=basepoint, n_jobs=n_threads)
            for d in derivs
        ]
    array, caller = as_array(derivs, "derivs", min_ndim=2)
    length_t, dim_t = array.shape[-2:]
    dim = dim_t - (1 if time_aug else 0)
    if lead_lag:
        if dim % 2:
            raise ValueError(
                f"derivs must have an even number of path channels with lead_lag=True "
                f"({'plus one time channel' if time_aug else 'no time channel'}), got "
                f"shape {array.shape}"
            )
        dim //= 2
        if length_t % 2 == 0:
            raise ValueError(
                f"derivs must have an odd length (2 * length - 1) with lead_lag=True, "
                f"got shape {array.shape}"
            )
    if dim < 1 or length_t < 1:
        raise ValueError(
            f"derivs has shape {array.shape}, which transform_path cannot produce with "
            f"time_aug={time_aug}, lead_lag={lead_lag}"
        )
    length = ((length_t + 1) // 2 if lead_lag else length_t) - first
    flat = array.reshape((-1, length_t, dim_t))
    batch = PathBatch(flat, array.shape[:-2], None, length, dim, time_aug, lead_lag,
                      caller, bool(first))
    return batch.grad_to_input(flat, n_threads)

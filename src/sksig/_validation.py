"""Checks for scalar arguments shared by the functional API and the estimators.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind,
bad value) with a message that names the argument and says what was expected. We are
lenient where pySigLib is strict without reason: numpy booleans and integers are
accepted wherever Python ones are.
"""

import functools
import math
import numbers
import os

import numpy as np

# The one place that imports scikit-learn's private parameter-constraint classes
# (the estimators' ``_parameter_constraints`` use them).
from sklearn.utils._param_validation import Interval, Options, StrOptions

__all__ = [
    "MAX_BATCH_CONSTRAINT",
    "Interval",
    "Options",
    "StrOptions",
    "check_bool",
    "check_end_time",
    "check_int",
    "check_dyadic_order",
    "check_max_batch",
    "resolve_n_jobs",
]


def check_bool(value, name):
    """Return ``value`` as a Python bool; accept ``bool`` and ``numpy.bool_``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


def _integral(value):
    """``value`` as an int when it is an integer (numpy scalars and 0-d integer arrays
    included, bools not), else None."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        return int(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def check_int(value, name, *, minimum=0):
    """Return ``value`` as a Python int >= ``minimum`` (numpy integers and 0-d integer
    arrays accepted)."""
    if type(value) is not int:  # the common case skips the slower ABC checks
        integral = _integral(value)
        if integral is None:
            kind = (f"an array of shape {value.shape} and dtype {value.dtype}"
                    if isinstance(value, np.ndarray) else type(value).__name__)
            raise TypeError(f"{name} must be an int, got {kind}")
        value = integral
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_end_time(value, name="end_time"):
    """Return ``value`` as a finite Python float (ints and numpy reals accepted)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


# 2**62 cells per segment pair would overflow the 64-bit grid indices.
_MAX_DYADIC_ORDER = 30


def check_dyadic_order(value, name="dyadic_order"):
    """Return ``(order1, order2)`` from an int or a pair of ints.

    Each order must lie in ``[0, 30]``; an int means the same order on both sides.
    """
    if isinstance(value, np.ndarray) and value.ndim != 1:
        if value.ndim > 1:
            raise ValueError(f"{name} must be an int or a pair of ints, got an array "
                             f"of shape {value.shape}")
        value = check_int(value, name)  # a 0-d array: one order for both paths
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or a pair of ints, got {len(value)} values"
            )
        pair = tuple(check_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    else:
        order = check_int(value, name)
        pair = (order, order)
    for i, order in enumerate(pair):
        if order > _MAX_DYADIC_ORDER:
            raise ValueError(
                f"{name} must be at most {_MAX_DYADIC_ORDER}, got {order}"
                + (f" for path {i + 1}" if pair[0] != pair[1] else "")
            )
    return pair


# The estimators' constraint matching check_max_batch: -1 (no limit) or a positive int.
MAX_BATCH_CONSTRAINT = [Interval(numbers.Integral, 1, None, closed="left"),
                        Options(numbers.Integral, {-1})]


def check_max_batch(value, name="max_batch"):
    """Return ``max_batch`` as an int: -1 (no limit) or a positive block size."""
    if value is None:
        return -1
    value = check_int(value, name, minimum=-1)
    if value == 0:
        raise ValueError(f"{name} must be -1 (no limit) or a positive int, got 0")
    return value


@functools.cache
def _cpu_count():
    """The cores this process may use (CPU affinity and cgroup quotas), as joblib and
    scikit-learn count them; once per process."""
    try:
        import joblib

        return max(1, int(joblib.cpu_count()))
    except Exception:  # joblib missing or unable to tell
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1


def _openmp_max_threads():
    from sksig._core import _finite

    return _finite.omp_max_threads()


def max_threads():
    """The threads a call may use: what scikit-learn's OpenMP code resolves
    ``n_jobs=-1`` to (the OpenMP runtime's limit, which follows ``OMP_NUM_THREADS``
    and threadpoolctl's ``threadpool_limits``, as inside the workers of
    ``GridSearchCV(n_jobs=...)``), capped at the cores the process may use."""
    return max(1, min(_openmp_max_threads(), _cpu_count()))


_MAX_THREADS = 256


def resolve_n_jobs(n_jobs, name="n_jobs"):
    """Number of threads for ``n_jobs``: the one place every function resolves it.

    ``None`` means 1; ``-1`` the threads the process may use (:func:`max_threads`:
    OpenMP's limit under ``OMP_NUM_THREADS`` and threadpoolctl, capped at the cores),
    ``-k`` that many but ``k - 1`` (at least 1); 0 is an error. Large positive values
    are capped at ``max(cores, 256)`` threads. Results never depend on the count.
    """
    if n_jobs is None or type(n_jobs) is int and n_jobs == 1:
        return 1
    integral = _integral(n_jobs)
    if integral is None:
        raise TypeError(f"{name} must be an int or None, got {type(n_jobs).__name__}")
    n_jobs = integral
    if n_jobs == 0:
        raise ValueError(f"{name} must not be 0 (use None or 1 for one thread)")
    if n_jobs > 0:
        # Threads beyond the cores only add overhead, and asking OpenMP for millions
        # of them crashes the process; the result never depends on the count.
        if n_jobs <= _MAX_THREADS:
            return n_jobs
        return min(n_jobs, max(_cpu_count(), _MAX_THREADS))
    return max(1, max_threads() + 1 + n_jobs)

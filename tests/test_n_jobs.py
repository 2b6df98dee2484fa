"""n_jobs is resolved in one place (sksig._validation.resolve_n_jobs) with
scikit-learn's rule: None -> 1, -1 -> the threads the process may use as
scikit-learn's own OpenMP code resolves them (OMP_NUM_THREADS and threadpoolctl's
limits, capped at the cores), -k -> that but k - 1; results never depend on it."""

import os
import subprocess
import sys

import numpy as np
import pytest

import sksig
from sksig._validation import _cpu_count, resolve_n_jobs


def _sklearn_threads():
    """The oracle: scikit-learn's resolution of n_threads=None (private API, here
    only), capped at the cores as sksig does."""
    helpers = pytest.importorskip("sklearn.utils._openmp_helpers")
    return min(helpers._openmp_effective_n_threads(), _cpu_count())


def test_negative_n_jobs_follow_scikit_learn():
    threads = _sklearn_threads()
    assert resolve_n_jobs(-1) == threads
    assert resolve_n_jobs(-2) == max(1, threads - 1)
    assert resolve_n_jobs(-10**6) == 1
    assert resolve_n_jobs(None) == 1


@pytest.mark.parametrize("limit", [1, 2])
def test_threadpool_limits_bound_n_jobs_minus_one(limit):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    free = resolve_n_jobs(-1)
    with threadpoolctl.threadpool_limits(limits=limit, user_api="openmp"):
        assert resolve_n_jobs(-1) == min(limit, free) == _sklearn_threads()
        assert resolve_n_jobs(-2) == max(1, min(limit, free) - 1)
        assert resolve_n_jobs(3) == 3  # an explicit count is the caller's choice
    assert resolve_n_jobs(-1) == free


@pytest.mark.parametrize("omp", ["1", "3"])
def test_omp_num_threads_bounds_n_jobs_minus_one(omp):
    code = ("from sksig._validation import resolve_n_jobs, _cpu_count\n"
            "print(resolve_n_jobs(-1), _cpu_count())")
    env = dict(os.environ, OMP_NUM_THREADS=omp)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    got, cores = int(out[0]), int(out[1])
    assert got == min(int(omp), cores)


def test_results_are_identical_for_every_n_jobs(rng):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = np.cumsum(rng.normal(size=(24, 9, 3)) * 0.3, axis=1)
    want = sksig.sig_kernel_gram(x, x, 1)
    for n_jobs in (None, 1, 2, 3, -1, -2):
        np.testing.assert_array_equal(sksig.sig_kernel_gram(x, x, 1, n_jobs=n_jobs),
                                      want)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        np.testing.assert_array_equal(sksig.sig_kernel_gram(x, x, 1, n_jobs=-1), want)

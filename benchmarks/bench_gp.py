"""Cost of the hyperparameter gradient of ``sksig.gaussian_process.SignatureKernel``.

Run ``python benchmarks/bench_gp.py`` (``--quick`` for one repeat). Rows follow issue
15: one ``eval_gradient=True`` call on 100 paths of length 100 in dimension 3 (RBF
static kernel, dyadic order 1; hyperparameters sigma and scale) against the forward
call ``K(X)`` in the same run, then the same with the rational quadratic kernel (three
hyperparameters) to show that the ratio does not grow with their number. pySigLib has
no parameter gradients; its forward Gram is timed as a reference, and finite
differences would cost ``1 + 2 * n_theta`` forward Grams. ``--memory MODE`` runs one
call (``forward`` or ``gradient``) and prints the peak resident memory of the process
(run it in a fresh process per mode).
"""

import argparse
import resource
import sys

import numpy as np
from _harness import best_time

import sksig
from sksig.gaussian_process import SignatureKernel

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None

N, LENGTH, DIM, ORDER = 100, 100, 3, 1


def _rows_2d(rng):
    # Random walks with total variance about 1, so kernels stay moderate.
    steps = rng.standard_normal((N, LENGTH - 1, DIM)) / np.sqrt(LENGTH * DIM)
    walk = np.concatenate([np.zeros((N, 1, DIM)), steps.cumsum(axis=1)], axis=1)
    return np.ascontiguousarray(walk.reshape(N, -1))


def _kernels(n_jobs):
    return {
        "rbf": SignatureKernel(sksig.RBFKernel(sigma=1.0), dyadic_order=ORDER,
                               n_channels=DIM, n_jobs=n_jobs),
        "rational quadratic": SignatureKernel(
            sksig.RationalQuadraticKernel(sigma=1.0, alpha=1.0), dyadic_order=ORDER,
            n_channels=DIM, n_jobs=n_jobs),
    }


def _memory(mode):
    X = _rows_2d(np.random.default_rng(0))
    kernel = _kernels(-1)["rbf"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode == "forward":
        kernel(X)
    else:
        kernel(X, eval_gradient=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{mode}: peak RSS {peak / 1024:.0f} MiB (before the call "
          f"{before / 1024:.0f} MiB); K is {N * N * 8 / 2**20:.2f} MiB, dK/dtheta "
          f"{N * N * 2 * 8 / 2**20:.2f} MiB")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one timed repeat")
    parser.add_argument("--memory", choices=["forward", "gradient"])
    args = parser.parse_args()
    if args.memory:
        _memory(args.memory)
        return
    repeats = 1 if args.quick else 3
    X = _rows_2d(np.random.default_rng(0))
    paths = X.reshape(N, LENGTH, DIM).copy()
    print(f"sksig {sksig.__version__}: SignatureKernel on {N} paths of length "
          f"{LENGTH}, dim {DIM}, dyadic order {ORDER}; best of {repeats}, seconds")
    print(f"{'static kernel':20s} {'n_jobs':>6s} {'n_theta':>7s} {'K(X)':>8s} "
          f"{'K, dK':>8s} {'ratio':>6s}")
    for n_jobs in (1, -1):
        for name, kernel in _kernels(n_jobs).items():
            t_forward = best_time(lambda k=kernel: k(X), repeats)
            t_gradient = best_time(lambda k=kernel: k(X, eval_gradient=True), repeats)
            print(f"{name:20s} {n_jobs:6d} {kernel.n_dims:7d} {t_forward:8.3f} "
                  f"{t_gradient:8.3f} {t_gradient / t_forward:5.2f}x", flush=True)
        if pysiglib is not None:
            t_peer = best_time(lambda n=n_jobs: pysiglib.sig_kernel_gram(
                paths, paths, dyadic_order=ORDER,
                static_kernel=pysiglib.RBFKernel(1.0), n_jobs=n), repeats)
            print(f"{'pySigLib gram (rbf)':20s} {n_jobs:6d} {'-':>7s} {t_peer:8.3f} "
                  f"{'-':>8s} {'-':>6s}", flush=True)
    print("ratio = time of K and dK/dtheta / time of K alone")


if __name__ == "__main__":
    sys.exit(main())

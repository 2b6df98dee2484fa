"""Time sksig's signature kernels against pySigLib 4 (an optional peer) in one process.

Run ``python benchmarks/bench_sig_kernel.py`` (add ``--quick`` for one repeat). Rows
follow issue 3: batch 128 pairs of length 256 in dim 8 at dyadic orders 0 and 2 with
the linear and RBF static kernels, forward and backprop; a 64 x 64 Gram of length-128
dim-4 paths at dyadic order 1 with its backprop; each at n_jobs=1 and n_jobs=-1.
``--memory LIB`` instead runs the Gram backprop once and prints the peak resident
memory of this process (run it in a fresh process per library).
"""

import argparse
import resource
import sys

import numpy as np
from _harness import best_time, random_walks

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def _rows(rng):
    x = random_walks(rng, 128, 256, 8)
    y = random_walks(rng, 128, 256, 8)
    g1 = random_walks(rng, 64, 128, 4)
    g2 = random_walks(rng, 64, 128, 4)
    ones = np.ones(128)
    gram_derivs = np.ones((64, 64))
    rows = []
    for name in ("linear", "rbf"):
        for order in (0, 2):
            sk = None if name == "linear" else sksig.RBFKernel(sigma=1.0)
            pk = None
            if pysiglib is not None and name == "rbf":
                pk = pysiglib.RBFKernel(1.0)
            label = f"sig_kernel 128x(256,8) dyadic {order} {name}"
            rows.append((
                label,
                lambda n, o=order, k=sk: sksig.sig_kernel(x, y, o, static_kernel=k,
                                                          n_jobs=n),
                lambda n, o=order, k=pk: pysiglib.sig_kernel(
                    x, y, dyadic_order=o, static_kernel=k, n_jobs=n),
            ))
            rows.append((
                label.replace("sig_kernel", "backprop  "),
                lambda n, o=order, k=sk: sksig.sig_kernel_backprop(
                    ones, x, y, o, static_kernel=k, right_deriv=True, n_jobs=n),
                lambda n, o=order, k=pk: pysiglib.sig_kernel_backprop(
                    ones, x, y, dyadic_order=o, static_kernel=k, left_deriv=True,
                    right_deriv=True, n_jobs=n),
            ))
    rows.append((
        "gram 64x64 (128,4) dyadic 1 linear",
        lambda n: sksig.sig_kernel_gram(g1, g2, 1, n_jobs=n),
        lambda n: pysiglib.sig_kernel_gram(g1, g2, dyadic_order=1, n_jobs=n),
    ))
    rows.append((
        "gram backprop 64x64 (128,4) dyadic 1",
        lambda n: sksig.sig_kernel_gram_backprop(gram_derivs, g1, g2, 1,
                                                 right_deriv=True, n_jobs=n),
        lambda n: pysiglib.sig_kernel_gram_backprop(
            gram_derivs, g1, g2, dyadic_order=1, left_deriv=True, right_deriv=True,
            n_jobs=n),
    ))
    return rows


def _memory(lib):
    rng = np.random.default_rng(0)
    g1, g2 = random_walks(rng, 64, 128, 4), random_walks(rng, 64, 128, 4)
    derivs = np.ones((64, 64))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if lib == "sksig":
        sksig.sig_kernel_gram_backprop(derivs, g1, g2, 1, right_deriv=True, n_jobs=-1)
    else:
        pysiglib.sig_kernel_gram_backprop(derivs, g1, g2, dyadic_order=1,
                                          left_deriv=True, right_deriv=True, n_jobs=-1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{lib}: peak RSS {peak / 1024:.0f} MiB "
          f"(before the call {before / 1024:.0f} MiB)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one timed repeat")
    parser.add_argument("--memory", choices=["sksig", "pysiglib"])
    args = parser.parse_args()
    if args.memory:
        _memory(args.memory)
        return
    repeats = 1 if args.quick else 3
    rng = np.random.default_rng(0)
    peer = f"pySigLib {pysiglib.__version__}" if pysiglib else "pySigLib (absent)"
    print(f"sksig {sksig.__version__} vs {peer}; best of {repeats}, seconds")
    print(f"{'case':42s} {'n_jobs':>6s} {'sksig':>9s} {'pysiglib':>9s} {'ratio':>7s}")
    for label, ours, theirs in _rows(rng):
        for n_jobs in (1, -1):
            t_ours = best_time(lambda f=ours, n=n_jobs: f(n), repeats)
            if pysiglib is None:
                print(f"{label:42s} {n_jobs:6d} {t_ours:9.4f} {'-':>9s} {'-':>7s}")
                continue
            t_theirs = best_time(lambda f=theirs, n=n_jobs: f(n), repeats)
            print(f"{label:42s} {n_jobs:6d} {t_ours:9.4f} {t_theirs:9.4f} "
                  f"{t_theirs / t_ours:6.2f}x", flush=True)
    print("ratio = pySigLib time / sksig time (> 1: sksig is faster)")


if __name__ == "__main__":
    sys.exit(main())

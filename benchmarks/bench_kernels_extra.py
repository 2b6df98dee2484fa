"""Time sksig's polynomial-solver and branched signature kernels against pySigLib 4.

Run ``python benchmarks/bench_kernels_extra.py`` (``--quick`` for one repeat,
``--rows poly`` or ``--rows branched`` for one group). Rows follow issue 21:
``sig_kernel(..., method="polynomial", order=32)`` on 128 pairs of length 256 in dim 8
(forward and backprop), and ``branched_sig_kernel`` on 128 pairs of length 64 in dim 3;
all at n_jobs=1, both libraries in this one process. The ratio is pySigLib's time over
sksig's (above 1: sksig is faster).
"""

import argparse
import sys

import numpy as np
from _harness import best_time, random_walks

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def _poly_rows(rng):
    x, y = random_walks(rng, 128, 256, 8), random_walks(rng, 128, 256, 8)
    ones = np.ones(128)
    kw = dict(method="polynomial", order=32, n_jobs=1)
    return [
        ("sig_kernel polynomial order 32, 128x(256,8)",
         lambda: sksig.sig_kernel(x, y, **kw),
         lambda: pysiglib.sig_kernel(x, y, **kw)),
        ("sig_kernel_backprop polynomial order 32, 128x(256,8)",
         lambda: sksig.sig_kernel_backprop(ones, x, y, **kw),
         lambda: pysiglib.sig_kernel_backprop(ones, x, y, **kw)),
    ]


def _branched_rows(rng):
    if not hasattr(sksig, "branched_sig_kernel"):
        return []
    x, y = random_walks(rng, 128, 64, 3), random_walks(rng, 128, 64, 3)
    ones = np.ones(128)
    rows = []
    for depth, dyadic in ((2, 0), (3, 1)):
        label = f"branched_sig_kernel depth {depth} dyadic {dyadic}, 128x(64,3)"
        rows.append((
            label,
            lambda d=depth, o=dyadic: sksig.branched_sig_kernel(x, y, d, o),
            lambda d=depth, o=dyadic: pysiglib.branched_sig_kernel(x, y, d, o),
        ))
        rows.append((
            label.replace("kernel", "kernel_backprop"),
            lambda d=depth, o=dyadic: sksig.branched_sig_kernel_backprop(
                ones, x, y, d, o, n_jobs=1),
            lambda d=depth, o=dyadic: pysiglib.branched_sig_kernel_backprop(
                ones, x, y, d, o, n_jobs=1),
        ))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat per row")
    parser.add_argument("--rows", choices=("all", "poly", "branched"), default="all")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    rng = np.random.default_rng(0)
    rows = []
    if args.rows in ("all", "poly"):
        rows += _poly_rows(rng)
    if args.rows in ("all", "branched"):
        rows += _branched_rows(rng)
    print(f"{'row':58s} {'sksig s':>9s} {'pySigLib s':>11s} {'ratio':>6s}")
    for label, ours, theirs in rows:
        t_ours = best_time(ours, repeats)
        if pysiglib is None:
            print(f"{label:58s} {t_ours:9.3f} {'-':>11s} {'-':>6s}")
            continue
        t_theirs = best_time(theirs, repeats)
        print(f"{label:58s} {t_ours:9.3f} {t_theirs:11.3f} {t_theirs / t_ours:6.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

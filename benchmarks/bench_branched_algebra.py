"""Branched-signature group operations: sksig vs pySigLib 4 side by side (one process).

Rows: branched_sig_combine and its backprop, branched_sig_join (append) and its
backprop, linear_branched_sig, planar and non-planar, at n_jobs 1 and -1 (default
batch 10,000, d=3, degree 4). After a warm-up (tables prepared first) the two
libraries are timed alternately ``--repeat`` times; the table shows median times, the
ratio pySigLib / sksig of the medians (above 1: sksig is faster) and the
interquartile range of the per-repeat ratios. pySigLib columns are skipped when it is
not installed.

    python benchmarks/bench_branched_algebra.py [--batch 10000] [--repeat 11]
"""

import argparse
import os
import warnings

import numpy as np
from _harness import interleaved_times

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def rows(d, degree, planar, batch, rng):
    """(name, sksig call, pySigLib call) for every timed function."""
    paths = rng.normal(size=(2, batch, 3, d)) * 0.3
    a = sksig.branched_sig(paths[0], degree, planar=planar)
    b = sksig.branched_sig(paths[1], degree, planar=planar)
    v = np.ascontiguousarray(paths[1, :, 1] - paths[1, :, 0])
    g = rng.normal(size=a.shape)
    kw = dict(planar=planar)
    calls = [
        ("branched_sig_combine",
         lambda j: sksig.branched_sig_combine(a, b, d, degree, n_jobs=j, **kw),
         lambda j: pysiglib.branched_sig_combine(a, b, d, degree, n_jobs=j, **kw)),
        ("branched_sig_combine_backprop",
         lambda j: sksig.branched_sig_combine_backprop(g, a, b, d, degree, n_jobs=j,
                                                       **kw),
         lambda j: pysiglib.branched_sig_combine_backprop(g, a, b, d, degree,
                                                          n_jobs=j, **kw)),
        ("branched_sig_join",
         lambda j: sksig.branched_sig_join(a, v, d, degree, n_jobs=j, **kw),
         lambda j: pysiglib.branched_sig_join(a, v, d, degree, n_jobs=j, **kw)),
        ("branched_sig_join_backprop",
         lambda j: sksig.branched_sig_join_backprop(g, a, v, d, degree, n_jobs=j,
                                                    **kw),
         lambda j: pysiglib.branched_sig_join_backprop(g, a, v, d, degree, n_jobs=j,
                                                       **kw)),
        ("linear_branched_sig",
         lambda j: sksig.linear_branched_sig(v, d, degree, n_jobs=j, **kw),
         lambda j: pysiglib.linear_branched_sig(v, d, degree, n_jobs=j, **kw)),
    ]
    return calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=3)
    parser.add_argument("--degree", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    d, degree = args.dim, args.degree
    rng = np.random.default_rng(0)
    print(f"d={d} degree={degree} batch={args.batch} "
          f"cpus={len(os.sched_getaffinity(0))} pysiglib="
          f"{getattr(pysiglib, '__version__', 'absent')}")
    header = f"{'function':<32}{'planar':>7}{'n_jobs':>7}{'sksig s':>10}"
    header += f"{'pysiglib s':>12}{'ratio':>8}{'ratio IQR':>14}" if pysiglib else ""
    print(header)
    warnings.filterwarnings("ignore", message="Detected a non-contiguous")
    for planar in (False, True):
        sksig.prepare_branched_sig(d, degree, planar=planar)
        if pysiglib:
            pysiglib.prepare_branched_sig(d, degree, planar=planar)
        for name, ours, theirs in rows(d, degree, planar, args.batch, rng):
            for n_jobs in (1, -1):
                funcs = [lambda f=ours, j=n_jobs: f(j)]
                if pysiglib:
                    funcs.append(lambda f=theirs, j=n_jobs: f(j))
                t = interleaved_times(funcs, args.repeat)
                line = f"{name:<32}{planar!s:>7}{n_jobs:>7}{np.median(t[:, 0]):>10.4f}"
                if pysiglib:
                    ratios = t[:, 1] / t[:, 0]
                    q1, q3 = np.percentile(ratios, [25, 75])
                    line += (f"{np.median(t[:, 1]):>12.4f}"
                             f"{np.median(t[:, 1]) / np.median(t[:, 0]):>8.2f}"
                             f"{f'{q1:.2f}-{q3:.2f}':>14}")
                print(line, flush=True)


if __name__ == "__main__":
    main()

"""Branched signatures: sksig vs pySigLib 4 side by side (one process).

Rows of issue 5: d=3, degree 4, batch 1024, length 64, planar and non-planar, n_jobs 1
and -1, for branched_sig, branched_sig_to_log_sig (default method) and its backprop.
After a warm-up (tables prepared first) the two libraries are timed alternately
``--repeat`` times; the table shows median times, the ratio of the medians and the
interquartile range of the per-repeat ratios (shared machines are noisy). pySigLib
columns are skipped when it is not installed.

    python benchmarks/bench_branched.py [--batch 1024] [--length 64] [--repeat 3]
"""

import argparse
import os

import numpy as np
from _harness import interleaved_times

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--dim", type=int, default=3)
    parser.add_argument("--degree", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    d, degree = args.dim, args.degree
    rng = np.random.default_rng(0)
    paths = rng.normal(size=(args.batch, args.length, d)) * 0.1
    print(f"d={d} degree={degree} batch={args.batch} length={args.length} "
          f"cpus={len(os.sched_getaffinity(0))} pysiglib="
          f"{getattr(pysiglib, '__version__', 'absent')}")
    header = f"{'function':<34}{'planar':>7}{'n_jobs':>7}{'sksig ms':>10}"
    header += f"{'pysiglib ms':>12}{'ratio':>8}{'ratio IQR':>12}" if pysiglib else ""
    print(header)
    for planar in (False, True):
        method = 1 if planar else 0
        sksig.prepare_branched_sig(d, degree, planar=planar)
        sksig.prepare_branched_log_sig(d, degree, method, planar=planar)
        if pysiglib:
            pysiglib.prepare_branched_sig(d, degree, planar=planar)
            pysiglib.prepare_branched_log_sig(d, degree, method, planar=planar)
        for n_jobs in (1, -1):
            # Owning, contiguous inputs: pySigLib clones views on every call.
            bsig = np.array(sksig.branched_sig(paths, degree, planar=planar))
            log = sksig.branched_sig_to_log_sig(bsig, d, degree, planar=planar)
            derivs = rng.normal(size=log.shape)
            kw = {"planar": planar, "n_jobs": n_jobs}
            rows = {
                "branched_sig": (
                    lambda lib, kw=kw: lib.branched_sig(paths, degree, **kw)),
                "branched_sig_to_log_sig": (
                    lambda lib, kw=kw, bsig=bsig: lib.branched_sig_to_log_sig(
                        bsig, d, degree, **kw)),
                "branched_sig_to_log_sig_backprop": (
                    lambda lib, kw=kw, bsig=bsig, derivs=derivs:
                    lib.branched_sig_to_log_sig_backprop(bsig, derivs, d, degree,
                                                         **kw)),
            }
            for name, call in rows.items():
                libs = (sksig, pysiglib) if pysiglib else (sksig,)
                times = interleaved_times(
                    [lambda call=call, lib=lib: call(lib) for lib in libs], args.repeat)
                ours = np.median(times[:, 0])
                line = f"{name:<34}{planar!s:>7}{n_jobs:>7}{1e3 * ours:>10.3f}"
                if pysiglib:
                    theirs = np.median(times[:, 1])
                    low, high = np.percentile(times[:, 1] / times[:, 0], [25, 75])
                    line += f"{1e3 * theirs:>12.3f}{theirs / ours:>8.2f}"
                    line += f"{low:>6.2f}-{high:.2f}"
                print(line, flush=True)
    if pysiglib:
        print("ratio = median pysiglib time / median sksig time (> 1: sksig faster)")


if __name__ == "__main__":
    main()

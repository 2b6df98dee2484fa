"""sksig vs pySigLib 4 for log_sig, log_sig_join and log_sig_join_backprop.

Plain script: ``python benchmarks/bench_log_sig.py``. Both libraries run in this
process on the same inputs; the table reports the best of several repeats (after a
warm-up call, so one-off table building is excluded for both) and the ratio
pySigLib time / sksig time (> 1 means sksig is faster). pySigLib is skipped if absent.
"""

import time

import numpy as np

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def best_time(fn, repeats=7):
    fn()  # warm-up: builds and caches tables
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rows():
    rng = np.random.default_rng(0)
    paths = 0.1 * rng.normal(size=(128, 256, 4))
    d, n = 4, 4
    ls = sksig.log_sig(rng.normal(size=(10_000, 8, d)) * 0.3, n, method=2)
    disp = 0.3 * rng.normal(size=(10_000, d))
    d_out = rng.normal(size=ls.shape)
    if pysiglib is not None:
        pysiglib.prepare_log_sig(d, n, method=2)
        pysiglib.prepare_log_sig(d, n, method=3)
    for n_jobs in (1, -1):
        yield (
            f"log_sig method=2, 128 x 256 x 4, degree 4, n_jobs={n_jobs}",
            lambda j=n_jobs: sksig.log_sig(paths, n, method=2, n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.log_sig(paths, n, method=2,
                                                              n_jobs=j)),
        )
        yield (
            f"log_sig_join, 10000 x d=4, degree 4, n_jobs={n_jobs}",
            lambda j=n_jobs: sksig.log_sig_join(ls, disp, d, n, n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.log_sig_join(ls, disp, d, n,
                                                                   n_jobs=j)),
        )
        yield (
            f"log_sig_join_backprop, 10000 x d=4, degree 4, n_jobs={n_jobs}",
            lambda j=n_jobs: sksig.log_sig_join_backprop(d_out, ls, disp, d, n, n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.log_sig_join_backprop(
                d_out, ls, disp, d, n, n_jobs=j)),
        )


def main():
    print(f"| case | sksig (ms) | pySigLib (ms) | pySigLib / sksig |")
    print("|---|---:|---:|---:|")
    for name, ours, theirs in rows():
        t_ours = best_time(ours)
        if theirs:
            t_theirs = best_time(theirs)
            print(f"| {name} | {1e3 * t_ours:.2f} | {1e3 * t_theirs:.2f} | "
                  f"{t_theirs / t_ours:.2f} |")
        else:
            print(f"| {name} | {1e3 * t_ours:.2f} | - | - |")


if __name__ == "__main__":
    main()

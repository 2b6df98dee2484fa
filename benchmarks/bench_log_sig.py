"""sksig vs pySigLib 4 for log_sig, log_sig_join and log_sig_join_backprop.

Plain script: ``python benchmarks/bench_log_sig.py``. Both libraries run in this
process on the same inputs, calls interleaved (after a warm-up call, so one-off table
building is excluded for both). The table reports median times over 30 repeats and the
ratio pySigLib time / sksig time (> 1 means sksig is faster): the median of the
per-repeat ratios, with their 10%-90% range, since on a shared machine single timings
are noisy. pySigLib is skipped if absent.
"""

import time

import numpy as np

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def interleaved_times(fns, repeats=30):
    """Wall times (repeats x len(fns)) of each function, calls interleaved so that load
    spikes on a shared machine hit all of them alike."""
    for fn in fns:
        fn()  # warm-up: builds and caches tables
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[r, i] = time.perf_counter() - start
    return times


def rows():
    rng = np.random.default_rng(0)
    paths = 0.1 * rng.normal(size=(128, 256, 4))
    d, n = 4, 4
    ls = np.ascontiguousarray(
        sksig.log_sig(rng.normal(size=(10_000, 8, d)) * 0.3, n, method=2)).copy()
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
            lambda j=n_jobs: sksig.log_sig_join_backprop(d_out, ls, disp, d, n,
                                                         n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.log_sig_join_backprop(
                d_out, ls, disp, d, n, n_jobs=j)),
        )


def main():
    print("| case | sksig (ms) | pySigLib (ms) | pySigLib / sksig | 10%-90% range |")
    print("|---|---:|---:|---:|---|")
    for name, ours, theirs in rows():
        if theirs:
            times = interleaved_times([ours, theirs])
            t_ours, t_theirs = 1e3 * np.median(times, axis=0)
            ratios = times[:, 1] / times[:, 0]
            lo, mid, hi = np.quantile(ratios, [0.1, 0.5, 0.9])
            print(f"| {name} | {t_ours:.2f} | {t_theirs:.2f} | {mid:.2f} | "
                  f"{lo:.2f} - {hi:.2f} |")
        else:
            (t_ours,) = 1e3 * np.median(interleaved_times([ours]), axis=0)
            print(f"| {name} | {t_ours:.2f} | - | - | - |")


if __name__ == "__main__":
    main()

"""sksig vs pySigLib 4 for log_sig, log_sig_join and log_sig_join_backprop.

Plain script: ``python benchmarks/bench_log_sig.py``. Both libraries run in this
process on the same inputs, calls interleaved (after a warm-up call, so one-off table
building is excluded for both). The table reports median times over 30 repeats and the
ratio pySigLib time / sksig time (> 1 means sksig is faster): the median of the
per-repeat ratios, with their 10%-90% range, since on a shared machine single timings
are noisy. pySigLib is skipped if absent.
"""


import numpy as np
from _harness import print_header, print_row

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


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
    print_header()
    for name, ours, theirs in rows():
        print_row(name, ours, theirs)


if __name__ == "__main__":
    main()

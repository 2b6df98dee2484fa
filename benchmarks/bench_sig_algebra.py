"""sksig vs pySigLib 4 for the signature algebra and the window streams.

Plain script: ``python benchmarks/bench_sig_algebra.py [--repeats R]``. Both libraries
run in this process on the same inputs, calls interleaved after a warm-up call. The
table reports median times and the ratio pySigLib time / sksig time (> 1 means sksig is
faster): the median of the per-repeat ratios with their 10%-90% range. pySigLib is
skipped if absent. All rows at n_jobs=1.
"""

import argparse
import warnings

import numpy as np
from _harness import print_header, print_row

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None

warnings.filterwarnings("ignore", message="Detected a non-contiguous")


def window_stream(lib, points, d, n, w, stride):
    def run():
        ws = lib.SigWindowStream(d, n, w, stride=stride)
        ws.push_batch(points)
        return ws.sig()
    return run


def rows():
    rng = np.random.default_rng(0)
    d, n, b = 4, 4, 10_000
    s1 = sksig.sig(rng.normal(size=(b, 5, d)) * 0.3, n)
    s2 = sksig.sig(rng.normal(size=(b, 5, d)) * 0.3, n)
    g = rng.normal(size=s1.shape)
    v = rng.normal(size=(b, d)) * 0.3
    yield ("sig_combine, B=10000, d=4, N=4",
           lambda: sksig.sig_combine(s1, s2, d, n),
           pysiglib and (lambda: pysiglib.sig_combine(s1, s2, d, n)))
    yield ("sig_combine_backprop, B=10000, d=4, N=4",
           lambda: sksig.sig_combine_backprop(g, s1, s2, d, n),
           pysiglib and (lambda: pysiglib.sig_combine_backprop(g, s1, s2, d, n)))
    yield ("sig_join, B=10000, d=4, N=4",
           lambda: sksig.sig_join(s1, v, d, n),
           pysiglib and (lambda: pysiglib.sig_join(s1, v, d, n)))
    yield ("sig_to_log_sig method 2, B=10000, d=4, N=4",
           lambda: sksig.sig_to_log_sig(s1, d, n, method=2),
           pysiglib and (lambda: pysiglib.sig_to_log_sig(s1, d, n, method=2)))
    points = np.cumsum(rng.normal(size=(100_000, 3)) * 0.1, axis=0)
    for w, stride in ((100, 1), (100, 10), (1000, 100)):
        yield (f"SigWindowStream, 100,000 points, d=3, N=4, window {w}, "
               f"stride {stride}",
               window_stream(sksig, points, 3, 4, w, stride),
               pysiglib and window_stream(pysiglib, points, 3, 4, w, stride))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    if pysiglib is not None:
        pysiglib.prepare_log_sig(4, 4, method=2)
    print_header()
    for name, ours, theirs in rows():
        repeats = args.repeats if "Stream" not in name else max(3, args.repeats // 3)
        print_row(name, ours, theirs, repeats)


if __name__ == "__main__":
    main()

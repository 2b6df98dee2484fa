"""sksig vs pySigLib 4 for sig_coef, sig_coef_backprop and extract_sig_coef.

Plain script: ``python benchmarks/bench_sig_coef.py``. Same protocol as
bench_log_sig.py (interleaved calls after a warm-up, median times, the median of the
per-repeat ratios pySigLib / sksig with its 10%-90% range; > 1 means sksig is faster).
A last row compares ``sig_coef`` with the full ``sig`` it avoids. pySigLib is skipped
if absent.
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
    paths = 0.2 * rng.normal(size=(128, 256, 8))
    words = [tuple(int(c) for c in rng.integers(0, 8, size=6)) for _ in range(10)]
    coefs = sksig.sig_coef(paths, words, prefixes=True)
    derivs = rng.normal(size=coefs.shape)
    sigs = sksig.sig(paths[:, :32, :4], 5)
    small_words = [w[:5] for w in sksig.words_of_length(4, 5)[::7]]
    for n_jobs in (1, -1):
        yield (
            f"sig_coef, 128 x 256 x 8, 10 words of 6 letters, n_jobs={n_jobs}",
            lambda j=n_jobs: sksig.sig_coef(paths, words, n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.sig_coef(paths, words, n_jobs=j)),
        )
        yield (
            f"sig_coef_backprop, same, n_jobs={n_jobs}",
            lambda j=n_jobs: sksig.sig_coef_backprop(paths, words, coefs, derivs,
                                                     n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.sig_coef_backprop(
                paths, words, coefs, derivs.copy(), n_jobs=j)),
        )
    yield (
        "extract_sig_coef, 128 signatures d=4 N=5, 147 words",
        lambda: sksig.extract_sig_coef(sigs, small_words, 4),
        pysiglib and (lambda: pysiglib.extract_sig_coef(sigs, small_words, 4)),
    )
    yield (
        "sksig.sig_coef vs sksig.sig at degree 6 (same paths, 'pySigLib' column = sig)",
        lambda: sksig.sig_coef(paths[:16], words),
        lambda: sksig.sig(paths[:16], 6),
    )


def main():
    print_header()
    for name, ours, theirs in rows():
        print_row(name, ours, theirs, repeats=10)


if __name__ == "__main__":
    main()

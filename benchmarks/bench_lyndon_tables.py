"""Build time of the Lyndon tables: the native builder against the Python oracle.

Interleaved runs per (dim, degree), medians; the oracle (tests/_oracles_lyndon.py, the
former builder) is skipped with ``--native-only``.
Run: ``python -P benchmarks/bench_lyndon_tables.py [--native-only]``.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from sksig._lyndon import _build_tables

SIZES = [(10, 4, 5), (3, 8, 5), (2, 12, 5), (4, 8, 3), (2, 14, 3), (2, 16, 3),
         (4, 10, 1)]


def timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--native-only", action="store_true")
    args = parser.parse_args()
    oracle = None
    if not args.native_only:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import _oracles_lyndon as oracle
    for dim, degree, reps in SIZES:
        before, after = [], []
        for _ in range(reps):
            if oracle is not None:
                before.append(timed(oracle.build_tables, dim, degree))
            after.append(timed(_build_tables, dim, degree))
        while len(after) < 5:
            after.append(timed(_build_tables, dim, degree))
        line = f"d={dim:2d} N={degree:2d}: native {statistics.median(after):8.4f} s"
        if before:
            b = statistics.median(before)
            line += f"  python {b:8.3f} s  ratio {b / statistics.median(after):5.0f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()

"""Build time of the Lyndon tables: the native builder against the Python oracle.

Interleaved runs per (dim, degree), medians; the oracle (tests/_oracles_lyndon.py, the
former builder) is skipped with ``--native-only``.
``--peer`` instead times ``prepare_log_sig(dim, degree, 2, device="cpu")`` of sksig and
pySigLib side by side, each run in a fresh process (both libraries cache their tables)
with the native modules already loaded, alternating, and prints the ratio of the
medians (pySigLib / sksig).
Run: ``python -P benchmarks/bench_lyndon_tables.py [--native-only | --peer]``.
"""

import argparse
import statistics
import subprocess
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


PEER_SIZES = [(3, 6, 7), (2, 12, 7), (4, 8, 5), (2, 14, 5), (2, 16, 3)]
# sksig loads its native log-signature module on first use, pySigLib at import: load it
# before the clock starts, so that both rows time the table build only.
_PREPARE = """
import time, importlib, sys
lib = importlib.import_module(sys.argv[1])
if sys.argv[1] == "sksig":
    import sksig._core._log_sig
start = time.perf_counter()
lib.prepare_log_sig(int(sys.argv[2]), int(sys.argv[3]), 2, device="cpu")
print(time.perf_counter() - start)
"""


def fresh_prepare(library, dim, degree):
    """Seconds of one prepare_log_sig in a new process (import time excluded)."""
    command = [sys.executable, "-c", _PREPARE, library, str(dim), str(degree)]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(run.stdout.split()[-1])


def peer():
    print("prepare_log_sig(dim, degree, method=2), fresh process per run, medians")
    for dim, degree, reps in PEER_SIZES:
        ours, theirs = [], []
        for _ in range(reps):
            ours.append(fresh_prepare("sksig", dim, degree))
            theirs.append(fresh_prepare("pysiglib", dim, degree))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"d={dim:2d} N={degree:2d}: sksig {a:8.4f} s  pysiglib {b:8.4f} s  "
              f"ratio {b / a:6.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--native-only", action="store_true")
    parser.add_argument("--peer", action="store_true")
    args = parser.parse_args()
    if args.peer:
        peer()
        return
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

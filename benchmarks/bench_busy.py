"""Threads on a busy machine: sksig vs pySigLib 4 beside CPU-bound processes.

A second thread only pays if the operating system runs it. When every core is taken
by other processes, a thread of ours may wait a whole time slice before it runs; a
library whose call returns only when all its threads have checked in (an OpenMP
barrier) then turns a millisecond call into ten. This script starts ``--spinners``
processes that spin in a Python loop (default: one per core but one, so that with
two threads of ours the machine is oversubscribed by exactly one thread: one of them
has to share a core with a spinner, the case of a machine running something else;
one spinner per core would also slow the one-thread rows and measure only the
sharing), then times, both libraries interleaved in this process, medians:

- ``log_sig`` (method 2), batch 128, length 256, d=4, degree 4;
- ``branched_sig_to_log_sig`` (non-planar, default method), 1,024 items, d=3,
  degree 4;

at ``n_jobs`` 1 and 2, first on the machine as it is and then with the spinners
running. The "2 / 1" columns are the two-thread time over the one-thread time (under
1: the second thread helps; much over 1: it hurts).

    python benchmarks/bench_busy.py [--repeat 31] [--spinners N]
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
from _harness import interleaved_times  # this folder: run as a script

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None

SPIN = "while True:\n    pass\n"


def workloads():
    rng = np.random.default_rng(0)
    paths = 0.1 * rng.normal(size=(128, 256, 4))
    brown = np.cumsum(0.1 * rng.normal(size=(1024, 64, 3)), axis=1)
    bsig = np.array(sksig.branched_sig(brown, 4))
    sksig.prepare_log_sig(4, 4, method=2)
    sksig.prepare_branched_log_sig(3, 4, 0)
    if pysiglib is not None:
        pysiglib.prepare_log_sig(4, 4, method=2)
        pysiglib.prepare_branched_log_sig(3, 4, 0)
    return {
        "log_sig m2, 128 x 256 x 4, degree 4": (
            lambda lib, j: lib.log_sig(paths, 4, method=2, n_jobs=j)),
        "branched_sig_to_log_sig, 1024 items, d3 N4": (
            lambda lib, j: lib.branched_sig_to_log_sig(bsig, 3, 4, n_jobs=j)),
    }


def table(rows, repeat, label):
    libs = [("sksig", sksig)] + ([("pySigLib", pysiglib)] if pysiglib else [])
    for name, call in rows.items():
        funcs = [lambda lib=lib, j=j, call=call: call(lib, j)
                 for _, lib in libs for j in (1, 2)]
        med = 1e3 * np.median(interleaved_times(funcs, repeat), axis=0)
        cells = []
        for k in range(len(libs)):
            one, two = med[2 * k], med[2 * k + 1]
            cells.append(f"{one:.2f} | {two:.2f} | {two / one:.2f}")
        ratio = ""
        if pysiglib:
            ratio = f" | {med[2] / med[0]:.2f} | {med[3] / med[1]:.2f}"
        print(f"| {label} | {name} | " + " | ".join(cells) + ratio + " |", flush=True)


def main():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--spinners", type=int, default=max(1, cores - 1))
    args = parser.parse_args()
    rows = workloads()
    print(f"cores={cores} spinners={args.spinners} pysiglib="
          f"{getattr(pysiglib, '__version__', 'absent')}; times in ms, medians of "
          f"{args.repeat}")
    head = "| machine | workload | sksig 1 | sksig 2 | sksig 2 / 1 |"
    if pysiglib:
        head += " pySigLib 1 | pySigLib 2 | pySigLib 2 / 1 | ratio 1 | ratio 2 |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    table(rows, args.repeat, "as it is")
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN])
                for _ in range(args.spinners)]
    try:
        time.sleep(0.5)  # let them start spinning
        table(rows, args.repeat, f"+{args.spinners} spinning")
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
    if pysiglib:
        print("ratio = pySigLib time / sksig time at 1 and 2 threads "
              "(> 1: sksig faster)")


if __name__ == "__main__":
    main()

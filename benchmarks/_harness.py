"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<x>.py``,
so this folder is on ``sys.path``)."""

import time

import numpy as np


def random_walks(rng, batch, length, dim):
    """Random walks from the origin, total variance about 1 (kernels stay moderate)."""
    steps = rng.standard_normal((batch, length - 1, dim)) / np.sqrt(length * dim)
    start = np.zeros((batch, 1, dim))
    walk = np.concatenate([start, np.cumsum(steps, axis=1)], axis=1)
    return np.ascontiguousarray(walk)


def best_time(fn, repeats):
    """Best wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_times(fns, repeats=30):
    """Wall times (repeats x len(fns)), the calls interleaved so that load spikes on a
    shared machine hit every function alike; one warm-up call each first (it builds and
    caches tables)."""
    for fn in fns:
        fn()
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[r, i] = time.perf_counter() - start
    return times


def print_header():
    print("| case | sksig (ms) | pySigLib (ms) | pySigLib / sksig | 10%-90% range |")
    print("|---|---:|---:|---:|---|")


def print_row(name, ours, theirs, repeats=30, digits=2):
    """One row of medians of interleaved calls and the 10%-90% range of the ratio
    pySigLib / sksig; ``theirs`` None (no peer function): sksig alone."""
    if not theirs:
        (t_ours,) = 1e3 * np.median(interleaved_times([ours], repeats), axis=0)
        print(f"| {name} | {t_ours:.{digits}f} | - | - | - |", flush=True)
        return
    times = interleaved_times([ours, theirs], repeats)
    t_ours, t_theirs = 1e3 * np.median(times, axis=0)
    lo, mid, hi = np.quantile(times[:, 1] / times[:, 0], [0.1, 0.5, 0.9])
    print(f"| {name} | {t_ours:.{digits}f} | {t_theirs:.{digits}f} | {mid:.2f} | "
          f"{lo:.2f} - {hi:.2f} |", flush=True)

"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<x>.py``,
so this folder is on ``sys.path``)."""

import os
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


# Pause before each timed call. pySigLib's worker threads spin after each of its calls;
# a call made during that spin finds one core taken, and its second thread waits
# (measured, B32 L256 forward at two threads right after a pySigLib call: 3.5 ms, the
# one-thread time; 3 ms or more later: 2.1 ms). How long they spin varies: on the
# 2-core VM a two-thread pySigLib call (B32 L128) was followed by 5.2 ms of CPU time in
# its threads within 5 ms, and 9.7 ms within 20 ms. So the pause lasts SETTLE seconds
# and then until the process's other threads have been idle (under a tenth) for IDLE
# seconds, at most MAX_SETTLE: every call starts with the other cores idle, whichever
# library ran before it. IDLE spans a scheduler tick: the CPU time of threads running
# on other cores is brought up to date about every 4 ms.
SETTLE, IDLE, MAX_SETTLE = 0.005, 0.005, 0.05
# The pause is spent busy in the calling thread, as a program doing its own work between
# calls would. A sleep lets the calling core idle too, and on the 2-core development VM
# the first millisecond after a core wakes from idle runs up to 1.4x slower, for any
# code (a B32 L128 forward on one thread: 0.95 ms after a 5 ms sleep, 0.72 ms back to
# back; a Python loop and numpy calls slow down alike), which adds the same fixed cost
# to both libraries' short calls and hides what they do. SKSIG_BENCH_PAUSE=sleep in the
# environment sleeps instead.
PAUSE_SLEEPS = os.environ.get("SKSIG_BENCH_PAUSE") == "sleep"


def _others_cpu():
    """CPU time of the process's threads other than the calling one."""
    return time.process_time() - time.thread_time()


def _wait(seconds):
    if PAUSE_SLEEPS:
        time.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def settle():
    """Pause before a timed call (see above)."""
    start = time.perf_counter()
    _wait(SETTLE)
    while time.perf_counter() - start < MAX_SETTLE:
        before = _others_cpu()
        _wait(IDLE)
        if _others_cpu() - before < IDLE / 10:  # the two clocks are read apart
            return


def interleaved_times(fns, repeats=30, cpu=False):
    """Wall times (repeats x len(fns)), the calls interleaved so that load spikes on a
    shared machine hit every function alike; one warm-up call each first (it builds and
    caches tables), and a short pause before every timed call (:func:`settle`). With
    ``cpu=True`` also the process CPU times, as a second array."""
    for fn in fns:
        fn()
    times = np.empty((repeats, len(fns)))
    cpu_times = np.empty_like(times)
    for r in range(repeats):
        for i, fn in enumerate(fns):
            settle()
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[r, i] = time.perf_counter() - start
            cpu_times[r, i] = time.process_time() - start_cpu
    return (times, cpu_times) if cpu else times


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

"""The helper pool of the branched and log-signature cores (parallel.hpp).

A child process runs with the optional load check off (SKSIG_LOAD_CHECK=0, also the
default), so the pool really runs on a loaded machine too. The oracle is the one-thread
result (each output written by one item, with the same operations), compared bitwise;
a fork after the pool has started must leave a working pool (and buffer cache) in the
child.
"""

import os
import subprocess
import sys

import pytest

CHILD = r"""
import multiprocessing as mp
import numpy as np
import sksig

rng = np.random.default_rng(1)
paths = 0.3 * rng.normal(size=(203, 7, 3))  # 13 blocks of 16, the last one partial
pairs = 0.1 * rng.normal(size=(9, 60, 3)).cumsum(axis=1)

def results(n_jobs):
    bs = sksig.branched_sig(paths, 4, n_jobs=n_jobs)
    out = [bs, sksig.branched_sig_to_log_sig(bs, 3, 4, n_jobs=n_jobs),
           sksig.branched_sig_to_log_sig_backprop(bs, np.cos(bs), 3, 4, n_jobs=n_jobs),
           sksig.branched_sig_backprop(paths, bs, np.sin(bs), 4, n_jobs=n_jobs),
           sksig.log_sig(paths, 4, method=2, n_jobs=n_jobs)]
    # Buffers of 64 KiB and more, kept between calls (goursat.hpp's BufferCache).
    out += sksig.sig_kernel_backprop(np.cos(np.arange(9.0)), pairs, pairs[::-1], 1,
                                     left_deriv=True, right_deriv=True, n_jobs=n_jobs)
    return out

def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))

one = results(1)
for _ in range(20):
    assert same(results(2), one)
    assert same(results(3), one)

def child(queue):
    queue.put(same(results(2), one))

ctx = mp.get_context("fork")
queue = ctx.Queue()
proc = ctx.Process(target=child, args=(queue,))
proc.start()
assert queue.get(timeout=60)
proc.join(60)
assert proc.exitcode == 0
print("ok")
"""


def run_child(code, timeout):
    """Runs ``code`` in a fresh interpreter, load check off; it must print ok."""
    env = dict(os.environ, SKSIG_LOAD_CHECK="0")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


@pytest.mark.skipif(sys.platform != "linux", reason="fork and the load check: Linux")
def test_pool_results_match_one_thread_and_survive_fork():
    run_child(CHILD, 240)


STEERED = r"""
import os
import time
import numpy as np
import sksig

cores = os.sched_getaffinity(0)
paths = 0.02 * np.random.default_rng(2).normal(size=(64, 128, 3)).cumsum(axis=1)
def helpers():
    return [int(t) for t in os.listdir("/proc/self/task")
            if open(f"/proc/self/task/{t}/comm").read().strip() == "sksig-helper"]

# Four 16-pair blocks on the pool; a new helper names itself once it first runs.
for _ in range(200):
    sksig.sig_kernel(paths, paths, 0, n_jobs=2)
    if helpers():
        break
    time.sleep(0.01)
assert helpers(), "no pool helper was started"
sksig.sig_kernel(paths, paths, 0, n_jobs=2)  # steered now that it exists
for tid in helpers():
    mask = os.sched_getaffinity(tid)
    # Kept off exactly one of the caller's cores (the one it ran on), free on the rest.
    assert mask < cores and len(mask) == len(cores) - 1, (mask, cores)
print("ok")
"""


@pytest.mark.skipif(sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2,
                    reason="core affinity: Linux with two or more usable cores")
def test_pool_helpers_are_kept_off_the_callers_core():
    run_child(STEERED, 120)

"""Per-call cost on tiny inputs: sksig vs pySigLib 4 side by side (one process).

A step of a generative model or an autograd loop calls these functions on one item at
a time, so the fixed cost of a call (argument checks, conversions, dispatch) decides
its speed. Every row is one item of a small size; the two libraries are timed
alternately in rounds of ``--number`` calls, ``--repeat`` rounds, and the table shows
the median time per call and the ratio of the medians (pySigLib time / sksig time:
above 1 means sksig is faster). pySigLib columns are skipped when it is absent.

    python benchmarks/bench_overhead.py [--repeat 15] [--number 300] [--torch]

With ``--torch`` every array is a torch CPU tensor (the autograd path).
"""

import argparse
import time
import warnings

import numpy as np

import sksig

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None


def per_call(funcs, repeat, number):
    """Median seconds per call of each function, rounds interleaved."""
    for func in funcs:
        for _ in range(number // 10 + 1):
            func()  # warm-up
    times = np.empty((repeat, len(funcs)))
    for i in range(repeat):
        for j, func in enumerate(funcs):
            start = time.perf_counter()
            for _ in range(number):
                func()
            times[i, j] = (time.perf_counter() - start) / number
    return np.median(times, axis=0)


def cases(lib, as_input):
    """(name, zero-argument call) rows for ``lib`` (sksig or pysiglib)."""
    rng = np.random.default_rng(0)
    d, degree = 2, 3
    x, y = map(as_input, rng.normal(size=(2, 1, 8, d)))
    k_derivs = as_input(np.ones(1))
    v = as_input(rng.normal(size=(1, d)))
    lib.prepare_log_sig(d, degree, method=2)
    if lib is pysiglib:
        lib.prepare_log_sig(d, degree, method=3)  # its join reads this basis
    lib.prepare_branched_sig(d, degree)
    lib.prepare_branched_log_sig(d, degree, 0)
    ls = lib.log_sig(x, degree, method=2)
    bsig = lib.branched_sig(x, degree)
    return [
        ("sig_kernel", lambda: lib.sig_kernel(x, y, dyadic_order=0)),
        ("sig_kernel_backprop",
         lambda: lib.sig_kernel_backprop(k_derivs, x, y, dyadic_order=0)),
        ("sig_kernel_gram", lambda: lib.sig_kernel_gram(x, y, dyadic_order=0)),
        ("log_sig method=2", lambda: lib.log_sig(x, degree, method=2)),
        ("log_sig_join", lambda: lib.log_sig_join(ls, v, d, degree)),
        ("log_sig_join_backprop",
         lambda: lib.log_sig_join_backprop(ls, ls, v, d, degree)),
        ("branched_sig", lambda: lib.branched_sig(x, degree)),
        ("branched_sig_to_log_sig",
         lambda: lib.branched_sig_to_log_sig(bsig, d, degree)),
        ("branched_sig_to_log_sig_backprop",
         lambda: lib.branched_sig_to_log_sig_backprop(bsig, bsig, d, degree)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=300)
    parser.add_argument("--torch", action="store_true", help="torch CPU tensors")
    args = parser.parse_args()
    as_input = np.asarray
    if args.torch:
        import torch

        as_input = torch.from_numpy
    warnings.simplefilter("ignore")  # pySigLib warns about copies; not timed here
    ours = cases(sksig, as_input)
    peers = cases(pysiglib, as_input) if pysiglib else [None] * len(ours)
    peer_version = getattr(pysiglib, "__version__", "absent")
    kind = "torch CPU tensors" if args.torch else "numpy arrays"
    print(f"one item ({kind}), d=2, degree 3, paths of 8 points; median of "
          f"{args.repeat} rounds of {args.number} calls; pysiglib={peer_version}")
    print(f"{'function':<34}{'sksig us':>10}" + (f"{'pysiglib us':>13}{'ratio':>8}"
                                                  if pysiglib else ""))
    for (name, ours_call), peer in zip(ours, peers):
        funcs = [ours_call] + ([peer[1]] if peer else [])
        times = per_call(funcs, args.repeat, args.number) * 1e6
        line = f"{name:<34}{times[0]:>10.1f}"
        if peer:
            line += f"{times[1]:>13.1f}{times[1] / times[0]:>8.2f}"
        print(line)


if __name__ == "__main__":
    main()

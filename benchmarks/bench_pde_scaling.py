"""How close the Goursat PDE sweep gets to the machine: sksig and pySigLib side by side.

Plain script:
``python benchmarks/bench_pde_scaling.py [--quick] [--lengths L ...] [--before DIR]``.
B = 32 pairs of paths, dim 8, float64, the linear static kernel (and one RBF row),
length L in 64..1024 and dyadic order 0..3 (the grid is limited so that a run takes a
few minutes; ``--quick`` keeps L <= 256), at 1 and 2 threads, three workloads:

* ``fwd``: :func:`sksig.sig_kernel`;
* ``fwd+bwd``: the kernels, then :func:`sksig.sig_kernel_backprop` (which recomputes
  the grid);
* ``grid``: the kernels with ``return_grid=True``, then the backprop given that grid
  (``k_grid``), as a framework that saves the forward for the backward does.

pySigLib gets the same calls (``pysiglib.sig_kernel``/``sig_kernel_backprop``, same
arguments). Calls are interleaved after a warm-up, with a 5 ms pause before each
(``_harness.interleaved_times``: pySigLib's threads spin on after its calls), and the
table gives median wall times, the ratio pySigLib / sksig (> 1: sksig faster) and, for
one thread, the median CPU times (``time.process_time``, steadier than wall times on a
shared machine).

"% of limit" compares a time with what the machine could do at best, from a flop/byte
model of the work: limit = max(flops / DGEMM rate, bytes / copy bandwidth), both rates
measured at the start of the same run (numpy matmul of 1024^2 float64 matrices at 1 or
2 threads via threadpoolctl, a 256 MiB np.copyto). Flops: 4 per grid cell of a sweep
(knew = (kold + knew) A - kold B), 16 per cell of the adjoint sweep, and per segment
pair of the increment Gram 2 d + 10 (the product and the cell coefficients; the RBF
kernel adds 3 d + 20 per point pair for the distance and the exp, the exp counted as
20). Bytes: the paths read, kernels and gradients written, and grids written or read.
The model is the same for both libraries.

``--before DIR`` adds a column for an older build: DIR holds a copy of an earlier
``sksig/_core/_sig_kernel*.so``, swapped in for the same calls.
"""

import argparse
import glob
import importlib.util
import time

import numpy as np
from _harness import interleaved_times  # this folder: run as a script
from threadpoolctl import threadpool_limits

import sksig
import sksig._core._backend as cpu_backend

try:
    import pysiglib
except ImportError:  # the peer is optional
    pysiglib = None

B, DIM = 32, 8


def machine_rates():
    """DGEMM flop rates at 1 and 2 threads and the copy bandwidth (bytes/s)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 1024, 1024))
    rates = {}
    for threads in (1, 2):
        with threadpool_limits(threads):
            a @ b
            best = min(_timed(lambda: a @ b) for _ in range(5))
        rates[threads] = 2.0 * 1024**3 / best
    src = np.ones(32 * 2**20)  # 256 MiB
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(5))
    return rates, 2.0 * src.nbytes / best  # read + write


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def model(workload, L, dyadic, rbf):
    """(flops, bytes) of one call on B pairs."""
    n = L - 1
    cells = float(n << dyadic) ** 2
    segments = float(n) ** 2
    gram = segments * (2 * DIM + 10) + (float(L) ** 2 * (3 * DIM + 20) if rbf else 0.0)
    grid_bytes = 8.0 * ((n << dyadic) + 1) ** 2
    path_bytes = 2 * 8.0 * L * DIM
    if workload == "fwd":
        flops, nbytes = 4 * cells + gram, path_bytes + 8
    elif workload == "fwd+bwd":  # forward, then recompute and adjoint
        flops = 4 * cells + 4 * cells + 16 * cells + 3 * gram
        nbytes = 2 * path_bytes + 8 + path_bytes
    else:  # grid written by the forward, read by the backprop
        flops = 4 * cells + 16 * cells + 3 * gram
        nbytes = 2 * path_bytes + 2 * grid_bytes + path_bytes
    return B * flops, B * nbytes


def calls(lib, workload, x, y, dyadic, kernel, n_jobs, derivs):
    """The call timed for one library and workload."""
    kw = {"static_kernel": kernel, "n_jobs": n_jobs}
    if lib is sksig:
        fwd = lambda **o: sksig.sig_kernel(x, y, dyadic, **kw, **o)  # noqa: E731
    else:
        fwd = lambda **o: pysiglib.sig_kernel(x, y, dyadic_order=dyadic, **kw, **o)  # noqa: E731
    bwd = lambda **o: lib.sig_kernel_backprop(  # noqa: E731
        derivs, x, y, dyadic_order=dyadic, left_deriv=True, right_deriv=True, **kw, **o)
    if workload == "fwd":
        return fwd
    if workload == "fwd+bwd":
        return lambda: (fwd(), bwd())
    return lambda: bwd(k_grid=fwd(return_grid=True))


def grid_rows(lengths):
    """(L, dyadic, rbf, workloads) of the table, limited by the cells per pair."""
    for L in lengths:
        for dyadic in range(4):
            cells = ((L - 1) << dyadic) ** 2
            workloads = [w for w, cap in (("fwd", 2**22), ("fwd+bwd", 2**20),
                                          ("grid", 2**18)) if cells <= cap]
            if workloads:
                yield L, dyadic, False, workloads
    if 256 in lengths:
        yield 256, 0, True, ["fwd", "fwd+bwd"]


def load_before(folder):
    """An older _sig_kernel extension, loaded beside the current one. Both share one
    helper pool (parallel.hpp's pool is a unique symbol across modules): the current
    build makes its first two-thread call before the older one, so the pool has the
    current layout, which an older build whose pool has fewer members can use."""
    path = glob.glob(f"{folder}/_sig_kernel.*so")[0]
    spec = importlib.util.spec_from_file_location("sksig_before._sig_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only L <= 256")
    parser.add_argument("--lengths", type=int, nargs="+",
                        help="only these path lengths")
    parser.add_argument("--before", help="folder with an older _sig_kernel*.so")
    parser.add_argument("--seconds", type=float, default=0.5,
                        help="time per row and library (sets the repeats)")
    args = parser.parse_args()
    current = cpu_backend._sig_kernel
    before = load_before(args.before) if args.before else None

    def swapped(module, fn):
        def run():
            cpu_backend._sig_kernel = module
            try:
                fn()
            finally:
                cpu_backend._sig_kernel = current
        return run

    rates, bandwidth = machine_rates()
    print(f"DGEMM {rates[1] / 1e9:.1f} GFLOP/s (1 thread), {rates[2] / 1e9:.1f} "
          f"(2 threads); copy {bandwidth / 1e9:.1f} GB/s (read + write)")
    print(f"B={B}, d={DIM}, float64; medians, ms; % of limit in parentheses")
    head = "| L | dyadic | kernel | workload | threads | sksig |"
    if before:
        head += " before | before / sksig |"
    if pysiglib:
        head += " pySigLib | pySigLib / sksig |"
    head += " CPU ms, 1 thread |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    rng = np.random.default_rng(0)
    lengths = args.lengths or ((64, 128, 256) if args.quick
                               else (64, 128, 256, 512, 1024))
    for L, dyadic, rbf, workloads in grid_rows(lengths):
        x = 0.3 / np.sqrt(L) * rng.normal(size=(B, L, DIM)).cumsum(axis=1)
        y = 0.3 / np.sqrt(L) * rng.normal(size=(B, L, DIM)).cumsum(axis=1)
        derivs = rng.normal(size=B)
        for workload in workloads:
            flops, nbytes = model(workload, L, dyadic, rbf)
            for threads in (1, 2):
                ours = calls(sksig, workload, x, y, dyadic,
                             sksig.RBFKernel(1.0) if rbf else None, threads, derivs)
                fns = [ours]
                if before:
                    fns.append(swapped(before, ours))
                if pysiglib:
                    fns.append(calls(pysiglib, workload, x, y, dyadic,
                                     pysiglib.RBFKernel(1.0) if rbf else None, threads,
                                     derivs))
                once = _timed(ours)
                repeats = int(np.clip(args.seconds / max(once, 1e-6), 3, 15))
                wall, cpu = interleaved_times(fns, repeats, cpu=True)
                times, cpu = np.median(wall, axis=0), np.median(cpu, axis=0)
                limit = max(flops / rates[threads], nbytes / bandwidth)
                cells = [f"{1e3 * t:.2f} ({100 * limit / t:.0f}%)" for t in times]
                name = "rbf" if rbf else "linear"
                row = (f"| {L} | {dyadic} | {name} | {workload} | {threads} | "
                       f"{cells[0]} |")
                if before:
                    row += f" {cells[1]} | {times[1] / times[0]:.2f} |"
                if pysiglib:
                    row += f" {cells[-1]} | {times[-1] / times[0]:.2f} |"
                if threads == 1:
                    row += " " + " / ".join(f"{1e3 * t:.2f}" for t in cpu) + " |"
                else:
                    row += " |"
                print(row, flush=True)


if __name__ == "__main__":
    main()

"""GPU benchmark of the signature kernels (issue 7 rows); needs a CUDA GPU.

Rows: sig_kernel forward and backward on 1,024 pairs of length 1,024 (d = 8, dyadic
orders 0 and 1) and a 1,000 x 1,000 Gram of length-128 paths, in float64. For each row:
sksig on the GPU (median of CUDA-event timings after warm-up), the same with the
materialised Delta (``SKSIG_CUDA_DELTA=scratch``), sksig on the CPU
(n_jobs=-1, median of fewer runs), pySigLib's CUDA plugin when installed, the ratios,
and the fraction of the device's FP64 peak from a flop count per PDE cell (see
sksig/cuda/NOTES.md). Run: ``python -P benchmarks/bench_cuda.py [--quick]``.
"""

import argparse
import functools
import os
import statistics
import time

import numpy as np
import torch

import sksig
import sksig.cuda

# Flops per refined PDE cell (sksig/cuda/NOTES.md): forward 11, backward ~50.
FLOPS_FORWARD = 11
FLOPS_BACKWARD = 50
# Non-tensor-core FP64 peaks in TFLOP/s.
PEAK_FP64 = {
    "H100 SXM": 34.0,
    "H100 PCIe": 26.0,
    "H100": 34.0,
    "H200": 34.0,
    "A100": 9.7,
}


def peak_fp64(name):
    for key, value in PEAK_FP64.items():
        if key in name:
            return value
    return None


def gpu_setup(with_no_cpu=True):
    """Parse the GPU scripts' options (--quick, --no-cpu) and find the device; returns
    ``(args, device name, FP64 peak in TFLOP/s or None)``. Exits without a GPU."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller rows")
    if with_no_cpu:
        parser.add_argument("--no-cpu", action="store_true", help="no CPU timings")
    args = parser.parse_args()
    if not sksig.cuda.is_available():
        raise SystemExit("no CUDA GPU visible (sksig.cuda.is_available() is False)")
    name = sksig.cuda.device_name(0)
    return args, name, peak_fp64(name)


def gpu_time(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = (
            torch.cuda.Event(enable_timing=True),
            torch.cuda.Event(enable_timing=True),
        )
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def cpu_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peer():
    try:
        import pysiglib
    except ImportError:
        return None
    return pysiglib


def rows(quick):
    rng = np.random.default_rng(0)
    n_pairs, length = (128, 256) if quick else (1024, 1024)
    n_gram, gram_len = (200, 128) if quick else (1000, 128)
    d = 8

    def walk(shape):
        inc = rng.normal(size=shape) / np.sqrt(shape[-2] * shape[-1])
        return np.cumsum(inc, axis=-2)

    x, y = walk((n_pairs, length, d)), walk((n_pairs, length, d))
    g = walk((n_gram, gram_len, d))
    for order in (0, 1):
        cells = n_pairs * ((length - 1) * 2**order) ** 2
        yield (
            f"sig_kernel fwd {n_pairs}x L={length} d={d} order {order}",
            cells,
            FLOPS_FORWARD,
            lambda m, a, b, o=order: m.sig_kernel(a, b, dyadic_order=o),
            (x, y),
        )
        yield (
            f"sig_kernel bwd {n_pairs}x L={length} d={d} order {order}",
            cells,
            FLOPS_BACKWARD,
            lambda m, a, b, o=order: m.sig_kernel_backprop(
                _ones(a), a, b, dyadic_order=o
            ),
            (x, y),
        )
    yield (
        f"sig_kernel_gram {n_gram}x{n_gram} L={gram_len} d={d} order 0",
        # A Gram of paths with themselves: only pairs i <= j are solved.
        n_gram * (n_gram + 1) // 2 * (gram_len - 1) ** 2,
        FLOPS_FORWARD,
        lambda m, a, b: m.sig_kernel_gram(a, b, dyadic_order=0),
        (g, g),
    )


def _ones(a):
    if isinstance(a, torch.Tensor):
        return torch.ones(a.shape[0], dtype=a.dtype, device=a.device)
    return np.ones(a.shape[0])


def main():
    args, name, peak = gpu_setup()
    pysiglib = peer()
    print(
        f"device: {name}; FP64 peak {peak} TFLOP/s; pySigLib: "
        f"{'present' if pysiglib else 'absent'}"
    )
    header = (
        f"{'row':48s} {'GPU s':>9s} {'scratch':>9s} {'CPU s':>9s} {'CPU/GPU':>8s} "
        f"{'peer s':>9s} {'peer/GPU':>8s} {'%peak':>6s}"
    )
    print(header)
    for label, cells, flops, call, (a, b) in rows(args.quick):
        ac = torch.from_numpy(a).cuda()
        bc = torch.from_numpy(b).cuda()
        t_gpu = gpu_time(functools.partial(call, sksig, ac, bc), repeats=5)
        # The same row with the materialised Delta (the design before the fused
        # wavefront; only forward passes of linear kernels differ).
        os.environ["SKSIG_CUDA_DELTA"] = "scratch"
        try:
            t_scratch = gpu_time(functools.partial(call, sksig, ac, bc), repeats=5)
        finally:
            del os.environ["SKSIG_CUDA_DELTA"]
        t_cpu = float("nan")
        if not args.no_cpu:
            t_cpu = cpu_time(functools.partial(call, _CpuSksig, a, b), repeats=1)
        t_peer = float("nan")
        if pysiglib is not None:
            try:
                t_peer = gpu_time(functools.partial(call, pysiglib, ac, bc), repeats=5)
            except Exception as exc:  # the peer's API or build may differ
                print(f"  (pySigLib failed on this row: {type(exc).__name__}: {exc})")
        frac = (cells * flops / t_gpu / (peak * 1e12) * 100) if peak else float("nan")
        print(
            f"{label:48s} {t_gpu:9.4f} {t_scratch:9.4f} {t_cpu:9.3f} "
            f"{t_cpu / t_gpu:8.1f} {t_peer:9.4f} {t_peer / t_gpu:8.2f} {frac:6.2f}"
        )


class _CpuSksig:
    """sksig on every CPU core."""

    @staticmethod
    def sig_kernel(*a, **k):
        return sksig.sig_kernel(*a, n_jobs=-1, **k)

    @staticmethod
    def sig_kernel_backprop(*a, **k):
        return sksig.sig_kernel_backprop(*a, n_jobs=-1, **k)

    @staticmethod
    def sig_kernel_gram(*a, **k):
        return sksig.sig_kernel_gram(*a, n_jobs=-1, **k)


if __name__ == "__main__":
    main()

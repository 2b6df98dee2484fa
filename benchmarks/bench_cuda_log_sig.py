"""GPU benchmark of log_sig_join and its backprop (issue 7); needs a CUDA GPU.

For each (dim, degree, batch) row: sksig on the GPU (median of CUDA-event timings after
warm-up), sksig on the CPU (n_jobs=-1), the ratio, and the fraction of the device's
FP64 peak (float64 rows) from the flop count of the algorithm in
src/sksig/cuda/log_sig.cu (``flops`` below: a multiply-add counts 2).
Run: ``python -P benchmarks/bench_cuda_log_sig.py [--quick] [--no-cpu]``.
"""

import functools
import pathlib
import sys

import numpy as np
import torch

import sksig
import sksig.cuda
from sksig._lyndon import _build_tables

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # also under python -P
from bench_cuda import cpu_time, gpu_setup, gpu_time  # noqa: E402


def flops(dim, degree, backward):
    """Flops of one item, as the kernels of log_sig.cu compute it."""
    d, N = dim, degree
    tables = _build_tables(d, N)
    pos, tri_ptr, exp_ptr = tables.pos, tables.tri_ptr, tables.exp_ptr
    pw = [d**k for k in range(N + 1)]
    n_top = int(sum(1 for p in pos if p >= sum(pw[:N])))
    count = [pw[k] for k in range(N)] + [n_top]  # level N at the Lyndon words only

    def product(K, a_lo, scalar_b):
        return sum(2 * count[k] * (1 if scalar_b else k - a_lo + 1)
                   for k in range(max(a_lo, 1), K + 1))

    chain = sum(product(s + 1, 1, s == 0) for s in range(N))
    fwd = 2 * exp_ptr[-1] + 2 * chain + product(N, 0, False) + 2 * tri_ptr[-1]
    fwd += sum(2 * k * pw[k] for k in range(N + 1))  # exp(v)
    if not backward:
        return fwd

    def adjoint(K, a_lo, scalar_b, with_db):
        da = sum(pw[i] * (1 if scalar_b else sum(pw[k - i] for k in range(i, K + 1)))
                 for i in range(1, K + 1))
        db = sum(pw[j] * sum(pw[i] for i in range(a_lo, K - j + 1))
                 for j in range(1, K - a_lo + 1)) if with_db else 0
        return 2 * (da + db)

    adj = 2 * sum(adjoint(s + 1, 1, s == 0, s > 0) for s in range(N))
    adj += adjoint(N, 0, False, True) + sum(4 * pw[j] for j in range(1, N + 1))
    return fwd + adj + 2 * tri_ptr[-1] + 2 * exp_ptr[-1]


def main():
    args, name, peak = gpu_setup()
    print(f"device: {name}; FP64 peak {peak} TFLOP/s")
    print(f"{'row':44s} {'GPU s':>9s} {'CPU s':>9s} {'CPU/GPU':>8s} {'%peak':>6s}")
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)
    for dim, degree, batch in [(2, 3, 1_000_000), (5, 4, 100_000), (2, 8, 100_000),
                               (10, 4, 10_000), (3, 6, 20_000)]:
        batch //= scale
        n = sksig.log_sig_length(dim, degree)
        for dtype in (np.float64, np.float32):
            c = (rng.normal(size=(batch, n)) * 0.3).astype(dtype)
            v = (rng.normal(size=(batch, dim)) * 0.3).astype(dtype)
            g = rng.normal(size=(batch, n)).astype(dtype)
            cc, vc, gc = (torch.from_numpy(a).cuda() for a in (c, v, g))
            for backward in (False, True):
                if backward:
                    fn, arrays = sksig.log_sig_join_backprop, (g, c, v)
                    gpu_arrays = (gc, cc, vc)
                else:
                    fn, arrays, gpu_arrays = sksig.log_sig_join, (c, v), (cc, vc)
                t_gpu = gpu_time(
                    functools.partial(fn, *gpu_arrays, dim, degree), repeats=5)
                t_cpu = float("nan")
                if not args.no_cpu:
                    on_cpu = functools.partial(fn, *arrays, dim, degree, n_jobs=-1)
                    t_cpu = cpu_time(on_cpu, repeats=1)
                frac = float("nan")
                if peak and dtype == np.float64:
                    frac = batch * flops(dim, degree, backward) / t_gpu / peak / 1e10
                label = (f"join{' bwd' if backward else ''} d={dim} N={degree} "
                         f"{batch}x {np.dtype(dtype).name}")
                print(f"{label:44s} {t_gpu:9.5f} {t_cpu:9.4f} {t_cpu / t_gpu:8.1f} "
                      f"{frac:6.2f}")


if __name__ == "__main__":
    main()

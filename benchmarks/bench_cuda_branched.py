"""GPU benchmark of the branched signatures (issue 7 rows); needs a CUDA GPU.

Rows, in float64: branched_sig of 4,096 paths of length 128 (d = 3, degree 4,
non-planar and planar), branched_sig_to_log_sig and its backprop on those signatures.
For each row: sksig on the GPU (median of CUDA-event timings after warm-up), sksig on
the CPU (n_jobs=-1), the ratio, and the fraction of the device's FP64 peak from the
flop counts of the header of sksig/cuda/branched.cu, counted exactly from the tables.
Run: ``python -P benchmarks/bench_cuda_branched.py [--quick]``.
"""

import pathlib
import sys
from functools import partial

import numpy as np
import torch

import sksig
import sksig.cuda
from sksig._tree_tables import tables

sys.path.insert(0, str(pathlib.Path(__file__).parent))  # also under python -P
from bench_cuda import cpu_time, gpu_setup, gpu_time  # noqa: E402


def sig_flops(tb, n_paths, length):
    nat = tb.native()
    n_terms = nat["term_coef_float64"].shape[0]
    n_forest = nat["forest_first"].shape[0]
    return n_paths * (length - 1) * (3 * n_terms + 3 * tb.n + n_forest)


def log_flops(tb, batch, lyndon_only):
    """3 flops per term the log visits (up to the first vanishing right factor), 2 per
    element and level (log += c P_k), 1 per forest product."""
    nat = tb.native()
    lv = tb.levels(lyndon_only)
    ptr, right, start = nat["term_ptr"], nat["term_right"], nat["order_start"]
    total = nat["forest_first"].shape[0]
    for k in range(2, tb.degree + 1):
        elems = lv["level_idx"][lv["level_ptr"][k]: lv["level_ptr"][k + 1]]
        for e in elems:
            r = right[ptr[e - 1]: ptr[e]]
            total += 3 * int(np.count_nonzero(r >= start[k - 1])) + 2
    return batch * total


def main():
    args, name, peak = gpu_setup(with_no_cpu=False)
    n_paths, length, dim, degree = (512 if args.quick else 4096), 128, 3, 4
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(n_paths, length, dim)) * 0.1, axis=1)
    xg = torch.from_numpy(x).cuda()
    repeats = 3 if args.quick else 10
    print(f"device: {name}; {n_paths} paths, length {length}, d = {dim}, "
          f"degree {degree}")
    print(f"{'row':44s} {'GPU s':>10s} {'CPU s':>10s} {'CPU/GPU':>8s} {'% peak':>7s}")
    for planar in (False, True):
        tb = tables(dim, degree, planar)
        method = 1 if planar else 0
        bs = sksig.branched_sig(x, degree, planar=planar)
        bsg = torch.from_numpy(bs).cuda()
        dl = rng.normal(size=sksig.branched_sig_to_log_sig(bs[:1], dim, degree,
                                                           planar=planar).shape[1:])
        derivs = np.broadcast_to(dl, (n_paths,) + dl.shape).copy()
        dg = torch.from_numpy(derivs).cuda()
        kw = {"planar": planar}
        log_work = log_flops(tb, n_paths, bool(method))
        rows = [
            ("branched_sig", sig_flops(tb, n_paths, length),
             partial(sksig.branched_sig, xg, degree, **kw),
             partial(sksig.branched_sig, x, degree, n_jobs=-1, **kw)),
            ("branched_sig_to_log_sig", log_work,
             partial(sksig.branched_sig_to_log_sig, bsg, dim, degree, **kw),
             partial(sksig.branched_sig_to_log_sig, bs, dim, degree, n_jobs=-1, **kw)),
            ("branched_sig_to_log_sig_backprop", 3 * log_work,
             partial(sksig.branched_sig_to_log_sig_backprop, bsg, dg, dim, degree,
                     **kw),
             partial(sksig.branched_sig_to_log_sig_backprop, bs, derivs, dim, degree,
                     n_jobs=-1, **kw)),
        ]
        for label, flops, on_gpu, on_cpu in rows:
            tg = gpu_time(on_gpu, repeats)
            tc = cpu_time(on_cpu, max(1, repeats // 3))
            pct = f"{100 * flops / tg / (peak * 1e12):6.2f}%" if peak else "   n/a"
            row = f"{label} ({'planar' if planar else 'non-planar'})"
            print(f"{row:44s} {tg:10.4f} {tc:10.4f} {tc / tg:8.1f} {pct}")


if __name__ == "__main__":
    main()

"""The vector and scalar copies of the CPU kernels give bitwise identical results.

On x86-64 Linux the hot kernels of sig, log_sig, the branched signatures, their
products (sig_combine, branched_sig_combine), sig_coef and the signature kernels
(finite-difference, polynomial and branched; the exp-based static kernels' rows
and the cores' own exp among them) are compiled twice (baseline x86-64 and
x86-64-v3 with AVX2 and FMA; sksig/_core/include/sksig/simd.hpp) and the v3 copy runs
where the CPU has it. Both are built without floating-point contraction, so they must
perform the same IEEE operations: this test computes every such function in this
process (vector copy) and in a subprocess with SKSIG_VECTOR_CLONES=0 (scalar copy) and
compares the bytes. A product
fused into an FMA on one path only would show up here as a last-bit difference.

Run as a script (``python tests/test_simd_paths.py out.npz``) it writes the results.
"""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest


def _results():
    import sksig

    rng = np.random.default_rng(12)
    out = {}
    for dtype in (np.float64, np.float32):
        tag = np.dtype(dtype).name
        # d = 2, 3, 4 use the fixed-dimension kernels, d = 5 the runtime-dimension ones;
        # 11 paths: a partial pack of items.
        for dim, degree in ((2, 5), (3, 4), (4, 3), (5, 3)):
            path = (0.3 * rng.normal(size=(11, 9, dim))).astype(dtype)
            key = f"{tag}_d{dim}"
            s = sksig.sig(path, degree)
            out[f"sig_{key}"] = s
            out[f"sig_backprop_{key}"] = sksig.sig_backprop(
                path, s, rng.normal(size=s.shape).astype(dtype), degree)
            for method in (1, 2):
                ls = sksig.log_sig(path, degree, method=method)
                out[f"log_sig{method}_{key}"] = ls
                out[f"log_sig_backprop{method}_{key}"] = sksig.log_sig_backprop(
                    path, ls, rng.normal(size=ls.shape).astype(dtype), degree,
                    method=method)
            ls = sksig.log_sig(path, degree, method=1)
            disp = (0.3 * rng.normal(size=(11, dim))).astype(dtype)
            joined = sksig.log_sig_join(ls, disp, dim, degree)
            out[f"log_sig_join_{key}"] = joined
            grads = sksig.log_sig_join_backprop(
                rng.normal(size=joined.shape).astype(dtype), ls, disp, dim, degree)
            for i, g in enumerate(grads):
                out[f"log_sig_join_backprop{i}_{key}"] = g
        # Branched signatures: 19 paths (a full and a partial block of lanes).
        path = (0.3 * rng.normal(size=(19, 7, 3))).astype(dtype)
        for planar in (False, True):
            key = f"{tag}_planar{planar}"
            b = sksig.branched_sig(path, 4, planar=planar)
            out[f"branched_sig_{key}"] = b
            out[f"branched_sig_backprop_{key}"] = sksig.branched_sig_backprop(
                path, b, rng.normal(size=b.shape).astype(dtype), 4, planar=planar)
            out[f"branched_log_sig_{key}"] = sksig.branched_log_sig(path, 4,
                                                                    planar=planar)
        # Signature kernels: more pairs than one block of lanes, refined grids.
        x = (0.3 * rng.normal(size=(20, 6, 2))).astype(dtype).cumsum(axis=1)
        y = (0.3 * rng.normal(size=(20, 5, 2))).astype(dtype).cumsum(axis=1)
        k = sksig.sig_kernel(x, y, 1)
        out[f"sig_kernel_{tag}"] = k
        gx, gy = sksig.sig_kernel_backprop(np.ones_like(k), x, y, 1, right_deriv=True)
        out[f"sig_kernel_backprop_x_{tag}"] = gx
        out[f"sig_kernel_backprop_y_{tag}"] = gy
        out[f"sig_kernel_gram_{tag}"] = sksig.sig_kernel_gram(x[:7], y[:9], 2)
        # The exp-based static kernels (vectorised kernel rows and chain rule) and the
        # exp itself over its range and edges.
        for name, kernel in (("rbf", sksig.RBFKernel(0.7)),
                             ("matern52", sksig.Matern52Kernel(0.9))):
            k = sksig.sig_kernel(x, y, 1, static_kernel=kernel)
            out[f"sig_kernel_{name}_{tag}"] = k
            gx, gy = sksig.sig_kernel_backprop(np.ones_like(k), x, y, 1,
                                               right_deriv=True, static_kernel=kernel)
            out[f"sig_kernel_{name}_backprop_x_{tag}"] = gx
            out[f"sig_kernel_{name}_backprop_y_{tag}"] = gy
        from sksig._core import _fast_exp

        edges = [np.inf, -np.inf, np.nan, -745.13, 88.7, -103.9]
        e = np.concatenate([np.linspace(-750.0, 712.0, 1001), edges]).astype(dtype)
        out[f"fast_exp_{tag}"] = np.empty_like(e)
        _fast_exp.exp_row(e, out[f"fast_exp_{tag}"])
        # The polynomial solver (order 8): 6 pairs, a full and a partial block of lanes.
        poly = dict(method="polynomial", order=8)
        k = sksig.sig_kernel(x[:6], y[:6], **poly)
        out[f"sig_kernel_poly_{tag}"] = k
        gx, gy = sksig.sig_kernel_backprop(
            rng.normal(size=k.shape).astype(dtype), x[:6], y[:6], right_deriv=True,
            **poly)
        out[f"sig_kernel_poly_backprop_x_{tag}"] = gx
        out[f"sig_kernel_poly_backprop_y_{tag}"] = gy
        # Branched signature kernels (depth 3, refined grid).
        k = sksig.branched_sig_kernel(x[:5], y[:5], 3, 1)
        out[f"branched_sig_kernel_{tag}"] = k
        gx, gy = sksig.branched_sig_kernel_backprop(
            rng.normal(size=k.shape).astype(dtype), x[:5], y[:5], 3, 1,
            right_deriv=True)
        out[f"branched_sig_kernel_backprop_x_{tag}"] = gx
        out[f"branched_sig_kernel_backprop_y_{tag}"] = gy
        # Chen's product of branched signatures (19 items: a full and a partial block).
        path = (0.3 * rng.normal(size=(19, 7, 3))).astype(dtype)
        for planar in (False, True):
            key = f"{tag}_planar{planar}"
            a = sksig.branched_sig(path[:, :4], 3, planar=planar)
            b = sksig.branched_sig(path[:, 3:], 3, planar=planar)
            c = sksig.branched_sig_combine(a, b, 3, 3, planar=planar)
            out[f"branched_sig_combine_{key}"] = c
            grads = sksig.branched_sig_combine_backprop(
                rng.normal(size=c.shape).astype(dtype), a, b, 3, 3, planar=planar)
            for i, g in enumerate(grads):
                out[f"branched_sig_combine_backprop{i}_{key}"] = g
        # Chen's product of signatures and single coefficients (d = 2..5).
        for dim, degree in ((2, 5), (3, 4), (4, 3), (5, 3)):
            path = (0.3 * rng.normal(size=(11, 9, dim))).astype(dtype)
            a = sksig.sig(path[:, :5], degree)
            b = sksig.sig(path[:, 4:], degree)
            out[f"sig_combine_{tag}_d{dim}"] = sksig.sig_combine(a, b, dim, degree)
            words = [(0, 1), (1, 0, 1), (), (0,) * degree, (dim - 1, 0, dim - 1)]
            out[f"sig_coef_{tag}_d{dim}"] = sksig.sig_coef(path, words)
    return out


def _has_vector_copy():
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        return False
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return all(__cpu_features__.get(f, False) for f in ("AVX2", "FMA3", "F16C"))


@pytest.mark.skipif(not _has_vector_copy(),
                    reason="no x86-64-v3 copy of the kernels on this machine")
def test_vector_and_scalar_copies_agree_bitwise(tmp_path):
    target = tmp_path / "scalar.npz"
    env = dict(os.environ, SKSIG_VECTOR_CLONES="0")
    subprocess.run([sys.executable, __file__, str(target)], env=env, check=True,
                   timeout=300)
    with np.load(target) as scalar:
        vector = _results()
        assert sorted(scalar.files) == sorted(vector)
        for name, got in vector.items():
            want = scalar[name]
            assert got.dtype == want.dtype and got.shape == want.shape, name
            assert got.tobytes() == want.tobytes(), (
                f"{name}: the scalar and vector copies differ "
                f"(max abs diff {np.max(np.abs(got - want))})")


if __name__ == "__main__":
    np.savez(sys.argv[1], **_results())

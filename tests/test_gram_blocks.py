"""Gram matrices block by block: values, block plan, out-of-core output, memory bound,
progress, joblib backends, Ctrl-C.

Values are checked against the naive PDE oracle of ``_oracles_estimators`` and against
the one-call native Gram (bit for bit: blocking never changes a pair's computation).
The Dask cluster tests are in ``test_dask.py``.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
import sklearn
from _oracles_estimators import sig_kernel_gram as oracle_gram
from _oracles_estimators import time_aug as oracle_time_aug
from joblib import parallel_config

import sksig
import sksig._gram_blocks as gb
from sksig import RBFKernel, SigKernel


def _paths(rng, n, length, dim, scale=0.3):
    return scale * rng.standard_normal((n, length, dim)).cumsum(axis=1)


@pytest.fixture
def tiny_blocks():
    """working_memory small enough that a Gram of a few dozen paths has many blocks."""
    with sklearn.config_context(working_memory=2e-3):  # 2 KiB: 262 float64 pairs
        yield


@pytest.fixture
def block_log(monkeypatch):
    """Record every block the engine computes: (rows, cols, nbytes, diagonal)."""
    log = []
    native = gb.host_kernels

    def recording(x, y, *args, **kwargs):
        block = native(x, y, *args, **kwargs)
        same_start = (x.__array_interface__["data"][0]
                      == y.__array_interface__["data"][0])
        log.append((x.shape[0], y.shape[0], block.nbytes, same_start))
        return block

    monkeypatch.setattr(gb, "host_kernels", recording)
    return log


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocks_match_oracle(rng, tiny_blocks, block_log, dtype):
    X = _paths(rng, 30, 4, 2).astype(dtype)
    Y = _paths(rng, 23, 5, 2).astype(dtype)
    want = oracle_gram(X, Y, (1, 1))
    got = sksig.sig_kernel_gram_blocks(X, Y, 1)
    assert got.dtype == dtype and len(block_log) == 4  # 2 x 2 tiles of <= 262 pairs
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol)
    sym = sksig.sig_kernel_gram_blocks(X, None, 1)
    np.testing.assert_allclose(sym, oracle_gram(X, X, (1, 1)), rtol=tol)


def test_blocks_match_oracle_transforms_kernel_orders_ragged(rng, tiny_blocks):
    X = [0.3 * rng.standard_normal((n, 2)).cumsum(axis=0) for n in [3, 5, 4] * 8]
    Y = _paths(rng, 17, 3, 2)
    static = RBFKernel(2.0)
    got = sksig.sig_kernel_gram_blocks(X, Y, (1, 2), static_kernel=static,
                                       time_aug=True)
    want = oracle_gram([oracle_time_aug(x) for x in X],
                       [oracle_time_aug(y) for y in Y], (1, 2), ("rbf", {"sigma": 2.0}))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # Unequal orders: K(X, X) is not symmetric and every block is computed.
    got = sksig.sig_kernel_gram_blocks(X, None, (0, 1))
    np.testing.assert_allclose(got, oracle_gram(X, X, (0, 1)), rtol=1e-10)
    assert not np.allclose(got, got.T)


@pytest.mark.parametrize("symmetric", [True, False])
def test_blocks_equal_one_native_call_bitwise(rng, tiny_blocks, symmetric):
    X = _paths(rng, 41, 6, 3)
    Y = None if symmetric else _paths(rng, 19, 4, 3)
    want = sksig.sig_kernel_gram(X, X if symmetric else Y, 1, lead_lag=True)
    got = sksig.sig_kernel_gram_blocks(X, Y, 1, lead_lag=True, n_jobs=2)
    np.testing.assert_array_equal(got, want)


def test_large_sig_kernel_gram_goes_through_blocks(rng, tiny_blocks, block_log):
    # sig_kernel_gram hands a Gram larger than one block to the engine; batch shapes,
    # float32 and unequal orders keep their meaning.
    X = _paths(rng, 24, 4, 2)
    Y = _paths(rng, 30, 3, 2)
    got = sksig.sig_kernel_gram(X.reshape(4, 6, 4, 2), Y, 1)
    assert got.shape == (4, 6, 30) and len(block_log) > 1
    np.testing.assert_allclose(got.reshape(24, 30), oracle_gram(X, Y, (1, 1)),
                               rtol=1e-10)
    block_log.clear()
    sym = sksig.sig_kernel_gram(X, X.copy(), (1, 1))
    assert sum(1 for *_, diag in block_log if not diag) > 0
    np.testing.assert_allclose(sym, oracle_gram(X, X, (1, 1)), rtol=1e-10)
    np.testing.assert_array_equal(sym, sym.T)
    got32 = sksig.sig_kernel_gram(X.astype(np.float32), Y.astype(np.float32), (0, 1))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, oracle_gram(X, Y, (0, 1)), rtol=1e-4)


def test_large_sig_kernel_gram_torch_in_torch_out(rng, tiny_blocks):
    torch = pytest.importorskip("torch")
    X = _paths(rng, 25, 4, 2)
    got = sksig.sig_kernel_gram(torch.from_numpy(X), torch.from_numpy(X[:20]), 1)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), oracle_gram(X, X[:20], (1, 1)), rtol=1e-10)


def test_sig_kernel_gram_one_block_is_one_native_call(rng, block_log):
    X = _paths(rng, 30, 4, 2)
    sksig.sig_kernel_gram(X, X, 1)
    assert block_log == []


def test_symmetric_gram_computes_each_pair_once(rng, tiny_blocks, block_log):
    X = _paths(rng, 50, 3, 2)
    sksig.sig_kernel_gram_blocks(X, None, 0)
    n = 50
    # Diagonal tiles go whole to the native symmetric path (which solves each of
    # their pairs once); the pairs off them are computed once, not twice.
    diagonal = [r for r, c, _, diag in block_log if diag]
    assert sum(diagonal) == n
    off = sum(r * c for r, c, _, diag in block_log if not diag)
    assert off == (n * n - sum(t * t for t in diagonal)) // 2


def test_block_memory_follows_working_memory(rng, block_log):
    X = _paths(rng, 120, 3, 2)
    for mib in (0.01, 0.05):
        block_log.clear()
        with sklearn.config_context(working_memory=mib):
            G = sksig.sig_kernel_gram_blocks(X, X[:70], 0)
        assert max(b for _, _, b, _ in block_log) <= mib * 2**20
        assert len(block_log) > 1
        np.testing.assert_array_equal(G, sksig.sig_kernel_gram(X, X[:70], 0))


def test_blocks_respect_the_time_limit_per_block(rng, monkeypatch, block_log):
    # A block solves at most _BLOCK_CELLS grid cells per thread.
    monkeypatch.setattr(gb, "_BLOCK_CELLS", 4000)
    X = _paths(rng, 40, 5, 2)  # (5 - 1) * 2 + 1 = 9 points per side: 81 cells a pair
    sksig.sig_kernel_gram_blocks(X, X[:30], 1)
    assert max(r * c for r, c, _, _ in block_log) * 81 <= 4000
    block_log.clear()
    sksig.sig_kernel_gram_blocks(X, X[:30], 1, n_jobs=2)
    assert max(r * c for r, c, _, _ in block_log) * 81 <= 8000


def test_out_of_core_memmap_equals_in_memory(rng, tiny_blocks, tmp_path):
    X = _paths(rng, 37, 4, 2)
    out = np.lib.format.open_memmap(tmp_path / "gram.npy", mode="w+",
                                    dtype=np.float64, shape=(37, 37))
    assert sksig.sig_kernel_gram_blocks(X, None, 1, out=out) is out
    out.flush()
    del out
    np.testing.assert_array_equal(np.load(tmp_path / "gram.npy"),
                                  sksig.sig_kernel_gram(X, X, 1))


@pytest.mark.parametrize("symmetric", [True, False])
def test_out_file_path(rng, tiny_blocks, tmp_path, symmetric):
    X = _paths(rng, 29, 4, 2).astype(np.float32)
    Y = None if symmetric else X[:11]
    got = sksig.sig_kernel_gram_blocks(X, Y, 1, out=tmp_path / "gram.npy")
    assert isinstance(got, np.memmap) and got.dtype == np.float32
    assert not got.flags.writeable
    np.testing.assert_array_equal(np.load(tmp_path / "gram.npy"),
                                  sksig.sig_kernel_gram(X, X if symmetric else Y, 1))
    del got


_RSS_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np, sklearn, sksig

    X = np.random.default_rng(0).standard_normal((4000, 3, 2)) / 5  # 128 MB Gram
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with sklearn.config_context(working_memory=8):
        sksig.sig_kernel_gram_blocks(X, None, 0, out=sys.argv[1])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) / 1024)  # MiB (ru_maxrss is in KiB on Linux)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB")
def test_out_file_path_keeps_resident_memory_bounded(tmp_path):
    # A 128 MB Gram written to a file path in blocks of at most 8 MiB: the peak
    # resident set grows by a few blocks, not by the Gram (a memmap's would).
    path = tmp_path / "gram.npy"
    done = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)],
                          capture_output=True, text=True, check=True)
    growth = float(done.stdout.strip())
    assert growth < 48, f"resident set grew by {growth:.0f} MiB"
    gram = np.load(path, mmap_mode="r")
    X = np.random.default_rng(0).standard_normal((4000, 3, 2)) / 5
    rows = [0, 1234, 3999]
    np.testing.assert_array_equal(gram[rows], sksig.sig_kernel_gram(X[rows], X, 0))


def test_out_any_slice_assignable_array_and_dtype_cast(rng, tiny_blocks):
    class Store:
        """A minimal array store (like a zarr array): shape and slice assignment."""

        def __init__(self, shape):
            self.shape, self.data, self.writes = shape, np.full(shape, np.nan), 0

        def __setitem__(self, key, value):
            self.data[key] = value
            self.writes += 1

    X = _paths(rng, 25, 3, 2)
    store = Store((25, 25))
    sksig.sig_kernel_gram_blocks(X, X, 0, out=store)
    assert store.writes > 2
    np.testing.assert_array_equal(store.data, sksig.sig_kernel_gram(X, X, 0))
    out32 = np.zeros((25, 10), np.float32)
    sksig.sig_kernel_gram_blocks(X, X[:10], 0, out=out32)
    np.testing.assert_array_equal(out32, sksig.sig_kernel_gram(X, X[:10], 0)
                                  .astype(np.float32))


def test_out_of_core_peak_memory_bounded(rng, tmp_path):
    # A 2500 x 2500 Gram is 50 MB; written to a memmap in blocks of at most 4 MiB,
    # the traced allocations (numpy reports its buffers to tracemalloc) stay small.
    X = _paths(rng, 2500, 3, 2)
    out = np.memmap(tmp_path / "gram.bin", mode="w+", dtype=np.float64,
                    shape=(2500, 2500))
    tracemalloc.start()
    try:
        with sklearn.config_context(working_memory=4):
            sksig.sig_kernel_gram_blocks(X, None, 0, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    rows = rng.choice(2500, 40, replace=False)
    np.testing.assert_array_equal(out[rows], sksig.sig_kernel_gram(X[rows], X, 0))


def test_verbose_reports_blocks_rate_and_time_left(rng, tiny_blocks, capsys):
    X = _paths(rng, 30, 3, 2)
    G = sksig.sig_kernel_gram_blocks(X, None, 0, verbose=1)
    text = capsys.readouterr().out
    assert "[sksig] Gram 30 x 30: block" in text and "blocks/s" in text
    assert "s left" in text and "100.0%" in text
    np.testing.assert_array_equal(G, sksig.sig_kernel_gram(X, X, 0))


def test_estimator_grams_use_blocks(rng, tiny_blocks, block_log, capsys):
    X, Z = _paths(rng, 30, 4, 2), _paths(rng, 9, 4, 2)
    est = SigKernel(normalize=True, verbose=1)
    K = est.fit_transform(X)
    assert len(block_log) > 1
    np.testing.assert_array_equal(K, SigKernel(normalize=True).fit_transform(X))
    want = oracle_gram(Z, X, (1, 1))
    dz, dx = np.diag(oracle_gram(Z, Z, (1, 1))), np.diag(oracle_gram(X, X, (1, 1)))
    np.testing.assert_allclose(est.transform(Z), want / np.sqrt(np.outer(dz, dx)),
                               rtol=1e-10)
    assert "[SigKernel] Gram 9 x 30" in capsys.readouterr().out


@pytest.mark.parametrize("config", [dict(backend="threading", n_jobs=2),
                                    dict(backend="loky", n_jobs=2)])
def test_joblib_backends_give_the_same_gram(rng, tiny_blocks, config):
    X = _paths(rng, 33, 4, 2)
    want = sksig.sig_kernel_gram(X, X, 1)
    with parallel_config(**config):
        got = sksig.sig_kernel_gram_blocks(X, None, 1)
        got_est = SigKernel()(X)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_est, want)


def test_backend_workers():
    from joblib.parallel import get_active_backend

    assert gb._backend_workers(*get_active_backend()) == 1  # default: this process
    with parallel_config(backend="threading"):
        assert gb._backend_workers(*get_active_backend()) == 1
    with parallel_config(backend="threading", n_jobs=3):
        assert gb._backend_workers(*get_active_backend()) == 3


def test_bad_input_errors(rng):
    X = _paths(rng, 4, 3, 2)
    with pytest.raises(ValueError, match=r"out must have the Gram's shape \(4, 2\)"):
        sksig.sig_kernel_gram_blocks(X, X[:2], 0, out=np.zeros((2, 4)))
    with pytest.raises(TypeError, match="out must be an array supporting slice"):
        sksig.sig_kernel_gram_blocks(X, None, 0, out=(1, 2))
    with pytest.raises(ValueError, match="path1 must be one batch of paths"):
        sksig.sig_kernel_gram_blocks(X[None], None, 0)
    with pytest.raises(ValueError, match="path2 must be one batch of paths"):
        sksig.sig_kernel_gram_blocks(X, X[0], 0)
    with pytest.raises(ValueError, match="same dimension, got 2 and 3"):
        sksig.sig_kernel_gram_blocks(X, _paths(rng, 2, 3, 3), 0)
    with pytest.raises(TypeError, match="verbose must be an int"):
        sksig.sig_kernel_gram_blocks(X, None, 0, verbose="yes")
    with pytest.raises(ValueError, match="dyadic_order must be an int >= 0"):
        sksig.sig_kernel_gram_blocks(X, None, -1)
    with pytest.raises(ValueError, match="NaN|finite"):
        sksig.sig_kernel_gram_blocks(np.full((2, 3, 1), np.nan), None, 0)
    with pytest.raises(FloatingPointError, match="overflowed"):
        sksig.sig_kernel_gram_blocks((100 * X).astype(np.float32), None, 2)
    empty = sksig.sig_kernel_gram_blocks(np.zeros((0, 3, 2)), X, 0)
    assert empty.shape == (0, 4)


_INTERRUPT_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import sksig

    X = np.random.default_rng(0).standard_normal((3000, 30, 3)).cumsum(axis=1) / 20
    print("start", flush=True)
    try:
        sksig.sig_kernel_gram_blocks(X, None, 2)  # minutes of work on one core
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter(), flush=True)
    # The process is still usable.
    print("after", float(sksig.sig_kernel_gram_blocks(X[:2], None, 0)[0, 0]),
          flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child on POSIX")
def test_ctrl_c_stops_a_long_gram_between_blocks():
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPT_SCRIPT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(1.0)  # well into the Gram
        sent = time.perf_counter()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    lines = out.split("\n")
    assert lines[0].startswith("interrupted"), (out, err)
    assert float(lines[0].split()[1]) - sent < 2.0  # perf_counter is system-wide
    assert lines[1].startswith("after")


def test_dask_is_imported_only_when_used():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import sksig
        X = np.zeros((3, 4, 2))
        sksig.sig_kernel_gram_blocks(X, None, 0)
        sksig.SigKernelNystroem(2, random_state=0).fit_transform(X)
        print(sorted({m.split(".")[0] for m in sys.modules} & {"dask", "distributed"}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    assert out.stdout.strip() == "[]"

"""Gram blocks and transforms on a real Dask cluster (two worker processes, loopback).

Results are compared with the in-process Gram (itself checked against the naive oracle
in test_gram_blocks.py), and the scheduler's task stream shows where the blocks ran.
Skipped where dask.distributed is not installed.
"""

import re

import numpy as np
import pytest
import sklearn
from _oracles_estimators import sig_kernel_gram as oracle_gram

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from joblib import parallel_config  # noqa: E402

import sksig  # noqa: E402
import sksig._gram_blocks as gb  # noqa: E402
from sksig import SigKernel, SigKernelNystroem  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, worker_dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _paths(rng, n, length, dim, scale=0.3):
    return scale * rng.standard_normal((n, length, dim)).cumsum(axis=1)


def _block_calls(records):
    """Blocks run, counted from the task records (joblib may batch several)."""
    total = 0
    for record in records:
        key = str(record["key"])
        match = re.search(r"batch_of__block_(\d+)_calls", key)
        total += int(match.group(1)) if match else key.startswith("_block")
    return total


def test_gram_under_dask_backend_runs_on_the_workers(client, rng):
    X, Y = _paths(rng, 60, 6, 2), _paths(rng, 25, 5, 2)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        sym = sksig.sig_kernel_gram_blocks(X, None, 1)
        cross = sksig.sig_kernel_gram_blocks(X, Y, 1)
    np.testing.assert_array_equal(sym, sksig.sig_kernel_gram(X, X, 1))
    np.testing.assert_array_equal(cross, sksig.sig_kernel_gram(X, Y, 1))
    np.testing.assert_allclose(cross, oracle_gram(X, Y, (1, 1)), rtol=1e-10)
    workers = set(client.scheduler_info()["workers"])
    assert {r["worker"] for r in stream.data} == workers  # both workers took blocks
    # Every block of both Grams ran as a task: at least 4 per worker each time.
    n_sym = gb._Plan(60, 60, True, gb._max_pairs(60, 60, True, 8, 121, 1, 2)).n_blocks
    n_cross = gb._Plan(60, 25, False,
                       gb._max_pairs(60, 25, False, 8, 99, 1, 2)).n_blocks
    assert n_sym >= 8 and n_cross >= 8
    assert _block_calls(stream.data) == n_sym + n_cross


def test_paths_are_shipped_to_the_cluster_once(client, rng, monkeypatch):
    # joblib's dask backend scatters each path array once per Gram; the tasks then
    # refer to it (they slice their block where they run).
    scattered = []
    scatter = client.scatter

    def counting(data, *args, **kwargs):
        scattered.append(getattr(data, "shape", None))
        return scatter(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    X, Y = _paths(rng, 50, 6, 2), _paths(rng, 30, 5, 2)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        G = sksig.sig_kernel_gram_blocks(X, Y, 1)
    assert _block_calls(stream.data) >= 8
    assert sorted(scattered) == [(30, 5, 2), (50, 6, 2)]
    np.testing.assert_array_equal(G, sksig.sig_kernel_gram(X, Y, 1))


def test_estimator_grams_under_dask_backend(client, rng):
    X, Z = _paths(rng, 40, 5, 2), _paths(rng, 15, 7, 2)
    est = SigKernel(normalize=True)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        K = est.fit_transform(X)
        KZ = est.transform(Z)
        F = SigKernelNystroem(10, random_state=0).fit(X).transform(Z)
    assert _block_calls(stream.data) >= 24
    local = SigKernel(normalize=True)
    np.testing.assert_array_equal(K, local.fit_transform(X))
    np.testing.assert_array_equal(KZ, local.transform(Z))
    np.testing.assert_array_equal(F, SigKernelNystroem(10, random_state=0)
                                  .fit(X).transform(Z))


def test_dask_array_in_dask_array_out(client, rng):
    X, Z = _paths(rng, 20, 5, 2), _paths(rng, 31, 5, 2)
    est = SigKernel().fit(X)
    Zd = da.from_array(Z, chunks=(8, 5, 2))
    K = est.transform(Zd)
    assert isinstance(K, da.Array) and K.chunks == ((8, 8, 8, 7), (20,))
    with distributed.get_task_stream(client) as stream:
        got = K.compute()
    np.testing.assert_array_equal(got, est.transform(Z))
    np.testing.assert_allclose(got, oracle_gram(Z, X, (1, 1)), rtol=1e-10)
    ran = {r["worker"] for r in stream.data if "transform_chunk" in str(r["key"])}
    assert ran == set(client.scheduler_info()["workers"])
    # Normalized, with path transforms: each chunk is normalized by its own k(z, z).
    est_n = SigKernel(normalize=True, time_aug=True, lead_lag=True).fit(X)
    np.testing.assert_array_equal(est_n.transform(Zd).compute(), est_n.transform(Z))
    # 2-D rows (length * n_channels) and float32 are kept.
    est2 = SigKernel(n_channels=2).fit(X.reshape(20, -1))
    rows = Z.reshape(31, -1).astype(np.float32)
    K32 = est2.transform(da.from_array(rows, chunks=(10, 10)))
    assert K32.dtype == np.float32
    np.testing.assert_array_equal(K32.compute(), est2.transform(rows))


def test_nystroem_dask_array(client, rng):
    X = _paths(rng, 40, 5, 2)
    Xd = da.from_array(X, chunks=(10, 5, 2))
    for landmarks in ("random", "kmeans++"):
        ny = SigKernelNystroem(12, landmarks=landmarks, random_state=0).fit(Xd)
        local = SigKernelNystroem(12, landmarks=landmarks, random_state=0).fit(X)
        # The same landmarks as from numpy (random: only they were loaded).
        np.testing.assert_array_equal(ny.component_indices_, local.component_indices_)
        np.testing.assert_array_equal(ny.components_, X[local.component_indices_])
        F = ny.transform(da.from_array(X, chunks=(16, 5, 2)))
        assert isinstance(F, da.Array) and F.shape == (40, 12)
        np.testing.assert_array_equal(F.compute(), local.transform(X))
    with pytest.raises(ValueError, match="n_components=41 must not exceed"):
        SigKernelNystroem(41).fit(Xd)


def test_dask_array_chunked_along_paths_is_an_error(rng):
    X = _paths(rng, 10, 6, 2)
    est = SigKernel().fit(X)
    with pytest.raises(ValueError, match=r"X must be chunked along samples \(axis 0\)"):
        est.transform(da.from_array(X, chunks=(5, 3, 2)))
    ny = SigKernelNystroem(4, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1, 2: -1\}\)"):
        ny.transform(da.from_array(X, chunks=(5, 6, 1)))
    with pytest.raises(ValueError, match="must be 2-D .* or 3-D"):
        est.transform(da.zeros((2, 3, 4, 5)))
    with pytest.raises(TypeError, match="must hold real numbers"):
        est.transform(da.from_array(np.array([[["a"]]])))


def test_large_sig_kernel_gram_runs_on_the_cluster(client, rng):
    # sig_kernel_gram hands a Gram larger than one block to the engine, and so to
    # the cluster under the dask backend.
    X = _paths(rng, 30, 4, 2)
    want = oracle_gram(X, X, (1, 1))
    with sklearn.config_context(working_memory=1e-3):
        with distributed.get_task_stream(client) as stream, \
                parallel_config(backend="dask"):
            G = sksig.sig_kernel_gram(X, X, 1)
            G_est = SigKernel()(X)
        local = sksig.sig_kernel_gram(X, X, 1)
    assert _block_calls(stream.data) >= 16
    np.testing.assert_allclose(G, want, rtol=1e-10)
    np.testing.assert_array_equal(G, local)
    np.testing.assert_array_equal(G_est, local)

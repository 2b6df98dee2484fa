"""Scaling benchmarks of issue 16: Nyström features, out-of-core Grams, a Dask cluster.

Run ``python benchmarks/bench_scale.py`` for the full sizes (minutes on a quiet
machine, about 3.5 GB of temporary disk) or ``--quick`` for reduced sizes; ``--rows``
picks rows and ``--set gram_n=8000`` (any key of ``FULL``) overrides one size. Each row
runs in a fresh Python process so that its peak resident memory (``ru_maxrss``) is its
own.

1. ``nystroem``: ``SigKernelNystroem`` (300 components) on 100,000 synthetic paths
   (length 50, 3 channels, two classes) then ``LinearSVC``: wall time and peak RSS;
   and on a 5,000-path subset (4,000 train, 1,000 test) the accuracy of the same
   features against the exact kernel (``SigKernel`` + ``SVC(kernel="precomputed")``).
2. ``gram``: a 20,000 x 20,000 Gram of length-20 paths written out of core into a
   ``.npy`` file by ``sig_kernel_gram_blocks(..., out=path)`` (``working_memory=256``
   MiB): time and peak RSS (the target is under 1 GiB; the Gram itself is 3.2 GB).
3. ``cluster``: the same Gram on a ``dask.distributed.LocalCluster`` with 1 and 2 worker
   processes (one thread each) under ``joblib.parallel_config(backend="dask")``, next
   to the in-process Gram at ``n_jobs=1`` and ``2``.

pySigLib has no Nyström features, blocked or distributed Grams, so there is no peer
column here; its one-call Gram is compared in ``bench_sig_kernel.py``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

FULL = dict(n_paths=100_000, length=50, components=300, subset=5_000,
            gram_n=20_000, gram_length=20, cluster_n=20_000)
QUICK = dict(n_paths=10_000, length=50, components=100, subset=1_000,
             gram_n=3_000, gram_length=20, cluster_n=3_000)


def _labelled_paths(rng, n, length, dim=3):
    """Two classes of random walks: the sign of the correlation between the first two
    channels' increments (seen by the signature at level 2) gives the class."""
    y = rng.integers(0, 2, n)
    z = rng.standard_normal((n, length - 1, dim))
    z[:, :, 1] += np.where(y == 1, 0.6, -0.6)[:, None] * z[:, :, 0]
    steps = z / np.sqrt(length * dim)
    X = np.concatenate([np.zeros((n, 1, dim)), np.cumsum(steps, axis=1)], axis=1)
    return np.ascontiguousarray(X), y


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ------------------------------------------------------------------------ rows
def run_nystroem(size, order, n_jobs):
    from sklearn.svm import SVC, LinearSVC

    from sksig import SigKernel, SigKernelNystroem

    rng = np.random.default_rng(0)
    X, y = _labelled_paths(rng, size["n_paths"], size["length"])
    test = np.arange(size["subset"] - size["subset"] // 5, size["subset"])
    train_sub = np.arange(test[0])
    rest = np.arange(size["subset"], size["n_paths"])
    options = dict(dyadic_order=order, time_aug=True, n_jobs=n_jobs)

    t0 = time.perf_counter()
    features = SigKernelNystroem(size["components"], random_state=0, **options)
    train_all = np.concatenate([train_sub, rest])
    F = features.fit(X[rest]).transform(X[train_all])
    t_features = time.perf_counter() - t0
    svc = LinearSVC(C=1.0).fit(F, y[train_all])
    t_total = time.perf_counter() - t0
    acc_all = svc.score(features.transform(X[test]), y[test])
    peak = _peak_rss_mib()

    # The same features and the exact kernel on the subset.
    t0 = time.perf_counter()
    sub = SigKernelNystroem(size["components"], random_state=0, **options)
    lin = LinearSVC(C=1.0).fit(sub.fit_transform(X[train_sub]), y[train_sub])
    acc_ny = lin.score(sub.transform(X[test]), y[test])
    t_ny_sub = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = SigKernel(**options)
    K = exact.fit_transform(X[train_sub])
    acc_exact = SVC(kernel="precomputed", C=1.0).fit(K, y[train_sub]).score(
        exact.transform(X[test]), y[test])
    t_exact = time.perf_counter() - t0
    return dict(
        row="nystroem", n_paths=size["n_paths"], length=size["length"],
        components=size["components"], dyadic_order=order, n_jobs=n_jobs,
        features_s=round(t_features, 2), features_plus_linearsvc_s=round(t_total, 2),
        peak_rss_mib=round(peak), accuracy_all_paths=acc_all,
        subset=size["subset"], subset_nystroem_accuracy=acc_ny,
        subset_nystroem_s=round(t_ny_sub, 2), subset_exact_accuracy=acc_exact,
        subset_exact_s=round(t_exact, 2),
    )


def run_gram(size, order, n_jobs, tmpdir, workers=0):
    import sklearn

    import sksig

    n = size["gram_n"] if workers == 0 else size["cluster_n"]
    rng = np.random.default_rng(1)
    X, _ = _labelled_paths(rng, n, size["gram_length"])
    path = os.path.join(tmpdir, f"gram_{workers}.npy")
    cluster = client = None
    try:
        if workers:
            from distributed import Client, LocalCluster
            from joblib import parallel_config

            cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                   processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
            context = parallel_config(backend="dask")
        else:
            import contextlib

            context = contextlib.nullcontext()
        with context, sklearn.config_context(working_memory=256):
            t0 = time.perf_counter()
            sksig.sig_kernel_gram_blocks(X, None, order, n_jobs=n_jobs, out=path)
            elapsed = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
            cluster.close()
    # Spot check against the one-call Gram on a few rows.
    rows = rng.choice(n, 5, replace=False)
    gram = np.load(path, mmap_mode="r")
    ok = bool(np.array_equal(gram[rows], sksig.sig_kernel_gram(X[rows], X, order)))
    os.remove(path)
    return dict(row="gram" if workers == 0 else "cluster", n=n,
                length=size["gram_length"], dyadic_order=order, n_jobs=n_jobs,
                workers=workers, seconds=round(elapsed, 2),
                peak_rss_mib=round(_peak_rss_mib()), spot_check_equal=ok)


# ------------------------------------------------------------------------ driver
def _sizes(args):
    size = dict(QUICK if args.quick else FULL)
    for item in args.set or []:
        key, value = item.split("=")
        if key not in size:
            raise SystemExit(f"--set: unknown size {key!r}; one of {sorted(size)}")
        size[key] = int(value)
    return size


def _child(args):
    size = _sizes(args)
    if args.row == "nystroem":
        result = run_nystroem(size, args.dyadic_order, args.n_jobs)
    else:
        result = run_gram(size, args.dyadic_order, args.n_jobs, args.tmpdir,
                          workers=args.workers)
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--rows", default="nystroem,gram,cluster",
                        help="comma-separated subset of nystroem,gram,cluster")
    parser.add_argument("--dyadic-order", type=int, default=0)
    parser.add_argument("--tmpdir", default=None, help="where the Gram file goes")
    parser.add_argument("--set", action="append", metavar="KEY=N",
                        help="override one size, e.g. --set gram_n=8000")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--n-jobs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        return _child(args)
    wanted = args.rows.split(",")
    runs = []
    if "nystroem" in wanted:
        runs += [["--row", "nystroem", "--n-jobs", str(j)] for j in (1, -1)]
    if "gram" in wanted:
        runs += [["--row", "gram", "--n-jobs", str(j)] for j in (1, -1)]
    if "cluster" in wanted:
        runs += [["--row", "cluster", "--workers", str(w)] for w in (1, 2)]
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmpdir:
        for extra in runs:
            command = [sys.executable, __file__, "--dyadic-order",
                       str(args.dyadic_order), "--tmpdir", tmpdir, *extra]
            if args.quick:
                command.append("--quick")
            for item in args.set or []:
                command += ["--set", item]
            done = subprocess.run(command, capture_output=True, text=True)
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode or not lines:
                print(" ".join(extra), "failed:", done.stderr[-2000:], flush=True)
                continue
            result = json.loads(lines[-1][len("RESULT "):])
            print("  ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()

"""
Nyström signature features, and a Gram on a Dask cluster
========================================================

A kernel machine on ``n`` paths needs the ``n x n`` Gram of signature kernels: its
cost and memory grow with ``n**2``. :class:`sksig.SigKernelNystroem` replaces it with
``n_components`` features per path, ``K(X, L) K(L, L)^(-1/2)`` for a set of landmark
paths ``L``, whose inner products approximate the kernel. A linear model on these
features then costs ``n * n_components`` kernel evaluations.

We compare the two on the Japanese vowels dataset bundled with sksig (ragged paths of
7 to 29 points in 12 channels), show how the cost grows with ``n``, and finally compute
a Gram on a small :class:`dask.distributed.LocalCluster` through joblib.
"""

# %%
# Exact kernel against Nyström features
# -------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC, LinearSVC

import sksig
from sksig.datasets import load_japanese_vowels

X, y = load_japanese_vowels(return_X_y=True)
X_test, y_test = load_japanese_vowels(split="test", return_X_y=True)
options = dict(dyadic_order=0, time_aug=True, normalize=True)

start = time.perf_counter()
exact = make_pipeline(sksig.SigKernel(**options), SVC(kernel="precomputed", C=10))
exact_score = exact.fit(X, y).score(X_test, y_test)
exact_time = time.perf_counter() - start
print(f"exact kernel + SVC: accuracy {exact_score:.3f} in {exact_time:.2f} s")

sizes = [5, 10, 25, 50, 100, 200]
scores, times = [], []
for m in sizes:
    start = time.perf_counter()
    model = make_pipeline(
        sksig.SigKernelNystroem(m, random_state=0, **options), LinearSVC(C=10)
    )
    scores.append(model.fit(X, y).score(X_test, y_test))
    times.append(time.perf_counter() - start)
    print(f"Nyström {m:3d} components + LinearSVC: accuracy {scores[-1]:.3f} "
          f"in {times[-1]:.2f} s")

# %%
# How well the features reproduce the kernel
# ------------------------------------------
# The relative error of ``F F^T`` against the exact training Gram falls as landmarks
# are added (random landmarks, and k-means++ seeding in the kernel's feature space).
K = sksig.SigKernel(**options).fit_transform(X)
errors = {}
for landmarks in ("random", "kmeans++"):
    errors[landmarks] = []
    for m in sizes:
        F = sksig.SigKernelNystroem(m, landmarks=landmarks, random_state=0,
                                    **options).fit_transform(X)
        errors[landmarks].append(np.linalg.norm(F @ F.T - K) / np.linalg.norm(K))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(sizes, scores, "o-", label="Nyström + LinearSVC")
ax1.axhline(exact_score, color="k", ls="--", label="exact kernel + SVC")
ax1.set(xscale="log", xlabel="n_components", ylabel="test accuracy",
        title="Japanese vowels")
ax1.legend()
for landmarks, values in errors.items():
    ax2.plot(sizes, values, "o-", label=landmarks)
ax2.set(xscale="log", yscale="log", xlabel="n_components",
        ylabel="relative Gram error", title="Kernel approximation")
ax2.legend()
fig.tight_layout()

# %%
# Cost against the number of paths
# --------------------------------
# The exact Gram grows quadratically with the number of paths, the Nyström features
# linearly (synthetic random walks of 30 points in 3 channels).
rng = np.random.default_rng(0)
counts = [250, 500, 1000, 2000]
walks = rng.standard_normal((counts[-1], 30, 3)).cumsum(axis=1) / 10
exact_times, nystroem_times = [], []
for n in counts:
    start = time.perf_counter()
    sksig.SigKernel(dyadic_order=0).fit_transform(walks[:n])
    exact_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    sksig.SigKernelNystroem(100, dyadic_order=0, random_state=0).fit_transform(
        walks[:n])
    nystroem_times.append(time.perf_counter() - start)

fig, ax = plt.subplots(figsize=(5, 4))
ax.loglog(counts, exact_times, "o-", label="exact Gram (n x n)")
ax.loglog(counts, nystroem_times, "o-", label="Nyström, 100 components")
ax.set(xlabel="number of paths", ylabel="seconds", title="Cost")
ax.legend()
fig.tight_layout()

# %%
# A Gram on a Dask cluster
# ------------------------
# Every Gram of sksig is cut into blocks that run through :class:`joblib.Parallel`.
# Under ``joblib.parallel_config(backend="dask")`` the blocks become tasks on the
# workers of a Dask cluster; the paths are shipped to the workers once. Here the
# cluster has two workers in this process (``processes=False`` keeps the example
# self-contained; a real cluster spans machines). Dask is an optional dependency:
# ``pip install "sksig[dask]"``.
try:
    from distributed import Client, LocalCluster, get_task_stream
except ImportError:
    Client = None

if Client is not None:
    from joblib import parallel_config

    paths = walks[:400]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        start = time.perf_counter()
        with get_task_stream(client) as stream, parallel_config(backend="dask"):
            gram = sksig.sig_kernel_gram_blocks(paths, None, 1)
        elapsed = time.perf_counter() - start
        workers = {record["worker"] for record in stream.data}
    same = np.array_equal(gram, sksig.sig_kernel_gram(paths, paths, 1))
    print(f"{gram.shape} Gram on the cluster in {elapsed:.2f} s, "
          f"{len(stream.data)} tasks on {len(workers)} workers; equal to the "
          f"in-process Gram: {same}")

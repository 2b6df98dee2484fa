"""
Gaussian process regression on paths
====================================

A Gaussian process with the signature kernel learns a functional of Brownian paths:
their Lévy area, the signed area between a two-dimensional path and its chord. The
kernel :class:`sksig.gaussian_process.SignatureKernel` is an ordinary scikit-learn GP
kernel, so it combines with ``ConstantKernel`` and ``WhiteKernel`` and its
hyperparameters (the RBF bandwidth of the static kernel and the scale of the paths)
are fitted by maximising the log-marginal likelihood, with gradients from the adjoint
of the signature-kernel PDE.
"""

# %%
# Simulated paths and their Lévy areas
# ------------------------------------
# Each row of ``X`` holds the points of one path one after the other, the 2-D input
# form of scikit-learn's GPs (``n_channels=2`` tells the kernel how to read it).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, WhiteKernel

from sksig.gaussian_process import SignatureKernel

rng = np.random.default_rng(0)
n_paths, length = 90, 12
increments = rng.normal(size=(n_paths, length - 1, 2)) / np.sqrt(length - 1)
paths = np.concatenate([np.zeros((n_paths, 1, 2)), increments.cumsum(axis=1)], axis=1)
levy_area = 0.5 * np.sum(paths[:, :-1, 0] * increments[:, :, 1]
                         - paths[:, :-1, 1] * increments[:, :, 0], axis=1)
noisy_area = levy_area + 0.05 * rng.normal(size=n_paths)
X = paths.reshape(n_paths, -1)
train, test = slice(0, 60), slice(60, None)

# %%
# Fitting the GP, recording the optimiser's path
# ----------------------------------------------
# A custom optimiser wraps scipy's L-BFGS-B to record the log-marginal likelihood at
# every iterate; the objective (minus the likelihood) and its gradient come from the
# GP, which gets them from one ``eval_gradient=True`` call of the kernel.
from scipy.optimize import minimize  # noqa: E402

history = []


def recording_optimizer(objective, theta, bounds):
    seen = {}

    def remembered(x):
        value, gradient = objective(x)
        seen[x.tobytes()] = value
        return value, gradient

    def callback(x):  # called after each iteration, at an evaluated point
        history.append(-seen[x.tobytes()])

    remembered(theta)
    history.append(-seen[theta.tobytes()])
    result = minimize(remembered, theta, jac=True, bounds=bounds, method="L-BFGS-B",
                      callback=callback)
    return result.x, result.fun


kernel = (ConstantKernel(1.0) * SignatureKernel(n_channels=2, dyadic_order=1)
          + WhiteKernel(0.1))
gp = GaussianProcessRegressor(kernel, normalize_y=True, optimizer=recording_optimizer)
gp.fit(X[train], noisy_area[train])
print("fitted kernel:", gp.kernel_)
mean, std = gp.predict(X[test], return_std=True)
rmse = np.sqrt(np.mean((mean - levy_area[test]) ** 2))
print(f"test RMSE {rmse:.3f} (the area has standard deviation "
      f"{levy_area[test].std():.3f})")

# %%
# Predictions with their uncertainty, and the likelihood along the optimiser
# ---------------------------------------------------------------------------
order = np.argsort(levy_area[test])
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
position = np.arange(order.size)
left.errorbar(position, mean[order], yerr=2 * std[order], fmt="o", ms=3,
              label="GP mean ± 2 std")
left.plot(position, levy_area[test][order], "k.", label="true Lévy area")
left.set_xlabel("test path (sorted by area)")
left.set_ylabel("Lévy area")
left.legend()
right.plot(history, "o-")
right.set_xlabel("L-BFGS-B iteration")
right.set_ylabel("log-marginal likelihood")
right.set_title("likelihood along the optimiser")
fig.tight_layout()
plt.show()

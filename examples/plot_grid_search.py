"""
=====================================================
Choosing the static kernel and the dyadic order by CV
=====================================================

:class:`sksig.SigKernel` is a scikit-learn estimator and so is its static kernel,
so :class:`~sklearn.model_selection.GridSearchCV` can search the static kernel's
parameters (``sigkernel__static_kernel__sigma``) together with the PDE's dyadic
order. We search an RBF static kernel's ``sigma`` and the dyadic order on a subset
of BasicMotions (smart-watch accelerometer and gyroscope paths, four activities)
and show the cross-validated accuracy as a heat map. ``normalize=True`` divides
every kernel value by ``sqrt(k(x, x) k(y, y))``, which keeps the Gram matrix well
conditioned when the raw kernel values span several orders of magnitude.
"""

# %%
# The search
# ----------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

import sksig
from sksig.datasets import load_basic_motions

X, y = load_basic_motions("train", return_X_y=True)
X = X[:, ::4]  # every fourth point: 25 points per path keeps the example fast
X = X / (3 * X.std(axis=(0, 1)))  # the six channels on a common, small scale

pipeline = Pipeline([
    ("sigkernel", sksig.SigKernel(static_kernel=sksig.RBFKernel(sigma=1.0),
                                  time_aug=True, normalize=True, n_jobs=-1)),
    ("svc", SVC(kernel="precomputed", C=10.0)),
])
sigmas = [0.125, 0.5, 2.0, 8.0, 32.0]
orders = [0, 1, 2]
search = GridSearchCV(
    pipeline,
    {"sigkernel__static_kernel__sigma": sigmas, "sigkernel__dyadic_order": orders},
    cv=StratifiedKFold(4, shuffle=True, random_state=0),
)
search.fit(X, y)
print("best parameters:", search.best_params_,
      f"cross-validated accuracy {search.best_score_:.3f}")

# %%
# Heat map of the mean cross-validated accuracy
# ---------------------------------------------
scores = np.empty((len(orders), len(sigmas)))
for params, score in zip(search.cv_results_["params"],
                         search.cv_results_["mean_test_score"]):
    scores[orders.index(params["sigkernel__dyadic_order"]),
           sigmas.index(params["sigkernel__static_kernel__sigma"])] = score

fig, ax = plt.subplots(figsize=(6, 3.6))
image = ax.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1.0)
ax.set_xticks(range(len(sigmas)), [str(s) for s in sigmas])
ax.set_yticks(range(len(orders)), [str(o) for o in orders])
ax.set(xlabel="RBF sigma", ylabel="dyadic order",
       title="BasicMotions: mean CV accuracy")
for i in range(len(orders)):
    for j in range(len(sigmas)):
        ax.text(j, i, f"{scores[i, j]:.2f}", ha="center", va="center", color="w")
fig.colorbar(image, ax=ax)
fig.tight_layout()

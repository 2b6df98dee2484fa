"""
=====================
Branched signatures
=====================

The signature of a path collects its iterated integrals indexed by *words* of
channels. The branched signature indexes them by *decorated rooted trees* instead:
the tree ``((0,), 1)`` (a root labelled 1 with one child labelled 0) stands for
:math:`\\int x^0_u \\, dx^1_u`, and a root with several children integrates the
product of the children's values. Trees describe the integrals that appear when
solving differential equations driven by rough paths whose products are not
resolved by a shuffle rule. In the planar variant the order of the children (and
of the trees of a forest) matters, and coordinates are indexed by ordered forests.
"""

# %%
# Trees and their coordinates
# ---------------------------
# Trees are nested tuples ``(child_1, ..., child_k, label)``. :func:`sksig.trees`
# lists the basis in coefficient order.
import matplotlib.pyplot as plt
import numpy as np

import sksig
from sksig.datasets import load_gunpoint

print(sksig.trees(2, 2))
path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
bsig = sksig.branched_sig(path, 2)
for tree, value in zip(sksig.trees(2, 2)[1:], bsig):
    print(f"{tree!s:>10}: {value:+.3f}")

# %%
# On one straight segment with increment ``v`` the non-planar coordinate of a tree
# is the product of ``v`` over its nodes divided by the *tree factorial*; for the
# tree ``((0,), (0,), 0)`` (a root with two children, all labelled 0) that is
# ``v**3 / 3``, while the chain ``(((0,), 0), 0)`` gives ``v**3 / 6``.
v = 1.7
segment = np.array([[0.0], [v]])
values = dict(zip(sksig.trees(1, 3)[1:], sksig.branched_sig(segment, 3)))
print(values[((0,), (0,), 0)], v**3 / 3, values[(((0,), 0), 0)], v**3 / 6)

# %%
# How many coordinates?
# ---------------------
# Trees and forests outnumber words quickly; log-signatures (free Lie algebra for
# words, Lyndon forests for the planar branched case) are much smaller.
degrees = np.arange(1, 6)
d = 2
counts = {
    "signature (words)": [sksig.sig_length(d, n) for n in degrees],
    "log-signature (Lyndon words)": [sksig.log_sig_length(d, n) for n in degrees],
    "branched, non-planar (trees)": [sksig.branched_sig_length(d, n) for n in degrees],
    "branched, planar (forests)": [sksig.branched_sig_length(d, n, planar=True)
                                   for n in degrees],
    "planar log (Lyndon forests)": [sksig.branched_log_sig_length(d, n, planar=True)
                                    for n in degrees],
}
fig, ax = plt.subplots(figsize=(6, 4))
for label, values in counts.items():
    ax.semilogy(degrees, values, "o-", label=label)
ax.set(xlabel="degree (word length or number of nodes)", ylabel="coordinates",
       title="Basis sizes for a 2-channel path", xticks=degrees)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# Branched log-signature features
# -------------------------------
# :class:`sksig.BranchedLogSig` is a scikit-learn transformer. On the two classes of
# GunPoint (drawing a gun or pointing a finger; label 0 is the hand position,
# label 1 time) the standardised class means differ by a fraction of a standard
# deviation per tree, most on the trees that combine the hand's motion with time:
# individually weak features, which a linear model combines.
X, y = load_gunpoint("train", return_X_y=True)
est = sksig.BranchedLogSig(degree=3, time_aug=True).fit(X)
features = est.transform(X)
names = est.get_feature_names_out()
varying = features.std(axis=0) > 1e-12  # trees of time alone are constant: drop
features = features[:, varying]
features = (features - features.mean(axis=0)) / features.std(axis=0)  # standardise
names = names[varying]
classes = np.unique(y)
fig, ax = plt.subplots(figsize=(7, 3.8))
width = 0.4
for k, label in enumerate(classes):
    ax.bar(np.arange(len(names)) + (k - 0.5) * width,
           features[y == label].mean(axis=0), width, label=f"class {label}")
ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
ax.set(ylabel="mean (standardised)", title="GunPoint: branched log-signature")
ax.legend()
fig.tight_layout()

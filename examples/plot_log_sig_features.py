"""
====================================================
Log-signature features and a linear classifier
====================================================

:class:`sksig.LogSigJoin` turns every path into its truncated log-signature in the
Lyndon bracket basis: a fixed-length feature vector whatever the path's length.
:meth:`~sksig.LogSigJoin.get_feature_names_out` names each feature by its Lie
bracket of channels, so the coefficients of a linear model can be read off:
``[0,1]`` is the signed area swept between channels 0 and 1, ``[0,[0,1]]`` a
third-order interaction, and so on.
"""

# %%
# Features and model
# ------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sksig
from sksig.datasets import load_gunpoint

X_train, y_train = load_gunpoint("train", return_X_y=True)
X_test, y_test = load_gunpoint("test", return_X_y=True)

# One channel, lead-lag (lag first, then lead) and time: a 3-letter alphabet.
model = make_pipeline(
    sksig.LogSigJoin(degree=5, lead_lag=True, time_aug=True),
    StandardScaler(),
    LogisticRegression(C=1.0, max_iter=2000),
)
model.fit(X_train, y_train)
print(f"GunPoint test accuracy: {model.score(X_test, y_test):.3f}")

# Features are named by Lie brackets of letters 0, 1, 2 (lag, lead, time); rename
# the letters for reading.
names = model[0].get_feature_names_out()
names = np.array([n.translate(str.maketrans("012", "LDt")) for n in names])
print(len(names), "features, the first ones:", [str(n) for n in names[:8]])

# %%
# The largest coefficients
# ------------------------
# ``L`` is the lagged hand position, ``D`` the leading one and ``t`` time; with
# standardised features the coefficients are comparable. ``[L,D]``, the area
# between lag and lead, is half the quadratic variation of the hand's path.
coef = model[-1].coef_.ravel()
order = np.argsort(np.abs(coef))[::-1][:10]
fig, ax = plt.subplots(figsize=(6.4, 4))
ax.barh(range(len(order)), coef[order], color=np.where(coef[order] > 0, "C0", "C3"))
ax.set_yticks(range(len(order)), names[order])
ax.invert_yaxis()
ax.set(xlabel="logistic-regression coefficient",
       title="GunPoint: log-signature features")
fig.tight_layout()

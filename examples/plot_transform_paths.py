"""
==============================
Time augmentation and lead-lag
==============================

The two path transforms of sksig change what a signature can see.
**Time augmentation** appends a clock channel running from 0 to ``end_time``, so
that the speed at which a path is traversed matters and a monotone path is told
apart from its reparametrisations. **Lead-lag** doubles the channels: a "lag" copy
that waits one step behind a "lead" copy. The area between the two (a level-2
signature term) is the quadratic variation of the path.

Every function that takes ``time_aug`` / ``lead_lag`` behaves exactly as if it were
given :func:`sksig.transform_path` of the path.
"""

# %%
# A random walk and its transforms
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np

import sksig

rng = np.random.default_rng(0)
path = rng.standard_normal((12, 1)).cumsum(axis=0) / 3  # one channel, 12 points

timed = sksig.transform_path(path, time_aug=True)
lead_lag = sksig.transform_path(path, lead_lag=True)
print("path", path.shape, "-> time-augmented", timed.shape,
      "-> lead-lag", lead_lag.shape)

# %%
# The time-augmented path is the graph of the walk; the lead-lag path moves in
# a staircase, one channel at a time: first the lead (second channel) jumps,
# then the lag (first channel) catches up.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
axes[0].plot(timed[:, 1], timed[:, 0], "o-")
axes[0].set(xlabel="time channel", ylabel="value", title="time_aug=True")
axes[1].plot(lead_lag[:, 0], lead_lag[:, 1], "o-", color="C1")
lo, hi = path.min(), path.max()
axes[1].plot([lo, hi], [lo, hi], "k:", lw=1)
axes[1].set(xlabel="lag channel", ylabel="lead channel", title="lead_lag=True")
fig.tight_layout()

# %%
# Lead-lag and quadratic variation
# --------------------------------
# The antisymmetric part of the level-2 signature of the lead-lag path (the Lévy
# area, here taken from lead to lag) equals half the sum of squared increments.
s = sksig.sig(path, 2, lead_lag=True)  # levels 1 and 2 of a 2-channel path
level2 = s[2:].reshape(2, 2)
area = 0.5 * (level2[1, 0] - level2[0, 1])
print(f"Levy area {area:.6f}, half the quadratic variation "
      f"{0.5 * np.sum(np.diff(path[:, 0]) ** 2):.6f}")

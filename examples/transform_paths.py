"""Lead-lag and time augmentation of a batch of random walks."""

import numpy as np

import sksig

rng = np.random.default_rng(0)
paths = rng.standard_normal((8, 50, 3)).cumsum(axis=1) / 10
augmented = sksig.transform_path(paths, time_aug=True, lead_lag=True)
print("paths", paths.shape, "-> transformed", augmented.shape)

"""``python -m sksig``: a short demonstration of what sksig computes."""

import time

import numpy as np

import sksig


def main():
    sksig.show_config()
    rng = np.random.default_rng(0)
    paths = rng.standard_normal((4, 5, 2)).cumsum(axis=1)
    start = time.perf_counter()
    transformed = sksig.transform_path(paths, time_aug=True, lead_lag=True)
    print(f"\ntransform_path: {paths.shape} -> {transformed.shape} "
          f"in {1e3 * (time.perf_counter() - start):.2f} ms")


if __name__ == "__main__":
    main()

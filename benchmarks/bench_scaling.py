"""Raw vs scaled BasicMotions with the signature kernel (issue 14's measurement).

Runs the same small GridSearchCV over ``scale`` and the static kernel of
``SigKernel -> SVC(kernel="precomputed")``, without and with a ``PathScaler`` first,
and prints the test accuracy and the time of each. Usage:
``python benchmarks/bench_scaling.py``.
"""

import time
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sksig
from sksig.datasets import load_basic_motions


def main():
    X_train, y_train = load_basic_motions("train", return_X_y=True)
    X_test, y_test = load_basic_motions("test", return_X_y=True)
    X_train, X_test = np.asarray(X_train), np.asarray(X_test)
    grid = {"sigkernel__scale": [0.3, 0.6, 1.2],
            "sigkernel__static_kernel": [sksig.RBFKernel(1.0), sksig.RBFKernel(2.0)]}
    scaler = sksig.PathScaler(method="minmax")
    for name, steps in (("raw", []), ("PathScaler", [scaler])):
        pipe = make_pipeline(*steps, sksig.SigKernel(dyadic_order=1, time_aug=True),
                             SVC(kernel="precomputed", C=10.0))
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            search = GridSearchCV(pipe, grid, cv=3, error_score=0.0)
            search.fit(X_train, y_train)
            accuracy = search.score(X_test, y_test)
        n_warnings = sum(issubclass(w.category, sksig.GramWarning) for w in caught)
        print(f"{name:>10}: test accuracy {accuracy:.3f}, "
              f"{time.perf_counter() - start:.1f} s, {n_warnings} GramWarnings, "
              f"chosen {search.best_params_}")


if __name__ == "__main__":
    main()

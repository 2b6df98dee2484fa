"""scikit-learn's common estimator checks over the sksig estimators.

The static kernels are estimators too (parameters stored by ``__init__``, validated by
``fit`` and at use, ``fit`` checking its points and returning the kernel), so they run
the same checks.
"""

from sklearn.base import TransformerMixin
from sklearn.utils.estimator_checks import parametrize_with_checks

import sksig
from sksig import (
    BranchedLogSig,
    LogSigJoin,
    PathScaler,
    RBFKernel,
    SigKernel,
    SigKernelNystroem,
)

ESTIMATORS = [
    SigKernel(),
    SigKernel(static_kernel=RBFKernel(2.0), dyadic_order=2, normalize=True, n_jobs=2),
    SigKernel(dyadic_order=(0, 1), time_aug=True, lead_lag=True, max_batch=3),
    SigKernelNystroem(n_components=5),
    SigKernelNystroem(n_components=4, landmarks="kmeans++",
                      static_kernel=RBFKernel(2.0), normalize=True, time_aug=True,
                      scale=0.5, n_jobs=2),
    LogSigJoin(),
    LogSigJoin(degree=3, time_aug=True, lead_lag=True, n_jobs=2),
    BranchedLogSig(degree=3),
    BranchedLogSig(degree=2, planar=True, time_aug=True),
    BranchedLogSig(degree=2, planar=True, method=2, lead_lag=True),
    SigKernel(scale=0.05, basepoint=True, normalize=True),
    PathScaler(),
    PathScaler(method="increment_rms", common_scale=True, with_centering=False),
    PathScaler(method="minmax"),
    sksig.LinearKernel(),
    sksig.ScaledLinearKernel(scale=0.5),
    RBFKernel(sigma=2.0),
    sksig.PolynomialKernel(degree=2.5, gamma=-0.5, scale=2.0),
    sksig.Matern12Kernel(sigma=0.5),
    sksig.Matern32Kernel(),
    sksig.Matern52Kernel(sigma=3.0),
    sksig.RationalQuadraticKernel(sigma=0.5, alpha=2.0),
]

# Checks that cannot hold for paths, by estimator class, with the reason.
EXPECTED_FAILURES = {}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_every_estimator_is_checked():
    # A new public transformer or static kernel cannot silently skip the common
    # checks (the abstract StaticKernel base has no parameters to check).
    objects = [getattr(sksig, name) for name in sksig.__all__]
    public = {
        o for o in objects if isinstance(o, type)
        and issubclass(o, (TransformerMixin, sksig.StaticKernel))
        and o is not sksig.StaticKernel
    }
    assert public == {type(e) for e in ESTIMATORS}

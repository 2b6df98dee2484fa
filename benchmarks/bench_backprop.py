"""sksig vs pySigLib 4 for the backward passes: sig_backprop, log_sig and sig_mmd.

Plain script: ``python benchmarks/bench_backprop.py``. Rows:

* ``sig_backprop`` on 128 paths x 256 points x 4 channels at degree 6, both libraries
  given the same signatures and cotangent (numpy);
* ``log_sig`` (method 1) forward + backward on 128 x 256 x 4 at degree 4, through each
  library's torch autograd wrapper (``loss.backward()``);
* ``branched_sig_backprop`` planar and non-planar on 1024 x 64 x 3 at degree 4 (numpy,
  same branched signatures and cotangent);
* ``sig_mmd`` forward + backward on 64 + 64 paths x 128 points x 4 channels, dyadic
  order 1, through torch autograd (gradient with respect to the first sample);

each at ``n_jobs=1`` and 2 (``python benchmarks/bench_backprop.py mmd`` runs only the
rows whose name contains "mmd"). Calls are interleaved after a warm-up (see
_harness.interleaved_times); the table gives median times and the median ratio
pySigLib / sksig (> 1: sksig faster) with its 10%-90% range. pySigLib is skipped if
absent.
"""

import sys

import numpy as np
import torch
from _harness import print_header, print_row

import sksig
import sksig.torch

try:
    import pysiglib
    import pysiglib.torch_api as pysiglib_torch
except ImportError:  # the peer is optional
    pysiglib = pysiglib_torch = None


def _backward(forward, x):
    def run():
        x.grad = None
        forward(x).sum().backward()

    return run


def rows():
    rng = np.random.default_rng(0)
    paths = 0.1 * rng.normal(size=(128, 256, 4))
    sigs = sksig.sig(paths, 6).copy()
    derivs = rng.normal(size=sigs.shape)
    xt = torch.tensor(paths, requires_grad=True)
    sample1 = torch.tensor(0.1 * rng.normal(size=(64, 128, 4)).cumsum(axis=1),
                           requires_grad=True)
    sample2 = torch.tensor(0.1 * rng.normal(size=(64, 128, 4)).cumsum(axis=1))
    branched = 0.1 * rng.normal(size=(1024, 64, 3))
    bsigs = {planar: sksig.branched_sig(branched, 4, planar=planar).copy()
             for planar in (False, True)}
    bderivs = {planar: rng.normal(size=b.shape) for planar, b in bsigs.items()}
    if pysiglib is not None:
        pysiglib.prepare_log_sig(4, 4, method=1)
        for planar in (False, True):
            pysiglib.prepare_branched_sig(3, 4, planar=planar)
    for n_jobs in (1, 2):
        yield (
            f"sig_backprop, 128 x 256 x 4, degree 6, n_jobs={n_jobs}", 5,
            lambda j=n_jobs: sksig.sig_backprop(paths, sigs, derivs, 6, n_jobs=j),
            pysiglib and (lambda j=n_jobs: pysiglib.sig_backprop(paths, sigs, derivs, 6,
                                                                 n_jobs=j)),
        )
        yield (
            f"log_sig method=1 fwd+bwd (torch), 128 x 256 x 4, degree 4, "
            f"n_jobs={n_jobs}", 20,
            _backward(lambda x, j=n_jobs: sksig.torch.log_sig(x, 4, method=1, n_jobs=j),
                      xt),
            pysiglib and _backward(
                lambda x, j=n_jobs: pysiglib_torch.log_sig(x, 4, method=1, n_jobs=j),
                xt),
        )
        for planar in (False, True):
            yield (
                f"branched_sig_backprop planar={planar}, 1024 x 64 x 3, degree 4, "
                f"n_jobs={n_jobs}", 10,
                lambda j=n_jobs, p=planar: sksig.branched_sig_backprop(
                    branched, bsigs[p], bderivs[p], 4, planar=p, n_jobs=j),
                pysiglib and (lambda j=n_jobs, p=planar: pysiglib.branched_sig_backprop(
                    branched, bsigs[p], bderivs[p], 4, planar=p, n_jobs=j)),
            )
        yield (
            f"sig_mmd fwd+bwd (torch), 64 + 64 x 128 x 4, dyadic 1, n_jobs={n_jobs}", 2,
            _backward(lambda x, j=n_jobs: sksig.torch.sig_mmd(x, sample2, 1, n_jobs=j),
                      sample1),
            pysiglib and _backward(
                lambda x, j=n_jobs: pysiglib_torch.sig_mmd(x, sample2, dyadic_order=1,
                                                           n_jobs=j), sample1),
        )


def main():
    print_header()
    for name, repeats, ours, theirs in rows():
        if len(sys.argv) > 1 and sys.argv[1] not in name:
            continue
        print_row(name, ours, theirs, repeats, digits=1)


if __name__ == "__main__":
    main()

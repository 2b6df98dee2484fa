"""The pieces the estimators and torch wrappers share: filled docstrings, the stored
``__init__`` arguments, and the one autograd Function."""

import inspect
import re

import numpy as np
import pytest
from _public_api import public_objects

import sksig
from sksig._estimator_input import DOCS, PATH_CONSTRAINTS, store_params
from sksig.gaussian_process import SignatureKernel

PLACEHOLDER = re.compile(r"^\s*\{\w+\}\s*$", re.MULTILINE)
ESTIMATORS = [sksig.SigKernel, sksig.SigKernelNystroem, sksig.LogSigJoin,
              sksig.BranchedLogSig, sksig.PathScaler, SignatureKernel]


def test_no_public_docstring_keeps_a_placeholder_line():
    left = [q for q, (obj, _) in public_objects().items()
            if PLACEHOLDER.search(inspect.getdoc(obj) or "")]
    assert not left


def test_fragments_are_filled_where_they_are_used():
    # The shared attribute lines appear, re-indented, in every path estimator.
    for cls in ESTIMATORS[:5]:
        doc = inspect.getdoc(cls)
        assert "n_channels_in_ : int\n    Channels per point seen in ``fit``." in doc
    assert "Training paths; a list may hold" in inspect.getdoc(sksig.LogSigJoin.fit)
    assert set(DOCS) >= {"fit", "transform", "input_attributes", "feature_options"}


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_init_stores_exactly_its_arguments(cls):
    names = [p for p in inspect.signature(cls).parameters]
    values = {name: object() for name in names}
    est = cls(**values)
    assert vars(est) == values  # nothing else, nothing transformed
    assert est.get_params(deep=False).keys() == set(names)


def test_store_params_skips_self_and_class_cell():
    class Holder:
        pass

    h = Holder()
    store_params(h, {"self": h, "__class__": Holder, "a": 1})
    assert vars(h) == {"a": 1}


def test_path_constraints_are_those_of_every_path_estimator():
    for cls in (sksig.SigKernel, sksig.SigKernelNystroem, sksig.LogSigJoin,
                sksig.BranchedLogSig):
        for name, constraint in PATH_CONSTRAINTS.items():
            assert cls._parameter_constraints[name] is constraint


def test_autograd_helper_against_finite_differences():
    torch = pytest.importorskip("torch")
    from sksig.torch._function import differentiable

    # forward f(a, b) = sum(a * b^2) by numpy, backward by hand: checked by gradcheck
    # (finite differences), including only one input needing a gradient.
    def forward(a, b):
        return torch.as_tensor(np.sum(a.numpy() * b.numpy() ** 2))

    def backward(grad, out, needs, a, b):
        return (grad * b**2 if needs[0] else None,
                grad * 2 * a * b if needs[1] else None)

    a = torch.rand(3, dtype=torch.float64, requires_grad=True)
    b = torch.rand(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, y: differentiable(forward, backward, x, y), (a, b))
    b2 = b.detach()
    differentiable(forward, backward, a, b2).backward()
    assert torch.allclose(a.grad, b2**2)


def test_kernel_output_may_be_changed_in_place():
    # The kernels do not save their output for backward, so changing it in place
    # (a common step before a loss) leaves the gradient correct.
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor([[[0.0], [1.0]], [[0.0], [2.0]]], dtype=torch.float64,
                     requires_grad=True)
    gram = st.sig_kernel_gram(x, x, 0)
    gram.fill_diagonal_(0.0)
    gram.sum().backward()
    # One-segment 1-D paths with increments d_i, linear kernel, dyadic order 0: the
    # scheme gives k(x_i, x_j) = 1 + p + p^2 / 4 with p = d_i d_j, so the off-diagonal
    # sum 2 k(x_0, x_1) has gradient 2 d_1 (1 + p / 2) in d_0 and 2 d_0 (1 + p / 2)
    # in d_1: (8, 4) for d = (1, 2).
    expected = torch.tensor([8.0, 4.0], dtype=torch.float64)
    assert torch.allclose(x.grad[:, 1, 0], expected)
    assert torch.allclose(x.grad[:, 0, 0], -x.grad[:, 1, 0])

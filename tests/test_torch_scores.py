"""sksig.torch wrappers of transform_path and the kernel scores.

Oracle: torch.autograd.gradcheck (float64 numerical Jacobians). Also runs the examples
of every sksig.torch name.
"""


import numpy as np
import pytest

torch = pytest.importorskip("torch")
import sksig  # noqa: E402
import sksig.torch as st  # noqa: E402


def _t(rng, *shape, scale=0.4):
    return torch.tensor(scale * rng.normal(size=shape), requires_grad=True)


@pytest.mark.parametrize(("time_aug", "lead_lag"),
                         [(True, False), (False, True), (True, True)])
def test_transform_path_gradcheck(rng, time_aug, lead_lag):
    x = _t(rng, 2, 4, 2)
    assert torch.autograd.gradcheck(
        lambda p: st.transform_path(p, time_aug=time_aug, lead_lag=lead_lag,
                                    end_time=2.0), (x,))


@pytest.mark.parametrize("orders", [0, (1, 0)])
def test_scores_gradcheck(rng, orders):
    x, y = _t(rng, 3, 3, 2), _t(rng, 2, 4, 2)
    kw = dict(time_aug=True)
    assert torch.autograd.gradcheck(lambda a, b: st.sig_mmd(a, b, orders, **kw), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: st.sig_score(a, b, orders, lam=0.7, **kw), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: st.sig_score(a, b[0], orders, **kw), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b: st.expected_sig_score(a, b, orders, lam=1.5, **kw), (x, y))


def test_scores_gradient_of_one_sample_only(rng):
    # Only the generated sample requires a gradient: the other is not differentiated.
    x = _t(rng, 3, 4, 2)
    y = torch.tensor(0.4 * rng.normal(size=(3, 4, 2)))
    st.sig_mmd(x, y, 1).backward()
    want = sksig.sig_mmd_backprop(1.0, x.detach(), y, 1)[0]
    np.testing.assert_allclose(x.grad.numpy(), want.numpy(), rtol=1e-13)
    with pytest.raises(TypeError, match="sample2"):
        st.sig_mmd(x, y.numpy(), 1)

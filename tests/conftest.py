"""Shared test configuration: reference files, finite differences, fixtures, markers.
(The tolerances are in _tolerances.py.)"""

import json
from pathlib import Path

import numpy as np
import pytest
from _tolerances import tol

DATA = Path(__file__).parent / "data"


def assert_close_ref(got, want, *, rtol=None):
    """|got - want| <= rtol * max(1, max|want|), the reference-file criterion (rtol
    None: the "reference" entry of _tolerances)."""
    rtol = tol("reference")["rtol"] if rtol is None else rtol
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


def reference_cases(filename, function=None):
    """Yield (case, arrays) pairs of a reference file copied into tests/data."""
    z = np.load(DATA / filename, allow_pickle=False)
    cases = json.loads(str(z["meta"]))["cases"]
    out = []
    for case in cases:
        if function is not None and case["function"] != function:
            continue
        inputs = {role: z[key] for role, key in case["inputs"].items()}
        outputs = {role: z[key] for role, key in case["outputs"].items() if key}
        out.append(pytest.param(case, inputs, outputs, id=case["id"]))
    return out


def central_differences(f, x, h=1e-6):
    """Gradient of the scalar function f at the array x by central differences."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.fixture(autouse=True)
def _fresh_clamping_report(monkeypatch):
    # The polynomial kernel's clamping warning is shown once per process: each test
    # starts as a fresh process would, so whether a test sees it never depends on order.
    import sksig._kernel_setup

    monkeypatch.setattr(sksig._kernel_setup, "_clamping_reported", False)


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture(params=["gpu", "emulated"])
def cuda_target(request):
    """A CUDA target (tests/_cuda_targets.py): a GPU, or the CPU emulation."""
    from _cuda_targets import make_target

    return make_target(request.param)


def pytest_collection_modifyitems(config, items):
    from _cuda_targets import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU visible")
    for item in items:
        # Tests with a cuda_target run on the emulation too; the target skips itself.
        if item.get_closest_marker("cuda") is not None and (
            "cuda_target" not in getattr(item, "fixturenames", ())
        ):
            item.add_marker(skip)

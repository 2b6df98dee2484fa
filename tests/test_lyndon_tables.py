"""The native Lyndon tables equal the pure-Python definition (SPEC.md 8.2-8.3)."""

import gc
import threading

import _oracles_lyndon as ol
import _oracles_tensor as ot
import numpy as np
import pytest
from sksig._core.native import LYNDON_FIELDS, LyndonTables

import sksig
from sksig._core import _log_sig
from sksig._lyndon import _build_tables, lyndon_tables

NAMES = ("pos", "tri_ptr", "tri_col", "tri_val", "exp_ptr", "exp_pos", "exp_val")
DTYPES = (np.int64, np.int64, np.int64, np.float64, np.int64, np.int64, np.float64)
assert NAMES == LYNDON_FIELDS

SIZES = (
    [(1, n) for n in (1, 2, 3, 7, 20)]
    + [(2, n) for n in range(1, 13)]
    + [(3, n) for n in range(1, 9)]
    + [(4, n) for n in range(1, 7)]
    + [(5, n) for n in range(1, 6)]
    + [(6, n) for n in range(1, 5)]
    + [(10, 3), (10, 4), (17, 2), (40, 2)]
)


def assert_same_tables(got, want):
    assert isinstance(got, LyndonTables) and len(want) == len(NAMES)
    assert got.n_words == len(want[0])
    for name, dtype, w in zip(NAMES, DTYPES, want, strict=True):
        g = getattr(got, name)
        assert isinstance(g, np.ndarray), name
        assert g.dtype == np.dtype(dtype) == w.dtype, name
        assert g.shape == w.shape and g.ndim == 1, name
        assert g.flags.c_contiguous and g.flags.writeable, name
        assert np.array_equal(g, w), name


@pytest.mark.parametrize(("dim", "degree"), SIZES)
def test_native_tables_equal_the_python_definition(dim, degree):
    assert_same_tables(_build_tables(dim, degree), ol.build_tables(dim, degree))


@pytest.mark.slow
@pytest.mark.parametrize(("dim", "degree"), [(2, 14), (3, 9), (4, 7), (7, 4)])
def test_native_tables_equal_the_python_definition_larger(dim, degree):
    assert_same_tables(_build_tables(dim, degree), ol.build_tables(dim, degree))


@pytest.mark.parametrize(("dim", "degree"), [(1, 3), (2, 6), (3, 4), (4, 3)])
def test_tables_match_the_brute_force_brackets(dim, degree):
    # The meaning, from the independent tensor oracle: pos[w] is the flat index of w,
    # row w of the expansion is the tensor of P_w, and T[u, w] = <P_w, u>.
    tables = _build_tables(dim, degree)
    pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val = (
        getattr(tables, name) for name in NAMES)
    words = ot.lyndon_words(dim, degree)
    brackets = [ot.flatten(ot.bracket(w, dim, degree), scalar_term=True) for w in words]
    flat = np.zeros_like(brackets[0])
    for n, w in enumerate(words):
        flat[:] = 0
        flat[int(pos[n])] = 1
        assert np.array_equal(flat, ot.flatten(_basis_word(w, dim, degree), True))
        flat[:] = 0
        flat[exp_pos[exp_ptr[n]:exp_ptr[n + 1]]] = exp_val[exp_ptr[n]:exp_ptr[n + 1]]
        assert np.array_equal(flat, brackets[n])
        assert np.all(exp_val[exp_ptr[n]:exp_ptr[n + 1]] != 0)
    dense = np.eye(len(words))
    for u in range(len(words)):
        row = slice(tri_ptr[u], tri_ptr[u + 1])
        dense[u, tri_col[row]] = tri_val[row]
    want = np.array([[brackets[w][int(pos[u])] if len(words[u]) == len(words[w]) else 0
                      for w in range(len(words))] for u in range(len(words))])
    assert np.array_equal(dense, want)


def _basis_word(w, dim, degree):
    t = ot.zero(dim, degree)
    t[len(w)][w] = 1.0
    return t


def test_arrays_outlive_the_tables_and_own_their_memory():
    tables = _build_tables(3, 5)
    want = tables.exp_val.copy()
    exp_val = tables.exp_val
    del tables
    gc.collect()
    np.testing.assert_array_equal(exp_val, want)
    exp_val[0] = 7.0  # writable, like the arrays numpy would have made
    assert _build_tables(3, 5).exp_val[0] == want[0]


def test_cached_tables_are_read_only_and_empty_tables_have_no_word():
    tables = lyndon_tables(2, 4)
    assert all(not getattr(tables, name).flags.writeable for name in NAMES)
    empty = LyndonTables.empty()
    assert empty.n_words == 0 and empty.tri_ptr.tolist() == [0]


def test_tables_refuse_inconsistent_arrays():
    t = _build_tables(2, 3)
    fields = {name: getattr(t, name) for name in NAMES}
    with pytest.raises(ValueError, match="one entry more than pos"):
        LyndonTables(**{**fields, "tri_ptr": t.tri_ptr[:-1]})
    with pytest.raises(ValueError):  # wrong dtype
        LyndonTables(**{**fields, "pos": t.pos.astype(np.float64)})


def test_bad_sizes_raise():
    with pytest.raises(ValueError):
        _log_sig.build_tables(0, 3)
    with pytest.raises(ValueError):
        _log_sig.build_tables(2, 0)
    with pytest.raises(ValueError):
        _build_tables(2, 40)  # beyond check_tensor_size


def test_cached_tables_are_built_once_across_threads():
    key = (3, 7)
    from sksig import _lyndon

    _lyndon._TABLES.pop(key, None)
    barrier = threading.Barrier(4)
    seen = []

    def work():
        barrier.wait()
        seen.append(lyndon_tables(*key))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(s is seen[0] for s in seen)
    path = np.random.default_rng(0).normal(size=(5, 3))
    assert sksig.log_sig(path, 7, method=2).shape == (sksig.log_sig_length(3, 7),)

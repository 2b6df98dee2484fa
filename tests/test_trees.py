"""Tree and forest enumeration, indexing and lengths (SPEC.md sections 10.1-10.5)."""

import ast

import numpy as np
import pytest
from conftest import reference_cases

import sksig


@pytest.mark.parametrize("case, inputs, outputs", reference_cases("trees.npz", "trees"))
def test_trees_reference(case, inputs, outputs):
    kw = case["kwargs"]
    want = tuple(ast.literal_eval(s) for s in outputs["basis"])
    got = sksig.trees(kw["dimension"], kw["degree"], planar=kw["planar"])
    assert got == want


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases("trees.npz", "lengths")
)
def test_lengths_reference(case, inputs, outputs):
    checked = 0
    for name, value in zip(outputs["names"], outputs["values"], strict=True):
        *head, d, n = str(name).split("_")
        planar = head[-1] == "planar"
        func = "_".join(head[:-1] if planar else head)
        if func not in ("branched_sig_length", "branched_log_sig_length"):
            continue
        got = getattr(sksig, func)(int(d), int(n), planar=planar)
        assert got == int(value), name
        checked += 1
    assert checked >= 60


def test_spec_examples():
    assert sksig.trees(1, 4) == (
        None, (0,), ((0,), 0), ((0,), (0,), 0), (((0,), 0), 0),
        ((0,), (0,), (0,), 0), ((0,), ((0,), 0), 0), (((0,), (0,), 0), 0),
        ((((0,), 0), 0), 0),
    )
    assert sksig.trees(1, 3, planar=True) == (
        None, ((0,),), ((0,), (0,)), (((0,), 0),), ((0,), (0,), (0,)),
        ((0,), ((0,), 0)), (((0,), 0), (0,)), (((0,), (0,), 0),), ((((0,), 0), 0),),
    )


def _count_trees(d, n, planar):
    """Node-count census of rooted labelled trees (independent recursion)."""
    # Trees with n nodes = label x (sequence / multiset of subtrees with n-1 nodes).
    from functools import lru_cache
    from math import comb

    @lru_cache(None)
    def t(k):
        return d * (f(k - 1) if planar else m(k - 1, k - 1))

    @lru_cache(None)
    def f(k):  # ordered forests
        return 1 if k == 0 else sum(t(j) * f(k - j) for j in range(1, k + 1))

    @lru_cache(None)
    def m(k, largest):  # multisets of trees, sizes <= largest
        if k == 0:
            return 1
        total = 0
        for size in range(1, min(k, largest) + 1):
            for copies in range(1, k // size + 1):
                total += comb(t(size) + copies - 1, copies) * m(k - size * copies,
                                                                size - 1)
        return total

    return f(n) if planar else t(n)


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("d, degree", [(1, 6), (2, 5), (3, 4), (4, 3)])
def test_lengths_match_enumeration(d, degree, planar):
    basis = sksig.trees(d, degree, planar=planar)
    assert basis[0] is None
    assert len(basis) - 1 == sksig.branched_sig_length(d, degree, planar=planar)
    assert len(set(basis)) == len(basis)
    for n in range(1, degree + 1):
        got = sksig.trees_of_order(d, n, planar=planar)
        assert len(got) == _count_trees(d, n, planar)
    assert sksig.branched_sig_length(d, degree, planar=planar, scalar_term=True) == len(
        basis
    )


def test_large_lengths_without_enumeration():
    # Closed-form counts must not enumerate (d=5, degree 9 has ~10^7 forests).
    assert sksig.branched_sig_length(5, 9, planar=True) > 10**7
    assert sksig.branched_log_sig_length(5, 9, planar=True) > 10**6


def test_trees_of_order_is_a_block_of_trees():
    for planar in (False, True):
        basis = sksig.trees(2, 4, planar=planar)
        blocks = [sksig.trees_of_order(2, n, planar=planar) for n in range(1, 5)]
        assert basis[1:] == tuple(x for b in blocks for x in b)
    assert sksig.trees_of_order(3, 0) == (None,)


@pytest.mark.parametrize("planar", [False, True])
def test_tree_to_idx_roundtrip(planar):
    basis = sksig.trees(2, 4, planar=planar)
    for i, tree in enumerate(basis):
        assert sksig.tree_to_idx(tree, 2, 4, planar=planar, scalar_term=True) == i
        assert sksig.idx_to_tree(i, 2, 4, planar=planar, scalar_term=True) == tree
        if i:
            assert sksig.tree_to_idx(tree, 2, 4, planar=planar) == i - 1
            assert sksig.idx_to_tree(i - 1, 2, 4, planar=planar) == tree


def test_planar_bare_tree_is_one_tree_forest():
    assert sksig.tree_to_idx(((0,), 1), 2, 2, planar=True) == sksig.tree_to_idx(
        (((0,), 1),), 2, 2, planar=True
    )


@pytest.mark.parametrize(
    "tree, match",
    [
        (None, "scalar term"),
        ((2,), "not a basis tree"),
        ((((0,), 0),), "int label"),  # a forest is not a non-planar tree
        (((0,), (0,), (0,), 0), "more than degree"),
        ((), "not a tree"),
        (((0,), 0.5), "int label"),
        ("a", "not a tree"),
    ],
)
def test_tree_to_idx_bad(tree, match):
    with pytest.raises(ValueError, match=match):
        sksig.tree_to_idx(tree, 2, 3)


def test_tree_to_idx_noncanonical_child_order():
    # Non-planar children must be in basis order: ((1,), (0,), 0) is not canonical.
    sksig.tree_to_idx(((0,), (1,), 0), 2, 3)
    with pytest.raises(ValueError, match="canonical"):
        sksig.tree_to_idx(((1,), (0,), 0), 2, 3)
    # ...but planar trees keep their order.
    assert sksig.tree_to_idx(((1,), (0,), 0), 2, 3, planar=True) != sksig.tree_to_idx(
        ((0,), (1,), 0), 2, 3, planar=True
    )


def test_idx_to_tree_bad():
    n = sksig.branched_sig_length(2, 2)
    with pytest.raises(ValueError, match="idx"):
        sksig.idx_to_tree(n, 2, 2)
    with pytest.raises(ValueError, match="idx"):
        sksig.idx_to_tree(-1, 2, 2)
    assert sksig.idx_to_tree(n, 2, 2, scalar_term=True) == sksig.trees(2, 2)[-1]
    with pytest.raises(TypeError, match="idx"):
        sksig.idx_to_tree(1.0, 2, 2)


@pytest.mark.parametrize(
    "args, kwargs, exc",
    [
        ((-1, 2), {}, ValueError),
        ((2, -1), {}, ValueError),
        ((2.0, 2), {}, TypeError),
        ((2, 2), {"planar": 1}, TypeError),
        ((2, 2), {"scalar_term": "yes"}, TypeError),
    ],
)
def test_length_bad_arguments(args, kwargs, exc):
    with pytest.raises(exc):
        sksig.branched_sig_length(*args, **kwargs)


def test_zero_lengths():
    assert sksig.branched_sig_length(0, 3) == 0
    assert sksig.branched_sig_length(3, 0) == 0
    assert sksig.branched_sig_length(3, 0, scalar_term=True) == 1
    assert sksig.branched_log_sig_length(0, 3, planar=True) == 0
    assert sksig.branched_log_sig_length(2, 0, planar=True) == 0
    assert sksig.trees(2, 0) == (None,)


def test_numpy_ints_accepted():
    assert sksig.trees(np.int64(2), np.int32(2)) == sksig.trees(2, 2)

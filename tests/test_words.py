"""Words and their indices: itertools enumeration, round trips, the signature layout
(the naive tensor algebra) and pySigLib (skipped without it)."""

import itertools

import numpy as np
import pytest
from _oracles_tensor import signature

import sksig


def _brute_lyndon(word):
    # Strictly smaller than every proper rotation (the definition).
    return len(word) > 0 and all(word < word[i:] + word[:i]
                                 for i in range(1, len(word)))


@pytest.mark.parametrize("d,n", [(1, 4), (2, 3), (3, 2), (4, 3), (0, 3), (2, 0)])
def test_words_enumerate_every_word_by_length_then_lexicographically(d, n):
    want = [()] if d == 0 else [w for k in range(n + 1)
                                for w in itertools.product(range(d), repeat=k)]
    assert sksig.words(d, n) == want
    assert len(want) == sksig.sig_length(d, n, scalar_term=True)
    for k in range(n + 1):
        assert sksig.words_of_length(d, k) == [w for w in want if len(w) == k]


def test_words_of_length_edge_cases():
    assert sksig.words_of_length(3, 0) == [()]
    assert sksig.words_of_length(0, 0) == [()]
    assert sksig.words_of_length(0, 2) == []


@pytest.mark.parametrize("d,n", [(2, 5), (3, 4)])
def test_word_index_matches_the_signature_layout(rng, d, n):
    # The coefficient of every word read at word_to_idx equals the naive tensor
    # algebra's entry of that word, with and without the scalar term.
    x = rng.standard_normal((5, d))
    levels = signature(x, n)
    s = sksig.sig(x, n)
    s1 = sksig.sig(x, n, scalar_term=True)
    for i, w in enumerate(sksig.words(d, n)):
        assert sksig.word_to_idx(w, d, scalar_term=True) == i
        assert sksig.idx_to_word(i, d, scalar_term=True) == w
        np.testing.assert_allclose(s1[i], levels[len(w)][w], rtol=1e-12, atol=1e-14)
        if w:
            j = sksig.word_to_idx(w, d)
            assert j == i - 1 and sksig.idx_to_word(j, d) == w
            np.testing.assert_allclose(s[j], levels[len(w)][w], rtol=1e-12, atol=1e-14)


def test_word_index_round_trips_far_beyond_computable_degrees():
    for d in (1, 2, 7):
        for idx in (0, 1, 5, 10**6, 2**70 + 3)[:None if d > 1 else 4]:
            for st in (False, True):
                w = sksig.idx_to_word(idx, d, scalar_term=st)
                assert sksig.word_to_idx(w, d, scalar_term=st) == idx
    with pytest.raises(ValueError, match="idx"):
        sksig.idx_to_word(2**70, 1)  # a word of 2**70 letters
    assert sksig.idx_to_word(4, 1) == (0,) * 5
    assert sksig.word_to_idx((0,) * 5, 1) == 4


def test_is_lyndon_matches_the_rotation_definition_and_lyndon_words():
    for d, n in ((2, 6), (3, 4)):
        lyndon = set(sksig.lyndon_words(d, n))
        for w in sksig.words(d, n):
            assert sksig.is_lyndon(w) == _brute_lyndon(w) == (w in lyndon)
    assert sksig.is_lyndon([0, 1]) is True
    assert sksig.is_lyndon(()) is False


@pytest.mark.parametrize("call,error,match", [
    (lambda: sksig.words(-1, 2), ValueError, "alphabet_size"),
    (lambda: sksig.words(2, 1.5), TypeError, "max_length"),
    (lambda: sksig.words_of_length(2, -1), ValueError, "length"),
    (lambda: sksig.is_lyndon((1, -1)), ValueError, "word"),
    (lambda: sksig.is_lyndon("01"), TypeError, "word"),
    (lambda: sksig.is_lyndon((0, 1.0)), TypeError, "word"),
    (lambda: sksig.word_to_idx((2,), 2), ValueError, r"\[0, 2\)"),
    (lambda: sksig.word_to_idx((), 2), ValueError, "scalar_term=True"),
    (lambda: sksig.word_to_idx((0,), 2, scalar_term=1), TypeError, "scalar_term"),
    (lambda: sksig.idx_to_word(-1, 2), ValueError, "idx"),
    (lambda: sksig.idx_to_word(1, 0, scalar_term=True), ValueError, "empty alphabet"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_huge_word_lists_are_refused_before_any_work(monkeypatch):
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", str(2**20))
    with pytest.raises(ValueError, match="max_length"):
        sksig.words(10, 6)
    with pytest.raises(ValueError, match="length"):
        sksig.words_of_length(10, 6)
    monkeypatch.delenv("SKSIG_MEMORY_LIMIT")
    with pytest.raises(ValueError, match="max_length"):
        sksig.words(10, 40)  # about 10**40 words


def test_cross_check_with_pysiglib():
    pysiglib = pytest.importorskip("pysiglib")
    for d, n in ((1, 3), (2, 3), (3, 2), (0, 2), (2, 0)):
        assert sksig.words(d, n) == pysiglib.words(d, n)
        assert sksig.words_of_length(d, n) == pysiglib.words_of_length(d, n)
    for w in sksig.words(3, 4):
        assert sksig.is_lyndon(w) == pysiglib.is_lyndon(w)
        for st in (False, True):
            if w or st:
                assert sksig.word_to_idx(w, 3, scalar_term=st) == pysiglib.word_to_idx(
                    w, 3, scalar_term=st)
    for i in range(60):
        for st in (False, True):
            assert sksig.idx_to_word(i, 3, scalar_term=st) == pysiglib.idx_to_word(
                i, 3, scalar_term=st)

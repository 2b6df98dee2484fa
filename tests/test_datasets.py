"""The bundled UEA/UCR datasets load with the archive's shapes, labels and values."""

import numpy as np
import pytest
from sklearn.utils import Bunch

from sksig.datasets import load_basic_motions, load_gunpoint, load_japanese_vowels

# (loader, split, n_samples, length or None for ragged, channels, n_classes)
SHAPES = [
    (load_basic_motions, "train", 40, 100, 6, 4),
    (load_basic_motions, "test", 40, 100, 6, 4),
    (load_gunpoint, "train", 50, 150, 1, 2),
    (load_gunpoint, "test", 150, 150, 1, 2),
    (load_japanese_vowels, "train", 270, None, 12, 9),
    (load_japanese_vowels, "test", 370, None, 12, 9),
]


@pytest.mark.parametrize("loader, split, n, length, channels, n_classes", SHAPES)
def test_shapes_and_labels(loader, split, n, length, channels, n_classes):
    X, y = loader(split, return_X_y=True)
    assert len(X) == n and y.shape == (n,)
    if length is None:
        assert isinstance(X, list)
        assert all(x.ndim == 2 and x.shape[1] == channels for x in X)
        assert all(x.dtype == np.float64 for x in X)
    else:
        assert isinstance(X, np.ndarray) and X.shape == (n, length, channels)
        assert X.dtype == np.float64
    assert all(np.isfinite(x).all() for x in X)
    assert len(np.unique(y)) == n_classes


def test_japanese_vowels_is_ragged_with_known_values():
    X_train, y_train = load_japanese_vowels("train", return_X_y=True)
    X_test, y_test = load_japanese_vowels("test", return_X_y=True)
    lengths = [len(x) for x in X_train + X_test]
    assert min(lengths) == 7 and max(lengths) == 29
    # first and last values of the first training and last test series in the .ts files
    assert X_train[0].shape == (20, 12)
    np.testing.assert_array_equal(X_train[0][:2, 0], [1.860936, 1.891651])
    assert y_train[0] == "1"
    assert X_test[-1][-1, -1] == 0.224688 and y_test[-1] == "9"
    # the training split is balanced: 30 utterances per speaker
    np.testing.assert_array_equal(np.unique(y_train, return_counts=True)[1], [30] * 9)


def test_equal_length_sets_have_known_values():
    X, y = load_basic_motions("test", return_X_y=True)
    np.testing.assert_array_equal(X[-1, :2, 0], [0.901645, 0.901645])
    assert X[-1, -1, 5] == -1.77647
    X, _ = load_gunpoint("train", return_X_y=True)
    np.testing.assert_array_equal(X[0, :3, 0], [-0.6478854, -0.64199155, -0.63818632])


def test_bunch_has_description_and_citation():
    bunch = load_japanese_vowels("test")
    assert isinstance(bunch, Bunch)
    assert bunch.name == "JapaneseVowels"
    assert "Bagnall" in bunch.DESCR and "Kudo" in bunch.DESCR
    np.testing.assert_array_equal(bunch.target_names, [str(i) for i in range(1, 10)])
    np.testing.assert_array_equal(bunch.lengths, [len(x) for x in bunch.data])
    assert set(np.unique(bunch.target)) <= set(bunch.target_names)


def test_loads_are_independent_copies():
    X1, _ = load_japanese_vowels(return_X_y=True)
    X1[0][:] = 0.0
    X2, _ = load_japanese_vowels(return_X_y=True)
    assert X2[0][0, 0] == 1.860936


def test_bad_arguments():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_gunpoint("validation")
    with pytest.raises(TypeError, match="return_X_y must be a bool"):
        load_gunpoint("train", return_X_y="yes")

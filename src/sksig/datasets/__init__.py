"""Small real multivariate time-series datasets bundled with sksig.

Three classification problems from the UEA & UCR time series classification archive
(Bagnall et al.), stored as compact ``.npz`` files in ``sksig/datasets/data`` and read
with numpy only. See ``sksig/datasets/README.md`` for sources and citations.

=====================  =====  ====  ========  ========  =======
loader                 train  test  channels  length    classes
=====================  =====  ====  ========  ========  =======
load_basic_motions        40    40         6  100             4
load_gunpoint             50   150         1  150             2
load_japanese_vowels     270   370        12  7 to 29         9
=====================  =====  ====  ========  ========  =======
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_basic_motions", "load_gunpoint", "load_japanese_vowels"]

_CITATION = (
    "Source: the UEA & UCR time series classification archive "
    "(https://www.timeseriesclassification.com), as redistributed in the aeon "
    "package. Cite: A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom, "
    "P. Southam and E. Keogh (2018), 'The UEA multivariate time series classification "
    "archive, 2018', arXiv:1811.00075; and H. A. Dau et al. (2019), 'The UCR time "
    "series archive', IEEE/CAA Journal of Automatica Sinica 6(6), 1293-1305."
)


def _load(name, split, return_X_y):
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise TypeError(f"return_X_y must be a bool, got {type(return_X_y).__name__}")
    with resources.files("sksig.datasets").joinpath(f"data/{name}.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            values = npz[f"{split}_values"]
            lengths = npz[f"{split}_lengths"]
            target = npz[f"{split}_labels"]
            class_labels = npz["class_labels"]
            description = str(npz["description"])
    if np.all(lengths == lengths[0]):
        data = values.reshape(len(lengths), int(lengths[0]), values.shape[1])
    else:
        data = [s.copy() for s in np.split(values, np.cumsum(lengths)[:-1])]
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=class_labels,
        lengths=lengths.astype(np.intp),
        name=name,
        DESCR=f"{name} ({split} split)\n\n{description}\n\n{_CITATION}",
    )


_DOC = """Load the {name} dataset ({summary}).

    {details}

    Parameters
    ----------
    split : {{"train", "test"}}, default="train"
        Which of the archive's fixed splits to return.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : {data_type}
        The paths, float64.
    target : ndarray of shape (n_samples,) of str
        Class labels.
    bunch : Bunch
        When ``return_X_y`` is False: ``data``, ``target``, ``target_names`` (the
        declared class labels), ``lengths`` (points per path), ``name`` and ``DESCR``
        (description and citation).

    Raises
    ------
    ValueError
        If ``split`` is not "train" or "test".
    TypeError
        If ``return_X_y`` is not a bool.

    Examples
    --------
    >>> from sksig.datasets import {loader}
    >>> X, y = {loader}(split="train", return_X_y=True)
    >>> len(X), {example_shape}
    {example_output}
    """


def load_basic_motions(split="train", *, return_X_y=False):
    return _load("BasicMotions", split, return_X_y)


def load_gunpoint(split="train", *, return_X_y=False):
    return _load("GunPoint", split, return_X_y)


def load_japanese_vowels(split="train", *, return_X_y=False):
    return _load("JapaneseVowels", split, return_X_y)


load_basic_motions.__doc__ = _DOC.format(
    name="BasicMotions",
    summary="UEA multivariate, 4 classes, 40 + 40 paths",
    details="Smart-watch 3-D accelerometer and 3-D gyroscope readings (6 channels, "
    "100 points at 10 Hz) of students standing, walking, running and playing "
    "badminton.",
    data_type="ndarray of shape (n_samples, 100, 6)",
    loader="load_basic_motions",
    example_shape="X.shape",
    example_output="(40, (40, 100, 6))",
)
load_gunpoint.__doc__ = _DOC.format(
    name="GunPoint",
    summary="UCR univariate, 2 classes, 50 + 150 paths",
    details="Horizontal position of an actor's hand (150 points) while drawing a "
    "replica gun or pointing a finger.",
    data_type="ndarray of shape (n_samples, 150, 1)",
    loader="load_gunpoint",
    example_shape="X.shape",
    example_output="(50, (50, 150, 1))",
)
load_japanese_vowels.__doc__ = _DOC.format(
    name="JapaneseVowels",
    summary="UEA multivariate, variable length, 9 classes, 270 + 370 paths",
    details="12 linear-prediction cepstrum coefficients of utterances of the vowels "
    "'a' and 'e' by nine male speakers; the task is to recognise the speaker. "
    "Paths have 7 to 29 points, so ``data`` is a list.",
    data_type="list of ndarray of shape (length_i, 12)",
    loader="load_japanese_vowels",
    example_shape="X[0].shape",
    example_output="(270, (20, 12))",
)

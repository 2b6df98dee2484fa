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

from sksig._docs import fill_doc

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


# The docstring fragments every loader shares (sksig._docs.fill_doc): the Parameters
# with the Returns header, and the Returns after ``data`` with the Raises.
_PARAMS = dict(
    parameters="""
    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which of the archive's fixed splits to return.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------""",
    returns_and_raises="""
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
        If ``return_X_y`` is not a bool.""",
)


@fill_doc(**_PARAMS)
def load_basic_motions(split="train", *, return_X_y=False):
    """Load the BasicMotions dataset (UEA multivariate, 4 classes, 40 + 40 paths).

    Smart-watch 3-D accelerometer and 3-D gyroscope readings (6 channels, 100 points
    at 10 Hz) of students standing, walking, running and playing badminton.

    {parameters}
    data : ndarray of shape (n_samples, 100, 6)
        The paths, float64: 6 channels of 100 points.
    {returns_and_raises}

    Examples
    --------
    >>> from sksig.datasets import load_basic_motions
    >>> X, y = load_basic_motions(return_X_y=True)
    >>> X.shape, sorted(set(y.tolist()))
    ((40, 100, 6), ['Badminton', 'Running', 'Standing', 'Walking'])
    """
    return _load("BasicMotions", split, return_X_y)


@fill_doc(**_PARAMS)
def load_gunpoint(split="train", *, return_X_y=False):
    """Load the GunPoint dataset (UCR univariate, 2 classes, 50 + 150 paths).

    Horizontal position of an actor's hand (150 points) while drawing a replica gun
    or pointing a finger.

    {parameters}
    data : ndarray of shape (n_samples, 150, 1)
        The paths, float64 (one channel).
    {returns_and_raises}

    Examples
    --------
    >>> from sksig.datasets import load_gunpoint
    >>> test = load_gunpoint(split="test")
    >>> test.data.shape, test.target_names
    ((150, 150, 1), array(['1', '2'], dtype='<U1'))
    """
    return _load("GunPoint", split, return_X_y)


@fill_doc(**_PARAMS)
def load_japanese_vowels(split="train", *, return_X_y=False):
    """Load the JapaneseVowels dataset (UEA multivariate, 9 classes, 270 + 370 paths).

    12 linear-prediction cepstrum coefficients of utterances of the vowels 'a' and
    'e' by nine male speakers; the task is to recognise the speaker. Paths have 7 to
    29 points, so ``data`` is a list.

    {parameters}
    data : list of ndarray of shape (length_i, 12)
        The paths, float64, of different lengths.
    {returns_and_raises}

    Examples
    --------
    >>> from sksig.datasets import load_japanese_vowels
    >>> X, y = load_japanese_vowels(return_X_y=True)
    >>> len(X), X[0].shape
    (270, (20, 12))
    """
    return _load("JapaneseVowels", split, return_X_y)

"""Words over a finite alphabet and their place in a truncated signature.

A word ``(i_1, ..., i_k)`` over ``{0, ..., d - 1}`` names the signature coefficient
``S^{i_1 ... i_k}``. :func:`sksig.sig` stores level ``k`` after levels ``0..k-1`` (the
scalar term is level 0), with the word at offset ``i_1 d^(k-1) + ... + i_k`` inside
its level: words are ordered by length, then lexicographically.
"""

import itertools
import operator

from sksig._docs import fill_doc
from sksig._limits import check_memory
from sksig._lyndon import check_listing
from sksig._validation import check_bool, check_int

__all__ = [
    "check_word",
    "check_words",
    "idx_to_word",
    "is_lyndon",
    "word_to_idx",
    "words",
    "words_of_length",
]

# A listed word costs a tuple (56 bytes + 8 per letter) and a list slot, and about
# 0.2 microseconds to build.
_WORD_SECONDS = 2e-7


def check_word(word, name="word", alphabet_size=None):
    """``word`` as a tuple of Python ints in ``[0, alphabet_size)`` (any alphabet when
    None); TypeError for anything but a tuple or list of integers."""
    if not isinstance(word, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of integers, got "
                        f"{type(word).__name__}")
    letters = []
    for letter in word:
        if isinstance(letter, bool):
            raise TypeError(f"{name} must be a tuple of integers, got a bool letter")
        try:
            letters.append(operator.index(letter))
        except TypeError:
            raise TypeError(f"{name} must be a tuple of integers, got a letter of type "
                            f"{type(letter).__name__}") from None
    if letters and min(letters) < 0:
        raise ValueError(f"{name} must have letters >= 0, got {tuple(letters)}")
    if alphabet_size is not None and letters and max(letters) >= alphabet_size:
        raise ValueError(
            f"{name} must have letters in [0, {alphabet_size}) (the alphabet, i.e. the "
            f"dimension of the paths after any transform), got {tuple(letters)}"
        )
    return tuple(letters)


def check_words(words, alphabet_size, name="words"):
    """One word (a tuple of ints) or a non-empty list of words, as a list of tuples."""
    if isinstance(words, tuple) and not any(isinstance(w, (tuple, list))
                                            for w in words):
        return [check_word(words, name, alphabet_size)]
    if not isinstance(words, (list, tuple)):
        raise TypeError(f"{name} must be a tuple of integers (one word) or a list of "
                        f"such tuples, got {type(words).__name__}")
    if not words:
        raise ValueError(f"{name} must hold at least one word, got an empty list")
    return [check_word(w, f"{name}[{i}]", alphabet_size) for i, w in enumerate(words)]


def _check_list(alphabet_size, lengths, argument):
    counts = [(k, alphabet_size**k) for k in lengths]
    check_listing(counts, "words", argument, _WORD_SECONDS)


@fill_doc
def words(alphabet_size, max_length):
    """All words over ``{0, ..., alphabet_size - 1}`` of length 0 to ``max_length``.

    The order is that of :func:`sksig.sig` with ``scalar_term=True``: ``words(d, N)[i]``
    is the word of the coefficient at index ``i`` of a signature of dimension ``d`` and
    degree ``N`` (by length, then lexicographically; the empty word first).

    {word_list_parameters}

    Returns
    -------
    list of tuple of int
        ``sig_length(alphabet_size, max_length, scalar_term=True)`` words; just
        ``[()]`` for an empty alphabet or ``max_length=0``.

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is negative, or the list would not fit in memory or take over
        a minute to build (see the ``SKSIG_MEMORY_LIMIT`` and ``SKSIG_TIME_LIMIT``
        environment variables).

    See Also
    --------
    words_of_length : The words of one length.
    word_to_idx : Index of a word in a signature.

    Examples
    --------
    >>> import sksig
    >>> sksig.words(2, 2)
    [(), (0,), (1,), (0, 0), (0, 1), (1, 0), (1, 1)]
    """
    alphabet_size = check_int(alphabet_size, "alphabet_size")
    max_length = check_int(max_length, "max_length")
    if alphabet_size == 0:
        return [()]
    _check_list(alphabet_size, range(max_length + 1), "max_length")
    out = []
    for k in range(max_length + 1):
        out.extend(itertools.product(range(alphabet_size), repeat=k))
    return out


@fill_doc
def words_of_length(alphabet_size, length):
    """All words over ``{0, ..., alphabet_size - 1}`` of exactly ``length`` letters.

    {word_length_parameters}

    Returns
    -------
    list of tuple of int
        ``alphabet_size ** length`` words in lexicographic order (the order of level
        ``length`` of :func:`sksig.sig`): ``[()]`` for ``length=0``, empty for an
        empty alphabet and ``length >= 1``.

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is negative, or the list is too large to build (as in
        :func:`words`).

    Examples
    --------
    >>> import sksig
    >>> sksig.words_of_length(2, 2)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    alphabet_size = check_int(alphabet_size, "alphabet_size")
    length = check_int(length, "length")
    if alphabet_size == 0:
        return [()] if length == 0 else []
    _check_list(alphabet_size, [length], "length")
    return list(itertools.product(range(alphabet_size), repeat=length))


def is_lyndon(word):
    """Whether ``word`` is a Lyndon word.

    A non-empty word is Lyndon when it is strictly smaller, lexicographically, than
    each of its proper rotations (equivalently: than each of its proper suffixes).
    These are the words that index the log-signature coordinates (see
    :func:`sksig.lyndon_words`).

    Parameters
    ----------
    word : tuple of int
        Letters >= 0 (a list is accepted too).

    Returns
    -------
    bool
        False for the empty word.

    Raises
    ------
    TypeError
        If ``word`` is not a tuple or list of integers.
    ValueError
        If a letter is negative.

    Examples
    --------
    >>> import sksig
    >>> sksig.is_lyndon((0, 1)), sksig.is_lyndon((1, 0)), sksig.is_lyndon((0, 0))
    (True, False, False)
    """
    word = check_word(word)
    return bool(word) and all(word < word[i:] + word[:i] for i in range(1, len(word)))


def word_to_idx(word, alphabet_size, *, scalar_term=False):
    """Index of the coefficient of ``word`` in a signature.

    The inverse of :func:`idx_to_word`. With ``scalar_term=True`` a word
    ``(w_1, ..., w_k)`` sits at ``(d^k - 1) / (d - 1) + w_1 d^(k-1) + ... + w_k``
    (``k`` for ``d = 1``) and the empty word at 0; with ``scalar_term=False`` (the
    default of :func:`sksig.sig`) every index is one less and the empty word has none.
    The index does not depend on the degree: levels are stored in increasing order.

    Parameters
    ----------
    word : tuple of int
        Letters in ``[0, alphabet_size)`` (a list is accepted too).
    alphabet_size : int
        Number of letters (the dimension of the paths after any transform), >= 0.
    scalar_term : bool, default=False
        Whether the signature starts with its scalar term.

    Returns
    -------
    int
        The flat index, valid for every degree of at least ``len(word)``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If a letter is outside ``[0, alphabet_size)``, or ``word`` is empty while
        ``scalar_term=False``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> s = sksig.sig(x, 2)
    >>> i = sksig.word_to_idx((0, 1), 2)
    >>> i, s[i]
    (3, np.float64(1.0))
    """
    alphabet_size = check_int(alphabet_size, "alphabet_size")
    word = check_word(word, "word", alphabet_size)
    scalar_term = check_bool(scalar_term, "scalar_term")
    if not word and not scalar_term:
        raise ValueError("the empty word has no index in a signature without its "
                         "scalar term; pass scalar_term=True")
    offset = 0
    for letter in word:
        offset = offset * alphabet_size + letter
    # Words of length < k come first: tensor_size(d, k - 1) of them (the empty one too).
    k, d = len(word), alphabet_size
    before = 0 if not word else k if d == 1 else (d**k - 1) // (d - 1)
    return before + offset - (not scalar_term)


def idx_to_word(idx, alphabet_size, *, scalar_term=False):
    """Word of the coefficient at index ``idx`` of a signature.

    The inverse of :func:`word_to_idx`; the index may lie at any degree.

    Parameters
    ----------
    idx : int
        Index into the signature, >= 0 (pySigLib maps -1 to the empty word; here a
        negative index is an error rather than a count from the end).
    alphabet_size : int
        Number of letters, >= 0.
    scalar_term : bool, default=False
        Whether the signature starts with its scalar term (then index 0 is the empty
        word).

    Returns
    -------
    tuple of int
        The word whose coefficient sits at ``idx``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``idx`` is negative, or no word has this index (an empty alphabet has only
        the empty word), or the word would not fit in memory (one letter only).

    Examples
    --------
    >>> import sksig
    >>> sksig.idx_to_word(3, 2)
    (0, 1)
    >>> sksig.idx_to_word(0, 2, scalar_term=True)
    ()
    """
    idx = check_int(idx, "idx")
    alphabet_size = check_int(alphabet_size, "alphabet_size")
    scalar_term = check_bool(scalar_term, "scalar_term")
    position = idx + (not scalar_term)  # the index with the scalar term
    if position == 0:
        return ()
    if alphabet_size == 0:
        raise ValueError(f"idx={idx} is out of range: over an empty alphabet only the "
                         "empty word exists")
    if alphabet_size == 1:
        check_memory(8 * position, f"the word of {position} letters at idx={idx}",
                     "idx")
        return (0,) * position
    length, level = 1, alphabet_size
    position -= 1
    while position >= level:  # skip whole levels
        position -= level
        length += 1
        level *= alphabet_size
    word = []
    for _ in range(length):
        position, letter = divmod(position, alphabet_size)
        word.append(letter)
    return tuple(reversed(word))

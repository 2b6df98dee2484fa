"""Lyndon words, their standard bracketing and the sparse tables of the Lyndon bases.

The tables depend only on (dimension, degree); they are built natively on first use,
once per process (a lock makes concurrent first calls wait instead of building twice),
and read by the native cores (sksig/_core/include/sksig/lyndon.hpp builds them and
documents the layout; tests/_oracles_lyndon.py is the pure-Python definition).
"""

import functools
import math
import threading

from sksig._docs import fill_doc
from sksig._interrupt import call
from sksig._limits import check_memory, check_time, format_bytes
from sksig._memo import build_once
from sksig._validation import check_int

__all__ = [
    "MAX_TENSOR_SIZE",
    "check_tensor_size",
    "lyndon_count",
    "lyndon_tables",
    "lyndon_words",
    "lyndon_words_of_length",
    "tensor_size",
]

# Beyond 2**34 tensor entries (128 GiB in float64, per path) nothing can be computed;
# refusing up front also keeps every flat index far from int64 overflow.
MAX_TENSOR_SIZE = 2**34


# Only dimension 1 reaches higher degrees under MAX_TENSOR_SIZE, where the cost grows
# like degree**2 (signature) or degree**3 (log) per segment: beyond this, a call hangs.
MAX_DEGREE = 1000


def tensor_size(dim, degree):
    """Number of entries of levels 0..degree of the tensor algebra over R^dim.

    Raises ValueError beyond 2**64 entries instead of computing a giant integer.
    """
    if dim <= 1:
        return dim * degree + 1
    if (degree + 1) * math.log2(dim) > 64:
        raise ValueError(
            f"degree={degree} is too large: the truncated tensor algebra of dimension "
            f"{dim} would have more than 2**64 entries; lower the degree"
        )
    return (dim ** (degree + 1) - 1) // (dim - 1)


def check_tensor_size(dim, degree, name="degree"):
    if degree > MAX_DEGREE:
        raise ValueError(
            f"{name} must be at most {MAX_DEGREE} (higher truncation levels cannot be "
            f"computed in reasonable time), got {degree}"
        )
    if tensor_size(dim, degree) > MAX_TENSOR_SIZE:
        raise ValueError(
            f"the truncated tensor algebra of dimension {dim} at degree {degree} has "
            f"{tensor_size(dim, degree)} entries per path, more than can be computed; "
            "lower the degree"
        )


def mobius(n):
    """The Moebius function of n >= 1."""
    result, m, p = 1, n, 2
    while p * p <= m:
        if m % p == 0:
            m //= p
            if m % p == 0:
                return 0
            result = -result
        p += 1
    return -result if m > 1 else result


@functools.lru_cache(maxsize=1024)
def lyndon_count(dim, length):
    """Number of Lyndon words of exactly ``length`` letters over ``dim`` (necklace
    formula ``(1/n) sum_{k | n} mu(n/k) dim^k``)."""
    n = length
    return sum(mobius(n // k) * dim**k for k in range(1, n + 1) if n % k == 0) // n


def table_bytes(dim, degree):
    """Estimated bytes of the Lyndon tables of (dim, degree), from the sizes alone.

    The tables are dominated by the expansions of the brackets ``P_w`` into words
    (16 bytes per term): a word of ``k`` letters expands into at most ``2**(k-1)``
    words, and over few letters into far fewer (merged repeats), which grows like
    ``rho**(k-1)`` with ``rho`` from 1.62 (two letters) towards 2. The estimate
    ``1.2 rho**(k-1)`` with ``rho = 2 - 0.6 / dim`` is above the measured sizes by at
    most 2.5x for dimensions 2 to 10 (tests/test_hardening.py checks it).
    """
    if dim <= 1:
        return 64 * (degree + 1)
    rho = 2.0 - 0.6 / dim
    total = 0.0
    for k in range(1, degree + 1):
        terms = 1.2 * min(2.0 ** (k - 1), rho ** (k - 1))
        total += lyndon_count(dim, k) * (16.0 * terms + 48.0)
    return total


def _generate(alphabet_size, max_length):
    """All Lyndon words of length <= max_length, in lexicographic order (Duval)."""
    word = [-1]
    while word:
        word[-1] += 1
        yield tuple(word)
        m = len(word)
        while len(word) < max_length:
            word.append(word[len(word) - m])
        while word and word[-1] == alphabet_size - 1:
            word.pop()


def _words(alphabet_size, max_length):
    # Basis order: by length, then lexicographically.
    return sorted(_generate(alphabet_size, max_length), key=lambda w: (len(w), w))


@fill_doc
def lyndon_words(alphabet_size, max_length):
    """Lyndon words over ``{0, ..., alphabet_size - 1}`` of length 1 to ``max_length``.

    A non-empty word is Lyndon if it is strictly smaller, lexicographically, than all
    of its proper rotations. The order (by length, then lexicographic) is the order of
    the coordinates of :func:`sksig.log_sig` with ``method=1`` or ``method=2``.

    {word_list_parameters}

    Returns
    -------
    list of tuple of int
        Empty for an empty alphabet or ``max_length = 0``.

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is negative, or the words of this length cannot be listed
        (more than 2**34 tensor entries, or ``max_length`` above 1000).

    Examples
    --------
    >>> import sksig
    >>> sksig.lyndon_words(2, 3)
    [(0,), (1,), (0, 1), (0, 0, 1), (0, 1, 1)]
    """
    args = _word_args(alphabet_size, max_length, "max_length")
    return [] if args is None else _words(*args)


# A listed word costs a tuple (56 bytes + 8 per letter) and a list slot, and about a
# microsecond to generate and sort.
_WORD_SECONDS = 1e-6


def _word_args(alphabet_size, n, name):
    """Validated (alphabet_size, n) of a list of Lyndon words up to length ``n`` (the
    argument ``name``), or None where there is no word."""
    alphabet_size = check_int(alphabet_size, "alphabet_size")
    n = check_int(n, name)
    if alphabet_size == 0 or n == 0:
        return None
    check_tensor_size(alphabet_size, n, name)
    # Listing words of length n walks every shorter word too.
    _check_word_list(alphabet_size, range(1, n + 1), name)
    return alphabet_size, n


def check_listing(counts, kind, argument, seconds_per_word):
    """Refuse listing words (``counts``: (length, number) pairs) that would not fit in
    memory or would take too long; ``kind`` names them in the message."""
    n_words = sum(c for _, c in counts)
    what = f"the list of {n_words} {kind}"
    check_memory(sum(c * (64 + 8 * k) for k, c in counts), what, argument)
    check_time(n_words * seconds_per_word, what, argument)


def _check_word_list(alphabet_size, lengths, argument):
    counts = [(k, lyndon_count(alphabet_size, k)) for k in lengths]
    check_listing(counts, "Lyndon words", argument, _WORD_SECONDS)


@fill_doc
def lyndon_words_of_length(alphabet_size, length):
    """Lyndon words over ``{0, ..., alphabet_size - 1}`` of exactly ``length`` letters.

    {word_length_parameters}

    Returns
    -------
    list of tuple of int
        In lexicographic order; empty for an empty alphabet or ``length = 0``.

    Raises
    ------
    TypeError
        If an argument is not an int.
    ValueError
        If an argument is negative, or ``length`` is too large to list the words
        (as in :func:`lyndon_words`).

    Examples
    --------
    >>> import sksig
    >>> sksig.lyndon_words_of_length(2, 4)
    [(0, 0, 0, 1), (0, 0, 1, 1), (0, 1, 1, 1)]
    """
    args = _word_args(alphabet_size, length, "length")
    return [] if args is None else [w for w in _generate(*args) if len(w) == length]


def _build_tables(dim, degree):
    """The :class:`sksig._core.native.LyndonTables` of (dim, degree).

    Built natively (sksig/_core/include/sksig/lyndon.hpp documents the arrays); not
    cached: use :func:`lyndon_tables`.
    """
    from sksig._core import _log_sig

    check_tensor_size(dim, degree)
    what = f"the Lyndon-basis tables of dimension {dim} at degree {degree}"
    estimate = table_bytes(dim, degree)
    check_memory(estimate, what, "degree")
    try:
        return call(_log_sig.build_tables, dim, degree)
    except MemoryError:  # under the limit, but the memory is taken by others
        raise MemoryError(
            f"{what} (about {format_bytes(estimate)}) do not fit in the free memory; "
            "lower degree"
        ) from None


_TABLES = {}
_LOCK = threading.Lock()


def lyndon_tables(dim, degree):
    """The LyndonTables of (dim, degree), built once per process (read-only numpy
    arrays, one field per table)."""
    def build():
        tables = _build_tables(dim, degree)
        tables.set_read_only()  # shared by every caller (and the CUDA join)
        return tables

    return build_once(_TABLES, _LOCK, (dim, degree), build)

"""Signature coefficients at chosen words: computed directly or read off signatures."""

import functools
import threading

import numpy as np

from sksig._array import (
    as_array,
    check_same_batch,
    check_trailing_length,
)
from sksig._docs import fill_doc
from sksig._limits import check_memory
from sksig._log_sig import _path_input, sig_length
from sksig._validation import check_bool, check_int
from sksig._words import check_words, word_to_idx

__all__ = ["extract_sig_coef", "sig_coef", "sig_coef_backprop"]


class _Trie:
    """The requested words and all their prefixes, as the arrays of the native core
    (include/sksig/sig_coef.hpp documents them), and where each output entry reads."""

    def __init__(self, words, prefixes):
        nodes = sorted({w[:m] for w in words for m in range(1, len(w) + 1)},
                       key=lambda w: (len(w), w))
        index = {w: i for i, w in enumerate(nodes)}
        self.n_nodes = len(nodes)
        self.max_depth = max((len(w) for w in words), default=0)
        ptr = np.zeros(len(nodes) + 1, np.int64)
        ptr[1:] = np.cumsum([len(w) for w in nodes])
        self.anc_ptr = ptr
        self.anc = np.array([index[w[:m]] for w in nodes for m in range(1, len(w) + 1)],
                            np.int64)
        self.letter = np.array([w[-1] for w in nodes], np.int64)
        if prefixes:
            entries = [[index[w[:m]] for m in range(1, len(w) + 1)] or [-1]
                       for w in words]
            self.out_node = np.array([i for e in entries for i in e], np.int64)
        else:
            self.out_node = np.array([index[w] if w else -1 for w in words], np.int64)
        for array in (self.anc_ptr, self.anc, self.letter, self.out_node):
            array.flags.writeable = False

    def arrays(self):
        return self.anc_ptr, self.anc, self.letter, self.max_depth, self.out_node


_TRIE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=64)
def _cached_trie(words, prefixes):
    return _Trie(words, prefixes)


def _trie(words, prefixes):
    # A trie costs its ancestor lists (8 bytes per letter of every prefix) and a few
    # arrays per node; refuse what cannot be allocated before building it.
    check_memory(sum(8 * (len(w) + 1) * (len(w) + 6) for w in words),
                 f"the prefix trie of {len(words)} words", "words")
    with _TRIE_LOCK:
        return _cached_trie(tuple(words), prefixes)


def clear_trie_cache():
    """Forget the tries of earlier calls (see :func:`sksig.clear_cache`)."""
    with _TRIE_LOCK:
        _cached_trie.cache_clear()


@fill_doc
def sig_coef(path, words, *, time_aug=False, lead_lag=False, end_time=1.0,
             prefixes=False, basepoint=None, n_jobs=1):
    r"""Signature coefficients of piecewise-linear paths at chosen words.

    For a word ``I = (i_1, ..., i_k)`` the coefficient is the iterated integral

    .. math::

        S(x)^I = \int_{0 < t_1 < \dots < t_k < T} dx^{i_1}_{t_1} \cdots dx^{i_k}_{t_k},

    the entry of :func:`sksig.sig` at ``word_to_idx(I, dim)``. It is computed without
    the full truncated signature: only the requested words and their prefixes are
    carried along the path, one straight segment at a time (Chen's identity), which
    costs ``k`` multiply-adds per prefix of ``k`` letters and segment. That is far
    cheaper than the signature when few words of a high degree or dimension are
    wanted; for most of the words of a level, :func:`sksig.sig` followed by
    :func:`extract_sig_coef` is about as fast.

    Parameters
    ----------
    {paths}
        Computed on the CPU (CUDA tensors are copied to the host and back).
    words : tuple of int, or list of tuple of int
        One word, or a non-empty list of words, with letters in ``[0, dim')`` where
        ``dim'`` is the dimension after ``time_aug``/``lead_lag`` (lead-lag puts the
        lag channels first, time last). The empty word ``()`` gives 1.
    {transforms_end_time}
    prefixes : bool, default=False
        Also return every prefix of each word: word ``(a, b, c)`` gives the
        coefficients at ``(a,)``, ``(a, b)`` and ``(a, b, c)``, in that order (the
        empty word gives one entry). They come for free; this is the layout
        :func:`sig_coef_backprop` takes by default.
    basepoint : None, True or array-like of shape (dim,), default=None
        A point prepended to every path before the transforms (True: the origin).
    n_jobs : int, default=1
        CPU threads (one path per thread); None means 1, -1 all cores. Results do not
        depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        ``n = len(words)``, or the total number of prefixes with ``prefixes=True``.
        Paths of 0 or 1 points give 0 (1 for the empty word).

    Raises
    ------
    TypeError
        If ``path`` is not a float array, ``words`` is not a word or a list of words,
        or an argument has the wrong type.
    ValueError
        If ``path`` has a bad shape or NaN/inf, ``words`` is empty or has a letter
        outside ``[0, dim')``.
    FloatingPointError
        If a coefficient overflows (rescale the paths).

    See Also
    --------
    extract_sig_coef : The same coefficients read off a full signature.
    sig_coef_backprop : Its gradient.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.sig_coef(x, [(0, 1), (1, 0)])
    array([1., 0.])
    >>> sksig.sig_coef(x, [(0, 1)], prefixes=True)
    array([1., 1.])
    """
    prefixes = check_bool(prefixes, "prefixes")
    batch, n_threads = _path_input(path, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    trie = _trie(check_words(words, batch.dim), prefixes)
    anc_ptr, anc, letter, max_depth, out_node = trie.arrays()
    check_memory(batch.n_paths * out_node.size * batch.data.itemsize,
                 f"the coefficients of {batch.n_paths} paths", "the batch")
    out = np.zeros((batch.n_paths, out_node.size), batch.data.dtype)
    out[:, out_node < 0] = 1.0
    if batch.length >= 2 and trie.n_nodes:
        from sksig._core import _backend

        _backend.sig_coef(batch.data, out, (anc_ptr, anc, letter, max_depth, out_node),
                          n_threads)
    return batch.caller.out(out.reshape(batch.batch_shape + (out_node.size,)))


@fill_doc
def sig_coef_backprop(path, words, coefs, derivs, *, time_aug=False, lead_lag=False,
                      end_time=1.0, prefixes=True, basepoint=None, n_jobs=1):
    """Gradient with respect to the paths of a function of signature coefficients.

    Given ``coefs = sksig.sig_coef(path, words, prefixes=True, ...)`` and ``derivs``
    the derivatives ``dF/d coefs`` of a scalar ``F``, returns ``dF/d path``. Starting
    from the coefficients at the words and all their prefixes (read off ``coefs`` with
    ``prefixes=True``, recomputed along the path otherwise), the segments are taken
    off again from the last one (multiplying by the inverse of each segment's
    signature) while the cotangent is pulled back through each segment's update; no
    intermediate coefficient is stored. ``derivs`` is not modified (pySigLib
    overwrites it).

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths given to :func:`sig_coef`. Computed on the CPU.
    words : tuple of int, or list of tuple of int
        The words given to :func:`sig_coef`.
    coefs : array-like or torch.Tensor of shape (..., n)
        The output of :func:`sig_coef` for these paths and words (with
        ``prefixes=True`` by default); the reverse pass starts from it.
    derivs : array-like or torch.Tensor, same shape as ``coefs``
        ``dF/d coefs``. Entries of the empty word (a constant) get no gradient.
    time_aug, lead_lag : bool, default=False
        The transforms used for ``coefs``.
    end_time : float, default=1.0
        Final value of the time channel.
    prefixes : bool, default=True
        The layout of ``coefs`` and ``derivs``: with every prefix (pySigLib's only
        layout), or one entry per word (``False``).
    {path_backprop_tail}
    ValueError
        If a shape does not fit the paths and words, an input has NaN or inf, or a
        word is invalid (as in :func:`sig_coef`).
    {gradient_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> c = sksig.sig_coef(x, [(0, 1)], prefixes=True)
    >>> sksig.sig_coef_backprop(x, [(0, 1)], c, np.array([0.0, 1.0]))
    array([[-1. , -0.5],
           [ 0.5, -0.5],
           [ 0.5,  1. ]])
    """
    prefixes = check_bool(prefixes, "prefixes")
    batch, n_threads = _path_input(path, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    trie = _trie(check_words(words, batch.dim), prefixes)
    anc_ptr, anc, letter, max_depth, out_node = trie.arrays()
    layout = f" (sig_coef's output with prefixes={prefixes})"
    arrays = []
    for name, value in (("coefs", coefs), ("derivs", derivs)):
        array, _ = as_array(value, name, caller=batch.caller, min_ndim=1)
        check_trailing_length(array.shape, name, out_node.size, layout)
        check_same_batch(array.shape[:-1], batch.batch_shape, name, "path")
        arrays.append(array)
    derivs = np.ascontiguousarray(arrays[1].reshape(batch.n_paths, out_node.size))
    if prefixes:  # every node of the trie is an output entry: start from coefs
        nodes, first = np.unique(out_node, return_index=True)
        first = first[nodes >= 0]
        final = np.ascontiguousarray(
            arrays[0].reshape(batch.n_paths, out_node.size)[:, first])
    else:
        final = np.zeros((0, 0), batch.data.dtype)
    grad = np.zeros_like(batch.data)
    if batch.length >= 2 and trie.n_nodes:
        from sksig._core import _backend

        _backend.sig_coef_backprop(batch.data, derivs, grad,
                                   (anc_ptr, anc, letter, max_depth, out_node), final,
                                   n_threads)
    return batch.grad_to_input(grad, n_threads)


def _degree_of(length, dim, scalar_term):
    """The degree N with sig_length(dim, N, scalar_term) == length, or None."""
    if dim == 0:
        return 0 if length == int(scalar_term) else None
    degree = 0
    while True:
        n = sig_length(dim, degree, scalar_term=scalar_term)
        if n >= length:
            return degree if n == length else None
        degree += 1


def extract_sig_coef(sig, words, dimension, *, time_aug=False, lead_lag=False,
                     scalar_term=False):
    """Read the coefficients at chosen words off truncated signatures.

    ``extract_sig_coef(sksig.sig(x, N), words, dim)`` equals
    ``sksig.sig_coef(x, words)`` for words of at most ``N`` letters.

    Parameters
    ----------
    sig : array-like or torch.Tensor of shape (..., sig_length)
        Signatures as returned by :func:`sksig.sig`. Read on the CPU (CUDA tensors
        are copied to the host and the result back).
    words : tuple of int, or list of tuple of int
        One word, or a non-empty list of words, with letters in ``[0, dim')``
        (``dim'`` the transformed dimension) and at most the degree of ``sig`` letters.
        The empty word needs ``scalar_term=True``.
    dimension : int
        Dimension of the untransformed paths, >= 0.
    time_aug, lead_lag : bool, default=False
        The transforms used for ``sig``.
    scalar_term : bool, default=False
        Whether ``sig`` starts with its scalar term. It must match: the trailing
        length of ``sig`` is checked against the signature lengths of this dimension
        (pySigLib reads a signature without the term, told it has one, one entry off
        without a word; only for ``dim' = 1`` can the two lengths not be told apart).

    Returns
    -------
    ndarray or torch.Tensor of shape (..., len(words))
        The coefficients, in the order of ``words``, with the batch shape of ``sig``.

    Raises
    ------
    TypeError
        If ``sig`` is not a float array, or an argument has the wrong type.
    ValueError
        If the trailing length of ``sig`` is no signature length of this dimension,
        a word is longer than the degree, has a letter outside ``[0, dim')``, or is
        empty while ``scalar_term=False``, or ``sig`` has NaN or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.extract_sig_coef(sksig.sig(x, 3), [(0, 1), (1,)], 2)
    array([1., 1.])
    """
    from sksig._array import transformed_dim

    dimension = check_int(dimension, "dimension")
    scalar_term = check_bool(scalar_term, "scalar_term")
    dim = transformed_dim(dimension, check_bool(time_aug, "time_aug"),
                          check_bool(lead_lag, "lead_lag"))
    array, caller = as_array(sig, "sig", min_ndim=1)
    words = check_words(words, dim)
    length = array.shape[-1]
    degree = _degree_of(length, dim, scalar_term)
    if degree is None:
        raise ValueError(
            f"sig has trailing length {length}, which is not the length of a "
            f"signature of dimension {dim} {'with' if scalar_term else 'without'} "
            "its scalar term; check dimension, time_aug, lead_lag and scalar_term"
        )
    longest = max(len(w) for w in words)
    if longest > degree:
        raise ValueError(f"words has a word of {longest} letters but sig is truncated "
                         f"at degree {degree}")
    index = np.array([word_to_idx(w, dim, scalar_term=scalar_term) for w in words],
                     np.int64)
    return caller.out(np.ascontiguousarray(array[..., index]))

"""The prepared tables sksig keeps between calls, and how to drop them.

What is cached (all in memory, per process, built on first use and shared by threads):

* the Lyndon-basis tables of each (dimension, degree), read by :func:`sksig.log_sig`,
  :func:`sksig.log_sig_backprop` and :func:`sksig.log_sig_join` (sksig/_lyndon.py);
  their copies on CUDA devices, made by :func:`sksig.prepare_log_sig` and the CUDA
  join (sksig/cuda/_log_sig.py);
* the branched (tree) tables of each (dimension, degree, planar) and the lists of
  trees behind them (sksig/_trees.py);
* the prefix tries of the word lists given to :func:`sksig.sig_coef` (the 64 most
  recent lists, sksig/_sig_coef.py).

Nothing is written to disk: rebuilding the largest tables is as fast as reading them
back (the Lyndon tables of dimension 4 at degree 9, 88 MB, build in 0.35 s and load
from an ``.npz`` file in 0.41 s on the development machine).
"""

import os
import threading

__all__ = ["cache_dir", "clear_cache", "set_cache_dir"]

_DIR_LOCK = threading.Lock()
_CACHE_DIR = None


def _check_device(device):
    if device not in ("cpu", "cuda", "both"):
        raise ValueError(f'device must be "cpu", "cuda" or "both", got {device!r}')
    return device


def clear_cache(*, use_disk=False, device="both"):
    """Drop the prepared tables kept in memory, so that their memory is returned.

    sksig keeps the tables it builds (Lyndon-basis tables of the log-signatures,
    branched tree tables, the prefix tries of :func:`sksig.sig_coef`, and the Lyndon
    tables uploaded to CUDA devices) for the rest of the process; the next call that
    needs one builds it again. Calls running in other threads keep the tables they
    already hold.

    Parameters
    ----------
    use_disk : bool, default=False
        Accepted for pySigLib compatibility. sksig writes no tables to disk (building
        them is as fast as reading them back), so there is nothing there to clear.
    device : {"both", "cpu", "cuda"}, default="both"
        Which tables to drop: those of the CPU cores, the copies on CUDA devices, or
        both.

    Returns
    -------
    None
        The tables are dropped; nothing is returned.

    Raises
    ------
    TypeError
        If ``use_disk`` is not a bool.
    ValueError
        If ``device`` is not one of the three values.

    See Also
    --------
    prepare_log_sig : Builds tables ahead of time.

    Examples
    --------
    >>> import sksig
    >>> sksig.prepare_log_sig(3, 4)
    >>> sksig.clear_cache()
    """
    import sys

    from sksig._validation import check_bool

    check_bool(use_disk, "use_disk")
    _check_device(device)
    if device in ("cpu", "both"):
        from sksig import _lyndon, _sig_coef, _tree_tables, _trees

        with _lyndon._LOCK:
            _lyndon._TABLES.clear()
        with _tree_tables._LOCK:
            _tree_tables._TABLES.clear()
        with _trees._LOCK:
            _trees._TREE_LISTS.clear()
        _sig_coef.clear_trie_cache()
    if device in ("cuda", "both"):
        # Only when the CUDA join was used (never imports torch just to clear).
        gpu = sys.modules.get("sksig.cuda._tables")
        if gpu is not None:
            with gpu._LOCK:
                gpu._HANDLES.clear()


def set_cache_dir(dir):  # noqa: A002 (pySigLib's argument name)
    """Record the directory pySigLib would use for its disk cache of prepared tables.

    sksig keeps its tables in memory only (rebuilding them is as fast as reading them
    from disk: see :func:`clear_cache`), so ``use_disk=True`` in the ``prepare_*``
    functions writes nothing and this directory is never written to. The function
    exists so that code written for pySigLib runs unchanged; it checks the directory
    and remembers it (:func:`sksig.show_config` reports it).

    Parameters
    ----------
    dir : str or os.PathLike
        An existing directory.

    Returns
    -------
    None
        The directory is recorded; nothing is returned.

    Raises
    ------
    TypeError
        If ``dir`` is not a string or path.
    ValueError
        If ``dir`` is not an existing directory.

    Examples
    --------
    >>> import tempfile, sksig
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sksig.set_cache_dir(d)
    """
    global _CACHE_DIR
    if not isinstance(dir, (str, os.PathLike)):
        raise TypeError(f"dir must be a str or os.PathLike, got {type(dir).__name__}")
    path = os.path.abspath(os.fspath(dir))
    if not os.path.isdir(path):
        raise ValueError(f"dir must be an existing directory, got {dir!r}")
    with _DIR_LOCK:
        _CACHE_DIR = path


def cache_dir():
    """The directory given to :func:`set_cache_dir`, or None."""
    return _CACHE_DIR

# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/sig_coef.hpp; arguments were checked in Python.

The word trie (``anc_ptr``, ``anc``, ``letter``) is built by sksig._sig_coef.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


# ---- native entry points (include/sksig/sig_coef.hpp) -------------------------------
cdef extern from "sksig/sig_coef.hpp" namespace "sksig" nogil:
    cdef cppclass WordTrie:
        int64_t n_nodes
        const int64_t* anc_ptr
        const int64_t* anc
        const int64_t* letter
        int64_t max_depth

    int c_sig_coef "sksig::sig_coef"[T](
        const T* path, T* out, int64_t batch, int64_t length, int64_t dim,
        const WordTrie& trie, const int64_t* out_node, int64_t n_out,
        int n_threads) noexcept
    int c_sig_coef_backprop "sksig::sig_coef_backprop"[T](
        const T* path, const T* grad_out, T* grad_path, int64_t batch, int64_t length,
        int64_t dim, const WordTrie& trie, const int64_t* out_node, int64_t n_out,
        const T* final_state, int n_threads) noexcept
# --------------------------------------------------------------------------------------


cdef WordTrie _trie(const int64_t[::1] anc_ptr, const int64_t[::1] anc,
                    const int64_t[::1] letter, int64_t max_depth):
    cdef WordTrie trie
    trie.n_nodes = letter.shape[0]
    trie.anc_ptr = &anc_ptr[0]
    trie.anc = &anc[0] if anc.shape[0] else NULL
    trie.letter = &letter[0] if letter.shape[0] else NULL
    trie.max_depth = max_depth
    return trie


def sig_coef(const floating[:, :, ::1] path,   # IN  (batch, length, dim)
             floating[:, ::1] out,             # OUT (batch, n_out)
             const int64_t[::1] anc_ptr, const int64_t[::1] anc,
             const int64_t[::1] letter, int64_t max_depth,
             const int64_t[::1] out_node, int n_threads):
    cdef int status
    cdef WordTrie trie = _trie(anc_ptr, anc, letter, max_depth)
    if path.shape[0] == 0 or path.shape[1] == 0 or out.shape[1] == 0:
        return
    with nogil:
        status = c_sig_coef(&path[0, 0, 0], &out[0, 0], path.shape[0], path.shape[1], path.shape[2],
                            trie, &out_node[0], out.shape[1], n_threads)
    raise_for_status(status, "sig_coef")


def sig_coef_backprop(const floating[:, :, ::1] path,   # IN  (batch, length, dim)
                      const floating[:, ::1] grad_out,  # IN  (batch, n_out)
                      floating[:, :, ::1] grad_path,    # OUT (batch, length, dim)
                      const int64_t[::1] anc_ptr, const int64_t[::1] anc,
                      const int64_t[::1] letter, int64_t max_depth,
                      const int64_t[::1] out_node,
                      const floating[:, ::1] final_state,  # IN (batch, n_nodes) or (0, 0)
                      int n_threads):
    cdef int status
    cdef WordTrie trie = _trie(anc_ptr, anc, letter, max_depth)
    cdef const floating* final = NULL
    if path.shape[0] == 0 or path.shape[1] == 0 or grad_out.shape[1] == 0:
        return
    if final_state.shape[0]:
        final = &final_state[0, 0]
    with nogil:
        status = c_sig_coef_backprop(&path[0, 0, 0], &grad_out[0, 0],
                                     &grad_path[0, 0, 0], path.shape[0], path.shape[1],
                                     path.shape[2], trie, &out_node[0],
                                     grad_out.shape[1], final, n_threads)
    raise_for_status(status, "sig_coef_backprop")

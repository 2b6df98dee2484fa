# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/sig_coef.hpp; arguments were checked in Python.

The word trie (``anc_ptr``, ``anc``, ``letter``) is built by sksig._sig_coef.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core cimport native
from sksig._core.native cimport WordTrie

include "_interrupt.pxi"


cdef WordTrie _trie(const int64_t[::1] anc_ptr, const int64_t[::1] anc,
                    const int64_t[::1] letter, int64_t max_depth):
    cdef WordTrie trie
    trie.n_nodes = letter.shape[0]
    trie.anc_ptr = &anc_ptr[0]
    trie.anc = native.cdata_or_null(anc)
    trie.letter = native.cdata_or_null(letter)
    trie.max_depth = max_depth
    return trie


def sig_coef(const floating[:, :, ::1] path,   # IN  (batch, length, dim)
             floating[:, ::1] out,             # OUT (batch, n_out)
             const int64_t[::1] anc_ptr, const int64_t[::1] anc,
             const int64_t[::1] letter, int64_t max_depth,
             const int64_t[::1] out_node, int n_threads):
    cdef WordTrie trie = _trie(anc_ptr, anc, letter, max_depth)
    if path.shape[0] and path.shape[1] and out.shape[1]:
        with nogil:
            native.check(native.sig_coef(
                &path[0, 0, 0], &out[0, 0], path.shape[0], path.shape[1], path.shape[2],
                trie, &out_node[0], out.shape[1], n_threads), "sig_coef")


def sig_coef_backprop(const floating[:, :, ::1] path,   # IN  (batch, length, dim)
                      const floating[:, ::1] grad_out,  # IN  (batch, n_out)
                      floating[:, :, ::1] grad_path,    # OUT (batch, length, dim)
                      const int64_t[::1] anc_ptr, const int64_t[::1] anc,
                      const int64_t[::1] letter, int64_t max_depth,
                      const int64_t[::1] out_node,
                      const floating[:, ::1] final_state,  # IN (batch, n_nodes) or (0, 0)
                      int n_threads):
    cdef WordTrie trie = _trie(anc_ptr, anc, letter, max_depth)
    cdef const floating* final = &final_state[0, 0] if final_state.shape[0] else NULL
    if path.shape[0] and path.shape[1] and grad_out.shape[1]:
        with nogil:
            native.check(native.sig_coef_backprop(
                &path[0, 0, 0], &grad_out[0, 0], &grad_path[0, 0, 0], path.shape[0],
                path.shape[1], path.shape[2], trie, &out_node[0], grad_out.shape[1],
                final, n_threads), "sig_coef_backprop")

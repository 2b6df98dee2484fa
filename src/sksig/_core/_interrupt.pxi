# Ctrl-C support, included by the extension modules that run long native loops (see
# include/sksig/interrupt.hpp and sksig/_interrupt.py): each module has its own flag,
# polled by its loops, and installs its own SIGINT handler around a call.

cdef extern from "sksig/interrupt.hpp" namespace "sksig" nogil:
    int c_interrupt_begin "sksig::interrupt_begin"() noexcept
    int c_interrupt_end "sksig::interrupt_end"() noexcept


def interrupt_begin():
    """Clear this module's flag and install its SIGINT handler; 0 on success."""
    return c_interrupt_begin()


def interrupt_end():
    """Restore the previous SIGINT handler; True when SIGINT arrived in between."""
    return bool(c_interrupt_end())

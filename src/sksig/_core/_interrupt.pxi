# Ctrl-C support, included by every extension module whose cores poll the flag (see
# include/sksig/interrupt.hpp and sksig/_interrupt.py): each module has its own flag,
# polled by its loops, and installs its own SIGINT handler around a call.
from sksig._core cimport native as _native


def interrupt_begin():
    """Clear this module's flag and install its SIGINT handler; 0 on success."""
    return _native.interrupt_begin()


def interrupt_end():
    """Restore the previous SIGINT handler; True when SIGINT arrived in between."""
    return bool(_native.interrupt_end())

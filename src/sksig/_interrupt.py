"""Ctrl-C during long native calls.

While the main thread runs a native core (with the GIL released), Python's SIGINT
handler cannot run: it only runs between bytecodes. :func:`call` therefore installs,
for the duration of one native call and only in the main thread, the extension
module's C-level handler, which just sets an atomic flag. The native loops poll that
flag between blocks, grid rows and path segments and stop within a fraction of a
second; the previous handler is then restored and the interrupt delivered to it, so
Python's default handler raises :class:`KeyboardInterrupt` (a custom handler runs
instead). The process stays usable: no native state outlives the call.

Other code that runs long loops of native calls (e.g. blocked Gram matrices) gets the
same behaviour by calling native functions through :func:`call`; between calls,
Python's own handler is active anyway. Calls from other threads never install the
handler, but they poll the same per-module flag: a Ctrl-C that stops the main thread's
call also stops theirs (they raise ``KeyboardInterrupt`` too).
"""

import signal
import sys
import threading

try:  # the C function: signal.getsignal wraps its result in an enum (~3 us a call)
    from _signal import getsignal as _getsignal
except ImportError:  # pragma: no cover - not CPython
    _getsignal = signal.getsignal

from sksig._core._errors import NativeInterrupt

__all__ = ["call"]

_state = threading.local()  # depth of nested calls (main thread only)


def _installable():
    """Whether this thread may replace the SIGINT handler for a native call."""
    if threading.current_thread() is not threading.main_thread():
        return False  # only the main thread receives Python's signals
    if getattr(_state, "depth", 0):
        return False  # an enclosing call already installed it
    handler = _getsignal(signal.SIGINT)
    # Ignored, or not installed by Python: leave SIGINT alone.
    return handler not in (signal.SIG_IGN, None)


def _deliver(aborted):
    """Hand the interrupt to the handler that was active before the call."""
    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler:
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)  # a custom handler (or SIG_DFL) acts on it
    if aborted:  # the handler returned, but the call has no result to give
        raise KeyboardInterrupt


def call(fn, *args):
    """Run the native function ``fn(*args)`` so that Ctrl-C interrupts it.

    ``fn`` is a function of one of sksig's extension modules (the module's SIGINT
    flag is the one its loops poll). From the main thread, SIGINT during the call
    stops it within about a second and is then delivered to the previous handler
    (by default raising :class:`KeyboardInterrupt`); from other threads the call runs
    unchanged.

    Parameters
    ----------
    fn : callable
        A function of ``sksig._core`` (e.g. ``sksig._core._sig_kernel.forward``);
        any other callable is simply called.
    *args
        Its arguments.

    Returns
    -------
    object
        What ``fn`` returns.

    Raises
    ------
    KeyboardInterrupt
        If SIGINT arrived during the call (with Python's default handler).
    """
    module = sys.modules.get(getattr(fn, "__module__", None))
    if not hasattr(module, "interrupt_begin") or not _installable():
        return fn(*args)  # not a native core of sksig, or not the main thread
    if module.interrupt_begin() != 0:  # could not install: run as is
        return fn(*args)
    _state.depth = 1
    aborted = False
    try:
        result = fn(*args)
    except NativeInterrupt:
        aborted = True
    finally:
        _state.depth = 0
        interrupted = module.interrupt_end()
    if aborted or interrupted:
        _deliver(aborted)
    return result

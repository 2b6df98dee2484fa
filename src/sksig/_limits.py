"""Bounds on the memory and time of a call, checked from its sizes before any work.

Some tables grow exponentially with the degree (Lyndon bases, branched coproducts,
lists of words): a call one degree too high would allocate until the process is killed,
or run for hours. Functions estimate what they need from the sizes alone and refuse,
with a ``ValueError`` that names the argument and the estimate, what this machine
cannot give. The limits are 80% of the physical memory and one minute; the
environment variables ``SKSIG_MEMORY_LIMIT`` (bytes) and ``SKSIG_TIME_LIMIT``
(seconds) raise or lower them for calls that are large on purpose.
"""

import os

__all__ = ["check_memory", "check_time", "format_bytes", "memory_limit", "time_limit"]

_DEFAULT_SECONDS = 60.0


def _env_number(name):
    value = os.environ.get(name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"the environment variable {name} must be a number, got "
                         f"{value!r}") from None
    return number if number > 0 else None


def memory_limit():
    """Bytes a single table or buffer may take: ``SKSIG_MEMORY_LIMIT``, or 80% of the
    physical memory (64 GiB where it cannot be read)."""
    env = _env_number("SKSIG_MEMORY_LIMIT")
    if env is not None:
        return env
    try:
        return 0.8 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on a POSIX system
        return 64.0 * 2**30


def time_limit():
    """Seconds a table build may be estimated to take: ``SKSIG_TIME_LIMIT`` or 60."""
    env = _env_number("SKSIG_TIME_LIMIT")
    return _DEFAULT_SECONDS if env is None else env


def format_bytes(n):
    """``n`` bytes in the largest binary unit that keeps the number >= 1."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _refuse_over(amount, limit, estimate, argument, variable):
    """Raise ``ValueError`` when ``amount`` exceeds ``limit``, saying ``estimate`` and
    how to lower it or to allow it (the environment ``variable``)."""
    if amount > limit:
        raise ValueError(
            f"{estimate}; lower {argument} (or set {variable}, to allow it)")


def check_memory(nbytes, what, argument):
    """Raise ``ValueError`` when ``what`` would need more than :func:`memory_limit`."""
    limit = memory_limit()
    _refuse_over(nbytes, limit,
                 f"{what} would need about {format_bytes(nbytes)} of memory, more than "
                 f"the {format_bytes(limit)} allowed here", argument,
                 "SKSIG_MEMORY_LIMIT, in bytes")


def check_time(seconds, what, argument):
    """Raise ``ValueError`` when ``what`` would take over :func:`time_limit`."""
    limit = time_limit()
    _refuse_over(seconds, limit,
                 f"{what} would take about {seconds:.0f} s to build, more than the "
                 f"{limit:.0f} s allowed", argument, "SKSIG_TIME_LIMIT, in seconds")

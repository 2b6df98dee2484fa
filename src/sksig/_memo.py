"""Per-process tables built once: the one double-checked cache the table modules use."""


def build_once(cache, lock, key, build):
    """``cache[key]``, made by ``build()`` under ``lock`` on first use.

    Reads after the first build take no lock; the lock only keeps two threads from
    building the same (possibly large) table at once.
    """
    value = cache.get(key)
    if value is None:
        with lock:
            value = cache.get(key)
            if value is None:
                value = cache[key] = build()
    return value

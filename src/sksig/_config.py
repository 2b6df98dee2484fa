"""Build and runtime configuration, for bug reports."""

import platform
import sys

__all__ = ["show_config"]


def _build_info():
    try:
        from sksig._build_info import BUILD_INFO
    except ImportError:  # running from a source tree that was never built
        return {}
    return dict(BUILD_INFO)


def show_config(print_out=True):
    """Print (and return) how sksig was built and what it can use here.

    Parameters
    ----------
    print_out : bool, default=True
        Print the configuration; set False to only get the dictionary.

    Returns
    -------
    dict
        ``version``, ``python``, ``compiler``, ``openmp``, ``cuda_built``,
        ``cuda_architectures``, ``cuda_available``, ``cuda_devices``,
        ``cuda_emulation_built`` and more.

    Examples
    --------
    >>> import sksig
    >>> config = sksig.show_config(print_out=False)
    >>> sorted(config)[:3]
    ['build_type', 'compiler', 'cuda_architectures']
    """
    from sksig import cuda
    from sksig._version import __version__

    info = {"version": __version__, "python": sys.version.split()[0],
            "platform": platform.platform()}
    info.update(_build_info())
    info["version"] = __version__
    info["cuda_built"] = cuda.is_built()
    info["cuda_available"] = cuda.is_available()
    info["cuda_devices"] = [cuda.device_name(i) for i in range(cuda.device_count())]
    try:  # the CPU emulation of the CUDA cores (SKSIG_CUDA_EMULATION=ON, for tests)
        from sksig.cuda import _emulation  # noqa: F401

        info["cuda_emulation_built"] = True
    except ImportError:
        info["cuda_emulation_built"] = False
    if print_out:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}} : {value}")
    return info

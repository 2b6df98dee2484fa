"""Build and runtime configuration, for bug reports."""

import platform
import sys

__all__ = ["BUILT_WITH_AVX", "BUILT_WITH_CUDA", "SYSTEM", "show_config"]


def _built_with_avx():
    try:
        from sksig._core import _build_flags
    except ImportError:  # a source tree that was never built
        return False
    return _build_flags.built_with_avx()


def _built_with_cuda():
    from sksig import cuda  # never imports torch

    return cuda.is_built()


#: Whether the native cores were compiled with AVX instructions enabled (sksig's
#: default build targets the baseline of the architecture, so that the wheel runs on
#: every CPU of it; set ``CXXFLAGS=-march=native`` when building for one machine).
BUILT_WITH_AVX = _built_with_avx()
#: Whether the CUDA cores were compiled in (see :func:`sksig.cuda.is_built`; whether a
#: GPU can run them is :func:`sksig.cuda.is_available`).
BUILT_WITH_CUDA = _built_with_cuda()
#: The operating system, as :func:`platform.system` names it ("Linux", "Windows",
#: "Darwin").
SYSTEM = platform.system()


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
        ``cuda_emulation_built``, ``built_with_avx``, ``system``, ``cache_dir`` and
        more (:data:`BUILT_WITH_CUDA`, :data:`BUILT_WITH_AVX` and :data:`SYSTEM` are the
        same flags as module constants).

    Examples
    --------
    >>> import sksig
    >>> config = sksig.show_config(print_out=False)
    >>> sorted(config)[:3]
    ['build_type', 'built_with_avx', 'cache_dir']
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
    info["built_with_avx"] = BUILT_WITH_AVX
    info["system"] = SYSTEM
    from sksig._cache import cache_dir

    info["cache_dir"] = cache_dir()
    if print_out:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}} : {value}")
    return info

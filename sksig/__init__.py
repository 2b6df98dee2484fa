"""sksig: path-signature methods for scikit-learn with native C++ and CUDA cores."""

__version__ = "0.1.0"

from sksig._config import show_config
from sksig._sig_kernel import (
    sig_kernel,
    sig_kernel_backprop,
    sig_kernel_delta_backprop,
    sig_kernel_gram,
    sig_kernel_gram_backprop,
)
from sksig._static_kernels import (
    LinearKernel,
    Matern12Kernel,
    Matern32Kernel,
    Matern52Kernel,
    PolynomialKernel,
    RationalQuadraticKernel,
    RBFKernel,
    ScaledLinearKernel,
    StaticKernel,
)
from sksig._transform_path import transform_path, transform_path_backprop

__all__ = [
    "LinearKernel",
    "Matern12Kernel",
    "Matern32Kernel",
    "Matern52Kernel",
    "PolynomialKernel",
    "RBFKernel",
    "RationalQuadraticKernel",
    "ScaledLinearKernel",
    "StaticKernel",
    "show_config",
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_delta_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
    "transform_path",
    "transform_path_backprop",
]

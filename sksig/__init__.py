"""sksig: path-signature methods for scikit-learn with native C++ and CUDA cores."""

__version__ = "0.1.0"

from sksig._branched_estimator import BranchedLogSig
from sksig._config import show_config
from sksig._log_sig_estimator import LogSigJoin
from sksig._sig_kernel_estimator import SigKernel
from sksig._transform_path import transform_path, transform_path_backprop

__all__ = [
    "BranchedLogSig",
    "LogSigJoin",
    "SigKernel",
    "show_config",
    "transform_path",
    "transform_path_backprop",
]

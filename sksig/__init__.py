"""sksig: path-signature methods for scikit-learn with native C++ and CUDA cores."""

__version__ = "0.1.0"

from sksig._config import show_config
from sksig._transform_path import transform_path, transform_path_backprop

__all__ = [
    "show_config",
    "transform_path",
    "transform_path_backprop",
]

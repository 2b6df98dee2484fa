"""torch autograd wrappers (``pip install sksig[torch]``).

Each function here goes through one ``torch.autograd.Function`` whose forward calls
the sksig functional API and whose backward calls the matching ``*_backprop``, so
``loss.backward()`` reaches the input paths; :class:`SigKernelGram` is a module whose
Gram also backpropagates to the static kernel's parameters. Importing this module
imports torch; ``import sksig`` alone never does.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # a clear message instead of a bare "No module named torch"
    raise ImportError(
        "sksig.torch needs PyTorch, which is not installed; install it with "
        "`pip install sksig[torch]` (or `pip install torch`, see https://pytorch.org)"
    ) from exc

from sksig.torch._branched import (
    branched_log_sig,
    branched_sig,
    branched_sig_to_log_sig,
)
from sksig.torch._kernel_learning import SigKernelGram
from sksig.torch._log_sig import log_sig, log_sig_join
from sksig.torch._scores import expected_sig_score, sig_mmd, sig_score, transform_path
from sksig.torch._sig import sig
from sksig.torch._sig_kernel import sig_kernel, sig_kernel_gram

__all__ = [
    "SigKernelGram",
    "branched_log_sig",
    "branched_sig",
    "branched_sig_to_log_sig",
    "expected_sig_score",
    "log_sig",
    "log_sig_join",
    "sig",
    "sig_kernel",
    "sig_kernel_gram",
    "sig_mmd",
    "sig_score",
    "transform_path",
]

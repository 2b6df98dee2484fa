"""sksig: path-signature methods for scikit-learn with native C++ and CUDA cores."""

from sksig._branched import (
    branched_log_sig,
    branched_log_sig_backprop,
    branched_sig,
    branched_sig_backprop,
    branched_sig_to_log_sig,
    branched_sig_to_log_sig_backprop,
    prepare_branched_log_sig,
    prepare_branched_sig,
)
from sksig._branched_algebra import (
    branched_log_sig_join,
    branched_log_sig_join_backprop,
    branched_sig_combine,
    branched_sig_combine_backprop,
    branched_sig_join,
    branched_sig_join_backprop,
    linear_branched_log_sig,
    linear_branched_log_sig_backprop,
    linear_branched_sig,
    linear_branched_sig_backprop,
)
from sksig._branched_coef import (
    branched_sig_coef,
    branched_sig_coef_backprop,
    extract_branched_sig_coef,
    prepare_branched_sig_coef,
)
from sksig._branched_estimator import BranchedLogSig
from sksig._branched_kernel import (
    branched_sig_kernel,
    branched_sig_kernel_backprop,
    branched_sig_kernel_gram,
    branched_sig_kernel_gram_backprop,
)
from sksig._branched_streams import (
    BranchedLogSigStream,
    BranchedLogSigWindowStream,
    BranchedSigStream,
    BranchedSigWindowStream,
)
from sksig._cache import clear_cache, set_cache_dir
from sksig._config import BUILT_WITH_AVX, BUILT_WITH_CUDA, SYSTEM, show_config
from sksig._gram_blocks import sig_kernel_gram_blocks
from sksig._gram_warning import GramWarning
from sksig._kernel_learning import (
    sig_kernel_gram_param_backprop,
    sig_kernel_param_backprop,
    static_kernel_parameters,
)
from sksig._log_sig import (
    log_sig,
    log_sig_backprop,
    log_sig_join,
    log_sig_join_backprop,
    log_sig_length,
    prepare_log_sig,
    sig,
    sig_backprop,
    sig_length,
    signature,
)
from sksig._log_sig_estimator import LogSigJoin
from sksig._lyndon import (
    lyndon_words,
    lyndon_words_of_length,
)
from sksig._nystroem import SigKernelNystroem
from sksig._path_scaler import PathScaler
from sksig._scores import (
    SigMMDTestResult,
    expected_sig_score,
    expected_sig_score_backprop,
    sig_mmd,
    sig_mmd_backprop,
    sig_mmd_test,
    sig_score,
    sig_score_backprop,
)
from sksig._sig_algebra import (
    linear_log_sig,
    linear_log_sig_backprop,
    linear_sig,
    linear_sig_backprop,
    log_sig_combine,
    log_sig_combine_backprop,
    logsig_to_sig,
    logsig_to_sig_backprop,
    sig_combine,
    sig_combine_backprop,
    sig_join,
    sig_join_backprop,
    sig_to_log_sig,
    sig_to_log_sig_backprop,
)
from sksig._sig_coef import (
    extract_sig_coef,
    sig_coef,
    sig_coef_backprop,
)
from sksig._sig_kernel import (
    sig_kernel,
    sig_kernel_backprop,
    sig_kernel_delta_backprop,
    sig_kernel_gram,
    sig_kernel_gram_backprop,
)
from sksig._sig_kernel_estimator import SigKernel
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
from sksig._streams import (
    LogSigStream,
    LogSigWindowStream,
    SigStream,
    SigWindowStream,
)
from sksig._transform_path import (
    transform_path,
    transform_path_backprop,
)
from sksig._trees import (
    branched_log_sig_length,
    branched_sig_length,
    idx_to_tree,
    tree_to_idx,
    trees,
    trees_of_order,
)
from sksig._user_kernels import Context
from sksig._version import __version__  # noqa: F401 (sksig.__version__)
from sksig._words import (
    idx_to_word,
    is_lyndon,
    word_to_idx,
    words,
    words_of_length,
)

__all__ = [
    "BranchedLogSigStream",
    "BranchedLogSigWindowStream",
    "BranchedSigStream",
    "BranchedSigWindowStream",
    "Context",
    "BUILT_WITH_AVX",
    "BUILT_WITH_CUDA",
    "SYSTEM",
    "clear_cache",
    "set_cache_dir",
    "BranchedLogSig",
    "GramWarning",
    "LinearKernel",
    "LogSigJoin",
    "LogSigStream",
    "LogSigWindowStream",
    "Matern12Kernel",
    "Matern32Kernel",
    "Matern52Kernel",
    "PathScaler",
    "PolynomialKernel",
    "RBFKernel",
    "RationalQuadraticKernel",
    "ScaledLinearKernel",
    "SigKernel",
    "SigKernelNystroem",
    "SigMMDTestResult",
    "SigStream",
    "SigWindowStream",
    "StaticKernel",
    "branched_log_sig",
    "branched_log_sig_length",
    "branched_sig",
    "branched_sig_backprop",
    "branched_sig_kernel",
    "branched_sig_kernel_backprop",
    "branched_sig_kernel_gram",
    "branched_sig_kernel_gram_backprop",
    "branched_sig_length",
    "branched_sig_to_log_sig",
    "branched_sig_to_log_sig_backprop",
    "expected_sig_score",
    "expected_sig_score_backprop",
    "idx_to_tree",
    "linear_log_sig",
    "linear_log_sig_backprop",
    "linear_sig",
    "linear_sig_backprop",
    "log_sig",
    "log_sig_backprop",
    "log_sig_combine",
    "log_sig_combine_backprop",
    "log_sig_join",
    "log_sig_join_backprop",
    "log_sig_length",
    "logsig_to_sig",
    "logsig_to_sig_backprop",
    "lyndon_words",
    "lyndon_words_of_length",
    "prepare_branched_log_sig",
    "prepare_branched_sig",
    "prepare_log_sig",
    "show_config",
    "sig",
    "sig_backprop",
    "sig_combine",
    "sig_combine_backprop",
    "sig_join",
    "sig_join_backprop",
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_delta_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
    "sig_kernel_gram_blocks",
    "sig_kernel_gram_param_backprop",
    "sig_kernel_param_backprop",
    "sig_length",
    "sig_mmd",
    "sig_mmd_backprop",
    "sig_mmd_test",
    "sig_score",
    "sig_score_backprop",
    "sig_to_log_sig",
    "sig_to_log_sig_backprop",
    "signature",
    "static_kernel_parameters",
    "transform_path",
    "words_of_length",
    "words",
    "word_to_idx",
    "is_lyndon",
    "idx_to_word",
    "sig_coef_backprop",
    "sig_coef",
    "extract_sig_coef",
    "transform_path_backprop",
    "tree_to_idx",
    "trees",
    "trees_of_order",
    "branched_log_sig_backprop",
    "branched_log_sig_join",
    "branched_log_sig_join_backprop",
    "branched_sig_combine",
    "branched_sig_combine_backprop",
    "branched_sig_join",
    "branched_sig_join_backprop",
    "linear_branched_log_sig",
    "linear_branched_log_sig_backprop",
    "linear_branched_sig",
    "linear_branched_sig_backprop",
    "branched_sig_coef",
    "branched_sig_coef_backprop",
    "extract_branched_sig_coef",
    "prepare_branched_sig_coef",
]


def __getattr__(name):
    # Submodules load on first use: `import sksig` stays light and never imports torch.
    if name in ("cuda", "datasets", "gaussian_process", "torch"):
        import importlib

        return importlib.import_module(f"sksig.{name}")
    raise AttributeError(f"module 'sksig' has no attribute {name!r}")

"""clear_cache, set_cache_dir and the build flags."""

import platform

import numpy as np
import pytest

import sksig
from sksig import _lyndon, _sig_coef, _tree_tables, _trees


def test_clear_cache_drops_every_prepared_table_and_results_do_not_change(rng):
    x = rng.standard_normal((3, 6, 2))
    sksig.prepare_log_sig(2, 4)
    before = sksig.log_sig(x, 4, method=2)
    branched = sksig.branched_sig(x, 3)
    coefs = sksig.sig_coef(x, [(0, 1, 1)])
    assert (2, 4) in _lyndon._TABLES and _tree_tables._TABLES
    assert _sig_coef._cached_trie.cache_info().currsize
    sksig.clear_cache()
    assert not _lyndon._TABLES and not _tree_tables._TABLES and not _trees._TREE_LISTS
    assert _sig_coef._cached_trie.cache_info().currsize == 0
    # Rebuilt on demand, bit for bit.
    np.testing.assert_array_equal(sksig.log_sig(x, 4, method=2), before)
    np.testing.assert_array_equal(sksig.branched_sig(x, 3), branched)
    np.testing.assert_array_equal(sksig.sig_coef(x, [(0, 1, 1)]), coefs)
    sksig.prepare_log_sig(2, 4)
    sksig.clear_cache(device="cuda", use_disk=True)  # the CPU tables stay
    assert (2, 4) in _lyndon._TABLES


def test_clear_cache_and_set_cache_dir_check_their_arguments(tmp_path):
    with pytest.raises(ValueError, match="device"):
        sksig.clear_cache(device="gpu")
    with pytest.raises(TypeError, match="use_disk"):
        sksig.clear_cache(use_disk="yes")
    with pytest.raises(ValueError, match="existing directory"):
        sksig.set_cache_dir(tmp_path / "missing")
    with pytest.raises(TypeError, match="dir"):
        sksig.set_cache_dir(3)
    sksig.set_cache_dir(tmp_path)
    assert sksig.show_config(print_out=False)["cache_dir"] == str(tmp_path)
    sksig.prepare_log_sig(2, 3, use_disk=True)
    assert list(tmp_path.iterdir()) == []  # documented: nothing is written


def test_build_flags():
    config = sksig.show_config(print_out=False)
    assert sksig.BUILT_WITH_CUDA is sksig.cuda.is_built() is config["cuda_built"]
    assert isinstance(sksig.BUILT_WITH_AVX, bool)
    assert sksig.BUILT_WITH_AVX is config["built_with_avx"]
    assert sksig.SYSTEM == platform.system() == config["system"]


def test_cross_check_with_pysiglib_names():
    pysiglib = pytest.importorskip("pysiglib")
    assert sksig.SYSTEM == pysiglib.SYSTEM
    for name in ("BUILT_WITH_CUDA", "BUILT_WITH_AVX"):
        assert type(getattr(sksig, name)) is type(getattr(pysiglib, name))

#!/usr/bin/env bash
# Fetch pySigLib 4.0.0 and its CUDA plugin (the GPU benchmark peer) for the lent GPU
# machine (Python 3.12, no network) into .whl/, which git ignores: name .whl in the
# device call's carry. kauri, which pySigLib needs, exists only as a pure-Python sdist,
# so it is built into a wheel here.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_24_x86_64 -d .whl pysiglib==4.0.0 pysiglib-cuda==4.0.0
src="$(mktemp -d)"
python3 -m pip download -q --no-deps --no-binary=:all: -d "$src" kauri==2.3.0
python3 -m pip wheel -q --no-deps "$src"/kauri-2.3.0.tar.gz -w .whl
ls -l .whl

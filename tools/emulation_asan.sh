#!/usr/bin/env bash
# The CPU counterpart of compute-sanitizer memcheck: build sksig with AddressSanitizer
# and the CUDA emulation into a virtual environment, run the emulated CUDA tests there,
# and fail on any out-of-bounds access (each report is written to $LOGS/asan.*).
#   tools/emulation_asan.sh [VENV] [pytest args...]   (default VENV: .venv-asan)
# Slow (minutes): not part of CI; run it after changing CUDA code.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-asan}"
shift || true
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address" \
  SKSIG_CUDA=OFF SKSIG_CUDA_EMULATION=ON \
  "$venv/bin/pip" install --no-build-isolation --no-deps -q .
[ $# -gt 0 ] || set -- tests/test_cuda*.py
LOGS="$(mktemp -d)"
status=0
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
  ASAN_OPTIONS="detect_leaks=0:log_path=$LOGS/asan" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -k emulated \
  "$@" || status=1
if ls "$LOGS"/asan.* >/dev/null 2>&1; then
  head -40 "$LOGS"/asan.*
  echo "AddressSanitizer reported errors (logs in $LOGS)" >&2
  exit 1
fi
exit $status

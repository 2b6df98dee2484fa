#!/usr/bin/env bash
# The CPU counterpart of compute-sanitizer memcheck: build sksig with AddressSanitizer
# and the CUDA emulation into a virtual environment, run the emulated CUDA tests there,
# and fail on any out-of-bounds access (each report is written to $LOGS/asan.*). Other
# pytest arguments can be given instead, e.g. the CPU cores' test files.
#   tools/emulation_asan.sh [VENV] [pytest args...]   (default VENV: .venv-asan)
# Slow (minutes): not part of CI; run it after changing CUDA code.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-asan}"
shift || true
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
# A build directory of its own: CMake reads CXXFLAGS only when it first configures a
# directory, so reusing the normal one would silently build without the sanitizer.
CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer" LDFLAGS="-fsanitize=address" \
  SKSIG_CUDA=OFF SKSIG_CUDA_EMULATION=ON \
  "$venv/bin/pip" install --no-build-isolation --no-deps -q \
  -C build-dir=build/asan-{wheel_tag} .
for module in "$venv"/lib/python*/site-packages/sksig/_core/_branched*.so; do
  if ! nm -D "$module" | grep __asan_init >/dev/null; then  # not -q: SIGPIPE
    echo "$module was built without AddressSanitizer" >&2
    exit 1
  fi
done
[ $# -gt 0 ] || set -- -k emulated tests/test_cuda*.py
LOGS="$(mktemp -d)"
status=0
# libstdc++ preloaded too: otherwise ASan cannot find the real __cxa_throw and aborts
# on the first C++ exception (torch and our table builders throw and catch some).
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
  ASAN_OPTIONS="detect_leaks=0:log_path=$LOGS/asan" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$@" || status=1
if ls "$LOGS"/asan.* >/dev/null 2>&1; then
  head -40 "$LOGS"/asan.*
  echo "AddressSanitizer reported errors (logs in $LOGS)" >&2
  exit 1
fi
exit $status

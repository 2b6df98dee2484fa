#!/usr/bin/env bash
# Everything issue 7 needs from a lent GPU machine, in stages that each fit one device
# call (10 minutes):
#   tools/gpu_session.sh build      # in-place build for the local GPU (CUDAARCHS=90)
#   tools/gpu_session.sh test       # every CUDA test (GPU targets; the emulation is not built)
#   tools/gpu_session.sh sanitize   # compute-sanitizer memcheck and racecheck, small cases
#   tools/gpu_session.sh bench      # benchmarks/bench_cuda*.py, with pySigLib if carried
# Stages can be combined: tools/gpu_session.sh build test. Logs go to $OUT (the device
# tool brings them back). pySigLib's wheels come from tools/fetch_gpu_peer.sh (carry .whl).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$(mktemp -d)}"
export PYTHONUNBUFFERED=1
status=0
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" \
  | tee "$OUT/device.txt"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
for stage in "$@"; do
  echo "== $stage"
  case "$stage" in
    build)
      CUDAARCHS="${CUDAARCHS:-90}" SKSIG_CUDA=ON python3 -m pip install -q \
        --no-build-isolation --no-deps -e . 2>&1 | tee "$OUT/build.log" | tail -20 \
        || { status=1; continue; }
      python3 -c "import sksig; sksig.show_config()" | tee -a "$OUT/build.log"
      ;;
    test)
      python3 -m pytest -q -p no:cacheprovider -m cuda tests 2>&1 \
        | tee "$OUT/test.log" | tail -30 || status=1
      ;;
    sanitize)
      for tool in memcheck racecheck; do
        compute-sanitizer --tool "$tool" --error-exitcode 9 python3 -m pytest -q -x \
          -p no:cacheprovider -m cuda -k "gpu and (small or one_point or ragged)" tests \
          > "$OUT/sanitize-$tool.log" 2>&1 || status=1
        tail -5 "$OUT/sanitize-$tool.log"
      done
      ;;
    bench)
      for b in benchmarks/bench_cuda*.py; do
        python3 "$b" 2>&1 | tee "$OUT/$(basename "$b" .py).txt" || status=1
      done
      ;;
    *)
      echo "unknown stage $stage" >&2
      exit 2
      ;;
  esac
done
exit $status

#!/usr/bin/env bash
# The project's prepared GPU check: ONE script, about 8 minutes on one H200 (16 cores, no
# internet; python3 with torch but without POT, DVCLive or Snakemake: carry POT as a wheel in
# .whl/, see README "GPU check"). It runs, each step timed:
#   1. the gpu-marked tests (CUDA training paths, AMP scaler, resume, CUDA vs CPU predictions);
#   2. bf16 and fp16 training steps of both models and their throughput (img/s) at the paper's
#      sizes and batch sizes: baseline cached / live / with DF-GM, SAM-VGG (train_speed.py);
#   3. the rehearsal's MIT1003 grid on the device: synthetic data at the real size, features,
#      the 27 Table 2 trainings with an epoch cap (several sharing the GPU), their evaluations,
#      and the projected wall time of the whole paper grid on this GPU (gpu_grid.py).
# Results land in $OUT (default gpu_check_out/): a log and JSON files.
#
#   bash benchmarks/gpu_check.sh                 # on the GPU machine
#   bash benchmarks/gpu_check.sh --cpu-smoke     # everything on the CPU at tiny sizes (a test)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 SALLOSS_WARM=0
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then   # carried wheels (POT, ...)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/salloss-site .whl/*.whl
  export PYTHONPATH="/tmp/salloss-site:$PYTHONPATH"
fi
step() { echo; echo "== $1 ($(date +%T))"; }
if [ "${1:-}" = "--cpu-smoke" ]; then
  step "smoke: gpu tests (skipped without CUDA), CPU throughput, a tiny grid on the CPU"
  "$PY" -m pytest -q -m gpu tests -p no:cacheprovider -x 2>&1 | tail -3 || true
  "$PY" benchmarks/train_speed.py --device cpu --input-size 64x80 --sam-input-size 32x32 \
      --batch 2 --sam-batch 1 --steps 1 --warmup 0 --json "$OUT/speed_cpu.json" | tail -4
  "$PY" benchmarks/gpu_grid.py --device cpu --n-images 24 --input-size 48x64 --epochs 1 \
      --losses mse,lc2 --parallel-train 2 --parallel-eval 2 --json "$OUT/grid_cpu.json"
  echo "smoke done"
  exit 0
fi
"$PY" - <<'PYEOF'
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
PYEOF
step "1. gpu-marked tests"
"$PY" -m pytest -q -m gpu tests -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log" | tail -15
step "2a. throughput, bf16"
"$PY" benchmarks/train_speed.py --device cuda --amp bf16 --json "$OUT/speed_bf16.json"
step "2b. throughput, fp16 (GradScaler)"
"$PY" benchmarks/train_speed.py --device cuda --amp fp16 --skip-sam --json "$OUT/speed_fp16.json"
step "3. the rehearsal's MIT1003 grid on CUDA (bf16, 3 epochs, 4 trainings sharing the GPU)"
"$PY" benchmarks/gpu_grid.py --device cuda --amp bf16 --epochs 3 --parallel-train 4 \
    --parallel-eval 16 --json "$OUT/grid.json"
step "done"

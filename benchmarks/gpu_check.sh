#!/usr/bin/env bash
# The prepared GPU check: on a bare GPU machine with no network, in under 8 minutes, everything about sdmspec that
# only a GPU can show. Writes one log (gpu_check.log) and one summary (summary.md) into the output folder.
#
#   On this machine, once:   echo /.whl/ >> .git/info/exclude; bash ../shared/gpu/fetch-wheels.sh .whl
#   On the GPU machine:      bash benchmarks/gpu_check.sh [OUT_DIR]     (OUT_DIR defaults to $OUT, else gpu-check)
#
# The wheels the GPU image lacks (pydantic, datasets, fvcore, submitit, mambapy, ...) are installed from .whl into
# /tmp/site, and the checkout's code runs from src/ (no install). Steps, cheap and decisive first; each is bounded
# by `timeout`, and by what is left of one budget for the whole script (BUDGET_S, default 450 s), so one that hangs
# cannot eat the machine's time; a step with under 20 s left is skipped and says so:
#   1. environment (sdmspec env) and which scan `auto` picks on CUDA
#   2. the `gpu`-marked tests (the smoke pipeline with --device cuda on a small spec, CUDA zero counts, verify on
#      CUDA, parallel vs reference on CUDA, the profile on CUDA, precision auto on CUDA)
#   3. bf16 vs fp32 (TF32) tokens/s of full-size 130m on the fast path, and the share of a step spent waiting for
#      data (benchmarks/bench_gpu_step.py)
#   4. one stop-and-resume round trip on CUDA: SIGTERM to a job, rerun, compared with an uninterrupted GPU run
#   5. full-size training throughput on every scan path, side by side (benchmarks/bench_train.py step --full)
#   6. a full-size profile subset (130m dense and SDM at 128 and 1024 tokens)
#   7. `sdmspec run --smoke --device cuda` (all 40 stages), with what is left
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-check}}
deadline=$((SECONDS + ${BUDGET_S:-450}))
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/gpu_check.log"
summary="$out/summary.md"
: >"$log"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error PYTHONUNBUFFERED=1

if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl >>"$log" 2>&1
  export PYTHONPATH="/tmp/site:$PWD/src"
else
  echo "no .whl/ here: using the installed packages (see ../shared/gpu/README.md)" | tee -a "$log"
  export PYTHONPATH="$PWD/src"
fi
# The checkout runs uninstalled, so its entry points (the sdmspec.pipelines group that plugs this paper's pipeline
# into the core) would be missing: describe the checkout as a distribution on the path, from pyproject.toml.
meta=/tmp/sdmspec-checkout
python3 - "$meta" >>"$log" 2>&1 <<'PY'
import pathlib, sys, tomllib
points = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]["entry-points"]
info = pathlib.Path(sys.argv[1]) / "sdmspec_checkout-0.dist-info"
info.mkdir(parents=True, exist_ok=True)
(info / "METADATA").write_text("Metadata-Version: 2.1\nName: sdmspec-checkout\nVersion: 0\n")
lines = [f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) for group, entries in points.items()]
(info / "entry_points.txt").write_text("\n".join(lines))
PY
export PYTHONPATH="$PYTHONPATH:$meta"

{
  echo "# sdmspec GPU check"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "- started: $(date -u +%FT%TZ)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
  echo "- $(python3 -c 'import torch, transformers; print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}")' 2>&1)"
  echo
  echo "| step | exit | seconds |"
  echo "|---|---|---|"
} >"$summary"

# step NAME LIMIT_S COMMAND...: run it bounded (LIMIT_S or what is left of the budget), log everything, one summary
# row.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS))
  if ((left < 20)); then
    echo "| $name | skipped: ${left}s of the budget left | 0 |" >>"$summary"
    echo "$name: skipped (${left}s of the budget left)"
    return 0
  fi
  ((limit > left)) && limit=$left
  echo "=== $name (limit ${limit}s): $*" >>"$log"
  local started=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  local code=$?
  local took=$((SECONDS - started))
  echo "=== $name: exit $code after ${took}s" >>"$log"
  echo "| $name | $code$([ "$code" = 124 ] && echo ' (timed out)') | $took |" >>"$summary"
  echo "$name: exit $code after ${took}s"
  return 0
}

step "sdmspec env" 30 python3 -m sdmspec env --format json
step "scan auto on cuda" 45 python3 -c '
from mamba_sdm.models.scan import kernels_status, parallel_status, resolve_scan
print("kernels:", kernels_status()); print("parallel:", parallel_status())
print("auto ->", resolve_scan("auto", "cuda").record())'
# The GPU image lacks the dev-only packages some test modules import (hypothesis, jsonschema, the trackers): those
# modules hold no gpu test, so their collection errors must not stop the gpu tests from running.
step "pytest -m gpu" 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider -o addopts="" \
  --continue-on-collection-errors tests \
  -k "not round_trip_on_cuda"
step "bf16 vs fp32, data wait (full size)" 90 python3 benchmarks/bench_gpu_step.py --precisions bf16,fp32 --steps 3
step "stop and resume on cuda" 100 python3 -m pytest -m gpu -q -p no:cacheprovider -o addopts="" \
  --continue-on-collection-errors \
  tests/jobs/test_stop_signals.py -k round_trip_on_cuda
step "bench_train step --full" 120 python3 benchmarks/bench_train.py step --full --devices cuda --methods sdm \
  --seq-len 512 --steps 2 --repeats 2
step "profile 130m (full size)" 60 python3 -m sdmspec profile --variant mamba-130m-dense --variant mamba-130m-sdm \
  --seq-len 128 --seq-len 1024 --no-trace --out "$out/profile"
step "sdmspec run --smoke --device cuda" 120 python3 -m sdmspec run --smoke --device cuda --jobs 4 --out "$out/smoke"

{
  echo
  echo "## Figures"
  echo
  echo '```'
  # The benchmark's tables and the profile's one-line summary, as the log has them.
  grep -E '^\||^full size|^full-size|^smoke model|^torch ' "$log" || true
  echo '```'
  echo
  echo "- ended: $(date -u +%FT%TZ); the whole log: gpu_check.log"
} >>"$summary"
cp -f "$out/profile/profile.json" "$out/profile.json" 2>/dev/null || true
cp -f "$out/smoke/report.md" "$out/smoke_report.md" 2>/dev/null || true
cat "$summary"

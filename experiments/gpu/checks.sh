#!/usr/bin/env bash
# The GPU checks that need no long training (about 3 minutes on one H200), results under OUT:
#   * pytest of every CUDA-only test (growth on CUDA; a grown model compiled under bf16 against
#     eager; fused AdamW)                                              -> OUT/pytest_cuda.txt
#   * progtheory bench on CUDA, eager and compiled: tokens/s, MFU against the measured bf16
#     peak, speed against the plain reference GPT-2, the GPT-2 124M shape -> OUT/bench*.{txt,json}
#   * torchrun (one process per GPU) training through a growth on CUDA   -> OUT/torchrun.txt
# Exit codes of the four steps -> OUT/status.txt
#
#   OUT=/path experiments/gpu/checks.sh
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
out=${OUT:-runs/gpu_checks}
mkdir -p "$out"
ngpu=$(python3 -c "import torch; print(torch.cuda.device_count())")
run() { name=$1; shift; "$@" > "$out/$name.txt" 2>&1; echo "$name $?" >> "$out/status.txt"; }
: > "$out/status.txt"
run pytest_cuda timeout 240 python3 -m pytest -q -p no:cacheprovider -k "cuda or CUDA" \
    tests/test_distributed.py tests/test_growth.py
run bench timeout 240 python3 -m progtheory.cli bench --device cuda --steps 10 --warmup 3 --json "$out/bench.json"
run bench_compiled timeout 300 python3 -m progtheory.cli bench --device cuda --steps 10 --warmup 3 --compile \
    --json "$out/bench_compiled.json"
run torchrun timeout 180 torchrun --standalone --nproc_per_node "$ngpu" -m progtheory.cli train \
    --preset tiny-progressive --set device=cuda --set batch_size=$((8 * ngpu)) --out "$out/torchrun_run" --quiet
cat "$out/status.txt"

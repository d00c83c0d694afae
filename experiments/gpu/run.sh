#!/usr/bin/env bash
# The decisive comparison on one GPU in one command (grid: experiments/gpu/decisive.py).
#
#   experiments/gpu/run.sh           # GPU: 20 runs, 10 processes sharing the GPU, all stopped by DEADLINE_S
#   experiments/gpu/run.sh --smoke   # CPU, under a minute: the same grid at tiny size, the same files
#
# Environment: OUT (results folder, must not hold runs.csv; default runs/gpu_decisive),
# DEADLINE_S (seconds for the whole script, default 540 = 9 min; smoke 300), SHARDS (processes,
# default 10; smoke 2), RUNS_ROOT (run folders and checkpoints, default $TMPDIR/progtheory_gpu_runs).
# Writes into OUT: runs.csv (one row per finished run), metrics.csv (per run and step),
# provenance.jsonl (config and provenance of every finished run), experiment.json, sweep.log
# (how each shard ended) and device.txt (machine, driver, torch, commit).  Runs still going at
# the deadline are stopped cleanly (SIGINT, then collected without them); they stay resumable
# in RUNS_ROOT, and running the script again with a fresh OUT continues them.
set -u
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
if [ $# -gt 0 ]; then echo "usage: $0 [--smoke]   (settings via OUT, DEADLINE_S, SHARDS, RUNS_ROOT)" >&2; exit 2; fi
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
if [ $smoke = 1 ]; then
    out=${OUT:-runs/gpu_decisive_smoke}; total=${DEADLINE_S:-300}; shards=${SHARDS:-2}; flag=--smoke
else
    out=${OUT:-runs/gpu_decisive}; total=${DEADLINE_S:-540}; shards=${SHARDS:-10}; flag=
fi
runs_root=${RUNS_ROOT:-${TMPDIR:-/tmp}/progtheory_gpu_runs}
case $total in ''|*[!0-9]*) echo "DEADLINE_S=$total must be whole seconds" >&2; exit 2;; esac
if [ $smoke = 0 ] && ! python3 -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "no CUDA device: run on a GPU machine, or use --smoke for the CPU check" >&2
    exit 2
fi
mkdir -p "$out"
{
    echo "date $(date -u +%FT%TZ)"
    echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown) dirty=$(test -n "$(git status --porcelain 2>/dev/null)" && echo yes || echo no)"
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'device',
                torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
    echo "shards $shards, deadline ${total}s for the whole script, smoke $smoke"
} > "$out/device.txt"
# the shards get what is left, less 45 s: up to 30 s for a stopped run to write its
# summary (sweep_parallel.sh's --kill-after) and the collection of the tables
left=$(( total - ($(date +%s) - start) - 45 ))
if [ $left -lt 30 ]; then echo "DEADLINE_S=$total leaves no time to train" >&2; exit 2; fi
experiments/sweep_parallel.sh experiments/gpu/decisive.py "$shards" "$left" "$runs_root" "$out" $flag
status=$?
echo "finished in $(( $(date +%s) - start )) s" | tee -a "$out/sweep.log"
exit $status

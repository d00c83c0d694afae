#!/usr/bin/env bash
# Everything a lent GPU is for, in one command that ends by its deadline (experiments/gpu/README.md):
# first the checks, each under its own time cap (CUDA tests; progtheory bench eager and compiled,
# default and GPT-2 124M shapes and the default model grown 1 -> 4 blocks; torchrun DDP where >= 2
# GPUs exist), then the decisive grid (decisive.py) as lanes sharing the GPU, balanced by FLOPs,
# stopped at the deadline; finished and cut runs are collected alike.
#
#   experiments/gpu/run.sh [--deadline SECONDS] [--no-checks]   # GPU; deadline default 480
#   experiments/gpu/run.sh --smoke [--deadline SECONDS]         # CPU, tiny sizes; default 60
#
# OUT (default runs/gpu_device, or runs/gpu_device_smoke) must be empty or absent.  At the end
# it holds these 8 files and nothing else (the device brings back at most 8 files):
#   summary.txt     the timeline: plan, each step's time and exit code, the runs' status
#   device.txt      machine, GPUs, driver, torch, commit and dirty flag, settings
#   checks.txt      output of the CUDA tests and the DDP launch (or why DDP is untested)
#   bench.txt       the benchmark's printed tables, line by line as measured
#   bench.jsonl     one JSON line per benchmarked row (case and mode), written as each one finishes
#   runs.csv        one row per declared run: tags, lane, status, steps done, losses
#   metrics.csv     per run and step, up to where each run stopped
#   results.tar.gz  the rest: each run's config, provenance and summary, per-step metrics
#                   (left out if the archive would pass 15 MiB), lane logs, provenance.jsonl,
#                   experiment.json, the lane plan, the sender's COMMIT file; no checkpoints
# Work goes to OUT/.staging (run folders, logs), packed into results.tar.gz and removed at
# the end, also when the script is stopped by a signal.
#
# Commit: from git where the tree is a checkout; else from $PROGTHEORY_COMMIT (and
# $PROGTHEORY_DIRTY); else from the file $PROGTHEORY_COMMIT_FILE (default
# experiments/gpu/COMMIT, written before sending by experiments/gpu/prepare.sh).  It is
# exported as PROGTHEORY_COMMIT / PROGTHEORY_DIRTY, which every run's provenance records when
# git is missing.
set -u
usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}
smoke=0; checks=1; deadline=
while [ $# -gt 0 ]; do
    case $1 in
        --smoke) smoke=1 ;;
        --no-checks) checks=0 ;;
        --deadline) shift; deadline=${1:-} ;;
        --deadline=*) deadline=${1#--deadline=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ $smoke = 1 ]; then
    deadline=${deadline:-60}; out=${OUT:-runs/gpu_device_smoke}; flag=--smoke
    grace=5; reserve=12; min_grid=10        # SIGINT to exit; grace + collecting and packing
    cap_pytest=30; cap_bench_eager=20      # no compiled bench and no DDP on CPU
else
    deadline=${deadline:-480}; out=${OUT:-runs/gpu_device}; flag=
    grace=20; reserve=45; min_grid=30
    cap_pytest=60; cap_bench_eager=45; cap_bench_compiled=100; cap_bench_compiled_124m=80; cap_ddp=60
fi
case $deadline in
    ''|*[!0-9]*) echo "--deadline '$deadline' must be whole seconds, e.g. --deadline 480" >&2; exit 2;;
esac
if [ "$deadline" -lt $((reserve + min_grid)) ]; then
    echo "--deadline $deadline leaves no time to train: it must be >= $((reserve + min_grid)) s" >&2; exit 2
fi
if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
    echo "OUT=$out is not empty; choose an empty or new folder (nothing was run)" >&2; exit 2
fi
start=$(date +%s)
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2
root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root" || exit 2
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
stage=$out/.staging
mkdir -p "$stage/runs" "$stage/logs"
: > "$out/summary.txt"; : > "$out/checks.txt"; : > "$out/bench.txt"; : > "$out/bench.jsonl"
say() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$out/summary.txt"; }

# ------------------------------------------------------------------ collect, pack, clean up
pids=(); grid_started=0; collected=0
collect() {
    collected=1
    python3 experiments/gpu/collect.py tables "$stage/runs" "$out" "$stage/tables" $flag \
        > "$stage/logs/collect.txt" 2>&1
    local rc=$?
    cat "$stage/logs/collect.txt" >> "$out/summary.txt"; cat "$stage/logs/collect.txt"
    say "collected the runs (exit $rc) into runs.csv and metrics.csv"
}
pack() {
    local max=$((15 * 1024 * 1024)) size
    tar -czf "$out/results.tar.gz" -C "$stage" --exclude='*.pt' --exclude=.lock --exclude=./results .
    size=$(stat -c %s "$out/results.tar.gz")
    if [ "$size" -gt $max ]; then
        say "results.tar.gz is $size bytes with each run's metrics.csv; packed again without them"
        tar -czf "$out/results.tar.gz" -C "$stage" --exclude='*.pt' --exclude=.lock --exclude=./results \
            --exclude='./runs/*/metrics.csv' .
    fi
}
finish() {
    local rc=$?
    trap - EXIT INT TERM
    for p in ${pids[@]+"${pids[@]}"}; do kill -INT "$p" 2>/dev/null; done
    wait
    if [ $grid_started = 1 ] && [ $collected = 0 ]; then collect; fi
    [ -f "$out/runs.csv" ] || : > "$out/runs.csv"
    [ -f "$out/metrics.csv" ] || : > "$out/metrics.csv"
    [ -f "${commit_file:-}" ] && cp "$commit_file" "$stage/COMMIT"
    say "finished (exit $rc) after $(( $(date +%s) - start )) s of the ${deadline} s deadline; packing"
    pack
    rm -rf "$stage"
    local files
    files=$(cd "$out" && find . -mindepth 1 -type f | sort | sed 's|^\./||')
    echo "OUT holds $(echo "$files" | wc -l) files: $(echo $files)" | tee -a "$out/summary.txt"
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ device and commit
commit_file=${PROGTHEORY_COMMIT_FILE:-experiments/gpu/COMMIT}
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$root" ] && sha=$(git rev-parse HEAD 2>/dev/null); then
    commit=$sha; commit_from=git
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=yes; else dirty=no; fi
elif [ -n "${PROGTHEORY_COMMIT:-}" ]; then
    commit=$PROGTHEORY_COMMIT; dirty=${PROGTHEORY_DIRTY:-unknown}; commit_from=PROGTHEORY_COMMIT
elif [ -f "$commit_file" ]; then
    commit=$(sed -n 's/^PROGTHEORY_COMMIT=//p' "$commit_file" | head -n 1)
    dirty=$(sed -n 's/^PROGTHEORY_DIRTY=//p' "$commit_file" | head -n 1)
    commit_from="$commit_file, prepared $(sed -n 's/^PREPARED=//p' "$commit_file" | head -n 1)"
else
    commit=unknown; dirty=unknown
    commit_from="nowhere: run experiments/gpu/prepare.sh before sending the tree"
fi
if [ "$commit" != unknown ] && [ -n "$commit" ]; then
    export PROGTHEORY_COMMIT=$commit PROGTHEORY_DIRTY=${dirty:-unknown}
fi
{
    echo "date $(date -u +%FT%TZ)"
    echo "commit ${commit:-unknown} dirty=${dirty:-unknown} (from $commit_from)"
    python3 - <<'PY'
import os
import platform

import torch

print("host", platform.node(), "cpus", os.cpu_count())
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda)
print("gpus", torch.cuda.device_count())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"gpu {i}: {p.name}, {p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs")
PY
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
    echo "mode $([ $smoke = 1 ] && echo smoke || echo full), deadline ${deadline} s, checks $checks"
} > "$out/device.txt" 2>&1
cat "$out/device.txt"
ngpu=$(sed -n 's/^gpus //p' "$out/device.txt"); ngpu=${ngpu:-0}
if [ $smoke = 0 ] && [ "$ngpu" -lt 1 ]; then
    say "no CUDA device: run on a GPU machine, or use --smoke for the CPU check"
    exit 2
fi

# ------------------------------------------------------------------ checks, each capped
grid_end=$(( start + deadline - reserve ))
checks_end=$(( grid_end - min_grid ))
# run_check NAME CAP LOG COMMAND...: COMMAND's output appended to LOG, stopped after CAP s or
# when the checks' window closes, whichever is first
run_check() {
    local name=$1 cap=$2 log=$3 t0 rc left; shift 3
    t0=$(date +%s); left=$(( checks_end - t0 ))
    [ "$cap" -gt "$left" ] && cap=$left
    if [ "$cap" -lt 5 ]; then say "check $name: skipped, ${left} s left before the grid"; return; fi
    echo "== $name (cap ${cap} s): $*" >> "$log"
    timeout --kill-after=5 "$cap" "$@" >> "$log" 2>&1
    rc=$?
    case $rc in 0) what=passed;; 124|137) what="stopped at its cap";; *) what=failed;; esac
    echo "== $name: exit $rc ($what) after $(( $(date +%s) - t0 )) s" >> "$log"
    say "check $name: exit $rc ($what) after $(( $(date +%s) - t0 )) s (cap ${cap} s)"
}
say "plan: checks until +$(( checks_end - start )) s, the grid until +$(( grid_end - start )) s" \
    "(SIGINT, then ${grace} s to stop), then collecting and packing"
if [ $checks = 1 ]; then
    run_check pytest_cuda $cap_pytest "$out/checks.txt" \
        python3 -m pytest -q -p no:cacheprovider -rs -k cuda tests/train/test_distributed.py tests/core/test_growth.py
    if [ $smoke = 1 ]; then
        run_check bench_eager $cap_bench_eager "$out/bench.txt" python3 experiments/gpu/bench_cases.py \
            --device cpu --steps 3 --warmup 1 --peak-sizes 256 --predict-lr-calls 100 \
            --jsonl "$out/bench.jsonl" "default (L4)" "bytes d32 L2" "bytes d32 L1->L2"
        say "check bench_compiled: skipped in smoke (inductor compiles for minutes on a CPU)"
    else
        run_check bench_eager $cap_bench_eager "$out/bench.txt" python3 experiments/gpu/bench_cases.py \
            --device cuda --jsonl "$out/bench.jsonl" "default (L4)" gpt2-124M "default L1->L4"
        # compiled: the default shape and its growth first, so that the 124M compile cannot crowd them out
        run_check bench_compiled $cap_bench_compiled "$out/bench.txt" python3 experiments/gpu/bench_cases.py \
            --device cuda --compile --jsonl "$out/bench.jsonl" "default (L4)" "default L1->L4"
        run_check bench_compiled_124m $cap_bench_compiled_124m "$out/bench.txt" python3 \
            experiments/gpu/bench_cases.py --device cuda --compile --jsonl "$out/bench.jsonl" gpt2-124M
    fi
    if [ "$ngpu" -ge 2 ]; then
        run_check ddp $cap_ddp "$out/checks.txt" torchrun --standalone --nproc_per_node "$ngpu" \
            -m progtheory.cli train --preset tiny-progressive --set device=cuda \
            --set batch_size=$((8 * ngpu)) --out "$stage/ddp_run" --quiet
    else
        line="DDP on GPUs is untested: $ngpu GPU(s) here, DDP over NCCL needs >= 2"
        line="$line (tests/train/test_distributed.py checks DDP with gloo on CPU)"
        say "check ddp: $line"; echo "== ddp: $line" >> "$out/checks.txt"
    fi
else
    say "checks: skipped (--no-checks)"
fi

# ------------------------------------------------------------------ the grid, lanes by FLOPs
if ! python3 experiments/gpu/collect.py plan $flag > "$stage/plan.txt" 2>&1; then
    cat "$stage/plan.txt"; say "the lane plan failed"; exit 1
fi
lanes=$(grep -c '^lane ' "$stage/plan.txt")
tee -a "$out/summary.txt" < "$stage/plan.txt"
left=$(( grid_end - $(date +%s) ))
if [ $left -lt $min_grid ]; then
    say "grid: skipped, ${left} s left (needs ${min_grid} s)"
    exit 1
fi
say "grid: $lanes lanes for ${left} s"
grid_started=1
for i in $(seq 0 $((lanes - 1))); do
    timeout --signal=INT --kill-after=$grace $left \
        python3 -m progtheory.cli sweep experiments/gpu/decisive.py --only lane=$i $flag --quiet \
        --runs-root "$stage/runs" --results-root "$stage/results" > "$stage/logs/lane_$i.log" 2>&1 &
    pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}"; rc=$?
    case $rc in 0) what="all its runs finished";; 124) what="stopped by the deadline";;
                137) what="killed ${grace} s after the deadline";; *) what=failed; status=1;; esac
    say "lane $i: exit $rc ($what); $(tail -n 1 "$stage/logs/lane_$i.log" | cut -c1-200)"
done
pids=()
collect
exit $status

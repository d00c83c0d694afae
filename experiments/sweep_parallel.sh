#!/usr/bin/env bash
# Run one experiment as N concurrent shards on one machine (e.g. N processes sharing a GPU),
# stop them all at a deadline, and gather the finished runs into OUTDIR.
#
#   experiments/sweep_parallel.sh EXPERIMENT N DEADLINE_S RUNS_ROOT OUTDIR [sweep options...]
#
# Runs stopped by the deadline stay resumable in RUNS_ROOT; only finished runs reach
# OUTDIR/{runs,metrics}.csv and OUTDIR/provenance.jsonl (OUTDIR/<results folder>/ per arm of an
# experiment with arms).  The shards' own running tables go to RUNS_ROOT/results, so the
# checkout's experiments/results/ is left alone.  Each shard logs to RUNS_ROOT/shard_i.log; OUTDIR/sweep.log
# holds all of them.  Uses `python3 -m progtheory.cli`, so it also works from a checkout on
# PYTHONPATH without an install.
set -u
if [ $# -lt 5 ]; then
    echo "usage: $0 EXPERIMENT N DEADLINE_S RUNS_ROOT OUTDIR [sweep options...]" >&2
    exit 2
fi
exp=$1; n=$2; deadline=$3; runs_root=$4; outdir=$5; shift 5
case $n in ''|*[!0-9]*|0) echo "N=$n must be a positive integer" >&2; exit 2;; esac
case $deadline in ''|*[!0-9]*) echo "DEADLINE_S=$deadline must be whole seconds" >&2; exit 2;; esac
used=$(find "$outdir" -name runs.csv 2>/dev/null | head -n 1)
if [ -n "$used" ]; then
    echo "$used exists; choose an empty OUTDIR (nothing was run)" >&2
    exit 2
fi
python3 -m progtheory.cli sweep "$exp" --dry-run --runs-root "$runs_root" --results-root "$runs_root/results" "$@" \
    > /dev/null || exit 2
mkdir -p "$runs_root" "$outdir"
start=$(date +%s)
for i in $(seq 0 $((n - 1))); do
    OMP_NUM_THREADS=1 timeout --signal=INT --kill-after=30 "$deadline" \
        python3 -m progtheory.cli sweep "$exp" --shard "$i/$n" --runs-root "$runs_root" \
        --results-root "$runs_root/results" --quiet "$@" \
        > "$runs_root/shard_$i.log" 2>&1 &
done
wait
echo "shards stopped after $(( $(date +%s) - start )) s" > "$outdir/sweep.log"
for i in $(seq 0 $((n - 1))); do
    { echo "== shard $i/$n"; tail -n 5 "$runs_root/shard_$i.log"; } >> "$outdir/sweep.log"
done
python3 - "$exp" "$runs_root" "$outdir" "$@" <<'PY'
import sys
from pathlib import Path

from progtheory import sweep

exp = sweep.load_experiment(sys.argv[1])
smoke = "--smoke" in sys.argv[4:]
parts = sweep.parts(exp, smoke)
for folder, part in parts:  # an experiment with arms: one subfolder per arm
    out = Path(sys.argv[3]) / folder if len(parts) > 1 else Path(sys.argv[3])
    sweep.collect(part, Path(sys.argv[2]), out, smoke=smoke)
PY
rows=$(find "$outdir" -name runs.csv -exec tail -n +2 {} \; | wc -l)
echo "collected $rows finished runs into $outdir" | tee -a "$outdir/sweep.log"

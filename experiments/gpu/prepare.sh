#!/usr/bin/env bash
# Run in the local checkout just before sending the tree to a device machine (no .git goes
# there): writes experiments/gpu/COMMIT, the commit the copy is made from, so run.sh records it
# in device.txt and in every run's provenance.
#
#   experiments/gpu/prepare.sh [FILE]     # FILE defaults to experiments/gpu/COMMIT
#
# COMMIT holds PROGTHEORY_COMMIT=<sha>, PROGTHEORY_DIRTY=yes|no (tracked files differ from the
# commit) and PREPARED=<UTC time>, then, when dirty, `git diff HEAD` (the uncommitted changes
# the copy carries).  Git ignores it; the device call names it in `carry` so it travels with the copy.
# Do not commit it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/experiments/gpu/COMMIT}
sha=$(git -C "$root" rev-parse HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then dirty=yes; else dirty=no; fi
{
    echo "PROGTHEORY_COMMIT=$sha"
    echo "PROGTHEORY_DIRTY=$dirty"
    echo "PREPARED=$(date -u +%FT%TZ)"
    if [ $dirty = yes ]; then echo "# git diff HEAD:"; git -C "$root" diff HEAD; fi
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: commit $sha, dirty=$dirty"

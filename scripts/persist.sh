#!/usr/bin/env bash
# The persistence workflow's steps, runnable (and tested) outside GitHub:
# run every pending migration, push the data repository, commit the new submodule pointer
# in this repository and push it, and append a markdown summary to $3.
set -euo pipefail
nes=${1:?usage: persist.sh NES DATA_REPO [SUMMARY_FILE]}
data=${2:?usage: persist.sh NES DATA_REPO [SUMMARY_FILE]}
summary=${3:-/dev/null}

status=0
"$nes" --db-repo "$data" migrate run --all --update-submodule --summary "$summary" || status=$?

# The submodule pointer commit (if any) goes to this repository's remote. Never forced.
parent=$(git -C "$data/.." rev-parse --show-toplevel)
if [ "$status" -eq 0 ] && git -C "$parent" remote get-url origin >/dev/null 2>&1; then
  branch=$(git -C "$parent" symbolic-ref --short HEAD)
  if [ -n "$(git -C "$parent" rev-list "origin/$branch..HEAD" 2>/dev/null || echo unknown)" ]; then
    git -C "$parent" push --quiet origin "HEAD:$branch"
  fi
fi
exit "$status"

#!/usr/bin/env bash
# Makes sure the data repository is at $1: the checked-out submodule when there is one,
# else a blobless clone (full history, blobs on demand) of $NES_DATA_REPO_URL.
set -euo pipefail
dir=${1:?usage: ensure-data-repo.sh DIR}

if [ -e "$dir/.git" ]; then
  # A submodule is checked out detached; nes needs the branch, with full history.
  branch=${NES_DATA_BRANCH:-main}
  if [ "$(git -C "$dir" rev-parse --is-shallow-repository)" = true ]; then
    git -C "$dir" fetch --unshallow --quiet
  fi
  git -C "$dir" fetch --quiet origin "$branch" 2>/dev/null || true
  if ! git -C "$dir" symbolic-ref -q HEAD >/dev/null; then
    git -C "$dir" checkout --quiet -B "$branch" "origin/$branch" 2>/dev/null || git -C "$dir" checkout --quiet -B "$branch"
    git -C "$dir" branch --quiet --set-upstream-to="origin/$branch" "$branch" 2>/dev/null || true
  fi
  exit 0
fi
if [ -z "${NES_DATA_REPO_URL:-}" ]; then
  echo "error: no data repository at $dir and NES_DATA_REPO_URL is not set" >&2
  echo "help: add the data repository as a submodule at $dir, or set the NES_DATA_REPO_URL variable" >&2
  exit 2
fi
git clone --quiet --filter=blob:none "$NES_DATA_REPO_URL" "$dir"

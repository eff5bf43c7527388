#!/usr/bin/env bash
# The persistence workflow's steps, runnable (and tested) outside GitHub:
# run every pending migration, push the data repository, commit the new submodule pointer
# in this repository and push it, and append a markdown summary to $3.
#
# `nes migrate run` starts from the data remote's head and, when another writer pushes
# meanwhile, runs the migrations again on the new head before pushing again
# (docs/maintainer-guide.md, "Other writers"); the pointer it commits is the data commit
# the remote then has.
set -euo pipefail
nes=${1:?usage: persist.sh NES DATA_REPO [SUMMARY_FILE]}
data=${2:?usage: persist.sh NES DATA_REPO [SUMMARY_FILE]}
summary=${3:-/dev/null}

status=0
"$nes" --db-repo "$data" migrate run --all --update-submodule --summary "$summary" || status=$?

# The submodule pointer commit (if any) goes to this repository's remote. Never forced:
# when the branch moved meanwhile (a merged pull request), that one commit is rebased on
# it and pushed again, a few times.
parent=$(git -C "$data/.." rev-parse --show-toplevel)
if [ "$status" -eq 0 ] && git -C "$parent" remote get-url origin >/dev/null 2>&1; then
  branch=$(git -C "$parent" symbolic-ref --short HEAD)
  if [ -n "$(git -C "$parent" rev-list "origin/$branch..HEAD" 2>/dev/null || echo unknown)" ]; then
    # The rebase commits as the run's identity when git has none configured (CI).
    if [ -n "${NES_GIT_AUTHOR:-}" ]; then
      name=${NES_GIT_AUTHOR%% <*}
      email=${NES_GIT_AUTHOR##*<}
      export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$name}
      export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-${email%>}}
    fi
    attempt=1
    until git -C "$parent" push --quiet origin "HEAD:$branch"; do
      if [ "$attempt" -ge 4 ]; then
        echo "error: the pointer commit was rejected $attempt times: $branch of this repository kept moving" >&2
        echo "help: the data repository is pushed; commit its pointer by hand (git add $data && git commit) and push" >&2
        exit 1
      fi
      attempt=$((attempt + 1))
      if ! git -C "$parent" pull --quiet --rebase --no-recurse-submodules origin "$branch"; then
        git -C "$parent" rebase --abort 2>/dev/null || true
        echo "error: the pointer commit does not rebase on $branch (did another commit move the submodule?)" >&2
        echo "help: the data repository is pushed; commit its pointer by hand on top of $branch and push" >&2
        exit 1
      fi
    done
  fi
fi
exit "$status"

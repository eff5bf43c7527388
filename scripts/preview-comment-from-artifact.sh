#!/usr/bin/env bash
# The trusted half of the preview pipeline: downloads the `migration-preview` artifact of a
# finished migration-preview run, treats it as untrusted data, checks it, and creates or
# updates the pull request's one preview comment (scripts/post-preview-comment.sh).
# Uses the GitHub CLI (`$GH`, default gh). Runnable outside GitHub; tested in tests/workflow.rs.
#
# Refuses (exit 1, nothing posted): a pull request number that is not a plain integer, a pull
# request whose head is not the run's head commit, a preview.md that is not the marker-headed
# markdown `nes migrate preview` writes, that is not UTF-8, or that is over GitHub's comment
# limit of 65,536 characters.
set -euo pipefail
usage='usage: preview-comment-from-artifact.sh OWNER/REPO RUN_ID HEAD_SHA'
repo=${1:?$usage}
run_id=${2:?$usage}
head_sha=${3:?$usage}
gh=${GH:-gh}
marker='<!-- nes-migration-preview -->'
max_chars=65536

refuse() {
  echo "error: $*" >&2
  exit 1
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

if ! "$gh" run download "$run_id" --repo "$repo" --name migration-preview --dir "$dir"; then
  # The preview job failed before uploading (a build error): its own red check says why.
  echo "no migration-preview artifact in run $run_id: nothing to post" >&2
  exit 0
fi

for f in pr-number preview.md; do
  if [ -L "$dir/$f" ] || [ ! -f "$dir/$f" ]; then
    refuse "the artifact has no regular file $f"
  fi
done

# The number is read as data: one line of digits, small enough to be a real pull request.
if [ "$(wc -c < "$dir/pr-number")" -gt 21 ]; then
  refuse "pr-number is not a pull request number"
fi
pr=$(tr -d '\n' < "$dir/pr-number")
if ! [[ $pr =~ ^[1-9][0-9]{0,9}$ ]]; then
  refuse "pr-number is not a pull request number"
fi

# The artifact names the pull request; GitHub says which commit that pull request is at.
# A mismatch is an artifact claiming someone else's pull request, or a stale run.
actual=$("$gh" api "repos/$repo/pulls/$pr" --jq .head.sha) || refuse "cannot read pull request #$pr"
if [ "$actual" != "$head_sha" ]; then
  refuse "pull request #$pr is at ${actual:-an unknown commit}, not at the run's head $head_sha"
fi

body="$dir/preview.md"
# Bytes first, so a huge file is refused before anything reads it whole (4 bytes per
# character at most in UTF-8).
if [ "$(wc -c < "$body")" -gt $((max_chars * 4)) ]; then
  refuse "preview.md is larger than a comment can be ($max_chars characters)"
fi
if ! iconv -f UTF-8 -t UTF-8 "$body" > /dev/null 2>&1; then
  refuse "preview.md is not UTF-8 text"
fi
chars=$(LC_ALL=C.UTF-8 wc -m < "$body")
if [ "$chars" -gt "$max_chars" ]; then
  refuse "preview.md has $chars characters; a comment holds at most $max_chars"
fi
if [ "$(head -n 1 "$body")" != "$marker" ]; then
  refuse "preview.md does not start with the line $marker"
fi

"$(dirname "$0")/post-preview-comment.sh" "$repo" "$pr" "$body"

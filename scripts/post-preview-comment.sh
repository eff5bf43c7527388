#!/usr/bin/env bash
# Creates or updates the one preview comment on a pull request, found by the hidden marker
# that `nes migrate preview` puts first in its output. Uses the GitHub CLI (`$GH`, default gh).
set -euo pipefail
repo=${1:?usage: post-preview-comment.sh OWNER/REPO PR_NUMBER BODY_FILE}
pr=${2:?usage: post-preview-comment.sh OWNER/REPO PR_NUMBER BODY_FILE}
body_file=${3:?usage: post-preview-comment.sh OWNER/REPO PR_NUMBER BODY_FILE}
gh=${GH:-gh}
marker='<!-- nes-migration-preview -->'

existing=$("$gh" api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$existing" ]; then
  "$gh" api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body_file" >/dev/null
  echo "updated comment $existing"
else
  "$gh" api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body_file" >/dev/null
  echo "created a comment"
fi

#!/usr/bin/env bash
# Creates or updates the one preview comment on a pull request: the comment by the bot
# (`$PREVIEW_BOT_LOGIN`, default github-actions[bot]) that starts with the hidden marker
# `nes migrate preview` puts first in its output. Anyone else's comment starting with the
# marker is left alone. Uses the GitHub CLI (`$GH`, default gh).
set -euo pipefail
usage='usage: post-preview-comment.sh OWNER/REPO PR_NUMBER BODY_FILE'
repo=${1:?$usage}
pr=${2:?$usage}
body_file=${3:?$usage}
gh=${GH:-gh}
bot=${PREVIEW_BOT_LOGIN:-github-actions[bot]}
marker='<!-- nes-migration-preview -->'

existing=$("$gh" api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.user.login == \"$bot\" and (.body | startswith(\"$marker\"))) | .id" | head -n 1)
if [ -n "$existing" ]; then
  "$gh" api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body_file" >/dev/null
  echo "updated comment $existing on #$pr"
else
  "$gh" api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body_file" >/dev/null
  echo "created a comment on #$pr"
fi

#!/usr/bin/env bash
# Scenario 1 (10k entities into the real repository) on a fresh ext4 filesystem without a
# journal, for A/B comparisons of builds. Needs root (a loop mount).
#
# On this machine's no-journal ext4, inodes freed in the last minutes are skipped, one by
# one, when new ones are allocated (ext4's `recently_deleted`): after a benchmark deleted
# its copies, creating 20,000 files took 1.2-5.3 s instead of 0.3-0.5 s, for minutes. A
# filesystem made for the series has no deleted inodes, so every sample sees the same disk.
#
#   benches/fresh-fs.sh RUNS 'label|ENV=value ...|/path/to/scale-binary' ...
#
# Each config runs once per round, rounds in turn; nothing is deleted until the end. The
# binary is the scale bench (`cargo bench --bench scale --no-run` prints its path); copy it
# aside to compare builds. Example, one build against itself with a setting:
#   benches/fresh-fs.sh 3 "a|X=1|target/release/deps/scale-abc" "b|X=2|target/release/deps/scale-abc"
set -euo pipefail
runs=$1
shift
cd "$(dirname "$0")/.."
base_repo=target/nes-bench/repo-real
[ -d "$base_repo" ] || { echo "run 'cargo bench --bench scale -- create --quick --runs 1' first: it clones $base_repo" >&2; exit 2; }
image=target/nes-bench/fresh-fs.img
mnt=$(mktemp -d)
cleanup() { umount "$mnt" 2>/dev/null || true; rmdir "$mnt"; rm -f "$image"; }
trap cleanup EXIT
rm -f "$image"
truncate -s 8G "$image"
mkfs.ext4 -q -O ^has_journal "$image"
mount -o loop "$image" "$mnt"
cp -a "$base_repo" "$mnt/base"
git -C "$mnt/base" status --porcelain >/dev/null # fresh stat data in the index
sync
for round in $(seq 1 "$runs"); do
  for config in "$@"; do
    IFS='|' read -r label envs bin <<<"$config"
    run="$mnt/run-$round-$label"
    # As the harness copies: the working tree hard-linked, .git copied.
    cp -al "$mnt/base" "$run"
    rm -rf "$run/.git"
    cp -a "$mnt/base/.git" "$run/.git"
    sync
    printf '%-10s ' "$label"
    # shellcheck disable=SC2086 # $envs is a list of VAR=value words
    /usr/bin/time -f "total %e s, %U s user, %S s sys" env $envs "$bin" child create "$run" "$run-scratch" 10000 2>&1 |
      awk '/^INNER/{v=$2} /^PHASE/{printf "%s %.3f  ", $2, v} /^total/{print}'
  done
done

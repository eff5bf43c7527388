//! The GitHub workflows' steps, run here as scripts: persistence against a local bare
//! remote and a parent repository holding the data repository as a submodule (with other
//! writers pushing to both while the run is on), and the
//! comment half of the preview pipeline (checking the artifact, creating or updating the
//! one comment) against a stand-in for the GitHub CLI.

mod common;

use common::git;

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The data repository's bare remote `data.git` (seeded by `nes db init` and a first push),
/// the tool repository `tool` holding it as the submodule `database-repo` with its own bare
/// remote `tool.git`, and the workflow's first step run: the submodule checked out on `main`.
/// Returns the tool repository.
fn persistence_setup(root: &Path) -> PathBuf {
    // The data repository's remote, seeded by `nes db init` and a first push.
    git(
        root,
        &["init", "--quiet", "--bare", "--initial-branch=main", "data.git"],
    );
    let seed = root.join("seed");
    let nes = env!("CARGO_BIN_EXE_nes");
    let data_url = format!("file://{}", root.join("data.git").display());
    let status = Command::new(nes)
        .args(["--db-repo"])
        .arg(&seed)
        .args(["db", "init", "--remote", &data_url])
        .status()
        .unwrap();
    assert!(status.success());
    git(&seed, &["push", "--quiet", "origin", "main"]);

    // The tool repository with the data repository as a submodule, and its own remote.
    git(
        root,
        &["init", "--quiet", "--bare", "--initial-branch=main", "tool.git"],
    );
    let tool = root.join("tool");
    git(root, &["init", "--quiet", "--initial-branch=main", "tool"]);
    git(
        &tool,
        &[
            "submodule",
            "add",
            "--quiet",
            "-b",
            "main",
            &data_url,
            "database-repo",
        ],
    );
    git(&tool, &["commit", "--quiet", "-m", "Add the data repository"]);
    let tool_url = format!("file://{}", root.join("tool.git").display());
    git(&tool, &["remote", "add", "origin", &tool_url]);
    git(&tool, &["push", "--quiet", "-u", "origin", "main"]);
    common::set_identity(&tool);
    common::set_identity(&tool.join("database-repo"));

    // The workflow's steps.
    let ensure = Command::new(manifest().join("scripts/ensure-data-repo.sh"))
        .current_dir(&tool)
        .arg("database-repo")
        .status()
        .unwrap();
    assert!(ensure.success());
    tool
}

#[test]
fn the_persistence_steps_apply_push_and_update_the_submodule_pointer() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    let tool = persistence_setup(root);
    let nes = env!("CARGO_BIN_EXE_nes");
    let summary = root.join("summary.md");
    let out = Command::new(manifest().join("scripts/persist.sh"))
        .current_dir(&tool)
        .env("NES_MIGRATIONS_DIR", manifest().join("migrations"))
        .env("NES_GIT_AUTHOR", "nes-bot <bot@example.org>")
        .arg(nes)
        .arg("database-repo")
        .arg(&summary)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "persist.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The data remote has the migration; the tool remote has the new pointer.
    let data_log = git(&root.join("data.git"), &["log", "--format=%s", "main"]);
    for name in ["000-example-migration", "003-example-update"] {
        assert!(
            data_log.lines().any(|s| s == format!("Migration: {name}")),
            "{data_log}"
        );
    }
    let data_head = git(&root.join("data.git"), &["rev-parse", "main"]);
    let tool_log = git(&root.join("tool.git"), &["log", "--format=%s", "-1", "main"]);
    assert!(
        tool_log.starts_with("Update data repository: 000-example-migration"),
        "{tool_log}"
    );
    let pointer = git(&root.join("tool.git"), &["rev-parse", "main:database-repo"]);
    assert_eq!(pointer, data_head);
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(
        summary.contains("000-example-migration") && summary.contains("Migration run"),
        "{summary}"
    );

    // Nightly again: nothing pending, no new commits anywhere.
    let again = Command::new(manifest().join("scripts/persist.sh"))
        .current_dir(&tool)
        .env("NES_MIGRATIONS_DIR", manifest().join("migrations"))
        .arg(nes)
        .arg("database-repo")
        .status()
        .unwrap();
    assert!(again.success());
    assert_eq!(git(&root.join("data.git"), &["rev-parse", "main"]), data_head);
}

/// While the run is on, the queue bot pushes to the data repository and a pull request is
/// merged into the tool repository: the run replays on the data remote's new head, and the
/// pointer commit, rebased on the tool's new `main`, records the data commit the remote has.
#[test]
fn the_persistence_steps_land_on_top_of_other_writers() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    let tool = persistence_setup(root);
    let nes = env!("CARGO_BIN_EXE_nes");
    for (remote, clone) in [("data.git", "data-bot"), ("tool.git", "tool-dev")] {
        git(root, &["clone", "--quiet", remote, clone]);
        common::set_identity(&root.join(clone));
    }
    std::fs::write(root.join("data-bot/edits.txt"), "community edit\n").unwrap();
    git(&root.join("data-bot"), &["add", "edits.txt"]);
    git(
        &root.join("data-bot"),
        &["commit", "--quiet", "-m", "Queue: community edit"],
    );
    let bot = git(&root.join("data-bot"), &["rev-parse", "HEAD"]);
    std::fs::write(root.join("tool-dev/NOTES.md"), "merged\n").unwrap();
    git(&root.join("tool-dev"), &["add", "NOTES.md"]);
    git(
        &root.join("tool-dev"),
        &["commit", "--quiet", "-m", "Merge a pull request"],
    );
    let merged = git(&root.join("tool-dev"), &["rev-parse", "HEAD"]);
    // Both push once, at the run's first push.
    let hook = format!(
        "if [ \"$NES_HOOK_COUNT\" = 1 ]; then git -C '{}' push --quiet origin main && git -C '{}' push --quiet origin main; fi",
        root.join("data-bot").display(),
        root.join("tool-dev").display()
    );
    let out = Command::new(manifest().join("scripts/persist.sh"))
        .current_dir(&tool)
        .env("NES_MIGRATIONS_DIR", manifest().join("migrations"))
        .env("NES_GIT_AUTHOR", "nes-bot <bot@example.org>")
        .env("NES_HOOK_BEFORE_PUSH", &hook)
        .arg(nes)
        .arg("database-repo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "persist.sh: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("attempt 2"), "{stdout}");

    let data = root.join("data.git");
    git(&data, &["merge-base", "--is-ancestor", bot.trim(), "main"]);
    let on_top = git(&data, &["log", "--format=%s", &format!("{}..main", bot.trim())]);
    assert!(
        on_top.lines().all(|s| s.starts_with("Migration: "))
            && on_top.contains("Migration: 000-example-migration"),
        "{on_top}"
    );
    let tool_remote = root.join("tool.git");
    git(
        &tool_remote,
        &["merge-base", "--is-ancestor", merged.trim(), "main"],
    );
    assert_eq!(
        git(&tool_remote, &["rev-parse", "main:database-repo"]),
        git(&data, &["rev-parse", "main"]),
        "the pointer records the data commit that was pushed"
    );
    assert_eq!(
        git(&tool_remote, &["show", "main:NOTES.md"]),
        "merged\n",
        "the merged pull request is kept"
    );
}

/// A stand-in for the GitHub CLI, driven by files in its folder: `artifact/` is what
/// `gh run download` hands out (absent: the run has no artifact), `pull.json` what the pull
/// request endpoint answers, `comments.json` the comment listing. `--jq` filters run through
/// the real jq, so the scripts' selections are tested, not assumed.
struct FakeGitHub {
    dir: TempDir,
}

const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";
const MARKER: &str = "<!-- nes-migration-preview -->";

impl FakeGitHub {
    /// None (with a message) where jq is not installed.
    fn new() -> Option<Self> {
        if Command::new("jq").arg("--version").output().is_err() {
            eprintln!("skipping: the GitHub CLI stand-in needs jq, which is not installed");
            return None;
        }
        let dir = TempDir::new().unwrap();
        let gh = dir.path().join("gh");
        std::fs::write(
            &gh,
            r#"#!/usr/bin/env bash
set -euo pipefail
here=$(dirname "$0")
echo "$*" >> "$here/calls.log"
case "$1 $2" in
  "run download")
    [ -d "$here/artifact" ] || { echo "no artifact found" >&2; exit 1; }
    cp -a "$here/artifact/." "${@: -1}/"
    ;;
  "api --paginate") jq -r "$5" "$here/comments.json" ;;
  "api --method")
    n=$(find "$here" -maxdepth 1 -name 'posted.*' | wc -l)
    cp "${6#body=@}" "$here/posted.$n"
    ;;
  *) [ -f "$here/pull.json" ] || { echo "HTTP 404: Not Found" >&2; exit 1; }
     jq -r "$4" "$here/pull.json" ;;
esac
"#,
        )
        .unwrap();
        Command::new("chmod").arg("+x").arg(&gh).status().unwrap();
        let fake = FakeGitHub { dir };
        std::fs::create_dir(fake.artifact()).unwrap();
        fake.write("pull.json", &format!(r#"{{"head":{{"sha":"{HEAD}"}}}}"#));
        fake.write("comments.json", "[]");
        fake.write("artifact/pr-number", "17\n");
        Some(fake)
    }

    fn artifact(&self) -> PathBuf {
        self.dir.path().join("artifact")
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.dir.path().join(name), contents).unwrap();
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }

    /// The bodies posted or patched, in order.
    fn posted(&self) -> Vec<Vec<u8>> {
        (0..)
            .map(|n| self.dir.path().join(format!("posted.{n}")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    /// Runs the comment workflow's step for run 99 at [`HEAD`].
    fn comment_step(&self) -> std::process::Output {
        Command::new(manifest().join("scripts/preview-comment-from-artifact.sh"))
            .env("GH", self.dir.path().join("gh"))
            .args(["org/tool", "99", HEAD])
            .output()
            .unwrap()
    }
}

/// The preview job's output for `000-example-migration`, written by the real binary into the
/// stand-in's artifact as the workflow does.
fn real_preview_into(fake: &FakeGitHub) -> Vec<u8> {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let nes = env!("CARGO_BIN_EXE_nes");
    let init = Command::new(nes)
        .arg("--db-repo")
        .arg(&data)
        .args(["db", "init"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let md = fake.artifact().join("preview.md");
    let preview = Command::new(nes)
        .arg("--db-repo")
        .arg(&data)
        .args(["migrate", "preview", "000-example-migration", "--markdown-file"])
        .arg(&md)
        .arg("--json-file")
        .arg(fake.artifact().join("preview.json"))
        .output()
        .unwrap();
    assert!(
        preview.status.success(),
        "{}",
        String::from_utf8_lossy(&preview.stderr)
    );
    std::fs::read(md).unwrap()
}

#[test]
fn the_preview_comment_is_created_once_then_updated_from_the_artifact() {
    let Some(fake) = FakeGitHub::new() else { return };
    let preview = real_preview_into(&fake);
    assert!(preview.starts_with(MARKER.as_bytes()));

    let first = fake.comment_step();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        "created a comment on #17\n"
    );
    assert!(
        fake.calls()
            .contains("--method POST repos/org/tool/issues/17/comments"),
        "{}",
        fake.calls()
    );

    // Someone else's comment that starts with the marker is not the bot's comment.
    fake.write(
        "comments.json",
        &format!(
            r#"[{{"id": 1, "user": {{"login": "mallory"}}, "body": "{MARKER} fake"}},
               {{"id": 2, "user": {{"login": "github-actions[bot]"}}, "body": "CI passed"}},
               {{"id": 4242, "user": {{"login": "github-actions[bot]"}}, "body": "{MARKER}\nold"}}]"#
        ),
    );
    let second = fake.comment_step();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "updated comment 4242 on #17\n"
    );
    assert!(fake
        .calls()
        .contains("--method PATCH repos/org/tool/issues/comments/4242"));
    assert_eq!(fake.posted(), vec![preview.clone(), preview]);
}

#[test]
fn a_comment_under_the_limit_in_characters_is_posted_though_its_bytes_are_over() {
    let Some(fake) = FakeGitHub::new() else { return };
    // Devanagari takes three bytes a character: 60,000 characters are 180,000 bytes.
    let body = format!("{MARKER}\n{}\n", "क".repeat(60_000));
    fake.write("artifact/preview.md", &body);
    let out = fake.comment_step();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fake.posted(), vec![body.into_bytes()]);
}

#[test]
fn the_comment_step_refuses_a_bad_artifact_and_posts_nothing() {
    type Spoil = fn(&FakeGitHub);
    let cases: &[(&str, Spoil, &str)] = &[
        (
            "oversized",
            |f| {
                f.write(
                    "artifact/preview.md",
                    &format!("{MARKER}\n{}", "a".repeat(65_537)),
                )
            },
            "a comment holds at most 65536",
        ),
        (
            "huge",
            |f| f.write("artifact/preview.md", &"a".repeat(300_000)),
            "larger than a comment can be",
        ),
        (
            "no marker",
            |f| f.write("artifact/preview.md", "## Migration preview\n"),
            "does not start with the line <!-- nes-migration-preview -->",
        ),
        (
            "marker later",
            |f| f.write("artifact/preview.md", &format!("hello\n{MARKER}\n")),
            "does not start with the line",
        ),
        (
            "not UTF-8",
            |f| {
                let mut bytes = format!("{MARKER}\n").into_bytes();
                bytes.extend([0xff, 0xfe, b'\n']);
                std::fs::write(f.artifact().join("preview.md"), bytes).unwrap();
            },
            "not UTF-8",
        ),
        (
            "number with a command",
            |f| f.write("artifact/pr-number", "17; touch pwned\n"),
            "pr-number is not a pull request number",
        ),
        (
            "number not digits",
            |f| f.write("artifact/pr-number", "abc\n"),
            "pr-number is not a pull request number",
        ),
        (
            "empty number",
            |f| f.write("artifact/pr-number", ""),
            "pr-number is not a pull request number",
        ),
        (
            "number is a symlink",
            |f| {
                std::fs::remove_file(f.artifact().join("pr-number")).unwrap();
                std::os::unix::fs::symlink("/etc/hostname", f.artifact().join("pr-number")).unwrap();
            },
            "no regular file pr-number",
        ),
        (
            "no markdown",
            |f| std::fs::remove_file(f.artifact().join("preview.md")).unwrap(),
            "no regular file preview.md",
        ),
        (
            "another pull request's head",
            |f| {
                f.write(
                    "pull.json",
                    r#"{"head":{"sha":"fedcba9876543210fedcba9876543210fedcba98"}}"#,
                )
            },
            "pull request #17 is at fedcba9876543210fedcba9876543210fedcba98, not at the run's head",
        ),
        (
            "unknown pull request",
            |f| std::fs::remove_file(f.dir.path().join("pull.json")).unwrap(),
            "cannot read pull request #17",
        ),
    ];
    for (name, spoil, expected) in cases {
        let Some(fake) = FakeGitHub::new() else { return };
        fake.write(
            "artifact/preview.md",
            &format!("{MARKER}\n## Migration preview\n"),
        );
        spoil(&fake);
        let out = fake.comment_step();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!fake.calls().contains("--method"), "{name}: {}", fake.calls());
        assert!(fake.posted().is_empty(), "{name}");
    }
}

#[test]
fn a_run_without_an_artifact_posts_nothing_and_succeeds() {
    let Some(fake) = FakeGitHub::new() else { return };
    std::fs::remove_dir_all(fake.artifact()).unwrap();
    let out = fake.comment_step();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no migration-preview artifact in run 99"));
    assert_eq!(fake.calls().lines().count(), 1, "{}", fake.calls());
}

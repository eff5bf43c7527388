//! The GitHub workflows' steps, run here as scripts: persistence against a local bare
//! remote and a parent repository holding the data repository as a submodule, and the
//! preview comment's create-or-update logic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "user.name=Nes Test",
            "-c",
            "user.email=t@example.org",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_persistence_steps_apply_push_and_update_the_submodule_pointer() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
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
    assert!(
        data_log.starts_with("Migration: 000-example-migration"),
        "{data_log}"
    );
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

#[test]
fn the_preview_comment_is_created_once_then_updated() {
    let tmp = TempDir::new().unwrap();
    let log = tmp.path().join("calls.log");
    let comments = tmp.path().join("comments.json");
    // A stand-in for the GitHub CLI: it records calls and answers the comment listing.
    let fake = tmp.path().join("gh");
    std::fs::write(
        &fake,
        format!(
            "#!/usr/bin/env bash\necho \"$*\" >> {log}\nif [ \"$2\" = --paginate ]; then cat {comments}; fi\n",
            log = log.display(),
            comments = comments.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let body = tmp.path().join("preview.md");
    std::fs::write(&body, "<!-- nes-migration-preview -->\n## Migration preview\n").unwrap();
    let post = |listing: &str| {
        std::fs::write(&comments, listing).unwrap();
        let out = Command::new(manifest().join("scripts/post-preview-comment.sh"))
            .env("GH", &fake)
            .args(["org/tool", "17"])
            .arg(&body)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // `gh --jq` does the selection on GitHub; the stand-in returns its result directly.
    assert_eq!(post(""), "created a comment\n");
    assert_eq!(post("4242\n"), "updated comment 4242\n");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("--method POST repos/org/tool/issues/17/comments"),
        "{calls}"
    );
    assert!(
        calls.contains("--method PATCH repos/org/tool/issues/comments/4242"),
        "{calls}"
    );
}

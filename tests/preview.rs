//! `nes migrate preview` on a tool repository with a base branch: the pull-request comment,
//! its JSON form, prefix clashes, and quiet output when stderr is not a terminal.

mod common;

use common::git;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn nes(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(cwd)
        .env("NES_GIT_AUTHOR", "Nes Test <t@example.org>")
        .env_remove("NES_MIGRATIONS_DIR")
        .args(args)
        .output()
        .unwrap()
}

/// A tool repository whose base commit has the example migration, then an edit to it on
/// the working tree, and a data repository beside it.
fn tool_repo() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let example = dir.path().join("migrations/000-example-migration");
    std::fs::create_dir_all(&example).unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/000-example-migration");
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), example.join(entry.file_name())).unwrap();
    }
    git(dir.path(), &["init", "--quiet"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "--quiet", "-m", "base"]);
    git(dir.path(), &["branch", "base"]);
    std::fs::write(
        example.join("README.md"),
        "# 000-example-migration\n\nEdited on a branch.\n",
    )
    .unwrap();
    assert!(nes(dir.path(), &["db", "init"]).status.success());
    dir
}

#[test]
fn preview_renders_a_pull_request_comment() {
    let dir = tool_repo();
    let out = nes(dir.path(), &["migrate", "preview", "--changed-since", "base"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(
        markdown.starts_with("<!-- nes-migration-preview -->\n## Migration preview\n"),
        "{markdown}"
    );
    assert!(markdown.contains("| Migration | Status | Duration | Created | Updated | Deleted | Files |"));
    assert!(
        markdown.contains("| `000-example-migration` | ✅ ok |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `entity/location/province` | 1 | 0 | 0 | 0 |"),
        "{markdown}"
    );
    assert!(markdown.contains("<details><summary><code>000-example-migration</code>"));
    assert!(
        markdown.contains("A entity:person/sita-example-sharma (Sita Example Sharma)  version 1 ("),
        "{markdown}"
    );
    // Progress bars and colours never reach a pipe.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\r') && !stderr.contains('\x1b'), "{stderr:?}");
    // Nothing was written to the data repository.
    let status = Command::new("git")
        .arg("-C")
        .arg(dir.path().join("database-repo"))
        .args(["log", "--oneline"])
        .output();
    assert_eq!(
        String::from_utf8(status.unwrap().stdout).unwrap().lines().count(),
        1
    );
}

#[test]
fn preview_json_has_counts_files_and_samples() {
    let dir = tool_repo();
    let out = nes(
        dir.path(),
        &["migrate", "preview", "--changed-since", "base", "--json"],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &doc["migrations"][0];
    assert_eq!(m["name"], "000-example-migration");
    assert_eq!(m["status"], "completed");
    assert_eq!(m["entities_created"], 5);
    assert_eq!(m["by_kind"]["person"]["samples"][0], "Sita Example Sharma");
    assert_eq!(m["files"].as_array().unwrap().len(), 13);
    assert_eq!(doc["duplicate_prefixes"].as_array().unwrap().len(), 0);
}

#[test]
fn a_prefix_clash_with_the_base_fails_the_preview() {
    let dir = tool_repo();
    let clash = dir.path().join("migrations/000-another-example");
    std::fs::create_dir_all(&clash).unwrap();
    std::fs::write(clash.join("README.md"), "x").unwrap();
    let out = nes(dir.path(), &["migrate", "preview", "--changed-since", "base"]);
    assert_eq!(out.status.code(), Some(1));
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(
        markdown.contains("`000-another-example` and `000-example-migration` share a prefix"),
        "{markdown}"
    );
}

//! A fresh clone, before anything has run: every read-only command reads a missing data
//! repository as an empty one, says so in one line, creates nothing, and answers exactly as
//! it does on a repository `nes db init` just made. Run on the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const READ_ONLY: &[&[&str]] = &[
    &["migrate", "list"],
    &["migrate", "list", "--json"],
    &["migrate", "pending"],
    &["migrate", "status"],
    &["migrate", "validate"],
    &["migrate", "deps"],
    &["migrate", "preview", "000-example-migration"],
    &["migrate", "preview"],
    &["migrate", "run", "--all", "--dry-run"],
    &["db", "verify"],
    &["diff", "--stat"],
    &["log", "entity:person/sita-example-sharma"],
];

fn nes(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(cwd)
        .env(
            "NES_MIGRATIONS_DIR",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        )
        .env("NES_GIT_AUTHOR", "Nes Test <nes-test@example.org>")
        .env_remove("NES_DB_REPO")
        .args(args)
        .output()
        .expect("run nes")
}

/// Output with what differs between two runs of the same thing (durations, commit IDs of
/// two different first commits) replaced by placeholders.
fn stable(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::new();
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == '|' || c == '(') {
        // `:` too: `nes db verify` prints "checked in 0.01s: no violations".
        let core = word.trim_end_matches(|c: char| c.is_whitespace() || c == '|' || c == '(' || c == ':');
        let rest = &word[core.len()..];
        let seconds = core
            .strip_suffix("ms")
            .or_else(|| core.strip_suffix('s'))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'));
        let commit = core.len() >= 7
            && core.chars().all(|c| c.is_ascii_hexdigit())
            && core.chars().any(|c| c.is_ascii_alphabetic());
        let range_end = core
            .rsplit_once("..")
            .filter(|(_, b)| b.len() >= 7 && b.chars().all(|c| c.is_ascii_hexdigit()));
        if seconds {
            out.push_str("<time>");
        } else if commit {
            out.push_str("<commit>");
        } else if let Some((start, _)) = range_end {
            out.push_str(&format!("{start}..<commit>"));
        } else {
            out.push_str(core);
        }
        out.push_str(rest);
    }
    out
}

#[test]
fn read_only_commands_read_a_missing_data_repository_as_empty() {
    let fresh = TempDir::new().unwrap();
    let initialised = TempDir::new().unwrap();
    let init = nes(initialised.path(), &["db", "init"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    for args in READ_ONLY {
        let missing = nes(fresh.path(), args);
        let empty = nes(initialised.path(), args);
        let stderr = String::from_utf8_lossy(&missing.stderr);
        assert_eq!(missing.status.code(), empty.status.code(), "{args:?}: {stderr}");
        assert_eq!(stable(&missing.stdout), stable(&empty.stdout), "{args:?}");
        let notes: Vec<&str> = stderr.lines().filter(|l| l.starts_with("note:")).collect();
        assert_eq!(
            notes,
            ["note: no data repository at database-repo yet: reading it as empty (`nes db init` or `nes migrate run` creates it)"],
            "{args:?}"
        );
        assert!(
            std::fs::read_dir(fresh.path()).unwrap().next().is_none(),
            "{args:?} created something"
        );
    }
}

#[test]
fn a_missing_data_repository_reads_as_all_pending() {
    let fresh = TempDir::new().unwrap();
    let out = nes(fresh.path(), &["migrate", "pending", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending"; 4]);
    // `--quiet` keeps the note out of scripts' way.
    let quiet = nes(fresh.path(), &["migrate", "list", "--quiet"]);
    assert!(quiet.status.success());
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

#[test]
fn commands_that_write_still_refuse_a_missing_data_repository() {
    let fresh = TempDir::new().unwrap();
    for args in [
        &["migrate", "repair", "000-example-migration"][..],
        &["migrate", "push"],
        &["migrate", "revert", "003"],
    ] {
        let out = nes(fresh.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no data repository at database-repo"),
            "{args:?}: {stderr}"
        );
        assert!(std::fs::read_dir(fresh.path()).unwrap().next().is_none());
    }
}

#[test]
fn the_examples_depend_on_each_other_in_order_without_a_cycle() {
    // 000 reads the documents it creates (get-or-create), 003 updates them afterwards: 003
    // depends on 000, and nothing is a conflict or a cycle.
    let fresh = TempDir::new().unwrap();
    let out = nes(fresh.path(), &["migrate", "deps", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cycles"], serde_json::json!([]));
    assert_eq!(doc["warnings"], serde_json::json!([]), "{doc}");
    let edges: Vec<(String, String)> = doc["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(edges.contains(&("000-example-migration".into(), "003-example-update".into())));
    assert!(!edges.contains(&("003-example-update".into(), "000-example-migration".into())));
}

/// The README's 60-second tour, line by line in its order, on a fresh directory: every
/// `nes` command up to the scaffolding of a new migration (which needs a rebuild), then the
/// integrity commands. Each must succeed.
#[test]
fn the_readme_tour_works_on_a_fresh_clone() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let tour = readme
        .split("## A 60-second tour")
        .nth(1)
        .and_then(|rest| rest.split("```sh").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the README has a tour block");
    let commands: Vec<&str> = tour
        .lines()
        .map(|line| line.split(" #").next().unwrap().trim())
        .filter(|line| line.starts_with("nes ") || line.starts_with("git "))
        .collect();
    let scaffold = commands
        .iter()
        .position(|c| c.starts_with("nes migrate create"))
        .expect("the tour scaffolds a migration");
    let after_build = commands
        .iter()
        .position(|c| c.starts_with("nes db verify"))
        .expect("the tour checks integrity");
    let fresh = TempDir::new().unwrap();
    for command in commands[..scaffold].iter().chain(&commands[after_build..]) {
        let words = shell_words(command);
        if words[0] == "git" {
            let out = Command::new("git")
                .current_dir(fresh.path())
                .args(&words[1..])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{command}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        // `--changed-since origin/main` needs the tool repository's remote: a clone has it.
        if command.contains("--changed-since") {
            continue;
        }
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let out = nes(fresh.path(), &args);
        assert!(
            out.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Splits a tour line into words, honouring double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

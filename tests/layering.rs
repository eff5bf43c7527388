//! The layering the module docs promise, checked on the source: each top-level module of
//! `src/` names only the modules below it (`crate::…` paths), and the git plumbing names
//! nothing outside itself. A new import that runs back up fails here with the file and line.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What each module may name besides itself; the shared leaves (`error`, `stats`, `memory`,
/// `fault`) only where they are used.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        (
            "cli",
            &[
                "migration",
                "diff",
                "verify",
                "privacy",
                "store",
                "git",
                "error",
                "stats",
                "memory",
                "progress",
            ][..],
        ),
        (
            "migration",
            &[
                "diff", "verify", "privacy", "store", "git", "error", "stats", "memory", "fault", "progress",
            ][..],
        ),
        ("diff", &["store", "git", "error"][..]),
        ("verify", &["store", "error"][..]),
        (
            "privacy",
            &["store", "git", "error", "stats", "memory", "fault", "progress"][..],
        ),
        ("store", &["git", "stats", "error"][..]),
        ("git", &["error", "stats", "fault"][..]),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<name>` in a file outside comments, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let path: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &tail[name.len()..];
            found.push((n + 1, if name == "git" { path } else { name }));
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_names_a_module_above_it() {
    let mut violations = Vec::new();
    for (module, may) in allowed() {
        let mut files = Vec::new();
        rust_files(&src().join(module), &mut files);
        assert!(!files.is_empty(), "src/{module}/ has no files");
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            for (line, path) in crate_paths(&text) {
                let top = path.split("::").next().unwrap().to_string();
                if top != module && !may.contains(&top.as_str()) {
                    violations.push(format!("{}:{line}: crate::{path}", file.display()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports that run back up the layers:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_git_plumbing_names_nothing_outside_itself() {
    let mut files = Vec::new();
    rust_files(&src().join("git/plumbing"), &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (line, path) in crate_paths(&text) {
            if !path.starts_with("git::plumbing") {
                violations.push(format!("{}:{line}: crate::{path}", file.display()));
            }
        }
    }
    assert!(files.len() >= 7, "expected the plumbing files, found {files:?}");
    assert!(
        violations.is_empty(),
        "the plumbing must know nothing of the porcelain above it:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_an_import_that_runs_up() {
    let found = crate_paths("use crate::git::plumbing::pack_file;\nuse crate::migration::x; // crate::cli\n");
    assert_eq!(
        found,
        vec![
            (1, "git::plumbing::pack_file".to_string()),
            (2, "migration".to_string())
        ]
    );
}

#[test]
fn no_source_file_is_over_750_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).unwrap().lines().count();
            (n > 750).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by what they hold:\n{}",
        long.join("\n")
    );
}

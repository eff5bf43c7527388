//! The naming rule of migration folders, shared by `build.rs` and runtime discovery.
//!
//! This file is also compiled into `build.rs` (through `#[path]`), so it uses `std` only.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The rule a folder name must follow, as printed in errors.
pub const NAMING_RULE: &str = "a 3-digit prefix (000-999), a hyphen, then lowercase letters, \
digits and single hyphens (e.g. `004-source-election-constituencies`)";

/// Splits a valid folder name into its prefix number and kebab name, or says what is wrong.
pub fn parse_folder_name(name: &str) -> Result<(u16, &str), String> {
    let bytes = name.as_bytes();
    if bytes.len() < 5 || !bytes[..3].iter().all(u8::is_ascii_digit) || bytes[3] != b'-' {
        return Err(format!(
            "`{name}` does not start with a 3-digit prefix and a hyphen: {NAMING_RULE}"
        ));
    }
    let rest = &name[4..];
    if !is_kebab(rest) {
        return Err(format!("`{name}`: after the prefix, use {NAMING_RULE}"));
    }
    let prefix = name[..3].parse().expect("three ASCII digits");
    Ok((prefix, rest))
}

/// Lowercase letters and digits in words joined by single hyphens.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// `YYYY-MM-DD` with a real month and day (leap years included); usable in `const` context
/// so generated code can assert a migration's `DATE` at compile time.
pub const fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let mut i = 0;
    while i < 10 {
        if i != 4 && i != 7 && !b[i].is_ascii_digit() {
            return false;
        }
        i += 1;
    }
    let year = digits(b, 0, 4);
    let month = digits(b, 5, 2);
    let day = digits(b, 8, 2);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    day >= 1 && day <= days
}

const fn digits(b: &[u8], start: usize, len: usize) -> u32 {
    let mut n = 0;
    let mut i = start;
    while i < start + len {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// A migration folder that passed every layout rule, as `build.rs` compiles it.
#[derive(Debug)]
pub struct CheckedFolder {
    pub name: String,
    pub prefix: u16,
    pub path: PathBuf,
    /// The text of its `migrate.rs`.
    pub source: String,
}

/// Checks every folder below `dir` against the layout rules (name, README.md, migrate.rs,
/// a valid DATE literal); the errors name the folder and the rule. Folders come back in
/// prefix order, then name order where a prefix is shared.
pub fn check_folders(dir: &Path) -> Result<Vec<CheckedFolder>, Vec<String>> {
    let mut errors = Vec::new();
    let mut by_prefix: BTreeMap<(u16, String), CheckedFolder> = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => return Ok(Vec::new()),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let prefix = match parse_folder_name(&name) {
            Ok((prefix, _)) => prefix,
            Err(e) => {
                errors.push(format!("migrations/{name}: bad folder name: {e}"));
                continue;
            }
        };
        let migrate = path.join("migrate.rs");
        let source = match fs::read_to_string(&migrate) {
            Ok(s) => s,
            Err(_) => {
                errors.push(format!(
                    "migrations/{name}: missing migrate.rs (every migration folder needs one)"
                ));
                continue;
            }
        };
        if !path.join("README.md").is_file() {
            errors.push(format!(
                "migrations/{name}: missing README.md (describe the migration and its sources for reviewers)"
            ));
            continue;
        }
        if let Some(date) = const_str(&source, "DATE") {
            if !is_valid_date(&date) {
                errors.push(format!(
                    "migrations/{name}: DATE `{date}` is not a valid YYYY-MM-DD date"
                ));
                continue;
            }
        }
        let folder = CheckedFolder {
            name: name.clone(),
            prefix,
            path,
            source,
        };
        // A shared prefix builds: whether it may stand depends on history (both applied),
        // which the runner checks before a run and the preview reports.
        by_prefix.insert((prefix, name), folder);
    }
    if errors.is_empty() {
        Ok(by_prefix.into_values().collect())
    } else {
        Err(errors)
    }
}

/// The literal value of `pub const NAME: &str = "...";`, for an early, friendly DATE check.
fn const_str(source: &str, name: &str) -> Option<String> {
    let start = source.find(&format!("const {name}"))?;
    let rest = &source[start..];
    let open = rest.find('"')? + 1;
    let close = rest[open..].find('"')? + open;
    Some(rest[open..close].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_follow_the_rule() {
        assert_eq!(
            parse_folder_name("004-source-election-constituencies"),
            Ok((4, "source-election-constituencies"))
        );
        assert_eq!(parse_folder_name("000-a1"), Ok((0, "a1")));
        for bad in [
            "4-foo",
            "0004-foo",
            "004_foo",
            "004-",
            "004-Foo",
            "004-foo--bar",
            "004-foo-",
            "004--foo",
            "abc-foo",
        ] {
            let err = parse_folder_name(bad).unwrap_err();
            assert!(
                err.contains(bad) && err.contains("3-digit prefix"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn dates_are_real_calendar_days() {
        for good in ["2026-11-21", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_valid_date(good), "{good}");
        }
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-1-01",
            "20261121",
            "2026-11-21x",
            "",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }

    fn folder(root: &Path, name: &str, files: &[(&str, &str)]) {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            fs::write(dir.join(file), text).unwrap();
        }
    }

    const GOOD: &str = "pub const DATE: &str = \"2026-11-21\";";

    #[test]
    fn layout_rules_name_the_folder_and_the_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        folder(root, "000-good", &[("migrate.rs", GOOD), ("README.md", "x")]);
        assert_eq!(check_folders(root).unwrap().len(), 1);

        type Files<'a> = &'a [(&'a str, &'a str)];
        let cases: [(&str, Files, &str); 4] = [
            (
                "001-Bad_Name",
                &[("migrate.rs", GOOD), ("README.md", "x")],
                "bad folder name",
            ),
            ("002-no-readme", &[("migrate.rs", GOOD)], "missing README.md"),
            ("003-no-code", &[("README.md", "x")], "missing migrate.rs"),
            (
                "004-bad-date",
                &[
                    ("migrate.rs", "pub const DATE: &str = \"2026-02-30\";"),
                    ("README.md", "x"),
                ],
                "not a valid YYYY-MM-DD",
            ),
        ];
        // A shared prefix builds, in name order: history decides whether it may stand.
        let tmp = tempfile::tempdir().unwrap();
        for name in ["007-source-projects", "007-redact-family-info"] {
            folder(tmp.path(), name, &[("migrate.rs", GOOD), ("README.md", "x")]);
        }
        let names: Vec<String> = check_folders(tmp.path())
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["007-redact-family-info", "007-source-projects"]);

        for (name, files, rule) in cases {
            let tmp = tempfile::tempdir().unwrap();
            folder(
                tmp.path(),
                "000-good",
                &[("migrate.rs", GOOD), ("README.md", "x")],
            );
            folder(tmp.path(), name, files);
            let errors = check_folders(tmp.path()).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].contains(name) || errors[0].contains("000-good"),
                "{errors:?}"
            );
            assert!(errors[0].contains(rule), "{name}: {errors:?}");
        }
    }
}

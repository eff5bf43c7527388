//! The folder checksum (`v2`, and `v1` for older records): stable, sensitive to every file
//! but the top-level README (v2), blind only to CRLF in text.

use std::fs;
use std::path::Path;

use nes::migration::checksum::{checksum_like, folder_checksum, folder_checksum_v1};
use tempfile::TempDir;

fn folder(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

fn sum(dir: &Path) -> String {
    folder_checksum(dir).unwrap()
}

const MIGRATION: &[(&str, &[u8])] = &[
    ("mod.rs", b"pub fn migrate() {}\n"),
    ("data/parties.csv", "नाम|संख्या\nनेपाल|१\n".as_bytes()),
    ("data-2/x.json", b"{}"),
];

#[test]
fn format_and_stability() {
    let a = folder(MIGRATION);
    let b = folder(MIGRATION);
    let first = sum(a.path());
    assert!(first.starts_with("v2:sha256:"), "{first}");
    let hex = &first["v2:sha256:".len()..];
    assert_eq!(hex.len(), 64);
    assert!(hex
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    assert_eq!(first, sum(a.path()));
    // Same content in another place, created in another order: same checksum.
    let reversed: Vec<_> = MIGRATION.iter().rev().copied().collect();
    assert_eq!(first, sum(b.path()));
    assert_eq!(first, sum(folder(&reversed).path()));
}

#[test]
fn changes_when_a_file_changes() {
    let dir = folder(MIGRATION);
    let before = sum(dir.path());
    fs::write(dir.path().join("data-2/x.json"), b"{ }").unwrap();
    assert_ne!(before, sum(dir.path()));
}

#[test]
fn changes_when_a_file_is_renamed() {
    let dir = folder(MIGRATION);
    let before = sum(dir.path());
    fs::rename(dir.path().join("mod.rs"), dir.path().join("lib.rs")).unwrap();
    assert_ne!(before, sum(dir.path()));
}

#[test]
fn changes_when_a_file_is_added_even_empty() {
    let dir = folder(MIGRATION);
    let before = sum(dir.path());
    fs::write(dir.path().join("data/empty.txt"), b"").unwrap();
    assert_ne!(before, sum(dir.path()));
}

#[test]
fn moving_bytes_between_files_changes_it() {
    // The length prefix keeps `ab` + `` apart from `a` + `b`.
    assert_ne!(
        sum(folder(&[("a", b"ab"), ("b", b"")]).path()),
        sum(folder(&[("a", b"a"), ("b", b"b")]).path())
    );
}

#[test]
fn text_crlf_and_lf_are_equal() {
    let lf = folder(&[("a.csv", b"x,y\n1,2\n")]);
    let crlf = folder(&[("a.csv", b"x,y\r\n1,2\r\n")]);
    assert_eq!(sum(lf.path()), sum(crlf.path()));
}

#[test]
fn binary_crlf_and_lf_differ() {
    let lf = folder(&[("a.bin", b"\xff\x00\n")]);
    let crlf = folder(&[("a.bin", b"\xff\x00\r\n")]);
    assert_ne!(sum(lf.path()), sum(crlf.path()));
}

#[test]
fn empty_folder_has_a_checksum() {
    let dir = folder(&[]);
    assert!(sum(dir.path()).starts_with("v2:sha256:"));
}

#[test]
fn missing_folder_is_an_error() {
    let dir = folder(&[]);
    assert!(folder_checksum(&dir.path().join("nope")).is_err());
}

#[test]
fn v2_leaves_out_the_top_readme_only_and_v1_keeps_it() {
    let dir = folder(MIGRATION);
    let (v2, v1) = (sum(dir.path()), folder_checksum_v1(dir.path()).unwrap());
    assert!(v1.starts_with("v1:sha256:"));
    fs::write(dir.path().join("README.md"), "# 001\n").unwrap();
    assert_eq!(sum(dir.path()), v2);
    assert_ne!(folder_checksum_v1(dir.path()).unwrap(), v1);
    // A README below the top is a source like any other.
    fs::write(dir.path().join("data/README.md"), "columns\n").unwrap();
    assert_ne!(sum(dir.path()), v2);
    // A differently spelled name is not the README.
    let other = folder(MIGRATION);
    fs::write(other.path().join("readme.md"), "x").unwrap();
    assert_ne!(sum(other.path()), v2);
}

#[test]
fn checksum_like_answers_in_the_recorded_format() {
    let dir = folder(MIGRATION);
    let (v2, v1) = (sum(dir.path()), folder_checksum_v1(dir.path()).unwrap());
    assert_eq!(checksum_like(&v2, dir.path()).unwrap(), Some(v2.clone()));
    assert_eq!(checksum_like(&v1, dir.path()).unwrap(), Some(v1));
    assert_eq!(checksum_like("v9:blake3:00", dir.path()).unwrap(), None);
}

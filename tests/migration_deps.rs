//! The crates migrations may use: declared in `migrations/Cargo.toml`, re-exported by
//! `migrations/deps.rs`, pinned in `Cargo.lock`, and never named by the `nes` library.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(path: &Path) -> toml::Table {
    fs::read_to_string(path).unwrap().parse().unwrap()
}

fn dependencies() -> Vec<String> {
    let m = manifest(&root().join("migrations/Cargo.toml"));
    m["dependencies"].as_table().unwrap().keys().cloned().collect()
}

#[test]
fn every_dependency_is_re_exported_and_pinned() {
    let deps = dependencies();
    assert!(!deps.is_empty());
    let reexports = fs::read_to_string(root().join("migrations/deps.rs")).unwrap();
    let lock = fs::read_to_string(root().join("Cargo.lock")).unwrap();
    for dep in &deps {
        let name = dep.replace('-', "_");
        assert!(
            reexports.lines().any(|l| l.trim() == format!("pub use {name};")),
            "migrations/deps.rs lacks `pub use {name};`"
        );
        assert!(
            lock.contains(&format!("name = \"{dep}\"\n")),
            "{dep} is not in Cargo.lock"
        );
    }
    // And nothing but re-exports: code belongs in a migration folder.
    for line in reexports
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("//"))
    {
        let name = line
            .trim()
            .strip_prefix("pub use ")
            .and_then(|l| l.strip_suffix(';'));
        assert!(
            name.is_some_and(|n| deps.contains(&n.to_string()) || deps.contains(&n.replace('_', "-"))),
            "migrations/deps.rs: {line:?} re-exports no dependency of migrations/Cargo.toml"
        );
    }
}

/// The core crate depends on the package only so that the binary can: its library code
/// never names it, so a migration's crate cannot become a dependency of nes itself.
#[test]
fn the_library_never_names_the_migration_crates() {
    let m = manifest(&root().join("Cargo.toml"));
    assert_eq!(
        m["dependencies"]["nes-migrations"]["path"].as_str(),
        Some("migrations")
    );
    let mut stack = vec![root().join("src")];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "main.rs")
                && fs::read_to_string(&path).unwrap().contains("nes_migrations")
            {
                offenders.push(path.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

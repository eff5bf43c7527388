//! `nes migrate create`: a new migration folder from the templates.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::discover;
use super::naming::{self, NAMING_RULE};
use crate::error::NesError;

const MIGRATE_TEMPLATE: &str = include_str!("../../templates/migrate.rs.template");
const README_TEMPLATE: &str = include_str!("../../templates/README.md.template");

/// What to fill the templates with.
#[derive(Debug, Clone)]
pub struct NewMigration<'a> {
    /// Kebab-case name without prefix, `source-election-constituencies`.
    pub name: &'a str,
    pub author: &'a str,
    pub date: &'a str,
    pub description: &'a str,
}

/// The next free prefix: one above every prefix on disk and in history.
pub fn next_prefix(dir: &Path, recorded: impl IntoIterator<Item = u16>) -> Result<u16> {
    let on_disk = discover::folders(dir)?.into_iter().filter_map(|f| f.prefix);
    let highest = on_disk.chain(recorded).max();
    match highest {
        None => Ok(0),
        Some(999) => Err(NesError::usage("every prefix up to 999 is used").into()),
        Some(p) => Ok(p + 1),
    }
}

/// Creates `<dir>/<NNN>-<name>/` with `migrate.rs` and `README.md`; returns its path.
pub fn create(dir: &Path, prefix: u16, new: &NewMigration<'_>) -> Result<PathBuf> {
    let name = new.name;
    if naming::parse_folder_name(name).is_ok() {
        return Err(
            NesError::usage(format!("give the name without its prefix: `{}`", &name[4..]))
                .hint("the prefix is chosen for you: the next free number")
                .into(),
        );
    }
    if !naming::is_kebab(name) {
        return Err(NesError::usage(format!("invalid migration name `{}`", new.name))
            .hint(format!(
                "give the name without prefix, in kebab case: {NAMING_RULE}"
            ))
            .into());
    }
    if !naming::is_valid_date(new.date) {
        return Err(NesError::usage(format!("invalid date `{}`: use YYYY-MM-DD", new.date)).into());
    }
    let folder_name = format!("{prefix:03}-{name}");
    let folder = dir.join(&folder_name);
    if folder.exists() {
        return Err(NesError::usage(format!("{} already exists", folder.display())).into());
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", &folder_name)
            .replace("{{author}}", &escape(new.author))
            .replace("{{date}}", new.date)
            .replace("{{description}}", &escape(new.description))
    };
    std::fs::write(folder.join("migrate.rs"), fill(MIGRATE_TEMPLATE))?;
    std::fs::write(folder.join("README.md"), fill(README_TEMPLATE))?;
    Ok(folder)
}

/// Keeps a value safe inside a Rust string literal.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

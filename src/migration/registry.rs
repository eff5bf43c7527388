//! The registry: every migration this binary knows, compiled in by `build.rs` or
//! registered in code (tests, embedding).

use anyhow::Result;

use super::context::Context;
use super::naming;
use crate::error::NesError;

/// Signature of `migrate`, `check` and `verify` in a `migrate.rs`.
pub type MigrationFn = fn(&mut Context) -> anyhow::Result<()>;

/// One compiled migration: its metadata constants and entry points.
#[derive(Clone, Copy)]
pub struct Migration {
    /// Folder name, `004-source-election-constituencies`.
    pub name: &'static str,
    pub prefix: u16,
    pub author: &'static str,
    /// `YYYY-MM-DD`.
    pub date: &'static str,
    pub description: &'static str,
    pub migrate: MigrationFn,
    /// Preconditions, run before `migrate`.
    pub check: Option<MigrationFn>,
    /// Postconditions, run after `migrate` and before anything is committed.
    pub verify: Option<MigrationFn>,
    /// The migration declares that it deletes entities or relationships.
    pub deletes: bool,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Migrations in prefix order, with unique prefixes and valid metadata.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    migrations: Vec<Migration>,
}

impl Registry {
    /// Checks names, prefixes, dates and non-empty metadata, then sorts by prefix.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Self> {
        for m in &migrations {
            let (prefix, _) = naming::parse_folder_name(m.name).map_err(NesError::usage)?;
            let invalid = |what: &str| NesError::usage(format!("migration {}: {what}", m.name));
            if prefix != m.prefix {
                return Err(invalid("prefix does not match its name").into());
            }
            if !naming::is_valid_date(m.date) {
                return Err(invalid(&format!("DATE `{}` is not a valid YYYY-MM-DD date", m.date)).into());
            }
            if m.author.trim().is_empty() || m.description.trim().is_empty() {
                return Err(invalid("AUTHOR and DESCRIPTION must not be empty").into());
            }
        }
        migrations.sort_by_key(|m| m.prefix);
        if let Some(w) = migrations.windows(2).find(|w| w[0].prefix == w[1].prefix) {
            return Err(NesError::usage(format!(
                "migrations {} and {} share the prefix {:03}",
                w[0].name, w[1].name, w[0].prefix
            ))
            .hint("renumber one of them with the next free prefix")
            .into());
        }
        Ok(Self { migrations })
    }

    /// All migrations, in prefix order.
    pub fn all(&self) -> &[Migration] {
        &self.migrations
    }

    /// Finds a migration by full name (`004-foo`) or prefix (`004` or `4`).
    pub fn find(&self, name_or_prefix: &str) -> Option<&Migration> {
        if let Some(m) = self.migrations.iter().find(|m| m.name == name_or_prefix) {
            return Some(m);
        }
        let prefix: u16 = name_or_prefix.parse().ok()?;
        self.migrations.iter().find(|m| m.prefix == prefix)
    }
}

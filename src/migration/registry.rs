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
    /// An example (`pub const EXAMPLE: bool = true;`): runnable on a repository of
    /// examples, never offered to one whose history holds other migrations.
    pub example: bool,
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
        // Two migrations may share a prefix once history shows both applied (the service's
        // two 007s): the runner decides that with the ledger, see `shared_prefix_conflicts`.
        migrations.sort_by(|a, b| (a.prefix, a.name).cmp(&(b.prefix, b.name)));
        if let Some(w) = migrations.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(NesError::usage(format!("migration {} is registered twice", w[0].name)).into());
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
        // A prefix names a migration only when no other migration shares it.
        let prefix: u16 = name_or_prefix.parse().ok()?;
        let mut sharing = self.migrations.iter().filter(|m| m.prefix == prefix);
        match (sharing.next(), sharing.next()) {
            (Some(m), None) => Some(m),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &mut Context) -> anyhow::Result<()> {
        Ok(())
    }

    fn m(name: &'static str, date: &'static str, author: &'static str) -> Migration {
        Migration {
            name,
            prefix: name[..3].parse().unwrap_or(0),
            author,
            date,
            description: "d",
            migrate: noop,
            check: None,
            verify: None,
            deletes: false,
            example: false,
        }
    }

    fn error(migrations: Vec<Migration>) -> String {
        format!("{:#}", Registry::new(migrations).unwrap_err())
    }

    #[test]
    fn code_registered_migrations_are_checked_like_folders() {
        assert!(error(vec![m("004-Bad", "2026-11-21", "a")]).contains("3-digit prefix"));
        assert!(error(vec![m("004-foo", "2026-02-30", "a")]).contains("not a valid YYYY-MM-DD"));
        assert!(error(vec![m("004-foo", "2026-11-21", " ")]).contains("must not be empty"));
        let dup = error(vec![
            m("004-foo", "2026-11-21", "a"),
            m("004-foo", "2026-11-21", "a"),
        ]);
        assert!(dup.contains("registered twice"), "{dup}");
    }

    #[test]
    fn a_shared_prefix_is_kept_in_name_order_and_names_neither() {
        let r = Registry::new(vec![
            m("007-source-projects", "2026-11-21", "a"),
            m("007-redact-family-info", "2026-11-21", "a"),
        ])
        .unwrap();
        let names: Vec<&str> = r.all().iter().map(|m| m.name).collect();
        assert_eq!(names, ["007-redact-family-info", "007-source-projects"]);
        assert!(r.find("007").is_none());
        assert!(r.find("007-source-projects").is_some());
    }

    #[test]
    fn find_takes_a_name_or_a_prefix_and_keeps_order() {
        let r = Registry::new(vec![m("010-b", "2026-11-21", "a"), m("002-a", "2026-11-21", "a")]).unwrap();
        assert_eq!(
            r.all().iter().map(|m| m.name).collect::<Vec<_>>(),
            ["002-a", "010-b"]
        );
        assert_eq!(r.find("010").unwrap().name, "010-b");
        assert_eq!(r.find("10").unwrap().name, "010-b");
        assert_eq!(r.find("002-a").unwrap().name, "002-a");
        assert!(r.find("003").is_none());
    }
}

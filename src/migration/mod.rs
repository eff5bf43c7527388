//! Migrations: discovery on disk, the compiled registry, the context migration code sees,
//! and the runner that applies them.
//!
//! It drives [`crate::store`], [`crate::git`], [`crate::diff`] and [`crate::verify`], and
//! must not know of the command line: it returns reports, the `cli` prints them.

pub mod checksum;
pub mod context;
pub mod deps;
pub mod discover;
pub mod drift;
pub mod naming;
pub mod preview;
pub mod python_log;
pub mod readers;
pub mod registry;
pub mod runner;
pub mod scaffold;
pub mod status;

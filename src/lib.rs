//! `nes`: evolve a Git-backed open-data repository through numbered, reviewable migrations.
//!
//! Layers, top to bottom: [`cli`] (argument parsing, one file per command) →
//! [`migration`] (discovery, registry, runner, context) → [`diff`] (semantic diffs) → [`store`] (IDs, layout,
//! canonical JSON, publication API) → [`git`] (ledger, batch commits, lock, push).

pub mod cli;
pub mod diff;
pub mod error;
pub mod fault;
pub mod git;
pub mod memory;
pub mod migration;
pub mod prelude;
pub mod privacy;
pub mod progress;
pub mod stats;
pub mod store;
pub mod verify;

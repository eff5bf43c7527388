//! Git persistence of the data repository: opening and creating it, batch commits,
//! the ledger read from history, the run lock, push, sharing the branch with other writers
//! and crash recovery (the porcelain),
//! over [`plumbing`], which writes git's objects, packs and index and knows nothing of runs.
//!
//! The porcelain must not know of migration code, the document model or the command line:
//! it commits the paths and bytes it is handed and reads back the trailers it wrote.

pub mod change;
pub mod commit;
pub mod crash_state;
pub mod index;
pub mod ledger;
pub mod lock;
pub mod message;
pub mod own_lock;
pub mod plumbing;
pub mod preflight;
pub mod push;
pub mod recovery;
pub mod ref_update;
mod refs;
pub mod repo;
pub mod revert;
pub mod rewrite_journal;
pub mod run_record;
pub mod submodule;
pub mod sync;

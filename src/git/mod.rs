//! Git persistence of the data repository: opening and creating it, batch commits,
//! the ledger read from history, the run lock, push and crash recovery.

pub mod blob_spill;
pub mod commit;
pub mod index;
mod index_file;
pub mod ledger;
pub mod lock;
pub mod lookup;
pub mod message;
pub(crate) mod object_id;
mod pack_file;
pub mod push;
pub mod recovery;
pub mod repo;
pub mod revert;
pub mod submodule;
mod tree_delta;
mod tree_edit;

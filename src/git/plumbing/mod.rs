//! Git object-database plumbing written for speed, beside the porcelain that uses it:
//! object ids, a run's pack, in-memory tree edits and tree deltas, the blob spill, the index
//! file, and batched path lookups.
//!
//! It knows git's formats and nothing of migrations, runs, the ledger or the data model:
//! callers hand it paths, bytes and object ids. Its interface is small:
//! - write objects: `object_id` hashes them, `pack_entry` encodes one (stored or
//!   deflated), `pack_file::PackWriter` writes a run's pack, with tree deltas from
//!   `tree_delta`;
//! - edit trees: `tree_edit::TreeEditor` holds the directories a run changes across its
//!   batches and writes each as a tree object;
//! - spill blobs: `blob_spill::BlobSpill` compresses pack entries on the publication's
//!   writer threads;
//! - write the index: `index_file` reads and rewrites `.git/index` as a byte stream;
//! - look up many paths: `lookup::TreeLookup` reads each tree once.
//!
//! Everything here is checked against git itself in `tests/git_differential.rs`.

pub mod blob_spill;
pub(crate) mod index_file;
pub mod lookup;
pub(crate) mod object_id;
pub(crate) mod pack_entry;
pub(crate) mod pack_file;
pub(crate) mod tree_delta;
pub(crate) mod tree_edit;

//! The NES v2 data store: IDs and their paths, canonical JSON, the document model,
//! and the publication API through which migrations change data.
//!
//! It must not know of migrations, runs or the command line: the runner hands it a
//! backend and an author, and takes back a journal of what was written.

pub mod backend;
pub mod clock;
pub mod id;
pub mod journal;
pub mod json;
pub mod layout;
pub mod model;
pub mod nepali;
pub mod privacy;
pub mod publication;
pub mod slug;
pub mod values;

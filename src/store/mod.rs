//! The NES v2 data store: IDs and their paths, canonical JSON, the document model,
//! and the publication API through which migrations change data.

pub mod backend;
pub mod clock;
pub mod id;
pub mod journal;
pub mod json;
pub mod layout;
pub mod model;
pub mod publication;
pub mod slug;

//! Personal data in a data repository, as the privacy policy (`store::privacy`) defines it:
//! the audit (where it is now, in version snapshots and in history) and the purge of
//! history (every commit rewritten so that no blob holds it).
//!
//! It reads the working tree and the object database and writes objects and refs through
//! `git`; it knows nothing of migrations or the command line.

pub mod audit;
pub mod history;
pub mod purge;
pub mod tree;

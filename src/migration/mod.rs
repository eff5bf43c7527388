//! Migrations: discovery on disk, the compiled registry, the context migration code sees,
//! and the runner that applies them.

pub mod checksum;
pub mod naming;
pub mod readers;

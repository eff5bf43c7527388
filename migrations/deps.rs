//! The crates migrations may use, one `pub use` per dependency of `migrations/Cargo.toml`
//! (`tests/migration_deps.rs` checks the two agree): `use nes_migrations::regex::Regex;`.

pub use regex;

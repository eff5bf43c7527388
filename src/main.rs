//! The `nes` binary: the migrations of `migrations/`, compiled in by `build.rs`, and the
//! command line of the `nes` library.

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Parsing and writing JSON documents is allocation-heavy; see `docs/benchmarks.md`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    nes::cli::main(builtin_migrations())
}

//! Times the clean-tree check on an existing data repository (not a test; run by hand):
//! `cargo run --release --example clean_check -- <repo-path> [runs]`. Prints one
//! `clean_check <seconds> <dirty paths>` line per run.

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: clean_check <repo-path> [runs]");
    let runs: usize = std::env::args().nth(2).map_or(Ok(3), |r| r.parse())?;
    let repo = nes::git::repo::DataRepo::open(std::path::Path::new(&path))?;
    for _ in 0..runs {
        let t = Instant::now();
        let dirty = repo.dirty_paths(6)?;
        println!("clean_check {:.3} {}", t.elapsed().as_secs_f64(), dirty.len());
    }
    Ok(())
}

//! Fault injection for crash-safety tests: `NES_FAULT=<point>` stops the process there.
//!
//! Points: `during-migration` (after `migrate` wrote its files), `before-commit`,
//! `between-batches` (after the first batch commit), `before-push`, and
//! `hang-during-migration` (sleeps, for tests that kill the process for real).

/// Aborts the process (no cleanup, like a crash) when `NES_FAULT` names this point.
pub fn point(name: &str) {
    let Ok(wanted) = std::env::var("NES_FAULT") else {
        return;
    };
    if wanted == format!("hang-{name}") {
        eprintln!("nes: fault injection: hanging at {name}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    if wanted == name {
        eprintln!("nes: fault injection: aborting at {name}");
        std::process::abort();
    }
}

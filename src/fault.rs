//! Fault injection for crash-safety tests: `NES_FAULT` stops the process at a named point or
//! at one numbered filesystem step of the commit phase; `NES_HOOK_<POINT>` runs a command
//! at a named point instead (see [`hook`]).
//!
//! Named points: `during-migration` (after `migrate` wrote its files), `before-commit`,
//! `between-batches` (after the first batch commit), `before-push`, and
//! `hang-during-migration` (sleeps, for tests that kill the process for real).
//!
//! Steps: every lock file nes creates, every rename, unlink and fsync from recording the run
//! to clearing its record calls [`step`] just before it happens. `NES_FAULT=steps` prints
//! each as `nes: fault step N: <what>` on stderr and goes on; `NES_FAULT=step:N` aborts
//! just before step N (1-based), as `kill -9` delivered at that system call would.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Steps taken so far by this process.
static STEPS: AtomicUsize = AtomicUsize::new(0);

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

/// One filesystem step of the commit phase, about to happen (`what` names it for the trace).
pub fn step(what: impl FnOnce() -> String) {
    let Ok(wanted) = std::env::var("NES_FAULT") else {
        return;
    };
    let n = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
    if wanted == "steps" {
        eprintln!("nes: fault step {n}: {}", what());
    } else if wanted.strip_prefix("step:").and_then(|s| s.parse().ok()) == Some(n) {
        eprintln!("nes: fault injection: aborting at step {n}: {}", what());
        std::process::abort();
    }
}

/// Runs the shell command in `NES_HOOK_<POINT>` (the point's name upper-cased, `-` as `_`,
/// e.g. `NES_HOOK_BEFORE_PUSH`) when the run reaches `name`, for tests that need another
/// writer to act at an exact moment of a run rather than by timing. The command sees
/// `NES_HOOK_COUNT`, how many times this process has reached the point (1 first). A command
/// that fails aborts the process, as a fault does: the test then sees it.
pub fn hook(name: &str) {
    let var = format!("NES_HOOK_{}", name.to_uppercase().replace('-', "_"));
    let Some(command) = std::env::var_os(&var) else {
        return;
    };
    static COUNTS: std::sync::Mutex<Vec<(String, u32)>> = std::sync::Mutex::new(Vec::new());
    let count = {
        let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let index = counts.iter().position(|(n, _)| n == name).unwrap_or_else(|| {
            counts.push((name.to_string(), 0));
            counts.len() - 1
        });
        counts[index].1 += 1;
        counts[index].1
    };
    // The hook's own `nes`, if it runs one, must not run the hook again.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .env("NES_HOOK_COUNT", count.to_string())
        .env_remove(&var)
        .status();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        eprintln!("nes: test hook {var} failed ({status:?}); aborting");
        std::process::abort();
    }
}

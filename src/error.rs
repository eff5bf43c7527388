//! Error kinds that decide the process exit code, and the hints printed with them.
//!
//! Everything else travels as [`anyhow::Error`]; a [`NesError`] anywhere in the chain
//! picks the exit code and adds a "help:" line telling the user what to do next.

use std::fmt;

/// Process exit codes, documented in `nes --help` and `docs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked for succeeded.
    Success = 0,
    /// A migration or a check failed.
    Failure = 1,
    /// Usage, configuration or input error before anything ran.
    Usage = 2,
    /// The data repository is busy: another run holds its lock.
    Busy = 3,
}

/// An error with an exit code and an optional next step for the user.
#[derive(Debug)]
pub struct NesError {
    pub code: ExitCode,
    pub message: String,
    pub hint: Option<String>,
}

impl NesError {
    /// A usage, configuration or input error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::Usage,
            message: message.into(),
            hint: None,
        }
    }

    /// A failed migration or check (exit code 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::Failure,
            message: message.into(),
            hint: None,
        }
    }

    /// The data repository is locked by another run (exit code 3).
    pub fn busy(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::Busy,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds the "what to do next" line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for NesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NesError {}

/// The exit code for an error: the first [`NesError`] in its chain decides, else 1.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    err.chain()
        .find_map(|e| e.downcast_ref::<NesError>())
        .map_or(ExitCode::Failure, |e| e.code)
}

/// The first hint found in the error chain.
pub fn hint(err: &anyhow::Error) -> Option<&str> {
    err.chain()
        .find_map(|e| e.downcast_ref::<NesError>())
        .and_then(|e| e.hint.as_deref())
}

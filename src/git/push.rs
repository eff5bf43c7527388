//! Pushing the data repository's branch (through the `git` command, for its transports and
//! the credentials the user already has).

use std::time::Duration;

use anyhow::Result;

use super::repo::DataRepo;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum PushOutcome {
    Pushed {
        remote: String,
        branch: String,
    },
    /// The repository has no remote: nothing to do, not a failure.
    NoRemote,
    /// The remote moved; local commits kept as they are.
    Rejected {
        remote: String,
        branch: String,
        detail: String,
    },
}

/// Pushes the checked-out branch to `remote` (default: the branch's upstream, else `origin`).
/// Never forces. A rejection fetches the remote so `status` can compare.
pub fn push(repo: &DataRepo, remote: Option<&str>, timeout: Duration) -> Result<PushOutcome> {
    todo!("{}{remote:?}{timeout:?}", repo.root().display())
}

//! Pushing the data repository's branch (through the `git` command, for its transports and
//! the credentials the user already has).
//!
//! git2 is built without network features: the `git` command already knows the user's SSH
//! keys, credential helpers, proxies and `insteadOf` rewrites, which nes should not re-implement.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::repo::DataRepo;
use crate::error::NesError;

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
    let branch = repo.branch()?;
    let Some(remote) = choose_remote(repo, remote, &branch)? else {
        return Ok(PushOutcome::NoRemote);
    };
    // `--porcelain` gives one parseable status line per ref; no `--force` in any form.
    let out = run_git(
        repo,
        &[
            "push",
            "--porcelain",
            &remote,
            &format!("refs/heads/{branch}:refs/heads/{branch}"),
        ],
        timeout,
    )?;
    if out.success {
        return Ok(PushOutcome::Pushed { remote, branch });
    }
    if let Some(detail) = rejection(&out.stdout) {
        // Bring the remote-tracking ref up to date so `status` shows how far apart they are.
        let fetch = run_git(repo, &["fetch", "--quiet", &remote], timeout)?;
        let detail = if fetch.success {
            detail
        } else {
            format!("{detail}; fetching {remote} also failed: {}", fetch.stderr.trim())
        };
        return Ok(PushOutcome::Rejected {
            remote,
            branch,
            detail,
        });
    }
    Err(
        NesError::failed(format!("git push to {remote} failed: {}", out.stderr.trim()))
            .hint(format!(
                "fix the cause above, then push again (`git -C {} push {remote} {branch}`)",
                repo.root().display()
            ))
            .into(),
    )
}

/// The remote to push to: `explicit`, else the branch's configured remote, else `origin`,
/// else the only remote; `None` when there is none at all.
pub(super) fn choose_remote(repo: &DataRepo, explicit: Option<&str>, branch: &str) -> Result<Option<String>> {
    let git = repo.git();
    let remotes: Vec<String> = git.remotes()?.iter().flatten().map(str::to_string).collect();
    if let Some(name) = explicit {
        if !remotes.iter().any(|r| r == name) {
            return Err(
                NesError::usage(format!("the data repository has no remote named `{name}`"))
                    .hint(format!(
                        "add it with `git -C {} remote add {name} <url>`",
                        repo.root().display()
                    ))
                    .into(),
            );
        }
        return Ok(Some(name.to_string()));
    }
    if let Ok(name) = git.config()?.get_string(&format!("branch.{branch}.remote")) {
        if remotes.contains(&name) {
            return Ok(Some(name));
        }
    }
    if remotes.iter().any(|r| r == "origin") {
        return Ok(Some("origin".into()));
    }
    match remotes.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(only.clone())),
        _ => Err(NesError::usage(format!(
            "the data repository has several remotes ({}) and no upstream",
            remotes.join(", ")
        ))
        .hint("name the one to push to with --remote")
        .into()),
    }
}

/// The detail of a non-fast-forward rejection in `git push --porcelain` output.
fn rejection(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find(|line| line.starts_with('!') && line.contains("[rejected]"))
        .map(|line| line.split('\t').next_back().unwrap_or(line).trim().to_string())
        .map(|summary| format!("the remote has commits this repository does not have: {summary}"))
}

/// What a finished git command said.
pub(super) struct GitOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs git in the repository without ever prompting, killed after `timeout`.
pub(super) fn run_git(repo: &DataRepo, args: &[&str], timeout: Duration) -> Result<GitOutput> {
    let mut command = Command::new("git");
    // Its own process group, so a timeout also stops the ssh or credential helper it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .arg("-C")
        .arg(repo.root())
        .args(args)
        // A prompt would hang an unattended run: fail instead, and say so.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `git` (is it installed and on PATH?)")?;
    // Drain both pipes on threads so a chatty git cannot block on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            kill_tree(&mut child);
            // The pipe-draining threads are left to end with the killed processes: joining them
            // could wait on a grandchild that still holds a pipe open.
            bail!(NesError::failed(format!("`git {}` did not finish within {}s and was stopped", args.join(" "), timeout.as_secs()))
                .hint("check the network and the remote's credentials (git must not need to prompt), then push again"));
        }
        thread::sleep(Duration::from_millis(25));
    };
    Ok(GitOutput {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Kills git and, on Unix, its process group (ssh, credential helpers).
fn kill_tree(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_porcelain_rejection() {
        let out = "To /tmp/remote.git\n!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\nDone\n";
        assert!(rejection(out).unwrap().contains("[rejected] (fetch first)"));
        assert_eq!(
            rejection("To x\n=\trefs/heads/main:refs/heads/main\t[up to date]\nDone\n"),
            None
        );
    }
}

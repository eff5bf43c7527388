//! Git itself as the judge of nes's hand-written writer (objects, packs with tree deltas,
//! the index): what the differential tests (`tests/git_differential.rs`) check after a run.
//!
//! Git's own indexes and objects go to a scratch directory, with the repository's object
//! store as an alternate: an object git writes while judging must never fill in one that
//! nes forgot to write.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A working tree as a test means it to be: repository-relative path → bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Runs git in `dir` with `env` and `stdin`, asserting success; returns stdout.
pub fn git_with(dir: &Path, args: &[&str], env: &[(OsString, OsString)], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run git");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git prints UTF-8 here")
}

/// Runs git in `dir`, asserting success; returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[], None).trim_end().to_string()
}

/// Runs git in `dir`, asserting success and that it printed nothing on either stream.
pub fn git_silent(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.is_empty() && stderr.is_empty(),
        "git {args:?} in {} was not clean (status {}):\n{stdout}{stderr}",
        dir.display(),
        out.status
    );
}

/// Git's indexes and object store for judging one repository.
pub struct Scratch {
    dir: tempfile::TempDir,
    repo: PathBuf,
    /// The repository's object store.
    objects: PathBuf,
}

impl Scratch {
    /// Scratch space for the repository whose working tree is `repo`.
    pub fn new(repo: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("objects")).unwrap();
        let common = git(repo, &["rev-parse", "--path-format=absolute", "--git-common-dir"]);
        Self {
            dir,
            repo: repo.to_path_buf(),
            objects: Path::new(&common).join("objects"),
        }
    }

    fn env(&self, index: &str) -> Vec<(OsString, OsString)> {
        vec![
            ("GIT_INDEX_FILE".into(), self.dir.path().join(index).into()),
            (
                "GIT_OBJECT_DIRECTORY".into(),
                self.dir.path().join("objects").into(),
            ),
            (
                "GIT_ALTERNATE_OBJECT_DIRECTORIES".into(),
                self.objects.clone().into(),
            ),
        ]
    }

    /// The tree git builds from the whole working tree, in a fresh index
    /// (`git add -A && git write-tree`).
    pub fn tree_of_worktree(&self) -> String {
        let _ = std::fs::remove_file(self.dir.path().join("full"));
        let env = self.env("full");
        git_with(&self.repo, &["add", "-A"], &env, None);
        git_with(&self.repo, &["write-tree"], &env, None)
            .trim()
            .to_string()
    }

    /// Starts following a run's batches from the commit `base`.
    pub fn start(&self, base: &str) {
        git_with(&self.repo, &["read-tree", base], &self.env("batches"), None);
    }

    /// The tree git writes after applying one batch to the followed index: `deleted` paths
    /// removed, `written` ones hashed from the working tree (where the run left them as
    /// this batch commits them: every path is in one batch of a run).
    pub fn batch_tree(&self, written: &[&str], deleted: &[&str]) -> String {
        let env = self.env("batches");
        let nul_list = |paths: &[&str]| {
            paths
                .iter()
                .flat_map(|p| [p.as_bytes(), b"\0"].concat())
                .collect::<Vec<u8>>()
        };
        if !deleted.is_empty() {
            let input = nul_list(deleted);
            git_with(
                &self.repo,
                &["update-index", "--force-remove", "-z", "--stdin"],
                &env,
                Some(&input),
            );
        }
        if !written.is_empty() {
            let input = nul_list(written);
            git_with(
                &self.repo,
                &["update-index", "--add", "--replace", "-z", "--stdin"],
                &env,
                Some(&input),
            );
        }
        git_with(&self.repo, &["write-tree"], &env, None)
            .trim()
            .to_string()
    }
}

/// Asserts git finds every object sound (`git fsck --strict --full`, nothing dangling) and
/// accepts every pack (`git verify-pack -v`); returns the longest delta chain of any pack.
pub fn assert_sound(repo: &Path) -> usize {
    git_silent(repo, &["fsck", "--strict", "--full", "--no-progress"]);
    let pack_dir = PathBuf::from(git(
        repo,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ))
    .join("objects/pack");
    let mut longest = 0;
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "idx") {
            let listing = git(repo, &["verify-pack", "-v", path.to_str().unwrap()]);
            longest = longest.max(longest_chain(&listing));
        }
    }
    longest
}

/// The longest delta chain in `git verify-pack -v` output ("chain length = N: M objects").
pub fn longest_chain(listing: &str) -> usize {
    listing
        .lines()
        .filter_map(|l| l.strip_prefix("chain length = "))
        .filter_map(|l| l.split(':').next()?.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

/// Asserts the index nes wrote agrees with HEAD (`git diff-index --cached HEAD` empty) and,
/// by its stat data alone, with the working tree (`git diff-files` empty, before any
/// refresh), and that `git status --porcelain` is empty.
pub fn assert_index_clean(repo: &Path) {
    for (args, problem) in [
        (
            &["diff-index", "--cached", "HEAD"][..],
            "the index differs from HEAD",
        ),
        (
            &["diff-files"][..],
            "the index's stat data differs from the working tree",
        ),
        (
            &["status", "--porcelain", "--untracked-files=all"][..],
            "the working tree is not clean",
        ),
    ] {
        let out = git(repo, args);
        assert!(out.is_empty(), "{problem} (git {args:?}):\n{}", head(&out));
    }
}

/// The first lines of a long listing, for a readable failure.
fn head(listing: &str) -> String {
    let lines: Vec<&str> = listing.lines().collect();
    let mut out = lines.iter().take(20).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > 20 {
        out.push_str(&format!("\n... {} lines in all", lines.len()));
    }
    out
}

/// The files of a working tree (everything but `.git`).
pub fn read_worktree(root: &Path) -> Files {
    let mut files = Files::new();
    for entry in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            files.insert(rel, std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

/// Asserts the working tree at `root` holds exactly `files`, naming the first difference.
pub fn assert_worktree(root: &Path, files: &Files, what: &str) {
    let found = read_worktree(root);
    let missing: Vec<_> = files.keys().filter(|p| !found.contains_key(*p)).take(5).collect();
    let extra: Vec<_> = found.keys().filter(|p| !files.contains_key(*p)).take(5).collect();
    let differ: Vec<_> = files
        .iter()
        .filter(|(p, b)| found.get(*p).is_some_and(|f| f != *b))
        .map(|(p, _)| p)
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{what}: missing {missing:?}, unexpected {extra:?}, different {differ:?}"
    );
}

/// Every object reachable from any ref, with its path, sorted.
fn all_objects(repo: &Path) -> Vec<String> {
    let mut objects: Vec<String> = git(repo, &["rev-list", "--objects", "--all"])
        .lines()
        .map(str::to_string)
        .collect();
    objects.sort();
    objects
}

/// Each commit of HEAD's history with its tree.
fn history(repo: &Path) -> String {
    git(repo, &["log", "--format=%H %T %P", "HEAD"])
}

/// The expensive checks, for the last run of a case: `git gc --aggressive` keeps every
/// object and history; `git clone --no-local` (objects sent by pack-objects from nes's packs)
/// and `git clone --filter=blob:none` (trees sent, blobs fetched lazily on checkout) both
/// read back the same history, objects and working tree (`files`).
pub fn assert_survives_gc_and_clones(repo: &Path, files: &Files) {
    let objects = all_objects(repo);
    let log = history(repo);
    let scratch = tempfile::tempdir().unwrap();

    let full = scratch.path().join("full");
    git(
        scratch.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            repo.to_str().unwrap(),
            full.to_str().unwrap(),
        ],
    );
    git_silent(&full, &["fsck", "--strict", "--full", "--no-progress"]);
    assert_eq!(history(&full), log, "history of a --no-local clone");
    assert_eq!(all_objects(&full), objects, "objects of a --no-local clone");
    assert_worktree(&full, files, "checkout of a --no-local clone");

    git(repo, &["config", "uploadpack.allowFilter", "true"]);
    let partial = scratch.path().join("partial");
    let url = format!("file://{}", repo.display());
    git(
        scratch.path(),
        &[
            "clone",
            "-q",
            "--filter=blob:none",
            &url,
            partial.to_str().unwrap(),
        ],
    );
    assert_eq!(history(&partial), log, "history of a blob:none clone");
    // Commit and tree ids are compared above for the whole history; the listings, for the
    // newest commits (a listing of the real database per commit was most of its test).
    for commit in log.lines().take(12).filter_map(|l| l.split(' ').next()) {
        assert_eq!(
            git(&partial, &["ls-tree", "-r", "-t", "--full-tree", commit]),
            git(repo, &["ls-tree", "-r", "-t", "--full-tree", commit]),
            "trees of {commit} in a blob:none clone"
        );
    }
    assert_worktree(&partial, files, "checkout of a blob:none clone");
    git_silent(&partial, &["fsck", "--strict", "--no-progress"]);

    git(repo, &["gc", "--aggressive", "--prune=now", "--quiet"]);
    assert_sound(repo);
    assert_eq!(history(repo), log, "history after git gc --aggressive");
    assert_eq!(all_objects(repo), objects, "objects after git gc --aggressive");
    assert_index_clean(repo);
}

//! Opening, creating and inspecting the data repository.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::plumbing::lookup::TreeLookup;
use crate::error::NesError;

/// How many dirty paths [`DataRepo::ensure_clean`] names before summarising the rest.
const DIRTY_PATHS_SHOWN: usize = 5;

/// The identity used when neither `--git-author` nor git config provides one.
pub const FALLBACK_NAME: &str = "nes";
/// See [`FALLBACK_NAME`].
pub const FALLBACK_EMAIL: &str = "nes@localhost";

/// Content of the first commit made by [`DataRepo::init`].
const README: &str = "# NES data repository\n\n\
Entities, versions and relationships of the Nepal Entity Service (`v2/`), evolved by `nes` migrations.\n";

/// A data repository checked out on a branch, with complete history.
pub struct DataRepo {
    repo: git2::Repository,
    root: PathBuf,
}

impl DataRepo {
    /// Opens the repository at `path`. Refuses, with the command that fixes it, a missing
    /// repository (`nes db init`), a shallow clone, a detached HEAD.
    pub fn open(path: &Path) -> Result<Self> {
        tune_libgit2();
        let repo = match git2::Repository::open(path) {
            Ok(repo) => repo,
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                return Err(
                    NesError::usage(format!("no data repository at {}", path.display()))
                        .hint(format!(
                            "create one with `nes db init {}`, or clone the existing one",
                            path.display()
                        ))
                        .into(),
                )
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot open the data repository at {}", path.display()))
            }
        };
        let Some(root) = repo.workdir().map(Path::to_path_buf) else {
            return Err(
                NesError::usage(format!("{} is a bare repository", path.display()))
                    .hint("clone it (`git clone <bare> <dir>`) and point nes at the clone")
                    .into(),
            );
        };
        // The ledger is the history: a shallow clone would make applied migrations look pending.
        if repo.is_shallow() {
            return Err(NesError::usage(format!(
                "the data repository at {} is a shallow clone; its history, the record of applied migrations, is incomplete",
                root.display()
            ))
            .hint(format!("fetch the full history: `git -C {} fetch --unshallow`", root.display()))
            .into());
        }
        // Batch commits move a branch; on a detached HEAD they would be lost at the next switch.
        if repo.head_detached()? {
            return Err(NesError::usage(format!(
                "the data repository at {} has a detached HEAD",
                root.display()
            ))
            .hint(format!(
                "check out a branch: `git -C {} switch main`",
                root.display()
            ))
            .into());
        }
        Ok(Self { repo, root })
    }

    /// Creates a repository at `path`: branch `main`, a first commit, recommended settings
    /// for large repositories, and `origin` when `remote` is given.
    pub fn init(path: &Path, remote: Option<&str>) -> Result<Self> {
        tune_libgit2();
        if git2::Repository::open(path).is_ok() {
            return Err(
                NesError::usage(format!("{} is already a git repository", path.display()))
                    .hint("use it as it is, or choose an empty directory for `nes db init`")
                    .into(),
            );
        }
        std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main").mkpath(true);
        let repo = git2::Repository::init_opts(path, &opts)
            .with_context(|| format!("cannot create a git repository at {}", path.display()))?;
        configure_for_large_repo(&repo)?;
        if let Some(url) = remote {
            repo.remote("origin", url)
                .with_context(|| format!("cannot add remote origin {url}"))?;
        }
        let root = repo
            .workdir()
            .map(Path::to_path_buf)
            .context("new repository has no working tree")?;
        let data = Self { repo, root };
        data.first_commit()?;
        Ok(data)
    }

    /// Commits README.md so HEAD exists: every later batch then has a parent to build on.
    fn first_commit(&self) -> Result<()> {
        std::fs::write(self.root.join("README.md"), README)?;
        let mut index = self.repo.index()?;
        index.add_path(Path::new("README.md"))?;
        index.write()?;
        let tree = self.repo.find_tree(index.write_tree()?)?;
        let (sig, _warning) = self.signature(None)?;
        self.repo
            .commit(Some("HEAD"), &sig, &sig, "Initial commit", &tree, &[])
            .context("cannot make the first commit")?;
        Ok(())
    }

    /// Working tree root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The underlying git2 repository.
    pub fn git(&self) -> &git2::Repository {
        &self.repo
    }

    /// The git directory (`.git`), where nes keeps its lock, journal and cache under `nes/`.
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// `<gitdir>/nes`, created on demand: nes's private state, never part of the history.
    pub fn nes_dir(&self) -> Result<PathBuf> {
        let dir = self.repo.path().join("nes");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// Name of the checked-out branch (`main`).
    pub fn branch(&self) -> Result<String> {
        // Read HEAD symbolically so an unborn branch (no commit yet) still has a name.
        let head = self.repo.find_reference("HEAD")?;
        let target = head.symbolic_target().context("HEAD is detached")?;
        Ok(target.strip_prefix("refs/heads/").unwrap_or(target).to_string())
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> Result<git2::Oid> {
        let head = self
            .repo
            .head()
            .context("the data repository has no commit yet")?;
        Ok(head.peel_to_commit()?.id())
    }

    /// The commit HEAD points at, `None` on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<git2::Commit<'_>>> {
        match self.repo.head() {
            Ok(head) => Ok(Some(head.peel_to_commit()?)),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Up to `limit` paths with uncommitted changes (modified, deleted, staged or untracked, not
    /// ignored; an untracked directory is named once), as `git status` lists them.
    pub fn dirty_paths(&self, limit: usize) -> Result<Vec<String>> {
        match self.git_status(Untracked::Directories, limit)? {
            Some(entries) => Ok(entries
                .into_iter()
                .map(|(_, path)| String::from_utf8_lossy(&path).into_owned())
                .collect()),
            None => self.dirty_paths_libgit2(limit),
        }
    }

    /// Up to `limit` entries of `git status --porcelain -z`: the two-letter code and the path
    /// relative to the root. `None` when no `git` binary can be run.
    ///
    /// git, not libgit2: at 1M files libgit2's status took ~25 s where git, which stats the
    /// index entries on all cores and keeps an untracked cache, takes ~3 s.
    pub(crate) fn git_status(&self, untracked: Untracked, limit: usize) -> Result<Option<Vec<StatusEntry>>> {
        let untracked = match untracked {
            Untracked::Directories => "--untracked-files=normal",
            Untracked::Files => "--untracked-files=all",
        };
        let mut command = std::process::Command::new("git");
        command
            .arg("--git-dir")
            .arg(self.git_dir())
            .arg("--work-tree")
            .arg(&self.root)
            .current_dir(&self.root)
            .args(["status", "--porcelain=v1", "-z", untracked, "--ignored=no"])
            .args(["--ignore-submodules=all", "--no-renames"])
            // The repository named above, whatever the caller's environment says (hooks set these).
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_COMMON_DIR")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .stdin(std::process::Stdio::null());
        let out = match command.output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context("cannot run `git status`"),
        };
        if !out.status.success() {
            return Err(NesError::failed(format!(
                "`git status` failed in {}: {}",
                self.root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
            .hint(format!(
                "run `git -C {} status` to see the problem and fix it, then run nes again",
                self.root.display()
            ))
            .into());
        }
        parse_porcelain_z(&out.stdout, limit).map(Some)
    }

    /// [`DataRepo::dirty_paths`] through libgit2, for machines without `git`.
    fn dirty_paths_libgit2(&self, limit: usize) -> Result<Vec<String>> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(false)
            .include_ignored(false)
            .exclude_submodules(true)
            .renames_head_to_index(false);
        // A handle of its own: the index it loads (100+ MB at 1M files) is freed with it,
        // instead of staying cached in `self.repo` for the whole run.
        let repo = git2::Repository::open(self.repo.path()).context("cannot open the data repository")?;
        let statuses = repo.statuses(Some(&mut opts)).context("cannot read git status")?;
        Ok(statuses
            .iter()
            .filter(|s| s.status() != git2::Status::CURRENT && !s.status().contains(git2::Status::IGNORED))
            .filter_map(|s| s.path().map(str::to_string))
            .take(limit)
            .collect())
    }

    /// Fails with the first few dirty paths and how to fix them unless the tree is clean.
    pub fn ensure_clean(&self) -> Result<()> {
        let dirty = self.dirty_paths(DIRTY_PATHS_SHOWN + 1)?;
        if dirty.is_empty() {
            return Ok(());
        }
        Err(dirty_error(&self.root, &dirty, self.has_interrupted_run()).into())
    }

    /// Whether a crashed run left its pre-run ref behind.
    fn has_interrupted_run(&self) -> bool {
        self.repo.find_reference(super::refs::PRE_RUN_REF).is_ok()
    }

    /// Path lookups in HEAD's tree (an empty tree on an unborn branch).
    pub fn head_lookup(&self) -> Result<TreeLookup<'_>> {
        let tree = match self.head_commit()? {
            Some(commit) => Some(commit.tree()?),
            None => None,
        };
        Ok(TreeLookup::new(&self.repo, tree))
    }

    /// Commit identity: `override_` ("Name <email>"), else git config, else the documented
    /// fallback `nes <nes@localhost>` with a warning message returned beside it.
    pub fn signature(&self, override_: Option<&str>) -> Result<(git2::Signature<'static>, Option<String>)> {
        if let Some(spec) = override_ {
            let (name, email) = parse_identity(spec)?;
            return Ok((git2::Signature::now(&name, &email)?, None));
        }
        if let Ok(sig) = self.repo.signature() {
            return Ok((sig, None));
        }
        let warning = format!(
            "no git identity configured; committing as `{FALLBACK_NAME} <{FALLBACK_EMAIL}>` \
             (set one with `git -C {} config user.name ...` and `user.email`, or pass --git-author \"Name <email>\")",
            self.root.display()
        );
        Ok((
            git2::Signature::now(FALLBACK_NAME, FALLBACK_EMAIL)?,
            Some(warning),
        ))
    }
}

/// One `git status` entry: its two-letter code (`" M"`, `"??"`...) and its path.
pub(crate) type StatusEntry = ([u8; 2], Vec<u8>);

/// How [`DataRepo::git_status`] reports untracked files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Untracked {
    /// A directory holding only untracked files once, by its name with a trailing `/`.
    Directories,
    /// Every untracked file.
    Files,
}

/// Parses `git status --porcelain=v1 -z`: `XY path` records ended by NUL, a rename or copy
/// (`R`/`C`) followed by one more NUL-ended field, its source, which is skipped.
fn parse_porcelain_z(out: &[u8], limit: usize) -> Result<Vec<StatusEntry>> {
    let mut entries = Vec::new();
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    while entries.len() < limit {
        let Some(field) = fields.next() else { break };
        anyhow::ensure!(
            field.len() > 3 && field[2] == b' ',
            "unexpected `git status` output: {:?}",
            String::from_utf8_lossy(field)
        );
        let code = [field[0], field[1]];
        if code.iter().any(|c| matches!(c, b'R' | b'C')) {
            fields.next();
        }
        entries.push((code, field[3..].to_vec()));
    }
    Ok(entries)
}

/// Process-wide settings for working on data repositories of 100k-1M files, applied once.
fn tune_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        return_large_allocations_to_the_system();
        // libgit2 re-hashes every object it reads by default; git itself does not (`git fsck`
        // does). A batch reads its directory trees, megabytes each in a 1M-file repository,
        // so this was a third of a batch's time.
        git2::opts::strict_hash_verification(false);
        // The object cache (256 MiB, shared by all handles) can fill with the 500k small
        // per-entity version trees a status walk of a 1M-file repository reads, none of which
        // a run reads again; the trees a run does re-read are over its 4 KiB size limit.
        git2::opts::enable_caching(false);
        // Pack windows stay mapped up to 8 GiB by default; a long run reads trees from many
        // packs and every touched page counted towards the process's memory.
        // SAFETY: called once, before any repository is opened by this process's code.
        if let Err(e) = unsafe { git2::opts::set_mwindow_mapped_limit(MWINDOW_MAPPED_LIMIT) } {
            eprintln!("warning: cannot limit libgit2's mapped pack windows: {e}");
        }
    });
}

/// Bytes of pack files libgit2 keeps mapped at once.
const MWINDOW_MAPPED_LIMIT: usize = 32 << 20;

/// Every batch builds and frees directory trees of megabytes each. glibc raises its mmap
/// threshold after such frees and then serves them from the heap, which it rarely gives
/// back: a 100k-entity run grew by hundreds of MB of freed memory. A fixed threshold keeps
/// them mmapped, returned on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_to_the_system() {
    // SAFETY: mallopt only changes allocator parameters; called once, early.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_system() {}

/// Settings that keep git usable on a repository of 100k-1M small files.
fn configure_for_large_repo(repo: &git2::Repository) -> Result<()> {
    let mut config = repo.config()?;
    // `git status` stats every tracked file; preloading does that on all cores.
    config.set_bool("core.preloadIndex", true)?;
    // Caches which directories hold no untracked files, so status skips re-reading them.
    config.set_bool("core.untrackedCache", true)?;
    // Automatic gc would repack 1M objects in the middle of an unrelated user command, for
    // minutes. nes packs the loose objects of each big run itself (see `commit.rs`); a full
    // `git gc` stays available as a deliberate, occasional maintenance step.
    config.set_i32("gc.auto", 0)?;
    // 0 = one pack thread per core, when the user does repack.
    config.set_i32("pack.threads", 0)?;
    Ok(())
}

/// `"Name <email>"` → (name, email).
pub fn parse_identity(spec: &str) -> Result<(String, String)> {
    let parsed = spec
        .trim()
        .strip_suffix('>')
        .and_then(|s| s.split_once('<'))
        .and_then(|(name, email)| {
            let (name, email) = (name.trim(), email.trim());
            (!name.is_empty() && email.contains('@') && !email.contains(['<', '>']))
                .then(|| (name.to_string(), email.to_string()))
        });
    parsed.ok_or_else(|| {
        NesError::usage(format!("invalid git author `{spec}`"))
            .hint("write it as \"Name <email@example.org>\"")
            .into()
    })
}

/// The refusal to run on a dirty working tree, naming what is dirty and how to clean it.
fn dirty_error(root: &Path, dirty: &[String], interrupted: bool) -> NesError {
    let shown = dirty
        .iter()
        .take(DIRTY_PATHS_SHOWN)
        .map(|p| format!("\n  {p}"))
        .collect::<String>();
    let more = if dirty.len() > DIRTY_PATHS_SHOWN {
        "\n  ..."
    } else {
        ""
    };
    let dir = root.display();
    let message = format!("the data repository at {dir} has uncommitted changes:{shown}{more}");
    let hint = if interrupted {
        format!(
            "a run was interrupted: run `nes migrate repair` first (or inspect with `git -C {dir} status`)"
        )
    } else {
        format!(
            "commit or stash them (`git -C {dir} stash --include-untracked`); to discard leftovers of a \
             failed run: `git -C {dir} checkout -- . && git -C {dir} clean -fd`; if a run crashed, `nes migrate repair`"
        )
    };
    NesError::usage(message).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_porcelain_z() {
        let out = b" M a b.json\0?? new/\0R  to\0from\0D  gone\0";
        let entries = parse_porcelain_z(out, 10).unwrap();
        let paths: Vec<&[u8]> = entries.iter().map(|(_, p)| p.as_slice()).collect();
        assert_eq!(paths, [&b"a b.json"[..], b"new/", b"to", b"gone"]);
        assert_eq!(entries[1].0, *b"??");
        assert_eq!(parse_porcelain_z(out, 2).unwrap().len(), 2);
        assert!(parse_porcelain_z(b"", 5).unwrap().is_empty());
        assert!(parse_porcelain_z(b"garbage\0", 5).is_err());
    }

    #[test]
    fn parses_identity() {
        assert_eq!(
            parse_identity("Jane Doe <jane@example.org>").unwrap(),
            ("Jane Doe".to_string(), "jane@example.org".to_string())
        );
        assert!(parse_identity("Jane Doe").is_err());
        assert!(parse_identity("<jane@example.org>").is_err());
    }
}

//! Scale benchmark of `nes` (issue 7): migrations of 10k-100k entities through the real
//! `Runner`, plain git on the same files, batch-commit cost as the repository grows,
//! `migrate status`/`list` on long histories, `db verify`, and a bulk update.
//!
//! ```text
//! cargo bench --bench scale -- <scenario>... [--quick] [--runs N] [--big]
//! ```
//!
//! Scenarios: `create` (1), `plain` (2), `batch` (3), `status` (4), `verify` (5),
//! `bulk` (6), `diff` (7), `all`. `--quick` uses 10k entities and repositories
//! up to 100k files; without it the 1M-file repository is generated and used too (`--big`
//! adds the 1M-file bases to `create`/`plain` even with `--quick`). Each measured step runs in
//! a child process under `/usr/bin/time` for its peak RSS; setup (copies) and checks
//! (`git status`, commit counts) are outside the timing. Repositories are cached under
//! `target/nes-bench/` (or `$NES_BENCH_DIR`). Results are printed as a Markdown table and
//! appended to `target/nes-bench/results.md`.

#[path = "support/mod.rs"]
mod support;

/// The allocator of the `nes` binary (src/main.rs), so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};
use support::{Job, Kind};

/// Files per synthetic repository size.
const SIZES: [(&str, usize); 3] = [("10k", 10_000), ("100k", 100_000), ("1m", 1_000_000)];
/// Commits of every synthetic repository: scenario 4 wants a 10,000-commit history.
const HISTORY: usize = 10_000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let big = !quick || args.iter().any(|a| a == "--big");
    let runs: Option<usize> = match args.iter().position(|a| a == "--runs") {
        Some(i) => Some(args.get(i + 1).context("--runs N")?.parse()?),
        None => None,
    };
    let mut scenarios: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--runs"))
        .map(|(_, a)| a.as_str())
        .collect();
    if scenarios.is_empty() || scenarios.contains(&"all") {
        scenarios = vec!["create", "plain", "batch", "status", "verify", "bulk", "diff"];
    }
    let bench = Bench::new(quick, big, runs)?;
    bench.header();
    // 1 and 2 are measured together, in turn, whichever of them was asked for.
    let (nes, git) = (scenarios.contains(&"create"), scenarios.contains(&"plain"));
    if nes && git {
        scenarios.retain(|s| *s != "plain");
    }
    for scenario in scenarios {
        match scenario {
            "create" | "plain" => bench.create_and_plain(nes, git)?,
            "batch" => bench.batch()?,
            "status" => bench.status()?,
            "verify" => bench.verify()?,
            "bulk" => bench.bulk()?,
            "diff" => bench.diff()?,
            other => {
                bail!("unknown scenario `{other}` (create, plain, batch, status, verify, bulk, diff, all)")
            }
        }
    }
    Ok(())
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.scratch.join("trash"));
        let _ = std::fs::write(self.cache.join(DELETED_STAMP), "");
    }
}

/// Written when the harness deletes its run copies (its modification time says when).
const DELETED_STAMP: &str = "last-deletion";
/// How long to let freed inodes age before measuring. ext4 without a journal (this
/// machine's disk) skips inodes freed in the last 60 s (360 s while their table block is
/// not yet written back) when it allocates new ones; right after the harness deleted a
/// million-file copy, creating files was up to 5x slower, for nes and git alike.
const SETTLE: Duration = Duration::from_secs(65);

/// Writes back dirty blocks and waits until inodes freed by a recent deletion age out.
fn settle_after_deletions(cache: &Path) {
    let since = std::fs::metadata(cache.join(DELETED_STAMP))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    if let Some(left) = since.and_then(|since| SETTLE.checked_sub(since)) {
        let _ = Command::new("sync").status();
        eprintln!(
            "waiting {} s for recently deleted files to age out",
            left.as_secs()
        );
        std::thread::sleep(left);
    }
}

/// One measured process: wall time and peak RSS.
struct Sample {
    secs: f64,
    rss_kb: u64,
    /// Seconds reported by the child for the part it timed itself, if any.
    inner: Vec<f64>,
    /// Commits the child reported making.
    commits: usize,
    /// Names of the `inner` figures, when the child gave them (`PHASE` lines).
    phases: Vec<String>,
    /// The child's own peak RSS without its children (`SELF_RSS`), when it gave one.
    self_rss_kb: Option<u64>,
}

struct Bench {
    quick: bool,
    big: bool,
    runs: Option<usize>,
    cache: PathBuf,
    scratch: PathBuf,
    exe: PathBuf,
}

impl Bench {
    fn new(quick: bool, big: bool, runs: Option<usize>) -> Result<Self> {
        let cache = std::env::var_os("NES_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nes-bench"));
        let scratch = cache.join("scratch");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)?;
            std::fs::write(cache.join(DELETED_STAMP), "")?;
        }
        std::fs::create_dir_all(&scratch)?;
        settle_after_deletions(&cache);
        Ok(Self {
            quick,
            big,
            runs,
            cache,
            scratch,
            exe: std::env::current_exe()?,
        })
    }

    fn header(&self) {
        println!("| scenario | base | N | runs | median | spread (min-max) | peak RSS | notes |");
        println!("|---|---|---|---|---|---|---|---|");
    }

    /// Runs for a measurement on a base of `files` files (the 1M-file bases run once).
    fn runs_for(&self, files: usize, default: usize) -> usize {
        match self.runs {
            Some(n) => n,
            None if files >= 1_000_000 => 1,
            None => default,
        }
    }

    /// The cached base repository `name`: `empty`, `real` (the NES bundle) or a size.
    fn base(&self, name: &str) -> Result<Option<PathBuf>> {
        match name {
            "empty" => Ok(None),
            "real" => {
                let dest = self.cache.join("repo-real");
                if !dest.join(".git/nes-bench-complete").exists() {
                    let bundle = shared_bundle()?;
                    if dest.exists() {
                        std::fs::remove_dir_all(&dest)?;
                    }
                    let out = Command::new("git")
                        .args(["clone", "--quiet", "--branch", "main"])
                        .arg(&bundle)
                        .arg(&dest)
                        .status()?;
                    ensure!(out.success(), "cloning {}", bundle.display());
                    for kv in [
                        ["core.trustctime", "false"],
                        ["user.name", "Bench Author"],
                        ["user.email", "bench@example.org"],
                    ] {
                        support::git(&dest, &["config", kv[0], kv[1]])?;
                    }
                    std::fs::write(dest.join(".git/nes-bench-complete"), "real\n")?;
                }
                Ok(Some(dest))
            }
            size => {
                let files = SIZES.iter().find(|(n, _)| *n == size).context("unknown base")?.1;
                Ok(Some(support::cached_repo(
                    &self.cache,
                    &format!("repo-{size}"),
                    files,
                    HISTORY,
                )?))
            }
        }
    }

    /// A fresh copy of a base for one run (`private`: prefixes the run rewrites in place).
    fn fresh(&self, base: &Option<PathBuf>, private: &[&str]) -> Result<PathBuf> {
        let dest = self.scratch.join(format!("run-{}", std::process::id()));
        self.clean(&dest)?;
        match base {
            None => support::empty_repo(&dest)?,
            Some(src) => support::copy_repo(src, &dest, private)?,
        }
        Ok(dest)
    }

    /// Moves a finished run's copy out of the way; copies are deleted when the harness ends,
    /// because deleting many files between samples makes the next sample's file creations
    /// slower (ext4 scans the freed inodes) and would bias whichever scenario runs next.
    fn clean(&self, dir: &Path) -> Result<()> {
        let trash = self.scratch.join("trash");
        std::fs::create_dir_all(&trash)?;
        for old in [dir.to_path_buf(), self.scratch.join("child")] {
            if old.exists() {
                let n = std::fs::read_dir(&trash)?.count();
                std::fs::rename(&old, trash.join(n.to_string()))?;
            }
        }
        Ok(())
    }

    /// Runs `argv` under `/usr/bin/time`, returning wall time, peak RSS and any `INNER`
    /// seconds it printed. Dirty blocks are written back first, untimed: otherwise the
    /// previous sample's ~100 MB (and the copy of the base) were written back during this
    /// one, and the floor of scenario 1 ranged over 0.3-1.7 s within one series.
    fn measure(&self, argv: &[String], env: &[(&str, &Path)]) -> Result<Sample> {
        let _ = Command::new("sync").status();
        let rss_file = self.scratch.join("rss");
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f").arg("%M").arg("-o").arg(&rss_file).args(argv);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let out = cmd.output()?;
        let secs = start.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "{argv:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let rss_kb = std::fs::read_to_string(&rss_file)?
            .lines()
            .last()
            .unwrap_or("0")
            .trim()
            .parse()?;
        let inner = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("INNER "))
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()?;
        let commits = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("COMMITS "))
            .map_or(Ok(0), |s| s.trim().parse())?;
        let phases = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("PHASE "))
            .map(str::to_string)
            .collect();
        let self_rss_kb = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("SELF_RSS "))
            .and_then(|s| s.trim().parse().ok());
        Ok(Sample {
            secs,
            rss_kb,
            inner,
            commits,
            phases,
            self_rss_kb,
        })
    }

    fn child_argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.exe.to_string_lossy().into_owned(), "child".into()];
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    // ---- scenarios ----------------------------------------------------------------------

    fn create_cases(&self) -> Vec<(&'static str, usize)> {
        let mut cases = vec![("empty", 10_000), ("real", 10_000)];
        if !self.quick {
            cases.push(("empty", 100_000));
        }
        if self.big {
            cases.extend([("1m", 10_000), ("1m", 100_000)]);
        }
        cases
    }

    /// Scenarios 1 and 2, sample by sample in turn on the same base, so that both see the same
    /// disk: 1, a migration creating N persons end to end through `Runner::run`; 2, the
    /// same files written by the publication API alone, then committed by plain git in one
    /// commit and per 1000 files.
    fn create_and_plain(&self, nes: bool, git: bool) -> Result<()> {
        for (base_name, n) in self.create_cases() {
            let base = self.base(base_name)?;
            let runs = self.runs_for(
                if base_name == "1m" { 1_000_000 } else { 0 },
                if n >= 100_000 { 3 } else { 5 },
            );
            let (mut created, mut floor) = (Vec::new(), Vec::new());
            let (mut written, mut one, mut per_1000) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                if nes {
                    floor.push(self.floor_sample(&base, n)?);
                    created.push(self.create_sample(&base, n)?);
                }
                if git {
                    for (per, samples) in [(None, &mut one), (Some(1000), &mut per_1000)] {
                        let (write, commit) = self.plain_sample(&base, n, per)?;
                        if per.is_none() {
                            written.push(write);
                        }
                        samples.push(commit);
                    }
                }
            }
            if nes {
                report(
                    "1 create (nes)",
                    base_name,
                    n,
                    &created,
                    &format!(
                        "{} batch commits, clean status; phases (median): {}",
                        created[0].commits,
                        median_phases(&created)
                    ),
                );
                report(
                    "1 floor (plain file writes)",
                    base_name,
                    n,
                    &floor,
                    "the same paths and sizes by create_dir + write on one thread, no JSON, no git: this disk's floor for 1, run in turn with it",
                );
            }
            if git {
                report(
                    "2 files only (publication API)",
                    base_name,
                    n,
                    &written,
                    "the JSON and files of 1, no git: what both sides of 1 vs 2 write",
                );
                report(
                    "2 git add -A && commit",
                    base_name,
                    n,
                    &one,
                    "same files as 1; git time only",
                );
                report(
                    "2 git add+commit per 1000",
                    base_name,
                    n,
                    &per_1000,
                    "same files as 1; git time only",
                );
            }
        }
        Ok(())
    }

    fn create_sample(&self, base: &Option<PathBuf>, n: usize) -> Result<Sample> {
        let repo = self.fresh(base, &[])?;
        let before = support::head(&repo);
        let scratch = self.scratch.join("child");
        let s = self.measure(
            &self.child_argv(&["create", &path(&repo), &path(&scratch), &n.to_string()]),
            &[],
        )?;
        support::check_consistent(&repo, before.as_deref(), s.commits)?;
        ensure!(
            s.commits >= 2 * n / 1000,
            "{} commits for {n} entities",
            s.commits
        );
        self.clean(&repo)?;
        Ok(s)
    }

    /// The disk's floor for `create_sample`: its paths written by plain file writes.
    fn floor_sample(&self, base: &Option<PathBuf>, n: usize) -> Result<Sample> {
        let repo = self.fresh(base, &[])?;
        let s = self.measure(&self.child_argv(&["floor", &path(&repo), &n.to_string()]), &[])?;
        self.clean(&repo)?;
        Ok(s)
    }

    /// The files of `create_sample` written without git, then committed by plain git
    /// (`per`: files per commit); returns both samples.
    fn plain_sample(&self, base: &Option<PathBuf>, n: usize, per: Option<usize>) -> Result<(Sample, Sample)> {
        let repo = self.fresh(base, &[])?;
        let before = support::head(&repo);
        let list = self.scratch.join("paths");
        let write = self.measure(
            &self.child_argv(&["write", &path(&repo), &n.to_string(), &path(&list)]),
            &[],
        )?;
        let commit = self.measure(&support::plain_git_argv(&repo, &list, per), &[])?;
        let files = std::fs::read_to_string(&list)?.lines().count();
        let commits = per.map_or(1, |p| files.div_ceil(p));
        support::check_consistent(&repo, before.as_deref(), commits)?;
        self.clean(&repo)?;
        Ok((write, commit))
    }

    /// Scenario 3: 1000-file batch commits as the repository grows: the first batch of a
    /// run (which reads the directories it edits), the following ones, the pack's finish with
    /// the branch moves and the index sync a run pays once. The sizes are measured in turn, run by run, so that their
    /// ratio compares runs that saw the same disk.
    fn batch(&self) -> Result<()> {
        let sizes: Vec<&str> = if self.big {
            vec!["10k", "100k", "1m"]
        } else {
            vec!["10k", "100k"]
        };
        let mut cases = Vec::new();
        for size in &sizes {
            let runs = self.runs_for(if *size == "1m" { 1_000_000 } else { 0 }, 5);
            cases.push((*size, self.base(size)?, runs, [(); 4].map(|()| Vec::new())));
        }
        let most = cases.iter().map(|c| c.2).max().unwrap_or(0);
        for run in 0..most {
            for (_, base, runs, samples) in cases.iter_mut() {
                if run >= *runs {
                    continue;
                }
                let repo = self.fresh(base, &[])?;
                let s = self.measure(&self.child_argv(&["batch", &path(&repo)]), &[])?;
                ensure!(s.inner.len() == BATCHES + 2, "batch child printed {:?}", s.inner);
                for (i, &secs) in s.inner.iter().enumerate() {
                    let sample = Sample {
                        secs,
                        rss_kb: s.rss_kb,
                        inner: vec![],
                        commits: 1,
                        phases: vec![],
                        self_rss_kb: None,
                    };
                    // first batch, next batches, pack finish + branch moves, index sync
                    let kind = match i {
                        0 => 0,
                        i if i < BATCHES => 1,
                        i if i == BATCHES => 2,
                        _ => 3,
                    };
                    samples[kind].push(sample);
                }
                self.clean(&repo)?;
            }
        }
        let rows = [
            (
                "3 batch commit, first of a run",
                "1000 new files: blobs read and hashed, trees, commit, added to the run's pack; plus reading the directories the run edits",
            ),
            (
                "3 batch commit, next batches",
                "1000 new files each, directories already in memory",
            ),
            (
                "3 pack finish + branch moves (once per run)",
                "the newest big trees compressed, the pack's count, checksum, sync and index, then the branch moved through the 4 commits",
            ),
            (
                "3 index sync (once per run)",
                "the run's 4000 new paths into the index",
            ),
        ];
        for (size, _, _, samples) in &cases {
            let files = SIZES.iter().find(|(n, _)| n == size).unwrap().1;
            for ((scenario, notes), samples) in rows.iter().zip(samples) {
                report(scenario, size, files, samples, notes);
            }
        }
        Ok(())
    }

    /// Scenario 4: `nes migrate status` and `list` (the built binary) on a 10,000-commit history.
    fn status(&self) -> Result<()> {
        let nes = PathBuf::from(env!("CARGO_BIN_EXE_nes"));
        let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let sizes: Vec<&str> = if self.big {
            vec!["100k", "1m"]
        } else {
            vec!["100k"]
        };
        for size in sizes {
            let base = self.base(size)?.unwrap();
            for sub in ["status", "list"] {
                let argv = [
                    path(&nes),
                    "--db-repo".into(),
                    path(&base),
                    "migrate".into(),
                    sub.into(),
                ];
                self.measure(&argv, &[("NES_MIGRATIONS_DIR", &migrations)])?; // warm-up
                let samples = (0..self.runs.unwrap_or(7))
                    .map(|_| self.measure(&argv, &[("NES_MIGRATIONS_DIR", &migrations)]))
                    .collect::<Result<Vec<_>>>()?;
                let files = SIZES.iter().find(|(n, _)| *n == size).unwrap().1;
                report(
                    &format!("4 nes migrate {sub}"),
                    size,
                    files,
                    &samples,
                    "10,000 commits; warm",
                );
            }
            ensure!(
                support::git(&base, &["status", "--porcelain"])?.is_empty(),
                "status changed the repository"
            );
        }
        Ok(())
    }

    /// Scenario 5: `nes db verify` over the real bundle and the largest synthetic repository.
    fn verify(&self) -> Result<()> {
        let mut bases = vec!["real", "100k"];
        if self.big {
            bases.push("1m");
        }
        for name in bases {
            let base = self.base(name)?.unwrap();
            let argv = self.child_argv(&["verify", &path(&base)]);
            self.measure(&argv, &[])?; // warm the page cache
            let samples = (0..self.runs_for(if name == "1m" { 1_000_000 } else { 0 }, 5).max(1))
                .map(|_| self.measure(&argv, &[]))
                .collect::<Result<Vec<_>>>()?;
            let files: usize = support::git(&base, &["ls-files"])?.lines().count();
            let mut rates: Vec<f64> = samples.iter().map(|s| files as f64 / s.secs).collect();
            rates.sort_by(f64::total_cmp);
            report(
                "5 verify_repo",
                name,
                files,
                &samples,
                &format!("{:.0} files/s (median)", rates[rates.len() / 2]),
            );
        }
        Ok(())
    }

    /// Scenario 6: a bulk update of every political party (`update_each`, streaming).
    fn bulk(&self) -> Result<()> {
        let sizes: Vec<&str> = if self.big {
            vec!["100k", "1m"]
        } else {
            vec!["100k"]
        };
        for size in sizes {
            let base = self.base(size)?;
            let runs = self.runs_for(if size == "1m" { 1_000_000 } else { 0 }, 3);
            let files = SIZES.iter().find(|(n, _)| *n == size).unwrap().1;
            let parties = support::composition(files)
                .iter()
                .find(|(k, _)| *k == Kind::Party)
                .unwrap()
                .1;
            let mut samples = Vec::new();
            for _ in 0..runs {
                let repo = self.fresh(&base, &["v2/entity/organization/"])?;
                let before = support::head(&repo);
                let scratch = self.scratch.join("child");
                let s = self.measure(&self.child_argv(&["update", &path(&repo), &path(&scratch)]), &[])?;
                // Entity and version file per party, plus the run record (`.nes/runs/`).
                ensure!(
                    s.commits == (2 * parties + 1).div_ceil(1000),
                    "{} commits",
                    s.commits
                );
                support::check_consistent(&repo, before.as_deref(), s.commits)?;
                samples.push(s);
                self.clean(&repo)?;
            }
            report(
                "6 bulk update (nes)",
                size,
                2 * parties,
                &samples,
                &format!(
                    "every party: {parties} entities + versions; phases (median): {}",
                    median_phases(&samples)
                ),
            );
        }
        Ok(())
    }

    /// Scenario 7: `nes diff` (the built binary) over one migration's batch commits: 10k
    /// persons created on the real bundle, every ward of the real bundle renamed, every ward
    /// of the 100k repository renamed (half its entities, plus as many versions), and 100k
    /// persons created in an empty repository (100k documents).
    fn diff(&self) -> Result<()> {
        let nes = PathBuf::from(env!("CARGO_BIN_EXE_nes"));
        let cases: [(&str, &[&str], &str); 4] = [
            ("real", &["create", "10000"], "10k persons created"),
            ("real", &["update", "ward"], "every ward renamed"),
            ("100k", &["update", "ward"], "every ward renamed"),
            ("empty", &["create", "100000"], "100k persons created"),
        ];
        for (name, step, what) in cases {
            let base = self.base(name)?;
            let private: &[&str] = if step[0] == "update" {
                &["v2/entity/location/"]
            } else {
                &[]
            };
            let repo = self.fresh(&base, private)?;
            let scratch = self.scratch.join("child");
            // The empty base has no commit yet: compare with git's empty tree.
            let head = support::head(&repo);
            let before = head
                .clone()
                .unwrap_or_else(|| "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into());
            let since = head.map_or("HEAD".to_string(), |h| format!("{h}..HEAD"));
            let (repo_s, scratch_s) = (path(&repo), path(&scratch));
            let mut argv = vec![step[0], repo_s.as_str(), scratch_s.as_str()];
            argv.extend(&step[1..]);
            self.measure(&self.child_argv(&argv), &[])?;
            let files = support::git(&repo, &["diff", "--name-only", &before, "HEAD"])?
                .lines()
                .count();
            let commits = support::git(&repo, &["rev-list", "--count", &since])?;
            let commits = commits.trim();
            for (flag, label) in [("--stat", "7 nes diff --stat"), ("--json", "7 nes diff --json")] {
                let cmd = [
                    path(&nes),
                    "--db-repo".into(),
                    path(&repo),
                    "diff".into(),
                    flag.into(),
                ];
                self.measure(&cmd, &[])?; // warm the page cache
                let samples = (0..self.runs_for(0, 3))
                    .map(|_| self.measure(&cmd, &[]))
                    .collect::<Result<Vec<_>>>()?;
                report(
                    label,
                    name,
                    files,
                    &samples,
                    &format!("{what}; n = files changed in {commits} batch commits"),
                );
            }
            self.clean(&repo)?;
        }
        Ok(())
    }
}

/// The measured side of each scenario, in its own process (for its peak RSS).
fn child(args: &[String]) -> Result<()> {
    let arg = |i: usize| -> Result<&str> { args.get(i).map(String::as_str).context("missing argument") };
    match arg(0)? {
        "create" => {
            let n: usize = arg(3)?.parse()?;
            let r = support::run_migration(Path::new(arg(1)?), Path::new(arg(2)?), Job::Create(n))?;
            // 2n, plus the author file where the base lacks it.
            ensure!(
                r.files == 2 * n || r.files == 2 * n + 1,
                "{} files written",
                r.files
            );
            println!("COMMITS {}", r.commits);
            print_phases(&r);
        }
        "update" => {
            let kind = match args.get(3).map(String::as_str) {
                Some("ward") => Kind::Ward,
                _ => Kind::Party,
            };
            let r = support::run_migration(Path::new(arg(1)?), Path::new(arg(2)?), Job::UpdateAll(kind))?;
            println!("COMMITS {}", r.commits);
            print_phases(&r);
        }
        "write" => {
            let paths = support::write_persons(Path::new(arg(1)?), arg(2)?.parse()?)?;
            std::fs::write(arg(3)?, paths.join("\n") + "\n")?;
        }
        "floor" => {
            let files = support::write_floor(Path::new(arg(1)?), arg(2)?.parse()?)?;
            println!("FILES {files}");
        }
        "batch" => batch_child(Path::new(arg(1)?))?,
        "verify" => verify_child(Path::new(arg(1)?))?,
        other => bail!("unknown child step {other}"),
    }
    Ok(())
}

/// 1000-file batches the `batch` child commits, one measured run each.
const BATCHES: usize = 4;

/// Writes `BATCHES` x 1000 files and commits them as one run of `BATCHES` batches, printing
/// the seconds of each batch commit and then of the run's index sync as `INNER` lines.
fn batch_child(repo: &Path) -> Result<()> {
    use nes::git::commit::{prepare_batches, FileChange};
    use nes::git::index::{sync_index_using, BlobIds, IndexSync};
    let paths = support::write_persons(repo, BATCHES * 500)?;
    let data = nes::git::repo::DataRepo::open(repo)?;
    let sig = git2::Signature::now("Bench Author", "bench@example.org")?;
    let meta = support::meta("900-bench-batch", "batch");
    let mut changes: Vec<FileChange> = paths.into_iter().map(FileChange::Write).collect();
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    let batches: Vec<Vec<FileChange>> = changes.chunks(1000).map(<[FileChange]>::to_vec).collect();
    ensure!(batches.len() == BATCHES, "{} batches", batches.len());
    let mut blob_ids = BlobIds::new();
    let mut start = Instant::now();
    // Each batch is timed when its objects are in the run's pack; then the pack is finished
    // and the branch moves through them all (the last line), as a run does. No spill: every
    // blob is read.
    let prepared = prepare_batches(
        &data,
        &batches,
        1,
        BATCHES,
        &meta,
        &sig,
        &mut blob_ids,
        None,
        &mut |_, _| {
            println!("INNER {}", start.elapsed().as_secs_f64());
            start = Instant::now();
        },
    )?;
    prepared.publish(&data, &mut |_, _| {})?;
    println!("INNER {}", start.elapsed().as_secs_f64());
    // `NES_BENCH_INDEX_SYNC=in-place|rebuild` times libgit2's ways instead, for comparison.
    let how = match std::env::var("NES_BENCH_INDEX_SYNC").as_deref() {
        Ok("in-place") => IndexSync::InPlace,
        Ok("rebuild") => IndexSync::Rebuild,
        _ => IndexSync::Auto,
    };
    let start = Instant::now();
    sync_index_using(&data, batches.iter().flatten(), &blob_ids, how)?;
    println!("INNER {}", start.elapsed().as_secs_f64());
    Ok(())
}

fn verify_child(repo: &Path) -> Result<()> {
    let report = nes::verify::verify_repo(
        repo,
        &nes::verify::VerifyOptions {
            paths: vec![],
            progress: false,
        },
    )?;
    println!("REPORT {report:?}");
    Ok(())
}

fn shared_bundle() -> Result<PathBuf> {
    let dir = std::env::var_os("NES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let bundle = dir.join("nes-format/nes-database.bundle");
    ensure!(
        bundle.is_file(),
        "{} not found; set NES_SHARED_DIR",
        bundle.display()
    );
    Ok(bundle)
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Prints one table row (and appends it to `results.md` beside the cached repositories).
fn report(scenario: &str, base: &str, n: usize, samples: &[Sample], notes: &str) {
    let mut secs: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let rss = samples.iter().map(|s| s.rss_kb).max().unwrap_or(0) / 1024;
    let own = match samples.iter().filter_map(|s| s.self_rss_kb).max() {
        Some(kb) => format!(" (nes {} MB)", kb / 1024),
        None => String::new(),
    };
    let row = format!(
        "| {scenario} | {base} | {n} | {} | {} | {}-{} | {rss} MB{own} | {notes} |",
        secs.len(),
        fmt_secs(median),
        fmt_secs(secs[0]),
        fmt_secs(secs[secs.len() - 1]),
    );
    println!("{row}");
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nes-bench/results.md");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{row}\n").as_bytes()));
}

/// Prints each phase of a run as `INNER <seconds>` and `PHASE <name>`.
fn print_phases(r: &support::RunResult) {
    for (phase, secs) in &r.phases {
        println!("INNER {secs}");
        println!("PHASE {phase}");
    }
    // `/usr/bin/time` reports the largest of the process and its children (the `git repack`
    // a long run starts); the process's own high-water mark tells them apart.
    if let Some(kb) = own_peak_kb() {
        println!("SELF_RSS {kb}");
    }
}

/// This process's peak resident set (`VmHWM`), in KiB, where /proc has it.
fn own_peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `phase time, ...`: the median of each `INNER` figure across samples, named by the
/// child's `PHASE` lines.
fn median_phases(samples: &[Sample]) -> String {
    let names = &samples[0].phases;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut v: Vec<f64> = samples.iter().filter_map(|s| s.inner.get(i).copied()).collect();
            v.sort_by(f64::total_cmp);
            format!("{name} {}", fmt_secs(v[v.len() / 2]))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

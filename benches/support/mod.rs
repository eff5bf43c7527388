//! Shared code of the scale benchmark (`benches/scale.rs`) and its smoke test
//! (`tests/bench_smoke.rs`): a generator of synthetic data repositories, per-run copies of
//! them, and generated migrations run through the real `Runner`.
//!
//! Synthetic repositories hold entity files and their version files shaped like the real
//! NES bundle (FORMAT.md §8): wards (~1.7 KB), persons (~5 KB) and political parties
//! (~3 KB), each type one flat directory. Their objects are written straight into packs
//! with git2 (no working-tree add), then checked out once.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _, Result};
use nes::git::message::{batch_message, CommitMeta};
use nes::git::repo::DataRepo;
use nes::migration::registry::{Migration, Registry};
use nes::migration::runner::{RunOptions, Runner, Target};
use nes::prelude::{json, Context, Value};
use nes::stats::Stats;
use nes::store::backend::WorkTree;
use nes::store::clock::SystemClock;
use nes::store::layout::DATA_DIR;
use nes::store::publication::{AuthorRef, Publication};

/// The number every template document carries, replaced by each entity's own number.
const TOKEN: &str = "9999999";
/// Date of the generated history.
const EPOCH: i64 = 1_762_000_000;

/// A type of entity in a synthetic repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ward,
    Person,
    Party,
}

impl Kind {
    /// Every kind with its share of a synthetic repository's entities (in tenths):
    /// half wards, 40% persons, 10% parties.
    pub const MIX: [(Kind, usize); 3] = [(Kind::Ward, 5), (Kind::Person, 4), (Kind::Party, 1)];

    /// `entity:<type>/<subtype>/` of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Ward => "entity:location/ward/",
            Kind::Person => "entity:person/",
            Kind::Party => "entity:organization/political_party/",
        }
    }

    /// `(type, subtype)` as `list_entities` takes them.
    pub fn listing(self) -> (&'static str, Option<&'static str>) {
        match self {
            Kind::Ward => ("location", Some("ward")),
            Kind::Person => ("person", None),
            Kind::Party => ("organization", Some("political_party")),
        }
    }

    /// Entity ID of entity number `i` (`tag` tells generated sets apart: "seed", "new").
    pub fn id(self, tag: &str, i: usize) -> String {
        format!("{}{}", self.prefix(), self.slug(tag, i))
    }

    fn slug(self, tag: &str, i: usize) -> String {
        let word = match self {
            Kind::Ward => "ward",
            Kind::Person => "person",
            Kind::Party => "party",
        };
        format!("{tag}-{word}-{i:07}")
    }

    /// Realistic fields of entity number `i`, modelled on the real bundle's files.
    pub fn fields(self, tag: &str, i: usize) -> Value {
        let name = format!(
            "{} {i:07}",
            title_case(&self.slug(tag, 0)[..self.slug(tag, 0).len() - 8])
        );
        let names = json!([{
            "kind": "PRIMARY",
            "en": {"full": name},
            "ne": {"full": format!("नमूना {i:07}")}
        }]);
        let text = |en: &str, ne: &str| json!({"en": {"provenance": "imported", "value": en}, "ne": {"provenance": "imported", "value": ne}});
        let attribution = |title: &str| {
            json!([{
                "title": text(title, "नेपाल निर्वाचन आयोग - २०७९ को नतिजा"),
                "details": text("Synthetic benchmark data - imported 2025-11-12",
                    "२०७९ निर्वाचन परिणाम - आयात मिति 2025-11-12 A.D.")
            }])
        };
        match self {
            Kind::Ward => json!({
                "names": names,
                "attributions": attribution("Sagar Gautam (GitHub)"),
            }),
            Kind::Party => json!({
                "names": names,
                "attributions": attribution("Nepal Election Commission"),
                "identifiers": [{"scheme": "other", "value": format!("{i}"),
                    "name": text("Election Commission Registration Number (2082)", "निर्वाचन आयोग दर्ता नं.")}],
                "contacts": [{"type": "PHONE", "value": "+9779875370091"}, {"type": "PHONE", "value": "+9779851021356"}],
                "party_chief": text("Chairman: Indra Bahadur Thapa", "अध्यक्षः इन्द्र बहादुर थापा"),
                "registration_date": "2021-02-23",
                "symbol": {"name": text("Owl", "लाटोकोसेरो")},
            }),
            Kind::Person => json!({
                "names": names,
                "attributions": attribution("Nepal Election Commission - 2079 results"),
                "attributes": {"election_council_misc": {
                    "institution": text("Law Campus Kathmandu", "ल क्याम्पस काठमाण्डौ"),
                    "other_details": null,
                    "qualification": text("Intermediate", "+2")}},
                "identifiers": [{"scheme": "other", "value": format!("{i}"),
                    "name": text("nec_candidate_id", "निर्वाचन आयोग दर्ता नं०]")}],
                "short_description": text("Candidate in the 2079 provincial election",
                    "२०७९ प्रदेश सभा निर्वाचनका उम्मेदवार"),
            }),
        }
    }
}

fn title_case(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// How many entities of each kind a repository of `files` files holds (each entity is two
/// files: itself and its version 1).
pub fn composition(files: usize) -> Vec<(Kind, usize)> {
    let entities = files / 2;
    Kind::MIX
        .iter()
        .map(|&(k, tenths)| (k, entities * tenths / 10))
        .collect()
}

/// The two files (entity, version) of a kind, as written by the real publication API for
/// entity number [`TOKEN`], for the generator to copy with the number replaced.
struct Template {
    files: Vec<(String, String)>,
}

/// Per-kind templates, and the author files (path, bytes) they need.
type Templates = (Vec<(Kind, Template)>, Vec<(String, Vec<u8>)>);

fn templates() -> Result<Templates> {
    let dir = tempfile::tempdir()?;
    let mut publication = Publication::new(
        Box::new(WorkTree::new(dir.path())),
        Box::new(SystemClock),
        bench_author(),
    );
    let mut out = Vec::new();
    for (kind, _) in Kind::MIX {
        let id = kind.id("seed", TOKEN.parse()?);
        publication.create_entity(
            &id,
            kind.fields("seed", TOKEN.parse()?),
            "Synthetic benchmark data",
        )?;
        publication.flush()?;
        let files = publication
            .journal()
            .touched()
            .into_iter()
            .filter(|p| p.contains(&kind.slug("seed", TOKEN.parse().unwrap())))
            .map(|p| Ok((p.clone(), std::fs::read_to_string(dir.path().join(&p))?)))
            .collect::<Result<Vec<_>>>()?;
        ensure!(
            files.len() == 2,
            "expected an entity and a version file for {id}, got {files:?}"
        );
        out.push((kind, Template { files }));
    }
    let authors = walk_files(&dir.path().join("v2/author"))?
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned();
            Ok((rel, std::fs::read(&p)?))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, authors))
}

fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry?;
        if entry.file_type().is_file() {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

/// The author of generated data and migrations.
pub fn bench_author() -> AuthorRef {
    AuthorRef {
        slug: "bench-author".into(),
        name: Some("Bench Author".into()),
    }
}

/// Commit metadata of generated history (ledger-parsable batch commits).
pub fn meta(migration: &str, run: &str) -> CommitMeta {
    CommitMeta {
        migration: migration.into(),
        description: "Synthetic benchmark history".into(),
        author: "Bench Author".into(),
        date: "2025-11-01".into(),
        stats: Stats::default(),
        duration: Duration::from_secs(1),
        run_id: run.into(),
        checksum: "v1:sha256:0000000000000000000000000000000000000000000000000000000000000000".into(),
    }
}

/// Writes a synthetic data repository of about `files` files and `commits` commits into
/// `dest` (which must not exist): one commit holding every file, then `commits - 1` empty
/// batch commits of generated migrations (10 batches each) so the ledger is long.
///
/// Objects are written with git2 straight into packs ([`PackedObjects`]) and trees are built
/// bottom-up from in-memory listings: `git fast-import` keeps tree entries in lists it
/// searches linearly, quadratic in a flat directory of 400k entries. The working tree is
/// then checked out once by git, with parallel workers.
pub fn generate(dest: &Path, files: usize, commits: usize) -> Result<()> {
    let (templates, authors) = templates()?;
    std::fs::create_dir_all(dest)?;
    git(dest, &["init", "--quiet", "--initial-branch=main"])?;
    configure(dest)?;
    let repo = git2::Repository::open(dest)?;
    let odb = repo.odb()?;
    let mut objects = PackedObjects::new(&repo, odb.add_new_mempack_backend(1000)?);
    // Directory -> its entries (name, id, mode); every ancestor of a file has a key.
    let mut dirs: BTreeMap<String, Vec<(String, git2::Oid, i32)>> = BTreeMap::new();
    let mut add_file = |objects: &mut PackedObjects<'_>, path: &str, bytes: &[u8]| -> Result<()> {
        let id = objects.add(repo.blob(bytes)?)?;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        dirs.entry(dir.to_string())
            .or_default()
            .push((name.to_string(), id, 0o100644));
        let mut ancestor = dir;
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            dirs.entry(parent.to_string()).or_default();
            ancestor = parent;
        }
        dirs.entry(String::new()).or_default();
        Ok(())
    };
    for (path, bytes) in &authors {
        add_file(&mut objects, path, bytes)?;
    }
    for (kind, count) in composition(files) {
        let template = &templates.iter().find(|(k, _)| *k == kind).unwrap().1;
        for i in 0..count {
            let number = format!("{i:07}");
            for (path, text) in &template.files {
                add_file(
                    &mut objects,
                    &path.replace(TOKEN, &number),
                    text.replace(TOKEN, &number).as_bytes(),
                )?;
            }
        }
    }
    // Deepest directories first, so each tree's subtrees exist when it is written.
    let mut order: Vec<String> = dirs.keys().cloned().collect();
    order.sort_by_key(|d| {
        std::cmp::Reverse(if d.is_empty() {
            0
        } else {
            d.matches('/').count() + 1
        })
    });
    let mut root = None;
    for dir in order {
        let entries = dirs.remove(&dir).unwrap_or_default();
        let mut builder = repo.treebuilder(None)?;
        for (name, id, mode) in &entries {
            builder.insert(name, *id, *mode)?;
        }
        let id = objects.add(builder.write()?)?;
        match dir.rsplit_once('/') {
            Some((parent, name)) => dirs
                .get_mut(parent)
                .unwrap()
                .push((name.to_string(), id, 0o040000)),
            None if dir.is_empty() => root = Some(id),
            None => dirs.get_mut("").unwrap().push((dir.clone(), id, 0o040000)),
        }
    }
    let root = repo.find_tree(root.context("no root tree")?)?;
    let mut time = EPOCH;
    let mut parent: Option<git2::Oid> = None;
    let mut commit = |objects: &mut PackedObjects<'_>, message: &str| -> Result<()> {
        time += 1;
        let sig = git2::Signature::new("Bench Author", "bench@example.org", &git2::Time::new(time, 0))?;
        let parents: Vec<git2::Commit<'_>> = parent
            .map(|p| repo.find_commit(p))
            .transpose()?
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        parent = Some(objects.add(repo.commit(None, &sig, &sig, message, &root, &parents)?)?);
        Ok(())
    };
    commit(
        &mut objects,
        &batch_message(&meta("000-bench-seed", "seed"), 1, 1),
    )?;
    // Migrations of 10 batches each; the last one gets what is left, so none is partial.
    let history = commits.saturating_sub(1);
    for k in 0..history {
        let (migration, batch) = (k / 10 + 1, k % 10 + 1);
        let total = (history - (migration - 1) * 10).min(10);
        let m = meta(
            // Prefixes stay below the benchmark's own migrations (900+), which would
            // otherwise be out of order and not run.
            &format!("{:03}-bench-history-{migration}", (migration - 1) % 899 + 1),
            &format!("run-{migration}"),
        );
        commit(&mut objects, &batch_message(&m, batch, total))?;
    }
    objects.flush()?;
    let head = parent.context("no commit")?;
    drop(objects);
    repo.reference("refs/heads/main", head, true, "generated")?;
    git(dest, &["-c", "checkout.workers=2", "reset", "--hard", "--quiet"])?;
    Ok(())
}

/// Objects written to an in-memory backend and packed every [`PackedObjects::CHUNK`]
/// objects, so generating 1M files never writes a loose object.
struct PackedObjects<'r> {
    repo: &'r git2::Repository,
    mempack: git2::Mempack<'r>,
    pending: Vec<git2::Oid>,
}

impl<'r> PackedObjects<'r> {
    const CHUNK: usize = 50_000;

    fn new(repo: &'r git2::Repository, mempack: git2::Mempack<'r>) -> Self {
        Self {
            repo,
            mempack,
            pending: Vec::new(),
        }
    }

    /// Records a newly written object for the next pack.
    fn add(&mut self, id: git2::Oid) -> Result<git2::Oid> {
        self.pending.push(id);
        if self.pending.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(id)
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut builder = self.repo.packbuilder()?;
        builder.set_threads(0);
        for id in self.pending.drain(..) {
            builder.insert_object(id, None)?;
        }
        builder.write(&self.repo.path().join("objects/pack"), 0)?;
        self.mempack.reset()?;
        Ok(())
    }
}

/// Repository settings every synthetic repository and copy uses: an identity,
/// `core.trustctime=false` because per-run copies hardlink the working tree (linking
/// changes the inode's ctime, which would otherwise make git re-hash every file), and what
/// `nes db init` sets for large repositories (preloaded index, untracked cache).
fn configure(dir: &Path) -> Result<()> {
    git(dir, &["config", "user.name", "Bench Author"])?;
    git(dir, &["config", "user.email", "bench@example.org"])?;
    git(dir, &["config", "core.trustctime", "false"])?;
    git(dir, &["config", "gc.auto", "0"])?;
    git(dir, &["config", "core.preloadIndex", "true"])?;
    git(dir, &["config", "core.untrackedCache", "true"])?;
    Ok(())
}

/// A synthetic repository of `files` files and `commits` commits, generated once under
/// `cache` (e.g. `target/nes-bench/repo-100k`) and reused by later runs.
pub fn cached_repo(cache: &Path, name: &str, files: usize, commits: usize) -> Result<PathBuf> {
    let dest = cache.join(name);
    if dest.join(".git/nes-bench-complete").exists() {
        warm_status_cache(&dest)?;
        return Ok(dest);
    }
    if dest.exists() {
        std::fs::remove_dir_all(&dest)?;
    }
    let start = std::time::Instant::now();
    generate(&dest, files, commits)?;
    std::fs::write(
        dest.join(".git/nes-bench-complete"),
        format!("{files} {commits}\n"),
    )?;
    eprintln!(
        "generated {} ({files} files, {commits} commits) in {:.1?}",
        dest.display(),
        start.elapsed()
    );
    warm_status_cache(&dest)?;
    Ok(dest)
}

/// Applies the current settings to a cached repository and runs `git status` once, which
/// writes git's untracked cache into its index, as on a data repository in daily use (per-run
/// copies copy that index).
fn warm_status_cache(dest: &Path) -> Result<()> {
    let marker = dest.join(".git/nes-bench-status-cache");
    if marker.exists() {
        return Ok(());
    }
    configure(dest)?;
    git(dest, &["status", "--porcelain"])?;
    std::fs::write(marker, "")?;
    Ok(())
}

/// An empty data repository (just initialised, no commit) at `dest`.
pub fn empty_repo(dest: &Path) -> Result<()> {
    DataRepo::init(dest, None)?;
    configure(dest)
}

/// A copy of `src` at `dest` that runs may change freely: git objects and working-tree files
/// are hardlinked (objects are immutable; new files replace links), everything else under
/// `.git` (index, refs, logs, config) is copied, and files under the `private` prefixes are
/// copied too because a run rewrites them in place.
pub fn copy_repo(src: &Path, dest: &Path, private: &[&str]) -> Result<()> {
    ensure!(!dest.exists(), "{} already exists", dest.display());
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(src).unwrap();
        let target = dest.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        let rel_str = rel.to_string_lossy();
        let link = if rel_str.starts_with(".git/") {
            rel_str.starts_with(".git/objects/")
        } else {
            !private.iter().any(|p| rel_str.starts_with(p))
        };
        if link {
            std::fs::hard_link(entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    // Writes fresh stat data for anything racily clean, outside any timing.
    git(dest, &["update-index", "-q", "--refresh"])?;
    Ok(())
}

/// Runs git in `dir`, failing with its stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output()?;
    if !out.status.success() {
        bail!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

// ---- generated migrations ----------------------------------------------------------------

static CREATE_COUNT: AtomicUsize = AtomicUsize::new(0);
static UPDATE_KIND: OnceLock<Kind> = OnceLock::new();

/// Creates `CREATE_COUNT` new persons (a `fn` pointer cannot capture, so the count is global).
fn create_persons(ctx: &mut Context) -> nes::prelude::Result<()> {
    ctx.use_author("author:bench-author")?;
    for i in 0..CREATE_COUNT.load(Ordering::Relaxed) {
        ctx.create_entity(
            &Kind::Person.id("new", i),
            Kind::Person.fields("new", i),
            "Benchmark import",
        )?;
    }
    Ok(())
}

/// Rewrites every entity of `UPDATE_KIND`: a new short description, so a new version each.
fn update_all(ctx: &mut Context) -> nes::prelude::Result<()> {
    ctx.use_author("author:bench-author")?;
    let kind = *UPDATE_KIND.get().expect("update kind set");
    let (entity_type, sub_type) = kind.listing();
    // `update_each` streams: one entity in memory at a time, however many there are.
    ctx.update_each(entity_type, sub_type, "Benchmark bulk update", |entity| {
        let mut fields = entity.doc.clone();
        fields["short_description"] =
            json!({"en": {"provenance": "human", "value": "Bulk-updated by the benchmark"}, "ne": null});
        Ok(Some(fields))
    })?;
    Ok(())
}

fn migration(name: &'static str, migrate: nes::migration::registry::MigrationFn) -> Migration {
    Migration {
        name,
        prefix: name[..3].parse().unwrap(),
        author: "Bench Author",
        date: "2025-11-21",
        description: "Generated by the scale benchmark.",
        migrate,
        check: None,
        verify: None,
        deletes: false,
        example: false,
    }
}

/// What a benchmark migration did.
#[derive(Debug)]
pub struct RunResult {
    pub files: usize,
    pub commits: usize,
    /// Seconds of each phase of the run (`migrate` = the migration code writing files), in order.
    pub phases: Vec<(&'static str, f64)>,
}

/// Which generated migration to run.
#[derive(Debug, Clone, Copy)]
pub enum Job {
    /// Create this many persons.
    Create(usize),
    /// Update every entity of this kind.
    UpdateAll(Kind),
}

/// Runs a generated migration on `repo` through the real `Runner`, in batches of 1000, and
/// checks it completed; `scratch` receives the migrations folder.
pub fn run_migration(repo: &Path, scratch: &Path, job: Job) -> Result<RunResult> {
    let (name, f): (&'static str, nes::migration::registry::MigrationFn) = match job {
        Job::Create(n) => {
            CREATE_COUNT.store(n, Ordering::Relaxed);
            ("900-bench-create", create_persons)
        }
        Job::UpdateAll(kind) => {
            ensure!(
                UPDATE_KIND.set(kind).is_ok() || UPDATE_KIND.get() == Some(&kind),
                "one update kind per process"
            );
            ("901-bench-update", update_all)
        }
    };
    let migrations = scratch.join("migrations");
    std::fs::create_dir_all(migrations.join(name))?;
    std::fs::write(
        migrations.join(name).join("README.md"),
        "Generated by the scale benchmark.\n",
    )?;
    let registry = Registry::new(vec![migration(name, f)])?;
    let data = DataRepo::open(repo)?;
    let options = RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        ..RunOptions::default()
    };
    let report = Runner::new(&registry, &migrations).run(&data, &Target::AllPending, &options)?;
    let m = report.migrations.first().context("the migration did not run")?;
    ensure!(m.error.is_empty(), "{name} failed: {:?}", m.error);
    Ok(RunResult {
        files: m.files.len(),
        commits: m.commits.len(),
        phases: m.phases.iter().map(|p| (p.phase, p.seconds)).collect(),
    })
}

/// Writes the files `Job::Create(n)` would, without committing (what plain git then commits).
pub fn write_persons(repo: &Path, n: usize) -> Result<Vec<String>> {
    let mut publication = Publication::new(
        Box::new(WorkTree::new(repo)),
        Box::new(SystemClock),
        bench_author(),
    );
    publication.use_author("author:bench-author")?;
    for i in 0..n {
        publication.create_entity(
            &Kind::Person.id("new", i),
            Kind::Person.fields("new", i),
            "Benchmark import",
        )?;
    }
    publication.flush()?;
    Ok(publication.journal().touched())
}

/// The disk's floor for `Job::Create(n)`: the same paths (n entity files in one directory,
/// n version directories with one file each) written by plain `create_dir` + `write` on one
/// thread, with entity-sized bytes and no JSON work. Returns the files written.
pub fn write_floor(repo: &Path, n: usize) -> Result<usize> {
    let (entity, version) = (vec![b'x'; 2600], vec![b'y'; 3000]);
    for i in 0..n {
        let id = nes::store::id::ObjectId::parse(&Kind::Person.id("new", i))?;
        let object = repo.join(DATA_DIR).join(id.rel_path());
        if i == 0 {
            std::fs::create_dir_all(object.parent().context("entity directory")?)?;
        }
        std::fs::write(&object, &entity)?;
        let version_file = repo.join(DATA_DIR).join(id.version_rel_path(1));
        std::fs::create_dir_all(version_file.parent().context("version directory")?)?;
        std::fs::write(&version_file, &version)?;
    }
    Ok(2 * n)
}

/// The command committing `repo`'s working tree with plain git: one `git add -A && git commit`,
/// or, with `per`, `git add` + `git commit` for each `per` paths of the `paths` list file.
pub fn plain_git_argv(repo: &Path, paths: &Path, per: Option<usize>) -> Vec<String> {
    let script = match per {
        None => "git add -A && git commit --quiet -m 'Plain git commit'".to_string(),
        Some(per) => format!(
            "set -e; d=$(mktemp -d); split -l {per} '{}' \"$d/c\"; \
             for f in \"$d\"/c*; do git add --pathspec-from-file=\"$f\"; \
             git commit --quiet -m 'Plain git batch'; done; rm -r \"$d\"",
            paths.display()
        ),
    };
    ["sh", "-c", &format!("cd '{}' && {script}", repo.display())]
        .map(String::from)
        .to_vec()
}

/// Checks a repository after a run: clean `git status` (index and working tree agree with
/// HEAD) and the expected number of commits on top of `base` (None: unborn before).
pub fn check_consistent(repo: &Path, base: Option<&str>, commits: usize) -> Result<()> {
    let status = git(repo, &["status", "--porcelain", "--untracked-files=all"])?;
    // `.nes/` is nes' own state (ignored by its .gitignore when present); anything else is a bug.
    let dirty: Vec<&str> = status.lines().filter(|l| !l.contains(".nes/")).take(5).collect();
    ensure!(
        dirty.is_empty(),
        "working tree not clean after the run: {dirty:?}"
    );
    let range = base.map_or("HEAD".to_string(), |b| format!("{b}..HEAD"));
    let count: usize = git(repo, &["rev-list", "--count", &range])?.trim().parse()?;
    ensure!(count == commits, "expected {commits} new commits, found {count}");
    Ok(())
}

/// HEAD of `repo`, or None when unborn.
pub fn head(repo: &Path) -> Option<String> {
    git(repo, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .ok()
        .map(|s| s.trim().to_string())
}

/// Counts of files by top directory, for sanity checks.
pub fn tracked_files(repo: &Path) -> Result<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for line in git(repo, &["ls-files"])?.lines() {
        let key: String = line.split('/').take(3).collect::<Vec<_>>().join("/");
        *out.entry(key).or_default() += 1;
    }
    Ok(out)
}

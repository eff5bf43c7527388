//! Runs for the differential tests: operations on a working tree, resolved against what it
//! holds, written through the runner's own backend (with or without its blob spill) and
//! committed by the runner's own commit path; then every check of [`super::oracle`].
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use nes::git::commit::{commit_batches, consolidate_packs, plan_batches, prepare_batches, FileChange};
use nes::git::index::{sync_index, BlobIds};
use nes::git::plumbing::blob_spill::BlobSpill;
use nes::git::repo::DataRepo;
use nes::store::backend::{Backend as _, WorkTree};

use super::git_support::{self, common};
use super::oracle::{self, assert_index_clean, assert_sound, assert_worktree, git, Files, Scratch};

/// Directories the operations write into: flat type directories, nested subtypes, a
/// directory of files and directories, version directories, a non-ASCII one.
const DIRS: [&str; 7] = [
    "v2/entity/person",
    "v2/entity/organization/political_party",
    "v2/entity/organization",
    "v2/relationship",
    "v2/version/entity/person",
    "v2/entity/location/district/काठमाडौं",
    "v2/misc",
];

/// Slug stems, chosen to meet git's ordering edge cases (`a`, `a-b`, `a.b` and a directory
/// `a/` sort differently as files and as trees) and non-ASCII names.
const STEMS: [&str; 10] = [
    "a",
    "a-b",
    "a.b",
    "ram-bahadur",
    "सीता-देवी",
    "zoë",
    "名前",
    "Ωmega",
    "kathmandu",
    "z",
];

/// The repository a case starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Just `nes db init`.
    Fresh,
    /// History made by git itself: a gc'd pack, loose objects, an untracked-cache index.
    Aged,
    /// [`Kind::Aged`] with an index in version 4 (prefix-compressed paths).
    AgedIndexV4,
}

/// One operation of a run; selectors are resolved against the working tree when it runs.
#[derive(Debug, Clone)]
pub enum Op {
    /// A file `<slug>.json` in one of [`DIRS`].
    Create {
        dir: u8,
        slug: u16,
        size: u32,
    },
    /// New content for an existing file.
    Update {
        pick: u32,
        size: u32,
    },
    Delete {
        pick: u32,
    },
    /// An existing file to `<slug>.json` in one of [`DIRS`]: a delete and a write in one unit.
    Move {
        pick: u32,
        dir: u8,
        slug: u16,
    },
    /// `count` new files in one directory, each a unit of its own.
    Fill {
        dir: u8,
        count: u16,
        size: u32,
    },
    /// Every file below one directory deleted: the directory vanishes.
    Clear {
        dir: u8,
    },
    /// An entity and its versions, in one unit: a new version directory.
    Entity {
        slug: u16,
        versions: u8,
    },
    /// `v2/misc/<slug>` turned from a file into a directory or back.
    Flip {
        slug: u16,
    },
    /// `count` files of one directory rewritten, each a unit: with a batch size of 1, as
    /// many versions of the directory's tree.
    Touch {
        dir: u8,
        pick: u32,
        count: u16,
    },
}

/// One run: its operations, how it is batched and committed.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub ops: Vec<Op>,
    pub batch_size: usize,
    /// Through the blob spill and `prepare_batches`/`publish` (what the runner does), or
    /// through `commit_batches` (files read back from the working tree).
    pub spill: bool,
    pub seed: u64,
}

/// Runs into one repository.
#[derive(Debug, Clone)]
pub struct Case {
    pub kind: Kind,
    pub runs: Vec<RunSpec>,
}

/// A step of a unit.
pub enum Action {
    Write(String, Vec<u8>),
    Delete(String),
    /// An emptied directory removed from disk (git does not track directories).
    RemoveDir(String),
}

/// What a case left: its repository and the longest delta chain after each run.
pub struct Outcome {
    pub dir: tempfile::TempDir,
    pub chains: Vec<usize>,
}

impl Outcome {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs every run of `case` into a new repository, checking each against git; the last run
/// also gets the expensive checks (gc, clones).
pub fn run_case(case: &Case) -> Outcome {
    let dir = common::fast_tempdir();
    let root = dir.path();
    git_support::new_repo(root);
    let mut files = oracle::read_worktree(root);
    age(root, &mut files, case.kind);
    let repo = DataRepo::open(root).unwrap();
    let mut chains = Vec::new();
    let mut tag = 0u64;
    for (number, run) in case.runs.iter().enumerate() {
        let units = resolve(run, number, &files, &mut tag);
        let context = format!("run {} of {case:?}", number + 1);
        chains.push(run_and_check(
            &repo,
            &mut files,
            units,
            run.batch_size,
            run.spill,
            &context,
        ));
    }
    oracle::assert_survives_gc_and_clones(root, &files);
    Outcome { dir, chains }
}

/// Writes `units` through the runner's backend, commits them as the runner does, and checks
/// every batch's commit and the repository against git; returns the longest delta chain.
pub fn run_and_check(
    repo: &DataRepo,
    files: &mut Files,
    units: Vec<Vec<Action>>,
    batch_size: usize,
    use_spill: bool,
    context: &str,
) -> usize {
    let root = repo.root().to_path_buf();
    let base = git(&root, &["rev-parse", "HEAD"]);
    let before = files.clone();
    let spill = use_spill.then(|| BlobSpill::create(repo.git_dir()).unwrap());
    let plan = write_units(&root, spill.as_ref(), files, units);
    let changes: Vec<Vec<FileChange>> = plan
        .iter()
        .enumerate()
        .map(|(u, paths)| {
            paths
                .iter()
                .filter(|p| plan_last(&plan, p) == u)
                .filter_map(|p| match (files.contains_key(p), before.contains_key(p)) {
                    (true, _) => Some(FileChange::Write(p.clone())),
                    (false, true) => Some(FileChange::Delete(p.clone())),
                    (false, false) => None,
                })
                .collect::<Vec<_>>()
        })
        .filter(|u| !u.is_empty())
        .collect();
    let mut batches = plan_batches(&changes, batch_size);
    // As the runner does: a run that changed nothing still records one commit.
    if batches.is_empty() {
        batches.push(Vec::new());
    }
    let meta = git_support::meta("900-differential", "r1");
    let sig = git_support::sig(repo);
    let oids = match &spill {
        Some(spill) => {
            let mut blob_ids = BlobIds::new();
            let n = batches.len();
            let prepared = prepare_batches(
                repo,
                &batches,
                1,
                n,
                &meta,
                &sig,
                &mut blob_ids,
                Some(spill.as_ref()),
                &mut |_, _| {},
            )
            .unwrap_or_else(|e| panic!("{context}: prepare_batches failed: {e:#}"));
            let oids = prepared.publish(repo, &mut |_, _| {}).unwrap();
            sync_index(repo, batches.iter().flatten(), &blob_ids).unwrap();
            consolidate_packs(repo);
            oids
        }
        None => commit_batches(repo, &batches, &meta, &sig, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{context}: commit_batches failed: {e:#}")),
    };
    drop(spill);
    assert_eq!(oids.len(), batches.len(), "{context}: one commit per batch");

    // The index first: `git status` refreshes it.
    assert_index_clean(&root);
    let scratch = Scratch::new(&root);
    scratch.start(&base);
    let mut parent = base;
    for (number, (batch, oid)) in batches.iter().zip(&oids).enumerate() {
        let (mut written, mut deleted) = (Vec::new(), Vec::new());
        for change in batch {
            match change {
                FileChange::Write(p) => written.push(p.as_str()),
                FileChange::Delete(p) => deleted.push(p.as_str()),
            }
        }
        let expected = scratch.batch_tree(&written, &deleted);
        assert_eq!(
            git(&root, &["rev-parse", &format!("{oid}^{{tree}}")]),
            expected,
            "{context}: batch {} of {}: nes's tree is not the one git builds\n\
             written {written:?}\ndeleted {deleted:?}",
            number + 1,
            batches.len()
        );
        assert_eq!(
            git(&root, &["rev-parse", &format!("{oid}^")]),
            parent,
            "{context}: parent of batch {}",
            number + 1
        );
        parent = oid.to_string();
    }
    assert_eq!(git(&root, &["rev-parse", "HEAD"]), parent, "{context}: HEAD");
    assert_eq!(
        scratch.tree_of_worktree(),
        git(&root, &["rev-parse", "HEAD^{tree}"]),
        "{context}: HEAD's tree is not the one `git add -A && git write-tree` builds"
    );
    assert_worktree(&root, files, context);
    assert_sound(&root)
}

/// The unit each path was last touched in.
fn plan_last(plan: &[Vec<String>], path: &str) -> usize {
    plan.iter().rposition(|u| u.iter().any(|p| p == path)).unwrap()
}

/// Applies `units` to the working tree through the runner's backend and to `files`;
/// returns the paths each unit touched, in order (the publication journal's units).
fn write_units(
    root: &Path,
    spill: Option<&Arc<BlobSpill>>,
    files: &mut Files,
    units: Vec<Vec<Action>>,
) -> Vec<Vec<String>> {
    let mut backend = WorkTree::with_spill(root, spill.cloned());
    let mut plan = Vec::new();
    for unit in units {
        let mut touched = Vec::new();
        for action in unit {
            match action {
                Action::Write(path, bytes) => {
                    backend.write(&path, &bytes).unwrap();
                    files.insert(path.clone(), bytes);
                    touched.push(path);
                }
                Action::Delete(path) => {
                    backend.delete(&path).unwrap();
                    files.remove(&path);
                    touched.push(path);
                }
                Action::RemoveDir(dir) => {
                    backend.flush().unwrap();
                    match std::fs::remove_dir_all(root.join(&dir)) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            panic!("cannot remove {dir}: {e}")
                        }
                        _ => {}
                    }
                    // Its writer threads remember the directories they made.
                    backend = WorkTree::with_spill(root, spill.cloned());
                }
            }
        }
        plan.push(touched);
    }
    backend.flush().unwrap();
    plan
}

/// The units of `run` (the `number`th of its case) against the working tree `files`.
pub fn resolve(run: &RunSpec, number: usize, files: &Files, tag: &mut u64) -> Vec<Vec<Action>> {
    let mut model = files.clone();
    let mut units = Vec::new();
    for (k, op) in run.ops.iter().enumerate() {
        for unit in resolve_op(op, &model, &format!("r{number}o{k}"), run.seed, tag) {
            for action in &unit {
                match action {
                    Action::Write(p, b) => {
                        model.insert(p.clone(), b.clone());
                    }
                    Action::Delete(p) => {
                        model.remove(p);
                    }
                    Action::RemoveDir(_) => {}
                }
            }
            units.push(unit);
        }
    }
    units
}

fn resolve_op(op: &Op, model: &Files, name: &str, seed: u64, tag: &mut u64) -> Vec<Vec<Action>> {
    let mut next = || {
        *tag += 1;
        seed ^ *tag
    };
    let nth = |pick: u32| model.keys().nth(pick as usize % model.len().max(1)).cloned();
    let in_dir = |dir: u8| -> Vec<String> {
        let prefix = format!("{}/", DIRS[dir as usize % DIRS.len()]);
        model.keys().filter(|p| p.starts_with(&prefix)).cloned().collect()
    };
    match *op {
        Op::Create { dir, slug, size } => {
            let path = format!("{}/{}.json", DIRS[dir as usize % DIRS.len()], slug_of(slug));
            vec![vec![Action::Write(path.clone(), content(&path, next(), size))]]
        }
        Op::Update { pick, size } => nth(pick)
            .map(|path| vec![vec![Action::Write(path.clone(), content(&path, next(), size))]])
            .unwrap_or_default(),
        Op::Delete { pick } => nth(pick)
            .map(|p| vec![vec![Action::Delete(p)]])
            .unwrap_or_default(),
        Op::Move { pick, dir, slug } => {
            let to = format!("{}/{}.json", DIRS[dir as usize % DIRS.len()], slug_of(slug));
            match nth(pick) {
                Some(from) if from != to => {
                    let bytes = model[&from].clone();
                    vec![vec![Action::Delete(from), Action::Write(to, bytes)]]
                }
                _ => Vec::new(),
            }
        }
        Op::Fill { dir, count, size } => (0..count)
            .map(|i| {
                let path = format!("{}/fill-{name}-{i:04}.json", DIRS[dir as usize % DIRS.len()]);
                // Many files: keep each small.
                vec![Action::Write(path.clone(), content(&path, next(), size % 600))]
            })
            .collect(),
        Op::Clear { dir } => in_dir(dir).into_iter().map(|p| vec![Action::Delete(p)]).collect(),
        Op::Entity { slug, versions } => {
            let slug = slug_of(slug);
            let entity = format!("v2/entity/person/{slug}.json");
            let mut unit = vec![Action::Write(entity.clone(), content(&entity, next(), 300))];
            for v in 1..=versions {
                let version = format!("v2/version/entity/person/{slug}/{v}.json");
                unit.push(Action::Write(version.clone(), content(&version, next(), 200)));
            }
            vec![unit]
        }
        Op::Flip { slug } => {
            let path = format!("v2/misc/{}", slug_of(slug));
            let below: Vec<String> = model
                .keys()
                .filter(|p| p.starts_with(&format!("{path}/")))
                .cloned()
                .collect();
            if model.contains_key(&path) {
                // A file becomes a directory (of directories, for odd slugs).
                let leaf = if slug % 2 == 1 {
                    format!("{path}/sub/leaf.json")
                } else {
                    format!("{path}/leaf.json")
                };
                vec![vec![
                    Action::Delete(path),
                    Action::Write(leaf.clone(), content(&leaf, next(), 50)),
                ]]
            } else {
                // Emptied by earlier deletes or not, the directory may still be on disk.
                let mut unit: Vec<Action> = below.into_iter().map(Action::Delete).collect();
                unit.push(Action::RemoveDir(path.clone()));
                unit.push(Action::Write(path.clone(), content(&path, next(), 60)));
                vec![unit]
            }
        }
        Op::Touch { dir, pick, count } => {
            let paths = in_dir(dir);
            if paths.is_empty() {
                return Vec::new();
            }
            (0..count as usize)
                .map(|i| &paths[(pick as usize + i) % paths.len()])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|p| vec![Action::Write(p.clone(), content(p, next(), 120))])
                .collect()
        }
    }
}

fn slug_of(n: u16) -> String {
    let n = n as usize;
    format!("{}-{}", STEMS[n % STEMS.len()], n / STEMS.len() % 50)
}

/// JSON-ish bytes of exactly `size` bytes, unique to `path` and `tag`; size 3 is `{}\n`,
/// shared by every file given it (one blob in many places).
pub fn content(path: &str, tag: u64, size: u32) -> Vec<u8> {
    if size == 3 {
        return b"{}\n".to_vec();
    }
    let mut out = format!("{{\"path\": \"{path}\", \"tag\": {tag}, \"pad\": \"").into_bytes();
    let mut state = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ path.len() as u64;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ";
    while out.len() < size as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push(CHARS[(state % CHARS.len() as u64) as usize]);
    }
    out.truncate(size as usize);
    out
}

/// Gives the repository a history git made: a pack from `git gc`, loose objects after it,
/// an index with an untracked cache (and in version 4 for [`Kind::AgedIndexV4`]).
fn age(root: &Path, files: &mut Files, kind: Kind) {
    if kind == Kind::Fresh {
        return;
    }
    let write = |files: &mut Files, path: String, size: u32| {
        let bytes = content(&path, files.len() as u64, size);
        git_support::write(root, &path, std::str::from_utf8(&bytes).unwrap());
        files.insert(path, bytes);
    };
    for i in 0..40 {
        write(files, format!("v2/entity/person/aged-{i:03}.json"), 150 + i);
        write(
            files,
            format!("v2/entity/organization/political_party/aged-{i:03}.json"),
            90,
        );
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "aged: packed"]);
    git(root, &["gc", "-q"]);
    for i in 0..10 {
        write(files, format!("v2/relationship/aged-{i:03}.json"), 300);
    }
    for i in 0..5 {
        write(files, format!("v2/entity/person/aged-{i:03}.json"), 77);
    }
    for i in 5..8 {
        let path = format!("v2/entity/person/aged-{i:03}.json");
        std::fs::remove_file(root.join(&path)).unwrap();
        files.remove(&path);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "aged: loose"]);
    git(root, &["config", "core.untrackedCache", "true"]);
    git(root, &["update-index", "--untracked-cache"]);
    if kind == Kind::AgedIndexV4 {
        git(root, &["update-index", "--index-version", "4"]);
    }
    git(root, &["status", "--porcelain"]);
    let counts = git(root, &["count-objects", "-v"]);
    assert!(
        !counts.contains("\ncount: 0\n") && !counts.starts_with("count: 0\n"),
        "loose objects: {counts}"
    );
    assert!(!counts.contains("packs: 0"), "a pack: {counts}");
}

/// A run of a few hundred changes into the real database (a clone of the shared bundle),
/// in batches of 100 through the spill: rewrites, deletes, moves, new non-ASCII entities.
pub fn run_on_bundle(shared: &Path) {
    let dir = common::fast_tempdir();
    let root = common::clone_bundle(shared, &dir.path().join("db"));
    let repo = DataRepo::open(&root).unwrap();
    let mut files = oracle::read_worktree(&root);
    let paths: Vec<String> = files.keys().filter(|p| p.ends_with(".json")).cloned().collect();
    assert!(paths.len() > 1000, "the real database has files");
    let mut units = Vec::new();
    let mut tag = 0;
    let step = paths.len() / 400;
    for (i, path) in paths.iter().step_by(step).enumerate() {
        tag += 1;
        units.push(match i % 8 {
            // A move: the same bytes under a new, non-ASCII name beside it.
            0 => {
                let to = path.replace(".json", "-सार्नु.json");
                vec![
                    Action::Delete(path.clone()),
                    Action::Write(to, files[path].clone()),
                ]
            }
            1 => vec![Action::Delete(path.clone())],
            _ => {
                let mut bytes = files[path].clone();
                bytes.extend_from_slice(format!("\n{tag}\n").as_bytes());
                vec![Action::Write(path.clone(), bytes)]
            }
        });
    }
    for i in 0..60u16 {
        let slug = slug_of(i * 7 + 3);
        let entity = format!("v2/entity/person/{slug}-नयाँ.json");
        let version = format!("v2/version/entity/person/{slug}-नयाँ/1.json");
        units.push(vec![
            Action::Write(entity.clone(), content(&entity, i as u64, 400)),
            Action::Write(version.clone(), content(&version, i as u64, 250)),
        ]);
    }
    let changed = units.iter().map(Vec::len).sum::<usize>();
    assert!(
        (400..1000).contains(&changed),
        "a few hundred changes ({changed})"
    );
    run_and_check(&repo, &mut files, units, 100, true, "run into the real database");
    oracle::assert_survives_gc_and_clones(&root, &files);
}

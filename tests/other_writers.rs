//! Sharing the data repository with other writers (a queue bot, a scraper, another runner)
//! through a bare remote on the local filesystem. Another clone pushes between the run's
//! start and its push, at the `before-push` test hook (`NES_HOOK_BEFORE_PUSH`), never by
//! timing; the run must land on top of it, applying its migration once, or, when another
//! runner applied the migration first, push nothing and say so.

mod common;

use common::git;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const UPDATE: &str = "003-example-update";
const SITA: &str = "v2/entity/person/sita-example-sharma.json";

/// A bare remote holding migrations 000-002, the run's clone `db` and another writer's
/// clone `other`, both at the remote's head.
struct World {
    dir: TempDir,
    remote: PathBuf,
    db: PathBuf,
    other: PathBuf,
}

impl World {
    fn new() -> Self {
        Self::with_applied(&["000", "001", "002"])
    }

    /// A world where only `applied` ran (and were pushed) before the test.
    fn with_applied(applied: &[&str]) -> Self {
        let dir = TempDir::new().unwrap();
        git(
            dir.path(),
            &["init", "--quiet", "--bare", "--initial-branch=main", "remote.git"],
        );
        let remote = dir.path().join("remote.git");
        let db = dir.path().join("db");
        let other = dir.path().join("other");
        let world = Self {
            remote,
            db,
            other,
            dir,
        };
        let remote_str = world.remote.to_str().unwrap();
        ok(&world.nes(&["db", "init", "--remote", remote_str], None));
        common::set_identity(&world.db);
        for name in applied {
            ok(&world.nes(&["migrate", "run", name, "-q"], None));
        }
        git(world.dir.path(), &["clone", "--quiet", remote_str, "other"]);
        common::set_identity(&world.other);
        world
    }

    /// `nes` on `db` with the repository's migrations, optionally with a command run at the
    /// `before-push` hook.
    fn nes(&self, args: &[&str], hook: Option<&str>) -> Output {
        self.nes_in(&self.db, args, hook)
    }

    fn nes_in(&self, db: &Path, args: &[&str], hook: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nes"));
        cmd.current_dir(self.dir.path())
            .env(
                "NES_MIGRATIONS_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
            )
            .env("NES_GIT_AUTHOR", "nes-bot <bot@example.org>")
            .env("NES_DB_REPO", db)
            .env_remove("NES_FAULT")
            .env_remove("NES_HOOK_BEFORE_PUSH")
            .args(args);
        if let Some(hook) = hook {
            cmd.env("NES_HOOK_BEFORE_PUSH", hook);
        }
        cmd.output().expect("run nes")
    }

    /// A hook command: the other clone pushes its branch, the first time only.
    fn push_once(&self) -> String {
        format!(
            "if [ \"$NES_HOOK_COUNT\" = 1 ]; then git -C '{}' push --quiet origin main; fi",
            self.other.display()
        )
    }

    /// Commits everything in the other clone as `author`; returns the commit.
    fn other_commits(&self, author: &str, message: &str) -> String {
        git(&self.other, &["add", "-A"]);
        git(
            &self.other,
            &["commit", "--quiet", "--author", author, "-m", message],
        );
        git(&self.other, &["rev-parse", "HEAD"]).trim().to_string()
    }

    fn remote_git(&self, args: &[&str]) -> String {
        git(&self.remote, args)
    }

    /// The run ids of `name` on the remote's `main`, one per batch commit.
    fn runs_on_remote(&self, name: &str) -> Vec<String> {
        self.remote_git(&[
            "log",
            "--format=%(trailers:key=Nes-Migration,valueonly,separator=)|%(trailers:key=Nes-Run,valueonly,separator=)",
            "main",
        ])
        .lines()
        .filter_map(|l| l.split_once('|'))
        .filter(|(m, _)| m.trim() == name)
        .map(|(_, run)| run.trim().to_string())
        .collect()
    }

    /// Asserts the remote's `main` is `theirs` with only `name`'s batches of one run on top,
    /// the migration applied once in all of history, and the run's clone at the same commit.
    fn assert_landed_on_top_of(&self, theirs: &str, name: &str) {
        git(&self.remote, &["merge-base", "--is-ancestor", theirs, "main"]);
        let on_top = self.remote_git(&["log", "--format=%s", &format!("{theirs}..main")]);
        assert!(!on_top.is_empty(), "nothing on top of {theirs}");
        for subject in on_top.lines() {
            assert!(subject.starts_with(&format!("Migration: {name}")), "{subject}");
        }
        let mut runs = self.runs_on_remote(name);
        runs.dedup();
        assert_eq!(runs.len(), 1, "{name} applied once: {runs:?}");
        assert_eq!(
            self.remote_git(&["rev-parse", "main"]),
            git(&self.db, &["rev-parse", "HEAD"])
        );
        // The result is sound: the whole repository verifies, and git agrees.
        ok(&self.nes(&["db", "verify"], None));
        git(&self.remote, &["fsck", "--strict", "--no-dangling"]);
    }
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn blob(repo: &Path, rev_path: &str) -> Value {
    serde_json::from_str(&git(repo, &["show", rev_path])).unwrap()
}

#[test]
fn an_unrelated_commit_pushed_before_the_push_is_kept_and_the_run_replayed_on_top() {
    let w = World::new();
    std::fs::create_dir_all(w.other.join("notes")).unwrap();
    std::fs::write(w.other.join("notes/backfill.txt"), "scraped\n").unwrap();
    let theirs = w.other_commits("Scraper <scraper@example.org>", "Backfill notes");

    let out = w.nes(&["migrate", "run", UPDATE, "--json"], Some(&w.push_once()));
    ok(&out);
    let report = json(&out);
    assert_eq!(report["push"]["outcome"], "pushed", "{report}");
    assert_eq!(report["landing"]["push_attempts"], 2, "{report}");
    assert_eq!(report["landing"]["start"], "up-to-date", "{report}");
    assert_eq!(report["migrations"][0]["status"], "completed");
    assert_eq!(report["migrations"][0]["replays"], 1, "{report}");

    w.assert_landed_on_top_of(&theirs, UPDATE);
    assert_eq!(w.remote_git(&["show", "main:notes/backfill.txt"]), "scraped\n");
    let sita = blob(&w.remote, &format!("main:{SITA}"));
    assert_eq!(
        sita["short_description"]["en"]["value"],
        "Example person for nes."
    );
}

/// The queue bot's community edit: a new version of the entity written through the
/// publication API, as the service writes it, committed by hand.
fn queue_bot_edits_sita(other: &Path) {
    use nes::store::backend::WorkTree;
    use nes::store::clock::SystemClock;
    use nes::store::publication::{AuthorRef, Publication};
    let author = AuthorRef {
        slug: "queue-bot".into(),
        name: Some("Queue Bot".into()),
    };
    let mut publication = Publication::new(Box::new(WorkTree::new(other)), Box::new(SystemClock), author);
    publication.use_author("Queue Bot").unwrap();
    publication
        .patch_entity(
            "entity:person/sita-example-sharma",
            serde_json::json!({ "tags": ["community-edit"] }),
            "Community edit: tag",
        )
        .unwrap();
    publication.flush().unwrap();
}

#[test]
fn an_edit_to_the_same_entity_is_kept_and_the_replay_is_reproducible() {
    let w = World::new();
    queue_bot_edits_sita(&w.other);
    let theirs = w.other_commits("Queue Bot <queue@example.org>", "Community edit");
    let before = blob(&w.other, &format!("HEAD:{SITA}"));
    let their_version = before["version_summary"]["version_number"].as_u64().unwrap();

    let out = w.nes(
        &["migrate", "run", UPDATE, "--reproducible", "--json"],
        Some(&w.push_once()),
    );
    ok(&out);
    let report = json(&out);
    assert_eq!(report["migrations"][0]["replays"], 1, "{report}");
    w.assert_landed_on_top_of(&theirs, UPDATE);

    // Both changes are in the entity, the migration's as the version after the bot's.
    let sita = blob(&w.remote, &format!("main:{SITA}"));
    assert_eq!(sita["tags"], serde_json::json!(["community-edit"]));
    assert_eq!(
        sita["short_description"]["en"]["value"],
        "Example person for nes."
    );
    assert_eq!(
        sita["version_summary"]["version_number"].as_u64(),
        Some(their_version + 1)
    );

    // Byte-identical to a reproducible run made directly on the bot's commit.
    let direct = w.dir.path().join("direct");
    git(
        w.dir.path(),
        &["clone", "--quiet", w.remote.to_str().unwrap(), "direct"],
    );
    common::set_identity(&direct);
    git(&direct, &["reset", "--quiet", "--hard", &theirs]);
    ok(&w.nes_in(
        &direct,
        &["migrate", "run", UPDATE, "--reproducible", "--no-push", "-q"],
        None,
    ));
    assert_eq!(
        git(&direct, &["rev-parse", "HEAD:v2"]),
        w.remote_git(&["rev-parse", "main:v2"]),
        "the replay's documents differ from a direct run on the same base"
    );
}

#[test]
fn when_another_runner_applied_the_migration_first_nothing_is_pushed() {
    let w = World::new();
    // Another runner's clone applies the same migration and pushes at the hook.
    ok(&w.nes_in(&w.other, &["migrate", "run", UPDATE, "--no-push", "-q"], None));
    let theirs = git(&w.other, &["rev-parse", "HEAD"]);

    let out = w.nes(&["migrate", "run", UPDATE], Some(&w.push_once()));
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("applied on origin/main by another run first") && stdout.contains("nothing pushed"),
        "{stdout}"
    );
    assert_eq!(w.remote_git(&["rev-parse", "main"]), theirs, "nothing pushed");
    assert_eq!(git(&w.db, &["rev-parse", "HEAD"]), theirs);
    assert_eq!(w.runs_on_remote(UPDATE).len(), 1);
    ok(&w.nes(&["db", "verify"], None));
    let status = String::from_utf8_lossy(&w.nes(&["migrate", "status"], None).stdout).into_owned();
    assert!(
        status
            .lines()
            .any(|l| l.contains(UPDATE) && l.contains("applied")),
        "{status}"
    );
}

#[test]
fn the_json_report_says_another_runner_applied_it() {
    let w = World::new();
    ok(&w.nes_in(&w.other, &["migrate", "run", UPDATE, "--no-push", "-q"], None));
    let out = w.nes(&["migrate", "run", "--all", "--json"], Some(&w.push_once()));
    ok(&out);
    let report = json(&out);
    assert_eq!(report["migrations"][0]["name"], UPDATE);
    assert_eq!(report["migrations"][0]["status"], "skipped", "{report}");
    assert_eq!(report["migrations"][0]["commits"], serde_json::json!([]));
    assert_eq!(
        report["landing"]["applied_elsewhere"],
        serde_json::json!([UPDATE])
    );
    assert!(report.get("push").is_none(), "{report}");
}

#[test]
fn a_run_starts_from_the_remote_head() {
    let w = World::new();
    std::fs::write(w.other.join("hand-fix.txt"), "fixed\n").unwrap();
    let theirs = w.other_commits("Maintainer <m@example.org>", "Hand fix");
    git(&w.other, &["push", "--quiet", "origin", "main"]);

    let out = w.nes(&["migrate", "run", UPDATE, "--json"], None);
    ok(&out);
    let report = json(&out);
    assert_eq!(report["landing"]["start"], "fast-forward", "{report}");
    assert_eq!(report["landing"]["started_from"], theirs.as_str());
    assert_eq!(report["landing"]["push_attempts"], 1);
    assert!(report["migrations"][0].get("replays").is_none(), "{report}");
    w.assert_landed_on_top_of(&theirs, UPDATE);
}

#[test]
fn a_local_commit_nes_did_not_make_is_refused_before_anything_runs() {
    let w = World::new();
    std::fs::write(w.db.join("local.txt"), "mine\n").unwrap();
    git(&w.db, &["add", "local.txt"]);
    git(&w.db, &["commit", "--quiet", "-m", "Local hand commit"]);
    let local = git(&w.db, &["rev-parse", "HEAD"]);
    let remote = w.remote_git(&["rev-parse", "main"]);

    let out = w.nes(&["migrate", "run", UPDATE], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("commits nes did not make") && stderr.contains("Local hand commit"),
        "{stderr}"
    );
    assert_eq!(git(&w.db, &["rev-parse", "HEAD"]), local, "nothing committed");
    assert_eq!(w.remote_git(&["rev-parse", "main"]), remote, "nothing pushed");
    // With --no-push the run does not meet the remote, and commits on top as before.
    ok(&w.nes(&["migrate", "run", UPDATE, "--no-push", "-q"], None));
}

#[test]
fn a_remote_that_keeps_moving_ends_in_a_clear_error_and_the_next_run_lands() {
    let w = World::new();
    // A busy bot: a new commit on the remote before every push.
    let busy = format!(
        "git -C '{0}' commit --quiet --allow-empty -m \"bot $NES_HOOK_COUNT\" && git -C '{0}' push --quiet origin main",
        w.other.display()
    );
    let out = w.nes(&["migrate", "run", UPDATE, "--push-retries", "2"], Some(&busy));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let remote_head = w.remote_git(&["rev-parse", "main"]).trim().to_string();
    assert!(
        stderr.contains("rejected 3 time(s)")
            && stderr.contains(&remote_head[..12])
            && stderr.contains(&format!("not pushed: {UPDATE}")),
        "{stderr}"
    );
    assert_eq!(
        w.remote_git(&["log", "-1", "--format=%s", "main"]).trim(),
        "bot 3"
    );
    assert!(w.runs_on_remote(UPDATE).is_empty(), "nothing of the run pushed");
    // The commits are kept locally, on top of what the remote had at the last replay.
    let local = git(&w.db, &["log", "--format=%s", "-2"]);
    assert!(local.starts_with(&format!("Migration: {UPDATE}")), "{local}");

    // The next run finds nes's unpushed batches under a moved remote, replays them on its
    // head and pushes.
    let out = w.nes(&["migrate", "run", UPDATE, "--json"], None);
    ok(&out);
    let report = json(&out);
    assert_eq!(report["landing"]["start"], "replayed", "{report}");
    assert_eq!(report["migrations"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["migrations"][0]["name"], UPDATE);
    assert_eq!(report["migrations"][0]["status"], "completed");
    assert_eq!(report["push"]["outcome"], "pushed");
    w.assert_landed_on_top_of(&remote_head, UPDATE);
}

#[test]
fn push_retries_zero_keeps_the_commits_at_the_first_rejection() {
    let w = World::new();
    std::fs::write(w.other.join("x.txt"), "x\n").unwrap();
    let theirs = w.other_commits("Scraper <scraper@example.org>", "x");
    let out = w.nes(
        &["migrate", "run", UPDATE, "--push-retries", "0"],
        Some(&w.push_once()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(w.remote_git(&["rev-parse", "main"]).trim(), theirs);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected 1 time(s)"));
}

#[test]
fn a_replay_that_fails_on_the_new_head_pushes_nothing_of_it_and_says_why() {
    let w = World::with_applied(&["000", "001"]);
    // A maintainer removes the city the party of 002 gives as its address.
    git(
        &w.other,
        &[
            "rm",
            "--quiet",
            "v2/entity/location/metropolitan_city/kathmandu-metropolitan-city.json",
        ],
    );
    let theirs = w.other_commits("Maintainer <m@example.org>", "Remove a city");

    let out = w.nes(&["migrate", "run", "--all", "--json"], Some(&w.push_once()));
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let migrations = report["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 2, "{report}");
    assert_eq!(migrations[0]["name"], "002-example-relationships");
    assert_eq!(migrations[0]["status"], "failed", "{report}");
    assert_eq!(migrations[0]["replays"], 1);
    assert_eq!(migrations[1]["name"], UPDATE);
    assert_eq!(migrations[1]["status"], "skipped");
    assert!(
        migrations[1]["reason"]
            .as_str()
            .unwrap()
            .contains("002-example-relationships failed there first"),
        "{report}"
    );
    assert!(report.get("push").is_none(), "{report}");
    assert_eq!(w.remote_git(&["rev-parse", "main"]).trim(), theirs);
    assert_eq!(git(&w.db, &["rev-parse", "HEAD"]).trim(), theirs);
    assert_eq!(
        git(&w.db, &["status", "--porcelain"]),
        "",
        "working tree restored"
    );
}

#[test]
fn unpushed_batches_of_an_earlier_run_are_pushed_by_the_next_run() {
    let w = World::new();
    ok(&w.nes(&["migrate", "run", UPDATE, "--no-push", "-q"], None));
    let local = git(&w.db, &["rev-parse", "HEAD"]);
    assert_ne!(w.remote_git(&["rev-parse", "main"]), local);

    // Nothing is pending, but the branch is ahead with nes's own batches.
    let out = w.nes(&["migrate", "run", "--all", "--json"], None);
    ok(&out);
    let report = json(&out);
    assert_eq!(report["landing"]["start"], "ahead", "{report}");
    assert_eq!(report["push"]["outcome"], "pushed", "{report}");
    assert_eq!(w.remote_git(&["rev-parse", "main"]), local);
    assert_eq!(w.runs_on_remote(UPDATE).len(), 1);
}

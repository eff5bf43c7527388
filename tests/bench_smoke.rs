//! The scale benchmark's scenarios at smoke size (~200 files), so the harness cannot rot.
//! Correctness only (commit counts, clean `git status`); timings belong to `cargo bench`.

#[path = "../benches/support/mod.rs"]
mod support;

use support::{Job, Kind};

#[test]
fn the_generator_writes_the_requested_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = support::cached_repo(dir.path(), "repo-200", 200, 25).unwrap();
    let files = support::tracked_files(&repo).unwrap();
    // 100 entities: 50 wards, 40 persons, 10 parties, each with a version; 1 author.
    assert_eq!(files["v2/entity/location"], 50);
    assert_eq!(files["v2/entity/person"], 40);
    assert_eq!(files["v2/version/entity"], 100);
    assert_eq!(files["v2/author/bench-author.json"], 1);
    assert_eq!(
        support::git(&repo, &["rev-list", "--count", "HEAD"])
            .unwrap()
            .trim(),
        "25"
    );
    assert_eq!(support::git(&repo, &["status", "--porcelain"]).unwrap(), "");
    // Cached: a second call reuses it.
    let again = support::cached_repo(dir.path(), "repo-200", 200, 25).unwrap();
    assert_eq!(again, repo);
}

#[test]
fn scenarios_run_end_to_end_at_smoke_size() {
    let dir = tempfile::tempdir().unwrap();
    let cached = support::cached_repo(dir.path(), "repo-200", 200, 1).unwrap();

    // 1: a migration creating entities, into an empty repository and a populated copy.
    let empty = dir.path().join("empty");
    support::empty_repo(&empty).unwrap();
    let initial = support::head(&empty);
    let run = support::run_migration(&empty, &dir.path().join("s-empty"), Job::Create(510)).unwrap();
    // 510 entities x 2 files + the author file, in batches of 1000.
    assert_eq!(run.files, 1021);
    assert_eq!(run.commits, 2);
    support::check_consistent(&empty, initial.as_deref(), 2).unwrap();

    let copy = dir.path().join("copy");
    support::copy_repo(&cached, &copy, &[]).unwrap();
    let base = support::head(&copy).unwrap();
    let run = support::run_migration(&copy, &dir.path().join("s-copy"), Job::Create(100)).unwrap();
    assert_eq!((run.files, run.commits), (200, 1));
    support::check_consistent(&copy, Some(&base), 1).unwrap();
    // The cached repository is untouched by the run on its copy.
    assert_eq!(support::git(&cached, &["status", "--porcelain"]).unwrap(), "");
    assert_eq!(
        support::git(&cached, &["rev-list", "--count", "HEAD"])
            .unwrap()
            .trim(),
        "1"
    );

    // 2: the same files by plain git, in one commit and per 1000 files.
    for per in [None, Some(50)] {
        let plain = dir.path().join(format!("plain-{per:?}"));
        support::copy_repo(&cached, &plain, &[]).unwrap();
        let paths = support::write_persons(&plain, 100).unwrap();
        // The author file is already there, identical: only the 100 entities and versions.
        assert_eq!(paths.len(), 200);
        let list = dir.path().join("paths");
        std::fs::write(&list, paths.join("\n") + "\n").unwrap();
        let argv = support::plain_git_argv(&plain, &list, per);
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .status()
            .unwrap();
        assert!(status.success());
        let commits = if per.is_some() { 4 } else { 1 };
        support::check_consistent(&plain, Some(&base), commits).unwrap();
    }

    // The floor of 1: exactly the paths the migration writes, by plain file writes.
    let floor = dir.path().join("floor");
    support::copy_repo(&cached, &floor, &[]).unwrap();
    assert_eq!(support::write_floor(&floor, 100).unwrap(), 200);
    let untracked = support::git(&floor, &["ls-files", "--others"]).unwrap();
    let mut floor_paths: Vec<String> = untracked.lines().map(String::from).collect();
    let persons = dir.path().join("persons");
    support::copy_repo(&cached, &persons, &[]).unwrap();
    let mut written = support::write_persons(&persons, 100).unwrap();
    floor_paths.sort();
    written.sort();
    assert_eq!(floor_paths, written);

    // 6: a bulk update of every entity of one type, on a copy whose files of that type are
    // private (rewritten in place).
    let bulk = dir.path().join("bulk");
    support::copy_repo(&cached, &bulk, &["v2/entity/organization/"]).unwrap();
    let run = support::run_migration(&bulk, &dir.path().join("s-bulk"), Job::UpdateAll(Kind::Party)).unwrap();
    // 10 parties: rewritten entity + version 2 each.
    assert_eq!((run.files, run.commits), (20, 1));
    support::check_consistent(&bulk, Some(&base), 1).unwrap();
    assert_eq!(support::git(&cached, &["status", "--porcelain"]).unwrap(), "");
}

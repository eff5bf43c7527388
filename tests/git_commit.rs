//! Batch commits on a real repository.

mod git_support;

use std::path::Path;

use git_support::*;
use nes::git::commit::{commit_batches, plan_batches, FileChange};
use nes::git::message::parse_trailers;

fn subjects(dir: &Path, n: usize) -> Vec<String> {
    git(dir, &["log", &format!("-{n}"), "--reverse", "--format=%s"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn twenty_five_hundred_files_make_three_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let units = write_units(dir, 1250, "a");
    let batches = plan_batches(&units, 1000);
    let mut seen = Vec::new();
    let oids = commit_batches(
        &repo,
        &batches,
        &meta("004-test", "run-1"),
        &sig(&repo),
        &mut |i, n| seen.push((i, n)),
    )
    .unwrap();

    assert_eq!(oids.len(), 3);
    assert_eq!(seen, vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(repo.head().unwrap(), oids[2]);
    assert_eq!(
        subjects(dir, 3),
        [
            "Migration: 004-test (Batch 1/3)",
            "Migration: 004-test (Batch 2/3)",
            "Migration: 004-test (Batch 3/3)"
        ]
    );
    // Files per commit, from git itself.
    for (oid, expected) in oids.iter().zip([1000, 1000, 500]) {
        let files = git(
            dir,
            &[
                "diff-tree",
                "--no-commit-id",
                "-r",
                "--name-only",
                &oid.to_string(),
            ],
        );
        assert_eq!(files.lines().count(), expected);
    }
    for (i, oid) in oids.iter().enumerate() {
        let message = repo
            .git()
            .find_commit(*oid)
            .unwrap()
            .message()
            .unwrap()
            .to_string();
        let t = parse_trailers(&message);
        assert_eq!(t.batch, Some((i as u32 + 1, 3)));
        assert_eq!(t.run.as_deref(), Some("run-1"));
        assert!(message.contains("\nEntities created: 1250\n"));
        assert!(message.contains("\nDuration: 1.2s\n"));
        // git's own trailer parser agrees.
        let parsed = git(
            dir,
            &["log", "-1", "--format=%(trailers:only,unfold)", &oid.to_string()],
        );
        assert!(parsed.contains(&format!("Nes-Batch: {}/3", i + 1)), "{parsed}");
        assert!(parsed.contains("Nes-Migration: 004-test"));
        assert!(parsed.contains("Nes-Checksum: v1:sha256:00ff"));
    }
    assert_clean_and_sound(dir);
}

#[test]
fn single_batch_has_plain_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let batches = plan_batches(&write_units(dir, 3, "a"), 1000);
    commit_batches(
        &repo,
        &batches,
        &meta("001-one", "r"),
        &sig(&repo),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(subjects(dir, 1), ["Migration: 001-one"]);
    let body = git(dir, &["log", "-1", "--format=%B"]);
    assert!(body.contains("Nes-Batch: 1/1"));
    assert_clean_and_sound(dir);
}

#[test]
fn batch_tree_is_built_from_previous_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write(dir, "v2/author/a.json", "{}\n");
    write(dir, "v2/entity/location/ward/w-1.json", "{\"w\": 1}\n");
    let first = vec![
        vec![FileChange::Write("v2/author/a.json".into())],
        vec![FileChange::Write("v2/entity/location/ward/w-1.json".into())],
    ];
    commit_all(&repo, &first, 1, "001-a", "r1");
    let before = repo.git().head().unwrap().peel_to_tree().unwrap();

    let units = write_units(dir, 2, "b");
    commit_all(&repo, &units, 1000, "002-b", "r2");
    let after = repo.git().head().unwrap().peel_to_tree().unwrap();

    let id = |tree: &git2::Tree<'_>, path: &str| tree.get_path(Path::new(path)).unwrap().id();
    // Untouched subtrees are reused as they were, not rebuilt.
    assert_eq!(id(&before, "v2/author"), id(&after, "v2/author"));
    assert_eq!(
        id(&before, "v2/entity/location"),
        id(&after, "v2/entity/location")
    );
    assert_ne!(id(&before, "v2/entity"), id(&after, "v2/entity"));
    assert_eq!(id(&before, "README.md"), id(&after, "README.md"));
    assert_clean_and_sound(dir);
}

#[test]
fn deletes_remove_paths_and_empty_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let units = write_units(dir, 2, "a");
    commit_all(&repo, &units, 1000, "001-a", "r1");

    std::fs::remove_dir_all(dir.join("v2/version/entity/person/p-00001")).unwrap();
    std::fs::remove_file(dir.join("v2/entity/person/p-00001.json")).unwrap();
    write(dir, "v2/entity/person/p-00000.json", "{\"changed\": true}\n");
    let changes = vec![vec![
        FileChange::Delete("v2/entity/person/p-00001.json".into()),
        FileChange::Delete("v2/version/entity/person/p-00001/1.json".into()),
        FileChange::Write("v2/entity/person/p-00000.json".into()),
        // Deleting what HEAD never had is a no-op, not an error.
        FileChange::Delete("v2/entity/person/never.json".into()),
    ]];
    commit_batches(
        &repo,
        &changes,
        &meta("002-del", "r2"),
        &sig(&repo),
        &mut |_, _| {},
    )
    .unwrap();
    let tree = repo.git().head().unwrap().peel_to_tree().unwrap();
    assert!(tree
        .get_path(Path::new("v2/version/entity/person/p-00001"))
        .is_err());
    assert!(tree
        .get_path(Path::new("v2/version/entity/person/p-00000/1.json"))
        .is_ok());
    assert_eq!(
        git(dir, &["show", "HEAD:v2/entity/person/p-00000.json"]),
        "{\"changed\": true}\n"
    );
    assert_clean_and_sound(dir);
}

#[test]
fn missing_written_file_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let batches = vec![vec![FileChange::Write("v2/nope.json".into())]];
    let err = commit_batches(&repo, &batches, &meta("001-a", "r"), &sig(&repo), &mut |_, _| {}).unwrap_err();
    assert!(format!("{err:#}").contains("v2/nope.json"), "{err:#}");
}

#[test]
fn trailers_parse_with_git_interpret_trailers() {
    use std::io::Write as _;
    for (batch, total) in [(2, 3), (1, 1)] {
        let message = nes::git::message::batch_message(
            &meta("004-source-election-constituencies", "run-9"),
            batch,
            total,
        );
        let mut child = std::process::Command::new("git")
            .args(["interpret-trailers", "--parse"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(message.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!(
                "Nes-Migration: 004-source-election-constituencies\nNes-Batch: {batch}/{total}\n\
                 Nes-Run: run-9\nNes-Checksum: v1:sha256:00ff\n"
            )
        );
    }
}

/// Both ways of updating the index give the same entries as git's own view of HEAD, with
/// paths that sort around each other (`a-b` < `a.json` < `a/` in git's byte order).
#[test]
fn index_rebuild_and_in_place_insertion_agree() {
    use nes::git::index::{sync_index_using, BlobIds, IndexSync};

    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    std::fs::create_dir(&first).unwrap();
    let repo = new_repo(&first);
    let before = ["v2/a.json", "v2/a-b.json", "v2/a/b.json", "v2/z.json", "x.json"];
    write_and_commit(&first, &repo, &before);

    for path in ["v2/a/c.json", "v2/a-a.json", "v2/0.json", "zz.json", "v2/z.json"] {
        write(&first, path, &format!("new {path}"));
    }
    std::fs::remove_file(first.join("v2/a-b.json")).unwrap();
    std::fs::remove_file(first.join("x.json")).unwrap();
    let changes = vec![
        FileChange::Write("v2/a/c.json".into()),
        FileChange::Write("v2/a-a.json".into()),
        FileChange::Write("v2/0.json".into()),
        FileChange::Write("zz.json".into()),
        FileChange::Write("v2/z.json".into()),
        FileChange::Delete("v2/a-b.json".into()),
        FileChange::Delete("x.json".into()),
    ];
    let known = commit_without_index(&repo, &changes, "002-b");
    assert_eq!(known.len(), 5);
    // The same state three times: each copy gets another strategy.
    let (second, third) = (tmp.path().join("second"), tmp.path().join("third"));
    for copy in [&second, &third] {
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&first)
            .arg(copy)
            .status()
            .unwrap();
        assert!(copied.success());
    }

    let mut listings = Vec::new();
    for (dir, how) in [
        (&first, IndexSync::InPlace),
        (&second, IndexSync::Rebuild),
        (&third, IndexSync::Stream),
    ] {
        let repo = nes::git::repo::DataRepo::open(dir).unwrap();
        // Half the ids known, half hashed from the working tree.
        let partial: BlobIds = known.iter().take(2).map(|(k, v)| (k.clone(), *v)).collect();
        sync_index_using(&repo, &changes, &partial, how).unwrap();
        assert_eq!(
            git(dir, &["status", "--porcelain", "--untracked-files=all"]),
            "",
            "{how:?}"
        );
        git(dir, &["diff", "--cached", "--quiet"]);
        let staged = git(dir, &["ls-files", "--stage"]);
        let committed = git(dir, &["ls-tree", "-r", "--full-tree", "HEAD"]);
        let from_tree: Vec<String> = committed
            .lines()
            .map(|l| {
                let (meta, path) = l.split_once('\t').unwrap();
                let mut parts = meta.split(' ');
                let (mode, _, id) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
                format!("{mode} {id} 0\t{path}")
            })
            .collect();
        assert_eq!(staged.lines().collect::<Vec<_>>(), from_tree, "{how:?}");
        assert!(!dir.join(".git/index.lock").exists());
        listings.push(staged);
    }
    assert_eq!(listings[0], listings[1]);
    assert_eq!(listings[0], listings[2]);
}

/// A run's batches end up in one new pack holding exactly the run's new objects, no loose
/// object, and the older versions of the big directories' trees stored as deltas.
#[test]
fn a_run_leaves_one_pack_of_its_own_objects_with_tree_deltas() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let packs_before = nes::git::commit::count_packs(&repo).unwrap();
    let objects = || {
        let counts = git(dir, &["count-objects", "-v"]);
        let field = |name: &str| -> usize {
            counts
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .parse()
                .unwrap()
        };
        (field("count: "), field("in-pack: "))
    };
    let (loose_before, packed_before) = objects();
    // 500 persons a batch: the person directories pass 1024 entries (where the editor keeps
    // them in memory and records deltas) after the second batch.
    let units = write_units(dir, 3000, "a");
    let batches = plan_batches(&units, 1000);
    assert_eq!(batches.len(), 6);
    let oids = commit_batches(&repo, &batches, &meta("001-a", "r"), &sig(&repo), &mut |_, _| {}).unwrap();
    assert_eq!(nes::git::commit::count_packs(&repo).unwrap(), packs_before + 1);
    let (loose, packed) = objects();
    assert_eq!(loose, loose_before, "no loose objects");
    // 6000 blobs, 6 commits, and per batch the root, v2, entity, entity/person, version,
    // version/entity, version/entity/person trees and one tree per new version directory.
    assert_eq!(packed - packed_before, 6000 + 6 + 6 * 7 + 3000);
    git(dir, &["fsck", "--strict"]);

    // git's reader checks every entry. The person directory of entity files is kept (and
    // its versions recorded) from batch 3 on, when it passes 1024 entries: batches 3-5's
    // versions are deltas against the next batch's (chain lengths 3, 2, 1). The person
    // directory of version directories is kept from the start, as a directory of
    // directories, so its batch-2 version (over 16 KiB) is a delta too (chain length 4).
    // The newest versions and the small early ones are whole.
    let pack = std::fs::read_dir(dir.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let listing = git(dir, &["verify-pack", "-v", pack.to_str().unwrap()]);
    for depth in 1..=3 {
        assert!(
            listing.contains(&format!("chain length = {depth}: 2 objects")),
            "depth {depth}: {listing}"
        );
    }
    assert!(listing.contains("chain length = 4: 1 object"), "{listing}");
    assert!(!listing.contains("chain length = 5"), "{listing}");
    // Every batch's tree reads back whole, old and new: 1000 files more each time.
    let counts: Vec<usize> = oids
        .iter()
        .map(|oid| {
            git(dir, &["ls-tree", "-r", "--name-only", &oid.to_string()])
                .lines()
                .count()
        })
        .collect();
    for pair in counts.windows(2) {
        assert_eq!(pair[1], pair[0] + 1000, "{counts:?}");
    }
    assert_big_trees_compressed(&listing);

    // A run of one batch still compresses the big trees its batch pack stored.
    let units = write_units(dir, 10, "b");
    let batches = plan_batches(&units, 1000);
    commit_batches(&repo, &batches, &meta("002-b", "r"), &sig(&repo), &mut |_, _| {}).unwrap();
    assert_eq!(nes::git::commit::count_packs(&repo).unwrap(), packs_before + 2);
    for pack in std::fs::read_dir(dir.join(".git/objects/pack")).unwrap() {
        let pack = pack.unwrap().path();
        if pack.extension().is_some_and(|e| e == "idx") {
            assert_big_trees_compressed(&git(dir, &["verify-pack", "-v", pack.to_str().unwrap()]));
        }
    }
    assert_clean_and_sound(dir);
}

/// Every whole tree of 64 KiB or more in a `git verify-pack -v` listing takes less room in
/// the pack than its size: batch packs store such trees uncompressed, the fold compresses them.
fn assert_big_trees_compressed(listing: &str) {
    let mut big = 0;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, "tree", size, in_pack, _offset] = fields[..] {
            let (size, in_pack): (usize, usize) = (size.parse().unwrap(), in_pack.parse().unwrap());
            if size >= 64 * 1024 {
                big += 1;
                assert!(in_pack * 10 < size * 9, "stored, not compressed: {line}");
            }
        }
    }
    assert!(big > 0, "no big whole tree in {listing}");
}

/// A run of many batches leaves a handful of packs, not one per batch.
#[test]
fn many_batches_are_folded_into_few_packs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let n = nes::git::commit::PACKS_BEFORE_REPACK + 8;
    let units = write_units(dir, n, "a");
    let batches = plan_batches(&units, 2);
    assert_eq!(batches.len(), n);
    commit_batches(&repo, &batches, &meta("001-a", "r"), &sig(&repo), &mut |_, _| {}).unwrap();
    let packs = nes::git::commit::count_packs(&repo).unwrap();
    assert!(packs < 8, "{packs} packs left");
    git(dir, &["fsck", "--strict"]);
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
}

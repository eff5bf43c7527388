//! The semantic diff on real repositories written by the runner: field paths, moves,
//! deletes, version and bookkeeping counts, and the preview comment of a 10k-entity update
//! staying under GitHub's limit.

mod common;

use common::{fixture, git, migration};

use nes::diff::{self, range, Status, TreeState};
use nes::git::repo::DataRepo;
use nes::migration::preview::{render_markdown, MAX_COMMENT_CHARS};
use nes::migration::registry::Registry;
use nes::migration::runner::{Outcome, RunOptions, RunReport, Runner, Target};
use nes::prelude::*;

fn options(dry_run: bool) -> RunOptions {
    RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        dry_run,
        ..RunOptions::default()
    }
}

fn province(i: usize) -> String {
    format!("entity:location/province/province-{i:05}")
}

fn create(ctx: &mut Context, n: usize) -> Result<()> {
    for i in 0..n {
        ctx.create_entity(
            &province(i),
            json!({"names": [{"kind": "PRIMARY", "en": {"full": format!("Province {i}")}}]}),
            "add",
        )?;
    }
    ctx.create_entity(
        "entity:person/ram-example",
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Ram Example"}}], "tags": ["a"]}),
        "add",
    )?;
    Ok(())
}

fn create_300(ctx: &mut Context) -> Result<()> {
    create(ctx, 300)
}

fn create_10k(ctx: &mut Context) -> Result<()> {
    create(ctx, 10_000)
}

/// Renames every province, moves the first one, retags and then deletes nothing else.
fn rename_and_move(ctx: &mut Context) -> Result<()> {
    ctx.update_each("location", Some("province"), "rename", |e| {
        let mut doc = e.doc.clone();
        let old = doc["names"][0]["en"]["full"].as_str().unwrap().to_string();
        doc["names"][0]["en"]["full"] = json!(format!("{old} (renamed)"));
        Ok(Some(doc))
    })?;
    ctx.move_entity(
        &province(0),
        "entity:location/province/province-moved",
        "new slug",
    )?;
    ctx.patch_entity("entity:person/ram-example", json!({"tags": ["a", "b"]}), "retag")?;
    Ok(())
}

fn rename_all(ctx: &mut Context) -> Result<()> {
    ctx.update_each("location", Some("province"), "rename", |e| {
        let mut doc = e.doc.clone();
        doc["names"][0]["en"]["full"] = json!(format!("{} renamed", e.id));
        Ok(Some(doc))
    })?;
    Ok(())
}

fn delete_person(ctx: &mut Context) -> Result<()> {
    ctx.delete_entity("entity:person/ram-example")
}

fn diff_of(repo: &DataRepo, revs: &[&str]) -> diff::Diff {
    let revs: Vec<String> = revs.iter().map(|s| s.to_string()).collect();
    let range = range::resolve(repo, &revs).unwrap();
    let git = repo.git();
    let old_tree = range.from.map(|c| git.find_commit(c).unwrap().tree().unwrap());
    let new_tree = git.find_commit(range.to).unwrap().tree().unwrap();
    let paths = diff::source::changed_paths(git, old_tree.as_ref(), Some(&new_tree), |_| true).unwrap();
    let old = TreeState::new(git, old_tree);
    let new = TreeState::new(git, Some(new_tree));
    diff::collect(
        paths.into_iter().map(|c| Ok(c.path)),
        &old,
        &new,
        &diff::Options::default(),
    )
    .unwrap()
}

#[test]
fn a_migration_diff_names_fields_moves_deletes_and_counts_bookkeeping() {
    let f = fixture(&["001-create", "002-rename", "003-delete"]);
    let mut delete = migration("003-delete", delete_person);
    delete.deletes = true;
    let registry = Registry::new(vec![
        migration("001-create", create_300),
        migration("002-rename", rename_and_move),
        delete,
    ])
    .unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let report = runner.run(&f.repo, &Target::AllPending, &options(false)).unwrap();
    assert!(
        report.migrations.iter().all(|m| m.status == Outcome::Completed),
        "{report:?}"
    );

    let d = diff_of(&f.repo, &["002-rename"]);
    let provinces = &d.summary.by_kind["entity/location/province"];
    assert_eq!(
        (
            provinces.updated,
            provinces.moved,
            provinces.created,
            provinces.deleted
        ),
        (299, 1, 0, 0)
    );
    // The moved province carries the rename too: 300 documents changed the name.
    let names = &provinces.paths["names[0].en.full"];
    assert_eq!(names.documents, 300);
    let sample = &names.samples[0];
    let old = sample.old.as_ref().unwrap().as_str().unwrap();
    assert_eq!(
        sample.new.as_ref().unwrap().as_str().unwrap(),
        format!("{old} (renamed)")
    );
    let moved: Vec<_> = d.documents.iter().filter(|c| c.status == Status::Moved).collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].id, "entity:location/province/province-moved");
    assert_eq!(moved[0].moved_from.as_deref(), Some(province(0).as_str()));
    assert_eq!(moved[0].version.as_ref().unwrap().number, 1);
    assert!(
        moved[0].fields.iter().all(|f| f.path != "slug"),
        "{:?}",
        moved[0].fields
    );
    // A move is not a create plus a delete.
    assert!(d
        .documents
        .iter()
        .all(|c| c.status != Status::Created && c.status != Status::Deleted));
    let person = d
        .documents
        .iter()
        .find(|c| c.id == "entity:person/ram-example")
        .unwrap();
    assert_eq!(person.fields.len(), 1);
    assert_eq!(person.fields[0].path, "tags");
    assert_eq!(
        person.version.as_ref().unwrap().to_string(),
        "version 2 (Test Author, \"retag\")"
    );
    // 299 renames, the moved province (version 1), the retag, and the rename province-00000
    // got before it moved (its version file stays, as after a delete).
    assert_eq!(d.summary.versions.added, 302);
    assert_eq!(d.summary.bookkeeping["version_summary"], 301);
    // No bookkeeping path is listed per document by default.
    assert!(d
        .documents
        .iter()
        .flat_map(|c| &c.fields)
        .all(|f| !f.path.starts_with("version_summary")));

    // The last run by default; a delete names the document it removed.
    let last = diff_of(&f.repo, &[]);
    assert_eq!(last.documents.len(), 1);
    assert_eq!(last.documents[0].status, Status::Deleted);
    assert_eq!(last.documents[0].name.as_deref(), Some("Ram Example"));
    // Revisions too: HEAD~1..HEAD is the same change.
    assert_eq!(diff_of(&f.repo, &["HEAD~1", "HEAD"]).documents, last.documents);
    assert_eq!(git(f.repo.root(), &["status", "--porcelain"]), "");
}

#[test]
fn the_preview_of_a_10k_entity_update_fits_a_comment_and_says_what_it_left_out() {
    let f = fixture(&["001-create", "002-rename"]);
    let registry = Registry::new(vec![
        migration("001-create", create_10k),
        migration("002-rename", rename_all),
    ])
    .unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let created = runner
        .run(
            &f.repo,
            &Target::Named(vec!["001-create".into()]),
            &options(false),
        )
        .unwrap();
    assert_eq!(created.migrations[0].status, Outcome::Completed);
    let head = f.repo.head().unwrap();

    let report = runner
        .run(&f.repo, &Target::Named(vec!["002-rename".into()]), &options(true))
        .unwrap();
    assert_eq!(f.repo.head().unwrap(), head, "a preview commits nothing");
    let m = &report.migrations[0];
    let d = m.diff.as_ref().expect("a dry run carries its diff");
    assert_eq!(d.documents.len(), 10_000);
    assert_eq!(
        d.summary.by_kind["entity/location/province"].paths["names[0].en.full"].documents,
        10_000
    );
    let sample = &d.summary.by_kind["entity/location/province"].paths["names[0].en.full"].samples[0];
    assert_eq!(
        sample.new.as_ref().unwrap().as_str().unwrap(),
        format!("{} renamed", sample.id)
    );

    let markdown = render_markdown(&report, &[]);
    assert!(
        markdown.chars().count() <= MAX_COMMENT_CHARS,
        "{} chars",
        markdown.chars().count()
    );
    assert!(
        markdown.contains("| `entity/location/province` | `names[0].en.full` | 10000 |"),
        "{markdown}"
    );
    assert!(markdown.contains("Documents (20 of 10000)"), "{markdown}");
    assert!(
        markdown.contains("… and 9980 more documents: see the job summary and the `preview.json` artifact.")
    );

    // Forty such migrations in one preview: whole sections give way to their counts, and
    // the comment says which.
    let many = RunReport {
        migrations: (0..40)
            .map(|i| {
                let mut copy = m.clone();
                copy.name = format!("{:03}-rename-{i}", i + 2);
                copy
            })
            .collect(),
        ..report.clone()
    };
    let markdown = render_markdown(&many, &[]);
    assert!(
        markdown.chars().count() <= MAX_COMMENT_CHARS,
        "{} chars",
        markdown.chars().count()
    );
    assert!(markdown.contains("> **Cut:**"), "{markdown}");
    assert!(markdown.contains("`041-rename-39`"));
    assert!(
        markdown.contains("<code>041-rename-39</code>: counts only"),
        "{}",
        &markdown[markdown.len() - 3000..]
    );
}

//! A run sharing the real NES database (`nes-database-2026.bundle`: a history written by
//! the Python tool, by hand and by "NES sample") with a queue bot that pushes a community
//! edit between the run's start and its push. One test in its own binary: the
//! `NES_HOOK_BEFORE_PUSH` hook is an environment variable of this process.

mod common;

use common::git;

use std::path::Path;

use nes::git::ledger::read_ledger;
use nes::git::push::PushOutcome;
use nes::git::repo::DataRepo;
use nes::migration::registry::Registry;
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;

const NAME: &str = "011-tag-a-persons";

/// Tags every person whose slug starts with `a`.
fn tag_a_persons(ctx: &mut Context) -> Result<()> {
    ctx.update_each("person", None, "Tag for the test", |entity| {
        if !entity.id.to_string().starts_with("entity:person/a") {
            return Ok(None);
        }
        let mut fields = entity.doc.clone();
        fields["tags"] = json!(["nes-test"]);
        Ok(Some(fields))
    })?;
    Ok(())
}

/// The first person, by path, that the migration tags.
fn first_a_person(repo: &Path) -> String {
    let mut slugs: Vec<String> = std::fs::read_dir(repo.join("v2/entity/person"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('a') && n.ends_with(".json"))
        .collect();
    slugs.sort();
    let slug = slugs.first().expect("a person whose slug starts with `a`");
    format!("entity:person/{}", slug.trim_end_matches(".json"))
}

#[test]
fn a_run_on_the_real_database_lands_on_top_of_the_queue_bot() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = common::fast_tempdir();
    let root = tmp.path();
    let bundle = shared.join("nes-format/nes-database-2026.bundle");
    git(
        root,
        &[
            "clone",
            "--quiet",
            "--bare",
            "--branch",
            "main",
            bundle.to_str().unwrap(),
            "remote.git",
        ],
    );
    for clone in ["db", "other"] {
        git(root, &["clone", "--quiet", "remote.git", clone]);
        common::set_identity(&root.join(clone));
    }
    let history = git(&root.join("remote.git"), &["rev-list", "--count", "main"]);

    // The queue bot's reviewed edit of a person the migration also updates.
    let person = first_a_person(&root.join("other"));
    {
        use nes::store::backend::WorkTree;
        use nes::store::clock::SystemClock;
        use nes::store::publication::{AuthorRef, Publication};
        let mut bot = Publication::new(
            Box::new(WorkTree::new(root.join("other"))),
            Box::new(SystemClock),
            AuthorRef {
                slug: "queue-bot".into(),
                name: Some("Queue Bot".into()),
            },
        );
        bot.use_author("Queue Bot").unwrap();
        bot.patch_entity(
            &person,
            json!({ "short_description": { "en": { "value": "Reviewed community edit." } } }),
            "Community edit",
        )
        .unwrap();
        bot.flush().unwrap();
    }
    git(&root.join("other"), &["add", "-A"]);
    git(
        &root.join("other"),
        &[
            "commit",
            "--quiet",
            "--author",
            "Queue Bot <queue@example.org>",
            "-m",
            "Community edit",
        ],
    );
    let bot = git(&root.join("other"), &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    std::env::set_var(
        "NES_HOOK_BEFORE_PUSH",
        format!(
            "if [ \"$NES_HOOK_COUNT\" = 1 ]; then git -C '{}' push --quiet origin main; fi",
            root.join("other").display()
        ),
    );

    let migrations = root.join("migrations");
    std::fs::create_dir_all(migrations.join(NAME)).unwrap();
    std::fs::write(migrations.join(NAME).join("README.md"), "test").unwrap();
    let registry = Registry::new(vec![common::migration(NAME, tag_a_persons)]).unwrap();
    let runner = Runner::new(&registry, &migrations);
    let repo = DataRepo::open(&root.join("db")).unwrap();
    let options = RunOptions {
        progress: false,
        stream_logs: false,
        reproducible: true,
        ..RunOptions::default()
    };
    let report = runner
        .run(&repo, &Target::Named(vec![NAME.into()]), &options)
        .unwrap();
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Completed, "{:?}", m.error);
    assert_eq!(m.replays, 1);
    assert!(
        matches!(report.push, Some(PushOutcome::Pushed { .. })),
        "{:?}",
        report.push
    );
    let landing = report.landing.as_ref().unwrap();
    assert_eq!((landing.start, landing.push_attempts), ("up-to-date", 2));

    // The remote: the real history and the bot's commit untouched, the run on top, once.
    let remote = root.join("remote.git");
    git(&remote, &["merge-base", "--is-ancestor", &bot, "main"]);
    let on_top = git(&remote, &["log", "--format=%s", &format!("{bot}..main")]);
    assert!(
        !on_top.is_empty()
            && on_top
                .lines()
                .all(|s| s.starts_with(&format!("Migration: {NAME}"))),
        "{on_top}"
    );
    let count: usize = git(&remote, &["rev-list", "--count", "main"])
        .trim()
        .parse()
        .unwrap();
    let before: usize = history.trim().parse().unwrap();
    assert_eq!(count, before + 1 + on_top.lines().count());
    assert_eq!(
        git(&remote, &["rev-parse", "main"]).trim(),
        repo.head().unwrap().to_string()
    );

    // The ledger still reads the Python tool's migrations from the real history.
    let ledger = read_ledger(&repo).unwrap();
    assert!(ledger.get("001-source-locations").is_some_and(|e| e.python_log));
    assert_eq!(ledger.get(NAME).unwrap().commits.len(), on_top.lines().count());

    // The person has the bot's edit and the migration's tag, as the version after the bot's.
    let path = format!("v2/{}.json", person.replacen(':', "/", 1));
    let doc: serde_json::Value =
        serde_json::from_str(&git(&remote, &["show", &format!("main:{path}")])).unwrap();
    let theirs: serde_json::Value =
        serde_json::from_str(&git(&remote, &["show", &format!("{bot}:{path}")])).unwrap();
    assert_eq!(doc["tags"], json!(["nes-test"]));
    assert_eq!(
        doc["short_description"]["en"]["value"],
        "Reviewed community edit."
    );
    assert_eq!(
        doc["version_summary"]["version_number"].as_u64(),
        theirs["version_summary"]["version_number"]
            .as_u64()
            .map(|v| v + 1)
    );
}

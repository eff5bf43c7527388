//! Property: whatever sequence of calls the publication API accepts, the repository it
//! leaves passes `nes db verify`; and a migration failing its own `verify` commits nothing.

mod common;

use nes::git::repo::DataRepo;
use nes::migration::registry::{Migration, Registry};
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;
use nes::store::backend::WorkTree;
use nes::store::clock::ReproducibleClock;
use nes::store::publication::{AuthorRef, Publication};
use nes::verify::{verify_repo, VerifyOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Province(u8),
    District(u8, u8),
    Person(u8, Option<u8>),
    Rename(u8),
    Member(u8, u8),
    Author(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4u8).prop_map(Op::Province),
        (0..6u8, 0..4u8).prop_map(|(d, p)| Op::District(d, p)),
        (0..6u8, proptest::option::of(0..6u8)).prop_map(|(p, d)| Op::Person(p, d)),
        (0..4u8).prop_map(Op::Rename),
        (0..6u8, 0..3u8).prop_map(|(p, o)| Op::Member(p, o)),
        (0..3u8).prop_map(Op::Author),
    ]
}

fn names(full: &str) -> Value {
    json!([{ "kind": "PRIMARY", "en": { "full": full }, "ne": { "full": "नाम" } }])
}

/// Applies an operation; refusals (missing parent, existing ID, ...) are fine and ignored.
fn apply(p: &mut Publication, op: &Op) {
    let _ = match op {
        Op::Province(i) => p.put_entity(&format!("entity:location/province/prov-{i}"), json!({"names": names("P")}), "c").map(drop),
        Op::District(d, i) => p
            .put_entity(
                &format!("entity:location/district/dist-{d}"),
                json!({"names": names("D"), "parent": format!("entity:location/province/prov-{i}"), "area": 12.5}),
                "c",
            )
            .map(drop),
        Op::Person(i, d) => {
            let address = d.map(|d| json!({"location_id": format!("entity:location/district/dist-{d}")}));
            let details = json!({"gender": "female", "address": address});
            p.put_entity(&format!("entity:person/person-{i}"), json!({"names": names("Per"), "personal_details": details}), "c")
                .map(drop)
        }
        Op::Rename(i) => p
            .patch_entity(&format!("entity:location/province/prov-{i}"), json!({"names": names("Renamed")}), "u")
            .map(drop),
        Op::Member(i, o) => {
            let org = format!("entity:organization/ngo/org-{o}");
            let _ = p.put_entity(&org, json!({"names": names("Org")}), "c");
            p.create_relationship(&format!("entity:person/person-{i}"), &org, "MEMBER_OF", json!({}), "r").map(drop)
        }
        Op::Author(a) => p.use_author(&format!("Author Number {a}")).map(drop),
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn everything_the_api_writes_passes_verify(ops in proptest::collection::vec(op(), 1..30)) {
        let tmp = tempfile::tempdir().unwrap();
        let author = AuthorRef { slug: "prop-test".into(), name: Some("Prop Test".into()) };
        let mut p = Publication::new(Box::new(WorkTree::new(tmp.path())), Box::new(ReproducibleClock::new("2026-11-21")), author);
        for op in &ops {
            apply(&mut p, op);
        }
        // Writes land behind the API (on writer threads): verify what is on disk.
        p.flush().unwrap();
        let report = verify_repo(tmp.path(), &VerifyOptions::default()).unwrap();
        prop_assert!(report.is_clean(), "{:?} after {:?}", report.violations, ops);
    }
}

fn creates(ctx: &mut Context) -> Result<()> {
    ctx.create_entity(
        "entity:location/province/lonely",
        json!({"names": names("Lonely")}),
        "c",
    )?;
    Ok(())
}

fn expects_two(ctx: &mut Context) -> Result<()> {
    let n = ctx.list_entities("location", Some("province"), &[])?.len();
    ensure!(n == 2, "expected 2 provinces, found {n}");
    Ok(())
}

#[test]
fn a_migration_failing_its_own_verify_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = DataRepo::init(&tmp.path().join("db"), None).unwrap();
    common::set_identity(repo.root());
    std::fs::create_dir_all(tmp.path().join("migrations/001-checked")).unwrap();
    let head = repo.head().unwrap();
    let m = Migration {
        name: "001-checked",
        prefix: 1,
        author: "Test",
        date: "2026-11-21",
        description: "d",
        migrate: creates,
        check: None,
        verify: Some(expects_two),
        deletes: false,
        example: false,
    };
    let registry = Registry::new(vec![m]).unwrap();
    let options = RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        ..RunOptions::default()
    };
    let report = Runner::new(&registry, tmp.path().join("migrations"))
        .run(&repo, &Target::AllPending, &options)
        .unwrap();
    let result = &report.migrations[0];
    assert_eq!(result.status, Outcome::Failed);
    assert!(
        result.error.iter().any(|e| e.contains("failed in `verify`")),
        "{:?}",
        result.error
    );
    assert!(
        result
            .error
            .iter()
            .any(|e| e.contains("expected 2 provinces, found 1")),
        "{:?}",
        result.error
    );
    assert_eq!(repo.head().unwrap(), head);
    assert!(!repo.root().join("v2").exists());
}

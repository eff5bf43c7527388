//! Following an upstream model change is an edit of `model/nes.toml`: here the worked
//! example of the contributor guide, a new prefix `organization/government/ministry`, added
//! to the real description and picked up by every layer (IDs, the publication API, the
//! guard, verify, `nes model show`'s view). This test binary installs the edited model
//! before anything reads it; the build does the same with the file itself.

mod common;

use nes::git::repo::DataRepo;
use nes::migration::registry::Registry;
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;
use nes::store::id::EntityId;
use nes::store::model::{self, describe};
use nes::verify::{verify_repo, VerifyOptions};

const MINISTRY: &str = "entity:organization/government/ministry/ministry-of-home-affairs";
const DEPARTMENT: &str = "entity:organization/government_body/department-of-immigration";

/// The shipped description with one line added under `[prefixes]`.
fn edited() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/nes.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("[prefixes]\n").expect("a [prefixes] table") + "[prefixes]\n".len();
    format!(
        "{}\"organization/government/ministry\" = \"GovernmentBody\"\n{}",
        &text[..at],
        &text[at..]
    )
}

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| model::install(&edited()).expect("the edited model loads"));
}

fn ministries(ctx: &mut Context) -> Result<()> {
    ctx.create_entity(
        MINISTRY,
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Ministry of Home Affairs"}}],
               "government_type": "federal"}),
        "Add the ministry.",
    )?;
    ctx.create_entity(
        DEPARTMENT,
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Department of Immigration"}}]}),
        "Add the department.",
    )?;
    ctx.create_relationship(
        DEPARTMENT,
        MINISTRY,
        "SUPERVISES",
        json!({}),
        "Reports to the ministry.",
    )?;
    ensure!(ctx.list_entities("organization/government", None, &[])?.len() == 1);
    Ok(())
}

#[test]
fn a_new_prefix_is_an_edit_of_the_description() {
    install();
    let id = EntityId::parse(MINISTRY).unwrap();
    assert_eq!(id.kind().name, "GovernmentBody");
    let body = model::model().kind("GovernmentBody").unwrap();
    assert!(describe::prefixes_of(body).contains(&"organization/government/ministry"));

    let dir = common::fast_tempdir();
    let repo = DataRepo::init(&dir.path().join("db"), None).unwrap();
    common::set_identity(repo.root());
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(migrations.join("001-ministries")).unwrap();
    std::fs::write(migrations.join("001-ministries/README.md"), "test").unwrap();
    let registry = Registry::new(vec![common::migration("001-ministries", ministries)]).unwrap();
    let options = RunOptions {
        push: false,
        ..RunOptions::default()
    };
    let report = Runner::new(&registry, &migrations)
        .run(&repo, &Target::AllPending, &options)
        .unwrap();
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Completed, "{:?}", m.error);
    let path = repo
        .root()
        .join("v2/entity/organization/government/ministry/ministry-of-home-affairs.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["entity_prefix"], "organization/government/ministry");
    assert_eq!(doc["sub_type"], "government_body");
    let verified = verify_repo(repo.root(), &VerifyOptions::default()).unwrap();
    assert!(verified.is_clean(), "{:#?}", verified.violations);
}

#[test]
fn without_the_edit_the_prefix_is_refused_naming_the_registry() {
    // The shipped description, loaded on its own (the installed one has the edit).
    let shipped = model::load::load(model::SOURCE).unwrap();
    assert!(!shipped.prefixes.contains_key("organization/government/ministry"));
    assert!(shipped.prefixes.contains_key("organization/government"));
}

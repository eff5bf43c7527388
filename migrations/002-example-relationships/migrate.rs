//! 002-example-relationships: entities and the relationships between them. Copy it for a
//! migration that links people to organizations.

use nes::prelude::*;
// A crate from migrations/Cargo.toml (see the contributor guide, "Using a crate in a migration").
use nes_migrations::regex::Regex;

pub const AUTHOR: &str = "nes maintainers";
pub const DATE: &str = "2026-11-21";
pub const DESCRIPTION: &str = "Example: a party, two people and their memberships.";
/// An example: never offered to a data repository whose history holds real migrations.
pub const EXAMPLE: bool = true;

const PARTY: &str = "entity:organization/political_party/example-people-party";
const CHANGE: &str = "Add example memberships";

/// One row of `memberships.csv`, typed by serde.
#[derive(Debug, Deserialize)]
struct Membership {
    person_slug: String,
    name_en: String,
    name_ne: String,
    role: String,
    since: String,
}

pub fn migrate(ctx: &mut Context) -> Result<()> {
    let party = json!({
        "names": [{ "kind": "PRIMARY", "en": { "full": "Example People's Party" }, "ne": { "full": "उदाहरण जनता पार्टी" } }],
        "registration_date": "2010-05-29",
        "address": { "location_id": "entity:location/metropolitan_city/kathmandu-metropolitan-city" },
    });
    ctx.put_entity(PARTY, party, CHANGE)?;

    let rows: Vec<Membership> = ctx.read_csv_as("memberships.csv")?;
    let iso_date = Regex::new(r"^\d{4}-\d{2}-\d{2}$")?;
    if let Some(bad) = rows.iter().find(|r| !iso_date.is_match(&r.since)) {
        bail!("memberships.csv: `since` of {} is {:?}, not YYYY-MM-DD", bad.person_slug, bad.since);
    }
    for row in &rows {
        let person = format!("entity:person/{}", row.person_slug);
        let names = json!([{ "kind": "PRIMARY", "en": { "full": row.name_en }, "ne": { "full": row.name_ne } }]);
        // A person appears once per relationship; `put` writes them once.
        ctx.put_entity(&person, json!({ "names": names }), CHANGE)?;
        let id = format!("relationship:person/{}:{}:{}", row.person_slug, &PARTY["entity:".len()..], row.role);
        if ctx.get_relationship(&id)?.is_none() {
            ctx.create_relationship(&person, PARTY, &row.role, json!({ "start_date": row.since }), CHANGE)?;
        }
    }
    ctx.log(format!("{} relationships", rows.len()));
    Ok(())
}

pub fn verify(ctx: &mut Context) -> Result<()> {
    let members = ctx.relationships_of(PARTY)?;
    ensure!(members.len() == 3, "expected 3 relationships with the party, found {}", members.len());
    Ok(())
}

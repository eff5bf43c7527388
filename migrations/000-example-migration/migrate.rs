//! 000-example-migration: a small, complete example of every reader and of entities,
//! a parent chain and a relationship. Copy it to start a real migration.

use nes::prelude::*;

pub const AUTHOR: &str = "nes maintainers";
pub const DATE: &str = "2026-11-21";
pub const DESCRIPTION: &str = "Example data: a location chain, an organization, a person and a membership.";
/// An example: never offered to a data repository whose history holds real migrations.
pub const EXAMPLE: bool = true;

const CHANGE: &str = "Add example data from the example migration.";

/// One row of `people.json`, read into a typed value.
#[derive(Debug, Deserialize)]
struct Person {
    slug: String,
    name_en: String,
    name_ne: String,
    gender: String,
    birth_date: String,
    lives_in: String,
    member_of: String,
}

fn names(en: &str, ne: &str) -> Value {
    json!([{ "kind": "PRIMARY", "en": { "full": en }, "ne": { "full": ne } }])
}

pub fn check(ctx: &mut Context) -> Result<()> {
    // The sources must be there and non-empty before anything is written.
    ensure!(!ctx.read_csv("locations.csv")?.is_empty(), "locations.csv has no rows");
    Ok(())
}

pub fn migrate(ctx: &mut Context) -> Result<()> {
    // CSV: parents come first in the file, so each `parent` exists when its child is written.
    for row in ctx.read_csv("locations.csv")? {
        let id = format!("entity:location/{}/{}", row["sub_type"], row["slug"]);
        let parent = Some(row["parent"].as_str()).filter(|p| !p.is_empty());
        let area: f64 = row["area"].parse().with_context(|| format!("area of {}", row["slug"]))?;
        let fields = json!({ "names": names(&row["name_en"], &row["name_ne"]), "parent": parent, "area": area });
        ctx.put_entity(&id, fields, CHANGE)?;
    }

    // Excel: typed cells (a date, a number, a boolean) become attributes.
    for row in ctx.read_excel("organizations.xlsx", Some("organizations"))? {
        let (slug, sub_type) = (row["slug"].as_str().unwrap_or_default(), row["sub_type"].as_str().unwrap_or_default());
        let name_en = row["name_en"].as_str().unwrap_or_default();
        let name_ne = row["name_ne"].as_str().unwrap_or_default();
        let fields = json!({
            "names": names(name_en, name_ne),
            "attributes": { "founded": row["founded"], "members": row["members"], "active": row["active"] },
        });
        ctx.put_entity(&format!("entity:organization/{sub_type}/{slug}"), fields, CHANGE)?;
    }

    // JSON: a typed list of people, each living in a location and member of an organization.
    let people: Vec<Person> = ctx.read_json_as("people.json")?;
    for p in &people {
        let id = format!("entity:person/{}", p.slug);
        let fields = json!({
            "names": names(&p.name_en, &p.name_ne),
            "personal_details": {
                "gender": p.gender,
                "birth_date": p.birth_date,
                "address": { "location_id": p.lives_in },
            },
        });
        ctx.put_entity(&id, fields, CHANGE)?;
        if ctx.get_relationship(&format!("relationship:person/{}:{}:MEMBER_OF", p.slug, &p.member_of["entity:".len()..]))?.is_none() {
            ctx.create_relationship(&id, &p.member_of, "MEMBER_OF", json!({ "start_date": "2015-06-01" }), CHANGE)?;
        }
    }
    ctx.log(format!("wrote {} people and their memberships", people.len()));
    Ok(())
}

pub fn verify(ctx: &mut Context) -> Result<()> {
    let cities = ctx.list_entities("location", Some("metropolitan_city"), &[])?;
    ensure!(cities.iter().any(|c| c.doc["parent"] == "entity:location/district/kathmandu"), "the city lost its district");
    Ok(())
}

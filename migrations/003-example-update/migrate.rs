//! 003-example-update: change existing entities. Copy it for a migration that fills a new
//! field across many entities, or corrects one.

use std::collections::BTreeMap;

use nes::prelude::*;

pub const AUTHOR: &str = "nes maintainers";
pub const DATE: &str = "2026-11-21";
pub const DESCRIPTION: &str = "Example: add populations to locations and correct a person's record.";
/// An example: never offered to a data repository whose history holds real migrations.
pub const EXAMPLE: bool = true;

pub fn migrate(ctx: &mut Context) -> Result<()> {
    let populations: BTreeMap<String, u64> = ctx.read_json_as("populations.json")?;

    // Bulk update: every location is offered; returning None leaves it untouched, and a
    // location whose attributes already hold the value gets no new version.
    let outcome = ctx.update_each("location", None, "Add example populations", |entity| {
        let Some(population) = populations.get(&entity.id.to_string()) else { return Ok(None) };
        let mut fields = entity.doc.clone();
        fields["attributes"] = json!({ "population": population, "population_source": "example data" });
        Ok(Some(fields))
    })?;
    ctx.log(format!("{} locations seen, {} updated", outcome.seen, outcome.updated));

    // One correction as a JSON merge patch: only the given keys change.
    ctx.patch_entity(
        "entity:person/sita-example-sharma",
        json!({ "short_description": { "en": { "value": "Example person for nes." } } }),
        "Describe the example person",
    )?;
    Ok(())
}

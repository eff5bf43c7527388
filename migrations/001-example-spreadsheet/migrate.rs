//! 001-example-spreadsheet: read a spreadsheet into typed entities. Copy it for a migration
//! whose source is an Excel or OpenDocument file.

use nes::prelude::*;

pub const AUTHOR: &str = "nes maintainers";
pub const DATE: &str = "2026-11-21";
pub const DESCRIPTION: &str = "Example: two hospitals read from a spreadsheet.";
/// An example: never offered to a data repository whose history holds real migrations.
pub const EXAMPLE: bool = true;

pub fn migrate(ctx: &mut Context) -> Result<()> {
    let rows = ctx.read_excel("hospitals.xlsx", Some("hospitals"))?;
    for (i, row) in rows.iter().enumerate() {
        // Name the row in errors: spreadsheet row i + 2 (the header is row 1).
        let text = |key: &str| {
            row[key].as_str().map(str::to_string).with_context(|| format!("hospitals.xlsx row {}: `{key}` is not text", i + 2))
        };
        // xlsx stores every number as a float.
        let beds = row["beds"].as_f64().with_context(|| format!("hospitals.xlsx row {}: `beds`", i + 2))? as i64;
        let services: Vec<String> = text("services")?.split(';').map(|s| s.trim().to_string()).collect();
        let fields = json!({
            "names": [{ "kind": "PRIMARY", "en": { "full": text("name_en")? }, "ne": { "full": text("name_ne")? } }],
            "beds": beds,
            "ownership": text("ownership")?,
            "services": services,
            "address": { "location_id": text("location")? },
        });
        ctx.put_entity(&format!("entity:organization/hospital/{}", text("slug")?), fields, "Add example hospitals")?;
    }
    ctx.log(format!("{} hospitals", rows.len()));
    Ok(())
}

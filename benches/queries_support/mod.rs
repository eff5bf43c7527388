//! The query workloads of issue 32, shared by `benches/queries.rs` (timed) and
//! `tests/queries.rs` (checked): a port of the service's migration 004 (77 districts
//! looked up by slug, else by their Nepali name), and the mixed workload (a cold scan of
//! the locations, then name look-ups and person listings).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use nes::prelude::{json, text_to_slug};
use nes::store::backend::Overlay;
use nes::store::clock::ReproducibleClock;
use nes::store::publication::{AuthorRef, Publication};

/// The service's 004 table: CSV names spelled otherwise in the database, by slug.
const DISTRICT_NAME_MAP: &[(&str, &str)] = &[
    ("अर्घाखांची", "arghakhanchi"),
    ("कन्चनपुर", "kanchanpur"),
    ("काठमाडौं", "kathmandu"),
    ("काभ्रेपलाञ्चोक", "kavrepalanchok"),
    ("खोटाङ्ग", "khotang"),
    ("तेर्हथुम", "terhathum"),
    ("धादिङ्ग", "dhading"),
    ("नवलपरासी (बर्दघाट सुस्ता पश्चिम)", "parasi"),
    ("नवलपरासी (बर्दघाट सुस्ता पूर्व)", "nawalpur"),
    ("पाँचथर", "pachthar"),
    ("प्यूठान", "pyuthan"),
    ("बझाङ्ग", "bajhang"),
    ("मनाङ्ग", "manang"),
    ("मुस्तांग", "mustang"),
    ("मोरङ्ग", "morang"),
    ("रुकुम पूर्व", "eastern-rukum"),
    ("लमजुंग", "lamjung"),
    ("सोलुखुम्बु", "solukhumbu"),
    ("स्याङ्जा", "syangja"),
];

/// A publication over a data repository's working tree that writes nothing to disk.
pub fn dry_publication(root: &Path) -> Publication {
    Publication::new(
        Box::new(Overlay::new(root)),
        Box::new(ReproducibleClock::new("2025-11-12")),
        AuthorRef {
            slug: "damodar-dahal".into(),
            name: Some("Damodar Dahal".into()),
        },
    )
}

/// What the port found: how many districts by slug and by name, and the constituencies.
#[derive(Debug, Default)]
pub struct Port004 {
    pub by_slug: usize,
    pub by_name: usize,
    /// Constituency ID → (English name, Nepali name, parent).
    pub created: BTreeMap<String, (String, String, String)>,
}

/// The service's 004, written the natural way: one name look-up per unmapped district.
pub fn port_004(publication: &mut Publication, csv: &Path) -> Result<Port004> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut out = Port004::default();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (name_ne, count) = line.rsplit_once(',').context("DistrictName,SCConstID")?;
        let count: u32 = count.trim().parse()?;
        let slug = DISTRICT_NAME_MAP
            .iter()
            .find(|(ne, _)| *ne == name_ne)
            .map_or_else(|| text_to_slug(name_ne), |(_, slug)| slug.to_string());
        let by_slug = if slug.is_empty() {
            None
        } else {
            publication.get_entity(&format!("entity:location/district/{slug}"))?
        };
        let district = match by_slug {
            Some(d) => {
                out.by_slug += 1;
                d
            }
            None => {
                let found = publication.find_entities_by_name("location/district", name_ne)?;
                let Some(d) = found.into_iter().next() else {
                    bail!("district not found: {name_ne}");
                };
                out.by_name += 1;
                d
            }
        };
        let name_en = district.doc["names"][0]["en"]["full"]
            .as_str()
            .unwrap_or(name_ne)
            .to_string();
        for n in 1..=count {
            let (en, ne) = (format!("{name_en} - {n}"), format!("{name_ne} - {n}"));
            let id = format!("entity:location/constituency/{}", text_to_slug(&en));
            let names = json!([{"kind": "PRIMARY", "en": {"full": en}, "ne": {"full": ne}}]);
            publication.create_entity(
                &id,
                json!({"names": names, "parent": district.id.to_string()}),
                "Add election constituencies.",
            )?;
            out.created.insert(id, (en, ne, district.id.to_string()));
        }
    }
    Ok(out)
}

/// Every English and Nepali full name of the locations, in listing order.
pub fn location_names(publication: &mut Publication) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in publication.list_entities("location", None, &[])? {
        for lang in ["en", "ne"] {
            if let Some(n) = e.doc["names"][0][lang]["full"].as_str() {
                names.push(n.to_string());
            }
        }
    }
    Ok(names)
}

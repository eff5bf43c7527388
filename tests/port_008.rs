//! The contributor guide's worked example: the service's migration 008
//! (`008-complete-political-parties`: 27 parties from a Devanagari-headed CSV and a translated
//! JSON, one party renamed) ported to nes, run on the 2026 database with 008's writes taken
//! out, and its output compared field by field with what the service wrote.
//!
//! The sources are read from the shared folder (`nes-format/sources/008-…`) and copied only
//! into the test's temporary migration folder.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use nes::git::repo::DataRepo;
use nes::migration::registry::Registry;
use nes::migration::runner::{RunOptions, Runner, Target};
use nes::prelude::*;

// ---- the port (docs/contributor-guide.md, "Worked example: porting the service's 008") ----

const IMPORTED: &str = "2026-01-07";
const NIP: &str = "entity:organization/political_party/national-independent-party";

/// One party of `parties-data-en.json`, keyed there by its Nepali name.
#[derive(Deserialize)]
struct Translated {
    name: String,
    address: Option<String>,
    main_person: Option<String>,
    symbol_name: Option<String>,
}

fn migrate(ctx: &mut Context) -> Result<()> {
    ctx.use_author("author:damodar-dahal")?;

    // Stage 0: the National Independent Party is known by its romanised name.
    ctx.patch_entity(
        NIP,
        json!({ "names": [
            Name::primary("Rastriya Swatantra Party (RSP)", "राष्ट्रिय स्वतन्त्र पार्टी"),
            Name::new(NameKind::Alternate).en("National Independent Party"),
        ] }),
        "Update primary name to Rastriya Swatantra Party, move National Independent Party to alternate",
    )?;

    // Stage 1: one document per party of the translation, with its CSV row.
    let translated: BTreeMap<String, Translated> = ctx.read_json_as("parties-data-en.json")?;
    let rows = ctx.read_csv("parties-list.csv")?;
    let by_name: BTreeMap<&str, &BTreeMap<String, String>> =
        rows.iter().map(|row| (row["दलको नाम"].as_str(), row)).collect();
    let registration_number = LangText::human(
        "Election Commission Registration Number (2082)",
        "निर्वाचन आयोग दर्ता नं.",
    );
    let attribution = Attribution::new(
        LangText::human("Nepal Election Commission", "नेपाल निर्वाचन आयोग"),
        LangText::human(
            format!("Registered Parties (2082) - imported {IMPORTED}"),
            format!("दर्ता भएका दलहरू (२०८२) - आयात मिति {IMPORTED} A.D."),
        ),
    );
    // English from the translation service, Nepali as the CSV has it.
    let both = |en: &Option<String>, ne: &str| {
        en.as_deref().filter(|e| !e.is_empty()).map(|en| {
            LangText::new()
                .en(en, Provenance::TranslationService)
                .ne(ne, Provenance::Imported)
        })
    };
    let mut parties = Vec::new();
    for (name_ne, t) in &translated {
        let row = by_name
            .get(name_ne.as_str())
            .ok_or_else(|| anyhow!("no CSV row for {name_ne}"))?;
        let number = devanagari_to_ascii_digits(&row["दर्ता नं."]);
        let date = &row["दल दर्ता मिति"];
        let fields = json!({
            "names": [Name::primary(standardize_name(&t.name), standardize_name(name_ne))],
            "attributions": [&attribution],
            "identifiers": (!number.is_empty()).then(|| [Identifier::other(registration_number.clone(), number)]),
            "address": both(&t.address, &row["दलको मुख्य कार्यालय (ठेगाना)"]).map(Address::described),
            "party_chief": both(&t.main_person, &row["प्रमुख"]),
            "registration_date": (!date.is_empty()).then(|| bs_to_ad(date)).transpose()?.map(|d| d.to_string()),
            "symbol": both(&t.symbol_name, &row["चिन्हको नाम"]).map(PartySymbol::named),
        });
        parties.push((text_to_slug(&t.name), fields));
    }

    // Stage 2: no slug may clash with a party already there or with another new one.
    let existing: BTreeSet<String> = ctx
        .list_entities("organization", Some("political_party"), &[])?
        .into_iter()
        .filter_map(|e| e.doc["slug"].as_str().map(str::to_string))
        .collect();
    let mut seen = BTreeSet::new();
    for (slug, _) in &parties {
        ensure!(!existing.contains(slug), "slug {slug} already exists");
        ensure!(seen.insert(slug.clone()), "slug {slug} twice in the sources");
    }

    // Stage 3: create them.
    for (slug, fields) in parties {
        let id = format!("entity:organization/political_party/{slug}");
        ctx.create_entity(&id, fields, "Import additional political parties")?;
    }
    ctx.log(format!("{} parties created", seen.len()));
    Ok(())
}

// ---- the comparison ---------------------------------------------------------------------

/// The fields 008 wrote that are compared as they are (`registration_date`: see below).
const FIELDS: &[&str] = &[
    "slug",
    "type",
    "sub_type",
    "names",
    "attributions",
    "identifiers",
    "address",
    "party_chief",
    "symbol",
];

fn sources(shared: &Path) -> PathBuf {
    shared.join("nes-format/sources/008-complete-political-parties")
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

/// The CSV rows of the source, read as the port reads them.
fn csv_rows(shared: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(sources(shared).join("parties-list.csv")).unwrap();
    reader.deserialize().map(|r| r.unwrap()).collect()
}

#[test]
fn the_port_writes_what_the_service_wrote() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    let root = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &dir.path().join("db"));
    let parties_dir = root.join("v2/entity/organization/political_party");
    let versions = root.join("v2/version/entity/organization/political_party");

    // What the service's 008 wrote: the parties it attributes to its import date, as their
    // version 1 holds them (some changed since: 009's pictures, a corrected name).
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    for entry in std::fs::read_dir(&parties_dir).unwrap() {
        let doc = read(&entry.unwrap().path());
        if doc["attributions"][0]["details"]["en"]["value"]
            == format!("Registered Parties (2082) - imported {IMPORTED}")
        {
            let slug = doc["slug"].as_str().unwrap();
            let v1 = read(&versions.join(slug).join("1.json"));
            assert_eq!(
                v1["change_description"], "Import additional political parties",
                "{slug}"
            );
            expected.insert(
                doc["identifiers"][0]["value"].as_str().unwrap().to_string(),
                v1["snapshot"].clone(),
            );
        }
    }
    let rows = csv_rows(&shared);
    assert_eq!(expected.len(), 27);
    assert_eq!(rows.len(), 27);
    let numbers: BTreeSet<String> = rows
        .iter()
        .map(|r| devanagari_to_ascii_digits(&r["दर्ता नं."]))
        .collect();
    assert_eq!(
        numbers,
        expected.keys().cloned().collect(),
        "the CSV's parties are those in the data"
    );
    let nip_after = read(&parties_dir.join("national-independent-party.json"));

    // The database as it was before 008: its 27 parties gone, the renamed party's names as
    // its version 1 had them.
    for doc in expected.values() {
        let slug = doc["slug"].as_str().unwrap();
        std::fs::remove_file(parties_dir.join(format!("{slug}.json"))).unwrap();
        std::fs::remove_dir_all(
            root.join("v2/version/entity/organization/political_party")
                .join(slug),
        )
        .unwrap();
    }
    let v1 =
        read(&root.join("v2/version/entity/organization/political_party/national-independent-party/1.json"));
    let mut nip = nip_after.clone();
    nip["names"] = v1["snapshot"]["names"].clone();
    assert_ne!(nip["names"], nip_after["names"], "008 changed the names");
    std::fs::write(
        parties_dir.join("national-independent-party.json"),
        serde_json::to_vec_pretty(&nip).unwrap(),
    )
    .unwrap();
    common::git(&root, &["add", "-A"]);
    common::git(&root, &["commit", "--quiet", "-m", "Before 008"]);

    // The port, run by the runner from a migration folder holding the two sources.
    let migrations = dir.path().join("migrations");
    let name = "011-port-of-008-complete-political-parties";
    std::fs::create_dir_all(migrations.join(name)).unwrap();
    std::fs::write(
        migrations.join(name).join("README.md"),
        "The service's 008, ported.\n",
    )
    .unwrap();
    for file in ["parties-list.csv", "parties-data-en.json"] {
        std::fs::copy(sources(&shared).join(file), migrations.join(name).join(file)).unwrap();
    }
    let registry = Registry::new(vec![common::migration(name, migrate)]).unwrap();
    let repo = DataRepo::open(&root).unwrap();
    let options = RunOptions {
        push: false,
        ..RunOptions::default()
    };
    Runner::new(&registry, &migrations)
        .run(&repo, &Target::AllPending, &options)
        .unwrap();

    // Field by field, each party as the service wrote it.
    let by_number: BTreeMap<String, &BTreeMap<String, String>> = rows
        .iter()
        .map(|r| (devanagari_to_ascii_digits(&r["दर्ता नं."]), r))
        .collect();
    for (number, theirs) in &expected {
        let slug = theirs["slug"].as_str().unwrap();
        let ours = read(&parties_dir.join(format!("{slug}.json")));
        for field in FIELDS {
            assert_eq!(ours[field], theirs[field], "party {number} ({slug}): {field}");
        }
        // Dates: the port converts with the official calendar; the service's converter gave
        // Ashwin 2082 30 days, so every date it wrote in Kartik and Mangsir 2082 is one day
        // early. `Calendar::Service` reproduces what it wrote.
        let bs = &by_number[number]["दल दर्ता मिति"];
        let (ours, theirs) = (&ours["registration_date"], &theirs["registration_date"]);
        assert_eq!(
            ours.as_str().unwrap(),
            bs_to_ad(bs).unwrap().to_string(),
            "{number}"
        );
        assert_eq!(
            theirs.as_str().unwrap(),
            bs_to_ad_in(Calendar::Service, bs).unwrap().to_string(),
            "{number}"
        );
        let day = |v: &Value| NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_eq!((day(ours) - day(theirs)).num_days(), 1, "{number}: {bs}");
    }
    let nip_now = read(&parties_dir.join("national-independent-party.json"));
    assert_eq!(nip_now["names"], nip_after["names"]);
    assert_eq!(
        nip_now["version_summary"]["change_description"],
        "Update primary name to Rastriya Swatantra Party, move National Independent Party to alternate"
    );
    assert_eq!(nip_now["version_summary"]["author"]["id"], "author:damodar-dahal");
}

/// The evidence for the calendar decision, from the source itself: the Election Commission
/// registers parties on working days, and Saturday is Nepal's weekly holiday. Read with the
/// official table, one of the 27 registration dates falls on a Saturday; read with the
/// service's, ten do.
#[test]
fn registration_dates_fall_on_working_days_in_the_official_calendar() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let saturdays = |calendar: Calendar| {
        csv_rows(&shared)
            .iter()
            .map(|r| bs_to_ad_in(calendar, &r["दल दर्ता मिति"]).unwrap())
            .filter(|d| chrono::Datelike::weekday(d) == chrono::Weekday::Sat)
            .count()
    };
    assert_eq!(saturdays(Calendar::Official), 1);
    assert_eq!(saturdays(Calendar::Service), 10);
}

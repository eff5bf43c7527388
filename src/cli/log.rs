//! `nes log`.

use super::{output, read_repo, GlobalArgs};
use crate::diff::{history, render};
use crate::error::{ExitCode, NesError};
use crate::store::id::ObjectId;

/// Show the version chain of one entity or relationship: number, date, author, change,
/// and the commit and migration that wrote each version.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "Example:\n  nes log entity:location/ward/aadarsha-rural-municipality-ward-1 -p")]
pub struct Args {
    /// `entity:TYPE[/SUBTYPE]/SLUG` or `relationship:SOURCE:TARGET:TYPE`.
    pub id: String,
    /// Also show each version's field changes from the one before.
    #[arg(short = 'p', long = "patch")]
    pub patch: bool,
    /// One JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let id = ObjectId::parse(&args.id).map_err(|e| {
        NesError::usage(format!("`{}` is not an entity or relationship ID: {e}", args.id))
            .hint("IDs look like `entity:person/ram-sharma` or `entity:location/ward/kathmandu-ward-1`")
    })?;
    let repo = read_repo(g)?;
    let history = history::history(&repo, &id, args.patch)?;
    if history.versions.is_empty() && !history.exists {
        return Err(NesError::usage(format!(
            "{id} has no versions and no file ({}) at HEAD",
            history.path
        ))
        .hint("check the ID with `nes diff` or list the directory in the data repository")
        .into());
    }
    if args.json {
        output::json(&history)?;
        return Ok(ExitCode::Success);
    }
    println!(
        "{id}  ({})",
        if history.exists {
            history.path.as_str()
        } else {
            "deleted at HEAD"
        }
    );
    for v in &history.versions {
        let commit = v.commit.as_deref().map_or("-", |c| &c[..10]);
        let by = match (&v.migration, &v.other_writer) {
            (Some(m), _) => m.clone(),
            (None, Some(w)) => format!("other writer {w}"),
            (None, None) => "-".to_string(),
        };
        println!(
            "version {}  {}  {}  {}  {:?}",
            v.number,
            v.date.as_deref().unwrap_or("-"),
            commit,
            by,
            v.change.as_deref().unwrap_or(""),
        );
        println!("    by {}", v.author.as_deref().unwrap_or("unknown author"));
        if let Some(changes) = &v.changes {
            let mut text = String::new();
            for field in changes {
                let line = render::change_text(&field.change);
                text.push_str(&format!("    {}: {line}\n", field.path));
            }
            if changes.is_empty() {
                text.push_str("    (no field changes)\n");
            }
            print!("{text}");
        }
    }
    Ok(ExitCode::Success)
}

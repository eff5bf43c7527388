//! What migration code needs: `use nes::prelude::*;`.

pub use anyhow::{anyhow, bail, ensure, Context as _};
pub use chrono::NaiveDate;
pub use serde::{Deserialize, Serialize};
pub use serde_json::{json, Value};

pub use crate::migration::context::Context;
pub use crate::store::nepali::{
    ad_to_bs, ascii_to_devanagari_digits, bs_to_ad, bs_to_ad_in, devanagari_to_ascii_digits, parse_number,
    standardize_name, BsDate, BsError, Calendar,
};
pub use crate::store::publication::{Entity, PutOutcome, Relationship};
pub use crate::store::slug::{text_to_slug, validate_slug};
pub use crate::store::values::{
    Address, Attribution, Contact, ContactType, Identifier, IdentifierScheme, LangText, Name, NameKind,
    NameParts, PartySymbol, Picture, PictureType, Provenance, TextValue,
};

/// The result type of `migrate`, `check` and `verify`: any error converts through `?`.
pub type Result<T = (), E = anyhow::Error> = std::result::Result<T, E>;

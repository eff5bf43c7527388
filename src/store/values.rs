//! Typed builders for the nested values every migration writes (`model/nes.toml` kinds
//! `LangText`, `Name`, `Address`, `ExternalIdentifier`, `Contact`, `EntityPicture`,
//! `Attribution`, `PartySymbol`). Each serialises to the kind's JSON shape, unset fields
//! left out (the store writes them as `null`), so they drop into `json!({...})`.

use serde::Serialize;

/// Who or what wrote a text (`Provenance` in the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Typed or checked by a person.
    Human,
    /// Written by a language model.
    Llm,
    /// Machine translation (the service's English names, addresses, symbols).
    TranslationService,
    /// Copied from a source document as it is.
    Imported,
}

/// One language's text and where it came from (`LangTextValue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextValue {
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A text in English and/or Nepali, each with its provenance (`LangText`):
/// `LangText::new().en("Soil in the palm", Provenance::TranslationService).ne("अंजुलीमा रहेको माटो", Provenance::Imported)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LangText {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<TextValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne: Option<TextValue>,
}

impl LangText {
    /// An empty text; add languages with [`Self::en`] and [`Self::ne`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Both languages typed by a person (labels, attributions).
    pub fn human(en: impl Into<String>, ne: impl Into<String>) -> Self {
        Self::new().en(en, Provenance::Human).ne(ne, Provenance::Human)
    }

    /// Sets the English text.
    pub fn en(mut self, value: impl Into<String>, provenance: Provenance) -> Self {
        self.en = Some(TextValue {
            value: value.into(),
            provenance: Some(provenance),
        });
        self
    }

    /// Sets the Nepali text.
    pub fn ne(mut self, value: impl Into<String>, provenance: Provenance) -> Self {
        self.ne = Some(TextValue {
            value: value.into(),
            provenance: Some(provenance),
        });
        self
    }
}

/// What a name is (`NameKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NameKind {
    Primary,
    Alias,
    Alternate,
    BirthName,
}

/// A name in one language (`NameParts`): `full` always, the parts when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameParts {
    pub full: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
}

impl NameParts {
    /// A name known only whole.
    pub fn full(full: impl Into<String>) -> Self {
        Self {
            full: full.into(),
            ..Self::default()
        }
    }
}

/// A name of an entity (`Name`), in English and/or Nepali (at least one: the model checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    pub kind: NameKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<NameParts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne: Option<NameParts>,
}

impl Name {
    /// A name of the given kind with no language yet.
    pub fn new(kind: NameKind) -> Self {
        Self {
            kind,
            en: None,
            ne: None,
        }
    }

    /// The primary name, English and Nepali given whole: `Name::primary("Shram Sanskriti Party", "श्रम संस्कृति पार्टी")`.
    pub fn primary(en: impl Into<String>, ne: impl Into<String>) -> Self {
        Self::new(NameKind::Primary).en(en).ne(ne)
    }

    /// Sets the English name, whole.
    pub fn en(mut self, full: impl Into<String>) -> Self {
        self.en = Some(NameParts::full(full));
        self
    }

    /// Sets the Nepali name, whole.
    pub fn ne(mut self, full: impl Into<String>) -> Self {
        self.ne = Some(NameParts::full(full));
        self
    }
}

/// Where an organization is (`Address`): a location entity and/or a described address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// An `entity:location/...` ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// The address as text in both languages (the field the service writes now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description2: Option<LangText>,
}

impl Address {
    /// An address given as text.
    pub fn described(text: LangText) -> Self {
        Self {
            location_id: None,
            description2: Some(text),
        }
    }
}

/// The kind of an external identifier (`IdentifierScheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierScheme {
    Wikipedia,
    Wikidata,
    Twitter,
    Facebook,
    Instagram,
    Linkedin,
    Youtube,
    Tiktok,
    Website,
    /// Any other register; say which in the identifier's `name`.
    Other,
}

/// An identifier of the entity elsewhere (`ExternalIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifier {
    pub scheme: IdentifierScheme,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<LangText>,
    /// Never empty (the model refuses an empty value).
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Identifier {
    /// An identifier in a named register: `Identifier::other(LangText::human("Election Commission Registration Number (2082)", "निर्वाचन आयोग दर्ता नं."), "204")`.
    pub fn other(name: LangText, value: impl Into<String>) -> Self {
        Self {
            scheme: IdentifierScheme::Other,
            name: Some(name),
            value: value.into(),
            url: None,
        }
    }
}

/// How to reach an entity (`ContactType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactType {
    Email,
    Phone,
    Url,
    Twitter,
    Facebook,
    Instagram,
    Linkedin,
    Whatsapp,
    Telegram,
    Wechat,
    Other,
}

/// A contact (`Contact`); the model checks the value's shape for e-mail, phone and URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    #[serde(rename = "type")]
    pub kind: ContactType,
    pub value: String,
}

impl Contact {
    /// A contact of the given type.
    pub fn new(kind: ContactType, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }
}

/// How a picture is shown (`PictureType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PictureType {
    Thumb,
    Full,
    Wide,
}

/// A picture of the entity (`EntityPicture`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Picture {
    #[serde(rename = "type")]
    pub kind: PictureType,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Picture {
    /// A picture with a description, size unknown.
    pub fn new(kind: PictureType, url: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            kind,
            url: url.into(),
            width: None,
            height: None,
            description: Some(description.into()),
        }
    }
}

/// Where the data came from (`Attribution`): a title and, usually, details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    pub title: LangText,
    /// Written as `null` when unset (the model requires the key).
    pub details: Option<LangText>,
}

impl Attribution {
    /// An attribution with details.
    pub fn new(title: LangText, details: LangText) -> Self {
        Self {
            title,
            details: Some(details),
        }
    }
}

/// A party's election symbol (`PartySymbol`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartySymbol {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<LangText>,
}

impl PartySymbol {
    /// A symbol known by its name.
    pub fn named(name: LangText) -> Self {
        Self { name: Some(name) }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, to_value, Value};

    use super::*;
    use crate::store::model::{model, validate};

    /// Each builder's output is a valid value of its model kind.
    fn valid(kind: &str, value: Value) {
        let def = model().kind(kind).unwrap_or_else(|| panic!("no kind {kind}"));
        assert_eq!(validate(def, &value), Ok(()), "{kind}: {value}");
    }

    #[test]
    fn builders_make_valid_model_values() {
        let text = LangText::new()
            .en("Soil in the palm", Provenance::TranslationService)
            .ne("अंजुलीमा रहेको माटो", Provenance::Imported);
        assert_eq!(
            to_value(&text).unwrap(),
            json!({"en": {"value": "Soil in the palm", "provenance": "translation_service"},
                   "ne": {"value": "अंजुलीमा रहेको माटो", "provenance": "imported"}})
        );
        valid("LangText", to_value(&text).unwrap());
        let name = Name::primary("Shram Sanskriti Party", "श्रम संस्कृति पार्टी");
        assert_eq!(to_value(&name).unwrap()["kind"], "PRIMARY");
        valid("Name", to_value(&name).unwrap());
        valid("Name", to_value(Name::new(NameKind::BirthName).en("X")).unwrap());
        valid("Address", to_value(Address::described(text.clone())).unwrap());
        let id = Identifier::other(LangText::human("Registration", "दर्ता नं."), "204");
        valid("ExternalIdentifier", to_value(&id).unwrap());
        let phone = Contact::new(ContactType::Phone, "+97715914591");
        assert_eq!(
            to_value(&phone).unwrap(),
            json!({"type": "PHONE", "value": "+97715914591"})
        );
        valid("Contact", to_value(&phone).unwrap());
        let picture = Picture::new(PictureType::Thumb, "https://example.org/a.png", "Symbol");
        assert_eq!(to_value(&picture).unwrap()["type"], "thumb");
        valid("EntityPicture", to_value(&picture).unwrap());
        let attribution = Attribution::new(text.clone(), text.clone());
        valid("Attribution", to_value(&attribution).unwrap());
        let bare = Attribution {
            title: text.clone(),
            details: None,
        };
        assert_eq!(to_value(&bare).unwrap()["details"], Value::Null);
        valid("Attribution", to_value(&bare).unwrap());
        valid("PartySymbol", to_value(PartySymbol::named(text)).unwrap());
    }

    /// The enums spell exactly the model's values, in its order.
    #[test]
    fn enums_match_the_model() {
        fn spelled<T: Serialize>(values: &[T]) -> Vec<String> {
            values
                .iter()
                .map(|v| to_value(v).unwrap().as_str().unwrap().to_string())
                .collect()
        }
        let model = model();
        let check =
            |name: &str, ours: Vec<String>| assert_eq!(model.enum_values(name).unwrap(), &ours[..], "{name}");
        use Provenance as P;
        check(
            "Provenance",
            spelled(&[P::Human, P::Llm, P::TranslationService, P::Imported]),
        );
        use NameKind as N;
        check(
            "NameKind",
            spelled(&[N::Primary, N::Alias, N::Alternate, N::BirthName]),
        );
        use IdentifierScheme as I;
        check(
            "IdentifierScheme",
            spelled(&[
                I::Wikipedia,
                I::Wikidata,
                I::Twitter,
                I::Facebook,
                I::Instagram,
                I::Linkedin,
                I::Youtube,
                I::Tiktok,
                I::Website,
                I::Other,
            ]),
        );
        use ContactType as C;
        check(
            "ContactType",
            spelled(&[
                C::Email,
                C::Phone,
                C::Url,
                C::Twitter,
                C::Facebook,
                C::Instagram,
                C::Linkedin,
                C::Whatsapp,
                C::Telegram,
                C::Wechat,
                C::Other,
            ]),
        );
        use PictureType as T;
        check("PictureType", spelled(&[T::Thumb, T::Full, T::Wide]));
    }
}

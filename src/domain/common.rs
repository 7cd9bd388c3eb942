//! Shared attributes and the reference resources: parties, areas and pairings.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::labelled::labelled;
use super::place::{check_codes, check_names};
use super::validation::{check_date, check_year, require_text};
use super::{Collection, PlaceCode, PlaceName, ResourceName, Violations};

/// Bookkeeping the store sets on every write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Meta {
    /// Revision of the change that last wrote the resource.
    pub revision: i64,
    pub create_time: Option<DateTime<Utc>>,
    pub update_time: Option<DateTime<Utc>>,
}

impl Meta {
    /// The entity tag clients send back to detect conflicting updates.
    pub fn etag(&self) -> Etag {
        Etag::of(self.revision)
    }
}

/// The entity tag of a revision: `"r7"`, quotes included. Its text is kept on the stack: a
/// writer of the answer copies it without a `String` or the formatting machinery (which cost
/// some 600 of a GetProject's 60,000 instructions).
pub struct Etag {
    text: [u8; Etag::MAX_LEN],
    len: usize,
}

impl Etag {
    /// Two quotes, the `r` and the twenty characters of the longest i64.
    const MAX_LEN: usize = 23;

    pub fn of(revision: i64) -> Self {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(revision).as_bytes();
        let mut text = [0; Etag::MAX_LEN];
        text[..2].copy_from_slice(b"\"r");
        text[2..2 + digits.len()].copy_from_slice(digits);
        text[2 + digits.len()] = b'"';
        Etag {
            text,
            len: digits.len() + 3,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).expect("quotes, r and digits are ASCII")
    }
}

impl std::fmt::Display for Etag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a figure or record comes from. Records hold it shared (`Arc`): many cite one source.
#[derive(Clone, Debug, Default, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub source_title: String,
    pub publisher: String,
    pub publish_date: Option<NaiveDate>,
    pub source_uri: String,
    pub quoted_passage: String,
    pub note: String,
}

/// Field by field, as derived, except that two empty texts are equal without a `memcmp`:
/// glibc's AVX-512 `memcmp` reads an empty `String`'s dangling pointer with a masked load,
/// which this machine's CPU resolves in a microcode assist of about 125 ns. Most provenances
/// leave three of their texts empty, and every write compares one to share it
/// (`Shared::share`): 380 ns a record, a tenth of an import's time, before this.
impl PartialEq for Provenance {
    fn eq(&self, other: &Self) -> bool {
        fn same(a: &str, b: &str) -> bool {
            a.len() == b.len() && (a.is_empty() || a == b)
        }
        // Every field named, so that a new one cannot be left out of the comparison.
        let Provenance {
            source_title,
            publisher,
            publish_date,
            source_uri,
            quoted_passage,
            note,
        } = self;
        same(source_title, &other.source_title)
            && same(publisher, &other.publisher)
            && *publish_date == other.publish_date
            && same(source_uri, &other.source_uri)
            && same(quoted_passage, &other.quoted_passage)
            && same(note, &other.note)
    }
}

/// Field by field, as `eq` compares.
impl std::hash::Hash for Provenance {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let Provenance {
            source_title,
            publisher,
            publish_date,
            source_uri,
            quoted_passage,
            note,
        } = self;
        source_title.hash(state);
        publisher.hash(state);
        publish_date.hash(state);
        source_uri.hash(state);
        quoted_passage.hash(state);
        note.hash(state);
    }
}

impl Provenance {
    pub(super) fn validate(&self, field: &str, violations: &mut Violations) {
        check_date(
            self.publish_date,
            &format!("{field}.publish_date"),
            violations,
        );
        if self.source_title.trim().is_empty() {
            violations.push(
                format!("{field}.source_title"),
                "every record must name its source",
            );
        }
    }
}

labelled! {
    /// How a figure or record came about.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum DataStatus {
        Reported = "REPORTED",
        Estimated = "ESTIMATED",
        Provisional = "PROVISIONAL",
        Computed = "COMPUTED",
        Synthetic = "SYNTHETIC",
    }
}

impl DataStatus {
    /// How far a status is from a value stated by a source: higher is less certain.
    pub fn uncertainty(self) -> u8 {
        match self {
            DataStatus::Reported => 0,
            DataStatus::Computed => 1,
            DataStatus::Provisional => 2,
            DataStatus::Estimated => 3,
            DataStatus::Synthetic => 4,
        }
    }

    /// The least certain of the statuses: what a figure computed from them can claim.
    pub fn least_certain(statuses: impl IntoIterator<Item = DataStatus>) -> DataStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.uncertainty())
            .unwrap_or(DataStatus::Reported)
    }
}

labelled! {
    /// How a source qualifies a figure.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Qualifier {
        Exact = "EXACT",
        About = "ABOUT",
        AtLeast = "AT_LEAST",
        AtMost = "AT_MOST",
        MoreThan = "MORE_THAN",
        LessThan = "LESS_THAN",
    }
}

impl Qualifier {
    /// EXACT only if every input is exact: one approximate input makes the result approximate.
    pub fn combined(qualifiers: impl IntoIterator<Item = Qualifier>) -> Qualifier {
        if qualifiers.into_iter().all(|q| q == Qualifier::Exact) {
            Qualifier::Exact
        } else {
            Qualifier::About
        }
    }
}

labelled! {
    /// A field of support.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum SupportField {
        Economy = "ECONOMY",
        Technology = "TECHNOLOGY",
        Education = "EDUCATION",
        HealthCare = "HEALTH_CARE",
        Talent = "TALENT",
        Housing = "HOUSING",
        RoadsAndTransport = "ROADS_AND_TRANSPORT",
        Water = "WATER",
        CultureAndTourism = "CULTURE_AND_TOURISM",
        Agriculture = "AGRICULTURE",
        IndustryAndEmployment = "INDUSTRY_AND_EMPLOYMENT",
        Other = "OTHER",
    }
}

impl SupportField {}

labelled! {
    /// Kinds of assisting party.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum PartyKind {
        Province = "PROVINCE",
        Municipality = "MUNICIPALITY",
        CentralDepartment = "CENTRAL_DEPARTMENT",
        Enterprise = "ENTERPRISE",
        Other = "OTHER",
    }
}

/// An assisting party.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Party {
    pub name: ResourceName,
    pub kind: PartyKind,
    pub display_name: String,
    pub home_area: String,
    /// Official codes of the province or city it is: administrative division, ISO 3166-2.
    #[serde(default)]
    pub codes: Vec<PlaceCode>,
    /// Where its codes and names come from.
    #[serde(default)]
    pub provenance: Option<Arc<Provenance>>,
    #[serde(default)]
    pub meta: Meta,
}

impl Party {
    /// Checks the party's own fields.
    pub fn validate(&self) -> Violations {
        let mut violations = Violations::default();
        require_text(&self.display_name, "display_name", &mut violations);
        check_codes(&self.codes, &mut violations);
        if let Some(provenance) = &self.provenance {
            provenance.validate("provenance", &mut violations);
        }
        violations
    }
}

labelled! {
    /// Levels of the area hierarchy.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum AreaLevel {
        Region = "REGION",
        Prefecture = "PREFECTURE",
        Division = "DIVISION",
        County = "COUNTY",
        Country = "COUNTRY",
    }
}

impl AreaLevel {
    /// Depth in the hierarchy: country 0, region 1, prefecture and division 2, county 3.
    pub fn depth(self) -> u8 {
        match self {
            AreaLevel::Country => 0,
            AreaLevel::Region => 1,
            AreaLevel::Prefecture | AreaLevel::Division => 2,
            AreaLevel::County => 3,
        }
    }
}

/// A recipient area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub name: ResourceName,
    pub display_name: String,
    pub level: AreaLevel,
    pub parent: Option<ResourceName>,
    /// Names in several languages and scripts, each for the dates it held.
    #[serde(default)]
    pub names: Vec<PlaceName>,
    /// Official codes, each for the dates it held.
    #[serde(default)]
    pub codes: Vec<PlaceCode>,
    /// Where its names and codes come from.
    #[serde(default)]
    pub provenance: Option<Arc<Provenance>>,
    #[serde(default)]
    pub meta: Meta,
}

impl Area {
    /// Checks the area's own fields.
    pub fn validate(&self) -> Violations {
        let mut violations = Violations::default();
        require_text(&self.display_name, "display_name", &mut violations);
        check_names(&self.names, &mut violations);
        check_codes(&self.codes, &mut violations);
        if let Some(provenance) = &self.provenance {
            provenance.validate("provenance", &mut violations);
        }
        match (&self.parent, self.level) {
            (Some(_), AreaLevel::Country) => violations.push("parent", "a country has no parent"),
            (None, AreaLevel::Prefecture | AreaLevel::Division | AreaLevel::County) => {
                violations.push("parent", "every area below a region needs a parent")
            }
            (Some(parent), _) if parent.collection() != Collection::Areas => {
                violations.push("parent", "must name an area")
            }
            _ => {}
        }
        violations
    }
}

/// An assisting party paired with a recipient area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pairing {
    pub name: ResourceName,
    pub party: ResourceName,
    pub area: ResourceName,
    pub start_year: i32,
    pub end_year: Option<i32>,
    pub fields: Vec<SupportField>,
    pub status: DataStatus,
    pub provenance: Arc<Provenance>,
    #[serde(default)]
    pub meta: Meta,
}

impl Pairing {
    /// Checks the pairing's own fields.
    pub fn validate(&self) -> Violations {
        let mut violations = Violations::default();
        check_year(self.start_year, "start_year", &mut violations);
        if let Some(end) = self.end_year {
            check_year(end, "end_year", &mut violations);
            if end < self.start_year {
                violations.push("end_year", "must not be before start_year");
            }
        }
        self.provenance.validate("provenance", &mut violations);
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_the_revision_after_an_r_in_quotes() {
        for (revision, etag) in [
            (7, r#""r7""#),
            (0, r#""r0""#),
            (i64::MAX, r#""r9223372036854775807""#),
            (i64::MIN, r#""r-9223372036854775808""#),
        ] {
            let meta = Meta {
                revision,
                ..Meta::default()
            };
            assert_eq!(meta.etag().as_str(), etag);
            assert_eq!(meta.etag().to_string(), etag);
        }
    }

    #[test]
    fn provenances_are_equal_exactly_when_every_field_is() {
        let full = Provenance {
            source_title: "Xinhua".into(),
            publisher: "Xinhua News Agency".into(),
            publish_date: NaiveDate::from_ymd_opt(2023, 8, 1),
            source_uri: "https://example.org/a".into(),
            quoted_passage: "170 billion yuan".into(),
            note: "read from the article".into(),
        };
        let sparse = Provenance {
            source_title: "Xinhua".into(),
            ..Default::default()
        };
        for provenance in [&full, &sparse] {
            assert_eq!(provenance, &provenance.clone());
        }
        let changes: [fn(&mut Provenance); 6] = [
            |p| p.source_title.push('!'),
            |p| p.publisher = "other".into(),
            |p| p.publish_date = NaiveDate::from_ymd_opt(2024, 1, 1),
            |p| p.source_uri.clear(),
            |p| p.quoted_passage = "a".into(),
            |p| p.note.clear(),
        ];
        for change in changes {
            for base in [&full, &sparse] {
                let mut changed = base.clone();
                change(&mut changed);
                assert_eq!(
                    changed == *base,
                    format!("{changed:?}") == format!("{base:?}"),
                    "{changed:?} against {base:?}"
                );
            }
        }
    }
}

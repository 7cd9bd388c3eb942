//! What places are called and coded as: names in several languages and scripts, official
//! codes, each for the dates it held. A place is found by any of them, case- and
//! width-insensitively (`folding`).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::labelled::labelled;
use super::validation::check_date;
use super::{Labelled, Violations};

/// A name of a place in one language and script.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlaceName {
    pub text: String,
    /// A BCP 47 language tag: "zh-Hans", "ug-Arab", "ug-Latn", "zh-Latn-pinyin", "en".
    pub language: String,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

labelled! {
    /// Code lists places are coded in.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum CodeScheme {
        /// China's administrative division codes (GB/T 2260): six digits, "653125".
        AdminDivision = "ADMIN_DIVISION",
        /// ISO 3166-2 subdivision codes: "CN-XJ".
        #[serde(rename = "iso_3166_2")]
        Iso3166_2 = "ISO_3166_2",
    }
}

/// An official code of a place.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlaceCode {
    pub scheme: CodeScheme,
    pub value: String,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

impl CodeScheme {
    /// Whether `value` has this scheme's form; what it should look like if not.
    fn check(self, value: &str) -> Result<(), &'static str> {
        let fits = match self {
            CodeScheme::AdminDivision => {
                value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit())
            }
            CodeScheme::Iso3166_2 => value.split_once('-').is_some_and(|(country, part)| {
                country.len() == 2
                    && country.bytes().all(|b| b.is_ascii_uppercase())
                    && (1..=3).contains(&part.len())
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }),
        };
        match (fits, self) {
            (true, _) => Ok(()),
            (false, CodeScheme::AdminDivision) => {
                Err("an administrative division code is six digits, such as \"653125\"")
            }
            (false, CodeScheme::Iso3166_2) => Err(
                "an ISO 3166-2 code reads \"CN-XJ\": a country, a hyphen, one to three letters or digits",
            ),
        }
    }
}

/// Checks the validity span of a name or code at `field`.
fn check_span(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    field: &str,
    violations: &mut Violations,
) {
    check_date(from, &format!("{field}.valid_from"), violations);
    check_date(to, &format!("{field}.valid_to"), violations);
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        violations.push(format!("{field}.valid_to"), "must not be before valid_from");
    }
}

/// Checks names: text, a well-formed BCP 47 tag, a span.
pub(super) fn check_names(names: &[PlaceName], violations: &mut Violations) {
    for (i, name) in names.iter().enumerate() {
        let field = format!("names[{i}]");
        if name.text.trim().is_empty() {
            violations.push(format!("{field}.text"), "is required");
        }
        if let Err(error) = icu_locale_core::Locale::try_from_str(&name.language) {
            violations.push(
                format!("{field}.language"),
                format!(
                    "{:?} is not a BCP 47 language tag such as \"zh-Hans\" or \"ug-Latn\" ({error:?})",
                    crate::text::bounded(&name.language)
                ),
            );
        }
        check_span(name.valid_from, name.valid_to, &field, violations);
    }
}

/// Checks codes: each of its scheme's form, a span, none twice.
pub(super) fn check_codes(codes: &[PlaceCode], violations: &mut Violations) {
    let mut seen: HashMap<(CodeScheme, &str), usize> = HashMap::new();
    for (i, code) in codes.iter().enumerate() {
        let field = format!("codes[{i}]");
        if let Err(reason) = code.scheme.check(&code.value) {
            violations.push(format!("{field}.value"), reason);
        }
        check_span(code.valid_from, code.valid_to, &field, violations);
        if let Some(first) = seen.insert((code.scheme, code.value.as_str()), i) {
            violations.push(
                format!("{field}.value"),
                format!(
                    "{} {} is codes[{first}] already",
                    code.scheme.label(),
                    code.value
                ),
            );
        }
    }
}

//! Places by any name or code: every name, code and display name of every area and party,
//! folded (case, width, and marks: "Shāchē" is found as "shache"), so that a place is
//! resolved in one lookup among a hundred thousand.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::domain::folding::fold;
use crate::domain::{Area, CodeScheme, Party, PlaceCode, PlaceName, ResourceName};

/// What a place was found by.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MatchedBy {
    /// One of its names, in a language.
    Name { language: String },
    /// One of its codes.
    Code { scheme: CodeScheme },
    /// The name it is shown by.
    DisplayName,
}

/// One key of a place: the text as held, what it is, and when it held.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlaceKey {
    pub place: ResourceName,
    pub text: String,
    pub matched_by: MatchedBy,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

impl PlaceKey {
    /// Whether the key held on `date` (any date for `None`).
    pub fn holds_on(&self, date: Option<NaiveDate>) -> bool {
        date.is_none_or(|d| {
            self.valid_from.is_none_or(|from| from <= d) && self.valid_to.is_none_or(|to| d <= to)
        })
    }
}

/// Every key of every place, by its folded text.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PlaceIndex {
    by_key: BTreeMap<String, Vec<PlaceKey>>,
    /// Which place holds each code, for refusing a code held twice.
    holders: HashMap<(CodeScheme, String), ResourceName>,
}

/// Text as places are looked up: folded for case and width, marks dropped, spaces collapsed.
pub fn place_key(text: &str) -> String {
    let folded: String = text.chars().flat_map(fold).collect();
    let bare: String = folded.nfd().filter(|c| !is_combining_mark(*c)).collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl PlaceIndex {
    /// Indexes an area's names, codes and display name, replacing what it held before.
    pub fn put_area(&mut self, old: Option<&Area>, area: &Area) {
        if let Some(old) = old {
            self.remove_area(old);
        }
        self.add(
            keys_of(&area.name, &area.display_name, &area.names, &area.codes),
            &area.codes,
        );
    }

    /// Forgets a deleted area.
    pub fn remove_area(&mut self, area: &Area) {
        self.remove(
            keys_of(&area.name, &area.display_name, &area.names, &area.codes),
            &area.codes,
        );
    }

    /// Indexes a party's codes and display name, replacing what it held before.
    pub fn put_party(&mut self, old: Option<&Party>, party: &Party) {
        if let Some(old) = old {
            self.remove_party(old);
        }
        self.add(
            keys_of(&party.name, &party.display_name, &[], &party.codes),
            &party.codes,
        );
    }

    /// Forgets a deleted party.
    pub fn remove_party(&mut self, party: &Party) {
        self.remove(
            keys_of(&party.name, &party.display_name, &[], &party.codes),
            &party.codes,
        );
    }

    /// The place that holds `code`, if any.
    pub fn holder(&self, scheme: CodeScheme, value: &str) -> Option<&ResourceName> {
        self.holders.get(&(scheme, value.to_owned()))
    }

    /// The keys whose folded text is `query`'s, then those it begins, that held on `date`
    /// (any date for `None`): at most `limit`.
    pub fn resolve(&self, query: &str, date: Option<NaiveDate>, limit: usize) -> Vec<&PlaceKey> {
        let key = place_key(query);
        if key.is_empty() {
            return Vec::new();
        }
        let exact = self.by_key.get(&key).into_iter().flatten();
        let prefixed = self
            .by_key
            .range::<str, _>((Bound::Excluded(key.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(&key))
            .flat_map(|(_, keys)| keys);
        exact
            .chain(prefixed)
            .filter(|k| k.holds_on(date))
            .take(limit)
            .collect()
    }

    fn add(&mut self, keys: Vec<PlaceKey>, codes: &[PlaceCode]) {
        let Some(place) = keys.first().map(|k| k.place.clone()) else {
            return;
        };
        for key in keys {
            self.by_key
                .entry(place_key(&key.text))
                .or_default()
                .push(key);
        }
        for code in codes {
            self.holders
                .insert((code.scheme, code.value.clone()), place.clone());
        }
    }

    fn remove(&mut self, keys: Vec<PlaceKey>, codes: &[PlaceCode]) {
        let Some(place) = keys.first().map(|k| k.place.clone()) else {
            return;
        };
        for key in keys {
            let folded = place_key(&key.text);
            if let Some(held) = self.by_key.get_mut(&folded) {
                held.retain(|k| k.place != place);
                if held.is_empty() {
                    self.by_key.remove(&folded);
                }
            }
        }
        for code in codes {
            let held = (code.scheme, code.value.clone());
            if self.holders.get(&held) == Some(&place) {
                self.holders.remove(&held);
            }
        }
    }
}

/// Every key of a place: its display name, names and codes.
fn keys_of(
    place: &ResourceName,
    display_name: &str,
    names: &[PlaceName],
    codes: &[PlaceCode],
) -> Vec<PlaceKey> {
    let key = |text: &str, matched_by, valid_from, valid_to| PlaceKey {
        place: place.clone(),
        text: text.to_owned(),
        matched_by,
        valid_from,
        valid_to,
    };
    let mut keys = vec![key(display_name, MatchedBy::DisplayName, None, None)];
    keys.extend(names.iter().map(|n| {
        let by = MatchedBy::Name {
            language: n.language.clone(),
        };
        key(&n.text, by, n.valid_from, n.valid_to)
    }));
    keys.extend(codes.iter().map(|c| {
        let by = MatchedBy::Code { scheme: c.scheme };
        key(&c.value, by, c.valid_from, c.valid_to)
    }));
    keys
}

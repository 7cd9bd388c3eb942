//! Resource names (AIP-122): `{collection}/{id}`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Violation;

/// The top-level collections of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    Parties,
    Areas,
    Pairings,
    Projects,
    Indicators,
    Observations,
}

impl Collection {
    /// Every collection, in dependency order (referenced before referencing).
    pub const ALL: [Collection; 6] = [
        Collection::Areas,
        Collection::Parties,
        Collection::Indicators,
        Collection::Pairings,
        Collection::Projects,
        Collection::Observations,
    ];

    /// The collection whose names start with `segment`.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.segment() == segment)
    }

    /// The collection segment of resource names, e.g. `parties`.
    pub fn segment(self) -> &'static str {
        match self {
            Collection::Parties => "parties",
            Collection::Areas => "areas",
            Collection::Pairings => "pairings",
            Collection::Projects => "projects",
            Collection::Indicators => "indicators",
            Collection::Observations => "observations",
        }
    }
}

/// A validated resource name such as `projects/kashgar-school-17`. Copies share one text:
/// every observation names its indicator and area, and the read model keys maps by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceName(Arc<str>);

impl ResourceName {
    /// Parses `name` as a name in `collection`; `field` names the request field in the error.
    pub fn parse(collection: Collection, name: &str, field: &str) -> Result<Self, Violation> {
        let Some(id) = name
            .strip_prefix(collection.segment())
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Err(Violation::new(
                field,
                format!(
                    "must be a resource name of the form `{}/{{id}}`, got {name:?}",
                    collection.segment()
                ),
            ));
        };
        if !is_valid_id(id) {
            return Err(Violation::new(
                field,
                format!(
                    "resource id {id:?} must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit"
                ),
            ));
        }
        Ok(ResourceName(name.into()))
    }

    /// Parses a name of any collection, the collection read from its first segment;
    /// violations name `field`.
    pub fn parse_any(name: &str, field: &str) -> Result<Self, Violation> {
        let segment = name.split('/').next().unwrap_or_default();
        let collection = Collection::from_segment(segment).ok_or_else(|| {
            Violation::new(
                field,
                format!("{name:?} is not a resource name of any collection"),
            )
        })?;
        ResourceName::parse(collection, name, field)
    }

    /// Builds the name of `id` in `collection`, validating the id.
    pub fn new(collection: Collection, id: &str) -> Result<Self, Violation> {
        Self::parse(
            collection,
            &format!("{}/{id}", collection.segment()),
            "name",
        )
    }

    /// The collection this name belongs to.
    pub fn collection(&self) -> Collection {
        let segment = self.0.split('/').next().unwrap_or_default();
        Collection::from_segment(segment)
            .expect("a ResourceName is only built from a known collection")
    }

    /// The whole name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id: what follows the collection segment.
    pub fn id(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, id)| id)
    }

    /// The name of `id` in `collection`, for an id taken from a name validated before: the
    /// read model keeps ids alone and rebuilds names from them.
    pub fn of_valid_id(collection: Collection, id: &str) -> Self {
        debug_assert!(is_valid_id(id), "{id:?} was validated when it was stored");
        let segment = collection.segment();
        let mut name = String::with_capacity(segment.len() + 1 + id.len());
        name.push_str(segment);
        name.push('/');
        name.push_str(id);
        ResourceName(name.into())
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// Maps keyed by name can be searched by text: a name orders, compares and hashes as its text.
impl std::borrow::Borrow<str> for ResourceName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ResourceName {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        ResourceName::parse_any(&value, "name").map_err(|v| v.reason)
    }
}

impl From<ResourceName> for String {
    fn from(value: ResourceName) -> Self {
        value.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_in_their_collection() {
        let name = ResourceName::parse(Collection::Areas, "areas/kashgar", "name").unwrap();
        assert_eq!(name.collection(), Collection::Areas);
    }

    #[test]
    fn rejects_names_of_another_collection_or_with_bad_ids() {
        for bad in [
            "parties/beijing",
            "areas/",
            "areas/Kashgar",
            "areas/a/b",
            "areas/-x",
            "kashgar",
        ] {
            let err = ResourceName::parse(Collection::Areas, bad, "name").unwrap_err();
            assert_eq!(err.field, "name", "{bad}");
        }
    }
}

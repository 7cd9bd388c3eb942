//! Enum values by their short names, as pairctl prints them and flat records spell them:
//! `health_care` for `SUPPORT_FIELD_HEALTH_CARE`.

use pairing_aid_client::v1;

/// A protobuf enum whose value names share a prefix.
pub trait ShortName: Copy + Into<i32> {
    /// The prefix of every value's name, e.g. `SUPPORT_FIELD_`.
    const PREFIX: &'static str;
    /// The value's full protobuf name.
    fn full_name(self) -> &'static str;
    /// The value with this full protobuf name.
    fn from_full_name(name: &str) -> Option<Self>;

    /// The short, lower-case name: `SUPPORT_FIELD_HEALTH_CARE` -> `health_care`.
    fn short(self) -> String {
        let name = self.full_name();
        name.strip_prefix(Self::PREFIX)
            .unwrap_or(name)
            .to_lowercase()
    }

    /// The value a short name in any case names (`health_care`, ` Health_Care `).
    fn from_short(text: &str) -> Option<Self> {
        Self::from_full_name(&format!("{}{}", Self::PREFIX, text.trim().to_uppercase()))
    }
}

macro_rules! short_names {
    ($($enum:ident => $prefix:literal),* $(,)?) => {$(
        impl ShortName for v1::$enum {
            const PREFIX: &'static str = $prefix;
            fn full_name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_full_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    )*};
}

short_names!(
    AreaLevel => "AREA_LEVEL_",
    ChangeKind => "CHANGE_KIND_",
    CodeScheme => "CODE_SCHEME_",
    DataStatus => "DATA_STATUS_",
    Derivation => "DERIVATION_",
    Frequency => "FREQUENCY_",
    FundingType => "FUNDING_TYPE_",
    PartyKind => "PARTY_KIND_",
    ProjectStatus => "PROJECT_STATUS_",
    Qualifier => "QUALIFIER_",
    Reading => "READING_",
    RevisionKind => "REVISION_KIND_",
    SupportField => "SUPPORT_FIELD_",
);

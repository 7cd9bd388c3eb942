//! Conversions between `pairing.v1` messages and domain resources: the only place that knows
//! both.
//!
//! Proto enums declare `*_UNSPECIFIED = 0` and then the domain enum's variants in the domain's
//! declaration order, so a variant maps to `ordinal + 1`. The arrays below list the variants
//! in that order; a test holds them in step with the protos.

pub mod decode;
pub mod encode;
#[cfg(test)]
mod fuzz;

use crate::domain::{
    AreaLevel, DataStatus, Frequency, FundingType, MeasureKind, PartyKind, ProjectStatus,
    Qualifier, RecordMeasure, SeriesRole, SupportField,
};

const SUPPORT_FIELDS: [SupportField; 12] = SupportField::ALL;
const PARTY_KINDS: [PartyKind; 5] = [
    PartyKind::Province,
    PartyKind::Municipality,
    PartyKind::CentralDepartment,
    PartyKind::Enterprise,
    PartyKind::Other,
];
pub(super) const AREA_LEVELS: [AreaLevel; 5] = [
    AreaLevel::Region,
    AreaLevel::Prefecture,
    AreaLevel::Division,
    AreaLevel::County,
    AreaLevel::Country,
];
const DATA_STATUSES: [DataStatus; 5] = DataStatus::ALL;
const QUALIFIERS: [Qualifier; 6] = [
    Qualifier::Exact,
    Qualifier::About,
    Qualifier::AtLeast,
    Qualifier::AtMost,
    Qualifier::MoreThan,
    Qualifier::LessThan,
];
const PROJECT_STATUSES: [ProjectStatus; 5] = ProjectStatus::ALL;
pub(super) const FUNDING_TYPES: [FundingType; 3] = FundingType::ALL;
const FREQUENCIES: [Frequency; 4] = [
    Frequency::Annual,
    Frequency::Quarterly,
    Frequency::Monthly,
    Frequency::MultiYear,
];
const MEASURE_KINDS: [MeasureKind; 7] = [
    MeasureKind::Stock,
    MeasureKind::Flow,
    MeasureKind::Count,
    MeasureKind::Rate,
    MeasureKind::Share,
    MeasureKind::PerCapita,
    MeasureKind::Ratio,
];

const RECORD_MEASURES: [RecordMeasure; 3] = [
    RecordMeasure::Expenditure,
    RecordMeasure::LivelihoodShare,
    RecordMeasure::Outputs,
];
const SERIES_ROLES: [SeriesRole; 2] = [SeriesRole::ExchangeRate, SeriesRole::Deflator];

#[cfg(test)]
mod tests {
    use pairing_aid_client::v1 as pb;

    use super::*;

    /// Variant `i` of each array must be proto value `i + 1`, whose name ends with the
    /// variant's serde name.
    fn assert_in_step<T: serde::Serialize + Copy>(
        variants: &[T],
        ordinal: impl Fn(T) -> u8,
        proto_name: impl Fn(i32) -> Option<&'static str>,
    ) {
        for (i, variant) in variants.iter().enumerate() {
            assert_eq!(
                usize::from(ordinal(*variant)),
                i,
                "arrays follow declaration order"
            );
            let domain = serde_json::to_value(variant).unwrap();
            let domain = domain.as_str().unwrap().to_ascii_uppercase();
            let proto = proto_name(i as i32 + 1).unwrap();
            assert!(
                proto.ends_with(&format!("_{domain}")),
                "{proto} vs {domain}"
            );
        }
        assert!(
            proto_name(variants.len() as i32 + 1).is_none(),
            "the proto has no extra values"
        );
    }

    #[test]
    fn domain_and_proto_enums_are_in_step() {
        assert_in_step(
            &SUPPORT_FIELDS,
            |v| v as u8,
            |i| pb::SupportField::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &PARTY_KINDS,
            |v| v as u8,
            |i| pb::PartyKind::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &AREA_LEVELS,
            |v| v as u8,
            |i| pb::AreaLevel::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &DATA_STATUSES,
            |v| v as u8,
            |i| pb::DataStatus::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &QUALIFIERS,
            |v| v as u8,
            |i| pb::Qualifier::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &PROJECT_STATUSES,
            |v| v as u8,
            |i| pb::ProjectStatus::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &FUNDING_TYPES,
            |v| v as u8,
            |i| pb::FundingType::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &FREQUENCIES,
            |v| v as u8,
            |i| pb::Frequency::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &RECORD_MEASURES,
            |v| v as u8,
            |i| pb::RecordMeasure::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &SERIES_ROLES,
            |v| v as u8,
            |i| pb::SeriesRole::try_from(i).ok().map(|e| e.as_str_name()),
        );
        assert_in_step(
            &MEASURE_KINDS,
            |v| v as u8,
            |i| pb::MeasureKind::try_from(i).ok().map(|e| e.as_str_name()),
        );
    }
}

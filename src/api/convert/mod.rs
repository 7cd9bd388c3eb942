//! Conversions between `pairing.v1` messages and domain resources, questions and answers: the
//! only place that knows both.
//!
//! Proto enums declare `*_UNSPECIFIED = 0` and then the domain enum's variants in the domain's
//! declaration order, so a variant maps to `ordinal + 1`; `Labelled` lists the variants, and a
//! test holds every such pair in step.

pub mod analytics;
pub mod decode;
pub mod encode;
#[cfg(test)]
mod fuzz;
mod wire;

use crate::domain::Labelled;

/// The variant a wire enum value stands for; `None` for 0 (unset) and unknown values.
pub fn variant<E: Labelled>(raw: i32) -> Option<E> {
    usize::try_from(raw.checked_sub(1)?)
        .ok()
        .and_then(E::from_ordinal)
}

#[cfg(test)]
mod tests {
    use pairing_aid_client::v1 as pb;

    use super::*;
    use crate::domain::{
        AreaLevel, ChoiceRule, CodeScheme, DataStatus, Frequency, FundingType, MeasureKind,
        PartyKind, PriceBasis, ProjectStatus, Qualifier, Reading, RecordMeasure, RelationKind,
        SeriesRole, SupportField,
    };
    use crate::query::analytics::{Derivation, Dimension};

    /// Variant `i` of `E` must be proto value `i + 1`, named `prefix` and the variant's label;
    /// the proto has no value beyond the last variant.
    fn assert_in_step<E: Labelled + std::fmt::Debug>(
        proto_name: impl Fn(i32) -> Option<&'static str>,
    ) {
        for (i, variant) in E::ALL.iter().enumerate() {
            assert_eq!(
                variant.ordinal(),
                i,
                "{variant:?}: ALL follows declaration order"
            );
            let proto = proto_name(i as i32 + 1).unwrap();
            assert!(
                proto.ends_with(&format!("_{}", variant.label())),
                "{proto} vs {}",
                variant.label()
            );
            assert_eq!(super::variant::<E>(i as i32 + 1), Some(*variant));
        }
        assert!(
            proto_name(E::ALL.len() as i32 + 1).is_none(),
            "the proto has no extra values"
        );
        assert_eq!(E::LABELS.len(), E::ALL.len());
    }

    /// A stored enum's label is its serde name, upper-cased: what the store keeps and what
    /// filters and the wire say agree.
    fn assert_stored_as_labelled<E: Labelled + serde::Serialize>() {
        for variant in E::ALL {
            let stored = serde_json::to_value(variant).unwrap();
            assert_eq!(
                stored.as_str().unwrap().to_ascii_uppercase(),
                variant.label()
            );
        }
    }

    macro_rules! in_step {
        ($($domain:ty => $proto:ty),* $(,)?) => {$(
            assert_in_step::<$domain>(|i| <$proto>::try_from(i).ok().map(|e| e.as_str_name()));
        )*};
    }

    #[test]
    fn domain_and_proto_enums_are_in_step() {
        in_step!(
            SupportField => pb::SupportField,
            PartyKind => pb::PartyKind,
            AreaLevel => pb::AreaLevel,
            DataStatus => pb::DataStatus,
            Qualifier => pb::Qualifier,
            ProjectStatus => pb::ProjectStatus,
            FundingType => pb::FundingType,
            Frequency => pb::Frequency,
            MeasureKind => pb::MeasureKind,
            RecordMeasure => pb::RecordMeasure,
            SeriesRole => pb::SeriesRole,
            RelationKind => pb::RelationKind,
            ChoiceRule => pb::ObservationRule,
            CodeScheme => pb::CodeScheme,
            Reading => pb::Reading,
            Derivation => pb::Derivation,
            Dimension => pb::FundingDimension,
        );
    }

    #[test]
    fn price_bases_are_labelled_as_the_proto_names_them() {
        for (i, label) in PriceBasis::LABELS.iter().enumerate() {
            let proto = pb::PriceBasis::try_from(i as i32).unwrap();
            assert_eq!(proto.as_str_name(), format!("PRICE_BASIS_{label}"));
        }
        assert!(pb::PriceBasis::try_from(PriceBasis::LABELS.len() as i32).is_err());
        for (basis, kind) in [
            (PriceBasis::NotApplicable, 0),
            (PriceBasis::Nominal, 1),
            (PriceBasis::Constant(2015), 2),
            (PriceBasis::Comparable, 3),
        ] {
            assert_eq!(basis.kind(), kind);
        }
    }

    #[test]
    fn stored_enums_are_labelled_by_their_serde_names() {
        assert_stored_as_labelled::<SupportField>();
        assert_stored_as_labelled::<PartyKind>();
        assert_stored_as_labelled::<AreaLevel>();
        assert_stored_as_labelled::<DataStatus>();
        assert_stored_as_labelled::<Qualifier>();
        assert_stored_as_labelled::<ProjectStatus>();
        assert_stored_as_labelled::<FundingType>();
        assert_stored_as_labelled::<Frequency>();
        assert_stored_as_labelled::<MeasureKind>();
        assert_stored_as_labelled::<RecordMeasure>();
        assert_stored_as_labelled::<SeriesRole>();
        assert_stored_as_labelled::<RelationKind>();
        assert_stored_as_labelled::<Reading>();
        assert_stored_as_labelled::<CodeScheme>();
    }
}

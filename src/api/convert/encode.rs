//! Domain resources to `pairing.v1` messages.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::v1 as pb;
use rust_decimal::Decimal;

use crate::changes::{Committed, Write};
use crate::domain::{self, ChangeScope, Labelled, Meta, PriceBasis, ResourceName};
use crate::query::model::places::{MatchedBy, PlaceKey, place_key};
use crate::query::model::{ObservationTable, ReadModel};

/// The proto value of the domain variant with this ordinal.
pub fn enum_value<E: Labelled>(variant: E) -> i32 {
    variant.ordinal() as i32 + 1
}

fn date(value: Option<NaiveDate>) -> Option<Date> {
    value.map(|d| Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

pub fn timestamp(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(|t| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

/// The wire form of an exact amount.
pub fn money(value: &domain::Money) -> Money {
    let (units, nanos) = units_and_nanos(value.amount);
    Money {
        currency_code: value.currency.clone(),
        units,
        nanos,
    }
}

/// An amount as `google.type.Money` splits it: whole units, and billionths of a unit, both
/// with the amount's sign; digits below a billionth are dropped, and units beyond `i64` shown
/// as `i64::MAX`. Integer arithmetic on the mantissa: `Decimal`'s own (truncate, subtract,
/// multiply, truncate) cost every funding line of a GetProject a few hundred instructions.
pub(super) fn units_and_nanos(amount: Decimal) -> (i64, i32) {
    let scale = amount.scale();
    let mantissa = amount.mantissa();
    // In 64 bits where the mantissa and the scale's power of ten fit them, as every amount
    // reported in yuan does: each 128-bit division is a call of about a hundred instructions.
    if scale <= 18
        && let Ok(mantissa) = i64::try_from(mantissa)
    {
        let (units, nanos) = whole_and_billionths(mantissa, scale, |e| 10i64.pow(e));
        return (units, nanos as i32);
    }
    let (units, nanos) = whole_and_billionths(mantissa, scale, |e| 10i128.pow(e));
    (i64::try_from(units).unwrap_or(i64::MAX), nanos as i32)
}

/// The whole part of `mantissa` at `scale` and its fraction in billionths, each with the
/// mantissa's sign, in the arithmetic of `T`; `ten_to` raises ten to a power.
fn whole_and_billionths<T>(mantissa: T, scale: u32, ten_to: impl Fn(u32) -> T) -> (T, T)
where
    T: Copy + std::ops::Rem<Output = T> + std::ops::Mul<Output = T> + std::ops::Div<Output = T>,
{
    let one = ten_to(scale);
    let fraction = mantissa % one;
    let billionths = if scale <= 9 {
        fraction * ten_to(9 - scale)
    } else {
        fraction / ten_to(scale - 9)
    };
    (mantissa / one, billionths)
}

fn place_codes(codes: &[domain::PlaceCode]) -> Vec<pb::PlaceCode> {
    codes
        .iter()
        .map(|c| pb::PlaceCode {
            scheme: enum_value(c.scheme),
            value: c.value.clone(),
            valid_from: date(c.valid_from),
            valid_to: date(c.valid_to),
        })
        .collect()
}

fn provenance(value: &domain::Provenance) -> pb::Provenance {
    pb::Provenance {
        source_title: value.source_title.clone(),
        publisher: value.publisher.clone(),
        publish_date: date(value.publish_date),
        source_uri: value.source_uri.clone(),
        quoted_passage: value.quoted_passage.clone(),
        note: value.note.clone(),
    }
}

fn name_or_empty(name: Option<&domain::ResourceName>) -> String {
    name.map(|n| n.as_str().to_owned()).unwrap_or_default()
}

/// A resource message with the bookkeeping every resource carries (etag, revision, times)
/// filled in from `meta`, beside the fields given.
macro_rules! with_bookkeeping {
    ($message:path { $($field:ident $(: $value:expr)?),* $(,)? }, $meta:expr) => {{
        let meta: &Meta = $meta;
        $message {
            $($field $(: $value)?,)*
            etag: meta.etag().to_string(),
            revision: meta.revision,
            create_time: timestamp(meta.create_time),
            update_time: timestamp(meta.update_time),
        }
    }};
}

/// What a Get answers for a resource of this type: the message the server sends.
pub trait GetAnswer {
    type Answer: prost::Message + 'static;

    fn get_answer(&self) -> Self::Answer;
}

/// How a Get answers from the read model's table of its resources: by the resource found,
/// or, for projects, straight from the table's packed row (`wire`).
pub trait Answers<T: GetAnswer> {
    /// The Get answer for the resource of that name, if there is one.
    fn answer(&self, name: &ResourceName) -> Option<T::Answer>;
}

impl<T: GetAnswer> Answers<T> for BTreeMap<ResourceName, T> {
    fn answer(&self, name: &ResourceName) -> Option<T::Answer> {
        self.get(name).map(T::get_answer)
    }
}

impl Answers<domain::Observation> for ObservationTable {
    fn answer(&self, name: &ResourceName) -> Option<pb::GetObservationResponse> {
        self.get(name).as_ref().map(GetAnswer::get_answer)
    }
}

/// Get answers that wrap the resource's message; a project's is written by `wire`.
macro_rules! get_answers {
    ($($variant:ident => $response:ident { $field:ident }),+ $(,)?) => {$(
        impl GetAnswer for domain::$variant {
            type Answer = pb::$response;

            fn get_answer(&self) -> pb::$response {
                pb::$response { $field: Some($field(self)) }
            }
        }
    )+};
}

get_answers!(
    Party => GetPartyResponse { party },
    Area => GetAreaResponse { area },
    Pairing => GetPairingResponse { pairing },
    Indicator => GetIndicatorResponse { indicator },
    Observation => GetObservationResponse { observation },
);

/// The wire form of a party.
pub fn party(value: &domain::Party) -> pb::Party {
    with_bookkeeping!(
        pb::Party {
            name: value.name.as_str().to_owned(),
            kind: enum_value(value.kind),
            display_name: value.display_name.clone(),
            home_area: value.home_area.clone(),
            codes: place_codes(&value.codes),
            provenance: value.provenance.as_deref().map(provenance),
        },
        &value.meta
    )
}

/// The wire form of an area.
pub fn area(value: &domain::Area) -> pb::Area {
    with_bookkeeping!(
        pb::Area {
            name: value.name.as_str().to_owned(),
            display_name: value.display_name.clone(),
            level: enum_value(value.level),
            parent: name_or_empty(value.parent.as_ref()),
            names: value
                .names
                .iter()
                .map(|n| pb::PlaceName {
                    text: n.text.clone(),
                    language: n.language.clone(),
                    valid_from: date(n.valid_from),
                    valid_to: date(n.valid_to),
                })
                .collect(),
            codes: place_codes(&value.codes),
            provenance: value.provenance.as_deref().map(provenance),
        },
        &value.meta
    )
}

/// The wire form of a pairing.
pub fn pairing(value: &domain::Pairing) -> pb::Pairing {
    with_bookkeeping!(
        pb::Pairing {
            name: value.name.as_str().to_owned(),
            party: value.party.as_str().to_owned(),
            area: value.area.as_str().to_owned(),
            start_year: value.start_year,
            end_year: value.end_year,
            fields: value.fields.iter().map(|f| enum_value(*f)).collect(),
            status: enum_value(value.status),
            provenance: Some(provenance(&value.provenance)),
        },
        &value.meta
    )
}

/// The wire form of a project with its recipients, outputs and funding lines.
pub fn project(value: &domain::Project) -> pb::Project {
    with_bookkeeping!(
        pb::Project {
            name: value.name.as_str().to_owned(),
            title: value.title.clone(),
            description: value.description.clone(),
            pairing: name_or_empty(value.pairing.as_ref()),
            party: value.party.as_str().to_owned(),
            recipients: value
                .recipients
                .iter()
                .map(|r| pb::RecipientArea {
                    area: r.area.as_str().to_owned(),
                    share_percent: r.share_percent.normalize().to_string(),
                })
                .collect(),
            field: enum_value(value.field),
            livelihood: value.livelihood,
            status: enum_value(value.status),
            planned_start_date: date(value.planned_start_date),
            planned_end_date: date(value.planned_end_date),
            actual_start_date: date(value.actual_start_date),
            actual_end_date: date(value.actual_end_date),
            outputs: value
                .outputs
                .iter()
                .map(|o| pb::ProjectOutput {
                    indicator: o.indicator.as_str().to_owned(),
                    value: o.value.normalize().to_string(),
                })
                .collect(),
            funding_lines: value
                .funding_lines
                .iter()
                .map(|l| pb::FundingLine {
                    r#type: enum_value(l.funding_type),
                    year: l.year,
                    date: date(l.date),
                    amount: Some(money(&l.amount)),
                    value_date: date(l.value_date),
                })
                .collect(),
            data_status: enum_value(value.data_status),
            provenance: Some(provenance(&value.provenance)),
        },
        &value.meta
    )
}

/// The wire form of an indicator.
pub fn indicator(value: &domain::Indicator) -> pb::Indicator {
    let (price_basis, price_base_year) = match value.price_basis {
        PriceBasis::NotApplicable => (pb::PriceBasis::Unspecified, 0),
        PriceBasis::Nominal => (pb::PriceBasis::Nominal, 0),
        PriceBasis::Constant(year) => (pb::PriceBasis::Constant, year),
        PriceBasis::Comparable => (pb::PriceBasis::Comparable, 0),
    };
    with_bookkeeping!(
        pb::Indicator {
            name: value.name.as_str().to_owned(),
            code: value.code.clone(),
            display_name: value.display_name.clone(),
            description: value.description.clone(),
            unit: value.unit.clone(),
            unit_multiplier: value.unit_multiplier,
            frequency: enum_value(value.frequency),
            measure_kind: enum_value(value.measure_kind),
            summable: value.summable,
            price_basis: price_basis.into(),
            price_base_year,
            topic: value.topic.clone(),
            record_measure: value.record_measure.map_or(0, enum_value),
            series_role: value.series_role.map_or(0, enum_value),
            relation: value.relation.as_ref().map(|r| pb::IndicatorRelation {
                kind: enum_value(r.kind),
                of: r.of.as_str().to_owned(),
            }),
            provenance: value.provenance.as_deref().map(provenance),
        },
        &value.meta
    )
}

/// The wire form of an observation.
pub fn observation(value: &domain::Observation) -> pb::Observation {
    with_bookkeeping!(
        pb::Observation {
            name: value.name.as_str().to_owned(),
            indicator: value.indicator.as_str().to_owned(),
            area: value.area.as_str().to_owned(),
            period: value.period.clone(),
            value: value.value.normalize().to_string(),
            qualifier: enum_value(value.qualifier),
            status: enum_value(value.status),
            provenance: Some(provenance(&value.provenance)),
            reading: value.reading.map_or(0, enum_value),
            derived_from: value
                .derived_from
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect(),
        },
        &value.meta
    )
}

/// Any resource as a `Record`.
pub fn record(resource: &domain::Resource) -> pb::Record {
    use pb::record::Resource as R;
    let inner = match resource {
        domain::Resource::Party(r) => R::Party(party(r)),
        domain::Resource::Area(r) => R::Area(area(r)),
        domain::Resource::Pairing(r) => R::Pairing(pairing(r)),
        domain::Resource::Project(r) => R::Project(project(r)),
        domain::Resource::Indicator(r) => R::Indicator(indicator(r)),
        domain::Resource::Observation(r) => R::Observation(observation(r)),
    };
    pb::Record {
        resource: Some(inner),
    }
}

/// The changes of one commit, in commit order.
/// The changes of a commit that are in `scope`.
pub fn changes_in(committed: &Committed, scope: &ChangeScope) -> Vec<pb::Change> {
    if !scope.admits_commit(committed) {
        return Vec::new();
    }
    committed
        .writes
        .iter()
        .filter(|write| scope.admits_write(write))
        .map(|write| {
            let (kind, record) = match write {
                Write::Put(resource) => (pb::ChangeKind::Put, Some(record(resource))),
                Write::Delete(_) => (pb::ChangeKind::Delete, None),
            };
            pb::Change {
                revision: committed.revision,
                name: write.name().to_string(),
                kind: kind.into(),
                record,
                subject: committed.subject.clone(),
                commit_time: timestamp(Some(committed.commit_time)),
            }
        })
        .collect()
}

/// Places found by a name or code, as the wire carries them.
pub fn place_matches(
    model: &ReadModel,
    query: &str,
    found: &[&PlaceKey],
) -> pb::ResolvePlacesResponse {
    let key = place_key(query);
    pb::ResolvePlacesResponse {
        matches: found
            .iter()
            .map(|k| {
                let display_name = model
                    .areas
                    .get(&k.place)
                    .map(|a| a.display_name.clone())
                    .or_else(|| model.parties.get(&k.place).map(|p| p.display_name.clone()))
                    .unwrap_or_default();
                let (language, scheme) = match &k.matched_by {
                    MatchedBy::Name { language } => (language.clone(), 0),
                    MatchedBy::Code { scheme } => (String::new(), enum_value(*scheme)),
                    MatchedBy::DisplayName => (String::new(), 0),
                };
                pb::PlaceMatch {
                    place: k.place.to_string(),
                    display_name,
                    matched_text: k.text.clone(),
                    language,
                    scheme,
                    exact: place_key(&k.text) == key,
                }
            })
            .collect(),
        revision: model.revision,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{Strategy, any, prop_oneof};
    use rust_decimal::prelude::ToPrimitive;

    use super::*;

    #[test]
    fn money_keeps_every_digit() {
        let wire = money(&domain::Money {
            currency: "CNY".into(),
            amount: "1234567.891".parse().unwrap(),
        });
        assert_eq!((wire.units, wire.nanos), (1_234_567, 891_000_000));
    }

    proptest::proptest! {
        #[test]
        fn units_and_nanos_are_the_amounts_whole_part_and_billionths(
            // Mantissas beyond 64 bits, and within them (a few in 2^33 of the first range).
            mantissa in prop_oneof![
                -(1i128 << 96) + 1..(1i128 << 96),
                any::<i64>().prop_map(i128::from),
            ],
            scale in 0u32..=28,
        ) {
            let amount = Decimal::from_i128_with_scale(mantissa, scale);
            let units = amount.trunc();
            let nanos = ((amount - units) * Decimal::from(1_000_000_000)).trunc();
            let by_decimal_arithmetic = (
                units.to_i64().unwrap_or(i64::MAX),
                nanos.to_i32().unwrap_or_default(),
            );
            proptest::prop_assert_eq!(units_and_nanos(amount), by_decimal_arithmetic);
        }
    }
}

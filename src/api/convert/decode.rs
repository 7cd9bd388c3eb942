//! `pairing.v1` messages to domain resources.
//!
//! Decoding never stops at the first bad field: a malformed value is recorded as a violation
//! and replaced by a placeholder, so that validation can still report every other problem of
//! the same input in one answer.

use chrono::NaiveDate;
use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::v1 as pb;
use rust_decimal::Decimal;

use super::variant;
use crate::api::error::ApiError;
use crate::domain::{
    self, Collection, Labelled, Meta, PriceBasis, ReadPoint, ResourceName, Violations,
};

/// A decoded resource and the fields that could not be decoded.
pub type Decoded<T> = (T, Violations);

/// The id of the placeholder name a malformed name decodes to.
const MALFORMED: &str = "malformed-name";

/// Collects violations while fields are decoded one by one.
#[derive(Default)]
struct Decoder {
    violations: Violations,
}

impl Decoder {
    /// The name, or a placeholder after recording why it is malformed.
    fn name(&mut self, collection: Collection, field: &str, value: &str) -> ResourceName {
        let parsed = if value.is_empty() {
            self.violations.push(field, "is required");
            None
        } else {
            self.violations
                .check(ResourceName::parse(collection, value, field))
        };
        parsed.unwrap_or_else(|| {
            ResourceName::new(collection, MALFORMED).expect("the placeholder id is valid")
        })
    }

    fn optional_name(
        &mut self,
        collection: Collection,
        field: &str,
        value: &str,
    ) -> Option<ResourceName> {
        (!value.is_empty()).then(|| self.name(collection, field, value))
    }

    /// The enum value, or the first variant after recording why it is unset or unknown.
    fn required<E: Labelled>(&mut self, field: &str, raw: i32) -> E {
        let variant = variant(raw);
        if variant.is_none() {
            let reason = if raw == 0 {
                "is required".to_owned()
            } else {
                format!("{raw} is not a known value")
            };
            self.violations.push(field, reason);
        }
        variant.unwrap_or(E::ALL[0])
    }

    /// The enum value, or `None` when unset (0).
    fn optional<E: Labelled>(&mut self, field: &str, raw: i32) -> Option<E> {
        (raw != 0).then(|| self.required(field, raw))
    }

    fn decimal(&mut self, field: &str, text: &str) -> Decimal {
        text.trim().parse::<Decimal>().unwrap_or_else(|_| {
            self.violations.push(
                field,
                format!("{text:?} is not a decimal number such as \"12.5\""),
            );
            Decimal::ZERO
        })
    }

    fn date(&mut self, field: &str, value: Option<&Date>) -> Option<NaiveDate> {
        let date = value?;
        let parsed = u32::try_from(date.month)
            .ok()
            .zip(u32::try_from(date.day).ok())
            .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day));
        if parsed.is_none() {
            self.violations.push(
                field,
                format!(
                    "{}-{}-{} is not a whole calendar date",
                    date.year, date.month, date.day
                ),
            );
        }
        parsed
    }

    fn money(&mut self, field: &str, value: Option<&Money>) -> domain::Money {
        let Some(money) = value else {
            self.violations.push(field, "is required");
            return domain::Money {
                currency: String::new(),
                amount: Decimal::ZERO,
            };
        };
        let same_sign =
            money.units == 0 || money.nanos == 0 || (money.units > 0) == (money.nanos > 0);
        let amount = if same_sign && money.nanos.abs() < 1_000_000_000 {
            Decimal::from(money.units) + Decimal::new(i64::from(money.nanos), 9)
        } else {
            self.violations.push(
                format!("{field}.nanos"),
                "must be within ±999,999,999 and have the sign of units",
            );
            Decimal::ZERO
        };
        domain::Money {
            currency: money.currency_code.clone(),
            amount,
        }
    }

    /// The provenance of reference data, which may have none.
    fn optional_provenance(
        &mut self,
        value: Option<&pb::Provenance>,
    ) -> Option<std::sync::Arc<domain::Provenance>> {
        value.map(|p| self.provenance("provenance", Some(p)).into())
    }

    /// Codes of a place, each with its scheme.
    fn place_codes(&mut self, codes: &[pb::PlaceCode]) -> Vec<domain::PlaceCode> {
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| domain::PlaceCode {
                scheme: self.required(&format!("codes[{i}].scheme"), c.scheme),
                value: c.value.clone(),
                valid_from: self.date(&format!("codes[{i}].valid_from"), c.valid_from.as_ref()),
                valid_to: self.date(&format!("codes[{i}].valid_to"), c.valid_to.as_ref()),
            })
            .collect()
    }

    /// The provenance; a missing one decodes as empty, which validation then refuses.
    fn provenance(&mut self, field: &str, value: Option<&pb::Provenance>) -> domain::Provenance {
        let Some(p) = value else {
            return domain::Provenance::default();
        };
        domain::Provenance {
            source_title: p.source_title.clone(),
            publisher: p.publisher.clone(),
            publish_date: self.date(&format!("{field}.publish_date"), p.publish_date.as_ref()),
            source_uri: p.source_uri.clone(),
            quoted_passage: p.quoted_passage.clone(),
            note: p.note.clone(),
        }
    }
}

/// Decodes a party.
pub fn party(p: &pb::Party) -> Decoded<domain::Party> {
    let mut d = Decoder::default();
    let party = domain::Party {
        name: d.name(Collection::Parties, "name", &p.name),
        kind: d.required("kind", p.kind),
        display_name: p.display_name.clone(),
        home_area: p.home_area.clone(),
        codes: d.place_codes(&p.codes),
        provenance: d.optional_provenance(p.provenance.as_ref()),
        meta: Meta::default(),
    };
    (party, d.violations)
}

/// Decodes an area.
pub fn area(p: &pb::Area) -> Decoded<domain::Area> {
    let mut d = Decoder::default();
    let area = domain::Area {
        name: d.name(Collection::Areas, "name", &p.name),
        display_name: p.display_name.clone(),
        level: d.required("level", p.level),
        parent: d.optional_name(Collection::Areas, "parent", &p.parent),
        names: p
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| domain::PlaceName {
                text: n.text.clone(),
                language: n.language.clone(),
                valid_from: d.date(&format!("names[{i}].valid_from"), n.valid_from.as_ref()),
                valid_to: d.date(&format!("names[{i}].valid_to"), n.valid_to.as_ref()),
            })
            .collect(),
        codes: d.place_codes(&p.codes),
        provenance: d.optional_provenance(p.provenance.as_ref()),
        meta: Meta::default(),
    };
    (area, d.violations)
}

/// Decodes a pairing.
pub fn pairing(p: &pb::Pairing) -> Decoded<domain::Pairing> {
    let mut d = Decoder::default();
    let pairing = domain::Pairing {
        name: d.name(Collection::Pairings, "name", &p.name),
        party: d.name(Collection::Parties, "party", &p.party),
        area: d.name(Collection::Areas, "area", &p.area),
        start_year: p.start_year,
        end_year: p.end_year,
        fields: p
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| d.required(&format!("fields[{i}]"), *f))
            .collect(),
        status: d.required("status", p.status),
        provenance: d.provenance("provenance", p.provenance.as_ref()).into(),
        meta: Meta::default(),
    };
    (pairing, d.violations)
}

/// Decodes a project with its recipients, outputs and funding lines.
pub fn project(p: &pb::Project) -> Decoded<domain::Project> {
    let mut d = Decoder::default();
    let project = domain::Project {
        name: d.name(Collection::Projects, "name", &p.name),
        title: p.title.clone(),
        description: p.description.clone(),
        pairing: d.optional_name(Collection::Pairings, "pairing", &p.pairing),
        party: d.name(Collection::Parties, "party", &p.party),
        recipients: p
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| domain::RecipientArea {
                area: d.name(Collection::Areas, &format!("recipients[{i}].area"), &r.area),
                share_percent: d
                    .decimal(&format!("recipients[{i}].share_percent"), &r.share_percent),
            })
            .collect(),
        field: d.required("field", p.field),
        livelihood: p.livelihood,
        status: d.required("status", p.status),
        planned_start_date: d.date("planned_start_date", p.planned_start_date.as_ref()),
        planned_end_date: d.date("planned_end_date", p.planned_end_date.as_ref()),
        actual_start_date: d.date("actual_start_date", p.actual_start_date.as_ref()),
        actual_end_date: d.date("actual_end_date", p.actual_end_date.as_ref()),
        outputs: p
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| domain::ProjectOutput {
                indicator: d.name(
                    Collection::Indicators,
                    &format!("outputs[{i}].indicator"),
                    &o.indicator,
                ),
                value: d.decimal(&format!("outputs[{i}].value"), &o.value),
            })
            .collect(),
        funding_lines: p
            .funding_lines
            .iter()
            .enumerate()
            .map(|(i, l)| domain::FundingLine {
                funding_type: d.required(&format!("funding_lines[{i}].type"), l.r#type),
                year: l.year,
                date: d.date(&format!("funding_lines[{i}].date"), l.date.as_ref()),
                amount: d.money(&format!("funding_lines[{i}].amount"), l.amount.as_ref()),
                value_date: d.date(
                    &format!("funding_lines[{i}].value_date"),
                    l.value_date.as_ref(),
                ),
            })
            .collect(),
        data_status: d.required("data_status", p.data_status),
        provenance: d.provenance("provenance", p.provenance.as_ref()).into(),
        meta: Meta::default(),
    };
    (project, d.violations)
}

/// Decodes an indicator.
pub fn indicator(p: &pb::Indicator) -> Decoded<domain::Indicator> {
    let mut d = Decoder::default();
    let price_basis = match (pb::PriceBasis::try_from(p.price_basis), p.price_base_year) {
        (Ok(pb::PriceBasis::Unspecified), 0) => PriceBasis::NotApplicable,
        (Ok(pb::PriceBasis::Nominal), 0) => PriceBasis::Nominal,
        (Ok(pb::PriceBasis::Constant), year) if year != 0 => PriceBasis::Constant(year),
        (Ok(pb::PriceBasis::Comparable), 0) => PriceBasis::Comparable,
        (Ok(pb::PriceBasis::Constant), _) => {
            d.violations
                .push("price_base_year", "constant prices need a base year");
            PriceBasis::NotApplicable
        }
        (Ok(_), _) => {
            d.violations
                .push("price_base_year", "only constant prices have a base year");
            PriceBasis::NotApplicable
        }
        (Err(_), _) => {
            d.violations.push(
                "price_basis",
                format!("{} is not a known value", p.price_basis),
            );
            PriceBasis::NotApplicable
        }
    };
    let indicator = domain::Indicator {
        name: d.name(Collection::Indicators, "name", &p.name),
        code: p.code.clone(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        unit: p.unit.clone(),
        unit_multiplier: p.unit_multiplier,
        frequency: d.required("frequency", p.frequency),
        measure_kind: d.required("measure_kind", p.measure_kind),
        summable: p.summable,
        price_basis,
        topic: p.topic.clone(),
        record_measure: d.optional("record_measure", p.record_measure),
        series_role: d.optional("series_role", p.series_role),
        relation: p.relation.as_ref().map(|r| domain::Relation {
            kind: d.required("relation.kind", r.kind),
            of: d.name(Collection::Indicators, "relation.of", &r.of),
        }),
        provenance: d.optional_provenance(p.provenance.as_ref()),
        meta: Meta::default(),
    };
    (indicator, d.violations)
}

/// Decodes an observation.
pub fn observation(p: &pb::Observation) -> Decoded<domain::Observation> {
    let mut d = Decoder::default();
    let observation = domain::Observation {
        name: d.name(Collection::Observations, "name", &p.name),
        indicator: d.name(Collection::Indicators, "indicator", &p.indicator),
        area: d.name(Collection::Areas, "area", &p.area),
        period: p.period.clone(),
        value: d.decimal("value", &p.value),
        qualifier: d.required("qualifier", p.qualifier),
        status: d.required("status", p.status),
        reading: d.optional("reading", p.reading),
        provenance: d.provenance("provenance", p.provenance.as_ref()).into(),
        derived_from: p
            .derived_from
            .iter()
            .enumerate()
            .map(|(i, n)| d.name(Collection::Observations, &format!("derived_from[{i}]"), n))
            .collect(),
        meta: Meta::default(),
    };
    (observation, d.violations)
}

/// Decodes any record; `None` when the record holds no resource.
pub fn record(p: &pb::Record) -> Option<Decoded<domain::Resource>> {
    use domain::Resource;
    use pb::record::Resource as R;
    Some(match p.resource.as_ref()? {
        R::Party(r) => wrap(party(r), Resource::Party),
        R::Area(r) => wrap(area(r), Resource::Area),
        R::Pairing(r) => wrap(pairing(r), Resource::Pairing),
        R::Project(r) => wrap(project(r), Resource::Project),
        R::Indicator(r) => wrap(indicator(r), Resource::Indicator),
        R::Observation(r) => wrap(observation(r), Resource::Observation),
    })
}

fn wrap<T>(
    (value, violations): Decoded<T>,
    variant: fn(T) -> domain::Resource,
) -> Decoded<domain::Resource> {
    (variant(value), violations)
}

/// Parses a request's resource name, reporting the field on failure.
pub fn request_name(
    collection: Collection,
    name: &str,
    field: &str,
) -> Result<ResourceName, ApiError> {
    ResourceName::parse(collection, name, field).map_err(|v| ApiError::InvalidArgument {
        reason: "INVALID_NAME",
        violations: vec![v],
    })
}

/// A request's resource name with the revision to read it at, if it names one as AIP-162
/// does: `projects/p1@42`.
pub fn request_name_at(
    collection: Collection,
    name: &str,
    field: &str,
) -> Result<(ResourceName, Option<i64>), ApiError> {
    let Some((name, revision)) = name.split_once('@') else {
        return Ok((request_name(collection, name, field)?, None));
    };
    let revision = revision
        .parse::<i64>()
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| {
            ApiError::invalid(
                "INVALID_REVISION",
                field,
                format!("the revision after '@' must be a whole number from 1, got {revision:?}"),
            )
        })?;
    Ok((request_name(collection, name, field)?, Some(revision)))
}

/// Where a read looks: `read_at`, or the revision a name gave after '@' (`named`); at most
/// one of the two.
pub fn read_point(read_at: Option<&pb::ReadAt>, named: Option<i64>) -> Result<ReadPoint, ApiError> {
    use pb::read_at::Point;
    match (read_at.and_then(|r| r.point.as_ref()), named) {
        (None, None) => Ok(ReadPoint::Now),
        (None, Some(revision)) => Ok(ReadPoint::Revision(revision)),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "INVALID_ARGUMENT",
            "read_at",
            "the revision is given twice: give it in read_at alone",
        )),
        (Some(Point::Revision(revision)), None) if *revision >= 1 => {
            Ok(ReadPoint::Revision(*revision))
        }
        (Some(Point::Revision(revision)), None) => Err(ApiError::invalid(
            "INVALID_REVISION",
            "read_at.revision",
            format!("must be a whole number from 1, got {revision}"),
        )),
        (Some(Point::Time(value)), None) => {
            let now = chrono::Utc::now();
            match timestamp(value) {
                Some(at) if at <= now => Ok(ReadPoint::Time(at)),
                Some(at) => Err(ApiError::invalid(
                    "INVALID_TIME",
                    "read_at.time",
                    format!("{at} is later than now ({now}); the record has no future to read"),
                )),
                None => Err(ApiError::invalid(
                    "INVALID_TIME",
                    "read_at.time",
                    "is not a valid time",
                )),
            }
        }
    }
}

/// A protobuf timestamp as a time, if it is one.
fn timestamp(value: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| chrono::DateTime::from_timestamp(value.seconds, nanos))
}

/// A resource name of any collection, reporting the field on failure.
pub fn any_request_name(name: &str, field: &str) -> Result<ResourceName, ApiError> {
    ResourceName::parse_any(name, field).map_err(|v| ApiError::InvalidArgument {
        reason: "INVALID_NAME",
        violations: vec![v],
    })
}

/// The scope of a change listing or watch (`field` names it in errors); absent: every change.
pub fn change_scope(
    scope: Option<&pb::ChangeScope>,
    field: &str,
) -> Result<domain::ChangeScope, ApiError> {
    let Some(scope) = scope else {
        return Ok(domain::ChangeScope::default());
    };
    let mut violations = Violations::default();
    let collections = scope
        .collections
        .iter()
        .enumerate()
        .filter_map(|(i, segment)| {
            let found = Collection::from_segment(segment);
            if found.is_none() {
                let known: Vec<&str> = Collection::ALL.iter().map(|c| c.segment()).collect();
                violations.push(
                    format!("{field}.collections[{i}]"),
                    format!(
                        "{segment:?} is not a collection; one of {}",
                        known.join(", ")
                    ),
                );
            }
            found
        })
        .collect();
    let names = scope
        .names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            ResourceName::parse_any(name, &format!("{field}.names[{i}]"))
                .map_err(|v| violations.0.push(v))
                .ok()
        })
        .collect();
    let mut time = |value: Option<&prost_types::Timestamp>, part: &str| {
        let parsed = timestamp(value?);
        if parsed.is_none() {
            violations.push(format!("{field}.{part}"), "is not a valid time");
        }
        parsed
    };
    let since = time(scope.start_time.as_ref(), "start_time");
    let before = time(scope.end_time.as_ref(), "end_time");
    if let (Some(since), Some(before)) = (since, before)
        && before <= since
    {
        violations.push(
            format!("{field}.end_time"),
            "must be after start_time".to_owned(),
        );
    }
    if !violations.0.is_empty() {
        return Err(ApiError::InvalidArgument {
            reason: "INVALID_ARGUMENT",
            violations: violations.0,
        });
    }
    Ok(domain::ChangeScope {
        collections,
        names,
        subjects: scope.subjects.clone(),
        since,
        before,
    })
}

/// Most places a resolution returns, and how many when the request says none.
const MAX_PLACES: usize = 100;
const DEFAULT_PLACES: usize = 20;

/// What a ResolvePlaces request asks: the text, the day, how many matches.
pub fn place_query(
    r: &pb::ResolvePlacesRequest,
) -> Result<(String, Option<NaiveDate>, usize), ApiError> {
    let mut d = Decoder::default();
    if r.query.trim().is_empty() {
        d.violations
            .push("query", "give a name or a code, or the beginning of one");
    } else if r.query.len() > crate::text::QUOTE_LIMIT {
        d.violations.push(
            "query",
            format!(
                "is {} bytes; no name or code is longer than {}",
                r.query.len(),
                crate::text::QUOTE_LIMIT
            ),
        );
    }
    let date = d.date("date", r.date.as_ref());
    if r.page_size < 0 {
        d.violations.push("page_size", "must not be negative");
    }
    if !d.violations.is_empty() {
        return Err(ApiError::InvalidArgument {
            reason: "INVALID_ARGUMENT",
            violations: d.violations.0,
        });
    }
    let limit = match r.page_size {
        0 => DEFAULT_PLACES,
        n => (n as usize).min(MAX_PLACES),
    };
    Ok((r.query.clone(), date, limit))
}

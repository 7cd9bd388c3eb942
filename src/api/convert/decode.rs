//! `pairing.v1` messages to domain resources, reporting every malformed field at once.

use chrono::NaiveDate;
use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::v1 as pb;
use rust_decimal::Decimal;

use super::{
    AREA_LEVELS, DATA_STATUSES, FREQUENCIES, FUNDING_TYPES, MEASURE_KINDS, PARTY_KINDS,
    PROJECT_STATUSES, QUALIFIERS, SUPPORT_FIELDS,
};
use crate::domain::{self, Collection, Meta, PriceBasis, ResourceName, Violations};

/// Collects violations while fields are decoded one by one.
#[derive(Default)]
struct Decoder {
    violations: Violations,
}

impl Decoder {
    fn name(&mut self, collection: Collection, field: &str, value: &str) -> Option<ResourceName> {
        if value.is_empty() {
            self.violations.push(field, "is required");
            return None;
        }
        self.violations
            .check(ResourceName::parse(collection, value, field))
    }

    fn optional_name(
        &mut self,
        collection: Collection,
        field: &str,
        value: &str,
    ) -> Option<Option<ResourceName>> {
        if value.is_empty() {
            return Some(None);
        }
        self.violations
            .check(ResourceName::parse(collection, value, field))
            .map(Some)
    }

    fn required<E: Copy>(&mut self, field: &str, raw: i32, variants: &[E]) -> Option<E> {
        let variant = usize::try_from(raw - 1)
            .ok()
            .and_then(|i| variants.get(i).copied());
        if variant.is_none() {
            let reason = if raw == 0 {
                "is required".to_owned()
            } else {
                format!("{raw} is not a known value")
            };
            self.violations.push(field, reason);
        }
        variant
    }

    fn decimal(&mut self, field: &str, text: &str) -> Option<Decimal> {
        match text.trim().parse::<Decimal>() {
            Ok(value) => Some(value),
            Err(_) => {
                self.violations.push(
                    field,
                    format!("{text:?} is not a decimal number such as \"12.5\""),
                );
                None
            }
        }
    }

    fn date(&mut self, field: &str, value: Option<&Date>) -> Option<Option<NaiveDate>> {
        let Some(date) = value else { return Some(None) };
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
        parsed.map(Some)
    }

    fn money(&mut self, field: &str, value: Option<&Money>) -> Option<domain::Money> {
        let Some(money) = value else {
            self.violations.push(field, "is required");
            return None;
        };
        let same_sign =
            money.units == 0 || money.nanos == 0 || (money.units > 0) == (money.nanos > 0);
        if !same_sign || money.nanos.abs() >= 1_000_000_000 {
            self.violations.push(
                format!("{field}.nanos"),
                "must be within ±999,999,999 and have the sign of units",
            );
            return None;
        }
        Some(domain::Money {
            currency: money.currency_code.clone(),
            amount: Decimal::from(money.units) + Decimal::new(i64::from(money.nanos), 9),
        })
    }

    fn provenance(
        &mut self,
        field: &str,
        value: Option<&pb::Provenance>,
    ) -> Option<domain::Provenance> {
        let Some(p) = value else {
            self.violations
                .push(field, "every record must name its source");
            return None;
        };
        Some(domain::Provenance {
            source_title: p.source_title.clone(),
            publisher: p.publisher.clone(),
            publish_date: self.date(&format!("{field}.publish_date"), p.publish_date.as_ref())?,
            source_uri: p.source_uri.clone(),
            quoted_passage: p.quoted_passage.clone(),
            note: p.note.clone(),
        })
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Violations> {
        match value {
            Some(value) if self.violations.is_empty() => Ok(value),
            _ => Err(self.violations),
        }
    }
}

/// Decodes a party.
pub fn party(p: &pb::Party) -> Result<domain::Party, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Parties, "name", &p.name);
    let kind = d.required("kind", p.kind, &PARTY_KINDS);
    let value = (|| {
        Some(domain::Party {
            name: name?,
            kind: kind?,
            display_name: p.display_name.clone(),
            home_area: p.home_area.clone(),
            meta: Meta::default(),
        })
    })();
    d.finish(value)
}

/// Decodes an area.
pub fn area(p: &pb::Area) -> Result<domain::Area, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Areas, "name", &p.name);
    let level = d.required("level", p.level, &AREA_LEVELS);
    let parent = d.optional_name(Collection::Areas, "parent", &p.parent);
    let value = (|| {
        Some(domain::Area {
            name: name?,
            display_name: p.display_name.clone(),
            level: level?,
            parent: parent?,
            meta: Meta::default(),
        })
    })();
    d.finish(value)
}

/// Decodes a pairing.
pub fn pairing(p: &pb::Pairing) -> Result<domain::Pairing, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Pairings, "name", &p.name);
    let party = d.name(Collection::Parties, "party", &p.party);
    let area = d.name(Collection::Areas, "area", &p.area);
    let fields: Vec<_> = p
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| d.required(&format!("fields[{i}]"), *f, &SUPPORT_FIELDS))
        .collect();
    let status = d.required("status", p.status, &DATA_STATUSES);
    let provenance = d.provenance("provenance", p.provenance.as_ref());
    let value = (|| {
        Some(domain::Pairing {
            name: name?,
            party: party?,
            area: area?,
            start_year: p.start_year,
            end_year: p.end_year,
            fields: fields.into_iter().collect::<Option<_>>()?,
            status: status?,
            provenance: provenance?,
            meta: Meta::default(),
        })
    })();
    d.finish(value)
}

/// Decodes a project with its recipients, outputs and funding lines.
pub fn project(p: &pb::Project) -> Result<domain::Project, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Projects, "name", &p.name);
    let pairing = d.optional_name(Collection::Pairings, "pairing", &p.pairing);
    let party = d.name(Collection::Parties, "party", &p.party);
    let recipients: Vec<_> = p
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let area = d.name(Collection::Areas, &format!("recipients[{i}].area"), &r.area);
            let share = d.decimal(&format!("recipients[{i}].share_percent"), &r.share_percent);
            Some(domain::RecipientArea {
                area: area?,
                share_percent: share?,
            })
        })
        .collect();
    let field = d.required("field", p.field, &SUPPORT_FIELDS);
    let status = d.required("status", p.status, &PROJECT_STATUSES);
    let planned_start = d.date("planned_start_date", p.planned_start_date.as_ref());
    let planned_end = d.date("planned_end_date", p.planned_end_date.as_ref());
    let actual_start = d.date("actual_start_date", p.actual_start_date.as_ref());
    let actual_end = d.date("actual_end_date", p.actual_end_date.as_ref());
    let outputs: Vec<_> = p
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let indicator = d.name(
                Collection::Indicators,
                &format!("outputs[{i}].indicator"),
                &o.indicator,
            );
            let value = d.decimal(&format!("outputs[{i}].value"), &o.value);
            Some(domain::ProjectOutput {
                indicator: indicator?,
                value: value?,
            })
        })
        .collect();
    let funding_lines: Vec<_> = p
        .funding_lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = format!("funding_lines[{i}]");
            let funding_type = d.required(&format!("{field}.type"), l.r#type, &FUNDING_TYPES);
            let date = d.date(&format!("{field}.date"), l.date.as_ref());
            let amount = d.money(&format!("{field}.amount"), l.amount.as_ref());
            let value_date = d.date(&format!("{field}.value_date"), l.value_date.as_ref());
            Some(domain::FundingLine {
                funding_type: funding_type?,
                year: l.year,
                date: date?,
                amount: amount?,
                value_date: value_date?,
            })
        })
        .collect();
    let data_status = d.required("data_status", p.data_status, &DATA_STATUSES);
    let provenance = d.provenance("provenance", p.provenance.as_ref());
    let value = (|| {
        Some(domain::Project {
            name: name?,
            title: p.title.clone(),
            description: p.description.clone(),
            pairing: pairing?,
            party: party?,
            recipients: recipients.into_iter().collect::<Option<_>>()?,
            field: field?,
            livelihood: p.livelihood,
            status: status?,
            planned_start_date: planned_start?,
            planned_end_date: planned_end?,
            actual_start_date: actual_start?,
            actual_end_date: actual_end?,
            outputs: outputs.into_iter().collect::<Option<_>>()?,
            funding_lines: funding_lines.into_iter().collect::<Option<_>>()?,
            data_status: data_status?,
            provenance: provenance?,
            meta: Meta::default(),
        })
    })();
    d.finish(value)
}

/// Decodes an indicator.
pub fn indicator(p: &pb::Indicator) -> Result<domain::Indicator, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Indicators, "name", &p.name);
    let frequency = d.required("frequency", p.frequency, &FREQUENCIES);
    let measure_kind = d.required("measure_kind", p.measure_kind, &MEASURE_KINDS);
    let price_basis = match (pb::PriceBasis::try_from(p.price_basis), p.price_base_year) {
        (Ok(pb::PriceBasis::Unspecified), 0) => Some(PriceBasis::NotApplicable),
        (Ok(pb::PriceBasis::Nominal), 0) => Some(PriceBasis::Nominal),
        (Ok(pb::PriceBasis::Constant), year) if year != 0 => Some(PriceBasis::Constant(year)),
        (Ok(pb::PriceBasis::Constant), _) => {
            d.violations
                .push("price_base_year", "constant prices need a base year");
            None
        }
        (Ok(_), _) => {
            d.violations
                .push("price_base_year", "only constant prices have a base year");
            None
        }
        (Err(_), _) => {
            d.violations.push(
                "price_basis",
                format!("{} is not a known value", p.price_basis),
            );
            None
        }
    };
    let value = (|| {
        Some(domain::Indicator {
            name: name?,
            code: p.code.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            unit: p.unit.clone(),
            unit_multiplier: p.unit_multiplier,
            frequency: frequency?,
            measure_kind: measure_kind?,
            summable: p.summable,
            price_basis: price_basis?,
            topic: p.topic.clone(),
            meta: Meta::default(),
        })
    })();
    d.finish(value)
}

/// Decodes an observation.
pub fn observation(p: &pb::Observation) -> Result<domain::Observation, Violations> {
    let mut d = Decoder::default();
    let name = d.name(Collection::Observations, "name", &p.name);
    let indicator = d.name(Collection::Indicators, "indicator", &p.indicator);
    let area = d.name(Collection::Areas, "area", &p.area);
    let value = d.decimal("value", &p.value);
    let qualifier = d.required("qualifier", p.qualifier, &QUALIFIERS);
    let status = d.required("status", p.status, &DATA_STATUSES);
    let provenance = d.provenance("provenance", p.provenance.as_ref());
    let decoded = (|| {
        Some(domain::Observation {
            name: name?,
            indicator: indicator?,
            area: area?,
            period: p.period.clone(),
            value: value?,
            qualifier: qualifier?,
            status: status?,
            provenance: provenance?,
            meta: Meta::default(),
        })
    })();
    d.finish(decoded)
}

/// Decodes any record.
pub fn record(p: &pb::Record) -> Result<domain::Resource, Violations> {
    use pb::record::Resource as R;
    match &p.resource {
        Some(R::Party(r)) => party(r).map(domain::Resource::Party),
        Some(R::Area(r)) => area(r).map(domain::Resource::Area),
        Some(R::Pairing(r)) => pairing(r).map(domain::Resource::Pairing),
        Some(R::Project(r)) => project(r).map(domain::Resource::Project),
        Some(R::Indicator(r)) => indicator(r).map(domain::Resource::Indicator),
        Some(R::Observation(r)) => observation(r).map(domain::Resource::Observation),
        None => {
            let mut violations = Violations::default();
            violations.push("resource", "a record holds one resource");
            Err(violations)
        }
    }
}

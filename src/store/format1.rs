//! Bodies as the first release stored them, read into today's resources. postcard bodies are
//! not self-describing: a field added to a resource changes every body's layout, so each
//! release that adds one keeps the shapes it changed here, frozen, with what the new fields
//! are for records that never had them.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::{
    Area, AreaLevel, DataStatus, Frequency, Indicator, MeasureKind, Meta, Observation, Pairing,
    Party, PartyKind, PriceBasis, Project, Provenance, Qualifier, RecordMeasure, Resource,
    ResourceName, SeriesRole,
};

/// `Resource` of the first release: variants in the same order, four of them of older shape.
#[derive(Deserialize)]
pub enum Resource1 {
    Party(Party1),
    Area(Area1),
    Pairing(Pairing),
    Project(Project),
    Indicator(Indicator1),
    Observation(Observation1),
}

/// A party before codes and provenance.
#[derive(Deserialize)]
pub struct Party1 {
    name: ResourceName,
    kind: PartyKind,
    display_name: String,
    home_area: String,
    meta: Meta,
}

/// An area before names, codes and provenance.
#[derive(Deserialize)]
pub struct Area1 {
    name: ResourceName,
    display_name: String,
    level: AreaLevel,
    parent: Option<ResourceName>,
    meta: Meta,
}

/// An indicator before relations and provenance.
#[derive(Deserialize)]
pub struct Indicator1 {
    name: ResourceName,
    code: String,
    display_name: String,
    description: String,
    unit: String,
    unit_multiplier: i32,
    frequency: Frequency,
    measure_kind: MeasureKind,
    summable: bool,
    price_basis: PriceBasis,
    topic: String,
    record_measure: Option<RecordMeasure>,
    series_role: Option<SeriesRole>,
    meta: Meta,
}

/// An observation before readings and derivations.
#[derive(Deserialize)]
pub struct Observation1 {
    name: ResourceName,
    indicator: ResourceName,
    area: ResourceName,
    period: String,
    value: Decimal,
    qualifier: Qualifier,
    status: DataStatus,
    provenance: Arc<Provenance>,
    meta: Meta,
}

impl From<Resource1> for Resource {
    fn from(old: Resource1) -> Self {
        match old {
            // Nothing was said of their codes, names or sources: none rather than guessed.
            Resource1::Party(r) => Resource::Party(Party {
                name: r.name,
                kind: r.kind,
                display_name: r.display_name,
                home_area: r.home_area,
                codes: Vec::new(),
                provenance: None,
                meta: r.meta,
            }),
            Resource1::Area(r) => Resource::Area(Area {
                name: r.name,
                display_name: r.display_name,
                level: r.level,
                parent: r.parent,
                names: Vec::new(),
                codes: Vec::new(),
                provenance: None,
                meta: r.meta,
            }),
            Resource1::Pairing(r) => Resource::Pairing(r),
            Resource1::Project(r) => Resource::Project(r),
            Resource1::Indicator(r) => Resource::Indicator(Indicator {
                name: r.name,
                code: r.code,
                display_name: r.display_name,
                description: r.description,
                unit: r.unit,
                unit_multiplier: r.unit_multiplier,
                frequency: r.frequency,
                measure_kind: r.measure_kind,
                summable: r.summable,
                price_basis: r.price_basis,
                topic: r.topic,
                record_measure: r.record_measure,
                series_role: r.series_role,
                relation: None,
                provenance: None,
                meta: r.meta,
            }),
            // Nobody said how the first release's figures were read: the reading stays unstated
            // rather than guessed.
            Resource1::Observation(r) => Resource::Observation(Observation {
                name: r.name,
                indicator: r.indicator,
                area: r.area,
                period: r.period,
                value: r.value,
                qualifier: r.qualifier,
                status: r.status,
                reading: None,
                provenance: r.provenance,
                derived_from: Vec::new(),
                meta: r.meta,
            }),
        }
    }
}

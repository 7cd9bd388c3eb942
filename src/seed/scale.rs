//! A deterministic synthetic record of any size, for benchmarks: projects with five funding
//! lines each and annual observation series, all marked synthetic.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::synthetic::{FIELDS, SplitMix, synthetic_provenance};
use crate::domain::{
    Area, Collection, DataStatus, Frequency, FundingLine, FundingType, Indicator, MeasureKind,
    Money, Observation, Party, PriceBasis, Project, ProjectStatus, Qualifier, RecipientArea,
    Resource, ResourceName,
};
use crate::domain::{Commit, Write};
use crate::store::{Store, StoreError};

/// Resources per commit while loading.
const CHUNK: usize = 50_000;
/// Periods per observation series: 1993 to 2022.
const SERIES_YEARS: i32 = 30;

fn name(collection: Collection, id: &str) -> ResourceName {
    ResourceName::new(collection, id).expect("generated ids are valid")
}

fn project(index: usize, parties: &[Party], areas: &[Area], rng: &mut SplitMix) -> Resource {
    let (field, _, livelihood, phrase) = FIELDS[rng.below(FIELDS.len() as u64) as usize];
    let area = &areas[rng.below(areas.len() as u64) as usize];
    let start = 2013 + rng.below(9) as i32;
    let amount = 100_000 + rng.below(50_000_000) as i64;
    let line = |funding_type, year: i32, amount: i64| FundingLine {
        funding_type,
        year,
        date: NaiveDate::from_ymd_opt(year, 6, 30),
        amount: Money {
            currency: "CNY".into(),
            amount: Decimal::from(amount),
        },
        value_date: NaiveDate::from_ymd_opt(year, 6, 30),
    };
    let mut funding_lines = vec![line(FundingType::Commitment, start, amount)];
    funding_lines
        .extend((0..4).map(|i| line(FundingType::Expenditure, (start + i).min(2022), amount / 4)));
    Resource::Project(Project {
        name: name(Collection::Projects, &format!("scale-{index:07}")),
        title: format!(
            "Scaled synthetic {phrase} project {index} in {}",
            area.display_name
        ),
        description: String::new(),
        pairing: None,
        party: parties[rng.below(parties.len() as u64) as usize]
            .name
            .clone(),
        recipients: vec![RecipientArea {
            area: area.name.clone(),
            share_percent: Decimal::ONE_HUNDRED,
        }],
        field,
        livelihood,
        status: ProjectStatus::Completed,
        planned_start_date: NaiveDate::from_ymd_opt(start, 3, 1),
        planned_end_date: None,
        actual_start_date: None,
        actual_end_date: None,
        outputs: Vec::new(),
        funding_lines,
        data_status: DataStatus::Synthetic,
        provenance: synthetic_provenance().into(),
        meta: Default::default(),
    })
}

fn indicator(index: usize) -> Resource {
    Resource::Indicator(Indicator {
        name: name(Collection::Indicators, &format!("scale-indicator-{index}")),
        code: format!("SCALE_{index}"),
        display_name: format!("Synthetic benchmark indicator {index}"),
        description: "Synthetic series for benchmarks; not a real figure.".into(),
        unit: "units".into(),
        unit_multiplier: 0,
        frequency: Frequency::Annual,
        measure_kind: MeasureKind::Flow,
        summable: true,
        price_basis: PriceBasis::NotApplicable,
        topic: "benchmark".into(),
        record_measure: None,
        series_role: None,
        relation: None,
        provenance: None,
        meta: Default::default(),
    })
}

fn observation(series: usize, year: i32, areas: &[Area], rng: &mut SplitMix) -> Resource {
    let area = &areas[series % areas.len()];
    let indicator = series / areas.len();
    Resource::Observation(Observation {
        name: name(Collection::Observations, &format!("scale-{series}-{year}")),
        indicator: name(
            Collection::Indicators,
            &format!("scale-indicator-{indicator}"),
        ),
        area: area.name.clone(),
        period: year.to_string(),
        value: Decimal::new(1_000 + rng.below(1_000_000) as i64, 2),
        qualifier: Qualifier::Exact,
        status: DataStatus::Synthetic,
        reading: None,
        provenance: synthetic_provenance().into(),
        derived_from: Vec::new(),
        meta: Default::default(),
    })
}

/// The scaled record in write order: its indicators, then `projects` projects, then about
/// `observations` observations in whole 30-year series. The same sizes give the same record.
pub fn resources<'a>(
    parties: &'a [Party],
    areas: &'a [Area],
    projects: usize,
    observations: usize,
) -> impl Iterator<Item = Resource> + 'a {
    let mut rng = SplitMix(0x5343_414c_4544);
    let series = observations.div_ceil(SERIES_YEARS as usize);
    let indicators = series.div_ceil(areas.len().max(1));
    let items = (0..projects)
        .map(|i| (i, None))
        .chain((0..series).flat_map(|s| (0..SERIES_YEARS).map(move |y| (s, Some(1993 + y)))));
    (0..indicators)
        .map(indicator)
        .chain(items.map(move |(index, year)| match year {
            None => project(index, parties, areas, &mut rng),
            Some(year) => observation(index, year, areas, &mut rng),
        }))
}

/// Writes the scaled record beside the demo data, in commits of 50,000.
pub async fn load(
    store: &dyn Store,
    parties: &[Party],
    areas: &[Area],
    projects: usize,
    observations: usize,
) -> Result<(), StoreError> {
    let commit = |writes: Vec<Resource>| Commit {
        subject: "seed".into(),
        writes: writes
            .into_iter()
            .map(|r| Write::Put(Box::new(r)))
            .collect(),
        ..Commit::default()
    };
    let mut pending = Vec::with_capacity(CHUNK);
    for resource in resources(parties, areas, projects, observations) {
        pending.push(resource);
        if pending.len() == CHUNK {
            store.commit(commit(std::mem::take(&mut pending))).await?;
        }
    }
    if !pending.is_empty() {
        store.commit(commit(pending)).await?;
    }
    Ok(())
}

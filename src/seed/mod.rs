//! Demo data: the figures reported by the cited article, the reference areas and parties, and a
//! deterministic synthetic set of pairings and projects calibrated to the reported aggregates.

mod scale;
mod synthetic;

use serde::Deserialize;

use crate::domain::{Area, Indicator, Observation, Party, Resource, Violations};
use crate::domain::{Commit, CommitNote, RequestKey, Write};
use crate::store::{Store, StoreError};

/// The reference areas and parties.
const REFERENCE: &str = include_str!("../../data/seed/reference.json");
/// The indicators and the figures reported by the cited article.
const REPORTED: &str = include_str!("../../data/seed/reported.json");

#[derive(Deserialize)]
struct Reference {
    areas: Vec<Area>,
    parties: Vec<Party>,
}

#[derive(Deserialize)]
struct Reported {
    indicators: Vec<Indicator>,
    observations: Vec<Observation>,
}

/// Why the demo data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo data file is malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("demo record {name} is invalid: {violations}")]
    Invalid {
        name: String,
        violations: Violations,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every demo resource, in an order where each is written after what it refers to.
pub fn demo_resources() -> Result<Vec<Resource>, SeedError> {
    let reference: Reference = serde_json::from_str(REFERENCE)?;
    let reported: Reported = serde_json::from_str(REPORTED)?;
    let synthetic = synthetic::generate(&reference.parties, &reference.areas);

    let mut resources = Vec::new();
    for area in &reference.areas {
        check(&area.name, area.validate())?;
    }
    for party in &reference.parties {
        check(&party.name, party.validate())?;
    }
    for indicator in &reported.indicators {
        check(&indicator.name, indicator.validate())?;
    }
    for observation in &reported.observations {
        let indicator = reported
            .indicators
            .iter()
            .find(|i| i.name == observation.indicator);
        check(&observation.name, observation.validate(indicator))?;
    }
    for pairing in &synthetic.pairings {
        check(&pairing.name, pairing.validate())?;
    }
    for project in &synthetic.projects {
        check(&project.name, project.validate())?;
    }
    resources.extend(reference.areas.into_iter().map(Resource::Area));
    resources.extend(reference.parties.into_iter().map(Resource::Party));
    resources.extend(reported.indicators.into_iter().map(Resource::Indicator));
    resources.extend(reported.observations.into_iter().map(Resource::Observation));
    resources.extend(synthetic.pairings.into_iter().map(Resource::Pairing));
    resources.extend(synthetic.projects.into_iter().map(Resource::Project));
    Ok(resources)
}

fn check(name: &impl ToString, violations: Violations) -> Result<(), SeedError> {
    violations
        .into_result(())
        .map_err(|violations| SeedError::Invalid {
            name: name.to_string(),
            violations,
        })
}

/// Writes the demo data in one commit.
pub async fn load_demo_data(store: &dyn Store) -> Result<i64, SeedError> {
    let writes = demo_resources()?
        .into_iter()
        .map(|r| Write::Put(Box::new(r)))
        .collect();
    let committed = store
        .commit(Commit {
            subject: "seed".into(),
            writes,
            // Replicas starting together on an empty shared database seed it once.
            request: Some(RequestKey {
                id: "seed/demo-data".into(),
                fingerprint: "demo-data-v1".into(),
            }),
            note: CommitNote {
                request_id: String::new(),
                reason: "the demo record, written on the first start".into(),
            },
            ..Commit::default()
        })
        .await?;
    Ok(committed.revision)
}

/// Adds a synthetic record of `projects` projects and about `observations` observations to
/// the demo data, for benchmarks at scale.
pub async fn load_scaled_data(
    store: &dyn Store,
    projects: usize,
    observations: usize,
) -> Result<(), SeedError> {
    let reference: Reference = serde_json::from_str(REFERENCE)?;
    scale::load(
        store,
        &reference.parties,
        &reference.areas,
        projects,
        observations,
    )
    .await?;
    Ok(())
}

/// Calls `visit` with every resource of the synthetic record `load_scaled_data` writes with the
/// same sizes, in the same order: for comparing other engines on the very same data.
pub fn each_scaled_resource(
    projects: usize,
    observations: usize,
    visit: impl FnMut(Resource),
) -> Result<(), SeedError> {
    let reference: Reference = serde_json::from_str(REFERENCE)?;
    scale::resources(&reference.parties, &reference.areas, projects, observations).for_each(visit);
    Ok(())
}

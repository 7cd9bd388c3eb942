//! Funding summaries: sums of funding lines grouped by any dimensions.
//!
//! Every line is converted and rounded to the cent once, then split across recipient areas by
//! largest remainder, so the parts of a line add up to the line and the groups of a summary add
//! up to its total, to the cent.

use std::collections::{HashMap, HashSet};

use rust_decimal::{Decimal, RoundingStrategy};

use super::AnalyticsError;
use super::money::{ConversionUsed, Converter};
use crate::domain::{AreaLevel, FundingType, Project, ProjectStatus, ResourceName, SupportField};
use crate::query::{Filter, Listed, ReadModel};

/// A dimension funding can be grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Party,
    Area,
    Field,
    Livelihood,
    ProjectStatus,
    Year,
    FundingType,
}

/// One value of one dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    Party(ResourceName),
    Area(ResourceName),
    Field(SupportField),
    Livelihood(bool),
    ProjectStatus(ProjectStatus),
    Year(i32),
    FundingType(FundingType),
}

/// What to sum and how to group it.
#[derive(Clone, Debug)]
pub struct FundingQuery {
    /// AIP-160 filter over projects.
    pub filter: String,
    pub group_by: Vec<Dimension>,
    pub area_level: AreaLevel,
    /// Funding types to include; never empty.
    pub funding_types: Vec<FundingType>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    /// ISO code to report in.
    pub currency: String,
    pub price_base_year: Option<i32>,
    /// Keep this many groups and fold the rest into "other"; `None` keeps all.
    pub top_n: Option<usize>,
}

/// The funding of one group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupTotal {
    pub keys: Vec<GroupKey>,
    pub other: bool,
    pub amount: Decimal,
    pub projects: u64,
    pub lines: u64,
    /// The group's share of the total amount.
    pub share: Decimal,
}

/// A funding summary.
#[derive(Clone, Debug)]
pub struct Summary {
    pub groups: Vec<GroupTotal>,
    pub total: GroupTotal,
    pub conversions: Vec<ConversionUsed>,
}

#[derive(Default)]
struct Accumulator {
    amount: Decimal,
    lines: u64,
    projects: u64,
    last_project: Option<usize>,
}

impl Accumulator {
    fn add(&mut self, amount: Decimal, project: usize) {
        self.amount += amount;
        self.lines += 1;
        if self.last_project != Some(project) {
            self.projects += 1;
            self.last_project = Some(project);
        }
    }

    fn into_total(self, keys: Vec<GroupKey>, other: bool) -> GroupTotal {
        GroupTotal {
            keys,
            other,
            amount: self.amount,
            projects: self.projects,
            lines: self.lines,
            share: Decimal::ZERO,
        }
    }
}

/// The area a recipient counts towards at `level`: its ancestor at that level, or the
/// recipient itself when it sits above the level.
fn area_at_level(model: &ReadModel, area: &ResourceName, level: AreaLevel) -> ResourceName {
    model
        .area_and_ancestors(area)
        .into_iter()
        .find(|a| {
            model
                .areas
                .get(a)
                .is_some_and(|a| a.level.depth() == level.depth())
        })
        .unwrap_or_else(|| area.clone())
}

/// Splits `amount` (in cents) by percentage shares so the parts add up to it exactly.
fn split_by_shares(amount: Decimal, shares: &[Decimal]) -> Vec<Decimal> {
    let cent = Decimal::new(1, 2);
    let raw: Vec<Decimal> = shares
        .iter()
        .map(|s| amount * s / Decimal::ONE_HUNDRED)
        .collect();
    let mut parts: Vec<Decimal> = raw
        .iter()
        .map(|r| r.round_dp_with_strategy(2, RoundingStrategy::ToZero))
        .collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| (raw[*b] - parts[*b]).cmp(&(raw[*a] - parts[*a])));
    let mut short = amount - parts.iter().copied().sum::<Decimal>();
    for i in order.into_iter().cycle().take(parts.len() * 100) {
        if short < cent {
            break;
        }
        parts[i] += cent;
        short -= cent;
    }
    parts
}

/// Calls `visit(keys, amount, project index)` for every part of every line the query counts,
/// and returns the total of the lines.
fn each_part(
    model: &ReadModel,
    query: &FundingQuery,
    filter: &Filter,
    converter: &mut Converter<'_>,
    mut visit: impl FnMut(Vec<GroupKey>, Decimal, usize),
) -> Result<Accumulator, AnalyticsError> {
    let by_area = query.group_by.contains(&Dimension::Area);
    let mut total = Accumulator::default();
    for (index, project) in model.projects.values().enumerate() {
        if !filter.matches(&|field| project.values(field, model)) {
            continue;
        }
        let recipients: Vec<(ResourceName, Decimal)> = if by_area {
            project
                .recipients
                .iter()
                .map(|r| {
                    (
                        area_at_level(model, &r.area, query.area_level),
                        r.share_percent,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        for line in &project.funding_lines {
            let in_years = query.start_year.is_none_or(|y| line.year >= y)
                && query.end_year.is_none_or(|y| line.year <= y);
            if !in_years || !query.funding_types.contains(&line.funding_type) {
                continue;
            }
            let rate_year = line
                .value_date
                .map_or(line.year, |d| chrono::Datelike::year(&d));
            let factor = converter.factor(&line.amount.currency, rate_year)?;
            let amount = (line.amount.amount * factor)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            total.add(amount, index);
            let key_for = |area: Option<&ResourceName>| -> Vec<GroupKey> {
                query
                    .group_by
                    .iter()
                    .map(|d| key(*d, project, line.year, line.funding_type, area))
                    .collect()
            };
            if by_area {
                let shares: Vec<Decimal> = recipients.iter().map(|(_, s)| *s).collect();
                for ((area, _), part) in recipients.iter().zip(split_by_shares(amount, &shares)) {
                    visit(key_for(Some(area)), part, index);
                }
            } else {
                visit(key_for(None), amount, index);
            }
        }
    }
    Ok(total)
}

fn key(
    dimension: Dimension,
    project: &Project,
    year: i32,
    funding_type: FundingType,
    area: Option<&ResourceName>,
) -> GroupKey {
    match dimension {
        Dimension::Party => GroupKey::Party(project.party.clone()),
        Dimension::Area => {
            GroupKey::Area(area.expect("areas are known when grouping by area").clone())
        }
        Dimension::Field => GroupKey::Field(project.field),
        Dimension::Livelihood => GroupKey::Livelihood(project.livelihood),
        Dimension::ProjectStatus => GroupKey::ProjectStatus(project.status),
        Dimension::Year => GroupKey::Year(year),
        Dimension::FundingType => GroupKey::FundingType(funding_type),
    }
}

/// Sums funding as `query` asks.
pub fn summarize(model: &ReadModel, query: &FundingQuery) -> Result<Summary, AnalyticsError> {
    let filter = Filter::parse(&query.filter, Project::FIELDS)?;
    let mut converter = Converter::new(model, &query.currency, query.price_base_year);
    let mut groups: HashMap<Vec<GroupKey>, Accumulator> = HashMap::new();
    let total = each_part(
        model,
        query,
        &filter,
        &mut converter,
        |keys, amount, project| {
            groups.entry(keys).or_default().add(amount, project);
        },
    )?;
    let mut groups: Vec<GroupTotal> = groups
        .into_iter()
        .map(|(keys, acc)| acc.into_total(keys, false))
        .collect();
    groups.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.keys.cmp(&b.keys)));

    if let Some(top) = query.top_n.filter(|n| groups.len() > *n) {
        let rest: HashSet<Vec<GroupKey>> = groups[top..].iter().map(|g| g.keys.clone()).collect();
        let mut other = Accumulator::default();
        each_part(
            model,
            query,
            &filter,
            &mut converter,
            |keys, amount, project| {
                if rest.contains(&keys) {
                    other.add(amount, project);
                }
            },
        )?;
        groups.truncate(top);
        groups.push(other.into_total(Vec::new(), true));
    }
    let mut total = total.into_total(Vec::new(), false);
    let sum = total.amount;
    for group in groups.iter_mut() {
        group.share = if sum.is_zero() {
            Decimal::ZERO
        } else {
            (group.amount / sum).round_dp(6)
        };
    }
    total.share = if sum.is_zero() {
        Decimal::ZERO
    } else {
        Decimal::ONE
    };
    Ok(Summary {
        groups,
        total,
        conversions: converter.into_used(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Area, Collection, DataStatus, FundingLine, Money, Provenance, RecipientArea, Resource,
    };
    use crate::store::Snapshot;

    /// A small deterministic generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % bound
        }
    }

    fn name(collection: Collection, id: &str) -> ResourceName {
        ResourceName::new(collection, id).unwrap()
    }

    fn area(id: &str, level: AreaLevel, parent: Option<&str>) -> Resource {
        Resource::Area(Area {
            name: name(Collection::Areas, id),
            display_name: id.into(),
            level,
            parent: parent.map(|p| name(Collection::Areas, p)),
            meta: Default::default(),
        })
    }

    fn random_model(seed: u64) -> ReadModel {
        let mut rng = Rng(seed);
        let mut resources = vec![
            area("region", AreaLevel::Region, None),
            area("pref-a", AreaLevel::Prefecture, Some("region")),
            area("pref-b", AreaLevel::Prefecture, Some("region")),
        ];
        let counties = ["a1", "a2", "b1", "b2", "b3"];
        for county in counties {
            let parent = if county.starts_with('a') {
                "pref-a"
            } else {
                "pref-b"
            };
            resources.push(area(county, AreaLevel::County, Some(parent)));
        }
        for p in 0..(20 + rng.next(40)) {
            // Shares in thousandths that add up to exactly 100 percent.
            let recipients_count = 1 + rng.next(3) as usize;
            let mut cuts: Vec<u64> = (0..recipients_count - 1)
                .map(|_| 1 + rng.next(99_999))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(100_000);
            let recipients = bounds
                .windows(2)
                .enumerate()
                .map(|(i, w)| RecipientArea {
                    area: name(
                        Collection::Areas,
                        counties[(p as usize + i) % counties.len()],
                    ),
                    share_percent: Decimal::new((w[1] - w[0]) as i64, 3),
                })
                .collect();
            let funding_lines = (0..1 + rng.next(4))
                .map(|_| FundingLine {
                    funding_type: [FundingType::Commitment, FundingType::Expenditure]
                        [rng.next(2) as usize],
                    year: 2013 + rng.next(10) as i32,
                    date: None,
                    amount: Money {
                        currency: "CNY".into(),
                        amount: Decimal::new(rng.next(10_000_000_000) as i64, 3),
                    },
                    value_date: None,
                })
                .collect();
            resources.push(Resource::Project(Project {
                name: name(Collection::Projects, &format!("p{p}")),
                title: format!("Project {p}"),
                description: String::new(),
                pairing: None,
                party: name(Collection::Parties, ["x", "y", "z"][rng.next(3) as usize]),
                recipients,
                field: [
                    SupportField::Education,
                    SupportField::Water,
                    SupportField::Housing,
                ][rng.next(3) as usize],
                livelihood: rng.next(2) == 0,
                status: ProjectStatus::Completed,
                planned_start_date: None,
                planned_end_date: None,
                actual_start_date: None,
                actual_end_date: None,
                outputs: Vec::new(),
                funding_lines,
                data_status: DataStatus::Synthetic,
                provenance: Provenance::default(),
                meta: Default::default(),
            }));
        }
        ReadModel::from_snapshot(Snapshot {
            revision: 1,
            resources,
        })
    }

    #[test]
    fn totals_equal_the_sum_of_their_breakdowns_on_random_data() {
        let groupings: [&[Dimension]; 5] = [
            &[Dimension::Area],
            &[Dimension::Party, Dimension::Area],
            &[Dimension::Field, Dimension::Livelihood, Dimension::Year],
            &[Dimension::Area, Dimension::FundingType],
            &[],
        ];
        for seed in 0..60 {
            let model = random_model(seed);
            for group_by in groupings {
                for (level, top_n) in [
                    (AreaLevel::County, None),
                    (AreaLevel::Prefecture, Some(2)),
                    (AreaLevel::Region, Some(1)),
                ] {
                    let query = FundingQuery {
                        filter: String::new(),
                        group_by: group_by.to_vec(),
                        area_level: level,
                        funding_types: vec![FundingType::Commitment, FundingType::Expenditure],
                        start_year: Some(2014),
                        end_year: None,
                        currency: "CNY".into(),
                        price_base_year: None,
                        top_n,
                    };
                    let summary = summarize(&model, &query).unwrap();
                    let sum: Decimal = summary.groups.iter().map(|g| g.amount).sum();
                    assert_eq!(
                        sum, summary.total.amount,
                        "seed {seed}, {group_by:?}, {level:?}, top {top_n:?}"
                    );
                    assert!(
                        summary.groups.iter().all(|g| g.amount.scale() <= 2),
                        "amounts are in cents"
                    );
                    let lines = model
                        .projects
                        .values()
                        .flat_map(|p| &p.funding_lines)
                        .filter(|l| l.year >= 2014)
                        .count() as u64;
                    assert_eq!(
                        summary.total.lines, lines,
                        "every line in range counted once in the total"
                    );
                }
            }
        }
    }
}

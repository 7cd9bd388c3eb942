//! The synthetic pairings and projects of the demo data.
//!
//! Deterministic: the same code always yields the same records. Amounts are calibrated so the
//! expenditure of 2013-2022 comes close to the reported "about 170 billion yuan" with close to
//! 80 percent on people's livelihood, and outputs close to the reported schools, housing and
//! jobs. Every record says in its provenance that it is synthetic.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::{
    Area, Collection, DataStatus, FundingLine, FundingType, Money, Pairing, Party, Project,
    ProjectOutput, ProjectStatus, Provenance, RecipientArea, ResourceName, SupportField,
};

const FIRST_YEAR: i32 = 2013;
const LAST_YEAR: i32 = 2022;
/// Expenditure of all synthetic projects, 2013-2022, in yuan: close to the reported 170 billion.
const TARGET_EXPENDITURE_YUAN: i64 = 169_200_000_000;
/// Share of that expenditure on livelihood projects, in per mille: close to the reported 80%.
const TARGET_LIVELIHOOD_PER_MILLE: i64 = 797;
/// Outputs spread over the synthetic projects: close to the reported figures.
const TARGET_SCHOOLS: u64 = 2_180;
const TARGET_PEOPLE_HOUSED: u64 = 11_050_000;
const TARGET_JOBS: u64 = 312_000;

/// Which party is paired with which prefecture, and the counties its projects go to
/// (none: the prefecture itself). A demo arrangement, not taken from the cited source.
const PAIRINGS: &[(&str, &str, &[&str])] = &[
    (
        "beijing",
        "hotan",
        &["hotan-city", "hotan-county", "karakax", "lop"],
    ),
    ("tianjin", "hotan", &["qira", "keriya", "niya"]),
    ("hebei", "bayingolin", &[]),
    ("shanxi", "changji", &[]),
    ("liaoning", "tacheng", &[]),
    ("jilin", "altay", &[]),
    ("heilongjiang", "altay", &[]),
    (
        "shanghai",
        "kashgar",
        &["yarkant", "kargilik", "poskam", "maralbexi"],
    ),
    ("jiangsu", "kizilsu", &[]),
    ("jiangsu", "ili", &[]),
    ("zhejiang", "aksu", &[]),
    ("anhui", "hotan", &["guma"]),
    ("fujian", "changji", &[]),
    ("jiangxi", "kizilsu", &[]),
    (
        "shandong",
        "kashgar",
        &["shule", "yengisar", "makit", "yopurga"],
    ),
    ("henan", "hami", &[]),
    ("hubei", "bortala", &[]),
    ("hunan", "turpan", &[]),
    ("guangdong", "kashgar", &["shufu", "peyziwat"]),
    ("shenzhen", "kashgar", &["kashgar-city", "taxkorgan"]),
];

/// Fields with their relative weight and whether they serve people's livelihood.
pub(super) const FIELDS: &[(SupportField, u64, bool, &str)] = &[
    (SupportField::Housing, 22, true, "safe housing"),
    (
        SupportField::Education,
        18,
        true,
        "school building and renovation",
    ),
    (
        SupportField::HealthCare,
        12,
        true,
        "clinic and hospital upgrade",
    ),
    (SupportField::RoadsAndTransport, 12, true, "asphalt road"),
    (SupportField::Water, 10, true, "tap water supply"),
    (
        SupportField::IndustryAndEmployment,
        8,
        false,
        "industrial park and jobs",
    ),
    (SupportField::Economy, 5, false, "market and trade support"),
    (
        SupportField::Agriculture,
        5,
        false,
        "farm produce processing",
    ),
    (SupportField::Technology, 3, false, "technology transfer"),
    (
        SupportField::Talent,
        3,
        false,
        "teacher and doctor training",
    ),
    (
        SupportField::CultureAndTourism,
        2,
        false,
        "culture and tourism",
    ),
];

/// The synthetic records.
pub struct Synthetic {
    pub pairings: Vec<Pairing>,
    pub projects: Vec<Project>,
}

/// SplitMix64: a tiny generator whose sequence never changes between versions or platforms.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

pub(super) fn synthetic_provenance() -> Provenance {
    Provenance {
        source_title: "pairing-aid synthetic demo data".into(),
        publisher: "pairing-aid".into(),
        note: "Synthetic record generated for demonstration and calibrated to reported aggregates; not a reported figure."
            .into(),
        ..Provenance::default()
    }
}

fn name(collection: Collection, id: &str) -> ResourceName {
    ResourceName::new(collection, id).expect("synthetic ids are valid")
}

fn date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A project before its amount and outputs are calibrated.
struct Draft {
    project: Project,
    weight: u64,
    duration: i32,
    livelihood: bool,
}

impl Draft {
    /// Years of the project within the demo window, whose expenditure counts.
    fn years_spent(&self, start: i32) -> i32 {
        (LAST_YEAR - start + 1).min(self.duration)
    }
}

/// Generates the synthetic pairings and projects for the reference parties and areas.
pub fn generate(parties: &[Party], areas: &[Area]) -> Synthetic {
    let mut rng = SplitMix(0x5041_4952_494E_4721);
    let display = |id: &str| -> String {
        let area = name(Collection::Areas, id);
        areas
            .iter()
            .find(|a| a.name == area)
            .map(|a| a.display_name.clone())
            .or_else(|| {
                let party = name(Collection::Parties, id);
                parties
                    .iter()
                    .find(|p| p.name == party)
                    .map(|p| p.display_name.clone())
            })
            .unwrap_or_else(|| id.to_owned())
    };
    let total_weight: u64 = FIELDS.iter().map(|f| f.1).sum();
    let mut pairings = Vec::new();
    let mut drafts = Vec::new();
    for (party_id, prefecture, counties) in PAIRINGS {
        let pairing_name = name(Collection::Pairings, &format!("{party_id}-{prefecture}"));
        pairings.push(Pairing {
            name: pairing_name.clone(),
            party: name(Collection::Parties, party_id),
            area: name(Collection::Areas, prefecture),
            start_year: 2010,
            end_year: None,
            fields: FIELDS.iter().map(|f| f.0).collect(),
            status: DataStatus::Synthetic,
            provenance: synthetic_provenance().into(),
            meta: Default::default(),
        });
        let targets: Vec<&str> = if counties.is_empty() {
            vec![prefecture]
        } else {
            counties.to_vec()
        };
        for year in FIRST_YEAR..=LAST_YEAR {
            for number in 1..=(3 + rng.below(4)) {
                let mut pick = rng.below(total_weight);
                let &(field, _, livelihood, phrase) = FIELDS
                    .iter()
                    .find(|f| {
                        let hit = pick < f.1;
                        pick = pick.saturating_sub(f.1);
                        hit
                    })
                    .expect("pick is below the total weight");
                let target = targets[rng.below(targets.len() as u64) as usize];
                let duration = 1 + rng.below(3) as i32;
                let id = format!("{party_id}-{prefecture}-{year}-{number:02}");
                let title = format!(
                    "{} {phrase} project in {} ({year})",
                    display(party_id),
                    display(target)
                );
                let mut recipients = vec![RecipientArea {
                    area: name(Collection::Areas, target),
                    share_percent: Decimal::ONE_HUNDRED,
                }];
                if targets.len() > 1 && rng.below(7) == 0 {
                    let other = targets.iter().find(|t| **t != target).expect("two targets");
                    recipients[0].share_percent = Decimal::from(60);
                    recipients.push(RecipientArea {
                        area: name(Collection::Areas, other),
                        share_percent: Decimal::from(40),
                    });
                }
                let end_year = year + duration - 1;
                let finished = end_year <= LAST_YEAR;
                drafts.push(Draft {
                    weight: 20 + rng.below(180),
                    duration,
                    livelihood,
                    project: Project {
                        name: name(Collection::Projects, &id),
                        title,
                        description: format!("Synthetic demo project: {phrase}, funded by {} under pairing assistance.", display(party_id)),
                        pairing: Some(pairing_name.clone()),
                        party: name(Collection::Parties, party_id),
                        recipients,
                        field,
                        livelihood,
                        status: if finished { ProjectStatus::Completed } else { ProjectStatus::InProgress },
                        planned_start_date: date(year, 3, 1),
                        planned_end_date: date(end_year, 11, 30),
                        actual_start_date: date(year, 3, 1),
                        actual_end_date: if finished { date(end_year, 11, 30) } else { None },
                        outputs: Vec::new(),
                        funding_lines: Vec::new(),
                        data_status: DataStatus::Synthetic,
                        provenance: synthetic_provenance().into(),
                        meta: Default::default(),
                    },
                });
            }
        }
    }
    calibrate(&mut drafts);
    Synthetic {
        pairings,
        projects: drafts.into_iter().map(|d| d.project).collect(),
    }
}

/// Sets every draft's funding lines and outputs so the totals land near the targets.
fn calibrate(drafts: &mut [Draft]) {
    // Raw expenditure within the window, per unit of weight: weight * spent years / duration.
    let spent = |d: &Draft| -> u128 {
        let start = d
            .project
            .planned_start_date
            .map_or(FIRST_YEAR, |s| chrono::Datelike::year(&s));
        u128::from(d.weight) * d.years_spent(start) as u128 * 1_000 / d.duration as u128
    };
    let raw_livelihood: u128 = drafts.iter().filter(|d| d.livelihood).map(spent).sum();
    let raw_other: u128 = drafts.iter().filter(|d| !d.livelihood).map(spent).sum();
    let target_livelihood =
        TARGET_EXPENDITURE_YUAN as u128 * TARGET_LIVELIHOOD_PER_MILLE as u128 / 1_000;
    let target_other = TARGET_EXPENDITURE_YUAN as u128 - target_livelihood;
    for draft in drafts.iter_mut() {
        let (target, raw) = if draft.livelihood {
            (target_livelihood, raw_livelihood)
        } else {
            (target_other, raw_other)
        };
        // Committed amount: scaled weight over the whole duration, rounded to 10,000 yuan.
        let committed = u128::from(draft.weight) * target * 1_000 / raw;
        let committed = (committed / 10_000).max(1) * 10_000;
        draft.project.funding_lines =
            funding_lines(&draft.project, committed as i64, draft.duration);
    }
    for (indicator, field, total) in [
        ("schools-built", SupportField::Education, TARGET_SCHOOLS),
        (
            "people-housing-improved",
            SupportField::Housing,
            TARGET_PEOPLE_HOUSED,
        ),
        (
            "jobs-created",
            SupportField::IndustryAndEmployment,
            TARGET_JOBS,
        ),
    ] {
        let chosen: Vec<usize> = (0..drafts.len())
            .filter(|&i| drafts[i].project.field == field)
            .collect();
        let weights: Vec<u64> = chosen.iter().map(|&i| drafts[i].weight).collect();
        for (&i, count) in chosen.iter().zip(apportion(total, &weights)) {
            if count > 0 {
                drafts[i].project.outputs.push(ProjectOutput {
                    indicator: name(Collection::Indicators, indicator),
                    value: Decimal::from(count),
                });
            }
        }
    }
}

/// A commitment in the first year and expenditure spread evenly over the years up to 2022.
fn funding_lines(project: &Project, committed: i64, duration: i32) -> Vec<FundingLine> {
    let start = project
        .planned_start_date
        .map_or(FIRST_YEAR, |s| chrono::Datelike::year(&s));
    let line = |funding_type, year, amount: i64| FundingLine {
        funding_type,
        year,
        date: date(year, 6, 30),
        amount: Money {
            currency: "CNY".into(),
            amount: Decimal::from(amount),
        },
        value_date: date(year, 6, 30),
    };
    let mut lines = vec![line(FundingType::Commitment, start, committed)];
    let per_year = committed / i64::from(duration);
    for offset in 0..duration {
        let year = start + offset;
        if year > LAST_YEAR {
            break;
        }
        let amount = if offset == duration - 1 {
            committed - per_year * i64::from(duration - 1)
        } else {
            per_year
        };
        lines.push(line(FundingType::Expenditure, year, amount));
    }
    lines
}

/// Splits `total` into whole parts proportional to `weights` (largest remainder).
fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u64 = weights.iter().sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<u64> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((total * weights[i]) % sum));
    let short = total - parts.iter().sum::<u64>();
    for &i in order.iter().take(short as usize) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_keeps_the_total() {
        assert_eq!(apportion(10, &[1, 1, 1]).iter().sum::<u64>(), 10);
        assert_eq!(apportion(7, &[0, 0]), vec![0, 0]);
    }

    #[test]
    fn synthetic_data_is_deterministic_and_calibrated() {
        let a = generate(&[], &[]);
        let b = generate(&[], &[]);
        assert_eq!(a.projects, b.projects);
        let spent = |livelihood: Option<bool>| -> Decimal {
            a.projects
                .iter()
                .filter(|p| livelihood.is_none_or(|l| p.livelihood == l))
                .flat_map(|p| &p.funding_lines)
                .filter(|l| l.funding_type == FundingType::Expenditure)
                .map(|l| l.amount.amount)
                .sum()
        };
        let total = spent(None);
        let billions = total / Decimal::from(1_000_000_000);
        assert!(
            billions > Decimal::from(165) && billions < Decimal::from(175),
            "{billions}"
        );
        let share = spent(Some(true)) * Decimal::ONE_HUNDRED / total;
        assert!(
            share > Decimal::from(78) && share < Decimal::from(82),
            "{share}"
        );
        assert!(
            a.projects
                .iter()
                .all(|p| p.data_status == DataStatus::Synthetic)
        );
    }
}

//! Funding pre-aggregated by everything a summary can group or filter by except a project's
//! name, title and description, kept up to date on every write.
//!
//! Projects alike in party, pairing, field, livelihood, status, data status, recipients and
//! the shape of their funding lines (year, type, currency, year of value) form one class. A
//! class keeps how many projects it holds and, for each line of that shape, the sum of their
//! amounts in cents and of each recipient's part. A summary whose filter reads only those
//! fields and whose amounts need no conversion adds up classes instead of projects, so its cost
//! follows how varied the record is, not how many projects it holds. Two tables: one keeps
//! recipients apart, for questions about areas; one lumps them, so the rest scan fewer classes.

use foldhash::HashMap;

use chrono::Datelike;
use rust_decimal::{Decimal, RoundingStrategy};

use super::funding::split_by_shares;
use crate::domain::{
    DataStatus, FundingLine, FundingType, Money, Project, ProjectStatus, ResourceName, SupportField,
};

/// What a class's projects share about one funding line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineShape {
    pub year: i32,
    pub funding_type: FundingType,
    pub currency: String,
    /// The year whose exchange rate and deflator apply: of the value date if there is one.
    pub rate_year: i32,
}

impl LineShape {
    fn of(line: &FundingLine) -> Self {
        LineShape {
            year: line.year,
            funding_type: line.funding_type,
            currency: line.amount.currency.clone(),
            rate_year: line.value_date.map_or(line.year, |d| d.year()),
        }
    }
}

/// What alike projects share: everything but name, text and amounts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClassKey {
    party: ResourceName,
    pairing: Option<ResourceName>,
    field: SupportField,
    livelihood: bool,
    status: ProjectStatus,
    data_status: DataStatus,
    /// Areas and shares in the project's order; empty in the table that lumps recipients.
    recipients: Vec<(ResourceName, Decimal)>,
    lines: Vec<LineShape>,
}

/// Projects that every summary without a text filter treats alike.
#[derive(Clone, Debug)]
pub struct ProjectClass {
    /// The first member with its text, outputs and amounts left out: filters and group keys
    /// read it as they would read any member.
    pub representative: Project,
    /// The line shapes in order; every member has exactly these lines.
    pub lines: Vec<LineShape>,
    pub projects: u64,
    /// Per line, the members' amounts rounded to the cent, summed.
    pub cents: Vec<i128>,
    /// Per line and recipient (line-major), the members' parts summed; empty when the table
    /// lumps recipients.
    pub part_cents: Vec<i128>,
}

/// The classes of one table.
#[derive(Clone, Debug, Default)]
pub struct ClassTable {
    index: HashMap<ClassKey, usize>,
    pub classes: Vec<ProjectClass>,
}

/// A decimal with at most two places, in cents.
pub fn cents(amount: Decimal) -> i128 {
    let scale = amount.scale();
    if scale <= 2 {
        amount.mantissa() * 10i128.pow(2 - scale)
    } else {
        amount.mantissa() / 10i128.pow(scale - 2)
    }
}

/// An amount as a summary counts it when no conversion applies: rounded to the cent.
pub fn rounded(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl ClassTable {
    fn apply(&mut self, project: &Project, with_recipients: bool, sign: i128) {
        let mut lines: Vec<(LineShape, Decimal)> = project
            .funding_lines
            .iter()
            .map(|l| (LineShape::of(l), rounded(l.amount.amount)))
            .collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let key = ClassKey {
            party: project.party.clone(),
            pairing: project.pairing.clone(),
            field: project.field,
            livelihood: project.livelihood,
            status: project.status,
            data_status: project.data_status,
            recipients: if with_recipients {
                project
                    .recipients
                    .iter()
                    .map(|r| (r.area.clone(), r.share_percent))
                    .collect()
            } else {
                Vec::new()
            },
            lines: lines.iter().map(|(shape, _)| shape.clone()).collect(),
        };
        let shares: Vec<Decimal> = key.recipients.iter().map(|(_, share)| *share).collect();
        let slot = match self.index.get(&key) {
            Some(slot) => *slot,
            None => {
                let slot = self.classes.len();
                self.classes.push(ProjectClass {
                    representative: representative(project, with_recipients, &key.lines),
                    lines: key.lines.clone(),
                    projects: 0,
                    cents: vec![0; lines.len()],
                    part_cents: vec![0; lines.len() * shares.len()],
                });
                self.index.insert(key, slot);
                slot
            }
        };
        let class = &mut self.classes[slot];
        class.projects = class.projects.saturating_add_signed(sign as i64);
        for (i, (_, amount)) in lines.iter().enumerate() {
            class.cents[i] += sign * cents(*amount);
            if !shares.is_empty() {
                for (r, part) in split_by_shares(*amount, &shares).into_iter().enumerate() {
                    class.part_cents[i * shares.len() + r] += sign * cents(part);
                }
            }
        }
    }
}

/// The project as its class sees it: what filters and groupings read, and nothing else.
fn representative(project: &Project, with_recipients: bool, lines: &[LineShape]) -> Project {
    Project {
        name: project.name.clone(),
        title: String::new(),
        description: String::new(),
        pairing: project.pairing.clone(),
        party: project.party.clone(),
        recipients: if with_recipients {
            project.recipients.clone()
        } else {
            Vec::new()
        },
        field: project.field,
        livelihood: project.livelihood,
        status: project.status,
        planned_start_date: None,
        planned_end_date: None,
        actual_start_date: None,
        actual_end_date: None,
        outputs: Vec::new(),
        funding_lines: lines
            .iter()
            .map(|shape| FundingLine {
                funding_type: shape.funding_type,
                year: shape.year,
                date: None,
                amount: Money {
                    currency: shape.currency.clone(),
                    amount: Decimal::ZERO,
                },
                value_date: None,
            })
            .collect(),
        data_status: project.data_status,
        provenance: Default::default(),
        meta: Default::default(),
    }
}

/// Funding by class, in two tables, and the currencies the classes hold.
#[derive(Clone, Debug, Default)]
pub struct FundingCube {
    pub by_recipient: ClassTable,
    pub lumped: ClassTable,
    /// Lines held per currency; a class sum can answer a summary only in its own currency.
    currencies: HashMap<String, u64>,
}

impl FundingCube {
    /// Counts a project in.
    pub fn add(&mut self, project: &Project) {
        self.apply(project, 1);
    }

    /// Counts a project out: it was deleted or is about to be replaced.
    pub fn remove(&mut self, project: &Project) {
        self.apply(project, -1);
    }

    fn apply(&mut self, project: &Project, sign: i128) {
        self.by_recipient.apply(project, true, sign);
        self.lumped.apply(project, false, sign);
        for line in &project.funding_lines {
            let count = self
                .currencies
                .entry(line.amount.currency.clone())
                .or_default();
            *count = count.saturating_add_signed(sign as i64);
        }
    }

    /// Whether every line the classes hold is in `currency`, so summing them needs no rate.
    pub fn all_in(&self, currency: &str) -> bool {
        self.currencies
            .iter()
            .all(|(held, count)| *count == 0 || held == currency)
    }
}

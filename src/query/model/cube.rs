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
//!
//! A table keeps its classes' numbers in flat arrays, in class order, and names as numbers, so
//! a summary reads memory front to back and hashes nothing per class.

use foldhash::HashMap;
use rust_decimal::Decimal;

use super::contribution::{Contribution, LineShape};
use super::journal::FundingJournal;
use super::members::Members;
use crate::domain::{
    DataStatus, FundingLine, FundingType, Money, Project, ProjectStatus, ResourceName, SupportField,
};

/// What alike projects share: everything but name, text and amounts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

/// A line of a class as a summary reads it.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub year: i32,
    pub funding_type: FundingType,
}

/// One class: what its members share, and where its lines, recipients and parts sit in the
/// flat arrays.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Class {
    /// The party's number in the cube's names.
    pub party: u32,
    pub field: SupportField,
    pub livelihood: bool,
    pub status: ProjectStatus,
    first_line: usize,
    line_count: usize,
    first_recipient: usize,
    recipient_count: usize,
    first_part: usize,
}

/// Sums over some members of every class of a table: all of them, as the table keeps them, or
/// those a filter picked.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Sums {
    /// Per class, its members.
    projects: Vec<u64>,
    /// Per line of every class, the members' amounts rounded to the cent.
    cents: Vec<i128>,
    /// Per class, line and recipient (line-major), the members' parts.
    parts: Vec<i128>,
}

impl Sums {
    /// Empty sums for the same classes as `self`.
    pub fn zeroed_like(&self) -> Sums {
        Sums {
            projects: vec![0; self.projects.len()],
            cents: vec![0; self.cents.len()],
            parts: vec![0; self.parts.len()],
        }
    }

    /// How many members of `class` (its index) are summed.
    pub fn projects(&self, class: usize) -> u64 {
        self.projects[class]
    }

    /// The summed amount of the class's `line`-th line.
    pub fn cents(&self, class: &Class, line: usize) -> i128 {
        self.cents[class.first_line + line]
    }

    /// The recipients' summed parts of the class's `line`-th line.
    pub fn parts(&self, class: &Class, line: usize) -> &[i128] {
        let start = class.first_part + line * class.recipient_count;
        &self.parts[start..start + class.recipient_count]
    }

    /// Counts one project of `class` (its index) in or out, with its amounts: its lines' in
    /// cents, then (line-major, by recipient) their parts.
    pub fn add<Cents: Copy + Into<i128>>(
        &mut self,
        index: usize,
        class: &Class,
        sign: i128,
        amounts: &[Cents],
    ) {
        let (cents, parts) = amounts.split_at(class.line_count);
        self.add_split(index, class, sign, cents, parts);
    }

    /// As `add`, with the lines' amounts and their parts apart.
    pub fn add_split<Cents: Copy + Into<i128>>(
        &mut self,
        index: usize,
        class: &Class,
        sign: i128,
        cents: &[Cents],
        parts: &[Cents],
    ) {
        self.projects[index] = self.projects[index].saturating_add_signed(sign as i64);
        let lines = &mut self.cents[class.first_line..class.first_line + class.line_count];
        for (sum, amount) in lines.iter_mut().zip(cents) {
            *sum += sign * (*amount).into();
        }
        let part_count = class.line_count * class.recipient_count;
        let sums = &mut self.parts[class.first_part..class.first_part + part_count];
        for (sum, part) in sums.iter_mut().zip(parts) {
            *sum += sign * (*part).into();
        }
    }
}

/// The classes of one table.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ClassTable {
    index: HashMap<ClassKey, usize>,
    pub classes: Vec<Class>,
    /// Per class, its first member with text, outputs and amounts left out: filters and group
    /// keys read it as they would read any member.
    pub representatives: Vec<Project>,
    lines: Vec<Line>,
    /// Recipient areas' numbers in the cube's names.
    recipients: Vec<u32>,
    /// Over every member.
    pub sums: Sums,
    keeps_recipients: bool,
}

impl ClassTable {
    fn new(keeps_recipients: bool) -> Self {
        ClassTable {
            keeps_recipients,
            ..ClassTable::default()
        }
    }

    /// The class's lines.
    pub fn lines(&self, class: &Class) -> &[Line] {
        &self.lines[class.first_line..class.first_line + class.line_count]
    }

    /// The class's recipient areas, as numbers in the cube's names; empty when the table
    /// lumps recipients.
    pub fn recipients(&self, class: &Class) -> &[u32] {
        &self.recipients[class.first_recipient..class.first_recipient + class.recipient_count]
    }

    /// Counts `project` in or out of its class, and returns the class's index.
    fn apply(
        &mut self,
        project: &Project,
        contribution: &Contribution,
        sign: i128,
        names: &mut NameTable,
    ) -> usize {
        let key = self.key(project, contribution);
        let index = match self.index.get(&key) {
            Some(index) => *index,
            None => self.open(key, project, names),
        };
        self.sums
            .add(index, &self.classes[index], sign, &contribution.amounts);
        index
    }

    /// The index of the class `project` belongs to, if the table holds it.
    pub(super) fn find(&self, project: &Project, contribution: &Contribution) -> Option<usize> {
        self.index.get(&self.key(project, contribution)).copied()
    }

    fn key(&self, project: &Project, contribution: &Contribution) -> ClassKey {
        ClassKey {
            party: project.party.clone(),
            pairing: project.pairing.clone(),
            field: project.field,
            livelihood: project.livelihood,
            status: project.status,
            data_status: project.data_status,
            recipients: if self.keeps_recipients {
                project
                    .recipients
                    .iter()
                    .map(|r| (r.area.clone(), r.share_percent))
                    .collect()
            } else {
                Vec::new()
            },
            lines: contribution.shapes.clone(),
        }
    }

    /// Adds an empty class for `key`, whose first member is `project`.
    fn open(&mut self, key: ClassKey, project: &Project, names: &mut NameTable) -> usize {
        let index = self.classes.len();
        self.classes.push(Class {
            party: names.id(&key.party),
            field: key.field,
            livelihood: key.livelihood,
            status: key.status,
            first_line: self.lines.len(),
            line_count: key.lines.len(),
            first_recipient: self.recipients.len(),
            recipient_count: key.recipients.len(),
            first_part: self.sums.parts.len(),
        });
        self.lines.extend(key.lines.iter().map(|shape| Line {
            year: shape.year,
            funding_type: shape.funding_type,
        }));
        self.recipients
            .extend(key.recipients.iter().map(|(area, _)| names.id(area)));
        self.sums.projects.push(0);
        self.sums
            .cents
            .extend(std::iter::repeat_n(0, key.lines.len()));
        self.sums.parts.extend(std::iter::repeat_n(
            0,
            key.lines.len() * key.recipients.len(),
        ));
        self.representatives.push(representative(project, &key));
        self.index.insert(key, index);
        index
    }
}

/// The project as its class sees it: what filters and groupings read, and nothing else.
fn representative(project: &Project, key: &ClassKey) -> Project {
    Project {
        name: project.name.clone(),
        title: String::new(),
        description: String::new(),
        pairing: key.pairing.clone(),
        party: key.party.clone(),
        recipients: if key.recipients.is_empty() {
            Vec::new()
        } else {
            project.recipients.clone()
        },
        field: key.field,
        livelihood: key.livelihood,
        status: key.status,
        planned_start_date: None,
        planned_end_date: None,
        actual_start_date: None,
        actual_end_date: None,
        outputs: Vec::new(),
        funding_lines: key
            .lines
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
        data_status: key.data_status,
        provenance: Default::default(),
        meta: Default::default(),
    }
}

/// Parties and areas the classes refer to, numbered in order of first use.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NameTable {
    ids: HashMap<ResourceName, u32>,
    names: Vec<ResourceName>,
}

impl NameTable {
    /// The number of `name`, given it on first use.
    pub fn id(&mut self, name: &ResourceName) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.clone(), id);
        self.names.push(name.clone());
        id
    }

    /// The name numbered `id`.
    pub fn name(&self, id: u32) -> &ResourceName {
        &self.names[id as usize]
    }

    /// How many names there are.
    pub fn count(&self) -> usize {
        self.names.len()
    }
}

/// Funding by class, in two tables, every project's title and amounts, and the currencies
/// the classes hold.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FundingCube {
    pub by_recipient: ClassTable,
    pub lumped: ClassTable,
    pub members: Members,
    pub names: NameTable,
    /// Lines held per currency; a class sum can answer a summary only in its own currency.
    currencies: HashMap<String, u64>,
    /// Rows as they were before each recent commit, for summaries at a past revision; a
    /// model loaded from an image starts a new one.
    #[serde(skip)]
    pub(super) journal: FundingJournal,
}

impl Default for FundingCube {
    fn default() -> Self {
        FundingCube {
            by_recipient: ClassTable::new(true),
            lumped: ClassTable::new(false),
            members: Members::default(),
            names: NameTable::default(),
            currencies: HashMap::default(),
            journal: FundingJournal::default(),
        }
    }
}

impl FundingCube {
    /// Counts in `project`, numbered `number` in the read model.
    pub fn add(&mut self, number: u32, project: &Project) {
        self.journal
            .record(number, self.members.before(number), std::iter::empty());
        let contribution = Contribution::of(project);
        let by_recipient = self
            .by_recipient
            .apply(project, &contribution, 1, &mut self.names);
        let lumped = self
            .lumped
            .apply(project, &contribution, 1, &mut self.names);
        self.members.add(
            number,
            &project.title,
            [lumped, by_recipient],
            &contribution,
        );
        self.count_currencies(project, 1);
    }

    /// Counts out `project`, numbered `number`: it was deleted or is about to be replaced.
    pub fn remove(&mut self, number: u32, project: &Project) {
        let currencies = project.funding_lines.iter().map(|l| &l.amount.currency);
        self.journal
            .record(number, self.members.before(number), currencies);
        let contribution = Contribution::of(project);
        self.by_recipient
            .apply(project, &contribution, -1, &mut self.names);
        self.lumped
            .apply(project, &contribution, -1, &mut self.names);
        self.members.remove(number);
        self.count_currencies(project, -1);
    }

    fn count_currencies(&mut self, project: &Project, sign: i64) {
        for line in &project.funding_lines {
            let count = self
                .currencies
                .entry(line.amount.currency.clone())
                .or_default();
            *count = count.saturating_add_signed(sign);
        }
    }

    /// Whether every line the classes hold is in `currency`, so summing them needs no rate.
    pub fn all_in(&self, currency: &str) -> bool {
        self.currencies
            .iter()
            .all(|(held, count)| *count == 0 || held == currency)
    }
}

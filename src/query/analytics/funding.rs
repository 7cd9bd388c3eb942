//! Funding summaries: sums of funding lines grouped by any dimensions.
//!
//! Every line is converted and rounded to the cent once, then split across recipient areas by
//! largest remainder, so the parts of a line add up to the line and the groups of a summary add
//! up to its total, to the cent. A summary is added up from the pre-aggregated classes of the
//! funding cube when they can answer it (see `cube`), and from the projects otherwise; both
//! give the same figures.

use std::borrow::Cow;

use foldhash::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::coverage::{self, StatusCoverage, share_of};
use super::error::AnalyticsError;
use super::money::{ConversionUsed, Converter, SeriesChoice};
use crate::domain::{
    AreaLevel, DataStatus, FundingType, Project, ProjectStatus, ResourceName, SupportField, cents,
    rounded, split_by_shares,
};
use crate::domain::{Labelled, labelled};
use crate::query::interrupt::{Interrupt, Interrupted};
use crate::query::listing::{Field, Filter, ItemRow, Listed, ProjectField, Summarized, picks};
use crate::query::model::cube::{ClassTable, FundingCube, NameTable, Sums};
use crate::query::model::{PastFunding, ReadModel, Reading};

labelled! {
    /// A dimension funding can be grouped by.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Dimension {
        Party = "PARTY",
        Area = "AREA",
        Field = "FIELD",
        Livelihood = "LIVELIHOOD",
        ProjectStatus = "PROJECT_STATUS",
        Year = "YEAR",
        FundingType = "FUNDING_TYPE",
        DataStatus = "DATA_STATUS",
    }
}

/// How many dimensions there are: a summary groups by each at most once.
const DIMENSIONS: usize = Dimension::ALL.len();

/// How many data statuses there are: a group keeps its sums by each.
const STATUSES: usize = DataStatus::ALL.len();

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
    DataStatus(DataStatus),
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
    /// The exchange-rate and deflator series to convert with.
    pub series: SeriesChoice,
    /// Keep this many groups and fold the rest into "other"; `None` keeps all.
    pub top_n: Option<usize>,
}

impl FundingQuery {
    /// Every commitment and expenditure in CNY, unfiltered, over all years, every group kept:
    /// tests override the fields they are about.
    #[cfg(test)]
    pub fn all_cny(group_by: &[Dimension], area_level: AreaLevel) -> Self {
        FundingQuery {
            filter: String::new(),
            group_by: group_by.to_vec(),
            area_level,
            funding_types: vec![FundingType::Commitment, FundingType::Expenditure],
            start_year: None,
            end_year: None,
            currency: "CNY".into(),
            price_base_year: None,
            series: SeriesChoice::default(),
            top_n: None,
        }
    }

    fn counts(&self, year: i32, funding_type: FundingType) -> bool {
        self.start_year.is_none_or(|y| year >= y)
            && self.end_year.is_none_or(|y| year <= y)
            && self.funding_types.contains(&funding_type)
    }
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
    /// The least certain data status of the projects whose lines the group sums; `None` for a
    /// group without lines (an empty total).
    pub status: Option<DataStatus>,
    /// How much of the amount rests on projects of each status (counting their lines), most
    /// certain first. The parts add up to `amount` exactly.
    pub coverage: Vec<StatusCoverage>,
}

/// A funding summary.
#[derive(Clone, Debug)]
pub struct Summary {
    pub groups: Vec<GroupTotal>,
    pub total: GroupTotal,
    pub conversions: Vec<ConversionUsed>,
}

/// A group's key as numbers standing for its values within one summary.
type Compact = [u32; DIMENSIONS];

#[derive(Default)]
struct Accumulator {
    cents: i128,
    lines: u64,
    projects: u64,
    /// Cents and lines by the data status (its ordinal) of the projects they come from.
    by_status: [(i128, u64); STATUSES],
    /// The project or class last added: one adds its projects to a group once.
    last_source: Option<usize>,
}

impl Accumulator {
    fn add(&mut self, part: Part) {
        self.cents += part.cents;
        self.lines += part.projects;
        let (cents, lines) = &mut self.by_status[part.status.ordinal()];
        *cents += part.cents;
        *lines += part.projects;
        if self.last_source != Some(part.source) {
            self.projects += part.projects;
            self.last_source = Some(part.source);
        }
    }

    fn into_total(self, keys: Vec<GroupKey>, other: bool) -> Result<GroupTotal, AnalyticsError> {
        let amount = decimal_cents(self.cents)?;
        let parts = DataStatus::ALL
            .iter()
            .map(|status| {
                let (cents, lines) = self.by_status[status.ordinal()];
                Ok((*status, decimal_cents(cents)?, lines))
            })
            .collect::<Result<Vec<_>, AnalyticsError>>()?;
        let coverage = coverage::by_status(parts, amount);
        Ok(GroupTotal {
            keys,
            other,
            amount,
            projects: self.projects,
            lines: self.lines,
            share: Decimal::ZERO,
            status: coverage::least_certain(&coverage),
            coverage,
        })
    }
}

fn decimal_cents(cents: i128) -> Result<Decimal, AnalyticsError> {
    Decimal::try_from_i128_with_scale(cents, 2).map_err(|_| {
        AnalyticsError::invalid(
            "filter",
            "the sum is too large to represent; narrow the question",
        )
    })
}

/// Most groups a summary has: about 200 bytes each on the wire and twice that while they add
/// up, so the largest answer stays within a message and a request's memory budget (64 MiB).
const MAX_GROUPS: usize = 50_000;

/// The groups of a summary as they fill up.
#[derive(Default)]
struct Groups {
    index: HashMap<Compact, usize>,
    totals: Vec<(Vec<GroupKey>, Accumulator)>,
    /// The group added to last: a class's or project's lines often fall in one group in a
    /// row, and comparing keys is cheaper than hashing them.
    last: Option<(Compact, usize)>,
    /// A part belonged to a group beyond `MAX_GROUPS`: the summary cannot be answered.
    overflowed: bool,
}

impl Groups {
    fn add(&mut self, key: &Compact, keys: &dyn Fn() -> Vec<GroupKey>, part: Part) {
        let at = match self.last {
            Some((last, at)) if last == *key => at,
            _ => {
                let next = self.totals.len();
                if next >= MAX_GROUPS && !self.index.contains_key(key) {
                    self.overflowed = true;
                    return;
                }
                let at = *self.index.entry(*key).or_insert(next);
                if at == next {
                    self.totals.push((keys(), Accumulator::default()));
                }
                self.last = Some((*key, at));
                at
            }
        };
        self.totals[at].1.add(part);
    }
}

/// Money of one group from one project (or class of projects) and one line.
#[derive(Clone, Copy)]
struct Part {
    cents: i128,
    /// The project's or class's index: parts of one source count its projects once per group.
    source: usize,
    /// The projects it sums: each has exactly one line in the part, so also its line count.
    projects: u64,
    /// Their data status (a class's projects share one).
    status: DataStatus,
}

/// Receives each part with its group's compact key and a builder of the group's keys (called
/// only for a group's first part).
type Visit<'v> = &'v mut dyn FnMut(&Compact, &dyn Fn() -> Vec<GroupKey>, Part);

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

/// Numbers for names within one summary, and the area each recipient counts towards.
struct Names<'m> {
    model: &'m ReadModel,
    level: AreaLevel,
    numbered: NameTable,
    at_level: HashMap<ResourceName, u32>,
}

impl<'m> Names<'m> {
    fn new(model: &'m ReadModel, level: AreaLevel) -> Self {
        Names {
            model,
            level,
            numbered: NameTable::default(),
            at_level: HashMap::default(),
        }
    }

    fn id(&mut self, name: &ResourceName) -> u32 {
        self.numbered.id(name)
    }

    fn name(&self, id: u32) -> &ResourceName {
        self.numbered.name(id)
    }

    /// The number of the area `recipient` counts towards.
    fn area(&mut self, recipient: &ResourceName) -> u32 {
        if let Some(id) = self.at_level.get(recipient) {
            return *id;
        }
        let id = self.id(&area_at_level(self.model, recipient, self.level));
        self.at_level.insert(recipient.clone(), id);
        id
    }

    /// Fills `areas` with the areas a project's recipients count towards, when the query
    /// groups by area.
    fn areas_of(&mut self, layout: &Layout<'_>, project: &Project, areas: &mut Vec<u32>) {
        areas.clear();
        if layout.by_area() {
            areas.extend(project.recipients.iter().map(|r| self.area(&r.area)));
        }
    }
}

/// Where each dimension of a query sits in its compact key.
struct Layout<'q> {
    group_by: &'q [Dimension],
}

impl Layout<'_> {
    fn set(&self, key: &mut Compact, dimension: Dimension, value: u32) {
        if let Some(at) = self.group_by.iter().position(|d| *d == dimension) {
            key[at] = value;
        }
    }

    fn by_area(&self) -> bool {
        self.group_by.contains(&Dimension::Area)
    }

    /// The key with a project's own dimensions filled in; `party` numbers its party, asked
    /// only when the query groups by party.
    fn project(
        &self,
        party: impl FnOnce() -> u32,
        field: SupportField,
        livelihood: bool,
        status: ProjectStatus,
        data_status: DataStatus,
    ) -> Compact {
        let mut key = [0; DIMENSIONS];
        if self.group_by.contains(&Dimension::Party) {
            self.set(&mut key, Dimension::Party, party());
        }
        self.set(&mut key, Dimension::Field, field as u32);
        self.set(&mut key, Dimension::Livelihood, livelihood as u32);
        self.set(&mut key, Dimension::ProjectStatus, status as u32);
        self.set(&mut key, Dimension::DataStatus, data_status as u32);
        key
    }

    fn line(&self, key: &mut Compact, year: i32, funding_type: FundingType) {
        self.set(key, Dimension::Year, year as u32);
        self.set(key, Dimension::FundingType, funding_type as u32);
    }

    fn keys(
        &self,
        project: &Project,
        year: i32,
        funding_type: FundingType,
        area: Option<&ResourceName>,
    ) -> Vec<GroupKey> {
        self.group_by
            .iter()
            .map(|d| key(*d, project, year, funding_type, area))
            .collect()
    }
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
        Dimension::DataStatus => GroupKey::DataStatus(project.data_status),
    }
}

/// Where a summary's parts come from.
enum Source<'m> {
    /// Every project, filtered and converted line by line.
    Projects,
    /// The cube's classes: the filter reads only what classes share, no amount needs converting.
    Classes {
        cube: &'m FundingCube,
        table: &'m ClassTable,
        /// The table's sums, or as they stood at a past revision.
        sums: Cow<'m, Sums>,
    },
    /// The members the filter picks from the indexes, summed by class.
    Picked {
        cube: &'m FundingCube,
        table: &'m ClassTable,
    },
}

impl<'m> Source<'m> {
    fn choose(cube: &'m FundingCube, query: &FundingQuery, filter: &Filter) -> Self {
        let read: Vec<Summarized> = ProjectField::ALL
            .iter()
            .filter(|f| filter.reads(**f as usize))
            .map(|f| f.summarized())
            .collect();
        let reads = |summarized: Summarized| read.contains(&summarized);
        // A project's own title, name or description: the indexes pick the projects, whose
        // rows in the title column hold their classes and amounts, unless some have none.
        let reads_own = reads(Summarized::ByProject);
        if query.price_base_year.is_some()
            || !cube.all_in(&query.currency)
            || (reads_own && !cube.members.complete())
        {
            return Source::Projects;
        }
        let table = if query.group_by.contains(&Dimension::Area)
            || reads(Summarized::ByClassWithRecipients)
        {
            &cube.by_recipient
        } else {
            &cube.lumped
        };
        if reads_own {
            Source::Picked { cube, table }
        } else {
            Source::Classes {
                cube,
                table,
                sums: Cow::Borrowed(&table.sums),
            }
        }
    }

    /// Calls `visit` with every part the query counts and returns the total of the lines.
    fn parts(
        &self,
        model: &'m ReadModel,
        query: &FundingQuery,
        filter: &Filter,
        converter: &mut Converter<'_>,
        interrupt: &Interrupt,
        visit: Visit<'_>,
    ) -> Result<Accumulator, AnalyticsError> {
        let mut pass = Pass {
            layout: Layout {
                group_by: &query.group_by,
            },
            names: Names::new(model, query.area_level),
            query,
            interrupt,
            visit,
            total: Accumulator::default(),
        };
        match self {
            Source::Projects => pass.projects(model, filter, converter)?,
            Source::Classes { cube, table, sums } => {
                pass.classes(model, cube, table, sums, filter)?;
            }
            Source::Picked { cube, table } => {
                let sums = picked(model, cube, table, filter, interrupt)?;
                pass.classes(model, cube, table, &sums, &Filter::default())?;
            }
        }
        Ok(pass.total)
    }

    /// About how many rows answering from this source reads.
    fn rows(&self, model: &ReadModel) -> usize {
        match self {
            Source::Projects | Source::Picked { .. } => model.projects.len(),
            Source::Classes { table, .. } => table.classes.len(),
        }
    }
}

/// The sums over the members `filter` picks (from the indexes), by the classes of `table`.
fn picked(
    model: &ReadModel,
    cube: &FundingCube,
    table: &ClassTable,
    filter: &Filter,
    interrupt: &Interrupt,
) -> Result<Sums, Interrupted> {
    let in_lumped = std::ptr::eq(table, &cube.lumped);
    let mut sums = table.sums.zeroed_like();
    let picks = picks::projects(model, filter, interrupt)?;
    // Picks are summed only while every project has a row: every pick finds its own.
    cube.members.each(&picks, Reading::Amounts, |_, member| {
        let [lumped, by_recipient] = member.classes;
        let class = if in_lumped { lumped } else { by_recipient };
        sums.add_split(class, &table.classes[class], 1, member.cents, member.parts);
        !interrupt.is_raised()
    });
    interrupt.check()?;
    Ok(sums)
}

/// One pass over a summary's sources, handing each part to `visit`.
struct Pass<'q, 'm, 'v> {
    layout: Layout<'q>,
    names: Names<'m>,
    query: &'q FundingQuery,
    interrupt: &'q Interrupt,
    visit: Visit<'v>,
    total: Accumulator,
}

/// One funding line of a project (or of every project of a class), as a pass hands it on.
struct PassedLine<'p> {
    /// The project, or the class's representative: what group keys read.
    project: &'p Project,
    year: i32,
    funding_type: FundingType,
    whole: Part,
}

impl<'m> Pass<'_, 'm, '_> {
    fn projects(
        &mut self,
        model: &'m ReadModel,
        filter: &Filter,
        converter: &mut Converter<'_>,
    ) -> Result<(), AnalyticsError> {
        let mut areas = Vec::new();
        for (index, project) in model.projects.values().enumerate() {
            self.interrupt.check()?;
            if !filter.matches(&ItemRow {
                item: &project,
                model,
            }) {
                continue;
            }
            let mut key = self.layout.project(
                || self.names.id(&project.party),
                project.field,
                project.livelihood,
                project.status,
                project.data_status,
            );
            self.names.areas_of(&self.layout, &project, &mut areas);
            let shares: Vec<Decimal> = project.recipients.iter().map(|r| r.share_percent).collect();
            for line in &project.funding_lines {
                if !self.query.counts(line.year, line.funding_type) {
                    continue;
                }
                let rate_year = line
                    .value_date
                    .map_or(line.year, |d| chrono::Datelike::year(&d));
                let factor = converter.factor(&line.amount.currency, rate_year)?;
                let amount = rounded(line.amount.amount * factor);
                let passed = PassedLine {
                    project: &project,
                    year: line.year,
                    funding_type: line.funding_type,
                    whole: Part {
                        cents: cents(amount),
                        source: index,
                        projects: 1,
                        status: project.data_status,
                    },
                };
                self.emit(&mut key, &areas, passed, || {
                    split_by_shares(amount, &shares).into_iter().map(cents)
                });
            }
        }
        Ok(())
    }

    fn classes(
        &mut self,
        model: &'m ReadModel,
        cube: &'m FundingCube,
        table: &'m ClassTable,
        sums: &Sums,
        filter: &Filter,
    ) -> Result<(), Interrupted> {
        let mut areas = Vec::new();
        // Numbers of the areas the cube's recipient areas count towards.
        let mut at_level: Vec<Option<u32>> = vec![None; cube.names.count()];
        for (index, class) in table.classes.iter().enumerate() {
            self.interrupt.check()?;
            let project = &table.representatives[index];
            let projects = sums.projects(index);
            if projects == 0
                || !filter.matches(&ItemRow {
                    item: project,
                    model,
                })
            {
                continue;
            }
            let mut key = self.layout.project(
                || class.party,
                class.field,
                class.livelihood,
                class.status,
                project.data_status,
            );
            areas.clear();
            if self.layout.by_area() {
                for recipient in table.recipients(class) {
                    let id = *at_level[*recipient as usize]
                        .get_or_insert_with(|| self.names.area(cube.names.name(*recipient)));
                    areas.push(id);
                }
            }
            for (i, line) in table.lines(class).iter().enumerate() {
                if !self.query.counts(line.year, line.funding_type) {
                    continue;
                }
                let passed = PassedLine {
                    project,
                    year: line.year,
                    funding_type: line.funding_type,
                    whole: Part {
                        cents: sums.cents(class, i),
                        source: index,
                        projects,
                        status: project.data_status,
                    },
                };
                self.emit(&mut key, &areas, passed, || {
                    sums.parts(class, i).iter().copied()
                });
            }
        }
        Ok(())
    }

    /// Counts one line in the total and hands it to `visit`: whole, or, when the query groups
    /// by area, as the parts `parts` makes, one for each of `areas`.
    fn emit<Parts: IntoIterator<Item = i128>>(
        &mut self,
        key: &mut Compact,
        areas: &[u32],
        line: PassedLine<'_>,
        parts: impl FnOnce() -> Parts,
    ) {
        self.total.add(line.whole);
        let layout = &self.layout;
        let names = &self.names;
        layout.line(key, line.year, line.funding_type);
        let keys_for = |area: Option<&ResourceName>| {
            layout.keys(line.project, line.year, line.funding_type, area)
        };
        if layout.by_area() {
            for (id, cents) in areas.iter().zip(parts()) {
                layout.set(key, Dimension::Area, *id);
                let part = Part {
                    cents,
                    ..line.whole
                };
                (self.visit)(key, &|| keys_for(Some(names.name(*id))), part);
            }
        } else {
            (self.visit)(key, &|| keys_for(None), line.whole);
        }
    }
}

/// Sums funding as `query` asks.
pub fn summarize(
    model: &ReadModel,
    query: &FundingQuery,
    interrupt: &Interrupt,
) -> Result<Summary, AnalyticsError> {
    let filter = Filter::parse(&query.filter, Project::FIELDS)?;
    query.series.check(model)?;
    let source = Source::choose(model.funding_cube(), query, &filter);
    summarize_from(model, query, &filter, source, interrupt)
}

/// Sums funding as `query` asks of the record as it stood at `revision`: `model`, at a later
/// revision, with the projects changed since counted back as they stood, from the cube's
/// journal after `counted` (projects read from the log, when the journal does not reach back
/// so far). None when the cube's classes cannot answer so (the question reads a project's own
/// text or converts, or the projects then held another currency) or cannot count the changes
/// back: the caller reads the whole record as it stood.
pub fn summarize_past(
    model: &ReadModel,
    revision: i64,
    counted: Option<&PastFunding>,
    query: &FundingQuery,
    interrupt: &Interrupt,
) -> Result<Option<Summary>, AnalyticsError> {
    let filter = Filter::parse(&query.filter, Project::FIELDS)?;
    query.series.check(model)?;
    let Source::Classes { cube, table, .. } = Source::choose(model.funding_cube(), query, &filter)
    else {
        return Ok(None);
    };
    let Some(rollback) = cube.rollback(revision, model.revision, counted, &query.currency) else {
        return Ok(None);
    };
    let sums = Cow::Owned(cube.sums_at(table, &rollback));
    let source = Source::Classes { cube, table, sums };
    summarize_from(model, query, &filter, source, interrupt).map(Some)
}

/// About how many rows `summarize` reads to answer `query`: classes when the funding cube
/// answers it, projects otherwise.
pub fn summary_rows(model: &ReadModel, query: &FundingQuery) -> Result<usize, AnalyticsError> {
    let filter = Filter::parse(&query.filter, Project::FIELDS)?;
    Ok(Source::choose(model.funding_cube(), query, &filter).rows(model))
}

fn summarize_from(
    model: &ReadModel,
    query: &FundingQuery,
    filter: &Filter,
    source: Source<'_>,
    interrupt: &Interrupt,
) -> Result<Summary, AnalyticsError> {
    let mut converter =
        Converter::new(model, &query.currency, query.price_base_year, &query.series);
    let mut groups = Groups::default();
    let total = source.parts(
        model,
        query,
        filter,
        &mut converter,
        interrupt,
        &mut |key, keys, part| groups.add(key, keys, part),
    )?;
    if groups.overflowed {
        return Err(AnalyticsError::TooManyGroups { limit: MAX_GROUPS });
    }
    let mut groups = groups
        .index
        .into_iter()
        .map(|(compact, at)| {
            let (keys, acc) = std::mem::take(&mut groups.totals[at]);
            Ok((compact, acc.into_total(keys, false)?))
        })
        .collect::<Result<Vec<_>, AnalyticsError>>()?;
    groups.sort_by(|(_, a), (_, b)| b.amount.cmp(&a.amount).then_with(|| a.keys.cmp(&b.keys)));

    if let Some(top) = query.top_n.filter(|n| groups.len() > *n) {
        let rest: HashSet<Compact> = groups[top..].iter().map(|(compact, _)| *compact).collect();
        let mut other = Accumulator::default();
        source.parts(
            model,
            query,
            filter,
            &mut converter,
            interrupt,
            &mut |key, _, part| {
                if rest.contains(key) {
                    other.add(part);
                }
            },
        )?;
        groups.truncate(top);
        groups.push(([0; DIMENSIONS], other.into_total(Vec::new(), true)?));
    }
    let mut groups: Vec<GroupTotal> = groups.into_iter().map(|(_, group)| group).collect();
    let mut total = total.into_total(Vec::new(), false)?;
    let sum = total.amount;
    for group in groups.iter_mut() {
        group.share = share_of(group.amount, sum);
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
        Area, Collection, DataStatus, FundingLine, Money, RecipientArea, Resource,
    };
    use crate::domain::{Committed, Write};
    use std::collections::BTreeSet;

    use crate::query::model::StoodProjects;

    /// The summary `source` answers for `query`, and the one every project answers.
    fn answered_both_ways(
        model: &ReadModel,
        query: &FundingQuery,
        filter: &Filter,
        source: Source<'_>,
    ) -> (Summary, Summary) {
        let answer =
            |source| summarize_from(model, query, filter, source, &Interrupt::default()).unwrap();
        (answer(source), answer(Source::Projects))
    }

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
            names: Vec::new(),
            codes: Vec::new(),
            provenance: None,
            meta: Default::default(),
        })
    }

    fn random_model(seed: u64) -> ReadModel {
        ReadModel::from_resources(1, random_resources(seed))
    }

    fn random_resources(seed: u64) -> Vec<Resource> {
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
                description: ["", "Water works", "School"][rng.next(3) as usize].into(),
                pairing: [None, Some(name(Collection::Pairings, "x-region"))][rng.next(2) as usize]
                    .clone(),
                party: name(Collection::Parties, ["x", "y", "z"][rng.next(3) as usize]),
                recipients,
                field: [
                    SupportField::Education,
                    SupportField::Water,
                    SupportField::Housing,
                ][rng.next(3) as usize],
                livelihood: rng.next(2) == 0,
                status: [ProjectStatus::Completed, ProjectStatus::InProgress][rng.next(2) as usize],
                planned_start_date: chrono::NaiveDate::from_ymd_opt(
                    2013 + rng.next(8) as i32,
                    3,
                    1,
                ),
                planned_end_date: chrono::NaiveDate::from_ymd_opt(2016 + rng.next(8) as i32, 6, 30),
                actual_start_date: chrono::NaiveDate::from_ymd_opt(2013 + rng.next(8) as i32, 4, 1),
                actual_end_date: None,
                outputs: Vec::new(),
                funding_lines,
                data_status: DataStatus::ALL[rng.next(DataStatus::ALL.len() as u64) as usize],
                provenance: Default::default(),
                meta: Default::default(),
            }));
        }
        resources
    }

    /// Each funding line converts at the rate of its own year, from the series named: the
    /// summary by year equals each year's lines, each at that year's factor, rounded to the
    /// cent line by line; every factor used is listed with the observation it came from.
    #[test]
    fn each_line_converts_at_its_own_years_rate() {
        use crate::domain::{
            Frequency, Indicator, MeasureKind, Observation, PriceBasis, Qualifier, SeriesRole,
        };
        for seed in 0..40 {
            let mut resources = random_resources(seed);
            let mut rng = Rng(seed + 1000);
            let series = name(Collection::Indicators, "fx");
            resources.push(Resource::Indicator(Indicator {
                name: series.clone(),
                code: "FX".into(),
                display_name: "Test rate".into(),
                description: String::new(),
                unit: "CNY per USD".into(),
                unit_multiplier: 0,
                frequency: Frequency::Annual,
                measure_kind: MeasureKind::Ratio,
                summable: false,
                price_basis: PriceBasis::NotApplicable,
                topic: "test".into(),
                record_measure: None,
                series_role: Some(SeriesRole::ExchangeRate),
                relation: None,
                provenance: None,
                meta: Default::default(),
            }));
            let mut rates = std::collections::HashMap::new();
            for year in 2013..2023 {
                let rate = Decimal::new(6_000 + rng.next(1_500) as i64, 3);
                rates.insert(year, rate);
                resources.push(Resource::Observation(Observation {
                    name: name(Collection::Observations, &format!("fx-{year}")),
                    indicator: series.clone(),
                    area: name(Collection::Areas, "region"),
                    period: year.to_string(),
                    value: rate,
                    qualifier: Qualifier::Exact,
                    status: DataStatus::Estimated,
                    reading: None,
                    provenance: Default::default(),
                    derived_from: Vec::new(),
                    meta: Default::default(),
                }));
            }
            let model = ReadModel::from_resources(1, resources);
            let query = FundingQuery {
                currency: "USD".into(),
                series: SeriesChoice {
                    exchange_rate: Some(series.clone()),
                    deflator: None,
                },
                ..FundingQuery::all_cny(&[Dimension::Year], AreaLevel::Prefecture)
            };
            let summary = summarize(&model, &query, &Interrupt::default()).unwrap();
            let mut expected: std::collections::BTreeMap<i32, Decimal> = Default::default();
            for project in model.projects.values() {
                for line in &project.funding_lines {
                    let factor = Decimal::ONE / rates[&line.year];
                    *expected.entry(line.year).or_default() += rounded(line.amount.amount * factor);
                }
            }
            let shown: std::collections::BTreeMap<i32, Decimal> = summary
                .groups
                .iter()
                .map(|g| match g.keys[0] {
                    GroupKey::Year(year) => (year, g.amount),
                    ref other => panic!("grouped by year: {other:?}"),
                })
                .collect();
            assert_eq!(shown, expected, "seed {seed}");
            for used in &summary.conversions {
                assert_eq!(
                    used.observation.name.as_str(),
                    format!("observations/fx-{}", used.year)
                );
                assert_eq!(used.factor, Decimal::ONE / rates[&used.year], "seed {seed}");
            }
            let years: std::collections::BTreeSet<i32> =
                summary.conversions.iter().map(|c| c.year).collect();
            assert_eq!(years, expected.keys().copied().collect(), "seed {seed}");
        }
    }

    #[test]
    fn coverage_adds_up_to_each_group_and_its_status_is_the_least_certain() {
        let groupings: [&[Dimension]; 3] = [
            &[Dimension::Field],
            &[Dimension::Party, Dimension::Area],
            &[Dimension::Year, Dimension::Livelihood],
        ];
        for seed in 0..60 {
            let model = random_model(seed);
            // The total, by brute force from the projects: each line's amount by its project's
            // status.
            let mut expected: Vec<(DataStatus, Decimal, u64)> = Vec::new();
            for project in model.projects.values() {
                for line in &project.funding_lines {
                    match expected
                        .iter_mut()
                        .find(|(s, ..)| *s == project.data_status)
                    {
                        Some((_, amount, lines)) => {
                            *amount += rounded(line.amount.amount);
                            *lines += 1;
                        }
                        None => {
                            expected.push((project.data_status, rounded(line.amount.amount), 1))
                        }
                    }
                }
            }
            expected.sort_by_key(|(s, ..)| s.uncertainty());
            for group_by in groupings {
                let query = FundingQuery {
                    top_n: Some(3),
                    ..FundingQuery::all_cny(group_by, AreaLevel::Prefecture)
                };
                let summary = summarize(&model, &query, &Interrupt::default()).unwrap();
                let total: Vec<(DataStatus, Decimal, u64)> = summary
                    .total
                    .coverage
                    .iter()
                    .map(|c| (c.status, c.value, c.count))
                    .collect();
                assert_eq!(total, expected, "seed {seed}: the total's coverage");
                assert_eq!(
                    summary.total.status,
                    Some(DataStatus::least_certain(expected.iter().map(|e| e.0)))
                );
                // Each group against the same question grouped by data status as well.
                let by_status = summarize(
                    &model,
                    &FundingQuery {
                        group_by: [group_by, &[Dimension::DataStatus]].concat(),
                        ..FundingQuery::all_cny(group_by, AreaLevel::Prefecture)
                    },
                    &Interrupt::default(),
                )
                .unwrap();
                for group in summary.groups.iter().chain([&summary.total]) {
                    let sum: Decimal = group.coverage.iter().map(|c| c.value).sum();
                    assert_eq!(sum, group.amount, "seed {seed}: coverage adds up exactly");
                    let lines: u64 = group.coverage.iter().map(|c| c.count).sum();
                    assert_eq!(lines, group.lines, "seed {seed}");
                    if group.other || group.keys.is_empty() {
                        continue;
                    }
                    let parts: Vec<(DataStatus, Decimal, u64)> = by_status
                        .groups
                        .iter()
                        .filter(|g| g.keys[..group.keys.len()] == group.keys[..])
                        .map(|g| match g.keys.last() {
                            Some(GroupKey::DataStatus(status)) => (*status, g.amount, g.lines),
                            other => panic!("grouped by data status last: {other:?}"),
                        })
                        .collect();
                    let mut shown: Vec<(DataStatus, Decimal, u64)> = group
                        .coverage
                        .iter()
                        .map(|c| (c.status, c.value, c.count))
                        .collect();
                    let mut parts_sorted = parts.clone();
                    parts_sorted.sort_by_key(|(s, ..)| s.uncertainty());
                    shown.sort_by_key(|(s, ..)| s.uncertainty());
                    assert_eq!(shown, parts_sorted, "seed {seed}: {:?}", group.keys);
                    assert_eq!(
                        group.status,
                        Some(DataStatus::least_certain(parts.iter().map(|p| p.0)))
                    );
                }
            }
        }
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
                        start_year: Some(2014),
                        top_n,
                        ..FundingQuery::all_cny(group_by, level)
                    };
                    let summary = summarize(&model, &query, &Interrupt::default()).unwrap();
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
                        .flat_map(|p| p.funding_lines)
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

    /// Replaces every third project with one in another field and with a larger first line,
    /// and deletes every fifth: what the cube must follow.
    fn edit(model: &mut ReadModel, round: i64) {
        let mut writes = Vec::new();
        for (i, project) in model.projects.values().enumerate() {
            if i % 5 == 4 {
                writes.push(Write::Delete(project.name.clone()));
            } else if i % 3 == round as usize % 3 {
                let mut changed = project.clone();
                changed.field = SupportField::Technology;
                changed.funding_lines[0].amount.amount += Decimal::new(12_345, 3);
                writes.push(Write::Put(Box::new(Resource::Project(changed))));
            }
        }
        commit(model, round + 2, writes);
    }

    fn commit(model: &mut ReadModel, revision: i64, writes: Vec<Write>) {
        model.apply(&Committed {
            revision,
            subject: "test".into(),
            commit_time: chrono::Utc::now(),
            writes,
            replayed: false,
        });
    }

    #[test]
    fn the_cube_answers_as_the_projects_do_through_edits() {
        let cases: [(&[Dimension], &str); 8] = [
            (&[Dimension::Party, Dimension::Field], ""),
            (&[Dimension::Party, Dimension::Field], "title:\"project 1\""),
            (
                &[Dimension::Area, Dimension::Year],
                "title:\"1\" AND NOT area = \"areas/pref-b\"",
            ),
            (&[Dimension::Area], "party = \"parties/x\""),
            (
                &[Dimension::Area, Dimension::Year],
                "area = \"areas/pref-a\"",
            ),
            (
                &[Dimension::Field, Dimension::FundingType],
                "area = \"areas/b2\" OR livelihood = true",
            ),
            (
                &[Dimension::Livelihood, Dimension::Year],
                "year >= 2016 AND NOT field = WATER",
            ),
            (&[], ""),
        ];
        for seed in 0..40 {
            let mut model = random_model(seed);
            for round in 0..3 {
                for (group_by, filter_text) in cases {
                    for (level, top_n) in
                        [(AreaLevel::County, None), (AreaLevel::Prefecture, Some(2))]
                    {
                        let query = FundingQuery {
                            filter: filter_text.into(),
                            start_year: Some(2014),
                            end_year: Some(2021),
                            top_n,
                            ..FundingQuery::all_cny(group_by, level)
                        };
                        let filter = Filter::parse(filter_text, Project::FIELDS).unwrap();
                        let source = Source::choose(model.funding_cube(), &query, &filter);
                        assert!(!matches!(source, Source::Projects), "{filter_text}");
                        let (classes, projects) =
                            answered_both_ways(&model, &query, &filter, source);
                        let case = format!(
                            "seed {seed}, round {round}, {group_by:?}, {filter_text:?}, {level:?}"
                        );
                        assert_eq!(classes.groups, projects.groups, "{case}");
                        assert_eq!(classes.total, projects.total, "{case}");
                    }
                }
                edit(&mut model, round);
            }
        }
    }

    /// A commit's random writes to the projects of `record`: deletes, edits of amounts and
    /// livelihood, and new projects (some under the name of one deleted before, so a number
    /// freed by a delete is taken again).
    fn random_edits(record: &[Resource], revision: i64, rng: &mut Rng) -> Vec<Write> {
        let mut writes = Vec::new();
        for resource in record {
            let Resource::Project(project) = resource else {
                continue;
            };
            match rng.next(6) {
                0 => writes.push(Write::Delete(project.name.clone())),
                1 | 2 => {
                    let mut project = project.clone();
                    project.funding_lines[0].amount.amount +=
                        Decimal::new(rng.next(100_000) as i64, 2);
                    project.livelihood ^= rng.next(2) == 0;
                    writes.push(Write::Put(Box::new(Resource::Project(project))));
                }
                3 => {
                    let mut project = project.clone();
                    let deleted = writes.iter().find_map(|write| match write {
                        Write::Delete(name) if rng.next(2) == 0 => Some(name.clone()),
                        _ => None,
                    });
                    project.name = deleted.unwrap_or_else(|| {
                        let id = format!("new-{revision}-{}", rng.next(1_000_000));
                        name(Collection::Projects, &id)
                    });
                    project.funding_lines[0].amount.amount += Decimal::new(7, 0);
                    writes.push(Write::Put(Box::new(Resource::Project(project))));
                }
                _ => {}
            }
        }
        writes
    }

    /// `record` with `writes` applied, in order.
    fn applied(mut record: Vec<Resource>, writes: &[Write]) -> Vec<Resource> {
        for write in writes {
            record.retain(|resource| resource.name() != write.name());
            if let Write::Put(resource) = write {
                record.push(resource.as_ref().clone());
            }
        }
        record
    }

    #[test]
    fn a_summary_at_a_past_revision_counts_the_changed_projects_as_they_stood() {
        let cases: [(&[Dimension], &str); 5] = [
            (&[Dimension::Party, Dimension::Field], ""),
            (
                &[Dimension::Area, Dimension::Year],
                "area = \"areas/pref-a\"",
            ),
            (&[Dimension::Area], "party = \"parties/x\""),
            (
                &[Dimension::Livelihood, Dimension::DataStatus],
                "year >= 2016 AND NOT field = WATER",
            ),
            (&[], ""),
        ];
        let mut answered = 0;
        for seed in 0..30 {
            let mut rng = Rng(seed);
            // The record at each revision from 1 on, and each commit's writes.
            let mut records = vec![random_resources(seed)];
            let mut commits = Vec::new();
            for revision in 2..=5 {
                let writes = random_edits(records.last().unwrap(), revision, &mut rng);
                records.push(applied(records.last().unwrap().clone(), &writes));
                commits.push(writes);
            }
            let record_at = |revision: i64| records[revision as usize - 1].clone();
            // A model that applied every commit, its journal reaching back to revision 1.
            let mut live = ReadModel::from_resources(1, record_at(1));
            for (revision, writes) in (2..).zip(&commits) {
                commit(&mut live, revision, writes.clone());
            }
            // One loaded at revision 3, as a restarted replica is: the projects changed since
            // revision 1 come from the log, counted once; its journal carries them on.
            let mut restarted = ReadModel::from_resources(3, record_at(3));
            let changed: BTreeSet<ResourceName> = commits[..2]
                .iter()
                .flatten()
                .map(|write| write.name().clone())
                .collect();
            let stood = changed
                .into_iter()
                .map(|name| {
                    let stood = record_at(1).into_iter().find(|r| *r.name() == name);
                    (name, stood)
                })
                .collect();
            let counted = restarted.past_funding(1, StoodProjects::of(stood).unwrap());
            assert!(
                restarted
                    .past_funding(1, StoodProjects::of(Vec::new()).unwrap())
                    .is_some()
            );
            for (revision, writes) in (4..).zip(&commits[2..]) {
                commit(&mut restarted, revision, writes.clone());
            }
            assert!(!restarted.journal_reaches(2) && restarted.journal_reaches(3));
            let mut asked = vec![(&live, 1, None), (&live, 3, None), (&restarted, 4, None)];
            // A project as it stood in a class no project is in at revision 3 cannot be
            // counted from the log.
            if let Some(counted) = &counted {
                asked.push((&restarted, 1, Some(counted)));
            }
            for (model, revision, counted) in asked {
                let at_then = ReadModel::from_resources(revision, record_at(revision));
                for (group_by, filter) in cases {
                    for (level, top_n) in
                        [(AreaLevel::County, None), (AreaLevel::Prefecture, Some(2))]
                    {
                        let query = FundingQuery {
                            filter: filter.into(),
                            start_year: Some(2014),
                            end_year: Some(2021),
                            top_n,
                            ..FundingQuery::all_cny(group_by, level)
                        };
                        let interrupt = Interrupt::default();
                        let from_past =
                            summarize_past(model, revision, counted, &query, &interrupt)
                                .unwrap()
                                .expect("the classes answer it");
                        let expected = summarize(&at_then, &query, &interrupt).unwrap();
                        let case = format!(
                            "seed {seed}, at {revision}, counted {}, {group_by:?}, {filter:?}, \
                             {level:?}",
                            counted.is_some()
                        );
                        assert_eq!(from_past.groups, expected.groups, "{case}");
                        assert_eq!(from_past.total, expected.total, "{case}");
                        answered += 1;
                    }
                }
            }
            // Counted at revision 1 but asked at another, or without what the log held: not
            // answered from the cube.
            let query = FundingQuery::all_cny(&[], AreaLevel::County);
            let interrupt = Interrupt::default();
            assert!(
                summarize_past(&restarted, 1, None, &query, &interrupt)
                    .unwrap()
                    .is_none()
            );
            if let Some(counted) = &counted {
                let elsewhere = summarize_past(&live, 1, Some(counted), &query, &interrupt);
                assert!(elsewhere.unwrap().is_none(), "counted in another cube");
            }
        }
        assert!(
            answered >= 300,
            "only {answered} summaries were answered from the cube"
        );
    }

    #[test]
    fn filters_on_names_or_descriptions_are_picked_and_conversions_read_the_projects() {
        let model = random_model(7);
        let query = |filter: &str, currency: &str, price_base_year| FundingQuery {
            filter: filter.into(),
            funding_types: vec![FundingType::Commitment],
            currency: currency.into(),
            price_base_year,
            ..FundingQuery::all_cny(&[Dimension::Party], AreaLevel::County)
        };
        for (filter, currency, base, picked) in [
            ("description:\"school\"", "CNY", None, true),
            (
                "name = \"projects/p1*\" OR NOT description:\"x\"",
                "CNY",
                None,
                true,
            ),
            ("", "USD", None, false),
            ("", "CNY", Some(2015), false),
        ] {
            let query = query(filter, currency, base);
            let parsed = Filter::parse(filter, Project::FIELDS).unwrap();
            let source = Source::choose(model.funding_cube(), &query, &parsed);
            let case = format!("{filter} {currency} {base:?}");
            if picked {
                assert!(matches!(source, Source::Picked { .. }), "{case}");
                let (picks, projects) = answered_both_ways(&model, &query, &parsed, source);
                assert_eq!(picks.groups, projects.groups, "{case}");
                assert_eq!(picks.total, projects.total, "{case}");
            } else {
                assert!(matches!(source, Source::Projects), "{case}");
            }
        }
    }

    #[test]
    fn title_summaries_stay_right_as_rows_are_replaced_and_compacted() {
        let mut model = random_model(3);
        let base: Vec<Project> = model.projects.values().collect();
        for round in 0..4 {
            let writes = (0..1500)
                .map(|i| {
                    let mut project = base[i % base.len()].clone();
                    project.name = name(Collection::Projects, &format!("extra{i}"));
                    project.title = format!("Extra {i} round {round}");
                    if round == 3 && i % 2 == 0 {
                        return Write::Delete(project.name);
                    }
                    Write::Put(Box::new(Resource::Project(project)))
                })
                .collect();
            commit(&mut model, round + 2, writes);
            for filter_text in [
                format!("title:\"round {round}\" AND title:\"extra 1\""),
                "title:\"extra\" OR title:\"project 2\"".to_owned(),
            ] {
                let query = FundingQuery {
                    filter: filter_text.clone(),
                    ..FundingQuery::all_cny(&[Dimension::Area], AreaLevel::County)
                };
                let filter = Filter::parse(&filter_text, Project::FIELDS).unwrap();
                let source = Source::choose(model.funding_cube(), &query, &filter);
                assert!(matches!(source, Source::Picked { .. }));
                let (titles, projects) = answered_both_ways(&model, &query, &filter, source);
                assert_eq!(
                    titles.groups, projects.groups,
                    "round {round} {filter_text}"
                );
                assert_eq!(titles.total, projects.total, "round {round} {filter_text}");
                assert!(titles.total.projects > 0, "round {round} {filter_text}");
            }
        }
    }

    #[test]
    fn a_line_too_large_for_64_bit_cents_sends_title_summaries_to_the_projects() {
        let mut model = random_model(5);
        let mut huge = model.projects.values().next().unwrap();
        huge.name = name(Collection::Projects, "huge");
        huge.title = "Huge water works".into();
        let amount = Decimal::from(10u64.pow(18));
        huge.funding_lines[0].amount.amount = amount;
        let put = Write::Put(Box::new(Resource::Project(huge.clone())));
        commit(&mut model, 2, vec![put]);
        let filter_text = "title:\"huge\"";
        let query = FundingQuery {
            filter: filter_text.into(),
            ..FundingQuery::all_cny(&[Dimension::Party], AreaLevel::County)
        };
        let filter = Filter::parse(filter_text, Project::FIELDS).unwrap();
        let source = Source::choose(model.funding_cube(), &query, &filter);
        assert!(matches!(source, Source::Projects));
        let summary = summarize(&model, &query, &Interrupt::default()).unwrap();
        assert_eq!(summary.total.projects, 1);
        assert!(summary.total.amount >= amount, "{}", summary.total.amount);

        commit(&mut model, 3, vec![Write::Delete(huge.name)]);
        let source = Source::choose(model.funding_cube(), &query, &filter);
        assert!(matches!(source, Source::Picked { .. }));
    }

    /// Every project field whose filters the cube answers, compared with values projects hold:
    /// the cube answers as the projects do. A field declared answerable by class that the class
    /// key does not hold reads a placeholder in the class's representative, and fails here.
    #[test]
    fn every_field_the_cube_answers_is_answered_as_the_projects_answer_it() {
        let mut checked = 0;
        for seed in 0..8 {
            let model = random_model(seed);
            let projects: Vec<Project> = model.projects.values().collect();
            for (field, spec) in ProjectField::ALL.iter().zip(Project::FIELDS) {
                if field.summarized() == Summarized::ByProject {
                    continue;
                }
                for project in projects.iter().step_by(projects.len() / 3 + 1) {
                    let Some(literal) = project
                        .read(*field, &model)
                        .first()
                        .and_then(|value| value.literal(spec))
                    else {
                        continue;
                    };
                    for filter_text in [
                        format!("{} = {literal}", spec.name),
                        format!("NOT {} = {literal}", spec.name),
                        format!("{} : {literal} OR livelihood = true", spec.name),
                    ] {
                        let Ok(filter) = Filter::parse(&filter_text, Project::FIELDS) else {
                            continue;
                        };
                        for group_by in
                            [&[Dimension::Party, Dimension::Year][..], &[Dimension::Area]]
                        {
                            let query = FundingQuery {
                                filter: filter_text.clone(),
                                ..FundingQuery::all_cny(group_by, AreaLevel::County)
                            };
                            let source = Source::choose(model.funding_cube(), &query, &filter);
                            assert!(!matches!(source, Source::Projects), "{filter_text}");
                            let (cube, projects) =
                                answered_both_ways(&model, &query, &filter, source);
                            let case = format!("seed {seed}, {group_by:?}, {filter_text:?}");
                            assert_eq!(cube.groups, projects.groups, "{case}");
                            assert_eq!(cube.total, projects.total, "{case}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "{checked} summaries compared");
    }
}

//! What the projects contribute to each area a reported figure is about, gathered in one pass
//! over the projects. Each figure is then answered from its area's sums by year, so the cost of
//! a reconciliation is the projects plus the figures, never their product.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use foldhash::HashMap;

use rust_decimal::Decimal;

use super::super::error::AnalyticsError;
use super::super::money::Converter;
use crate::domain::{DataStatus, FundingType, Labelled, ResourceName};
use crate::query::interrupt::{Interrupt, Interrupted};
use crate::query::model::{FundingView, ReadModel};

/// Parts the projects are read in by the two threads of a pass.
const CHUNKS: u64 = 16;

/// A span of years, both ends included.
pub type Span = (i32, i32);

/// Sums over the projects in an area and a span of years.
#[derive(Debug, Default, PartialEq)]
pub struct Tally {
    pub value: Decimal,
    pub projects: usize,
    pub lines: usize,
    pub statuses: Statuses,
}

/// The data statuses of the projects tallied, as a set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statuses(u32);

impl Statuses {
    fn add(&mut self, status: DataStatus) {
        self.0 |= 1 << status.ordinal();
    }

    fn union(&mut self, other: Statuses) {
        self.0 |= other.0;
    }

    /// What a figure computed from these projects can claim.
    pub fn least_certain(self) -> DataStatus {
        DataStatus::least_certain(
            DataStatus::ALL
                .iter()
                .copied()
                .filter(|s| self.0 & (1 << s.ordinal()) != 0),
        )
    }
}

/// One of a project's years with funding lines, and the year it last had lines before that.
/// Of a project's entries exactly one lies in a span with its previous year before the span:
/// its first year in the span. Summing only such entries counts each project once per span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Entry {
    year: i32,
    previous: i32,
}

impl Entry {
    /// The entries of a project whose lines fall in `years` (any order, repeats allowed).
    fn of(years: impl Iterator<Item = i32>) -> Vec<Entry> {
        let mut years: Vec<i32> = years.collect();
        years.sort_unstable();
        years.dedup();
        let previous = std::iter::once(i32::MIN).chain(years.iter().copied());
        years
            .iter()
            .zip(previous)
            .map(|(&year, previous)| Entry { year, previous })
            .collect()
    }

    /// Whether this is its project's first year in `span`.
    fn first_in(self, span: Span) -> bool {
        (span.0..=span.1).contains(&self.year) && self.previous < span.0
    }
}

/// Projects with expenditure, each counted once per span.
#[derive(Debug, Default)]
struct Spenders {
    all: (usize, Statuses),
    livelihood: (usize, Statuses),
}

/// Outputs of one indicator reported by projects with funding in the span.
#[derive(Debug, Default)]
struct Produced {
    value: Decimal,
    outputs: usize,
    projects: usize,
    statuses: Statuses,
}

/// Expenditure by line year, livelihood, currency (as an index) and exchange-rate year.
type SpentKey = (i32, bool, usize, i32);

/// One area's share of every project reaching it, summed by year.
#[derive(Debug, Default)]
struct AreaSums {
    /// Expenditure amounts times the area's share, with their line counts.
    spent: BTreeMap<SpentKey, (Decimal, usize)>,
    spenders: HashMap<Entry, Spenders>,
    /// By entry and output indicator (an index).
    producers: HashMap<(Entry, usize), Produced>,
}

/// The sums of every area asked about.
#[derive(Debug, Default)]
pub struct ByArea {
    areas: HashMap<ResourceName, AreaSums>,
    currencies: Vec<String>,
    output_indicators: Vec<ResourceName>,
}

impl ByArea {
    /// Passes once over the projects, summing what reaches each of `areas` (directly or through
    /// a descendant), with the outputs of `output_indicators`. The projects are read in
    /// `CHUNKS` parts by two threads, each taking the next part when done with one, so that a
    /// thread the machine slows does not hold the other back; the parts' sums are then added
    /// in part order, so the answer never depends on which thread read what.
    pub fn gather(
        model: &ReadModel,
        interrupt: &Interrupt,
        areas: impl IntoIterator<Item = ResourceName>,
        output_indicators: Vec<ResourceName>,
    ) -> Result<Self, Interrupted> {
        let empty = ByArea {
            areas: areas
                .into_iter()
                .map(|a| (a, AreaSums::default()))
                .collect(),
            currencies: Vec::new(),
            output_indicators,
        };
        if empty.areas.is_empty() {
            return Ok(empty);
        }
        let live = &model.project_index().live;
        // Each part starts at the project of its rank; the last runs to the end.
        let starts: Vec<u32> = (0..CHUNKS)
            .map(|part| {
                let rank = live.len() * part / CHUNKS;
                live.select(rank as u32).unwrap_or(u32::MAX)
            })
            .collect();
        let next = AtomicUsize::new(0);
        let work = || -> Result<Vec<(usize, ByArea)>, Interrupted> {
            let mut done = Vec::new();
            loop {
                let part = next.fetch_add(1, Ordering::Relaxed);
                let Some(&start) = starts.get(part) else {
                    return Ok(done);
                };
                let numbers = match starts.get(part + 1) {
                    Some(&end) => live.range(start..end),
                    None => live.range(start..),
                };
                done.push((part, empty.empty_like().pass(model, interrupt, numbers)?));
            }
        };
        let (mine, theirs) = std::thread::scope(|scope| {
            let theirs = scope.spawn(work);
            let mine = work();
            (
                mine,
                theirs.join().expect("a pass over projects does not panic"),
            )
        });
        let mut parts = mine?;
        parts.extend(theirs?);
        parts.sort_by_key(|(part, _)| *part);
        let mut by_area = empty;
        for (_, part) in parts {
            by_area.merge(part);
        }
        Ok(by_area)
    }

    /// The same areas and indicators, with nothing summed.
    fn empty_like(&self) -> ByArea {
        ByArea {
            areas: self
                .areas
                .keys()
                .map(|a| (a.clone(), AreaSums::default()))
                .collect(),
            currencies: Vec::new(),
            output_indicators: self.output_indicators.clone(),
        }
    }

    /// Adds the projects numbered `numbers`.
    fn pass(
        mut self,
        model: &ReadModel,
        interrupt: &Interrupt,
        numbers: impl Iterator<Item = u32>,
    ) -> Result<Self, Interrupted> {
        let by_area = &mut self;
        // The areas asked about that each recipient area lies in, worked out once per area.
        let mut reached: HashMap<ResourceName, Vec<ResourceName>> = HashMap::default();
        for number in numbers {
            let project = model.projects.funding_at(number);
            interrupt.check()?;
            let mut shares: Vec<(ResourceName, Decimal)> = Vec::new();
            for recipient in &project.recipients {
                if !reached.contains_key(&recipient.area) {
                    let chain = model
                        .area_and_ancestors(&recipient.area)
                        .into_iter()
                        .filter(|a| by_area.areas.contains_key(a))
                        .collect();
                    reached.insert(recipient.area.clone(), chain);
                }
                for area in &reached[&recipient.area] {
                    match shares.iter_mut().find(|(a, _)| a == area) {
                        Some((_, percent)) => *percent += recipient.share_percent,
                        None => shares.push((area.clone(), recipient.share_percent)),
                    }
                }
            }
            shares.retain(|(_, percent)| !percent.is_zero());
            if !shares.is_empty() {
                by_area.add(&project, shares);
            }
        }
        Ok(self)
    }

    /// Adds what `other` summed over other projects to these sums.
    fn merge(&mut self, other: ByArea) {
        let currencies: Vec<usize> = other.currencies.iter().map(|c| self.currency(c)).collect();
        for (area, theirs) in other.areas {
            let ours = self
                .areas
                .get_mut(&area)
                .expect("both passes sum the same areas");
            for ((year, livelihood, currency, rate_year), (amount, lines)) in theirs.spent {
                let spent = ours
                    .spent
                    .entry((year, livelihood, currencies[currency], rate_year))
                    .or_default();
                spent.0 += amount;
                spent.1 += lines;
            }
            for (entry, spenders) in theirs.spenders {
                let ours = ours.spenders.entry(entry).or_default();
                for (ours, theirs) in [
                    (&mut ours.all, spenders.all),
                    (&mut ours.livelihood, spenders.livelihood),
                ] {
                    ours.0 += theirs.0;
                    ours.1.union(theirs.1);
                }
            }
            for (key, produced) in theirs.producers {
                let ours = ours.producers.entry(key).or_default();
                ours.value += produced.value;
                ours.outputs += produced.outputs;
                ours.projects += produced.projects;
                ours.statuses.union(produced.statuses);
            }
        }
    }

    fn currency(&mut self, code: &str) -> usize {
        match self.currencies.iter().position(|c| c == code) {
            Some(index) => index,
            None => {
                self.currencies.push(code.to_owned());
                self.currencies.len() - 1
            }
        }
    }

    /// Adds `project` to each area at its share, given in percent.
    fn add(&mut self, project: &FundingView<'_>, shares: Vec<(ResourceName, Decimal)>) {
        let expenditure: Vec<_> = project
            .lines
            .iter()
            .filter(|l| l.funding_type == FundingType::Expenditure)
            .map(|l| {
                let rate_year = l.value_date.map_or(l.year, |d| chrono::Datelike::year(&d));
                (l.year, self.currency(l.currency), rate_year, l.amount)
            })
            .collect();
        let spending = Entry::of(expenditure.iter().map(|l| l.0));
        let active = Entry::of(project.lines.iter().map(|l| l.year));
        let produced: Vec<(usize, Decimal, usize)> = self
            .output_indicators
            .iter()
            .enumerate()
            .filter_map(|(index, indicator)| {
                let (value, count) = project
                    .outputs
                    .iter()
                    .filter(|o| &o.indicator == indicator)
                    .fold((Decimal::ZERO, 0), |(value, count), o| {
                        (value + o.value, count + 1)
                    });
                (count > 0).then_some((index, value, count))
            })
            .collect();
        for (area, percent) in shares {
            let share = percent / Decimal::ONE_HUNDRED;
            let sums = self
                .areas
                .get_mut(&area)
                .expect("shares name areas asked about");
            for &(year, currency, rate_year, amount) in &expenditure {
                let spent = sums
                    .spent
                    .entry((year, project.livelihood, currency, rate_year))
                    .or_default();
                spent.0 += amount * share;
                spent.1 += 1;
            }
            for &entry in &spending {
                let spenders = sums.spenders.entry(entry).or_default();
                let mut groups = vec![&mut spenders.all];
                if project.livelihood {
                    groups.push(&mut spenders.livelihood);
                }
                for (projects, statuses) in groups {
                    *projects += 1;
                    statuses.add(project.data_status);
                }
            }
            for &(indicator, value, outputs) in &produced {
                for &entry in &active {
                    let tally = sums.producers.entry((entry, indicator)).or_default();
                    tally.value += value * share;
                    tally.outputs += outputs;
                    tally.projects += 1;
                    tally.statuses.add(project.data_status);
                }
            }
        }
    }

    /// Expenditure in `area` over `span`, converted by `converter`: of every project, or of
    /// livelihood projects only.
    pub fn expenditure(
        &self,
        area: &ResourceName,
        span: Span,
        livelihood_only: bool,
        converter: &mut Converter<'_>,
    ) -> Result<Tally, AnalyticsError> {
        let mut tally = Tally::default();
        let Some(sums) = self.areas.get(area) else {
            return Ok(tally);
        };
        let years = (span.0, false, 0, i32::MIN)..=(span.1, true, usize::MAX, i32::MAX);
        for (&(_, livelihood, currency, rate_year), &(amount, lines)) in sums.spent.range(years) {
            if livelihood_only && !livelihood {
                continue;
            }
            tally.value += amount * converter.factor(&self.currencies[currency], rate_year)?;
            tally.lines += lines;
        }
        for (entry, spenders) in &sums.spenders {
            if entry.first_in(span) {
                let (projects, statuses) = if livelihood_only {
                    spenders.livelihood
                } else {
                    spenders.all
                };
                tally.projects += projects;
                tally.statuses.union(statuses);
            }
        }
        Ok(tally)
    }

    /// Outputs of `indicator` in `area` by projects with funding lines in `span`.
    pub fn outputs(&self, area: &ResourceName, span: Span, indicator: &ResourceName) -> Tally {
        let mut tally = Tally::default();
        let (Some(sums), Some(wanted)) = (
            self.areas.get(area),
            self.output_indicators.iter().position(|i| i == indicator),
        ) else {
            return tally;
        };
        for ((entry, index), produced) in &sums.producers {
            if *index == wanted && entry.first_in(span) {
                tally.value += produced.value;
                tally.lines += produced.outputs;
                tally.projects += produced.projects;
                tally.statuses.union(produced.statuses);
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_project_enters_a_span_once_through_its_first_year_in_it() {
        let entries = Entry::of([2019, 2015, 2017, 2015, 2021].into_iter());
        for first in 2010..2025 {
            for last in first..2025 {
                let counted = entries.iter().filter(|e| e.first_in((first, last))).count();
                let active = [2015, 2017, 2019, 2021]
                    .iter()
                    .any(|y| (first..=last).contains(y));
                assert_eq!(counted, usize::from(active), "span {first}-{last}");
            }
        }
    }
}

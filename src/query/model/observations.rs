//! Every observation as a row of numbers. Ten million observations held as structs keyed by
//! name cost about 300 bytes each (the struct, the name's own allocation, the period's two,
//! the map's and the series index's nodes); a row here costs about 75: its id sits in one
//! shared buffer, and its indicator, area, period, provenance and bookkeeping, which millions
//! of rows share, are numbers into tables of distinct values.

use std::collections::BTreeMap;
use std::sync::Arc;

use foldhash::HashMap;
use rust_decimal::Decimal;

use roaring::RoaringBitmap;

use super::interned::Interned;
use super::named_rows::NamedRows;
use super::postings::{Postings, mark_row, shrink};
use crate::domain::{
    Candidate, ChoiceRule, Collection, DataStatus, FigureChoice, Meta, Observation, Provenance,
    Qualifier, Reading, ResourceName,
};

const COLLECTION: Collection = Collection::Observations;

/// One observation but its name; every number refers to the table's distinct values.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Row {
    qualifier: Qualifier,
    status: DataStatus,
    reading: Option<Reading>,
    indicator: u32,
    area: u32,
    period: u32,
    provenance: u32,
    meta: u32,
    #[serde(with = "super::serial::decimal")]
    value: Decimal,
}

/// An observation chosen among those of one indicator, area and period.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    pub observation: Observation,
    /// The other observations of the same indicator, area and period.
    pub passed_over: Vec<ResourceName>,
    /// Why it was chosen over them; empty when none competed.
    pub reason: String,
}

/// The observations, in name order and by series.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ObservationTable {
    rows: NamedRows<Row>,
    /// By indicator, then area: the rows in period order, and those of one period in the order
    /// written (by revision, then name). Two names may hold one area's period; a series shows
    /// the one written last.
    series: HashMap<u32, BTreeMap<ResourceName, Vec<u32>>>,
    indicators: Interned<ResourceName>,
    areas: Interned<ResourceName>,
    periods: Interned<String>,
    provenances: Interned<Arc<Provenance>>,
    metas: Interned<Meta>,
    /// What the few computed observations were computed from, by number: a column of every
    /// row would cost ten million empty lists.
    derivations: BTreeMap<u32, Arc<[ResourceName]>>,
    index: ObservationIndex,
}

/// Which observations (by number) hold each value of the filterable attributes; values are
/// the table's numbers for them (see [`ObservationTable::indicator_of`] and its siblings).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ObservationIndex {
    /// Every observation's number.
    #[serde(with = "super::serial::bitmap")]
    pub live: RoaringBitmap,
    pub indicator: Postings<u32>,
    pub area: Postings<u32>,
    pub period: Postings<u32>,
    pub qualifier: Postings<Qualifier>,
    pub status: Postings<DataStatus>,
    pub reading: Postings<Option<Reading>>,
}

impl ObservationIndex {
    fn mark(&mut self, number: u32, row: &Row, holds: bool) {
        mark_row(&mut self.live, number, holds);
        self.indicator.mark(&row.indicator, number, holds);
        self.area.mark(&row.area, number, holds);
        self.period.mark(&row.period, number, holds);
        self.qualifier.mark(&row.qualifier, number, holds);
        self.status.mark(&row.status, number, holds);
        self.reading.mark(&row.reading, number, holds);
    }

    fn shrink(&mut self) {
        shrink(&mut self.live);
        self.indicator.shrink();
        self.area.shrink();
        self.period.shrink();
        self.qualifier.shrink();
        self.status.shrink();
        self.reading.shrink();
    }
}

impl Default for ObservationTable {
    fn default() -> Self {
        ObservationTable {
            rows: NamedRows::new(COLLECTION),
            series: HashMap::default(),
            indicators: Interned::default(),
            areas: Interned::default(),
            periods: Interned::default(),
            provenances: Interned::default(),
            metas: Interned::default(),
            derivations: BTreeMap::new(),
            index: ObservationIndex::default(),
        }
    }
}

impl ObservationTable {
    /// Adds `observation` while loading in bulk; it is found only once
    /// [`ObservationTable::finish_loading`] has run.
    pub fn push_loaded(&mut self, mut observation: Observation) {
        let name = observation.name.clone();
        let derived_from = std::mem::take(&mut observation.derived_from);
        let row = self.row_of(observation);
        let number = self.rows.push_loaded(&name, row);
        self.set_derivation(number, derived_from);
    }

    /// Makes the observations loaded in bulk findable by name and by series.
    pub fn finish_loading(&mut self) {
        self.rows.order_loaded();
        for number in self.rows.after(None).collect::<Vec<_>>() {
            self.index_row(number);
        }
        self.index.shrink();
    }

    /// How many observations there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The observation of that name.
    pub fn get(&self, name: &ResourceName) -> Option<Observation> {
        self.rows.find(name).map(|number| self.observation(number))
    }

    /// The observation's bookkeeping.
    pub fn meta(&self, name: &ResourceName) -> Option<Meta> {
        self.rows
            .find(name)
            .map(|number| self.metas.get(self.rows.row(number).meta).clone())
    }

    /// Writes `observation`, replacing the one of the same name.
    pub fn put(&mut self, mut observation: Observation) {
        let name = observation.name.clone();
        let derived_from = std::mem::take(&mut observation.derived_from);
        let row = self.row_of(observation);
        let (number, old) = self.rows.put(&name, row);
        if let Some(old) = old {
            self.unindex_row(number, &old);
            self.release(&old);
        }
        self.set_derivation(number, derived_from);
        self.index_row(number);
    }

    /// Deletes the observation of that name, if there is one.
    pub fn remove(&mut self, name: &ResourceName) {
        if let Some((number, old)) = self.rows.remove(name) {
            self.unindex_row(number, &old);
            self.release(&old);
            self.derivations.remove(&number);
        }
    }

    fn set_derivation(&mut self, number: u32, derived_from: Vec<ResourceName>) {
        if derived_from.is_empty() {
            self.derivations.remove(&number);
        } else {
            self.derivations.insert(number, derived_from.into());
        }
    }

    /// An observation computed from `input`, if any: such an input cannot be deleted.
    pub fn first_derived_from(&self, input: &ResourceName) -> Option<ResourceName> {
        self.derivations
            .iter()
            .find(|(_, inputs)| inputs.contains(input))
            .map(|(number, _)| self.rows.name(*number))
    }

    /// The numbers of `numbers` named after `after`, in name order.
    pub fn sorted_by_name(&self, numbers: &RoaringBitmap, after: Option<&str>) -> Vec<u32> {
        self.rows.sorted_by_name(numbers.iter(), after)
    }

    /// The numbers of the observations named after `after` (every one for `None`), in name
    /// order.
    pub fn numbers_after(&self, after: Option<&str>) -> impl Iterator<Item = u32> + '_ {
        self.rows.after(after)
    }

    /// The observation numbered `number`, which must be live.
    pub fn at(&self, number: u32) -> Observation {
        self.observation(number)
    }

    /// The observation's name, by number.
    pub fn name_at(&self, number: u32) -> ResourceName {
        self.rows.name(number)
    }

    /// The indexes over the filterable attributes.
    pub fn index(&self) -> &ObservationIndex {
        &self.index
    }

    /// The indicator an index key stands for.
    pub fn indicator_of(&self, key: u32) -> &ResourceName {
        self.indicators.get(key)
    }

    /// The area an index key stands for.
    pub fn area_of(&self, key: u32) -> &ResourceName {
        self.areas.get(key)
    }

    /// The period an index key stands for.
    pub fn period_of(&self, key: u32) -> &str {
        self.periods.get(key)
    }

    /// The observations named after `after` (every one for `None`), in name order.
    pub fn after(&self, after: Option<&str>) -> impl Iterator<Item = Observation> + '_ {
        self.rows
            .after(after)
            .map(|number| self.observation(number))
    }

    /// Every observation, in name order.
    pub fn values(&self) -> impl Iterator<Item = Observation> + '_ {
        self.after(None)
    }

    /// The chosen observation of `indicator` for every area and period, by area and then
    /// period (the last written where others compete).
    pub fn series_of(&self, indicator: &ResourceName) -> Vec<Observation> {
        let written_last = FigureChoice {
            rule: ChoiceRule::LastWritten,
            ..FigureChoice::default()
        };
        self.chosen(indicator, None, &written_last)
            .into_iter()
            .map(|c| c.observation)
            .collect()
    }

    /// Of `indicator`'s observations for `area` (every area for `None`), by area and then
    /// period, the one `choice` picks for each period and those it passed over.
    pub fn chosen(
        &self,
        indicator: &ResourceName,
        area: Option<&ResourceName>,
        choice: &FigureChoice,
    ) -> Vec<Chosen> {
        let Some(by_area) = self.series_rows(indicator) else {
            return Vec::new();
        };
        let rows: Vec<&Vec<u32>> = match area {
            Some(area) => by_area.get(area).into_iter().collect(),
            None => by_area.values().collect(),
        };
        rows.into_iter()
            .flat_map(|numbers| self.chosen_per_period(numbers, choice))
            .collect()
    }

    /// Every observation of `indicator`, those of one area and period that compete included.
    pub fn all_of(&self, indicator: &ResourceName) -> Vec<Observation> {
        self.series_rows(indicator)
            .into_iter()
            .flat_map(|by_area| by_area.values().flatten())
            .map(|number| self.observation(*number))
            .collect()
    }

    /// Every observation of `indicator` for `area`, those of one period that compete included.
    pub fn all_of_for(&self, indicator: &ResourceName, area: &ResourceName) -> Vec<Observation> {
        self.series_rows(indicator)
            .and_then(|by_area| by_area.get(area))
            .into_iter()
            .flatten()
            .map(|number| self.observation(*number))
            .collect()
    }

    /// How many observations `indicator` has: what reading its whole series costs.
    pub fn count_of(&self, indicator: &ResourceName) -> usize {
        self.series_rows(indicator)
            .map_or(0, |by_area| by_area.values().map(Vec::len).sum())
    }

    fn series_rows(&self, indicator: &ResourceName) -> Option<&BTreeMap<ResourceName, Vec<u32>>> {
        self.indicators
            .find(indicator)
            .and_then(|id| self.series.get(&id))
    }

    /// Of a series' rows (in period order, those of one period in the order written), the one
    /// `choice` picks for each period, and those passed over.
    fn chosen_per_period(&self, numbers: &[u32], choice: &FigureChoice) -> Vec<Chosen> {
        let period = |number: u32| self.rows.row(number).period;
        let candidate = |(written, number): (usize, &u32)| Candidate {
            provenance: self.provenances.get(self.rows.row(*number).provenance),
            written,
        };
        numbers
            .chunk_by(|a, b| period(*a) == period(*b))
            .map(|group| {
                let best = group
                    .iter()
                    .enumerate()
                    .max_by(|a, b| choice.compare(&candidate(*a), &candidate(*b)))
                    .map(|(i, _)| i)
                    .expect("a group has a row");
                let others: Vec<(usize, &u32)> = group
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != best)
                    .collect();
                let reason = if others.is_empty() {
                    String::new()
                } else {
                    let others: Vec<Candidate<'_>> =
                        others.iter().copied().map(candidate).collect();
                    choice.reason(&candidate((best, &group[best])), &others)
                };
                Chosen {
                    observation: self.observation(group[best]),
                    passed_over: others.iter().map(|(_, n)| self.rows.name(**n)).collect(),
                    reason,
                }
            })
            .collect()
    }

    fn observation(&self, number: u32) -> Observation {
        let r = self.rows.row(number);
        Observation {
            name: self.rows.name(number),
            indicator: self.indicators.get(r.indicator).clone(),
            area: self.areas.get(r.area).clone(),
            period: self.periods.get(r.period).clone(),
            value: r.value,
            qualifier: r.qualifier,
            status: r.status,
            reading: r.reading,
            provenance: self.provenances.get(r.provenance).clone(),
            derived_from: self
                .derivations
                .get(&number)
                .map_or_else(Vec::new, |inputs| inputs.to_vec()),
            meta: self.metas.get(r.meta).clone(),
        }
    }

    /// The row of `observation`, counting its uses of shared values in.
    fn row_of(&mut self, observation: Observation) -> Row {
        Row {
            qualifier: observation.qualifier,
            status: observation.status,
            reading: observation.reading,
            indicator: self.indicators.acquire(observation.indicator),
            area: self.areas.acquire(observation.area),
            period: self.periods.acquire(observation.period),
            provenance: self.provenances.acquire(observation.provenance),
            meta: self.metas.acquire(observation.meta),
            value: observation.value,
        }
    }

    /// Counts the row's uses of shared values out.
    fn release(&mut self, row: &Row) {
        self.indicators.release(row.indicator);
        self.areas.release(row.area);
        self.periods.release(row.period);
        self.provenances.release(row.provenance);
        self.metas.release(row.meta);
    }

    /// Puts the row numbered `number` in the indexes and in its series, after any of its period.
    fn index_row(&mut self, number: u32) {
        let row = *self.rows.row(number);
        self.index.mark(number, &row, true);
        let series = self
            .series
            .entry(row.indicator)
            .or_default()
            .entry(self.areas.get(row.area).clone())
            .or_default();
        // Rows of one period in the order written: by the revision that wrote them, then by
        // name, so a model built from the store orders them as one kept current does.
        let (periods, rows, metas) = (&self.periods, &self.rows, &self.metas);
        let order = |n: u32| {
            let row = rows.row(n);
            (periods.get(row.period), metas.get(row.meta).revision)
        };
        let new = order(number);
        let at = series.partition_point(|other| match order(*other).cmp(&new) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => rows.name(*other) < rows.name(number),
        });
        series.insert(at, number);
    }

    /// Takes the row numbered `number`, which was `row`, out of the indexes and its series.
    fn unindex_row(&mut self, number: u32, row: &Row) {
        self.index.mark(number, row, false);
        let Some(by_area) = self.series.get_mut(&row.indicator) else {
            return;
        };
        let area = self.areas.get(row.area);
        if let Some(series) = by_area.get_mut(area) {
            series.retain(|other| *other != number);
            if series.is_empty() {
                by_area.remove(area);
            }
        }
        if by_area.is_empty() {
            self.series.remove(&row.indicator);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;

    fn name(collection: Collection, id: &str) -> ResourceName {
        ResourceName::new(collection, id).unwrap()
    }

    fn observation(id: u32, indicator: u8, area: u8, year: u16, value: i64) -> Observation {
        Observation {
            name: name(COLLECTION, &format!("o-{id}")),
            indicator: name(Collection::Indicators, &format!("i-{indicator}")),
            area: name(Collection::Areas, &format!("a-{area}")),
            period: year.to_string(),
            value: Decimal::new(value, 2),
            qualifier: if value % 2 == 0 {
                Qualifier::Exact
            } else {
                Qualifier::About
            },
            status: DataStatus::Reported,
            reading: [None, Some(Reading::Printed), Some(Reading::Interpreted)]
                [value.rem_euclid(3) as usize],
            provenance: Arc::new(Provenance {
                source_title: format!("source {}", value % 3),
                publish_date: match value % 4 {
                    0 => None,
                    day => chrono::NaiveDate::from_ymd_opt(2020, 1, day as u32),
                },
                ..Provenance::default()
            }),
            // Every fifth computed from two others, so that rows with inputs are put, replaced
            // and removed too.
            derived_from: if value % 5 == 0 {
                vec![
                    name(COLLECTION, "o-1"),
                    name(COLLECTION, &format!("o-{}", id / 2)),
                ]
            } else {
                Vec::new()
            },
            meta: Meta {
                revision: value,
                ..Meta::default()
            },
        }
    }

    /// What the table must answer, kept the plain way: structs by name, and each series as
    /// the latest observation written for every area and period.
    fn series_of(
        expected: &BTreeMap<ResourceName, Observation>,
        indicator: &ResourceName,
    ) -> Vec<Observation> {
        let mut latest: BTreeMap<(ResourceName, String), (usize, Observation)> = BTreeMap::new();
        for o in expected.values().filter(|o| &o.indicator == indicator) {
            let key = (o.area.clone(), o.period.clone());
            let order = o.meta.revision as usize;
            // Among observations written at one revision, the last by name.
            if latest.get(&key).is_none_or(|(seen, _)| *seen <= order) {
                latest.insert(key, (order, o.clone()));
            }
        }
        latest.into_values().map(|(_, o)| o).collect()
    }

    proptest! {
        /// Puts and deletes in any order leave the table answering like structs kept by name.
        #[test]
        fn the_table_answers_like_a_map_of_structs(
            operations in prop::collection::vec(
                (any::<bool>(), 0u32..400, 0u8..3, 0u8..4, 2000u16..2006),
                1..800,
            )
        ) {
            let mut table = ObservationTable::default();
            let mut expected: BTreeMap<ResourceName, Observation> = BTreeMap::new();
            for (revision, (put, id, indicator, area, year)) in (1..).zip(operations) {
                let o = observation(id, indicator, area, year, revision);
                if put {
                    table.put(o.clone());
                    expected.insert(o.name.clone(), o);
                } else {
                    table.remove(&o.name);
                    expected.remove(&o.name);
                }
            }
            prop_assert_eq!(table.len(), expected.len());
            prop_assert!(table.values().eq(expected.values().cloned()));
            for (name, o) in &expected {
                prop_assert_eq!(table.get(name), Some(o.clone()));
                prop_assert_eq!(table.meta(name), Some(o.meta.clone()));
                let after: Vec<Observation> = table.after(Some(name.as_str())).collect();
                let wanted: Vec<Observation> = expected
                    .range::<str, _>((std::ops::Bound::Excluded(name.as_str()), std::ops::Bound::Unbounded))
                    .map(|(_, o)| o.clone())
                    .collect();
                prop_assert_eq!(after, wanted);
            }
            for indicator in 0..3 {
                let indicator = name(Collection::Indicators, &format!("i-{indicator}"));
                let wanted = series_of(&expected, &indicator);
                prop_assert_eq!(table.series_of(&indicator), wanted.clone());
                for area in 0..4 {
                    let area = name(Collection::Areas, &format!("a-{area}"));
                    let for_area: Vec<Observation> =
                        wanted.iter().filter(|o| o.area == area).cloned().collect();
                    let chosen: Vec<Observation> = table
                        .chosen(&indicator, Some(&area), &FigureChoice {
                            rule: ChoiceRule::LastWritten,
                            ..FigureChoice::default()
                        })
                        .into_iter()
                        .map(|c| c.observation)
                        .collect();
                    prop_assert_eq!(chosen, for_area);
                }
                for choice in choices() {
                    let table_chose: Vec<(ResourceName, Vec<ResourceName>)> = table
                        .chosen(&indicator, None, &choice)
                        .into_iter()
                        .map(|c| {
                            let mut others = c.passed_over;
                            others.sort();
                            (c.observation.name, others)
                        })
                        .collect();
                    prop_assert_eq!(table_chose, chosen_plainly(&expected, &indicator, &choice));
                }
            }
            // The same record loaded from the store at start-up chooses as the table kept
            // current did, whatever order the writes came in.
            let rebuilt = loaded(expected.values().cloned().collect());
            for indicator in 0..3 {
                let indicator = name(Collection::Indicators, &format!("i-{indicator}"));
                prop_assert_eq!(rebuilt.series_of(&indicator), table.series_of(&indicator));
                for choice in choices() {
                    prop_assert_eq!(
                        rebuilt.chosen(&indicator, None, &choice),
                        table.chosen(&indicator, None, &choice)
                    );
                }
            }
        }
    }

    /// Every kind of choice: by rule alone, and with a preferred source.
    fn choices() -> Vec<FigureChoice> {
        [ChoiceRule::LatestPublication, ChoiceRule::LastWritten]
            .into_iter()
            .flat_map(|rule| {
                [vec![], vec!["SOURCE 2".to_owned(), "source 0".to_owned()]]
                    .into_iter()
                    .map(move |preferred_sources| FigureChoice {
                        preferred_sources,
                        rule,
                    })
            })
            .collect()
    }

    /// What `choice` must pick, by area and period, the plain way: the most preferred source,
    /// then (by the rule) the latest publication, then the last written (highest revision).
    fn chosen_plainly(
        expected: &BTreeMap<ResourceName, Observation>,
        indicator: &ResourceName,
        choice: &FigureChoice,
    ) -> Vec<(ResourceName, Vec<ResourceName>)> {
        let mut groups: BTreeMap<(ResourceName, String), Vec<&Observation>> = BTreeMap::new();
        for o in expected.values().filter(|o| &o.indicator == indicator) {
            groups
                .entry((o.area.clone(), o.period.clone()))
                .or_default()
                .push(o);
        }
        groups
            .into_values()
            .map(|group| {
                let rank = |o: &Observation| {
                    let title = o.provenance.source_title.to_lowercase();
                    let preferred = choice
                        .preferred_sources
                        .iter()
                        .position(|s| s.to_lowercase() == title)
                        .unwrap_or(choice.preferred_sources.len());
                    let date = match choice.rule {
                        ChoiceRule::LatestPublication => o.provenance.publish_date,
                        ChoiceRule::LastWritten => None,
                    };
                    (std::cmp::Reverse(preferred), date, o.meta.revision)
                };
                let best = group.iter().max_by_key(|o| rank(o)).unwrap();
                let mut others: Vec<ResourceName> = group
                    .iter()
                    .filter(|o| o.name != best.name)
                    .map(|o| o.name.clone())
                    .collect();
                others.sort();
                (best.name.clone(), others)
            })
            .collect()
    }

    /// A table of `observations` loaded in bulk, as at start-up.
    fn loaded(observations: Vec<Observation>) -> ObservationTable {
        let mut table = ObservationTable::default();
        observations.into_iter().for_each(|o| table.push_loaded(o));
        table.finish_loading();
        table
    }

    #[test]
    fn names_outside_the_collection_list_from_the_start_or_the_end() {
        let table = loaded(vec![
            observation(1, 0, 0, 2000, 1),
            observation(2, 0, 0, 2001, 2),
        ]);
        assert_eq!(table.after(Some("indicators/x")).count(), 2);
        assert_eq!(table.after(Some("observations")).count(), 2);
        assert_eq!(table.after(Some("observations/o-1")).count(), 1);
        assert_eq!(table.after(Some("observationz")).count(), 0);
        assert_eq!(table.get(&name(Collection::Areas, "o-1")), None);
    }

    #[test]
    fn deleting_most_rows_compacts_the_ids_and_keeps_the_rest_readable() {
        let observations: Vec<Observation> = (0..200_000)
            .map(|i| {
                let (indicator, area) = ((i % 200) as u8, (i / 200 % 200) as u8);
                observation(i, indicator, area, 2000 + (i / 40_000) as u16, i64::from(i))
            })
            .collect();
        let mut table = loaded(observations.clone());
        let bytes_before = table.rows.id_bytes();
        for o in observations.iter().filter(|o| o.meta.revision % 10 != 0) {
            table.remove(&o.name);
        }
        assert!(
            table.rows.id_bytes() < bytes_before / 2,
            "{} of {bytes_before}",
            table.rows.id_bytes()
        );
        let mut kept: Vec<&Observation> = observations
            .iter()
            .filter(|o| o.meta.revision % 10 == 0)
            .collect();
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(table.len(), kept.len());
        assert!(table.values().eq(kept.into_iter().cloned()));
    }
}

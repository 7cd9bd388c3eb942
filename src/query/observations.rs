//! Every observation as a row of numbers. Ten million observations held as structs keyed by
//! name cost about 300 bytes each (the struct, the name's own allocation, the period's two,
//! the map's and the series index's nodes); a row here costs about 70: its id sits in one
//! shared buffer, and its indicator, area, period, provenance and bookkeeping, which millions
//! of rows share, are numbers into tables of distinct values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use foldhash::HashMap;
use rust_decimal::Decimal;

use super::interned::Interned;
use super::name_order::NameOrder;
use crate::domain::{
    Collection, DataStatus, Meta, Observation, Provenance, Qualifier, ResourceName,
};

const COLLECTION: Collection = Collection::Observations;
/// What every name in the table starts with.
static PREFIX: LazyLock<String> = LazyLock::new(|| format!("{}/", COLLECTION.segment()));

/// One observation; every number refers to the table's distinct values.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Where the id starts in the table's `ids`.
    id_start: u64,
    /// Ids are at most 63 bytes.
    id_len: u8,
    qualifier: Qualifier,
    status: DataStatus,
    indicator: u32,
    area: u32,
    period: u32,
    provenance: u32,
    meta: u32,
    value: Decimal,
}

/// The observations, in name order and by series.
#[derive(Clone, Debug, Default)]
pub struct ObservationTable {
    /// Indexed by row number; a deleted row's number is given to the next new row.
    rows: Vec<Row>,
    free_rows: Vec<u32>,
    /// Every row's id, back to back; a deleted row's bytes stay until the ids are compacted.
    ids: String,
    dead_id_bytes: usize,
    order: NameOrder,
    /// By indicator, then area: the rows in period order, and those of one period in the order
    /// written. Two names may hold one area's period; a series shows the one written last.
    series: HashMap<u32, BTreeMap<ResourceName, Vec<u32>>>,
    indicators: Interned<ResourceName>,
    areas: Interned<ResourceName>,
    periods: Interned<String>,
    provenances: Interned<std::sync::Arc<Provenance>>,
    metas: Interned<Meta>,
}

impl ObservationTable {
    /// A table of `observations`, built in bulk: in name order, as the store loads them, no
    /// row moves.
    pub fn from_observations(observations: Vec<Observation>) -> Self {
        let mut table = ObservationTable::default();
        // Exactly the room needed: at ten million rows, doubling would leave a third unused.
        table.rows.reserve_exact(observations.len());
        table
            .ids
            .reserve_exact(observations.iter().map(|o| o.name.id().len()).sum());
        let mut rows = Vec::with_capacity(observations.len());
        for observation in observations {
            let row = table.new_row(observation.name.id());
            table.fill(row, observation);
            rows.push(row);
        }
        let id_of = |row: &u32| table.id_of(*row);
        if !rows.is_sorted_by_key(id_of) {
            rows.sort_by_key(id_of);
        }
        table.order = NameOrder::from_sorted(rows);
        table
    }

    /// How many observations there are.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The observation of that name.
    pub fn get(&self, name: &ResourceName) -> Option<Observation> {
        self.find(name).map(|row| self.observation(row))
    }

    /// The observation's bookkeeping.
    pub fn meta(&self, name: &ResourceName) -> Option<Meta> {
        self.find(name)
            .map(|row| self.metas.get(self.rows[row as usize].meta).clone())
    }

    /// Writes `observation`, replacing the one of the same name.
    pub fn put(&mut self, observation: Observation) {
        let id = observation.name.id();
        let id_of = |row: u32| id_of(&self.rows, &self.ids, row);
        let (position, found) = self.order.locate(id, id_of);
        let row = match found {
            Some(row) => {
                self.unindex(row);
                self.release(row);
                row
            }
            None => {
                let row = self.new_row(id);
                self.order.insert(position, row);
                row
            }
        };
        self.fill(row, observation);
    }

    /// Deletes the observation of that name, if there is one.
    pub fn remove(&mut self, name: &ResourceName) {
        let id_of = |row: u32| id_of(&self.rows, &self.ids, row);
        let (position, Some(row)) = self.order.locate(name.id(), id_of) else {
            return;
        };
        self.order.remove(position);
        self.unindex(row);
        self.release(row);
        self.dead_id_bytes += usize::from(self.rows[row as usize].id_len);
        self.free_rows.push(row);
        if self.dead_id_bytes > 1 << 20 && self.dead_id_bytes > self.ids.len() / 2 {
            self.compact_ids();
        }
    }

    /// The observations named after `after` (every one for `None`), in name order.
    pub fn after(&self, after: Option<&str>) -> impl Iterator<Item = Observation> + '_ {
        let start = match after {
            None => self.order.start(),
            Some(name) => match name.strip_prefix(PREFIX.as_str()) {
                Some(id) => match self.order.locate(id, |row| self.id_of(row)) {
                    (position, Some(_)) => position.next(),
                    (position, None) => position,
                },
                None if name < PREFIX.as_str() => self.order.start(),
                None => self.order.end(),
            },
        };
        self.order.from(start).map(|row| self.observation(row))
    }

    /// Every observation, in name order.
    pub fn values(&self) -> impl Iterator<Item = Observation> + '_ {
        self.after(None)
    }

    /// Every observation of `indicator`, by area and then period.
    pub fn series_of(&self, indicator: &ResourceName) -> Vec<Observation> {
        self.series_rows(indicator)
            .into_iter()
            .flat_map(|by_area| by_area.values())
            .flat_map(|rows| self.latest_per_period(rows))
            .map(|row| self.observation(row))
            .collect()
    }

    /// The observations of `indicator` for `area`, in period order.
    pub fn series_for(&self, indicator: &ResourceName, area: &ResourceName) -> Vec<Observation> {
        self.series_rows(indicator)
            .and_then(|by_area| by_area.get(area))
            .into_iter()
            .flat_map(|rows| self.latest_per_period(rows))
            .map(|row| self.observation(row))
            .collect()
    }

    fn series_rows(&self, indicator: &ResourceName) -> Option<&BTreeMap<ResourceName, Vec<u32>>> {
        self.indicators
            .find(indicator)
            .and_then(|id| self.series.get(&id))
    }

    /// Of a series' rows, the last written of each period.
    fn latest_per_period<'a>(&'a self, rows: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        let period = |row: u32| self.rows[row as usize].period;
        rows.iter()
            .enumerate()
            .filter(move |(i, row)| {
                rows.get(i + 1)
                    .is_none_or(|next| period(*next) != period(**row))
            })
            .map(|(_, row)| *row)
    }

    fn find(&self, name: &ResourceName) -> Option<u32> {
        if name.collection() != COLLECTION {
            return None;
        }
        self.order.locate(name.id(), |row| self.id_of(row)).1
    }

    fn id_of(&self, row: u32) -> &str {
        id_of(&self.rows, &self.ids, row)
    }

    fn observation(&self, row: u32) -> Observation {
        let r = &self.rows[row as usize];
        Observation {
            name: ResourceName::of_valid_id(COLLECTION, self.id_of(row)),
            indicator: self.indicators.get(r.indicator).clone(),
            area: self.areas.get(r.area).clone(),
            period: self.periods.get(r.period).clone(),
            value: r.value,
            qualifier: r.qualifier,
            status: r.status,
            provenance: self.provenances.get(r.provenance).clone(),
            meta: self.metas.get(r.meta).clone(),
        }
    }

    /// A row holding `id` and nothing else yet.
    fn new_row(&mut self, id: &str) -> u32 {
        let row = Row {
            id_start: self.ids.len() as u64,
            id_len: u8::try_from(id.len()).expect("ids are at most 63 bytes"),
            qualifier: Qualifier::Exact,
            status: DataStatus::Reported,
            indicator: 0,
            area: 0,
            period: 0,
            provenance: 0,
            meta: 0,
            value: Decimal::ZERO,
        };
        self.ids.push_str(id);
        match self.free_rows.pop() {
            Some(number) => {
                self.rows[number as usize] = row;
                number
            }
            None => {
                self.rows.push(row);
                u32::try_from(self.rows.len() - 1).expect("fewer than 2^32 observations")
            }
        }
    }

    /// Sets `row` to `observation`, whose id it already holds, and puts it in its series.
    fn fill(&mut self, row: u32, observation: Observation) {
        let indicator = self.indicators.acquire(observation.indicator);
        let area_name = observation.area.clone();
        let r = &mut self.rows[row as usize];
        r.indicator = indicator;
        r.area = self.areas.acquire(observation.area);
        r.period = self.periods.acquire(observation.period);
        r.provenance = self.provenances.acquire(observation.provenance);
        r.meta = self.metas.acquire(observation.meta);
        r.value = observation.value;
        r.qualifier = observation.qualifier;
        r.status = observation.status;
        let period = r.period;
        let series = self
            .series
            .entry(indicator)
            .or_default()
            .entry(area_name)
            .or_default();
        let periods = &self.periods;
        let rows = &self.rows;
        let at = series.partition_point(|other| {
            periods.get(rows[*other as usize].period) <= periods.get(period)
        });
        series.insert(at, row);
    }

    /// Takes `row` out of its series, if the series shows it.
    fn unindex(&mut self, row: u32) {
        let r = self.rows[row as usize];
        let Some(by_area) = self.series.get_mut(&r.indicator) else {
            return;
        };
        let area = self.areas.get(r.area);
        if let Some(series) = by_area.get_mut(area) {
            series.retain(|other| *other != row);
            if series.is_empty() {
                by_area.remove(area);
            }
        }
        if by_area.is_empty() {
            self.series.remove(&r.indicator);
        }
    }

    /// Counts the row's uses of shared values out.
    fn release(&mut self, row: u32) {
        let r = self.rows[row as usize];
        self.indicators.release(r.indicator);
        self.areas.release(r.area);
        self.periods.release(r.period);
        self.provenances.release(r.provenance);
        self.metas.release(r.meta);
    }

    /// Rewrites the ids buffer without deleted rows' bytes.
    fn compact_ids(&mut self) {
        let mut ids = String::with_capacity(self.ids.len() - self.dead_id_bytes);
        for row in self.order.from(self.order.start()) {
            let r = &mut self.rows[row as usize];
            let start = r.id_start as usize;
            r.id_start = ids.len() as u64;
            ids.push_str(&self.ids[start..start + usize::from(r.id_len)]);
        }
        self.ids = ids;
        self.dead_id_bytes = 0;
    }
}

fn id_of<'a>(rows: &[Row], ids: &'a str, row: u32) -> &'a str {
    let r = &rows[row as usize];
    let start = r.id_start as usize;
    &ids[start..start + usize::from(r.id_len)]
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
            provenance: Arc::new(Provenance {
                source_title: format!("source {}", value % 3),
                ..Provenance::default()
            }),
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
            if latest.get(&key).is_none_or(|(seen, _)| *seen < order) {
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
                    prop_assert_eq!(table.series_for(&indicator, &area), for_area);
                }
            }
        }
    }

    #[test]
    fn names_outside_the_collection_list_from_the_start_or_the_end() {
        let table = ObservationTable::from_observations(vec![
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
        let mut table = ObservationTable::from_observations(observations.clone());
        let bytes_before = table.ids.len();
        for o in observations.iter().filter(|o| o.meta.revision % 10 != 0) {
            table.remove(&o.name);
        }
        assert!(
            table.ids.len() < bytes_before / 2,
            "{} of {bytes_before}",
            table.ids.len()
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

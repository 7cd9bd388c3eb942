//! Rows kept by name without a map: the ids back to back in one buffer, the rows' numbers in
//! name order, and a deleted row's number given to the next new row. A tree map keyed by name
//! would cost each row a node share and an allocation for its name. Rows read one at a time
//! by name (projects) are also found by a hash of their ids.

use std::hash::BuildHasher as _;
use std::sync::{LazyLock, OnceLock};

use hashbrown::HashTable;

use serde::{Deserialize, Serialize};

use super::name_order::NameOrder;
use crate::domain::{Collection, ResourceName};

/// Where a row's id sits in the ids buffer: its length (ids are at most 63 bytes) in the top
/// byte, its start below, so a row spends eight bytes on it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct IdSpan(u64);

impl IdSpan {
    fn new(start: usize, len: usize) -> Self {
        debug_assert!(len < 64 && start < 1 << 56);
        IdSpan(start as u64 | (len as u64) << 56)
    }

    fn start(self) -> usize {
        (self.0 & ((1 << 56) - 1)) as usize
    }

    fn len(self) -> usize {
        (self.0 >> 56) as usize
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start()..self.start() + self.len()
    }
}

/// Rows of one collection, each `R`, by name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "R: Deserialize<'de>"))]
pub struct NamedRows<R> {
    collection: Collection,
    #[serde(deserialize_with = "super::serial::vec")]
    rows: Vec<(IdSpan, R)>,
    free_rows: Vec<u32>,
    ids: String,
    dead_id_bytes: usize,
    order: NameOrder,
    /// Whether rows are also found by hash.
    hashed: bool,
    /// Built by the first lookup after a load, and kept with the rows after that.
    #[serde(skip)]
    by_hash: OnceLock<ByHash>,
}

/// Row numbers by a hash of their ids: a row found in one probe and one comparison, where the
/// name order's binary search compares ids about ten times in a thousand rows and twenty in a
/// million. At four bytes and a control byte a slot, a million rows take about 10 MiB, which
/// ten million observations, read by listings rather than by name, are spared.
#[derive(Clone)]
struct ByHash {
    numbers: HashTable<u32>,
    /// Seeded per process, so that a caller choosing ids cannot choose collisions.
    state: foldhash::fast::RandomState,
}

impl std::fmt::Debug for ByHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByHash({} rows)", self.numbers.len())
    }
}

impl ByHash {
    fn find<'a>(&self, id: &str, id_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let hash = self.state.hash_one(id);
        self.numbers
            .find(hash, |&number| id_of(number) == id)
            .copied()
    }

    fn insert<'a>(&mut self, id: &str, number: u32, id_of: impl Fn(u32) -> &'a str) {
        let state = &self.state;
        let hash = state.hash_one(id);
        self.numbers
            .insert_unique(hash, number, |&n| state.hash_one(id_of(n)));
    }

    fn remove(&mut self, id: &str, number: u32) {
        let hash = self.state.hash_one(id);
        if let Ok(entry) = self.numbers.find_entry(hash, |&n| n == number) {
            entry.remove();
        }
    }
}

/// The prefix of every name in `collection`.
fn prefix_of(collection: Collection) -> &'static str {
    static PREFIXES: LazyLock<Vec<(Collection, String)>> = LazyLock::new(|| {
        Collection::ALL
            .into_iter()
            .map(|c| (c, format!("{}/", c.segment())))
            .collect()
    });
    PREFIXES
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(_, prefix)| prefix.as_str())
        .expect("every collection has a prefix")
}

impl<R: Copy> NamedRows<R> {
    pub fn new(collection: Collection) -> Self {
        NamedRows {
            collection,
            rows: Vec::new(),
            free_rows: Vec::new(),
            ids: String::new(),
            dead_id_bytes: 0,
            order: NameOrder::default(),
            hashed: false,
            by_hash: OnceLock::new(),
        }
    }

    /// Rows also found by a hash of their ids.
    pub fn hashed(collection: Collection) -> Self {
        NamedRows {
            hashed: true,
            ..Self::new(collection)
        }
    }

    /// Adds a row while loading in bulk: its number, counting from 0 in the order given. The
    /// row is found by name only once [`NamedRows::order_loaded`] has run.
    pub fn push_loaded(&mut self, name: &ResourceName, row: R) -> u32 {
        debug_assert!(self.order.len() == 0 && self.free_rows.is_empty());
        debug_assert!(
            self.by_hash.get().is_none(),
            "no row is found while loading"
        );
        self.push(name.id(), row)
    }

    /// Puts the rows loaded in bulk in name order, and gives back the room they did not use;
    /// in name order, as the store loads them, none moves.
    pub fn order_loaded(&mut self) {
        self.rows.shrink_to_fit();
        self.ids.shrink_to_fit();
        let mut numbers: Vec<u32> = (0..).take(self.rows.len()).collect();
        let id_of = |number: &u32| self.id(*number);
        if !numbers.is_sorted_by_key(id_of) {
            numbers.sort_by_key(id_of);
        }
        self.order = NameOrder::from_sorted(numbers);
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The number of the row named `name`.
    pub fn find(&self, name: &ResourceName) -> Option<u32> {
        let id = self.own_id(name)?;
        match self.by_hash() {
            Some(by_hash) => by_hash.find(id, |number| self.id(number)),
            None => self.order.locate(id, |number| self.id(number)).1,
        }
    }

    /// The rows by hash, built now if this is the first lookup since a load.
    fn by_hash(&self) -> Option<&ByHash> {
        if !self.hashed {
            return None;
        }
        Some(self.by_hash.get_or_init(|| {
            let mut by_hash = ByHash {
                numbers: HashTable::with_capacity(self.order.len()),
                state: foldhash::fast::RandomState::default(),
            };
            for number in self.order.from(self.order.start()) {
                by_hash.insert(self.id(number), number, |n| self.id(n));
            }
            by_hash
        }))
    }

    /// The id of `name` if it names a row of this collection: by its prefix, where the name's
    /// collection and id would each split it again.
    fn own_id<'n>(&self, name: &'n ResourceName) -> Option<&'n str> {
        name.as_str().strip_prefix(prefix_of(self.collection))
    }

    pub fn row(&self, number: u32) -> &R {
        &self.rows[number as usize].1
    }

    /// The row's name, rebuilt from its id.
    pub fn name(&self, number: u32) -> ResourceName {
        ResourceName::of_valid_id(self.collection, self.id(number))
    }

    /// Writes `row` under `name`: its number, and the row it replaced.
    pub fn put(&mut self, name: &ResourceName, row: R) -> (u32, Option<R>) {
        let id_of = |number: u32| id_of(&self.rows, &self.ids, number);
        match self.order.locate(name.id(), id_of) {
            (_, Some(number)) => {
                let old = std::mem::replace(&mut self.rows[number as usize].1, row);
                (number, Some(old))
            }
            (position, None) => {
                let number = self.push(name.id(), row);
                self.order.insert(position, number);
                self.hash_new_row(name.id(), number);
                (number, None)
            }
        }
    }

    /// Deletes the row named `name`: its number, given to the next new row, and the row.
    pub fn remove(&mut self, name: &ResourceName) -> Option<(u32, R)> {
        let id = self.own_id(name)?;
        let id_of = |number: u32| id_of(&self.rows, &self.ids, number);
        let (position, Some(number)) = self.order.locate(id, id_of) else {
            return None;
        };
        self.order.remove(position);
        if let Some(by_hash) = self.by_hash.get_mut() {
            by_hash.remove(id, number);
        }
        self.free_rows.push(number);
        let (span, row) = self.rows[number as usize];
        self.dead_id_bytes += span.len();
        if self.dead_id_bytes > 1 << 20 && self.dead_id_bytes > self.ids.len() / 2 {
            self.compact_ids();
        }
        Some((number, row))
    }

    /// The numbers of the rows named after `after` (every row for `None`), in name order.
    /// `numbers`, those named after `after` only, in name order. Within one collection name
    /// order is id order, so ids are compared where they lie, and no name is made.
    pub fn sorted_by_name(
        &self,
        numbers: impl Iterator<Item = u32>,
        after: Option<&str>,
    ) -> Vec<u32> {
        let prefix = prefix_of(self.collection);
        let after_id = match after {
            None => None,
            Some(name) => match name.strip_prefix(prefix) {
                Some(id) => Some(id),
                None if name < prefix => None,
                None => return Vec::new(),
            },
        };
        let mut by_id: Vec<(&str, u32)> = numbers
            .map(|number| (self.id(number), number))
            .filter(|(id, _)| after_id.is_none_or(|after| *id > after))
            .collect();
        by_id.sort_unstable();
        by_id.into_iter().map(|(_, number)| number).collect()
    }

    pub fn after(&self, after: Option<&str>) -> impl Iterator<Item = u32> + '_ {
        let prefix = prefix_of(self.collection);
        let start = match after {
            None => self.order.start(),
            Some(name) => match name.strip_prefix(prefix) {
                Some(id) => match self.order.locate(id, |number| self.id(number)) {
                    (position, Some(_)) => position.next(),
                    (position, None) => position,
                },
                None if name < prefix => self.order.start(),
                None => self.order.end(),
            },
        };
        self.order.from(start)
    }

    /// Every row in name order, for rewriting what the rows refer to.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut R> {
        let NamedRows { rows, order, .. } = self;
        let mut live = vec![false; rows.len()];
        for number in order.from(order.start()) {
            live[number as usize] = true;
        }
        rows.iter_mut()
            .zip(live)
            .filter_map(|((_, row), live)| live.then_some(row))
    }

    /// Bytes the ids buffer holds, deleted rows' included.
    #[cfg(test)]
    pub fn id_bytes(&self) -> usize {
        self.ids.len()
    }

    fn id(&self, number: u32) -> &str {
        id_of(&self.rows, &self.ids, number)
    }

    /// Makes a new row found by hash, once the rows are.
    fn hash_new_row(&mut self, id: &str, number: u32) {
        let NamedRows {
            rows, ids, by_hash, ..
        } = self;
        if let Some(by_hash) = by_hash.get_mut() {
            by_hash.insert(id, number, |n| id_of(rows, ids, n));
        }
    }

    /// A row under a number that is in no order yet.
    fn push(&mut self, id: &str, row: R) -> u32 {
        let span = IdSpan::new(self.ids.len(), id.len());
        self.ids.push_str(id);
        match self.free_rows.pop() {
            Some(number) => {
                self.rows[number as usize] = (span, row);
                number
            }
            None => {
                self.rows.push((span, row));
                u32::try_from(self.rows.len() - 1).expect("fewer than 2^32 rows")
            }
        }
    }

    /// Rewrites the ids buffer without deleted rows' bytes.
    fn compact_ids(&mut self) {
        let mut ids = String::with_capacity(self.ids.len() - self.dead_id_bytes);
        for number in self.order.from(self.order.start()) {
            let span = &mut self.rows[number as usize].0;
            let id = &self.ids[span.range()];
            *span = IdSpan::new(ids.len(), id.len());
            ids.push_str(id);
        }
        self.ids = ids;
        self.dead_id_bytes = 0;
    }
}

fn id_of<'a, R>(rows: &[(IdSpan, R)], ids: &'a str, number: u32) -> &'a str {
    &ids[rows[number as usize].0.range()]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn name(key: u16) -> ResourceName {
        ResourceName::new(Collection::Projects, &format!("p{key}")).unwrap()
    }

    proptest! {
        /// Rows found by hash are the rows written under those names, through puts and
        /// removes, whenever the first lookup builds the table, and after a round trip
        /// through the image's encoding.
        #[test]
        fn rows_found_by_hash_are_the_rows_written_under_those_names(
            writes in prop::collection::vec((any::<bool>(), 0u16..300), 1..800),
            first_lookup in 0usize..800,
        ) {
            let mut rows = NamedRows::<u32>::hashed(Collection::Projects);
            let mut expected = BTreeMap::new();
            for (i, (put, key)) in writes.into_iter().enumerate() {
                if put {
                    rows.put(&name(key), i as u32);
                    expected.insert(key, i as u32);
                } else {
                    let removed = rows.remove(&name(key)).map(|(_, row)| row);
                    prop_assert_eq!(removed, expected.remove(&key));
                }
                if i == first_lookup {
                    rows.find(&name(key));
                }
            }
            let encoded = postcard::to_stdvec(&rows).unwrap();
            let restored: NamedRows<u32> = postcard::from_bytes(&encoded).unwrap();
            for table in [&rows, &restored] {
                for key in 0..300 {
                    let found = table.find(&name(key)).map(|number| *table.row(number));
                    prop_assert_eq!(found, expected.get(&key).copied());
                }
            }
        }
    }
}

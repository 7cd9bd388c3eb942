//! Rows kept by name without a map: the ids back to back in one buffer, the rows' numbers in
//! name order, and a deleted row's number given to the next new row. A tree map keyed by name
//! would cost each row a node share and an allocation for its name.

use std::sync::LazyLock;

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
        }
    }

    /// Adds a row while loading in bulk: its number, counting from 0 in the order given. The
    /// row is found by name only once [`NamedRows::order_loaded`] has run.
    pub fn push_loaded(&mut self, name: &ResourceName, row: R) -> u32 {
        debug_assert!(self.order.len() == 0 && self.free_rows.is_empty());
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
        self.order.locate(id, |number| self.id(number)).1
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

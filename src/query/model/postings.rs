//! Which rows hold each value of one attribute: for each distinct key, the numbers of the rows
//! holding it as a compressed bitmap (`roaring`). A filter judges each key once and combines
//! the bitmaps of those it picks, instead of reading every row.

use std::hash::Hash;

use foldhash::HashMap;
use roaring::RoaringBitmap;

/// Rows by key; a key no row holds has no entry.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "K: serde::Serialize",
    deserialize = "K: serde::Deserialize<'de> + Eq + Hash"
))]
pub struct Postings<K> {
    #[serde(with = "super::serial::bitmaps")]
    by_key: HashMap<K, RoaringBitmap>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            by_key: HashMap::default(),
        }
    }
}

impl<K: Eq + Hash + Clone> Postings<K> {
    /// Marks row `number` as holding `key`, or no longer holding it; marking twice is marking
    /// once. The key is copied only when it is new.
    pub fn mark(&mut self, key: &K, number: u32, holds: bool) {
        match self.by_key.get_mut(key) {
            Some(rows) if holds => _ = rows.insert(number),
            Some(rows) => {
                rows.remove(number);
                if rows.is_empty() {
                    self.by_key.remove(key);
                }
            }
            None if holds => {
                _ = self
                    .by_key
                    .insert(key.clone(), [number].into_iter().collect())
            }
            None => {}
        }
    }

    /// Every key some row holds, with its rows.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &RoaringBitmap)> {
        self.by_key.iter()
    }

    /// Packs runs of consecutive numbers, which a load in name order leaves many of, and
    /// gives back what growing left unused.
    pub fn shrink(&mut self) {
        self.by_key.values_mut().for_each(shrink);
    }
}

/// Marks row `number` in `rows` (`holds`) or out.
pub fn mark_row(rows: &mut RoaringBitmap, number: u32, holds: bool) {
    if holds {
        rows.insert(number);
    } else {
        rows.remove(number);
    }
}

/// `rows` with its runs packed, each container allocated exactly as large as it is (a clone
/// allocates so).
pub fn shrink(rows: &mut RoaringBitmap) {
    rows.optimize();
    *rows = rows.clone();
}

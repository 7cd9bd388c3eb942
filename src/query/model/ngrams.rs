//! A text index of n-grams: for every five consecutive characters of the folded text (see
//! `domain::folding`), padded at the end so that every position starts one, the rows whose
//! text holds them. A part of five characters or fewer is in a text exactly when some n-gram of
//! the text starts with it, so the rows holding it are read off the index with no text read. A
//! longer part is in a text only if all of its n-grams are, so only the rows holding them all
//! are read to check.

use foldhash::HashMap;
use std::ops::RangeInclusive;

use roaring::RoaringBitmap;

use super::postings::shrink;
use crate::domain::folding::fold;

/// Characters in an n-gram.
const N: usize = 5;
/// Bits a character takes in a key (every Unicode scalar value fits in 21).
const CHAR_BITS: u32 = 21;

/// Up to `N` characters, the first in the highest bits, padding (0) after the end: keys
/// starting with the same characters are next to one another.
type Key = u128;

fn key(chars: &[char]) -> Key {
    (0..N).fold(0, |key, i| {
        key << CHAR_BITS | chars.get(i).map_or(0, |c| *c as u32 as Key)
    })
}

/// The keys of every n-gram starting with `prefix` (at most `N` characters).
fn starting_with(prefix: &[char]) -> RangeInclusive<Key> {
    let first = key(prefix);
    let free_bits = CHAR_BITS * (N - prefix.len()) as u32;
    first..=first | ((1 << free_bits) - 1)
}

/// How a part is found in the index.
pub enum Found {
    /// The rows whose text has the part, exactly.
    Exactly(RoaringBitmap),
    /// The rows whose text may have it: every one that does, and perhaps others.
    Perhaps(RoaringBitmap),
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NGrams {
    /// By n-gram: hashed, so that a write (fifty n-grams a title) or a load finds each in
    /// constant time. A part shorter than an n-gram reads every key: a millisecond at a
    /// million titles, where keeping the keys in order cost every write a tree insert.
    postings: HashMap<Key, Rows>,
}

/// Most rows an n-gram keeps as a plain sorted list. Most n-grams are rare (a project's
/// number in its title makes hundreds of thousands of them at a million projects), and a
/// compressed bitmap spends a container per 65,536 numbers a row falls in: for a rare n-gram,
/// many times what the list takes.
const FEW: usize = 512;

/// The rows holding one n-gram.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Rows {
    Few(Vec<u32>),
    Many(#[serde(with = "super::serial::bitmap")] RoaringBitmap),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Few(Vec::new())
    }
}

impl Rows {
    fn insert(&mut self, number: u32) {
        match self {
            Rows::Few(numbers) => {
                if numbers.last().is_none_or(|last| *last < number) {
                    numbers.push(number);
                } else if let Err(at) = numbers.binary_search(&number) {
                    numbers.insert(at, number);
                }
                if numbers.len() > FEW {
                    *self = Rows::Many(numbers.iter().copied().collect());
                }
            }
            Rows::Many(numbers) => _ = numbers.insert(number),
        }
    }

    fn remove(&mut self, number: u32) {
        match self {
            Rows::Few(numbers) => {
                if let Ok(at) = numbers.binary_search(&number) {
                    numbers.remove(at);
                }
            }
            Rows::Many(numbers) => _ = numbers.remove(number),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Rows::Few(numbers) => numbers.is_empty(),
            Rows::Many(numbers) => numbers.is_empty(),
        }
    }

    /// Adds these rows to `into`.
    fn add_to(&self, into: &mut RoaringBitmap) {
        match self {
            Rows::Few(numbers) => into.extend(numbers.iter().copied()),
            Rows::Many(numbers) => *into |= numbers,
        }
    }

    /// These rows among `rows`.
    fn keep_in(&self, rows: &mut RoaringBitmap) {
        match self {
            Rows::Few(numbers) => {
                *rows = numbers
                    .iter()
                    .copied()
                    .filter(|n| rows.contains(*n))
                    .collect();
            }
            Rows::Many(numbers) => *rows &= numbers,
        }
    }

    /// Gives back what growing left unused.
    fn shrink(&mut self) {
        match self {
            Rows::Few(numbers) => numbers.shrink_to_fit(),
            Rows::Many(numbers) => shrink(numbers),
        }
    }
}

/// Calls `visit` with the n-gram starting at each character of `text`, folded (an n-gram
/// held twice comes twice): the key rolls along the characters, then the padding after them,
/// so no list is built on the write path.
fn each_ngram(text: &str, mut visit: impl FnMut(Key)) {
    let mask: Key = (1 << (CHAR_BITS * N as u32)) - 1;
    let mut rolling: Key = 0;
    let mut roll = |consumed: usize, c: char| {
        rolling = (rolling << CHAR_BITS | c as u32 as Key) & mask;
        if consumed + 1 >= N {
            visit(rolling);
        }
    };
    let padding = std::iter::repeat_n('\0', N - 1);
    // Titles are mostly ASCII, which folds a byte at a time.
    if text.is_ascii() {
        let chars = text.bytes().map(|b| char::from(b.to_ascii_lowercase()));
        chars
            .chain(padding)
            .enumerate()
            .for_each(|(i, c)| roll(i, c));
    } else {
        let chars = text.chars().flat_map(fold);
        chars
            .chain(padding)
            .enumerate()
            .for_each(|(i, c)| roll(i, c));
    }
}

impl NGrams {
    /// Marks row `number`'s `text` in, or out once the row no longer holds it.
    pub fn mark(&mut self, number: u32, text: &str, holds: bool) {
        each_ngram(text, |key| {
            if holds {
                self.postings.entry(key).or_default().insert(number);
            } else if let Some(rows) = self.postings.get_mut(&key) {
                rows.remove(number);
                if rows.is_empty() {
                    self.postings.remove(&key);
                }
            }
        });
    }

    /// The rows whose text has `part`, exactly or as candidates to check; `None` for a part
    /// the index cannot narrow: the empty one, or one holding the padding character.
    pub fn find(&self, part: &str) -> Option<Found> {
        let chars: Vec<char> = part.chars().flat_map(fold).collect();
        if chars.is_empty() || chars.contains(&'\0') {
            return None;
        }
        if chars.len() == N {
            // One n-gram: no other key starts with it.
            let mut rows = RoaringBitmap::new();
            if let Some(found) = self.postings.get(&key(&chars)) {
                found.add_to(&mut rows);
            }
            return Some(Found::Exactly(rows));
        }
        if chars.len() < N {
            let mut rows = RoaringBitmap::new();
            let wanted = starting_with(&chars);
            for (_, more) in self.postings.iter().filter(|(key, _)| wanted.contains(key)) {
                more.add_to(&mut rows);
            }
            return Some(Found::Exactly(rows));
        }
        let mut rows: Option<RoaringBitmap> = None;
        for start in 0..=chars.len() - N {
            let Some(more) = self.postings.get(&key(&chars[start..start + N])) else {
                return Some(Found::Perhaps(RoaringBitmap::new()));
            };
            match &mut rows {
                None => {
                    let mut first = RoaringBitmap::new();
                    more.add_to(&mut first);
                    rows = Some(first);
                }
                Some(rows) => more.keep_in(rows),
            }
        }
        rows.map(Found::Perhaps)
    }

    /// Gives back what a load's growing left unused.
    pub fn shrink(&mut self) {
        self.postings.values_mut().for_each(Rows::shrink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(index: &NGrams, part: &str) -> (bool, Vec<u32>) {
        match index.find(part).unwrap() {
            Found::Exactly(rows) => (true, rows.iter().collect()),
            Found::Perhaps(rows) => (false, rows.iter().collect()),
        }
    }

    #[test]
    fn short_parts_are_found_exactly_and_long_ones_among_candidates() {
        let mut index = NGrams::default();
        index.mark(1, "Drinking Water Works", true);
        index.mark(2, "ＷＡＴＥＲ supply", true);
        index.mark(3, "Roads", true);
        index.mark(4, "wat ate ter", true);
        assert_eq!(found(&index, "water"), (true, vec![1, 2]));
        assert_eq!(found(&index, "WA"), (true, vec![1, 2, 4]));
        assert_eq!(found(&index, "s"), (true, vec![1, 2, 3]));
        assert_eq!(found(&index, "ads"), (true, vec![3]), "at the very end");
        assert_eq!(found(&index, "water works"), (false, vec![1]));
        assert_eq!(found(&index, "water pumps"), (false, vec![]));
        assert!(index.find("").is_none());
        index.mark(1, "Drinking Water Works", false);
        assert_eq!(found(&index, "WATER"), (true, vec![2]));
        assert_eq!(found(&index, "bridges"), (false, vec![]));
    }

    #[test]
    fn common_ngrams_move_from_lists_to_bitmaps_and_stay_exact() {
        let mut index = NGrams::default();
        let text = |n: u32| format!("water works {n}");
        for n in 0..3 * FEW as u32 {
            index.mark(n, &text(n), true);
        }
        for n in (0..3 * FEW as u32).filter(|n| n % 3 == 0) {
            index.mark(n, &text(n), false);
        }
        index.shrink();
        let expected: Vec<u32> = (0..3 * FEW as u32).filter(|n| n % 3 != 0).collect();
        assert_eq!(found(&index, "water"), (true, expected.clone()));
        assert_eq!(found(&index, "water works"), (false, expected));
        let (exactly, rows) = found(&index, "works 1");
        assert!(!exactly);
        assert!(rows.contains(&1) && rows.contains(&100) && !rows.contains(&3));
    }
}

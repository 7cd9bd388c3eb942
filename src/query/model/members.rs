//! Every project's title, classes and amounts in columns, for summaries filtered by title:
//! no class shares a title, so such a summary must visit projects, and it reads the titles
//! front to back from one buffer instead of following each project's pointers.
//!
//! Rows are numbered as the read model numbers its projects, so a write finds its row without
//! a map of names. Amounts are 64-bit cents (up to 92 quadrillion in any currency); a project
//! with a larger line gets no row and is counted, and while any is, summaries filtered by
//! title read projects instead.

use roaring::RoaringBitmap;

use super::contribution::Contribution;
use super::journal::Before;

/// One project's row, at its number.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Slot {
    title_start: u64,
    title_len: u32,
    amount_count: u32,
    amounts_start: u64,
    /// In the lumped table and in the table keeping recipients apart.
    classes: [u32; 2],
    state: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum State {
    /// No project has this number.
    #[default]
    Empty,
    Live,
    /// The project's amounts do not fit in 64-bit cents.
    Oversized,
}

/// The rows; a replaced or removed row's title and amounts stay, dead, until compaction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Members {
    titles: String,
    #[serde(deserialize_with = "super::serial::vec")]
    amounts: Vec<i64>,
    #[serde(deserialize_with = "super::serial::vec")]
    slots: Vec<Slot>,
    dead_title_bytes: usize,
    dead_amounts: usize,
    oversized: usize,
}

/// Which part of the rows a pass over many reads.
#[derive(Clone, Copy, Debug)]
pub enum Reading {
    Titles,
    Amounts,
}

/// A live row as a summary reads it.
pub struct Member<'a> {
    /// The title column and where the row's title is in it: sliced only when read, since a
    /// pass over amounts need not touch titles at all.
    titles: &'a str,
    title: (usize, usize),
    /// In the lumped table and in the table keeping recipients apart.
    pub classes: [usize; 2],
    /// The lines' amounts in cents, in class line order, then their parts line-major.
    pub amounts: &'a [i64],
}

impl<'a> Member<'a> {
    pub fn title(&self) -> &'a str {
        let (start, len) = self.title;
        &self.titles[start..start + len]
    }
}

impl Members {
    /// Sets the row of project `number`, whose old row must have been removed.
    pub fn add(
        &mut self,
        number: u32,
        title: &str,
        classes: [usize; 2],
        contribution: &Contribution,
    ) {
        let number = number as usize;
        if self.slots.len() <= number {
            self.slots.resize(number + 1, Slot::default());
        }
        let amounts: Option<Vec<i64>> = contribution
            .amounts
            .iter()
            .map(|a| i64::try_from(*a).ok())
            .collect();
        let Some(amounts) = amounts else {
            self.oversized += 1;
            self.slots[number] = Slot {
                state: State::Oversized,
                ..Slot::default()
            };
            return;
        };
        self.slots[number] = Slot {
            title_start: self.titles.len() as u64,
            title_len: u32::try_from(title.len()).expect("titles are far shorter than 4 GiB"),
            amount_count: amounts.len() as u32,
            amounts_start: self.amounts.len() as u64,
            classes: classes.map(|c| c as u32),
            state: State::Live,
        };
        self.titles.push_str(title);
        self.amounts.extend(amounts);
    }

    /// Clears the row of project `number`; compacts the columns once most of them is dead.
    pub fn remove(&mut self, number: u32) {
        let Some(slot) = self.slots.get_mut(number as usize) else {
            return;
        };
        match slot.state {
            State::Empty => return,
            State::Oversized => self.oversized -= 1,
            State::Live => {
                self.dead_title_bytes += slot.title_len as usize;
                self.dead_amounts += slot.amount_count as usize;
            }
        }
        *slot = Slot::default();
        if self.dead_amounts > 1 << 12 && self.dead_amounts > self.amounts.len() / 2 {
            self.compact();
        }
    }

    /// Row `number` as it is, before a write changes it.
    pub fn before(&self, number: u32) -> Before<'_> {
        match self.slots.get(number as usize) {
            None => Before::Empty,
            Some(slot) => match slot.state {
                State::Empty => Before::Empty,
                State::Oversized => Before::Oversized,
                State::Live => Before::Live {
                    classes: slot.classes,
                    amounts: amounts_of(&self.amounts, slot),
                },
            },
        }
    }

    /// Whether every project has a row, so a summary may read the rows instead of projects.
    pub fn complete(&self) -> bool {
        self.oversized == 0
    }

    /// Gives back the room growth left unused: after loading a million projects, up to half
    /// of each column.
    pub fn shrink_to_fit(&mut self) {
        self.titles.shrink_to_fit();
        self.amounts.shrink_to_fit();
        self.slots.shrink_to_fit();
    }

    fn compact(&mut self) {
        let mut titles = String::with_capacity(self.titles.len() - self.dead_title_bytes);
        let mut amounts = Vec::with_capacity(self.amounts.len() - self.dead_amounts);
        for slot in self.slots.iter_mut().filter(|s| s.state == State::Live) {
            let (title, slot_amounts) = (
                title_of(&self.titles, slot),
                amounts_of(&self.amounts, slot),
            );
            slot.title_start = titles.len() as u64;
            slot.amounts_start = amounts.len() as u64;
            titles.push_str(title);
            amounts.extend_from_slice(slot_amounts);
        }
        self.titles = titles;
        self.amounts = amounts;
        self.dead_title_bytes = 0;
        self.dead_amounts = 0;
    }

    fn member(&self, slot: &Slot) -> Member<'_> {
        Member {
            titles: &self.titles,
            title: (slot.title_start as usize, slot.title_len as usize),
            classes: slot.classes.map(|c| c as usize),
            amounts: amounts_of(&self.amounts, slot),
        }
    }

    /// Calls `visit` with the number and row of each live row of `numbers`, in order, until it
    /// returns false. A row seldom shares a cache line with the last one read, so each pass
    /// would wait on memory twice a row (its slot, then its title or amounts). Instead the
    /// slot `2 * AHEAD` rows on and the part of the row `AHEAD` rows on that `reading` says is
    /// read are asked for before the row at hand is read, so that many loads are in flight at
    /// once and a row is mostly in cache when it is reached. A bitmap's iterator cannot look
    /// ahead, so numbers are taken a chunk at a time.
    pub fn each(
        &self,
        numbers: &RoaringBitmap,
        reading: Reading,
        mut visit: impl FnMut(u32, Member<'_>) -> bool,
    ) {
        const CHUNK: usize = 1024;
        const AHEAD: usize = 16;
        let mut chunk: Vec<u32> = Vec::with_capacity(CHUNK);
        let mut numbers = numbers.iter();
        loop {
            chunk.clear();
            chunk.extend(numbers.by_ref().take(CHUNK));
            if chunk.is_empty() {
                return;
            }
            let slot = |at: usize| self.slots.get(*chunk.get(at)? as usize);
            let live = |at: usize| slot(at).filter(|s| s.state == State::Live);
            for (at, number) in chunk.iter().enumerate() {
                if let Some(ahead) = slot(at + 2 * AHEAD) {
                    prefetch(ahead);
                }
                if let Some(ahead) = live(at + AHEAD) {
                    match reading {
                        Reading::Titles => prefetch_ends(title_of(&self.titles, ahead).as_bytes()),
                        Reading::Amounts => prefetch_ends(amounts_of(&self.amounts, ahead)),
                    }
                }
                let Some(row) = live(at) else {
                    continue;
                };
                if !visit(*number, self.member(row)) {
                    return;
                }
            }
        }
    }
}

/// Asks for the cache lines holding the first and the last of `values`: a row's title or
/// amounts span one or two lines.
fn prefetch_ends<T>(values: &[T]) {
    if let (Some(first), Some(last)) = (values.first(), values.last()) {
        prefetch(first);
        prefetch(last);
    }
}

/// Bytes the CPU loads at a time (on every x86-64 made so far).
const CACHE_LINE: usize = 64;

/// Asks the CPU to start loading the cache lines holding `value` (its first and its last
/// byte: a slot of 40 bytes spans two lines as often as one) without waiting for them.
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first = std::ptr::from_ref(value).cast::<i8>();
        let last = first.wrapping_add(size_of::<T>().saturating_sub(1));
        // SAFETY: a prefetch is a hint: it reads nothing the program sees and cannot fault.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            if last as usize / CACHE_LINE != first as usize / CACHE_LINE {
                _mm_prefetch::<_MM_HINT_T0>(last);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

fn title_of<'a>(titles: &'a str, slot: &Slot) -> &'a str {
    let start = slot.title_start as usize;
    &titles[start..start + slot.title_len as usize]
}

fn amounts_of<'a>(amounts: &'a [i64], slot: &Slot) -> &'a [i64] {
    let start = slot.amounts_start as usize;
    &amounts[start..start + slot.amount_count as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(number: u32) -> (String, Contribution) {
        let contribution = Contribution {
            shapes: Vec::new(),
            amounts: (0..=i128::from(number % 5))
                .map(|i| i128::from(number) * 10 + i)
                .collect(),
        };
        (format!("title {number}"), contribution)
    }

    /// Every row of 5,000, some removed, some replaced; picks across several chunks.
    fn members() -> Members {
        let mut members = Members::default();
        for number in 0..5_000 {
            let (title, contribution) = row(number);
            members.add(number, &title, [number as usize, 0], &contribution);
        }
        for number in (0..5_000).filter(|n| n % 7 == 3) {
            members.remove(number);
        }
        for number in (0..5_000).filter(|n| n % 11 == 4 && n % 7 != 3) {
            members.remove(number);
            let (title, contribution) = row(number);
            members.add(number, &title, [number as usize, 1], &contribution);
        }
        members
    }

    #[test]
    fn each_visits_the_live_picked_rows_in_order_across_chunks() {
        let members = members();
        // Picks beyond the last row and removed rows are skipped.
        let picks: RoaringBitmap = (0..6_000).filter(|n| n % 3 != 1).collect();
        let expected: Vec<u32> = picks.iter().filter(|n| *n < 5_000 && n % 7 != 3).collect();
        for reading in [Reading::Titles, Reading::Amounts] {
            let mut seen = Vec::new();
            members.each(&picks, reading, |number, member| {
                let (title, contribution) = row(number);
                assert_eq!(member.title(), title);
                let amounts: Vec<i128> = member.amounts.iter().map(|a| i128::from(*a)).collect();
                assert_eq!(amounts, contribution.amounts);
                assert_eq!(member.classes[0], number as usize);
                seen.push(number);
                true
            });
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn each_stops_when_visit_says_so() {
        let members = members();
        let picks: RoaringBitmap = (0..5_000).collect();
        let mut seen = 0;
        members.each(&picks, Reading::Amounts, |_, _| {
            seen += 1;
            seen < 2_500
        });
        assert_eq!(seen, 2_500);
    }
}

//! Every project's title, classes and amounts in rows, for summaries filtered by title: no
//! class shares a title, so such a summary must visit projects, and it reads them front to
//! back from one array instead of following each project's pointers.
//!
//! Rows are numbered as the read model numbers its projects, so a write finds its row without
//! a map of names. A row is one cache line and holds most projects' amounts itself, so a pass
//! over amounts waits on memory once a row, not twice. Amounts are 64-bit cents (up to 92
//! quadrillion in any currency); a project with a larger line gets no row and is counted, and
//! while any is, summaries filtered by title read projects instead.

use roaring::RoaringBitmap;

use super::contribution::Contribution;
use super::journal::Before;

/// Bytes the CPU loads at a time (on every x86-64 made so far).
const CACHE_LINE: usize = 64;

/// Amounts a row holds itself: those of a project of up to four lines and one recipient,
/// most projects, whose parts are its lines' amounts and are not kept twice.
const HELD: usize = 4;

/// One project's row, at its number: one cache line.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
#[repr(C, align(64))]
struct Slot {
    title_start: u64,
    title_len: u32,
    /// In the lumped table and in the table keeping recipients apart.
    classes: [u32; 2],
    /// How many amounts the row keeps: its lines', then their parts unless `parts` says
    /// they are the same.
    amount_count: u32,
    state: State,
    parts: Parts,
    line_count: u32,
    /// The amounts, when there are at most `HELD`; otherwise the first is where they start
    /// in the spilled column.
    held: [i64; HELD],
}

const _: () = assert!(size_of::<Slot>() == CACHE_LINE);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum State {
    /// No project has this number.
    #[default]
    Empty,
    Live,
    /// The project's amounts do not fit in 64-bit cents.
    Oversized,
}

/// Whether a row keeps its lines' parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Parts {
    #[default]
    Kept,
    /// They are the lines' amounts (one recipient, with all of it), kept once.
    SameAsLines,
}

/// The rows; a replaced or removed row's title and spilled amounts stay, dead, until
/// compaction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Members {
    titles: String,
    /// The amounts of rows that have more than `HELD`.
    #[serde(deserialize_with = "super::serial::vec")]
    spilled: Vec<i64>,
    #[serde(deserialize_with = "super::serial::vec")]
    slots: Vec<Slot>,
    dead_title_bytes: usize,
    dead_spilled: usize,
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
    /// The lines' amounts in cents, in class line order.
    pub cents: &'a [i64],
    /// The lines' parts by recipient, line-major.
    pub parts: &'a [i64],
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
        let line_count = contribution.shapes.len();
        let (cents, parts) = amounts.split_at(line_count);
        let (parts, kept) = if parts == cents {
            (Parts::SameAsLines, cents)
        } else {
            (Parts::Kept, &amounts[..])
        };
        let mut held = [0; HELD];
        if kept.len() <= HELD {
            held[..kept.len()].copy_from_slice(kept);
        } else {
            held[0] = self.spilled.len() as i64;
            self.spilled.extend_from_slice(kept);
        }
        self.slots[number] = Slot {
            title_start: self.titles.len() as u64,
            title_len: u32::try_from(title.len()).expect("titles are far shorter than 4 GiB"),
            classes: classes.map(|c| c as u32),
            amount_count: count(kept.len()),
            state: State::Live,
            parts,
            line_count: count(line_count),
            held,
        };
        self.titles.push_str(title);
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
                if spills(slot) {
                    self.dead_spilled += slot.amount_count as usize;
                }
            }
        }
        *slot = Slot::default();
        let mostly_dead = |dead: usize, len: usize| dead > 1 << 12 && dead > len / 2;
        if mostly_dead(self.dead_title_bytes, self.titles.len())
            || mostly_dead(self.dead_spilled, self.spilled.len())
        {
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
                State::Live => {
                    let (cents, parts) = self.amounts_of(slot);
                    Before::Live {
                        classes: slot.classes,
                        cents,
                        parts,
                    }
                }
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
        self.spilled.shrink_to_fit();
        self.slots.shrink_to_fit();
    }

    fn compact(&mut self) {
        let mut titles = String::with_capacity(self.titles.len() - self.dead_title_bytes);
        let mut spilled = Vec::with_capacity(self.spilled.len() - self.dead_spilled);
        for slot in self.slots.iter_mut().filter(|s| s.state == State::Live) {
            titles.push_str(title_of(&self.titles, slot));
            slot.title_start = (titles.len() - slot.title_len as usize) as u64;
            if spills(slot) {
                spilled.extend_from_slice(kept_of(&self.spilled, slot));
                slot.held[0] = (spilled.len() - slot.amount_count as usize) as i64;
            }
        }
        self.titles = titles;
        self.spilled = spilled;
        self.dead_title_bytes = 0;
        self.dead_spilled = 0;
    }

    /// The row's lines' amounts and their parts.
    fn amounts_of<'a>(&'a self, slot: &'a Slot) -> (&'a [i64], &'a [i64]) {
        let (cents, parts) = kept_of(&self.spilled, slot).split_at(slot.line_count as usize);
        match slot.parts {
            Parts::Kept => (cents, parts),
            Parts::SameAsLines => (cents, cents),
        }
    }

    fn member<'a>(&'a self, slot: &'a Slot) -> Member<'a> {
        let (cents, parts) = self.amounts_of(slot);
        Member {
            titles: &self.titles,
            title: (slot.title_start as usize, slot.title_len as usize),
            classes: slot.classes.map(|c| c as usize),
            cents,
            parts,
        }
    }

    /// Calls `visit` with the number and row of each live row of `numbers`, in order, until it
    /// returns false. A row seldom shares a cache line with the last one read, so each pass
    /// would wait on memory for every row (and again for its title, or its amounts if they
    /// spilled). Instead the row `2 * AHEAD` rows on and what it points to `AHEAD` rows on
    /// that `reading` says is read are asked for before the row at hand is read, so that many
    /// loads are in flight at once and a row is mostly in cache when it is reached. A bitmap's
    /// iterator cannot look ahead, so numbers are taken a chunk at a time.
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
                        Reading::Amounts if spills(ahead) => {
                            prefetch_ends(kept_of(&self.spilled, ahead));
                        }
                        Reading::Amounts => {}
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

/// `len` amounts or lines of one project, as a row counts them.
fn count(len: usize) -> u32 {
    u32::try_from(len).expect("a project has far fewer than 4 billion amounts")
}

/// Asks for the cache lines holding the first and the last of `values`: a row's title or
/// spilled amounts span one or two lines.
fn prefetch_ends<T>(values: &[T]) {
    if let (Some(first), Some(last)) = (values.first(), values.last()) {
        prefetch(first);
        prefetch(last);
    }
}

/// Asks the CPU to start loading the cache line holding `value` without waiting for it.
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint: it reads nothing the program sees and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

fn title_of<'a>(titles: &'a str, slot: &Slot) -> &'a str {
    let start = slot.title_start as usize;
    &titles[start..start + slot.title_len as usize]
}

/// Whether the row's amounts are in the spilled column rather than in the row.
fn spills(slot: &Slot) -> bool {
    slot.amount_count as usize > HELD
}

/// The amounts the row keeps, in the row or spilled.
fn kept_of<'a>(spilled: &'a [i64], slot: &'a Slot) -> &'a [i64] {
    let count = slot.amount_count as usize;
    if spills(slot) {
        let start = slot.held[0] as usize;
        &spilled[start..start + count]
    } else {
        &slot.held[..count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FundingType;

    use super::super::contribution::LineShape;

    /// Row `number`'s title and funding: one to five lines and one or two recipients, so some
    /// rows hold their amounts, some spill them, and some keep parts apart from the lines.
    fn row(number: u32) -> (String, Contribution) {
        let lines = 1 + number as usize % 5;
        let recipients = 1 + usize::from(number.is_multiple_of(3));
        let shapes = (0..lines)
            .map(|line| LineShape {
                year: 2015 + line as i32,
                funding_type: FundingType::Expenditure,
                currency: "CNY".into(),
                rate_year: 2015 + line as i32,
            })
            .collect();
        let cents: Vec<i128> = (0..lines)
            .map(|line| i128::from(number) * 10 + line as i128)
            .collect();
        let parts = cents.iter().flat_map(|cents| {
            let first = if recipients == 1 {
                *cents
            } else {
                cents * 6 / 10
            };
            [first, cents - first].into_iter().take(recipients)
        });
        let amounts = cents.iter().copied().chain(parts).collect();
        (format!("title {number}"), Contribution { shapes, amounts })
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

    /// The member's amounts as the project's contribution lists them: lines, then parts.
    fn joined(member: &Member<'_>) -> Vec<i128> {
        member
            .cents
            .iter()
            .chain(member.parts)
            .map(|a| i128::from(*a))
            .collect()
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
                assert_eq!(joined(&member), contribution.amounts);
                assert_eq!(member.cents.len(), contribution.shapes.len());
                assert_eq!(member.classes[0], number as usize);
                seen.push(number);
                true
            });
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn rows_read_the_same_after_compaction() {
        let mut members = members();
        let rows = |members: &Members| {
            let mut rows = Vec::new();
            members.each(&(0..5_000).collect(), Reading::Titles, |number, member| {
                rows.push((number, member.title().to_owned(), joined(&member)));
                true
            });
            rows
        };
        let kept = rows(&members);
        let (titles, spilled) = (members.titles.len(), members.spilled.len());
        members.compact();
        assert!(members.titles.len() < titles && members.spilled.len() < spilled);
        assert_eq!(rows(&members), kept);
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

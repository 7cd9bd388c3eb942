//! What each commit applied to the read model changed in the funding cube: for every project
//! row a commit took, cleared or replaced, the row as it was before (its classes and amounts).
//! A summary at a revision the journal reaches counts those rows back from memory, under the
//! same lock as the answer, so commits landing meanwhile cannot make what it counted stale and
//! no question pays for reading the log.
//!
//! It starts with the first commit the model applies and keeps about `JOURNAL_BYTES` of the
//! newest rows; the revisions before its floor are read from the log instead (`PastFunding`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// The journal's memory: at the benchmark's synthetic projects (about 15 amounts each), some
/// 200,000 rows, or 20,000 commits of ten projects.
const JOURNAL_BYTES: usize = 32 << 20;

/// Hands each journal its own lineage: a cube's classes and rows are numbered as its own
/// history went, so what was counted against one cube means nothing against another.
static LINEAGES: AtomicU64 = AtomicU64::new(1);

/// A project row as it was before a commit changed it.
#[derive(Clone, Copy, Debug)]
pub enum Before<'a> {
    /// No project had the number.
    Empty,
    /// In the lumped table and in the table keeping recipients apart, with its lines'
    /// amounts and their parts.
    Live {
        classes: [u32; 2],
        cents: &'a [i64],
        parts: &'a [i64],
    },
    /// A project whose amounts do not fit in 64-bit cents, kept by no row.
    Oversized,
}

/// A row's classes (lumped, by recipient) and amounts.
pub type Row<'a> = ([u32; 2], &'a [i64]);

#[derive(Clone, Copy, Debug)]
struct Entry {
    revision: i64,
    number: u32,
    /// None when no project had the number.
    classes: Option<[u32; 2]>,
    amounts_start: usize,
    amount_count: u32,
}

#[derive(Debug)]
pub struct FundingJournal {
    lineage: u64,
    /// Questions at this revision or later are answered from the journal; none before the
    /// model applies its first commit (it then reaches the model's own revision).
    floor: Option<i64>,
    /// The commit being applied.
    revision: i64,
    /// In the order the rows were changed, so by revision.
    entries: Vec<Entry>,
    amounts: Vec<i64>,
    /// The currencies of the lines the journal's rows held, since it started.
    currencies: BTreeSet<String>,
}

impl Default for FundingJournal {
    fn default() -> Self {
        FundingJournal {
            lineage: LINEAGES.fetch_add(1, Ordering::Relaxed),
            floor: None,
            revision: 0,
            entries: Vec::new(),
            amounts: Vec::new(),
            currencies: BTreeSet::new(),
        }
    }
}

/// A copy of a cube goes its own way: it starts a journal of its own.
impl Clone for FundingJournal {
    fn clone(&self) -> Self {
        FundingJournal::default()
    }
}

impl FundingJournal {
    /// Which cube's history this is.
    pub fn lineage(&self) -> u64 {
        self.lineage
    }

    /// Rows changed from now on belong to the commit of `revision`, applied to a model at
    /// `model_revision`.
    pub fn begin(&mut self, model_revision: i64, revision: i64) {
        self.floor.get_or_insert(model_revision);
        if revision < self.revision {
            // Rows are kept in revision order; a commit behind the last would break it.
            self.forget_through(self.revision);
        }
        self.revision = revision;
    }

    /// Whether every row changed after `revision` is here, for a model at `model_revision`.
    pub fn reaches(&self, revision: i64, model_revision: i64) -> bool {
        self.floor.unwrap_or(model_revision) <= revision
    }

    /// Keeps row `number` as it was, changed by the commit being applied; `currencies` are
    /// those of its lines. Questions read only a row's first change after their revision, so
    /// a change right after one to the same row in the same commit (a replace's addition after
    /// its removal) is not kept. Nothing before the first commit: loading is not a change.
    pub fn record<'c>(
        &mut self,
        number: u32,
        before: Before<'_>,
        currencies: impl Iterator<Item = &'c String>,
    ) {
        if self.floor.is_none()
            || self
                .entries
                .last()
                .is_some_and(|last| last.revision == self.revision && last.number == number)
        {
            return;
        }
        let amounts_start = self.amounts.len();
        let classes = match before {
            Before::Empty => None,
            Before::Live {
                classes,
                cents,
                parts,
            } => {
                self.amounts.extend_from_slice(cents);
                self.amounts.extend_from_slice(parts);
                Some(classes)
            }
            // Its amounts cannot be counted back: the journal reaches no further back.
            Before::Oversized => return self.forget_through(self.revision),
        };
        for currency in currencies {
            if !self.currencies.contains(currency) {
                self.currencies.insert(currency.clone());
            }
        }
        let amount_count = u32::try_from(self.amounts.len() - amounts_start)
            .expect("a project has far fewer than 4 billion amounts");
        self.entries.push(Entry {
            revision: self.revision,
            number,
            classes,
            amounts_start,
            amount_count,
        });
        if self.bytes() > JOURNAL_BYTES {
            let oldest_kept = self.entries[self.entries.len() / 4].revision;
            self.forget_through(oldest_kept);
        }
    }

    /// The commit being applied changes what rows do not show (an area, a party): questions
    /// before it are not answered from the journal.
    pub fn forget_through(&mut self, revision: i64) {
        self.floor = Some(self.floor.map_or(revision, |floor| floor.max(revision)));
        let gone = self
            .entries
            .partition_point(|entry| entry.revision <= revision);
        let Some(first_kept) = self.entries.get(gone) else {
            self.entries.clear();
            self.amounts.clear();
            return;
        };
        let shift = first_kept.amounts_start;
        self.entries.drain(..gone);
        self.amounts.drain(..shift);
        for entry in &mut self.entries {
            entry.amounts_start -= shift;
        }
    }

    fn bytes(&self) -> usize {
        self.entries.len() * size_of::<Entry>() + self.amounts.len() * size_of::<i64>()
    }

    /// Whether every line of the journal's rows was in `currency`.
    pub fn all_in(&self, currency: &str) -> bool {
        self.currencies.iter().all(|held| held == currency)
    }

    /// Each row changed after `revision`, in the order changed: its number and, unless no
    /// project had it, its classes and amounts before.
    pub fn after(&self, revision: i64) -> impl Iterator<Item = (u32, Option<Row<'_>>)> {
        let first = self
            .entries
            .partition_point(|entry| entry.revision <= revision);
        self.entries[first..].iter().map(|entry| {
            let amounts = &self.amounts
                [entry.amounts_start..entry.amounts_start + entry.amount_count as usize];
            (
                entry.number,
                entry.classes.map(|classes| (classes, amounts)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(amounts: &[i64]) -> Before<'_> {
        Before::Live {
            classes: [1, 2],
            cents: amounts,
            parts: &[],
        }
    }

    #[test]
    fn rows_are_kept_from_the_first_commit_and_forgotten_oldest_first() {
        let mut journal = FundingJournal::default();
        journal.record(0, live(&[9]), std::iter::empty());
        assert!(journal.after(0).next().is_none(), "loading is not a change");
        assert!(!journal.reaches(4, 5) && journal.reaches(5, 5));
        journal.begin(5, 6);
        journal.record(0, live(&[1, 2]), std::iter::empty());
        journal.record(0, Before::Empty, std::iter::empty());
        journal.record(1, Before::Empty, std::iter::empty());
        journal.begin(6, 7);
        journal.record(0, live(&[3]), std::iter::empty());
        journal.begin(7, 8);
        journal.record(2, live(&[4, 5, 6]), std::iter::empty());
        assert!(journal.reaches(5, 8) && !journal.reaches(4, 8));
        let after = |journal: &FundingJournal, revision| {
            journal
                .after(revision)
                .map(|(number, before)| (number, before.map(|(_, amounts)| amounts.to_vec())))
                .collect::<Vec<_>>()
        };
        let all = vec![
            (0, Some(vec![1, 2])),
            (1, None),
            (0, Some(vec![3])),
            (2, Some(vec![4, 5, 6])),
        ];
        assert_eq!(after(&journal, 5), all);
        assert_eq!(after(&journal, 6), all[2..]);
        journal.forget_through(6);
        assert!(!journal.reaches(5, 8) && journal.reaches(6, 8));
        assert_eq!(
            after(&journal, 6),
            all[2..],
            "amounts read right once shifted"
        );
        journal.begin(8, 9);
        journal.record(3, Before::Oversized, std::iter::empty());
        assert!(!journal.reaches(8, 9) && journal.reaches(9, 9));
        assert!(after(&journal, 0).is_empty());
    }
}

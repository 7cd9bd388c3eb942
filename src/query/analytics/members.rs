//! Every project's title, classes and amounts in columns, for summaries filtered by title:
//! no class shares a title, so such a summary must visit projects, and it reads the titles
//! front to back from one buffer instead of following each project's pointers.

use foldhash::HashMap;

use super::cube::Contribution;
use crate::domain::{Project, ResourceName};

/// The rows; a replaced or deleted project's row stays, dead, until rows are compacted.
#[derive(Clone, Debug, Default)]
pub struct Members {
    titles: String,
    /// Per row, where its title ends in `titles`.
    title_ends: Vec<usize>,
    /// Per row, its class in the lumped table and in the table keeping recipients apart.
    classes: Vec<[u32; 2]>,
    /// Per row, where its amounts start in `amounts`: the lines in cents, then their parts.
    amount_starts: Vec<usize>,
    amounts: Vec<i128>,
    live: Vec<bool>,
    rows: HashMap<ResourceName, usize>,
}

/// A live row as a summary reads it.
pub struct Member<'a> {
    pub title: &'a str,
    /// In the lumped table and in the table keeping recipients apart.
    pub classes: [usize; 2],
    /// The lines' amounts in cents, in class line order, then their parts line-major.
    pub amounts: &'a [i128],
}

impl Members {
    /// Adds `project`'s row; its old row must have been removed.
    pub fn add(&mut self, project: &Project, classes: [usize; 2], contribution: &Contribution) {
        self.rows.insert(project.name.clone(), self.live.len());
        self.titles.push_str(&project.title);
        self.title_ends.push(self.titles.len());
        self.classes.push(classes.map(|c| c as u32));
        self.amount_starts.push(self.amounts.len());
        self.amounts.extend(&contribution.amounts);
        self.live.push(true);
    }

    /// Gives back the room growth left unused: after loading a million projects, up to half
    /// of each column.
    pub fn shrink_to_fit(&mut self) {
        self.titles.shrink_to_fit();
        self.title_ends.shrink_to_fit();
        self.classes.shrink_to_fit();
        self.amount_starts.shrink_to_fit();
        self.amounts.shrink_to_fit();
        self.live.shrink_to_fit();
        self.rows.shrink_to_fit();
    }

    /// Marks the project's row dead; compacts the rows once more than half are dead.
    pub fn remove(&mut self, name: &ResourceName) {
        if let Some(row) = self.rows.remove(name) {
            self.live[row] = false;
        }
        if self.live.len() > 1024 && self.rows.len() < self.live.len() / 2 {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let mut compacted = Members::default();
        let mut new_rows = vec![usize::MAX; self.live.len()];
        for (row, member) in self.iter_rows() {
            new_rows[row] = compacted.live.len();
            compacted.titles.push_str(member.title);
            compacted.title_ends.push(compacted.titles.len());
            compacted.classes.push(member.classes.map(|c| c as u32));
            compacted.amount_starts.push(compacted.amounts.len());
            compacted.amounts.extend(member.amounts);
            compacted.live.push(true);
        }
        compacted.rows = std::mem::take(&mut self.rows);
        for row in compacted.rows.values_mut() {
            *row = new_rows[*row];
        }
        *self = compacted;
    }

    /// Every live row.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> {
        self.iter_rows().map(|(_, member)| member)
    }

    fn iter_rows(&self) -> impl Iterator<Item = (usize, Member<'_>)> {
        (0..self.live.len())
            .filter(|row| self.live[*row])
            .map(|row| {
                let title_start = row.checked_sub(1).map_or(0, |r| self.title_ends[r]);
                let amounts_end = self
                    .amount_starts
                    .get(row + 1)
                    .copied()
                    .unwrap_or(self.amounts.len());
                (
                    row,
                    Member {
                        title: &self.titles[title_start..self.title_ends[row]],
                        classes: self.classes[row].map(|c| c as usize),
                        amounts: &self.amounts[self.amount_starts[row]..amounts_end],
                    },
                )
            })
    }
}

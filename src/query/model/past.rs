//! The funding as it stood at a past revision, in the cube's classes: a summary at that
//! revision is the cube's with the rows changed since counted out as they stand and back in as
//! they were then. The journal holds the rows the recent commits changed; for a revision
//! before it reaches, the projects changed between that revision and the model's are read from
//! the log once (`PastFunding`) and the journal carries them on from there, however many
//! commits land after.
//!
//! Per row number, the row as it stood at revision R is the row before the first change after
//! R, or the row as it stands if none came: so the sums at R are the sums now, less every
//! changed row as it stands, plus each changed row as it was before its first change after R.

use std::collections::{BTreeSet, HashSet};

use roaring::RoaringBitmap;

use super::contribution::Contribution;
use super::cube::{ClassTable, FundingCube, Sums};
use super::journal::Row;
use super::members::Reading;
use crate::domain::{Collection, Project, Resource, ResourceName};

/// Projects changed between a past revision and a model's, as they stood then, counted in the
/// model's cube: its size follows the changes, not the record.
#[derive(Debug)]
pub struct PastFunding {
    /// The revision the projects stood at.
    pub revision: i64,
    /// The model's revision when they were counted: the cube's journal carries on from it.
    pub through: i64,
    /// The cube they were counted in (its journal's lineage).
    lineage: u64,
    /// The changed projects' numbers in the model at `through`.
    now: RoaringBitmap,
    /// The changed projects as they stood: their classes (lumped, by recipient) and amounts.
    then: Vec<([u32; 2], Vec<i64>)>,
    /// The currencies their lines were in.
    currencies: BTreeSet<String>,
}

/// Projects changed after a past revision as they stood then (none for those that did not
/// exist), with their funding as the cube counts it: made before the read model is locked.
pub struct StoodProjects {
    names: Vec<ResourceName>,
    then: Vec<(Project, Contribution)>,
}

impl StoodProjects {
    /// The projects of `stood`; none when it holds another kind of resource.
    pub fn of(stood: Vec<(ResourceName, Option<Resource>)>) -> Option<Self> {
        let mut projects = StoodProjects {
            names: Vec::with_capacity(stood.len()),
            then: Vec::with_capacity(stood.len()),
        };
        for (name, resource) in stood {
            if name.collection() != Collection::Projects {
                return None;
            }
            if let Some(Resource::Project(project)) = resource {
                let contribution = Contribution::of(&project);
                projects.then.push((project, contribution));
            }
            projects.names.push(name);
        }
        Some(projects)
    }

    /// Adds the projects changed after the revision these were read through, as they stood
    /// at it: those not already here stood so at the past revision too.
    pub fn extend(&mut self, later: StoodProjects) {
        let known: HashSet<&ResourceName> = self.names.iter().collect();
        let new_names: Vec<ResourceName> = later
            .names
            .into_iter()
            .filter(|name| !known.contains(name))
            .collect();
        let new_projects: Vec<(Project, Contribution)> = later
            .then
            .into_iter()
            .filter(|(project, _)| !known.contains(&project.name))
            .collect();
        self.names.extend(new_names);
        self.then.extend(new_projects);
    }
}

/// What a summary at a past revision takes back from the cube as it stands.
pub struct Rollback<'a> {
    /// The rows changed since, counted out as they stand.
    now: RoaringBitmap,
    /// The same rows as they stood (those that held a project), counted back in.
    then: Vec<Row<'a>>,
}

impl FundingCube {
    /// `stood`, the projects changed after `revision` up to `through`, the revision of the
    /// model this cube is in, whose projects `number` finds. None when one of them as it
    /// stood falls in a class the tables do not hold or has an amount beyond 64-bit cents.
    pub fn past(
        &self,
        revision: i64,
        through: i64,
        stood: StoodProjects,
        number: impl Fn(&ResourceName) -> Option<u32>,
    ) -> Option<PastFunding> {
        let now = stood.names.iter().filter_map(number).collect();
        let mut counted = Vec::with_capacity(stood.then.len());
        let mut currencies = BTreeSet::new();
        for (project, contribution) in stood.then {
            let classes = [
                self.lumped.find(&project, &contribution)?,
                self.by_recipient.find(&project, &contribution)?,
            ];
            currencies.extend(contribution.shapes.iter().map(|s| s.currency.clone()));
            // As the members keep them; an amount beyond 64-bit cents is counted from the
            // projects instead.
            let amounts = contribution
                .amounts
                .iter()
                .map(|amount| i64::try_from(*amount).ok())
                .collect::<Option<Vec<i64>>>()?;
            counted.push((classes.map(|class| class as u32), amounts));
        }
        Some(PastFunding {
            revision,
            through,
            lineage: self.journal.lineage(),
            now,
            then: counted,
            currencies,
        })
    }

    /// Whether a summary at `revision` needs no projects read from the log, the model being
    /// at `model_revision`.
    pub fn journal_reaches(&self, revision: i64, model_revision: i64) -> bool {
        self.journal.reaches(revision, model_revision)
    }

    /// Whether `counted` was counted in this cube and its journal carries it on from there.
    pub fn carries(&self, counted: &PastFunding, model_revision: i64) -> bool {
        counted.lineage == self.journal.lineage()
            && self.journal.reaches(counted.through, model_revision)
    }

    /// What a summary in `currency` at `revision` takes back from this cube, in a model at
    /// `model_revision`: the journal's rows changed since, after those of `counted` when the
    /// journal does not reach back so far. None when the rows cannot be counted back: the
    /// journal does not reach (from `counted` either), `counted` was counted in another cube,
    /// a row's amounts are not kept, or some line was in another currency.
    pub fn rollback<'a>(
        &'a self,
        revision: i64,
        model_revision: i64,
        counted: Option<&'a PastFunding>,
        currency: &str,
    ) -> Option<Rollback<'a>> {
        if !self.members.complete() || !self.journal.all_in(currency) {
            return None;
        }
        let (since, mut now, mut then) = match counted {
            None => (revision, RoaringBitmap::new(), Vec::new()),
            Some(counted) => {
                let belongs = counted.revision == revision
                    && self.carries(counted, model_revision)
                    && counted.currencies.iter().all(|held| held == currency);
                if !belongs {
                    return None;
                }
                let then = counted
                    .then
                    .iter()
                    .map(|(classes, amounts)| (*classes, &amounts[..]));
                (counted.through, counted.now.clone(), then.collect())
            }
        };
        if counted.is_none() && !self.journal.reaches(revision, model_revision) {
            return None;
        }
        for (number, before) in self.journal.after(since) {
            if now.insert(number)
                && let Some(before) = before
            {
                then.push(before);
            }
        }
        Some(Rollback { now, then })
    }

    /// The sums of `table`, one of the cube's, with `rollback`'s rows counted back.
    pub fn sums_at(&self, table: &ClassTable, rollback: &Rollback<'_>) -> Sums {
        let slot = usize::from(!std::ptr::eq(table, &self.lumped));
        let mut sums = table.sums.clone();
        self.members
            .each(&rollback.now, Reading::Amounts, |_, member| {
                let class = member.classes[slot];
                sums.add_split(class, &table.classes[class], -1, member.cents, member.parts);
                true
            });
        for (classes, amounts) in &rollback.then {
            let class = classes[slot] as usize;
            sums.add(class, &table.classes[class], 1, amounts);
        }
        sums
    }
}

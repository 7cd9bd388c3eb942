//! The projects a filter picks, read from the funding cube instead of from every project: the
//! cube keeps, for each project's number, its classes (what alike projects share: party,
//! pairing, field, livelihood, status, data status, recipients, years) and its title. A filter
//! that reads only those is judged once per class, and per project only for the title, so a
//! listing picks its projects without unpacking a million of them.

use super::fields::{Field, ItemRow, Listed, ProjectField, Summarized};
use super::filter::{Filter, Row};
use super::value::Value;
use crate::domain::{Area, Indicator, Observation, Pairing, Party, Project};
use crate::query::interrupt::{Interrupt, Interrupted};
use crate::query::model::ProjectTable;
use crate::query::model::ReadModel;

/// A member of the cube as a filter reads it: its own title, and what its class shares.
pub struct MemberRow<'a> {
    pub title: &'a str,
    pub shared: ItemRow<'a, Project>,
}

impl MemberRow<'_> {
    /// Whether the field at `index` is the member's own: the only one its class lacks.
    fn is_own(index: usize) -> bool {
        ProjectField::ALL[index].summarized() == Summarized::ByTitle
    }
}

impl Row for MemberRow<'_> {
    fn values(&self, field: usize) -> Vec<Value> {
        if Self::is_own(field) {
            vec![Value::text(self.title)]
        } else {
            self.shared.values(field)
        }
    }

    fn text(&self, field: usize) -> Option<&str> {
        if Self::is_own(field) {
            Some(self.title)
        } else {
            self.shared.text(field)
        }
    }
}

/// The items a filter picked from an index: all that match, and only those.
pub trait Picked<T> {
    /// How many there are.
    fn len(&self) -> usize;

    /// The picks named after `after` (all for `None`), in name order.
    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = T> + 'a>;
}

/// The projects a filter picked, marked by number.
pub struct Picks<'m> {
    table: &'m ProjectTable,
    marked: Vec<bool>,
    count: usize,
}

impl Picked<Project> for Picks<'_> {
    fn len(&self) -> usize {
        self.count
    }

    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = Project> + 'a> {
        Box::new(
            self.table
                .numbers_after(after)
                .filter(|n| self.marked.get(*n as usize).copied().unwrap_or(false))
                .map(|n| self.table.at(n)),
        )
    }
}

/// A collection a listing may pick from an index: `picked` gives the items `filter` picks,
/// all and only those, in name order, or `None` when there is no index for this collection
/// or this filter and every item must be read.
pub trait Pickable: Listed {
    fn picked<'m>(
        _model: &'m ReadModel,
        _filter: &Filter,
        _interrupt: &Interrupt,
    ) -> Result<Option<Box<dyn Picked<Self> + 'm>>, Interrupted> {
        Ok(None)
    }
}

impl Pickable for Party {}
impl Pickable for Area {}
impl Pickable for Pairing {}
impl Pickable for Indicator {}
impl Pickable for Observation {}

impl Pickable for Project {
    fn picked<'m>(
        model: &'m ReadModel,
        filter: &Filter,
        interrupt: &Interrupt,
    ) -> Result<Option<Box<dyn Picked<Self> + 'm>>, Interrupted> {
        Ok(projects(model, filter, interrupt)?.map(|p| Box::new(p) as Box<dyn Picked<Self>>))
    }
}

/// The projects `filter` picks, when the cube holds everything it reads (and every project
/// has a row there); `None` when the projects must be read.
fn projects<'m>(
    model: &'m ReadModel,
    filter: &Filter,
    interrupt: &Interrupt,
) -> Result<Option<Picks<'m>>, Interrupted> {
    let cube = model.funding_cube();
    let reads = |summarized: Summarized| {
        ProjectField::ALL
            .iter()
            .any(|f| filter.reads(*f as usize) && f.summarized() == summarized)
    };
    if filter.is_empty() || reads(Summarized::ByProject) || !cube.members.complete() {
        return Ok(None);
    }
    // The table that lumps recipients has far fewer classes; areas need the other one.
    let (table, which) = if reads(Summarized::ByClassWithRecipients) {
        (&cube.by_recipient, 1)
    } else {
        (&cube.lumped, 0)
    };
    let by_title = reads(Summarized::ByTitle);
    let mut class_picked: Vec<Option<bool>> = vec![None; table.representatives.len()];
    let (mut marked, mut count) = (vec![false; model.projects.len()], 0);
    for (number, member) in cube.members.numbered() {
        interrupt.check()?;
        let class = member.classes[which];
        let row = MemberRow {
            title: member.title,
            shared: ItemRow {
                item: &table.representatives[class],
                model,
            },
        };
        let yes = if by_title {
            filter.matches(&row)
        } else {
            *class_picked[class].get_or_insert_with(|| filter.matches(&row))
        };
        if yes {
            if marked.len() <= number as usize {
                marked.resize(number as usize + 1, false);
            }
            marked[number as usize] = true;
            count += 1;
        }
    }
    Ok(Some(Picks {
        table: &model.projects,
        marked,
        count,
    }))
}

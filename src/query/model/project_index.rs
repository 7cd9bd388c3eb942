//! The projects' indexes, kept current on every write: for each filterable attribute, which
//! projects (by number) hold each of its values, and n-gram indexes over titles and
//! descriptions. Listings and summaries pick projects from them (`listing::picks`).

use roaring::RoaringBitmap;

use super::ngrams::NGrams;
use super::postings::{Postings, mark_row, shrink};
use crate::domain::{DataStatus, Project, ProjectStatus, ResourceName, SupportField};

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ProjectIndex {
    /// Every project's number.
    #[serde(with = "super::serial::bitmap")]
    pub live: RoaringBitmap,
    pub party: Postings<ResourceName>,
    pub pairing: Postings<Option<ResourceName>>,
    /// By each area the project funds (not the areas above it: a filter on an area judges
    /// each recipient area with its ancestors, so a move in the hierarchy needs no reindex).
    pub recipient: Postings<ResourceName>,
    pub field: Postings<SupportField>,
    pub livelihood: Postings<bool>,
    pub status: Postings<ProjectStatus>,
    pub data_status: Postings<DataStatus>,
    /// By each year a funding line falls in.
    pub year: Postings<i32>,
    pub title: NGrams,
    pub description: NGrams,
}

impl ProjectIndex {
    /// Marks project `number`, which is `project`, in (`holds`) or out.
    pub fn mark(&mut self, number: u32, project: &Project, holds: bool) {
        mark_row(&mut self.live, number, holds);
        self.party.mark(&project.party, number, holds);
        self.pairing.mark(&project.pairing, number, holds);
        for recipient in &project.recipients {
            self.recipient.mark(&recipient.area, number, holds);
        }
        self.field.mark(&project.field, number, holds);
        self.livelihood.mark(&project.livelihood, number, holds);
        self.status.mark(&project.status, number, holds);
        self.data_status.mark(&project.data_status, number, holds);
        for line in &project.funding_lines {
            self.year.mark(&line.year, number, holds);
        }
        self.title.mark(number, &project.title, holds);
        self.description.mark(number, &project.description, holds);
    }

    /// Gives back what a load's growing left unused.
    pub fn shrink(&mut self) {
        shrink(&mut self.live);
        self.party.shrink();
        self.pairing.shrink();
        self.recipient.shrink();
        self.field.shrink();
        self.livelihood.shrink();
        self.status.shrink();
        self.data_status.shrink();
        self.year.shrink();
        self.title.shrink();
        self.description.shrink();
    }
}

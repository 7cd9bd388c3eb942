//! Every project in a compact byte form. A million projects as structs keyed by name cost
//! about 760 bytes each (the struct, its name, title, recipients and five funding lines each
//! in its own allocation, every currency code too); packed, the scaled benchmark's cost about
//! 200. References and provenances, which many projects share, are numbers into tables of
//! distinct values. A project is unpacked each time it is read, a few hundred nanoseconds,
//! or read as its row where only its bytes are wanted (a GetProject's answer).

use std::marker::PhantomData;
use std::sync::Arc;

use roaring::RoaringBitmap;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::interned::Interned;
use super::named_rows::NamedRows;
use super::packed::{PackedDate, PackedDecimal, PackedTime, Reader, Writer, text};
use crate::domain::{
    Collection, DataStatus, FundingLine, FundingType, Labelled, Meta, Money, Project,
    ProjectOutput, ProjectStatus, Provenance, RecipientArea, ResourceName, SupportField,
};

const COLLECTION: Collection = Collection::Projects;

/// What sums over funding read of a project: unpacked without its texts, dates, provenance
/// or bookkeeping, its currency codes borrowed from the table, so a pass over a million
/// projects reads only these (a third the cost of whole projects).
#[derive(Clone, Debug, PartialEq)]
pub struct FundingView<'a> {
    pub recipients: Vec<RecipientArea>,
    pub livelihood: bool,
    pub outputs: Vec<ProjectOutput>,
    pub lines: Vec<LineView<'a>>,
    pub data_status: DataStatus,
}

/// A funding line as a sum reads it: everything but its date.
#[derive(Clone, Debug, PartialEq)]
pub struct LineView<'a> {
    pub funding_type: FundingType,
    pub year: i32,
    pub currency: &'a str,
    pub amount: Decimal,
    pub value_date: Option<chrono::NaiveDate>,
}

/// Only the test that holds `unpack_funding` to `unpack` reads a view off a whole project.
#[cfg(test)]
impl<'a> FundingView<'a> {
    /// The view of a whole project.
    fn of(project: &'a Project) -> FundingView<'a> {
        FundingView {
            recipients: project.recipients.clone(),
            livelihood: project.livelihood,
            outputs: project.outputs.clone(),
            lines: project
                .funding_lines
                .iter()
                .map(|line| LineView {
                    funding_type: line.funding_type,
                    year: line.year,
                    currency: &line.amount.currency,
                    amount: line.amount.amount,
                    value_date: line.value_date,
                })
                .collect(),
            data_status: project.data_status,
        }
    }
}

/// Where a project's bytes sit in the table's buffer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Span {
    start: u64,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// The values projects share, each stored once.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Shared {
    /// Parties, pairings, areas and indicators projects refer to.
    names: Interned<ResourceName>,
    provenances: Interned<Arc<Provenance>>,
}

/// The projects, in name order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectTable {
    rows: NamedRows<Span>,
    /// Every project's bytes, back to back; a replaced or deleted project's stay until the
    /// buffer is compacted.
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
    dead_bytes: usize,
    shared: Shared,
}

impl Default for ProjectTable {
    fn default() -> Self {
        ProjectTable {
            rows: NamedRows::hashed(COLLECTION),
            bytes: Vec::new(),
            dead_bytes: 0,
            shared: Shared::default(),
        }
    }
}

impl ProjectTable {
    /// Adds `project` while loading in bulk: its number, counting from 0 in the order given.
    /// It is found by name only once [`ProjectTable::finish_loading`] has run.
    pub fn push_loaded(&mut self, project: &Project) -> u32 {
        let span = self.append(project);
        self.rows.push_loaded(&project.name, span)
    }

    /// Makes the projects loaded in bulk findable by name.
    pub fn finish_loading(&mut self) {
        self.rows.order_loaded();
        self.bytes.shrink_to_fit();
    }

    /// How many projects there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packed row of the project of that name.
    pub fn row(&self, name: &ResourceName) -> Option<ProjectRow<'_>> {
        self.rows.find(name).map(|number| self.row_at(number))
    }

    /// The project of that name, named by `name` itself: a name made again from the row
    /// would cost two allocations.
    pub fn get(&self, name: &ResourceName) -> Option<Project> {
        self.row(name).map(|row| unpack(name.clone(), row))
    }

    /// The number of the project of that name.
    pub fn number(&self, name: &ResourceName) -> Option<u32> {
        self.rows.find(name)
    }

    /// Writes `project`: its number, and the project of the same name it replaced.
    pub fn put(&mut self, project: &Project) -> (u32, Option<Project>) {
        let span = self.append(project);
        let (number, old) = self.rows.put(&project.name, span);
        (
            number,
            old.map(|old| self.retire(project.name.clone(), old)),
        )
    }

    /// Deletes the project of that name: its number, free for the next new project, and the
    /// project.
    pub fn remove(&mut self, name: &ResourceName) -> Option<(u32, Project)> {
        let (number, old) = self.rows.remove(name)?;
        Some((number, self.retire(name.clone(), old)))
    }

    /// The projects named after `after` (every one for `None`), in name order.
    pub fn after(&self, after: Option<&str>) -> impl Iterator<Item = Project> + '_ {
        self.rows.after(after).map(|number| self.project(number))
    }

    /// Every project, in name order.
    pub fn values(&self) -> impl Iterator<Item = Project> + '_ {
        self.after(None)
    }

    /// The numbers of `numbers` named after `after`, in name order.
    pub fn sorted_by_name(&self, numbers: &RoaringBitmap, after: Option<&str>) -> Vec<u32> {
        self.rows.sorted_by_name(numbers.iter(), after)
    }

    /// The numbers of the projects named after `after` (every one for `None`), in name order.
    pub fn numbers_after(&self, after: Option<&str>) -> impl Iterator<Item = u32> + '_ {
        self.rows.after(after)
    }

    /// The name of the project numbered `number`.
    pub fn name_at(&self, number: u32) -> ResourceName {
        self.rows.name(number)
    }

    /// The project numbered `number`.
    pub fn at(&self, number: u32) -> Project {
        self.project(number)
    }

    /// What sums over funding read of the project numbered `number`.
    pub fn funding_at(&self, number: u32) -> FundingView<'_> {
        let span = *self.rows.row(number);
        unpack_funding(&self.bytes[span.range()], &self.shared)
    }

    fn project(&self, number: u32) -> Project {
        unpack(self.rows.name(number), self.row_at(number))
    }

    fn row_at(&self, number: u32) -> ProjectRow<'_> {
        let span = *self.rows.row(number);
        row(&self.bytes[span.range()], &self.shared)
    }

    /// Packs `project` at the end of the buffer.
    fn append(&mut self, project: &Project) -> Span {
        let start = self.bytes.len();
        pack(project, &mut self.bytes, &mut self.shared);
        Span {
            start: start as u64,
            len: u32::try_from(self.bytes.len() - start).expect("a project packs into 4 GiB"),
        }
    }

    /// The project that was at `span`, whose bytes are dead now; its shared values are
    /// counted out.
    fn retire(&mut self, name: ResourceName, span: Span) -> Project {
        let old = unpack(name, row(&self.bytes[span.range()], &self.shared));
        self.shared.release(&old);
        self.dead_bytes += span.len as usize;
        if self.dead_bytes > 1 << 20 && self.dead_bytes > self.bytes.len() / 2 {
            self.compact();
        }
        old
    }

    /// Rewrites the buffer without dead bytes.
    fn compact(&mut self) {
        let ProjectTable { rows, bytes, .. } = self;
        let mut compacted = Vec::with_capacity(bytes.len() - self.dead_bytes);
        for span in rows.rows_mut() {
            let start = compacted.len();
            compacted.extend_from_slice(&bytes[span.range()]);
            span.start = start as u64;
        }
        self.bytes = compacted;
        self.dead_bytes = 0;
    }
}

impl Shared {
    fn name(&mut self, name: &ResourceName) -> u128 {
        u128::from(self.names.acquire(name.clone()))
    }

    /// The name whose number `r` reads next.
    fn name_in(&self, r: &mut Reader) -> &ResourceName {
        self.names.get(r.index() as u32)
    }

    /// Counts a project's uses of shared values out.
    fn release(&mut self, project: &Project) {
        let references = project
            .pairing
            .iter()
            .chain([&project.party])
            .chain(project.recipients.iter().map(|r| &r.area))
            .chain(project.outputs.iter().map(|o| &o.indicator));
        for name in references {
            if let Some(id) = self.names.find(name) {
                self.names.release(id);
            }
        }
        if let Some(id) = self.provenances.find(&project.provenance) {
            self.provenances.release(id);
        }
    }
}

fn pack(project: &Project, out: &mut Vec<u8>, shared: &mut Shared) {
    let mut w = Writer(out);
    w.text(&project.title);
    w.text(&project.description);
    match &project.pairing {
        None => w.unsigned(0),
        Some(pairing) => w.unsigned(1 + shared.name(pairing)),
    }
    w.unsigned(shared.name(&project.party));
    w.unsigned(project.recipients.len() as u128);
    for recipient in &project.recipients {
        w.unsigned(shared.name(&recipient.area));
        w.decimal(recipient.share_percent);
    }
    w.byte(project.field as u8);
    w.byte(u8::from(project.livelihood));
    w.byte(project.status as u8);
    w.date(project.planned_start_date);
    w.date(project.planned_end_date);
    w.date(project.actual_start_date);
    w.date(project.actual_end_date);
    w.unsigned(project.outputs.len() as u128);
    for output in &project.outputs {
        w.unsigned(shared.name(&output.indicator));
        w.decimal(output.value);
    }
    w.unsigned(project.funding_lines.len() as u128);
    for line in &project.funding_lines {
        w.byte(line.funding_type as u8);
        w.signed(i64::from(line.year));
        w.date(line.date);
        w.text(&line.amount.currency);
        w.decimal(line.amount.amount);
        w.date(line.value_date);
    }
    w.byte(project.data_status as u8);
    w.unsigned(u128::from(
        shared.provenances.acquire(project.provenance.clone()),
    ));
    w.signed(project.meta.revision);
    w.time(project.meta.create_time);
    w.time(project.meta.update_time);
}

/// A project as its packed row holds it, borrowed from the table: what a Get writes to the
/// wire without unpacking the project (its texts and lists allocated, checked and freed
/// again). Texts are the bytes of the strings the table was given, names and provenance the
/// table's own, and lists are read as they are iterated. In `pack`'s order, which is also
/// the order of `pairing.v1.Project`'s fields.
pub struct ProjectRow<'a> {
    pub title: &'a [u8],
    pub description: &'a [u8],
    pub pairing: Option<&'a ResourceName>,
    pub party: &'a ResourceName,
    pub recipients: Items<'a, Recipient<'a>>,
    pub field: SupportField,
    pub livelihood: bool,
    pub status: ProjectStatus,
    pub planned_start_date: PackedDate,
    pub planned_end_date: PackedDate,
    pub actual_start_date: PackedDate,
    pub actual_end_date: PackedDate,
    pub outputs: Items<'a, Output<'a>>,
    pub funding_lines: Items<'a, Line<'a>>,
    pub data_status: DataStatus,
    pub provenance: &'a Arc<Provenance>,
    pub revision: i64,
    pub create_time: PackedTime,
    pub update_time: PackedTime,
}

// A list is stepped over when the row is read (`Item::skip`) and read as it is iterated; its
// items keep their decimals and dates as packed, made values only where they are used.

/// A recipient area in a packed row.
pub struct Recipient<'a> {
    pub area: &'a ResourceName,
    pub share_percent: PackedDecimal,
}

/// An output in a packed row.
pub struct Output<'a> {
    pub indicator: &'a ResourceName,
    pub value: PackedDecimal,
}

/// A funding line in a packed row; its currency code's bytes as the table holds them.
pub struct Line<'a> {
    pub funding_type: FundingType,
    pub year: i32,
    pub date: PackedDate,
    pub currency: &'a [u8],
    pub amount: PackedDecimal,
    pub value_date: PackedDate,
}

/// An item of a list in a packed row.
trait Item<'a> {
    fn read(r: &mut Reader<'a>, shared: &'a Shared) -> Self;

    /// Steps over an item: its bytes' ends found, none of its values read.
    fn skip(r: &mut Reader<'a>);
}

/// A list item made of a shared name and a decimal: a recipient or an output.
trait NameAndDecimal<'a> {
    fn of(name: &'a ResourceName, decimal: PackedDecimal) -> Self;
}

impl<'a, T: NameAndDecimal<'a>> Item<'a> for T {
    fn read(r: &mut Reader<'a>, shared: &'a Shared) -> Self {
        let name = shared.name_in(r);
        T::of(name, r.packed_decimal())
    }

    fn skip(r: &mut Reader<'a>) {
        r.skip_index();
        r.skip_decimal();
    }
}

impl<'a> NameAndDecimal<'a> for Recipient<'a> {
    fn of(area: &'a ResourceName, share_percent: PackedDecimal) -> Self {
        Recipient {
            area,
            share_percent,
        }
    }
}

impl<'a> NameAndDecimal<'a> for Output<'a> {
    fn of(indicator: &'a ResourceName, value: PackedDecimal) -> Self {
        Output { indicator, value }
    }
}

impl<'a> Item<'a> for Line<'a> {
    fn read(r: &mut Reader<'a>, _: &'a Shared) -> Self {
        Line {
            funding_type: FundingType::ALL[usize::from(r.byte())],
            year: r.signed() as i32,
            date: r.packed_date(),
            currency: r.text_bytes(),
            amount: r.packed_decimal(),
            value_date: r.packed_date(),
        }
    }

    fn skip(r: &mut Reader<'a>) {
        r.byte();
        r.skip_index();
        r.skip_date();
        r.skip_text();
        r.skip_decimal();
        r.skip_date();
    }
}

/// A list in a packed row, read item by item as it is iterated. Items are read by their type's
/// `Item::read` and stepped over by its `Item::skip`, not through a function pointer: inlined,
/// and the pass that steps over a list reads no value.
pub struct Items<'a, T> {
    reader: Reader<'a>,
    left: usize,
    shared: &'a Shared,
    item: PhantomData<T>,
}

/// The list at `r`'s position, which `r` steps over.
fn items<'a, T: Item<'a>>(r: &mut Reader<'a>, shared: &'a Shared) -> Items<'a, T> {
    let items = Items {
        left: r.index(),
        reader: r.clone(),
        shared,
        item: PhantomData,
    };
    for _ in 0..items.left {
        T::skip(r);
    }
    items
}

impl<'a, T: Item<'a>> ExactSizeIterator for Items<'a, T> {}

impl<'a, T: Item<'a>> Iterator for Items<'a, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.left = self.left.checked_sub(1)?;
        Some(T::read(&mut self.reader, self.shared))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// The packed project in `bytes`.
fn row<'a>(bytes: &'a [u8], shared: &'a Shared) -> ProjectRow<'a> {
    let mut r = Reader::new(bytes);
    ProjectRow {
        title: r.text_bytes(),
        description: r.text_bytes(),
        pairing: r
            .index()
            .checked_sub(1)
            .map(|id| shared.names.get(id as u32)),
        party: shared.name_in(&mut r),
        recipients: items(&mut r, shared),
        field: SupportField::ALL[usize::from(r.byte())],
        livelihood: r.byte() != 0,
        status: ProjectStatus::ALL[usize::from(r.byte())],
        planned_start_date: r.packed_date(),
        planned_end_date: r.packed_date(),
        actual_start_date: r.packed_date(),
        actual_end_date: r.packed_date(),
        outputs: items(&mut r, shared),
        funding_lines: items(&mut r, shared),
        data_status: DataStatus::ALL[usize::from(r.byte())],
        provenance: shared.provenances.get(r.index() as u32),
        revision: r.signed(),
        create_time: r.packed_time(),
        update_time: r.packed_time(),
    }
}

/// `project` packed alone and read back as a row: how a project that is in no table (one
/// read from the change log) is written as the tables' projects are.
pub fn with_project_row<R>(project: &Project, read: impl FnOnce(ProjectRow<'_>) -> R) -> R {
    let (mut bytes, mut shared) = (Vec::new(), Shared::default());
    pack(project, &mut bytes, &mut shared);
    read(row(&bytes, &shared))
}

/// The project `name` whose packed row is `row`, its own values made of the row's.
fn unpack(name: ResourceName, row: ProjectRow) -> Project {
    Project {
        name,
        title: text(row.title).to_owned(),
        description: text(row.description).to_owned(),
        pairing: row.pairing.cloned(),
        party: row.party.clone(),
        recipients: row
            .recipients
            .map(|r| RecipientArea {
                area: r.area.clone(),
                share_percent: r.share_percent.get(),
            })
            .collect(),
        field: row.field,
        livelihood: row.livelihood,
        status: row.status,
        planned_start_date: row.planned_start_date.get(),
        planned_end_date: row.planned_end_date.get(),
        actual_start_date: row.actual_start_date.get(),
        actual_end_date: row.actual_end_date.get(),
        outputs: row
            .outputs
            .map(|o| ProjectOutput {
                indicator: o.indicator.clone(),
                value: o.value.get(),
            })
            .collect(),
        funding_lines: row
            .funding_lines
            .map(|line| FundingLine {
                funding_type: line.funding_type,
                year: line.year,
                date: line.date.get(),
                amount: Money {
                    currency: text(line.currency).to_owned(),
                    amount: line.amount.get(),
                },
                value_date: line.value_date.get(),
            })
            .collect(),
        data_status: row.data_status,
        provenance: row.provenance.clone(),
        meta: Meta {
            revision: row.revision,
            create_time: row.create_time.get(),
            update_time: row.update_time.get(),
        },
    }
}

/// The funding view of a packed project: `unpack`'s reading, stepping over what the view
/// leaves out (the test `funding_views_read_as_whole_projects_do` holds the two together).
fn unpack_funding<'a>(bytes: &'a [u8], shared: &Shared) -> FundingView<'a> {
    let mut r = Reader::new(bytes);
    r.skip_text(); // title
    r.skip_text(); // description
    r.index(); // pairing
    r.index(); // party
    let recipients = (0..r.index())
        .map(|_| RecipientArea {
            area: shared.name_in(&mut r).clone(),
            share_percent: r.decimal(),
        })
        .collect();
    r.byte(); // field
    let livelihood = r.byte() != 0;
    r.byte(); // status
    for _ in 0..4 {
        r.skip_date(); // planned and actual start and end
    }
    let outputs = (0..r.index())
        .map(|_| ProjectOutput {
            indicator: shared.name_in(&mut r).clone(),
            value: r.decimal(),
        })
        .collect();
    let lines = (0..r.index())
        .map(|_| {
            let funding_type = FundingType::ALL[usize::from(r.byte())];
            let year = r.signed() as i32;
            r.skip_date();
            LineView {
                funding_type,
                year,
                currency: r.text(),
                amount: r.decimal(),
                value_date: r.date(),
            }
        })
        .collect();
    FundingView {
        recipients,
        livelihood,
        outputs,
        lines,
        data_status: DataStatus::ALL[usize::from(r.byte())],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::Resource;
    use crate::seed;

    /// The demo projects (pairings, outputs, descriptions, dates) and scaled ones.
    fn projects(scaled: usize) -> Vec<Project> {
        let mut resources = seed::demo_resources().unwrap();
        seed::each_scaled_resource(scaled, 0, |r| resources.push(r)).unwrap();
        resources
            .into_iter()
            .filter_map(|r| match r {
                Resource::Project(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// `project` changed in every part the packing keeps.
    fn changed(mut project: Project, round: i64) -> Project {
        project.title.push_str(" (revised)");
        project.description = format!("revision {round}: é ✓");
        project.livelihood = !project.livelihood;
        project.status = ProjectStatus::ALL[round as usize % ProjectStatus::ALL.len()];
        project.actual_end_date = chrono::NaiveDate::from_ymd_opt(2030, 1, 2);
        project.funding_lines.push(FundingLine {
            funding_type: FundingType::Disbursement,
            year: -44,
            date: None,
            amount: Money {
                currency: "USD".into(),
                amount: Decimal::new(-12_345, 3),
            },
            value_date: chrono::NaiveDate::from_ymd_opt(2021, 12, 31),
        });
        project.meta = Meta {
            revision: round,
            create_time: Some(Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap()),
            update_time: None,
        };
        project
    }

    #[test]
    fn funding_views_read_as_whole_projects_do() {
        let mut table = ProjectTable::default();
        for (round, project) in projects(2_000).into_iter().enumerate() {
            let project = changed(project, round as i64);
            let (number, _) = table.put(&project);
            assert_eq!(table.funding_at(number), FundingView::of(&project));
        }
    }

    #[test]
    fn projects_read_back_as_written_through_replacements_and_deletes() {
        let all = projects(12_000);
        assert!(
            all.iter()
                .any(|p| p.pairing.is_some() && !p.outputs.is_empty())
        );
        let mut expected: BTreeMap<ResourceName, Project> =
            all.iter().map(|p| (p.name.clone(), p.clone())).collect();
        let mut table = ProjectTable::default();
        all.iter().for_each(|p| _ = table.push_loaded(p));
        table.finish_loading();
        assert!(table.values().eq(expected.values().cloned()));

        for round in 1..=3 {
            for (i, project) in all.iter().enumerate() {
                if i % 7 == round as usize {
                    let removed = table.remove(&project.name).map(|(_, p)| p);
                    assert_eq!(removed.as_ref(), expected.get(&project.name));
                    expected.remove(&project.name);
                } else {
                    let project = changed(project.clone(), round);
                    let (_, old) = table.put(&project);
                    assert_eq!(old.as_ref(), expected.get(&project.name));
                    expected.insert(project.name.clone(), project);
                }
            }
        }
        assert!(
            table.bytes.len() > 1 << 20 && table.dead_bytes <= table.bytes.len() / 2,
            "rounds that left more dead bytes than live ones were compacted: {} dead of {}",
            table.dead_bytes,
            table.bytes.len()
        );
        assert_eq!(table.len(), expected.len());
        assert!(table.values().eq(expected.values().cloned()));
        for (name, project) in &expected {
            assert_eq!(table.get(name).as_ref(), Some(project));
        }
        let last = expected.keys().nth(expected.len() / 2).unwrap();
        assert!(
            table.after(Some(last.as_str())).map(|p| p.name).eq(expected
                .range::<ResourceName, _>((
                    std::ops::Bound::Excluded(last),
                    std::ops::Bound::Unbounded
                ))
                .map(|(n, _)| n.clone()))
        );

        for name in expected.keys() {
            table.remove(name);
        }
        assert!(table.is_empty());
        let party = &all[0].party;
        assert_eq!(
            table.shared.names.find(party),
            None,
            "no use left, no value kept"
        );
        assert_eq!(table.shared.provenances.find(&all[0].provenance), None);
    }
}

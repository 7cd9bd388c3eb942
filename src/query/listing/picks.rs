//! The items a filter picks, read from the model's indexes instead of from every item: each
//! comparison of the filter is judged once per distinct value an index keeps (a party, a
//! year, an area with the areas above it) and picks the rows holding the values it accepts;
//! a substring of a title or description is looked up by its n-grams (exactly, or checked on
//! the rows holding them all). The picks combine as the filter does (`Filter::pick`), so a
//! listing counts its matches and pages through them, in name order or ordered by indexed
//! fields, without unpacking what it does not return.

use std::borrow::Cow;
use std::marker::PhantomData;

use roaring::RoaringBitmap;

use super::fields::{
    Field, Listed, ObservationField, ProjectField, areas_and_ancestors, first_year, integer, name,
    optional_name, ordinal, text,
};
use super::filter::{Filter, ItemSet, Operator, Row};
use super::value::Value;
use crate::domain::{Area, Indicator, Observation, Pairing, Party, Project};
use crate::query::interrupt::{Interrupt, Interrupted};
use crate::query::model::{Found, NGrams, Numbered, ReadModel, Reading};

/// Whether `picks` of a collection of `rows` are put in name order faster by walking the
/// collection's name order and keeping the picked (about `rows / picks` steps a pick, for a
/// page of typically 64) than by sorting them by id (`picks * log2(picks)` comparisons of ids,
/// each worth about four steps). Few picks among many rows are sorted; many, or a fair share
/// of a small collection, are walked.
fn walk_name_order(picks: u64, rows: u64) -> bool {
    const PAGE: u64 = 64;
    const STEPS_PER_COMPARISON: u64 = 4;
    let log2 = u64::from(64 - picks.max(1).leading_zeros());
    PAGE * rows < STEPS_PER_COMPARISON * picks * picks * log2
}

/// One key of an `order_by`: a field (its index in the collection's fields) and direction.
#[derive(Clone, Copy, Debug)]
pub struct OrderTerm {
    pub field: usize,
    pub descending: bool,
}

/// The items a filter picked from an index: all that match, and only those.
pub trait Picked<T> {
    /// How many there are.
    fn count(&self) -> usize;

    /// The picks named after `after` (all for `None`), in name order.
    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = T> + 'a>;

    /// At most `limit` picks in `order` (then by name), from after the sort key `after`; `None`
    /// when some field of the order has no index to order by and the picks must be sorted.
    fn ordered<'a>(
        &'a self,
        order: &[OrderTerm],
        after: Option<&[Value]>,
        limit: usize,
    ) -> Option<Box<dyn Iterator<Item = T> + 'a>>;
}

/// A collection a listing may pick from an index: `picked` gives the items `filter` picks,
/// all and only those (every item for the empty filter), or `None` when there is no index
/// for this collection and every item is read.
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

/// Pickable from their indexes.
macro_rules! indexed {
    ($($collection:ty),*) => {$(
        impl Pickable for $collection {
            fn picked<'m>(
                model: &'m ReadModel,
                filter: &Filter,
                interrupt: &Interrupt,
            ) -> Result<Option<Box<dyn Picked<Self> + 'm>>, Interrupted> {
                picks(model, filter, interrupt)
            }
        }
    )*};
}

indexed!(Project, Observation);

/// The items of an indexed collection `filter` picks.
fn picks<'m, T: Indexed + 'm>(
    model: &'m ReadModel,
    filter: &Filter,
    interrupt: &Interrupt,
) -> Result<Option<Box<dyn Picked<T> + 'm>>, Interrupted> {
    let numbers = picked_numbers::<T>(model, filter, interrupt)?;
    Ok(Some(Box::new(Picks::<T> {
        model,
        numbers,
        collection: PhantomData,
    })))
}

/// How the index answers one field of a collection.
enum Lookup<'m> {
    /// Each distinct key with the field's values for it and the rows holding it.
    Keys(Box<dyn Iterator<Item = (Vec<Value>, &'m RoaringBitmap)> + 'm>),
    /// Read row by row, or for a substring looked up in an n-gram index if there is one.
    Text {
        ngrams: Option<&'m NGrams>,
        texts: Texts<'m>,
    },
}

/// Calls its visitor with the number and text of each row given, in order, until the visitor
/// returns false.
type Texts<'m> = Box<dyn Fn(&RoaringBitmap, &mut dyn FnMut(u32, &str) -> bool) + 'm>;

/// Texts read one row at a time by `text_of`.
fn each_row<'m>(text_of: impl Fn(u32) -> Cow<'m, str> + 'm) -> Texts<'m> {
    Box::new(move |numbers, visit| {
        for number in numbers {
            if !visit(number, &text_of(number)) {
                return;
            }
        }
    })
}

/// A collection kept in a numbered table with indexes.
trait Indexed: Listed + Sized + 'static {
    /// Every live row's number.
    fn live(model: &ReadModel) -> &RoaringBitmap;
    /// How the index answers `field`.
    fn lookup(model: &ReadModel, field: Self::Field) -> Lookup<'_>;
    /// The table keeping it.
    fn table(model: &ReadModel) -> &dyn Numbered<Self>;
}

impl Indexed for Project {
    fn live(model: &ReadModel) -> &RoaringBitmap {
        &model.project_index().live
    }

    fn lookup(model: &ReadModel, field: ProjectField) -> Lookup<'_> {
        let index = model.project_index();
        match field {
            ProjectField::Name => Lookup::Text {
                ngrams: None,
                texts: each_row(|n| model.projects.name_at(n).as_str().to_owned().into()),
            },
            ProjectField::Title => {
                let members = &model.funding_cube().members;
                // The cube's title column holds every title unless some project has no row.
                let texts: Texts<'_> = if members.complete() {
                    Box::new(|numbers, visit| {
                        members.each(numbers, Reading::Titles, |n, member| {
                            visit(n, member.title())
                        })
                    })
                } else {
                    each_row(|n| model.projects.at(n).title.into())
                };
                Lookup::Text {
                    ngrams: Some(&index.title),
                    texts,
                }
            }
            ProjectField::Description => Lookup::Text {
                ngrams: Some(&index.description),
                texts: each_row(|n| model.projects.at(n).description.into()),
            },
            ProjectField::Party => keys(index.party.iter(), name),
            ProjectField::Pairing => keys(index.pairing.iter(), |p| optional_name(p.as_ref())),
            ProjectField::Area => keys(index.recipient.iter(), |area| {
                areas_and_ancestors(std::iter::once(area), model)
            }),
            ProjectField::Field => keys(index.field.iter(), |f| ordinal(*f)),
            ProjectField::Livelihood => keys(index.livelihood.iter(), |l| vec![Value::Bool(*l)]),
            ProjectField::Status => keys(index.status.iter(), |s| ordinal(*s)),
            ProjectField::DataStatus => keys(index.data_status.iter(), |s| ordinal(*s)),
            ProjectField::Year => keys(index.year.iter(), |y| integer(*y)),
        }
    }

    fn table(model: &ReadModel) -> &dyn Numbered<Self> {
        &model.projects
    }
}

impl Indexed for Observation {
    fn live(model: &ReadModel) -> &RoaringBitmap {
        &model.observations.index().live
    }

    fn lookup(model: &ReadModel, field: ObservationField) -> Lookup<'_> {
        let table = &model.observations;
        let index = table.index();
        match field {
            ObservationField::Name => Lookup::Text {
                ngrams: None,
                texts: each_row(|n| table.name_at(n).as_str().to_owned().into()),
            },
            ObservationField::Indicator => {
                keys(index.indicator.iter(), |k| name(table.indicator_of(*k)))
            }
            ObservationField::Area => keys(index.area.iter(), |k| name(table.area_of(*k))),
            ObservationField::Period => keys(index.period.iter(), |k| text(table.period_of(*k))),
            ObservationField::Year => {
                keys(index.period.iter(), |k| first_year(table.period_of(*k)))
            }
            ObservationField::Qualifier => keys(index.qualifier.iter(), |q| ordinal(*q)),
            ObservationField::Status => keys(index.status.iter(), |s| ordinal(*s)),
            ObservationField::Reading => {
                keys(index.reading.iter(), |r| r.map_or_else(Vec::new, ordinal))
            }
        }
    }

    fn table(model: &ReadModel) -> &dyn Numbered<Self> {
        &model.observations
    }
}

/// A lookup by the keys of one postings list, each with the field's values for it.
fn keys<'m, K: 'm>(
    postings: impl Iterator<Item = (&'m K, &'m RoaringBitmap)> + 'm,
    values_of: impl Fn(&K) -> Vec<Value> + 'm,
) -> Lookup<'m> {
    Lookup::Keys(Box::new(
        postings.map(move |(key, rows)| (values_of(key), rows)),
    ))
}

/// The rows of `T` a filter picked, by number.
struct Picks<'m, T> {
    model: &'m ReadModel,
    numbers: RoaringBitmap,
    collection: PhantomData<T>,
}

impl<T: Indexed> Picked<T> for Picks<'_, T> {
    fn count(&self) -> usize {
        self.numbers.len() as usize
    }

    fn after<'a>(&'a self, after: Option<&str>) -> Box<dyn Iterator<Item = T> + 'a> {
        let model = self.model;
        Box::new(
            in_name_order::<T>(model, &self.numbers, after).map(move |n| T::table(model).at(n)),
        )
    }

    fn ordered<'a>(
        &'a self,
        order: &[OrderTerm],
        after: Option<&[Value]>,
        limit: usize,
    ) -> Option<Box<dyn Iterator<Item = T> + 'a>> {
        let mut groups = Vec::with_capacity(order.len());
        for term in order {
            let mut by_value = match T::lookup(self.model, <T::Field as Field>::ALL[term.field]) {
                Lookup::Keys(keys) => grouped(keys),
                Lookup::Text { .. } => return None,
            };
            if term.descending {
                by_value.reverse();
            }
            groups.push(by_value);
        }
        let mut numbers = Vec::with_capacity(limit);
        let walk = OrderWalk {
            model: self.model,
            order,
            groups: &groups,
            after,
            limit,
        };
        walk.collect::<T>(0, &self.numbers, true, &mut numbers);
        let model = self.model;
        Some(Box::new(
            numbers.into_iter().map(move |n| T::table(model).at(n)),
        ))
    }
}

/// The rows of each distinct value a field sorts by (its first value, or null), in value
/// order.
fn grouped<'m>(
    keys: Box<dyn Iterator<Item = (Vec<Value>, &'m RoaringBitmap)> + 'm>,
) -> Vec<(Value, RoaringBitmap)> {
    let mut groups: Vec<(Value, RoaringBitmap)> = Vec::new();
    for (values, rows) in keys {
        let value = values.into_iter().next().unwrap_or(Value::Null);
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, group)) => *group |= rows,
            None => groups.push((value, rows.clone())),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

/// A walk through picks in the order of an `order_by`: by the first field's values, within
/// each by the next field's, and last by name, from after a cursor.
struct OrderWalk<'w> {
    model: &'w ReadModel,
    order: &'w [OrderTerm],
    groups: &'w [Vec<(Value, RoaringBitmap)>],
    after: Option<&'w [Value]>,
    limit: usize,
}

impl OrderWalk<'_> {
    /// Adds to `out`, up to the limit, the rows of `set` in order from order term `level` on;
    /// `bound` while every value chosen so far equals the cursor's, so the cursor still
    /// decides where the walk starts.
    fn collect<T: Indexed>(
        &self,
        level: usize,
        set: &RoaringBitmap,
        bound: bool,
        out: &mut Vec<u32>,
    ) {
        let cursor = self.after.filter(|_| bound);
        if level == self.order.len() {
            let after = match cursor.and_then(|key| key.last()) {
                Some(Value::Text(name)) => Some(name.as_str()),
                _ => None,
            };
            let room = self.limit - out.len();
            out.extend(in_name_order::<T>(self.model, set, after).take(room));
            return;
        }
        let descending = self.order[level].descending;
        for (value, rows) in &self.groups[level] {
            let still_bound = match cursor.map(|key| &key[level]) {
                None => false,
                Some(from) => {
                    let ordering = if descending {
                        from.cmp(value)
                    } else {
                        value.cmp(from)
                    };
                    match ordering {
                        std::cmp::Ordering::Less => continue,
                        std::cmp::Ordering::Equal => true,
                        std::cmp::Ordering::Greater => false,
                    }
                }
            };
            let within = set & rows;
            if !within.is_empty() {
                self.collect::<T>(level + 1, &within, still_bound, out);
            }
            if out.len() >= self.limit {
                return;
            }
        }
    }
}

/// The numbers of `numbers` named after `after`, in name order: a few sorted by name, many
/// kept from a walk of the name order.
fn in_name_order<'a, T: Indexed>(
    model: &'a ReadModel,
    numbers: &'a RoaringBitmap,
    after: Option<&str>,
) -> Box<dyn Iterator<Item = u32> + 'a> {
    if walk_name_order(numbers.len(), T::live(model).len()) {
        return Box::new(
            T::table(model)
                .numbers_after(after)
                .filter(|n| numbers.contains(*n)),
        );
    }
    Box::new(T::table(model).sorted_by_name(numbers, after).into_iter())
}

impl ItemSet for RoaringBitmap {
    fn union(self, other: Self) -> Self {
        self | other
    }

    fn without(self, other: &Self) -> Self {
        self - other
    }
}

/// The numbers of the projects `filter` picks.
pub fn projects(
    model: &ReadModel,
    filter: &Filter,
    interrupt: &Interrupt,
) -> Result<RoaringBitmap, Interrupted> {
    picked_numbers::<Project>(model, filter, interrupt)
}

/// The numbers of the items of `T` that `filter` picks.
fn picked_numbers<T: Indexed>(
    model: &ReadModel,
    filter: &Filter,
    interrupt: &Interrupt,
) -> Result<RoaringBitmap, Interrupted> {
    let lookup = |field: usize| T::lookup(model, <T::Field as Field>::ALL[field]);
    let costly = |field: usize| matches!(lookup(field), Lookup::Text { .. });
    filter.pick(
        T::live(model).clone(),
        &costly,
        &mut |comparison, within: &RoaringBitmap| match lookup(comparison.field) {
            Lookup::Keys(keys) => {
                // Within a few rows, each key's rows are cut down first; within many, the
                // union is, once.
                let few = within.len() * 16 < T::live(model).len();
                let mut numbers = RoaringBitmap::new();
                for (values, rows) in keys {
                    if comparison.holds(&KeyRow(values)) {
                        if few {
                            numbers |= rows & within;
                        } else {
                            numbers |= rows;
                        }
                    }
                }
                if !few {
                    numbers &= within;
                }
                Ok(numbers)
            }
            Lookup::Text { ngrams, texts } => {
                let found = match (ngrams, comparison.operator, comparison.value) {
                    (Some(ngrams), Operator::Has, Value::Text(part)) => ngrams.find(part),
                    _ => None,
                };
                let candidates = match found {
                    Some(Found::Exactly(rows)) => return Ok(rows & within),
                    Some(Found::Perhaps(rows)) => rows & within,
                    None => within.clone(),
                };
                let mut numbers = Vec::new();
                texts(&candidates, &mut |number, text| {
                    if comparison.holds(&TextRow(text)) {
                        numbers.push(number);
                    }
                    !interrupt.is_raised()
                });
                interrupt.check()?;
                Ok(numbers.into_iter().collect())
            }
        },
    )
}

/// The values one key of an index stands for, as a comparison reads a row's.
struct KeyRow(Vec<Value>);

impl Row for KeyRow {
    fn values(&self, _field: usize) -> Vec<Value> {
        self.0.clone()
    }
}

/// One text value, as a comparison reads a row's.
struct TextRow<'t>(&'t str);

impl Row for TextRow<'_> {
    fn values(&self, _field: usize) -> Vec<Value> {
        vec![Value::text(self.0)]
    }

    fn text(&self, _field: usize) -> Option<&str> {
        Some(self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::{
        Collection, Committed, DataStatus, Labelled, ProjectStatus, Qualifier, RecipientArea,
        Resource, ResourceName, SupportField, Write,
    };
    use crate::query::listing::fields::ItemRow;
    use crate::query::model::image;

    fn model() -> ReadModel {
        let mut resources = crate::seed::demo_resources().unwrap();
        crate::seed::each_scaled_resource(150, 600, |r| resources.push(r)).unwrap();
        ReadModel::from_resources(1, resources)
    }

    #[test]
    fn sorting_picks_by_id_and_walking_the_name_order_give_the_same_order() {
        let model = model();
        let table = <Project as Indexed>::table(&model);
        let live = <Project as Indexed>::live(&model);
        let names: Vec<String> = model
            .projects
            .after(None)
            .map(|p| p.name.to_string())
            .collect();
        for step in [1, 2, 7, 50, 400] {
            let picks: RoaringBitmap = live.iter().step_by(step).collect();
            let cursors = [
                None,
                Some("projects/"),
                Some("parties/zzz"),
                Some("projects/zzz"),
                Some(names[names.len() / 3].as_str()),
                Some(names[names.len() / 2].as_str()),
            ];
            for after in cursors {
                let walked: Vec<u32> = table
                    .numbers_after(after)
                    .filter(|n| picks.contains(*n))
                    .collect();
                assert_eq!(
                    table.sorted_by_name(&picks, after),
                    walked,
                    "{step} {after:?}"
                );
            }
        }
    }

    #[test]
    fn few_picks_among_many_rows_are_sorted_and_many_walked() {
        assert!(!walk_name_order(100, 1_000_000), "a hundred of a million");
        assert!(!walk_name_order(1_000, 1_000_000));
        assert!(
            walk_name_order(91_142, 1_000_000),
            "the benchmark's listing"
        );
        assert!(
            walk_name_order(400, 1_300),
            "a fair share of a small record"
        );
        assert!(!walk_name_order(0, 1_300));
    }

    /// One comparison a caller might write about projects, from a few choices per field.
    fn project_comparison(model: &ReadModel) -> BoxedStrategy<String> {
        let parties: Vec<String> = model.parties.keys().map(|n| n.to_string()).collect();
        let areas: Vec<String> = model.areas.keys().map(|n| n.to_string()).collect();
        let label = |labels: &'static [&'static str]| prop::sample::select(labels.to_vec());
        prop_oneof![
            label(SupportField::LABELS).prop_map(|f| format!("field = {f}")),
            label(ProjectStatus::LABELS).prop_map(|s| format!("status != {s}")),
            label(DataStatus::LABELS).prop_map(|s| format!("data_status = {s}")),
            any::<bool>().prop_map(|l| format!("livelihood = {l}")),
            (
                2010i32..2024,
                prop::sample::select(vec!["=", "<", ">=", "!="])
            )
                .prop_map(|(y, op)| format!("year {op} {y}")),
            prop::sample::select(parties).prop_map(|p| format!("party = \"{p}\"")),
            prop::sample::select(areas).prop_map(|a| format!("area = \"{a}\"")),
            Just("pairing != \"\"".to_owned()),
            prop::sample::select(vec![
                "water",
                "WATER",
                "ｗａｔｅｒ",
                "er",
                "1",
                "project 1",
                "school",
                "zzz",
                "",
                "in ",
            ])
            .prop_map(|t| format!("title:\"{t}\"")),
            Just("title = \"Scaled*\"".to_owned()),
            Just("title > \"S\"".to_owned()),
            prop::sample::select(vec!["school", "the", "x"])
                .prop_map(|t| format!("description:\"{t}\"")),
            Just("name = \"projects/scale-00000*\"".to_owned()),
        ]
        .boxed()
    }

    /// One comparison a caller might write about observations.
    fn observation_comparison(model: &ReadModel) -> BoxedStrategy<String> {
        let indicators: Vec<String> = model.indicators.keys().map(|n| n.to_string()).collect();
        let areas: Vec<String> = model.areas.keys().map(|n| n.to_string()).collect();
        let label = |labels: &'static [&'static str]| prop::sample::select(labels.to_vec());
        prop_oneof![
            prop::sample::select(indicators).prop_map(|i| format!("indicator = \"{i}\"")),
            prop::sample::select(areas).prop_map(|a| format!("area = \"{a}\"")),
            (2005i32..2024, prop::sample::select(vec!["=", "<", ">="]))
                .prop_map(|(y, op)| format!("year {op} {y}")),
            prop::sample::select(vec![
                "period >= \"2015\"",
                "period:\"-Q\"",
                "period = \"20*\""
            ])
            .prop_map(str::to_owned),
            label(Qualifier::LABELS).prop_map(|q| format!("qualifier = {q}")),
            label(DataStatus::LABELS).prop_map(|s| format!("status != {s}")),
            Just("name:\"scale\"".to_owned()),
        ]
        .boxed()
    }

    /// Filters of up to three levels of AND, OR and NOT over `comparison`.
    fn filter(comparison: BoxedStrategy<String>) -> impl Strategy<Value = String> {
        comparison.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
                inner.prop_map(|a| format!("NOT ({a})")),
            ]
        })
    }

    /// The names a filter picks from the index, and those it matches item by item.
    fn both_ways<T: Pickable>(
        model: &ReadModel,
        items: Vec<T>,
        filter_text: &str,
    ) -> (BTreeSet<ResourceName>, BTreeSet<ResourceName>) {
        let filter = Filter::parse(filter_text, T::FIELDS).unwrap();
        let picked = T::picked(model, &filter, &Interrupt::default())
            .unwrap()
            .expect("every non-empty filter is picked");
        let names: Vec<ResourceName> = picked
            .after(None)
            .map(|item| item.resource_name().clone())
            .collect();
        assert_eq!(names.len(), picked.count(), "{filter_text}");
        assert!(names.is_sorted(), "{filter_text}: in name order");
        let matched = items
            .iter()
            .filter(|item| filter.matches(&ItemRow { item: *item, model }))
            .map(|item| item.resource_name().clone())
            .collect();
        (names.into_iter().collect(), matched)
    }

    /// Writes that change what the indexes hold: projects edited in every indexed attribute,
    /// added and deleted, observations moved and deleted.
    fn edits(model: &ReadModel, seed: u64) -> Vec<Write> {
        let projects: Vec<Project> = model.projects.values().collect();
        let areas: Vec<ResourceName> = model.areas.keys().cloned().collect();
        let mut writes = Vec::new();
        for (i, project) in projects.iter().enumerate() {
            let roll = (i as u64).wrapping_mul(2654435761).wrapping_add(seed) % 11;
            let mut edited = project.clone();
            match roll {
                0 => writes.push(Write::Delete(project.name.clone())),
                1 => {
                    edited.title = format!("ＷＡＴＥＲ works {seed} {i}");
                    edited.field = SupportField::ALL[(i + seed as usize) % SupportField::ALL.len()];
                }
                2 => {
                    edited.recipients = vec![RecipientArea {
                        area: areas[(i + seed as usize) % areas.len()].clone(),
                        share_percent: rust_decimal::Decimal::ONE_HUNDRED,
                    }];
                    edited.livelihood = !edited.livelihood;
                }
                3 => {
                    edited.name =
                        ResourceName::new(Collection::Projects, &format!("added-{seed}-{i}"))
                            .unwrap();
                    edited.description = format!("a school for {seed}");
                    edited.funding_lines.iter_mut().for_each(|l| l.year -= 3);
                }
                _ => continue,
            }
            if roll != 0 {
                writes.push(Write::Put(Box::new(Resource::Project(edited))));
            }
        }
        for (i, observation) in model.observations.values().enumerate() {
            match (i as u64 + seed) % 13 {
                0 => writes.push(Write::Delete(observation.name)),
                1 => {
                    let mut moved = observation;
                    moved.area = areas[i % areas.len()].clone();
                    moved.period = format!("{}", 2000 + i % 25);
                    writes.push(Write::Put(Box::new(Resource::Observation(moved))));
                }
                _ => {}
            }
        }
        writes
    }

    fn check(model: &ReadModel, projects: &[String], observations: &[String]) {
        for filter in projects {
            let (picked, matched) = both_ways(model, model.projects.values().collect(), filter);
            assert_eq!(picked, matched, "{filter}");
        }
        for filter in observations {
            let items = model.observations.values().collect();
            let (picked, matched) = both_ways(model, items, filter);
            assert_eq!(picked, matched, "{filter}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the filter, the indexes pick exactly the items it matches one by one, in
        /// name order, and still do after edits in every indexed attribute, after a restart
        /// from the model's image and after edits to the model read back.
        #[test]
        fn the_indexes_pick_what_the_filter_matches_through_writes(
            (projects, observations, seed) in {
                let model = model();
                (
                    prop::collection::vec(filter(project_comparison(&model)), 4),
                    prop::collection::vec(filter(observation_comparison(&model)), 4),
                    any::<u64>(),
                )
            }
        ) {
            let mut model = model();
            check(&model, &projects, &observations);
            for round in 0..2 {
                let writes = edits(&model, seed.wrapping_add(round));
                model.apply(&Committed {
                    revision: 2 + round as i64,
                    subject: "test".into(),
                    commit_time: chrono::Utc::now(),
                    writes,
                    replayed: false,
                });
                check(&model, &projects, &observations);
            }
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("model.image");
            let of = image::ImageOf { revision: model.revision, committed_at: chrono::Utc::now() };
            image::write(&model, of, &path).unwrap();
            let (mut restored, _) = image::read(&path).unwrap();
            check(&restored, &projects, &observations);
            restored.apply(&Committed {
                revision: 4,
                subject: "test".into(),
                commit_time: chrono::Utc::now(),
                writes: edits(&restored, seed.wrapping_add(2)),
                replayed: false,
            });
            check(&restored, &projects, &observations);
        }
    }
}

//! Listing with filter, order and keyset pagination, the same for every collection.
//!
//! Pages continue strictly after the sort key of the last item served, so a listing never
//! repeats or skips an item that exists throughout it, whatever is written between pages.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::fields::{ItemRow, Listed};
use super::filter::{Filter, FilterError};
use super::page_token::{self, Cursor};
use super::picks::{OrderTerm, Pickable};
use super::value::Value;
use crate::domain::ResourceName;
use crate::query::interrupt::{Interrupt, Interrupted};
use crate::query::model::ReadModel;
use crate::query::model::Table;

/// One listing request, already checked for wire-level sanity.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub page_size: usize,
    pub page_token: String,
    pub filter: String,
    pub order_by: String,
}

/// How many bytes a page may take as answered, and what each item takes: a page ends early,
/// with a token for the rest, rather than grow past it (AIP-158 allows a shorter page).
pub struct Budget<'s, T> {
    pub max_bytes: usize,
    pub size_of: &'s dyn Fn(&T) -> usize,
}

impl<T> Budget<'_, T> {
    /// Whether an item of `size` joins a page holding `items` taking `bytes`: the first
    /// always does, so every page moves the listing on.
    fn admits(&self, items: usize, bytes: usize, size: usize) -> bool {
        items == 0 || bytes + size <= self.max_bytes
    }
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
    pub total_size: usize,
    pub revision: i64,
}

/// Why a listing request was refused; each names the request field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("invalid filter {0}")]
    Filter(#[from] FilterError),
    #[error("invalid order_by: {0}")]
    OrderBy(String),
    #[error("invalid page_token: {0}")]
    PageToken(String),
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}

/// Most keys an `order_by` may name: each is read for every item a listing sorts.
pub const MAX_ORDER_KEYS: usize = 4;

fn parse_order<T: Listed>(order_by: &str) -> Result<Vec<OrderTerm>, ListError> {
    let parts: Vec<&str> = order_by
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > MAX_ORDER_KEYS {
        return Err(ListError::OrderBy(format!(
            "at most {MAX_ORDER_KEYS} keys, got {}",
            parts.len()
        )));
    }
    let mut terms: Vec<OrderTerm> = Vec::new();
    for part in parts {
        let mut words = part.split_whitespace();
        let field_name = words.next().unwrap_or_default();
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(ListError::OrderBy(format!(
                    "expected `asc` or `desc` after `{field_name}`, got `{other}`"
                )));
            }
        };
        if let Some(extra) = words.next() {
            return Err(ListError::OrderBy(format!(
                "unexpected `{extra}` after `{part}`"
            )));
        }
        let orderable: Vec<&str> = T::FIELDS
            .iter()
            .filter(|f| !f.repeated)
            .map(|f| f.name)
            .collect();
        let field = T::FIELDS
            .iter()
            .position(|f| f.name == field_name && !f.repeated)
            .ok_or_else(|| {
                ListError::OrderBy(format!(
                    "cannot order by `{field_name}`; expected one of: {}",
                    orderable.join(", ")
                ))
            })?;
        if terms.iter().any(|t| t.field == field) {
            return Err(ListError::OrderBy(format!(
                "`{field_name}` appears more than once"
            )));
        }
        terms.push(OrderTerm { field, descending });
    }
    Ok(terms)
}

fn sort_key<T: Listed>(item: &T, order: &[OrderTerm], model: &ReadModel) -> Vec<Value> {
    let mut key: Vec<Value> = order
        .iter()
        .map(|term| {
            item.values(term.field, model)
                .into_iter()
                .next()
                .unwrap_or(Value::Null)
        })
        .collect();
    key.push(Value::text(item.resource_name().as_str()));
    key
}

fn compare_keys(a: &[Value], b: &[Value], order: &[OrderTerm]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let descending = order.get(i).is_some_and(|t| t.descending);
        let ordering = if descending { y.cmp(x) } else { x.cmp(y) };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Lists `items` (all of one collection in `model`) as `query` asks, in pages within
/// `budget`, checking `interrupt` on every item it reads.
pub fn list<T: Pickable>(
    items: &dyn Table<T>,
    model: &ReadModel,
    query: &ListQuery,
    budget: &Budget<'_, T>,
    interrupt: &Interrupt,
) -> Result<Page<T>, ListError> {
    let filter = Filter::parse(&query.filter, T::FIELDS)?;
    let order = parse_order::<T>(&query.order_by)?;
    let fingerprint =
        page_token::fingerprint(T::COLLECTION, query.filter.trim(), query.order_by.trim());
    let after = if query.page_token.is_empty() {
        None
    } else {
        let cursor =
            page_token::decode(&query.page_token, &fingerprint).map_err(ListError::PageToken)?;
        if cursor.after.len() != order.len() + 1 {
            return Err(ListError::PageToken(
                "page token does not fit this order".into(),
            ));
        }
        Some(cursor.after)
    };

    let picked = T::picked(model, &filter, interrupt)?;
    if order.is_empty() {
        let start = match after.as_ref().and_then(|key| key.last()) {
            Some(Value::Text(last)) => Some(last.as_str()),
            _ => None,
        };
        let matches = |item: &T| filter.matches(&ItemRow { item, model });
        let page = match &picked {
            Some(picked) => in_order(
                picked.after(start).map(|item| Ok(Cow::Owned(item))),
                picked.count(),
                model,
                (query, budget, &order),
                fingerprint,
            ),
            None => {
                let total_size = if filter.is_empty() {
                    items.len()
                } else {
                    let mut count = 0;
                    for item in items.after(None) {
                        interrupt.check()?;
                        count += usize::from(matches(&item));
                    }
                    count
                };
                let matching = items
                    .after(start)
                    .filter_map(|item| match interrupt.check() {
                        Err(interrupted) => Some(Err(interrupted)),
                        Ok(()) => matches(&item).then_some(Ok(item)),
                    });
                in_order(
                    matching,
                    total_size,
                    model,
                    (query, budget, &order),
                    fingerprint,
                )
            }
        };
        return page;
    }
    let page_size = query.page_size.max(1);
    // Picks ordered by indexed fields come in order: only the page is read.
    if let Some(picked) = &picked
        && let Some(ordered) = picked.ordered(&order, after.as_deref(), page_size + 1)
    {
        return in_order(
            ordered.map(|item| Ok(Cow::Owned(item))),
            picked.count(),
            model,
            (query, budget, &order),
            fingerprint,
        );
    }
    let by_key = |a: &(Vec<Value>, ResourceName), b: &(Vec<Value>, ResourceName)| {
        compare_keys(&a.0, &b.0, &order)
    };
    // Only the keys of the page and one more are kept (with the names to read them again),
    // trimmed whenever twice that many have gathered: memory follows the page, not the
    // collection.
    let mut total_size = 0;
    let mut remaining: Vec<(Vec<Value>, ResourceName)> = Vec::new();
    // Picked items all match; otherwise every item is read and judged.
    let candidates: Box<dyn Iterator<Item = Cow<'_, T>>> = match &picked {
        Some(picked) => Box::new(picked.after(None).map(Cow::Owned)),
        None => items.after(None),
    };
    for item in candidates {
        interrupt.check()?;
        if picked.is_none()
            && !filter.matches(&ItemRow {
                item: &*item,
                model,
            })
        {
            continue;
        }
        total_size += 1;
        let key = sort_key(&*item, &order, model);
        if after
            .as_ref()
            .is_none_or(|after| compare_keys(&key, after, &order) == Ordering::Greater)
        {
            remaining.push((key, item.resource_name().clone()));
            if remaining.len() >= 2 * (page_size + 1) {
                remaining.select_nth_unstable_by(page_size, by_key);
                remaining.truncate(page_size + 1);
            }
        }
    }
    let mut has_more = remaining.len() > page_size;
    if has_more {
        remaining.select_nth_unstable_by(page_size - 1, by_key);
        remaining.truncate(page_size);
    }
    remaining.sort_by(by_key);
    let (mut page, mut bytes) = (Vec::with_capacity(remaining.len()), 0);
    for (index, (_, name)) in remaining.iter().enumerate() {
        let Some(item) = items.find(name) else {
            continue;
        };
        let size = (budget.size_of)(&item);
        if !budget.admits(page.len(), bytes, size) {
            has_more = true;
            remaining.truncate(index);
            break;
        }
        bytes += size;
        page.push(item.into_owned());
    }
    let next_page_token = match remaining.last() {
        Some((key, _)) if has_more => page_token::encode(&Cursor {
            query: fingerprint,
            after: key.clone(),
        }),
        _ => String::new(),
    };
    Ok(Page {
        items: page,
        next_page_token,
        total_size,
        revision: model.revision,
    })
}

/// A page from `matching`, the items after the cursor that match, already in `order`: read
/// as far as the page goes, so a page costs the same on the first page and the
/// ten-thousandth of ten million.
fn in_order<'i, T: Listed + 'i>(
    matching: impl Iterator<Item = Result<Cow<'i, T>, Interrupted>>,
    total_size: usize,
    model: &ReadModel,
    (query, budget, order): (&ListQuery, &Budget<'_, T>, &[OrderTerm]),
    fingerprint: String,
) -> Result<Page<T>, ListError> {
    let page_size = query.page_size.max(1);
    let (mut page, mut bytes, mut has_more) = (Vec::with_capacity(page_size), 0, false);
    for item in matching {
        let item = item?;
        let size = (budget.size_of)(&item);
        if page.len() == page_size || !budget.admits(page.len(), bytes, size) {
            has_more = true;
            break;
        }
        bytes += size;
        page.push(item.into_owned());
    }
    let next_page_token = match page.last() {
        Some(last) if has_more => page_token::encode(&Cursor {
            query: fingerprint,
            after: sort_key(last, order, model),
        }),
        _ => String::new(),
    };
    Ok(Page {
        items: page,
        next_page_token,
        total_size,
        revision: model.revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Collection;

    fn model() -> ReadModel {
        let mut resources = crate::seed::demo_resources().unwrap();
        crate::seed::each_scaled_resource(300, 900, |r| resources.push(r)).unwrap();
        ReadModel::from_resources(1, resources)
    }

    /// Every page of a listing, in order, and the total size each page reported.
    fn pages<T: Pickable>(
        items: &dyn Table<T>,
        model: &ReadModel,
        filter: &str,
        order_by: &str,
    ) -> (Vec<ResourceName>, Vec<usize>) {
        pages_of(7, items, model, filter, order_by)
    }

    /// The same with pages of `page_size`.
    fn pages_of<T: Pickable>(
        page_size: usize,
        items: &dyn Table<T>,
        model: &ReadModel,
        filter: &str,
        order_by: &str,
    ) -> (Vec<ResourceName>, Vec<usize>) {
        let unlimited = Budget {
            max_bytes: usize::MAX,
            size_of: &|_: &T| 0,
        };
        pages_within(page_size, &unlimited, items, model, filter, order_by)
    }

    /// The same, each page within `budget`.
    fn pages_within<T: Pickable>(
        page_size: usize,
        budget: &Budget<'_, T>,
        items: &dyn Table<T>,
        model: &ReadModel,
        filter: &str,
        order_by: &str,
    ) -> (Vec<ResourceName>, Vec<usize>) {
        let mut names = Vec::new();
        let mut totals = Vec::new();
        let mut page_token = String::new();
        loop {
            let query = ListQuery {
                page_size,
                page_token,
                filter: filter.into(),
                order_by: order_by.into(),
            };
            let page = list(items, model, &query, budget, &Interrupt::default()).unwrap();
            let bytes: usize = page.items.iter().map(|i| (budget.size_of)(i)).sum();
            assert!(
                page.items.len() == 1 || bytes <= budget.max_bytes,
                "a page of {} items takes {bytes} bytes",
                page.items.len()
            );
            names.extend(page.items.iter().map(|i| i.resource_name().clone()));
            totals.push(page.total_size);
            if page.next_page_token.is_empty() {
                return (names, totals);
            }
            page_token = page.next_page_token;
        }
    }

    #[test]
    fn name_order_pages_read_from_the_cursor_as_sorted_pages_would() {
        let model = model();
        for filter in [
            "",
            "area = \"areas/aksu\"",
            "period >= \"2010\" AND year < 2015",
        ] {
            let default = pages(&model.observations, &model, filter, "");
            let sorted = pages(&model.observations, &model, filter, "name");
            assert_eq!(default.0, sorted.0, "{filter}");
            assert_eq!(default.1, sorted.1, "{filter}");
            let expected = default.1[0];
            assert_eq!(default.0.len(), expected, "{filter}: every match once");
            assert!(expected > 7, "{filter}: more than one page");
        }
        let projects = pages(&model.projects, &model, "title:\"water\"", "");
        assert_eq!(
            projects,
            pages(&model.projects, &model, "title:\"water\"", "name")
        );
        assert!(
            projects
                .0
                .iter()
                .all(|n| n.collection() == Collection::Projects)
        );
    }

    #[test]
    fn pages_end_early_within_their_byte_budget_and_still_list_everything_once() {
        let model = model();
        // Sized by their titles: the first page fills its budget long before 50 items.
        let by_title = Budget {
            max_bytes: 200,
            size_of: &|p: &crate::domain::Project| p.title.len(),
        };
        for order_by in ["", "title desc", "party, name"] {
            let whole = pages_of(1000, &model.projects, &model, "", order_by);
            let budgeted = pages_within(50, &by_title, &model.projects, &model, "", order_by);
            assert_eq!(
                budgeted.0, whole.0,
                "{order_by}: the same items in the same order"
            );
            assert!(
                budgeted.1.len() > whole.0.len() / 50,
                "{order_by}: shorter pages"
            );
        }
        let huge = Budget {
            max_bytes: 1,
            size_of: &|_: &crate::domain::Project| 10,
        };
        let one_by_one = pages_within(50, &huge, &model.projects, &model, "", "");
        assert_eq!(
            one_by_one.1.len(),
            one_by_one.0.len(),
            "one item a page, none skipped"
        );
    }

    /// How a brute-force reading of one field decides a comparison.
    #[derive(Clone, Copy, Debug)]
    enum Comparison {
        Equal,
        NotEqual,
        Less,
        AtLeast,
    }

    impl Comparison {
        fn holds(self, values: &[Value], literal: &Value) -> bool {
            match self {
                Comparison::Equal => values.contains(literal),
                Comparison::NotEqual => !values.contains(literal),
                Comparison::Less => values.iter().any(|v| v < literal),
                Comparison::AtLeast => values.iter().any(|v| v >= literal),
            }
        }

        fn operator(self) -> &'static str {
            match self {
                Comparison::Equal => "=",
                Comparison::NotEqual => "!=",
                Comparison::Less => "<",
                Comparison::AtLeast => ">=",
            }
        }
    }

    /// For every field of `T`, values some items hold compared every way the field allows:
    /// the paged listing returns exactly the items whose field, read directly, satisfies the
    /// comparison, and every page reports their number as the total. A field added to the
    /// collection is checked here without a change to this test.
    fn every_field_lists_as_read_directly<T: Pickable>(items: &dyn Table<T>, model: &ReadModel) {
        use super::super::fields::Field;
        use super::super::value::FieldType;
        let all: Vec<T> = items.after(None).map(|item| item.into_owned()).collect();
        let stride = all.len() / 3 + 1;
        let mut checked = 0;
        for (field, spec) in <T::Field as Field>::ALL.iter().zip(T::FIELDS) {
            let ordered = matches!(spec.field_type, FieldType::Integer | FieldType::Text);
            let mut comparisons = vec![Comparison::Equal, Comparison::NotEqual];
            if ordered {
                comparisons.extend([Comparison::Less, Comparison::AtLeast]);
            }
            for sample in all.iter().step_by(stride) {
                for value in sample.read(*field, model).into_iter().take(1) {
                    let Some(literal) = value.literal(spec) else {
                        continue;
                    };
                    for comparison in &comparisons {
                        let filter = format!("{} {} {literal}", spec.name, comparison.operator());
                        let expected: Vec<ResourceName> = all
                            .iter()
                            .filter(|item| comparison.holds(&item.read(*field, model), &value))
                            .map(|item| item.resource_name().clone())
                            .collect();
                        let (names, totals) = pages_of(64, items, model, &filter, "");
                        assert_eq!(names, expected, "{} {filter}", T::COLLECTION);
                        assert!(
                            totals.iter().all(|t| *t == expected.len()),
                            "{} {filter}: totals {totals:?}",
                            T::COLLECTION
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            checked > <T::Field as Field>::ALL.len(),
            "{}: {checked} filters",
            T::COLLECTION
        );
    }

    #[test]
    fn every_field_of_every_collection_lists_as_read_directly() {
        let mut resources = crate::seed::demo_resources().unwrap();
        crate::seed::each_scaled_resource(40, 200, |r| resources.push(r)).unwrap();
        let model = ReadModel::from_resources(1, resources);
        every_field_lists_as_read_directly(&model.parties, &model);
        every_field_lists_as_read_directly(&model.areas, &model);
        every_field_lists_as_read_directly(&model.pairings, &model);
        every_field_lists_as_read_directly(&model.projects, &model);
        every_field_lists_as_read_directly(&model.indicators, &model);
        every_field_lists_as_read_directly(&model.observations, &model);
    }

    /// Every item a listing returns, in order, as reading and sorting them all has it.
    fn sorted_directly<T: Listed>(
        items: &dyn Table<T>,
        model: &ReadModel,
        filter: &str,
        order_by: &str,
    ) -> Vec<ResourceName> {
        let filter = Filter::parse(filter, T::FIELDS).unwrap();
        let order = parse_order::<T>(order_by).unwrap();
        let mut keyed: Vec<(Vec<Value>, ResourceName)> = items
            .after(None)
            .filter(|item| {
                filter.matches(&ItemRow {
                    item: &**item,
                    model,
                })
            })
            .map(|item| {
                (
                    sort_key(&*item, &order, model),
                    item.resource_name().clone(),
                )
            })
            .collect();
        keyed.sort_by(|a, b| compare_keys(&a.0, &b.0, &order));
        keyed.into_iter().map(|(_, name)| name).collect()
    }

    /// Pages of every size, in every order, picked from the indexes (ordered by them where the
    /// order's fields are indexed) after writes have replaced, moved and deleted items: the
    /// same items in the same order as reading and sorting them all.
    #[test]
    fn picked_pages_in_any_order_follow_writes() {
        use crate::domain::{Committed, Resource, SupportField, Write};
        let mut model = model();
        let mut writes = Vec::new();
        for (i, project) in model.projects.values().enumerate() {
            if i % 7 == 3 {
                writes.push(Write::Delete(project.name.clone()));
            } else if i % 4 == 1 {
                let mut changed = project.clone();
                changed.field = SupportField::Water;
                changed.title = format!("Moved water works {i}");
                changed.livelihood = !changed.livelihood;
                writes.push(Write::Put(Box::new(Resource::Project(changed))));
            }
        }
        for (i, observation) in model.observations.values().enumerate() {
            if i % 5 == 2 {
                writes.push(Write::Delete(observation.name));
            }
        }
        model.apply(&Committed {
            revision: 2,
            subject: "test".into(),
            commit_time: chrono::Utc::now(),
            writes,
            replayed: false,
        });
        same_pages_as_sorted(
            &model.projects,
            &model,
            &[
                "field = WATER",
                "field = WATER AND livelihood = false",
                "title:\"water\" OR status = COMPLETED",
                "NOT (year >= 2016 AND area = \"areas/kashgar\")",
                "title:\"moved\" AND party = \"parties/shenzhen\"",
            ],
            &[
                "",
                "title desc",
                "party",
                "status desc, field",
                "data_status, livelihood desc, party",
            ],
        );
        same_pages_as_sorted(
            &model.observations,
            &model,
            &[
                "area = \"areas/aksu\"",
                "year >= 2015 OR status != REPORTED",
            ],
            &[
                "indicator",
                "year desc",
                "area, period desc",
                "status, qualifier",
            ],
        );
    }

    /// Pages of a few sizes, for each filter in each order, against reading and sorting all.
    fn same_pages_as_sorted<T: Pickable>(
        items: &dyn Table<T>,
        model: &ReadModel,
        filters: &[&str],
        orders: &[&str],
    ) {
        for filter in filters {
            for order_by in orders {
                let expected = sorted_directly(items, model, filter, order_by);
                assert!(!expected.is_empty(), "{filter} picks some");
                for page_size in [1, 7, 64] {
                    let (names, totals) = pages_of(page_size, items, model, filter, order_by);
                    assert_eq!(names, expected, "{filter} by {order_by:?} in {page_size}s");
                    assert!(totals.iter().all(|t| *t == expected.len()), "{filter}");
                }
            }
        }
    }
}

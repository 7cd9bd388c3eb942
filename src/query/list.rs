//! Listing with filter, order and keyset pagination, the same for every collection.
//!
//! Pages continue strictly after the sort key of the last item served, so a listing never
//! repeats or skips an item that exists throughout it, whatever is written between pages.

use std::cmp::Ordering;

use super::ReadModel;
use super::fields::{ItemRow, Listed};
use super::filter::{Filter, FilterError};
use super::page_token::{self, Cursor};
use super::value::Value;

/// One listing request, already checked for wire-level sanity.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub page_size: usize,
    pub page_token: String,
    pub filter: String,
    pub order_by: String,
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
}

struct OrderTerm {
    field: usize,
    descending: bool,
}

fn parse_order<T: Listed>(order_by: &str) -> Result<Vec<OrderTerm>, ListError> {
    let mut terms = Vec::new();
    for part in order_by.split(',').map(str::trim).filter(|p| !p.is_empty()) {
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

/// Lists `items` (all of one collection in `model`) as `query` asks.
pub fn list<'a, T: Listed + 'a>(
    items: impl Iterator<Item = &'a T>,
    model: &ReadModel,
    query: &ListQuery,
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

    let mut total_size = 0;
    let mut remaining: Vec<(Vec<Value>, &T)> = Vec::new();
    for item in items {
        if !filter.matches(&ItemRow { item, model }) {
            continue;
        }
        total_size += 1;
        let key = sort_key(item, &order, model);
        if after
            .as_ref()
            .is_none_or(|after| compare_keys(&key, after, &order) == Ordering::Greater)
        {
            remaining.push((key, item));
        }
    }

    let page_size = query.page_size.max(1);
    let has_more = remaining.len() > page_size;
    if has_more {
        remaining.select_nth_unstable_by(page_size - 1, |a, b| compare_keys(&a.0, &b.0, &order));
        remaining.truncate(page_size);
    }
    remaining.sort_by(|a, b| compare_keys(&a.0, &b.0, &order));
    let next_page_token = match remaining.last() {
        Some((key, _)) if has_more => page_token::encode(&Cursor {
            query: fingerprint,
            after: key.clone(),
        }),
        _ => String::new(),
    };
    Ok(Page {
        items: remaining
            .into_iter()
            .map(|(_, item)| item.clone())
            .collect(),
        next_page_token,
        total_size,
        revision: model.revision,
    })
}

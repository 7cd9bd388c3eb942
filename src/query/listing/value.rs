//! Typed field values that filters compare and listings sort by.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The type of a filterable field, fixing which literals and operators it accepts.
#[derive(Clone, Copy, Debug)]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Bool,
    /// An enum: the allowed values in order, and the prefix their full proto names carry.
    Enum {
        prefix: &'static str,
        values: &'static [&'static str],
    },
    /// A resource name; compared as text.
    Name,
}

/// A field a listing can filter on and, unless it is repeated, order by.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub field_type: FieldType,
    /// Repeated fields match when any element matches, and cannot order a listing.
    pub repeated: bool,
}

impl FieldSpec {
    /// A single-valued field.
    pub const fn one(name: &'static str, field_type: FieldType) -> Self {
        FieldSpec {
            name,
            field_type,
            repeated: false,
        }
    }

    /// A repeated field.
    pub const fn many(name: &'static str, field_type: FieldType) -> Self {
        FieldSpec {
            name,
            field_type,
            repeated: true,
        }
    }
}

/// A value of one field of one resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Decimal(Decimal),
    Bool(bool),
    /// An enum value by its position in `FieldType::Enum::values`.
    Enum(u16),
}

impl Value {
    /// The text of a string, for building values from optional names.
    pub fn text(text: impl Into<String>) -> Self {
        Value::Text(text.into())
    }

    /// The value as a filter on a field of `spec` writes it; `None` for text a quoted literal
    /// cannot hold as it is (quotes, wildcards, escapes) and for null.
    #[cfg(test)]
    pub fn literal(&self, spec: &FieldSpec) -> Option<String> {
        match (self, spec.field_type) {
            (Value::Text(text), _) if text.contains(['"', '*', '\\']) => None,
            (Value::Text(text), _) => Some(format!("\"{text}\"")),
            (Value::Integer(value), _) => Some(value.to_string()),
            (Value::Decimal(value), _) => Some(value.to_string()),
            (Value::Bool(value), _) => Some(value.to_string()),
            (Value::Enum(ordinal), FieldType::Enum { values, .. }) => {
                values.get(usize::from(*ordinal)).map(|v| (*v).to_owned())
            }
            (Value::Enum(_) | Value::Null, _) => None,
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    /// Null sorts first; values of one field always share a variant.
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Text(a), Text(b)) => a.cmp(b),
            (Integer(a), Integer(b)) => a.cmp(b),
            (Decimal(a), Decimal(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Enum(a), Enum(b)) => a.cmp(b),
            (a, b) => discriminant(a).cmp(&discriminant(b)),
        }
    }
}

fn discriminant(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Text(_) => 1,
        Value::Integer(_) => 2,
        Value::Decimal(_) => 3,
        Value::Bool(_) => 4,
        Value::Enum(_) => 5,
    }
}

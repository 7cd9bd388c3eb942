//! A documented subset of AIP-160 filters, parsed into a typed tree checked against a
//! collection's fields. Never turned into SQL.
//!
//! Grammar (as AIP-160, `OR` binds tighter than `AND`, juxtaposition means `AND`):
//! ```text
//! expression  = sequence { "AND" sequence }
//! sequence    = factor { factor }
//! factor      = term { "OR" term }
//! term        = [ "NOT" | "-" ] simple
//! simple      = "(" expression ")" | field comparator literal
//! comparator  = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//! ```
//! Literals are quoted strings, numbers, `true`/`false` or bare words (enum values such as
//! `EDUCATION`). On text, `=` matches the whole value with `*` as a leading or trailing
//! wildcard and `:` matches a substring, ignoring case and width (`domain::folding`). On
//! repeated fields a comparison holds when any element satisfies it (`!=` when none equals).

use rust_decimal::Decimal;

use super::value::{FieldSpec, FieldType, Value};
use crate::domain::folding;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and negations accepted.
pub const MAX_DEPTH: usize = 32;

/// Why a filter was rejected: where (1-based character column) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Has,
}

/// A parsed filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        /// Index of the field in the collection's field list.
        field: usize,
        operator: Operator,
        value: Value,
    },
}

/// A checked filter; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// Parses `text` against the fields of one collection.
    pub fn parse(text: &str, fields: &'static [FieldSpec]) -> Result<Self, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                position: 1,
                message: format!("filter is longer than {MAX_FILTER_LEN} bytes"),
            });
        }
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Ok(Filter::default());
        }
        let mut parser = Parser {
            text,
            tokens,
            at: 0,
            fields,
            depth: 0,
        };
        let expr = parser.expression()?;
        if let Some(token) = parser.peek() {
            return Err(parser.error_at(token.start, "expected AND, OR or the end of the filter"));
        }
        Ok(Filter { expr: Some(expr) })
    }

    /// Whether an item matches.
    pub fn matches(&self, row: &impl Row) -> bool {
        self.expr.as_ref().is_none_or(|expr| evaluate(expr, row))
    }

    /// Whether the filter is empty, matching everything.
    pub fn is_empty(&self) -> bool {
        self.expr.is_none()
    }

    /// Whether the filter reads field `field` (an index into the collection's field list).
    pub fn reads(&self, field: usize) -> bool {
        self.expr
            .as_ref()
            .is_some_and(|expr| reads_any(expr, &|f| f == field))
    }
}

/// What a filter reads of one item.
pub trait Row {
    /// The values of field `field` (an index into the collection's field list); empty when
    /// unset.
    fn values(&self, field: usize) -> Vec<Value>;

    /// The field's one text value, read without copying, for fields that have exactly one:
    /// a filter on titles reads every project's title.
    fn text(&self, _field: usize) -> Option<&str> {
        None
    }
}

impl<F: Fn(usize) -> Vec<Value>> Row for F {
    fn values(&self, field: usize) -> Vec<Value> {
        self(field)
    }
}

fn evaluate(expr: &Expr, row: &impl Row) -> bool {
    match expr {
        Expr::And(parts) => parts.iter().all(|p| evaluate(p, row)),
        Expr::Or(parts) => parts.iter().any(|p| evaluate(p, row)),
        Expr::Not(inner) => !evaluate(inner, row),
        Expr::Compare {
            field,
            operator,
            value,
        } => Comparison {
            field: *field,
            operator: *operator,
            value,
        }
        .holds(row),
    }
}

/// One comparison of a filter, as an index judges it: once per distinct value it keeps, or
/// per row it must read.
#[derive(Clone, Copy, Debug)]
pub struct Comparison<'f> {
    pub field: usize,
    pub operator: Operator,
    pub value: &'f Value,
}

impl Comparison<'_> {
    /// Whether the comparison holds for `row`.
    pub fn holds(&self, row: &impl Row) -> bool {
        let Comparison {
            field,
            operator,
            value,
        } = *self;
        if let (Value::Text(expected), Some(actual)) = (value, row.text(field)) {
            match operator {
                Operator::Has => return folding::has(actual, expected),
                Operator::Equal => return wildcard_match(actual, expected),
                Operator::NotEqual => return !wildcard_match(actual, expected),
                _ => {}
            }
        }
        let actual = row.values(field);
        match operator {
            Operator::NotEqual => !actual.iter().any(|a| compare(a, Operator::Equal, value)),
            op => actual.iter().any(|a| compare(a, op, value)),
        }
    }
}

/// Sets of items, as a filter's comparisons pick them.
pub trait ItemSet: Clone {
    /// The items in either.
    fn union(self, other: Self) -> Self;
    /// The items of `self` not in `other`.
    fn without(self, other: &Self) -> Self;
}

impl Filter {
    /// The items of `within` the filter picks, from what `leaf` picks for each comparison
    /// within a set (it returns the items of that set the comparison holds for). The parts of
    /// an AND each pick within what the parts before them left, those reading a `costly` field
    /// last; each part of an OR within what the parts before it did not pick. `leaf` never sees
    /// `!=`: it is answered as the items `=` does not pick, which on a repeated field are those
    /// where no element equals, as [`Filter::matches`] has it.
    pub fn pick<S: ItemSet, E>(
        &self,
        within: S,
        costly: &impl Fn(usize) -> bool,
        leaf: &mut impl FnMut(Comparison<'_>, &S) -> Result<S, E>,
    ) -> Result<S, E> {
        match &self.expr {
            None => Ok(within),
            Some(expr) => pick(expr, within, costly, leaf),
        }
    }
}

fn pick<S: ItemSet, E>(
    expr: &Expr,
    within: S,
    costly: &impl Fn(usize) -> bool,
    leaf: &mut impl FnMut(Comparison<'_>, &S) -> Result<S, E>,
) -> Result<S, E> {
    match expr {
        Expr::And(parts) => {
            let mut parts: Vec<&Expr> = parts.iter().collect();
            parts.sort_by_key(|part| reads_any(part, costly));
            parts
                .into_iter()
                .try_fold(within, |left, part| pick(part, left, costly, leaf))
        }
        Expr::Or(parts) => {
            let mut picked: Option<S> = None;
            for part in parts {
                let rest = match &picked {
                    None => within.clone(),
                    Some(picked) => within.clone().without(picked),
                };
                let more = pick(part, rest, costly, leaf)?;
                picked = Some(match picked {
                    None => more,
                    Some(picked) => picked.union(more),
                });
            }
            Ok(picked.unwrap_or(within))
        }
        Expr::Not(inner) => {
            let inner = pick(inner, within.clone(), costly, leaf)?;
            Ok(within.without(&inner))
        }
        Expr::Compare {
            field,
            operator: Operator::NotEqual,
            value,
        } => {
            let equal = Comparison {
                field: *field,
                operator: Operator::Equal,
                value,
            };
            let equal = leaf(equal, &within)?;
            Ok(within.without(&equal))
        }
        Expr::Compare {
            field,
            operator,
            value,
        } => leaf(
            Comparison {
                field: *field,
                operator: *operator,
                value,
            },
            &within,
        ),
    }
}

/// Whether `expr` compares any field `which` accepts.
fn reads_any(expr: &Expr, which: &impl Fn(usize) -> bool) -> bool {
    match expr {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().any(|p| reads_any(p, which)),
        Expr::Not(inner) => reads_any(inner, which),
        Expr::Compare { field, .. } => which(*field),
    }
}

fn compare(actual: &Value, operator: Operator, expected: &Value) -> bool {
    if let (Value::Text(actual), Value::Text(pattern)) = (actual, expected) {
        match operator {
            Operator::Has => return folding::has(actual, pattern),
            Operator::Equal => return wildcard_match(actual, pattern),
            _ => {}
        }
    }
    if matches!(actual, Value::Null) {
        return false;
    }
    match operator {
        Operator::Equal | Operator::Has | Operator::NotEqual => actual == expected,
        Operator::Less => actual < expected,
        Operator::LessOrEqual => actual <= expected,
        Operator::Greater => actual > expected,
        Operator::GreaterOrEqual => actual >= expected,
    }
}

fn wildcard_match(actual: &str, pattern: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') && !rest.is_empty() => {
            actual.contains(&rest[..rest.len() - 1])
        }
        (Some(suffix), _) => actual.ends_with(suffix),
        (None, Some(prefix)) => actual.starts_with(prefix),
        (None, None) => actual == pattern,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Open,
    Close,
    Minus,
    Comparator(Operator),
    Word(String),
    Quoted(String),
    Number(String),
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    start: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let error = |at: usize, message: String| FilterError {
        position: column(text, at),
        message,
    };
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b'=' | b':' => {
                i += 1;
                Kind::Comparator(if c == b'=' {
                    Operator::Equal
                } else {
                    Operator::Has
                })
            }
            b'!' | b'<' | b'>' => {
                let with_equal = bytes.get(i + 1) == Some(&b'=');
                i += if with_equal { 2 } else { 1 };
                Kind::Comparator(match (c, with_equal) {
                    (b'!', true) => Operator::NotEqual,
                    (b'<', false) => Operator::Less,
                    (b'<', true) => Operator::LessOrEqual,
                    (b'>', false) => Operator::Greater,
                    (b'>', true) => Operator::GreaterOrEqual,
                    _ => return Err(error(start, "expected '!=' after '!'".into())),
                })
            }
            b'"' | b'\'' => {
                let (value, end) = quoted(text, i).ok_or_else(|| {
                    error(start, "string is not closed by a matching quote".into())
                })?;
                i = end;
                Kind::Quoted(value)
            }
            b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = number_end(bytes, i + 1);
                Kind::Number(text[start..i].to_owned())
            }
            b'-' => {
                i += 1;
                Kind::Minus
            }
            b'0'..=b'9' => {
                i = number_end(bytes, i);
                Kind::Number(text[start..i].to_owned())
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'*'))
                {
                    i += 1;
                }
                Kind::Word(text[start..i].to_owned())
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(error(start, format!("unexpected character {ch:?}")));
            }
        };
        tokens.push(Token { kind, start });
    }
    Ok(tokens)
}

fn number_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    i
}

/// Reads a quoted string starting at `start`; returns its value and the index after it.
fn quoted(text: &str, start: usize) -> Option<(String, usize)> {
    let quote = text[start..].chars().next()?;
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            '\\' => value.push(chars.next()?.1),
            c if c == quote => return Some((value, start + 1 + offset + 1)),
            c => value.push(c),
        }
    }
    None
}

fn column(text: &str, byte_offset: usize) -> usize {
    text[..byte_offset.min(text.len())].chars().count() + 1
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    at: usize,
    fields: &'static [FieldSpec],
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Word(w), .. }) if w == word)
    }

    fn error_at(&self, byte_offset: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            position: column(self.text, byte_offset),
            message: message.into(),
        }
    }

    fn end_error(&self, expected: &str) -> FilterError {
        self.error_at(
            self.text.len(),
            format!("expected {expected}, found the end of the filter"),
        )
    }

    fn expression(&mut self) -> Result<Expr, FilterError> {
        self.joined("AND", Self::sequence, Expr::And)
    }

    /// Operands `operand` parses, separated by the keyword `separator`, as one `combine`.
    fn joined(
        &mut self,
        separator: &str,
        operand: fn(&mut Self) -> Result<Expr, FilterError>,
        combine: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, FilterError> {
        let mut parts = vec![operand(self)?];
        while self.is_word(separator) {
            self.at += 1;
            parts.push(operand(self)?);
        }
        Ok(flatten(parts, combine))
    }

    fn sequence(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.factor()?];
        while let Some(token) = self.peek() {
            let starts_term = match &token.kind {
                Kind::Word(w) => w != "AND" && w != "OR",
                Kind::Open | Kind::Minus => true,
                _ => false,
            };
            if !starts_term {
                break;
            }
            parts.push(self.factor()?);
        }
        Ok(flatten(parts, Expr::And))
    }

    fn factor(&mut self) -> Result<Expr, FilterError> {
        self.joined("OR", Self::term, Expr::Or)
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        let negated = self.is_word("NOT")
            || matches!(
                self.peek(),
                Some(Token {
                    kind: Kind::Minus,
                    ..
                })
            );
        if negated {
            self.at += 1;
            return self.nested(|p| p.simple()).map(|e| Expr::Not(Box::new(e)));
        }
        self.simple()
    }

    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Expr, FilterError>,
    ) -> Result<Expr, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let at = self.peek().map_or(self.text.len(), |t| t.start);
            return Err(self.error_at(at, format!("filter nests deeper than {MAX_DEPTH} levels")));
        }
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn simple(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.end_error("a comparison such as `field = value` or '('"));
        };
        match token.kind {
            Kind::Open => {
                self.at += 1;
                let expr = self.nested(|p| p.expression())?;
                match self.peek() {
                    Some(Token {
                        kind: Kind::Close, ..
                    }) => {
                        self.at += 1;
                        Ok(expr)
                    }
                    Some(other) => Err(self.error_at(other.start, "expected ')'")),
                    None => Err(self.end_error("')'")),
                }
            }
            Kind::Word(ref word) => {
                self.at += 1;
                self.restriction(word, token.start)
            }
            _ => Err(self.error_at(token.start, "expected a field name or '('")),
        }
    }

    fn restriction(&mut self, word: &str, start: usize) -> Result<Expr, FilterError> {
        let Some(field) = self.fields.iter().position(|f| f.name == word) else {
            let known: Vec<&str> = self.fields.iter().map(|f| f.name).collect();
            return Err(self.error_at(
                start,
                format!(
                    "unknown field `{word}`; expected one of: {}",
                    known.join(", ")
                ),
            ));
        };
        let operator = match self.peek() {
            Some(Token {
                kind: Kind::Comparator(op),
                ..
            }) => *op,
            Some(other) => {
                return Err(self.error_at(
                    other.start,
                    format!("expected a comparator (=, !=, <, <=, >, >=, :) after `{word}`"),
                ));
            }
            None => return Err(self.end_error(&format!("a comparator after `{word}`"))),
        };
        self.at += 1;
        let Some(literal) = self.peek().cloned() else {
            return Err(self.end_error(&format!("a value for `{word}`")));
        };
        self.at += 1;
        let spec = self.fields[field];
        let value =
            coerce(&spec, operator, &literal.kind).map_err(|m| self.error_at(literal.start, m))?;
        Ok(Expr::Compare {
            field,
            operator,
            value,
        })
    }
}

fn flatten(mut parts: Vec<Expr>, combine: fn(Vec<Expr>) -> Expr) -> Expr {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        combine(parts)
    }
}

fn coerce(spec: &FieldSpec, operator: Operator, literal: &Kind) -> Result<Value, String> {
    let text = match literal {
        Kind::Quoted(s) | Kind::Word(s) | Kind::Number(s) => s.as_str(),
        _ => return Err(format!("expected a value for `{}`", spec.name)),
    };
    let ordered = matches!(
        operator,
        Operator::Less | Operator::LessOrEqual | Operator::Greater | Operator::GreaterOrEqual
    );
    match spec.field_type {
        FieldType::Text | FieldType::Name => Ok(Value::Text(text.to_owned())),
        FieldType::Integer => match literal {
            Kind::Number(n) | Kind::Quoted(n) => n
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("expected an integer for `{}`, got {text:?}", spec.name)),
            _ => Err(format!(
                "expected an integer for `{}`, got {text:?}",
                spec.name
            )),
        },
        FieldType::Decimal => text
            .parse::<Decimal>()
            .map(Value::Decimal)
            .map_err(|_| format!("expected a number for `{}`, got {text:?}", spec.name)),
        FieldType::Bool if ordered => Err(format!("`{}` is true or false; use = or !=", spec.name)),
        FieldType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!(
                "expected true or false for `{}`, got {text:?}",
                spec.name
            )),
        },
        FieldType::Enum { .. } if ordered => {
            Err(format!("`{}` is an enum; use = or !=", spec.name))
        }
        FieldType::Enum { prefix, values } => {
            let upper = text.to_ascii_uppercase();
            let short = upper.strip_prefix(prefix).unwrap_or(&upper);
            values
                .iter()
                .position(|v| *v == short)
                .map(|i| Value::Enum(i as u16))
                .ok_or_else(|| {
                    format!(
                        "expected one of {} for `{}`, got {text:?}",
                        values.join(", "),
                        spec.name
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLORS: &[&str] = &["RED", "GREEN"];
    pub(super) static FIELDS: [FieldSpec; 4] = [
        FieldSpec::one("title", FieldType::Text),
        FieldSpec::one("year", FieldType::Integer),
        FieldSpec::one(
            "color",
            FieldType::Enum {
                prefix: "COLOR_",
                values: COLORS,
            },
        ),
        FieldSpec::many("tag", FieldType::Text),
    ];

    fn item(title: &str, year: i64, color: u16, tags: &[&str]) -> impl Fn(usize) -> Vec<Value> {
        let title = title.to_owned();
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        move |field| match field {
            0 => vec![Value::Text(title.clone())],
            1 => vec![Value::Integer(year)],
            2 => vec![Value::Enum(color)],
            _ => tags.iter().cloned().map(Value::Text).collect(),
        }
    }

    fn matches(filter: &str, item: &impl Fn(usize) -> Vec<Value>) -> bool {
        Filter::parse(filter, &FIELDS).unwrap().matches(item)
    }

    /// An item whose title a filter reads without copying, as projects' titles are read.
    struct TitledRow<F>(String, F);

    impl<F: Fn(usize) -> Vec<Value>> Row for TitledRow<F> {
        fn values(&self, field: usize) -> Vec<Value> {
            (self.1)(field)
        }

        fn text(&self, field: usize) -> Option<&str> {
            (field == 0).then_some(self.0.as_str())
        }
    }

    #[test]
    fn titles_read_in_place_match_as_copied_ones_do() {
        for title in ["New School", "Tap WATER supply", "Ürümqi clinic", "", "wat"] {
            let copied = item(title, 2016, 0, &[]);
            let in_place = TitledRow(title.to_owned(), item(title, 2016, 0, &[]));
            for filter in [
                "title:\"water\"",
                "title:\"WATER S\"",
                "title:\"ürümqi\"",
                "title:\"\"",
                "title = \"New*\"",
                "title != \"*School\"",
                "NOT title:\"school\" AND year = 2016",
            ] {
                let parsed = Filter::parse(filter, &FIELDS).unwrap();
                assert_eq!(
                    parsed.matches(&in_place),
                    parsed.matches(&copied),
                    "{title:?} {filter}"
                );
            }
        }
        assert!(matches(
            "title:\"WATER s\"",
            &item("Tap water supply", 0, 0, &[])
        ));
        assert!(!matches("title:\"waters\"", &item("Tap water", 0, 0, &[])));
    }

    #[test]
    fn evaluates_comparisons_and_logic() {
        let school = item("New School", 2016, 0, &["a", "b"]);
        assert!(matches("", &school));
        assert!(matches("year >= 2015 AND year <= 2020", &school));
        assert!(matches("year > 2016 OR color = RED", &school));
        assert!(!matches("NOT color = COLOR_RED", &school));
        assert!(matches("-(year < 2000)", &school));
        assert!(matches("title:\"school\" tag = b", &school));
        assert!(matches("title = \"New*\" AND title = \"*School\"", &school));
        assert!(matches("tag != c", &school));
        assert!(!matches("tag != a", &school));
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let school = item("x", 2010, 1, &[]);
        // AIP-160: a AND b OR c means a AND (b OR c).
        assert!(!matches(
            "year = 2000 AND year = 2010 OR color = GREEN",
            &school
        ));
    }

    #[test]
    fn reports_position_and_expectation() {
        let err = Filter::parse("year >= 2015 AND colour = RED", &FIELDS).unwrap_err();
        assert_eq!(err.position, 18);
        assert!(
            err.message.contains("unknown field `colour`"),
            "{}",
            err.message
        );

        let err = Filter::parse("year >= \"soon\"", &FIELDS).unwrap_err();
        assert_eq!(err.position, 9);
        assert!(err.message.contains("expected an integer"));

        let err = Filter::parse("(year = 1", &FIELDS).unwrap_err();
        assert!(err.message.contains("expected ')'"), "{}", err.message);

        let err = Filter::parse("color > RED", &FIELDS).unwrap_err();
        assert!(err.message.contains("use = or !="));

        let err = Filter::parse("title = \"open", &FIELDS).unwrap_err();
        assert_eq!(err.position, 9);
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = format!("{}year = 1{}", "(".repeat(40), ")".repeat(40));
        let err = Filter::parse(&deep, &FIELDS).unwrap_err();
        assert!(err.message.contains("nests deeper"));
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    const ALPHABET: &[&str] = &[
        "year",
        "title",
        "color",
        "tag",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        ":",
        "AND",
        "OR",
        "NOT",
        "-",
        "(",
        ")",
        "\"",
        "'",
        "\\",
        "*",
        " ",
        "2015",
        "-3",
        "1.5.",
        "RED",
        "COLOR_GREEN",
        "true",
        "é",
        "\u{0}",
        "💥",
        "_x",
    ];

    /// Random filters built from tokens and raw characters never panic, and every error
    /// points inside the text.
    #[test]
    fn never_panics_and_errors_point_inside_the_filter() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..50_000 {
            let length = next(12);
            let text: String = (0..length)
                .map(|_| ALPHABET[next(ALPHABET.len())])
                .collect::<Vec<_>>()
                .join(if next(2) == 0 { " " } else { "" });
            match Filter::parse(&text, &tests::FIELDS) {
                Ok(filter) => {
                    let _ = filter.matches(&|_| vec![Value::Integer(2016), Value::text("x")]);
                }
                Err(error) => {
                    assert!(
                        error.position >= 1 && error.position <= text.chars().count() + 1,
                        "{text:?}: {error}"
                    );
                }
            }
        }
    }
}

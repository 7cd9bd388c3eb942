//! Rule violations, reported all at once and each naming its field.

use std::fmt;

use chrono::NaiveDate;

/// One broken rule: the field path (as in the request) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub reason: String,
}

impl Violation {
    /// A violation of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Every violation found in one piece of input; empty means valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// Records a violation.
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Violation::new(field, reason));
    }

    /// Records the error of `result`, if any, and returns its value.
    pub fn check<T>(&mut self, result: Result<T, Violation>) -> Option<T> {
        result.map_err(|v| self.0.push(v)).ok()
    }

    /// The violations with `prefix.` put before each field path.
    pub fn prefixed(self, prefix: &str) -> Self {
        Violations(
            self.0
                .into_iter()
                .map(|v| Violation::new(format!("{prefix}.{}", v.field), v.reason))
                .collect(),
        )
    }

    /// Adds every violation of `other`.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` if nothing was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{}: {}", v.field, v.reason))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Violations {}

/// A text field that must say something.
pub(super) fn require_text(value: &str, field: &str, violations: &mut Violations) {
    if value.trim().is_empty() {
        violations.push(field, "is required");
    }
}

pub(super) fn check_year(year: i32, field: &str, violations: &mut Violations) {
    if !(1949..=2100).contains(&year) {
        violations.push(field, format!("year {year} is outside 1949..=2100"));
    }
}

/// Every date of the record lies in the years `check_year` allows.
pub(super) fn check_date(date: Option<NaiveDate>, field: &str, violations: &mut Violations) {
    if let Some(date) = date {
        check_year(chrono::Datelike::year(&date), field, violations);
    }
}

//! Assistance projects, their recipients, outputs and funding lines.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::labelled::labelled;
use super::validation::{check_date, check_year, require_text};
use super::{DataStatus, Meta, Money, Provenance, ResourceName, SupportField, Violations};

labelled! {
    /// Where a project stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ProjectStatus {
        Planned = "PLANNED",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        Suspended = "SUSPENDED",
        Cancelled = "CANCELLED",
    }
}

impl ProjectStatus {}

labelled! {
    /// Kinds of funding line, after IATI's transaction types.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum FundingType {
        Commitment = "COMMITMENT",
        Disbursement = "DISBURSEMENT",
        Expenditure = "EXPENDITURE",
    }
}

impl FundingType {}

/// A recipient area and the percentage of the project it receives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecipientArea {
    pub area: ResourceName,
    pub share_percent: Decimal,
}

/// A measured result of a project, in an indicator's unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectOutput {
    pub indicator: ResourceName,
    pub value: Decimal,
}

/// One line of money of a project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FundingLine {
    pub funding_type: FundingType,
    pub year: i32,
    pub date: Option<NaiveDate>,
    pub amount: Money,
    pub value_date: Option<NaiveDate>,
}

/// An assistance project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub name: ResourceName,
    pub title: String,
    pub description: String,
    pub pairing: Option<ResourceName>,
    pub party: ResourceName,
    pub recipients: Vec<RecipientArea>,
    pub field: SupportField,
    pub livelihood: bool,
    pub status: ProjectStatus,
    pub planned_start_date: Option<NaiveDate>,
    pub planned_end_date: Option<NaiveDate>,
    pub actual_start_date: Option<NaiveDate>,
    pub actual_end_date: Option<NaiveDate>,
    pub outputs: Vec<ProjectOutput>,
    pub funding_lines: Vec<FundingLine>,
    pub data_status: DataStatus,
    pub provenance: Arc<Provenance>,
    #[serde(default)]
    pub meta: Meta,
}

impl Project {
    /// Checks the project's own fields: everything that needs no other resource.
    pub fn validate(&self) -> Violations {
        let mut violations = Violations::default();
        require_text(&self.title, "title", &mut violations);
        if self.recipients.is_empty() {
            violations.push("recipients", "a project needs at least one recipient area");
        }
        for (i, recipient) in self.recipients.iter().enumerate() {
            if recipient.share_percent <= Decimal::ZERO
                || recipient.share_percent > Decimal::ONE_HUNDRED
            {
                violations.push(
                    format!("recipients[{i}].share_percent"),
                    "must be more than 0 and at most 100",
                );
            }
        }
        let total: Decimal = self.recipients.iter().map(|r| r.share_percent).sum();
        if !self.recipients.is_empty() && total != Decimal::ONE_HUNDRED {
            violations.push("recipients", format!("shares add up to {total}, not 100"));
        }
        for (date, field) in [
            (self.planned_start_date, "planned_start_date"),
            (self.planned_end_date, "planned_end_date"),
            (self.actual_start_date, "actual_start_date"),
            (self.actual_end_date, "actual_end_date"),
        ] {
            check_date(date, field, &mut violations);
        }
        if let (Some(start), Some(end)) = (self.planned_start_date, self.planned_end_date)
            && end < start
        {
            violations.push("planned_end_date", "must not be before planned_start_date");
        }
        if let (Some(start), Some(end)) = (self.actual_start_date, self.actual_end_date)
            && end < start
        {
            violations.push("actual_end_date", "must not be before actual_start_date");
        }
        for (i, line) in self.funding_lines.iter().enumerate() {
            let field = format!("funding_lines[{i}]");
            check_year(line.year, &format!("{field}.year"), &mut violations);
            check_date(line.date, &format!("{field}.date"), &mut violations);
            check_date(
                line.value_date,
                &format!("{field}.value_date"),
                &mut violations,
            );
            line.amount
                .validate(&format!("funding_lines[{i}].amount"), &mut violations);
        }
        for (i, output) in self.outputs.iter().enumerate() {
            if output.value.is_sign_negative() {
                violations.push(format!("outputs[{i}].value"), "must not be negative");
            }
        }
        self.provenance.validate("provenance", &mut violations);
        violations
    }

    /// Years with at least one funding line, ascending and without repeats.
    pub fn funding_years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.funding_lines.iter().map(|l| l.year).collect();
        years.sort_unstable();
        years.dedup();
        years
    }
}

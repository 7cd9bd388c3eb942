//! What an aggregate rests on: the part of it that comes from records of each data status, and
//! the least certain of them, so a sum is never taken for more certain than its least certain
//! part.

use rust_decimal::Decimal;

use crate::domain::DataStatus;

/// The part of an aggregate that rests on records of one data status.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusCoverage {
    pub status: DataStatus,
    /// The part, in the aggregate's unit.
    pub value: Decimal,
    /// The records of that status counted: funding lines, or observations.
    pub count: u64,
    /// `value` as a share of the aggregate, rounded to six places.
    pub share: Decimal,
}

/// The parts of `whole` by status, most certain first, each status once; statuses without
/// records are left out.
pub fn by_status(
    parts: impl IntoIterator<Item = (DataStatus, Decimal, u64)>,
    whole: Decimal,
) -> Vec<StatusCoverage> {
    let mut coverage: Vec<StatusCoverage> = Vec::new();
    for (status, value, count) in parts {
        if count == 0 {
            continue;
        }
        match coverage.iter_mut().find(|c| c.status == status) {
            Some(known) => {
                known.value += value;
                known.count += count;
            }
            None => coverage.push(StatusCoverage {
                status,
                value,
                count,
                share: Decimal::ZERO,
            }),
        }
    }
    coverage.sort_by_key(|c| c.status.uncertainty());
    for part in &mut coverage {
        part.share = share_of(part.value, whole);
    }
    coverage
}

/// The least certain status of an aggregate's parts; `None` when nothing was counted.
pub fn least_certain(coverage: &[StatusCoverage]) -> Option<DataStatus> {
    coverage.last().map(|c| c.status)
}

/// `part` as a share of `whole`, rounded to six places; zero of a zero whole.
pub fn share_of(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        Decimal::ZERO
    } else {
        (part / whole).round_dp(6)
    }
}

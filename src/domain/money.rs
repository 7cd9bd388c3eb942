//! Money: exact amounts in one currency, and the rules every sum of money follows.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::Violations;

/// An exact amount of money in one currency; never a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// ISO 4217 code, e.g. "CNY".
    pub currency: String,
    pub amount: Decimal,
}

impl Money {
    pub(super) fn validate(&self, field: &str, violations: &mut Violations) {
        if let Err(reason) = check_currency(&self.currency) {
            violations.push(format!("{field}.currency_code"), reason);
        }
        if self.amount.is_sign_negative() {
            violations.push(format!("{field}.units"), "must not be negative");
        }
    }
}

/// Whether `code` has the shape of an ISO 4217 currency code; the reason if not.
pub fn check_currency(code: &str) -> Result<(), String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{code:?} is not a three-letter ISO 4217 code"))
    }
}

/// An amount as sums count it: rounded to the cent, halves away from zero.
pub fn rounded(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A decimal with at most two places, in cents.
pub fn cents(amount: Decimal) -> i128 {
    let scale = amount.scale();
    if scale <= 2 {
        amount.mantissa() * 10i128.pow(2 - scale)
    } else {
        amount.mantissa() / 10i128.pow(scale - 2)
    }
}

/// Splits `amount` (in cents) by percentage shares so the parts add up to it exactly: each part
/// rounded down to the cent, the cents left over going to the largest remainders.
pub fn split_by_shares(amount: Decimal, shares: &[Decimal]) -> Vec<Decimal> {
    let cent = Decimal::new(1, 2);
    let raw: Vec<Decimal> = shares
        .iter()
        .map(|s| amount * s / Decimal::ONE_HUNDRED)
        .collect();
    let mut parts: Vec<Decimal> = raw
        .iter()
        .map(|r| r.round_dp_with_strategy(2, RoundingStrategy::ToZero))
        .collect();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|a, b| (raw[*b] - parts[*b]).cmp(&(raw[*a] - parts[*a])));
    let mut short = amount - parts.iter().copied().sum::<Decimal>();
    for i in order.into_iter().cycle().take(parts.len() * 100) {
        if short < cent {
            break;
        }
        parts[i] += cent;
        short -= cent;
    }
    parts
}

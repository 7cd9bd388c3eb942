//! How a figure's qualifier judges another figure for the same thing: what "about", "more
//! than" or a bare "11 million" allow. Reconciliation and consistency checks judge alike.

use rust_decimal::Decimal;

use crate::domain::Qualifier;

/// The value step of a reported figure: "2100" is stated to the hundred, "1.7" to the tenth.
fn precision(value: Decimal) -> Decimal {
    let normalized = value.normalize();
    if normalized.scale() > 0 {
        return Decimal::new(1, normalized.scale());
    }
    let digits = normalized.abs().trunc().to_string();
    let zeros = digits.len() - digits.trim_end_matches('0').len();
    Decimal::from(10u64.pow(zeros.min(18) as u32))
}

/// Whether `computed` is what a source stating `reported` with `qualifier` allows: within
/// `about_tolerance` percent for ABOUT, at or above for AT_LEAST, above for MORE_THAN, equal
/// at the reported precision for EXACT.
pub fn satisfied(
    qualifier: Qualifier,
    reported: Decimal,
    computed: Decimal,
    about_tolerance: Decimal,
) -> bool {
    match qualifier {
        Qualifier::Exact => (computed - reported).abs() * Decimal::TWO <= precision(reported),
        Qualifier::About => {
            (computed - reported).abs() <= reported.abs() * about_tolerance / Decimal::ONE_HUNDRED
        }
        Qualifier::AtLeast => computed >= reported,
        Qualifier::MoreThan => computed > reported,
        Qualifier::AtMost => computed <= reported,
        Qualifier::LessThan => computed < reported,
    }
}

/// What the qualifier allows, in words, for an explanation: "within 5 % (ABOUT)".
pub fn allowance(qualifier: Qualifier, reported: Decimal, about_tolerance: Decimal) -> String {
    match qualifier {
        Qualifier::Exact => format!(
            "within half of its last stated digit, {} (EXACT)",
            precision(reported) / Decimal::TWO
        ),
        Qualifier::About => format!("within {} % (ABOUT)", about_tolerance.normalize()),
        Qualifier::AtLeast => "at or above it (AT_LEAST)".to_owned(),
        Qualifier::MoreThan => "above it (MORE_THAN)".to_owned(),
        Qualifier::AtMost => "at or below it (AT_MOST)".to_owned(),
        Qualifier::LessThan => "below it (LESS_THAN)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn qualifiers_are_judged_as_a_reader_would() {
        assert!(satisfied(Qualifier::About, d("170"), d("169.2"), d("5")));
        assert!(!satisfied(Qualifier::About, d("170"), d("150"), d("5")));
        assert!(satisfied(Qualifier::MoreThan, d("2100"), d("2180"), d("5")));
        assert!(!satisfied(
            Qualifier::MoreThan,
            d("2100"),
            d("2100"),
            d("5")
        ));
        assert!(satisfied(
            Qualifier::AtLeast,
            d("200000"),
            d("200000"),
            d("5")
        ));
        // "11 million" is stated to the million, "1.7" to the tenth.
        assert!(satisfied(
            Qualifier::Exact,
            d("11000000"),
            d("11050000"),
            d("5")
        ));
        assert!(!satisfied(
            Qualifier::Exact,
            d("11000000"),
            d("11600000"),
            d("5")
        ));
        assert!(satisfied(Qualifier::Exact, d("1.7"), d("1.74"), d("5")));
        assert!(!satisfied(Qualifier::Exact, d("1.7"), d("1.76"), d("5")));
    }
}

//! How the CSV files the peers (DuckDB, SQLite) load spell the record's values.

use rust_decimal::Decimal;

/// An enum as the record's JSON spells it (`expenditure`, `education`).
pub fn snake<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// An amount rounded to the cent as the server rounds a line's amount when it sums.
pub fn cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

//! How the peers (DuckDB, SQLite) and the server are made to speak alike: the record's values
//! as the peers' CSV files spell them, and the server's amounts as the peers' decimals.

use pairing_aid_client::pb::google::r#type::Money;
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

/// An amount the server answered, as a decimal the peers' totals compare with.
pub fn yuan(money: &Money) -> Decimal {
    (Decimal::from(money.units) + Decimal::new(money.nanos.into(), 9)).normalize()
}

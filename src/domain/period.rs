//! Observation periods: "2022", "2020Q1", "2020-03", "2013/2022".

use std::fmt;

use serde::{Deserialize, Serialize};

use super::labelled::labelled;

labelled! {
    /// How often an indicator is observed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Frequency {
        Annual = "ANNUAL",
        Quarterly = "QUARTERLY",
        Monthly = "MONTHLY",
        MultiYear = "MULTI_YEAR",
    }
}

/// A period of time an observation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u8),
    Month(i32, u8),
    Years(i32, i32),
}

impl Period {
    /// Parses `text` in the form `frequency` requires.
    pub fn parse(text: &str, frequency: Frequency) -> Result<Self, String> {
        let year = |s: &str| -> Result<i32, String> {
            (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
                .ok_or_else(|| format!("{s:?} is not a four-digit year"))
        };
        let expected = match frequency {
            Frequency::Annual => "YYYY, e.g. \"2022\"",
            Frequency::Quarterly => "YYYYQn, e.g. \"2020Q1\"",
            Frequency::Monthly => "YYYY-MM, e.g. \"2020-03\"",
            Frequency::MultiYear => "YYYY/YYYY, e.g. \"2013/2022\"",
        };
        let parsed = match frequency {
            Frequency::Annual => year(text).map(Period::Year),
            Frequency::Quarterly => match text.split_once('Q') {
                Some((y, q @ ("1" | "2" | "3" | "4"))) => {
                    year(y).map(|y| Period::Quarter(y, q.as_bytes()[0] - b'0'))
                }
                Some((_, q)) => Err(format!("quarter {q:?} is not 1 to 4")),
                None => Err("missing 'Q'".into()),
            },
            Frequency::Monthly => match text.split_once('-') {
                Some((y, m)) if m.len() == 2 => match m.parse::<u8>() {
                    Ok(m @ 1..=12) => year(y).map(|y| Period::Month(y, m)),
                    _ => Err(format!("month {m:?} is not 01 to 12")),
                },
                _ => Err("missing a two-digit month".into()),
            },
            Frequency::MultiYear => match text.split_once('/') {
                Some((a, b)) => match (year(a), year(b)) {
                    (Ok(a), Ok(b)) if a < b => Ok(Period::Years(a, b)),
                    (Ok(_), Ok(_)) => Err("the first year must come before the last".into()),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
                None => Err("missing '/'".into()),
            },
        };
        parsed.map_err(|reason| format!("period {text:?} does not match {expected}: {reason}"))
    }

    /// The first and last calendar years a period written in any frequency touches, without
    /// knowing the frequency: "2020Q1" is 2020 to 2020, "2013/2022" is 2013 to 2022.
    pub fn years_of(text: &str) -> Option<(i32, i32)> {
        let year = |s: &str| s.get(..4)?.parse::<i32>().ok();
        match text.split_once('/') {
            Some((first, last)) => Some((year(first)?, year(last)?)),
            None => year(text).map(|y| (y, y)),
        }
    }

    /// The first calendar year the period touches.
    pub fn first_year(self) -> i32 {
        match self {
            Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) | Period::Years(y, _) => {
                y
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Years(a, b) => write!(f, "{a}/{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_frequency() {
        for (text, frequency) in [
            ("2022", Frequency::Annual),
            ("2020Q1", Frequency::Quarterly),
            ("2020-03", Frequency::Monthly),
            ("2013/2022", Frequency::MultiYear),
        ] {
            assert_eq!(Period::parse(text, frequency).unwrap().to_string(), text);
        }
    }

    #[test]
    fn reads_the_years_of_any_period() {
        assert_eq!(Period::years_of("2020Q3"), Some((2020, 2020)));
        assert_eq!(Period::years_of("2013/2022"), Some((2013, 2022)));
        assert_eq!(Period::years_of("20"), None);
    }

    #[test]
    fn rejects_periods_of_another_frequency() {
        for (text, frequency) in [
            ("2020Q1", Frequency::Annual),
            ("2022", Frequency::Quarterly),
            ("2020Q5", Frequency::Quarterly),
            ("2020-13", Frequency::Monthly),
            ("2022/2013", Frequency::MultiYear),
            ("22", Frequency::Annual),
        ] {
            assert!(Period::parse(text, frequency).is_err(), "{text}");
        }
    }
}

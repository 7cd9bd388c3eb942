//! Import rows of every shape, well-formed or not: decoding and validation never panic, and
//! a row they accept comes back unchanged through encoding.

use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::v1 as pb;
use proptest::prelude::*;

use super::{decode, encode};
use crate::domain::{
    Area, Catalog, CodeScheme, DataStatus, FundingType, Indicator, Labelled, ProjectStatus,
    Qualifier, ResourceName, SupportField,
};

/// A catalog in which every reference exists, so rows are judged on their own fields.
struct EverythingExists;

impl Catalog for EverythingExists {
    fn contains(&self, _: &ResourceName) -> bool {
        true
    }
    fn indicator(&self, _: &ResourceName) -> Option<&Indicator> {
        None
    }
    fn area(&self, _: &ResourceName) -> Option<&Area> {
        None
    }
    fn code_holder(&self, _: CodeScheme, _: &str, _: &ResourceName) -> Option<ResourceName> {
        None
    }
}

fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,12}",
        "(projects|areas|parties|pairings|indicators|observations)/[a-z0-9-]{0,20}",
        "-?[0-9]{1,30}(\\.[0-9]{0,30})?",
        any::<String>(),
    ]
}

/// Mostly `valid`, sometimes junk: most rows have a few bad fields at most, so both the
/// refusals and the accepted rows' round trip are exercised.
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    junk: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![12 => valid, 1 => junk].boxed()
}

fn text() -> BoxedStrategy<String> {
    mostly("[A-Za-z][A-Za-z ,.'-]{0,40}", junk())
}

fn name(collection: &'static str) -> BoxedStrategy<String> {
    mostly(
        "[a-z][a-z0-9-]{0,30}".prop_map(move |id| format!("{collection}/{id}")),
        junk(),
    )
}

fn enumeration(variants: usize) -> BoxedStrategy<i32> {
    mostly(1..=variants as i32, any::<i32>())
}

fn date() -> BoxedStrategy<Option<Date>> {
    let valid = (1990..2035i32, 1..=12i32, 1..=28i32).prop_map(|(year, month, day)| Date {
        year,
        month,
        day,
    });
    let junk = (any::<i32>(), -1..15i32, -1..40i32).prop_map(|(year, month, day)| Date {
        year,
        month,
        day,
    });
    proptest::option::of(mostly(valid, junk)).boxed()
}

fn money() -> BoxedStrategy<Option<Money>> {
    let valid = (
        prop_oneof![Just("CNY"), Just("USD")],
        0..10_000_000_000i64,
        0..1_000_000_000i32,
    )
        .prop_map(|(currency, units, nanos)| Money {
            currency_code: currency.to_owned(),
            units,
            nanos,
        });
    let junk =
        (junk(), any::<i64>(), any::<i32>()).prop_map(|(currency_code, units, nanos)| Money {
            currency_code,
            units,
            nanos,
        });
    mostly(valid.prop_map(Some), proptest::option::of(junk))
}

fn provenance() -> BoxedStrategy<Option<pb::Provenance>> {
    mostly(
        (text(), text(), text()).prop_map(|(source_title, publisher, quoted_passage)| {
            Some(pb::Provenance {
                source_title,
                publisher,
                quoted_passage,
                ..Default::default()
            })
        }),
        Just(None),
    )
}

fn recipients() -> BoxedStrategy<Vec<pb::RecipientArea>> {
    let share = |area: String, share: &str| pb::RecipientArea {
        area,
        share_percent: share.to_owned(),
    };
    let valid = prop_oneof![
        name("areas").prop_map(move |a| vec![share(a, "100")]),
        (name("areas"), name("areas"))
            .prop_map(move |(a, b)| vec![share(a, "62.5"), share(b, "37.5")]),
    ];
    let junk = prop::collection::vec(
        (junk(), junk()).prop_map(|(area, share_percent)| pb::RecipientArea {
            area,
            share_percent,
        }),
        0..4,
    );
    mostly(valid, junk)
}

fn project() -> impl Strategy<Value = pb::Project> {
    let funding = prop::collection::vec(
        (
            enumeration(FundingType::ALL.len()),
            mostly(1990..2035i32, any::<i32>()),
            money(),
            date(),
        )
            .prop_map(|(kind, year, amount, date)| pb::FundingLine {
                r#type: kind,
                year,
                amount,
                date,
                ..Default::default()
            }),
        0..4,
    );
    (
        (name("projects"), text(), name("parties"), name("pairings")),
        (
            recipients(),
            funding,
            enumeration(SupportField::ALL.len()),
            enumeration(ProjectStatus::ALL.len()),
            enumeration(DataStatus::ALL.len()),
        ),
        (date(), date(), provenance(), any::<bool>()),
    )
        .prop_map(
            |(
                (name, title, party, pairing),
                (recipients, funding_lines, field, status, data_status),
                (planned_start_date, actual_end_date, provenance, livelihood),
            )| pb::Project {
                name,
                title,
                party,
                pairing,
                recipients,
                funding_lines,
                field,
                status,
                data_status,
                planned_start_date,
                actual_end_date,
                provenance,
                livelihood,
                ..Default::default()
            },
        )
}

fn observation() -> impl Strategy<Value = pb::Observation> {
    (
        (name("observations"), name("indicators"), name("areas")),
        (
            mostly("(19[9][0-9]|20[0-3][0-9])", junk()),
            mostly("-?[0-9]{1,12}(\\.[0-9]{1,6})?", junk()),
            enumeration(Qualifier::ALL.len()),
            enumeration(DataStatus::ALL.len()),
            provenance(),
        ),
    )
        .prop_map(
            |((name, indicator, area), (period, value, qualifier, status, provenance))| {
                pb::Observation {
                    name,
                    indicator,
                    area,
                    period,
                    value,
                    qualifier,
                    status,
                    provenance,
                    ..Default::default()
                }
            },
        )
}

fn record() -> impl Strategy<Value = pb::Record> {
    prop_oneof![
        project().prop_map(pb::record::Resource::Project),
        observation().prop_map(pb::record::Resource::Observation),
    ]
    .prop_map(|resource| pb::Record {
        resource: Some(resource),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_import_row_is_judged_without_panicking_and_accepted_rows_round_trip(row in record()) {
        let (resource, mut violations) = decode::record(&row).expect("the row holds a resource");
        violations.extend(resource.validate(&EverythingExists));
        if violations.is_empty() {
            let (again, again_violations) =
                decode::record(&encode::record(&resource)).expect("a resource");
            prop_assert!(again_violations.is_empty(), "{:?}", again_violations);
            prop_assert_eq!(again, resource);
        }
    }
}

//! Requests a hostile or buggy client sends, generated with proptest strategies over the
//! decoded request types: odd strings (empty, unicode, control characters, huge), filters and
//! orders nested, repeated and long, dates and money out of every range, enum numbers no
//! version defines, then encoded as the wire carries them.

use pairing_aid_client::pb::google::r#type::{Date, Money};
use pairing_aid_client::prost_types::FieldMask;
use pairing_aid_client::v1;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message;

/// Which token a call presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presents {
    Nothing,
    Reader,
    Writer,
}

/// One call, ready for the wire: its method path, the encoded message and its token.
#[derive(Clone, Debug)]
pub struct Call {
    pub path: &'static str,
    pub message: Vec<u8>,
    pub presents: Presents,
}

/// Draws values from strategies, reproducibly from a seed.
pub struct Dice(TestRunner);

impl Dice {
    pub fn new(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Dice(TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
        ))
    }

    pub fn draw<S: Strategy>(&mut self, strategy: S) -> S::Value {
        strategy
            .new_tree(&mut self.0)
            .expect("these strategies never reject")
            .current()
    }

    pub fn below(&mut self, bound: usize) -> usize {
        self.draw(0..bound.max(1))
    }
}

/// Words a filter or an order is made of, valid and not.
const WORDS: &[&str] = &[
    "field",
    "=",
    "!=",
    "EDUCATION",
    "WATER",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "title",
    ":",
    "\"water\"",
    "\"",
    "year",
    ">=",
    "<",
    "2015",
    "-2015",
    "99999999999999999999",
    "party",
    "\"parties/shenzhen\"",
    "area",
    "\"areas/kashgar\"",
    "livelihood",
    "true",
    "status",
    "COMPLETED",
    "data_status",
    "desc",
    "asc",
    ",",
    "name",
    "*",
    "\\",
    "\u{0}",
    "é",
    "水",
];

/// Strings as callers send them, from empty to megabytes.
fn text() -> SBoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,24}",
        any::<String>(),
        "\\PC{0,400}",
        "[\u{0}-\u{1f}\u{7f}\"\\\\%]{1,64}",
        (1usize..300_000).prop_map(|n| "x".repeat(n)),
        Just("projects/shenzhen-kashgar-2021-04".to_owned()),
        Just("parties/shenzhen".to_owned()),
    ]
    .sboxed()
}

fn words(max: usize, separator: &'static str) -> SBoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..max)
        .prop_map(move |w| w.join(separator))
        .sboxed()
}

fn filter() -> SBoxedStrategy<String> {
    prop_oneof![
        text(),
        words(60, " "),
        Just("field = EDUCATION AND year >= 2015".to_owned()),
        Just("title:\"water\"".to_owned()),
        (1usize..20_000).prop_map(|n| format!(
            "{}field = EDUCATION{}",
            "(".repeat(n),
            ")".repeat(n)
        )),
        (1usize..5_000).prop_map(|n| format!("{} livelihood = true", vec!["NOT"; n].join(" "))),
        (1usize..3_000).prop_map(|n| (0..n)
            .map(|i| format!("year = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ")),
    ]
    .sboxed()
}

fn order_by() -> SBoxedStrategy<String> {
    prop_oneof![
        text(),
        words(12, " "),
        Just("title desc, name".to_owned()),
        (1usize..5_000).prop_map(|n| format!("{}name", "title, ".repeat(n))),
    ]
    .sboxed()
}

fn number() -> SBoxedStrategy<i64> {
    prop_oneof![Just(0i64), -5i64..5, 0i64..3_000, any::<i64>()].sboxed()
}

/// Where a read looks: mostly now, else a revision or a time, sane or not.
fn read_at() -> SBoxedStrategy<Option<v1::ReadAt>> {
    use v1::read_at::Point;
    prop_oneof![
        3 => Just(None),
        1 => number().prop_map(|revision| Some(v1::ReadAt { point: Some(Point::Revision(revision)) })),
        1 => (number(), small()).prop_map(|(seconds, nanos)| Some(v1::ReadAt {
            point: Some(Point::Time(prost_types::Timestamp { seconds, nanos })),
        })),
    ]
    .sboxed()
}

fn small() -> SBoxedStrategy<i32> {
    prop_oneof![Just(0i32), -3i32..60, 1990i32..2030, any::<i32>()].sboxed()
}

fn date() -> SBoxedStrategy<Option<Date>> {
    prop_oneof![
        Just(None),
        (1949i32..2101, 1i32..13, 1i32..29).prop_map(|(year, month, day)| Some(Date {
            year,
            month,
            day
        })),
        (any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(year, month, day)| Some(Date {
            year,
            month,
            day
        })),
    ]
    .sboxed()
}

fn money() -> SBoxedStrategy<Option<Money>> {
    let currency = prop_oneof![Just("CNY".to_owned()), Just("USD".to_owned()), text()];
    let units = prop_oneof![0i64..10_000_000_000, any::<i64>()];
    let nanos = prop_oneof![Just(0i32), any::<i32>()];
    prop_oneof![
        Just(None),
        (currency, units, nanos).prop_map(|(currency_code, units, nanos)| Some(Money {
            currency_code,
            units,
            nanos
        })),
    ]
    .sboxed()
}

fn project() -> SBoxedStrategy<v1::Project> {
    let recipient = (
        prop_oneof![Just("areas/kashgar".to_owned()), text()],
        prop_oneof![Just("100".to_owned()), Just("-5".to_owned()), text()],
    )
        .prop_map(|(area, share_percent)| v1::RecipientArea {
            area,
            share_percent,
        });
    let line = (small(), small(), date(), money(), date()).prop_map(
        |(kind, year, date, amount, value_date)| v1::FundingLine {
            r#type: kind,
            year,
            date,
            amount,
            value_date,
        },
    );
    let output =
        (text(), text()).prop_map(|(indicator, value)| v1::ProjectOutput { indicator, value });
    let names = (
        prop_oneof![Just(String::new()), text()],
        prop_oneof![Just("Hostile test works".to_owned()), text()],
        prop_oneof![Just("pairings/shenzhen-kashgar".to_owned()), text()],
        prop_oneof![Just("parties/shenzhen".to_owned()), text()],
    );
    let enums = (small(), any::<bool>(), small(), small());
    let dates = (date(), date(), date(), date());
    let lists = (
        prop::collection::vec(recipient, 0..4),
        prop::collection::vec(output, 0..3),
        prop::collection::vec(line, 0..6),
    );
    let provenance =
        (text(), text(), date()).prop_map(|(source_title, publisher, publish_date)| {
            v1::Provenance {
                source_title,
                publisher,
                publish_date,
                ..Default::default()
            }
        });
    (names, enums, dates, lists, provenance, text())
        .prop_map(
            |(
                (name, title, pairing, party),
                (field, livelihood, status, data_status),
                (planned_start_date, planned_end_date, actual_start_date, actual_end_date),
                (recipients, outputs, funding_lines),
                provenance,
                etag,
            )| v1::Project {
                name,
                title,
                description: String::new(),
                pairing,
                party,
                recipients,
                field,
                livelihood,
                status,
                planned_start_date,
                planned_end_date,
                actual_start_date,
                actual_end_date,
                outputs,
                funding_lines,
                data_status,
                provenance: Some(provenance),
                etag,
                ..Default::default()
            },
        )
        .sboxed()
}

/// A project that passes validation but for, now and then, one odd field: the writes that
/// succeed, so the run checks that what it acknowledged survives a restart.
fn plausible_project() -> SBoxedStrategy<v1::Project> {
    let title = prop_oneof![4 => "[A-Za-z ]{1,40}", 1 => text()];
    let year = prop_oneof![8 => 2000i32..2030, 1 => any::<i32>()];
    let units = prop_oneof![8 => 1i64..1_000_000_000, 1 => any::<i64>()];
    let share = prop_oneof![8 => Just("100".to_owned()), 1 => text()];
    (title, year, units, share, 1i32..10)
        .prop_map(|(title, year, units, share_percent, field)| v1::Project {
            title,
            party: "parties/shenzhen".into(),
            recipients: vec![v1::RecipientArea {
                area: "areas/kashgar-city".into(),
                share_percent,
            }],
            field,
            livelihood: true,
            status: v1::ProjectStatus::InProgress.into(),
            funding_lines: vec![v1::FundingLine {
                r#type: v1::FundingType::Expenditure.into(),
                year,
                amount: Some(Money {
                    currency_code: "CNY".into(),
                    units,
                    nanos: 0,
                }),
                ..Default::default()
            }],
            data_status: v1::DataStatus::Estimated.into(),
            provenance: Some(v1::Provenance {
                source_title: "pairing-load hostile run".into(),
                publisher: "pairing-aid".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .sboxed()
}

fn presents() -> impl Strategy<Value = Presents> {
    prop_oneof![
        Just(Presents::Nothing),
        Just(Presents::Reader),
        Just(Presents::Writer)
    ]
}

fn call<M: Message + 'static>(
    path: &'static str,
    messages: impl Strategy<Value = M> + Send + Sync + 'static,
) -> SBoxedStrategy<Call> {
    (messages, presents())
        .prop_map(move |(message, presents)| Call {
            path,
            message: message.encode_to_vec(),
            presents,
        })
        .sboxed()
}

/// Any of the calls, with random content.
pub fn calls() -> SBoxedStrategy<Call> {
    prop_oneof![
        call(
            "/pairing.v1.ProjectService/ListProjects",
            (small(), text(), filter(), order_by(), number(), read_at()).prop_map(
                |(page_size, page_token, filter, order_by, min_revision, read_at)| {
                    v1::ListProjectsRequest {
                        page_size,
                        page_token,
                        filter,
                        order_by,
                        min_revision,
                        read_at,
                    }
                }
            )
        ),
        call(
            "/pairing.v1.ObservationService/ListObservations",
            (small(), text(), filter(), order_by()).prop_map(
                |(page_size, page_token, filter, order_by)| v1::ListObservationsRequest {
                    page_size,
                    page_token,
                    filter,
                    order_by,
                    min_revision: 0,
                    read_at: None,
                }
            )
        ),
        call(
            "/pairing.v1.ProjectService/GetProject",
            (text(), number(), read_at()).prop_map(|(name, min_revision, read_at)| {
                v1::GetProjectRequest {
                    name,
                    min_revision,
                    read_at,
                }
            })
        ),
        call(
            "/pairing.v1.AnalyticsService/SummarizeFunding",
            (
                filter(),
                prop::collection::vec(small(), 0..8),
                (small(), small(), small()),
                prop_oneof![Just("CNY".to_owned()), text()],
                (small(), small(), text()),
            )
                .prop_map(
                    |(
                        filter,
                        group_by,
                        (area_level, start_year, end_year),
                        currency_code,
                        (price_base_year, top_n, exchange_rate_series),
                    )| {
                        v1::SummarizeFundingRequest {
                            filter,
                            group_by,
                            area_level,
                            start_year,
                            end_year,
                            currency_code,
                            price_base_year,
                            top_n,
                            exchange_rate_series,
                            ..Default::default()
                        }
                    }
                )
        ),
        call(
            "/pairing.v1.AnalyticsService/ReconcileReportedFigures",
            (filter(), text(), text(), read_at()).prop_map(
                |(filter, about_tolerance_percent, exchange_rate_series, read_at)| {
                    v1::ReconcileReportedFiguresRequest {
                        filter,
                        about_tolerance_percent,
                        exchange_rate_series,
                        min_revision: 0,
                        read_at,
                    }
                }
            )
        ),
        call(
            "/pairing.v1.AnalyticsService/GetIndicatorSeries",
            (text(), prop::collection::vec(text(), 0..4), text(), text()).prop_map(
                |(indicator, areas, start_period, end_period)| v1::GetIndicatorSeriesRequest {
                    indicator,
                    areas,
                    start_period,
                    end_period,
                    ..Default::default()
                }
            )
        ),
        call(
            "/pairing.v1.ProjectService/CreateProject",
            (project(), text(), text(), text()).prop_map(
                |(project, project_id, request_id, reason)| v1::CreateProjectRequest {
                    project: Some(project),
                    project_id,
                    request_id,
                    reason,
                }
            )
        ),
        call(
            "/pairing.v1.ProjectService/CreateProject",
            (plausible_project(), "[a-z][a-z0-9-]{2,30}").prop_map(|(project, project_id)| {
                v1::CreateProjectRequest {
                    project: Some(project),
                    project_id,
                    request_id: String::new(),
                    reason: String::new(),
                }
            })
        ),
        call(
            "/pairing.v1.ProjectService/UpdateProject",
            (
                project(),
                prop::collection::vec(text(), 0..5),
                text(),
                text()
            )
                .prop_map(|(project, paths, request_id, reason)| {
                    v1::UpdateProjectRequest {
                        project: Some(project),
                        update_mask: Some(FieldMask { paths }),
                        request_id,
                        reason,
                    }
                })
        ),
        call(
            "/pairing.v1.RecordService/ListChanges",
            (number(), small(), text(), text()).prop_map(
                |(after_revision, page_size, page_token, collection)| {
                    v1::ListChangesRequest {
                        after_revision,
                        page_size,
                        page_token,
                        scope: Some(v1::ChangeScope {
                            collections: vec![collection],
                            ..Default::default()
                        }),
                    }
                }
            )
        ),
    ]
    .sboxed()
}

/// `message` damaged as a faulty link or a fuzzer would: bits flipped, bytes cut, inserted or
/// repeated.
pub fn mutated(dice: &mut Dice, message: &[u8]) -> Vec<u8> {
    let mut bytes = message.to_vec();
    for _ in 0..1 + dice.below(8) {
        let at = dice.below(bytes.len() + 1);
        match dice.below(5) {
            0 if at < bytes.len() => bytes[at] ^= 1 << dice.below(8),
            1 => bytes.truncate(at),
            2 => {
                let noise: Vec<u8> = dice.draw(prop::collection::vec(any::<u8>(), 1..16));
                bytes.splice(at..at, noise);
            }
            3 if at < bytes.len() => {
                let end = (at + 1 + dice.below(32)).min(bytes.len());
                let repeated = bytes[at..end].to_vec();
                bytes.splice(at..at, repeated);
            }
            _ => bytes = dice.draw(prop::collection::vec(any::<u8>(), 0..256)),
        }
    }
    bytes
}

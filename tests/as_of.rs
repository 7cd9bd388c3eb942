//! The record as it was, asked whole: random creates, updates, deletes, batch upserts and
//! imports, every question's answer recorded after each commit, then every question asked
//! again at each past revision (and at each commit's time) must answer byte for byte what it
//! answered then. On SQLite and on PostgreSQL, through the real server and client crate.

mod common;

use common::postgres::PgDatabase;
use common::{ADMIN_TOKEN, TestServer, WRITE_TOKEN, commit_time, project, reason, violations};
use pairing_aid_client::pb::google::r#type::Money;
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::read_at::Point;
use pairing_aid_client::v1::*;
use pairing_aid_client::{Client, prost_types::Timestamp};
use prost::Message as _;

/// A small deterministic generator: the seed is printed, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PARTIES: [&str; 4] = [
    "parties/beijing",
    "parties/shanghai",
    "parties/shenzhen",
    "parties/tianjin",
];
const AREAS: [&str; 4] = [
    "areas/kashgar",
    "areas/hotan",
    "areas/yarkant",
    "areas/aksu",
];
const FIELDS: [SupportField; 4] = [
    SupportField::Education,
    SupportField::HealthCare,
    SupportField::Housing,
    SupportField::Water,
];
const TITLES: [&str; 4] = [
    "Water supply works",
    "County school",
    "Clinic refit",
    "Drinking water pipes",
];

/// A random project named `projects/{id}`.
fn random_project(dice: &mut Dice, id: &str) -> Project {
    let mut project = project(id);
    project.title = format!("{} {id}", dice.pick(&TITLES));
    project.party = dice.pick(&PARTIES).to_string();
    project.recipients[0].area = dice.pick(&AREAS).to_string();
    project.field = (*dice.pick(&FIELDS)).into();
    project.status = if dice.below(2) == 0 {
        ProjectStatus::Completed
    } else {
        ProjectStatus::InProgress
    }
    .into();
    let line = &mut project.funding_lines[0];
    line.r#type = FundingType::Expenditure.into();
    line.year = 2013 + dice.below(10) as i32;
    line.date = None;
    line.amount = Some(Money {
        currency_code: "CNY".into(),
        units: 1_000_000 + dice.below(50) as i64 * 250_000,
        nanos: 0,
    });
    project
}

/// A random estimate of GDP in one of the areas.
fn random_observation(dice: &mut Dice) -> Observation {
    Observation {
        indicator: "indicators/gdp".into(),
        area: dice.pick(&AREAS).to_string(),
        period: (2016 + dice.below(7)).to_string(),
        value: format!("{}.{}", 100 + dice.below(900), dice.below(10)),
        qualifier: Qualifier::Exact.into(),
        status: DataStatus::Estimated.into(),
        provenance: Some(Provenance {
            source_title: format!("Statistical communique {}", dice.below(3)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the writes made so far, to pick the next one from.
#[derive(Default)]
struct Made {
    projects: Vec<String>,
    observations: Vec<String>,
    next: usize,
}

/// Makes one random commit; its revision.
async fn random_write(client: &Client, dice: &mut Dice, made: &mut Made) -> i64 {
    made.next += 1;
    let id = format!("p{}", made.next);
    match dice.below(7) {
        0 | 1 => {
            let created = client
                .projects()
                .create_project(CreateProjectRequest {
                    project: Some(random_project(dice, &id)),
                    project_id: id.clone(),
                    reason: "entered".into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            made.projects.push(format!("projects/{id}"));
            created.revision
        }
        2 if !made.projects.is_empty() => {
            let name = dice.pick(&made.projects).clone();
            let mut changed = random_project(dice, name.trim_start_matches("projects/"));
            changed.name = name;
            client
                .projects()
                .update_project(UpdateProjectRequest {
                    project: Some(changed),
                    update_mask: Some(pairing_aid_client::prost_types::FieldMask {
                        paths: vec![
                            "title".into(),
                            "field".into(),
                            "status".into(),
                            "funding_lines".into(),
                        ],
                    }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .revision
        }
        3 if !made.projects.is_empty() => {
            let name = made.projects.swap_remove(dice.below(made.projects.len()));
            client
                .projects()
                .delete_project(DeleteProjectRequest {
                    name,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .revision
        }
        4 => {
            let created = client
                .observations()
                .create_observation(CreateObservationRequest {
                    observation: Some(random_observation(dice)),
                    observation_id: format!("o{}", made.next),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            made.observations
                .push(format!("observations/o{}", made.next));
            created.revision
        }
        5 if !made.observations.is_empty() => {
            let name = made
                .observations
                .swap_remove(dice.below(made.observations.len()));
            client
                .observations()
                .delete_observation(DeleteObservationRequest {
                    name,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .revision
        }
        _ => {
            // An import batch: two projects and an observation, one commit.
            let ids = [format!("{id}a"), format!("{id}b")];
            let mut records: Vec<Record> = ids
                .iter()
                .map(|id| Record {
                    resource: Some(record::Resource::Project(random_project(dice, id))),
                })
                .collect();
            let mut observation = random_observation(dice);
            observation.name = format!("observations/{id}o");
            records.push(Record {
                resource: Some(record::Resource::Observation(observation)),
            });
            let batch = ImportRecordsRequest {
                import_id: format!("import-{id}"),
                batch_sequence: 1,
                records,
                reason: "imported".into(),
            };
            let mut acknowledged = client
                .records()
                .import_records(futures_util::stream::iter([batch]))
                .await
                .unwrap()
                .into_inner();
            let batch = acknowledged.message().await.unwrap().unwrap();
            assert!(batch.violations.is_empty(), "{:?}", batch.violations);
            made.projects
                .extend(ids.iter().map(|id| format!("projects/{id}")));
            made.observations.push(format!("observations/{id}o"));
            batch.revision
        }
    }
}

/// A request reading at a point.
trait At {
    fn at(self, at: Option<ReadAt>) -> Self;
}

macro_rules! at {
    ($($request:ty),*) => {$(
        impl At for $request {
            fn at(mut self, at: Option<ReadAt>) -> Self {
                self.read_at = at;
                self
            }
        }
    )*};
}

at!(
    ListProjectsRequest,
    ListObservationsRequest,
    ListPartiesRequest,
    ListAreasRequest,
    ListPairingsRequest,
    ListIndicatorsRequest,
    SummarizeFundingRequest,
    GetIndicatorSeriesRequest,
    GetLatestObservationsRequest,
    RollUpIndicatorRequest,
    RankAreasRequest,
    ReconcileReportedFiguresRequest,
    CheckConsistencyRequest,
    ResolvePlacesRequest,
    GetProjectRequest
);

/// Every page of a listing, each encoded, read at `at`.
macro_rules! all_pages {
    ($client:expr, $stub:ident . $method:ident, $request:expr, $at:expr) => {{
        let mut pages = Vec::new();
        let mut request = $request.at($at);
        loop {
            let page = $client.$stub().$method(request.clone()).await;
            let page = match page {
                Ok(page) => page.into_inner(),
                Err(status) => {
                    pages.push(format!("{:?} {}", status.code(), status.message()).into_bytes());
                    break;
                }
            };
            pages.push(page.encode_to_vec());
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        pages
    }};
}

/// One answer, encoded, or its error.
macro_rules! answer {
    ($client:expr, $stub:ident . $method:ident, $request:expr, $at:expr) => {{
        let request = $request.at($at);
        match $client.$stub().$method(request).await {
            Ok(answer) => answer.into_inner().encode_to_vec(),
            Err(status) => format!("{:?} {}", status.code(), status.message()).into_bytes(),
        }
    }};
}

/// Every question this test asks, each answer encoded, read at `at` (none: now).
async fn every_answer(client: &Client, names: &[String], at: Option<ReadAt>) -> Vec<Vec<u8>> {
    let mut answers = Vec::new();
    let list = |filter: &str, order_by: &str, page_size| ListProjectsRequest {
        filter: filter.into(),
        order_by: order_by.into(),
        page_size,
        ..Default::default()
    };
    answers.extend(all_pages!(
        client,
        projects.list_projects,
        list(
            "party = \"parties/shanghai\" OR party = \"parties/beijing\"",
            "",
            40
        ),
        at
    ));
    answers.extend(all_pages!(
        client,
        projects.list_projects,
        list("field = EDUCATION AND year >= 2015", "title desc", 25),
        at
    ));
    answers.extend(all_pages!(
        client,
        projects.list_projects,
        list("title:\"water\" AND NOT status = COMPLETED", "", 50),
        at
    ));
    answers.extend(all_pages!(
        client,
        projects.list_projects,
        list("area = \"areas/kashgar\"", "name desc", 100),
        at
    ));
    answers.extend(all_pages!(
        client,
        observations.list_observations,
        ListObservationsRequest {
            filter: "indicator = \"indicators/gdp\"".into(),
            page_size: 30,
            ..Default::default()
        },
        at
    ));
    answers.extend(all_pages!(
        client,
        parties.list_parties,
        ListPartiesRequest::default(),
        at
    ));
    answers.extend(all_pages!(
        client,
        areas.list_areas,
        ListAreasRequest::default(),
        at
    ));
    answers.extend(all_pages!(
        client,
        pairings.list_pairings,
        ListPairingsRequest::default(),
        at
    ));
    answers.extend(all_pages!(
        client,
        indicators.list_indicators,
        ListIndicatorsRequest::default(),
        at
    ));
    let summary = |filter: &str, group_by: Vec<FundingDimension>, top_n| SummarizeFundingRequest {
        filter: filter.into(),
        group_by: group_by.into_iter().map(i32::from).collect(),
        start_year: 2015,
        end_year: 2020,
        top_n,
        ..Default::default()
    };
    for request in [
        summary(
            "",
            vec![FundingDimension::Party, FundingDimension::Field],
            0,
        ),
        summary("title:\"water\"", vec![FundingDimension::Area], 0),
        summary("livelihood = true", vec![FundingDimension::Party], 3),
        summary(
            "",
            vec![FundingDimension::DataStatus, FundingDimension::Year],
            0,
        ),
    ] {
        answers.push(answer!(client, analytics.summarize_funding, request, at));
    }
    answers.push(answer!(
        client,
        analytics.get_indicator_series,
        GetIndicatorSeriesRequest {
            indicator: "indicators/gdp".into(),
            areas: AREAS.iter().map(|a| a.to_string()).collect(),
            derivations: vec![Derivation::YearOnYear.into(), Derivation::Cagr.into()],
            ..Default::default()
        },
        at
    ));
    answers.push(answer!(
        client,
        analytics.get_latest_observations,
        GetLatestObservationsRequest {
            indicator: "indicators/gdp".into(),
            ..Default::default()
        },
        at
    ));
    for period in ["2018", "2022"] {
        answers.push(answer!(
            client,
            analytics.roll_up_indicator,
            RollUpIndicatorRequest {
                indicator: "indicators/gdp".into(),
                period: period.into(),
                level: AreaLevel::Region.into(),
                ..Default::default()
            },
            at
        ));
        answers.push(answer!(
            client,
            analytics.rank_areas,
            RankAreasRequest {
                indicator: "indicators/gdp".into(),
                period: period.into(),
                level: AreaLevel::Prefecture.into(),
                ..Default::default()
            },
            at
        ));
    }
    answers.push(answer!(
        client,
        analytics.reconcile_reported_figures,
        ReconcileReportedFiguresRequest::default(),
        at
    ));
    answers.push(answer!(
        client,
        analytics.check_consistency,
        CheckConsistencyRequest::default(),
        at
    ));
    answers.push(answer!(
        client,
        areas.resolve_places,
        ResolvePlacesRequest {
            query: "Kashgar".into(),
            ..Default::default()
        },
        at
    ));
    let mut export = client
        .records()
        .export_records(ExportRecordsRequest {
            read_at: at,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(chunk) = export.message().await.unwrap() {
        answers.push(chunk.encode_to_vec());
    }
    for name in names {
        answers.push(answer!(
            client,
            projects.get_project,
            GetProjectRequest {
                name: name.clone(),
                ..Default::default()
            },
            at
        ));
    }
    answers
}

fn at_revision(revision: i64) -> Option<ReadAt> {
    Some(ReadAt {
        point: Some(Point::Revision(revision)),
    })
}

fn at_time(time: Timestamp) -> Option<ReadAt> {
    Some(ReadAt {
        point: Some(Point::Time(time)),
    })
}

/// Writes `steps` random commits on the demo record, recording every answer after each, then
/// asks everything again at each revision and at each commit's time.
async fn every_past_answer_is_what_was_answered(server: &TestServer, steps: usize) {
    // A failure prints its seed; PAIRING_AID_TEST_SEED replays it.
    let seed = std::env::var("PAIRING_AID_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("seed {seed}");
    let mut dice = Dice(seed);
    let writer = server.client(Some(ADMIN_TOKEN)).await;
    let reader = server.client(None).await;
    let mut made = Made::default();
    // Every name a write may make (see `random_write`), and one of the demo's.
    let names: Vec<String> = (1..=steps)
        .flat_map(|i| ["", "a", "b"].map(|suffix| format!("projects/p{i}{suffix}")))
        .chain(["projects/shanghai-kashgar-2013-01".to_owned()])
        .collect();
    let mut then = vec![(1, every_answer(&reader, &names, None).await)];
    for _ in 0..steps {
        let revision = random_write(&writer, &mut dice, &mut made).await;
        then.push((revision, every_answer(&reader, &names, None).await));
    }
    for (revision, answers) in &then {
        let now = every_answer(&reader, &names, at_revision(*revision)).await;
        assert_eq!(now.len(), answers.len(), "seed {seed}, revision {revision}");
        for (i, (now, then)) in now.iter().zip(answers).enumerate() {
            assert!(
                now == then,
                "seed {seed}: answer {i} at revision {revision} differs:\nthen {}\nnow  {}",
                String::from_utf8_lossy(then),
                String::from_utf8_lossy(now)
            );
        }
        let time = commit_time(&reader, *revision).await;
        assert!(
            every_answer(&reader, &names, at_time(time)).await == *answers,
            "seed {seed}: the answers at the time of revision {revision} differ"
        );
    }
}

#[tokio::test]
async fn every_question_at_every_past_revision_on_sqlite() {
    let server = TestServer::start_with_tokens(&[]);
    every_past_answer_is_what_was_answered(&server, 24).await;
}

#[tokio::test]
async fn every_question_at_every_past_revision_on_postgres() {
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    let server = TestServer::start_with_tokens(&["--database", &database.url()]);
    every_past_answer_is_what_was_answered(&server, 16).await;
}

/// Bad read points are refused naming the field; a record too large for past listings says
/// so; a time before the first commit reads the empty record.
#[tokio::test]
async fn bad_read_points_are_refused_naming_the_field() {
    let server = TestServer::start_with_tokens(&["--max-past-record", "100"]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    let refused = |revision| ListProjectsRequest {
        read_at: at_revision(revision),
        ..Default::default()
    };
    for revision in [-1, 0] {
        let status = client
            .projects()
            .list_projects(refused(revision))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violations(&status)[0].0, "read_at.revision");
    }
    for (seconds, nanos) in [(i64::MAX, 0), (0, -1), (4_102_444_800, 0)] {
        let status = client
            .analytics()
            .summarize_funding(SummarizeFundingRequest {
                read_at: at_time(Timestamp { seconds, nanos }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(reason(&status), "INVALID_TIME");
        assert_eq!(violations(&status)[0].0, "read_at.time");
    }
    let twice = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/shanghai-kashgar-2013-01@1".into(),
            read_at: at_revision(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::InvalidArgument);
    assert_eq!(violations(&twice)[0].0, "read_at");
    let unknown = client
        .projects()
        .list_projects(ListProjectsRequest {
            filter: "colour = \"red\"".into(),
            read_at: at_revision(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(violations(&unknown)[0].0, "filter");

    // A revision not yet committed is waited for, up to the call's deadline.
    let mut future = pairing_aid_client::tonic::Request::new(refused(1_000));
    future.set_timeout(std::time::Duration::from_millis(300));
    let waited = client.projects().list_projects(future).await.unwrap_err();
    assert_eq!(waited.code(), Code::DeadlineExceeded, "{waited:?}");

    // The demo record holds more than 100 resources: listings at a past revision are refused,
    // a Get at it is not.
    let created = client
        .projects()
        .create_project(common::create_request("later", ""))
        .await
        .unwrap()
        .into_inner();
    let too_large = client
        .projects()
        .list_projects(refused(created.revision - 1))
        .await
        .unwrap_err();
    assert_eq!(too_large.code(), Code::FailedPrecondition);
    assert_eq!(reason(&too_large), "PAST_RECORD_TOO_LARGE");
    let stood = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/shanghai-kashgar-2013-01".into(),
            read_at: at_revision(created.revision - 1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stood.into_inner().project.unwrap().revision, 1);
    // Before the first commit there was nothing.
    let before = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/shanghai-kashgar-2013-01".into(),
            read_at: at_time(Timestamp {
                seconds: 86_400,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::NotFound);
}

//! The write path through the real client: tokens, validation, etags, request ids, batches,
//! concurrency and read-your-writes.

mod common;

use std::time::Duration;

use common::{
    ADMIN_TOKEN, READ_TOKEN, TestServer, WRITE_TOKEN, create_request, get_project, project, reason,
    violations,
};
use pairing_aid_client::tonic::{Code, Request, Status};
use pairing_aid_client::v1::*;

async fn latest_revision(server: &TestServer) -> i64 {
    server
        .client(None)
        .await
        .records()
        .list_changes(ListChangesRequest {
            after_revision: 0,
            page_size: 1,
            page_token: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revision
}

#[tokio::test]
async fn writes_need_a_valid_token_with_the_right_role() {
    let server = TestServer::start_with_tokens(&[]);
    let attempt = |token: Option<&'static str>| {
        let server = &server;
        async move {
            server
                .client(token)
                .await
                .projects()
                .create_project(create_request("token-test", ""))
                .await
        }
    };
    let anonymous = attempt(None).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let forged = attempt(Some("not-a-token-at-all")).await.unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
    let reader = attempt(Some(READ_TOKEN)).await.unwrap_err();
    assert_eq!(
        (reader.code(), reason(&reader)),
        (Code::PermissionDenied, "PERMISSION_DENIED".into())
    );
    let created = attempt(Some(WRITE_TOKEN)).await.unwrap().into_inner();
    assert_eq!(created.project.unwrap().name, "projects/token-test");

    let party = Party {
        kind: PartyKind::Enterprise.into(),
        display_name: "Test Enterprise".into(),
        ..Default::default()
    };
    let by_writer = server
        .client(Some(WRITE_TOKEN))
        .await
        .parties()
        .create_party(CreatePartyRequest {
            party: Some(party.clone()),
            party_id: "test-enterprise".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        by_writer.code(),
        Code::PermissionDenied,
        "reference data needs the admin role"
    );
    server
        .client(Some(ADMIN_TOKEN))
        .await
        .parties()
        .create_party(CreatePartyRequest {
            party: Some(party),
            party_id: "test-enterprise".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();

    // Reads stay open without a token.
    get_project(&server.client(None).await, "projects/token-test")
        .await
        .unwrap();
}

#[tokio::test]
async fn reads_need_a_token_when_the_server_says_so() {
    let server = TestServer::start_with_tokens(&["--require-token-for-reads"]);
    let anonymous = server
        .client(None)
        .await
        .projects()
        .list_projects(ListProjectsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    server
        .client(Some(READ_TOKEN))
        .await
        .projects()
        .list_projects(ListProjectsRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn create_update_and_delete_with_etags() {
    let server = TestServer::start_with_tokens(&[]);
    let writer = server.client(Some(WRITE_TOKEN)).await;
    let mut client = writer.projects();
    let created = client
        .create_project(create_request("etag-test", ""))
        .await
        .unwrap()
        .into_inner();
    let stored = created.project.unwrap();
    assert_eq!(stored.revision, created.revision);
    assert!(stored.create_time.is_some());

    let again = client
        .create_project(create_request("etag-test", ""))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let mut change = stored.clone();
    change.title = "Renamed".into();
    change.description = "not in the mask, so not written".into();
    let updated = client
        .update_project(UpdateProjectRequest {
            project: Some(change.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let after = updated.project.unwrap();
    assert_eq!(after.title, "Renamed");
    assert_eq!(after.description, stored.description);
    assert!(after.revision > stored.revision);
    assert_ne!(after.etag, stored.etag);

    // The first etag is stale now: both update and delete are refused and change nothing.
    let stale = client
        .update_project(UpdateProjectRequest {
            project: Some(change),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let stale_delete = client
        .delete_project(DeleteProjectRequest {
            name: stored.name.clone(),
            etag: stored.etag.clone(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale_delete.code(), Code::Aborted);
    let current = get_project(&writer, &stored.name).await.unwrap();
    assert_eq!(current, after);

    let bad_mask = client
        .update_project(UpdateProjectRequest {
            project: Some(current.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["etag".into()],
            }),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad_mask)[0].0, "update_mask");

    client
        .delete_project(DeleteProjectRequest {
            name: stored.name.clone(),
            etag: current.etag,
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let gone = get_project(&writer, &stored.name).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn every_violation_is_reported_with_its_field_and_nothing_is_written() {
    let server = TestServer::start_with_tokens(&[]);
    let before = latest_revision(&server).await;
    let mut bad = project("bad-project");
    bad.title = " ".into();
    bad.party = "parties/atlantis".into();
    bad.recipients.push(RecipientArea {
        area: "areas/nowhere".into(),
        share_percent: "30".into(),
    });
    bad.funding_lines[0].amount = Some(pairing_aid_client::pb::google::r#type::Money {
        currency_code: "yuan".into(),
        units: -5,
        nanos: 0,
    });
    bad.funding_lines[0].date = Some(pairing_aid_client::pb::google::r#type::Date {
        year: 2023,
        month: 2,
        day: 30,
    });
    bad.pairing = "Bad Name".into();
    let error = server
        .client(Some(WRITE_TOKEN))
        .await
        .projects()
        .create_project(CreateProjectRequest {
            project: Some(bad),
            project_id: "bad-project".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let fields: Vec<String> = violations(&error)
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    for expected in [
        "project.funding_lines[0].date",
        "project.title",
        "project.recipients",
        "project.funding_lines[0].amount.currency_code",
        "project.funding_lines[0].amount.units",
        "project.party",
        "project.recipients[1].area",
        "project.pairing",
    ] {
        assert!(
            fields.contains(&expected.to_owned()),
            "missing {expected} in {fields:?}"
        );
    }
    assert_eq!(
        latest_revision(&server).await,
        before,
        "nothing was written"
    );

    let observation = Observation {
        indicator: "indicators/gdp".into(),
        area: "areas/kashgar".into(),
        period: "2022Q1".into(),
        value: "1.2".into(),
        qualifier: Qualifier::Exact.into(),
        status: DataStatus::Estimated.into(),
        provenance: Some(Provenance {
            source_title: "Test".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let error = server
        .client(Some(WRITE_TOKEN))
        .await
        .observations()
        .create_observation(CreateObservationRequest {
            observation: Some(observation),
            observation_id: "gdp-kashgar-2022q1".into(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    let found = violations(&error);
    assert_eq!(found[0].0, "observation.period");
    assert!(found[0].1.contains("YYYY"), "{found:?}");
}

#[tokio::test]
async fn a_retried_request_id_is_applied_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let server = TestServer::start_on(&database, &common::token_args());
    let mut client = server.client(Some(WRITE_TOKEN)).await.projects();
    let first = client
        .create_project(create_request("retried", "req-42"))
        .await
        .unwrap()
        .into_inner();
    let second = client
        .create_project(create_request("retried", "req-42"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, second);
    let reused = client
        .create_project(create_request("other-project", "req-42"))
        .await
        .unwrap_err();
    assert_eq!(
        (reused.code(), reason(&reused)),
        (Code::InvalidArgument, "REQUEST_ID_REUSED".into())
    );
    assert!(server.stop().success());

    let server = TestServer::start_on(&database, &common::token_args());
    let mut client = server.client(Some(WRITE_TOKEN)).await.projects();
    let third = client
        .create_project(create_request("retried", "req-42"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, third);
    assert_eq!(
        latest_revision(&server).await,
        first.revision,
        "applied once"
    );
}

#[tokio::test]
async fn concurrent_writers_on_one_project_lose_no_update() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    client
        .projects()
        .create_project(create_request("contended", ""))
        .await
        .unwrap();
    let writers = 6;
    let increments = 5;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut aborted = 0;
            for _ in 0..increments {
                loop {
                    let mut current = get_project(&client, "projects/contended").await.unwrap();
                    let count: u32 = current
                        .description
                        .trim_start_matches("count=")
                        .parse()
                        .unwrap();
                    current.description = format!("count={}", count + 1);
                    let update = UpdateProjectRequest {
                        project: Some(current),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["description".into()],
                        }),
                        request_id: String::new(),
                        reason: String::new(),
                    };
                    match client.projects().update_project(update).await {
                        Ok(_) => break,
                        Err(status) if status.code() == Code::Aborted => aborted += 1,
                        Err(status) => panic!("unexpected {status:?}"),
                    }
                }
            }
            aborted
        }));
    }
    let mut aborted = 0;
    for task in tasks {
        aborted += task.await.unwrap();
    }
    let last = get_project(&client, "projects/contended").await.unwrap();
    assert_eq!(
        last.description,
        format!("count={}", writers * increments),
        "no lost update ({aborted} retries)"
    );
}

#[tokio::test]
async fn updates_without_an_etag_are_never_aborted_and_keep_each_others_fields() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    client
        .projects()
        .create_project(create_request("unconditional", ""))
        .await
        .unwrap();
    let update = |field: &'static str, value: String| {
        let mut client = client.projects();
        let mut project = Project {
            name: "projects/unconditional".into(),
            ..Default::default()
        };
        match field {
            "title" => project.title = value,
            _ => project.description = value,
        }
        async move {
            client
                .update_project(UpdateProjectRequest {
                    project: Some(project),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![field.into()],
                    }),
                    request_id: String::new(),
                    reason: String::new(),
                })
                .await
        }
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let field = if i % 2 == 0 { "title" } else { "description" };
        tasks.push(tokio::spawn(update(field, format!("{field} {i}"))));
    }
    for task in tasks {
        task.await.unwrap().expect("no ABORTED without an etag");
    }
    let last = get_project(&client, "projects/unconditional")
        .await
        .unwrap();
    assert!(last.title.starts_with("title "), "{}", last.title);
    assert!(
        last.description.starts_with("description "),
        "{}",
        last.description
    );
}

#[tokio::test]
async fn batch_upserts_are_all_or_nothing() {
    let server = TestServer::start_with_tokens(&[]);
    let mut records = server.client(Some(WRITE_TOKEN)).await.records();
    let mut broken = project("batch-3");
    broken.recipients[0].share_percent = "abc".into();
    let refused = records
        .batch_upsert_projects(BatchUpsertProjectsRequest {
            projects: vec![project("batch-1"), project("batch-2"), broken],
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&refused)[0].0,
        "projects[2].recipients[0].share_percent"
    );
    let missing = get_project(&server.client(None).await, "projects/batch-1")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let accepted = records
        .batch_upsert_projects(BatchUpsertProjectsRequest {
            projects: vec![project("batch-1"), project("batch-2"), project("batch-3")],
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.projects.len(), 3);
    assert!(
        accepted
            .projects
            .iter()
            .all(|p| p.revision == accepted.revision)
    );

    let too_many = records
        .batch_upsert_projects(BatchUpsertProjectsRequest {
            projects: (0..1001).map(|i| project(&format!("many-{i}"))).collect(),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (too_many.code(), reason(&too_many)),
        (Code::InvalidArgument, "BATCH_SIZE".into())
    );
}

#[tokio::test]
async fn reads_wait_for_a_minimum_revision_within_the_deadline() {
    let server = TestServer::start_with_tokens(&[]);
    let created = server
        .client(Some(WRITE_TOKEN))
        .await
        .projects()
        .create_project(create_request("fresh", ""))
        .await
        .unwrap()
        .into_inner();
    let mut reader = server.client(None).await.projects();
    let seen = reader
        .get_project(GetProjectRequest {
            name: "projects/fresh".into(),
            min_revision: created.revision,
            read_at: None,
        })
        .await
        .unwrap();
    assert_eq!(
        seen.into_inner().project.unwrap().revision,
        created.revision
    );

    let mut future = Request::new(GetProjectRequest {
        name: "projects/fresh".into(),
        min_revision: created.revision + 10,
        read_at: None,
    });
    future.set_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let waited = reader.get_project(future).await.unwrap_err();
    assert_eq!(waited.code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn pages_stay_consistent_while_writes_happen() {
    let server = TestServer::start_with_tokens(&[]);
    let mut writer = server.client(Some(WRITE_TOKEN)).await.projects();
    let mut reader = server.client(None).await.projects();
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut round = 0;
    loop {
        let page = reader
            .list_projects(ListProjectsRequest {
                page_size: 40,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.projects.iter().map(|p| p.name.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
        // Insert names before and after the cursor between pages.
        round += 1;
        for prefix in ["a", "z"] {
            writer
                .create_project(create_request(&format!("{prefix}-inserted-{round}"), ""))
                .await
                .unwrap();
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no project repeated");
    let everything = reader
        .list_projects(ListProjectsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .projects;
    let seeded: Vec<&String> = everything
        .iter()
        .map(|p| &p.name)
        .filter(|n| !n.contains("-inserted-"))
        .collect();
    assert!(
        seeded.iter().all(|n| seen.contains(n)),
        "no project that existed throughout was skipped"
    );
}

/// A reported figure says how it was read from its source and quotes the passage; an
/// interpreted one says how the words were read; a computed one names real inputs, which then
/// cannot be deleted from under it.
#[tokio::test]
async fn figures_say_how_they_were_read_and_what_they_were_computed_from() {
    let server = TestServer::start_with_tokens(&[]);
    let observations = || async { server.client(Some(WRITE_TOKEN)).await.observations() };
    let before = latest_revision(&server).await;
    let jobs = |reading: Reading, passage: &str, note: &str| Observation {
        indicator: "indicators/jobs-created".into(),
        area: "areas/kashgar".into(),
        period: "2013/2022".into(),
        value: "50000".into(),
        qualifier: Qualifier::AtLeast.into(),
        status: DataStatus::Reported.into(),
        reading: reading.into(),
        provenance: Some(Provenance {
            source_title: "Test report".into(),
            quoted_passage: passage.into(),
            note: note.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let create = |observation: Observation, id: &str| CreateObservationRequest {
        observation: Some(observation),
        observation_id: id.into(),
        request_id: String::new(),
        reason: String::new(),
    };
    let refused = |error: Status| {
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        violations(&error)
    };

    let unread = refused(
        observations()
            .await
            .create_observation(create(jobs(Reading::Unspecified, " ", ""), "jobs-kashgar"))
            .await
            .unwrap_err(),
    );
    let fields: Vec<&str> = unread.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "observation.reading",
            "observation.provenance.quoted_passage"
        ]
    );
    assert!(
        unread[0]
            .1
            .contains("printed in the source or read out of its words")
    );
    let unexplained = refused(
        observations()
            .await
            .create_observation(create(
                jobs(Reading::Interpreted, "tens of thousands of jobs", ""),
                "jobs-kashgar",
            ))
            .await
            .unwrap_err(),
    );
    assert_eq!(unexplained[0].0, "observation.provenance.note");
    let mut computed = jobs(Reading::Unspecified, "", "");
    computed.status = DataStatus::Computed.into();
    computed.derived_from = vec!["observations/no-such-figure".into(), "areas/kashgar".into()];
    let inputs = refused(
        observations()
            .await
            .create_observation(create(computed.clone(), "jobs-kashgar"))
            .await
            .unwrap_err(),
    );
    let fields: Vec<&str> = inputs.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        ["observation.derived_from[1]", "observation.derived_from[0]"],
        "{inputs:?}"
    );
    assert_eq!(
        latest_revision(&server).await,
        before,
        "nothing was written"
    );

    let interpreted = jobs(
        Reading::Interpreted,
        "tens of thousands of jobs",
        "\"tens of thousands\" read as at least 20,000.",
    );
    observations()
        .await
        .create_observation(create(interpreted, "jobs-kashgar"))
        .await
        .unwrap();
    let listed = observations()
        .await
        .list_observations(ListObservationsRequest {
            filter: "reading = READING_INTERPRETED".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = listed
        .observations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "observations/gdp-multiple-2012-2022",
            "observations/jobs-created-2013-2022",
            "observations/jobs-kashgar",
            "observations/population-in-absolute-poverty-2020",
        ]
    );

    computed.derived_from = vec!["observations/jobs-kashgar".into()];
    observations()
        .await
        .create_observation(create(computed, "jobs-kashgar-computed"))
        .await
        .unwrap();
    let error = observations()
        .await
        .delete_observation(DeleteObservationRequest {
            name: "observations/jobs-kashgar".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(
        error
            .message()
            .contains("observations/jobs-kashgar-computed"),
        "{error:?}"
    );
}

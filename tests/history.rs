//! The record as it was: the revisions of one resource with who, when, why and which fields,
//! and a resource read as it stood at a past revision (AIP-162's `name@revision`), through the
//! client crate and pairctl against the real server.

mod common;

use std::time::Duration;

use common::{
    TestServer, WRITE_TOKEN, create_request, get_project, pairctl_binary, reason, violations,
};
use pairing_aid_client::tonic::Code;
use pairing_aid_client::v1::*;

const NAME: &str = "projects/audited";

/// Creates, renames, completes and deletes one project, each with a reason; the revisions.
async fn four_changes(server: &TestServer) -> [i64; 4] {
    let client = server.client(Some(WRITE_TOKEN)).await;
    let mut create = create_request("audited", "create-1");
    create.reason = "entered from the 2013 plan".into();
    let created = client
        .projects()
        .create_project(create)
        .await
        .unwrap()
        .into_inner();
    let mut project = created.project.unwrap();
    project.title = "Renamed after the audit".into();
    let renamed = client
        .projects()
        .update_project(UpdateProjectRequest {
            project: Some(project.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            request_id: "rename-1".into(),
            reason: "the title in the 2015 report differs".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut project = renamed.project.clone().unwrap();
    project.status = ProjectStatus::Completed.into();
    let completed = client
        .projects()
        .update_project(UpdateProjectRequest {
            project: Some(project),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["status".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let deleted = client
        .projects()
        .delete_project(DeleteProjectRequest {
            name: NAME.into(),
            reason: "a duplicate of another entry".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    [
        created.revision,
        renamed.revision,
        completed.revision,
        deleted.revision,
    ]
}

async fn history(server: &TestServer, page_size: i32) -> Vec<ResourceRevision> {
    let client = server.client(None).await;
    let mut revisions = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .records()
            .list_resource_revisions(ListResourceRevisionsRequest {
                name: NAME.into(),
                page_size,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.revisions.len() <= page_size as usize);
        revisions.extend(page.revisions);
        if page.next_page_token.is_empty() {
            return revisions;
        }
        page_token = page.next_page_token;
    }
}

/// `name` (with `@revision` or not) as an anonymous caller gets it.
async fn get_at(
    server: &TestServer,
    name: &str,
) -> Result<Project, pairing_aid_client::tonic::Status> {
    get_project(&server.client(None).await, name).await
}

#[tokio::test]
async fn every_revision_says_who_when_why_and_what_changed() {
    let server = TestServer::start_with_tokens(&[]);
    let [created, renamed, completed, deleted] = four_changes(&server).await;

    let revisions = history(&server, 50).await;
    let summary: Vec<(i64, RevisionKind, Vec<String>, &str, &str)> = revisions
        .iter()
        .map(|r| {
            (
                r.revision,
                r.kind(),
                r.changed_fields.clone(),
                r.reason.as_str(),
                r.request_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary[..3],
        [
            (
                deleted,
                RevisionKind::Delete,
                vec![],
                "a duplicate of another entry",
                ""
            ),
            (
                completed,
                RevisionKind::Update,
                vec!["status".to_owned()],
                "",
                ""
            ),
            (
                renamed,
                RevisionKind::Update,
                vec!["title".to_owned()],
                "the title in the 2015 report differs",
                "rename-1"
            ),
        ]
    );
    let creation = &revisions[3];
    assert_eq!(
        (
            creation.revision,
            creation.kind(),
            creation.reason.as_str(),
            creation.request_id.as_str()
        ),
        (
            created,
            RevisionKind::Create,
            "entered from the 2013 plan",
            "create-1"
        )
    );
    for field in ["title", "party", "funding_lines", "provenance"] {
        assert!(
            creation.changed_fields.iter().any(|f| f == field),
            "a creation lists the fields it set: {:?}",
            creation.changed_fields
        );
    }
    assert_eq!(revisions.len(), 4);
    assert!(
        revisions
            .iter()
            .all(|r| r.subject == "office" && r.commit_time.is_some())
    );
    assert!(revisions.iter().all(|r| !r.earlier_revisions_dropped));
    let title_at = |r: &ResourceRevision| match &r.record.as_ref().unwrap().resource {
        Some(record::Resource::Project(p)) => p.title.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(title_at(&revisions[1]), "Renamed after the audit");
    assert_eq!(title_at(&revisions[3]), "Test project audited");
    assert!(
        revisions[0].record.is_none(),
        "a deletion holds no resource"
    );

    // Paged one at a time, the same history.
    assert_eq!(history(&server, 1).await, revisions);
}

#[tokio::test]
async fn a_resource_reads_as_it_stood_at_each_revision() {
    let server = TestServer::start_with_tokens(&[]);
    let [created, renamed, completed, deleted] = four_changes(&server).await;

    let at = |revision: i64| format!("{NAME}@{revision}");
    let first = get_at(&server, &at(created)).await.unwrap();
    assert_eq!(first.title, "Test project audited");
    assert_eq!(first.revision, created);
    // Between two changes, the earlier one's version.
    assert_eq!(
        get_at(&server, &at(renamed)).await.unwrap().title,
        "Renamed after the audit"
    );
    let done = get_at(&server, &at(completed)).await.unwrap();
    assert_eq!(
        (done.status(), done.revision),
        (ProjectStatus::Completed, completed)
    );
    for gone in [at(deleted), at(created - 1)] {
        let status = get_at(&server, &gone).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{gone}: {status:?}");
        assert!(status.message().contains(&gone), "{}", status.message());
    }

    // A revision not yet committed is waited for, as min_revision is, within the deadline.
    let mut future = GetProjectRequest {
        name: at(deleted + 100),
        ..Default::default()
    };
    let mut request = pairing_aid_client::tonic::Request::new(future.clone());
    request.set_timeout(Duration::from_millis(300));
    let waited = server
        .client(None)
        .await
        .projects()
        .get_project(request)
        .await
        .unwrap_err();
    assert_eq!(waited.code(), Code::DeadlineExceeded, "{waited:?}");

    // Revisions that are not ones: a clear INVALID_ARGUMENT naming the field.
    for bad in ["-1", "0", "x", ""] {
        future.name = format!("{NAME}@{bad}");
        let status = get_at(&server, &future.name).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}");
        assert_eq!(reason(&status), "INVALID_REVISION");
        assert_eq!(violations(&status)[0].0, "name");
    }
}

#[tokio::test]
async fn a_reason_that_cannot_be_kept_is_refused_and_nothing_is_written() {
    let server = TestServer::start_with_tokens(&[]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    for (bad, says) in [
        ("two\nlines".to_owned(), "control characters"),
        ("x".repeat(501), "at most 500"),
    ] {
        let mut create = create_request("refused", "");
        create.reason = bad;
        let status = client.projects().create_project(create).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let violations = violations(&status);
        assert_eq!(violations[0].0, "reason");
        assert!(violations[0].1.contains(says), "{violations:?}");
    }
    let status = get_at(&server, "projects/refused").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn a_revision_older_than_the_log_keeps_is_refused_naming_the_oldest() {
    let server = TestServer::start_with_tokens(&["--retain-revisions", "3"]);
    let [created, _, _, deleted] = four_changes(&server).await;
    let client = server.client(Some(WRITE_TOKEN)).await;
    for i in 0..3 {
        client
            .projects()
            .create_project(create_request(&format!("later-{i}"), ""))
            .await
            .unwrap();
    }
    let head = deleted + 3;
    let oldest = head - 3;
    let status = get_at(&server, &format!("{NAME}@{created}"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), "REVISION_EXPIRED");
    assert!(
        status
            .message()
            .contains(&format!("the oldest revision readable is {oldest}")),
        "{}",
        status.message()
    );
    let status = export(&server, created).await.unwrap_err();
    assert_eq!(reason(&status), "REVISION_EXPIRED", "{status:?}");
    // Listings and summaries at it too, and at a time before the oldest commit kept.
    let at = |point| Some(ReadAt { point: Some(point) });
    let time = prost_types::Timestamp {
        seconds: 946_684_800, // 2000-01-01
        nanos: 0,
    };
    for read_at in [
        at(read_at::Point::Revision(created)),
        at(read_at::Point::Time(time)),
    ] {
        let listed = client
            .projects()
            .list_projects(ListProjectsRequest {
                read_at,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&listed), "REVISION_EXPIRED", "{listed:?}");
        let summed = client
            .analytics()
            .summarize_funding(SummarizeFundingRequest {
                read_at,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&summed), "REVISION_EXPIRED", "{summed:?}");
    }
    // At the oldest one, every resource still reads as it stood then, the demo data written
    // at revision 1 too.
    let yarkant = server
        .client(None)
        .await
        .areas()
        .get_area(GetAreaRequest {
            name: format!("areas/yarkant@{oldest}"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .area
        .unwrap();
    assert_eq!(yarkant.revision, 1);
    let later = get_at(&server, &format!("projects/later-0@{}", deleted + 1)).await;
    assert_eq!(later.unwrap().revision, deleted + 1);
    // The deleted project's changes went once its deletion fell below the floor.
    assert!(history(&server, 10).await.is_empty());
}

#[tokio::test]
async fn pairctl_prints_a_history_and_reads_at_a_revision() {
    let server = TestServer::start_with_tokens(&[]);
    let [_, renamed, _, deleted] = four_changes(&server).await;
    let pairctl = |args: &[&str]| {
        let output = std::process::Command::new(pairctl_binary())
            .args(["--server", &server.endpoint()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let table = pairctl(&["history", NAME]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("REVISION") || lines[0].contains("revision"),
        "{table}"
    );
    assert_eq!(lines.len(), 5, "a header and four revisions:\n{table}");
    assert!(
        lines[1].contains("delete") && lines[1].contains("a duplicate of another entry"),
        "{table}"
    );
    assert!(
        lines[3].contains("title") && lines[3].contains("rename-1"),
        "{table}"
    );

    let json = pairctl(&[
        "projects",
        "get",
        NAME,
        "--as-of",
        &renamed.to_string(),
        "-o",
        "json",
    ]);
    let project: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(project["title"], "Renamed after the audit");

    // The whole record as it stood then: the project in it with that title.
    let exported = pairctl(&["export", "-", "--as-of", &renamed.to_string()]);
    let line = exported
        .lines()
        .find(|line| line.contains(NAME))
        .expect("the project is in the export");
    assert!(line.contains("Renamed after the audit"), "{line}");

    // Listings and summaries too, at the revision or at the time it was committed.
    let filter = format!("name = \"{NAME}\"");
    let listed = |as_of: &[&str]| {
        pairctl(
            &[
                &["projects", "list", "--filter", &filter, "-o", "csv"],
                as_of,
            ]
            .concat(),
        )
    };
    assert!(
        listed(&[]).lines().count() == 1,
        "deleted now: only the header"
    );
    let then = listed(&["--as-of", &renamed.to_string()]);
    assert!(then.contains("Renamed after the audit"), "{then}");
    let time = commit_time(&server, renamed).await;
    assert_eq!(listed(&["--as-of", &time]), then);
    // A demo project's funding, summed before and after its deletion.
    let demo = "projects/shanghai-kashgar-2013-01";
    pairctl(&["--token", WRITE_TOKEN, "projects", "delete", demo]);
    let filter = format!("name = \"{demo}\"");
    let summary = |as_of: &[&str]| {
        let csv = pairctl(
            &[
                &["funding", "summary", "--filter", &filter, "-o", "csv"],
                as_of,
            ]
            .concat(),
        );
        csv.lines().nth(1).unwrap().to_owned()
    };
    assert!(summary(&[]).starts_with("0 CNY,0,0,"), "{}", summary(&[]));
    let before = commit_time(&server, deleted).await;
    let then = summary(&["--as-of", &before]);
    assert!(then.ends_with(",1,1,synthetic,synthetic 1"), "{then}");
}

/// The RFC 3339 time `revision` was committed at, from the change log.
async fn commit_time(server: &TestServer, revision: i64) -> String {
    let time = common::commit_time(&server.client(None).await, revision).await;
    chrono::DateTime::from_timestamp(time.seconds, time.nanos as u32)
        .unwrap()
        .to_rfc3339()
}

#[tokio::test]
async fn old_revisions_and_request_ids_expire_by_age() {
    let server = TestServer::start_with_tokens(&["--retain-for", "1s", "--request-ids-for", "1s"]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    let first = client
        .projects()
        .create_project(create_request("aged", "create-aged"))
        .await
        .unwrap()
        .into_inner()
        .revision;
    let replayed = client
        .projects()
        .create_project(create_request("aged", "create-aged"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        replayed.revision, first,
        "within a second, a retry is answered as before"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let later = client
        .projects()
        .create_project(create_request("younger", ""))
        .await
        .unwrap()
        .into_inner()
        .revision;
    // The request id is forgotten: the retry is a new create, refused as the project exists.
    let retried = client
        .projects()
        .create_project(create_request("aged", "create-aged"))
        .await
        .unwrap_err();
    assert_eq!(retried.code(), Code::AlreadyExists, "{retried:?}");
    // Revisions older than a second are compacted; the project still reads at the oldest kept.
    let expired = get_at(&server, &format!("projects/aged@{}", first - 1))
        .await
        .unwrap_err();
    assert_eq!(reason(&expired), "REVISION_EXPIRED", "{expired:?}");
    let kept = get_at(&server, &format!("projects/aged@{}", later - 1))
        .await
        .unwrap();
    assert_eq!(kept.revision, first);
}

#[test]
fn a_zero_or_unreadable_retention_age_is_refused_at_start() {
    let said = common::start_refused(&["--retain-for", "0s"], &[]);
    assert!(said.contains("more than zero"), "{said}");
    let said = common::start_refused(&["--request-ids-for", "soon"], &[]);
    assert!(said.contains("e.g. 400d"), "{said}");
}

/// Every record an export at `revision` streams (0: now), and the revisions its chunks name.
async fn export(
    server: &TestServer,
    revision: i64,
) -> Result<(Vec<Record>, Vec<i64>), pairing_aid_client::tonic::Status> {
    let mut stream = server
        .client(None)
        .await
        .records()
        .export_records(ExportRecordsRequest {
            revision,
            ..Default::default()
        })
        .await?
        .into_inner();
    let (mut records, mut revisions) = (Vec::new(), Vec::new());
    while let Some(chunk) = stream.message().await? {
        records.extend(chunk.records);
        revisions.push(chunk.revision);
    }
    Ok((records, revisions))
}

#[tokio::test]
async fn an_export_at_a_revision_is_the_record_as_exported_then() {
    let server = TestServer::start_with_tokens(&["--retain-revisions", "50"]);
    let client = server.client(Some(WRITE_TOKEN)).await;
    // The record now, and after each of several writes: creates, an update, deletes.
    let mut exported = vec![export(&server, 0).await.unwrap()];
    let [created, _, _, deleted] = four_changes(&server).await;
    exported.push(export(&server, 0).await.unwrap());
    let mut extra = create_request("kept", "");
    extra.reason = "a second project".into();
    client.projects().create_project(extra).await.unwrap();
    exported.push(export(&server, 0).await.unwrap());

    for (records, revisions) in exported {
        let revision = revisions[0];
        let (again, again_revisions) = export(&server, revision).await.unwrap();
        assert_eq!(again.len(), records.len(), "at revision {revision}");
        assert!(
            again == records,
            "the export at revision {revision} differs from the one made then"
        );
        assert!(again_revisions.iter().all(|r| *r == revision));
    }
    // Between the audited project's create and its delete, it is in the export as it stood.
    let (during, _) = export(&server, created).await.unwrap();
    let audited = during.iter().find_map(|r| match &r.resource {
        Some(record::Resource::Project(p)) if p.name == NAME => Some(p.title.clone()),
        _ => None,
    });
    assert_eq!(audited.as_deref(), Some("Test project audited"));
    let (after, _) = export(&server, deleted).await.unwrap();
    assert!(
        !after
            .iter()
            .any(|r| matches!(&r.resource, Some(record::Resource::Project(p)) if p.name == NAME))
    );

    let status = export(&server, -3).await.unwrap_err();
    assert_eq!(
        (status.code(), violations(&status)[0].0.as_str()),
        (Code::InvalidArgument, "revision")
    );
}

/// SummarizeFunding of commitments (the test projects' lines), party x field, as the record
/// stands or at `revision`.
async fn funding_summary(
    client: &pairing_aid_client::Client,
    revision: Option<i64>,
) -> SummarizeFundingResponse {
    let request = SummarizeFundingRequest {
        group_by: vec![
            FundingDimension::Party.into(),
            FundingDimension::Field.into(),
        ],
        funding_types: vec![FundingType::Commitment.into()],
        read_at: revision.map(|revision| ReadAt {
            point: Some(read_at::Point::Revision(revision)),
        }),
        ..Default::default()
    };
    let response = client.analytics().summarize_funding(request).await;
    response.unwrap().into_inner()
}

/// Creates a project or adds `yuan` to the first line of the one of that id: its commit.
async fn fund(client: &pairing_aid_client::Client, id: &str, yuan: i64) -> i64 {
    let Ok(mut project) = get_project(client, &format!("projects/{id}")).await else {
        let mut projects = client.projects();
        let created = projects.create_project(create_request(id, "")).await;
        return created.unwrap().into_inner().revision;
    };
    let amount = project.funding_lines[0].amount.as_mut().unwrap();
    amount.units += yuan;
    let request = UpdateProjectRequest {
        project: Some(project),
        ..Default::default()
    };
    let updated = client.projects().update_project(request).await.unwrap();
    updated.into_inner().revision
}

/// Asks each summary of `answered` again at its revision: the same answer, byte for byte.
async fn asked(client: &pairing_aid_client::Client, answered: &[(i64, SummarizeFundingResponse)]) {
    for (revision, answer) in answered {
        let at = funding_summary(client, Some(*revision)).await;
        assert_eq!(&at, answer, "at revision {revision}");
    }
}

fn past_summaries(server: &TestServer, source: &str) -> f64 {
    server.metric(&format!(
        "pairing_aid_past_summaries_total{{source=\"{source}\"}}"
    ))
}

#[tokio::test]
async fn summaries_at_revisions_before_a_restart_read_the_log_once_and_stay_right_under_writes() {
    let dir = tempfile::tempdir().unwrap();
    let args = common::token_args();
    let server = TestServer::start_on(common::database_in(&dir), &args);
    let client = server.client(Some(WRITE_TOKEN)).await;
    // Each revision's summary as it was answered when that revision was the newest.
    let mut answered = Vec::new();
    for (round, id) in ["funded-a", "funded-b", "funded-a", "funded-c", "funded-b"]
        .into_iter()
        .enumerate()
    {
        let revision = fund(&client, id, 1_000 * (round as i64 + 1)).await;
        answered.push((revision, funding_summary(&client, None).await));
    }
    let (earliest, _) = answered[0];
    asked(&client, &answered[..answered.len() - 1]).await;
    assert_eq!(
        past_summaries(&server, "journal"),
        4.0,
        "the journal reached back"
    );
    assert!(server.stop().success());

    // The restarted server saw none of those commits applied: the projects changed since come
    // from the log, once, then the journal carries them on as more commits land.
    let server = TestServer::start_on(common::database_in(&dir), &args);
    let client = server.client(Some(WRITE_TOKEN)).await;
    asked(&client, &answered[..1]).await;
    assert_eq!(past_summaries(&server, "log"), 1.0);
    for (round, id) in ["funded-c", "funded-d", "funded-a"].into_iter().enumerate() {
        fund(&client, id, 7 * (round as i64 + 1)).await;
        let at = funding_summary(&client, Some(earliest)).await;
        assert_eq!(at, answered[0].1, "after {} more commits", round + 1);
    }
    asked(&client, &answered).await;
    assert_eq!(
        past_summaries(&server, "record"),
        0.0,
        "never the whole record"
    );
    assert!(past_summaries(&server, "log") >= 4.0);
}

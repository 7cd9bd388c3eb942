//! A record written by an earlier release is read whole by this one and goes on growing.
//!
//! `tests/fixtures/format-1.db` is a real SQLite file written by the first release's server
//! (commit 0d4bd7c): the demo data at revision 1, then through the API the deletion of
//! `projects/anhui-hotan-2013-01`, an update of `observations/schools-built-2013-2022` to 2150
//! and the creation of `parties/fixture-enterprise`, revisions 2 to 4. Its bodies
//! are of the first format, which has no readings, derivations or indicator relations.

mod common;

use common::{ADMIN_TOKEN, TestServer, token_args};
use pairing_aid_client::v1::{
    DataStatus, GetIndicatorRequest, GetObservationRequest, GetPartyRequest, GetProjectRequest,
    ListObservationsRequest, ListProjectsRequest, Observation, Reading, UpdateObservationRequest,
};
use prost_types::FieldMask;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/format-1.db");

fn start_on_copy(dir: &tempfile::TempDir) -> (TestServer, std::path::PathBuf) {
    let database = dir.path().join("format-1.db");
    if !database.exists() {
        std::fs::copy(FIXTURE, &database).expect("the fixture is readable");
    }
    (TestServer::start_on(&database, &token_args()), database)
}

async fn observation(server: &TestServer, name: &str) -> Observation {
    server
        .client(None)
        .await
        .observations()
        .get_observation(GetObservationRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .observation
        .unwrap()
}

#[tokio::test]
async fn a_first_format_record_is_read_whole_and_takes_new_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (server, database) = start_on_copy(&dir);
    let client = server.client(None).await;

    // Every observation as the first release kept it; how each was read was never recorded.
    let listed = client
        .observations()
        .list_observations(ListObservationsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 12);
    for o in &listed.observations {
        assert_eq!(o.reading(), Reading::Unspecified, "{}", o.name);
        assert!(o.derived_from.is_empty(), "{}", o.name);
    }
    let funds = observation(&server, "observations/assistance-funds-2013-2022").await;
    assert_eq!(
        (funds.value.as_str(), funds.status()),
        ("170", DataStatus::Reported)
    );
    assert!(
        funds
            .provenance
            .as_ref()
            .unwrap()
            .quoted_passage
            .contains("about 170 billion yuan (23.7 billion U.S. dollars)")
    );
    let schools = observation(&server, "observations/schools-built-2013-2022").await;
    assert_eq!((schools.value.as_str(), schools.revision), ("2150", 3));

    // The projects less the deleted one; the party created after the demo data.
    let projects = client
        .projects()
        .list_projects(ListProjectsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(projects.total_size, 913);
    let deleted = client
        .projects()
        .get_project(GetProjectRequest {
            name: "projects/anhui-hotan-2013-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(deleted.code(), pairing_aid_client::tonic::Code::NotFound);
    let party = client
        .parties()
        .get_party(GetPartyRequest {
            name: "parties/fixture-enterprise".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .party
        .unwrap();
    assert_eq!(party.display_name, "Fixture Enterprise");
    let gdp = client
        .indicators()
        .get_indicator(GetIndicatorRequest {
            name: "indicators/gdp".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .indicator
        .unwrap();
    assert_eq!((gdp.unit.as_str(), gdp.relation), ("CNY", None));

    // The whole change log decodes, deletions included.
    let changes = common::all_changes(&server, 0, 500).await;
    assert_eq!(changes.len(), 1016);
    assert!(
        changes
            .iter()
            .any(|c| c.name == "projects/anhui-hotan-2013-01" && c.record.is_none())
    );

    // A first-format figure gains its reading; the record then holds bodies of both formats.
    let mut funds = funds;
    funds.reading = Reading::Printed.into();
    funds.provenance = None;
    server
        .client(Some(ADMIN_TOKEN))
        .await
        .observations()
        .update_observation(UpdateObservationRequest {
            observation: Some(funds),
            update_mask: Some(FieldMask {
                paths: vec!["reading".into()],
            }),
            request_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap();
    drop(client);
    let mut server = server;
    server.kill_hard();
    let (server, _) = start_on_copy(&dir);
    assert!(database.exists());
    let funds = observation(&server, "observations/assistance-funds-2013-2022").await;
    assert_eq!(
        (funds.reading(), funds.value.as_str()),
        (Reading::Printed, "170")
    );
    let jobs = observation(&server, "observations/jobs-created-2013-2022").await;
    assert_eq!(jobs.reading(), Reading::Unspecified);
    assert_eq!(common::all_changes(&server, 0, 500).await.len(), 1017);
}

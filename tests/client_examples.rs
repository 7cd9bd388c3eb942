//! The client crate's examples, compiled into this test and run against a real server, and
//! the crate's README showing the quickstart example as it is.

#![allow(dead_code)] // Each example's `main` is for `cargo run --example`, not for this test.

mod common;

#[path = "../client/examples/list_projects.rs"]
mod list_projects;
#[path = "../client/examples/quickstart.rs"]
mod quickstart;
#[path = "../client/examples/record_project.rs"]
mod record_project;

use common::{TestServer, WRITE_TOKEN};

#[tokio::test]
async fn every_client_example_runs_against_a_real_server() {
    let server = TestServer::start_with_tokens(&[]);
    let endpoint = server.endpoint();

    let listed = quickstart::run(&endpoint).await.unwrap();
    let total = list_projects::run(&endpoint).await.unwrap();
    assert!(
        listed > 0,
        "the demo data has education projects in Kashgar"
    );
    assert!(total > 0 && total as usize <= listed);

    let revision = record_project::run(&endpoint, WRITE_TOKEN, "example-clinic")
        .await
        .unwrap();
    let client = server.client(None).await;
    let recorded = common::get_project(&client, "projects/example-clinic")
        .await
        .unwrap();
    assert_eq!(recorded.revision, revision);

    let refused = record_project::run(&endpoint, "not-a-token", "example-refused")
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(pairing_aid_client::tonic::Code::Unauthenticated)
    );
}

#[test]
fn the_client_readme_shows_the_quickstart_example_verbatim() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/client/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/client/examples/quickstart.rs")).unwrap();
    assert!(
        readme.contains(&example),
        "client/README.md must show client/examples/quickstart.rs as it is"
    );
}

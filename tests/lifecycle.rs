//! Start-up, health, restart and graceful shutdown of the real server process.

mod common;

use std::time::Duration;

use common::TestServer;
use pairing_aid_client::v1::ListProjectsRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn project_names_and_etags(server: &TestServer) -> (Vec<(String, String)>, i64) {
    let mut client = server.client(None).await.projects();
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_projects(ListProjectsRequest {
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.projects.into_iter().map(|p| (p.name, p.etag)));
        if page.next_page_token.is_empty() {
            return (all, page.revision);
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn logs_one_line_with_address_and_what_it_loaded() {
    let server = TestServer::start();
    let logs = server.logs.lock().unwrap().clone();
    let line = logs
        .iter()
        .find(|l| l.contains("pairing-aid listening on"))
        .expect("a listening line");
    assert!(line.contains(&server.address));
    assert!(line.contains("19 parties"), "{line}");
    assert!(line.contains("demo data loaded"), "{line}");
}

#[tokio::test]
async fn restarted_server_serves_the_same_record_without_reseeding() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let first = TestServer::start_on(&database, &[]);
    let before = project_names_and_etags(&first).await;
    assert!(first.stop().success());

    let second = TestServer::start_on(&database, &[]);
    let after = project_names_and_etags(&second).await;
    assert_eq!(before, after);
    let logs = second.logs.lock().unwrap().clone();
    assert!(
        !logs.iter().any(|l| l.contains("demo data loaded")),
        "demo data is loaded only into an empty database"
    );
}

fn logged(server: &TestServer, message: &str) -> bool {
    server
        .logs
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains(message))
}

#[tokio::test]
async fn a_restart_reads_the_model_image_catches_up_and_falls_back_from_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_in(&dir);
    let image = dir.path().join("pairing-aid.db.model");
    let tokens = common::token_args();
    let mut first = TestServer::start_on(&database, &tokens);
    // The first start loaded every record, so it writes an image at once, in the background.
    let written = "pairing_aid_model_image_writes_total{outcome=\"written\"}";
    let writes = first.wait_for_metric(written, 1.0, Duration::from_secs(20));
    assert_eq!(writes, 1.0, "{:?}", first.logs.lock().unwrap());
    let imaged = std::fs::metadata(&image).unwrap().len();
    // Commits after the image, then a crash: the image is behind the log.
    let client = first.client(Some(common::WRITE_TOKEN)).await;
    for id in ["after-image-1", "after-image-2", "after-image-3"] {
        client
            .projects()
            .create_project(common::create_request(id, ""))
            .await
            .unwrap();
    }
    let before = project_names_and_etags(&first).await;
    first.kill_hard();

    let second = TestServer::start_on(&database, &tokens);
    assert!(logged(&second, "read model read from its image"));
    assert!(logged(&second, "applied 3 commits made after the image"));
    let loaded = "pairing_aid_model_image_loads_total{outcome=\"loaded\"}";
    assert_eq!(second.metric(loaded), 1.0);
    assert_eq!(project_names_and_etags(&second).await, before);
    assert!(second.stop().success());
    assert!(
        std::fs::metadata(&image).unwrap().len() > imaged,
        "a graceful stop rewrites the image at the last revision"
    );

    let bytes = std::fs::read(&image).unwrap();
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x55;
    for (altered, outcome) in [
        (damaged, "damaged"),
        (bytes[..bytes.len() / 3].to_vec(), "damaged"),
    ] {
        std::fs::write(&image, altered).unwrap();
        let server = TestServer::start_on(&database, &tokens);
        let series = format!("pairing_aid_model_image_loads_total{{outcome=\"{outcome}\"}}");
        assert_eq!(server.metric(&series), 1.0);
        assert!(logged(
            &server,
            "the read model's image is not used: loading every record"
        ));
        assert!(!logged(&server, "read model read from its image"));
        assert_eq!(project_names_and_etags(&server).await, before);
        assert!(server.stop().success());
    }
}

#[tokio::test]
async fn starts_empty_without_demo_data_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(common::database_in(&dir), &["--demo-data", "false"]);
    let (projects, revision) = project_names_and_etags(&server).await;
    assert!(projects.is_empty());
    assert_eq!(revision, 0);
}

#[tokio::test]
async fn health_is_serving_then_not_serving_on_sigterm_and_the_process_exits_cleanly() {
    let mut server = TestServer::start();
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "pairing.v1.ProjectService"] {
        let status = common::health_status(server.channel().await, service).await;
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let mut watch = common::watch_health(&mut health).await;
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    server.terminate();
    let next = tokio::time::timeout(Duration::from_secs(10), watch.message())
        .await
        .expect("health changes promptly")
        .expect("the watch stream stays open while draining");
    assert_eq!(next.unwrap().status(), ServingStatus::NotServing);
    drop(watch);
    assert!(server.wait_exit(Duration::from_secs(15)).success());
    let logs = server.logs.lock().unwrap().clone();
    assert!(logs.iter().any(|l| l.contains("NOT_SERVING")));
}

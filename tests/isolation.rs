//! A slow question never stalls the others: heavy calls run on their own pool, beyond its queue
//! they are refused at once, and a caller that gives up stops the work it started.
//!
//! Against a real server with a synthetic record large enough that a filtered, sorted listing
//! takes a while; the latency targets at full scale are measured by `pairing-load isolation`
//! (docs/BENCHMARKS.md), not here.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use pairing_aid_client::tonic::{Code, Request};
use pairing_aid_client::v1::{GetProjectRequest, ListProjectsRequest};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

/// A listing that reads and sorts every project.
fn heavy_listing() -> ListProjectsRequest {
    ListProjectsRequest {
        filter: "title:\"o\" AND year >= 2013".into(),
        order_by: "title desc".into(),
        page_size: 10,
        ..Default::default()
    }
}

fn start(extra: &[&str]) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    // Heavy calls here run past the anonymous budget: the tests call with a token.
    let mut args = vec!["--synthetic-projects", "200000"];
    args.extend(common::token_args());
    args.extend_from_slice(extra);
    let server = TestServer::start_on(common::database_in(&dir), &args);
    std::mem::forget(dir);
    server
}

/// CPU time the process has used so far (user and system), from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let per_second: u64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    Duration::from_millis(ticks * 1000 / per_second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavy_call_whose_deadline_passes_stops_its_work() {
    let server = start(&[]);
    let client = server.client(Some(common::READ_TOKEN)).await;

    let started = Instant::now();
    client
        .projects()
        .list_projects(heavy_listing())
        .await
        .expect("the listing answers when given the time");
    let whole = started.elapsed();
    eprintln!("the heavy listing takes {whole:?}");

    let mut request = Request::new(heavy_listing());
    let deadline = (whole / 5).max(Duration::from_millis(50));
    request.set_timeout(deadline);
    let status = client.projects().list_projects(request).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    // From 50 ms after the deadline, for as long as the whole call takes: the server idles.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = cpu_time(server.pid());
    tokio::time::sleep(whole).await;
    let spent = cpu_time(server.pid()) - before;
    assert!(
        spent < whole / 4,
        "after the deadline the server spent {spent:?} of CPU over {whole:?}; the listing alone takes {whole:?}"
    );
    assert!(
        server.metric("pairing_aid_heavy_interrupted_total{class=\"ListProjects\"}") >= 1.0,
        "the interrupted call is counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_calls_beyond_the_queue_are_refused_at_once_while_light_ones_answer() {
    // The queued call waits as long as the running one takes: seconds in a debug build on a
    // slow machine, past the default 5 s wait, which is not what this test is about.
    let server = start(&[
        "--heavy-threads",
        "1",
        "--heavy-queue",
        "1",
        "--heavy-queue-wait-ms",
        "60000",
    ]);
    let client = server.client(Some(common::READ_TOKEN)).await;
    let name = client
        .projects()
        .list_projects(ListProjectsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .projects[0]
        .name
        .clone();

    // One heavy call runs, one waits: the pool (one thread) and its queue (one place) are full.
    let spawn_heavy = || {
        let client = client.clone();
        tokio::spawn(async move { client.projects().list_projects(heavy_listing()).await })
    };
    let running = spawn_heavy();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = spawn_heavy();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.metric("pairing_aid_heavy_running"), 1.0);
    assert_eq!(server.metric("pairing_aid_heavy_queued"), 1.0);

    let refused_at = Instant::now();
    let refused = client
        .projects()
        .list_projects(heavy_listing())
        .await
        .unwrap_err();
    let refused_in = refused_at.elapsed();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(common::reason(&refused), "HEAVY_WORK_QUEUE_FULL");
    assert!(
        refused.get_details_retry_info().is_some(),
        "the refusal says when to retry"
    );
    assert!(
        refused_in < Duration::from_millis(500),
        "refused in {refused_in:?}"
    );

    // Light calls and health are not queued behind the heavy ones.
    let get = client
        .projects()
        .get_project(GetProjectRequest {
            name,
            ..Default::default()
        })
        .await;
    assert!(get.is_ok(), "{get:?}");
    let mut health = HealthClient::new(server.channel().await);
    let serving = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(serving.is_ok(), "{serving:?}");
    assert!(
        !running.is_finished(),
        "the light calls answered while the heavy one ran"
    );

    assert!(running.await.unwrap().is_ok());
    let waited = waiting.await.unwrap();
    assert!(waited.is_ok(), "{waited:?}");
}

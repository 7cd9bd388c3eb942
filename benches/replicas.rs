//! Replicas on one PostgreSQL: the delay from a write's acknowledgement on one replica to its
//! arrival on another's change stream, and read throughput with one replica and with two.
//!
//! `cargo bench --bench replicas` (needs PostgreSQL at `DATABASE_URL` or 127.0.0.1:5432).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::postgres::PgDatabase;
use common::{TestServer, WRITE_TOKEN, project};
use pairing_aid_client::tonic::transport::Channel;
use pairing_aid_client::v1::project_service_client::ProjectServiceClient;
use pairing_aid_client::v1::record_service_client::RecordServiceClient;
use pairing_aid_client::v1::*;

const WRITES: usize = 300;
const CLIENTS: usize = 16;
const READ_SECONDS: u64 = 5;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn visibility(a: &TestServer, b: &TestServer) -> Vec<Duration> {
    let mut writer = ProjectServiceClient::new(a.authed(Some(WRITE_TOKEN)).await);
    let mut watch = RecordServiceClient::new(b.channel().await)
        .watch_changes(WatchChangesRequest {
            start_revision: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut delays = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let id = format!("visible-{i}");
        let request = CreateProjectRequest {
            project: Some(project(&id)),
            project_id: id,
            request_id: String::new(),
            reason: String::new(),
        };
        let revision = writer
            .create_project(request)
            .await
            .unwrap()
            .into_inner()
            .revision;
        let acknowledged = Instant::now();
        loop {
            let message = watch.message().await.unwrap().unwrap();
            if message.changes[0].revision >= revision {
                break;
            }
        }
        delays.push(acknowledged.elapsed());
    }
    delays.sort();
    delays
}

/// Mixed reads from `CLIENTS` concurrent callers spread over `channels`, for a fixed time.
async fn read_throughput(channels: Vec<Channel>) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(READ_SECONDS);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let mut client = ProjectServiceClient::new(channels[i % channels.len()].clone());
            tokio::spawn(async move {
                let mut calls = 0u64;
                while Instant::now() < deadline {
                    if calls.is_multiple_of(4) {
                        let filter = r#"field = EDUCATION AND year >= 2015"#.into();
                        client
                            .list_projects(ListProjectsRequest {
                                filter,
                                page_size: 20,
                                ..Default::default()
                            })
                            .await
                            .unwrap();
                    } else {
                        let name = format!("projects/shanghai-kashgar-{}-01", 2013 + calls % 10);
                        client
                            .get_project(GetProjectRequest {
                                name,
                                ..Default::default()
                            })
                            .await
                            .unwrap();
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / READ_SECONDS as f64
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Some(database) = PgDatabase::create().await else { return };
        let url = database.url();
        let a = TestServer::start_on(&url, &common::token_args());
        let b = TestServer::start_on(&url, &common::token_args());
        let delays = visibility(&a, &b).await;
        let one = read_throughput(vec![a.channel().await]).await;
        let two = read_throughput(vec![a.channel().await, b.channel().await]).await;
        println!("| measure | value |");
        println!("|---|---|");
        println!("| write acknowledged on A, seen on B's WatchChanges, p50 ({WRITES} writes) | {:.2} ms |", percentile(&delays, 0.5).as_secs_f64() * 1e3);
        println!("| same, p99 | {:.2} ms |", percentile(&delays, 0.99).as_secs_f64() * 1e3);
        println!("| reads/s, one replica ({CLIENTS} callers, 3:1 Get:List) | {one:.0} |");
        println!("| reads/s, two replicas, callers split evenly | {two:.0} |");
        drop((a, b));
    });
}

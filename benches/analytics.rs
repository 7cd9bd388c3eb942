//! Analytics latency at scale, end to end through the gRPC client on loopback, and the
//! server's resident memory with that record.
//!
//! `cargo bench --bench analytics` (size: `PAIRING_AID_BENCH_PROJECTS`, default 100000, and
//! `PAIRING_AID_BENCH_OBSERVATIONS`, default 1000000).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use pairing_aid_client::v1::analytics_service_client::AnalyticsServiceClient;
use pairing_aid_client::v1::*;

fn size(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1].as_secs_f64()
        * 1e3
}

async fn time<F, Fut>(iterations: usize, mut call: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

fn main() {
    let projects = size("PAIRING_AID_BENCH_PROJECTS", 100_000);
    let observations = size("PAIRING_AID_BENCH_OBSERVATIONS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let loading = Instant::now();
    let server = TestServer::start_on(
        common::database_in(&dir),
        &[
            "--synthetic-projects",
            &projects.to_string(),
            "--synthetic-observations",
            &observations.to_string(),
        ],
    );
    let load_seconds = loading.elapsed().as_secs_f64();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = AnalyticsServiceClient::new(server.channel().await).max_decoding_message_size(64 << 20);
        let summary = |filter: &str| SummarizeFundingRequest {
            filter: filter.into(),
            group_by: vec![FundingDimension::Party.into(), FundingDimension::Field.into()],
            start_year: 2015,
            end_year: 2020,
            ..Default::default()
        };
        let grouped = time(50, || {
            let mut client = client.clone();
            let request = summary("");
            async move {
                client.summarize_funding(request).await.unwrap();
            }
        })
        .await;
        let substring = time(20, || {
            let mut client = client.clone();
            let request = summary(r#"title:"water""#);
            async move {
                client.summarize_funding(request).await.unwrap();
            }
        })
        .await;
        let series = time(200, || {
            let mut client = client.clone();
            async move {
                let request = GetIndicatorSeriesRequest {
                    indicator: "indicators/scale-indicator-0".into(),
                    areas: vec!["areas/aksu".into()],
                    derivations: vec![
                        Derivation::YearOnYear.into(),
                        Derivation::Cagr.into(),
                        Derivation::Index.into(),
                        Derivation::DoublingTime.into(),
                    ],
                    ..Default::default()
                };
                let response = client.get_indicator_series(request).await.unwrap().into_inner();
                assert_eq!(response.series[0].observations.len(), 30);
            }
        })
        .await;
        println!("record: {projects} projects ({} funding lines), about {observations} observations; load {load_seconds:.1} s", projects * 5);
        println!("| query | p50 | p99 |");
        println!("|---|---|---|");
        println!("| funding summary, party x field, 2015-2020 | {:.2} ms | {:.2} ms |", grouped.0, grouped.1);
        println!("| same with title:\"water\" | {:.2} ms | {:.2} ms |", substring.0, substring.1);
        println!("| series of 30 periods with yoy, cagr, index, doubling | {:.3} ms | {:.3} ms |", series.0, series.1);
        println!("| server resident memory | {:.0} MiB | |", resident_mib(server.pid()));
    });
}

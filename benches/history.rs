//! The record as it was, at scale: `PAIRING_AID_BENCH_PROJECTS` (default 100000) synthetic
//! projects and `PAIRING_AID_BENCH_OBSERVATIONS` (default 1000000) observations, then
//! `PAIRING_AID_BENCH_COMMITS` (default 10000) further commits of 10 projects each through
//! `BatchUpsertProjects` (100,000 records touched at the default; each gets a new description
//! and one yuan more on its first funding line), one of them,
//! `projects/scale-0000042`, in every 100th commit. Then, one call at a time through the client
//! crate on loopback, with issue #22's targets beside: GetProject now and as it stood 1,000 and
//! 10,000 commits back (`name@revision`), the history of the project with 100 revisions,
//! SummarizeFunding (party x field, 2015-2020) now and 1,000 and 10,000 commits back (the first
//! call at a revision reads the projects changed since as they stood; the next ones, of any
//! question at that revision, use what it read), and
//! the server's resident memory before and after; on records up to 200,000 projects, a
//! filtered ListProjects page now and 1,000 commits back (the whole record as it stood, built
//! from the log on the first call); then the same calls from a Python grpcio client
//! (`benches/outside/calls.py`, needs `grpcio`).
//!
//! `cargo bench --bench history`

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/outside.rs"]
mod outside;
#[path = "support/timing.rs"]
mod timing;

use std::time::Instant;

use common::{TestServer, WRITE_TOKEN};
use futures_util::StreamExt as _;
use pairing_aid_client::v1::*;
use timing::time;

/// Projects each further commit writes.
const PER_COMMIT: usize = 10;
/// The project with a revision in every 100th commit.
const AUDITED: usize = 42;

fn size(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn project_name(index: usize) -> String {
    format!("projects/scale-{index:07}")
}

fn main() {
    let projects = size("PAIRING_AID_BENCH_PROJECTS", 100_000);
    let observations = size("PAIRING_AID_BENCH_OBSERVATIONS", 1_000_000);
    let commits = size("PAIRING_AID_BENCH_COMMITS", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let (projects_arg, observations_arg) = (projects.to_string(), observations.to_string());
    let mut args = common::token_args().to_vec();
    args.extend([
        "--synthetic-projects",
        &projects_arg,
        "--synthetic-observations",
        &observations_arg,
        // Past summaries at any size: this bench measures what they cost.
        "--max-past-record",
        "1000000000",
    ]);
    let started = Instant::now();
    let server = TestServer::start_on(common::database_in(&dir), &args);
    println!(
        "record: {projects} synthetic projects and {observations} observations, serving after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(async {
        let writer = server.client(Some(WRITE_TOKEN)).await;
        let get = |name: String| {
            let client = writer.clone();
            async move {
                client
                    .projects()
                    .get_project(GetProjectRequest {
                        name,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .project
                    .unwrap()
            }
        };
        let before = get(project_name(AUDITED)).await.revision;
        let start = Instant::now();
        // The projects of commit `c`: ten consecutive ones, the audited one in every 100th.
        let batch = |c: usize| -> Vec<usize> {
            let mut indexes: Vec<usize> = (0..PER_COMMIT)
                .map(|k| (c * PER_COMMIT + k) % projects)
                .filter(|i| *i != AUDITED)
                .collect();
            if c.is_multiple_of(100) {
                indexes.truncate(PER_COMMIT - 1);
                indexes.push(AUDITED);
            }
            indexes
        };
        let mut head = 0;
        let mut written = futures_util::stream::iter(0..commits)
            .map(|c| {
                let client = writer.clone();
                let get = &get;
                async move {
                    let mut batch_projects = Vec::with_capacity(PER_COMMIT);
                    for index in batch(c) {
                        let mut project = get(project_name(index)).await;
                        project.description = format!("revised in further commit {c}");
                        // Its funding too, so a summary at a past revision has it to count back.
                        if let Some(amount) = project
                            .funding_lines
                            .first_mut()
                            .and_then(|line| line.amount.as_mut())
                        {
                            amount.units += 1;
                        }
                        project.etag.clear();
                        batch_projects.push(project);
                    }
                    client
                        .records()
                        .batch_upsert_projects(BatchUpsertProjectsRequest {
                            projects: batch_projects,
                            reason: format!("further commit {c}"),
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .revision
                }
            })
            .buffer_unordered(4);
        while let Some(revision) = written.next().await {
            head = head.max(revision);
        }
        println!(
            "{commits} further commits of {PER_COMMIT} projects in {:.1} s, head revision {head}",
            start.elapsed().as_secs_f64()
        );
        let reader = server.client(None).await;
        let mut rows = Vec::new();
        let mut n = 0usize;
        // Names spread over the projects the further commits rewrote.
        let mut next_name = move || {
            n = (n * 7919 + 13) % (commits * PER_COMMIT).min(projects);
            project_name(n)
        };
        let ask = |suffix: Option<i64>, next_name: &mut dyn FnMut() -> String| {
            let name = match suffix {
                Some(revision) => format!("{}@{revision}", next_name()),
                None => next_name(),
            };
            let mut stub = reader.projects();
            async move {
                let request = GetProjectRequest {
                    name,
                    ..Default::default()
                };
                stub.get_project(request).await.unwrap();
            }
        };
        for (label, at) in [
            ("GetProject, now", None),
            ("GetProject, 1,000 commits back", Some(head - 1_000)),
            ("GetProject, 10,000 commits back", Some(head - 10_000)),
        ] {
            if at.is_some_and(|revision| revision < head - commits as i64) {
                continue;
            }
            let figures = time(2000, || ask(at, &mut next_name)).await;
            rows.push((label, figures));
        }
        let history = ListResourceRevisionsRequest {
            name: project_name(AUDITED),
            page_size: 100,
            ..Default::default()
        };
        let page = reader
            .records()
            .list_resource_revisions(history.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.revisions.len(), 100.min(commits / 100 + 1));
        assert!(page.revisions.iter().all(|r| r.revision >= before));
        let figures = time(500, || {
            let mut stub = reader.records();
            let request = history.clone();
            async move {
                stub.list_resource_revisions(request).await.unwrap();
            }
        })
        .await;
        rows.push((
            "ListResourceRevisions, 100 revisions of one project",
            figures,
        ));
        let resident = common::memory_bytes(server.pid(), "VmRSS:") as f64 / (1 << 20) as f64;
        println!("resident memory before any past summary: {resident:.0} MiB (#22: at most 1,536)");
        let summary = |read_at: Option<ReadAt>| {
            let mut stub = reader.analytics();
            async move {
                let request = SummarizeFundingRequest {
                    group_by: vec![
                        FundingDimension::Party.into(),
                        FundingDimension::Field.into(),
                    ],
                    start_year: 2015,
                    end_year: 2020,
                    read_at,
                    ..Default::default()
                };
                stub.summarize_funding(request).await.unwrap();
            }
        };
        rows.push(("SummarizeFunding, now", time(200, || summary(None)).await));
        for (label, back) in [
            ("SummarizeFunding, 1,000 commits back", 1_000),
            ("SummarizeFunding, 10,000 commits back", 10_000),
        ] {
            if back > commits as i64 {
                continue;
            }
            let read_at = Some(ReadAt {
                point: Some(read_at::Point::Revision(head - back)),
            });
            let first = Instant::now();
            summary(read_at).await;
            println!(
                "{label}: the first call at that revision {:.0} ms",
                first.elapsed().as_secs_f64() * 1e3
            );
            rows.push((label, time(200, || summary(read_at)).await));
        }
        // A listing at a past revision reads the whole record as it stood, built from the log:
        // measured where it fits beside today's in this machine's memory.
        if projects <= 200_000 {
            // With a token: building the past record takes longer than an anonymous call may.
            let list = |read_at: Option<ReadAt>| {
                let mut stub = writer.projects();
                async move {
                    let request = ListProjectsRequest {
                        filter: "field = EDUCATION AND year >= 2015".into(),
                        page_size: 50,
                        read_at,
                        ..Default::default()
                    };
                    stub.list_projects(request).await.unwrap();
                }
            };
            let read_at = Some(ReadAt {
                point: Some(read_at::Point::Revision(head - 1_000)),
            });
            let first = Instant::now();
            list(read_at).await;
            println!(
                "ListProjects, 1,000 commits back: the first call (builds the whole record as it \
                 stood) {:.0} ms",
                first.elapsed().as_secs_f64() * 1e3
            );
            rows.push(("ListProjects, now", time(200, || list(None)).await));
            rows.push((
                "ListProjects, 1,000 commits back",
                time(200, || list(read_at)).await,
            ));
        }
        (rows, head)
    });
    let (rows, head) = rows;
    let resident = common::memory_bytes(server.pid(), "VmRSS:") as f64 / (1 << 20) as f64;
    let questions = [
        format!("get-project:{}", project_name(4242)),
        format!(
            "get-project:{}@{}",
            project_name(4242),
            head - commits.min(10_000) as i64
        ),
        format!("history:{}", project_name(AUDITED)),
        format!("summary-at:{}", head - (commits as i64).min(1_000)),
    ];
    let outside = outside::from_python(&server.address, 1000, &questions);
    println!("| question (p50 / p99, ms) | pairing-aid over gRPC | #22 target |");
    println!("|---|---|---|");
    let now = rows[0].1.0;
    for (label, (p50, p99)) in &rows {
        let target = if label.contains("SummarizeFunding, 1,000") {
            "p50 at most 10 (the first call apart, above)".to_owned()
        } else if label.contains("SummarizeFunding, 10,000") {
            "p50 at most 100 (the first call apart, above)".to_owned()
        } else if label.starts_with("GetProject") && label.contains("back") {
            format!("p50 within 2x of now ({:.3})", 2.0 * now)
        } else if label.contains("History") || label.contains("Revisions") {
            "p50 at most 5".to_owned()
        } else {
            String::new()
        };
        println!("| {label} | {p50:.3} / {p99:.3} | {target} |");
    }
    println!(
        "resident memory after the questions, one past record kept: {resident:.0} MiB (#22: at most 1,536)"
    );
    println!("From a Python grpcio client (benches/outside/calls.py), same server:");
    print!("{outside}");
}

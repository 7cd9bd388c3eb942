//! The record as it was, at scale: `PAIRING_AID_BENCH_PROJECTS` (default 100000) synthetic
//! projects and `PAIRING_AID_BENCH_OBSERVATIONS` (default 1000000) observations, then
//! `PAIRING_AID_BENCH_COMMITS` (default 10000) further commits of 10 projects each through
//! `BatchUpsertProjects` (100,000 records touched at the default; each gets a new description
//! and one yuan more on its first funding line), one of them,
//! `projects/scale-0000042`, in every 100th commit. Then, one call at a time through the client
//! crate on loopback, with issue #22's targets beside: GetProject now and as it stood 1,000 and
//! 10,000 commits back (`name@revision`), the history of the project with 100 revisions,
//! SummarizeFunding (party x field, 2015-2020) now and 1,000 and 10,000 commits back, the
//! first call apart, then again while another client commits a project every 10 ms; DuckDB
//! answering the same past summaries from a table of every version of every project's lines
//! (`benches/outside/as_of_peer.py`, same run, totals checked to the cent); the server's
//! resident memory before and after; on records up to 200,000 projects, a filtered
//! ListProjects page now and 1,000 commits back (the whole record as it stood, built from the
//! log on the first call); the same calls from a Python grpcio client
//! (`benches/outside/calls.py`, needs `grpcio`). Last, the server is restarted (its image
//! written at the head on the way down), so the projects changed since a past revision come
//! from the log, not from what the running server saw committed: the summary 1,000 commits
//! back again, first call, alone and under writes.
//!
//! `cargo bench --bench history`

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/outside.rs"]
mod outside;
#[path = "support/peer_csv.rs"]
mod peer_csv;
#[path = "support/timing.rs"]
mod timing;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestServer, WRITE_TOKEN};
use futures_util::{FutureExt as _, StreamExt as _};
use pairing_aid::domain::Resource;
use pairing_aid_client::Client;
use pairing_aid_client::v1::*;
use peer_csv::{cents, snake, yuan};
use rust_decimal::Decimal;
use timing::time;
use tokio::sync::watch;

/// Projects each further commit writes.
const PER_COMMIT: usize = 10;
/// The project with a revision in every 100th commit.
const AUDITED: usize = 42;
/// How often the writer that runs beside some questions commits.
const WRITE_EVERY: Duration = Duration::from_millis(10);

/// Each further commit's revision and the projects it wrote.
type Written = Vec<(i64, Vec<Project>)>;

fn size(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn project_name(index: usize) -> String {
    format!("projects/scale-{index:07}")
}

fn at(revision: i64) -> Option<ReadAt> {
    Some(ReadAt {
        point: Some(read_at::Point::Revision(revision)),
    })
}

async fn get(client: &Client, name: String) -> Project {
    common::get_project(client, &name).await.unwrap()
}

/// `project` with a new description and, so a summary at a past revision has it to count
/// back, one yuan more on its first line.
fn revised(mut project: Project, description: String) -> Project {
    project.description = description;
    if let Some(amount) = project
        .funding_lines
        .first_mut()
        .and_then(|line| line.amount.as_mut())
    {
        amount.units += 1;
    }
    project.etag.clear();
    project
}

/// The further commits: ten consecutive projects each, the audited one in every 100th.
async fn write_further(writer: &Client, commits: usize, projects: usize) -> Written {
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
    futures_util::stream::iter(0..commits)
        .map(|c| async move {
            let mut written = Vec::with_capacity(PER_COMMIT);
            for index in batch(c) {
                let project = get(writer, project_name(index)).await;
                written.push(revised(project, format!("revised in further commit {c}")));
            }
            let revision = writer
                .records()
                .batch_upsert_projects(BatchUpsertProjectsRequest {
                    projects: written.clone(),
                    reason: format!("further commit {c}"),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .revision;
            (revision, written)
        })
        .buffer_unordered(4)
        .collect()
        .await
}

/// Commits one project every `WRITE_EVERY` until `stop`, as a record in use is written: how
/// many commits it made.
async fn keep_writing(writer: Client, projects: usize, mut stop: watch::Receiver<bool>) -> usize {
    let mut made = 0;
    loop {
        let project = get(&writer, project_name((projects / 2 + made) % projects)).await;
        let project = revised(
            project,
            format!("written while questions were asked, {made}"),
        );
        writer
            .records()
            .batch_upsert_projects(BatchUpsertProjectsRequest {
                projects: vec![project],
                ..Default::default()
            })
            .await
            .unwrap();
        made += 1;
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return made,
            () = tokio::time::sleep(WRITE_EVERY) => {}
        }
    }
}

/// SummarizeFunding, party x field, 2015-2020, at `read_at`: its total.
async fn summary(reader: &Client, read_at: Option<ReadAt>) -> Decimal {
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
    let answer = reader.analytics().summarize_funding(request).await.unwrap();
    let total = answer.into_inner().total.unwrap();
    yuan(total.amount.as_ref().unwrap())
}

/// The past summary at `revision`: its total and the first call's time (ms), then p50 and
/// p99 of 200 more.
async fn past_summaries(reader: &Client, revision: i64) -> (Decimal, f64, (f64, f64)) {
    let first = Instant::now();
    let total = summary(reader, at(revision)).await;
    let first = first.elapsed().as_secs_f64() * 1e3;
    let figures = time(200, || async {
        summary(reader, at(revision)).await;
    })
    .await;
    (total, first, figures)
}

/// p50 and p99 of 1,000 summaries at `revision` while another client commits every
/// `WRITE_EVERY`, and how many commits landed meanwhile.
async fn past_summaries_under_writes(
    reader: &Client,
    writer: &Client,
    revision: i64,
    projects: usize,
) -> ((f64, f64), usize) {
    let (stop, stopped) = watch::channel(false);
    let writing = tokio::spawn(keep_writing(writer.clone(), projects, stopped));
    let figures = time(1000, || async {
        summary(reader, at(revision)).await;
    })
    .await;
    stop.send_replace(true);
    (figures, writing.await.unwrap())
}

/// A row of the table: the question, its p50 and p99, and its target.
type Row = (String, (f64, f64), String);

/// The past summary at each of `distances` commits back from `head` (none where the bench
/// made fewer commits), alone, the first call apart, and under writes: rows for the table,
/// labelled with `when`, and the summary's total at each revision.
async fn past_summary_rows(
    reader: &Client,
    writer: &Client,
    head: i64,
    distances: &[(Option<i64>, u32)],
    projects: usize,
    when: &str,
    rows: &mut Vec<Row>,
) -> Vec<(i64, Decimal)> {
    let mut totals = Vec::new();
    for (distance, target) in distances {
        let Some(distance) = distance else {
            continue;
        };
        let (total, first, figures) = past_summaries(reader, head - distance).await;
        totals.push((head - distance, total));
        let label = format!("SummarizeFunding, {distance} commits back{when}");
        rows.push((label.clone(), figures, format!("p50 at most {target}")));
        println!("{label}: the first call at that revision {first:.1} ms");
        let (figures, made) =
            past_summaries_under_writes(reader, writer, head - distance, projects).await;
        let label = format!("{label}, under writes ({made} commits meanwhile)");
        rows.push((label, figures, format!("p50 at most {target}")));
    }
    totals
}

/// Every version of every project's funding lines with the revisions it stood at, as CSV for
/// DuckDB: the record the server started with (from revision 0) and what `written` rewrote.
fn write_versions(path: &Path, projects: usize, written: &Written) {
    let mut rewrites: HashMap<&str, Vec<(i64, &Project)>> = HashMap::new();
    for (revision, batch) in written {
        for project in batch {
            rewrites
                .entry(project.name.as_str())
                .or_default()
                .push((*revision, project));
        }
    }
    rewrites
        .values_mut()
        .for_each(|versions| versions.sort_by_key(|v| v.0));
    let mut file = BufWriter::new(File::create(path).unwrap());
    writeln!(
        file,
        "project,party,field,funding_type,year,amount,valid_from,valid_to"
    )
    .unwrap();
    let mut write = |resource: Resource| {
        let Resource::Project(p) = resource else {
            return;
        };
        let name = p.name.to_string();
        let versions = rewrites.get(name.as_str()).map_or(&[][..], Vec::as_slice);
        let (party, field) = (p.party.to_string(), snake(&p.field));
        let mut row = |funding_type: &str, year: i32, amount: Decimal, from: i64, to: i64| {
            writeln!(
                file,
                "{name},{party},{field},{funding_type},{year},{amount},{from},{to}"
            )
            .unwrap();
        };
        let until = |i: usize| versions.get(i).map_or(i64::MAX, |v| v.0);
        for line in &p.funding_lines {
            let amount = cents(line.amount.amount);
            row(&snake(&line.funding_type), line.year, amount, 0, until(0));
        }
        for (i, (from, version)) in versions.iter().enumerate() {
            for line in &version.funding_lines {
                let funding_type = FundingType::try_from(line.r#type).unwrap();
                let funding_type = funding_type
                    .as_str_name()
                    .trim_start_matches("FUNDING_TYPE_");
                let amount = cents(yuan(line.amount.as_ref().unwrap()));
                row(
                    &funding_type.to_lowercase(),
                    line.year,
                    amount,
                    *from,
                    until(i + 1),
                );
            }
        }
    };
    pairing_aid::seed::demo_resources()
        .unwrap()
        .into_iter()
        .for_each(&mut write);
    pairing_aid::seed::each_scaled_resource(projects, 0, &mut write).unwrap();
}

/// DuckDB's p50, p99 and total of the past summary at each of `revisions`.
fn peer(versions: &Path, revisions: &[i64]) -> Vec<(f64, f64, Decimal)> {
    let mut args = vec![
        "benches/outside/as_of_peer.py".to_owned(),
        versions.display().to_string(),
        "50".to_owned(),
    ];
    args.extend(revisions.iter().map(i64::to_string));
    outside::python(&args)
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let total = row["total"].as_str().unwrap().parse().unwrap();
            (
                row["p50_ms"].as_f64().unwrap(),
                row["p99_ms"].as_f64().unwrap(),
                total,
            )
        })
        .collect()
}

fn resident_mib(server: &TestServer) -> f64 {
    common::memory_bytes(server.pid(), "VmRSS:") as f64 / (1 << 20) as f64
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
        // Past records at any size: this bench measures what they cost.
        "--max-past-record",
        "1000000000",
    ]);
    let started = Instant::now();
    let mut server = TestServer::start_on(common::database_in(&dir), &args);
    println!(
        "record: {projects} synthetic projects and {observations} observations, serving after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let back = |n: usize| (n <= commits).then_some(n as i64);
    let (head, written, totals) = runtime.block_on(async {
        let writer = server.client(Some(WRITE_TOKEN)).await;
        let before = get(&writer, project_name(AUDITED)).await.revision;
        let start = Instant::now();
        let written = write_further(&writer, commits, projects).await;
        let head = written
            .iter()
            .map(|(revision, _)| *revision)
            .max()
            .unwrap_or(before);
        println!(
            "{commits} further commits of {PER_COMMIT} projects in {:.1} s, head revision {head}",
            start.elapsed().as_secs_f64()
        );
        let reader = server.client(None).await;
        let mut n = 0usize;
        // Names spread over the projects the further commits rewrote.
        let mut next_name = move || {
            n = (n * 7919 + 13) % (commits * PER_COMMIT).min(projects);
            project_name(n)
        };
        let now = time(2000, || get(&reader, next_name()).map(drop)).await;
        rows.push(("GetProject, now".into(), now, String::new()));
        for distance in [1_000, 10_000].into_iter().filter_map(back) {
            let figures = time(2000, || {
                get(&reader, format!("{}@{}", next_name(), head - distance)).map(drop)
            })
            .await;
            let target = format!("p50 within 2x of now ({:.3})", 2.0 * now.0);
            rows.push((
                format!("GetProject, {distance} commits back"),
                figures,
                target,
            ));
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
        let label = "ListResourceRevisions, 100 revisions of one project";
        rows.push((label.into(), figures, "p50 at most 5".into()));
        println!(
            "resident memory before any past summary: {:.0} MiB (#22: at most 1,536)",
            resident_mib(&server)
        );
        let figures = time(200, || summary(&reader, None).map(drop)).await;
        rows.push(("SummarizeFunding, now".into(), figures, String::new()));
        let distances = [(1_000, 10), (10_000, 100)].map(|(n, target)| (back(n), target));
        let totals =
            past_summary_rows(&reader, &writer, head, &distances, projects, "", &mut rows).await;
        // A listing at a past revision reads the whole record as it stood, built from the log:
        // measured where it fits beside today's in this machine's memory.
        if projects <= 200_000
            && let Some(distance) = back(1_000)
        {
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
            let first = Instant::now();
            list(at(head - distance)).await;
            println!(
                "ListProjects, {distance} commits back: the first call (builds the whole record \
                 as it stood) {:.0} ms",
                first.elapsed().as_secs_f64() * 1e3
            );
            let figures = time(200, || list(None)).await;
            rows.push(("ListProjects, now".into(), figures, String::new()));
            let figures = time(200, || list(at(head - distance))).await;
            rows.push((
                format!("ListProjects, {distance} commits back"),
                figures,
                String::new(),
            ));
        }
        (head, written, totals)
    });
    println!(
        "resident memory after the questions, one past record kept: {:.0} MiB (#22: at most 1,536)",
        resident_mib(&server)
    );
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
    let from_python = outside::from_python(&server.address, 1000, &questions);
    // Down and up again: the image is written at the head on the way down, so the restarted
    // server saw none of the further commits applied.
    server.terminate();
    server.wait_exit(Duration::from_secs(1800));
    let started = Instant::now();
    server = TestServer::start_on(common::database_in(&dir), &args);
    println!(
        "restarted, serving after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(async {
        let reader = server.client(None).await;
        let writer = server.client(Some(WRITE_TOKEN)).await;
        let distances = [(back(1_000), 10), (back(10_000), 100)];
        let when = ", after a restart";
        let again = past_summary_rows(
            &reader, &writer, head, &distances, projects, when, &mut rows,
        )
        .await;
        assert!(totals.starts_with(&again), "the same after a restart");
    });
    let versions = dir.path().join("versions.csv");
    write_versions(&versions, projects, &written);
    let revisions: Vec<i64> = totals.iter().map(|(revision, _)| *revision).collect();
    let peers = peer(&versions, &revisions);
    for ((revision, ours), (p50, p99, theirs)) in totals.iter().zip(&peers) {
        assert_eq!(
            ours, theirs,
            "DuckDB and the server agree at revision {revision}"
        );
        let label = format!("DuckDB, {} commits back (same total)", head - revision);
        rows.push((label, (*p50, *p99), String::new()));
    }
    println!("| question (p50 / p99, ms) | pairing-aid over gRPC | #22 target |");
    println!("|---|---|---|");
    for (label, (p50, p99), target) in &rows {
        println!("| {label} | {p50:.3} / {p99:.3} | {target} |");
    }
    println!("From a Python grpcio client (benches/outside/calls.py), same server:");
    print!("{from_python}");
}

//! Import throughput through gRPC beside SQLite's raw bulk-load speed for the same rows, in the
//! same run on the same machine.
//!
//! `cargo bench --bench import` (rows: `PAIRING_AID_BENCH_ROWS`, default 50000).
//! Two baselines load the same rows:
//! - the store's own bulk load: `Store::commit` called directly with the resources the import
//!   stored, 1000 per commit, no gRPC and no validation;
//! - SQLite alone: the very bodies the import stored inserted into a bare table with the
//!   store's durability settings, 1000 rows per transaction: the floor any import pays.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{TestServer, WRITE_TOKEN, project};
use pairing_aid_client::v1::record_service_client::RecordServiceClient;
use pairing_aid_client::v1::*;
use rusqlite::{Connection, params};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const BATCH: usize = 1000;

fn batches(rows: usize) -> Vec<ImportRecordsRequest> {
    (0..rows.div_ceil(BATCH))
        .map(|b| ImportRecordsRequest {
            import_id: "bench".into(),
            batch_sequence: b as i64 + 1,
            records: (b * BATCH..((b + 1) * BATCH).min(rows))
                .map(|i| Record {
                    resource: Some(record::Resource::Project(project(&format!("bench-{i:07}")))),
                })
                .collect(),
            reason: String::new(),
        })
        .collect()
}

async fn import(server: &TestServer, batches: Vec<ImportRecordsRequest>) -> Duration {
    let count = batches.len();
    let (sender, receiver) = mpsc::channel(4);
    let started = Instant::now();
    let mut acks = RecordServiceClient::new(server.authed(Some(WRITE_TOKEN)).await)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20)
        .import_records(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    tokio::spawn(async move {
        for batch in batches {
            sender.send(batch).await.unwrap();
        }
    });
    for _ in 0..count {
        let ack = acks.message().await.unwrap().unwrap();
        assert!(ack.violations.is_empty() && ack.accepted_count > 0);
    }
    started.elapsed()
}

fn raw_bulk_load(bodies: &[(String, Vec<u8>)]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut connection = Connection::open(dir.path().join("raw.db")).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE resources (name TEXT PRIMARY KEY, collection TEXT NOT NULL,
                                     revision INTEGER NOT NULL, body BLOB NOT NULL);",
        )
        .unwrap();
    let started = Instant::now();
    for chunk in bodies.chunks(BATCH) {
        let tx = connection.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO resources (name, collection, revision, body) VALUES (?1, 'projects', 1, ?2)")
                .unwrap();
            for (name, body) in chunk {
                insert.execute(params![name, body]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    started.elapsed()
}

async fn store_bulk_load(database: &std::path::Path) -> Duration {
    use pairing_aid::domain::{Commit, Write};
    use pairing_aid::store::{SqliteStore, Store};
    let resources: Vec<_> = SqliteStore::open(database, None)
        .unwrap()
        .load()
        .await
        .unwrap()
        .resources
        .into_iter()
        .filter(|r| r.name().as_str().starts_with("projects/bench-"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"), None).unwrap();
    let started = Instant::now();
    for chunk in resources.chunks(BATCH) {
        let writes = chunk
            .iter()
            .map(|r| Write::Put(Box::new(r.clone())))
            .collect();
        store
            .commit(Commit {
                subject: "bench".into(),
                writes,
                ..Commit::default()
            })
            .await
            .unwrap();
    }
    started.elapsed()
}

fn main() {
    let rows: usize = std::env::var("PAIRING_AID_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut import_rates = Vec::new();
    let mut raw_rates = Vec::new();
    let mut store_rates = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let database = common::database_in(&dir);
        let server = TestServer::start_on(&database, &common::token_args());
        let elapsed = runtime.block_on(import(&server, batches(rows)));
        import_rates.push(rows as f64 / elapsed.as_secs_f64());
        drop(server);
        store_rates.push(rows as f64 / runtime.block_on(store_bulk_load(&database)).as_secs_f64());

        let bodies: Vec<(String, Vec<u8>)> = Connection::open(&database)
            .unwrap()
            .prepare("SELECT name, body FROM changes WHERE name LIKE 'projects/bench-%'")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(bodies.len(), rows);
        raw_rates.push(rows as f64 / raw_bulk_load(&bodies).as_secs_f64());
    }
    import_rates.sort_by(f64::total_cmp);
    raw_rates.sort_by(f64::total_cmp);
    store_rates.sort_by(f64::total_cmp);
    let (import, raw, store) = (import_rates[1], raw_rates[1], store_rates[1]);
    println!("rows per run: {rows}, batches of {BATCH}, median of 3 runs");
    println!("| path | rows/s |");
    println!("|---|---|");
    println!(
        "| gRPC ImportRecords (validated, change log, durable before each ack) | {import:.0} |"
    );
    println!("| Store::commit directly, same resources, 1000 per commit | {store:.0} |");
    println!("| SQLite alone, same bodies, 1000 rows per transaction | {raw:.0} |");
    println!("| import / store | {:.2} |", import / store);
    println!("| import / SQLite alone | {:.2} |", import / raw);
}

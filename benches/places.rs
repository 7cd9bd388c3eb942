//! Resolving a place by name or code among many: the demo record plus
//! `PAIRING_AID_BENCH_AREAS` (default 100000) synthetic counties, imported through the client,
//! then `ResolvePlaces` one call at a time through the client crate on loopback; the target
//! issue #23 sets (p50 at most 0.2 ms) is printed beside it, then the same questions from a
//! Python grpcio client (`benches/outside/calls.py`, needs `grpcio`) beside a GetArea, and of
//! DuckDB and SQLite in process on the same keys (`benches/outside/places_peer.py`).
//!
//! `cargo bench --bench places`

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/outside.rs"]
mod outside;
#[path = "support/timing.rs"]
mod timing;

use common::{ADMIN_TOKEN, TestServer};
use pairing_aid_client::v1::*;
use timing::time;

/// A row's label and the query it asks of the `n`-th synthetic county.
type Question = (&'static str, fn(usize) -> String);

fn main() {
    let areas: usize = std::env::var("PAIRING_AID_BENCH_AREAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // Synthetic counties with a name in two languages and a code of the 90xxxx-99xxxx range,
    // which GB/T 2260 gives no province: nothing here is a real place.
    let county = |i: usize| Record {
        resource: Some(record::Resource::Area(Area {
            name: format!("areas/bench-{i:06}"),
            display_name: format!("Bench County {i}"),
            level: AreaLevel::County.into(),
            parent: "areas/kashgar".into(),
            names: vec![
                PlaceName {
                    text: format!("基准县{i}"),
                    language: "zh-Hans".into(),
                    ..Default::default()
                },
                PlaceName {
                    text: format!("Bench Nahiyisi {i}"),
                    language: "ug-Latn".into(),
                    ..Default::default()
                },
            ],
            codes: vec![PlaceCode {
                scheme: CodeScheme::AdminDivision.into(),
                value: format!("{}", 900_000 + i),
                ..Default::default()
            }],
            provenance: Some(Provenance {
                source_title: "Synthetic benchmark places, not real ones".into(),
                ..Default::default()
            }),
            ..Default::default()
        })),
    };
    let server = TestServer::start_on(common::database_in(&dir), &common::token_args());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(async {
        let imported = server
            .client(Some(ADMIN_TOKEN))
            .await
            .import("bench-places", (0..areas).map(county), 1000, |_| {})
            .await
            .unwrap();
        assert_eq!(
            imported.accepted as usize,
            areas,
            "{:?}",
            imported.rejected.first()
        );
        let client = server.client(None).await;
        let mut rows = Vec::new();
        let mut n = 0usize;
        let questions: [Question; 4] = [
            ("a code, whole", |i| format!("{}", 900_000 + i)),
            ("a Chinese name, whole", |i| format!("基准县{i}")),
            ("a Uyghur name in Latin script, other case", |i| {
                format!("BENCH NAHIYISI {i}")
            }),
            ("the beginning of names (20 matches)", |i| {
                format!("Bench County {}", i % 1000)
            }),
        ];
        for (label, query) in questions {
            let figures = time(2000, || {
                n = (n * 7919 + 13) % areas;
                let request = ResolvePlacesRequest {
                    query: query(n),
                    ..Default::default()
                };
                let mut areas = client.areas();
                async move {
                    let found = areas.resolve_places(request).await.unwrap().into_inner();
                    assert!(!found.matches.is_empty());
                }
            })
            .await;
            rows.push((label, figures));
        }
        rows
    });
    // The same questions from outside: a Python grpcio client, one call at a time, beside
    // GetArea on the same server (what any call costs from there).
    let questions = ["resolve-code", "resolve-name", "get-area"].map(str::to_owned);
    let outside = outside::from_python(&server.address, 2000, &questions);
    // The same lookups of peers in process on the same keys, with an index: no network.
    let peers = outside::python(&[
        "benches/outside/places_peer.py".to_owned(),
        areas.to_string(),
        "2000".to_owned(),
    ]);
    println!("record: the demo's 36 areas and {areas} synthetic counties, each with 4 keys");
    println!("| ResolvePlaces, by (p50 / p99, ms) | pairing-aid over gRPC | #23 target | met |");
    println!("|---|---|---|---|");
    for (label, (p50, p99)) in rows {
        println!(
            "| {label} | {p50:.3} / {p99:.3} | p50 at most 0.2 | {} |",
            if p50 <= 0.2 { "yes" } else { "**no**" }
        );
    }
    println!("From a Python grpcio client (benches/outside/calls.py), same server:");
    print!("{outside}");
    println!("Peers in process, same keys (benches/outside/places_peer.py; p50 / p99, ms):");
    print!("{peers}");
}

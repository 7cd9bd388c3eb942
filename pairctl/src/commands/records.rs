//! `pairctl import`, `export` and `watch`: whole records in and out, and the change feed.

use std::path::Path;

use futures_util::TryStreamExt;
use pairing_aid_client::{Client, v1};

use crate::Failure;
use crate::cli::FileFormat;
use crate::enums::ShortName;
use crate::flat;
use crate::protojson::Message;

/// Imports the records of `file` (CSV or NDJSON, by `format` or the file's extension) in
/// batches of `batch_size`, with a progress bar; every refused line is reported by number.
pub async fn import(
    client: &Client,
    file: &Path,
    format: Option<FileFormat>,
    batch_size: usize,
) -> Result<(), Failure> {
    let csv_format = match format {
        Some(f) => f == FileFormat::Csv,
        None => file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    };
    let rows = flat::read(file, csv_format).map_err(Failure::Usage)?;
    let mut unreadable = 0;
    let mut lines = Vec::new();
    let mut records = Vec::new();
    for (line, record) in rows {
        match record {
            Ok(record) => {
                lines.push(line);
                records.push(record);
            }
            Err(reason) => {
                unreadable += 1;
                eprintln!("line {line}: {reason}");
            }
        }
    }
    let bar = indicatif::ProgressBar::new(records.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records")
            .expect("a valid template"),
    );
    let import_id = format!(
        "pairctl-{}",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let report = client
        .import(&import_id, records, batch_size, |progress| {
            bar.set_position(progress.accepted + progress.rejected.len() as u64);
        })
        .await?;
    bar.finish_and_clear();
    for rejected in &report.rejected {
        let line = lines.get(rejected.position as usize).copied().unwrap_or(0);
        eprintln!("line {line}: {}: {}", rejected.field, rejected.description);
    }
    let refused = unreadable + report.rejected.len();
    println!("{} records accepted, {refused} rejected", report.accepted);
    if refused > 0 {
        Err(Failure::Rejected(refused))
    } else {
        Ok(())
    }
}

/// Writes every record as protobuf JSON, one per line, in an order `import` can take into an
/// empty server: what is referred to before what refers to it.
pub async fn export(client: &Client, file: &Path) -> Result<(), Failure> {
    use v1::record::Resource as R;
    let collections = [
        "areas",
        "parties",
        "pairings",
        "indicators",
        "projects",
        "observations",
    ];
    let mut stream = client
        .records()
        .export_records(v1::ExportRecordsRequest {
            collections: collections.map(String::from).to_vec(),
            min_revision: 0,
        })
        .await?
        .into_inner();
    let mut records = Vec::new();
    while let Some(chunk) = stream.message().await? {
        records.extend(chunk.records);
    }
    let parents: std::collections::HashMap<String, String> = records
        .iter()
        .filter_map(|r| match &r.resource {
            Some(R::Area(area)) => Some((area.name.clone(), area.parent.clone())),
            _ => None,
        })
        .collect();
    let order = |record: &v1::Record| match &record.resource {
        Some(R::Area(area)) => {
            let depth = std::iter::successors(Some(&area.parent), |name| parents.get(*name))
                .take_while(|name| !name.is_empty())
                .take(parents.len())
                .count();
            (0, depth)
        }
        Some(R::Party(_)) => (1, 0),
        Some(R::Pairing(_)) => (2, 0),
        Some(R::Indicator(_)) => (3, 0),
        Some(R::Project(_)) => (4, 0),
        Some(R::Observation(_)) | None => (5, 0),
    };
    // A stable sort keeps each collection in name order.
    records.sort_by_cached_key(order);
    let mut out = String::new();
    for record in &records {
        out.push_str(&record.to_json().to_string());
        out.push('\n');
    }
    std::fs::write(file, out).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    eprintln!("exported {} records to {}", records.len(), file.display());
    Ok(())
}

/// Prints every change after revision `from`, then live ones, one line each, until stopped.
pub async fn watch(client: &Client, from: i64) -> Result<(), Failure> {
    let mut changes = client.watch(from);
    while let Some(change) = changes.try_next().await? {
        println!(
            "{}\t{}\t{}\t{}",
            change.revision,
            change.kind().short(),
            change.name,
            change.subject
        );
    }
    Ok(())
}

//! `pairctl import`, `export` and `watch`: whole records in and out, and the change feed.

use std::path::Path;

use futures_util::TryStreamExt;
use pairing_aid_client::{Client, v1};

use crate::Failure;
use crate::cli::FileFormat;
use crate::flat;
use crate::output::{Format, Output, Printer, write_stdout};
use crate::protojson::Message;
use crate::rows::Row;

/// Imports the records of `file` (CSV or NDJSON, by `format` or the file's extension; `-`
/// reads standard input) in batches of `batch_size`, with a progress bar; every refused line
/// is reported by number. The import is named after the content, so running it again on the
/// same content resumes it (acknowledged batches are not applied twice) and an edited file is
/// a new import. A file is read twice, to name it and then to import it as it is read;
/// standard input, which cannot be read twice, is held whole.
pub async fn import(
    client: &Client,
    file: &Path,
    format: Option<FileFormat>,
    batch_size: usize,
) -> Result<(), Failure> {
    use std::sync::{Arc, Mutex};
    let csv_format = match format {
        Some(f) => f == FileFormat::Csv,
        None => file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    };
    let unreadable = |e: std::io::Error| Failure::Usage(format!("{}: {e}", file.display()));
    let (import_id, reader): (String, Box<dyn std::io::BufRead + Send>) = if file.as_os_str() == "-"
    {
        let text = flat::read_text(file).map_err(Failure::Usage)?;
        let id = content_id(&mut text.as_bytes()).map_err(unreadable)?;
        (id, Box::new(std::io::Cursor::new(text.into_bytes())))
    } else {
        let open = || std::fs::File::open(file).map(std::io::BufReader::new);
        let id = content_id(&mut open().map_err(unreadable)?).map_err(unreadable)?;
        (id, Box::new(open().map_err(unreadable)?))
    };
    // The line of each record sent, by position, to report refusals by line; unreadable
    // lines are reported as they are met and never sent.
    let lines_sent = Arc::new(Mutex::new(Vec::<u32>::new()));
    let unreadable_lines = Arc::new(Mutex::new(0usize));
    let records = {
        let (lines_sent, unreadable_lines) = (lines_sent.clone(), unreadable_lines.clone());
        flat::lines(reader, csv_format)
            .map_err(Failure::Usage)?
            .filter_map(move |(line, record)| match record {
                Ok(record) => {
                    lines_sent.lock().unwrap().push(line as u32);
                    Some(record)
                }
                Err(reason) => {
                    *unreadable_lines.lock().unwrap() += 1;
                    eprintln!("line {line}: {reason}");
                    None
                }
            })
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} records")
            .expect("a valid template"),
    );
    let report = client
        .import(&import_id, records, batch_size, |progress| {
            bar.set_position(progress.accepted + progress.rejected.len() as u64);
        })
        .await?;
    bar.finish_and_clear();
    let lines_sent = lines_sent.lock().unwrap();
    for rejected in &report.rejected {
        let line = lines_sent
            .get(rejected.position as usize)
            .copied()
            .unwrap_or(0);
        eprintln!("line {line}: {}: {}", rejected.field, rejected.description);
    }
    let refused = *unreadable_lines.lock().unwrap() + report.rejected.len();
    println!("{} records accepted, {refused} rejected", report.accepted);
    if refused > 0 {
        Err(Failure::Rejected(refused))
    } else {
        Ok(())
    }
}

/// The import id of a content: its SHA-256, so the same content is the same import.
fn content_id(content: &mut impl std::io::Read) -> std::io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(content, &mut hasher)?;
    let hex: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("pairctl-{hex}"))
}

/// Writes every record as protobuf JSON, one per line, as the server streams them, in an
/// order `import` can take into an empty server: the server sends areas, parties, indicators,
/// pairings, projects, observations, so only the areas are held, to put each parent before
/// its children. `-` writes standard output.
pub async fn export(
    client: &Client,
    file: &Path,
    read_at: Option<v1::ReadAt>,
) -> Result<(), Failure> {
    use std::io::Write as _;
    use v1::record::Resource as R;
    let unwritable = |e: std::io::Error| Failure::Usage(format!("{}: {e}", file.display()));
    let mut sink: Box<dyn std::io::Write> = if file.as_os_str() == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(file).map_err(unwritable)?,
        ))
    };
    let mut stream = client
        .records()
        .export_records(v1::ExportRecordsRequest {
            read_at,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut areas = Vec::new();
    let mut written = 0usize;
    let mut write = |sink: &mut Box<dyn std::io::Write>, record: &v1::Record| {
        written += 1;
        writeln!(sink, "{}", record.to_json())
    };
    while let Some(chunk) = stream.message().await? {
        for record in chunk.records {
            if matches!(record.resource, Some(R::Area(_))) {
                areas.push(record);
                continue;
            }
            if !areas.is_empty() {
                for area in parents_first(std::mem::take(&mut areas)) {
                    write(&mut sink, &area).map_err(unwritable)?;
                }
            }
            write(&mut sink, &record).map_err(unwritable)?;
        }
    }
    for area in parents_first(areas) {
        write(&mut sink, &area).map_err(unwritable)?;
    }
    sink.flush().map_err(unwritable)?;
    eprintln!("exported {written} records to {}", file.display());
    Ok(())
}

/// Areas ordered so that each comes after its parent (by depth, then name).
fn parents_first(mut areas: Vec<v1::Record>) -> Vec<v1::Record> {
    use v1::record::Resource as R;
    let parents: std::collections::HashMap<String, String> = areas
        .iter()
        .filter_map(|r| match &r.resource {
            Some(R::Area(area)) => Some((area.name.clone(), area.parent.clone())),
            _ => None,
        })
        .collect();
    let depth = |record: &v1::Record| match &record.resource {
        Some(R::Area(area)) => std::iter::successors(Some(&area.parent), |name| parents.get(*name))
            .take_while(|name| !name.is_empty())
            .take(parents.len())
            .count(),
        _ => 0,
    };
    // A stable sort keeps each depth in name order.
    areas.sort_by_cached_key(depth);
    areas
}

/// Prints the revisions of one resource, newest first, page by page as they arrive.
pub async fn history(client: &Client, name: String, output: Output) -> Result<(), Failure> {
    let request = v1::ListResourceRevisionsRequest {
        name,
        ..Default::default()
    };
    super::crud::list(client.list_resource_revisions(request), output).await
}

/// Prints every change after revision `from`, then live ones, each as it comes, until
/// stopped; as JSON, one protobuf JSON change a line (the stream has no end to close an
/// array at).
pub async fn watch(client: &Client, from: i64, output: Output) -> Result<(), Failure> {
    let mut changes = client.watch(from);
    let mut printer = Printer::new(output, <v1::Change as Row>::columns());
    while let Some(change) = changes.try_next().await? {
        match output.format {
            Format::Json => write_stdout(&format!("{}\n", change.to_json())),
            _ => printer.batch(&[change]),
        }
        .map_err(Failure::Usage)?;
    }
    printer.finish().map_err(Failure::Usage)
}

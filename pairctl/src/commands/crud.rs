//! `pairctl <resources> list|get|create|update|delete`, the same for every resource kind.

use std::path::Path;

use futures_util::TryStreamExt;
use pairing_aid_client::{Client, Listing, v1};

use crate::Failure;
use crate::cli::ResourceCommand;
use crate::flat;
use crate::output::{Format, Output, Printer, print, print_value};
use crate::resources::Resource;
use crate::rows::Row;

/// Why --as-of goes with reads alone.
pub const AS_OF_READS: &str =
    "--as-of reads the record as it was: it goes with list, get, export and the analytics";

/// Runs one resource command against the resources of kind `R`.
pub async fn run<R: Resource>(
    client: &Client,
    command: ResourceCommand,
    read_at: Option<v1::ReadAt>,
    output: Output,
) -> Result<(), Failure> {
    let reads = matches!(
        command,
        ResourceCommand::List { .. } | ResourceCommand::Get { .. }
    );
    if read_at.is_some() && !reads {
        return Err(Failure::Usage(AS_OF_READS.into()));
    }
    match command {
        ResourceCommand::List { filter, order_by } => {
            list(R::list(client, filter, order_by, read_at), output).await
        }
        ResourceCommand::Get { name } => show(R::get(client, name, read_at).await?, output),
        ResourceCommand::Create { file, reason } => {
            let resource = read_resource::<R>(&file)?;
            show(R::create(client, resource, reason).await?, output)
        }
        ResourceCommand::Update {
            file,
            mask,
            etag,
            reason,
        } => {
            let mut resource = read_resource::<R>(&file)?;
            if !etag.is_empty() {
                resource.set_etag(etag);
            }
            show(R::update(client, resource, mask, reason).await?, output)
        }
        ResourceCommand::Delete { name, etag, reason } => {
            let revision = R::delete(client, name, etag, reason).await?;
            eprintln!("deleted at revision {revision}");
            Ok(())
        }
    }
}

/// Prints every item of a listing page by page, as each arrives; as JSON or YAML, each whole
/// item in protobuf JSON.
pub async fn list<T: Row + Send + 'static>(
    listing: Listing<T>,
    output: Output,
) -> Result<(), Failure> {
    let mut printer = Printer::new(output, T::columns());
    let mut pages = listing.pages();
    while let Some(page) = pages.try_next().await? {
        printer.batch(&page).map_err(Failure::Usage)?;
    }
    printer.finish().map_err(Failure::Usage)
}

/// Prints one resource; as JSON or YAML, the whole resource in protobuf JSON, which
/// `update --file` reads back (JSON).
fn show<T: Resource>(item: Option<T>, output: Output) -> Result<(), Failure> {
    match (&item, output.format) {
        (Some(item), Format::Json | Format::Yaml) => {
            print_value(output.format, &item.value(T::columns()))
        }
        _ => print(output, T::columns(), item.as_slice()),
    }
    .map_err(Failure::Usage)
}

/// The one resource `file` (`-` for standard input) holds: the resource in protobuf JSON, as
/// `get -o json` prints it, or for projects and observations a flat record (an NDJSON line or a
/// one-row CSV file, as `import` reads them).
fn read_resource<R: Resource>(file: &Path) -> Result<R, Failure> {
    let source = file.display();
    let text = flat::read_text(file).map_err(Failure::Usage)?;
    let csv_format = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let resource = if csv_format {
        let reader = Box::new(std::io::Cursor::new(text.into_bytes()));
        let mut lines: Vec<_> = flat::lines(reader, true).map_err(Failure::Usage)?.collect();
        if lines.len() != 1 {
            return Err(Failure::Usage(format!(
                "{source} must hold exactly one record"
            )));
        }
        let (line, record) = lines.remove(0);
        record
            .map_err(|reason| Failure::Usage(format!("{source}: line {line}: {reason}")))?
            .resource
    } else {
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{source}: {e}")))?;
        if flat::is_flat(&value) {
            flat::from_value(value)
                .map_err(|reason| Failure::Usage(format!("{source}: {reason}")))?
                .resource
        } else {
            let resource = R::from_json(value)
                .map_err(|reason| Failure::Usage(format!("{source}: {reason}")))?;
            return Ok(resource);
        }
    };
    resource.and_then(R::from_record).ok_or_else(|| {
        Failure::Usage(format!(
            "{source} holds a flat record of another kind than {}",
            R::FULL_NAME
        ))
    })
}

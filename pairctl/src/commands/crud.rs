//! `pairctl <resources> list|get|create|update|delete`, the same for every resource kind.

use std::path::Path;

use futures_util::TryStreamExt;
use pairing_aid_client::{Client, Listing};

use crate::Failure;
use crate::cli::ResourceCommand;
use crate::flat;
use crate::output::{self, Format, print};
use crate::protojson::Message;
use crate::resources::Resource;
use crate::rows::Row;

/// Runs one resource command against the resources of kind `R`.
pub async fn run<R: Resource>(
    client: &Client,
    command: ResourceCommand,
    format: Format,
) -> Result<(), Failure> {
    match command {
        ResourceCommand::List { filter, order_by } => {
            list(R::list(client, filter, order_by), format).await
        }
        ResourceCommand::Get { name } => show(R::get(client, name).await?, format),
        ResourceCommand::Create { file } => {
            let resource = read_resource::<R>(&file)?;
            show(R::create(client, resource).await?, format)
        }
        ResourceCommand::Update { file, mask, etag } => {
            let mut resource = read_resource::<R>(&file)?;
            if !etag.is_empty() {
                resource.set_etag(etag);
            }
            show(R::update(client, resource, mask).await?, format)
        }
        ResourceCommand::Delete { name, etag } => {
            let revision = R::delete(client, name, etag).await?;
            eprintln!("deleted at revision {revision}");
            Ok(())
        }
    }
}

/// Prints every item of a listing; as JSON, each whole resource in protobuf JSON.
async fn list<T: Resource>(listing: Listing<T>, format: Format) -> Result<(), Failure> {
    let items: Vec<T> = listing.items().try_collect().await?;
    if format == Format::Json {
        return print_json(&serde_json::Value::Array(
            items.iter().map(Message::to_json).collect(),
        ));
    }
    print(
        format,
        T::columns(),
        &items.iter().map(Row::cells).collect::<Vec<_>>(),
    )
    .map_err(Failure::Usage)
}

/// Prints one resource; as JSON, the whole resource in protobuf JSON, which `update --file`
/// reads back.
fn show<T: Resource>(item: Option<T>, format: Format) -> Result<(), Failure> {
    match (&item, format) {
        (Some(item), Format::Json) => print_json(&item.to_json()),
        _ => print(
            format,
            T::columns(),
            &item.iter().map(Row::cells).collect::<Vec<_>>(),
        )
        .map_err(Failure::Usage),
    }
}

fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Usage(e.to_string()))?;
    output::write_stdout(&format!("{text}\n")).map_err(Failure::Usage)
}

/// The one resource `file` (`-` for standard input) holds: the resource in protobuf JSON, as
/// `get -o json` prints it, or for projects and observations a flat record (an NDJSON line or a
/// one-row CSV file, as `import` reads them).
fn read_resource<R: Resource>(file: &Path) -> Result<R, Failure> {
    let source = file.display();
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| Failure::Usage(format!("{source}: {e}")))?;
    let csv_format = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let resource = if csv_format {
        let mut lines = flat::parse(&text, true).map_err(Failure::Usage)?;
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

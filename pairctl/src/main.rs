//! pairctl: the pairing-aid record from the command line.

mod flat;
mod output;
mod resources;
mod rows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use futures_util::TryStreamExt;
use pairing_aid_client::{Client, Error, v1};

use output::{Format, print};
use resources::{Message, Resource};
use rows::Row;

/// Read, write and analyse the pairing-aid record.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Example:\n  pairctl projects list --filter 'field = EDUCATION AND year >= 2015' -o csv"
)]
struct Cli {
    /// The server.
    #[arg(
        long,
        global = true,
        env = "PAIRCTL_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// Bearer token for writes (prefer the environment variable).
    #[arg(long, global = true, env = "PAIRCTL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assisting parties.
    #[command(after_help = "Example:\n  pairctl parties list -o csv")]
    Parties {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Recipient areas.
    #[command(after_help = "Example:\n  pairctl areas list --filter 'level = PREFECTURE'")]
    Areas {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Pairings of parties with areas.
    #[command(
        after_help = "Example:\n  pairctl pairings list --filter 'party = \"parties/beijing\"'"
    )]
    Pairings {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Projects and their funding.
    #[command(
        after_help = "Example:\n  pairctl projects get projects/shanghai-kashgar-2013-01 -o json"
    )]
    Projects {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Indicators.
    #[command(after_help = "Example:\n  pairctl indicators list")]
    Indicators {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Observations of indicators.
    #[command(
        after_help = "Example:\n  pairctl observations list --filter 'indicator = \"indicators/gdp\"' -o csv"
    )]
    Observations {
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Funding summaries.
    #[command(
        after_help = "Example:\n  pairctl funding summary --by party,field --from 2015 --to 2020"
    )]
    Funding {
        #[command(subcommand)]
        command: FundingCommand,
    },
    /// An indicator's series with derived figures.
    #[command(
        after_help = "Example:\n  pairctl series indicators/gdp --area areas/kashgar --derive yoy,cagr,index"
    )]
    Series {
        /// The indicator, `indicators/{indicator}`.
        indicator: String,
        /// Areas, repeated for series side by side.
        #[arg(long = "area", required = true)]
        areas: Vec<String>,
        /// Figures to derive.
        #[arg(long, value_enum, value_delimiter = ',')]
        derive: Vec<DerivationArg>,
        /// First period.
        #[arg(long)]
        from: Option<String>,
        /// Last period.
        #[arg(long)]
        to: Option<String>,
    },
    /// Reported aggregates beside the same figures computed from the projects.
    #[command(after_help = "Example:\n  pairctl reconcile -o json")]
    Reconcile {
        /// Filter over the reported observations.
        #[arg(long, default_value = "")]
        filter: String,
    },
    /// Import records from NDJSON (protobuf JSON records as `export` writes, or flat records)
    /// or CSV (flat records), by extension or --format. Reference data needs an admin token.
    #[command(after_help = "Example:\n  pairctl import projects.ndjson --token \"$TOKEN\"")]
    Import {
        file: PathBuf,
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Records per batch.
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
    },
    /// Export every record, one protobuf JSON record per line, to a file that `import` reads
    /// back into an empty server.
    #[command(after_help = "Example:\n  pairctl export record.ndjson")]
    Export { file: PathBuf },
    /// Print changes as they are committed.
    #[command(after_help = "Example:\n  pairctl watch --from 0")]
    Watch {
        /// Print changes after this revision.
        #[arg(long, default_value_t = 0)]
        from: i64,
    },
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  pairctl completion bash > /etc/bash_completion.d/pairctl")]
    Completion { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
enum ResourceCommand {
    /// List, filtered and ordered.
    #[command(
        after_help = "Example:\n  pairctl projects list --filter 'party = \"parties/beijing\"' --order-by 'title'"
    )]
    List {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, default_value = "")]
        order_by: String,
    },
    /// Get one by name.
    #[command(after_help = "Example:\n  pairctl areas get areas/kashgar")]
    Get { name: String },
    /// Create one from a file (`-` for standard input) holding it in protobuf JSON, as `get -o
    /// json` prints it; projects and observations may also be one flat record, as `import` reads.
    #[command(
        after_help = "Example:\n  echo '{\"name\":\"areas/new\",\"displayName\":\"New County\",\"level\":\"AREA_LEVEL_COUNTY\",\"parent\":\"areas/kashgar\"}' \\\n    | pairctl areas create --file - --token \"$TOKEN\""
    )]
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Replace the fields named by --mask (all if none) from a file read as `create` reads it.
    /// The etag in the file (or --etag) makes the update fail if the resource changed since.
    #[command(
        after_help = "Example:\n  pairctl projects get projects/p1 -o json > p1.json\n  # edit p1.json\n  pairctl projects update --file p1.json --mask title,status"
    )]
    Update {
        #[arg(long)]
        file: PathBuf,
        #[arg(long, value_delimiter = ',')]
        mask: Vec<String>,
        /// Update only if unchanged since this etag was read.
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Delete one by name.
    #[command(
        after_help = "Example:\n  pairctl projects delete projects/old-project --token \"$TOKEN\""
    )]
    Delete {
        name: String,
        /// Delete only if unchanged since this etag was read.
        #[arg(long, default_value = "")]
        etag: String,
    },
}

#[derive(Subcommand)]
enum FundingCommand {
    /// Sum funding lines grouped by dimensions.
    #[command(
        after_help = "Example:\n  pairctl funding summary --by party,field --from 2015 --to 2020 --currency USD"
    )]
    Summary {
        #[arg(long, value_enum, value_delimiter = ',')]
        by: Vec<Dimension>,
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long)]
        from: Option<i32>,
        #[arg(long)]
        to: Option<i32>,
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Area level when grouping by area.
        #[arg(long, value_enum, default_value_t = Level::Prefecture)]
        level: Level,
        #[arg(long, default_value_t = 0)]
        top: i32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Dimension {
    Party,
    Area,
    Field,
    Livelihood,
    Status,
    Year,
    Type,
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    Region,
    Prefecture,
    County,
}

#[derive(Clone, Copy, ValueEnum)]
enum DerivationArg {
    Yoy,
    Cagr,
    Index,
    Doubling,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FileFormat {
    Csv,
    Ndjson,
}

/// A failure to report as one line; the exit code says which kind.
enum Failure {
    Usage(String),
    Server(Error),
    Rejected(usize),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Server(error)
    }
}

impl From<pairing_aid_client::tonic::Status> for Failure {
    fn from(status: pairing_aid_client::tonic::Status) -> Self {
        Failure::Server(status.into())
    }
}

async fn list<T: Resource + Send + 'static>(
    listing: pairing_aid_client::Listing<T>,
    format: Format,
) -> Result<(), Failure> {
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

macro_rules! resource {
    ($client:expr, $command:expr, $format:expr, $kind:ident: $stub:ident, $field:ident,
     $list:ident($list_request:ident), $get:ident($get_request:ident),
     $create:ident($create_request:ident), $update:ident($update_request:ident),
     $delete:ident($delete_request:ident)) => {
        match $command {
            ResourceCommand::List { filter, order_by } => {
                list(
                    $client.$list(v1::$list_request {
                        filter,
                        order_by,
                        ..Default::default()
                    }),
                    $format,
                )
                .await
            }
            ResourceCommand::Get { name } => {
                let request = v1::$get_request {
                    name,
                    ..Default::default()
                };
                let response = $client
                    .retrying(|| {
                        let mut stub = $client.$stub();
                        let request = request.clone();
                        async move { stub.$get(request).await.map_err(Error::from) }
                    })
                    .await?;
                show(response.into_inner().$field, $format)
            }
            ResourceCommand::Create { file } => {
                let request = v1::$create_request {
                    $field: Some(read_resource::<v1::$kind>(&file)?),
                    ..Default::default()
                };
                let response = $client
                    .write(request, |client, r| async move {
                        client.$stub().$create(r).await
                    })
                    .await?;
                show(response.$field, $format)
            }
            ResourceCommand::Update { file, mask, etag } => {
                let mut resource = read_resource::<v1::$kind>(&file)?;
                if !etag.is_empty() {
                    resource.set_etag(etag);
                }
                let request = v1::$update_request {
                    $field: Some(resource),
                    update_mask: Some(pairing_aid_client::prost_types::FieldMask { paths: mask }),
                    request_id: String::new(),
                };
                let response = $client
                    .write(request, |client, r| async move {
                        client.$stub().$update(r).await
                    })
                    .await?;
                show(response.$field, $format)
            }
            ResourceCommand::Delete { name, etag } => {
                let request = v1::$delete_request {
                    name,
                    etag,
                    request_id: String::new(),
                };
                let response = $client
                    .write(request, |client, r| async move {
                        client.$stub().$delete(r).await
                    })
                    .await?;
                eprintln!("deleted at revision {}", response.revision);
                Ok(())
            }
        }
    };
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let mut builder = Client::builder().endpoint(cli.server.clone());
    if let Some(token) = &cli.token {
        builder = builder.token(token.clone());
    }
    let format = cli.output;
    if let Command::Completion { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "pairctl",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let client = builder.connect().await?;
    match cli.command {
        Command::Parties { command: c } => resource!(
            client, c, format, Party: parties, party,
            list_parties(ListPartiesRequest), get_party(GetPartyRequest),
            create_party(CreatePartyRequest), update_party(UpdatePartyRequest),
            delete_party(DeletePartyRequest)
        ),
        Command::Areas { command: c } => resource!(
            client, c, format, Area: areas, area,
            list_areas(ListAreasRequest), get_area(GetAreaRequest),
            create_area(CreateAreaRequest), update_area(UpdateAreaRequest),
            delete_area(DeleteAreaRequest)
        ),
        Command::Pairings { command: c } => resource!(
            client, c, format, Pairing: pairings, pairing,
            list_pairings(ListPairingsRequest), get_pairing(GetPairingRequest),
            create_pairing(CreatePairingRequest), update_pairing(UpdatePairingRequest),
            delete_pairing(DeletePairingRequest)
        ),
        Command::Projects { command: c } => resource!(
            client, c, format, Project: projects, project,
            list_projects(ListProjectsRequest), get_project(GetProjectRequest),
            create_project(CreateProjectRequest), update_project(UpdateProjectRequest),
            delete_project(DeleteProjectRequest)
        ),
        Command::Indicators { command: c } => resource!(
            client, c, format, Indicator: indicators, indicator,
            list_indicators(ListIndicatorsRequest), get_indicator(GetIndicatorRequest),
            create_indicator(CreateIndicatorRequest), update_indicator(UpdateIndicatorRequest),
            delete_indicator(DeleteIndicatorRequest)
        ),
        Command::Observations { command: c } => resource!(
            client, c, format, Observation: observations, observation,
            list_observations(ListObservationsRequest), get_observation(GetObservationRequest),
            create_observation(CreateObservationRequest), update_observation(UpdateObservationRequest),
            delete_observation(DeleteObservationRequest)
        ),
        Command::Funding {
            command:
                FundingCommand::Summary {
                    by,
                    filter,
                    from,
                    to,
                    currency,
                    level,
                    top,
                },
        } => {
            let request = v1::SummarizeFundingRequest {
                filter,
                group_by: by
                    .iter()
                    .map(|d| {
                        i32::from(match d {
                            Dimension::Party => v1::FundingDimension::Party,
                            Dimension::Area => v1::FundingDimension::Area,
                            Dimension::Field => v1::FundingDimension::Field,
                            Dimension::Livelihood => v1::FundingDimension::Livelihood,
                            Dimension::Status => v1::FundingDimension::ProjectStatus,
                            Dimension::Year => v1::FundingDimension::Year,
                            Dimension::Type => v1::FundingDimension::FundingType,
                        })
                    })
                    .collect(),
                area_level: match level {
                    Level::Region => v1::AreaLevel::Region,
                    Level::Prefecture => v1::AreaLevel::Prefecture,
                    Level::County => v1::AreaLevel::County,
                }
                .into(),
                start_year: from.unwrap_or(0),
                end_year: to.unwrap_or(0),
                currency_code: currency,
                top_n: top,
                ..Default::default()
            };
            let summary = client
                .analytics()
                .summarize_funding(request)
                .await?
                .into_inner();
            let mut columns: Vec<String> = by
                .iter()
                .filter_map(|d| d.to_possible_value())
                .map(|v| v.get_name().to_owned())
                .collect();
            columns.extend(["amount", "share", "projects"].map(String::from));
            let total = summary.total.clone().unwrap_or_default();
            let rows: Vec<Vec<String>> = summary
                .groups
                .iter()
                .chain(std::iter::once(&total))
                .enumerate()
                .map(|(i, g)| {
                    let mut row: Vec<String> = if g.other || i == summary.groups.len() {
                        let label = if g.other { "(other)" } else { "(total)" };
                        (0..by.len())
                            .map(|k| {
                                if k == 0 {
                                    label.to_owned()
                                } else {
                                    String::new()
                                }
                            })
                            .collect()
                    } else {
                        g.keys.iter().map(|k| k.display_name.clone()).collect()
                    };
                    row.extend([
                        rows::money(&g.amount),
                        g.share.clone(),
                        g.project_count.to_string(),
                    ]);
                    row
                })
                .collect();
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            print(format, &columns, &rows).map_err(Failure::Usage)?;
            for conversion in &summary.conversions {
                eprintln!(
                    "converted {} ({}): factor {} from {}",
                    conversion.year,
                    conversion.description,
                    conversion.factor,
                    conversion.observation
                );
            }
            Ok(())
        }
        Command::Series {
            indicator,
            areas,
            derive,
            from,
            to,
        } => {
            let request = v1::GetIndicatorSeriesRequest {
                indicator,
                areas,
                start_period: from.unwrap_or_default(),
                end_period: to.unwrap_or_default(),
                derivations: derive
                    .iter()
                    .map(|d| {
                        i32::from(match d {
                            DerivationArg::Yoy => v1::Derivation::YearOnYear,
                            DerivationArg::Cagr => v1::Derivation::Cagr,
                            DerivationArg::Index => v1::Derivation::Index,
                            DerivationArg::Doubling => v1::Derivation::DoublingTime,
                        })
                    })
                    .collect(),
                ..Default::default()
            };
            let response = client
                .analytics()
                .get_indicator_series(request)
                .await?
                .into_inner();
            let mut rows = Vec::new();
            for series in &response.series {
                for o in &series.observations {
                    rows.push(vec![
                        series.area.clone(),
                        o.period.clone(),
                        "value".into(),
                        o.value.clone(),
                        rows::short(o.status().as_str_name(), "DATA_STATUS_"),
                    ]);
                }
                for d in &series.derived {
                    let what = rows::short(d.derivation().as_str_name(), "DERIVATION_");
                    rows.push(vec![
                        series.area.clone(),
                        d.period.clone(),
                        what,
                        format!("{} {}", d.value, d.unit),
                        "computed".into(),
                    ]);
                }
            }
            print(
                format,
                &["area", "period", "figure", "value", "status"],
                &rows,
            )
            .map_err(Failure::Usage)
        }
        Command::Reconcile { filter } => {
            let request = v1::ReconcileReportedFiguresRequest {
                filter,
                ..Default::default()
            };
            let report = client
                .analytics()
                .reconcile_reported_figures(request)
                .await?
                .into_inner();
            let rows: Vec<Vec<String>> = report
                .reconciliations
                .iter()
                .map(|r| {
                    let reported = r.reported.clone().unwrap_or_default();
                    vec![
                        reported.name.clone(),
                        format!(
                            "{} {}",
                            rows::short(reported.qualifier().as_str_name(), "QUALIFIER_"),
                            reported.value
                        ),
                        r.computed_value.clone(),
                        r.difference_percent.clone(),
                        r.qualifier_satisfied.to_string(),
                        rows::short(r.input_status().as_str_name(), "DATA_STATUS_"),
                    ]
                })
                .collect();
            print(
                format,
                &[
                    "reported",
                    "as_reported",
                    "computed",
                    "difference_percent",
                    "agrees",
                    "computed_from",
                ],
                &rows,
            )
            .map_err(Failure::Usage)
        }
        Command::Import {
            file,
            format: file_format,
            batch_size,
        } => import(&client, &file, file_format, batch_size).await,
        Command::Export { file } => export(&client, &file).await,
        Command::Watch { from } => {
            let mut changes = client.watch(from);
            while let Some(change) = changes.try_next().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    change.revision,
                    rows::short(change.kind().as_str_name(), "CHANGE_KIND_"),
                    change.name,
                    change.subject
                );
            }
            Ok(())
        }
        Command::Completion { .. } => unreachable!("handled before connecting"),
    }
}

/// Writes every record as protobuf JSON, one per line, in an order `import` can take into an
/// empty server: what is referred to before what refers to it.
async fn export(client: &Client, file: &std::path::Path) -> Result<(), Failure> {
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

/// The one resource `file` (`-` for standard input) holds: the resource in protobuf JSON, as
/// `get -o json` prints it, or for projects and observations a flat record (an NDJSON line or a
/// one-row CSV file, as `import` reads them).
fn read_resource<R: Resource>(file: &std::path::Path) -> Result<R, Failure> {
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

async fn import(
    client: &Client,
    file: &std::path::Path,
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Server(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
        Err(Failure::Rejected(count)) => {
            eprintln!("error: {count} records were rejected");
            ExitCode::from(3)
        }
    }
}

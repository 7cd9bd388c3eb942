//! pairctl: the pairing-aid record from the command line.
//!
//! `cli` defines the command line; each group of commands runs in a module of `commands`:
//! `crud` (list, get, create, update and delete of any resource kind, from the table in
//! `resources`), `analytics`, `records` (import, export, watch) and `completion`. Results are
//! printed through `rows` (the columns of each kind), `enums` (enum values by short name),
//! `protojson` and `output`; `flat` reads the files `import` takes; `connection` makes the
//! client from the connection options.

mod cli;
mod commands;
mod connection;
mod contexts;
mod enums;
mod flat;
mod output;
mod protojson;
mod resources;
mod rows;

use std::process::ExitCode;

use clap::Parser;
use pairing_aid_client::otlp::OtlpExport;
use pairing_aid_client::{Error, v1};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use cli::{Cli, Command};
use commands::{analytics, completion, config, crud, records};

/// A failure to report as one line; the exit code says which kind.
enum Failure {
    /// Bad input (options, files, settings): exit code 2.
    Usage(String),
    /// The server refused or could not be reached: exit code 1.
    Server(Error),
    /// An import had this many records refused: exit code 3.
    Rejected(usize),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match error {
            Error::Config(message) => Failure::Usage(message),
            error => Failure::Server(error),
        }
    }
}

impl From<pairing_aid_client::tonic::Status> for Failure {
    fn from(status: pairing_aid_client::tonic::Status) -> Self {
        Failure::Server(status.into())
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let format = output::Output {
        format: cli.output,
        headers: !cli.no_headers,
    };
    if let Command::Completion { shell } = cli.command {
        completion::print(shell);
        return Ok(());
    }
    let contexts_file = contexts::path()?;
    let contexts = contexts::Contexts::load(&contexts_file)?;
    if let Command::Config { command } = &cli.command {
        return config::run(command, &cli, contexts, &contexts_file, format);
    }
    let context = contexts.chosen(cli.context.as_deref(), &contexts_file)?;
    let client = connection::builder(&cli, &context)?.connect().await?;
    let read_at = cli.as_of;
    let reads = matches!(
        cli.command,
        Command::Parties { .. }
            | Command::Areas { .. }
            | Command::Pairings { .. }
            | Command::Projects { .. }
            | Command::Indicators { .. }
            | Command::Observations { .. }
            | Command::Funding { .. }
            | Command::Series(_)
            | Command::Reconcile { .. }
            | Command::Resolve { .. }
            | Command::CheckConsistency { .. }
            | Command::Export { .. }
    );
    if read_at.is_some() && !reads {
        return Err(Failure::Usage(crud::AS_OF_READS.into()));
    }
    match cli.command {
        Command::Parties { command } => {
            crud::run::<v1::Party>(&client, command, read_at, format).await
        }
        Command::Areas { command } => {
            crud::run::<v1::Area>(&client, command, read_at, format).await
        }
        Command::Pairings { command } => {
            crud::run::<v1::Pairing>(&client, command, read_at, format).await
        }
        Command::Projects { command } => {
            crud::run::<v1::Project>(&client, command, read_at, format).await
        }
        Command::Indicators { command } => {
            crud::run::<v1::Indicator>(&client, command, read_at, format).await
        }
        Command::Observations { command } => {
            crud::run::<v1::Observation>(&client, command, read_at, format).await
        }
        Command::Funding { command } => analytics::funding(&client, command, read_at, format).await,
        Command::Series(args) => analytics::series(&client, args, read_at, format).await,
        Command::Reconcile {
            filter,
            rate_series,
        } => analytics::reconcile(&client, filter, rate_series, read_at, format).await,
        Command::Resolve { query } => analytics::resolve(&client, query, read_at, format).await,
        Command::CheckConsistency {
            filter,
            about_tolerance,
        } => analytics::check_consistency(&client, filter, about_tolerance, read_at, format).await,
        Command::Import {
            file,
            format: file_format,
            batch_size,
        } => records::import(&client, &file, file_format, batch_size).await,
        Command::Export { file } => records::export(&client, &file, read_at).await,
        Command::Watch { from } => records::watch(&client, from, format).await,
        Command::History { name } => records::history(&client, name, format).await,
        Command::Completion { .. } | Command::Config { .. } => {
            unreachable!("handled before connecting")
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // With OTEL_EXPORTER_OTLP_ENDPOINT set, the command and its calls are exported as one
    // trace, which the server continues.
    let export = match OtlpExport::from_env("pairctl") {
        Ok(export) => export,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(export) = &export {
        tracing_subscriber::registry().with(export.layer()).init();
    }
    let outcome = run(cli).instrument(tracing::info_span!("pairctl")).await;
    if let Some(export) = export {
        export.shutdown();
    }
    match outcome {
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

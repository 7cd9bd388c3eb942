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
mod enums;
mod flat;
mod output;
mod protojson;
mod resources;
mod rows;

use std::process::ExitCode;

use clap::Parser;
use pairing_aid_client::{Error, v1};

use cli::{Cli, Command};
use commands::{analytics, completion, crud, records};

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
    let format = cli.output;
    if let Command::Completion { shell } = cli.command {
        completion::print(shell);
        return Ok(());
    }
    let client = connection::builder(&cli)?.connect().await?;
    match cli.command {
        Command::Parties { command } => crud::run::<v1::Party>(&client, command, format).await,
        Command::Areas { command } => crud::run::<v1::Area>(&client, command, format).await,
        Command::Pairings { command } => crud::run::<v1::Pairing>(&client, command, format).await,
        Command::Projects { command } => crud::run::<v1::Project>(&client, command, format).await,
        Command::Indicators { command } => {
            crud::run::<v1::Indicator>(&client, command, format).await
        }
        Command::Observations { command } => {
            crud::run::<v1::Observation>(&client, command, format).await
        }
        Command::Funding { command } => analytics::funding(&client, command, format).await,
        Command::Series {
            indicator,
            areas,
            derive,
            from,
            to,
        } => analytics::series(&client, indicator, areas, derive, from, to, format).await,
        Command::Reconcile { filter } => analytics::reconcile(&client, filter, format).await,
        Command::Import {
            file,
            format: file_format,
            batch_size,
        } => records::import(&client, &file, file_format, batch_size).await,
        Command::Export { file } => records::export(&client, &file).await,
        Command::Watch { from } => records::watch(&client, from).await,
        Command::Completion { .. } => unreachable!("handled before connecting"),
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

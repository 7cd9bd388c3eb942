//! The command line: every command, argument and help example.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use pairing_aid_client::v1;

use crate::output::Format;

/// Read, write and analyse the pairing-aid record.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Example:\n  pairctl projects list --filter 'field = EDUCATION AND year >= 2015' -o csv"
)]
pub struct Cli {
    /// The server: http://HOST:PORT, https://HOST:PORT (TLS), or dns:///NAME:PORT to balance
    /// over every address the name resolves to (dns://DNS-SERVER/NAME:PORT asks that server).
    /// [default: the context's, else http://127.0.0.1:50051]
    #[arg(long, global = true, env = "PAIRCTL_SERVER")]
    pub server: Option<String>,
    /// The context (named settings in the contexts file) to use instead of the current one.
    #[arg(long, global = true, env = "PAIRCTL_CONTEXT")]
    pub context: Option<String>,
    /// Bearer token for writes (prefer --token-file or the environment variable).
    #[arg(long, global = true, env = "PAIRCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the bearer token; must not be readable by group or others.
    #[arg(
        long,
        global = true,
        env = "PAIRCTL_TOKEN_FILE",
        conflicts_with = "token"
    )]
    pub token_file: Option<PathBuf>,
    /// PEM CA to trust instead of the system's roots (turns TLS on for dns: servers).
    #[arg(long, global = true, env = "PAIRCTL_CACERT")]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate, for servers that require one (with --key).
    #[arg(long, global = true, env = "PAIRCTL_CERT", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM key of the client certificate.
    #[arg(long, global = true, env = "PAIRCTL_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Name to check the server's certificate against, if not the server's host.
    #[arg(long, global = true, env = "PAIRCTL_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,
    /// Deadline of each call, e.g. 30s, 500ms, 2m (0 waits forever).
    #[arg(long, global = true, env = "PAIRCTL_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Leave out the line of column names in tables and CSV.
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Read the record as it stood at a past revision (a whole number, see `pairctl history`)
    /// or time (RFC 3339, e.g. 2026-03-01T00:00:00Z): for list, get, export and the analytics.
    #[arg(long, global = true, value_parser = parse_read_at)]
    pub as_of: Option<v1::ReadAt>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    Series(SeriesArgs),
    /// Reported aggregates beside the same figures computed from the projects.
    #[command(after_help = "Example:\n  pairctl reconcile -o json")]
    Reconcile {
        /// Filter over the reported observations.
        #[arg(long, default_value = "")]
        filter: String,
        /// The exchange-rate series to convert with, `indicators/{indicator}`.
        #[arg(long, default_value = "")]
        rate_series: String,
    },
    /// Find areas and parties by any of their names or codes, or the beginning of one.
    #[command(after_help = "Example:\n  pairctl resolve 莎车")]
    Resolve {
        /// A name or code: "莎车", "Shache", "653125".
        query: String,
    },
    /// Figures a source states together checked against each other: a multiple against the
    /// average growth, two currencies against a rate, a part against share x whole.
    #[command(after_help = "Example:\n  pairctl check-consistency --about-tolerance 5")]
    CheckConsistency {
        /// Filter over the checked figures (observations).
        #[arg(long, default_value = "")]
        filter: String,
        /// Percent a figure stated as "about" may be off; default 5.
        #[arg(long, default_value = "")]
        about_tolerance: String,
    },
    /// Import records from NDJSON (protobuf JSON records as `export` writes, or flat records)
    /// or CSV (flat records), by extension or --format. Reference data needs an admin token.
    #[command(after_help = "Example:\n  pairctl import projects.ndjson --token \"$TOKEN\"")]
    Import {
        /// The file to import (`-`: standard input). Its content names the import, so an
        /// interrupted import of the same content resumes and an edited file is a new one.
        file: PathBuf,
        /// The file's format, if its extension does not say (standard input: NDJSON).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Records per batch.
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
    },
    /// Export every record, one protobuf JSON record per line, to a file that `import` reads
    /// back into an empty server.
    #[command(
        after_help = "Example:\n  pairctl export record.ndjson\n  pairctl export record-at-42.ndjson --as-of 42"
    )]
    Export {
        /// The file to write (`-`: standard output).
        file: PathBuf,
    },
    /// The revisions of one resource, newest first: who changed it, when, why, and which
    /// fields; read one with `get NAME --as-of REVISION`.
    #[command(after_help = "Example:\n  pairctl history projects/shanghai-kashgar-2013-01")]
    History {
        /// The resource's name; it may have been deleted.
        name: String,
    },
    /// Print changes as they are committed.
    #[command(after_help = "Example:\n  pairctl watch --from 0")]
    Watch {
        /// Print changes after this revision.
        #[arg(long, default_value_t = 0)]
        from: i64,
    },
    /// Contexts: named connection settings in a file, one of them current, as kubeconfig
    /// has them (`$PAIRCTL_CONFIG`, else `~/.config/pairctl/config.yaml`).
    #[command(
        after_help = "Example:\n  pairctl config set-context prod --server dns:///pairing-aid-headless:50051 --cacert ca.pem --token-file prod.token\n  pairctl config use-context prod"
    )]
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  pairctl completion bash > /etc/bash_completion.d/pairctl")]
    Completion {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
pub enum ResourceCommand {
    /// List, filtered and ordered.
    #[command(
        after_help = "Example:\n  pairctl projects list --filter 'party = \"parties/beijing\"' --order-by 'title'"
    )]
    List {
        /// AIP-160 filter, e.g. `field = EDUCATION AND year >= 2015` (fields in the protos).
        #[arg(long, default_value = "")]
        filter: String,
        /// Fields to order by, e.g. `title desc, name`; by name if none.
        #[arg(long, default_value = "")]
        order_by: String,
    },
    /// Get one by name, as it is now or as it stood at a past revision or time (--as-of).
    #[command(
        after_help = "Example:\n  pairctl areas get areas/kashgar\n  pairctl projects get projects/p1 --as-of 42"
    )]
    Get {
        /// The resource's name, e.g. `areas/kashgar`.
        name: String,
    },
    /// Create one from a file (`-` for standard input) holding it in protobuf JSON, as `get -o
    /// json` prints it; projects and observations may also be one flat record, as `import` reads.
    #[command(
        after_help = "Example:\n  echo '{\"name\":\"areas/new\",\"displayName\":\"New County\",\"level\":\"AREA_LEVEL_COUNTY\",\"parent\":\"areas/kashgar\"}' \\\n    | pairctl areas create --file - --token \"$TOKEN\""
    )]
    Create {
        /// The file holding the resource (`-`: standard input).
        #[arg(long)]
        file: PathBuf,
        /// Why the change is made, kept in the change log and shown by `pairctl history`.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Replace the fields named by --mask (all if none) from a file read as `create` reads it.
    /// The etag in the file (or --etag) makes the update fail if the resource changed since.
    #[command(
        after_help = "Example:\n  pairctl projects get projects/p1 -o json > p1.json\n  # edit p1.json\n  pairctl projects update --file p1.json --mask title,status"
    )]
    Update {
        /// The file holding the resource (`-`: standard input).
        #[arg(long)]
        file: PathBuf,
        /// Fields to replace, comma-separated (all if none).
        #[arg(long, value_delimiter = ',')]
        mask: Vec<String>,
        /// Update only if unchanged since this etag was read.
        #[arg(long, default_value = "")]
        etag: String,
        /// Why the change is made, kept in the change log and shown by `pairctl history`.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Delete one by name.
    #[command(
        after_help = "Example:\n  pairctl projects delete projects/old-project --token \"$TOKEN\""
    )]
    Delete {
        /// The resource's name, e.g. `projects/old-project`.
        name: String,
        /// Delete only if unchanged since this etag was read.
        #[arg(long, default_value = "")]
        etag: String,
        /// Why the change is made, kept in the change log and shown by `pairctl history`.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Make a context the current one.
    UseContext {
        /// The context's name.
        name: String,
    },
    /// Create or change a context from the connection options given with it (--server,
    /// --cacert, --cert, --key, --tls-server-name, --token-file).
    SetContext {
        /// The context's name.
        name: String,
    },
    /// List the contexts.
    GetContexts,
    /// Print the current context's name.
    CurrentContext,
}

#[derive(Subcommand)]
pub enum FundingCommand {
    /// Sum funding lines grouped by dimensions.
    #[command(
        after_help = "Example:\n  pairctl funding summary --by party,field --from 2015 --to 2020 --currency USD"
    )]
    Summary {
        /// Dimensions to group by, comma-separated.
        #[arg(long, value_enum, value_delimiter = ',')]
        by: Vec<Dimension>,
        /// AIP-160 filter over the projects.
        #[arg(long, default_value = "")]
        filter: String,
        /// First year of funding lines.
        #[arg(long)]
        from: Option<i32>,
        /// Last year of funding lines.
        #[arg(long)]
        to: Option<i32>,
        /// Currency to sum in (ISO 4217 code).
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// The exchange-rate series to convert with, `indicators/{indicator}`; default: any
        /// stored one whose unit names the currencies.
        #[arg(long, default_value = "")]
        rate_series: String,
        /// Area level when grouping by area.
        #[arg(long, value_enum, default_value_t = Level::Prefecture)]
        level: Level,
        /// Keep the largest groups, the rest as `(other)`; 0 keeps all.
        #[arg(long, default_value_t = 0)]
        top: i32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Dimension {
    Party,
    Area,
    Field,
    Livelihood,
    Status,
    Year,
    Type,
    /// The projects' data status (reported ... synthetic).
    DataStatus,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Level {
    Region,
    Prefecture,
    County,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DerivationArg {
    Yoy,
    Cagr,
    Index,
    Doubling,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Csv,
    Ndjson,
}

/// A duration as `30s`, `500ms`, `2m` or `1h`.
/// A revision or an RFC 3339 time.
fn parse_read_at(text: &str) -> Result<v1::ReadAt, String> {
    use v1::read_at::Point;
    if let Ok(revision) = text.parse::<i64>() {
        return Ok(v1::ReadAt {
            point: Some(Point::Revision(revision)),
        });
    }
    let time = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        format!(
            "`{text}` is neither a revision (a whole number) nor a time in RFC 3339 such as \
             2026-03-01T00:00:00Z: {e}"
        )
    })?;
    Ok(v1::ReadAt {
        point: Some(Point::Time(pairing_aid_client::prost_types::Timestamp {
            seconds: time.timestamp(),
            nanos: time.timestamp_subsec_nanos() as i32,
        })),
    })
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write 30s, 500ms, 2m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let seconds = match unit {
        "ms" => return Ok(std::time::Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("`{unit}` is not a unit: write ms, s, m or h")),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(seconds),
    ))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_option_and_argument_has_help_text() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "pairctl", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}

/// What `pairctl series` asks for.
#[derive(clap::Args)]
pub struct SeriesArgs {
    /// The indicator, `indicators/{indicator}`.
    pub indicator: String,
    /// Areas, repeated for series side by side.
    #[arg(long = "area", required = true)]
    pub areas: Vec<String>,
    /// Figures to derive.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub derive: Vec<DerivationArg>,
    /// First period.
    #[arg(long)]
    pub from: Option<String>,
    /// Last period.
    #[arg(long)]
    pub to: Option<String>,
    /// Where observations of one period compete, prefer this source (title or publisher);
    /// repeated, most preferred first.
    #[arg(long = "prefer-source")]
    pub preferred_sources: Vec<String>,
    /// Among equally preferred sources, take the latest publication or the last written.
    #[arg(long, value_enum, default_value_t = ChoiceArg::LatestPublication)]
    pub choose: ChoiceArg,
}

/// How competing observations are told apart.
#[derive(Clone, Copy, ValueEnum)]
pub enum ChoiceArg {
    LatestPublication,
    LastWritten,
}

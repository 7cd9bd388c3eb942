//! `pairctl config`: the contexts file's commands.

use std::path::Path;

use crate::Failure;
use crate::cli::{Cli, ConfigCommand};
use crate::connection;
use crate::contexts::Contexts;
use crate::output::{Cell, Output, print};

/// Runs one `config` command against the contexts file at `path`.
pub fn run(
    command: &ConfigCommand,
    cli: &Cli,
    mut contexts: Contexts,
    path: &Path,
    output: Output,
) -> Result<(), Failure> {
    match command {
        ConfigCommand::UseContext { name } => {
            contexts.chosen(Some(name), path)?;
            contexts.current_context = Some(name.clone());
            contexts.save(path)?;
            eprintln!("switched to context `{name}`");
        }
        ConfigCommand::SetContext { name } => {
            let before = contexts.contexts.remove(name).unwrap_or_default();
            let after = connection::settings(cli, &before);
            contexts.contexts.insert(name.clone(), after);
            contexts.save(path)?;
            eprintln!("context `{name}` saved in {}", path.display());
        }
        ConfigCommand::GetContexts => {
            let current = contexts.current_context.as_deref();
            let rows: Vec<Vec<Cell>> = contexts
                .contexts
                .iter()
                .map(|(name, context)| {
                    let shown = |path: &Option<std::path::PathBuf>| {
                        path.as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    };
                    [
                        name.clone(),
                        if current == Some(name.as_str()) {
                            "*"
                        } else {
                            ""
                        }
                        .to_owned(),
                        context.server.clone().unwrap_or_default(),
                        shown(&context.cacert),
                        shown(&context.token_file),
                    ]
                    .into_iter()
                    .map(Cell::from)
                    .collect()
                })
                .collect();
            print(
                output,
                &["name", "current", "server", "cacert", "token_file"],
                &rows,
            )
            .map_err(Failure::Usage)?;
        }
        ConfigCommand::CurrentContext => match &contexts.current_context {
            Some(name) => println!("{name}"),
            None => {
                return Err(Failure::Usage(format!(
                    "no current context in {}",
                    path.display()
                )));
            }
        },
    }
    Ok(())
}

//! `pairctl completion`: a shell completion script for the whole command line.

use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completion script of `shell` to standard output.
pub fn print(shell: clap_complete::Shell) {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "pairctl",
        &mut std::io::stdout(),
    );
}

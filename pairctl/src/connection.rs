//! The client pairctl connects with, from the command line's server, TLS, token and timeout
//! options, each falling back on the context's: each file read here, and a file that cannot
//! be used named with its option.

use std::path::Path;

use pairing_aid_client::{Client, ClientBuilder};

use crate::Failure;
use crate::cli::Cli;
use crate::contexts::Context;

/// The server when neither an option nor the context names one.
const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// The connection settings of the options, each over the context's.
pub fn settings(cli: &Cli, context: &Context) -> Context {
    let token_file = match &cli.token {
        // A token given on the command line or in the environment wins over any file.
        Some(_) => None,
        None => cli.token_file.clone().or(context.token_file.clone()),
    };
    let identity = match (&cli.cert, &cli.key) {
        (Some(cert), Some(key)) => (Some(cert.clone()), Some(key.clone())),
        _ => (context.cert.clone(), context.key.clone()),
    };
    Context {
        server: cli.server.clone().or(context.server.clone()),
        cacert: cli.cacert.clone().or(context.cacert.clone()),
        cert: identity.0,
        key: identity.1,
        tls_server_name: cli
            .tls_server_name
            .clone()
            .or(context.tls_server_name.clone()),
        token_file,
    }
}

/// The client settings the options (over the context's) ask for.
pub fn builder(cli: &Cli, context: &Context) -> Result<ClientBuilder, Failure> {
    let settings = settings(cli, context);
    let timeout = (!cli.timeout.is_zero()).then_some(cli.timeout);
    let mut builder = Client::builder()
        .endpoint(settings.server.unwrap_or_else(|| DEFAULT_SERVER.into()))
        .deadline(timeout);
    if let Some(token) = &cli.token {
        builder = builder.token(token.clone());
    }
    if let Some(path) = &settings.token_file {
        builder = builder.token(token_from(path)?);
    }
    if let Some(path) = &settings.cacert {
        builder = builder.tls_ca_pem(read("--cacert", path)?);
    }
    if let (Some(cert), Some(key)) = (&settings.cert, &settings.key) {
        builder = builder.tls_identity(read("--cert", cert)?, read("--key", key)?);
    }
    if let Some(name) = &settings.tls_server_name {
        builder = builder.tls_domain(name.clone());
    }
    Ok(builder)
}

fn read(option: &str, path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Usage(format!("{option} {}: cannot read it: {e}", path.display())))
}

/// The token in `path`, refused if others than its owner may read it (as ssh refuses such a
/// key): a token is a password.
fn token_from(path: &Path) -> Result<String, Failure> {
    use std::os::unix::fs::PermissionsExt;
    let unusable = |why: String| Failure::Usage(format!("--token-file {}: {why}", path.display()));
    let mode = std::fs::metadata(path)
        .map_err(|e| unusable(format!("cannot read it: {e}")))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(unusable(format!(
            "readable by others (mode {:o}); make it private with chmod 600",
            mode & 0o777
        )));
    }
    let text =
        String::from_utf8(read("--token-file", path)?).map_err(|_| unusable("not text".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(unusable("empty".into()));
    }
    Ok(token.to_owned())
}

//! Contexts, as kubeconfig has them: named sets of connection settings (server, TLS files,
//! token file) in a file, one of them current, so `pairctl` reaches a deployment without
//! repeating its options. The file is `$PAIRCTL_CONFIG`, else
//! `$XDG_CONFIG_HOME/pairctl/config.yaml` (`~/.config/pairctl/config.yaml`).
//!
//! ```yaml
//! current-context: prod
//! contexts:
//!   prod:
//!     server: dns:///pairing-aid-headless.pairing:50051
//!     cacert: /etc/pairing-aid/ca.pem
//!     token-file: /home/me/.config/pairctl/prod.token
//! ```
//!
//! An option or its environment variable wins over the context.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Failure;

/// The settings one context names; each optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cacert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// The contexts file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Contexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// Where the contexts file is.
pub fn path() -> Result<PathBuf, Failure> {
    if let Some(path) = std::env::var_os("PAIRCTL_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))
        .ok_or_else(|| {
            Failure::Usage("no contexts file: set PAIRCTL_CONFIG, XDG_CONFIG_HOME or HOME".into())
        })?;
    Ok(base.join("pairctl").join("config.yaml"))
}

impl Contexts {
    /// The file at `path`; none there is no context at all.
    pub fn load(path: &Path) -> Result<Contexts, Failure> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_norway::from_str(&text)
                .map_err(|e| Failure::Usage(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts::default()),
            Err(e) => Err(Failure::Usage(format!("{}: {e}", path.display()))),
        }
    }

    /// Writes the file, private to its owner (it names credentials' files).
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let unwritable = |e: std::io::Error| Failure::Usage(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unwritable)?;
        }
        let text = serde_norway::to_string(self).map_err(|e| Failure::Usage(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(unwritable)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(unwritable)
    }

    /// The context called `name`, or the current one if `name` is `None` (none at all if
    /// there is no current one); a name not in the file is an error listing those that are.
    pub fn chosen(&self, name: Option<&str>, path: &Path) -> Result<Context, Failure> {
        let Some(name) = name.or(self.current_context.as_deref()) else {
            return Ok(Context::default());
        };
        self.contexts.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
            Failure::Usage(format!(
                "context `{name}` is not in {} (contexts: {})",
                path.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

//! Server processes a comparison or a soak starts and stops.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child process serving gRPC; killed when dropped.
pub struct Served {
    child: Child,
    pub endpoint: String,
    /// pairing-aid's database and log, and how it was started, for a restart.
    started: Option<(tempfile::TempDir, PathBuf, Vec<String>)>,
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything pairing-aid has logged so far (all starts).
    pub fn log(&self) -> String {
        self.started
            .as_ref()
            .and_then(|(dir, _, _)| std::fs::read_to_string(dir.path().join("server.log")).ok())
            .unwrap_or_default()
    }

    /// Kills pairing-aid with SIGKILL and starts it again on the same database.
    pub fn kill_and_restart(mut self) -> Result<Served, String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (dir, binary, extra) = self.started.take().ok_or("only pairing-aid restarts")?;
        spawn_pairing_aid(dir, &binary, &extra)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pairing-aid binary built beside this one, unless `explicit` names another.
pub fn server_binary(explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_path_buf).unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("pairing-aid")))
            .unwrap_or_else(|| PathBuf::from("pairing-aid"))
    })
}

/// Starts pairing-aid on a fresh database with its demo data and `extra` arguments, logging
/// as it does by default; waits until it listens.
pub fn start_pairing_aid(binary: &Path, extra: &[String]) -> Result<Served, String> {
    spawn_pairing_aid(
        tempfile::tempdir().map_err(|e| e.to_string())?,
        binary,
        extra,
    )
}

fn spawn_pairing_aid(
    dir: tempfile::TempDir,
    binary: &Path,
    extra: &[String],
) -> Result<Served, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server.log"))
        .map_err(|e| e.to_string())?;
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .args(["--log-format", "json", "--database"])
        .arg(dir.path().join("load.db"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let address = announced(stderr, Some(log), |line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let message = value.pointer("/fields/message")?.as_str()?;
        message
            .starts_with("pairing-aid listening on")
            .then_some(())?;
        value
            .pointer("/fields/address")?
            .as_str()
            .map(str::to_owned)
    });
    wait_for(
        child,
        address,
        Some((dir, binary.to_owned(), extra.to_vec())),
    )
}

/// Starts this binary's echo service; waits until it listens.
pub fn start_echo() -> Result<Served, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["echo-server", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the echo service: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let address = announced(stdout, None, |line| {
        line.strip_prefix("listening on ").map(str::to_owned)
    });
    wait_for(child, address, None)
}

/// Reads `output` on a thread until `parse` finds the address, then drains it (into `log`, if
/// given), so the child never blocks on a full pipe.
fn announced(
    output: impl std::io::Read + Send + 'static,
    mut log: Option<std::fs::File>,
    parse: impl Fn(&str) -> Option<String> + Send + 'static,
) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if let Some(log) = &mut log {
                let _ = writeln!(log, "{line}");
            }
            if let Some(address) = parse(&line) {
                let _ = sender.send(address);
            }
        }
    });
    receiver
}

fn wait_for(
    mut child: Child,
    address: mpsc::Receiver<String>,
    started: Option<(tempfile::TempDir, PathBuf, Vec<String>)>,
) -> Result<Served, String> {
    // A full-scale synthetic record takes minutes to generate on a first start.
    match address.recv_timeout(Duration::from_secs(900)) {
        Ok(address) => Ok(Served {
            child,
            endpoint: format!("http://{address}"),
            started,
        }),
        Err(_) => {
            let _ = child.kill();
            Err("the server did not report its address".into())
        }
    }
}

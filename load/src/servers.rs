//! Server processes a comparison or a soak starts and stops.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child process serving gRPC; killed when dropped.
pub struct Served {
    child: Child,
    pub endpoint: String,
    _dir: Option<tempfile::TempDir>,
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
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
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
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
    let address = announced(stderr, |line| {
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
    wait_for(child, address, Some(dir))
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
    let address = announced(stdout, |line| {
        line.strip_prefix("listening on ").map(str::to_owned)
    });
    wait_for(child, address, None)
}

/// Reads `output` on a thread until `parse` finds the address, then drains it, so the child
/// never blocks on a full pipe.
fn announced(
    output: impl std::io::Read + Send + 'static,
    parse: impl Fn(&str) -> Option<String> + Send + 'static,
) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
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
    dir: Option<tempfile::TempDir>,
) -> Result<Served, String> {
    // A full-scale synthetic record takes minutes to generate on a first start.
    match address.recv_timeout(Duration::from_secs(900)) {
        Ok(address) => Ok(Served {
            child,
            endpoint: format!("http://{address}"),
            _dir: dir,
        }),
        Err(_) => {
            let _ = child.kill();
            Err("the server did not report its address".into())
        }
    }
}

//! A PostgreSQL instance of the test's own: `initdb` into a temporary directory, on a free
//! port, optionally speaking TLS with a certificate the test made; the test stops and starts it
//! without touching the machine's cluster.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL; stopped (immediately) when dropped.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    options: String,
    pub port: u16,
}

/// The server's certificate and key, PEM; with them only TLS connections are accepted.
pub struct ServerTls<'a> {
    pub certificate: &'a str,
    pub key: &'a str,
}

fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A PostgreSQL program, to run as the `postgres` user when the test runs as root
/// (PostgreSQL refuses to run as root).
fn postgres_command(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs a PostgreSQL program, which must succeed.
fn run(program: &Path, args: &[&str]) {
    let output = postgres_command(program)
        .args(args)
        .output()
        .expect("PostgreSQL's programs run");
    assert!(
        output.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl OwnPostgres {
    /// Creates and starts an instance; `None` (after saying why) where PostgreSQL's programs
    /// are not installed, outside CI.
    pub fn start(tls: Option<ServerTls<'_>>) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            assert!(!super::in_ci(), "initdb is required under CI");
            eprintln!("skipping: PostgreSQL's initdb is not installed");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=100",
            dir.path().display()
        );
        let mut hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n".to_owned();
        match &tls {
            Some(tls) => {
                std::fs::write(dir.path().join("server.pem"), tls.certificate).unwrap();
                std::fs::write(dir.path().join("server.key"), tls.key).unwrap();
                options += &format!(
                    " -c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key",
                    dir.path().display()
                );
            }
            None => hba += "host all all 127.0.0.1/32 trust\n",
        }
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let key = dir.path().join("server.key");
        if key.exists() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        run(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let postgres = OwnPostgres {
            dir,
            bin,
            options: format!("-p {port} {options}"),
            port,
        };
        postgres.start_again();
        Some(postgres)
    }

    /// The URL of its `postgres` database, with `parameters` (such as `sslmode=require`).
    pub fn url(&self, parameters: &str) -> String {
        let query = if parameters.is_empty() {
            String::new()
        } else {
            format!("?{parameters}")
        };
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        let mut all = vec!["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&self.bin.join("pg_ctl"), &all);
    }

    /// Stops it (fast shutdown: connections are closed).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    /// Starts it again after `stop`.
    pub fn start_again(&self) {
        self.pg_ctl(&["-o", &self.options, "-w", "start"]);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = postgres_command(&self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

//! Starts the real `pairing-aid` binary on an ephemeral port and a temporary database.

#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod own_postgres;
pub mod pki;
pub mod postgres;
pub mod secret_volume;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use pairing_aid_client::tonic::Status;
use pairing_aid_client::tonic::transport::Channel;
use pairing_aid_client::{Client, Error};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// A running server process and the log lines it has written.
pub struct TestServer {
    child: Child,
    pub address: String,
    pub metrics_address: String,
    pub logs: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a new, empty database (so the demo data is loaded).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = Self::start_on(dir.path().join("pairing-aid.db"), &[]);
        server._dir = Some(dir);
        server
    }

    /// Starts a server on `database` with extra arguments.
    pub fn start_on(database: impl AsRef<std::ffi::OsStr>, extra_args: &[&str]) -> Self {
        Self::start_with(database, "127.0.0.1:0", extra_args, &[])
    }

    /// Starts a server on `database`, listening on `listen`, with extra arguments and
    /// environment variables.
    pub fn start_with(
        database: impl AsRef<std::ffi::OsStr>,
        listen: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut args: Vec<std::ffi::OsString> =
            ["--listen", listen, "--metrics-listen", "127.0.0.1:0"]
                .into_iter()
                .chain(["--log-format", "json", "--drain-seconds", "5", "--database"])
                .map(Into::into)
                .collect();
        args.push(database.as_ref().to_owned());
        args.extend(extra_args.iter().map(Into::into));
        let env: Vec<(&str, &str)> = [("RUST_LOG", "info")]
            .into_iter()
            .chain(env.iter().copied())
            .collect();
        Self::spawn(&args, &env)
    }

    /// Starts the binary with exactly these arguments and environment; they must include a
    /// JSON log format, so the listening line can be read.
    pub fn spawn(args: &[std::ffi::OsString], env: &[(&str, &str)]) -> Self {
        let mut child = spawn_server(args, env);
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = mpsc::channel();
        let collected = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let addresses = listening_addresses(&line);
                // Keep the line before announcing it, so a test that has the address has it.
                collected.lock().unwrap().push(line);
                if let Some(addresses) = addresses {
                    let _ = address_sender.send(addresses);
                }
            }
        });
        let (address, metrics_address) = match address_receiver.recv_timeout(start_timeout()) {
            Ok(addresses) => addresses,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not report its address; log: {:?}",
                    logs.lock().unwrap()
                );
            }
        };
        TestServer {
            child,
            address,
            metrics_address,
            logs,
            _dir: None,
        }
    }

    /// The metrics exposition, fetched as Prometheus would.
    pub fn scrape_metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(&self.metrics_address).expect("metrics port answers");
        write!(
            stream,
            "GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.metrics_address
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
            "{response}"
        );
        response
    }

    /// The value of the series starting `series` (a metric's name and labels as exposed), 0
    /// when it is absent.
    pub fn metric(&self, series: &str) -> f64 {
        self.scrape_metrics()
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits until the series `series` reaches `at_least`, at most `limit`: its last value.
    pub fn wait_for_metric(&self, series: &str, at_least: f64, limit: Duration) -> f64 {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let value = self.metric(series);
            if value >= at_least || std::time::Instant::now() >= deadline {
                return value;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL clients connect to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A connected channel without the client crate, for the health service and raw calls.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.endpoint())
            .expect("valid endpoint")
            .connect()
            .await
            .expect("server accepts connections")
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as Kubernetes does when it stops a pod.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|exited| exited.is_none())
    }

    /// Kills the process with SIGKILL, as a crash or an OOM kill would, and waits for it.
    pub fn kill_hard(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let _ = self.child.wait();
    }

    /// Stops the server gracefully and waits for it.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate();
        self.wait_exit(Duration::from_secs(20))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a server may take to load its record and listen: three minutes (two debug builds
/// loading 200,000 synthetic projects at once on two slow cores took over one), or
/// `PAIRING_AID_START_TIMEOUT_SECONDS` for benchmarks that load millions of records.
fn start_timeout() -> Duration {
    let seconds = std::env::var("PAIRING_AID_START_TIMEOUT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    Duration::from_secs(seconds)
}

/// The pairctl binary, which the workspace's `cargo test` builds beside the server.
pub fn pairctl_binary() -> PathBuf {
    server_binary().with_file_name("pairctl")
}

/// The server binary: this package's, or beside `pairctl` when the tests are pairctl's.
pub fn server_binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_pairing-aid") {
        return path.into();
    }
    let Some(pairctl) = option_env!("CARGO_BIN_EXE_pairctl") else {
        panic!("these helpers serve the tests of the server and of pairctl only");
    };
    let server = Path::new(pairctl).with_file_name("pairing-aid");
    assert!(
        server.exists(),
        "{} is missing: run the tests from the workspace root",
        server.display()
    );
    server
}

fn listening_addresses(line: &str) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let message = value.pointer("/fields/message")?.as_str()?;
    if !message.starts_with("pairing-aid listening on") {
        return None;
    }
    let field = |name: &str| {
        value
            .pointer(&format!("/fields/{name}"))?
            .as_str()
            .map(str::to_owned)
    };
    Some((field("address")?, field("metrics_address")?))
}

/// A loopback address, free now, for a server that is restarted on the same address: its
/// port is below the kernel's ephemeral range (32768 and up by default), so while the server
/// is down, neither another test's server (listening on port 0) nor a client's connection
/// (whose local port is ephemeral) can take it, as they can take an ephemeral one.
pub fn address_for_restarts() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // Spread over the range by process, so test binaries running at once rarely try the same.
    let start = std::process::id() % 8_000;
    loop {
        let offset = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + (start + offset * 7) % 12_000;
        let address = format!("127.0.0.1:{port}");
        if std::net::TcpListener::bind(&address).is_ok() {
            return address;
        }
    }
}

/// A temporary directory and a database path in it that outlive one server.
pub fn database_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("pairing-aid.db")
}

/// Whether the run is CI's, where tools the tests need must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether `program` runs (`program version_arg` succeeds); under CI it must, since the CI
/// script installs it (`install` says how), and elsewhere a test without it skips, saying so.
pub fn tool_available(program: &str, version_arg: &str, install: &str) -> bool {
    let found = Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!in_ci(), "{program} is required under CI ({install})");
        eprintln!("skipping: {program} not found ({install})");
    }
    found
}

/// The article the demo data cites, from `shared/sources` beside the checkout, if present.
/// Under CI it must be present.
pub fn source_article() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/sources/xinhua-2023-09-22-pairing-assistance.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) if in_ci() => panic!("{} is needed under CI: {error}", path.display()),
        Err(_) => {
            eprintln!(
                "skipping verbatim-quote checks: {} not found",
                path.display()
            );
            None
        }
    }
}

/// Tokens the write tests start servers with: `(subject, role, token)`.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
pub const WRITE_TOKEN: &str = "write-token-0123456789";
pub const READ_TOKEN: &str = "read-token-0123456789";

/// The `--tokens` argument giving the three test tokens.
pub fn token_args() -> [&'static str; 2] {
    [
        "--tokens",
        "ops admin admin-token-0123456789;office write write-token-0123456789;analyst read read-token-0123456789",
    ]
}

/// Adds `authorization: Bearer <token>` to every call when a token is given. Only for
/// `benches/import.rs`, which still builds its stub on [`TestServer::authed`]; tests call
/// through [`TestServer::client`].
#[derive(Clone)]
pub struct Bearer(pub Option<String>);

impl pairing_aid_client::tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: pairing_aid_client::tonic::Request<()>,
    ) -> Result<pairing_aid_client::tonic::Request<()>, pairing_aid_client::tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Ok(request)
    }
}

/// A channel that sends `token` with every call.
pub type Authed =
    pairing_aid_client::tonic::service::interceptor::InterceptedService<Channel, Bearer>;

impl TestServer {
    /// A server on a fresh database with the test tokens and `extra_args`.
    pub fn start_with_tokens(extra_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let args: Vec<&str> = token_args()
            .into_iter()
            .chain(extra_args.iter().copied())
            .collect();
        let mut server = Self::start_on(dir.path().join("pairing-aid.db"), &args);
        server._dir = Some(dir);
        server
    }

    /// A channel carrying `token` (or none), for `benches/import.rs` only (see [`Bearer`]).
    pub async fn authed(&self, token: Option<&str>) -> Authed {
        pairing_aid_client::tonic::service::interceptor::InterceptedService::new(
            self.channel().await,
            Bearer(token.map(str::to_owned)),
        )
    }

    /// A client of this server that sends `token` (or none) with every call: how the tests
    /// call the API. It sets no default deadline, so a call waits as long as the call itself
    /// asks, as with the generated stubs alone.
    pub async fn client(&self, token: Option<&str>) -> Client {
        let mut builder = Client::builder().endpoint(self.endpoint()).deadline(None);
        if let Some(token) = token {
            builder = builder.token(token);
        }
        builder.connect().await.expect("server accepts connections")
    }
}

/// The `ErrorInfo` reason of an error, as the client crate decodes it; every error the server
/// sends has one.
pub fn reason(status: &Status) -> String {
    Error::from(status.clone())
        .reason()
        .expect("ErrorInfo on every error")
        .to_owned()
}

/// The `(field, description)` of every `BadRequest` violation of an error, as the client crate
/// decodes them.
pub fn violations(status: &Status) -> Vec<(String, String)> {
    Error::from(status.clone())
        .violations()
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect()
}

/// A memory figure of process `pid` from `/proc/PID/status` (`"VmRSS:"`, `"VmHWM:"`), in bytes.
pub fn memory_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .expect("a memory figure")
        * 1024
}

/// A valid project in Kashgar funded by Shanghai, with one funding line.
pub fn project(id: &str) -> pairing_aid_client::v1::Project {
    use pairing_aid_client::pb::google::r#type::{Date, Money};
    use pairing_aid_client::v1::*;
    Project {
        name: format!("projects/{id}"),
        title: format!("Test project {id}"),
        description: "count=0".into(),
        party: "parties/shanghai".into(),
        recipients: vec![RecipientArea {
            area: "areas/yarkant".into(),
            share_percent: "100".into(),
        }],
        field: SupportField::Education.into(),
        livelihood: true,
        status: ProjectStatus::InProgress.into(),
        planned_start_date: Some(Date {
            year: 2023,
            month: 3,
            day: 1,
        }),
        funding_lines: vec![FundingLine {
            r#type: FundingType::Commitment.into(),
            year: 2023,
            date: Some(Date {
                year: 2023,
                month: 6,
                day: 30,
            }),
            amount: Some(Money {
                currency_code: "CNY".into(),
                units: 12_500_000,
                nanos: 0,
            }),
            value_date: None,
        }],
        data_status: DataStatus::Estimated.into(),
        provenance: Some(Provenance {
            source_title: "Programme office test ledger".into(),
            publisher: "pairing-aid tests".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A request to create `project(id)` under `request_id` (empty: none).
pub fn create_request(id: &str, request_id: &str) -> pairing_aid_client::v1::CreateProjectRequest {
    pairing_aid_client::v1::CreateProjectRequest {
        project: Some(project(id)),
        project_id: id.into(),
        request_id: request_id.into(),
        reason: String::new(),
    }
}

/// The project `name` as the server holds it now (no minimum revision), or the server's error.
pub async fn get_project(
    client: &Client,
    name: &str,
) -> Result<pairing_aid_client::v1::Project, Status> {
    let request = pairing_aid_client::v1::GetProjectRequest {
        name: name.into(),
        ..Default::default()
    };
    let response = client.projects().get_project(request).await?;
    Ok(response
        .into_inner()
        .project
        .expect("a found project is returned"))
}

/// Starts reading `projects/none` at revision `min_revision`, which will not come, with the
/// deadline `timeout`: a call the server holds open until the deadline. It has no token, so
/// `timeout` must be under the anonymous budget (1 s by default).
pub async fn spawn_waiting_read(
    server: &TestServer,
    min_revision: i64,
    timeout: Duration,
) -> tokio::task::JoinHandle<
    Result<pairing_aid_client::tonic::Response<pairing_aid_client::v1::GetProjectResponse>, Status>,
> {
    let client = server.client(None).await;
    tokio::spawn(async move {
        let mut request =
            pairing_aid_client::tonic::Request::new(pairing_aid_client::v1::GetProjectRequest {
                name: "projects/none".into(),
                min_revision,
                read_at: None,
            });
        request.set_timeout(timeout);
        client.projects().get_project(request).await
    })
}

/// The health `service` reports over `channel`.
pub async fn health_status(channel: Channel, service: &str) -> ServingStatus {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

/// Watches the health of the whole server (the empty service name) over `health`'s connection.
pub async fn watch_health(
    health: &mut HealthClient<Channel>,
) -> pairing_aid_client::tonic::Streaming<HealthCheckResponse> {
    health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Every change after `after`, read through ListChanges in pages of `page_size`.
pub async fn all_changes(
    server: &TestServer,
    after: i64,
    page_size: i32,
) -> Vec<pairing_aid_client::v1::Change> {
    use pairing_aid_client::v1::ListChangesRequest;
    let mut client = server.client(None).await.records();
    let mut changes = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListChangesRequest {
            after_revision: after,
            page_size,
            page_token,
            ..Default::default()
        };
        let page = client.list_changes(request).await.unwrap().into_inner();
        changes.extend(page.changes);
        if page.next_page_token.is_empty() {
            return changes;
        }
        page_token = page.next_page_token;
    }
}

/// Every project matching `filter`, through the client crate's listing stream.
pub async fn all_projects(
    server: &TestServer,
    filter: &str,
) -> Vec<pairing_aid_client::v1::Project> {
    use futures_util::TryStreamExt;
    let client = server.client(None).await;
    let request = pairing_aid_client::v1::ListProjectsRequest {
        filter: filter.into(),
        page_size: 1000,
        ..Default::default()
    };
    client
        .list_projects(request)
        .items()
        .try_collect()
        .await
        .unwrap()
}

/// The server binary started with `args` and `env`, its log (stderr) piped.
fn spawn_server<A: AsRef<std::ffi::OsStr>>(args: &[A], env: &[(&str, &str)]) -> Child {
    Command::new(server_binary())
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the pairing-aid binary starts")
}

/// Runs the binary with `args` and `env`, expecting it to refuse to start: its log, after it
/// exited unsuccessfully within 30 s.
pub fn start_refused(args: &[&str], env: &[(&str, &str)]) -> String {
    // A start that gets as far as the store must not leave a database in the working tree.
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("refused.db");
    let mut args: Vec<&str> = args.to_vec();
    if !args.contains(&"--database") {
        args.extend(["--database", database.to_str().expect("a UTF-8 path")]);
    }
    let args = &args[..];
    let mut child = spawn_server(args, env);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with {args:?} instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(!status.success(), "exit status {status}; log: {log}");
    log
}

/// The time revision `revision` was committed, from the change log.
pub async fn commit_time(
    client: &Client,
    revision: i64,
) -> pairing_aid_client::prost_types::Timestamp {
    let page = client
        .records()
        .list_changes(pairing_aid_client::v1::ListChangesRequest {
            after_revision: revision - 1,
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let change = &page.changes[0];
    assert_eq!(change.revision, revision);
    change.commit_time.unwrap()
}

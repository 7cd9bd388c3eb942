//! Client-side balancing that follows DNS, against a real DNS server (dnsmasq, started here
//! on a loopback port) serving one name for replicas on 127.0.0.2, .3 and .4: calls reach
//! all three, a fourth added to the zone gets calls within the re-resolution interval, and a
//! killed replica's share moves to the others without a failed read.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestServer;
use pairing_aid_client::{Client, Error, v1};

const NAME: &str = "pairing-aid.test";
const RESOLVE_INTERVAL: Duration = Duration::from_secs(1);

/// A dnsmasq answering for `NAME` from a hosts file it rereads on SIGHUP.
struct Dnsmasq {
    child: Child,
    hosts: PathBuf,
    port: u16,
    /// The lines of its log, as it writes them.
    log: mpsc::Receiver<String>,
}

impl Dnsmasq {
    fn start(dir: &tempfile::TempDir, addresses: &[&str]) -> Dnsmasq {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hosts = dir.path().join("hosts");
        write_zone(&hosts, addresses);
        let mut child = spawn_dnsmasq(&hosts, port, dir);
        let (lines, log) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let dns = Dnsmasq {
            child,
            hosts,
            port,
            log,
        };
        dns.wait_for_zone(addresses.len());
        dns
    }

    /// Makes `NAME` resolve to `addresses` from now on: once dnsmasq has reread its zone.
    fn serve(&self, addresses: &[&str]) {
        write_zone(&self.hosts, addresses);
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait_for_zone(addresses.len());
    }

    /// Waits for the log line saying the hosts file was read with `names` names.
    fn wait_for_zone(&self, names: usize) {
        let read = format!("read {} - {names} names", self.hosts.display());
        loop {
            let line = self
                .log
                .recv_timeout(Duration::from_secs(10))
                .expect("dnsmasq reads its zone");
            if line.contains(&read) {
                return;
            }
        }
    }
}

fn write_zone(hosts: &std::path::Path, addresses: &[&str]) {
    let lines: String = addresses.iter().map(|a| format!("{a} {NAME}\n")).collect();
    std::fs::write(hosts, lines).unwrap();
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_dnsmasq(hosts: &std::path::Path, port: u16, dir: &tempfile::TempDir) -> Child {
    let id = |flag: &str| {
        let output = Command::new("id").arg(flag).output().unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    Command::new("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--local-ttl=0",
            "--log-facility=-",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--addn-hosts={}", hosts.display()))
        .arg(format!(
            "--pid-file={}",
            dir.path().join("dnsmasq.pid").display()
        ))
        // Stay this user, so the hosts file in this test's private directory stays readable.
        .arg(format!("--user={}", id("-un")))
        .arg(format!("--group={}", id("-gn")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dnsmasq runs (Debian package dnsmasq-base; .ci/run installs it)")
}

/// A replica on its own database (the demo data), listening on `address`.
fn replica(dir: &tempfile::TempDir, address: &str) -> TestServer {
    let database = dir.path().join(format!("{address}.db"));
    TestServer::start_with(database, address, &[], &[])
}

/// GetProject calls a replica answered.
fn answered(replica: &TestServer) -> f64 {
    replica.metric(
        r#"grpc_server_handled_total{grpc_code="OK",grpc_method="GetProject",grpc_service="pairing.v1.ProjectService",grpc_type="unary"}"#,
    )
}

/// `calls` reads, one at a time, each retried by the client's policy: any that still fails
/// fails the test.
async fn read(client: &Client, calls: usize) {
    for i in 0..calls {
        let name = format!("projects/shanghai-kashgar-{}-01", 2013 + i % 10);
        client
            .retrying(|| {
                let mut projects = client.projects();
                let request = v1::GetProjectRequest {
                    name: name.clone(),
                    ..Default::default()
                };
                async move { projects.get_project(request).await.map_err(Error::from) }
            })
            .await
            .unwrap_or_else(|e| panic!("read {i} failed: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_follow_the_name_as_replicas_join_and_die() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let at = |host: &str| format!("{host}:{port}");
    let mut replicas: Vec<TestServer> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .iter()
        .map(|host| replica(&dir, &at(host)))
        .collect();
    let dns = Dnsmasq::start(&dir, &["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let target = format!("dns://127.0.0.1:{}/{NAME}:{port}", dns.port);
    let client = Client::builder()
        .endpoint(target.clone())
        .resolve_interval(RESOLVE_INTERVAL)
        .connect()
        .await
        .expect("the name resolves");

    read(&client, 90).await;
    let shares: Vec<f64> = replicas.iter().map(answered).collect();
    assert!(
        shares.iter().all(|&n| n >= 5.0),
        "calls reach all three: {shares:?}"
    );

    let fourth = replica(&dir, &at("127.0.0.5"));
    dns.serve(&["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
    let added = Instant::now();
    while answered(&fourth) == 0.0 {
        assert!(
            added.elapsed() < RESOLVE_INTERVAL * 3,
            "the fourth replica got no call within {:?}",
            added.elapsed()
        );
        read(&client, 10).await;
    }
    println!(
        "the fourth replica answered {:?} after it joined the zone",
        added.elapsed()
    );
    replicas.push(fourth);

    // 127.0.0.3 dies; the zone still names it, as DNS does until the endpoints update.
    replicas[1].kill_hard();
    let survivors = [0, 2, 3];
    let before: f64 = survivors.iter().map(|&i| answered(&replicas[i])).sum();
    read(&client, 200).await;
    let after: Vec<f64> = survivors.iter().map(|&i| answered(&replicas[i])).collect();
    assert_eq!(
        after.iter().sum::<f64>() - before,
        200.0,
        "every read after the kill was answered by a live replica"
    );

    // pairctl (built beside the server by the workspace's `cargo test`) takes the same target.
    let pairctl = Command::new(common::pairctl_binary())
        .args([
            "--server",
            &target,
            "projects",
            "get",
            "projects/shanghai-kashgar-2013-01",
        ])
        .output()
        .unwrap();
    assert!(
        pairctl.status.success(),
        "{}",
        String::from_utf8_lossy(&pairctl.stderr)
    );

    // A name the zone does not hold fails at connect, naming it.
    let unknown = Client::builder()
        .endpoint(format!("dns://127.0.0.1:{}/nowhere.test:{port}", dns.port))
        .connect()
        .await
        .err()
        .expect("an unknown name is refused")
        .to_string();
    assert!(unknown.contains("cannot resolve nowhere.test"), "{unknown}");
}

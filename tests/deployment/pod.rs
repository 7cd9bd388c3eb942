//! A container of a rendered workload run the way a node runs it, without a container engine:
//! the server binary at the image's entrypoint path under bubblewrap, as the spec's user and
//! group, on a read-only root with its volumes as the only writable directories, its
//! environment from the rendered Secrets, its arguments, and the pod's own address. The
//! kubelet's part is played here too: the gRPC probes with their service names, periods,
//! timeouts and thresholds, and the `preStop` sleep then SIGTERM within the grace period.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pairing_aid_client::Client;
use serde_norway::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::manifests::{find, image_entrypoint, pod_spec, secret_value, strings};
use crate::common::secret_volume::SecretVolume;

/// A gRPC probe as the spec configures it.
#[derive(Clone, Debug)]
pub struct Probe {
    pub port: u16,
    pub service: String,
    pub period: Duration,
    pub timeout: Duration,
    pub failure_threshold: u32,
}

impl Probe {
    fn read(spec: &Value) -> Probe {
        let grpc = &spec["grpc"];
        assert!(grpc.is_mapping(), "a gRPC probe: {spec:?}");
        let seconds = |field: &str, default: u64| {
            Duration::from_secs(spec[field].as_u64().unwrap_or(default))
        };
        Probe {
            port: grpc["port"].as_u64().unwrap() as u16,
            service: grpc["service"].as_str().unwrap_or_default().to_owned(),
            // The kubelet's defaults.
            period: seconds("periodSeconds", 10),
            timeout: seconds("timeoutSeconds", 1),
            failure_threshold: spec["failureThreshold"].as_u64().unwrap_or(3) as u32,
        }
    }
}

/// A volume of the pod: a directory of the test's, and whether the container may write it.
#[derive(Clone, Debug)]
enum Volume {
    /// emptyDir or a claim: a directory of the pod's.
    Directory,
    /// A Secret's keys (or the listed ones), laid out as the kubelet does.
    Secret(Vec<(String, String)>),
}

/// What the node needs to run the first container of a workload.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    pub entrypoint: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub user: u32,
    pub group: u32,
    /// Mount path, volume name, read-only.
    mounts: Vec<(String, String, bool)>,
    volumes: Vec<(String, Volume)>,
    pub grpc_port: u16,
    pub metrics_port: u16,
    pub startup: Probe,
    pub readiness: Probe,
    pub liveness: Probe,
    pub pre_stop: Duration,
    pub grace: Duration,
}

impl ContainerSpec {
    /// The first container of the `kind` workload in `documents`.
    pub fn read(documents: &[Value], kind: &str) -> ContainerSpec {
        let workload = find(documents, kind);
        let pod = pod_spec(workload);
        let container = &pod["containers"][0];
        let secret = |name: &str| {
            documents
                .iter()
                .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("the Secret {name}"))
        };
        let cpu_limit = container["resources"]["limits"]["cpu"]
            .as_str()
            .expect("a CPU limit");
        let env = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| {
                let name = e["name"].as_str().unwrap().to_owned();
                let from = &e["valueFrom"];
                let value = if let Some(value) = e["value"].as_str() {
                    value.to_owned()
                } else if from["secretKeyRef"].is_mapping() {
                    let key = &from["secretKeyRef"];
                    secret_value(
                        secret(key["name"].as_str().unwrap()),
                        key["key"].as_str().unwrap(),
                    )
                } else if from["resourceFieldRef"]["resource"] == "limits.cpu" {
                    // Whole CPUs, rounded up, as the kubelet resolves a divisor of 1.
                    match cpu_limit.strip_suffix('m') {
                        Some(milli) => milli.parse::<u64>().unwrap().div_ceil(1000).to_string(),
                        None => cpu_limit.to_owned(),
                    }
                } else {
                    panic!("an environment source this runner does not know: {e:?}")
                };
                (name, value)
            })
            .collect();
        let mut volumes: Vec<(String, Volume)> = pod["volumes"]
            .as_sequence()
            .map(|v| v.to_vec())
            .unwrap_or_default()
            .iter()
            .map(|v| {
                let name = v["name"].as_str().unwrap().to_owned();
                let volume = if v["secret"].is_mapping() {
                    let rendered = secret(v["secret"]["secretName"].as_str().unwrap());
                    let files = match v["secret"]["items"].as_sequence() {
                        Some(items) => items
                            .iter()
                            .map(|item| {
                                let key = item["key"].as_str().unwrap();
                                let path = item["path"].as_str().unwrap().to_owned();
                                (path, secret_value(rendered, key))
                            })
                            .collect(),
                        None => rendered["data"]
                            .as_mapping()
                            .unwrap()
                            .keys()
                            .map(|key| {
                                let key = key.as_str().unwrap();
                                (key.to_owned(), secret_value(rendered, key))
                            })
                            .collect(),
                    };
                    Volume::Secret(files)
                } else if v["emptyDir"].is_mapping() || v["persistentVolumeClaim"].is_mapping() {
                    Volume::Directory
                } else {
                    panic!("a volume kind this runner does not know: {v:?}")
                };
                (name, volume)
            })
            .collect();
        for claim in workload["spec"]["volumeClaimTemplates"]
            .as_sequence()
            .map(|v| v.to_vec())
            .unwrap_or_default()
        {
            let name = claim["metadata"]["name"].as_str().unwrap().to_owned();
            volumes.push((name, Volume::Directory));
        }
        let mounts = container["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap().to_owned(),
                    m["name"].as_str().unwrap().to_owned(),
                    m["readOnly"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        let port = |name: &str| {
            container["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .and_then(|p| p["containerPort"].as_u64())
                .unwrap_or_else(|| panic!("a port named {name}")) as u16
        };
        let security = &pod["securityContext"];
        let id = |field: &str| {
            container["securityContext"][field]
                .as_u64()
                .or_else(|| security[field].as_u64())
                .unwrap_or_else(|| panic!("{field} set: the image's user is not assumed"))
                as u32
        };
        ContainerSpec {
            entrypoint: image_entrypoint(),
            args: strings(&container["args"]),
            env,
            user: id("runAsUser"),
            group: id("runAsGroup"),
            mounts,
            volumes,
            grpc_port: port("grpc"),
            metrics_port: port("metrics"),
            startup: Probe::read(&container["startupProbe"]),
            readiness: Probe::read(&container["readinessProbe"]),
            liveness: Probe::read(&container["livenessProbe"]),
            pre_stop: Duration::from_secs(
                container["lifecycle"]["preStop"]["sleep"]["seconds"]
                    .as_u64()
                    .expect("a preStop sleep"),
            ),
            grace: Duration::from_secs(pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30)),
        }
    }

    /// Replaces an environment variable's value (a database URL for this machine, say).
    pub fn set_env(&mut self, name: &str, value: &str) {
        let entry = self
            .env
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} in the spec's environment"));
        entry.1 = value.to_owned();
    }
}

/// A running pod.
pub struct Pod {
    pub ip: String,
    pub spec: ContainerSpec,
    child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    /// The Secret volumes, to change them as the kubelet would.
    pub secrets: Vec<(String, SecretVolume)>,
    dir: tempfile::TempDir,
}

/// What of /etc a distroless image holds.
const IMAGE_ETC: &[&str] = &[
    "ld.so.cache",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "resolv.conf",
    "ssl",
    "ca-certificates",
];

/// The bubblewrap command that runs `spec` with its volumes under `dir`, listening on `ip`.
fn sandbox(spec: &ContainerSpec, dir: &Path, ip: &str, binary: &Path) -> Command {
    let mut command = Command::new("bwrap");
    command
        .args([
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
        ])
        .args([
            "--uid",
            &spec.user.to_string(),
            "--gid",
            &spec.group.to_string(),
        ])
        .args([
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "pairing-aid-0",
        ])
        // The image's root: the system's libraries, and of /etc what a distroless image has
        // (users, name resolution, CA certificates), read-only; mount points such as
        // /etc/pairing-aid are made in the sandbox's own root.
        .args(["--ro-bind", "/usr", "/usr", "--dir", "/etc"])
        .args(["--proc", "/proc", "--dev", "/dev"]);
    for file in IMAGE_ETC {
        let path = Path::new("/etc").join(file);
        if path.exists() {
            command.arg("--ro-bind").arg(&path).arg(&path);
        }
    }
    for link in ["/bin", "/lib", "/lib64", "/sbin"] {
        match std::fs::read_link(link) {
            Ok(target) => command.args(["--symlink", target.to_str().unwrap(), link]),
            Err(_) => command.args(["--ro-bind", link, link]),
        };
    }
    let entrypoint_dir = Path::new(&spec.entrypoint).parent().unwrap();
    command
        .arg("--tmpfs")
        .arg(entrypoint_dir)
        .arg("--ro-bind")
        .arg(binary)
        .arg(&spec.entrypoint)
        .arg("--remount-ro")
        .arg(entrypoint_dir);
    for (path, volume, read_only) in &spec.mounts {
        let source = dir.join("volumes").join(volume);
        command
            .arg(if *read_only { "--ro-bind" } else { "--bind" })
            .arg(source)
            .arg(path);
    }
    command.args(["--remount-ro", "/", "--chdir", "/", "--clearenv"]);
    for (name, value) in &spec.env {
        command.args(["--setenv", name, value]);
    }
    command.arg(&spec.entrypoint);
    // The pod's network namespace has one address: listening on every address is listening
    // on that one.
    command.args(
        spec.args
            .iter()
            .map(|a| a.replace("0.0.0.0:", &format!("{ip}:"))),
    );
    command
}

impl Pod {
    /// Starts `spec` as a pod on `ip` with `binary` as the image's entrypoint.
    pub fn start(spec: &ContainerSpec, ip: &str, binary: &Path) -> Pod {
        let dir = tempfile::tempdir().unwrap();
        let mut secrets = Vec::new();
        for (name, volume) in &spec.volumes {
            let path = dir.path().join("volumes").join(name);
            match volume {
                Volume::Directory => std::fs::create_dir_all(&path).unwrap(),
                Volume::Secret(files) => {
                    let files: Vec<(&str, &str)> = files
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    secrets.push((name.clone(), SecretVolume::new(&path, &files)));
                }
            }
        }
        let mut child = sandbox(spec, dir.path(), ip, binary)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bwrap runs (Debian package bubblewrap)");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let collected = logs.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        Pod {
            ip: ip.to_owned(),
            spec: spec.clone(),
            child,
            logs,
            secrets,
            dir,
        }
    }

    /// Runs `command` in this pod's sandbox instead of the server: what it may write.
    pub fn sandbox_output(spec: &ContainerSpec, script: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (name, _) in &spec.volumes {
            std::fs::create_dir_all(dir.path().join("volumes").join(name)).unwrap();
        }
        let mut spec = spec.clone();
        spec.entrypoint = "/usr/local/bin/sh".into();
        spec.args = vec!["-c".into(), script.into()];
        let output = sandbox(&spec, dir.path(), "127.0.0.1", Path::new("/bin/sh"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr)
    }

    /// The gRPC endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}:{}", self.ip, self.spec.grpc_port)
    }

    /// The metrics endpoint, host and port.
    pub fn metrics_address(&self) -> String {
        format!("{}:{}", self.ip, self.spec.metrics_port)
    }

    /// A client of this pod, with `token` if given.
    pub async fn client(&self, token: Option<&str>) -> Client {
        let mut builder = Client::builder()
            .endpoint(self.endpoint())
            .deadline(Some(Duration::from_secs(5)));
        if let Some(token) = token {
            builder = builder.token(token);
        }
        builder
            .connect()
            .await
            .expect("the pod accepts connections")
    }

    /// One probe, as the kubelet makes it: success only for SERVING within the timeout.
    pub async fn probe(&self, probe: &Probe) -> bool {
        let address = format!("http://{}:{}", self.ip, probe.port);
        let check = async {
            let channel = pairing_aid_client::tonic::transport::Endpoint::from_shared(address)
                .ok()?
                .connect()
                .await
                .ok()?;
            let response = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: probe.service.clone(),
                })
                .await
                .ok()?;
            Some(response.into_inner().status() == ServingStatus::Serving)
        };
        matches!(
            tokio::time::timeout(probe.timeout, check).await,
            Ok(Some(true))
        )
    }

    /// Runs the start-up probe as the kubelet does until it succeeds; panics where the kubelet
    /// would restart the container. The time it took.
    pub async fn wait_started(&self) -> Duration {
        let started = Instant::now();
        let probe = &self.spec.startup;
        let mut failures = 0;
        loop {
            if self.probe(probe).await {
                return started.elapsed();
            }
            failures += 1;
            assert!(
                failures < probe.failure_threshold,
                "the start-up probe failed {failures} times: the kubelet restarts the \
                 container; log: {:?}",
                self.logs.lock().unwrap()
            );
            tokio::time::sleep(probe.period).await;
        }
    }

    /// The server's process id on this machine: the sandbox's child named after the binary.
    fn server_pid(&self) -> u32 {
        let mut pending = vec![self.child.id()];
        while let Some(pid) = pending.pop() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "pairing-aid" {
                return pid;
            }
            for task in std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
            {
                let children = std::fs::read_to_string(task.unwrap().path().join("children"))
                    .unwrap_or_default();
                pending.extend(
                    children
                        .split_whitespace()
                        .map(|c| c.parse::<u32>().unwrap()),
                );
            }
        }
        panic!("no server process under the sandbox");
    }

    /// Stops the pod as the kubelet does: the preStop sleep, SIGTERM, and SIGKILL when the
    /// grace period ends. The exit status and how long the stop took; `None` if it had to be
    /// killed.
    pub async fn stop(mut self) -> (Option<ExitStatus>, Duration) {
        let started = Instant::now();
        tokio::time::sleep(self.spec.pre_stop).await;
        let status = Command::new("kill")
            .args(["-TERM", &self.server_pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        while started.elapsed() < self.spec.grace {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (Some(status), started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        (None, started.elapsed())
    }

    /// Where a volume's directory lives on this machine.
    pub fn volume_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("volumes").join(name)
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

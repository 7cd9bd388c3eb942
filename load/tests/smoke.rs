//! The load tool end to end, briefly: a comparison and a soak against the real server binary
//! built in the same workspace. The full-length runs and their figures are in
//! docs/RELIABILITY.md.

use std::path::PathBuf;
use std::process::Command;

fn server_binary() -> PathBuf {
    let load = PathBuf::from(env!("CARGO_BIN_EXE_pairing-load"));
    let server = load.with_file_name("pairing-aid");
    assert!(
        server.exists(),
        "{} is missing: run the workspace's tests (cargo test) so it is built",
        server.display()
    );
    server
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pairing-load"))
        .args(args)
        .arg("--server-binary")
        .arg(server_binary())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

#[test]
fn compare_measures_get_project_against_echo() {
    let (code, text) = run(&[
        "compare",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--rounds",
        "1",
        "--concurrency",
        "4",
    ]);
    assert_eq!(code, Some(0), "{text}");
    for line in ["round 1 echo 32 B", "round 1 get", "GetProject reaches"] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(!text.contains("errors=1"), "{text}");
    // Every round says what the server and the load tool each spent per call.
    let get_round = text.lines().find(|l| l.starts_with("round 1 get")).unwrap();
    let server_us: f64 = get_round
        .split("cpu/call server=")
        .nth(1)
        .and_then(|rest| rest.split("us").next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no server CPU per call in {get_round:?}"));
    assert!(server_us > 0.0, "{get_round}");
}

#[test]
fn soak_reports_errors_memory_page_faults_and_p99() {
    let (code, text) = run(&[
        "soak",
        "--measure",
        "1s",
        "--warmup",
        "1s",
        "--duration",
        "3s",
        "--report-every",
        "1s",
        "--concurrency",
        "4",
    ]);
    assert!(matches!(code, Some(0 | 1)), "the soak ran: {text}");
    assert!(text.contains("verdict: errors 0 (want 0)"), "{text}");
    // Unasked, steadiness is shown, not judged.
    assert!(text.contains("interval p90 median"), "{text}");
    assert!(!text.contains("want worst"), "{text}");
    assert_eq!(text.matches("interval:").count(), 3, "{text}");
    assert_eq!(text.matches("stolen=").count(), 3, "{text}");
    // The server's page faults, counted from /proc: a number on every line, never `?`.
    assert_eq!(text.matches("majflt=").count(), 3, "{text}");
    assert!(!text.contains("majflt=?"), "{text}");
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// At a fixed rate, a call not answered within its deadline counts as failed.
#[test]
fn a_fixed_rate_run_counts_calls_past_their_deadline_as_failed() {
    let mut echo = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_pairing-load"))
            .args(["echo-server", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut announced = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(echo.0.stdout.take().unwrap()),
        &mut announced,
    )
    .unwrap();
    let endpoint = format!(
        "http://{}",
        announced.trim().trim_start_matches("listening on ")
    );
    let run_with_deadline = |deadline: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_pairing-load"))
            .args(["run", "--endpoint", &endpoint, "--workload", "echo"])
            .args(["--rate", "200", "--duration", "1s", "--warmup", "0s"])
            .args(["--deadline", deadline])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, text) = run_with_deadline("1s");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(" errors=0 "), "{text}");
    let (code, text) = run_with_deadline("1ns");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("DeadlineExceeded"), "{text}");
}

//! The same calls from outside the project: a Python grpcio client, and peers in process.

/// The report of `calls.py` (`benches/outside/calls.py`, needs Python's `grpcio`) asking each
/// of `questions` `calls` times, one at a time, of the server at `address`: how the same calls
/// cost from outside, a line a question.
pub fn from_python(address: &str, calls: usize, questions: &[String]) -> String {
    let mut args = vec![
        "benches/outside/calls.py".to_owned(),
        address.to_owned(),
        calls.to_string(),
    ];
    args.extend_from_slice(questions);
    python(&args)
}

/// What `python3 ARGS...` prints; the bench fails with its error output if it fails.
pub fn python(args: &[String]) -> String {
    let output = std::process::Command::new("python3")
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

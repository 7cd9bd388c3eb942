//! The same calls from outside the project: a Python grpcio client.

/// The report of `calls.py` (`benches/outside/calls.py`, needs Python's `grpcio`) asking each
/// of `questions` `calls` times, one at a time, of the server at `address`: how the same calls
/// cost from outside, a line a question.
pub fn from_python(address: &str, calls: usize, questions: &[String]) -> String {
    let outside = std::process::Command::new("python3")
        .args(["benches/outside/calls.py", address, &calls.to_string()])
        .args(questions)
        .output()
        .expect("python3 runs");
    assert!(
        outside.status.success(),
        "{}",
        String::from_utf8_lossy(&outside.stderr)
    );
    String::from_utf8_lossy(&outside.stdout).into_owned()
}

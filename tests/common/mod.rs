//! Helpers every test module shares: one way to run the binary.
#![allow(dead_code)]
use assert_cmd::Command;
use serde_json::Value;
use std::time::Duration;

/// No run may take longer than this: a hang fails instead of blocking CI.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The binary, run from the repository root, with the colour and CI
/// variables of the developer's shell removed so results do not depend on it.
pub fn rwdoctor() -> Command {
    let mut cmd = Command::cargo_bin("rwdoctor").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CI")
        .env_remove("COLUMNS")
        .timeout(TIMEOUT);
    cmd
}

/// Runs the binary with `--format json`: (the document, exit code).
pub fn json_of(args: &[&str]) -> (Value, i32) {
    let output = rwdoctor()
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .expect("binary runs");
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (doc, output.status.code().expect("exit code"))
}

/// Runs the binary: (stdout, stderr, exit code).
pub fn run(args: &[&str]) -> (String, String, i32) {
    let out = rwdoctor().args(args).output().expect("binary runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().expect("exit code"),
    )
}

/// The evidence line numbers of a JSON finding.
pub fn evidence_lines(finding: &Value) -> Vec<u64> {
    finding["evidence"]
        .as_array()
        .expect("evidence list")
        .iter()
        .map(|e| e["line"].as_u64().expect("line number"))
        .collect()
}

/// Whether a real component a test needs (a server, a browser) is here.
/// Missing on a developer's machine, the test skips and says so; under
/// `CI=true` it fails, since `.ci/run` installs `package`.
pub fn present_or_skip(present: bool, test: &str, what: &str, package: &str) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "{test}: CI=true and no {what} (.ci/run installs Debian's `{package}`)"
        );
        eprintln!("{test}: skipped: no {what} (apt-get install {package})");
    }
    present
}

/// Runs a capture script (`testdata/<server>/capture.sh`) into a fresh
/// directory, which it returns.
pub fn capture(script: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(out.path())
        .status()
        .expect("bash runs");
    assert!(status.success(), "{} failed: {status}", script.display());
    out
}

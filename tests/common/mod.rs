//! Helpers the CLI test files share. (Each test file is its own crate and
//! uses some of them.)
#![allow(dead_code)]
use assert_cmd::Command;
use serde_json::Value;

/// The binary, run from the repository root, with the colour and CI
/// variables of the developer's shell removed so results do not depend on it.
pub fn rwdoctor() -> Command {
    let mut cmd = Command::cargo_bin("rwdoctor").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CI");
    cmd
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

//! Runs the real binary on `testdata/` and checks findings, evidence line
//! numbers, exit codes and the JSON shape.
use crate::common::{self, json_of, rwdoctor};
use serde_json::Value;
use std::path::Path;

/// (rule id, incident count, evidence line numbers) of every finding.
/// The human report with line wrapping undone, for phrase checks.
fn unwrapped(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

type FindingKey = (String, u64, Vec<u64>);

fn findings(doc: &Value) -> Vec<FindingKey> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                common::evidence_lines(f),
            )
        })
        .collect()
}

fn f(rule: &str, count: u64, lines: &[u64]) -> FindingKey {
    (rule.to_string(), count, lines.to_vec())
}

#[test]
fn every_sample_gives_the_expected_findings_and_exit_code() {
    let cases: Vec<(&str, i32, Vec<FindingKey>)> = vec![
        (
            "sample-incident.log",
            1,
            vec![
                f("meta-leader-lease-lost", 1, &[60, 62, 63, 64]),
                f("etcd-slow-disk", 1, &[55, 56, 58, 59]),
            ],
        ),
        (
            "lease-lost-v0.1.17.log",
            1,
            vec![f("meta-leader-lease-lost", 1, &[35, 36])],
        ),
        (
            "lease-lost-v1.2.log",
            1,
            vec![f("meta-leader-lease-lost", 1, &[41, 43, 44, 45])],
        ),
        (
            "lease-lost-v2.0.log",
            1,
            vec![f("meta-leader-lease-lost", 1, &[52, 53, 54])],
        ),
        (
            "lease-lost-standalone.log",
            1,
            vec![
                f("meta-leader-lease-lost", 1, &[45, 47, 48, 49]),
                f("etcd-slow-disk", 1, &[43, 44]),
            ],
        ),
        (
            "election-retry-follower.log",
            0,
            vec![f("meta-election-retry", 1, &[25, 26])],
        ),
        (
            "election-retry-v1.5.log",
            0,
            vec![f("meta-election-retry", 1, &[18, 19])],
        ),
        (
            "keepalive-errors-leader.log",
            0,
            vec![f(
                "meta-etcd-keepalive-errors",
                1,
                &[32, 35, 38, 39, 42, 45],
            )],
        ),
        (
            "sql-election-lost.log",
            1,
            vec![f("meta-sql-election-lost", 1, &[46])],
        ),
        (
            "sql-leader-changed.log",
            1,
            vec![f("meta-sql-election-lost", 1, &[45])],
        ),
        (
            "etcd-request-too-large.log",
            1,
            vec![f("etcd-request-too-large", 1, &[36, 41, 49, 53])],
        ),
        (
            "etcd-too-many-txn-ops.log",
            1,
            vec![f("etcd-too-many-txn-ops", 1, &[35, 42])],
        ),
        (
            "etcd-db-space-exceeded.log",
            1,
            vec![f("etcd-db-space-exceeded", 1, &[34, 35, 40])],
        ),
        (
            "etcd-slow-disk-v3.4.log",
            0,
            vec![f(
                "etcd-slow-disk",
                1,
                &[33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46],
            )],
        ),
        (
            "grep-excerpt.txt",
            1,
            vec![f("meta-leader-lease-lost", 1, &[1, 2, 3, 4])],
        ),
        (
            "crlf-no-final-newline.log",
            1,
            vec![
                f("meta-leader-lease-lost", 1, &[10, 12, 13, 14]),
                f("etcd-slow-disk", 1, &[8, 9]),
            ],
        ),
        // SQL meta store (v2.1+): an outage, a lost in-memory store, a
        // pg_hba.conf rejection; meta start-up failures; SQL election exits.
        (
            "meta-store-pg-down.log",
            1,
            vec![
                f(
                    "meta-store-unreachable",
                    1,
                    &[23, 26, 27, 28, 29, 30, 31, 32, 33, 34],
                ),
                // Its three failed recoveries are a loop, rooted in the store.
                f("recovery-loop", 1, &[28, 31, 34]),
            ],
        ),
        (
            "meta-store-in-memory-v2.1.log",
            1,
            vec![f("meta-store-unreachable", 1, &[9, 10, 12, 13])],
        ),
        (
            "meta-store-pg-hba-v2.6.log",
            1,
            vec![f("meta-store-unreachable", 1, &[2, 3, 4, 5, 6, 7, 8])],
        ),
        (
            "meta-startup-migration-v2.1.log",
            1,
            // The panic and its message lines are one event (line 11); it is
            // a start-up failure and a panic both.
            vec![
                f("meta-startup-failed", 1, &[11]),
                f("node-panicked", 1, &[11]),
            ],
        ),
        (
            "meta-startup-object-store-v3.0.log",
            1,
            vec![
                f("meta-startup-failed", 1, &[17]),
                f("node-panicked", 1, &[17]),
            ],
        ),
        (
            "sql-election-timeout-follower-v2.6.log",
            1,
            vec![f("meta-sql-election-lost", 1, &[11])],
        ),
        (
            "sql-election-timeout-leader-v3.0.log",
            1,
            vec![f("meta-sql-election-lost", 1, &[17])],
        ),
        // Look-alikes: workers waiting for a starting meta, routine start-up
        // warnings, a follower that retries once and takes over, heartbeat
        // warnings while meta restarts.
        ("standalone-meta-starting.log", 0, vec![]),
        ("sql-follower-takeover.log", 0, vec![]),
        ("compute-during-meta-restart.log", 0, vec![]),
        // Panics (a v2.5 header, a v2.8 header with a thread id and a
        // backtrace) and nodes that started again without a word.
        (
            "compute-panic-v2.5.log",
            1,
            vec![f("node-panicked", 1, &[27])],
        ),
        ("meta-panic-v2.8.log", 1, vec![f("node-panicked", 1, &[28])]),
        (
            "meta-restarted-twice.log",
            1,
            vec![f("node-restarted-without-stop", 2, &[1, 21, 22, 40, 41])],
        ),
        (
            "compute-oom-killed.log",
            0,
            vec![f("node-restarted-without-stop", 1, &[1, 27, 28])],
        ),
        // Their look-alikes: a graceful restart, a rolling update of two
        // meta pods in one merged log, a first start.
        ("compute-graceful-restart-v2.5.log", 0, vec![]),
        ("meta-rolling-update-v2.8.log", 0, vec![]),
        ("compute-first-start-v2.8.log", 0, vec![]),
        // Non-failures: graceful stop, the re-grant restart path, the config dump.
        ("graceful-stop.log", 0, vec![]),
        ("lease-regrant.log", 0, vec![]),
        ("healthy-startup.log", 0, vec![]),
    ];
    for (file, exit, expected) in cases {
        let (doc, code) = json_of(&[&format!("testdata/{file}")]);
        assert_eq!(findings(&doc), expected, "{file}");
        assert_eq!(code, exit, "{file}: exit code");
    }
}

/// The crash samples: severity, top cause, and the start of the first
/// remedy.
#[test]
fn crash_samples_name_their_cause_and_first_remedy() {
    let cases = [
        (
            "compute-panic-v2.5.log",
            "error",
            "bug",
            "Report it upstream with: the panic's message",
        ),
        (
            "meta-panic-v2.8.log",
            "error",
            "known-bug",
            "Upgrade to the newest patch release",
        ),
        (
            "meta-restarted-twice.log",
            "error",
            "oom-kill",
            "Find out what ended the previous process",
        ),
        (
            "compute-oom-killed.log",
            "warning",
            "oom-kill",
            "Find out what ended the previous process",
        ),
    ];
    for (file, severity, cause, remedy) in cases {
        let (doc, _) = json_of(&[&format!("testdata/{file}")]);
        let finding = &doc["findings"][0];
        assert_eq!(finding["severity"], severity, "{file}");
        assert_eq!(finding["causes"][0]["id"], cause, "{file}");
        let first = finding["remedies"][0]["text"].as_str().unwrap();
        assert!(first.starts_with(remedy), "{file}: {first}");
    }
    // The panic's message and location are in the evidence, and the human
    // report shows both.
    let (doc, _) = json_of(&["testdata/meta-panic-v2.8.log"]);
    let message = doc["findings"][0]["evidence"][0]["message"]
        .as_str()
        .unwrap();
    assert_eq!(
        message,
        "thread 'rw-main' (11) panicked at src/meta/src/barrier/info.rs:1293:30:\nshould exist"
    );
    // The default report shows where and why; -v the whole diagnosis.
    let out = rwdoctor()
        .arg("testdata/compute-panic-v2.5.log")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = unwrapped(&out);
    for needle in [
        "src/compute/src/observer/observer_manager.rs:62:21:",
        "error type notification",
        "RUST_BACKTRACE=1",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let out = rwdoctor()
        .args(["-v", "testdata/compute-panic-v2.5.log"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = unwrapped(&out);
    for needle in [
        "src/compute/src/observer/observer_manager.rs:62:21:",
        "error type notification",
        "exit code 134",
        "RUST_BACKTRACE=1",
        "https://github.com/risingwavelabs/risingwave/issues",
        "RisingWave 2.5.2",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn json_has_the_documented_shape() {
    let (doc, code) = json_of(&["testdata/sample-incident.log"]);
    assert_eq!(code, 1);
    let finding = &doc["findings"][0];
    for key in [
        "rule",
        "severity",
        "title",
        "diagnosis",
        "count",
        "first_seen",
        "last_seen",
        "evidence",
        "causes",
        "remedies",
    ] {
        assert!(finding.get(key).is_some(), "finding lacks {key}");
    }
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["first_seen"], "2024-02-11T06:05:06.387Z");
    let evidence = &finding["evidence"][0];
    assert_eq!(evidence["source"], "testdata/sample-incident.log");
    assert_eq!(evidence["line"], 60);
    assert_eq!(evidence["timestamp"], "2024-02-11T06:05:06.387Z");
    assert!(evidence["text"]
        .as_str()
        .unwrap()
        .ends_with("keep alive timeout"));
    let top = &finding["causes"][0];
    assert_eq!(top["id"], "etcd-slow-disk");
    assert!(top["confidence"].as_f64().unwrap() > 0.75);
    assert!(top["evidence"][0]["example"]["line"].as_u64().unwrap() == 55);
    let others: Vec<&str> = finding["causes"].as_array().unwrap()[1..]
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert!(others.iter().all(|v| *v == "not ruled out"), "{others:?}");
    let remedies = finding["remedies"].as_array().unwrap();
    assert!(remedies
        .iter()
        .all(|r| r["text"].is_string() && r["docs"].is_array()));
    assert!(remedies.iter().any(|r| r["config"]["snippet"]
        .as_str()
        .is_some_and(|s| s.contains("meta_leader_lease_secs = 86400"))));
    let summary = &doc["summary"];
    assert_eq!(summary["lines_read"], 64);
    assert_eq!(summary["lines_recognised"], 64);
    assert_eq!(
        summary["inputs"][0]["source"],
        "testdata/sample-incident.log"
    );
    assert_eq!(
        summary["time_range"]["start"],
        "2024-02-11T05:58:02.121164Z"
    );
    assert_eq!(summary["exit_code"], 1);
}

#[test]
fn human_report_explains_the_sample_at_80_columns() {
    let out = rwdoctor()
        .arg("testdata/sample-incident.log")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = unwrapped(&out);
    for needle in [
        "CRITICAL",
        "Meta leader lost its etcd lease and exited",
        "testdata/sample-incident.log:60",
        "keep alive timeout",
        "etcd is slow: its disk cannot keep up (likely",
        "meta_leader_lease_secs = 86400",
        "https://docs.risingwave.com/troubleshoot/meta-failure",
        "exit 1: 1 finding at or above --fail-on error",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains('\u{1b}'),
        "piped output must not be coloured"
    );
    for file in std::fs::read_dir("testdata").unwrap() {
        let path = file.unwrap().path();
        let out = rwdoctor().arg(&path).output().unwrap();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            assert!(
                line.chars().count() <= 80,
                "{}: line over 80 columns: {line}",
                path.display()
            );
        }
    }
}

#[test]
fn color_always_colours_and_no_color_is_honoured() {
    let out = rwdoctor()
        .args(["--color", "always", "testdata/sample-incident.log"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\u{1b}["));
    let out = rwdoctor()
        .env("NO_COLOR", "1")
        .arg("testdata/sample-incident.log")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

#[test]
fn stdin_is_read_and_named() {
    let log = std::fs::read("testdata/sample-incident.log").unwrap();
    let out = rwdoctor()
        .args(["--format", "json"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["evidence"][0]["source"], "<stdin>");
    let out = rwdoctor()
        .args(["--format", "json", "-"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn gzip_by_magic_bytes_and_concatenated_members_match_plain_text() {
    let (plain, _) = json_of(&["testdata/sample-incident.log"]);
    for file in [
        "sample-incident.log.gz",
        "rotated.log.gz",
        "sample-incident-gz-named.txt",
    ] {
        let (doc, code) = json_of(&[&format!("testdata/{file}")]);
        assert_eq!(code, 1, "{file}");
        assert_eq!(findings(&doc), findings(&plain), "{file}");
        assert_eq!(doc["summary"]["lines_read"], 64, "{file}");
        assert_eq!(doc["summary"]["inputs"][0]["gzip"], true, "{file}");
    }
}

#[test]
fn empty_input_and_non_logs_are_inconclusive_with_reasons() {
    let out = rwdoctor()
        .write_stdin("")
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    assert!(unwrapped(&out).contains("inconclusive: the input is empty"));
    let out = rwdoctor()
        .arg("testdata/not-a-log.txt")
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let text = unwrapped(&out);
    assert!(
        text.contains("inconclusive: 0 of 20 lines look like RisingWave or etcd logs"),
        "{text}"
    );
    assert!(text.contains("first line:"), "{text}");
}

#[test]
fn unreadable_input_is_exit_2_and_the_rest_is_still_reported() {
    let out = rwdoctor()
        .args([
            "--format",
            "json",
            "testdata/no-such-file.log",
            "testdata/sample-incident.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("testdata/no-such-file.log: no such file or directory"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["rule"], "meta-leader-lease-lost");
    assert_eq!(doc["summary"]["exit_code"], 2);
}

#[test]
fn fail_on_sets_the_threshold() {
    rwdoctor()
        .args(["--fail-on", "never", "testdata/sample-incident.log"])
        .assert()
        .code(0);
    rwdoctor()
        .args([
            "--fail-on",
            "critical",
            "testdata/keepalive-errors-leader.log",
        ])
        .assert()
        .code(0);
    rwdoctor()
        .args([
            "--fail-on",
            "warning",
            "testdata/keepalive-errors-leader.log",
        ])
        .assert()
        .code(1);
    rwdoctor()
        .args(["--fail-on", "info", "testdata/healthy-startup.log"])
        .assert()
        .code(0);
    rwdoctor()
        .args(["--fail-on", "bogus", "testdata/healthy-startup.log"])
        .assert()
        .code(2);
}

#[test]
fn directories_are_scanned_recursively_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("b/nested");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::copy(
        "testdata/sample-incident.log.gz",
        nested.join("meta.log.gz"),
    )
    .unwrap();
    std::fs::copy("testdata/healthy-startup.log", dir.path().join("a.log")).unwrap();
    let (doc, code) = json_of(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let sources: Vec<&str> = doc["summary"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert!(
        sources[0].ends_with("a.log") && sources[1].ends_with("b/nested/meta.log.gz"),
        "{sources:?}"
    );
    assert!(doc["findings"][0]["evidence"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("meta.log.gz"));
}

#[test]
fn rules_dir_overrides_by_id_and_bad_rules_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = std::fs::read_to_string("rules/etcd-too-many-txn-ops.json").unwrap();
    std::fs::write(
        dir.path().join("override.json"),
        builtin.replace("\"severity\": \"error\"", "\"severity\": \"info\""),
    )
    .unwrap();
    let (doc, code) = json_of(&[
        "--rules",
        dir.path().to_str().unwrap(),
        "testdata/etcd-too-many-txn-ops.log",
    ]);
    assert_eq!(code, 0, "overridden to info, below --fail-on error");
    assert_eq!(doc["findings"][0]["severity"], "info");

    std::fs::write(dir.path().join("broken.json"), "{\n \"id\": \"my-rule\",\n \"severity\": \"error\",\n \"title\": \"x\" \"diagnosis\": \"y\"\n}").unwrap();
    std::fs::write(
        dir.path().join("badregex.json"),
        builtin
            .replace("\"id\": \"etcd-too-many-txn-ops\"", "\"id\": \"bad-regex\"")
            .replace("too many operations in txn request", "too many (operations"),
    )
    .unwrap();
    let out = rwdoctor()
        .args([
            "--rules",
            dir.path().to_str().unwrap(),
            "testdata/etcd-too-many-txn-ops.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json: rule `my-rule`: invalid rule JSON at line 4, column"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("badregex.json: rule `bad-regex`: signal `too_many_txn_ops`: invalid regex"),
        "{stderr}"
    );
    // The built-in rules still ran.
    assert!(String::from_utf8_lossy(&out.stdout).contains("etcd refused transactions"));
}

#[test]
fn help_documents_exit_codes() {
    let out = rwdoctor()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    for needle in [
        "EXIT CODES",
        "inconclusive",
        "--fail-on",
        "--format",
        "--rules",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
    assert!(Path::new("README.md").exists());
}

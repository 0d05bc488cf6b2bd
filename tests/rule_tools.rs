//! Rule authoring tools: `rules list|show|test|lint`, `explain`, and the
//! install helpers `completions` and `man`; subcommands beside PATHs.
use crate::common::{run, rwdoctor};
use serde_json::Value;
use std::path::Path;

const BUILTIN_IDS: [&str; 19] = [
    "deployment-problems",
    "etcd-db-space-exceeded",
    "etcd-request-too-large",
    "etcd-slow-disk",
    "etcd-too-many-txn-ops",
    "meta-election-retry",
    "meta-etcd-keepalive-errors",
    "meta-leader-lease-lost",
    "meta-sql-election-lost",
    "meta-startup-failed",
    "meta-store-unreachable",
    "node-lost",
    "node-panicked",
    "node-restarted-without-stop",
    "object-store-errors",
    "out-of-memory",
    "recovery-loop",
    "sink-errors",
    "source-errors",
];

/// A rule for a compute node killed for using too much memory, with its
/// own tests.
const OOM_RULE: &str = r#"{
  "id": "compute-node-oom",
  "severity": "critical",
  "title": "A compute node was killed for running out of memory",
  "diagnosis": "The compute node used more memory than its limit and was killed.",
  "docs": ["https://docs.risingwave.com/troubleshoot/node-failure"],
  "signals": {
    "oom_killed": {
      "regex": "\\bOOMKilled\\b|memory limit exceeded",
      "describe": "the node was killed for exceeding its memory limit"
    }
  },
  "match": {"type": "any", "signals": ["oom_killed"]},
  "tests": {
    "match": ["2024-05-01T10:00:00Z ERROR risingwave_compute: memory limit exceeded"],
    "no_match": ["2024-05-01T10:00:00Z  INFO risingwave_compute: memory usage 40%"],
    "scenarios": [{"name": "one kill", "lines": ["2024-05-01T10:00:00Z ERROR risingwave_compute: memory limit exceeded"], "incidents": 1}]
  }
}"#;

const FIXTURE: &str = "\
2024-05-01T10:00:00Z ERROR risingwave_compute: memory limit exceeded  # expect: compute-node-oom
2024-05-01T10:00:01Z  INFO risingwave_compute: memory usage 40%  # ok: compute-node-oom
2024-05-01T10:00:02Z  INFO risingwave_compute: an unannotated line
2024-02-11T06:05:06.387Z ERROR risingwave_meta::rpc::election::etcd: lease 75 keep alive timeout # expect: meta-leader-lease-lost
";

fn rule_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().unwrap()
}

#[test]
fn rules_list_shows_every_rule_and_its_source() {
    let (out, _, code) = run(&["rules", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("\nbuilt-in\n"), "{out}");
    for id in BUILTIN_IDS {
        assert!(out.contains(&format!("  {id} ")), "{id} missing:\n{out}");
    }
    assert!(out.contains("meta-leader-lease-lost       critical  Meta leader lost"));
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");

    // --rules before or after the subcommand: the file is named.
    let dir = rule_dir(&[("oom.json", OOM_RULE)]);
    for args in [
        ["--rules", path(&dir), "rules", "list"],
        ["rules", "list", "--rules", path(&dir)],
    ] {
        let (out, _, code) = run(&args);
        assert_eq!(code, 0);
        let file = dir.path().join("oom.json").display().to_string();
        assert!(
            out.contains(&format!("{file}\n  compute-node-oom")),
            "{out}"
        );
    }
}

#[test]
fn rules_show_prints_the_definition() {
    let (out, _, code) = run(&["rules", "show", "etcd-too-many-txn-ops"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string("rules/etcd-too-many-txn-ops.json").unwrap())
            .unwrap();
    for key in [
        "id",
        "severity",
        "title",
        "diagnosis",
        "signals",
        "causes",
        "remedies",
        "tests",
    ] {
        assert_eq!(shown[key], file[key], "{key}");
    }
    let (_, err, code) = run(&["rules", "show", "meta-lease-lost"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no rule `meta-lease-lost` is loaded; did you mean"),
        "{err}"
    );
    assert!(err.contains("meta-leader-lease-lost"), "{err}");
}

#[test]
fn explain_is_a_readable_page_without_a_log() {
    let (out, _, code) = run(&["explain", "meta-leader-lease-lost"]);
    assert_eq!(code, 0);
    for needle in [
        "Meta leader lost its etcd lease and exited",
        "What it means",
        "How rwdoctor recognises it",
        "Possible causes",
        "1. etcd is slow: its disk cannot keep up",
        "To check:",
        "What to do",
        "meta_leader_lease_secs = 86400",
        "https://docs.risingwave.com/troubleshoot/meta-failure",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    assert!(!out.contains('\u{1b}'), "a pipe is not coloured");
    let (_, err, code) = run(&["explain", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule `nope`"), "{err}");
}

#[test]
fn rules_test_passes_on_the_builtins_and_a_good_dir() {
    let (out, _, code) = run(&["rules", "test"]);
    assert_eq!(code, 0, "{out}");
    for id in BUILTIN_IDS {
        assert!(
            out.lines().any(|l| l.starts_with("PASS") && l.contains(id)),
            "{id}:\n{out}"
        );
    }

    let dir = rule_dir(&[("oom.json", OOM_RULE), ("fixtures/compute.log", FIXTURE)]);
    let (out, err, code) = run(&["rules", "test", path(&dir)]);
    assert_eq!(code, 0, "{out}{err}");
    // Own tests: match, no_match, scenario; fixture: expect and ok.
    assert!(
        out.contains("PASS  compute-node-oom        5 checks"),
        "{out}"
    );
    // A fixture may exercise a built-in rule.
    assert!(
        out.contains("PASS  meta-leader-lease-lost  1 check"),
        "{out}"
    );
    assert!(
        out.contains("2 rules, 1 fixture file, 6 checks: 6 passed, 0 failed."),
        "{out}"
    );
}

#[test]
fn rules_test_names_each_failure_and_exits_1() {
    let broken_rule = OOM_RULE.replace(
        "\"match\": [\"2024-05-01T10:00:00Z ERROR risingwave_compute: memory limit exceeded\"]",
        "\"match\": [\"2024-05-01T10:00:00Z ERROR risingwave_compute: out of memory\"]",
    );
    let broken_fixture = FIXTURE
        .replace("# expect: compute-node-oom", "# ok: compute-node-oom")
        .replace("keep alive timeout # expect", "keep alive # expect");
    let dir = rule_dir(&[("oom.json", &broken_rule), ("compute.log", &broken_fixture)]);
    let (out, _, code) = run(&["rules", "test", path(&dir)]);
    assert_eq!(code, 1, "{out}");
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("FAIL compute-node-oom 2 of 5 checks failed"),
        "{text}"
    );
    assert!(
        text.contains("match line matched no signal: 2024-05-01T10:00:00Z ERROR risingwave_compute: out of memory"),
        "{text}"
    );
    let fixture = dir.path().join("compute.log").display().to_string();
    assert!(
        text.contains(&format!(
            "{fixture}:1: expected no match, signal oom_killed matched"
        )),
        "{text}"
    );
    assert!(
        text.contains("FAIL meta-leader-lease-lost 1 of 1 check failed"),
        "{text}"
    );
    assert!(text.contains(&format!("{fixture}:4: expected a match, no signal matched")));

    // A rule that does not load: exit 2, named.
    let dir = rule_dir(&[(
        "oom.json",
        &OOM_RULE.replace("\"severity\"", "\"severity\" \"x\""),
    )]);
    let (out, _, code) = run(&["rules", "test", path(&dir)]);
    assert_eq!(code, 2, "{out}");
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("rule `compute-node-oom`: invalid rule JSON at line 3"),
        "{text}"
    );
}

#[test]
fn rules_lint_passes_clean_rules_and_warns_without_failing() {
    let dir = rule_dir(&[("oom.json", OOM_RULE)]);
    let (out, _, code) = run(&["rules", "lint", path(&dir)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "1 file (1 rule compiled): 0 errors, 0 warnings.\n");

    let weak = OOM_RULE
        .replace(
            "\"docs\": [\"https://docs.risingwave.com/troubleshoot/node-failure\"],",
            "",
        )
        .replace(
            "\"signals\": {",
            "\"signals\": {\n    \"any_number\": {\"regex\": \"\\\\d+\"},",
        );
    let weak = weak[..weak.find("\"tests\"").unwrap()]
        .trim_end()
        .trim_end_matches(',')
        .to_string()
        + "\n}";
    let dir = rule_dir(&[("oom.json", &weak)]);
    let (out, _, code) = run(&["rules", "lint", path(&dir)]);
    assert_eq!(code, 0, "warnings alone exit 0:\n{out}");
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "warning:",
        "signal `any_number` is used neither by `match` nor by any cause",
        "signal `any_number`: its regex has no literal of 3 or more characters",
        "checked on every line",
        "has no tests",
        "has no doc links",
        "signal `any_number`: `\\d` matches every Unicode digit",
        "write [0-9]",
        "0 errors, 5 warnings.",
    ] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
}

#[test]
fn rules_lint_reports_errors_with_exit_1() {
    let bad_regex = OOM_RULE
        .replace("\"id\": \"compute-node-oom\"", "\"id\": \"bad-regex\"")
        .replace("\\\\bOOMKilled\\\\b", "(OOMKilled");
    let unknown_signal = OOM_RULE
        .replace("\"id\": \"compute-node-oom\"", "\"id\": \"unknown-signal\"")
        .replace(
            "\"signals\": [\"oom_killed\"]",
            "\"signals\": [\"oom_kiled\"]",
        );
    let dir = rule_dir(&[
        ("a.json", OOM_RULE),
        ("b.json", OOM_RULE),
        ("c.json", &bad_regex),
        ("d.json", &unknown_signal),
        ("e.json", "{\"id\": \"half\", \"severity\": \"error\""),
        (
            "f.json",
            &OOM_RULE.replace("\"diagnosis\"", "\"diagnosys\""),
        ),
    ]);
    let (out, _, code) = run(&["rules", "lint", path(&dir)]);
    assert_eq!(code, 1, "{out}");
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let file = |name: &str| dir.path().join(name).display().to_string();
    for needle in [
        format!(
            "error: {}: rule `compute-node-oom`: duplicate id: {} defines it too",
            file("b.json"),
            file("a.json")
        ),
        format!(
            "error: {}: rule `bad-regex`: signal `oom_killed`: invalid regex",
            file("c.json")
        ),
        format!(
            "error: {}: rule `unknown-signal`: match.signals names unknown signal `oom_kiled`",
            file("d.json")
        ),
        format!(
            "error: {}: rule `half`: invalid rule JSON at line 1",
            file("e.json")
        ),
        format!(
            "error: {}: rule `compute-node-oom`: invalid rule JSON",
            file("f.json")
        ),
        "unknown field `diagnosys`".to_string(),
        "6 files (2 rules compiled)".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle} missing: {text}");
    }

    let (_, _, code) = run(&["rules", "lint", "/no/such/rules/dir"]);
    assert_eq!(code, 2);
}

#[test]
fn builtin_rules_lint_clean_of_errors() {
    let (out, _, code) = run(&["rules", "lint"]);
    assert_eq!(code, 0, "{out}");
    let n = BUILTIN_IDS.len();
    assert!(
        out.contains(&format!("{n} files ({n} rules compiled): 0 errors")),
        "{out}"
    );
}

#[test]
fn a_log_named_like_a_subcommand_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["rules", "explain", "man"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample-incident.log"),
            dir.path().join(name),
        )
        .unwrap();
        for args in [vec![format!("./{name}")], vec!["--".into(), name.into()]] {
            let out = rwdoctor()
                .current_dir(dir.path())
                .args(["--format", "json"])
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["findings"][0]["rule"], "meta-leader-lease-lost");
        }
    }
    // A subcommand does not take diagnosis options.
    let (_, err, code) = run(&["--format", "json", "rules", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("--format is for diagnosing logs"), "{err}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let (out, _, code) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        // fish writes `-l fail-on`, the others `--fail-on`.
        for word in ["rwdoctor", "fail-on", "follow", "explain"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (out, _, code) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH RWDOCTOR 1"),
        "{}",
        &out[..200.min(out.len())]
    );
    assert!(out.contains(".SH EXIT STATUS"));
    assert!(out.contains("\\-\\-follow"));
}

/// docs/writing-rules.md walks through docs/examples/compute-node-failure:
/// what it shows must stay true.
#[test]
fn the_guide_example_is_the_file_and_does_what_the_guide_says() {
    let example = "docs/examples/compute-node-failure";
    let guide = std::fs::read_to_string("docs/writing-rules.md").unwrap();
    let block_after = |marker: &str| -> String {
        let start = guide.find(marker).unwrap_or_else(|| panic!("{marker}")) + marker.len();
        let body = &guide[start..];
        body[..body.find("\n```").unwrap()].trim().to_string()
    };
    let rule = std::fs::read_to_string(format!("{example}/compute-node-failure.json")).unwrap();
    assert_eq!(
        block_after("checked against the example file by `cargo test` -->\n```json\n"),
        rule.trim(),
        "the rule file in the guide differs from {example}"
    );
    let fixture = std::fs::read_to_string(format!("{example}/fixtures.log")).unwrap();
    assert_eq!(block_after("`fixtures.log`:\n\n```text\n"), fixture.trim());

    let (out, _, code) = run(&["rules", "test", example]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("PASS  compute-node-failure  12 checks\n"),
        "{out}"
    );
    let (out, _, code) = run(&["rules", "lint", example]);
    assert_eq!(
        (out.as_str(), code),
        ("1 file (1 rule compiled): 0 errors, 0 warnings.\n", 0)
    );

    let (out, _, code) = run(&[
        "--format",
        "json",
        "--rules",
        example,
        &format!("{example}/samples/meta.log"),
        &format!("{example}/samples/compute-pod.txt"),
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let finding = &doc["findings"][0];
    assert_eq!(finding["rule"], "compute-node-failure");
    assert_eq!(finding["causes"][0]["id"], "out-of-memory");
    assert_eq!(finding["causes"][0]["verdict"], "likely");
    let evidence: Vec<String> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e["source"].as_str().unwrap(), e["line"]))
        .collect();
    assert_eq!(
        evidence,
        [
            format!("{example}/samples/compute-pod.txt:8"),
            format!("{example}/samples/meta.log:5")
        ]
    );
}

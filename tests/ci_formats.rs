//! The CI report formats (github, junit, markdown, jsonl), `--output`
//! files, colour from the environment, and closed pipes.
use crate::common::{run, rwdoctor};
use regex::Regex;
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

fn json_report(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend(args);
    serde_json::from_str(&run(&all).0).unwrap()
}

/// The runner's escaping, undone (for checking what a message says).
fn unescape(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_lines_are_workflow_commands_one_per_finding() {
    // `::level key=value,key=value::message`: no raw `:` or `,` in a value,
    // no raw line break anywhere, `%` only as an escape.
    let syntax = Regex::new(
        r"^::(error|warning|notice)(?: ((?:file|line|title)=[^:,\r\n]*(?:,(?:file|line|title)=[^:,\r\n]*)*))?::([^\r\n]*)$",
    )
    .unwrap();
    let escapes_only = Regex::new(r"%(?:25|0D|0A|3A|2C)").unwrap();
    let (out, _, code) = run(&["--format", "github", "testdata/sample-incident.log"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let mut levels = Vec::new();
    for line in &lines {
        let caps = syntax
            .captures(line)
            .unwrap_or_else(|| panic!("not a workflow command: {line}"));
        for part in [&caps[2], &caps[3]] {
            let stray = escapes_only.replace_all(part, "");
            assert!(!stray.contains('%'), "unescaped %: {line}");
        }
        levels.push(caps[1].to_string());
    }
    assert_eq!(levels, ["error", "warning"]);
    let first = syntax.captures(lines[0]).unwrap();
    assert!(first[2].starts_with("file=testdata/sample-incident.log,line=60,title="));
    let title = unescape(&first[2]);
    assert!(
        title.contains(
            "Meta leader lost its etcd lease and exited (critical, meta-leader-lease-lost)"
        ),
        "{title}"
    );
    let message = unescape(&first[3]);
    assert!(
        message.contains("\nLikely cause: etcd is slow"),
        "{message}"
    );
    assert!(message.contains("sample-incident.log:60:"), "{message}");

    // Info maps to notice; stdin has no file; problems are annotated too.
    let (out, _, code) = run(&[
        "--format",
        "github",
        "--fail-on",
        "never",
        "testdata/no-such-file.log",
        "testdata/keepalive-errors-leader.log",
    ]);
    assert_eq!(code, 2);
    assert!(out.contains("::warning file=testdata/keepalive-errors-leader.log,line=32,"));
    assert!(out.contains("::error title=rwdoctor::testdata/no-such-file.log: no such file"));
    let out = rwdoctor()
        .args(["--format", "github"])
        .write_stdin(std::fs::read("testdata/sample-incident.log").unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("::error title="), "{text}");
    let (out, _, code) = run(&["--format", "github", "testdata/not-a-log.txt"]);
    assert_eq!(code, 3);
    assert!(out.starts_with("::warning title=rwdoctor%3A nothing to diagnose::inconclusive"));
}

#[test]
fn junit_is_valid_xml_with_a_testcase_per_rule() {
    let (out, _, code) = run(&["--format", "junit", "testdata/sample-incident.log"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).expect("JUnit output is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let cases: Vec<roxmltree::Node> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let rules = json_report(&["testdata/sample-incident.log"])["summary"]["rules_evaluated"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(cases.len(), rules + 1, "a testcase per rule, and `inputs`");
    assert_eq!(suite.attribute("tests"), Some(&*(rules + 1).to_string()));
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(
        failed,
        ["meta-leader-lease-lost: Meta leader lost its etcd lease and exited"]
    );
    assert_eq!(suite.attribute("failures"), Some("1"));
    let failure = cases
        .iter()
        .flat_map(|c| c.children())
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("critical"));
    assert!(failure
        .text()
        .unwrap()
        .contains("testdata/sample-incident.log:60"));
    // Below --fail-on: a passing testcase that still carries the finding.
    let slow_disk = cases
        .iter()
        .find(|c| c.attribute("name").unwrap().starts_with("etcd-slow-disk"))
        .unwrap();
    assert!(slow_disk.children().any(|n| n.has_tag_name("system-out")));

    let (out, _, _) = run(&[
        "--format",
        "junit",
        "--fail-on",
        "warning",
        "testdata/sample-incident.log",
    ]);
    let doc = roxmltree::Document::parse(&out).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        2
    );
}

#[test]
fn junit_survives_markup_and_control_characters_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("odd.log");
    std::fs::write(
        &log,
        "2024-07-01T02:20:32.419178Z ERROR risingwave_meta::rpc: \u{1b}[31m<drop> & \"quote\" \
         etcdserver: too many operations in txn request\u{1b}[0m ]]> \u{7}\n",
    )
    .unwrap();
    let (out, _, code) = run(&["--format", "junit", log.to_str().unwrap()]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(failure.text().unwrap().contains("<drop> & \"quote\""));

    // Unreadable inputs are an error of the `inputs` testcase.
    let (out, _, code) = run(&[
        "--format",
        "junit",
        "testdata/no-such-file.log",
        "testdata/healthy-startup.log",
    ]);
    assert_eq!(code, 2);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
    assert_eq!(error.parent().unwrap().attribute("name"), Some("inputs"));
    assert!(error.text().unwrap().contains("no-such-file.log"));
}

#[test]
fn markdown_has_a_table_sections_and_closed_code_blocks() {
    let (out, _, code) = run(&["--format", "markdown", "testdata/sample-incident.log"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("## rwdoctor: 2 findings (1 critical, 1 warning)\n"),
        "{out}"
    );
    assert!(out.contains("**Exit 1**: 1 finding at or above --fail-on error"));
    assert!(out.contains(
        "| **CRITICAL** | Meta leader lost its etcd lease and exited | `meta-leader-lease-lost` | 1 |"
    ));
    assert!(out.contains("| WARNING | etcd reports a slow disk"));
    assert!(out.contains("### CRITICAL: Meta leader lost its etcd lease and exited"));
    assert!(out.contains("1. **etcd is slow: its disk cannot keep up**: likely"));
    assert!(out.contains("meta_leader_lease_secs = 86400"));
    let fences = out
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(fences % 2, 0, "unbalanced code fences:\n{out}");
    assert_eq!(
        out.matches("<details>").count(),
        out.matches("</details>").count()
    );

    // `<stdin>` would vanish as an HTML tag outside code.
    let out = rwdoctor()
        .args([
            "--format",
            "markdown",
            "--",
            "-",
            "testdata/no-such-file.log",
        ])
        .write_stdin(std::fs::read("testdata/sample-incident.log").unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("- `testdata/no-such-file.log: no such file or directory`"));
    for line in text.lines().filter(|l| l.contains("<stdin>")) {
        assert!(
            line.contains("`<stdin>") || !line.starts_with(['|', '#', '*']),
            "{line}"
        );
    }
}

#[test]
fn jsonl_is_the_json_report_one_object_per_line() {
    let (out, _, code) = run(&["--format", "jsonl", "testdata/sample-incident.log"]);
    assert_eq!(code, 1);
    let objects: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = objects
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["finding", "finding", "summary"]);
    let json = json_report(&["testdata/sample-incident.log"]);
    for (object, finding) in objects.iter().zip(json["findings"].as_array().unwrap()) {
        let mut object = object.clone();
        object.as_object_mut().unwrap().remove("type");
        assert_eq!(&object, finding);
    }
    let mut summary = objects[2].clone();
    summary.as_object_mut().unwrap().remove("type");
    assert_eq!(summary, json["summary"]);
}

#[test]
fn exit_codes_are_the_same_in_every_format() {
    for format in ["human", "json", "jsonl", "github", "junit", "markdown"] {
        for (file, expected) in [
            ("testdata/sample-incident.log", 1),
            ("testdata/healthy-startup.log", 0),
            ("testdata/not-a-log.txt", 3),
            ("testdata/no-such-file.log", 2),
        ] {
            let (_, _, code) = run(&["--format", format, file]);
            assert_eq!(code, expected, "--format {format} {file}");
        }
    }
}

#[test]
fn output_files_take_the_format_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let (out, _, code) = run(&[
        "--format",
        "human",
        "--format",
        "junit",
        "--output",
        junit.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
        "testdata/sample-incident.log",
    ]);
    assert_eq!(code, 1);
    assert!(out.starts_with("rwdoctor found 2 problems:"), "{out}");
    roxmltree::Document::parse(&std::fs::read_to_string(&junit).unwrap()).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["findings"][0]["rule"], "meta-leader-lease-lost");

    // Only files: stdout stays empty.
    let (out, _, code) = run(&[
        "--format",
        "markdown",
        "--output",
        dir.path().join("summary.md").to_str().unwrap(),
        "testdata/sample-incident.log",
    ]);
    assert_eq!((out.as_str(), code), ("", 1));

    // Two formats for stdout, or an --output without a format: usage errors.
    let (_, err, code) = run(&["--format", "human", "--format", "json", "x.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("only one report can go to stdout"), "{err}");
    let (_, err, code) = run(&["--output", "a.json", "--format", "json", "x.log"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--output a.json has no --format just before it"),
        "{err}"
    );
}

#[test]
fn an_output_file_that_cannot_be_written_is_exit_2_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/junit.xml");
    let (out, err, code) = run(&[
        "--format",
        "junit",
        "--output",
        missing.to_str().unwrap(),
        "--format",
        "human",
        "testdata/sample-incident.log",
    ]);
    assert_eq!(code, 2);
    let name = missing.display().to_string();
    assert!(
        err.contains(&format!("--output {name}: cannot create: no such file")),
        "{err}"
    );
    // The report on stdout is still written, and says why the exit is 2.
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Meta leader lost its etcd lease"), "{text}");
    assert!(text.contains("exit 2: 1 problem"), "{text}");

    // An input is never overwritten by a report.
    let log = dir.path().join("meta.log");
    std::fs::copy("testdata/sample-incident.log", &log).unwrap();
    let (_, err, code) = run(&[
        "--format",
        "json",
        "--output",
        log.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is also an input; not overwriting it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        std::fs::read("testdata/sample-incident.log").unwrap()
    );
}

#[test]
fn clicolor_force_colours_a_pipe_unless_zero() {
    let coloured = |value: Option<&str>, no_color: Option<&str>| {
        let mut cmd = rwdoctor();
        if let Some(value) = value {
            cmd.env("CLICOLOR_FORCE", value);
        }
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let out = cmd.arg("testdata/sample-incident.log").output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\u{1b}[")
    };
    assert!(!coloured(None, None));
    assert!(coloured(Some("1"), None));
    assert!(!coloured(Some("0"), None));
    assert!(coloured(Some("1"), Some("1")), "CLICOLOR_FORCE wins");
    let out = rwdoctor()
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never", "testdata/sample-incident.log"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

/// `rwdoctor … | head`: the reader is gone before the report is written.
#[test]
fn a_closed_stdout_ends_quietly_in_every_output_path() {
    let log = std::fs::read("testdata/sample-incident.log").unwrap();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec![], 1),
        (vec!["--format", "json"], 1),
        (vec!["--format", "jsonl"], 1),
        (vec!["--format", "github"], 1),
        (vec!["--format", "junit"], 1),
        (vec!["--format", "markdown"], 1),
        (vec!["--follow"], 1),
        (vec!["--follow", "--format", "jsonl"], 1),
        (vec!["rules", "list"], 0),
        (vec!["explain", "meta-leader-lease-lost"], 0),
        (vec!["man"], 0),
    ];
    for (args, expected) in cases {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rwdoctor"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end first; only then give it the log.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&log);
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {stderr}");
    }
}

//! The labelled discovery cases of `testdata/discovery/cases.json`: with no
//! rule at all, `rwdoctor templates --baseline GOOD FAIL` puts the
//! root-cause template among its first 3 rows in at least 9 of 10 cases,
//! reports at most 10 new WARN/ERROR templates per case, and none when a
//! healthy log is compared with another.
use crate::common::rwdoctor;
use serde_json::Value;

fn case_rows(case: &Value) -> Vec<Value> {
    let mut cmd = rwdoctor();
    cmd.args(["templates", "--format", "json"]);
    for good in case["good"].as_array().unwrap() {
        cmd.arg("--baseline").arg(good.as_str().unwrap());
    }
    for fail in case["fail"].as_array().unwrap() {
        cmd.arg(fail.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{case}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["templates"].as_array().unwrap().clone()
}

fn is_new_alert(row: &Value) -> bool {
    row["status"] == "new" && matches!(row["level"].as_str(), Some("WARN" | "ERROR" | "FATAL"))
}

/// Runs every labelled case through `rows_of` (its rows, the root cause
/// looked for in a row's template and in `example`'s text) and checks the
/// bar: at most 10 new WARN/ERROR templates a case, none for healthy
/// against healthy, the root cause among the first 3 rows in 9 of 10.
fn check_cases(
    what: &str,
    mut rows_of: impl FnMut(&Value) -> Vec<Value>,
    example: impl Fn(&Value) -> &str,
) {
    let text = std::fs::read_to_string("testdata/discovery/cases.json").unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let (mut labelled, mut found) = (0, 0);
    let mut report = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let rows = rows_of(case);
        let new_alerts = rows.iter().filter(|r| is_new_alert(r)).count();
        let name = case["name"].as_str().unwrap();
        assert!(
            new_alerts <= 10,
            "{what}, {name}: {new_alerts} new WARN/ERROR templates"
        );
        match case["root_cause"].as_str() {
            None => assert_eq!(new_alerts, 0, "{what}, {name}: healthy against healthy"),
            Some(cause) => {
                labelled += 1;
                // The example line holds the unmasked text of the template.
                let rank = rows.iter().position(|r| {
                    r["template"].as_str().unwrap().contains(cause) || example(r).contains(cause)
                });
                if rank.is_some_and(|r| r < 3) {
                    found += 1;
                }
                report.push(format!("{name}: rank {rank:?}, {new_alerts} new"));
            }
        }
    }
    assert!(labelled >= 10);
    assert!(
        found * 10 >= labelled * 9,
        "{what}: {found}/{labelled}: {report:#?}"
    );
}

#[test]
fn root_causes_come_first_and_healthy_logs_show_nothing_new() {
    check_cases("templates", case_rows, |r| {
        r["example"]["text"].as_str().unwrap()
    });
}

// ---- Discovery in the main command (`rwdoctor FILES...`) ----

use crate::common::{json_of, run};

/// `rwdoctor --format json [--no-builtin-rules] --baseline GOOD FAIL...`:
/// the rows of the `discovery` object and its count of new alerts.
fn main_rows(case: &Value, builtin: bool) -> (Vec<Value>, u64) {
    let mut args: Vec<String> = Vec::new();
    if !builtin {
        args.push("--no-builtin-rules".into());
    }
    for good in case["good"].as_array().unwrap() {
        args.push("--baseline".into());
        args.push(good.as_str().unwrap().into());
    }
    for fail in case["fail"].as_array().unwrap() {
        args.push(fail.as_str().unwrap().into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (doc, code) = json_of(&args);
    // Without any rule nothing looked for a failure: never an all-clear.
    let expected: &[i32] = if builtin { &[0, 1] } else { &[3] };
    assert!(expected.contains(&code), "{case}: exit {code}");
    let d = &doc["discovery"];
    assert_eq!(d["mode"], "baseline");
    (
        d["templates"].as_array().unwrap().clone(),
        d["new_alerts"].as_u64().unwrap(),
    )
}

#[test]
fn the_main_command_ranks_the_root_cause_first_with_and_without_rules() {
    for builtin in [false, true] {
        let rows_of = |case: &Value| {
            let (rows, new_alerts) = main_rows(case, builtin);
            let counted = rows.iter().filter(|r| is_new_alert(r)).count() as u64;
            assert_eq!(counted, new_alerts, "{}", case["name"]);
            rows
        };
        check_cases(&format!("builtin {builtin}"), rows_of, |r| {
            r["example"].as_str().unwrap()
        });
    }
}

#[test]
fn the_json_report_always_has_a_discovery_object() {
    let (doc, _) = json_of(&["testdata/lease-lost-v1.2.log"]);
    let d = &doc["discovery"];
    assert_eq!(d["levels"], "warn_error");
    assert_eq!(d["mode"], "self");
    // A finding at warning or above: the human report leaves it out.
    assert_eq!(d["shown"], false);
    assert_eq!(d["lines_mined"], 7);
    assert_eq!(d["templates_total"], 5);
    assert_eq!(d["templates_overflow_lines"], 0);
    assert!(d["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "end"));
    let row = &d["templates"][0];
    for field in [
        "id",
        "status",
        "score",
        "level",
        "target",
        "kind",
        "template",
        "count",
        "first_seen",
        "last_seen",
        "first",
        "example",
        "window",
        "offset_seconds",
        "sparkline",
    ] {
        assert!(row.get(field).is_some(), "row has {field}: {row}");
    }
    assert_eq!(row["status"], "seen");
    assert_eq!(row["level"], "ERROR");
    assert_eq!(row["first"]["line"], 38);
    assert!(row["template"]
        .as_str()
        .unwrap()
        .contains("etcdserver: request timed out"));
    let counts = row["sparkline"]["counts"].as_array().unwrap();
    assert_eq!(counts.iter().map(|c| c.as_u64().unwrap()).sum::<u64>(), 3);
    // --discover=off: the object stays, empty.
    let (doc, _) = json_of(&["--discover=off", "testdata/lease-lost-v1.2.log"]);
    assert_eq!(doc["discovery"]["levels"], "off");
    assert_eq!(doc["discovery"]["templates"].as_array().unwrap().len(), 0);
}

#[test]
fn the_section_shows_when_no_finding_is_at_warning_or_with_discover() {
    let log = "testdata/lease-lost-v1.2.log";
    let (out, _, code) = run(&["--color", "never", log]);
    assert_eq!(code, 1);
    assert!(!out.contains("What else changed"), "{out}");
    let (out, _, code) = run(&["--color", "never", "--discover", log]);
    assert_eq!(code, 1);
    assert!(out.contains("What else changed"), "{out}");
    // Without rules nothing is found: the section says what changed, and
    // the exit code says nothing was checked (3), never an all-clear.
    let (out, _, code) = run(&["--color", "never", "--no-builtin-rules", log]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("What else changed"), "{out}");
    assert!(out.contains("lease keeper failed"), "{out}");
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line}");
    }
    // A healthy log with nothing mined stays one line.
    let (out, _, code) = run(&["--color", "never", "testdata/healthy-startup.log"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn no_builtin_rules_runs_no_rule() {
    let (doc, code) = json_of(&["--no-builtin-rules", "testdata/lease-lost-v1.2.log"]);
    assert_eq!(code, 3, "no rule, no all-clear");
    assert_eq!(doc["summary"]["rules_evaluated"], 0);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn a_baseline_ranks_new_templates_first_earliest_first() {
    let (doc, code) = json_of(&[
        "--no-builtin-rules",
        "--baseline",
        "testdata/lease-lost-v2.0.log",
        "testdata/meta-store-pg-down.log",
    ]);
    assert_eq!(code, 3, "no rule, no all-clear");
    let rows = doc["discovery"]["templates"].as_array().unwrap();
    let statuses: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    let first_not_new = statuses
        .iter()
        .position(|s| *s != "new")
        .unwrap_or(rows.len());
    assert!(first_not_new > 0, "{statuses:?}");
    assert!(
        statuses[first_not_new..].iter().all(|s| *s != "new"),
        "new rows first: {statuses:?}"
    );
    let times: Vec<&str> = rows[..first_not_new]
        .iter()
        .map(|r| r["first_seen"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "earliest first: {times:?}"
    );
    let baseline = &doc["discovery"]["baseline"];
    assert_eq!(baseline["sources"][0], "testdata/lease-lost-v2.0.log");
    // The human rows say NEW, with count, level and where it first was.
    let (out, _, _) = run(&[
        "--color",
        "never",
        "--no-builtin-rules",
        "--baseline",
        "testdata/lease-lost-v2.0.log",
        "testdata/meta-store-pg-down.log",
    ]);
    assert!(out.contains("against lease-lost-v2.0.log"), "{out}");
    assert!(out.contains("  NEW      1×  ERROR"), "{out}");
    assert!(out.contains("first meta-store-pg-down.log:"), "{out}");
}

#[test]
fn fail_on_new_alone_changes_the_exit_code() {
    let base = [
        "--no-builtin-rules",
        "--baseline",
        "testdata/healthy-startup.log",
    ];
    let with = |extra: &[&str], log: &str| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.push(log);
        run(&args).2
    };
    // With no rule at all nothing looked for a failure: no all-clear (3),
    // unless --fail-on-new has new templates to fail on (1).
    assert_eq!(with(&[], "testdata/lease-lost-v1.2.log"), 3);
    assert_eq!(with(&["--fail-on-new"], "testdata/lease-lost-v1.2.log"), 1);
    assert_eq!(with(&["--fail-on-new"], "testdata/lease-regrant.log"), 3);
    // With the built-in rules, --fail-on-new fails a run they find clean.
    let (_, _, code) = run(&[
        "--fail-on-new",
        "--baseline",
        "testdata/healthy-startup.log",
        "testdata/lease-regrant.log",
    ]);
    assert_eq!(code, 0);
    let (doc, code) = json_of(&[
        "--no-builtin-rules",
        "--fail-on-new",
        "--baseline",
        "testdata/healthy-startup.log",
        "testdata/lease-lost-v1.2.log",
    ]);
    assert_eq!(code, 1);
    assert!(doc["summary"]["verdict"]
        .as_str()
        .unwrap()
        .contains("--fail-on-new"));
    // A baseline that cannot be read is an error naming it.
    let (_, err, code) = run(&[
        "--baseline",
        "testdata/no-such.log",
        "testdata/lease-regrant.log",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such.log"), "{err}");
}

#[test]
fn a_panic_before_a_restart_is_new_to_its_node() {
    let (doc, _) = json_of(&["--no-builtin-rules", "testdata/meta-panic-v2.8.log"]);
    let d = &doc["discovery"];
    assert!(d["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "restart"));
    let row = &d["templates"][0];
    assert_eq!(row["level"], "FATAL");
    assert_eq!(row["window"]["anchor"], "restart");
    assert_eq!(row["window"]["number"], 1);
    assert!(row["window"]["first_offset_seconds"].as_f64().unwrap() < 0.0);
    assert_eq!(d["new_alerts"], 1);
    let (out, _, _) = run(&[
        "--color",
        "never",
        "--no-builtin-rules",
        "testdata/meta-panic-v2.8.log",
    ]);
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("before restart 1"), "{out}");
}

#[test]
fn a_template_grown_before_a_restart_is_ranked_and_labelled() {
    // A compute node fails a heartbeat now and then for 70 minutes, then
    // every 3 s for the 90 s before it restarts: seen before, so not new,
    // but grown within its node (the "increased").
    let log = "testdata/discovery/heartbeat-burst.log";
    let (doc, _) = json_of(&["--no-builtin-rules", log]);
    let d = &doc["discovery"];
    let row = &d["templates"][0];
    assert_eq!(row["level"], "WARN");
    assert!(row["window"].is_null(), "{row}");
    let grew = &row["grew"];
    assert_eq!(grew["anchor"], "restart");
    assert_eq!(grew["number"], 1);
    assert_eq!(grew["window_count"], 30);
    assert_eq!(grew["earlier_count"], 6);
    assert!(grew["rate_ratio"].as_f64().unwrap() >= 5.0, "{grew}");
    // Growth is not newness: --fail-on-new stays quiet about it.
    assert_eq!(d["new_alerts"], 0);
    let (out, _, _) = run(&["--color", "never", "--discover", log]);
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("30 in the 3m before restart 1, 6 in the 71m before that"),
        "{out}"
    );
    // Heartbeat failures spread over a meta restart, no burst: no grown row.
    let (doc, _) = json_of(&[
        "--no-builtin-rules",
        "testdata/compute-during-meta-restart.log",
    ]);
    assert!(doc["discovery"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["grew"].is_null()));
}

#[test]
fn a_fingerprint_never_joins_two_template_keys() {
    // Plain lines of every sample: equal fingerprints, equal keys.
    let mut seen: std::collections::HashMap<u64, rwdoctor::templates::Key> = Default::default();
    let mut checked = 0;
    for entry in std::fs::read_dir("testdata").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for line in text.lines() {
            if rwdoctor::record::plain_risingwave_level(line.as_bytes()).is_none() {
                continue;
            }
            let space = line.find(' ').unwrap();
            let fp = rwdoctor::templates::fingerprint(&line.as_bytes()[space..]);
            let key = rwdoctor::templates::key_of(&rwdoctor::templates::parse_line(line, 2024));
            checked += 1;
            if let Some(before) = seen.get(&fp) {
                assert_eq!(before, &key, "{}: {line}", path.display());
            } else {
                seen.insert(fp, key);
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

/// The rows new to their node before a restart (`window` set), as
/// (level, template, count).
fn late_rows(doc: &Value) -> Vec<(String, String, u64)> {
    doc["discovery"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["window"].is_null())
        .map(|r| {
            (
                r["level"].as_str().unwrap_or("").to_string(),
                r["template"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn an_info_template_new_before_a_restart_shows_by_default() {
    let (doc, _) = json_of(&[
        "--no-builtin-rules",
        "--discover=windows",
        "testdata/discovery/info-before-restart.log",
    ]);
    let late = late_rows(&doc);
    assert_eq!(
        late,
        vec![(
            "INFO".to_string(),
            "keep alive loop for lease <*> stopped".to_string(),
            2
        )],
        "{:#}",
        doc["discovery"]
    );
    let row = &doc["discovery"]["templates"][0];
    assert_eq!(row["window"]["anchor"], "restart");
    assert_eq!(row["window"]["number"], 1);
    assert_eq!(doc["discovery"]["window_levels"]["new_templates"], 1);
    // INFO rows change no exit code: not a new WARN/ERROR template.
    assert_eq!(doc["discovery"]["new_alerts"], 0);
    let (out, _, _) = run(&[
        "--color",
        "never",
        "--no-builtin-rules",
        "--discover=windows",
        "testdata/discovery/info-before-restart.log",
    ]);
    assert!(
        out.contains("keep alive loop for lease <*> stopped"),
        "{out}"
    );
    // The heading says the INFO row comes from the windows, in 80 columns.
    assert!(
        out.contains(
            "What else changed (WARN/ERROR lines; every level before restarts and the end)"
        ),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    // `--discover=all` mines every line: the same row, the same count.
    let (all, _) = json_of(&[
        "--no-builtin-rules",
        "--discover=all",
        "testdata/discovery/info-before-restart.log",
    ]);
    assert_eq!(late_rows(&all), late);
    // The windows are mined at every level by default: the same row.
    let (default, _) = json_of(&[
        "--no-builtin-rules",
        "testdata/discovery/info-before-restart.log",
    ]);
    assert_eq!(late_rows(&default), late);
    assert_eq!(default["discovery"]["window_levels"]["new_templates"], 1);
    // `--discover=warn` mines WARN/ERROR lines only: no INFO row, no
    // `window_levels`.
    let (warn, _) = json_of(&[
        "--no-builtin-rules",
        "--discover=warn",
        "testdata/discovery/info-before-restart.log",
    ]);
    assert_eq!(late_rows(&warn), vec![]);
    assert!(warn["discovery"]["window_levels"].is_null());
}

#[test]
fn an_info_template_the_node_wrote_before_is_not_new() {
    let (doc, _) = json_of(&[
        "--no-builtin-rules",
        "--discover=windows",
        "testdata/discovery/info-written-before.log",
    ]);
    assert_eq!(late_rows(&doc), vec![], "{:#}", doc["discovery"]);
    let (all, _) = json_of(&[
        "--no-builtin-rules",
        "--discover=all",
        "testdata/discovery/info-written-before.log",
    ]);
    assert_eq!(late_rows(&all), vec![]);
}

/// A log big enough to be split into ranges (16 MiB and more), with
/// restarts, each after an INFO line its node never wrote before, some
/// near the ranges' ends: one thread and two give the same `discovery`.
#[test]
fn windows_at_every_level_do_not_depend_on_threads() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut log = String::with_capacity(18 << 20);
    let zones = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    ];
    let start = chrono::DateTime::parse_from_rfc3339("2024-02-16T10:00:00Z").unwrap();
    let mut line = 0u64;
    let mut restart = 0;
    writeln!(
        log,
        "2024-02-16T10:00:00Z  INFO risingwave_meta_node: Starting meta node"
    )
    .unwrap();
    while log.len() < (18 << 20) {
        line += 1;
        let t = start + chrono::Duration::milliseconds(line as i64 * 50);
        let ts = t.format("%Y-%m-%dT%H:%M:%S%.6fZ");
        writeln!(
            log,
            "{ts}  INFO risingwave_meta::barrier: barrier collected epoch={} duration_ms={}",
            6468091168751616 + line * 65536,
            line % 997
        )
        .unwrap();
        if line.is_multiple_of(7) {
            writeln!(
                log,
                "{ts} DEBUG risingwave_meta::manager::cluster: worker heartbeat received worker_id={}",
                line % 5
            )
            .unwrap();
        }
        if line.is_multiple_of(23_000) {
            let zone = zones[restart % zones.len()];
            restart += 1;
            writeln!(
                log,
                "{ts}  INFO risingwave_meta::rpc::election::etcd: {zone} lease keeper stopped id={line}"
            )
            .unwrap();
            let t = t + chrono::Duration::seconds(30);
            writeln!(
                log,
                "{}  INFO risingwave_meta_node: Starting meta node",
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            )
            .unwrap();
            line += 600; // the 30 s of the restart
        }
    }
    std::fs::write(&path, &log).unwrap();
    let path = path.to_str().unwrap();
    let run_with = |threads: &str| {
        let (doc, _) = json_of(&[
            "--no-builtin-rules",
            "--discover=windows",
            "--threads",
            threads,
            path,
        ]);
        doc["discovery"].clone()
    };
    let one = run_with("1");
    let two = run_with("2");
    assert_eq!(one, two);
    let late = late_rows(&serde_json::json!({ "discovery": one }));
    assert!(late.len() >= 5, "{late:?}");
    assert!(late
        .iter()
        .all(|(level, template, _)| level == "INFO" && template.contains("lease keeper stopped")));
}

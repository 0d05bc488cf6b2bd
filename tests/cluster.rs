//! The rest of the cluster: lost nodes, OOM kills, recovery loops, object
//! store, sinks and sources, deployment; each class alone and with the
//! second log that confirms it (testdata/cluster/), and the look-alikes
//! that must stay quiet.
use crate::common::json_of;
use serde_json::Value;

fn findings(doc: &Value) -> Vec<(String, u64)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn finding<'a>(doc: &'a Value, rule: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {doc}"))
}

fn cause<'a>(finding: &'a Value, id: &str) -> &'a Value {
    finding["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no cause {id} in {finding}"))
}

fn run(files: &[&str]) -> (Value, i32) {
    let paths: Vec<String> = files.iter().map(|f| format!("testdata/{f}")).collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    json_of(&args)
}

/// A sample, its exit code and its (rule, incidents).
type Case = (&'static str, i32, &'static [(&'static str, u64)]);

#[test]
fn every_cluster_sample_gives_its_findings() {
    let cases: &[Case] = &[
        ("cluster/node-lost-meta-v2.5.log", 1, &[("node-lost", 1)]),
        (
            "cluster/node-lost-describe-oom.txt",
            1,
            &[("out-of-memory", 1)],
        ),
        (
            "cluster/oom-journald-kernel.log",
            1,
            &[("out-of-memory", 1)],
        ),
        (
            "cluster/compose-oom-inspect.txt",
            1,
            &[("out-of-memory", 1)],
        ),
        ("cluster/compose-exit-137.log", 1, &[("node-lost", 1)]),
        (
            "cluster/recovery-loop-object-store-v2.5.log",
            1,
            &[("object-store-errors", 1), ("recovery-loop", 1)],
        ),
        (
            "cluster/object-store-denied-v2.8.log",
            1,
            &[("object-store-errors", 1)],
        ),
        ("cluster/sink-retry-loop-v2.7.log", 1, &[("sink-errors", 1)]),
        ("cluster/kafka-broker-down.log", 1, &[("source-errors", 1)]),
        (
            "cluster/liveness-probe-events.txt",
            1,
            &[("deployment-problems", 1)],
        ),
        (
            "cluster/liveness-probe-events.json",
            1,
            &[("deployment-problems", 1)],
        ),
        ("cluster/node-lost-pod-oom.json", 1, &[("out-of-memory", 1)]),
        (
            "cluster/sigill-compose.log",
            1,
            &[("deployment-problems", 1)],
        ),
        (
            "cluster/meta-store-pool-timeout-v2.5.log",
            1,
            &[("meta-store-unreachable", 1)],
        ),
        // Look-alikes: nothing at or above error.
        ("cluster/healthy-compute-v2.5.log", 0, &[]),
        ("cluster/planned-meta-restart-v2.5.log", 0, &[]),
        ("cluster/rolling-update-v2.5.log", 0, &[]),
        ("cluster/sink-recovered-v2.5.log", 0, &[]),
        ("cluster/node-lost-describe-healthy.txt", 0, &[]),
        ("cluster/node-lost-pod-healthy.json", 0, &[]),
    ];
    for (file, exit, expected) in cases {
        let (doc, code) = run(&[file]);
        let expected: Vec<(String, u64)> =
            expected.iter().map(|(r, n)| (r.to_string(), *n)).collect();
        assert_eq!(findings(&doc), expected, "{file}");
        assert_eq!(code, *exit, "{file}");
    }
}

#[test]
fn second_logs_are_named_in_the_summary_with_times_in_utc() {
    let (doc, _) = run(&[
        "cluster/oom-journald-kernel.log",
        "cluster/node-lost-describe-oom.txt",
        "cluster/compose-oom-inspect.txt",
        "postgres/stderr.log",
        "postgres/csvlog.csv",
        "postgres/jsonlog.json",
    ]);
    let text = doc["summary"].to_string() + &doc["inputs"].to_string();
    for shape in [
        "kernel messages",
        "kubectl describe/events",
        "docker compose/inspect",
        "PostgreSQL log",
        "PostgreSQL csvlog",
        "PostgreSQL jsonlog",
    ] {
        assert!(text.contains(shape), "{shape} missing: {text}");
    }
}

/// With the pod's status the OOM kill ranks first; without it the report
/// says which command would confirm it; with a status that shows another
/// end, OOM is unlikely.
#[test]
fn a_lost_node_is_confirmed_or_ruled_out_by_kubectl_describe() {
    let (alone, _) = run(&["cluster/node-lost-meta-v2.5.log"]);
    let lost = finding(&alone, "node-lost");
    let oom = cause(lost, "out-of-memory");
    assert_eq!(oom["verdict"], "not ruled out");
    let to_check = oom["to_check"].as_str().unwrap();
    assert!(
        to_check.contains("kubectl describe pod rw-compute-0"),
        "{to_check}"
    );

    let (with, _) = run(&[
        "cluster/node-lost-meta-v2.5.log",
        "cluster/node-lost-describe-oom.txt",
    ]);
    let lost = finding(&with, "node-lost");
    assert_eq!(lost["causes"][0]["id"], "out-of-memory");
    assert_eq!(lost["causes"][0]["verdict"], "likely");
    assert_eq!(lost["remedies"][0]["cause"], "out-of-memory");

    let (healthy, _) = run(&[
        "cluster/node-lost-meta-v2.5.log",
        "cluster/node-lost-describe-healthy.txt",
    ]);
    let lost = finding(&healthy, "node-lost");
    assert_eq!(cause(lost, "out-of-memory")["verdict"], "unlikely");
}

#[test]
fn compose_exit_137_and_the_kernel_confirm_out_of_memory() {
    for second in [
        "cluster/compose-oom-inspect.txt",
        "cluster/oom-dmesg.log",
        "cluster/oom-dmesg-iso.log",
    ] {
        let (doc, _) = run(&["cluster/compose-exit-137.log", second]);
        let lost = finding(&doc, "node-lost");
        assert_eq!(lost["causes"][0]["id"], "out-of-memory", "{second}");
        assert_eq!(lost["causes"][0]["verdict"], "likely", "{second}");
    }
}

/// PostgreSQL's own log (real lines, captured by testdata/postgres/capture.sh)
/// turns pool timeouts into "out of connections".
#[test]
fn postgres_log_confirms_the_meta_store_cause() {
    let (alone, _) = run(&["cluster/meta-store-pool-timeout-v2.5.log"]);
    let store = finding(&alone, "meta-store-unreachable");
    assert_eq!(store["causes"][0]["id"], "database-down");
    let limit = cause(store, "connection-limit");
    assert!(
        limit["to_check"]
            .as_str()
            .unwrap()
            .contains("PostgreSQL's server log"),
        "{limit}"
    );

    let (with, _) = run(&[
        "cluster/meta-store-pool-timeout-v2.5.log",
        "cluster/meta-store-postgres-too-many.log",
    ]);
    let store = finding(&with, "meta-store-unreachable");
    assert_eq!(store["causes"][0]["id"], "connection-limit");
    assert_eq!(store["causes"][0]["verdict"], "likely");
    assert_eq!(store["remedies"][0]["cause"], "connection-limit");
    let down = cause(store, "database-down");
    assert!(
        down["reasoning"]
            .as_str()
            .unwrap()
            .contains("meta-store-postgres-too-many.log covers the incident"),
        "{down}"
    );
}

#[test]
fn a_recovery_loop_names_the_root_error() {
    let (doc, _) = run(&["cluster/recovery-loop-object-store-v2.5.log"]);
    let loop_ = finding(&doc, "recovery-loop");
    assert_eq!(loop_["matched_lines"], 4);
    assert_eq!(loop_["causes"][0]["id"], "object-store");
}

/// MySQL's (here MariaDB's, captured by testdata/mysql/capture.sh) error
/// log turns pool timeouts into "out of connections", as PostgreSQL's does;
/// without it the report names the log that would confirm it.
#[test]
fn mysql_error_log_confirms_the_meta_store_cause() {
    let (alone, _) = run(&["cluster/meta-store-mysql-pool-timeout-v2.5.log"]);
    let store = finding(&alone, "meta-store-unreachable");
    assert_eq!(store["causes"][0]["id"], "database-down");
    let limit = cause(store, "connection-limit");
    let to_check = limit["to_check"].as_str().unwrap();
    assert!(to_check.contains("MySQL's error log"), "{limit}");
    assert!(to_check.contains("PostgreSQL's server log"), "{limit}");

    let (with, code) = run(&[
        "cluster/meta-store-mysql-pool-timeout-v2.5.log",
        "cluster/meta-store-mysql-too-many.log",
    ]);
    assert_eq!(code, 1);
    let store = finding(&with, "meta-store-unreachable");
    assert_eq!(store["causes"][0]["id"], "connection-limit");
    assert_eq!(store["causes"][0]["verdict"], "likely");
    assert_eq!(store["remedies"][0]["cause"], "connection-limit");
    let evidence = store["causes"][0]["evidence"].to_string();
    assert!(
        evidence.contains("meta-store-mysql-too-many.log"),
        "{evidence}"
    );
    // The error log is named, and its zone-less MariaDB times are read as UTC.
    let inputs = with["summary"]["inputs"].to_string();
    assert!(inputs.contains("MySQL error log"), "{inputs}");
    assert!(inputs.contains("2026-11-30T10:48:34"), "{inputs}");

    // MySQL's log alone (a start, access denials, refused connections) is
    // no meta-store finding: the meta node's side is what fires the rule.
    let (mysql_only, code) = run(&["cluster/meta-store-mysql-too-many.log"]);
    assert_eq!(findings(&mysql_only), vec![]);
    assert_eq!(code, 0);
}

/// `dmesg -T` and MariaDB write the machine's local time with no zone: the
/// input's notes say it was read as UTC; `dmesg --time-format=iso` carries
/// its zone and needs no note.
#[test]
fn zoneless_times_are_read_as_utc_and_said_so() {
    let (doc, _) = run(&[
        "cluster/oom-dmesg.log",
        "cluster/oom-dmesg-iso.log",
        "cluster/meta-store-mysql-too-many.log",
    ]);
    let input = |name: &str| {
        doc["summary"]["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["source"].as_str().unwrap().ends_with(name))
            .unwrap()
            .clone()
    };
    let notes = |name: &str| input(name)["notes"].to_string();
    let dmesg = notes("/oom-dmesg.log");
    assert!(dmesg.contains("`dmesg -T` times carry no zone"), "{dmesg}");
    assert!(dmesg.contains("read as UTC"), "{dmesg}");
    assert_eq!(input("oom-dmesg-iso.log")["notes"], serde_json::json!([]));
    assert_eq!(input("oom-dmesg-iso.log")["shapes"]["kernel messages"], 3);
    let mariadb = notes("meta-store-mysql-too-many.log");
    assert!(
        mariadb.contains("MariaDB's error-log times carry no zone"),
        "{mariadb}"
    );
}

/// `kubectl get pod -o json` (or `-o yaml`) confirms or rules out the OOM
/// kill as `kubectl describe pod` does, and its `finishedAt` puts the kill
/// on the timeline; `kubectl get events -o json` carries its times too.
#[test]
fn kubectl_json_and_yaml_confirm_the_same_causes_with_their_times() {
    for second in [
        "cluster/node-lost-pod-oom.json",
        "cluster/node-lost-pod-oom.yaml",
    ] {
        let (doc, _) = run(&["cluster/node-lost-meta-v2.5.log", second]);
        let lost = finding(&doc, "node-lost");
        assert_eq!(lost["causes"][0]["id"], "out-of-memory", "{second}");
        assert_eq!(lost["causes"][0]["verdict"], "likely", "{second}");
        let oom = finding(&doc, "out-of-memory");
        assert_eq!(
            oom["incidents"][0]["first_seen"], "2025-07-29T10:14:41Z",
            "{second}: the kill takes its container's finishedAt"
        );
        let shapes = doc["summary"]["inputs"][1]["shapes"].to_string();
        assert!(
            shapes.contains("kubectl describe/events"),
            "{second}: {shapes}"
        );
    }
    let (healthy, _) = run(&[
        "cluster/node-lost-meta-v2.5.log",
        "cluster/node-lost-pod-healthy.json",
    ]);
    let lost = finding(&healthy, "node-lost");
    assert_eq!(cause(lost, "out-of-memory")["verdict"], "unlikely");

    let (events, _) = run(&["cluster/liveness-probe-events.json"]);
    let deploy = finding(&events, "deployment-problems");
    assert_eq!(deploy["causes"][0]["id"], "liveness-probe");
    // The kubelet's kill, at its event's lastTimestamp.
    assert_eq!(deploy["incidents"][0]["first_seen"], "2026-11-30T08:41:11Z");
}

/// `kubectl describe` lines carry no time and sort first on the merged
/// timeline; an incident's timeline lists them after its timed lines, with
/// no time and no offset, not as the first thing that happened.
#[test]
fn untimed_lines_are_not_the_earliest_on_a_timeline() {
    let (doc, _) = run(&[
        "cluster/node-lost-meta-v2.5.log",
        "cluster/node-lost-describe-oom.txt",
    ]);
    let lost = finding(&doc, "node-lost");
    let timeline = lost["incidents"][0]["timeline"].as_array().unwrap();
    assert!(timeline[0]["timestamp"].is_string(), "{timeline:?}");
    assert_eq!(timeline[0]["offset_seconds"], 0.0);
    let first_untimed = timeline
        .iter()
        .position(|e| e["timestamp"].is_null())
        .expect("describe's lines are on the timeline");
    assert!(
        timeline[first_untimed..]
            .iter()
            .all(|e| e["timestamp"].is_null() && e["offset_seconds"].is_null()),
        "{timeline:?}"
    );
}

/// The OOM class from the compute node's own log: a restart without a stop
/// after a heap dump. Alone, the report names the logs that would confirm
/// the kill; with the kernel's log the OOM kill ranks first and is likely.
#[test]
fn a_silent_restart_is_confirmed_as_an_oom_kill_by_the_kernel_log() {
    let (alone, _) = run(&["compute-oom-killed.log"]);
    let restart = finding(&alone, "node-restarted-without-stop");
    assert_eq!(cause(restart, "oom-kill")["verdict"], "possible");
    // Its first remedy names what would tell: the pod's last state, the
    // kernel's OOM kills.
    let first = restart["remedies"][0]["text"].as_str().unwrap();
    for log in ["kubectl describe pod", "Last State", "dmesg -T"] {
        assert!(first.contains(log), "{first}");
    }

    let (with, _) = run(&[
        "compute-oom-killed.log",
        "cluster/compute-oom-journald-kernel.log",
    ]);
    let restart = finding(&with, "node-restarted-without-stop");
    assert_eq!(restart["causes"][0]["id"], "oom-kill");
    assert_eq!(restart["causes"][0]["verdict"], "likely");
    assert!(restart["causes"][0]["to_check"].is_null(), "{restart}");
    assert!(restart["causes"][0]["reasoning"].is_null(), "{restart}");
    // After the general "find out what ended it", the OOM remedy first.
    let first_for_a_cause = restart["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"].is_string())
        .unwrap();
    assert_eq!(first_for_a_cause["cause"], "oom-kill");
}

/// The deployment class (a liveness-probe kill) from the meta node's own
/// log: alone, the restart's causes name the events that would tell;
/// with `kubectl get events -o json` the probe kill ranks first.
#[test]
fn a_silent_meta_restart_is_confirmed_as_a_probe_kill_by_the_events() {
    let (alone, _) = run(&["meta-restarted-twice.log"]);
    let restart = finding(&alone, "node-restarted-without-stop");
    let probe = cause(restart, "liveness-probe");
    assert_eq!(probe["verdict"], "not ruled out");
    assert!(
        probe["to_check"]
            .as_str()
            .unwrap()
            .contains("kubectl get events"),
        "{probe}"
    );

    let (with, _) = run(&[
        "meta-restarted-twice.log",
        "cluster/meta-restart-liveness-events.json",
    ]);
    let restart = finding(&with, "node-restarted-without-stop");
    assert_eq!(restart["causes"][0]["id"], "liveness-probe");
    assert_eq!(restart["causes"][0]["verdict"], "likely");
    assert_ne!(cause(restart, "oom-kill")["verdict"], "likely");
    let deploy = finding(&with, "deployment-problems");
    assert_eq!(deploy["causes"][0]["id"], "liveness-probe");
    assert_eq!(deploy["incidents"][0]["first_seen"], "2025-07-30T08:32:01Z");
}

/// The recovery-loop class: a compute node that keeps dying fails every
/// attempt. Alone, the report asks for the pod's status; with `kubectl
/// describe pod` (OOMKilled, CrashLoopBackOff) the crashing node is
/// confirmed by its own log and ranks first with more confidence.
#[test]
fn a_recovery_loop_on_a_crashing_node_is_confirmed_by_its_pod_status() {
    let (alone, _) = run(&["cluster/recovery-loop-compute-crashing-v2.5.log"]);
    let loop_alone = finding(&alone, "recovery-loop");
    let crashing = cause(loop_alone, "node-lost-or-crashing");
    assert!(
        crashing["to_check"]
            .as_str()
            .unwrap()
            .contains("kubectl describe pod"),
        "{crashing}"
    );

    let (with, _) = run(&[
        "cluster/recovery-loop-compute-crashing-v2.5.log",
        "cluster/recovery-loop-describe-oom.txt",
    ]);
    let loop_with = finding(&with, "recovery-loop");
    let first = &loop_with["causes"][0];
    assert_eq!(first["id"], "node-lost-or-crashing");
    assert_eq!(first["verdict"], "likely");
    assert!(first["to_check"].is_null(), "{first}");
    assert!(
        first["confidence"].as_f64() > crashing["confidence"].as_f64(),
        "{first} vs {crashing}"
    );
    assert!(
        first["evidence"]
            .to_string()
            .contains("recovery-loop-describe-oom.txt"),
        "{first}"
    );
}

//! Causes ranked by evidence across meta and etcd logs, timelines, and
//! remedies tailored to what the logs say about the cluster.
use crate::common::{json_of, rwdoctor};
use serde_json::Value;

fn run(args: &[&str]) -> (Value, i32) {
    json_of(args)
}

fn lease_lost(doc: &Value) -> &Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "meta-leader-lease-lost")
        .expect("a lease-loss finding")
}

fn cause<'a>(finding: &'a Value, id: &str) -> &'a Value {
    finding["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

fn ranking(finding: &Value) -> Vec<(String, String)> {
    finding["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn slow_disk_pair_confirms_the_disk_from_etcds_own_log() {
    let (doc, code) = run(&[
        "testdata/pairs/slow-disk-meta.log",
        "testdata/pairs/slow-disk-etcd-0.log",
    ]);
    assert_eq!(code, 1);
    let finding = lease_lost(&doc);
    let top = &finding["causes"][0];
    assert_eq!(top["id"], "etcd-slow-disk");
    assert_eq!(top["verdict"], "likely");
    let fsync = top["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["signal"] == "etcd_slow_fsync")
        .unwrap();
    assert_eq!(fsync["count"], 2);
    assert_eq!(
        fsync["example"]["source"],
        "testdata/pairs/slow-disk-etcd-0.log"
    );
    assert_eq!(fsync["example"]["line"], 29);
    // etcd's +08:00 clock is normalised: 17:41:12.318+08:00 is 09:41:12.318Z.
    assert_eq!(fsync["example"]["timestamp"], "2024-03-05T09:41:12.318Z");
    // A covering etcd log without NOSPACE makes that cause unlikely.
    let nospace = cause(finding, "etcd-db-space-exceeded");
    assert_eq!(nospace["verdict"], "unlikely");
    assert!(nospace["reasoning"]
        .as_str()
        .unwrap()
        .contains("slow-disk-etcd-0.log covers the incident"));
    // The timeline puts etcd's first slow fsync 15.2 s before the lease loss.
    let timeline = finding["incidents"][0]["timeline"].as_array().unwrap();
    assert_eq!(timeline[0]["offset_seconds"], -15.2);
    assert_eq!(timeline[0]["component"], "etcd");
    assert!(timeline[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("slow fdatasync"));
    let anchor = timeline
        .iter()
        .find(|e| e["offset_seconds"] == 0.0)
        .unwrap();
    assert!(anchor["message"]
        .as_str()
        .unwrap()
        .ends_with("keep alive timeout"));
    assert_eq!(finding["incidents"][0]["causes"][0]["id"], "etcd-slow-disk");
}

#[test]
fn oversized_pair_ranks_request_size_first_and_discounts_the_disk() {
    let (doc, _) = run(&[
        "testdata/pairs/oversized-meta.log",
        "testdata/pairs/oversized-etcd-0.log",
    ]);
    let finding = lease_lost(&doc);
    let ranked = ranking(finding);
    assert_eq!(
        ranked[0],
        ("etcd-oversized-requests".into(), "likely".into())
    );
    let disk = cause(finding, "etcd-slow-disk");
    assert_eq!(
        disk["verdict"], "weak",
        "meta-side timeouts alone, etcd's log clean"
    );
    assert!(disk["reasoning"]
        .as_str()
        .unwrap()
        .contains("shows none of its own warnings"));
    assert!(finding["diagnosis"]
        .as_str()
        .unwrap()
        .contains("30 s (half the 60 s lease, as set in the `> config:` line)"));
    // Remedies: the single-node lease first, then the request limits.
    let remedies: Vec<&str> = finding["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert!(
        remedies[0].starts_with("Only one meta node (rw-meta-0.rw-meta:5690)"),
        "{remedies:?}"
    );
    assert!(remedies[1].contains("request limits"), "{remedies:?}");
}

#[test]
fn connection_pair_blames_the_connection_and_rules_out_the_disk() {
    let (doc, _) = run(&[
        "testdata/pairs/connection-meta.log",
        "testdata/pairs/connection-etcd-0.log",
    ]);
    let finding = lease_lost(&doc);
    assert_eq!(
        ranking(finding)[0],
        ("etcd-unreachable".into(), "likely".into())
    );
    let disk = cause(finding, "etcd-slow-disk");
    assert_eq!(disk["verdict"], "unlikely");
    assert!(disk["reasoning"]
        .as_str()
        .unwrap()
        .contains("covers the incident and shows none of"));
    let unreachable = cause(finding, "etcd-unreachable");
    let signals: Vec<&str> = unreachable["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert!(
        signals.contains(&"etcd_connection_broken") && signals.contains(&"etcd_no_leader"),
        "{signals:?}"
    );
}

#[test]
fn without_an_etcd_log_the_report_asks_for_it() {
    let (doc, _) = run(&["testdata/pairs/no-etcd-meta.log"]);
    let finding = lease_lost(&doc);
    let disk = &finding["causes"][0];
    assert_eq!(disk["id"], "etcd-slow-disk");
    assert_eq!(
        disk["verdict"], "possible",
        "only `request timed out` from the meta side"
    );
    assert!(disk["reasoning"]
        .as_str()
        .unwrap()
        .contains("no etcd log given"));
    assert!(disk["to_check"]
        .as_str()
        .unwrap()
        .contains("pass etcd's log too"));
    // Nothing is dropped: every cause is listed, unproven ones as such.
    assert_eq!(finding["causes"].as_array().unwrap().len(), 4);
    assert_eq!(
        cause(finding, "etcd-unreachable")["verdict"],
        "not ruled out"
    );
}

#[test]
fn cluster_facts_are_read_from_the_logs() {
    let (doc, _) = run(&["testdata/sample-incident.log"]);
    let cluster = &doc["summary"]["cluster"];
    assert_eq!(cluster["version"], "1.9.1");
    assert_eq!(cluster["election_backend"], "etcd");
    assert_eq!(cluster["lease_secs"], 30);
    assert_eq!(cluster["lease_source"], "config");
    assert_eq!(
        cluster["meta_members"],
        serde_json::json!(["rw-meta-0.rw-meta:5690"])
    );
    // No version line: guessed from the election target.
    let (doc, _) = run(&["testdata/grep-excerpt.txt"]);
    assert_eq!(doc["summary"]["cluster"]["version"], "v0.1.16–v1.2");
    // SQL backend from v2.1: the report says etcd is gone.
    let out = rwdoctor()
        .args(["-v", "testdata/sql-election-lost.log"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("the election runs on the SQL meta store, not etcd"),
        "{text}"
    );
}

/// The sample incident three times, 20 minutes apart: three restarts.
fn three_restarts() -> tempfile::NamedTempFile {
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap();
    let mut text = String::new();
    for shift in [0i64, 20, 40] {
        for line in sample.lines() {
            let (ts, rest) = line.split_once(' ').unwrap();
            let time = chrono::DateTime::parse_from_rfc3339(ts).unwrap()
                + chrono::Duration::minutes(shift);
            text.push_str(&format!(
                "{} {rest}\n",
                time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ));
        }
    }
    let file = tempfile::Builder::new().suffix(".log").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn each_restart_is_its_own_incident_and_since_until_limit_the_scan() {
    let log = three_restarts();
    let path = log.path().to_str().unwrap();
    let (doc, _) = run(&[path]);
    let finding = lease_lost(&doc);
    assert_eq!(finding["count"], 3);
    let starts: Vec<&str> = finding["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["first_seen"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2024-02-11T06:05:06.387Z",
            "2024-02-11T06:25:06.387Z",
            "2024-02-11T06:45:06.387Z"
        ]
    );
    let (doc, _) = run(&["--since", "2024-02-11T06:20:00Z", path]);
    assert_eq!(lease_lost(&doc)["count"], 2);
    assert!(doc["summary"]["outside_time_range"].as_u64().unwrap() > 0);
    let (doc, _) = run(&[
        "--since",
        "2024-02-11T06:20:00Z",
        "--until",
        "2024-02-11T06:30:00+00:00",
        path,
    ]);
    assert_eq!(lease_lost(&doc)["count"], 1);
    // A relative --since counts back from now: these 2024 logs are older,
    // so nothing was checked (exit 3, not an all-clear).
    let (doc, code) = run(&["--since", "2h", path]);
    assert!(doc["findings"].as_array().unwrap().is_empty());
    assert_eq!(code, 3);
    let out = rwdoctor()
        .args(["--since", "yesterday", path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid time `yesterday`"));
}

/// The finding of `rule` on one sample: (top cause id, first remedy text).
fn top_cause_and_first_remedy(file: &str, rule: &str) -> (String, String) {
    let (doc, code) = run(&[file]);
    assert_eq!(code, 1, "{file}");
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("{file}: no {rule} finding"));
    (
        finding["causes"][0]["id"].as_str().unwrap().to_string(),
        finding["remedies"][0]["text"].as_str().unwrap().to_string(),
    )
}

#[test]
fn sql_meta_store_samples_name_the_cause_and_what_to_do() {
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "testdata/meta-store-pg-down.log",
            "meta-store-unreachable",
            "database-down",
            "Bring the database back",
        ),
        (
            "testdata/meta-store-in-memory-v2.1.log",
            "meta-store-unreachable",
            "in-memory-store",
            "Start the meta node on a persistent store",
        ),
        (
            "testdata/meta-store-pg-hba-v2.6.log",
            "meta-store-unreachable",
            "auth-or-network-rules",
            "Make the database accept the meta pods again",
        ),
        (
            "testdata/meta-startup-migration-v2.1.log",
            "meta-startup-failed",
            "migration-mismatch",
            "Run the release that wrote the metadata",
        ),
        (
            "testdata/meta-startup-object-store-v3.0.log",
            "meta-startup-failed",
            "object-store",
            "Fix the state store",
        ),
        (
            "testdata/sql-election-timeout-follower-v2.6.log",
            "meta-sql-election-lost",
            "sql-meta-store-slow",
            "Give the meta-store database enough CPU",
        ),
        (
            "testdata/sql-leader-changed.log",
            "meta-sql-election-lost",
            "was-leader",
            "Check that the new leader took over",
        ),
    ];
    for (file, rule, cause, remedy) in cases {
        let (top, first) = top_cause_and_first_remedy(file, rule);
        assert_eq!(top, cause, "{file}");
        assert!(first.starts_with(remedy), "{file}: {first}");
    }
}

#[test]
fn sql_election_exits_tell_leader_from_follower() {
    let verdicts = |file: &str| {
        let (doc, _) = run(&[file]);
        let finding = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "meta-sql-election-lost")
            .expect("an election finding")
            .clone();
        let verdict = |id: &str| cause(&finding, id)["verdict"].as_str().unwrap().to_string();
        (verdict("was-leader"), verdict("was-follower"))
    };
    let (leader, follower) = verdicts("testdata/sql-election-timeout-leader-v3.0.log");
    assert_eq!(leader, "likely");
    assert_eq!(follower, "not ruled out");
    let (leader, follower) = verdicts("testdata/sql-election-timeout-follower-v2.6.log");
    assert_eq!(leader, "not ruled out");
    assert_eq!(follower, "possible");
    // The human report says the exit is on purpose, with code 0, and names
    // the version the log comes from.
    let out = rwdoctor()
        .args(["-v", "testdata/sql-election-timeout-follower-v2.6.log"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for phrase in [
        "RisingWave 2.6.1",
        "exits with code 0",
        "It was a follower: only this standby restarted",
        "It is not a crash",
    ] {
        assert!(text.contains(phrase), "{phrase}: {text}");
    }
}

#[test]
fn a_start_up_panic_reads_its_cause_from_the_message() {
    let out = rwdoctor()
        .args(["-v", "testdata/meta-startup-migration-v2.1.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for phrase in [
        "The meta node could not start",
        "1. The meta store holds metadata from another release (likely",
        "RisingWave 2.1.3",
        "2.0.6 -> 2.1.5",
    ] {
        assert!(text.contains(phrase), "{phrase}: {text}");
    }
}

#[test]
fn only_lines_of_election_rules_count_as_election_lines() {
    // The meta node's heartbeat and worker lines match rules of their own
    // (a node lost), but none of them is about the meta node's election.
    let (doc, _) = run(&["testdata/cluster/node-lost-meta-v2.5.log"]);
    assert_eq!(doc["summary"]["inputs"][0]["election_lines"], 0, "{doc}");
    // The SQL election's error lines are.
    let (doc, _) = run(&["testdata/meta-store-pg-down.log"]);
    assert!(
        doc["summary"]["inputs"][0]["election_lines"]
            .as_u64()
            .unwrap()
            > 0,
        "{doc}"
    );
}

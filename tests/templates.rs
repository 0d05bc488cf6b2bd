//! `rwdoctor templates`: one id per event in every shape, exact counts,
//! line lists, and any log grouped.
use crate::common::{run, rwdoctor};
use serde_json::Value;
use std::collections::BTreeMap;

fn templates(args: &[&str]) -> Value {
    let out = rwdoctor()
        .args(["templates", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// id → count.
fn counts(doc: &Value) -> BTreeMap<String, u64> {
    doc["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_shape_gives_the_same_templates_as_the_plain_text() {
    let plain = counts(&templates(&[
        "--all-levels",
        "testdata/sample-incident.log",
    ]));
    assert_eq!(plain.len(), 34);
    for shape in [
        "cloud-json.log",
        "pretty.log",
        "kubectl-prefix-timestamps.log",
        "ansi-tty.log",
        "journald.log",
    ] {
        let doc = templates(&["--all-levels", &format!("testdata/shapes/{shape}")]);
        assert_eq!(counts(&doc), plain, "{shape}");
    }
}

#[test]
fn warn_and_error_by_default_with_lines_and_first_example() {
    let doc = templates(&["--lines", "testdata/sample-incident.log"]);
    let list = doc["templates"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let first = &list[0];
    assert_eq!(first["count"], 4);
    assert_eq!(first["level"], "ERROR");
    assert_eq!(first["target"], "risingwave_meta::rpc::election::etcd");
    assert_eq!(
        first["template"],
        "lease keeper failed error=grpc request error: status: Unavailable message=\"etcdserver: request timed out, waiting for the applied index took too long\""
    );
    assert_eq!(first["lines"], serde_json::json!([55, 56, 58, 59]));
    assert_eq!(first["example"]["line"], 55);
    assert_eq!(first["example"]["source"], "testdata/sample-incident.log");
    assert_eq!(first["first_seen"], "2024-02-11T06:04:51.384684+00:00");
    assert!(list.iter().all(|t| t["id"].as_str().unwrap().len() == 12));
    let without = templates(&["testdata/sample-incident.log"]);
    assert!(without["templates"][0].get("lines").is_none());
}

#[test]
fn any_log_is_grouped_and_the_human_table_names_each_template() {
    let (out, _, code) = run(&["templates", "testdata/not-a-log.txt"]);
    assert_eq!(code, 0);
    assert!(out.contains("template"), "{out}");
    let (out, _, code) = run(&["templates", "testdata/sample-incident.log"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("4 templates in 7 lines"), "{out}");
    assert!(out.contains("lease <*> keep alive timeout"), "{out}");
    assert!(
        out.contains("first at testdata/sample-incident.log:55"),
        "{out}"
    );
    let (_, err, code) = run(&["templates", "testdata/no-such-file.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-file.log"), "{err}");
}

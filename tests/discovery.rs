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

#[test]
fn root_causes_come_first_and_healthy_logs_show_nothing_new() {
    let text = std::fs::read_to_string("testdata/discovery/cases.json").unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let (mut labelled, mut found) = (0, 0);
    let mut report = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let rows = case_rows(case);
        let new_alerts = rows.iter().filter(|r| is_new_alert(r)).count();
        let name = case["name"].as_str().unwrap();
        assert!(
            new_alerts <= 10,
            "{name}: {new_alerts} new WARN/ERROR templates"
        );
        match case["root_cause"].as_str() {
            None => assert_eq!(new_alerts, 0, "{name}: healthy against healthy"),
            Some(cause) => {
                labelled += 1;
                // The example line holds the unmasked text of the template.
                let rank = rows.iter().take(10).position(|r| {
                    r["template"].as_str().unwrap().contains(cause)
                        || r["example"]["text"].as_str().unwrap().contains(cause)
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
        "{found}/{labelled}: {report:#?}"
    );
}

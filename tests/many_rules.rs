//! A rule pack of thousands of rules (issue 13): the matcher must build in
//! about linear time and memory, keep a literal for every signal, and find
//! exactly the rules whose lines are in the log. (Debug build: a few
//! seconds; 2,000 rules took 4 s and 412 MiB in a release build before.)
use crate::common::run;
use rwdoctor::matcher::Matcher;
use rwdoctor::rules::RuleSet;
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

/// 1,000 rules as in the probe's reproduction (`probe literal number 00042
/// xyz`: every literal shares 24 bytes with nine others, and they all merge
/// into one prefilter anchor), then 1,000 whose literals share nothing
/// (`rule 3c6f239bb21b9349 failed`: 1,000 anchors, past Teddy's 64).
const MERGING: usize = 1000;
const DISTINCT: usize = 1000;

fn regex_of(rule: usize) -> String {
    if rule < MERGING {
        format!("probe literal number {rule:05} xyz")
    } else {
        let x = (rule as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
        format!("rule {:016x} failed", x.wrapping_mul(0xbf58_476d_1ce4_e5b9))
    }
}

fn write_rules(dir: &Path) {
    for rule in 0..MERGING + DISTINCT {
        let text = serde_json::json!({
            "id": format!("many-{rule:05}"),
            "severity": "error",
            "title": "t",
            "diagnosis": "d",
            "docs": ["https://example.com"],
            "signals": {"s1": {"regex": regex_of(rule), "describe": "d"}},
            "match": {"type": "any", "signals": ["s1"]},
            "causes": [],
            "remedies": [{"text": "t", "docs": ["https://example.com"]}],
            "tests": {"match": [], "no_match": [], "scenarios": []}
        });
        std::fs::write(dir.join(format!("r{rule:05}.json")), text.to_string()).unwrap();
    }
}

fn line(message: &str) -> String {
    format!("2024-02-11T06:05:06.387433Z ERROR risingwave_meta::probe: {message}\n")
}

#[test]
fn two_thousand_rules_build_a_matcher_and_find_exactly_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir(&rules_dir).unwrap();
    write_rules(&rules_dir);

    let rules = RuleSet::load(std::slice::from_ref(&rules_dir));
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let started = Instant::now();
    let matcher = Matcher::new(&rules);
    let built = started.elapsed();
    // Before issue 13 this took 4 s in a release build; now a few ms.
    assert!(built.as_secs() < 2, "building the matcher took {built:?}");
    // Every signal keeps its literal (none is checked on every line), and
    // the merging literals share one anchor.
    assert_eq!(matcher.unfiltered_count(), 0);
    // The built-in pack's anchors come on top (past 64 since the cluster
    // rules), and the merging literals share one.
    let builtin = Matcher::new(&RuleSet::load(&[])).anchors().len();
    let anchors = matcher.anchors().len();
    assert!(
        (DISTINCT..=DISTINCT + builtin + 1).contains(&anchors),
        "{anchors} anchors ({builtin} built in)"
    );

    // Lines for a few rules of each kind, and near misses of others.
    let hit = [
        0,
        7,
        999,
        MERGING,
        MERGING + 1234 % DISTINCT,
        MERGING + DISTINCT - 1,
    ];
    let mut log = String::new();
    for (n, &rule) in hit.iter().enumerate() {
        log.push_str(&line(&format!("starting node {n}")));
        log.push_str(&line(&format!("something {} happened", regex_of(rule))));
    }
    log.push_str(&line("probe literal number 00042 xyq"));
    log.push_str(&line("probe literal number 0004 xyz"));
    log.push_str(&line(&regex_of(MERGING + 5).replace("failed", "fails")));
    let log_path = dir.path().join("meta.log");
    std::fs::write(&log_path, log).unwrap();

    let (out, err, code) = run(&[
        "--rules",
        rules_dir.to_str().unwrap(),
        "--format",
        "json",
        log_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let mut found: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    let mut expected: Vec<String> = hit.iter().map(|r| format!("many-{r:05}")).collect();
    expected.sort();
    assert_eq!(found, expected);
}

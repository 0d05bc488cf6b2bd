//! The labelled RisingWave grouping set (testdata/grouping/, built by
//! bench/rw_grouping_gen.py from RisingWave's own format strings): grouping
//! accuracy at least 0.95, on the whole set and in every shape, and one
//! template id per event across shapes.
use crate::common::rwdoctor;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// line number → template id, from `rwdoctor templates --lines`.
fn ids(path: &str) -> HashMap<u64, String> {
    let out = rwdoctor()
        .args([
            "templates",
            "--all-levels",
            "--lines",
            "--format",
            "json",
            path,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{path}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids = HashMap::new();
    for t in doc["templates"].as_array().unwrap() {
        for line in t["lines"].as_array().unwrap() {
            ids.insert(
                line.as_u64().unwrap(),
                t["id"].as_str().unwrap().to_string(),
            );
        }
    }
    ids
}

/// The truth rows of a record's first line: (line, event + error chain, shape).
fn truth(path: &str) -> Vec<(u64, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|row| {
            let cols: Vec<&str> = row.split('\t').collect();
            (cols[1] != "-").then(|| {
                (
                    cols[0].parse().unwrap(),
                    format!("{}/{}", cols[1], cols[2]),
                    cols[3].to_string(),
                )
            })
        })
        .collect()
}

/// Grouping accuracy (as in bench/loghub_ga.py): a record counts when the
/// group it was put in holds exactly the records of its true event.
fn grouping_accuracy(rows: &[&(u64, String, String)], ids: &HashMap<u64, String>) -> f64 {
    let predicted = |line: u64| ids.get(&line).cloned().unwrap_or(format!("unmined {line}"));
    let mut by_truth: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let mut by_id: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (line, event, _) in rows {
        by_truth.entry(event).or_default().insert(*line);
        by_id.entry(predicted(*line)).or_default().insert(*line);
    }
    let correct: usize = by_truth
        .values()
        .filter(|lines| {
            let first = *lines.iter().next().unwrap();
            by_id[&predicted(first)] == **lines
        })
        .map(BTreeSet::len)
        .sum();
    correct as f64 / rows.len() as f64
}

#[test]
fn the_labelled_risingwave_set_is_grouped_with_accuracy_at_least_0_95() {
    let rows = truth("testdata/grouping/rw-labelled.truth.tsv");
    assert!(rows.len() >= 2000, "{}", rows.len());
    let ids = ids("testdata/grouping/rw-labelled.log");
    let all: Vec<_> = rows.iter().collect();
    let ga = grouping_accuracy(&all, &ids);
    assert!(ga >= 0.95, "grouping accuracy {ga:.3}");
    let shapes: BTreeSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(shapes.len(), 7, "{shapes:?}");
    for shape in shapes {
        let some: Vec<_> = rows.iter().filter(|r| r.2 == shape).collect();
        let ga = grouping_accuracy(&some, &ids);
        assert!(ga >= 0.95, "{shape}: grouping accuracy {ga:.3}");
    }
}

#[test]
fn every_event_gets_one_id_in_every_shape() {
    let rows = truth("testdata/grouping/rw-shapes.truth.tsv");
    let ids = ids("testdata/grouping/rw-shapes.log");
    let mut per_event: BTreeMap<&str, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
    for (line, event, shape) in &rows {
        let id = ids.get(line).cloned().unwrap_or_default();
        per_event
            .entry(event)
            .or_default()
            .entry(id)
            .or_default()
            .push(shape);
    }
    assert!(per_event.len() >= 250, "{}", per_event.len());
    for (event, by_id) in &per_event {
        assert_eq!(by_id.len(), 1, "{event} has several ids: {by_id:?}");
        assert_eq!(by_id.values().next().unwrap().len(), 7, "{event}");
    }
    // And distinct events keep distinct ids.
    let distinct: BTreeSet<&String> = per_event.values().flat_map(|m| m.keys()).collect();
    assert_eq!(distinct.len(), per_event.len());
}

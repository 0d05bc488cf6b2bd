//! The false all-clear suite: exit 0 promises "these logs show no failure".
//! Each case here would once have hidden an incident behind exit 0 (a time
//! window, an output over an input, a cut line, a shrinking file, a device);
//! now it gives the finding, or exit 2 or 3 with the reason in words.
use crate::common::{json_of, run};

const SAMPLE: &str = "testdata/sample-incident.log";

#[test]
fn a_window_that_leaves_every_line_out_is_inconclusive_not_clean() {
    // The sample ends in 2024: `--since 1h` leaves all 64 lines out.
    let (doc, code) = json_of(&["--since", "1h", SAMPLE]);
    assert_eq!(code, 3);
    let verdict = doc["summary"]["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("all 64 lines are before --since"),
        "{verdict}"
    );
    assert!(verdict.contains("nothing was checked"), "{verdict}");
    assert_eq!(doc["summary"]["time_window"]["all_lines_outside"], true);

    let (out, _, code) = run(&["--until", "2020-01-01T00:00:00Z", SAMPLE]);
    assert_eq!(code, 3);
    assert!(!out.contains("No known failure found"), "{out}");
    assert!(out.contains("are after --until"), "{out}");
}

#[test]
fn a_window_with_no_matching_line_in_it_is_inconclusive() {
    // Lines on both sides of a window between the startup and the failure:
    // the window overlaps the log, but every matching line is outside it.
    let (doc, code) = json_of(&[
        "--since",
        "2024-02-11T05:58:03Z",
        "--until",
        "2024-02-11T05:58:04Z",
        SAMPLE,
    ]);
    assert_eq!(code, 3, "{}", doc["summary"]);
    let summary = &doc["summary"];
    assert_eq!(summary["time_window"]["matching_lines_checked"], 0);
    assert!(summary["verdict"]
        .as_str()
        .unwrap()
        .contains("no matching line is within"));
}

#[test]
fn a_window_that_keeps_the_failure_is_named_in_the_verdict() {
    let (doc, code) = json_of(&["--since", "2024-02-11T06:05:00Z", SAMPLE]);
    assert_eq!(code, 1);
    let summary = &doc["summary"];
    let verdict = summary["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("only lines within --since 2024-02-11T06:05:00Z were checked"),
        "{verdict}"
    );
    let left_out = summary["outside_time_range"].as_u64().unwrap();
    assert!(left_out > 0);
    assert_eq!(summary["time_window"]["matching_lines_left_out"], left_out);
}

#[test]
fn an_inverted_window_or_a_time_without_zone_is_an_error() {
    let (_, err, code) = run(&[
        "--since",
        "2024-02-11T07:00:00Z",
        "--until",
        "2024-02-11T05:00:00Z",
        SAMPLE,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("is after --until"), "{err}");
    let (_, err, code) = run(&["--since", "2024-02-11T06:00:00", SAMPLE]);
    assert_eq!(code, 2);
    assert!(err.contains("has no zone"), "{err}");
}

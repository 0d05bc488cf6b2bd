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
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("are after --until"), "{out}");
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

/// A scratch directory holding a copy of the sample as `name`.
fn scratch_with(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(SAMPLE, &path).unwrap();
    (dir, path)
}

fn sample_bytes() -> Vec<u8> {
    std::fs::read(SAMPLE).unwrap()
}

#[test]
fn an_output_never_overwrites_an_input_by_hard_link_directory_or_stdin() {
    // A hard link to the input.
    let (dir, log) = scratch_with("v.log");
    let link = dir.path().join("v-hard.log");
    std::fs::hard_link(&log, &link).unwrap();
    let (_, err, code) = run(&[
        "--format",
        "json",
        "--output",
        link.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not overwriting it"), "{err}");
    assert_eq!(std::fs::read(&log).unwrap(), sample_bytes());

    // A file found inside an input directory.
    let (dir, inside) = scratch_with("a.log");
    let (_, err, code) = run(&[
        "--format",
        "json",
        "--output",
        inside.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&inside).unwrap(), sample_bytes());

    // The file behind a redirected stdin.
    let (_dir, behind) = scratch_with("v2.log");
    let out = crate::common::rwdoctor()
        .args(["--format", "json", "--output", "/dev/stdin"])
        .pipe_stdin(&behind)
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&behind).unwrap(), sample_bytes());
}

#[test]
fn a_report_is_written_beside_its_target_and_renamed_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(&report, "previous report").unwrap();
    // A refused run (an invalid argument) leaves the previous report whole,
    // and a successful one replaces it with no temporary file left behind.
    let (_, _, code) = run(&[
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        "--since",
        "nonsense",
        SAMPLE,
    ]);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "previous report");
    let (_, _, code) = run(&[
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        SAMPLE,
    ]);
    assert_eq!(code, 1);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["summary"]["exit_code"], 1);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.json"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_closed_stdout_is_an_error_not_a_silent_loss() {
    let bin = assert_cmd::cargo::cargo_bin("rwdoctor");
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" \"$1\" >&-"])
        .arg(&bin)
        .arg(SAMPLE)
        .env_remove("CI")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdout: it is closed"));
    // `> /dev/null` is a choice, not a loss.
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" \"$1\" > /dev/null"])
        .arg(&bin)
        .arg(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn a_character_device_named_as_an_input_is_refused_not_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("meta.log");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let (_, err, code) = run(&[link.to_str().unwrap(), SAMPLE]);
    assert_eq!(code, 2);
    assert!(err.contains("is a character device"), "{err}");
}

#[test]
fn a_clean_scan_with_a_cut_line_is_inconclusive() {
    // A failure-free log with one line over the 256 KiB limit: what was cut
    // off was not searched, so the verdict cannot be clean.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("long.log");
    let mut text = String::from(
        "2024-02-11T06:00:00.000000Z  INFO risingwave_meta::hummock::manager: compaction task finished task_id=1 ",
    );
    text.push_str(&"x".repeat(300 * 1024));
    text.push_str("\n2024-02-11T06:00:01.000000Z  INFO risingwave_meta::hummock::manager: compaction task finished task_id=2\n");
    std::fs::write(&log, text).unwrap();
    let (doc, code) = json_of(&[log.to_str().unwrap()]);
    assert_eq!(code, 3, "{}", doc["summary"]);
    let verdict = doc["summary"]["verdict"].as_str().unwrap();
    assert!(verdict.contains("1 line over 256 KiB was cut"), "{verdict}");
}

/// A flapping leader: `n` lease losses ten minutes apart, 2 lines each.
fn flapping(n: u64) -> String {
    let mut text = String::new();
    for i in 0..n {
        let (h, m) = (i * 10 / 60, i * 10 % 60);
        let t = format!("2024-02-{:02}T{:02}:{m:02}:15.000000Z", 11 + h / 24, h % 24);
        text.push_str(&format!(
            "{t} ERROR risingwave_meta::rpc::election::etcd: lease {} keep alive timeout\n",
            7587003312299851199 + i
        ));
        text.push_str(&format!(
            "{t}  WARN risingwave_meta::rpc::election::etcd: client rw-meta-0.rw-meta:5690 lost leadership\n"
        ));
    }
    text
}

#[test]
fn counts_stay_exact_past_the_caps() {
    // 300 incidents of 2 lines: 100 are kept in detail, 24 lines listed.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("flapping.log");
    std::fs::write(&log, flapping(300)).unwrap();
    let (doc, code) = json_of(&[log.to_str().unwrap()]);
    assert_eq!(code, 1);
    let finding = &doc["findings"][0];
    assert_eq!(finding["count"], 300);
    let matched = finding["matched_lines"].as_u64().unwrap();
    let listed = finding["evidence"].as_array().unwrap().len() as u64;
    assert_eq!(
        finding["evidence_omitted"].as_u64().unwrap(),
        matched - listed
    );
    let kept = finding["incidents"].as_array().unwrap().len() as u64;
    assert_eq!(kept, 100);
    assert_eq!(finding["incidents_omitted"], 300 - kept);
}

/// `rwdoctor` alone on a terminal (a pty from util-linux `script`, when it
/// is installed): a hint on stderr, and one Ctrl-D ends it.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_on_stdin_gets_a_hint_and_one_ctrl_d_ends_it() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("rwdoctor");
    let mut child = Command::new("script")
        .args(["-qec", bin.to_str().unwrap(), "/dev/null"])
        .env_remove("CI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(b"\x04").unwrap();
    stdin.flush().unwrap();
    let waited = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reading logs from the terminal"), "{text}");
    assert!(text.contains("exit 3"), "{text}");
    assert!(waited.elapsed() < std::time::Duration::from_secs(60));
}

/// `timeout` sends two signals (to the process, then its group): the
/// second must not drop the findings still to come and the summary.
#[cfg(unix)]
#[test]
fn a_repeat_signal_keeps_the_summary_of_follow() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("rwdoctor"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--follow", "--format", "jsonl", SAMPLE])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"type\":\"finding\""), "{first}");
    let pid = child.id().to_string();
    for _ in 0..2 {
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert!(
        rest.last()
            .is_some_and(|l| l.contains("\"type\":\"summary\"")),
        "{rest:?}"
    );
}

/// `--follow FILE` across a rename rotation (`tail -F`): the old file is
/// finished, the new one read from its start and cited under its own name;
/// a deleted file ends the run with a note.
#[cfg(unix)]
#[test]
fn follow_survives_a_rename_rotation_and_stops_when_the_file_is_deleted() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let part = |range: std::ops::Range<usize>| -> String {
        lines[range].iter().map(|l| format!("{l}\n")).collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.log");
    std::fs::write(&log, part(0..40)).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("rwdoctor"))
        .args(["--follow", "--format", "jsonl", log.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::rename(&log, dir.path().join("r.log.1")).unwrap();
    std::fs::write(&log, part(40..64)).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    std::fs::remove_file(&log).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("was rotated"), "{stderr}");
    assert!(stderr.contains("was deleted while followed"), "{stderr}");
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lost = docs
        .iter()
        .find(|d| d["rule"] == "meta-leader-lease-lost")
        .expect("the critical finding after the rotation");
    let cited = lost["evidence"][0]["source"].as_str().unwrap();
    assert!(cited.ends_with("r.log (after rotation 1)"), "{cited}");
    let summary = docs.last().unwrap();
    let inputs = summary["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["lines"], 40);
    assert_eq!(inputs[1]["lines"], 24);
}

#[test]
fn follow_prints_later_incidents_of_a_rule_in_short() {
    // 300 incidents: the first in full, the others in a line or two, so the
    // output grows with the findings, not with their text.
    let out = crate::common::rwdoctor()
        .args(["--follow", "--format", "jsonl"])
        .write_stdin(flapping(300))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 301);
    assert!(docs[0].get("same_as_incident").is_none());
    assert!(!docs[0]["causes"].as_array().unwrap().is_empty());
    assert_eq!(docs[1]["same_as_incident"], 1);
    assert!(docs[1]["causes"].as_array().unwrap().is_empty());
    let full = serde_json::to_string(&docs[0]).unwrap().len();
    let brief = serde_json::to_string(&docs[1]).unwrap().len();
    assert!(brief * 3 < full, "{brief} vs {full}");

    let out = crate::common::rwdoctor()
        .arg("--follow")
        .write_stdin(flapping(300))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("meta-leader-lease-lost again at").count(), 299);
    assert!(text.len() < 100 * 1024, "{} bytes", text.len());
}

#[test]
fn a_json_message_after_a_huge_field_is_still_searched() {
    // One line cut by the line reader (over its 1 MiB buffer), one by the
    // scanner (between 256 KiB and 1 MiB): both hold the lease loss in a
    // `message` after the blob.
    for blob in [2 << 20, 500 << 10] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("json.log");
        let text = format!(
            "{{\"timestamp\":\"2024-02-11T06:05:06.386Z\",\"level\":\"ERROR\",\"fields\":{{\"blob\":\"{}\",\"message\":\"lease 7587003312299851199 keep alive timeout\"}},\"target\":\"risingwave_meta::rpc::election::etcd\"}}\n\
             {{\"timestamp\":\"2024-02-11T06:05:06.388Z\",\"level\":\"WARN\",\"fields\":{{\"message\":\"client rw-meta-0 lost leadership\"}},\"target\":\"risingwave_meta::rpc::election::etcd\"}}\n",
            "A".repeat(blob)
        );
        std::fs::write(&log, text).unwrap();
        let (doc, code) = json_of(&[log.to_str().unwrap()]);
        assert_eq!(code, 1, "{blob}: {}", doc["summary"]);
        assert_eq!(doc["findings"][0]["rule"], "meta-leader-lease-lost");
        let input = &doc["summary"]["inputs"][0];
        assert_eq!(
            (
                input["truncated_lines"].as_u64(),
                input["shortened_lines"].as_u64()
            ),
            (Some(0), Some(1))
        );
    }
}

#[test]
fn a_previous_report_in_an_input_directory_is_skipped_and_replaced() {
    // `--output logs/report.json logs/`, run twice: the second run neither
    // reads the first report nor refuses to replace it.
    let (dir, _) = scratch_with("meta.log");
    let report = dir.path().join("report.json");
    for _ in 0..2 {
        let (_, err, code) = run(&[
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{err}");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let inputs = doc["summary"]["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 1, "{inputs:?}");
    }
}

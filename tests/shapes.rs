//! Every log shape users hand us gives the same diagnosis as the plain text
//! of the same incident (`testdata/sample-incident.log`).
use crate::common::{self, rwdoctor};
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;

fn run_json(args: &[&str], stdin: Option<Vec<u8>>) -> (Value, i32) {
    let mut cmd = rwdoctor();
    cmd.arg("--format").arg("json").args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (doc, out.status.code().unwrap())
}

/// What must not change between shapes: rules, incident counts, evidence
/// line numbers and the ranked causes with their confidence.
type Diagnosis = (String, u64, Vec<u64>, Vec<(String, String)>);

fn diagnosis(doc: &Value) -> Vec<Diagnosis> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                common::evidence_lines(f),
                f["causes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        (
                            c["id"].as_str().unwrap().to_string(),
                            c["confidence"].to_string(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn plain() -> Value {
    run_json(&["testdata/sample-incident.log"], None).0
}

#[test]
fn single_line_shapes_match_the_plain_text_line_for_line() {
    let reference = diagnosis(&plain());
    for (file, shape, origin) in [
        ("cloud-json.log", "RisingWave JSON", None),
        (
            "kubectl-prefix-timestamps.log",
            "RisingWave text",
            Some("rw-meta-0"),
        ),
        ("ansi-tty.log", "RisingWave text", None),
        ("cri.log", "RisingWave text", None),
        ("journald.log", "RisingWave text", Some("node-3 risingwave")),
    ] {
        let (doc, code) = run_json(&[&format!("testdata/shapes/{file}")], None);
        assert_eq!(code, 1, "{file}");
        assert_eq!(diagnosis(&doc), reference, "{file}");
        let input = &doc["summary"]["inputs"][0];
        assert_eq!(input["shapes"][shape], 64, "{file}: {input}");
        assert_eq!(input["recognised"], 64, "{file}");
        let evidence = &doc["findings"][0]["evidence"][0];
        assert_eq!(
            evidence.get("origin").and_then(Value::as_str),
            origin,
            "{file}"
        );
        assert!(
            evidence["message"]
                .as_str()
                .unwrap()
                .ends_with("keep alive timeout"),
            "{file}"
        );
    }
}

#[test]
fn pretty_events_fold_and_point_at_their_head_line() {
    let (doc, code) = run_json(&["testdata/shapes/pretty.log"], None);
    assert_eq!(code, 1);
    // Each plain line became a 4-line event; evidence names the head line.
    let reference: Vec<_> = diagnosis(&plain())
        .into_iter()
        .map(|(rule, n, lines, causes)| {
            (
                rule,
                n,
                lines.iter().map(|l| (l - 1) * 4 + 1).collect::<Vec<_>>(),
                causes,
            )
        })
        .collect();
    assert_eq!(diagnosis(&doc), reference);
    let input = &doc["summary"]["inputs"][0];
    assert_eq!(input["lines"], 256);
    assert_eq!(
        input["recognised"], 256,
        "continuation and blank lines belong to their event"
    );
    assert_eq!(input["events"], 64);
    assert_eq!(input["shapes"]["RisingWave pretty"], 64);
}

#[test]
fn compose_logs_mix_meta_and_etcd_and_line_up_their_clocks() {
    let (doc, code) = run_json(&["testdata/shapes/compose-meta-etcd.log"], None);
    assert_eq!(code, 1);
    let input = &doc["summary"]["inputs"][0];
    assert_eq!(input["shapes"]["RisingWave text"], 64);
    assert_eq!(input["shapes"]["etcd JSON"], 4);
    assert_eq!(
        input["origins"],
        serde_json::json!(["meta-node-0", "etcd-0"])
    );
    let lease = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "meta-leader-lease-lost")
        .unwrap();
    // etcd's +08:00 clock lines up with meta's UTC one: its slow fsync
    // 16 s before the lease loss is cause evidence.
    let disk = &lease["causes"][0];
    assert_eq!(disk["id"], "etcd-slow-disk");
    let signals: Vec<&str> = disk["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert!(
        signals.contains(&"etcd_slow_fsync") && signals.contains(&"etcd_heartbeat_late"),
        "{signals:?}"
    );
    let fsync = disk["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["signal"] == "etcd_slow_fsync")
        .unwrap();
    assert_eq!(fsync["example"]["origin"], "etcd-0");
    assert_eq!(fsync["example"]["timestamp"], "2024-02-11T06:04:49.903Z");
}

#[test]
fn journald_etcd_without_a_year_says_what_it_assumed() {
    let (doc, _) = run_json(&["testdata/shapes/journald-etcd-v3.4.log"], None);
    let input = &doc["summary"]["inputs"][0];
    assert_eq!(
        input["shapes"]["journalctl"], 5,
        "the systemd line is not etcd's"
    );
    let note = input["notes"][0].as_str().unwrap();
    assert!(
        note.contains("journalctl timestamps carry no year"),
        "{note}"
    );
    assert_eq!(doc["findings"][0]["rule"], "etcd-slow-disk");
    assert_eq!(
        doc["findings"][0]["evidence"][0]["origin"],
        "etcd-host-1 etcd"
    );
}

/// The wrappers of §6, applied innermost first.
fn wrap(line: &str, wrappers: u32) -> String {
    let ts = line.split(' ').next().unwrap_or("");
    let mut out = line.to_string();
    if wrappers & 1 != 0 {
        // ANSI colours as `docker run -it` writes them.
        out = out
            .replacen(ts, &format!("\x1b[2m{ts}\x1b[0m"), 1)
            .replacen(" ERROR ", " \x1b[31mERROR\x1b[0m ", 1);
    }
    if wrappers & 2 != 0 {
        let (month, day, time) = ("Feb", &ts[8..10], &ts[11..19]);
        out = format!("{month} {day} {time} node-3 risingwave[7]: {out}");
    }
    if wrappers & 4 != 0 {
        out = format!("\x1b[36mmeta-node-0  |\x1b[0m {out}");
    }
    if wrappers & 8 != 0 {
        out = format!("{ts} {out}");
    }
    if wrappers & 16 != 0 {
        out = format!("[pod/rw-meta-0/meta] {out}");
    }
    out
}

#[test]
fn every_wrapper_combination_and_gzip_give_identical_findings() {
    let reference = diagnosis(&plain());
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap();
    for wrappers in 0..32u32 {
        let text: String = source.lines().map(|l| wrap(l, wrappers) + "\n").collect();
        for gzip in [false, true] {
            let bytes = if gzip {
                let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(text.as_bytes()).unwrap();
                encoder.finish().unwrap()
            } else {
                text.clone().into_bytes()
            };
            let (doc, code) = run_json(&[], Some(bytes));
            assert_eq!(code, 1, "wrappers {wrappers:05b} gzip {gzip}");
            assert_eq!(
                diagnosis(&doc),
                reference,
                "wrappers {wrappers:05b} gzip {gzip}"
            );
            assert_eq!(
                doc["summary"]["lines_recognised"], 64,
                "wrappers {wrappers:05b} gzip {gzip}"
            );
        }
    }
}

#[test]
fn byte_level_oddities_do_not_change_the_diagnosis() {
    let source = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap();
    // CRLF, a NUL byte and invalid UTF-8 in a noise line, no final newline.
    let mut bytes: Vec<u8> = Vec::new();
    for (i, line) in source
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        bytes.extend_from_slice(line);
        if i == 10 {
            bytes.extend_from_slice(b" \x00\xff\xfe");
        }
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.truncate(bytes.len() - 2);
    let (doc, code) = run_json(&[], Some(bytes));
    assert_eq!(code, 1);
    assert_eq!(diagnosis(&doc), diagnosis(&plain()));
}

#[test]
fn silence_is_explained() {
    let human = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = rwdoctor();
        // The explanation of a silence is part of the full report.
        cmd.arg("-v").args(args);
        if let Some(text) = stdin {
            cmd.write_stdin(text.to_string());
        }
        let out = cmd.output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            out.status.code().unwrap(),
        )
    };
    let (text, code) = human(&["testdata/healthy-startup.log"], None);
    assert_eq!(code, 0);
    assert!(
        text.contains("contain 2 election lines, none of them a known failure"),
        "{text}"
    );
    let startup: String = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap()
    .lines()
    .take(5)
    .map(|l| format!("{l}\n"))
    .collect();
    let (text, code) = human(&[], Some(&startup));
    assert_eq!(code, 0);
    assert!(
        text.contains("<stdin>: RisingWave logs from 2024-02-11T05:58:02.121Z to 05:58:02.170Z contain no election events; if the pod restarted, the failure is in `kubectl logs <pod> --previous`"),
        "{text}"
    );
    let (text, code) = human(&["testdata/not-a-log.txt"], None);
    assert_eq!(code, 3);
    assert!(
        text.contains("0 of 20 lines look like RisingWave or etcd logs (first line:"),
        "{text}"
    );
}

#[test]
fn envelopes_are_unwrapped_line_for_line_and_named() {
    let reference = diagnosis(&plain());
    for (file, envelope) in [
        ("docker-json.log", Some("Docker json-file")),
        ("fluent-bit.log", Some("Fluent Bit/Fluentd `log` record")),
        (
            "cloudwatch-fluent-bit.log",
            Some("Fluent Bit/Fluentd `log` record"),
        ),
        ("logcli-forward.log", Some("logcli default output")),
        ("logcli-raw.log", None),
        ("logcli-jsonl.log", Some("logcli --output jsonl")),
        (
            "grafana-explore-oldest-first.log",
            Some("Grafana Explore copy"),
        ),
        ("vector.log", Some("NDJSON `message` record")),
        ("elastic-ndjson.log", Some("Elasticsearch `_source` hit")),
    ] {
        let path = format!("testdata/shapes/{file}");
        let (doc, code) = run_json(&[&path], None);
        assert_eq!(code, 1, "{file}");
        assert_eq!(diagnosis(&doc), reference, "{file}");
        let input = &doc["summary"]["inputs"][0];
        assert_eq!(input["shapes"]["RisingWave text"], 64, "{file}: {input}");
        assert_eq!(input["recognised"], 64, "{file}");
        let notes: Vec<&str> = input["notes"]
            .as_array()
            .map(|n| n.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Unwrapped bytes are not the file's: no "shrank while read".
        assert!(
            notes.iter().all(|n| !n.contains("shrank")),
            "{file}: {notes:?}"
        );
        match envelope {
            Some(name) => assert!(
                notes
                    .iter()
                    .any(|n| n.starts_with("envelope: ") && n.contains(name)),
                "{file}: {notes:?}"
            ),
            None => assert!(notes.is_empty(), "{file}: {notes:?}"),
        }
        // The evidence names the file and the line, with the inner line's
        // message and time.
        let evidence = &doc["findings"][0]["evidence"][0];
        assert_eq!(evidence["source"], path.as_str(), "{file}: {evidence}");
        assert_eq!(evidence["line"], 60, "{file}");
        assert!(
            evidence["message"]
                .as_str()
                .unwrap()
                .ends_with("keep alive timeout"),
            "{file}"
        );
        assert_eq!(
            evidence["timestamp"], "2024-02-11T06:05:06.387Z",
            "{file}: {evidence}"
        );
    }
}

#[test]
fn a_gzipped_envelope_is_unwrapped_too() {
    // Docker's json-file driver with `compress: true` rotates to `.gz`.
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/shapes/docker-json.log"
    ))
    .unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&text).unwrap();
    let (doc, code) = run_json(&[], Some(encoder.finish().unwrap()));
    assert_eq!(code, 1);
    assert_eq!(diagnosis(&doc), diagnosis(&plain()));
    let input = &doc["summary"]["inputs"][0];
    assert_eq!(input["gzip"], true);
    assert_eq!(input["wrappers"]["a log envelope"], 64, "{input}");
}

#[test]
fn an_envelopes_time_serves_lines_without_one_in_its_zone() {
    // etcd v3.4 under Docker: capnslog lines carry a time without a zone
    // only when not under systemd; here the bare messages carry none.
    let lines = [
        ("2024-02-11T14:04:49.903+08:00", "etcdserver: sync duration of 6.712s, expected less than 1s"),
        ("2024-02-11T14:04:50.511+08:00", "etcdserver: failed to send out heartbeat on time (exceeded the 100ms timeout for 5.1s, to 8e9e05c52164694d)"),
        ("2024-02-11T14:04:50.512+08:00", "etcdserver: server is likely overloaded"),
    ];
    let text: String = lines
        .iter()
        .map(|(time, message)| {
            serde_json::json!({"log": format!("{message}\n"), "stream": "stderr", "time": time})
                .to_string()
                + "\n"
        })
        .collect();
    let (doc, _) = run_json(&[], Some(text.into_bytes()));
    let input = &doc["summary"]["inputs"][0];
    assert_eq!(input["wrappers"]["a log envelope"], 3, "{input}");
    let finding = &doc["findings"][0];
    assert_eq!(finding["rule"], "etcd-slow-disk", "{doc}");
    let evidence = &finding["evidence"][0];
    assert_eq!(evidence["line"], 1);
    assert_eq!(
        evidence["timestamp"], "2024-02-11T06:04:49.903Z",
        "{evidence}"
    );
}

/// The findings with each evidence line mapped to the plain sample's line
/// of the same text, in order (a line's place does not matter, its time does).
fn diagnosis_mapped(doc: &Value, file: &str) -> Vec<Diagnosis> {
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let plain = read("testdata/sample-incident.log");
    let lines = read(&format!("testdata/shapes/{file}"));
    diagnosis(doc)
        .into_iter()
        .map(|(rule, count, evidence, causes)| {
            let mut mapped: Vec<u64> = evidence
                .iter()
                .map(|l| {
                    let text = &lines[*l as usize - 1];
                    // The plain line this one wraps (an envelope's prefix).
                    plain
                        .iter()
                        .position(|p| text.ends_with(p.as_str()))
                        .unwrap_or_else(|| panic!("{file}:{l} is no sample line"))
                        as u64
                        + 1
                })
                .collect();
            mapped.sort();
            (rule, count, mapped, causes)
        })
        .collect()
}

#[test]
fn newest_first_and_shuffled_inputs_give_the_findings_of_the_sorted_ones() {
    let reference: Vec<Diagnosis> = diagnosis(&plain())
        .into_iter()
        .map(|(rule, count, mut lines, causes)| {
            lines.sort();
            (rule, count, lines, causes)
        })
        .collect();
    for (file, newest_first) in [
        ("reversed.log", true),
        ("logcli-default.log", true),
        ("grafana-explore.log", true),
        ("shuffled.log", false),
        ("reversed-shuffled.log", true),
    ] {
        let (doc, code) = run_json(&[&format!("testdata/shapes/{file}")], None);
        assert_eq!(code, 1, "{file}");
        assert_eq!(
            doc["findings"][0]["rule"], "meta-leader-lease-lost",
            "{file}"
        );
        assert_eq!(doc["findings"][0]["severity"], "critical", "{file}");
        assert_eq!(diagnosis_mapped(&doc, file), reference, "{file}");
        let input = &doc["summary"]["inputs"][0];
        let said = input["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("newest first"));
        assert_eq!(said, newest_first, "{file}: {input}");
        assert_eq!(
            input.get("newest_first").and_then(Value::as_bool),
            newest_first.then_some(true),
            "{file}"
        );
    }
    // Read newest first, the evidence still names the file's own lines, in
    // time order: the plain's 60, 62, 63, 64 are the reversed file's 5..1.
    let (doc, _) = run_json(&["testdata/shapes/reversed.log"], None);
    assert_eq!(common::evidence_lines(&doc["findings"][0]), [5, 3, 2, 1]);
}

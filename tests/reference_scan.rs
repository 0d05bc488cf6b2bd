//! The fast path (literal prefilter over big blocks, cheap line
//! classification, files split across threads) must find exactly what a
//! straightforward scan finds: every line parsed, every signal's regex run.
use rwdoctor::correlate::Correlator;
use rwdoctor::diagnosis::{Diagnoser, InputInfo};
use rwdoctor::matcher::SignalRef;
use rwdoctor::pipeline::{self, Request, Timeline};
use rwdoctor::record;
use rwdoctor::rules::RuleSet;
use rwdoctor::scan::{Hit, MAX_EVIDENCE_TEXT};
use rwdoctor::text::cut;
use std::io::Write;

/// The line-by-line reference: no prefilter, no blocks, no threads.
fn reference_findings(log: &[u8], rules: &RuleSet) -> serde_json::Value {
    let facts = rwdoctor::facts::signals();
    let mut timeline = Timeline::new(Correlator::new(rules), &Request::default());
    let mut last_time = None;
    let mut lines: Vec<&[u8]> = log.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (index, raw) in lines.into_iter().enumerate() {
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // A line over MAX_LINE keeps only its head.
        if raw.len() > rwdoctor::lines::MAX_LINE {
            raw = &raw[..rwdoctor::lines::MAX_LINE];
        }
        let mut clean = Vec::new();
        record::strip_ansi(raw, &mut clean);
        let text = String::from_utf8_lossy(&clean);
        let parsed = record::parse(&text, 2024);
        let r = &parsed.record;
        let mut signals = Vec::new();
        let mut highlight = None;
        for (ri, rule) in rules.rules.iter().enumerate() {
            for (si, signal) in rule.signals.iter().enumerate() {
                // The compiled regex itself, even where the matcher searches
                // for a literal pattern's literals instead.
                let found = signal
                    .accepts(r.level, r.target.as_deref())
                    .then(|| signal.regex.get().find(&r.message))
                    .flatten();
                if let Some(m) = found {
                    highlight.get_or_insert((m.start(), m.end()));
                    signals.push(SignalRef {
                        rule: ri as u16,
                        signal: si as u16,
                    });
                }
            }
        }
        let found_facts: Vec<_> = facts
            .iter()
            .filter(|(_, s)| {
                s.matches(r.level, r.target.as_deref(), &r.message)
                    .is_some()
            })
            .filter_map(|(kind, s)| rwdoctor::facts::value(s, &r.message).map(|v| (*kind, v)))
            .collect();
        if r.timestamp.is_some() {
            last_time = r.timestamp;
        }
        if signals.is_empty() && found_facts.is_empty() {
            continue;
        }
        timeline.push(Hit {
            input: 0,
            line: index as u64 + 1,
            timestamp: r.timestamp,
            sort_time: r.timestamp.or(last_time),
            level: r.level,
            target: r.target.as_deref().map(str::to_string),
            origin: parsed.origin.map(str::to_string),
            shape: r.shape,
            text: cut(&text, MAX_EVIDENCE_TEXT),
            message: cut(&r.message, MAX_EVIDENCE_TEXT),
            highlight,
            signals,
            facts: found_facts,
            before: None,
        });
    }
    let mut context = timeline.context;
    context.settle();
    let inputs = vec![InputInfo {
        name: "log".into(),
        components: Vec::new(),
        first: None,
        last: None,
    }];
    let findings = Diagnoser {
        rules,
        inputs: &inputs,
        context: &context,
    }
    .findings(&timeline.correlator.finish());
    comparable(&serde_json::to_value(&findings).unwrap())
}

/// What both paths must agree on (not the source name).
fn comparable(findings: &serde_json::Value) -> serde_json::Value {
    serde_json::Value::Array(
        findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                serde_json::json!({
                    "rule": f["rule"], "count": f["count"], "matched_lines": f["matched_lines"],
                    "first_seen": f["first_seen"], "last_seen": f["last_seen"],
                    "evidence": f["evidence"].as_array().unwrap().iter().map(|e| e["line"].clone()).collect::<Vec<_>>(),
                    "incidents": f["incidents"].as_array().unwrap().iter().map(|i| i["evidence"].as_array().unwrap().len()).collect::<Vec<_>>(),
                    "causes": f["causes"].as_array().unwrap().iter().map(|c| (c["id"].clone(), c["confidence"].clone())).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// The sample incident repeated with its clock moved on, with CRLF lines,
/// a 300 KiB line, a 2 MiB line (cut to its head), no final newline.
fn generated_log(repeats: usize) -> Vec<u8> {
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap();
    let mut out = Vec::new();
    for repeat in 0..repeats {
        for (n, line) in sample.lines().enumerate() {
            let (ts, rest) = line.split_once(' ').unwrap();
            let time = chrono::DateTime::parse_from_rfc3339(ts).unwrap()
                + chrono::Duration::minutes(10 * repeat as i64);
            write!(
                out,
                "{} {rest}",
                time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
            .unwrap();
            out.extend_from_slice(if (repeat + n) % 7 == 0 {
                b"\r\n"
            } else {
                b"\n"
            });
        }
        if repeat == repeats / 3 {
            out.extend_from_slice(b"2024-02-11T06:00:00Z  INFO risingwave_meta::barrier: ");
            out.extend(std::iter::repeat_n(b'x', 300 * 1024));
            out.push(b'\n');
        }
        if repeat == 2 * repeats / 3 {
            out.extend_from_slice(b"2024-02-11T06:00:00Z ERROR risingwave_meta::hummock::manager: etcdserver: request is too large ");
            out.extend(std::iter::repeat_n(b'y', 2 << 20));
            out.push(b'\n');
        }
    }
    out.pop(); // no final newline
    out
}

#[test]
fn fast_path_and_reference_scan_agree() {
    let rules = RuleSet::load(&[]);
    let log = generated_log(240);
    assert!(
        log.len() > 4 << 20,
        "spans several 1 MiB blocks: {}",
        log.len()
    );
    let file = tempfile::Builder::new().suffix(".log").tempfile().unwrap();
    std::fs::write(file.path(), &log).unwrap();
    let expected = reference_findings(&log, &rules);
    assert!(expected.as_array().unwrap().len() >= 2, "{expected}");
    for (threads, min_split_bytes) in [(1, None), (2, Some(1 << 20)), (3, Some(512 << 10))] {
        let analysis = pipeline::analyse(
            &Request {
                paths: vec![file.path().to_path_buf()],
                fail_on: None,
                since: None,
                until: None,
                threads: Some(threads),
                min_split_bytes,
                discover: Default::default(),
            },
            &rules,
        );
        let got = comparable(&serde_json::to_value(&analysis.findings).unwrap());
        assert_eq!(
            got, expected,
            "threads {threads}, split at {min_split_bytes:?}"
        );
        let lines = log.split(|b| *b == b'\n').count() as u64;
        assert_eq!(analysis.summary.lines_read, lines);
        assert_eq!(
            analysis.summary.lines_recognised, lines,
            "every line is a RisingWave line"
        );
    }
}

#[test]
fn gzip_inputs_decoded_inline_on_their_own_thread_or_switching_find_the_same() {
    // Two gzip inputs of different sizes: with one thread both decode on
    // it; with two, each decodes on its scanning thread until the smaller
    // is done, then the bigger one's decoding moves to a thread of its own
    // mid-stream; with three, both get one from the start. All must find
    // what the plain files give.
    let rules = RuleSet::load(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut plain = Vec::new();
    let mut gzipped = Vec::new();
    for (name, repeats) in [("big", 240), ("small", 40)] {
        let log = generated_log(repeats);
        let path = dir.path().join(format!("{name}.log"));
        std::fs::write(&path, &log).unwrap();
        plain.push(path);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&log).unwrap();
        let path = dir.path().join(format!("{name}.log.gz"));
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        gzipped.push(path);
    }
    let analyse = |paths: &[std::path::PathBuf], threads: usize| {
        pipeline::analyse(
            &Request {
                paths: paths.to_vec(),
                fail_on: None,
                since: None,
                until: None,
                threads: Some(threads),
                min_split_bytes: None,
                discover: Default::default(),
            },
            &rules,
        )
    };
    let expected = analyse(&plain, 1);
    let expected_findings = comparable(&serde_json::to_value(&expected.findings).unwrap());
    assert!(expected_findings.as_array().unwrap().len() >= 2);
    for threads in [1, 2, 3] {
        let got = analyse(&gzipped, threads);
        assert_eq!(
            comparable(&serde_json::to_value(&got.findings).unwrap()),
            expected_findings,
            "threads {threads}"
        );
        assert_eq!(got.summary.lines_read, expected.summary.lines_read);
    }
}

/// The built-ins plus the benchmark's grown pack (300 catalogue phrases,
/// `bench/grown-literals.txt`) and 700 distinct literals: past 64 anchors,
/// so the prefilter searches shared windows (or its automaton).
fn grown_rules(dir: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/grown-literals.txt"
    ))
    .unwrap();
    let mut literals: Vec<String> = text.lines().map(str::to_string).collect();
    literals.extend((0..700u64).map(|i| {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
        format!("rule {:016x} failed", x.wrapping_mul(0xbf58_476d_1ce4_e5b9))
    }));
    for (i, literal) in literals.iter().enumerate() {
        let rule = serde_json::json!({
            "id": format!("grown-{i:04}"),
            "severity": "error",
            "title": "t",
            "diagnosis": "d",
            "docs": ["https://example.com"],
            "signals": {"s1": {"regex": regex::escape(literal), "describe": "d"}},
            "match": {"type": "any", "signals": ["s1"]},
            "causes": [],
            "remedies": [{"text": "t", "docs": ["https://example.com"]}],
            "tests": {"match": [], "no_match": [], "scenarios": []}
        });
        std::fs::write(dir.join(format!("g{i:04}.json")), rule.to_string()).unwrap();
    }
    literals
}

#[test]
fn fast_path_and_reference_scan_agree_with_a_thousand_more_literals() {
    let dir = tempfile::tempdir().unwrap();
    let literals = grown_rules(dir.path());
    let rules = RuleSet::load(&[dir.path().to_path_buf()]);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    // The sample incident (its clock moved on), with some lines carrying a
    // pack literal (whole, cut short, or inside other text); over 16 KiB,
    // so the prefilter is tuned on a sample of it.
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample-incident.log"
    ))
    .unwrap();
    let mut log = Vec::new();
    let mut k = 0usize;
    for repeat in 0..24 {
        for line in sample.lines() {
            let (ts, rest) = line.split_once(' ').unwrap();
            let time = chrono::DateTime::parse_from_rfc3339(ts).unwrap()
                + chrono::Duration::minutes(10 * repeat as i64);
            let time = time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            writeln!(log, "{time} {rest}").unwrap();
            k += 1;
            if k.is_multiple_of(5) {
                let literal = &literals[(k * 7919) % literals.len()];
                let shown = if k.is_multiple_of(15) {
                    &literal[..literal.len() / 2]
                } else {
                    &literal[..]
                };
                writeln!(
                    log,
                    "{time} ERROR risingwave_meta::barrier: x{shown}y {}",
                    k % 3
                )
                .unwrap();
            }
        }
    }
    assert!(log.len() > 64 << 10, "{}", log.len());
    let file = tempfile::Builder::new().suffix(".log").tempfile().unwrap();
    std::fs::write(file.path(), &log).unwrap();
    let expected = reference_findings(&log, &rules);
    assert!(expected.as_array().unwrap().len() >= 20, "{expected}");
    for threads in [1, 2] {
        let analysis = pipeline::analyse(
            &Request {
                paths: vec![file.path().to_path_buf()],
                fail_on: None,
                since: None,
                until: None,
                threads: Some(threads),
                min_split_bytes: Some(16 << 10),
                discover: Default::default(),
            },
            &rules,
        );
        let got = comparable(&serde_json::to_value(&analysis.findings).unwrap());
        assert_eq!(got, expected, "threads {threads}");
    }
}

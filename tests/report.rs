//! The human report's shape (issue 18): the verdict first and last, a short
//! block per problem, `-v` for everything the report used to show, `-q` for
//! the verdict; and the command line's papercuts (did you mean, `-o` by
//! extension, one error prefix, ids in any case, completion of rule ids,
//! `--version`, `-h`/`--help`, the man page, `--output-append`, the README).
use crate::common::{run, rwdoctor};
use std::path::{Path, PathBuf};

const SAMPLE: &str = "testdata/sample-incident.log";

/// Every sample in `testdata/` (files only).
fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The human report at `columns` columns: (stdout, exit code).
fn human(args: &[&str], columns: usize) -> (String, i32) {
    let out = rwdoctor()
        .env("COLUMNS", columns.to_string())
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap(),
    )
}

#[test]
fn the_sample_report_gives_the_answer_first_and_last_in_40_lines() {
    let (text, code) = human(&[SAMPLE], 80);
    assert_eq!(code, 1);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 40, "{} lines:\n{text}", lines.len());
    let head = lines[..15].join("\n");
    for needle in [
        "CRITICAL",
        "Meta leader lost its etcd lease and exited",
        "etcd is slow: its disk cannot keep up (likely)",
        "meta_leader_lease_secs = 86400",
    ] {
        assert!(
            head.contains(needle),
            "{needle} not in the first 15:\n{text}"
        );
    }
    // The reason in words, not a confidence.
    assert!(!text.contains("1.00") && !text.contains("0.00"), "{text}");
    assert!(head.contains("4 lines say"), "{text}");
    // The slow-disk warning is the lease loss's cause: one line, not a block.
    assert!(!text.contains(" WARNING "), "{text}");
    assert_eq!(text.matches("etcd-slow-disk (warning, 4 lines)").count(), 1);
    // Causes without evidence: one line naming the log that would check them.
    assert_eq!(text.matches("Not checked:").count(), 1, "{text}");
    assert!(text.contains("etcd's log would check them"), "{text}");
    assert!(!text.contains("search the meta log"), "{text}");
    let tail = lines[lines.len() - 3..].join("\n");
    for needle in [
        "Verdict: meta-leader-lease-lost (critical), likely cause etcd-slow-disk",
        "Do: `meta_leader_lease_secs = 86400`",
        "exit 1",
        "-v",
    ] {
        assert!(tail.contains(needle), "{needle} not in the last 3:\n{text}");
    }
    // One time precision: seconds, no fractions.
    let fraction = regex::Regex::new(r"\d\d:\d\d:\d\d\.\d").unwrap();
    assert!(!fraction.is_match(&text), "{text}");
    // Code spans are never broken across lines.
    for line in &lines {
        assert_eq!(line.matches('`').count() % 2, 0, "broken code span: {line}");
    }
}

#[test]
fn every_sample_has_the_shape() {
    for path in samples() {
        let name = path.display().to_string();
        let (text, code) = human(&[&name], 80);
        let lines: Vec<&str> = text.lines().collect();
        assert!(!lines.is_empty(), "{name}: empty report");
        assert!(lines.len() <= 50, "{name}: {} lines\n{text}", lines.len());
        for line in &lines {
            assert!(line.chars().count() <= 80, "{name}: over 80: {line}");
        }
        let tail = lines[lines.len().saturating_sub(3)..].join("\n");
        assert!(
            tail.contains(&format!("exit {code}")),
            "{name}: the last lines do not give the exit code {code}:\n{text}"
        );
        let (json, _) = crate::common::json_of(&[&name]);
        let findings = json["findings"].as_array().unwrap();
        if findings.is_empty() {
            // Nothing found: one line, and (issue 17) the "What else
            // changed" rows when WARN/ERROR lines were grouped, with the
            // line again below them.
            let section = text.contains("What else changed");
            assert_eq!(
                section,
                json["discovery"]["templates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["level"] == "WARN"
                        || r["level"] == "ERROR"
                        || r["level"] == "FATAL"
                        || r["window"].is_object()),
                "{name}:\n{text}"
            );
            let outside = if section {
                let start = lines
                    .iter()
                    .position(|l| l.starts_with("What else changed"))
                    .unwrap();
                let end = start
                    + lines[start..]
                        .iter()
                        .position(|l| l.is_empty())
                        .unwrap_or(lines.len() - start);
                lines.len() - (end - start)
            } else {
                lines.len()
            };
            assert!(outside <= 4, "{name}: nothing found in one line:\n{text}");
            assert_eq!(lines[0], *lines.last().unwrap(), "{name}:\n{text}");
        } else {
            assert!(tail.contains("Verdict:"), "{name}:\n{text}");
            let top = findings[0]["severity"].as_str().unwrap().to_uppercase();
            let head = lines[..lines.len().min(15)].join("\n");
            assert!(head.contains(&top), "{name}: {top} not first:\n{text}");
            assert!(lines[0].starts_with("rwdoctor: "), "{name}:\n{text}");
            // -q: the closing verdict alone, the same as the default's.
            let (quiet, quiet_code) = human(&["-q", &name], 80);
            assert_eq!(quiet_code, code);
            assert!(quiet.lines().count() <= 4, "{name}:\n{quiet}");
            assert!(text.ends_with(&quiet), "{name}:\n{quiet}\nvs\n{text}");
        }
    }
}

/// The words of a report, times normalised (one precision now), cut
/// evidence lines left out (they are cut around the match now).
fn words(text: &str) -> Vec<String> {
    let stamp = regex::Regex::new(r"(\d{4}-\d\d-\d\dT)?\d\d:\d\d:\d\d(\.\d+)?Z?").unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains('…')).collect();
    let joined = stamp.replace_all(&kept.join("\n"), "T").into_owned();
    // The number of rules evaluated and of lines that match one grow with
    // the pack, not with the report.
    let counts = regex::Regex::new(r"\b\d+\s+(rules|election\s+lines?)\b").unwrap();
    let joined = counts
        .replace_all(&joined, |c: &regex::Captures| {
            format!(
                "N {}",
                c[1].split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .into_owned();
    // Whether a clean log "contains no election events" or "N election
    // lines" depends on how many lines the pack's rules match: one
    // sentence of the same renderer either way.
    let joined = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    let silence = regex::Regex::new(
        r"contain (no election events; if the pod restarted, the failure is in `kubectl logs <pod> --previous`\.|N election lines?, none of them a known failure\.)",
    )
    .unwrap();
    let joined = silence
        .replace_all(&joined, "contain ELECTION-SUMMARY")
        .into_owned();
    let mut words: Vec<String> = Vec::new();
    for word in joined.split_whitespace() {
        // `T → T` of two equal times is one time now.
        if word == "T" && words.len() >= 2 && words[words.len() - 1] == "→" {
            words.pop();
            continue;
        }
        words.push(word.to_string());
    }
    words
}

#[test]
fn verbose_shows_everything_the_report_showed_before() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/human-before");
    let mut checked = 0;
    for path in samples() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(before) = std::fs::read_to_string(snapshots.join(format!("{name}.txt"))) else {
            continue;
        };
        let (now, _) = human(&["-v", &format!("testdata/{name}")], 80);
        let (old, new) = (words(&before), words(&now));
        // In order: every word of the old report appears in the new one.
        let mut at = 0;
        for (index, word) in old.iter().enumerate() {
            match new[at..].iter().position(|w| w == word) {
                Some(found) => at += found + 1,
                None => panic!(
                    "{name}: -v lacks `{}` of the old report\n--- -v:\n{now}",
                    old[index..old.len().min(index + 12)].join(" ")
                ),
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} snapshots");
}

#[test]
fn a_wide_terminal_gets_wide_lines_and_a_narrow_one_80() {
    let (wide, _) = human(&["-v", SAMPLE], 140);
    assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
    assert!(wide.lines().all(|l| l.chars().count() <= 140), "{wide}");
    let (narrow, _) = human(&["-v", SAMPLE], 40);
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
}

#[test]
fn a_cut_evidence_line_keeps_the_match_in_view() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("long.log");
    let padding = "x".repeat(300);
    std::fs::write(
        &log,
        format!(
            "2024-02-11T06:05:06.387Z ERROR risingwave_meta::rpc::election::etcd: {padding} etcdserver: too many operations in txn request {padding}\n"
        ),
    )
    .unwrap();
    let (text, _) = human(&[log.to_str().unwrap()], 80);
    let seen = text
        .lines()
        .find(|l| l.contains("Seen"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(seen.contains("too many operations in txn"), "{seen}");
    assert!(seen.contains("…") && seen.chars().count() <= 80, "{seen}");
}

#[test]
fn nothing_found_is_one_line_and_louder_when_nothing_was_checked() {
    let (text, code) = human(&["testdata/healthy-startup.log"], 80);
    assert_eq!(code, 0);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("No known failure found in 44 lines"),
        "{text}"
    );
    let (text, code) = human(&["testdata/not-a-log.txt"], 80);
    assert_eq!(code, 3);
    assert!(text.starts_with("NOTHING CHECKED"), "{text}");
    assert!(text.lines().count() <= 2, "{text}");
}

#[test]
fn many_empty_files_are_one_line_not_one_each() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3000 {
        std::fs::File::create(dir.path().join(format!("f{i:05}.log"))).unwrap();
    }
    std::fs::copy(SAMPLE, dir.path().join("meta.log")).unwrap();
    let path = dir.path().to_str().unwrap();
    let (text, code) = human(&[path], 80);
    assert_eq!(code, 1);
    assert!(text.lines().count() <= 40, "{text}");
    assert!(text.contains("3001 inputs (3000 empty)"), "{text}");
    let (verbose, _) = human(&["-v", path], 80);
    assert!(verbose.lines().count() < 200, "{verbose}");
    assert!(
        verbose.contains("… 3000 empty inputs (--format json lists every input)"),
        "{verbose}"
    );
    let (doc, _) = crate::common::json_of(&[path]);
    assert_eq!(doc["summary"]["inputs"].as_array().unwrap().len(), 3001);
}

#[test]
fn counts_of_what_is_not_shown_are_true() {
    // 300 incidents: the report says how many more, and what JSON lists.
    let start = chrono::DateTime::parse_from_rfc3339("2024-02-11T00:00:00Z").unwrap();
    let mut log = String::new();
    for i in 0..300 {
        let t = (start + chrono::Duration::hours(2 * i)).format("%Y-%m-%dT%H:%M:%SZ");
        log.push_str(&format!(
            "{t} ERROR risingwave_meta::rpc::election::etcd: etcdserver: too many operations in txn request\n"
        ));
    }
    let out = rwdoctor()
        .env("COLUMNS", "80")
        .arg("-v")
        .write_stdin(log.clone())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (doc, _) = {
        let out = rwdoctor()
            .args(["--format", "json"])
            .write_stdin(log)
            .output()
            .unwrap();
        (
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
            (),
        )
    };
    let finding = &doc["findings"][0];
    let count = finding["count"].as_u64().unwrap();
    let listed = finding["incidents"].as_array().unwrap().len() as u64;
    let more = text
        .lines()
        .find(|l| l.contains("more incident"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        more.contains(&format!("… {} more incidents", count - 3)),
        "{more}"
    );
    assert!(
        listed < count,
        "{listed} of {count}: the cap is not reached"
    );
    {
        assert!(
            more.contains(&format!("lists the first {listed} incidents")),
            "{more}"
        );
    }
}

#[test]
fn a_mistyped_subcommand_gets_did_you_mean() {
    let (out, err, code) = run(&["rule", "list"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("rwdoctor: "), "{err}");
    assert!(err.contains("did you mean `rwdoctor rules`"), "{err}");
    let (_, err, code) = run(&["version"]);
    assert_eq!(code, 2);
    assert!(err.contains("`rwdoctor --version`"), "{err}");
    let (_, err, code) = run(&["explian", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("`rwdoctor explain`"), "{err}");
    // A file of that name is read.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(SAMPLE, dir.path().join("rule")).unwrap();
    let out = rwdoctor()
        .current_dir(dir.path())
        .arg("rule")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn one_error_prefix() {
    for args in [&["--formt", "json"][..], &["--fail-on", "warn"], &["rule"]] {
        let (_, err, code) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.starts_with("rwdoctor: "), "{args:?}: {err}");
        assert!(!err.contains("error:"), "{args:?}: {err}");
    }
    let (_, err, _) = run(&["testdata/no-such-file.log"]);
    assert!(err.starts_with("rwdoctor: "), "{err}");
}

#[test]
fn output_alone_takes_its_format_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let xml = dir.path().join("report.xml");
    let (out, _, code) = run(&[
        "-o",
        json.to_str().unwrap(),
        "-o",
        xml.to_str().unwrap(),
        SAMPLE,
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["findings"][0]["rule"], "meta-leader-lease-lost");
    roxmltree::Document::parse(&std::fs::read_to_string(&xml).unwrap()).unwrap();
    let (_, err, code) = run(&["-o", dir.path().join("r.bin").to_str().unwrap(), SAMPLE]);
    assert_eq!(code, 2);
    assert!(err.contains("its name does not say one"), "{err}");
}

#[test]
fn output_append_adds_to_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "# Earlier step\n").unwrap();
    for _ in 0..2 {
        let (_, _, code) = run(&[
            "--format",
            "markdown",
            "--output-append",
            summary.to_str().unwrap(),
            SAMPLE,
        ]);
        assert_eq!(code, 1);
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("# Earlier step\n"), "{text}");
    assert_eq!(text.matches("meta-leader-lease-lost").count() % 2, 0);
    let once = {
        let (out, _, _) = run(&["--format", "markdown", SAMPLE]);
        out
    };
    assert_eq!(text.len(), "# Earlier step\n".len() + 2 * once.len());
}

#[test]
fn rule_ids_in_any_case() {
    let (out, _, code) = run(&["explain", "META-Leader-Lease-Lost"]);
    assert_eq!(code, 0);
    assert!(out.contains("Meta leader lost its etcd lease and exited"));
    let (out, _, code) = run(&["rules", "show", "Etcd-Slow-Disk"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"id\": \"etcd-slow-disk\""), "{out}");
}

#[test]
fn completion_offers_rule_ids() {
    // (fish scripts from clap_complete do not complete positional values.)
    for shell in ["bash", "zsh"] {
        let (out, _, code) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("meta-leader-lease-lost"), "{shell}");
        assert!(out.contains("etcd-slow-disk"), "{shell}");
    }
}

#[test]
fn version_names_the_rule_pack() {
    let (out, _, code) = run(&["--version"]);
    assert_eq!(code, 0);
    let rules = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert!(
        out.contains(&format!("built-in rule pack: {rules} rules")),
        "{out}"
    );
}

#[test]
fn short_help_is_short_and_long_help_is_full() {
    let (short, _, _) = run(&["-h"]);
    let (long, _, _) = run(&["--help"]);
    assert!(short.lines().count() < long.lines().count() / 2, "{short}");
    assert!(!short.contains("EXAMPLES:"), "{short}");
    assert!(short.contains("--help"), "{short}");
    assert!(long.contains("EXIT CODES:") && long.contains("EXAMPLES:"));
    for flag in ["--verbose", "--quiet", "--output-append"] {
        assert!(short.contains(flag), "{flag}");
    }
}

#[test]
fn the_man_page_has_the_sections_and_no_dangling_references() {
    let (page, _, code) = run(&["man"]);
    assert_eq!(code, 0);
    let sections: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .collect();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "EXAMPLES",
    ] {
        assert!(sections.contains(&section), "{section}: {sections:?}");
    }
    assert!(!sections.contains(&"EXTRA"), "{sections:?}");
    assert!(!page.contains("rwdoctor-rules(1)") && !page.contains("(1)\\fR"));
    // SYNOPSIS and OPTIONS name the values.
    assert!(
        page.contains("\\fB\\-\\-format\\fR \\fIFORMAT\\fR"),
        "{page}"
    );
    assert!(page.contains("\\fB\\-\\-output\\-append\\fR \\fIFILE\\fR"));
    // Examples are not filled into one paragraph.
    assert!(page.contains(".nf\nkubectl logs rw\\-meta\\-0 \\-\\-previous | rwdoctor\n.fi"));
    // Every line that is a request is a known one; no text line starts with
    // a dot or a quote (roff would read it as a request).
    for line in page.lines() {
        if let Some(request) = line.strip_prefix('.') {
            let name = request.split_whitespace().next().unwrap_or("");
            assert!(
                ["TH", "SH", "PP", "TP", "B", "br", "nf", "fi", "RS", "RE", "nh"].contains(&name),
                "unexpected request: {line}"
            );
        }
        assert!(!line.starts_with('\''), "{line}");
    }
}

#[test]
fn the_readme_keeps_its_two_commands_and_250_lines() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.lines().count() <= 250, "{}", readme.lines().count());
    let head: Vec<&str> = readme.lines().take(10).collect();
    assert!(head
        .iter()
        .any(|l| l.starts_with("cargo run --release -- testdata/sample-incident.log")));
    assert!(head.iter().any(|l| l.starts_with("cargo test")));
    // The GitHub example appends to the step summary.
    assert!(readme.contains("--output-append \"$GITHUB_STEP_SUMMARY\""));
    assert!(!readme.contains("--output \"$GITHUB_STEP_SUMMARY\""));
}

//! The README is a front page and the guides in docs/ hold the rest: what
//! they say must stay true, and their links must lead somewhere.
use crate::common::run;
use regex::Regex;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// README.md, then every docs/*.md, by name, then bench/README.md.
fn markdown_files() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_string());
    docs.push("bench/README.md".to_string());
    docs
}

const SAMPLE_RUN: &str = "cargo run --release -- testdata/sample-incident.log";

#[test]
fn readme_is_a_front_page_that_starts_with_the_two_first_commands() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines: move details to docs/"
    );
    let head: Vec<&str> = readme.lines().take(40).collect();
    let head = head.join("\n");
    assert!(
        head.contains(SAMPLE_RUN),
        "README's first 40 lines lack {SAMPLE_RUN:?}"
    );
    assert!(
        head.contains("cargo test"),
        "README's first 40 lines lack `cargo test`"
    );
    // Numbers belong in docs/performance.md, which every bench run updates.
    assert!(
        !readme.contains("peak RSS"),
        "benchmark numbers in README.md"
    );
    assert!(read("docs/performance.md")
        .contains("| case | rwdoctor | baseline | ratio | goal | peak RSS |"));
}

#[test]
fn readme_and_help_document_ci_use_and_one_exit_code_table() {
    let readme = read("README.md");
    assert!(readme.starts_with(
        "# rwdoctor\n\nTells an on-call engineer, in seconds, why a RisingWave meta node failed"
    ));
    assert!(readme.contains(
        "cargo run --release -- testdata/sample-incident.log   # diagnose the bundled sample incident\n\
         cargo test                                              # run every test, rule self-tests included\n"
    ));
    // One exit-code table, in the README, and none elsewhere to drift from it.
    for file in markdown_files() {
        let expected = usize::from(file == "README.md");
        assert_eq!(
            read(&file).matches("| code | meaning |").count(),
            expected,
            "{file}"
        );
    }
    for needle in [
        "## Use in CI",
        "--format markdown --output \"$GITHUB_STEP_SUMMARY\"",
        "--format junit --output rwdoctor-junit.xml",
        "reports:\n      junit: rwdoctor-junit.xml",
        "Jenkins: `junit 'rwdoctor-junit.xml'`",
        "docs/writing-rules.md",
        "docs/guide.md",
        "docs/json-report.md",
        "docs/performance.md",
        "docs/robustness.md",
        "docs/architecture.md",
    ] {
        assert!(readme.contains(needle), "README lacks {needle:?}");
    }
    let (help, _, code) = run(&["--help"]);
    assert_eq!(code, 0);
    assert_eq!(help.matches("EXIT CODES").count(), 1);
    for needle in [
        "REPORTS (--format, --output)",
        "--follow",
        "CLICOLOR_FORCE",
        "./rules",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

/// One row per file in rules/, with its severity, and a sample in testdata/
/// on which the rule does find something.
#[test]
fn readme_rule_table_has_every_rule_and_a_sample_that_shows_it() {
    let readme = read("README.md");
    let row =
        Regex::new(r"(?m)^\| `([a-z0-9-]+)` \| ([a-z]+) \| [^|\n]+ \| `(testdata/[^`]+)` \|$")
            .unwrap();
    let rows: Vec<(String, String, String)> = row
        .captures_iter(&readme)
        .map(|c| (c[1].to_string(), c[2].to_string(), c[3].to_string()))
        .collect();
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let rule: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = rule["id"].as_str().unwrap().to_string();
        let severity = rule["severity"].as_str().unwrap();
        let mine: Vec<_> = rows.iter().filter(|(r, _, _)| *r == id).collect();
        assert_eq!(mine.len(), 1, "README's rule table: one row for {id}");
        let (_, listed, sample) = mine[0];
        assert_eq!(listed, severity, "README's severity of {id}");
        let (out, err, code) = run(&["--format", "json", sample]);
        assert!(code == 0 || code == 1, "{sample}: exit {code}: {err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert!(
            doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == id.as_str()),
            "{sample} shows no {id}"
        );
        ids.push(id);
    }
    assert_eq!(
        rows.len(),
        ids.len(),
        "README lists rules that rules/ lacks"
    );
}

/// Written on another branch: may not exist yet.
const PENDING: &[&str] = &["docs/architecture.md"];

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces
/// made hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn links_between_readme_and_docs_lead_somewhere() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let heading = Regex::new(r"(?m)^#{1,6} (.+)$").unwrap();
    for file in markdown_files() {
        let text = read(&file);
        let dir = Path::new(&file).parent().unwrap();
        for target in link.captures_iter(&text).map(|c| c[1].to_string()) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target.as_str(), None),
            };
            let resolved: PathBuf = if path.is_empty() {
                PathBuf::from(&file)
            } else {
                normalise(&dir.join(path))
            };
            let name = resolved.to_string_lossy().into_owned();
            if PENDING.contains(&name.as_str()) && !root().join(&resolved).exists() {
                continue;
            }
            assert!(
                root().join(&resolved).exists(),
                "{file}: link to {target}: no {name}"
            );
            if let Some(fragment) = fragment {
                let anchors: Vec<String> = heading
                    .captures_iter(&read(&name))
                    .map(|c| anchor(&c[1]))
                    .collect();
                assert!(
                    anchors.iter().any(|a| a == fragment),
                    "{file}: link to {target}: no heading #{fragment} in {name}"
                );
            }
        }
    }
}

/// `docs/../README.md` -> `README.md`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every field of the sample's JSON report is described in docs/json-report.md.
#[test]
fn json_report_doc_names_every_field() {
    let doc = read("docs/json-report.md");
    let (out, _, code) = run(&[
        "--format",
        "json",
        "testdata/pairs/slow-disk-meta.log",
        "testdata/pairs/slow-disk-etcd-0.log",
    ]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    let finding = &report["findings"][0];
    let incident = &finding["incidents"][0];
    let objects = [
        &report,
        finding,
        &finding["evidence"][0],
        incident,
        &incident["timeline"][0],
        &incident["causes"][0],
        &finding["causes"][0],
        &finding["causes"][0]["evidence"][0],
        &finding["remedies"][0],
        &report["summary"],
        &report["summary"]["inputs"][0],
        &report["summary"]["cluster"],
    ];
    for object in objects {
        for key in object.as_object().unwrap().keys() {
            assert!(
                doc.contains(&format!("\"{key}\"")) || doc.contains(&format!("`{key}`")),
                "docs/json-report.md does not name `{key}`"
            );
        }
    }
}

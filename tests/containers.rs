//! Compressed files, archives, encodings and line ends (issue 15): each
//! sample in `testdata/shapes/` (made by `generate.py`) gives the findings
//! of the plain sample incident, with evidence naming the member and line;
//! what cannot be read is exit 2 naming the file and what it is.
use crate::common::{self, rwdoctor};
use serde_json::Value;

fn run(args: &[&str], stdin: Option<Vec<u8>>) -> (Value, i32, String) {
    let mut cmd = rwdoctor();
    cmd.arg("--format").arg("json").args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (
        doc,
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A finding's rule, count, evidence (source, line) and causes.
type Finding = (String, u64, Vec<(String, u64)>, String);

fn findings(doc: &Value) -> Vec<Finding> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                f["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e["source"].as_str().unwrap().to_string(),
                            e["line"].as_u64().unwrap(),
                        )
                    })
                    .collect(),
                f["causes"].to_string(),
            )
        })
        .collect()
}

/// The plain sample's findings, its evidence renamed to `source`.
fn reference(source: &str) -> Vec<Finding> {
    let (doc, code, _) = run(&["testdata/sample-incident.log"], None);
    assert_eq!(code, 1);
    findings(&doc)
        .into_iter()
        .map(|(rule, count, evidence, causes)| {
            let evidence = evidence
                .into_iter()
                .map(|(_, line)| (source.to_string(), line))
                .collect();
            // Cause evidence names its source too.
            let causes = causes.replace("\"testdata/sample-incident.log\"", &format!("{source:?}"));
            (rule, count, evidence, causes)
        })
        .collect()
}

fn input<'a>(doc: &'a Value, source: &str) -> &'a Value {
    doc["summary"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == source)
        .unwrap_or_else(|| panic!("no input {source}: {}", doc["summary"]["inputs"]))
}

#[test]
fn compressions_nested_or_not_give_the_plain_findings() {
    for (file, note) in [
        ("sample-incident.log.gz.gz", "decompressed: gzip, then gzip"),
        ("sample-incident.log.xz", "decompressed: xz"),
        ("sample-incident.log.bz2", "decompressed: bzip2"),
        ("sample-incident.log.zst", "decompressed: zstd"),
    ] {
        let path = format!("testdata/shapes/containers/{file}");
        let (doc, code, _) = run(&[&path], None);
        assert_eq!(code, 1, "{file}");
        assert_eq!(findings(&doc), reference(&path), "{file}");
        let input = input(&doc, &path);
        assert_eq!(input["notes"][0], note, "{file}");
        assert_eq!(input["gzip"], true, "{file}: compressed");
    }
}

/// A member path over tar's 100 bytes.
const LONG: &str = "support-bundle-2024-02-11/namespace-risingwave/namespace-risingwave/\
                    namespace-risingwave/namespace-risingwave/rw-meta-0/meta.log";

#[test]
fn archive_members_are_inputs_of_their_own_with_their_own_lines() {
    for (archive, member, other) in [
        ("bundle.tar.gz", "logs/meta-0.log.gz", "logs/meta-1.log"),
        ("bundle.tar", "meta-0.log", "meta-1.log"),
        ("bundle.tar.xz", "logs/meta-0.log.bz2", ""),
        ("bundle.zip", "logs/meta-0.log", "logs/meta-1.log"),
        ("../../../tests/fixtures/gnu-long-name.tar", LONG, ""),
        ("../../../tests/fixtures/pax-long-name.tar", LONG, ""),
    ] {
        let path = format!("testdata/shapes/containers/{archive}");
        let source = format!("{path}:{member}");
        let (doc, code, _) = run(&[&path], None);
        assert_eq!(code, 1, "{archive}");
        assert_eq!(findings(&doc), reference(&source), "{archive}");
        assert_eq!(input(&doc, &source)["lines"], 64, "{archive}");
        if !other.is_empty() {
            let startup = input(&doc, &format!("{path}:{other}"));
            assert_eq!(startup["lines"], 5, "{archive}: its own input");
        }
        let members = if other.is_empty() { 1 } else { 2 };
        assert_eq!(
            doc["summary"]["inputs"].as_array().unwrap().len(),
            members,
            "{archive}: directories are not inputs"
        );
    }
}

#[test]
fn encodings_line_ends_and_terminal_titles_give_the_plain_findings() {
    for (file, note) in [
        ("utf16le-bom-crlf.log", Some("UTF-16LE")),
        ("utf16be.log", Some("UTF-16BE (told by its NUL bytes)")),
        ("utf8-bom.log", Some("UTF-8 with a byte-order mark")),
        ("cr-only.log", Some("CR-only line ends")),
        ("osc-title.log", None),
    ] {
        let path = format!("testdata/shapes/{file}");
        let (doc, code, _) = run(&[&path], None);
        assert_eq!(code, 1, "{file}");
        assert_eq!(findings(&doc), reference(&path), "{file}");
        let input = input(&doc, &path);
        assert_eq!(input["recognised"], 64, "{file}");
        let notes = input["notes"].to_string();
        match note {
            Some(note) => assert!(notes.contains(note), "{file}: {notes}"),
            None => assert_eq!(notes, "[]", "{file}"),
        }
    }
    // The first line keeps its time behind a UTF-8 BOM.
    let (doc, _, _) = run(&["testdata/shapes/utf8-bom.log"], None);
    assert_eq!(
        doc["summary"]["time_range"]["start"],
        "2024-02-11T05:58:02.121164Z"
    );
}

/// Exit 2, naming the file (or member) and what it is.
fn unreadable(args: &[&str], stdin: Option<Vec<u8>>, name: &str, what: &str) {
    let (doc, code, stderr) = run(args, stdin);
    assert_eq!(code, 2, "{name}: {stderr}");
    let errors = doc["summary"]["errors"].to_string();
    assert!(
        errors.contains(&format!("{name}: ")) && errors.contains(what),
        "{name}: {errors}"
    );
    assert!(
        !doc["summary"]["verdict"]
            .as_str()
            .unwrap()
            .contains("inconclusive"),
        "{name}"
    );
}

#[test]
fn an_encrypted_zip_member_is_exit_2_naming_it() {
    let path = "testdata/shapes/unreadable/encrypted.zip";
    unreadable(
        &[path],
        None,
        &format!("{path}:logs/meta-0.log"),
        "an encrypted zip member",
    );
}

#[test]
fn a_zip_member_in_a_method_not_decoded_is_exit_2_naming_it() {
    let path = "testdata/shapes/unreadable/lzma-member.zip";
    unreadable(
        &[path],
        None,
        &format!("{path}:logs/meta-0.log"),
        "method 14 (lzma)",
    );
}

#[test]
fn formats_not_decoded_are_exit_2_naming_them() {
    for (file, what) in [
        ("bundle.7z", "a 7z archive"),
        ("meta.log.lz4", "lz4-compressed"),
    ] {
        let path = format!("testdata/shapes/unreadable/{file}");
        unreadable(&[&path], None, &path, what);
    }
}

#[test]
fn a_cut_tar_gz_is_exit_2_and_its_member_scanned_to_the_cut() {
    let path = "testdata/shapes/unreadable/cut.tar.gz";
    unreadable(
        &[path],
        None,
        path,
        "truncated: the file ends inside gzip member 1",
    );
    let (doc, _, _) = run(&[path], None);
    assert!(
        input(&doc, &format!("{path}:logs/meta-0.log"))["lines"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn an_archive_on_stdin_is_exit_2_saying_to_name_the_file() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/shapes/containers/bundle.tar.gz"
    ))
    .unwrap();
    unreadable(&[], Some(bytes), "<stdin>", "a tar archive inside gzip");
}

#[test]
fn a_file_of_the_bundle_and_the_bundle_read_together_keep_their_names() {
    // The shapes test's sample and its zip: two inputs, two incidents.
    let (doc, code, _) = run(
        &[
            "testdata/sample-incident.log",
            "testdata/shapes/containers/bundle.zip",
        ],
        None,
    );
    assert_eq!(code, 1);
    let sources: Vec<&str> = doc["summary"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            "testdata/sample-incident.log",
            "testdata/shapes/containers/bundle.zip:logs/meta-1.log",
            "testdata/shapes/containers/bundle.zip:logs/meta-0.log",
        ]
    );
    let _ = common::evidence_lines;
}

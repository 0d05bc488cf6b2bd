//! The PostgreSQL side is a real server's: `testdata/postgres/capture.sh`
//! provokes the failures the meta-store causes need and saves the log in
//! three formats. The committed capture must read as PostgreSQL with times
//! in UTC and match the signals; when a server is installed the capture is
//! run again, so a release that rewords a line fails here. Under `CI=true`
//! a missing server fails instead of skipping (`.ci/run` installs one).
use rwdoctor::record::{self, Shape};
use rwdoctor::rules::RuleSet;
use std::path::Path;

/// Signals of meta-store-unreachable each capture must show.
const EXPECTED: [&str; 4] = [
    "too_many_clients",
    "db_rejected",
    "db_restarting",
    "pg_stopped",
];

fn check(dir: &Path) {
    let rules = RuleSet::load(&[]);
    let rule = rules.get("meta-store-unreachable").expect("built-in rule");
    for (file, shape) in [
        ("stderr.log", Shape::PostgresText),
        ("csvlog.csv", Shape::PostgresCsv),
        ("jsonlog.json", Shape::PostgresJson),
    ] {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seen: Vec<&str> = Vec::new();
        for line in text.lines() {
            let parsed = record::parse(line, 2026);
            let r = &parsed.record;
            // csvlog may continue a quoted field on the next line; stderr's
            // DETAIL/STATEMENT lines are lines of their own, with a prefix.
            if r.shape != shape {
                assert!(file == "csvlog.csv", "{file}: not {shape:?}: {line}");
                continue;
            }
            let ts = r
                .timestamp
                .unwrap_or_else(|| panic!("{file}: no time: {line}"));
            assert_eq!(ts.offset().local_minus_utc(), 0, "{file}: {line}");
            for signal in &rule.signals {
                if EXPECTED.contains(&signal.name.as_str())
                    && signal.is_match(r.level, r.target.as_deref(), &r.message)
                {
                    seen.push(EXPECTED.iter().find(|n| **n == signal.name).unwrap());
                }
            }
        }
        for name in EXPECTED {
            assert!(
                seen.contains(&name),
                "{}: no line matches signal {name} of meta-store-unreachable",
                path.display()
            );
        }
    }
}

#[test]
fn the_committed_capture_matches_the_signals() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/postgres"));
}

#[test]
fn a_fresh_capture_from_the_installed_server_matches_the_signals() {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().any(|e| e.path().join("bin/postgres").exists()))
        .unwrap_or(false);
    let test = "a_fresh_capture_from_the_installed_server_matches_the_signals";
    if !crate::common::present_or_skip(
        installed,
        test,
        "PostgreSQL server under /usr/lib/postgresql",
        "postgresql",
    ) {
        return;
    }
    let out = crate::common::capture("testdata/postgres/capture.sh");
    check(out.path());
}

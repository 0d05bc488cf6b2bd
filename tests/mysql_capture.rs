//! The MySQL side is a real server's: `testdata/mysql/capture.sh` starts
//! Debian's MariaDB in a temporary directory, provokes what the meta-store
//! causes need and saves its error log. The committed capture must read as
//! a MySQL error log with times in UTC and match the signals; when a server
//! is installed the capture is run again, so a release that rewords a line
//! fails here. Under `CI=true` a missing server fails instead of skipping
//! (`.ci/run` installs `mariadb-server`).
use rwdoctor::record::{self, Shape};
use rwdoctor::rules::RuleSet;
use std::path::Path;

/// Signals of meta-store-unreachable every capture shows.
const EXPECTED: [&str; 3] = ["mysql_too_many", "mysql_rejected", "mysql_stopped"];
/// Shown when the capture could fill a small tmpfs (as root).
const DISK_FULL: &str = "mysql_disk_full";

/// The signals the log's MySQL lines match; panics on a MySQL line
/// without a time in UTC.
fn signals_seen(dir: &Path) -> Vec<String> {
    let rules = RuleSet::load(&[]);
    let rule = rules.get("meta-store-unreachable").expect("built-in rule");
    let path = dir.join("error.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut seen = Vec::new();
    let mut mysql_lines = 0;
    for line in text.lines() {
        let parsed = record::parse(line, 2026);
        let r = &parsed.record;
        // The crash report's backtrace and `Version: ...` lines have no prefix.
        if r.shape != Shape::MysqlError {
            continue;
        }
        mysql_lines += 1;
        let ts = r.timestamp.unwrap_or_else(|| panic!("no time: {line}"));
        assert_eq!(ts.offset().local_minus_utc(), 0, "{line}");
        for signal in &rule.signals {
            if signal.is_match(r.level, r.target.as_deref(), &r.message)
                && !seen.contains(&signal.name)
            {
                seen.push(signal.name.clone());
            }
        }
    }
    assert!(
        mysql_lines > 20,
        "{}: {mysql_lines} MySQL lines",
        path.display()
    );
    seen
}

#[test]
fn the_committed_capture_matches_the_signals() {
    let seen = signals_seen(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mysql"));
    for name in EXPECTED.iter().chain([&DISK_FULL]) {
        assert!(
            seen.iter().any(|s| s == name),
            "no line matches {name}: {seen:?}"
        );
    }
    // Its start-up lines and closed health-check connections are not evidence.
    assert!(!seen.iter().any(|s| s == "mysql_aborted"), "{seen:?}");
}

#[test]
fn a_fresh_capture_from_the_installed_server_matches_the_signals() {
    let installed = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
        .iter()
        .any(|p| Path::new(p).exists());
    let test = "a_fresh_capture_from_the_installed_server_matches_the_signals";
    if !crate::common::present_or_skip(
        installed,
        test,
        "MariaDB server (mariadbd)",
        "mariadb-server",
    ) {
        return;
    }
    let out = crate::common::capture("testdata/mysql/capture.sh");
    let seen = signals_seen(out.path());
    for name in EXPECTED {
        assert!(
            seen.iter().any(|s| s == name),
            "no line matches {name}: {seen:?}"
        );
    }
}

//! `--format html` in a real browser: headless Chromium loads the sample's
//! page, the test reads the DOM it built and what its console said, and a
//! screenshot is left under `target/html/` to look at. Under `CI=true` a
//! missing browser fails the test; elsewhere it skips, saying so.
use crate::common::rwdoctor;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
}

/// Chromium, or None when a developer's machine has none (the test then
/// skips); under CI a missing browser is a failure.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "{test}: CI=true and no chromium on PATH (.ci/run installs Debian's chromium)"
        );
        eprintln!("{test}: skipped: no chromium on PATH (apt-get install chromium)");
    }
    found
}

/// Runs headless Chromium on `page` with the flags this machine's closed
/// network needs; returns (stdout, stderr).
fn headless(browser: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn page_of(args: &[&str], name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join(name);
    let out = rwdoctor()
        .args(["--format", "html", "--output"])
        .arg(&page)
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    page
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn the_sample_page_loads_offline_with_a_lane_per_source_and_a_mark_per_evidence_line() {
    let Some(browser) = browser_or_skip("html page") else {
        return;
    };
    // The lease loss with etcd's log beside it: two sources.
    let page = page_of(
        &[
            "testdata/pairs/slow-disk-meta.log",
            "testdata/pairs/slow-disk-etcd-0.log",
        ],
        "slow-disk-pair.html",
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let (json, _) = crate::common::json_of(&[
        "testdata/pairs/slow-disk-meta.log",
        "testdata/pairs/slow-disk-etcd-0.log",
    ]);

    let (dom, console) = headless(&browser, &page, &["--dump-dom"]);
    assert!(dom.contains("</html>"), "the page did not load: {console}");
    // The page says nothing on the console: no script error, no blocked
    // fetch (its CSP forbids any, so a request would show as a violation),
    // no load failure. Chromium logs each console message as `:CONSOLE`.
    let said: Vec<&str> = console.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(said.is_empty(), "console: {said:?}");
    assert!(!console.contains("ERR_FILE_NOT_FOUND"), "{console}");
    // Nothing on the page is fetched: every src/href is a fragment or a link.
    assert!(!html.contains(" src="), "the page loads a resource");
    assert!(!html.contains("<link"), "the page links a resource");

    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for (index, finding) in findings.iter().enumerate() {
        let start = dom
            .find(&format!("id=\"timeline-{index}\""))
            .unwrap_or_else(|| panic!("finding {index} has no timeline"));
        let end = start + dom[start..].find("</svg>").unwrap();
        let svg = &dom[start..end];
        // One lane per source of the finding's evidence and cause lines.
        let mut sources: Vec<String> = finding["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source"].as_str().unwrap().to_string())
            .collect();
        for incident in finding["incidents"].as_array().unwrap() {
            for entry in incident["timeline"].as_array().unwrap() {
                if entry["role"] == "cause" {
                    sources.push(entry["source"].as_str().unwrap().to_string());
                }
            }
        }
        sources.sort();
        sources.dedup();
        assert_eq!(count(svg, "class=\"lane\""), sources.len(), "lanes");
        assert_eq!(
            count(svg, " evidence\""),
            finding["evidence"].as_array().unwrap().len(),
            "a mark per evidence line"
        );
    }
    assert!(
        count(&dom, "class=\"lane\"") >= 2,
        "meta and etcd lanes on the lease-loss page"
    );

    // A picture to look at.
    let png = page.with_extension("png");
    let (_, console) = headless(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1100,1400",
        ],
    );
    assert!(
        png.metadata().is_ok_and(|m| m.len() > 10_000),
        "no screenshot: {console}"
    );
}

#[test]
fn log_text_cannot_become_markup() {
    // Script tags, quotes, control and bidirectional characters in a
    // matching line, a file name and an origin.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("evil<b>\"name\".log");
    std::fs::write(
        &log,
        "[pod/<script>alert(1)</script>/meta] 2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 42 keep alive timeout <script>alert('x')</script> \"q\" \u{1b}[31m \u{202e}gnp.exe \u{7}\n\
         [pod/<script>alert(1)</script>/meta] 2024-02-11T06:20:29.30217Z  WARN risingwave_meta::rpc::election::etcd: client <i>rw-meta-0</i> lost leadership\n",
    )
    .unwrap();
    let out = rwdoctor()
        .args(["--format", "html"])
        .arg(&log)
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.contains("keep alive timeout"), "{html}");
    assert!(!html.contains("<script"), "markup from a log line");
    assert!(!html.contains("<b>"), "markup from a file name");
    assert!(!html.contains("<i>"), "markup from a member name");
    assert!(html.contains("&lt;script&gt;"));
    assert!(
        !html
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "a control or bidi character reached the page"
    );
}

#[test]
fn a_huge_incident_count_gives_a_page_of_bounded_size() {
    // 20,000 lease losses ten minutes apart: the page lists what JSON lists.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.log");
    let mut text = String::new();
    let start = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap();
    for i in 0..20_000i64 {
        let t = start + chrono::Duration::minutes(10 * i);
        let t = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        text.push_str(&format!(
            "{t} ERROR risingwave_meta::rpc::election::etcd: lease {i} keep alive timeout\n\
             {t}  WARN risingwave_meta::rpc::election::etcd: client rw-meta-0:5690 lost leadership\n"
        ));
    }
    std::fs::write(&log, text).unwrap();
    let out = rwdoctor()
        .args(["--format", "html"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.stdout.len() < 3 * 1024 * 1024,
        "{} bytes",
        out.stdout.len()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("20000 incidents"));
}

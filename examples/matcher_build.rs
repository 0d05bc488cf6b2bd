//! Times the two steps from a rule directory to a scan-ready matcher,
//! loading the rules (`RuleSet::load`) and building the matcher
//! (`Matcher::new`), and the peak RSS after each (issue 13; see
//! docs/performance-matcher.md):
//!
//!   bash bench/many_rules.sh 10000 /tmp/many10000
//!   cargo run --release --example matcher_build -- /tmp/many10000
use rwdoctor::matcher::Matcher;
use rwdoctor::rules::RuleSet;
use std::path::PathBuf;
use std::time::Instant;

/// Peak resident set so far, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let started = Instant::now();
    let rules = RuleSet::load(&dirs);
    let loaded = started.elapsed();
    let after_load = peak_rss_mib();
    let started = Instant::now();
    let matcher = Matcher::new(&rules);
    let built = started.elapsed();
    println!(
        "{} rules ({} errors): load {:.1} ms, peak {:.1} MiB; matcher {:.1} ms, peak {:.1} MiB; \
         {} anchors, {} signals unfiltered",
        rules.rules.len(),
        rules.errors.len(),
        loaded.as_secs_f64() * 1000.0,
        after_load,
        built.as_secs_f64() * 1000.0,
        peak_rss_mib(),
        matcher.anchors().len(),
        matcher.unfiltered_count(),
    );
}

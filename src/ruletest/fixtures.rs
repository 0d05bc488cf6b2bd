//! Annotated fixture files for `rwdoctor rules test DIR`, semgrep-style: real
//! log lines, each ending in a marker that says what a rule must make of it.
//!
//! ```text
//! 2024-05-01T10:00:00Z ERROR risingwave_meta: lease 42 keep alive timeout  # expect: meta-leader-lease-lost
//! 2024-05-01T10:00:01Z  INFO risingwave_meta: lease 42 re-granted  # ok: meta-leader-lease-lost
//! ```
//!
//! `# expect: RULE`: a signal of RULE must match the line; `# ok: RULE`: no
//! trigger signal of RULE may. Several ids may be separated by commas. The
//! marker is cut off before matching; lines without one are not checked.
use super::signals_matching_line;
use crate::rules::RuleSet;
use regex::Regex;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `# expect:` a signal of the rule matches.
    Match,
    /// `# ok:` no trigger signal of the rule matches.
    NoMatch,
}

/// One marker on one fixture line.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub expect: Expect,
    pub rule: String,
    /// The line without its marker.
    pub text: String,
}

/// Fixture files: every `*.log` under `dir`, sorted (rule files are
/// `*.json`; other files, such as a README that shows markers, are ignored).
pub fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect(dir, &mut found, 0);
    found.sort();
    found
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) {
    // Deep enough for any sensible layout, and no endless symlink loop.
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect(&path, found, depth + 1);
        } else if path.extension().is_some_and(|ext| ext == "log") {
            found.push(path);
        }
    }
}

/// Every marker in a fixture file's text.
pub fn parse(file: &str, text: &str) -> Vec<Expectation> {
    let marker = Regex::new(
        r"^(?P<text>.*?)\s*#\s*(?P<kind>expect|ok):\s*(?P<ids>[A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)\s*$",
    )
    .expect("the marker regex is valid");
    let mut expectations = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(caps) = marker.captures(line) else {
            continue;
        };
        let expect = if &caps["kind"] == "expect" {
            Expect::Match
        } else {
            Expect::NoMatch
        };
        for rule in caps["ids"].split(',').map(str::trim) {
            expectations.push(Expectation {
                file: file.to_string(),
                line: index as u64 + 1,
                expect,
                rule: rule.to_string(),
                text: caps["text"].to_string(),
            });
        }
    }
    expectations
}

/// Checks one expectation against the rules; Err says what went wrong.
pub fn check(expectation: &Expectation, rules: &RuleSet) -> Result<(), String> {
    let at = format!("{}:{}", expectation.file, expectation.line);
    let Some(rule) = rules.get(&expectation.rule) else {
        return Err(format!("{at}: no rule `{}` is loaded", expectation.rule));
    };
    match expectation.expect {
        Expect::Match => {
            if signals_matching_line(rule, &expectation.text, false).is_empty() {
                Err(format!(
                    "{at}: expected a match, no signal matched: {}",
                    expectation.text
                ))
            } else {
                Ok(())
            }
        }
        Expect::NoMatch => {
            let matched = signals_matching_line(rule, &expectation.text, true);
            if matched.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{at}: expected no match, signal {} matched: {}",
                    matched.join(", "),
                    expectation.text
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_and_cut_off() {
        let text = "\
2024-05-01T10:00:00Z ERROR x: lease 42 keep alive timeout  # expect: a-rule
plain line with # a comment
line two #ok: a, b-rule
";
        let found = parse("f.log", text);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].expect, Expect::Match);
        assert_eq!(found[0].rule, "a-rule");
        assert_eq!(
            found[0].text,
            "2024-05-01T10:00:00Z ERROR x: lease 42 keep alive timeout"
        );
        assert_eq!(found[1].line, 3);
        assert_eq!(
            (found[1].rule.as_str(), found[2].rule.as_str()),
            ("a", "b-rule")
        );
        assert_eq!(found[2].text, "line two");
    }

    #[test]
    fn expectations_are_checked_against_the_rules() {
        let rules = RuleSet::load(&[]);
        let line = "2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: \
                    lease 7587003312299851122 keep alive timeout";
        let good = parse(
            "f.log",
            &format!("{line} # expect: meta-leader-lease-lost\n{line} # ok: etcd-slow-disk\n"),
        );
        for expectation in &good {
            assert_eq!(check(expectation, &rules), Ok(()));
        }
        let bad = parse(
            "f.log",
            &format!("{line} # ok: meta-leader-lease-lost\n{line} # expect: no-such-rule\n"),
        );
        let errors: Vec<String> = bad.iter().filter_map(|e| check(e, &rules).err()).collect();
        assert!(errors[0].contains("f.log:1: expected no match, signal keepalive_timeout matched"));
        assert!(errors[1].contains("f.log:2: no rule `no-such-rule`"));
    }
}

//! Runs a rule's own tests (semgrep-style): every `match` line must match one
//! of its signals, no `no_match` line may match a trigger signal, and each
//! scenario must yield exactly the expected number of incidents. It runs the
//! engine (matcher, scan, correlator) on rules, so it sits above them;
//! `rules/` itself is the rules' data and schema.
pub mod fixtures;

use crate::correlate::Correlator;
use crate::input::OpenInput;
use crate::matcher::Matcher;
use crate::record;
use crate::rules::{Rule, RuleSet};
use crate::scan;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct TestFailure {
    pub rule: String,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct TestReport {
    pub passed: usize,
    pub failures: Vec<TestFailure>,
}

pub fn run(rule: &Rule) -> TestReport {
    let mut report = TestReport::default();
    let fail = |what: String| TestFailure {
        rule: rule.id.clone(),
        what,
    };
    for line in &rule.tests.must_match {
        if !signals_matching_line(rule, line, false).is_empty() {
            report.passed += 1;
        } else {
            report
                .failures
                .push(fail(format!("match line matched no signal: {line}")));
        }
    }
    for line in &rule.tests.must_not_match {
        let hits = signals_matching_line(rule, line, true);
        if hits.is_empty() {
            report.passed += 1;
        } else {
            report.failures.push(fail(format!(
                "no_match line matched signal {}: {line}",
                hits.join(", ")
            )));
        }
    }
    for scenario in &rule.tests.scenarios {
        let found = incidents_in(rule, &scenario.lines.join("\n"));
        if found == scenario.incidents as u64 {
            report.passed += 1;
        } else {
            report.failures.push(fail(format!(
                "scenario `{}`: expected {} incident(s), found {found}",
                scenario.name, scenario.incidents
            )));
        }
    }
    report
}

/// Names of the rule's signals (`triggers_only`: trigger signals) that match
/// one log line, parsed as the scanner parses it.
pub fn signals_matching_line<'r>(rule: &'r Rule, line: &str, triggers_only: bool) -> Vec<&'r str> {
    let mut clean = Vec::new();
    record::strip_ansi(line.as_bytes(), &mut clean);
    let clean = String::from_utf8_lossy(&clean);
    let parsed = record::parse(&clean, record::default_journal_year(None));
    let record = &parsed.record;
    rule.signals
        .iter()
        .enumerate()
        .filter(|(i, _)| !triggers_only || rule.is_trigger(*i))
        .filter(|(_, s)| {
            s.matches(record.level, record.target.as_deref(), &record.message)
                .is_some()
        })
        .map(|(_, s)| s.name.as_str())
        .collect()
}

/// Scans `log` with this rule alone and counts its incidents.
pub fn incidents_in(rule: &Rule, log: &str) -> u64 {
    let single = RuleSet::of(vec![rule.clone()]);
    let matcher = Matcher::new(&single);
    let mut correlator = Correlator::new(&single);
    let opened = OpenInput {
        rewritten: false,
        reader: Box::new(std::io::Cursor::new(log.as_bytes().to_vec())),
        gzip: false,
        notes: Vec::new(),
        size: None,
    };
    scan::scan(0, "<test>", opened, &matcher, &mut |hit| {
        correlator.push(Arc::new(hit))
    });
    correlator.finish().iter().map(|o| o.incident_count).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `cargo test` entry for every built-in rule's own tests.
    #[test]
    fn every_builtin_rule_passes_its_own_tests() {
        let set = RuleSet::load(&[]);
        assert!(set.errors.is_empty(), "{:#?}", set.errors);
        let mut failures = Vec::new();
        for rule in &set.rules {
            let report = run(rule);
            assert!(
                report.passed > 0,
                "rule {} has no tests: every rule must carry match lines",
                rule.id
            );
            failures.extend(report.failures);
        }
        assert!(failures.is_empty(), "rule test failures:\n{failures:#?}");
    }

    #[test]
    fn a_wrong_expectation_is_reported() {
        let set = RuleSet::load(&[]);
        let mut rule = set.get("etcd-too-many-txn-ops").unwrap().clone();
        rule.tests.must_match.push("nothing to see".into());
        rule.tests
            .must_not_match
            .push("etcdserver: too many operations in txn request".into());
        let report = run(&rule);
        assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    }
}

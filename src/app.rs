//! Orchestration: inputs → scan → correlate → diagnose → report, and the
//! exit code. Kept free of printing so tests can call `analyse` directly.
use crate::cli::{Cli, ColorChoice, Format};
use crate::context::ClusterContext;
use crate::correlate::Correlator;
use crate::diagnosis::{format_time, Diagnoser, Finding, InputInfo};
use crate::input::{self, InputError, InputSpec};
use crate::matcher::Matcher;
use crate::model::{Severity, Timestamp};
use crate::record::Shape;
use crate::report;
use crate::rules::{RuleError, RuleSet};
use crate::scan::{self, Coverage, Hit};
use crate::workers;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;
use std::sync::Arc;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
pub const EXIT_INCONCLUSIVE: u8 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub source: String,
    pub gzip: bool,
    pub bytes: u64,
    pub lines: u64,
    /// Lines that belong to a recognised event (pretty continuations included).
    pub recognised: u64,
    /// Events (a pretty event of several lines counts once).
    pub events: u64,
    /// Events per detected shape, e.g. `{"RisingWave text": 64}`.
    pub shapes: BTreeMap<String, u64>,
    /// Lines per wrapper found, e.g. `{"kubectl --prefix": 64}`.
    pub wrappers: BTreeMap<String, u64>,
    /// Pods, compose services or journald units named by wrappers.
    pub origins: Vec<String>,
    pub time_range: Option<TimeRange>,
    pub truncated_lines: u64,
    /// Assumptions made while reading, e.g. the year of journalctl lines.
    pub notes: Vec<String>,
    /// Lines about the meta election or its etcd trouble.
    pub election_lines: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub first_line: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub inputs: Vec<InputSummary>,
    pub lines_read: u64,
    pub lines_recognised: u64,
    pub time_range: Option<TimeRange>,
    /// Findings per severity.
    pub findings: BTreeMap<Severity, usize>,
    pub rules_evaluated: usize,
    /// What the logs say about the cluster: version, election backend,
    /// lease in force, meta members.
    pub cluster: ClusterContext,
    /// Matching lines left out by --since / --until.
    pub outside_time_range: u64,
    /// Inputs that could not be read and rule files that are invalid.
    pub errors: Vec<String>,
    pub exit_code: u8,
    /// Why the exit code is what it is, in words.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

/// Everything needed to analyse, independent of the command line.
pub struct Request {
    pub paths: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    /// Only lines at or after this time take part (lines without a time do).
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Threads to scan with (default: the cores available).
    pub threads: Option<usize>,
}

pub fn run(cli: &Cli) -> u8 {
    let rules = RuleSet::load(&cli.rules_dirs);
    let now = chrono::Utc::now().fixed_offset();
    let (since, until) = match (
        cli.since
            .as_deref()
            .map(|t| parse_time_bound(t, now))
            .transpose(),
        cli.until
            .as_deref()
            .map(|t| parse_time_bound(t, now))
            .transpose(),
    ) {
        (Ok(since), Ok(until)) => (since, until),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("rwdoctor: {err}");
            return EXIT_ERROR;
        }
    };
    let analysis = analyse(
        &Request {
            paths: cli.paths.clone(),
            fail_on: cli.fail_on.threshold(),
            since,
            until,
            threads: cli.threads.map(usize::from),
        },
        &rules,
    );
    for error in &analysis.summary.errors {
        eprintln!("rwdoctor: {error}");
    }
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    let text = match cli.format {
        Format::Human => report::human::render(&analysis, color),
        Format::Json => report::json::render(&analysis),
    };
    report::write_stdout(&text);
    analysis.summary.exit_code
}

pub fn analyse(request: &Request, rules: &RuleSet) -> Analysis {
    let (specs, mut input_errors) = input::expand(&request.paths);
    let matcher = Matcher::new(rules);
    let mut timeline = Timeline {
        correlator: Correlator::new(rules),
        context: ClusterContext::new(),
        since: request.since,
        until: request.until,
        outside_range: 0,
        election_lines: Vec::new(),
    };
    let mut coverages: Vec<Option<Coverage>> = Vec::with_capacity(specs.len());

    if specs == [InputSpec::Stdin] {
        // A pipe: stream hits straight into the correlator as they come.
        coverages.push(scan_one(
            0,
            &specs[0],
            &matcher,
            &mut input_errors,
            &mut |hit| timeline.push(hit),
        ));
    } else {
        // Files: scanned on all cores, then one timeline merged by time,
        // each input's own order kept (a clock step back stays in line order).
        let threads = workers::thread_count(request.threads);
        let mut per_input: Vec<Vec<Hit>> = Vec::with_capacity(specs.len());
        for scan in workers::scan_all(&specs, &matcher, threads) {
            if let Some(error) = scan.error {
                input_errors.push(error);
            }
            coverages.push(scan.coverage);
            per_input.push(scan.hits);
        }
        for hit in merge_by_time(per_input) {
            timeline.push(hit);
        }
    }

    let Timeline {
        correlator,
        mut context,
        outside_range,
        election_lines,
        ..
    } = timeline;
    context.settle();
    let outcomes = correlator.finish();
    let inputs: Vec<InputInfo> = specs
        .iter()
        .zip(&coverages)
        .map(|(spec, coverage)| InputInfo {
            name: spec.display_name(),
            has_etcd: coverage.as_ref().is_some_and(has_etcd_lines),
            first: coverage.as_ref().and_then(|c| c.first_timestamp),
            last: coverage.as_ref().and_then(|c| c.last_timestamp),
        })
        .collect();
    let findings = Diagnoser {
        rules,
        inputs: &inputs,
        context: &context,
    }
    .findings(&outcomes);
    // Inputs that could not be opened have no coverage (and no summary).
    let election_lines: Vec<u64> = coverages
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .map(|(i, _)| election_lines.get(i).copied().unwrap_or(0))
        .collect();
    let coverages: Vec<Coverage> = coverages.into_iter().flatten().collect();
    let mut summary = summarise(
        &coverages,
        &findings,
        &input_errors,
        &rules.errors,
        rules,
        request.fail_on,
    );
    for (input, count) in summary.inputs.iter_mut().zip(election_lines) {
        input.election_lines = count;
    }
    summary.cluster = context;
    summary.outside_time_range = outside_range;
    Analysis { findings, summary }
}

/// The merged stream of hits: cluster facts, the time filter, correlation.
struct Timeline<'r> {
    correlator: Correlator<'r>,
    context: ClusterContext,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    outside_range: u64,
    /// Per input: lines about the election (campaigns, wins, lease trouble).
    election_lines: Vec<u64>,
}

impl Timeline<'_> {
    fn push(&mut self, hit: Hit) {
        let about_election = !hit.signals.is_empty()
            || hit
                .facts
                .iter()
                .any(|(kind, _)| *kind == crate::facts::FactKind::ElectionMember);
        if about_election {
            if self.election_lines.len() <= hit.input {
                self.election_lines.resize(hit.input + 1, 0);
            }
            self.election_lines[hit.input] += 1;
        }
        // Facts describe the cluster whatever the time filter says.
        self.context.observe(&hit);
        self.correlator.set_lease_secs(self.context.lease_secs);
        if hit.signals.is_empty() {
            return;
        }
        if let Some(time) = hit.sort_time {
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
                self.outside_range += 1;
                return;
            }
        }
        self.correlator.push(Arc::new(hit));
    }
}

fn has_etcd_lines(coverage: &Coverage) -> bool {
    coverage.shapes.keys().any(|s| s.is_etcd())
        || (coverage.shapes.contains_key(&Shape::Journald)
            && coverage.origins.iter().any(|o| o.contains("etcd")))
}

/// `--since`/`--until`: RFC 3339, or a duration (`2h`, `30m`) back from now.
pub fn parse_time_bound(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Some(time) = crate::record::json::parse_time(text) {
        return Ok(time);
    }
    crate::model::parse_duration(text)
        .map(|d| now - d)
        .map_err(|_| format!("invalid time `{text}`: expected RFC 3339 (2024-02-11T06:20:00Z) or a duration back from now (2h, 30m)"))
}

fn scan_one(
    index: usize,
    spec: &InputSpec,
    matcher: &Matcher,
    errors: &mut Vec<InputError>,
    on_hit: &mut dyn FnMut(Hit),
) -> Option<Coverage> {
    match input::open(spec) {
        Ok(opened) => Some(scan::scan(
            index,
            &spec.display_name(),
            opened,
            matcher,
            on_hit,
        )),
        Err(err) => {
            errors.push(err);
            None
        }
    }
}

fn merge_by_time(per_input: Vec<Vec<Hit>>) -> Vec<Hit> {
    let total = per_input.iter().map(Vec::len).sum();
    let mut iters: Vec<std::vec::IntoIter<Hit>> =
        per_input.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<Hit>> = iters.iter_mut().map(Iterator::next).collect();
    let mut heap = BinaryHeap::new();
    for (input, head) in heads.iter().enumerate() {
        if let Some(hit) = head {
            heap.push(Reverse((
                hit.sort_time
                    .map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX)),
                input,
            )));
        }
    }
    let mut merged = Vec::with_capacity(total);
    while let Some(Reverse((_, input))) = heap.pop() {
        if let Some(hit) = heads[input].take() {
            merged.push(hit);
        }
        heads[input] = iters[input].next();
        if let Some(hit) = &heads[input] {
            heap.push(Reverse((
                hit.sort_time
                    .map(|t| t.timestamp_nanos_opt().unwrap_or(i64::MAX)),
                input,
            )));
        }
    }
    merged
}

fn summarise(
    coverages: &[Coverage],
    findings: &[Finding],
    input_errors: &[InputError],
    rule_errors: &[RuleError],
    rules: &RuleSet,
    fail_on: Option<Severity>,
) -> Summary {
    let inputs: Vec<InputSummary> = coverages
        .iter()
        .map(|c| InputSummary {
            source: c.name.clone(),
            gzip: c.gzip,
            bytes: c.bytes,
            lines: c.lines,
            recognised: c.recognised,
            events: c.events(),
            shapes: c
                .shapes
                .iter()
                .map(|(s, n)| (s.describe().to_string(), *n))
                .collect(),
            wrappers: c
                .wrappers
                .iter()
                .map(|(w, n)| (w.to_string(), *n))
                .collect(),
            origins: c.origins.clone(),
            notes: c.notes.clone(),
            election_lines: 0,
            time_range: c.first_timestamp.map(|_| TimeRange {
                start: format_time(c.first_timestamp),
                end: format_time(c.last_timestamp),
            }),
            truncated_lines: c.truncated_lines,
            error: c.read_error.clone(),
            first_line: c.first_line.clone(),
        })
        .collect();
    let start = coverages.iter().filter_map(|c| c.first_timestamp).min();
    let end = coverages.iter().filter_map(|c| c.last_timestamp).max();
    let mut errors: Vec<String> = input_errors.iter().map(ToString::to_string).collect();
    errors.extend(
        coverages
            .iter()
            .filter_map(|c| c.read_error.as_ref().map(|e| format!("{}: {e}", c.name))),
    );
    errors.extend(rule_errors.iter().map(ToString::to_string));
    let mut by_severity = BTreeMap::new();
    for finding in findings {
        *by_severity.entry(finding.severity).or_insert(0) += 1;
    }
    let lines_read: u64 = coverages.iter().map(|c| c.lines).sum();
    let lines_recognised: u64 = coverages.iter().map(|c| c.recognised).sum();
    let failing = fail_on.map_or(0, |t| findings.iter().filter(|f| f.severity >= t).count());

    let (exit_code, verdict) = if !errors.is_empty() {
        (
            EXIT_ERROR,
            format!(
                "{} problem{} reading inputs or rules (listed above); what could be read was scanned",
                errors.len(),
                plural(errors.len())
            ),
        )
    } else if failing > 0 {
        let threshold = fail_on.map_or("", |s| s.as_str());
        (
            EXIT_FINDINGS,
            format!(
                "{failing} finding{} at or above --fail-on {threshold}",
                plural(failing)
            ),
        )
    } else if lines_recognised == 0 {
        let first = inputs.iter().find_map(|i| i.first_line.clone());
        let what = match first {
            Some(line) => format!(
                "inconclusive: 0 of {lines_read} lines look like RisingWave or etcd logs (first line: {line:?})"
            ),
            None => "inconclusive: the input is empty".to_string(),
        };
        (EXIT_INCONCLUSIVE, what)
    } else if findings.is_empty() {
        (EXIT_CLEAN, "no known failure pattern matched".to_string())
    } else {
        let threshold = fail_on.map_or("never", |s| s.as_str());
        (
            EXIT_CLEAN,
            format!("no finding at or above --fail-on {threshold}"),
        )
    };
    Summary {
        inputs,
        lines_read,
        lines_recognised,
        time_range: start.map(|_| TimeRange {
            start: format_time(start),
            end: format_time(end),
        }),
        findings: by_severity,
        rules_evaluated: rules.rules.len(),
        cluster: ClusterContext::new(),
        outside_time_range: 0,
        errors,
        exit_code,
        verdict,
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

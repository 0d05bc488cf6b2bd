//! Orchestration: inputs → scan → correlate → diagnose → report, and the
//! exit code. `analyse` is kept free of printing so tests can call it
//! directly; `write_reports` writes the result to every output.
use crate::cli::Cli;
use crate::context::ClusterContext;
use crate::correlate::Correlator;
use crate::diagnosis::{format_time, Diagnoser, Finding, InputInfo};
use crate::input::{self, InputError, InputSpec};
use crate::matcher::Matcher;
use crate::model::{Severity, Timestamp};
use crate::progress::Progress;
use crate::record::Shape;
use crate::report::printable::printable;
use crate::report::{self, sink::Sink};
use crate::rules::{RuleError, RuleSet};
use crate::scan::{Coverage, Hit};
use crate::workers;
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// Plain files at least this big are split across threads (default
    /// `workers::MIN_SPLIT_BYTES`; tests lower it to split small files).
    pub min_split_bytes: Option<u64>,
}

/// Runs the command line; returns the exit code.
pub fn run(cli: &Cli) -> u8 {
    match &cli.command {
        Some(command) => crate::subcommands::run(command, cli),
        None if cli.follow => crate::follow::run(cli),
        None => diagnose(cli),
    }
}

/// Scans every input, then writes every report.
fn diagnose(cli: &Cli) -> u8 {
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
    let (mut sinks, output_errors) = Sink::open_all(&cli.outputs, cli.color, &cli.paths);
    let request = Request {
        paths: cli.paths.clone(),
        fail_on: cli.fail_on.threshold(),
        since,
        until,
        threads: cli.threads.map(usize::from),
        min_split_bytes: None,
    };
    let progress = Progress::on_terminal(|| input::expand(&request.paths).0);
    let mut analysis = analyse_with(&request, &rules, progress.as_ref());
    if let Some(progress) = &progress {
        progress.clear();
    }
    add_errors(&mut analysis.summary, output_errors);
    let context = report::Context {
        rules: &rules,
        fail_on: request.fail_on,
    };
    write_reports(&mut analysis, &mut sinks, &mut |sink, analysis| {
        report::render(sink.format, analysis, &context, sink.color)
    })
}

/// Prints the errors on stderr, then writes each report: files first and
/// stdout last, so that the report on stdout can name a file that could not
/// be written (and exit 2 for it). Returns the exit code.
pub fn write_reports(
    analysis: &mut Analysis,
    sinks: &mut [Sink],
    render: &mut dyn FnMut(&Sink, &Analysis) -> String,
) -> u8 {
    for error in &analysis.summary.errors {
        eprintln!("rwdoctor: {}", printable(error));
    }
    sinks.sort_by_key(Sink::is_stdout);
    for sink in sinks.iter_mut() {
        let text = render(sink, analysis);
        if let Err(error) = sink.write(&text) {
            eprintln!("rwdoctor: {}", printable(&error));
            add_errors(&mut analysis.summary, vec![error]);
        }
    }
    analysis.summary.exit_code
}

/// Adds problems found after the analysis (report files that could not be
/// written): they make the exit code 2, like an unreadable input.
pub fn add_errors(summary: &mut Summary, errors: Vec<String>) {
    if errors.is_empty() {
        return;
    }
    summary.errors.extend(errors);
    summary.exit_code = EXIT_ERROR;
    summary.verdict = errors_verdict(summary.errors.len());
}

fn errors_verdict(count: usize) -> String {
    format!(
        "{count} problem{} reading inputs or rules or writing reports (listed above); \
         what could be read was scanned",
        plural(count)
    )
}

pub fn analyse(request: &Request, rules: &RuleSet) -> Analysis {
    analyse_with(request, rules, None)
}

/// `analyse`, showing `progress` while scanning.
pub fn analyse_with(request: &Request, rules: &RuleSet, progress: Option<&Progress>) -> Analysis {
    analyse_matching(
        request,
        rules,
        &Matcher::new_compiling_ahead(rules),
        progress,
    )
}

/// `analyse_with`, with the matcher of `rules` already built (the fuzz
/// checks analyse thousands of inputs with one rule set).
pub fn analyse_matching(
    request: &Request,
    rules: &RuleSet,
    matcher: &Matcher,
    progress: Option<&Progress>,
) -> Analysis {
    let (specs, mut input_errors) = input::expand(&request.paths);
    let mut timeline = Timeline::new(Correlator::new(rules), request.since, request.until);
    let mut coverages: Vec<Option<Coverage>> = Vec::with_capacity(specs.len());

    // Scanned on all cores; the hits arrive merged into one timeline by
    // time, each input's own order kept (a clock step back stays in line
    // order), and stream into the correlator as they come.
    let plan = workers::Plan {
        threads: workers::thread_count(request.threads),
        min_split_bytes: request.min_split_bytes.unwrap_or(workers::MIN_SPLIT_BYTES),
    };
    let scans = workers::scan_merged(&specs, matcher, plan, progress, &mut |hit| {
        timeline.push(hit);
    });
    for scan in scans {
        if let Some(error) = scan.error {
            input_errors.push(error);
        }
        coverages.push(scan.coverage);
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
    let inputs = input_infos(&specs, &coverages);
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
/// Batch scans and `--follow` both feed hits through it.
pub struct Timeline<'r> {
    pub correlator: Correlator<'r>,
    pub context: ClusterContext,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    pub outside_range: u64,
    /// Per input: lines about the election (campaigns, wins, lease trouble).
    pub election_lines: Vec<u64>,
}

impl<'r> Timeline<'r> {
    pub fn new(
        correlator: Correlator<'r>,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Self {
        Timeline {
            correlator,
            context: ClusterContext::new(),
            since,
            until,
            outside_range: 0,
            election_lines: Vec::new(),
        }
    }

    /// Takes one hit; returns whether it went to the correlator.
    pub fn push(&mut self, hit: Hit) -> bool {
        use crate::facts::FactKind;
        // Start-up lines (a banner, `> version:`) may match signals (of the
        // restart rule) but say nothing about the election.
        let startup = hit
            .facts
            .iter()
            .any(|(kind, _)| matches!(kind, FactKind::NodeStarting | FactKind::Version));
        let about_election = (!hit.signals.is_empty() && !startup)
            || hit
                .facts
                .iter()
                .any(|(kind, _)| *kind == FactKind::ElectionMember);
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
            return false;
        }
        if let Some(time) = hit.sort_time {
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time > u) {
                self.outside_range += 1;
                return false;
            }
        }
        self.correlator.push(Arc::new(hit));
        true
    }
}

/// What the diagnosis needs to know of each input, from its coverage.
pub fn input_infos(specs: &[InputSpec], coverages: &[Option<Coverage>]) -> Vec<InputInfo> {
    specs
        .iter()
        .zip(coverages.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(spec, coverage)| {
            let coverage = coverage.and_then(Option::as_ref);
            InputInfo {
                name: spec.display_name(),
                has_etcd: coverage.is_some_and(has_etcd_lines),
                first: coverage.and_then(|c| c.first_timestamp),
                last: coverage.and_then(|c| c.last_timestamp),
            }
        })
        .collect()
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

pub(crate) fn summarise(
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
                "inconclusive: 0 of {lines_read} lines look like RisingWave or etcd logs (first line: \"{}\")",
                first_line_excerpt(&line)
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

/// The start of an input's first line, for the inconclusive verdict: control
/// characters escaped (it may be a binary file) and short enough to wrap
/// into a report line.
fn first_line_excerpt(line: &str) -> String {
    const SHOWN: usize = 48;
    let shown = printable(line);
    if shown.chars().count() <= SHOWN {
        return shown.into_owned();
    }
    shown.chars().take(SHOWN).collect::<String>() + "…"
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

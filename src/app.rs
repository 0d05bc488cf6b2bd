//! Orchestration: inputs → scan → correlate → diagnose → report, and the
//! exit code. `analyse` is kept free of printing so tests can call it
//! directly; `write_reports` writes the result to every output.
use crate::cli::Cli;
use crate::correlate::Correlator;
use crate::diagnosis::{format_time, Diagnoser, Finding};
use crate::input::{self, InputError, InputSpec};
use crate::matcher::Matcher;
use crate::model::Severity;
use crate::progress::Progress;
use crate::report::{self, sink::Sink};
use crate::rules::{RuleError, RuleSet};
use crate::scan::{self, Coverage, Hit};
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
    pub recognised: u64,
    pub shapes: BTreeMap<String, u64>,
    pub time_range: Option<TimeRange>,
    pub truncated_lines: u64,
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
    let (mut sinks, output_errors) = Sink::open_all(&cli.outputs, cli.color, &cli.paths);
    let request = Request {
        paths: cli.paths.clone(),
        fail_on: cli.fail_on.threshold(),
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
        eprintln!("rwdoctor: {error}");
    }
    sinks.sort_by_key(Sink::is_stdout);
    for sink in sinks.iter_mut() {
        let text = render(sink, analysis);
        if let Err(error) = sink.write(&text) {
            eprintln!("rwdoctor: {error}");
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
    let (specs, mut input_errors) = input::expand(&request.paths);
    let names: Vec<String> = specs.iter().map(InputSpec::display_name).collect();
    let matcher = Matcher::new(rules);
    let mut correlator = Correlator::new(rules);
    let mut coverages: Vec<Coverage> = Vec::new();

    if specs.len() == 1 {
        // One input: stream hits straight into the correlator.
        let mut on_hit = |hit| correlator.push(Arc::new(hit));
        if let Some(coverage) = scan_one(
            0,
            &specs[0],
            &matcher,
            progress,
            &mut input_errors,
            &mut on_hit,
        ) {
            coverages.push(coverage);
        }
    } else {
        // Several inputs: one timeline, merged by time, each input's own
        // order kept (a log with a clock step back stays in line order).
        let mut per_input: Vec<Vec<Hit>> = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let mut hits = Vec::new();
            let mut on_hit = |hit| hits.push(hit);
            if let Some(coverage) = scan_one(
                index,
                spec,
                &matcher,
                progress,
                &mut input_errors,
                &mut on_hit,
            ) {
                coverages.push(coverage);
            }
            per_input.push(hits);
        }
        for hit in merge_by_time(per_input) {
            correlator.push(Arc::new(hit));
        }
    }

    let outcomes = correlator.finish();
    let findings = Diagnoser {
        rules,
        input_names: &names,
    }
    .findings(&outcomes);
    let summary = summarise(
        &coverages,
        &findings,
        &input_errors,
        &rules.errors,
        rules,
        request.fail_on,
    );
    Analysis { findings, summary }
}

fn scan_one(
    index: usize,
    spec: &InputSpec,
    matcher: &Matcher,
    progress: Option<&Progress>,
    errors: &mut Vec<InputError>,
    on_hit: &mut dyn FnMut(Hit),
) -> Option<Coverage> {
    let opened = match progress {
        Some(progress) => {
            progress.begin_input(index, &spec.display_name());
            input::open_with(spec, |raw| progress.count_raw(raw)).map(|mut opened| {
                opened.reader = progress.count_lines(opened.reader);
                opened
            })
        }
        None => input::open(spec),
    };
    match opened {
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
            shapes: c
                .shapes
                .iter()
                .map(|(s, n)| (s.describe().to_string(), *n))
                .collect(),
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

//! The result of a run, as every report reads it: the findings, the summary
//! (inputs, coverage, cluster facts, errors), the exit code and the verdict
//! in words. Reports depend on this module, never on the code that ran the
//! analysis.
use crate::context::ClusterContext;
use crate::diagnosis::{format_time, Finding};
use crate::input::InputError;
use crate::model::{Severity, Timestamp};
use crate::rules::RuleSet;
use crate::scan::Coverage;
use crate::text::plural;
use crate::text::printable::printable;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// JSON lines over 256 KiB kept whole, string values over 16 KiB
    /// shortened (their later fields are searched).
    pub shortened_lines: u64,
    /// Bytes gone before they were read (the file shrank while read).
    pub unread_bytes: u64,
    /// Assumptions made while reading, e.g. the year of journalctl lines.
    pub notes: Vec<String>,
    /// Its lines ran newest first (logcli's default, a Grafana copy): they
    /// were read in time order. Present only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub newest_first: bool,
    /// Lines about the meta election or its etcd trouble.
    pub election_lines: u64,
    /// Lines over time: the overview's histogram.
    pub activity: Activity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub first_line: Option<String>,
}

/// An input's lines over time: from `start`, bins of `bin_seconds` each
/// (at most `activity::BINS`), with the lines, WARN lines and ERROR (or
/// worse) lines in each. A bin with no line is a silent stretch.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// Where the first bin starts (RFC 3339, UTC); null when no line of
    /// the input carried a time.
    pub start: Option<String>,
    /// Seconds since the epoch of `start`, for drawing.
    #[serde(skip)]
    pub start_seconds: Option<i64>,
    pub bin_seconds: i64,
    pub lines: Vec<u64>,
    pub warn: Vec<u64>,
    pub error: Vec<u64>,
    /// Lines of an input in which no line carried a time (`kubectl
    /// describe`, `docker inspect`): not on the time axis.
    pub untimed_lines: u64,
}

impl From<&crate::activity::Histogram> for Activity {
    fn from(h: &crate::activity::Histogram) -> Self {
        let start = h.start();
        Activity {
            start: start.and_then(|s| {
                chrono::DateTime::from_timestamp(s, 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }),
            start_seconds: start,
            bin_seconds: h.bin_seconds(),
            lines: h.bins().iter().map(|b| b.lines).collect(),
            warn: h.bins().iter().map(|b| b.warn).collect(),
            error: h.bins().iter().map(|b| b.error).collect(),
            untimed_lines: h.untimed.lines,
        }
    }
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
    /// The --since / --until window, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_window: Option<WindowSummary>,
    /// Inputs that could not be read and rule files that are invalid.
    pub errors: Vec<String>,
    pub exit_code: u8,
    /// Why the exit code is what it is, in words.
    pub verdict: String,
    /// The verdict without the exit's own word ("inconclusive: "), for a
    /// report that already names it.
    #[serde(skip)]
    pub reason: String,
}

/// The time window of a run, and what it left out.
#[derive(Debug, Clone, Serialize)]
pub struct WindowSummary {
    pub since: Option<String>,
    pub until: Option<String>,
    /// Matching lines inside the window, which were checked.
    pub matching_lines_checked: u64,
    /// Matching lines outside it, which were not (`outside_time_range`).
    pub matching_lines_left_out: u64,
    /// Every line read lies outside the window (by the logs' time range).
    pub all_lines_outside: bool,
}

/// `--since` / `--until` as resolved, and the matching lines inside them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub checked: u64,
}

impl Window {
    fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    fn describe(&self) -> String {
        match (format_time(self.since), format_time(self.until)) {
            (Some(s), Some(u)) => format!("--since {s} --until {u}"),
            (Some(s), None) => format!("--since {s}"),
            (None, Some(u)) => format!("--until {u}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// What else changed (issue 17): templates mined from the lines, new,
    /// increased or first seen before a restart. Always present (additive).
    pub discovery: crate::discovery::Discovery,
}

impl From<&Coverage> for InputSummary {
    fn from(c: &Coverage) -> Self {
        InputSummary {
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
            newest_first: c.newest_first,
            notes: {
                let mut notes = c.notes.clone();
                if c.shortened_lines > 0 {
                    notes.push(format!(
                        "{} JSON line{} over {} KiB kept whole, string values over {} KiB shortened",
                        c.shortened_lines,
                        plural(c.shortened_lines as usize),
                        crate::lines::MAX_LINE / 1024,
                        crate::lines::MAX_JSON_STRING / 1024
                    ));
                }
                notes
            },
            // Counted on the timeline, not in the scan: filled by the pipeline.
            election_lines: 0,
            time_range: c.first_timestamp.map(|_| TimeRange {
                start: format_time(c.first_timestamp),
                end: format_time(c.last_timestamp),
            }),
            truncated_lines: c.truncated_lines,
            shortened_lines: c.shortened_lines,
            unread_bytes: c.unread_bytes,
            activity: Activity::from(&c.activity),
            error: c.read_error.clone(),
            first_line: c.first_line.clone(),
        }
    }
}

/// Adds problems found after the analysis (report files that could not be
/// written): they make the exit code 2, like an unreadable input.
pub fn add_errors(summary: &mut Summary, errors: Vec<String>) {
    if errors.is_empty() {
        return;
    }
    summary.errors.extend(errors);
    summary.exit_code = EXIT_ERROR;
    summary.reason = errors_verdict(summary.errors.len());
    summary.verdict = verdict_for(EXIT_ERROR, &summary.reason);
}

/// The verdict as the JSON gives it: the reason, after the exit's own word
/// when it has one ("inconclusive: ...").
fn verdict_for(exit_code: u8, reason: &str) -> String {
    if exit_code == EXIT_INCONCLUSIVE {
        format!("inconclusive: {reason}")
    } else {
        reason.to_string()
    }
}

fn errors_verdict(count: usize) -> String {
    format!(
        "{count} problem{} reading inputs or rules or writing reports (listed above); \
         what could be read was scanned",
        plural(count)
    )
}

/// Everything the summary is made of, from the end of the pipeline.
pub struct Tally<'a> {
    /// One per input that could be opened, in input order.
    pub coverages: &'a [Coverage],
    /// Lines about the meta election, per entry of `coverages`.
    pub election_lines: &'a [u64],
    pub findings: &'a [Finding],
    pub input_errors: &'a [InputError],
    pub rules: &'a RuleSet,
    pub cluster: ClusterContext,
    /// Matching lines left out by --since / --until.
    pub outside_time_range: u64,
    pub window: Window,
    pub fail_on: Option<Severity>,
    /// WARN/ERROR templates discovery found new, counted only with
    /// `--fail-on-new` (0 otherwise): each fails the run like a finding.
    pub new_templates: usize,
}

/// The summary, exit code and verdict of a run.
pub fn summarise(tally: Tally) -> Summary {
    let Tally {
        coverages,
        election_lines,
        findings,
        input_errors,
        rules,
        cluster,
        outside_time_range,
        window,
        fail_on,
        new_templates,
    } = tally;
    let rule_errors = &rules.errors;
    let mut inputs: Vec<InputSummary> = coverages.iter().map(InputSummary::from).collect();
    for (input, count) in inputs.iter_mut().zip(election_lines) {
        input.election_lines = *count;
    }
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

    // A window that leaves every line, or every matching line, out checked
    // nothing: that is not an all-clear.
    let all_before = matches!((end, window.since), (Some(e), Some(s)) if e < s);
    let all_after = matches!((start, window.until), (Some(b), Some(u)) if b > u);
    let all_lines_outside = window.is_set() && (all_before || all_after);
    let window_empty = window.is_set()
        && lines_recognised > 0
        && (all_lines_outside || (window.checked == 0 && outside_time_range > 0));
    let window_words = window.is_set().then(|| {
        let span = match (format_time(start), format_time(end)) {
            (Some(s), Some(e)) => format!("the logs span {s} to {e}"),
            _ => "the logs have no time".to_string(),
        };
        if all_before {
            format!(
                "all {lines_read} line{} are before {} ({span}); nothing was checked",
                plural(lines_read as usize),
                window.describe()
            )
        } else if all_after {
            format!(
                "all {lines_read} line{} are after {} ({span}); nothing was checked",
                plural(lines_read as usize),
                window.describe()
            )
        } else if window_empty {
            format!(
                "no matching line is within {} ({outside_time_range} outside it left out; {span}); nothing was checked",
                window.describe()
            )
        } else {
            format!(
                "only lines within {} were checked ({outside_time_range} matching line{} outside it left out; {span})",
                window.describe(),
                plural(outside_time_range as usize)
            )
        }
    });
    let (exit_code, reason) = if !errors.is_empty() {
        (EXIT_ERROR, errors_verdict(errors.len()))
    } else if failing > 0 {
        let threshold = fail_on.map_or("", |s| s.as_str());
        (
            EXIT_FINDINGS,
            format!(
                "{failing} finding{} at or above --fail-on {threshold}",
                plural(failing)
            ),
        )
    } else if new_templates > 0 {
        (
            EXIT_FINDINGS,
            format!(
                "{new_templates} new WARN/ERROR template{} (--fail-on-new)",
                plural(new_templates)
            ),
        )
    } else if lines_recognised == 0 {
        let first = inputs.iter().find_map(|i| i.first_line.clone());
        let what = match first {
            Some(line) => format!(
                "0 of {lines_read} lines look like RisingWave or etcd logs (first line: \"{}\")",
                first_line_excerpt(&line)
            ),
            None => "the input is empty".to_string(),
        };
        (EXIT_INCONCLUSIVE, what)
    } else if window_empty {
        (EXIT_INCONCLUSIVE, window_words.clone().unwrap_or_default())
    } else if let Some(unread) = unread_words(coverages).filter(|_| failing == 0) {
        // Clean, but not everything was read: no all-clear.
        (EXIT_INCONCLUSIVE, unread)
    } else if rules.rules.is_empty() {
        // `--no-builtin-rules` without `--rules DIR`: no failure pattern
        // was looked for, so no all-clear either.
        (
            EXIT_INCONCLUSIVE,
            "no rule was checked (--no-builtin-rules and no --rules DIR); only discovery read the logs".to_string(),
        )
    } else if findings.is_empty() {
        (EXIT_CLEAN, "no known failure pattern matched".to_string())
    } else {
        let threshold = fail_on.map_or("never", |s| s.as_str());
        (
            EXIT_CLEAN,
            format!("no finding at or above --fail-on {threshold}"),
        )
    };
    let reason = match &window_words {
        Some(words) if exit_code != EXIT_INCONCLUSIVE && exit_code != EXIT_ERROR => {
            format!("{reason}; {words}")
        }
        _ => reason,
    };
    let verdict = verdict_for(exit_code, &reason);
    Summary {
        time_window: window.is_set().then(|| WindowSummary {
            since: format_time(window.since),
            until: format_time(window.until),
            matching_lines_checked: window.checked,
            matching_lines_left_out: outside_time_range,
            all_lines_outside,
        }),
        inputs,
        lines_read,
        lines_recognised,
        time_range: start.map(|_| TimeRange {
            start: format_time(start),
            end: format_time(end),
        }),
        findings: by_severity,
        rules_evaluated: rules.rules.len(),
        cluster,
        outside_time_range,
        errors,
        exit_code,
        verdict,
        reason,
    }
}

/// What a scan left unread (lines cut at the length limit, files that
/// shrank while read), in words; `None` when it read everything.
fn unread_words(coverages: &[Coverage]) -> Option<String> {
    let cut: u64 = coverages.iter().map(|c| c.truncated_lines).sum();
    let shrunk: Vec<&str> = coverages
        .iter()
        .filter(|c| c.unread_bytes > 0)
        .map(|c| c.name.as_str())
        .collect();
    let mut parts = Vec::new();
    if cut > 0 {
        parts.push(format!(
            "{cut} line{} over {} KiB {} cut, and a failure in the part cut off would be missed",
            plural(cut as usize),
            crate::lines::MAX_LINE / 1024,
            if cut == 1 { "was" } else { "were" }
        ));
    }
    if !shrunk.is_empty() {
        parts.push(format!(
            "{} shrank while being read and {} only in part ({})",
            printable(&shrunk.join(", ")),
            if shrunk.len() == 1 {
                "was scanned"
            } else {
                "were scanned"
            },
            "see its notes"
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "no known failure pattern in what was read, but {}",
            parts.join("; ")
        )
    })
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

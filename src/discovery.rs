//! Discovery (issue 17): what else changed, when no rule knows the failure.
//! The scan mines WARN/ERROR lines (every line with `--discover=all`) into
//! template tables (`templates`), one per input; here they are compared
//! with a known-good log (`--baseline`: new, increased, gone) and with each
//! node's own earlier lines (a template first seen in the last minutes
//! before a restart of its node, or before the end of its input), and
//! ranked: the row most likely to be the cause first.
use crate::model::{Level, Timestamp};
use crate::templates::{self, format_id, Comparison, Depth, Status, Table, Template, WindowMined};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// Rows kept in the JSON report (the rest are counted in `templates_omitted`).
pub const MAX_ROWS: usize = 100;
/// Time bins of a row's sparkline.
pub const SPARK_BINS: usize = 32;
/// The window before a restart or the end of an input, by default.
pub const DEFAULT_WINDOW_SECS: i64 = templates::DEFAULT_WINDOW_SECS;

/// Discovery's part of the request (the command line's flags).
#[derive(Debug, Clone)]
pub struct Options {
    pub depth: Depth,
    /// `--discover`: the human report shows the section even when a
    /// finding is at warning or above.
    pub show: bool,
    /// `--baseline PATH`: known-good logs, read like inputs.
    pub baseline: Vec<PathBuf>,
    /// `--fail-on-new`: exit 1 when a WARN/ERROR template is new.
    pub fail_on_new: bool,
    /// The window before a restart or the end of an input, in seconds.
    pub window_secs: i64,
    /// The windows before restarts and ends are mined at every level too
    /// (`scan::Part::windows`): by default (`--discover=windows`), not with
    /// `--discover=warn`. On the 1 GiB bench it costs about 10% of the
    /// run's CPU (`docs/discovery.md`).
    pub every_level_windows: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            depth: Depth::WarnError,
            show: false,
            baseline: Vec::new(),
            fail_on_new: false,
            window_secs: DEFAULT_WINDOW_SECS,
            every_level_windows: true,
        }
    }
}

impl Options {
    /// The window the scan mines at every level (`scan::Part::windows`),
    /// unless `--discover=warn` (`off` and `all` mine nothing, or
    /// everything, below WARN).
    pub fn scan_windows(&self) -> Option<i64> {
        self.every_level_windows.then_some(self.window_secs)
    }
}

/// A node's start-up banner, as the timeline saw it.
#[derive(Debug, Clone)]
pub struct Start {
    pub input: usize,
    pub line: u64,
    pub time: Option<Timestamp>,
    /// The input has lines before it: a previous process ran, so this is a
    /// restart.
    pub restart: bool,
}

/// One input's templates and where its node restarted.
pub struct InputTemplates<'a> {
    pub name: String,
    pub table: &'a Table,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Its windows mined at the levels below the table's (`None`: not
    /// mined, e.g. with `--discover=all`, where the table has every level).
    pub windows: Option<&'a WindowMined>,
}

/// The known-good logs, mined.
pub struct Baseline {
    pub sources: Vec<String>,
    pub table: Table,
}

/// What a window is before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorKind {
    /// A second start-up banner of the node (it restarted).
    Restart,
    /// The end of the input.
    End,
}

/// A restart or the end of an input.
#[derive(Debug, Clone, Serialize)]
pub struct Anchor {
    pub kind: AnchorKind,
    pub source: String,
    /// 1-based line of the banner (the last line read for `end`).
    pub line: u64,
    pub at: String,
    /// Restarts of this input are numbered from 1.
    pub number: usize,
    #[serde(skip)]
    time: Timestamp,
}

/// A template first seen in the window before an anchor: its node never
/// wrote it before.
#[derive(Debug, Clone, Serialize)]
pub struct WindowHit {
    pub anchor: AnchorKind,
    pub source: String,
    /// Restart number in that input (0 for the end).
    pub number: usize,
    pub at: String,
    /// When the template first came, relative to the anchor (negative).
    pub first_offset_seconds: f64,
}

/// A template written far more often in the window before an anchor than
/// by the same node before that window ("increased within a node"):
/// Poisson tail of the window's count given the node's earlier rate per
/// minute, as `templates::compare` tests a baseline.
#[derive(Debug, Clone, Serialize)]
pub struct WindowGrowth {
    pub anchor: AnchorKind,
    pub source: String,
    /// Restart number in that input (0 for the end).
    pub number: usize,
    pub at: String,
    /// Lines in the window's minutes (the minute bins it touches).
    pub window_count: u64,
    pub window_minutes: i64,
    /// Lines in the node's minutes before them.
    pub earlier_count: u64,
    pub earlier_minutes: i64,
    /// Lines per minute in the window over lines per minute before it
    /// (each plus one).
    pub rate_ratio: f64,
    /// −log10 of the Poisson tail.
    pub score: f64,
}

/// Where a row's first line is.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub source: String,
    pub line: u64,
}

/// Lines per time bin over the run's time range (for sparklines).
#[derive(Debug, Clone, Serialize)]
pub struct Sparkline {
    pub start: String,
    pub step_seconds: i64,
    pub counts: Vec<u32>,
}

/// How a row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Not once in the baseline.
    New,
    /// Much more frequent than in the baseline, not by chance.
    Increased,
    /// As in the baseline.
    Same,
    /// Frequent in the baseline, absent here.
    Gone,
    /// No baseline given: seen (see `window` for what is new to its node).
    Seen,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::New => "new",
            RowStatus::Increased => "increased",
            RowStatus::Same => "same",
            RowStatus::Gone => "gone",
            RowStatus::Seen => "seen",
        }
    }
}

/// One template row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub status: RowStatus,
    /// Ranking score: −log10 of the Poisson tail (50 for new), without a
    /// baseline 0.
    pub score: f64,
    pub level: Option<Level>,
    pub target: Option<String>,
    pub kind: &'static str,
    pub template: String,
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_ratio: Option<f64>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub first: Place,
    /// The first line as written (cut at 512 bytes).
    pub example: String,
    /// First seen in the window before a restart of its node or the end of
    /// its input (and never before in that node).
    pub window: Option<WindowHit>,
    /// Seen before, but far more often in the window before a restart or
    /// the end than earlier in the same node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grew: Option<WindowGrowth>,
    /// The first line's offset from the next restart (or end) of its input.
    pub offset_seconds: Option<f64>,
    pub offset_anchor: Option<AnchorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparkline: Option<Sparkline>,
    #[serde(skip)]
    pub first_time: Option<Timestamp>,
}

impl Row {
    /// A WARN, ERROR or FATAL template (or a panic).
    pub fn is_alert(&self) -> bool {
        self.level.is_some_and(|l| l >= Level::Warn)
    }

    /// The rank tier: new, increased, new before a restart, new before
    /// the end, grown before a restart or the end, then the rest.
    fn tier(&self) -> u8 {
        match (self.status, &self.window) {
            (RowStatus::New, _) => 0,
            (RowStatus::Increased, _) => 1,
            (RowStatus::Gone, _) => 7,
            (_, Some(w)) if w.anchor == AnchorKind::Restart => 2,
            (_, Some(_)) => 3,
            _ if self.grew.is_some() => 4,
            (RowStatus::Seen, None) => 5,
            (RowStatus::Same, None) => 6,
        }
    }

    /// Whether the human section lists it (the rest are in the JSON).
    pub fn is_change(&self) -> bool {
        self.tier() <= 4 || (self.status == RowStatus::Seen && self.is_alert())
    }
}

/// The `discovery` object of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// `warn_error`, `all` or `off`.
    pub levels: &'static str,
    /// `baseline` (compared with `--baseline`) or `self` (each node with
    /// its own earlier lines only).
    pub mode: &'static str,
    /// Whether the human report shows the section (no finding at warning or
    /// above, or `--discover`).
    pub shown: bool,
    /// `--discover` (or `--baseline`) was given: the section shows even
    /// with nothing in it.
    #[serde(skip)]
    pub asked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    pub window_seconds: i64,
    /// The windows mined at the levels below the one mined everywhere
    /// (absent when every level is mined).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_levels: Option<WindowLevels>,
    /// Restarts (second start-up banners) and input ends.
    pub anchors: Vec<Anchor>,
    pub lines_mined: u64,
    pub templates_total: usize,
    /// Lines of templates past the cap per origin
    /// (`templates::MAX_TEMPLATES_PER_ORIGIN`), counted exactly.
    pub templates_overflow_lines: u64,
    /// New WARN/ERROR/FATAL templates (against the baseline; without one,
    /// those first seen before a restart or the end of an input).
    pub new_alerts: usize,
    /// Rows, the most likely cause first.
    pub templates: Vec<Row>,
    pub templates_omitted: usize,
    /// Frequent in the baseline, absent here.
    pub gone: Vec<Row>,
}

/// What the windows at every level read (`Discovery::window_levels`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct WindowLevels {
    /// Templates first seen in a window and new to their node.
    pub new_templates: usize,
    /// Inputs whose lines below that level are not all plain text (JSON,
    /// pretty, wrapped, coloured): no template of theirs at those levels is
    /// said to be new.
    pub inputs_not_checked: Vec<String>,
    /// Inputs with more distinct coarse keys than kept: from then on no
    /// template of theirs at those levels is said to be new.
    pub inputs_over_key_cap: Vec<String>,
    /// Lines dropped from the copy of the last blocks (its byte cap) while
    /// still within a window: a window may be cut short.
    pub lines_dropped: u64,
    /// Window lines past the cap per part, not counted in a row.
    pub entries_dropped: u64,
    /// Rows (ids) whose count stopped at `templates::MAX_KEPT_PER_KEY`
    /// lines: at least that many.
    pub counts_at_least: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineSummary {
    pub sources: Vec<String>,
    pub lines_mined: u64,
    pub templates: usize,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            levels: "off",
            mode: "self",
            shown: false,
            asked: false,
            baseline: None,
            window_seconds: DEFAULT_WINDOW_SECS,
            window_levels: None,
            anchors: Vec::new(),
            lines_mined: 0,
            templates_total: 0,
            templates_overflow_lines: 0,
            new_alerts: 0,
            templates: Vec::new(),
            templates_omitted: 0,
            gone: Vec::new(),
        }
    }
}

fn time_text(ts: Option<Timestamp>) -> Option<String> {
    ts.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    (a - b).num_milliseconds() as f64 / 1000.0
}

/// The anchors of each input: its restarts (a start-up banner after other
/// lines of the same input) and its end.
fn anchors_of(inputs: &[InputTemplates<'_>], starts: &[Start]) -> Vec<Vec<Anchor>> {
    let mut per_input: Vec<Vec<Anchor>> = inputs.iter().map(|_| Vec::new()).collect();
    let mut sorted: Vec<&Start> = starts.iter().filter(|s| s.restart).collect();
    sorted.sort_by_key(|s| (s.input, s.line));
    for start in sorted {
        let (Some(list), Some(input), Some(time)) = (
            per_input.get_mut(start.input),
            inputs.get(start.input),
            start.time,
        ) else {
            continue;
        };
        list.push(Anchor {
            kind: AnchorKind::Restart,
            source: input.name.clone(),
            line: start.line,
            at: time_text(Some(time)).unwrap_or_default(),
            number: list.len() + 1,
            time,
        });
    }
    for (list, input) in per_input.iter_mut().zip(inputs) {
        if let Some(last) = input.last {
            list.push(Anchor {
                kind: AnchorKind::End,
                source: input.name.clone(),
                line: 0,
                at: time_text(Some(last)).unwrap_or_default(),
                number: 0,
                time: last,
            });
        }
    }
    per_input
}

/// Records that template `id`, first seen at `first`, is new in the window
/// before anchor `a`; of several anchors, a restart before an end, then the
/// earliest, is kept.
fn note_window(windows: &mut HashMap<u64, WindowHit>, id: u64, a: &Anchor, first: Timestamp) {
    let hit = WindowHit {
        anchor: a.kind,
        source: a.source.clone(),
        number: a.number,
        at: a.at.clone(),
        first_offset_seconds: seconds_between(first, a.time),
    };
    windows
        .entry(id)
        .and_modify(|w| {
            if (hit.anchor, &hit.at) < (w.anchor, &w.at) {
                *w = hit.clone();
            }
        })
        .or_insert(hit);
}

/// Analyses the tables of a run.
pub fn discover(
    options: &Options,
    inputs: &[InputTemplates<'_>],
    starts: &[Start],
    baseline: Option<&Baseline>,
) -> Discovery {
    let mut discovery = Discovery {
        levels: match options.depth {
            Depth::Off => "off",
            Depth::WarnError => "warn_error",
            Depth::All => "all",
        },
        mode: if baseline.is_some() {
            "baseline"
        } else {
            "self"
        },
        window_seconds: options.window_secs,
        ..Discovery::default()
    };
    if options.depth == Depth::Off {
        return discovery;
    }
    let anchors = anchors_of(inputs, starts);
    let window = chrono::Duration::seconds(options.window_secs);

    // First window hit per template id, over the inputs in order.
    let mut windows: HashMap<u64, WindowHit> = HashMap::new();
    for (input, list) in inputs.iter().zip(&anchors) {
        for t in input.table.iter() {
            let Some(first) = t.first_seen else { continue };
            let hit = list.iter().find(|a| {
                // The node must have history before the window.
                first <= a.time
                    && first >= a.time - window
                    && input.first.is_some_and(|f| f < a.time - window)
            });
            if let Some(a) = hit {
                note_window(&mut windows, t.id, a, first);
            }
        }
    }

    let growth = growth_in_windows(inputs, &anchors, options.window_secs);

    let mut all = Table::new(false);
    for input in inputs {
        all.absorb(input.table.clone(), 0);
    }
    let late = window_levels(inputs, &anchors, window, &all, &mut windows);
    discovery.window_levels = late.as_ref().map(|(summary, _)| summary.clone());
    discovery.lines_mined = all.lines;
    discovery.templates_total = all.len();
    discovery.templates_overflow_lines = all.overflow_lines;
    discovery.anchors = anchors.iter().flatten().cloned().collect();

    let range = (
        inputs.iter().filter_map(|i| i.first).min(),
        inputs.iter().filter_map(|i| i.last).max(),
    );
    let anchor_of_source: HashMap<&str, &Vec<Anchor>> = inputs
        .iter()
        .zip(&anchors)
        .map(|(i, a)| (i.name.as_str(), a))
        .collect();
    let make_row = |t: &Template, comparison: Option<Comparison>| -> Row {
        let status = match comparison.map(|c| c.status) {
            None => RowStatus::Seen,
            Some(Status::New) => RowStatus::New,
            Some(Status::Increased) => RowStatus::Increased,
            Some(Status::Same) => RowStatus::Same,
            Some(Status::Gone) => RowStatus::Gone,
        };
        let offset = t.first_seen.and_then(|first| {
            let list = anchor_of_source.get(t.example.source.as_str())?;
            let next = list
                .iter()
                .filter(|a| a.time >= first)
                .min_by_key(|a| a.time)?;
            Some((seconds_between(first, next.time), next.kind))
        });
        Row {
            id: format_id(t.id),
            status,
            score: comparison.map_or(0.0, |c| (c.score * 100.0).round() / 100.0),
            level: t.key.level,
            target: t.key.target.clone(),
            kind: t.key.kind,
            template: t.key.text.clone(),
            count: t.count,
            baseline_count: comparison.map(|c| c.baseline_count),
            rate_ratio: comparison
                .filter(|c| c.status != Status::New)
                .map(|c| (c.rate_ratio * 100.0).round() / 100.0),
            first_seen: time_text(t.first_seen),
            last_seen: time_text(t.last_seen),
            first: Place {
                source: t.example.source.clone(),
                line: t.example.line,
            },
            example: t.example.text.clone(),
            window: windows.get(&t.id).cloned(),
            grew: (!windows.contains_key(&t.id))
                .then(|| growth.get(&t.id).cloned())
                .flatten(),
            offset_seconds: offset.map(|o| o.0),
            offset_anchor: offset.map(|o| o.1),
            sparkline: sparkline(t, range),
            first_time: t.first_seen,
        }
    };

    let mut rows: Vec<Row> = all
        .iter()
        .map(|t| {
            let comparison = baseline.map(|b| {
                let count = b.table.get(t.id).map_or(0, |bt| bt.count);
                templates::compare(t.count, all.lines, count, b.table.lines)
            });
            make_row(t, comparison)
        })
        .collect();
    // The window templates below the level mined everywhere: no baseline
    // comparison (the baseline is not mined at those levels).
    if let Some((_, late)) = &late {
        rows.extend(late.iter().map(|t| make_row(t, None)));
    }
    rows.sort_by(|a, b| {
        a.tier()
            .cmp(&b.tier())
            .then_with(|| match a.tier() {
                1 => b.score.total_cmp(&a.score).then(b.count.cmp(&a.count)),
                4 => {
                    let score = |r: &Row| r.grew.as_ref().map_or(0.0, |g| g.score);
                    score(b).total_cmp(&score(a)).then(b.count.cmp(&a.count))
                }
                // New to the node: WARN/ERROR/FATAL before the other
                // levels, then the earliest first.
                2 | 3 => (
                    !a.is_alert(),
                    a.first_time.is_none(),
                    a.first_time,
                    &a.first.source,
                    a.first.line,
                )
                    .cmp(&(
                        !b.is_alert(),
                        b.first_time.is_none(),
                        b.first_time,
                        &b.first.source,
                        b.first.line,
                    )),
                0 => (
                    a.first_time.is_none(),
                    a.first_time,
                    &a.first.source,
                    a.first.line,
                )
                    .cmp(&(
                        b.first_time.is_none(),
                        b.first_time,
                        &b.first.source,
                        b.first.line,
                    )),
                _ => b
                    .level
                    .cmp(&a.level)
                    .then(b.count.cmp(&a.count))
                    .then_with(|| {
                        (&a.first.source, a.first.line).cmp(&(&b.first.source, b.first.line))
                    }),
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    discovery.new_alerts = rows
        .iter()
        .filter(|r| {
            r.is_alert()
                && match baseline {
                    Some(_) => r.status == RowStatus::New,
                    None => r.window.is_some(),
                }
        })
        .count();
    if let Some(b) = baseline {
        discovery.baseline = Some(BaselineSummary {
            sources: b.sources.clone(),
            lines_mined: b.table.lines,
            templates: b.table.len(),
        });
        let mut gone: Vec<(&Template, Comparison)> = b
            .table
            .iter()
            .filter(|bt| all.get(bt.id).is_none())
            .map(|bt| {
                (
                    bt,
                    templates::compare(0, all.lines, bt.count, b.table.lines),
                )
            })
            .filter(|(_, c)| c.status == Status::Gone)
            .collect();
        gone.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.id.cmp(&b.0.id)));
        discovery.gone = gone
            .into_iter()
            .take(MAX_ROWS)
            .map(|(t, c)| {
                let mut row = make_row(t, Some(c));
                row.count = 0;
                row.window = None;
                row.grew = None;
                row.offset_seconds = None;
                row.offset_anchor = None;
                row.sparkline = None;
                row
            })
            .collect();
    }
    discovery.templates_omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    discovery.templates = rows;
    discovery
}

/// Per template id, its strongest growth in the window before an anchor of
/// an input over that input's own earlier rate (minute bins): the window's
/// count against the Poisson expectation from the minutes before it, by
/// `templates::compare` (at least 5 lines, 5 times the rate, tail below
/// 1e-3). A template first seen in the window is new there, not grown; an
/// input whose minute bins were capped (`unbinned_lines`) is skipped.
fn growth_in_windows(
    inputs: &[InputTemplates<'_>],
    anchors: &[Vec<Anchor>],
    window_secs: i64,
) -> HashMap<u64, WindowGrowth> {
    let mut growth: HashMap<u64, WindowGrowth> = HashMap::new();
    let minute = |t: Timestamp| t.timestamp().div_euclid(60);
    for (input, list) in inputs.iter().zip(anchors) {
        let Some(first) = input.first else { continue };
        if input.table.unbinned_lines > 0 {
            continue;
        }
        // Lines up to each minute bin, so that a window and the minutes
        // before it are two look-ups whatever the number of anchors.
        for t in input.table.iter() {
            let mut prefix = Vec::with_capacity(t.minutes.len() + 1);
            prefix.push(0u64);
            for &(_, count) in &t.minutes {
                prefix.push(prefix[prefix.len() - 1] + u64::from(count));
            }
            // Lines in the bins of minutes `from..to`.
            let lines_in = |from: i64, to: i64| {
                let at = |m: i64| t.minutes.partition_point(|&(bin, _)| bin < m);
                prefix[at(to)] - prefix[at(from)]
            };
            for anchor in list {
                let start = anchor.time - chrono::Duration::seconds(window_secs);
                let (first_min, start_min, end_min) =
                    (minute(first), minute(start), minute(anchor.time));
                let earlier_minutes = start_min - first_min;
                if first >= start || earlier_minutes < 1 || t.first_seen.is_none_or(|f| f >= start)
                {
                    continue;
                }
                let window_minutes = end_min - start_min + 1;
                let in_window = lines_in(start_min, end_min + 1);
                let earlier = lines_in(first_min, start_min);
                // Most templates fail the cheap conditions of an increase:
                // no Poisson tail for them (its sum of logs is long for
                // counts in the thousands).
                let ratio = templates::rate_ratio(
                    in_window,
                    window_minutes as u64,
                    earlier,
                    earlier_minutes as u64,
                );
                if in_window < templates::INCREASE_COUNT || ratio < templates::INCREASE_RATIO {
                    continue;
                }
                let c = templates::compare(
                    in_window,
                    window_minutes as u64,
                    earlier,
                    earlier_minutes as u64,
                );
                if c.status != Status::Increased {
                    continue;
                }
                let candidate = WindowGrowth {
                    anchor: anchor.kind,
                    source: anchor.source.clone(),
                    number: anchor.number,
                    at: anchor.at.clone(),
                    window_count: in_window,
                    window_minutes,
                    earlier_count: earlier,
                    earlier_minutes,
                    rate_ratio: (c.rate_ratio * 100.0).round() / 100.0,
                    score: (c.score * 100.0).round() / 100.0,
                };
                growth
                    .entry(t.id)
                    .and_modify(|g| {
                        if candidate.score > g.score {
                            *g = candidate.clone();
                        }
                    })
                    .or_insert(candidate);
            }
        }
    }
    growth
}

/// The templates below the level mined everywhere that came first in the
/// window before an anchor of their input, whose coarse key the input had
/// not written before that window (so they are new to their node), with
/// their lines in that window; their window hits go into `windows`.
/// `None` when no input mined such windows.
fn window_levels(
    inputs: &[InputTemplates<'_>],
    anchors: &[Vec<Anchor>],
    window: chrono::Duration,
    all: &Table,
    windows: &mut HashMap<u64, WindowHit>,
) -> Option<(WindowLevels, Vec<Template>)> {
    let mut summary = WindowLevels::default();
    let mut late: HashMap<u64, Template> = HashMap::new();
    let mut capped = std::collections::HashSet::new();
    let mut any = false;
    for (input, list) in inputs.iter().zip(anchors) {
        let Some(mined) = input.windows else { continue };
        any = true;
        summary.lines_dropped += mined.dropped_lines;
        summary.entries_dropped += mined.entries_dropped;
        if mined.other_shape_lines > 0 {
            summary.inputs_not_checked.push(input.name.clone());
            continue;
        }
        if mined.coarse_full_from.is_some() {
            summary.inputs_over_key_cap.push(input.name.clone());
        }
        let mut times: HashMap<u64, Vec<i64>> = HashMap::new();
        for (id, millis) in &mined.entries {
            times.entry(*id).or_default().push(*millis);
        }
        let mut found: Vec<&Template> = mined.table.iter().collect();
        found.sort_by_key(|t| (t.example.line, t.id));
        for t in found {
            if all.contains(t.id) {
                continue;
            }
            let Some(first) = t.first_seen else { continue };
            // Restarts only: in the last minutes of any log some routine
            // task writes its first line, so before the end of an input a
            // template below WARN is weak evidence (a healthy log stays
            // quiet); `--discover=all` still shows those.
            let Some(a) = list.iter().find(|a| {
                a.kind == AnchorKind::Restart
                    && first <= a.time
                    && first >= a.time - window
                    && input.first.is_some_and(|f| f < a.time - window)
            }) else {
                continue;
            };
            let start = a.time - window;
            if mined
                .coarse_full_from
                .is_some_and(|full| full <= a.time.timestamp())
            {
                continue;
            }
            // New to the node only if its coarse key was first seen in a
            // second wholly inside the window.
            let start_second = start.timestamp() + i64::from(start.timestamp_subsec_nanos() > 0);
            let coarse_first = mined.coarse_of.get(&t.id).and_then(|c| mined.coarse.get(c));
            if coarse_first.is_none_or(|(s, _)| *s < start_second) {
                continue;
            }
            let (low, high) = (start.timestamp_millis(), a.time.timestamp_millis());
            let mut inside: Vec<i64> = times
                .get(&t.id)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|m| *m >= low && *m <= high)
                        .collect()
                })
                .unwrap_or_default();
            inside.sort_unstable();
            let Some(&last) = inside.last() else { continue };
            let mut row = t.clone();
            // Lines past `MAX_KEPT_PER_KEY` a part were not kept: the same
            // cap on the total, so that the parts change nothing.
            let cap = templates::MAX_KEPT_PER_KEY as usize;
            if inside.len() >= cap {
                capped.insert(t.id);
                inside.truncate(cap);
            }
            row.count = inside.len() as u64;
            row.last_seen = chrono::DateTime::from_timestamp_millis(last).map(|l| l.fixed_offset());
            row.minutes = Vec::new();
            for m in &inside {
                let minute = m.div_euclid(60_000);
                match row.minutes.last_mut() {
                    Some((at, n)) if *at == minute => *n += 1,
                    _ => row.minutes.push((minute, 1)),
                }
            }
            note_window(windows, t.id, a, first);
            match late.get_mut(&t.id) {
                Some(seen) => {
                    seen.count += row.count;
                    if row.first_seen < seen.first_seen {
                        seen.first_seen = row.first_seen;
                        seen.example = row.example.clone();
                    }
                    seen.last_seen = seen.last_seen.max(row.last_seen);
                    seen.minutes.extend(row.minutes);
                    seen.minutes.sort_unstable();
                }
                None => {
                    late.insert(t.id, row);
                }
            }
        }
    }
    if !any {
        return None;
    }
    summary.new_templates = late.len();
    summary.counts_at_least = {
        let mut ids: Vec<String> = capped.into_iter().map(format_id).collect();
        ids.sort();
        ids
    };
    let mut late: Vec<Template> = late.into_values().collect();
    late.sort_by_key(|t| t.id);
    Some((summary, late))
}

/// A template's lines in `SPARK_BINS` bins over the run's time range.
fn sparkline(t: &Template, range: (Option<Timestamp>, Option<Timestamp>)) -> Option<Sparkline> {
    let (Some(start), Some(end)) = range else {
        return None;
    };
    if t.minutes.is_empty() {
        return None;
    }
    let first_minute = start.timestamp().div_euclid(60);
    let last_minute = end.timestamp().div_euclid(60);
    let span = (last_minute - first_minute + 1).max(1);
    let per_bin = (span + SPARK_BINS as i64 - 1) / SPARK_BINS as i64;
    let bins = ((span + per_bin - 1) / per_bin) as usize;
    let mut counts = vec![0u32; bins];
    for (minute, n) in &t.minutes {
        let at = ((minute - first_minute).max(0) / per_bin) as usize;
        if let Some(c) = counts.get_mut(at.min(bins - 1)) {
            *c = c.saturating_add(*n);
        }
    }
    let start_minute = chrono::DateTime::from_timestamp(first_minute * 60, 0)
        .map(|t| t.fixed_offset())
        .unwrap_or(start);
    Some(Sparkline {
        start: time_text(Some(start_minute)).unwrap_or_default(),
        step_seconds: per_bin * 60,
        counts,
    })
}

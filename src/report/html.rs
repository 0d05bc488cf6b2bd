//! `--format html`: one self-contained page to attach to a ticket or keep as
//! a CI artefact. No network: styles are inline, the timeline is inline SVG,
//! there is no script, and a Content-Security-Policy forbids any fetch (so
//! a stray URL in a log line can never make the page load anything). Light
//! and dark follow the reader's setting.
//!
//! Per finding: the verdict block (what, when, likely cause, first action),
//! a timeline drawn as SVG (one lane per source, a mark per evidence line
//! coloured by role, incident windows shaded, dense marks binned, each mark
//! focusable with its time, `source:line` and text), the causes with their
//! evidence, the remedies with their snippets, and the evidence folded. Then
//! the inputs. Every log-derived string goes through `printable` (control
//! and bidirectional characters made visible) and HTML escaping.
use crate::analysis::{Activity, Analysis, InputSummary, TimeRange};
use crate::context::{NodeEvent, NodeEventKind};
use crate::diagnosis::{Finding, Role, Verdict};
use crate::model::Severity;
use crate::text::plural;
use crate::text::printable::printable;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Inputs listed in the table; the rest are counted (100,000 empty files
/// must not make a 100,000-row page).
const INPUTS_SHOWN: usize = 200;
/// Marks drawn one by one per lane; past this a lane's marks are binned.
const MARKS_PER_LANE: usize = 120;
const BINS: usize = 60;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 20.0;
const LANE_HEIGHT: f64 = 34.0;
/// Width of the strip at a timeline's right for lines with no time.
const UNTIMED_WIDTH: f64 = 130.0;
/// Inputs drawn in the overview (the rest are counted).
const OVERVIEW_INPUTS: usize = 40;
const ROW_HEIGHT: f64 = 30.0;
const DISCOVERY_ROWS: usize = 50;
const SPARK_WIDTH: f64 = 120.0;
const SPARK_HEIGHT: f64 = 18.0;
const TOP: f64 = 26.0;

const STYLE: &str = r#"
:root { --bg: #fff; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa;
  --critical: #a40e26; --error: #cf222e; --warning: #9a6700; --info: #0969da;
  --cause: #bf8700; --event: #cf222e; --window: rgba(207, 34, 46, 0.08); }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --panel: #161b22;
    --critical: #ff7b72; --error: #f85149; --warning: #d29922; --info: #58a6ff;
    --cause: #e3b341; --event: #f85149; --window: rgba(248, 81, 73, 0.12); } }
body { background: var(--bg); color: var(--fg); margin: 0 auto; max-width: 1000px; padding: 1rem 1.5rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .6rem; overflow-x: auto; white-space: pre; }
h1 { font-size: 1.4rem; margin: .2rem 0; } h2 { font-size: 1.2rem; margin: 0 0 .3rem; } h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
.verdict { border-left: 4px solid var(--muted); background: var(--panel); padding: .5rem .8rem; margin: .5rem 0 1rem; }
.finding { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 1rem 0; }
.sev { display: inline-block; font-weight: 700; font-size: .75rem; padding: 0 .4rem; border-radius: 3px; color: var(--bg); vertical-align: middle; }
.sev-critical { background: var(--critical); } .sev-error { background: var(--error); }
.sev-warning { background: var(--warning); } .sev-info { background: var(--info); }
.finding.critical { border-left: 4px solid var(--critical); } .finding.error { border-left: 4px solid var(--error); }
.finding.warning { border-left: 4px solid var(--warning); } .finding.info { border-left: 4px solid var(--info); }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid var(--line); padding: .2rem .4rem; text-align: left; vertical-align: top; }
svg { width: 100%; height: auto; display: block; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; } svg .axis { stroke: var(--line); } svg .tick { fill: var(--muted); font-size: 11px; }
svg .mark.cause { fill: var(--cause); } svg .mark.event { fill: var(--event); } svg .window { fill: var(--window); }
svg .mark:focus, svg .mark:hover { stroke: var(--fg); stroke-width: 2; outline: none; }
svg .bin { fill: var(--event); opacity: .7; } svg .bin.cause { fill: var(--cause); }
svg .restart { stroke: var(--info); stroke-width: 2; } svg .restart-head { fill: var(--info); }
svg .stop { stroke: var(--muted); stroke-width: 2; stroke-dasharray: 3 2; } svg .stop-head { fill: var(--muted); }
svg .untimed-area { fill: var(--panel); stroke: var(--line); } svg .untimed-label { fill: var(--muted); font-size: 11px; }
svg .h-lines { fill: var(--muted); opacity: .45; } svg .h-warn { fill: var(--warning); } svg .h-error { fill: var(--error); }
svg .gap { fill: var(--window); } svg .baseline { stroke: var(--line); }
svg .spark { fill: var(--info); opacity: .8; }
svg.sparkline { width: 120px; height: 18px; display: inline-block; border-bottom: 1px solid var(--line); }
.overview td { padding: .1rem .4rem; }
.legend span { margin-right: 1rem; } .dot { display: inline-block; width: .7rem; height: .7rem; border-radius: 50%; vertical-align: middle; }
details { margin: .5rem 0; } summary { cursor: pointer; }
.evidence td.text { word-break: break-all; }
"#;

pub fn render(analysis: &Analysis) -> String {
    let summary = &analysis.summary;
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>rwdoctor: {}</title>",
        text(&headline(analysis))
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<header>\n<h1>rwdoctor: {}</h1>",
        text(&headline(analysis))
    );
    let _ = writeln!(
        out,
        "<p class=\"verdict\" id=\"verdict\"><strong>Exit {}</strong>: {}</p>",
        summary.exit_code,
        text(&summary.verdict)
    );
    let range = summary
        .time_range
        .as_ref()
        .map_or_else(|| "no timestamps".into(), range_text);
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} input{}, {} lines ({} recognised), {}; {} rules evaluated.</p>\n</header>",
        summary.inputs.len(),
        plural(summary.inputs.len()),
        summary.lines_read,
        summary.lines_recognised,
        text(&range),
        summary.rules_evaluated
    );
    out.push_str("<main>\n");
    render_overview(&mut out, analysis);
    for (index, finding) in analysis.findings.iter().enumerate() {
        render_finding(&mut out, index, finding, &summary.cluster.node_events);
    }
    render_inputs(&mut out, &summary.inputs);
    if !summary.errors.is_empty() {
        out.push_str("<section>\n<h2>Problems</h2>\n<ul>\n");
        for error in &summary.errors {
            let _ = writeln!(out, "<li>{}</li>", text(error));
        }
        out.push_str("</ul>\n</section>\n");
    }
    out.push_str("</main>\n<footer class=\"muted\"><p>Made by rwdoctor: <code>rwdoctor --format html --output FILE</code>. Hover or focus a mark on a timeline for its line.</p></footer>\n</body>\n</html>\n");
    out
}

/// `start to end`, `?` for a bound without a time.
fn range_text(range: &TimeRange) -> String {
    format!(
        "{} to {}",
        range.start.as_deref().unwrap_or("?"),
        range.end.as_deref().unwrap_or("?")
    )
}

fn headline(analysis: &Analysis) -> String {
    let summary = &analysis.summary;
    if summary.lines_recognised == 0 {
        return "nothing to diagnose".into();
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| summary.findings.get(s).map(|n| format!("{n} {s}")))
        .collect();
    if counts.is_empty() {
        "no known failure found".into()
    } else {
        format!(
            "{} finding{} ({})",
            analysis.findings.len(),
            plural(analysis.findings.len()),
            counts.join(", ")
        )
    }
}

fn render_finding(out: &mut String, index: usize, finding: &Finding, nodes: &[NodeEvent]) {
    let severity = finding.severity.as_str();
    let _ = writeln!(
        out,
        "<section class=\"finding {severity}\" id=\"finding-{index}\" data-rule=\"{}\">",
        attr(&finding.rule)
    );
    let _ = writeln!(
        out,
        "<h2><span class=\"sev sev-{severity}\">{}</span> {}</h2>",
        severity.to_uppercase(),
        text(&finding.title)
    );
    let when = match (&finding.first_seen, &finding.last_seen) {
        (Some(first), Some(last)) if first == last => text(first),
        (Some(first), Some(last)) => format!("{} to {}", text(first), text(last)),
        _ => "no timestamps".into(),
    };
    let _ = writeln!(
        out,
        "<p class=\"muted\"><code>{}</code> · {} · {} incident{} · {} matching line{}</p>",
        text(&finding.rule),
        when,
        finding.count,
        plural(finding.count as usize),
        finding.matched_lines,
        plural(finding.matched_lines as usize)
    );
    // The verdict block: the likely cause and the first action.
    out.push_str("<div class=\"verdict\">\n");
    let _ = writeln!(out, "<p>{}</p>", text(&finding.diagnosis));
    if let Some(cause) = finding.causes.first().filter(|c| c.confidence > 0.0) {
        let _ = writeln!(
            out,
            "<p><strong>Likely cause</strong>: {} <span class=\"muted\">({}, {:.2})</span></p>",
            text(&cause.title),
            cause.verdict.as_str(),
            cause.confidence
        );
    }
    if let Some(remedy) = finding.remedies.first() {
        let _ = writeln!(
            out,
            "<p><strong>First action</strong>: {}</p>",
            text(&remedy.text)
        );
    }
    out.push_str("</div>\n");

    render_timeline(out, index, finding, nodes);

    if !finding.causes.is_empty() {
        out.push_str("<h3>Causes</h3>\n<ol>\n");
        for cause in &finding.causes {
            let _ = write!(
                out,
                "<li><strong>{}</strong> <span class=\"muted\">({}, {:.2})</span><br>{}",
                text(&cause.title),
                cause.verdict.as_str(),
                cause.confidence,
                text(&cause.explain)
            );
            if !cause.evidence.is_empty() {
                out.push_str("<ul>");
                for evidence in &cause.evidence {
                    let _ = write!(
                        out,
                        "<li>{} {} ×{} <code>{}:{}</code></li>",
                        match evidence.direction {
                            crate::diagnosis::Direction::For => "for:",
                            crate::diagnosis::Direction::Against => "against:",
                        },
                        text(evidence.meaning.as_deref().unwrap_or(&evidence.signal)),
                        evidence.count,
                        text(&evidence.example.source),
                        evidence.example.line
                    );
                }
                out.push_str("</ul>");
            }
            if let Some(reasoning) = &cause.reasoning {
                let _ = write!(out, "<p class=\"muted\">{}</p>", text(reasoning));
            }
            if cause.verdict == Verdict::NotRuledOut || cause.verdict == Verdict::Unlikely {
                if let Some(check) = &cause.to_check {
                    let _ = write!(out, "<p class=\"muted\">To check: {}</p>", text(check));
                }
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
    }
    if !finding.remedies.is_empty() {
        out.push_str("<h3>Remedies</h3>\n<ol>\n");
        for remedy in &finding.remedies {
            let _ = write!(out, "<li>{}", text(&remedy.text));
            if let Some(config) = &remedy.config {
                let _ = write!(
                    out,
                    "<br><span class=\"muted\">In {}:</span><pre><code>{}</code></pre>",
                    text(&config.file),
                    block(&config.snippet)
                );
            }
            for doc in &remedy.docs {
                let _ = write!(out, " <a href=\"{}\">{}</a>", attr(doc), text(doc));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
    }
    let _ = writeln!(
        out,
        "<details class=\"evidence\"><summary>Evidence: {} line{}{}</summary>\n<table>",
        finding.evidence.len(),
        plural(finding.evidence.len()),
        if finding.evidence_omitted > 0 {
            format!(" shown, {} more not listed", finding.evidence_omitted)
        } else {
            String::new()
        }
    );
    for line in &finding.evidence {
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}:{}</td><td class=\"mono\">{}</td><td class=\"mono text\">{}</td></tr>",
            text(&line.source),
            line.line,
            text(line.timestamp.as_deref().unwrap_or("")),
            text(&line.text)
        );
    }
    out.push_str("</table></details>\n</section>\n");
}

/// One mark on a timeline.
struct Mark {
    lane: String,
    time: Option<f64>,
    role: Role,
    /// `source:line`, time and text, for the tooltip.
    label: String,
    /// From the finding's evidence list (the test counts these).
    evidence: bool,
}

fn seconds(time: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
}

fn render_timeline(out: &mut String, index: usize, finding: &Finding, nodes: &[NodeEvent]) {
    let mut marks: Vec<Mark> = finding
        .evidence
        .iter()
        .map(|line| Mark {
            lane: line.origin.clone().unwrap_or_else(|| line.source.clone()),
            time: line.timestamp.as_deref().and_then(seconds),
            role: Role::Event,
            label: format!(
                "{} {}:{} {}",
                line.timestamp.as_deref().unwrap_or("(no time)"),
                line.source,
                line.line,
                line.text
            ),
            evidence: true,
        })
        .collect();
    // Cause lines come from the incidents' timelines (the evidence list
    // holds the failure's own lines).
    let mut seen: std::collections::BTreeSet<(String, u64)> = finding
        .evidence
        .iter()
        .map(|l| (l.source.clone(), l.line))
        .collect();
    for incident in &finding.incidents {
        for entry in &incident.timeline {
            if entry.role != Role::Cause || !seen.insert((entry.source.clone(), entry.line)) {
                continue;
            }
            marks.push(Mark {
                lane: entry.origin.clone().unwrap_or_else(|| entry.source.clone()),
                time: entry.timestamp.as_deref().and_then(seconds),
                role: Role::Cause,
                label: format!(
                    "{} {}:{} {}{}",
                    entry.timestamp.as_deref().unwrap_or("(no time)"),
                    entry.source,
                    entry.line,
                    entry.message,
                    if entry.count > 1 {
                        format!(" (×{})", entry.count)
                    } else {
                        String::new()
                    }
                ),
                evidence: false,
            });
        }
    }
    if marks.is_empty() {
        return;
    }
    let mut lanes: Vec<String> = Vec::new();
    for mark in &marks {
        if !lanes.contains(&mark.lane) {
            lanes.push(mark.lane.clone());
        }
    }
    let times: Vec<f64> = marks.iter().filter_map(|m| m.time).collect();
    let (mut start, mut end) = match (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => (0.0, 0.0),
    };
    // Starts and graceful stops in these lanes, near the marks (a quarter
    // of their span, and a minute, either side): they widen the axis.
    let reach = (end - start) * 0.25 + 60.0;
    let restarts: Vec<(&NodeEvent, f64, &String)> = if times.is_empty() {
        Vec::new()
    } else {
        nodes
            .iter()
            .filter_map(|event| {
                let t = event.timestamp.as_deref().and_then(seconds)?;
                let lane = event.origin.as_ref().unwrap_or(&event.source);
                let lane = lanes.iter().find(|l| *l == lane)?;
                (t >= start - reach && t <= end + reach).then_some((event, t, lane))
            })
            .take(MARKS_PER_LANE)
            .collect()
    };
    for (_, t, _) in &restarts {
        start = start.min(*t);
        end = end.max(*t);
    }
    let span = (end - start).max(1.0);
    // Lines without a time get a strip of their own at the right, not the
    // left edge (which would read as "at the start").
    let untimed_count = marks.iter().filter(|m| m.time.is_none()).count();
    let strip = if untimed_count > 0 {
        UNTIMED_WIDTH
    } else {
        0.0
    };
    let plot = WIDTH - LEFT - RIGHT - strip;
    let x_of = |t: f64| LEFT + (t - start) / span * plot;
    let height = TOP + LANE_HEIGHT * lanes.len() as f64 + 24.0;
    let _ = writeln!(
        out,
        "<figure class=\"timeline\">\n<svg id=\"timeline-{index}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"Timeline of {}\">",
        attr(&finding.title)
    );
    // Incident windows.
    for incident in &finding.incidents {
        if let (Some(a), Some(b)) = (
            incident.first_seen.as_deref().and_then(seconds),
            incident.last_seen.as_deref().and_then(seconds),
        ) {
            let (x0, x1) = (x_of(a), x_of(b));
            let _ = writeln!(
                out,
                "<rect class=\"window\" x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"><title>incident {} to {}</title></rect>",
                x0 - 3.0,
                (x1 - x0) + 6.0,
                LANE_HEIGHT * lanes.len() as f64,
                text(incident.first_seen.as_deref().unwrap_or("")),
                text(incident.last_seen.as_deref().unwrap_or(""))
            );
        }
    }
    // Axis: start, middle, end, as offsets from the first mark.
    let axis_y = TOP + LANE_HEIGHT * lanes.len() as f64;
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\"/>",
        LEFT + plot
    );
    for (fraction, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let label = if times.is_empty() {
            String::new()
        } else {
            crate::diagnosis::format_offset(span * fraction)
        };
        let _ = writeln!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            LEFT + plot * fraction,
            axis_y + 16.0,
            text(&label)
        );
    }
    if untimed_count > 0 {
        let x = WIDTH - RIGHT - strip + 8.0;
        let _ = writeln!(
            out,
            "<g class=\"untimed\"><rect class=\"untimed-area\" x=\"{x:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\"/><text class=\"untimed-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no time: {untimed_count} line{}</text></g>",
            strip - 8.0,
            LANE_HEIGHT * lanes.len() as f64,
            x + (strip - 8.0) / 2.0,
            axis_y + 16.0,
            plural(untimed_count)
        );
    }
    for (lane_index, lane) in lanes.iter().enumerate() {
        let y = TOP + LANE_HEIGHT * lane_index as f64 + LANE_HEIGHT / 2.0;
        // The file's name (a pod or service is short already), cut at 24.
        let name = lane.rsplit('/').next().unwrap_or(lane);
        let short: String = printable(name).chars().take(24).collect();
        let _ = writeln!(
            out,
            "<g class=\"lane\" data-lane=\"{}\"><text x=\"8\" y=\"{:.1}\"><title>{}</title>{}</text>\n<line class=\"axis\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>",
            attr(lane),
            y + 4.0,
            text(lane),
            html_escape(&short),
            LEFT + plot
        );
        let in_lane: Vec<&Mark> = marks.iter().filter(|m| &m.lane == lane).collect();
        // Untimed marks in the strip, in rows of 12.
        let mut untimed_seen = 0usize;
        let mut untimed_x = || {
            let i = untimed_seen;
            untimed_seen += 1;
            let column = (i % 12) as f64;
            let row = ((i / 12) % 3) as f64 - 1.0;
            (
                WIDTH - RIGHT - strip + 16.0 + column * ((strip - 24.0) / 12.0),
                row * 8.0,
            )
        };
        if in_lane.len() <= MARKS_PER_LANE {
            for mark in &in_lane {
                let (x, dy) = mark.time.map_or_else(&mut untimed_x, |t| (x_of(t), 0.0));
                let _ = writeln!(
                    out,
                    "<circle class=\"mark {}{}{}\" cx=\"{x:.1}\" cy=\"{:.1}\" r=\"{}\" tabindex=\"0\"><title>{}</title></circle>",
                    role_class(mark.role),
                    if mark.time.is_none() { " untimed" } else { "" },
                    if mark.evidence { " evidence" } else { "" },
                    y + dy,
                    if mark.time.is_none() { 4 } else { 6 },
                    text(&mark.label)
                );
            }
        } else {
            // Dense: counts per bin and role, the evidence marks kept as
            // thin ticks so each line still has its mark.
            let mut bins: BTreeMap<(usize, bool), usize> = BTreeMap::new();
            for mark in in_lane.iter().filter(|m| m.time.is_some()) {
                let bin = mark.time.map_or(0, |t| {
                    (((t - start) / span) * (BINS - 1) as f64).round() as usize
                });
                *bins.entry((bin, mark.role == Role::Cause)).or_default() += 1;
            }
            for ((bin, cause), count) in bins {
                let x = LEFT + plot * bin as f64 / (BINS - 1) as f64;
                let r = 3.0 + (count as f64).ln().max(0.0) * 2.0;
                let _ = writeln!(
                    out,
                    "<circle class=\"bin{}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\"><title>{count} line{}</title></circle>",
                    if cause { " cause" } else { "" },
                    plural(count)
                );
            }
            for mark in in_lane.iter().filter(|m| m.evidence) {
                let (x, dy) = mark.time.map_or_else(&mut untimed_x, |t| (x_of(t), 0.0));
                let _ = writeln!(
                    out,
                    "<rect class=\"mark {}{} evidence\" x=\"{:.1}\" y=\"{:.1}\" width=\"2\" height=\"12\" tabindex=\"0\"><title>{}</title></rect>",
                    role_class(mark.role),
                    if mark.time.is_none() { " untimed" } else { "" },
                    x - 1.0,
                    y - 6.0 + dy,
                    text(&mark.label)
                );
            }
        }
        // Where a node started (again) or stopped gracefully.
        for (event, t, _) in restarts.iter().filter(|(_, _, l)| *l == lane) {
            let x = x_of(*t);
            let (class, what) = match event.kind {
                NodeEventKind::Started => ("restart", "started"),
                NodeEventKind::Stopped => ("stop", "stopped gracefully"),
            };
            let _ = writeln!(
                out,
                "<g class=\"node-event {class}-mark\" tabindex=\"0\"><title>{} {} {}:{} {}</title><line class=\"{class}\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><path class=\"{class}-head\" d=\"M{:.1} {:.1} l5 -7 h-10 z\"/></g>",
                text(event.timestamp.as_deref().unwrap_or("(no time)")),
                text(event.node.as_deref().unwrap_or("node")),
                what,
                text(&event.source),
                event.line,
                y - LANE_HEIGHT / 2.0 + 8.0,
                y + LANE_HEIGHT / 2.0 - 2.0,
                x,
                y - LANE_HEIGHT / 2.0 + 8.0,
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    let _ = writeln!(
        out,
        "<figcaption class=\"legend muted\"><span><span class=\"dot\" style=\"background: var(--event)\"></span> the failure's lines</span><span><span class=\"dot\" style=\"background: var(--cause)\"></span> evidence for a cause</span><span>shaded: the incident{}</span>{}{}</figcaption>\n</figure>",
        if finding.incidents.len() == 1 { "" } else { "s" },
        if restarts.is_empty() {
            ""
        } else {
            "<span><span class=\"dot\" style=\"background: var(--info)\"></span> ▼ a node started (dashed: stopped gracefully)</span>"
        },
        if untimed_count > 0 {
            "<span>right strip: lines with no time of their own</span>"
        } else {
            ""
        }
    );
}

/// The per-input overview: lines over time on the run's time axis, one
/// small histogram per input (WARN and ERROR lines stacked at the foot of
/// each bar, silent stretches shaded), node starts and graceful stops
/// marked; inputs with no time say so in words. Then the discovery rows.
fn render_overview(out: &mut String, analysis: &Analysis) {
    let inputs = &analysis.summary.inputs;
    if inputs.is_empty() {
        return;
    }
    // The run's axis: from the first bin to the end of the last.
    let spans: Vec<(i64, i64)> = inputs
        .iter()
        .filter_map(|i| {
            let a = &i.activity;
            let start = a.start_seconds?;
            Some((start, start + a.lines.len() as i64 * a.bin_seconds))
        })
        .collect();
    let shown: Vec<&InputSummary> = inputs.iter().take(OVERVIEW_INPUTS).collect();
    out.push_str("<section id=\"overview\" class=\"overview\">\n<h2>Overview</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">Lines over time per input, on one time axis: grey the lines, <span style=\"color: var(--warning)\">WARN</span> and <span style=\"color: var(--error)\">ERROR</span> stacked at the foot; a shaded stretch is one where the input wrote nothing{}.</p>",
        if analysis.summary.cluster.node_events.is_empty() {
            ""
        } else {
            "; ▼ a node started, dashed a graceful stop"
        }
    );
    let (run_start, run_end) = match (
        spans.iter().map(|s| s.0).min(),
        spans.iter().map(|s| s.1).max(),
    ) {
        (Some(a), Some(b)) => (a as f64, b as f64),
        _ => (0.0, 0.0),
    };
    let span = (run_end - run_start).max(1.0);
    let plot = WIDTH - LEFT - RIGHT;
    let x_of = |t: f64| LEFT + (t - run_start) / span * plot;
    let height = TOP + ROW_HEIGHT * shown.len() as f64 + 24.0;
    let _ = writeln!(
        out,
        "<svg id=\"overview-svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"Lines over time per input\">"
    );
    for (row, input) in shown.iter().enumerate() {
        let top = TOP + ROW_HEIGHT * row as f64;
        let base = top + ROW_HEIGHT - 6.0;
        let bar_height = ROW_HEIGHT - 10.0;
        let name = input.source.rsplit('/').next().unwrap_or(&input.source);
        let short: String = printable(name).chars().take(24).collect();
        let a = &input.activity;
        let _ = writeln!(
            out,
            "<g class=\"histogram\" data-input=\"{}\" data-bins=\"{}\"><text x=\"8\" y=\"{:.1}\"><title>{}</title>{}</text>",
            attr(&input.source),
            a.lines.len(),
            base - 2.0,
            text(&input.source),
            html_escape(&short)
        );
        let Some(start) = a.start_seconds else {
            // No line of it carried a time: its own area, in words.
            let _ = writeln!(
                out,
                "<g class=\"untimed\"><rect class=\"untimed-area\" x=\"{LEFT}\" y=\"{:.1}\" width=\"{plot}\" height=\"{bar_height:.1}\"/><text class=\"untimed-label\" x=\"{:.1}\" y=\"{:.1}\">no timestamps: {} line{} not on the time axis{}</text></g></g>",
                base - bar_height,
                LEFT + 8.0,
                base - 6.0,
                a.untimed_lines,
                plural(a.untimed_lines as usize),
                shape_words(input)
            );
            continue;
        };
        let _ = writeln!(
            out,
            "<line class=\"baseline\" x1=\"{LEFT}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\"/>",
            LEFT + plot
        );
        let most = a.lines.iter().copied().max().unwrap_or(0).max(1) as f64;
        let busy = a.lines.iter().filter(|n| **n > 0).count().max(1);
        let pace = (a.lines.len() as i64 * a.bin_seconds) as f64 / busy as f64;
        let width = a.bin_seconds as f64 / span * plot;
        let mut gap_from: Option<usize> = None;
        for (index, lines) in a.lines.iter().enumerate() {
            let t = (start + index as i64 * a.bin_seconds) as f64;
            let x = x_of(t);
            if *lines == 0 {
                gap_from.get_or_insert(index);
                continue;
            }
            if let Some(from) = gap_from.take() {
                // Shaded when long enough to be a silence, not the pace
                // of a quiet log: 3 bins, a twentieth of the run and four
                // times the input's usual distance between lines.
                let seconds = ((index - from) as i64 * a.bin_seconds) as f64;
                if index - from >= 3 && seconds >= span / 20.0 && seconds >= 4.0 * pace {
                    gap(out, a, start, from, index, x_of, top, ROW_HEIGHT - 4.0);
                }
            }
            // Square root: a quiet bin stays visible beside a storm.
            let scale = |n: u64| (n as f64 / most).sqrt() * bar_height;
            let (warn, error) = (a.warn[index], a.error[index]);
            let h = scale(*lines).max(1.0);
            let _ = write!(
                out,
                "<g class=\"bin-bar\"><title>{} +{}: {} line{}, {warn} WARN, {error} ERROR</title><rect class=\"h-lines\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/>",
                time_text(t as i64),
                crate::diagnosis::format_offset(a.bin_seconds as f64),
                lines,
                plural(*lines as usize),
                base - h,
                width.max(0.8)
            );
            // WARN and ERROR as their share of the bar, at its foot.
            let share = |n: u64| {
                if n == 0 {
                    0.0
                } else {
                    (h * n as f64 / *lines as f64).max(1.0)
                }
            };
            let error_h = share(error);
            if error > 0 {
                let _ = write!(
                    out,
                    "<rect class=\"h-error\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{error_h:.1}\"/>",
                    base - error_h,
                    width.max(0.8)
                );
            }
            if warn > 0 {
                let warn_h = share(warn);
                let _ = write!(
                    out,
                    "<rect class=\"h-warn\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{warn_h:.1}\"/>",
                    base - error_h - warn_h,
                    width.max(0.8)
                );
            }
            out.push_str("</g>\n");
        }
        if a.untimed_lines > 0 {
            let _ = writeln!(
                out,
                "<text class=\"untimed-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">+{} untimed</text>",
                LEFT + plot,
                top + 10.0,
                a.untimed_lines
            );
        }
        // Starts and graceful stops of this input.
        for event in analysis
            .summary
            .cluster
            .node_events
            .iter()
            .filter(|e| e.source == input.source)
            .take(MARKS_PER_LANE)
        {
            let Some(t) = event.timestamp.as_deref().and_then(seconds) else {
                continue;
            };
            let x = x_of(t);
            let (class, what) = match event.kind {
                NodeEventKind::Started => ("restart", "started"),
                NodeEventKind::Stopped => ("stop", "stopped gracefully"),
            };
            let _ = writeln!(
                out,
                "<g class=\"node-event {class}-mark\" tabindex=\"0\"><title>{} {} {}:{} {}</title><line class=\"{class}\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{base:.1}\"/><path class=\"{class}-head\" d=\"M{x:.1} {:.1} l4 -6 h-8 z\"/></g>",
                text(event.timestamp.as_deref().unwrap_or("")),
                text(event.node.as_deref().unwrap_or("node")),
                what,
                text(&event.source),
                event.line,
                top + 6.0,
                top + 6.0
            );
        }
        out.push_str("</g>\n");
    }
    let axis_y = TOP + ROW_HEIGHT * shown.len() as f64;
    if !spans.is_empty() {
        for (fraction, anchor) in [(0.0, "start"), (1.0, "end")] {
            let _ = writeln!(
                out,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                LEFT + plot * fraction,
                axis_y + 14.0,
                time_text((run_start + span * fraction) as i64)
            );
        }
    }
    out.push_str("</svg>\n");
    if inputs.len() > OVERVIEW_INPUTS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">… and {} more inputs (--format json has each one's <code>activity</code>).</p>",
            inputs.len() - OVERVIEW_INPUTS
        );
    }
    render_discovery(out, &discovery_rows(&analysis.discovery));
    out.push_str("</section>\n");
}

/// Discovery's rows as the page draws them: new, increased and gone
/// templates always; those merely seen when the human report would show
/// its section too (no finding at warning or above, or `--discover`).
fn discovery_rows(discovery: &crate::discovery::Discovery) -> Vec<DiscoveryRow<'_>> {
    use crate::discovery::RowStatus;
    let show_seen = discovery.shown || discovery.asked;
    discovery
        .templates
        .iter()
        .chain(&discovery.gone)
        .filter(|row| match row.status {
            RowStatus::New | RowStatus::Increased | RowStatus::Gone => true,
            RowStatus::Seen => show_seen,
            RowStatus::Same => false,
        })
        .map(|row| DiscoveryRow {
            template: &row.template,
            status: row.status.as_str(),
            count: row.count,
            first_seen: row.first_seen.as_deref(),
            last_seen: row.last_seen.as_deref(),
            sparkline: row.sparkline.as_ref().map_or(&[][..], |s| &s.counts),
        })
        .collect()
}

/// A silent stretch of an input: bins `from..to` with no line.
#[allow(clippy::too_many_arguments)]
fn gap(
    out: &mut String,
    a: &Activity,
    start: i64,
    from: usize,
    to: usize,
    x_of: impl Fn(f64) -> f64,
    top: f64,
    height: f64,
) {
    let t0 = start + from as i64 * a.bin_seconds;
    let t1 = start + to as i64 * a.bin_seconds;
    let (x0, x1) = (x_of(t0 as f64), x_of(t1 as f64));
    let _ = writeln!(
        out,
        "<rect class=\"gap\" data-bins=\"{}\" x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{height:.1}\"><title>silent: no line from {} to {} ({})</title></rect>",
        to - from,
        (x1 - x0).max(0.5),
        time_text(t0),
        time_text(t1),
        crate::diagnosis::format_offset((t1 - t0) as f64)
    );
}

/// `2024-02-11 06:05:06Z` for seconds since the epoch.
fn time_text(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// ` (kubectl describe/events)`: what an untimed input holds.
fn shape_words(input: &InputSummary) -> String {
    if input.shapes.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = input.shapes.keys().map(String::as_str).collect();
    format!(" ({})", text(&names.join(", ")))
}

/// A row of the discovery table (issue 17's `discovery.templates` and
/// `discovery.gone`), as the page draws it (`discovery_rows`).
struct DiscoveryRow<'a> {
    pub template: &'a str,
    /// `new`, `increased`, `gone`...
    pub status: &'a str,
    pub count: u64,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
    /// Lines per bin over the run's time range.
    pub sparkline: &'a [u32],
}

/// The discovery table: each template with a sparkline of its lines.
fn render_discovery(out: &mut String, rows: &[DiscoveryRow]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("<section id=\"discovery\">\n<h3>What else changed</h3>\n<table class=\"discovery\">\n<tr><th>status</th><th>lines</th><th>over the run</th><th>template</th><th>first – last</th></tr>\n");
    for row in rows.iter().take(DISCOVERY_ROWS) {
        let most = row.sparkline.iter().copied().max().unwrap_or(0).max(1) as f64;
        let n = row.sparkline.len().max(1) as f64;
        let mut spark = format!(
            "<svg class=\"sparkline\" viewBox=\"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}\" width=\"{SPARK_WIDTH}\" height=\"{SPARK_HEIGHT}\">"
        );
        for (i, count) in row.sparkline.iter().enumerate().filter(|(_, c)| **c > 0) {
            let h = (f64::from(*count) / most * SPARK_HEIGHT).max(1.0);
            let _ = write!(
                spark,
                "<rect class=\"spark\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/>",
                i as f64 * SPARK_WIDTH / n,
                SPARK_HEIGHT - h,
                (SPARK_WIDTH / n).max(1.0)
            );
        }
        spark.push_str("</svg>");
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{spark}</td><td class=\"mono\">{}</td><td class=\"mono\">{} – {}</td></tr>",
            text(row.status),
            row.count,
            text(row.template),
            text(row.first_seen.unwrap_or("?")),
            text(row.last_seen.unwrap_or("?"))
        );
    }
    out.push_str("</table>\n");
    if rows.len() > DISCOVERY_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">… and {} more templates.</p>",
            rows.len() - DISCOVERY_ROWS
        );
    }
    out.push_str("</section>\n");
}

fn role_class(role: Role) -> &'static str {
    match role {
        Role::Cause => "cause",
        Role::Event => "event",
    }
}

fn render_inputs(out: &mut String, inputs: &[InputSummary]) {
    out.push_str("<section id=\"inputs\">\n<h2>Inputs</h2>\n<table>\n<tr><th>input</th><th>lines</th><th>recognised</th><th>shapes</th><th>time range</th></tr>\n");
    for input in inputs.iter().take(INPUTS_SHOWN) {
        let shapes: Vec<String> = input
            .shapes
            .iter()
            .map(|(shape, n)| format!("{shape} {n}"))
            .collect();
        let range = input
            .time_range
            .as_ref()
            .map(range_text)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            text(&input.source),
            input
                .error
                .as_deref()
                .map(|e| format!("<br><span class=\"muted\">{}</span>", text(e)))
                .unwrap_or_default(),
            input.lines,
            input.recognised,
            text(&shapes.join(", ")),
            text(&range)
        );
    }
    out.push_str("</table>\n");
    if inputs.len() > INPUTS_SHOWN {
        let _ = writeln!(
            out,
            "<p class=\"muted\">… and {} more inputs (--format json lists every one).</p>",
            inputs.len() - INPUTS_SHOWN
        );
    }
    out.push_str("</section>\n");
}

/// Log-derived or rule text as HTML text: control and bidirectional
/// characters made visible, then escaped.
fn text(value: &str) -> String {
    html_escape(&printable(value))
}

/// Text for an attribute value (always written in double quotes).
fn attr(value: &str) -> String {
    text(value)
}

/// A multi-line block (config snippets): each line made printable, the
/// line breaks kept.
fn block(value: &str) -> String {
    value.lines().map(text).collect::<Vec<_>>().join("\n")
}

fn html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_controls_and_bidi() {
        let nasty = "<script>alert(\"x\")</script> & 'q' \u{1b}[31m \u{202e}rev \0";
        let shown = text(nasty);
        assert!(!shown.contains('<') && !shown.contains('>') && !shown.contains('"'));
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'));
        assert!(shown.contains("&lt;script&gt;") && shown.contains("\\u{202e}"));
    }
}

//! The human report: readable at 80 columns (or the terminal's width when
//! wider), coloured on a terminal. Three levels of detail: the default
//! (the verdict, a short block per problem, the verdict again), `-v` (every
//! timeline, cause and input) and `-q` (the closing verdict only).
use crate::analysis::{Analysis, TimeRange};
use crate::context::LeaseSource;
use crate::diagnosis::{Direction, EvidenceLine, Finding, Role, Verdict};
use crate::model::Severity;
use crate::text::plural;
use crate::text::printable::{guard_report, printable, printable_with_span};
use colored::{ColoredString, Colorize};
use std::borrow::Cow;
use std::fmt::Write;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// The narrowest report; a wider terminal gets its own width.
pub const WIDTH: usize = 80;
/// The widest report, however wide the terminal.
pub const MAX_WIDTH: usize = 200;

/// How much the human report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The closing verdict only (`-q`).
    Quiet,
    /// The verdict, a short block per problem, the verdict again.
    Default,
    /// Everything: timelines, every cause, every input (`-v`).
    Verbose,
}

static DETAIL: AtomicU8 = AtomicU8::new(1);
static COLUMNS: AtomicUsize = AtomicUsize::new(WIDTH);

/// Set once by the command line, before any report is rendered: the detail
/// and the width (at least 80, at most 200).
pub fn set_layout(detail: Detail, width: usize) {
    DETAIL.store(detail as u8, Ordering::Relaxed);
    COLUMNS.store(width.clamp(WIDTH, MAX_WIDTH), Ordering::Relaxed);
}

pub fn detail() -> Detail {
    match DETAIL.load(Ordering::Relaxed) {
        0 => Detail::Quiet,
        2 => Detail::Verbose,
        _ => Detail::Default,
    }
}

/// The width reports and rule tools wrap to.
pub fn width() -> usize {
    if CLASSIC.get() {
        return WIDTH;
    }
    COLUMNS.load(Ordering::Relaxed)
}

thread_local! {
    /// Rendering for JUnit: the full finding exactly as it has always been
    /// written there (80 columns, times as logged, the evidence cut as
    /// before), whatever the terminal and `-v`/`-q`.
    static CLASSIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One finding in full, as the JUnit report embeds it.
pub fn render_finding_classic(finding: &Finding) -> String {
    colored::control::set_override(false);
    CLASSIC.set(true);
    let mut out = String::new();
    render_finding(&mut out, finding);
    out.push('\n');
    CLASSIC.set(false);
    guard_report(out, false)
}
/// Evidence lines shown per finding; JSON lists more.
const EVIDENCE_SHOWN: usize = 6;
/// Characters of an evidence line's origin shown.
const ORIGIN_SHOWN: usize = 32;

pub fn render(analysis: &Analysis, color: bool) -> String {
    colored::control::set_override(color);
    let mut out = String::new();
    match detail() {
        Detail::Quiet => {
            crate::report::brief::render_footer(&mut out, analysis);
            return guard_report(out, color);
        }
        Detail::Default => {
            crate::report::brief::render(&mut out, analysis);
            return guard_report(out, color);
        }
        Detail::Verbose => {}
    }
    render_headline(&mut out, analysis);
    if !analysis.findings.is_empty() {
        render_cluster(&mut out, &analysis.summary.cluster);
    }
    for finding in &analysis.findings {
        out.push('\n');
        render_finding(&mut out, finding);
    }
    let _ = crate::report::discovery::render_section(&mut out, analysis, true);
    out.push('\n');
    render_summary(&mut out, analysis);
    guard_report(out, color)
}

/// `--follow`: one incident's finding, as soon as it is certain.
pub fn render_live_finding(finding: &Finding, color: bool) -> String {
    colored::control::set_override(color);
    let mut out = String::new();
    if detail() == Detail::Quiet {
        return String::new();
    }
    if let (Some(first), Some(e)) = (finding.same_as_incident, finding.evidence.first()) {
        let when = finding.first_seen.as_deref().unwrap_or("(no time)");
        let text = format!(
            "{} again at {when}: {} line{}, first {}:{}; causes and remedies as incident {first}",
            finding.rule,
            finding.matched_lines,
            plural(finding.matched_lines as usize),
            printable(&e.source),
            e.line
        );
        wrap_hanging(
            &mut out,
            &format!("{} {text}", badge(finding.severity)),
            "",
            "  ",
        );
        return guard_report(out, color);
    }
    match detail() {
        Detail::Quiet => {}
        Detail::Default => crate::report::brief::render_block(&mut out, finding, &[]),
        Detail::Verbose => render_finding(&mut out, finding),
    }
    out.push('\n');
    guard_report(out, color)
}

/// `--follow`: the summary at the end (the findings were printed already;
/// with none, the headline says so).
pub fn render_live_end(analysis: &Analysis, color: bool) -> String {
    colored::control::set_override(color);
    let mut out = String::new();
    if detail() != Detail::Verbose {
        if detail() == Detail::Default {
            let _ = crate::report::discovery::render_section(&mut out, analysis, false);
        }
        crate::report::brief::render_footer(&mut out, analysis);
        return guard_report(out, color);
    }
    let _ = crate::report::discovery::render_section(&mut out, analysis, true);
    if analysis.findings.is_empty() {
        render_headline(&mut out, analysis);
        out.push('\n');
    }
    render_summary(&mut out, analysis);
    guard_report(out, color)
}

fn render_headline(out: &mut String, analysis: &Analysis) {
    if analysis.summary.lines_recognised == 0 {
        let _ = writeln!(
            out,
            "{}",
            "Nothing to diagnose: no RisingWave or etcd log lines found.".bold()
        );
    } else if analysis.findings.is_empty() && analysis.summary.exit_code == 3 {
        let _ = writeln!(out, "{}", "Not checked: see the verdict below.".bold());
    } else if analysis.findings.is_empty() {
        let _ = writeln!(out, "{}", "No known failure found.".bold());
    } else {
        let _ = writeln!(
            out,
            "{}",
            format!(
                "rwdoctor found {} problem{}:",
                analysis.findings.len(),
                plural(analysis.findings.len())
            )
            .bold()
        );
    }
}

fn badge(severity: Severity) -> ColoredString {
    let text = format!(" {} ", severity.as_str().to_uppercase());
    match severity {
        Severity::Critical => text.white().on_red().bold(),
        Severity::Error => text.red().bold(),
        Severity::Warning => text.yellow().bold(),
        Severity::Info => text.cyan(),
    }
}

pub fn render_finding(out: &mut String, finding: &Finding) {
    let _ = writeln!(out, "{} {}", badge(finding.severity), finding.title.bold());
    let _ = writeln!(
        out,
        "  {} · {} incident{} · {}",
        finding.rule.dimmed(),
        finding.count,
        plural(finding.count as usize),
        lines_phrase(finding),
    );
    if let Some(first) = &finding.first_seen {
        let _ = writeln!(
            out,
            "  {}",
            span_text(first, finding.last_seen.as_deref()).dimmed()
        );
    }

    section(out, "Evidence");
    for line in finding.evidence.iter().take(EVIDENCE_SHOWN) {
        render_evidence(out, line, "    ");
    }
    let shown = finding.evidence.len().min(EVIDENCE_SHOWN) as u64;
    let hidden = evidence_hidden(finding, shown);
    if hidden > 0 {
        let _ = writeln!(
            out,
            "    {}",
            format!(
                "… {hidden} more line{}{}",
                plural(hidden as usize),
                json_lists(finding.evidence.len() as u64, shown, shown + hidden, "line")
            )
            .dimmed()
        );
    }

    render_timelines(out, finding);

    section(out, "What happened");
    wrap_into(out, &finding.diagnosis, "    ");

    if !finding.causes.is_empty() {
        section(out, "Likely causes");
        for (rank, cause) in finding.causes.iter().enumerate() {
            let word = cause.verdict.as_str();
            let verdict = match cause.verdict {
                Verdict::Likely => word.red().bold(),
                Verdict::Unlikely => word.green(),
                Verdict::Possible => word.yellow(),
                Verdict::Weak | Verdict::NotRuledOut => word.dimmed(),
            };
            let head = format!(
                "{}. {} ({verdict}, {:.2})",
                rank + 1,
                cause.title.bold(),
                cause.confidence
            );
            wrap_hanging(out, &head, "    ", "       ");
            let mut previous: Option<(String, u64)> = None;
            for evidence in &cause.evidence {
                let meaning = evidence.meaning.as_deref().unwrap_or(&evidence.signal);
                let _ = writeln!(
                    out,
                    "       {} {meaning} ×{}",
                    if evidence.direction == Direction::For {
                        "+".green()
                    } else {
                        "−".red()
                    },
                    evidence.count
                );
                let here = Some((evidence.example.source.clone(), evidence.example.line));
                if here != previous {
                    render_evidence(out, &evidence.example, "         ");
                }
                previous = here;
            }
            if let Some(reasoning) = &cause.reasoning {
                wrap_hanging(
                    out,
                    &format!("{} {reasoning}", "·".dimmed()),
                    "       ",
                    "         ",
                );
            } else if cause.evidence.is_empty() && !cause.not_found.is_empty() {
                wrap_hanging(
                    out,
                    &format!(
                        "{} looked for, not found: {}",
                        "·".dimmed(),
                        cause.not_found.join("; ")
                    ),
                    "       ",
                    "         ",
                );
            }
            if let Some(check) = &cause.to_check {
                wrap_hanging(
                    out,
                    &format!("{} to check: {check}", "·".dimmed()),
                    "       ",
                    "         ",
                );
            }
        }
    }

    if !finding.remedies.is_empty() {
        section(out, "What to do");
        for (number, remedy) in finding.remedies.iter().enumerate() {
            let text = format!("{}. {}", number + 1, remedy.text);
            render_remedy(out, &text, remedy.config.as_ref(), &remedy.docs);
        }
    }
}

/// Version, backend, lease and members, as read from the logs.
fn render_cluster(out: &mut String, cluster: &crate::context::ClusterContext) {
    let mut parts = Vec::new();
    if let Some(version) = &cluster.version {
        let source = cluster
            .version_source
            .map(|s| s.to_string())
            .unwrap_or_default();
        parts.push(format!(
            "RisingWave {} (from {source})",
            shorten(version, 24)
        ));
    }
    if let Some(backend) = cluster.election_backend {
        parts.push(format!("{backend} election"));
    }
    parts.push(format!(
        "lease {}s ({})",
        cluster.lease_secs,
        if cluster.lease_source == LeaseSource::Config {
            "from `> config:`"
        } else {
            "default"
        }
    ));
    match cluster.meta_members.len() {
        0 => {}
        1 => parts.push(format!(
            "1 meta member: {}",
            shorten(cluster.meta_members.iter().next().map_or("", |m| m), 48)
        )),
        n => parts.push(format!("{n} meta members")),
    }
    wrap_hanging(out, &format!("Cluster: {}.", parts.join(", ")), "", "  ");
    if cluster.is_v2_1_or_later() {
        wrap_hanging(
            out,
            "From v2.1 the election runs on the SQL meta store, not etcd: check the meta-store database.",
            "",
            "  ",
        );
    }
}

/// Incidents as short timelines relative to their first trigger line.
fn render_timelines(out: &mut String, finding: &Finding) {
    const SHOWN: usize = 3;
    let total = finding.incidents.len();
    for (number, incident) in finding.incidents.iter().enumerate().take(SHOWN) {
        if incident.timeline.len() < 2 {
            continue;
        }
        let when = incident.first_seen.as_deref().unwrap_or("time unknown");
        let title = if total > 1 {
            format!(
                "Timeline, incident {} of {} ({when})",
                number + 1,
                finding.count
            )
        } else {
            format!("Timeline ({when})")
        };
        section(out, &title);
        for entry in &incident.timeline {
            let offset = entry
                .offset_seconds
                .map_or("     ?".to_string(), crate::diagnosis::format_offset);
            // The pod or service, else a short file name, else the component.
            let stem = entry.source.rsplit('/').next().unwrap_or(&entry.source);
            let stem = stem.split('.').next().unwrap_or(stem);
            let who = printable(&entry.origin.clone().unwrap_or_else(|| {
                if stem.chars().count() <= 14 && stem != "<stdin>" {
                    stem.to_string()
                } else {
                    entry.component.to_string()
                }
            }))
            .into_owned();
            let who: String = if who.chars().count() > 14 {
                who.chars().take(13).collect::<String>() + "…"
            } else {
                who
            };
            let count = if entry.count > 1 {
                format!(" ×{}", entry.count)
            } else {
                String::new()
            };
            let room = width().saturating_sub(4 + 8 + 1 + 14 + 1 + count.len());
            let message = printable(&entry.message);
            let message = if message.chars().count() > room {
                message
                    .chars()
                    .take(room.saturating_sub(1))
                    .collect::<String>()
                    + "…"
            } else {
                message.into_owned()
            };
            let marker = if entry.role == Role::Cause {
                message.yellow()
            } else {
                message.normal()
            };
            let _ = writeln!(out, "    {offset:>8} {who:<14} {marker}{}", count.dimmed());
        }
    }
    let shown = total.min(SHOWN) as u64;
    let more = finding.count.max(total as u64).saturating_sub(shown);
    if more > 0 {
        let _ = writeln!(
            out,
            "    {}",
            format!(
                "… {more} more incident{}{}",
                plural(more as usize),
                json_lists(total as u64, shown, shown + more, "incident")
            )
            .dimmed()
        );
    }
}

/// Lines of a finding not shown when `shown` are: every matched line past
/// them (JSON lists some, and counts the rest in `evidence_omitted`).
/// "3 lines", and the lines listed beside them when there are some (the
/// line before each start-up banner, which bounds a restart's gap): the
/// evidence listed is then more than the lines that matched.
pub(crate) fn lines_phrase(finding: &Finding) -> String {
    let matched = finding.matched_lines;
    let listed = finding.evidence.len() as u64 + finding.evidence_omitted;
    let mut phrase = format!("{matched} line{}", plural(matched as usize));
    let beside = listed.saturating_sub(matched);
    if beside > 0 {
        phrase.push_str(&format!(
            " and the {beside} before start-up{}",
            plural(beside as usize)
        ));
    }
    phrase
}

pub(crate) fn evidence_hidden(finding: &Finding, shown: u64) -> u64 {
    let listed = finding.evidence.len() as u64 + finding.evidence_omitted;
    if CLASSIC.get() {
        return listed.saturating_sub(shown); // JUnit, as before
    }
    finding.matched_lines.max(listed).saturating_sub(shown)
}

/// What `--format json` adds to the `shown` of `total`, when it lists
/// `listed` of them: said only when it adds some, and true.
pub(crate) fn json_lists(listed: u64, shown: u64, total: u64, what: &str) -> String {
    if listed <= shown {
        String::new()
    } else if listed >= total {
        " (--format json lists them)".to_string()
    } else {
        format!(" (--format json lists the first {listed} {what}s)")
    }
}

/// One numbered remedy: its text, the config snippet and where it goes,
/// and its doc links (the report and `rwdoctor explain` share it).
pub fn render_remedy(
    out: &mut String,
    numbered_text: &str,
    config: Option<&crate::rules::ConfigSnippet>,
    docs: &[String],
) {
    wrap_hanging(out, numbered_text, "    ", "       ");
    if let Some(config) = config {
        let _ = writeln!(out, "       {}", format!("in {}:", config.file).dimmed());
        for line in config.snippet.lines() {
            let _ = writeln!(out, "         {}", line.cyan());
        }
    }
    for doc in docs {
        let _ = writeln!(out, "       {}", doc.underline());
    }
}

/// Log-given text (a name, a version) shown in at most `max` characters,
/// control characters escaped.
fn shorten(text: &str, max: usize) -> String {
    let shown = printable(text);
    if shown.chars().count() <= max {
        return shown.into_owned();
    }
    shown
        .chars()
        .take(max.saturating_sub(1))
        .collect::<String>()
        + "…"
}

pub fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "  {}", title.bold());
}

/// `source:line  time LEVEL` then the message, cut to the width around the
/// matched part, which is highlighted.
fn render_evidence(out: &mut String, line: &EvidenceLine, indent: &str) {
    let time = line.timestamp.as_deref().map_or(String::new(), |t| {
        if CLASSIC.get() {
            t.get(11..23).or(t.get(11..19)).unwrap_or("").to_string()
        } else {
            clock(t, Precision::Millis)
        }
    });
    let time = time.as_str();
    let level = line.level.map_or("", |l| l.as_str());
    // A pod or service name; a wrapper-looking prefix can make it long.
    let origin = line.origin.as_deref().map_or(String::new(), |o| {
        format!(" [{}]", shorten(o, ORIGIN_SHOWN))
    });
    let mut location = format!("{}:{}", printable(&line.source), line.line);
    let mut when = format!("{time} {level}").trim_end().to_string();
    let fits = |location: &str, when: &str| {
        indent.len() + location.chars().count() + origin.chars().count() + 1 + when.len() <= width()
    };
    if !fits(&location, &when) {
        when = time.to_string(); // the level is the least useful part
    }
    if !fits(&location, &when) {
        // Keep the end of the path: the file name and line number.
        let excess =
            indent.len() + location.chars().count() + origin.chars().count() + 2 + when.len()
                - width();
        let keep: String = location.chars().skip(excess + 1).collect();
        location = format!("…{keep}");
    }
    let _ = writeln!(
        out,
        "{indent}{}{} {}",
        location.blue(),
        origin.magenta(),
        when.dimmed(),
    );
    let room = width().saturating_sub(indent.len() + 2).max(20);
    // A folded event (a panic: header, then its message) shows its first
    // lines one under the other, wrapped rather than cut: the end of a
    // panic's header is its line and column.
    if line.message.contains('\n') {
        let inner = format!("{indent}  ");
        for part in line
            .message
            .split('\n')
            .filter(|p| !p.trim().is_empty())
            .take(1 + EVENT_LINES_SHOWN)
        {
            let hanging = format!("{inner}  ");
            let text = break_long_words(&printable(part), width().saturating_sub(hanging.len()));
            wrap_hanging(out, &text, &inner, &hanging);
        }
        return;
    }
    render_evidence_text(out, &line.message, line.highlight, indent, room);
}

/// `text` with every word longer than `room` cut into pieces of `room`
/// characters, so that wrapping keeps a long URL in a panic message within
/// the width (its pieces, one under the other, still read as one).
pub(crate) fn break_long_words(text: &str, room: usize) -> String {
    let room = room.max(10);
    text.split(' ')
        .map(|word| {
            let chars: Vec<char> = word.chars().collect();
            if chars.len() <= room {
                return word.to_string();
            }
            chars
                .chunks(room)
                .map(|piece| piece.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Further lines of a folded event shown under its first.
const EVENT_LINES_SHOWN: usize = 3;

/// One line of evidence text, cut to `room` around the highlight.
fn render_evidence_text(
    out: &mut String,
    message: &str,
    highlight: Option<(usize, usize)>,
    indent: &str,
    room: usize,
) {
    let (text, highlight) = printable_with_span(message, highlight);
    let text = text.as_str();
    let (hl_start, hl_end) = highlight.unwrap_or((0, 0));
    let (mut start, mut end) = if CLASSIC.get() {
        classic_cut(text, room, hl_start, hl_end)
    } else {
        cut_around(text, room, hl_start, hl_end)
    };
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    write_cut(
        out,
        &format!("{indent}  "),
        text,
        (start, end),
        (hl_start, hl_end),
    );
}

/// One line: `prefix`, then `text[start..end]` with `…` where it was cut
/// and the highlight in bold red (the brief and the full report both).
pub(crate) fn write_cut(
    out: &mut String,
    prefix: &str,
    text: &str,
    (start, end): (usize, usize),
    (hl_start, hl_end): (usize, usize),
) {
    let clip = |a: usize, b: usize| -> &str {
        let a = a.clamp(start, end);
        let b = b.clamp(a, end);
        text.get(a..b).unwrap_or("")
    };
    let _ = writeln!(
        out,
        "{prefix}{}{}{}{}{}",
        if start > 0 { "…" } else { "" },
        clip(start, hl_start),
        clip(hl_start, hl_end).bold().red(),
        clip(hl_end, end),
        if end < text.len() { "…" } else { "" },
    );
}

pub fn wrap_into(out: &mut String, text: &str, indent: &str) {
    wrap_hanging(out, text, indent, indent);
}

pub fn wrap_hanging(out: &mut String, text: &str, first: &str, rest: &str) {
    wrap_to(out, text, first, rest, width());
}

/// Wraps `text` into lines of at most `width` characters (a longer word
/// stands alone), the first starting with `first`, the others with `rest`.
/// A code span (`` `like this` ``) is kept on one line when it fits in one.
pub fn wrap_to(out: &mut String, text: &str, first: &str, rest: &str, width: usize) {
    let mut line = String::from(first);
    let mut empty = true;
    let room = if CLASSIC.get() {
        0 // code spans split as before
    } else {
        width.saturating_sub(rest.chars().count())
    };
    for word in words(text, room) {
        // Measured as shown: control characters escaped (our colours kept).
        let word = guard_report(word, true);
        let word = word.as_str();
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        out.push_str(&line);
        out.push('\n');
    }
}

/// The words of `text`; the words of a code span are one, unless the span
/// is longer than `room`.
fn words(text: &str, room: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut pieces = text.split_whitespace().peekable();
    while let Some(word) = pieces.next() {
        let opens = word.matches('`').count() % 2 == 1;
        if !opens {
            words.push(word.to_string());
            continue;
        }
        // Join up to the word that closes the span, if it fits in a line.
        let rest: Vec<&str> = pieces.clone().collect();
        let close = rest.iter().position(|w| w.matches('`').count() % 2 == 1);
        let joined = close.map(|at| {
            std::iter::once(word)
                .chain(rest[..=at].iter().copied())
                .collect::<Vec<_>>()
                .join(" ")
        });
        match (close, joined) {
            (Some(at), Some(joined)) if joined.chars().count() <= room => {
                for _ in 0..=at {
                    pieces.next();
                }
                words.push(joined);
            }
            _ => words.push(word.to_string()),
        }
    }
    words
}

/// `2024-02-11T06:05:06.387Z → 06:05:07.900Z`: milliseconds throughout,
/// the date not repeated, one time when both are the same.
fn span_text(first: &str, last: Option<&str>) -> String {
    if CLASSIC.get() {
        return match last {
            Some(last) if last != first => {
                let same_day = first.get(..11).is_some() && first.get(..11) == last.get(..11);
                let last = if same_day { &last[11..] } else { last };
                format!("{first} → {last}")
            }
            _ => first.to_string(),
        };
    }
    let first = stamp(first, Precision::Millis);
    match last.map(|l| stamp(l, Precision::Millis)) {
        Some(last) if last != first => {
            let same_day = first.get(..11).is_some() && first.get(..11) == last.get(..11);
            let last = if same_day { &last[11..] } else { &last[..] };
            format!("{first} → {last}")
        }
        _ => first,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    Seconds,
    Millis,
}

/// An RFC 3339 time in UTC at one precision: `2024-02-11T06:05:06.387Z`
/// (or `…06:05:06Z`); a time that does not parse is shown as given.
pub(crate) fn stamp(time: &str, precision: Precision) -> String {
    match chrono::DateTime::parse_from_rfc3339(time) {
        Ok(t) => {
            let t = t.with_timezone(&chrono::Utc);
            match precision {
                Precision::Millis => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                Precision::Seconds => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            }
        }
        Err(_) => printable(time).into_owned(),
    }
}

/// The time of day of an RFC 3339 time, in UTC: `06:05:06.387` or
/// `06:05:06`.
pub(crate) fn clock(time: &str, precision: Precision) -> String {
    let full = stamp(time, precision);
    match full.get(11..) {
        Some(rest) if full.as_bytes().get(10) == Some(&b'T') => {
            rest.trim_end_matches('Z').to_string()
        }
        _ => full,
    }
}

/// The evidence cut of the JUnit report, as it always was: from the start
/// when the match ends in the room, else a quarter of the room before it.
fn classic_cut(text: &str, room: usize, hl_start: usize, hl_end: usize) -> (usize, usize) {
    let mut start = if text.len() <= room || hl_end <= room - 2 {
        0
    } else {
        hl_start.saturating_sub(room / 4)
    };
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = text.len().min(start + room - usize::from(start > 0));
    if end < text.len() {
        end -= 1;
    }
    (start, end)
}

/// The part of `text` shown in `room` characters, the ellipses included:
/// all of it when it fits, else a window centred on the highlighted bytes
/// `hl_start..hl_end` (from their start when they are longer than the
/// window; from the text's start when they are near it). Byte offsets.
pub(crate) fn cut_around(
    text: &str,
    room: usize,
    hl_start: usize,
    hl_end: usize,
) -> (usize, usize) {
    let chars: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    let n = chars.len();
    let room = room.max(3);
    if n <= room {
        return (0, text.len());
    }
    let char_at = |byte: usize| chars.partition_point(|b| *b < byte);
    let hs = char_at(hl_start);
    let he = char_at(hl_end).max(hs);
    let inner = room - 2; // between two ellipses
    let mut start = if he < room {
        0
    } else if he - hs >= inner {
        hs
    } else {
        hs - (inner - (he - hs)) / 2
    };
    if start > 0 && n - start < room {
        start = n - (room - 1); // the end is shown: one ellipsis only
    }
    let shown = if start == 0 {
        room - 1
    } else if n - start < room {
        n - start
    } else {
        inner
    };
    let end = (start + shown).min(n);
    let byte = |i: usize| chars.get(i).copied().unwrap_or(text.len());
    (byte(start), byte(end))
}

fn range_text(range: &Option<TimeRange>) -> String {
    match range {
        Some(TimeRange {
            start: Some(start),
            end,
        }) => span_text(start, end.as_deref()),
        _ => "no timestamps".to_string(),
    }
}

/// One input: what it was recognised as, so silence is explained.
fn render_coverage(out: &mut String, input: &crate::analysis::InputSummary) {
    let percent = |n: u64| {
        if input.lines == 0 {
            0.0
        } else {
            n as f64 * 100.0 / input.lines as f64
        }
    };
    let mut parts = vec![format!(
        "{}: {} line{}, {} recognised ({:.0}%)",
        printable(&input.source),
        input.lines,
        plural(input.lines as usize),
        input.recognised,
        percent(input.recognised)
    )];
    if !input.shapes.is_empty() {
        let shapes: Vec<String> = input
            .shapes
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        parts.push(format!("events: {}", shapes.join(", ")));
    }
    if !input.wrappers.is_empty() {
        let wrappers: Vec<&str> = input.wrappers.keys().map(String::as_str).collect();
        parts.push(format!("wrapped by {}", wrappers.join(" + ")));
    }
    if !input.origins.is_empty() {
        let shown: Vec<Cow<str>> = input.origins.iter().take(6).map(|o| printable(o)).collect();
        let more = input.origins.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        parts.push(format!("from {}{more}", shown.join(", ")));
    }
    if let Some(range) = &input.time_range {
        parts.push(range_text(&Some(range.clone())));
    }
    if input.truncated_lines > 0 {
        parts.push(format!(
            "{} over-long line{} cut",
            input.truncated_lines,
            plural(input.truncated_lines as usize)
        ));
    }
    wrap_hanging(out, &parts.join("; "), "  ", "    ");
    for note in &input.notes {
        wrap_hanging(out, &format!("note: {}", printable(note)), "    ", "      ");
    }
}

/// Inputs listed one by one, at most `INPUTS_SHOWN`; empty inputs without
/// a note or an error are counted on one line, not listed (100,000 empty
/// files are one line; JSON lists them all).
fn render_inputs(out: &mut String, inputs: &[crate::analysis::InputSummary]) {
    const INPUTS_SHOWN: usize = 20;
    let quiet_empty =
        |i: &crate::analysis::InputSummary| i.lines == 0 && i.notes.is_empty() && i.error.is_none();
    let mut listed = 0;
    for input in inputs.iter().filter(|i| !quiet_empty(i)) {
        if listed == INPUTS_SHOWN {
            break;
        }
        render_coverage(out, input);
        listed += 1;
    }
    let empty = inputs.iter().filter(|i| quiet_empty(i)).count();
    let more = inputs.len() - empty - listed;
    let mut folded = Vec::new();
    if more > 0 {
        folded.push(format!("{more} more input{}", plural(more)));
    }
    if empty > 0 {
        folded.push(format!("{empty} empty input{}", plural(empty)));
    }
    if !folded.is_empty() {
        wrap_hanging(
            out,
            &format!(
                "… {} (--format json lists every input)",
                folded.join(" and ")
            ),
            "  ",
            "    ",
        );
    }
}

/// Nothing found: say what was scanned and where the failure may be instead.
fn render_silence(out: &mut String, analysis: &Analysis) {
    for input in analysis.summary.inputs.iter().take(20) {
        let meta_events: u64 = input
            .shapes
            .iter()
            .filter(|(shape, _)| shape.starts_with("RisingWave"))
            .map(|(_, n)| n)
            .sum();
        if meta_events == 0 {
            continue;
        }
        let range = input
            .time_range
            .as_ref()
            .map_or("with no timestamps".to_string(), |r| {
                format!(
                    "from {}",
                    range_text(&Some(r.clone())).replace(" → ", " to ")
                )
            });
        let text = if input.election_lines == 0 {
            format!(
                "{}: RisingWave logs {range} contain no election events; if the pod \
restarted, the failure is in `kubectl logs <pod> --previous`.",
                printable(&input.source)
            )
        } else {
            format!(
                "{}: RisingWave logs {range} contain {} election line{}, none of them a \
known failure.",
                printable(&input.source),
                input.election_lines,
                plural(input.election_lines as usize)
            )
        };
        wrap_hanging(out, &text, "", "  ");
    }
}

fn render_summary(out: &mut String, analysis: &Analysis) {
    let summary = &analysis.summary;
    let percent = if summary.lines_read == 0 {
        0.0
    } else {
        summary.lines_recognised as f64 * 100.0 / summary.lines_read as f64
    };
    let mut counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| summary.findings.get(s).map(|n| format!("{n} {s}")))
        .collect();
    if counts.is_empty() {
        counts.push("none".into());
    }
    let text = format!(
        "Scanned {} input{}, {} line{}, {} recognised ({percent:.0}%), {}; {} rules; findings: {}.",
        summary.inputs.len(),
        plural(summary.inputs.len()),
        summary.lines_read,
        plural(summary.lines_read as usize),
        summary.lines_recognised,
        range_text(&summary.time_range),
        summary.rules_evaluated,
        counts.join(", ")
    );
    wrap_into(out, &text, "");
    render_inputs(out, &summary.inputs);
    if analysis.findings.is_empty() && summary.lines_recognised > 0 && summary.exit_code != 3 {
        render_silence(out, analysis);
    }
    for error in &summary.errors {
        wrap_hanging(
            out,
            &format!("{} {}", "error:".red().bold(), printable(error)),
            "",
            "  ",
        );
    }
    let code = format!("exit {}", summary.exit_code);
    let code = match summary.exit_code {
        0 => code.green(),
        3 => code.yellow(),
        _ => code.red(),
    };
    wrap_hanging(
        out,
        &format!("{code}: {}", printable(&summary.verdict)),
        "",
        "  ",
    );
}

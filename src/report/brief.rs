//! The default human report, for the on-call engineer who reads it first:
//! the verdict, then a short block per problem (what and when, the likely
//! cause and why, the first actions, one or two lines of evidence), then the
//! verdict again, because a terminal shows its bottom. `-v` shows the rest
//! (`human::render_finding`); `-q` shows the closing verdict only.
use crate::analysis::{Analysis, Summary};
use crate::diagnosis::{CauseReport, Direction, EvidenceLine, Finding, RemedyReport, Verdict};
use crate::model::Severity;
use crate::report::human::{
    break_long_words, clock, cut_around, evidence_hidden, json_lists, stamp, width, wrap_hanging,
    write_cut, Precision,
};
use crate::text::plural;
use crate::text::printable::{printable, printable_with_span};
use colored::{ColoredString, Colorize};
use std::fmt::Write;

/// Evidence lines per problem.
const EVIDENCE_SHOWN: usize = 2;
/// Actions per problem.
const REMEDIES_SHOWN: usize = 2;
/// Notes and errors shown before they are counted.
const NOTES_SHOWN: usize = 3;
/// The column where a block's text starts, after its label.
const LABEL: &str = "         ";

/// One problem: a finding, and the findings that are its cause (folded in).
struct Problem<'a> {
    finding: &'a Finding,
    includes: Vec<&'a Finding>,
}

pub fn render(out: &mut String, analysis: &Analysis) {
    let problems = problems(analysis);
    if problems.is_empty() {
        render_nothing(out, analysis);
        if crate::report::discovery::render_section(out, analysis, false) {
            // The verdict again below the rows: a terminal shows its bottom.
            out.push('\n');
            render_notes(out, &analysis.summary);
            render_nothing(out, analysis);
            return;
        }
        render_notes(out, &analysis.summary);
        return;
    }
    render_headline(out, analysis, &problems);
    for problem in &problems {
        out.push('\n');
        render_block(out, problem.finding, &problem.includes);
    }
    let _ = crate::report::discovery::render_section(out, analysis, false);
    out.push('\n');
    render_notes(out, &analysis.summary);
    render_verdict(out, analysis, &problems);
}

/// The closing verdict alone (`-q`, and the end of `--follow`).
pub fn render_footer(out: &mut String, analysis: &Analysis) {
    let problems = problems(analysis);
    if problems.is_empty() {
        render_nothing(out, analysis);
    } else {
        render_verdict(out, analysis, &problems);
    }
}

/// Findings grouped into problems: a finding whose rule is the likely cause
/// of another, on the same lines, is part of that one.
fn problems(analysis: &Analysis) -> Vec<Problem<'_>> {
    let findings = &analysis.findings;
    let mut folded_into: Vec<Option<usize>> = vec![None; findings.len()];
    for (inner, candidate) in findings.iter().enumerate() {
        folded_into[inner] = findings.iter().enumerate().position(|(outer, host)| {
            outer != inner
                && host.severity >= candidate.severity
                && (is_cause_of(candidate, host)
                    || (same_lines(candidate, host)
                        && (host.severity > candidate.severity || outer < inner)))
        });
    }
    // A finding folded into one that is itself folded stays on its own.
    let mut problems: Vec<Problem> = Vec::new();
    let mut index_of = vec![None; findings.len()];
    for (i, finding) in findings.iter().enumerate() {
        let host = folded_into[i].filter(|h| folded_into[*h].is_none());
        if host.is_none() {
            index_of[i] = Some(problems.len());
            problems.push(Problem {
                finding,
                includes: Vec::new(),
            });
        }
    }
    for (i, finding) in findings.iter().enumerate() {
        if let Some(host) = folded_into[i].filter(|h| folded_into[*h].is_none()) {
            if let Some(p) = index_of[host] {
                problems[p].includes.push(finding);
            }
        }
    }
    problems
}

/// `inner` is `host`'s cause: its rule is a cause of `host` with evidence,
/// and the lines of that evidence are `inner`'s own.
fn is_cause_of(inner: &Finding, host: &Finding) -> bool {
    host.causes.iter().any(|cause| {
        cause.id == inner.rule
            && cause.evidence.iter().any(|e| {
                e.direction == Direction::For
                    && inner
                        .evidence
                        .iter()
                        .any(|l| l.source == e.example.source && l.line == e.example.line)
            })
    })
}

/// Every line of `inner` is one of `host`'s: two rules read the same event
/// (a start-up panic is a start-up failure and a panic both).
fn same_lines(inner: &Finding, host: &Finding) -> bool {
    !inner.evidence.is_empty()
        && inner.evidence.iter().all(|l| {
            host.evidence
                .iter()
                .any(|h| h.source == l.source && h.line == l.line)
        })
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

/// `1 problem (critical)`, `3 problems (1 critical, 2 warning)`.
fn problem_count(problems: &[Problem]) -> String {
    let mut by_severity: Vec<String> = Vec::new();
    for severity in Severity::ALL.iter().rev() {
        let n = problems
            .iter()
            .filter(|p| p.finding.severity == *severity)
            .count();
        if n > 0 {
            by_severity.push(format!("{n} {severity}"));
        }
    }
    if by_severity.len() == 1 {
        format!(
            "{} problem{} ({})",
            problems.len(),
            plural(problems.len()),
            problems[0].finding.severity
        )
    } else {
        format!("{} problems ({})", problems.len(), by_severity.join(", "))
    }
}

/// What was scanned, in a few words: `64 lines from 1 input, 2024-02-11
/// 05:58:02Z to 06:05:06Z`.
fn scanned(summary: &Summary) -> String {
    let inputs = summary.inputs.len();
    let empty = summary.inputs.iter().filter(|i| i.lines == 0).count();
    let empty = if empty > 0 && inputs > 1 {
        format!(" ({empty} empty)")
    } else {
        String::new()
    };
    let of = if inputs == 1 {
        String::new()
    } else {
        format!(" of {inputs} inputs{empty}")
    };
    let mut text = format!(
        "{} line{}{of}",
        summary.lines_read,
        plural(summary.lines_read as usize),
    );
    if summary.lines_read > 0 && summary.lines_recognised < summary.lines_read {
        let percent = summary.lines_recognised as f64 * 100.0 / summary.lines_read as f64;
        let _ = write!(text, ", {percent:.0}% recognised");
    }
    if let Some(range) = &summary.time_range {
        if let Some(start) = &range.start {
            let start = when(start);
            let end = range.end.as_deref().map(when);
            match end {
                Some(end) if end != start => {
                    let end = if end.get(..10) == start.get(..10) {
                        end[11..].to_string()
                    } else {
                        end
                    };
                    let _ = write!(text, ", {start} to {end}");
                }
                _ => {
                    let _ = write!(text, ", {start}");
                }
            }
        }
    }
    text
}

/// `2024-02-11 06:05:06Z`.
fn when(time: &str) -> String {
    stamp(time, Precision::Seconds).replacen('T', " ", 1)
}

fn render_headline(out: &mut String, analysis: &Analysis, problems: &[Problem]) {
    let text = format!(
        "rwdoctor: {} in {}.",
        problem_count(problems),
        scanned(&analysis.summary)
    );
    wrap_hanging(out, &text.bold().to_string(), "", "  ");
}

/// No problem: one line, louder when nothing could be checked.
fn render_nothing(out: &mut String, analysis: &Analysis) {
    let summary = &analysis.summary;
    let code = summary.exit_code;
    let text = if summary.lines_recognised == 0 {
        format!(
            "{} {}; exit {code}.",
            " NOTHING CHECKED ".white().on_red().bold(),
            printable(&summary.verdict)
        )
    } else if code == 0 {
        format!("No known failure found in {}; exit 0.", scanned(summary))
    } else {
        format!(
            "{} in {}: {}; exit {code}.",
            if code == 3 {
                "Inconclusive".yellow().bold()
            } else {
                "No finding".red().bold()
            },
            scanned(summary),
            printable(&summary.reason)
        )
    };
    wrap_hanging(out, &text, "", "  ");
}

/// Notes on the inputs (assumptions, what could not be read) and errors,
/// at most a few, then a count.
fn render_notes(out: &mut String, summary: &Summary) {
    let mut notes: Vec<String> = Vec::new();
    for input in &summary.inputs {
        for note in &input.notes {
            notes.push(format!("{}: {}", input.source, note));
        }
    }
    let errors = &summary.errors;
    for error in errors.iter().take(NOTES_SHOWN) {
        wrap_hanging(
            out,
            &format!("{} {}", "error:".red().bold(), printable(error)),
            "",
            "  ",
        );
    }
    if errors.len() > NOTES_SHOWN {
        let more = errors.len() - NOTES_SHOWN;
        let _ = writeln!(
            out,
            "… {more} more error{} (above, on stderr)",
            plural(more)
        );
    }
    for note in notes.iter().take(NOTES_SHOWN) {
        wrap_hanging(out, &format!("note: {}", printable(note)), "", "  ");
    }
    if notes.len() > NOTES_SHOWN {
        let more = notes.len() - NOTES_SHOWN;
        let _ = writeln!(out, "… {more} more note{} (-v lists them)", plural(more));
    }
}

/// Causes with evidence for them, best first.
fn supported(finding: &Finding) -> Vec<&CauseReport> {
    finding
        .causes
        .iter()
        .filter(|c| {
            c.verdict != Verdict::Unlikely
                && c.evidence.iter().any(|e| e.direction == Direction::For)
        })
        .collect()
}

/// One problem's block.
pub fn render_block(out: &mut String, finding: &Finding, includes: &[&Finding]) {
    let _ = writeln!(out, "{} {}", badge(finding.severity), finding.title.bold());
    let mut what = vec![finding
        .first_seen
        .as_deref()
        .map_or("time unknown".to_string(), when)];
    if finding.count > 1 {
        let _ = write!(
            what[0],
            " to {}",
            finding.last_seen.as_deref().map_or("?".to_string(), when)
        );
    }
    what.push(format!(
        "{} incident{}, {}",
        finding.count,
        plural(finding.count as usize),
        super::human::lines_phrase(finding)
    ));
    what.push(finding.rule.clone());
    labelled(out, "When", &what.join(" · "));

    let causes = supported(finding);
    if let Some(cause) = causes.first() {
        let mut why = format!(
            "{} ({}): {}",
            cause.title,
            cause.verdict,
            reason(finding, cause)
        );
        if let Some(second) = causes.get(1) {
            let _ = write!(
                why,
                " Also {}: {}.",
                second.verdict,
                lowercase_first(&second.title)
            );
        }
        labelled(out, "Why", &why);
    } else if !finding.causes.is_empty() {
        labelled(
            out,
            "Why",
            "no cause has evidence in these logs (see below)",
        );
    }

    let shown: Vec<&str> = causes.iter().map(|c| c.id.as_str()).collect();
    let remedies: Vec<&RemedyReport> = finding
        .remedies
        .iter()
        .filter(|r| r.cause.as_deref().is_none_or(|c| shown.contains(&c)))
        .take(REMEDIES_SHOWN)
        .collect();
    for (number, remedy) in remedies.iter().enumerate() {
        let label = if number == 0 { "Do" } else { "" };
        let first = format!("  {label:<6} {}. ", number + 1);
        wrap_hanging(
            out,
            first_sentence(&remedy.text),
            &first,
            &format!("{LABEL}   "),
        );
        if let Some(config) = &remedy.config {
            let _ = writeln!(out, "{LABEL}   {}", format!("in {}:", config.file).dimmed());
            // At most 4 lines of it (`-v` has it whole).
            let lines: Vec<&str> = config
                .snippet
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect();
            for line in lines.iter().take(4) {
                let _ = writeln!(out, "{LABEL}     {}", line.cyan());
            }
            if lines.len() > 4 {
                let _ = writeln!(out, "{LABEL}     {}", "…".dimmed());
            }
        }
        // The first link, where it fits (`-v` has them all).
        if let Some(doc) = remedy.docs.first() {
            let length = doc.chars().count();
            if LABEL.len() + 3 + length <= width() {
                let _ = writeln!(out, "{LABEL}   {}", doc.underline());
            } else if LABEL.len() + length <= width() {
                let _ = writeln!(out, "{LABEL}{}", doc.underline());
            }
        }
    }

    for (number, line) in finding.evidence.iter().take(EVIDENCE_SHOWN).enumerate() {
        render_seen(out, if number == 0 { "Seen" } else { "" }, line);
    }
    let shown_lines = finding.evidence.len().min(EVIDENCE_SHOWN) as u64;
    let hidden = evidence_hidden(finding, shown_lines);
    if hidden > 0 {
        let _ = writeln!(
            out,
            "{LABEL}{}",
            format!(
                "… {hidden} more line{}{}",
                plural(hidden as usize),
                json_lists(
                    finding.evidence.len() as u64,
                    shown_lines,
                    shown_lines + hidden,
                    "line"
                )
            )
            .dimmed()
        );
    }

    for inner in includes {
        let text = format!(
            "{} ({}, {} line{}) is the cause above, on the same lines: {}.",
            inner.rule,
            inner.severity,
            inner.matched_lines,
            plural(inner.matched_lines as usize),
            lowercase_first(&inner.title)
        );
        labelled(out, "Also", &text);
    }

    let unchecked: Vec<&CauseReport> = finding
        .causes
        .iter()
        .filter(|c| c.verdict == Verdict::NotRuledOut && c.evidence.is_empty())
        .collect();
    if !unchecked.is_empty() {
        let titles: Vec<String> = unchecked
            .iter()
            .map(|c| lowercase_first(&c.title))
            .collect();
        let needs_etcd = unchecked.iter().any(|c| {
            c.reasoning
                .as_deref()
                .is_some_and(|r| r.contains("no etcd log"))
        });
        let with = if needs_etcd {
            "; etcd's log would check them (`kubectl logs etcd-0`)"
        } else {
            "; no line for or against them"
        };
        let text = format!("Not checked: {}{with}.", titles.join("; "));
        wrap_hanging(out, &text.dimmed().to_string(), "  ", LABEL);
    }
}

/// `Label  text`, wrapped under the text.
fn labelled(out: &mut String, label: &str, text: &str) {
    let first = format!("  {label:<6} ");
    wrap_hanging(out, text, &first, LABEL);
}

/// Why a cause is likely, in words: the lines for it, how many and when,
/// those against it, and the rule's reasoning.
fn reason(finding: &Finding, cause: &CauseReport) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut earliest: Option<&EvidenceLine> = None;
    let supporting: Vec<_> = cause
        .evidence
        .iter()
        .filter(|e| e.direction == Direction::For)
        .collect();
    for (index, evidence) in supporting.iter().enumerate() {
        let meaning = evidence.meaning.as_deref().unwrap_or(&evidence.signal);
        if index < 2 {
            parts.push(format!(
                "{} line{} {} {}",
                evidence.count,
                plural(evidence.count as usize),
                if evidence.count == 1 { "says" } else { "say" },
                meaning
            ));
        } else if index == 2 {
            let more = supporting.len() - 2;
            parts.push(format!("{more} more sign{} (-v)", plural(more)));
        }
        let example = &evidence.example;
        if earliest.is_none_or(|e| {
            (example.timestamp.as_deref(), example.line) < (e.timestamp.as_deref(), e.line)
        }) {
            earliest = Some(example);
        }
    }
    let mut text = parts.join(", ");
    if let Some(example) = earliest {
        let before = match (example.timestamp.as_deref(), finding.first_seen.as_deref()) {
            (Some(a), Some(b)) => seconds_between(a, b)
                .filter(|s| *s >= 1)
                .map(|s| format!("{s} s before, ")),
            _ => None,
        };
        let _ = write!(
            text,
            " (the first {}at {}:{})",
            before.unwrap_or_default(),
            short_source(&example.source),
            example.line
        );
    }
    let against: Vec<String> = cause
        .evidence
        .iter()
        .filter(|e| e.direction == Direction::Against)
        .map(|e| format!("{} ×{}", e.meaning.as_deref().unwrap_or(&e.signal), e.count))
        .collect();
    if !against.is_empty() {
        let _ = write!(text, "; against it: {}", against.join(", "));
    }
    if let Some(reasoning) = &cause.reasoning {
        let _ = write!(text, "; {reasoning}");
    }
    text.push('.');
    text
}

/// Whole seconds from `a` to `b`.
fn seconds_between(a: &str, b: &str) -> Option<i64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_milliseconds().div_euclid(1000))
}

/// A file's name without its directories (a pod or `<stdin>` as is).
fn short_source(source: &str) -> String {
    printable(source.rsplit('/').next().unwrap_or(source)).into_owned()
}

/// The first sentence of a remedy: up to the first `. ` followed by a
/// letter, outside parentheses and code spans (`e.g.` does not end one).
fn first_sentence(text: &str) -> &str {
    let mut depth = 0i32;
    let mut code = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => code = !code,
            b'(' if !code => depth += 1,
            b')' if !code => depth -= 1,
            b'.' if !code && depth <= 0 => {
                let next = bytes.get(i + 1);
                let after = bytes.get(i + 2);
                let abbreviation = text[..i].ends_with("e.g") || text[..i].ends_with("i.e");
                if next == Some(&b' ')
                    && after.is_some_and(|c| c.is_ascii_alphabetic())
                    && !abbreviation
                {
                    return &text[..=i];
                }
            }
            _ => {}
        }
    }
    text
}

/// One evidence line: `file:line time  message`, the message cut around the
/// matched part, which stays in view.
fn render_seen(out: &mut String, label: &str, line: &EvidenceLine) {
    let time = line.timestamp.as_deref().map_or(String::new(), |t| {
        format!(" {}", clock(t, Precision::Seconds))
    });
    let mut location = format!("{}:{}{time}", printable(&line.source), line.line);
    let first = format!("  {label:<6} ");
    let fits = width().saturating_sub(first.len());
    if location.chars().count() > fits {
        // Keep the end: the file name, the line number and the time.
        let skip = location.chars().count() + 1 - fits;
        location = format!("…{}", location.chars().skip(skip).collect::<String>());
    }
    // A folded event (a panic: its header, then its message) is shown as
    // its first lines, one under the other: the location is at the end of
    // the header, the reason on the next line.
    if line.message.contains('\n') {
        let _ = writeln!(out, "{first}{}", location.blue());
        let pad = format!("{LABEL}  ");
        let hanging = format!("{pad}  ");
        for part in line
            .message
            .split('\n')
            .filter(|p| !p.trim().is_empty())
            .take(2)
        {
            let text = break_long_words(&printable(part), width().saturating_sub(hanging.len()));
            wrap_hanging(out, &text, &pad, &hanging);
        }
        return;
    }
    let (text, highlight) = printable_with_span(&line.message, line.highlight);
    let text = text.as_str();
    let (hl_start, hl_end) = highlight.unwrap_or((0, 0));
    let width = width();
    // On the location's line when there is room for 32 characters or more.
    let used = first.chars().count() + location.chars().count() + 2;
    let (prefix, room) = if width.saturating_sub(used) >= 32 {
        (format!("{first}{}  ", location.blue()), width - used)
    } else {
        let _ = writeln!(out, "{first}{}", location.blue());
        (format!("{LABEL}  "), width.saturating_sub(LABEL.len() + 2))
    };
    let cut = cut_around(text, room, hl_start, hl_end);
    write_cut(out, &prefix, text, cut, (hl_start, hl_end));
}

/// The closing verdict, last so that a terminal shows it: what, likely why,
/// what to do, the exit code, how to see more.
fn render_verdict(out: &mut String, analysis: &Analysis, problems: &[Problem]) {
    let summary = &analysis.summary;
    let top = problems[0].finding;
    let ids: Vec<&str> = problems.iter().map(|p| p.finding.rule.as_str()).collect();
    let cause = supported(top).first().map(|c| c.id.as_str());
    let what = match (problems.len(), cause) {
        (1, Some(cause)) => format!(
            "{} {} ({}), likely cause {cause}.",
            "Verdict:".bold(),
            top.rule,
            top.severity
        ),
        (1, None) => format!("{} {} ({}).", "Verdict:".bold(), top.rule, top.severity),
        (_, cause) => format!(
            "{} {}: {}{}.",
            "Verdict:".bold(),
            problem_count(problems),
            ids.join(", "),
            cause.map_or(String::new(), |c| format!(
                "; likely cause of the first: {c}"
            ))
        ),
    };
    wrap_hanging(out, &what, "", "  ");
    let remedies: Vec<&RemedyReport> = {
        let shown: Vec<&str> = supported(top).iter().map(|c| c.id.as_str()).collect();
        top.remedies
            .iter()
            .filter(|r| r.cause.as_deref().is_none_or(|c| shown.contains(&c)))
            .take(REMEDIES_SHOWN)
            .collect()
    };
    // One line: the actions that fit, at least the first.
    let mut line = String::new();
    for remedy in remedies {
        let next = if line.is_empty() {
            format!("Do: {}", action(remedy))
        } else {
            format!("{line}; {}", action(remedy))
        };
        if line.is_empty() || next.chars().count() <= width() {
            line = next;
        }
    }
    if !line.is_empty() {
        wrap_hanging(
            out,
            &line.replacen("Do:", &"Do:".bold().to_string(), 1),
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
    let verdict = format!("{code}: {}.", printable(&summary.verdict));
    let long = format!("{verdict} More: -v, `rwdoctor explain {}`.", top.rule);
    let text = if long.chars().count() <= width() {
        long
    } else {
        format!("{verdict} More: -v.")
    };
    wrap_hanging(out, &text, "", "  ");
}

/// A remedy in a few words: the setting of its snippet, else its first
/// clause.
fn action(remedy: &RemedyReport) -> String {
    if let Some(config) = &remedy.config {
        let settings: Vec<&str> = config
            .snippet
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with('#'))
            .collect();
        match settings.as_slice() {
            [] => {}
            [one] => return format!("`{one}`"),
            [first, ..] => return format!("`{first}` …"),
        }
    }
    let sentence = first_sentence(&remedy.text).trim_end_matches('.');
    let clause = sentence
        .split_once(" (")
        .map_or(sentence, |(head, _)| head)
        .split(": ")
        .last()
        .unwrap_or(sentence);
    let clause = lowercase_first(clause);
    // At most 60 characters, cut between words (a code span is one word).
    let mut short = String::new();
    for word in clause.split(' ') {
        if short.chars().count() + 1 + word.chars().count() > 60 && !short.is_empty() {
            short.push_str(" …");
            return short;
        }
        if !short.is_empty() {
            short.push(' ');
        }
        short.push_str(word);
    }
    short
}

/// `The meta node…` → `the meta node…`; a name (`RisingWave`, `NOSPACE`)
/// keeps its capitals.
fn lowercase_first(text: &str) -> String {
    let word = text.split(' ').next().unwrap_or("");
    let mut chars = word.chars();
    let name = chars.next().is_none() || chars.any(|c| !c.is_lowercase() && c.is_alphabetic());
    if name {
        return text.to_string();
    }
    let mut chars = text.chars();
    chars
        .next()
        .map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

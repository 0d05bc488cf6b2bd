//! `--format markdown`: a report for `$GITHUB_STEP_SUMMARY` or a pull-request
//! comment: a table of findings, then each finding with its causes,
//! remedies and (folded) evidence. Log text only ever appears inside code
//! spans or fenced blocks, so that nothing in a log line (`<stdin>`, `|`,
//! `*`) is taken for markup. Rule texts are written for this (they use
//! backticks for code) and pass through.
use crate::analysis::{Analysis, TimeRange};
use crate::diagnosis::{Direction, EvidenceLine, Finding};
use crate::model::Severity;
use crate::report::Context;
use crate::text::plural;
use crate::text::printable::{guard_report, printable};
use std::fmt::Write;

/// Evidence lines shown per finding (the step summary is limited to 1 MiB).
const EVIDENCE_SHOWN: usize = 8;

pub fn render(analysis: &Analysis, context: &Context) -> String {
    let summary = &analysis.summary;
    let mut out = String::new();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| summary.findings.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let headline = if summary.lines_recognised == 0 {
        "nothing to diagnose".to_string()
    } else if counts.is_empty() {
        "no known failure found".to_string()
    } else {
        format!(
            "{} finding{} ({})",
            analysis.findings.len(),
            plural(analysis.findings.len()),
            counts.join(", ")
        )
    };
    let _ = writeln!(out, "## rwdoctor: {headline}\n");
    let _ = writeln!(
        out,
        "**Exit {}**: {}\n",
        summary.exit_code,
        inline(&summary.verdict)
    );
    if !summary.errors.is_empty() {
        out.push_str("**Problems:**\n\n");
        for error in &summary.errors {
            let _ = writeln!(out, "- {}", code_span(&printable(error)));
        }
        out.push('\n');
    }

    if !analysis.findings.is_empty() {
        out.push_str("| Severity | Finding | Rule | Incidents | First seen |\n");
        out.push_str("|---|---|---|---:|---|\n");
        for finding in &analysis.findings {
            let failing = context.fail_on.is_some_and(|t| finding.severity >= t);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                severity_badge(finding.severity, failing),
                cell(&finding.title),
                code_span(&finding.rule),
                finding.count,
                finding.first_seen.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
        for finding in &analysis.findings {
            render_finding(&mut out, finding);
        }
    }

    if analysis.discovery.shown {
        let rows = crate::report::discovery::markdown_rows(&analysis.discovery, 10);
        if !rows.is_empty() {
            out.push_str(rows.trim_start_matches('\n'));
            out.push('\n');
        }
    }
    out.push_str("---\n\n");
    let _ = writeln!(
        out,
        "Scanned {} input{}, {} line{} ({} recognised), {}; {} rules evaluated.",
        summary.inputs.len(),
        plural(summary.inputs.len()),
        summary.lines_read,
        plural(summary.lines_read as usize),
        summary.lines_recognised,
        range_text(&summary.time_range),
        summary.rules_evaluated
    );
    guard_report(out, false)
}

fn severity_badge(severity: Severity, failing: bool) -> String {
    let name = severity.as_str().to_uppercase();
    if failing {
        format!("**{name}**")
    } else {
        name
    }
}

fn render_finding(out: &mut String, finding: &Finding) {
    let _ = writeln!(
        out,
        "### {}: {}\n",
        finding.severity.as_str().to_uppercase(),
        inline(&finding.title)
    );
    let mut facts = vec![
        code_span(&finding.rule),
        format!(
            "{} incident{}",
            finding.count,
            plural(finding.count as usize)
        ),
        format!(
            "{} line{}",
            finding.matched_lines,
            plural(finding.matched_lines as usize)
        ),
    ];
    if let Some(first) = &finding.first_seen {
        match finding.last_seen.as_ref().filter(|l| *l != first) {
            Some(last) => facts.push(format!("{first} → {last}")),
            None => facts.push(first.clone()),
        }
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let _ = writeln!(out, "{}\n", inline(&finding.diagnosis));

    if !finding.causes.is_empty() {
        out.push_str("**Likely causes**\n\n");
        for (rank, cause) in finding.causes.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. **{}**: {} ({:.2}). {}",
                rank + 1,
                inline(&cause.title),
                cause.verdict,
                cause.confidence,
                inline(&cause.explain)
            );
            for evidence in &cause.evidence {
                let _ = writeln!(
                    out,
                    "   - {} {} ×{}, e.g. {}",
                    if evidence.direction == Direction::For {
                        "for:"
                    } else {
                        "against:"
                    },
                    inline(evidence.meaning.as_deref().unwrap_or(&evidence.signal)),
                    evidence.count,
                    code_span(&format!(
                        "{}:{}",
                        printable(&evidence.example.source),
                        evidence.example.line
                    ))
                );
            }
            if let Some(check) = &cause.to_check {
                let _ = writeln!(out, "   - no evidence either way: {}", inline(check));
            }
        }
        out.push('\n');
    }

    if !finding.remedies.is_empty() {
        out.push_str("**What to do**\n\n");
        for (number, remedy) in finding.remedies.iter().enumerate() {
            let links: Vec<String> = remedy.docs.iter().map(|d| format!("<{d}>")).collect();
            let _ = write!(out, "{}. {}", number + 1, inline(&remedy.text));
            if !links.is_empty() {
                let _ = write!(out, " ({})", links.join(", "));
            }
            out.push('\n');
            if let Some(config) = &remedy.config {
                let _ = writeln!(out, "   In {}:\n", inline(&config.file));
                let fence = fence_for(&config.snippet);
                let _ = writeln!(out, "   {fence}");
                for line in config.snippet.lines() {
                    let _ = writeln!(out, "   {line}");
                }
                let _ = writeln!(out, "   {fence}");
            }
        }
        out.push('\n');
    }

    if !finding.evidence.is_empty() {
        let total = finding.evidence.len() as u64 + finding.evidence_omitted;
        let _ = writeln!(
            out,
            "<details><summary>Evidence ({total} line{})</summary>\n",
            plural(total as usize)
        );
        let shown: Vec<&EvidenceLine> = finding.evidence.iter().take(EVIDENCE_SHOWN).collect();
        let block: String = shown
            .iter()
            .map(|e| {
                format!(
                    "{}:{}: {}\n",
                    printable(&e.source),
                    e.line,
                    printable(&e.text)
                )
            })
            .collect();
        let fence = fence_for(&block);
        let _ = write!(out, "{fence}text\n{block}{fence}\n");
        let hidden = total.saturating_sub(shown.len() as u64);
        if hidden > 0 {
            let _ = writeln!(
                out,
                "\n… {hidden} more line{} (`--format json` lists them)",
                plural(hidden as usize)
            );
        }
        out.push_str("\n</details>\n\n");
    }
    if !finding.docs.is_empty() {
        let links: Vec<String> = finding.docs.iter().map(|d| format!("<{d}>")).collect();
        let _ = writeln!(out, "Docs: {}\n", links.join(", "));
    }
}

/// Rule prose on one line (a line break would end a list item or a table).
fn inline(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A table cell: also no `|`.
fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

/// `text` as a code span, with a fence longer than any backtick run in it.
fn code_span(text: &str) -> String {
    let text = inline(text);
    let longest = longest_backtick_run(&text);
    let fence = "`".repeat(longest + 1);
    // A span starting or ending with a backtick needs a space inside.
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

/// A code fence longer than any backtick run in `block` (at least three).
fn fence_for(block: &str) -> String {
    "`".repeat((longest_backtick_run(block) + 1).max(3))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn range_text(range: &Option<TimeRange>) -> String {
    match range {
        Some(TimeRange {
            start: Some(start),
            end: Some(end),
        }) if start != end => format!("{start} → {end}"),
        Some(TimeRange {
            start: Some(start), ..
        }) => start.clone(),
        _ => "no timestamps".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_break_out_of_code() {
        assert_eq!(code_span("<stdin>"), "`<stdin>`");
        assert_eq!(code_span("a `b` c"), "``a `b` c``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("````"), "`````");
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}

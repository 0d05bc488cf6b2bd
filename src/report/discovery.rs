//! The human report's "What else changed" section (issue 17): templates
//! mined from the lines, the one most likely to be the cause first. Shown
//! when no finding is at warning or above, or with `--discover`; 5 rows by
//! default, 10 with `-v`, every one in the JSON report.
use crate::analysis::Analysis;
use crate::discovery::{AnchorKind, Discovery, Row, RowStatus};
use crate::model::Level;
use crate::report::human::{width, wrap_hanging};
use crate::text::plural;
use crate::text::printable::printable;
use colored::Colorize;
use std::fmt::Write;

/// Rows shown by default and with `-v`.
pub const ROWS_SHOWN: usize = 5;
pub const ROWS_SHOWN_VERBOSE: usize = 10;
/// The column where a row's text starts, after its label.
const INDENT: &str = "           ";

/// The section, when the run shows it (true); nothing otherwise.
pub fn render_section(out: &mut String, analysis: &Analysis, verbose: bool) -> bool {
    let d = &analysis.discovery;
    let any = d.templates.iter().any(Row::is_change);
    // A clean run with nothing to show stays one line, unless asked.
    if !d.shown || (!any && !d.asked) {
        return false;
    }
    out.push('\n');
    let what = if d.levels == "all" {
        "every line"
    } else {
        "WARN/ERROR lines"
    };
    let changes: Vec<&Row> = d.templates.iter().filter(|r| r.is_change()).collect();
    // A row below WARN comes from the windows mined at every level.
    let below_warn = changes
        .iter()
        .any(|r| r.level.is_some_and(|l| l < Level::Warn));
    let heading = if below_warn && d.levels != "all" {
        format!("({what}; every level before restarts and the end)")
    } else {
        format!("({what} grouped, numbers and ids masked)")
    };
    let _ = writeln!(out, "{} {}", "What else changed".bold(), heading.dimmed());
    if let Some(b) = &d.baseline {
        let sources: Vec<String> = b.sources.iter().map(|s| short(s)).collect();
        wrap_hanging(
            out,
            &format!(
                "against {} ({} line{} mined, {} template{})",
                sources.join(", "),
                b.lines_mined,
                plural(b.lines_mined as usize),
                b.templates,
                plural(b.templates)
            ),
            "  ",
            "    ",
        );
    }
    let shown = if verbose {
        ROWS_SHOWN_VERBOSE
    } else {
        ROWS_SHOWN
    };
    if changes.is_empty() {
        let text = if d.lines_mined == 0 {
            format!("no {what} to group")
        } else if d.baseline.is_some() {
            format!(
                "nothing new or increased: {} template{} of {} line{}, all as in the baseline",
                d.templates_total,
                plural(d.templates_total),
                d.lines_mined,
                plural(d.lines_mined as usize)
            )
        } else {
            format!(
                "no WARN/ERROR template among {} line{} mined",
                d.lines_mined,
                plural(d.lines_mined as usize)
            )
        };
        wrap_hanging(out, &text, "  ", "    ");
    }
    for row in changes.iter().take(shown) {
        render_row(out, row, verbose);
    }
    let more = changes.len().saturating_sub(shown) + d.templates_omitted;
    if more > 0 {
        let _ = writeln!(
            out,
            "  … {more} more row{} ({}--format json has every one)",
            plural(more),
            if verbose { "" } else { "-v shows 10; " }
        );
    }
    if verbose && !d.gone.is_empty() {
        let _ = writeln!(
            out,
            "  gone (frequent in the baseline, not seen here): {}",
            d.gone.len()
        );
        for row in d.gone.iter().take(3) {
            render_row(out, row, verbose);
        }
    }
    if d.templates_overflow_lines > 0 {
        let _ = writeln!(
            out,
            "  {} line{} of templates past the cap of {} per origin are counted, not grouped",
            d.templates_overflow_lines,
            plural(d.templates_overflow_lines as usize),
            crate::templates::MAX_TEMPLATES_PER_ORIGIN
        );
    }
    true
}

fn label(row: &Row) -> String {
    match row.status {
        RowStatus::New => "NEW".to_string(),
        RowStatus::Increased => format!("×{:.0}", row.rate_ratio.unwrap_or(0.0).min(9999.0)),
        RowStatus::Gone => "GONE".to_string(),
        _ if row.window.is_some() => "LATE".to_string(),
        _ if row.grew.is_some() => format!(
            "×{:.0}",
            row.grew.as_ref().map_or(0.0, |g| g.rate_ratio).min(9999.0)
        ),
        RowStatus::Same => "SAME".to_string(),
        RowStatus::Seen => "SEEN".to_string(),
    }
}

fn render_row(out: &mut String, row: &Row, verbose: bool) {
    let level = row.level.map_or("-", Level::as_str);
    let count = if row.status == RowStatus::Gone {
        format!("0 (was {})", row.baseline_count.unwrap_or(0))
    } else {
        format!("{}×", row.count)
    };
    let head = format!("  {:<8} {count}  {level}", label(row));
    let room = width().saturating_sub(head.chars().count() + 2).max(10);
    let target = row.target.as_deref().unwrap_or("");
    let coloured_label = match row.status {
        RowStatus::New | RowStatus::Increased => label(row).red().bold().to_string(),
        _ if row.window.is_some() || row.grew.is_some() => label(row).yellow().bold().to_string(),
        _ => label(row),
    };
    let pad = " ".repeat(8usize.saturating_sub(label(row).chars().count()));
    let _ = writeln!(
        out,
        "  {coloured_label}{pad} {count}  {level}  {}",
        printable(&cut_left(target, room))
    );
    let template = printable(&row.template);
    if verbose {
        wrap_hanging(out, &template, INDENT, INDENT);
    } else {
        // Two lines at most: the inner error text is often at the end.
        let room = 2 * width().saturating_sub(INDENT.len() + 4);
        wrap_hanging(out, &cut_right(&template, room), INDENT, INDENT);
    }
    let mut place = format!("first {}:{}", short(&row.first.source), row.first.line);
    if let Some(time) = &row.first_seen {
        let first = clock(time);
        match row.last_seen.as_deref().map(clock) {
            Some(last) if last != first => place.push_str(&format!(", {first} → {last}")),
            _ => place.push_str(&format!(", {first}")),
        }
    }
    if let Some(w) = &row.window {
        let anchor = match w.anchor {
            AnchorKind::Restart => format!("restart {}", w.number),
            AnchorKind::End => "the end".to_string(),
        };
        place.push_str(&format!(
            "; new to its node {}",
            before(-w.first_offset_seconds, &anchor)
        ));
    } else if let Some(g) = &row.grew {
        let anchor = match g.anchor {
            AnchorKind::Restart => format!("restart {}", g.number),
            AnchorKind::End => "the end".to_string(),
        };
        place.push_str(&format!(
            "; {} in the {}m before {anchor}, {} in the {}m before that",
            g.window_count, g.window_minutes, g.earlier_count, g.earlier_minutes
        ));
    } else if let (Some(offset), Some(anchor)) = (row.offset_seconds, row.offset_anchor) {
        let anchor = match anchor {
            AnchorKind::Restart => "a restart",
            AnchorKind::End => "the end",
        };
        place.push_str(&format!("; {}", before(-offset, anchor)));
    }
    wrap_hanging(out, &place, INDENT, INDENT);
}

/// `2024-02-11T06:05:06.123Z` → `06:05:06`.
fn clock(time: &str) -> String {
    time.get(11..19).unwrap_or(time).to_string()
}

/// `15s before the end`, or `at the end`.
fn before(seconds: f64, anchor: &str) -> String {
    if seconds < 0.5 {
        format!("at {anchor}")
    } else {
        format!("{} before {anchor}", duration(seconds))
    }
}

/// `75` → `1m15s`.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn short(source: &str) -> String {
    printable(source.rsplit('/').next().unwrap_or(source)).into_owned()
}

/// Keeps the end of a long target (`…::election::etcd`).
fn cut_left(text: &str, room: usize) -> String {
    let n = text.chars().count();
    if n <= room {
        return text.to_string();
    }
    let skip = n - room.saturating_sub(1);
    format!("…{}", text.chars().skip(skip).collect::<String>())
}

fn cut_right(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    format!(
        "{}…",
        text.chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
    )
}

/// One line per row for Markdown: `| status | count | level | template | first |`.
pub fn markdown_rows(d: &Discovery, shown: usize) -> String {
    let mut out = String::new();
    let changes: Vec<&Row> = d.templates.iter().filter(|r| r.is_change()).collect();
    if changes.is_empty() {
        return out;
    }
    out.push_str("\n### What else changed\n\n| status | count | level | template | first |\n|---|---|---|---|---|\n");
    for row in changes.iter().take(shown) {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | {}:{} |",
            label(row),
            row.count,
            row.level.map_or("-", Level::as_str),
            cell(&cut_right(&row.template, 200)).replace('`', "'"),
            cell(&row.first.source),
            row.first.line
        );
    }
    out
}

//! `rwdoctor templates`: the template table of some logs. Any log can be
//! grouped: a line in no known shape is taken whole as the message.
use crate::cli::TemplatesFormat;
use crate::input::{self, InputSpec};
use crate::lines::LineBlocks;
use crate::model::Level;
use crate::report::write_stdout;
use crate::templates::{self, format_id, Comparison, Status, Table, Template};
use crate::text::printable::printable;
use serde_json::{json, Value};
use std::path::PathBuf;

pub struct Options<'a> {
    pub paths: &'a [PathBuf],
    pub all_levels: bool,
    pub lines: bool,
    pub merge: Option<usize>,
    pub baseline: &'a [PathBuf],
    pub fail_on_new: bool,
    pub format: TemplatesFormat,
}

/// A template and, with --baseline, how it compares.
struct Row<'a> {
    template: &'a Template,
    comparison: Option<Comparison>,
}

pub fn run(options: &Options<'_>) -> u8 {
    let mut failed = false;
    let table = mine(
        options.paths,
        options.all_levels,
        options.lines,
        &mut failed,
    );
    let baseline = (!options.baseline.is_empty())
        .then(|| mine(options.baseline, options.all_levels, false, &mut failed));
    let (mined, overflow) = (table.lines, table.overflow_lines);
    let list = match options.merge {
        Some(min) => templates::merge(table.into_templates(), min.max(2)),
        None => table.into_templates(),
    };
    let mut sorted: Vec<&Template> = list.iter().collect();
    templates::sort_templates(&mut sorted);
    let mut rows: Vec<Row> = sorted
        .iter()
        .map(|t| Row {
            template: t,
            comparison: baseline.as_ref().map(|b| {
                let count = b.get(t.id).map_or(0, |bt| bt.count);
                templates::compare(t.count, mined, count, b.lines)
            }),
        })
        .collect();
    // Gone: frequent in the baseline, absent here.
    let ids: std::collections::HashSet<u64> = list.iter().map(|t| t.id).collect();
    let gone: Vec<(&Template, Comparison)> = baseline
        .as_ref()
        .map(|b| {
            let mut gone: Vec<_> = b
                .sorted()
                .into_iter()
                .filter(|bt| !ids.contains(&bt.id))
                .map(|bt| (bt, templates::compare(0, mined, bt.count, b.lines)))
                .filter(|(_, c)| c.status == Status::Gone)
                .collect();
            gone.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
            gone
        })
        .unwrap_or_default();
    if baseline.is_some() {
        rows.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| order(a, b)));
    }
    let new_alerts = rows
        .iter()
        .filter(|r| {
            r.comparison.is_some_and(|c| c.status == Status::New)
                && r.template.key.level.is_some_and(|l| l >= Level::Warn)
        })
        .count();
    match options.format {
        TemplatesFormat::Json => {
            let mut doc = json!({
                "templates": rows.iter().map(|r| to_json(r, options.lines)).collect::<Vec<_>>(),
                "lines_mined": mined,
                "templates_overflow_lines": overflow,
            });
            if let Some(b) = &baseline {
                doc["baseline"] = json!({
                    "sources": options.baseline,
                    "lines_mined": b.lines,
                    "templates": b.len(),
                });
                doc["gone"] = gone
                    .iter()
                    .map(|(t, c)| {
                        to_json(
                            &Row {
                                template: t,
                                comparison: Some(*c),
                            },
                            false,
                        )
                    })
                    .collect();
            }
            write_stdout(&format!("{doc}\n"));
        }
        TemplatesFormat::Human => {
            write_stdout(&human(mined, overflow, &rows, &gone, options.lines))
        }
    }
    if failed {
        crate::analysis::EXIT_ERROR
    } else if options.fail_on_new && new_alerts > 0 {
        crate::analysis::EXIT_FINDINGS
    } else {
        crate::analysis::EXIT_CLEAN
    }
}

/// New first, then increased, then the rest.
fn rank(row: &Row<'_>) -> Status {
    row.comparison.map_or(Status::Same, |c| c.status)
}

/// Within a status: new by first time seen (then first line), increased by
/// score; the rest by count.
fn order(a: &Row<'_>, b: &Row<'_>) -> std::cmp::Ordering {
    let (ta, tb) = (a.template, b.template);
    match rank(a) {
        Status::New => (ta.first_seen.is_none(), ta.first_seen)
            .cmp(&(tb.first_seen.is_none(), tb.first_seen))
            .then_with(|| {
                (&ta.example.source, ta.example.line).cmp(&(&tb.example.source, tb.example.line))
            }),
        Status::Increased => {
            let (sa, sb) = (
                a.comparison.map_or(0.0, |c| c.score),
                b.comparison.map_or(0.0, |c| c.score),
            );
            sb.total_cmp(&sa).then_with(|| tb.count.cmp(&ta.count))
        }
        _ => tb.count.cmp(&ta.count),
    }
    .then_with(|| ta.id.cmp(&tb.id))
}

fn mine(paths: &[PathBuf], all_levels: bool, lines: bool, failed: &mut bool) -> Table {
    let (specs, errors) = input::expand(paths);
    *failed |= !errors.is_empty();
    for error in errors {
        crate::messages::say(error.to_string());
    }
    let mut table = Table::new(lines);
    for spec in &specs {
        if let Err(message) = read_one(spec, all_levels, &mut table) {
            crate::messages::say(message);
            *failed = true;
        }
    }
    table
}

/// Mines every line of one input into `table`.
fn read_one(spec: &InputSpec, all_levels: bool, table: &mut Table) -> Result<(), String> {
    let name = spec.display_name();
    let opened = input::open(spec).map_err(|e| e.to_string())?;
    let year = crate::record::default_journal_year(None);
    let mut blocks = LineBlocks::new(opened.reader);
    let mut number = 0u64;
    let mut clean = Vec::new();
    let result = blocks.for_each_block(|block| {
        for raw in block.split_inclusive(|b| *b == b'\n') {
            number += 1;
            let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if !all_levels && templates::plain_line_level(raw).is_some_and(|l| l < Level::Warn) {
                continue; // an INFO line, seen without parsing it
            }
            crate::record::strip_ansi(raw, &mut clean);
            if crate::record::classify(&clean).0 == crate::record::LineClass::Continuation {
                continue;
            }
            let text = String::from_utf8_lossy(&clean);
            let parsed = templates::parse_line(&text, year);
            if !all_levels && parsed.record.level.is_some_and(|l| l < Level::Warn) {
                continue;
            }
            if parsed.record.message.is_empty() && parsed.record.level.is_none() {
                continue; // a blank line
            }
            let key = templates::key_of(&parsed);
            let origin = parsed.origin.unwrap_or(key.kind).to_string();
            table.add(key, &origin, parsed.record.timestamp, &name, number, &text);
        }
        true
    });
    result.map_err(|e| format!("{name}: {}", crate::text::describe_io_error(&e.error)))
}

fn to_json(row: &Row<'_>, lines: bool) -> Value {
    let t = row.template;
    let mut doc = json!({
        "id": format_id(t.id),
        "template": t.key.text,
        "level": t.key.level.map(Level::as_str),
        "target": t.key.target,
        "kind": t.key.kind,
        "count": t.count,
        "first_seen": t.first_seen.map(|ts| ts.to_rfc3339()),
        "last_seen": t.last_seen.map(|ts| ts.to_rfc3339()),
        "example": {
            "source": t.example.source,
            "line": t.example.line,
            "text": t.example.text,
        },
    });
    if lines {
        doc["lines"] = json!(t.lines);
    }
    if let Some(c) = row.comparison {
        doc["status"] = json!(c.status.as_str());
        doc["baseline_count"] = json!(c.baseline_count);
        doc["score"] = json!((c.score * 100.0).round() / 100.0);
        doc["rate_ratio"] = json!((c.rate_ratio * 100.0).round() / 100.0);
    }
    doc
}

fn human(
    mined: u64,
    overflow: u64,
    rows: &[Row<'_>],
    gone: &[(&Template, Comparison)],
    lines: bool,
) -> String {
    let mut out = format!(
        "{} template{} in {} line{}{}\n\n",
        rows.len(),
        crate::text::plural(rows.len()),
        mined,
        crate::text::plural(mined as usize),
        if overflow > 0 {
            format!(
                " ({} lines past the cap of {} templates per origin)",
                overflow,
                templates::MAX_TEMPLATES_PER_ORIGIN
            )
        } else {
            String::new()
        }
    );
    for row in rows {
        let t = row.template;
        let level = t.key.level.map_or("-", Level::as_str);
        let target = t.key.target.as_deref().unwrap_or("");
        let status = match row.comparison {
            Some(c) if c.status == Status::Increased => {
                format!("×{:<5.0} ", c.rate_ratio.min(99_999.0))
            }
            Some(c) => format!("{:<6} ", c.status.as_str().to_uppercase()),
            None => String::new(),
        };
        out.push_str(&format!(
            "{status}{:>7}×  {:5}  {}  {}\n",
            t.count,
            level,
            format_id(t.id),
            printable(target)
        ));
        out.push_str(&format!("          {}\n", printable(&t.key.text)));
        let when = match (t.first_seen, t.last_seen) {
            (Some(first), Some(last)) => format!(
                "  {} → {}",
                first.format("%Y-%m-%d %H:%M:%S"),
                last.format("%Y-%m-%d %H:%M:%S")
            ),
            _ => String::new(),
        };
        out.push_str(&format!(
            "          first at {}:{}{when}\n",
            printable(&t.example.source),
            t.example.line
        ));
        if lines {
            let list: Vec<String> = t.lines.iter().map(u64::to_string).collect();
            out.push_str(&format!("          lines {}\n", list.join(",")));
        }
    }
    for (t, c) in gone {
        out.push_str(&format!(
            "GONE   {:>7}×  {:5}  {}  {}\n          {}\n",
            c.baseline_count,
            t.key.level.map_or("-", Level::as_str),
            format_id(t.id),
            printable(t.key.target.as_deref().unwrap_or("")),
            printable(&t.key.text)
        ));
    }
    out
}

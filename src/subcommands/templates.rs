//! `rwdoctor templates`: the template table of some logs. Any log can be
//! grouped: a line in no known shape is taken whole as the message.
use crate::cli::TemplatesFormat;
use crate::input::{self, InputSpec};
use crate::lines::LineBlocks;
use crate::model::Level;
use crate::report::write_stdout;
use crate::templates::{self, format_id, Table, Template};
use crate::text::printable::printable;
use serde_json::{json, Value};
use std::path::PathBuf;

pub fn run(
    paths: &[PathBuf],
    all_levels: bool,
    lines: bool,
    merge: Option<usize>,
    format: TemplatesFormat,
) -> u8 {
    let (specs, errors) = input::expand(paths);
    let mut failed = !errors.is_empty();
    for error in errors {
        crate::messages::say(error.to_string());
    }
    let mut table = Table::new(lines);
    for spec in &specs {
        if let Err(message) = read_one(spec, all_levels, &mut table) {
            crate::messages::say(message);
            failed = true;
        }
    }
    let (mined, overflow) = (table.lines, table.overflow_lines);
    let list = match merge {
        Some(min) => templates::merge(table.into_templates(), min.max(2)),
        None => table.into_templates(),
    };
    let mut sorted: Vec<&Template> = list.iter().collect();
    templates::sort_templates(&mut sorted);
    match format {
        TemplatesFormat::Json => {
            let doc = json!({
                "templates": sorted.iter().map(|t| to_json(t, lines)).collect::<Vec<_>>(),
                "lines_mined": mined,
                "templates_overflow_lines": overflow,
            });
            write_stdout(&format!("{doc}\n"));
        }
        TemplatesFormat::Human => write_stdout(&human(mined, overflow, &sorted, lines)),
    }
    if failed {
        crate::analysis::EXIT_ERROR
    } else {
        crate::analysis::EXIT_CLEAN
    }
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

fn to_json(t: &Template, lines: bool) -> Value {
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
    doc
}

fn human(mined: u64, overflow: u64, sorted: &[&Template], lines: bool) -> String {
    let mut out = format!(
        "{} template{} in {} line{}{}\n\n",
        sorted.len(),
        crate::text::plural(sorted.len()),
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
    for t in sorted {
        let level = t.key.level.map_or("-", Level::as_str);
        let target = t.key.target.as_deref().unwrap_or("");
        out.push_str(&format!(
            "{:>7}×  {:5}  {}  {}\n",
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
    out
}

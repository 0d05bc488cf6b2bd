//! One input → coverage counts and signal hits, in one pass over blocks of
//! lines. Every line is classified (cheap byte checks, for exact coverage);
//! only lines the literal prefilter selects are parsed and regex-checked.
use crate::input::OpenInput;
use crate::lines::LineBlocks;
use crate::matcher::{Matcher, SignalRef};
use crate::model::{Level, Timestamp};
use crate::record::{self, Shape};
use serde::Serialize;
use std::collections::BTreeMap;

/// Evidence text longer than this is cut (at a character boundary).
pub const MAX_EVIDENCE_TEXT: usize = 2048;

/// A line that matched at least one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub input: usize,
    /// 1-based, in the decompressed stream.
    pub line: u64,
    /// The line's own timestamp.
    pub timestamp: Option<Timestamp>,
    /// Its own timestamp, else that of the last timestamped line before it:
    /// what the timeline orders by.
    pub sort_time: Option<Timestamp>,
    pub level: Option<Level>,
    pub target: Option<String>,
    pub text: String,
    /// Where the message starts inside `text` (after timestamp, level, target).
    pub message_start: usize,
    /// Byte range of the first signal match inside `text`.
    pub highlight: Option<(usize, usize)>,
    pub signals: Vec<SignalRef>,
}

/// What one input held, for the summary and for "explain the silence".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub name: String,
    pub gzip: bool,
    pub bytes: u64,
    pub lines: u64,
    pub recognised: u64,
    pub shapes: BTreeMap<Shape, u64>,
    pub first_timestamp: Option<Timestamp>,
    pub last_timestamp: Option<Timestamp>,
    pub truncated_lines: u64,
    /// First line of the input (cut), to show when nothing was recognised.
    pub first_line: Option<String>,
    /// A read error that ended the input early, e.g. a truncated gzip stream.
    pub read_error: Option<String>,
}

const SHAPES: [Shape; 3] = [Shape::RisingwaveText, Shape::EtcdCapnslog, Shape::Bare];

fn shape_index(shape: Shape) -> usize {
    SHAPES.iter().position(|s| *s == shape).unwrap_or(0)
}

/// Scans one opened input, calling `on_hit` for each hit in line order.
pub fn scan(
    input_index: usize,
    name: &str,
    opened: OpenInput,
    matcher: &Matcher,
    on_hit: &mut dyn FnMut(Hit),
) -> Coverage {
    let mut coverage = Coverage {
        name: name.to_string(),
        gzip: opened.gzip,
        ..Coverage::default()
    };
    let mut blocks = LineBlocks::new(opened.reader);
    let mut shape_counts = [0u64; SHAPES.len()];
    let mut line_no: u64 = 0;
    // Start of the last recognised line's timestamp, kept across blocks.
    let mut last_ts_prefix: Vec<u8> = Vec::with_capacity(48);
    let mut last_time: Option<Timestamp> = None;
    let mut candidates = Vec::new();
    let mut matched = Vec::new();

    let result = blocks.for_each_block(|block| {
        let mut next_candidate = matcher.next_candidate(block, 0);
        let mut last_recognised: Option<usize> = None;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', block) {
            line_no += 1;
            let mut line = &block[start..newline];
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if coverage.first_line.is_none() {
                coverage.first_line = Some(cut(&String::from_utf8_lossy(line), 120));
            }
            let recognised = record::classify(line);
            if let Some(shape) = recognised {
                shape_counts[shape_index(shape)] += 1;
                last_recognised = Some(start);
                if coverage.first_timestamp.is_none() {
                    coverage.first_timestamp = record::leading_timestamp(line);
                }
            }
            if next_candidate.is_some_and(|c| c <= newline) {
                matcher.candidates(line, &mut candidates);
                if !candidates.is_empty() {
                    let text = String::from_utf8_lossy(line);
                    let parsed = record::parse(&text);
                    if let Some(span) = matcher.confirm(
                        &candidates,
                        parsed.message,
                        parsed.level,
                        parsed.target,
                        &mut matched,
                    ) {
                        if recognised.is_none() {
                            shape_counts[shape_index(Shape::Bare)] += 1;
                        }
                        if parsed.timestamp.is_some() {
                            last_time = parsed.timestamp;
                        } else if let Some(prev) = last_recognised {
                            last_time = record::leading_timestamp(&block[prev..]).or(last_time);
                        }
                        let offset = parsed.message.as_ptr() as usize - text.as_ptr() as usize;
                        let full = cut(&text, MAX_EVIDENCE_TEXT);
                        let highlight = Some((offset + span.start, offset + span.end))
                            .filter(|(_, end)| *end <= full.len());
                        on_hit(Hit {
                            input: input_index,
                            line: line_no,
                            timestamp: parsed.timestamp,
                            sort_time: parsed.timestamp.or(last_time),
                            level: parsed.level,
                            target: parsed.target.map(str::to_string),
                            message_start: offset.min(full.len()),
                            text: full,
                            highlight,
                            signals: matched.clone(),
                        });
                    }
                }
                next_candidate = matcher.next_candidate(block, newline + 1);
            }
            start = newline + 1;
        }
        if let Some(prev) = last_recognised {
            let line_end = memchr::memchr(b'\n', &block[prev..]).map_or(block.len(), |n| prev + n);
            last_ts_prefix.clear();
            last_ts_prefix.extend_from_slice(&block[prev..line_end.min(prev + 48)]);
            if let Some(ts) = record::leading_timestamp(&last_ts_prefix) {
                last_time = Some(ts);
            }
        }
        true
    });

    if let Err(err) = result {
        coverage.read_error = Some(describe_read_error(&err.error, opened.gzip, line_no));
    }
    coverage.lines = line_no;
    coverage.bytes = blocks.bytes_read;
    coverage.truncated_lines = blocks.truncated_lines;
    coverage.last_timestamp =
        record::leading_timestamp(&last_ts_prefix).or(coverage.first_timestamp);
    for (shape, count) in SHAPES.iter().zip(shape_counts) {
        if count > 0 {
            coverage.shapes.insert(*shape, count);
        }
        coverage.recognised += count;
    }
    coverage
}

fn describe_read_error(error: &std::io::Error, gzip: bool, lines: u64) -> String {
    let detail = crate::input::describe_io_error(error);
    if gzip {
        format!("gzip stream ends early after {lines} lines ({detail})")
    } else {
        format!("read error after {lines} lines: {detail}")
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

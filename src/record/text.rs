//! RisingWave's `full` / `compact` text format and etcd v3.4's capnslog text.
use super::{Record, Shape};
use crate::model::{Level, Timestamp};
use chrono::{DateTime, NaiveDateTime};
use std::borrow::Cow;

/// Cheap recognition: is this a RisingWave or etcd v3.4 text line?
pub fn classify(line: &[u8]) -> Option<Shape> {
    let ts_end = rfc3339_prefix_len(line).or_else(|| capnslog_prefix_len(line))?;
    let rest = &line[ts_end..];
    if line.get(10) == Some(&b' ') {
        // capnslog: `<date> <time> L | `
        return (rest.len() >= 4 && rest[0] == b' ' && rest[2] == b' ' && rest[3] == b'|')
            .then_some(Shape::EtcdCapnslog);
    }
    let rest = trim_start_spaces(rest);
    let level_len = rest.iter().take_while(|b| b.is_ascii_uppercase()).count();
    // tracing always writes a space after the level.
    if (4..=5).contains(&level_len)
        && is_tracing_level_word(&rest[..level_len])
        && rest.get(level_len) == Some(&b' ')
    {
        Some(Shape::RisingwaveText)
    } else {
        None
    }
}

pub fn is_tracing_level_word(word: &[u8]) -> bool {
    matches!(word, b"TRACE" | b"DEBUG" | b"INFO" | b"WARN" | b"ERROR")
}

/// Length of a leading `YYYY-MM-DDTHH:MM:SS[.f*](Z|±HH:MM)` token, checked
/// loosely (digits in place); the real parse happens in `parse`.
pub fn rfc3339_prefix_len(line: &[u8]) -> Option<usize> {
    if line.len() < 20 || !is_date(line) || line[10] != b'T' {
        return None;
    }
    let end = memchr::memchr(b' ', &line[..line.len().min(48)])?;
    (end >= 20).then_some(end)
}

/// Length of a leading capnslog `YYYY-MM-DD HH:MM:SS.ffffff` token.
fn capnslog_prefix_len(line: &[u8]) -> Option<usize> {
    // `HH:MM:SS` checked byte by byte: the slice ends there, and must not
    // end inside a multi-byte character.
    let digits = |range: std::ops::Range<usize>| line[range].iter().all(u8::is_ascii_digit);
    if line.len() < 26
        || !is_date(line)
        || line[10] != b' '
        || line[13] != b':'
        || line[16] != b':'
        || !digits(11..13)
        || !digits(14..16)
        || !digits(17..19)
    {
        return None;
    }
    let end = 19
        + line[19..line.len().min(30)]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
    Some(end)
}

fn is_date(line: &[u8]) -> bool {
    line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[5..7].iter().all(u8::is_ascii_digit)
        && line[7] == b'-'
        && line[8..10].iter().all(u8::is_ascii_digit)
}

fn trim_start_spaces(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| **b == b' ').count();
    &bytes[n..]
}

/// `<ts> <LEVEL> [thread ][spans: ]<target>: <message>`; the timestamp may be
/// missing in excerpts (`ERROR risingwave_meta::...: keep alive failed ...`).
pub fn parse_risingwave_text(line: &str) -> Option<Record<'_>> {
    let (timestamp, rest) = match rfc3339_prefix_len(line.as_bytes()) {
        Some(end) => {
            let ts = DateTime::parse_from_rfc3339(&line[..end]).ok()?;
            (Some(ts), line[end..].trim_start_matches(' '))
        }
        None => (None, line.trim_start()),
    };
    let (level_word, rest) = rest.split_once(' ')?;
    if !is_tracing_level_word(level_word.as_bytes()) {
        return None;
    }
    let level = Level::parse(level_word);
    let rest = rest.trim_start_matches(' ');
    let (thread, rest) = split_thread(rest);
    let (spans, target, message) = split_spans_target(rest);
    if timestamp.is_none() && target.is_none() {
        return None; // `ERROR something` alone is too weak to call a record
    }
    Some(Record {
        timestamp,
        level,
        thread: thread.map(Cow::Borrowed),
        spans: spans.map(Cow::Borrowed),
        target: target.map(Cow::Borrowed),
        message: Cow::Borrowed(message),
        shape: Shape::RisingwaveText,
    })
}

/// A thread name is a first word with no `:` or `{` that is followed by more
/// text (`rw-standalone-meta risingwave_meta::...`).
fn split_thread(rest: &str) -> (Option<&str>, &str) {
    match rest.split_once(' ') {
        Some((word, after))
            if !word.is_empty()
                && !word.contains([':', '{', '='])
                && word.contains(['-', '_'])
                && looks_like_chain_start(after) =>
        {
            (Some(word), after)
        }
        _ => (None, rest),
    }
}

fn looks_like_chain_start(text: &str) -> bool {
    text.as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
}

/// Splits `spans: target: message`. Span names never contain `::`; a target
/// is a `::` path; span fields are in balanced braces and may hold anything.
fn split_spans_target(rest: &str) -> (Option<&str>, Option<&str>, &str) {
    let Some((first, first_is_path, after_first)) = parse_chain(rest) else {
        return (None, None, rest);
    };
    let first_text = &rest[..first];
    if first_is_path {
        return (None, Some(first_text), after_first);
    }
    match parse_chain(after_first) {
        Some((second, true, message)) => (Some(first_text), Some(&after_first[..second]), message),
        _ if !first_text.contains(['{', ':']) => (None, Some(first_text), after_first),
        _ => (None, None, rest),
    }
}

/// Parses `seg[:seg]*: ` where `seg` is `ident(::ident)*` with optional
/// balanced `{...}`. Returns (length of the chain text, whether it is a single
/// brace-free path, the text after `": "`).
fn parse_chain(text: &str) -> Option<(usize, bool, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut segments = 0;
    let mut has_braces = false;
    let mut has_path_sep = false;
    loop {
        // identifier
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start {
            return None;
        }
        if bytes.get(i) == Some(&b':') && bytes.get(i + 1) == Some(&b':') {
            has_path_sep = true;
            i += 2;
            continue;
        }
        if bytes.get(i) == Some(&b'{') {
            has_braces = true;
            let mut depth = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if depth != 0 {
                return None;
            }
        }
        segments += 1;
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        match bytes.get(i + 1) {
            Some(b' ') => {
                let single_path = segments == 1 && !has_braces && has_path_sep;
                return Some((i, single_path, &text[i + 2..]));
            }
            None => return Some((i, segments == 1 && !has_braces && has_path_sep, "")),
            _ => i += 1,
        }
    }
}

/// `2024-02-11 06:20:27.912345 W | wal: sync duration ...`. capnslog writes
/// local time without a zone; it is read as UTC.
pub fn parse_capnslog(line: &str) -> Option<Record<'_>> {
    let end = capnslog_prefix_len(line.as_bytes())?;
    let naive = NaiveDateTime::parse_from_str(&line[..end], "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let rest = line[end..].strip_prefix(' ')?;
    let (level_letter, rest) = rest.split_once(" | ")?;
    let level = Level::parse(level_letter)?;
    let (target, message) = match rest.split_once(": ") {
        Some((pkg, msg)) if !pkg.contains(' ') => (Some(pkg), msg),
        _ => (None, rest),
    };
    Some(Record {
        timestamp: Some(naive.and_utc().fixed_offset()),
        level: Some(level),
        thread: None,
        spans: None,
        target: target.map(Cow::Borrowed),
        message: Cow::Borrowed(message),
        shape: Shape::EtcdCapnslog,
    })
}

/// The timestamp at the start of a text line.
pub fn leading_timestamp(line: &[u8]) -> Option<Timestamp> {
    if let Some(end) = rfc3339_prefix_len(line) {
        let text = std::str::from_utf8(&line[..end]).ok()?;
        return DateTime::parse_from_rfc3339(text).ok();
    }
    let end = capnslog_prefix_len(line)?;
    let text = std::str::from_utf8(&line[..end]).ok()?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc().fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Record<'_> {
        crate::record::parse(line, 2024).record
    }

    #[test]
    fn full_format_error_line() {
        let line = "2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 7587003312299851122 keep alive timeout";
        let r = parse(line);
        assert_eq!(r.shape, Shape::RisingwaveText);
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(
            r.target.as_deref(),
            Some("risingwave_meta::rpc::election::etcd")
        );
        assert_eq!(r.message, "lease 7587003312299851122 keep alive timeout");
        assert_eq!(
            r.timestamp.unwrap().to_rfc3339(),
            "2024-02-11T06:20:29.301170+00:00"
        );
        assert_eq!(
            crate::record::text::classify(line.as_bytes()),
            Some(Shape::RisingwaveText)
        );
    }

    #[test]
    fn info_has_two_spaces_and_fields_stay_in_message() {
        let line = "2024-02-11T06:20:14.118202Z  WARN risingwave_meta::rpc::election::etcd: create lease keeper for 1 failed error=transport error";
        let r = parse(line);
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(
            r.message,
            "create lease keeper for 1 failed error=transport error"
        );
    }

    #[test]
    fn offsets_and_no_fraction() {
        let r = parse("2024-02-11T14:20:29+08:00  INFO risingwave_meta: hello");
        assert_eq!(
            r.timestamp.unwrap().to_rfc3339(),
            "2024-02-11T14:20:29+08:00"
        );
        assert_eq!(r.target.as_deref(), Some("risingwave_meta"));
    }

    #[test]
    fn thread_name_and_span_prefix() {
        let line = "2024-05-02T10:00:01.5Z  INFO rw-standalone-meta failure_recovery{error=Service unavailable: x}:recovery_attempt: risingwave_meta::barrier::recovery: recovery start";
        let r = parse(line);
        assert_eq!(r.thread.as_deref(), Some("rw-standalone-meta"));
        assert_eq!(
            r.spans.as_deref(),
            Some("failure_recovery{error=Service unavailable: x}:recovery_attempt")
        );
        assert_eq!(
            r.target.as_deref(),
            Some("risingwave_meta::barrier::recovery")
        );
        assert_eq!(r.message, "recovery start");
    }

    #[test]
    fn compact_span_without_fields() {
        let r = parse(
            "2023-01-01T00:00:00.000001Z  INFO recovery_attempt: risingwave_meta::barrier: done",
        );
        assert_eq!(r.spans.as_deref(), Some("recovery_attempt"));
        assert_eq!(r.target.as_deref(), Some("risingwave_meta::barrier"));
        assert_eq!(r.message, "done");
    }

    #[test]
    fn message_with_colons_is_not_a_target() {
        let r = parse("2024-02-11T06:20:29Z ERROR risingwave_meta_node::server: election error happened error=Election failed: grpc request error");
        assert_eq!(r.target.as_deref(), Some("risingwave_meta_node::server"));
        assert_eq!(
            r.message,
            "election error happened error=Election failed: grpc request error"
        );
    }

    #[test]
    fn grep_excerpt_without_timestamp() {
        let r = parse(
            "ERROR risingwave_meta::rpc::election_client: keep alive failed, stopping main loop",
        );
        assert_eq!(r.shape, Shape::RisingwaveText);
        assert_eq!(r.timestamp, None);
        assert_eq!(r.message, "keep alive failed, stopping main loop");
        let r = parse("lease timeout");
        assert_eq!(r.shape, Shape::Bare);
        assert_eq!(r.message, "lease timeout");
        assert_eq!(classify(b"lease timeout"), None);
    }

    #[test]
    fn capnslog_line() {
        let line =
            "2024-02-11 06:20:27.912345 W | wal: sync duration of 1.52s, expected less than 1s";
        let r = parse(line);
        assert_eq!(r.shape, Shape::EtcdCapnslog);
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(r.target.as_deref(), Some("wal"));
        assert_eq!(r.message, "sync duration of 1.52s, expected less than 1s");
        assert_eq!(
            crate::record::text::classify(line.as_bytes()),
            Some(Shape::EtcdCapnslog)
        );
    }

    #[test]
    fn garbage_never_panics() {
        for line in [
            "",
            "2024-",
            "2024-02-11T",
            "2024-02-11T06:20:29.3Z",
            "2024-02-11T99:99:99Z ERROR x: y",
            "ERROR",
            "ERROR x",
            "a{b:c",
            "x{{{: y",
            "2024-02-11 06:20:27.912345 W |",
        ] {
            let _ = parse(line);
            let _ = crate::record::text::classify(line.as_bytes());
        }
    }
}

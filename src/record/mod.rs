//! Lines → records: wrapper removal, format detection, timestamp, level,
//! thread, spans, target and message (§5–§7 of the log reference).
//!
//! The scanner calls `classify` on every line (it must stay cheap: a few byte
//! comparisons) and `parse` only on lines the literal prefilter selected, so
//! the full parsing cost is paid on a tiny fraction of a big log.
pub mod json;
pub mod panic;
pub mod second;
pub mod text;
pub mod wrappers;

use crate::activity::Tone;
use crate::model::{Level, Timestamp};
use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::Serialize;
use std::borrow::Cow;
pub use wrappers::{strip_ansi, Unwrapped};

/// The shape an event was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// RisingWave's `full` / `compact` tracing text format.
    RisingwaveText,
    /// RisingWave's multi-line `pretty` format (head line; `at`/`on`/`in`
    /// lines and the blank line after it are folded into the event).
    RisingwavePretty,
    /// RisingWave's JSON format (`RISINGWAVE_CLOUD`).
    RisingwaveJson,
    /// etcd v3.5+ zap JSON.
    EtcdJson,
    /// etcd v3.4 capnslog text.
    EtcdCapnslog,
    /// A journalctl line from an etcd or RisingWave unit whose inner text has
    /// no format of its own.
    Journald,
    /// PostgreSQL's server log, stderr with the default `log_line_prefix`.
    PostgresText,
    /// PostgreSQL's `csvlog`.
    PostgresCsv,
    /// PostgreSQL's `jsonlog` (15+).
    PostgresJson,
    /// `kubectl describe pod` / `kubectl get events` text.
    Kubernetes,
    /// Kernel messages: `dmesg`, journald `kernel:` and systemd lines.
    Kernel,
    /// `docker compose` exit lines, `docker ps` status, `docker inspect`.
    Docker,
    /// No known format, but the message matched a signal (a grep excerpt).
    Bare,
    /// A Rust panic: its header line, and the message, note and backtrace
    /// lines after it folded into the event (`panic.rs`).
    RustPanic,
    /// MySQL's error log (8.0 `[MY-nnnnnn] [Server]` and 5.7 forms) and
    /// MariaDB's.
    MysqlError,
}

impl Shape {
    pub const ALL: [Shape; 15] = [
        Shape::RisingwaveText,
        Shape::RisingwavePretty,
        Shape::RisingwaveJson,
        Shape::EtcdJson,
        Shape::EtcdCapnslog,
        Shape::Journald,
        Shape::PostgresText,
        Shape::PostgresCsv,
        Shape::PostgresJson,
        Shape::Kubernetes,
        Shape::Kernel,
        Shape::Docker,
        Shape::Bare,
        Shape::RustPanic,
        Shape::MysqlError,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn describe(self) -> &'static str {
        match self {
            Shape::RisingwaveText => "RisingWave text",
            Shape::RisingwavePretty => "RisingWave pretty",
            Shape::RisingwaveJson => "RisingWave JSON",
            Shape::EtcdJson => "etcd JSON",
            Shape::EtcdCapnslog => "etcd v3.4 text",
            Shape::Journald => "journalctl",
            Shape::PostgresText => "PostgreSQL log",
            Shape::PostgresCsv => "PostgreSQL csvlog",
            Shape::PostgresJson => "PostgreSQL jsonlog",
            Shape::Kubernetes => "kubectl describe/events",
            Shape::Kernel => "kernel messages",
            Shape::Docker => "docker compose/inspect",
            Shape::Bare => "bare lines",
            Shape::RustPanic => "Rust panic",
            Shape::MysqlError => "MySQL error log",
        }
    }

    pub fn is_etcd(self) -> bool {
        matches!(self, Shape::EtcdJson | Shape::EtcdCapnslog)
    }

    pub fn is_postgres(self) -> bool {
        matches!(
            self,
            Shape::PostgresText | Shape::PostgresCsv | Shape::PostgresJson
        )
    }
}

/// What a line is, for coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// The start of an event in a known shape.
    Event(Shape),
    /// A continuation line of a pretty event (`    at file:line`, `    on
    /// thread`, `    in span with fields`).
    Continuation,
    /// Nothing we know (may still match a signal: then it is `Bare`).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    pub timestamp: Option<Timestamp>,
    pub level: Option<Level>,
    /// Thread name, written only in standalone / single-node mode.
    pub thread: Option<Cow<'a, str>>,
    /// Span prefix such as `failure_recovery{error=...}:recovery_attempt`.
    pub spans: Option<Cow<'a, str>>,
    pub target: Option<Cow<'a, str>>,
    /// Message and its `k=v` fields: the text signals match on.
    pub message: Cow<'a, str>,
    pub shape: Shape,
}

/// A parsed line: the record and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<'a> {
    pub record: Record<'a>,
    /// Pod, compose service or journald host and unit.
    pub origin: Option<&'a str>,
    pub wrappers: u8,
}

/// Classifies one line (line ending and ANSI escapes already removed).
pub fn classify(line: &[u8]) -> (LineClass, Unwrapped) {
    if is_plain_risingwave_line(line) {
        return (
            LineClass::Event(Shape::RisingwaveText),
            Unwrapped::default(),
        );
    }
    let unwrapped = wrappers::unwrap(line);
    let inner = &line[unwrapped.inner_start..];
    let class = match inner.first() {
        Some(b'{') => json::classify(inner).map_or(LineClass::Unknown, LineClass::Event),
        Some(b' ') => match classify_indented(inner) {
            LineClass::Unknown => {
                second::classify(inner).map_or(LineClass::Unknown, LineClass::Event)
            }
            class => class,
        },
        Some(b't') if panic::header(inner).is_some() => LineClass::Event(Shape::RustPanic),
        _ => text::classify(inner)
            .or_else(|| second::classify(inner))
            .map_or(LineClass::Unknown, LineClass::Event),
    };
    let class = match class {
        LineClass::Unknown if unwrapped.wrappers & wrappers::JOURNALD != 0 => {
            let origin = unwrapped.origin.map_or(&b""[..], |(a, b)| &line[a..b]);
            if second::is_kernel_ident(origin) {
                LineClass::Event(Shape::Kernel)
            } else if is_log_unit(origin) {
                LineClass::Event(Shape::Journald)
            } else {
                LineClass::Unknown
            }
        }
        other => other,
    };
    (class, unwrapped)
}

/// The common case, checked first on every line: an unwrapped RisingWave
/// text line, `YYYY-MM-DDT... LEVEL `. A handful of byte compares instead of
/// the wrapper and format dispatch (which would find the same answer).
#[inline]
pub fn is_plain_risingwave_line(line: &[u8]) -> bool {
    plain_risingwave_level(line).is_some()
}

/// The level after a text timestamp: ` LEVEL ` (or `  INFO `, padded).
#[inline]
fn level_word(mut rest: &[u8]) -> Option<crate::model::Level> {
    use crate::model::Level;
    if rest.get(1) == Some(&b' ') {
        rest = &rest[1..]; // ` INFO`, ` WARN` are padded to five
    }
    // Up to six bytes after the space, as one word (`INFO ?`, `ERROR `),
    // zeros past the line's end: a few compares, no `memcmp`.
    let tail = rest.get(1..)?;
    let word = match tail.first_chunk::<8>() {
        Some(eight) => u64::from_le_bytes(*eight) & 0xffff_ffff_ffff,
        None => {
            let mut word = [0u8; 8];
            let n = tail.len().min(6);
            word[..n].copy_from_slice(&tail[..n]);
            u64::from_le_bytes(word)
        }
    };
    let six = |bytes: &[u8; 6]| {
        let mut word = [0u8; 8];
        word[..6].copy_from_slice(bytes);
        u64::from_le_bytes(word)
    };
    const FIVE: u64 = 0xff_ffff_ffff;
    if word & FIVE == six(b"INFO  ") & FIVE {
        Some(Level::Info)
    } else if word & FIVE == six(b"WARN  ") & FIVE {
        Some(Level::Warn)
    } else if word == six(b"ERROR ") {
        Some(Level::Error)
    } else if word == six(b"DEBUG ") {
        Some(Level::Debug)
    } else if word == six(b"TRACE ") {
        Some(Level::Trace)
    } else {
        None
    }
}

/// The level of an event line of any shape, as the overview's histogram
/// counts it, from a few byte checks (no parse): `inner` is the line
/// without its wrappers.
pub fn tone(inner: &[u8], shape: Shape) -> Tone {
    fn find(hay: &[u8], needle: &[u8]) -> bool {
        memchr::memmem::find(&hay[..hay.len().min(160)], needle).is_some()
    }
    match shape {
        Shape::RisingwaveText | Shape::RisingwavePretty => {
            let text = inner.strip_prefix(b"  ").unwrap_or(inner);
            text.iter()
                .take(40)
                .position(|b| *b == b' ')
                .and_then(|space| level_word(&text[space..]))
                .map_or(Tone::Other, |level| match level {
                    crate::model::Level::Warn => Tone::Warn,
                    crate::model::Level::Error => Tone::Error,
                    _ => Tone::Other,
                })
        }
        Shape::RisingwaveJson | Shape::EtcdJson => {
            let key = b"\"level\":\"";
            let word = memchr::memmem::find(&inner[..inner.len().min(160)], key)
                .map(|at| &inner[at + key.len()..])
                .map(|rest| &rest[..rest.len().min(6)]);
            match word.map(|w| w.to_ascii_lowercase()) {
                Some(w) if w.starts_with(b"warn") => Tone::Warn,
                Some(w)
                    if [&b"error"[..], b"fatal", b"panic", b"dpanic", b"crit"]
                        .iter()
                        .any(|level| w.starts_with(level)) =>
                {
                    Tone::Error
                }
                _ => Tone::Other,
            }
        }
        Shape::EtcdCapnslog => match memchr::memmem::find(&inner[..inner.len().min(48)], b" | ") {
            Some(at) if at > 0 => match inner[at - 1] {
                b'W' => Tone::Warn,
                b'E' | b'C' => Tone::Error,
                _ => Tone::Other,
            },
            _ => Tone::Other,
        },
        Shape::PostgresText => {
            if find(inner, b" ERROR:  ") || find(inner, b" FATAL:  ") || find(inner, b" PANIC:  ") {
                Tone::Error
            } else if find(inner, b" WARNING:  ") {
                Tone::Warn
            } else {
                Tone::Other
            }
        }
        Shape::RustPanic => Tone::Error,
        _ => Tone::Other,
    }
}

/// Where the time text of an event line is, for the overview's
/// histogram (`activity::Feed`, which parses it only when its first 19
/// bytes change): its own leading time, a JSON line's `ts`/`timestamp`
/// value, else its wrapper's (journalctl, kubectl --timestamps).
pub fn time_key<'a>(line: &'a [u8], unwrapped: &Unwrapped) -> Option<&'a [u8]> {
    let inner = &line[unwrapped.inner_start..];
    let text = inner.strip_prefix(b"  ").unwrap_or(inner);
    let own = match text.first() {
        Some(b'0'..=b'9') => Some(text),
        Some(b'{') => [&b"\"ts\":\""[..], b"\"timestamp\":\""]
            .iter()
            .find_map(|key| {
                memchr::memmem::find(&text[..text.len().min(128)], key)
                    .map(|at| &text[at + key.len()..])
            }),
        _ => None,
    };
    let key = own.or_else(|| unwrapped.wrapper_time.map(|(a, b)| &line[a..b]))?;
    Some(&key[..key.len().min(crate::activity::KEY)])
}

/// The level of a plain RisingWave text line (`is_plain_risingwave_line`),
/// from the same few bytes; `None` when the line is not one. Lets the scan
/// see a WARN/ERROR line without parsing it.
#[inline]
pub fn plain_risingwave_level(line: &[u8]) -> Option<crate::model::Level> {
    plain_risingwave_level_at(line).map(|(level, _)| level)
}

/// `plain_risingwave_level`, and where the line's timestamp ends (the
/// space after it): the rest is what discovery's keys read.
#[inline]
pub fn plain_risingwave_level_at(line: &[u8]) -> Option<(crate::model::Level, usize)> {
    if line.len() < 28
        || line[4] != b'-'
        || line[7] != b'-'
        || line[10] != b'T'
        || !line[0].is_ascii_digit()
    {
        return None;
    }
    let space = if line[26] == b'Z' && line[27] == b' ' {
        27
    } else {
        19 + line[19..line.len().min(40)]
            .iter()
            .position(|b| *b == b' ')?
    };
    level_word(&line[space..]).map(|level| (level, space))
}

/// Pretty format: `  <ts> <LEVEL> ...` heads an event; `    at `, `    on `,
/// `    in ` lines continue it.
fn classify_indented(inner: &[u8]) -> LineClass {
    if inner.starts_with(b"  ") && inner.get(2).is_some_and(u8::is_ascii_digit) {
        if text::classify(&inner[2..]) == Some(Shape::RisingwaveText) {
            return LineClass::Event(Shape::RisingwavePretty);
        }
    } else if inner.starts_with(b"    ")
        && matches!(inner.get(4..7), Some(b"at ") | Some(b"on ") | Some(b"in "))
    {
        return LineClass::Continuation;
    }
    LineClass::Unknown
}

/// Is the journald unit (the word after the host) etcd or RisingWave?
fn is_log_unit(origin: &[u8]) -> bool {
    let ident = origin.rsplit(|b| *b == b' ').next().unwrap_or(origin);
    [&b"etcd"[..], b"risingwave", b"meta"]
        .iter()
        .any(|name| memchr::memmem::find(ident, name).is_some())
}

/// Parses one line (line ending and ANSI escapes already removed). `year`
/// is used for journalctl timestamps, which carry none.
pub fn parse(line: &str, year: i32) -> Parsed<'_> {
    let unwrapped = wrappers::unwrap(line.as_bytes());
    let inner = &line[unwrapped.inner_start..];
    let mut record = match inner.as_bytes().first() {
        Some(b'{') => json::parse(inner),
        Some(b' ') if inner.starts_with("  ") && !inner.starts_with("    ") => {
            text::parse_risingwave_text(&inner[2..]).map(|mut r| {
                r.shape = Shape::RisingwavePretty;
                r
            })
        }
        _ => text::parse_risingwave_text(inner)
            .or_else(|| text::parse_capnslog(inner))
            .or_else(|| second::parse(inner)),
    }
    .or_else(|| match inner.as_bytes().first() {
        Some(b' ') => second::parse(inner),
        _ => None,
    })
    .unwrap_or_else(|| {
        let kernel = unwrapped.wrappers & wrappers::JOURNALD != 0
            && unwrapped
                .origin
                .is_some_and(|(a, b)| second::is_kernel_ident(&line.as_bytes()[a..b]));
        let shape = if kernel { Shape::Kernel } else { Shape::Bare };
        second::bare(inner, None, shape)
    });
    if record.timestamp.is_none() {
        record.timestamp = unwrapped
            .wrapper_time
            .and_then(|(a, b)| wrapper_time(&line[a..b], year));
    }
    Parsed {
        record,
        origin: unwrapped.origin.map(|(a, b)| &line[a..b]),
        wrappers: unwrapped.wrappers,
    }
}

/// The time a wrapper carries: kubectl's RFC 3339, or journalctl's
/// `Feb 11 06:20:29` read in UTC in the given year.
fn wrapper_time(text: &str, year: i32) -> Option<Timestamp> {
    if let Some(ts) = json::parse_time(text) {
        return Some(ts);
    }
    let month = wrappers::month_of(text.as_bytes())?;
    let day: u32 = text.get(4..6)?.trim().parse().ok()?;
    let time = NaiveTime::parse_from_str(text.get(7..15)?, "%H:%M:%S").ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(date.and_time(time).and_utc().fixed_offset())
}

/// The year to give journalctl timestamps when nothing else tells: this
/// year, or last year for a month still to come.
pub fn default_journal_year(month: Option<u32>) -> i32 {
    let now = chrono::Utc::now();
    match month {
        Some(m) if m > now.month() => now.year() - 1,
        _ => now.year(),
    }
}

/// The timestamp of a line (its own, else its wrapper's), for coverage
/// ranges and for giving lines without one the time of the line before.
pub fn line_timestamp(line: &[u8], year: i32) -> Option<Timestamp> {
    let unwrapped = wrappers::unwrap(line);
    let mut inner = &line[unwrapped.inner_start..];
    if inner.starts_with(b"  ") {
        inner = &inner[2..];
    }
    let own = match inner.first() {
        Some(b'{') => json::leading_timestamp(inner),
        _ => second::leading_timestamp(inner).or_else(|| text::leading_timestamp(inner)),
    };
    own.or_else(|| {
        let (a, b) = unwrapped.wrapper_time?;
        wrapper_time(std::str::from_utf8(&line[a..b]).ok()?, year)
    })
}

/// A note for an input whose time stamps carry no zone (`dmesg -T`,
/// MariaDB), judged on one of its event lines.
pub fn zoneless_time_note(line: &[u8]) -> Option<&'static str> {
    let unwrapped = wrappers::unwrap(line);
    second::zoneless_time_note(&line[unwrapped.inner_start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_words_are_read_as_before() {
        fn by_match(mut rest: &[u8]) -> Option<crate::model::Level> {
            use crate::model::Level;
            if rest.get(1) == Some(&b' ') {
                rest = &rest[1..];
            }
            match rest.get(1..6)? {
                b"INFO " => Some(Level::Info),
                b"WARN " => Some(Level::Warn),
                b"ERROR" if rest.get(6) == Some(&b' ') => Some(Level::Error),
                b"DEBUG" if rest.get(6) == Some(&b' ') => Some(Level::Debug),
                b"TRACE" if rest.get(6) == Some(&b' ') => Some(Level::Trace),
                _ => None,
            }
        }
        for word in [
            "INFO", "WARN", "ERROR", "DEBUG", "TRACE", "INFOX", "ERRORS", "warn",
        ] {
            for pad in ["", " "] {
                for tail in ["", " ", "  x", " risingwave_meta: x"] {
                    let text = format!(" {pad}{word}{tail}");
                    for cut in 0..=text.len() {
                        let rest = &text.as_bytes()[..cut];
                        assert_eq!(level_word(rest), by_match(rest), "{:?}", &text[..cut]);
                    }
                }
            }
        }
    }

    #[test]
    fn plain_level_agrees_with_the_plain_line_check() {
        use crate::model::Level;
        for (line, level) in [
            (
                "2024-02-11T06:20:29.301170Z  INFO risingwave_meta: started",
                Some(Level::Info),
            ),
            (
                "2024-02-11T06:20:29.301170Z  WARN risingwave_meta: slow",
                Some(Level::Warn),
            ),
            (
                "2024-02-11T06:20:29.301170Z ERROR risingwave_meta: lost",
                Some(Level::Error),
            ),
            (
                "2024-02-11T06:20:29.301170Z DEBUG risingwave_meta: x",
                Some(Level::Debug),
            ),
            (
                "2024-02-11T06:20:29.301170Z TRACE risingwave_meta: x",
                Some(Level::Trace),
            ),
            (
                "2024-02-11T06:20:29.301170+08:00 ERROR risingwave_meta: lost",
                Some(Level::Error),
            ),
            (
                "2024-02-11T06:20:29Z  WARN risingwave_meta: slow",
                Some(Level::Warn),
            ),
            (
                "2024-02-11T06:20:29.301170Z ERRORS risingwave_meta: x",
                None,
            ),
            ("2024-02-11T06:20:29.301170Z NOTICE x", None),
            ("rw-meta-0 2024-02-11T06:20:29.301170Z ERROR x: y", None),
        ] {
            assert_eq!(plain_risingwave_level(line.as_bytes()), level, "{line}");
            assert_eq!(
                is_plain_risingwave_line(line.as_bytes()),
                level.is_some(),
                "{line}"
            );
        }
    }

    #[test]
    fn pretty_head_and_continuations() {
        let head = "  2023-08-02T11:04:55.73312Z ERROR risingwave_meta::rpc::election_client: lease 22334455 keep alive timeout";
        assert_eq!(
            classify(head.as_bytes()).0,
            LineClass::Event(Shape::RisingwavePretty)
        );
        let parsed = parse(head, 2023);
        assert_eq!(parsed.record.shape, Shape::RisingwavePretty);
        assert_eq!(parsed.record.message, "lease 22334455 keep alive timeout");
        for line in [
            "    at src/meta/src/rpc/election_client.rs:158",
            "    on rw-main",
            "    in risingwave_meta::x with id: 1",
        ] {
            assert_eq!(
                classify(line.as_bytes()).0,
                LineClass::Continuation,
                "{line}"
            );
        }
    }

    #[test]
    fn wrapped_lines_keep_origin_and_inner_time() {
        let line = "[pod/rw-meta-0/meta] 2024-02-11T06:20:29.9Z 2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 1 keep alive timeout";
        assert_eq!(
            classify(line.as_bytes()).0,
            LineClass::Event(Shape::RisingwaveText)
        );
        let parsed = parse(line, 2024);
        assert_eq!(parsed.origin, Some("rw-meta-0"));
        assert_eq!(
            parsed.record.timestamp.unwrap().to_rfc3339(),
            "2024-02-11T06:20:29.301170+00:00"
        );
        assert_eq!(
            line_timestamp(line.as_bytes(), 2024),
            parsed.record.timestamp
        );
    }

    #[test]
    fn journald_lines_take_the_given_year() {
        let line =
            "Dec 04 17:03:18 node-3 etcd[3563]: sync duration of 1.5s, expected less than 1s";
        assert_eq!(
            classify(line.as_bytes()).0,
            LineClass::Event(Shape::Journald)
        );
        let parsed = parse(line, 2023);
        assert_eq!(parsed.origin, Some("node-3 etcd"));
        assert_eq!(
            parsed.record.timestamp.unwrap().to_rfc3339(),
            "2023-12-04T17:03:18+00:00"
        );
        assert_eq!(
            parsed.record.message,
            "sync duration of 1.5s, expected less than 1s"
        );
        let other = "Dec 04 17:03:18 node-3 sshd[1]: session opened";
        assert_eq!(classify(other.as_bytes()).0, LineClass::Unknown);
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        let lines = [
            "2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 1 keep alive timeout",
            "2024-02-11T06:20:29Z  INFO risingwave_meta: x",
            "2024-02-11T06:20:29.301433512+08:00  WARN a: b",
            "2024-02-11T06:20:29Z DEBUG a: b",
            "2024-02-11T06:20:29.301433512Z 2024-02-11T06:20:29Z ERROR a: b",
            "2024-02-11T06:20:29Z INFOx a: b",
            "2024-02-11T06:20:29Z ERRORS",
            "2024-02-11 06:20:27.912345 W | wal: sync",
        ];
        for line in lines {
            let general = {
                let unwrapped = wrappers::unwrap(line.as_bytes());
                let inner = &line.as_bytes()[unwrapped.inner_start..];
                unwrapped.wrappers == 0 && text::classify(inner) == Some(Shape::RisingwaveText)
            };
            assert_eq!(is_plain_risingwave_line(line.as_bytes()), general, "{line}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        for line in [
            "",
            "{",
            "{\"timestamp\":",
            "  ",
            "    at",
            "[pod/",
            "x |",
            "Dec 04 17:03:18 a b: c",
            "Feb 30 25:61:61 h u[1]: x",
            "\u{1b}[",
            "2024-13-45T99:99:99Z x",
        ] {
            let _ = classify(line.as_bytes());
            let _ = parse(line, 2024);
            let _ = line_timestamp(line.as_bytes(), 2024);
        }
    }
}

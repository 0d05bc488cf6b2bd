//! Envelopes: what log shippers and query tools put around each line
//! (Docker's json-file, Fluent Bit/Fluentd's `log` record, Loki's logcli,
//! a copy from Grafana Explore, Vector's and Elasticsearch's `message`).
//!
//! One sniff per input (its first line) says which, if any; only then is
//! each line unwrapped, one line out for one line in, so line numbers stay
//! those of the file. The inner line is written as it stood alone; the
//! envelope's time, when it carries one, goes before it as RFC 3339 and a
//! tab (`record::wrappers` peels that off as the line's wrapper time, used
//! when the inner line has none). Lines that are not in the envelope pass
//! through as they are.
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use std::io::{self, BufRead, Read};

/// The envelopes recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `{"log":"...\n","stream":"stdout","time":"..."}` under
    /// `/var/lib/docker/containers/`.
    DockerJson,
    /// Fluent Bit, Fluentd or CloudWatch: `{"log":"...", ...}` with other
    /// keys (kubernetes metadata, `date`, `stream`).
    FluentLog,
    /// `logcli query --output jsonl`: `{"labels":{..},"line":"..","timestamp":".."}`.
    LogcliJsonl,
    /// `logcli query` (default output): `<RFC 3339> {labels} <line>`.
    LogcliDefault,
    /// Rows copied from Grafana Explore: `2024-05-01 13:04:05.123<TAB><line>`,
    /// in the browser's local time without a zone.
    GrafanaCopy,
    /// Vector, CloudWatch exports and other NDJSON: `{"message":"..", ...}`.
    Message,
    /// An Elasticsearch / OpenSearch hit a line: `{"_index":..,"_source":{..}}`.
    ElasticSource,
}

impl Envelope {
    pub fn name(self) -> &'static str {
        match self {
            Envelope::DockerJson => "Docker json-file",
            Envelope::FluentLog => "Fluent Bit/Fluentd `log` record",
            Envelope::LogcliJsonl => "logcli --output jsonl",
            Envelope::LogcliDefault => "logcli default output",
            Envelope::GrafanaCopy => "Grafana Explore copy",
            Envelope::Message => "NDJSON `message` record (Vector, CloudWatch)",
            Envelope::ElasticSource => "Elasticsearch `_source` hit",
        }
    }

    /// The input's note: which envelope, and how its time was read.
    pub fn note(self) -> String {
        let time = match self {
            Envelope::GrafanaCopy => {
                "its times carry no zone (the browser's local time) and were read as UTC; \
                 a line's own time, where it has one, is used instead"
            }
            _ => "its time is used where the line has none",
        };
        format!(
            "envelope: {}; each line unwrapped and read as it stood alone, {time}",
            self.name()
        )
    }
}

/// Lines a sniff looks at for the first that is not blank.
const SNIFF_LINES: usize = 8;

/// The envelope of a stream whose first bytes are `head`, if any: told by
/// its first non-blank line.
pub fn sniff(head: &[u8]) -> Option<Envelope> {
    let line = head
        .split(|b| *b == b'\n')
        .take(SNIFF_LINES)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))?;
    match line.first()? {
        b'{' => sniff_json(line),
        b'0'..=b'9' => {
            if logcli_default(line).is_some() {
                Some(Envelope::LogcliDefault)
            } else if grafana_copy(line).is_some() {
                Some(Envelope::GrafanaCopy)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn sniff_json(line: &[u8]) -> Option<Envelope> {
    // RisingWave's, etcd's and PostgreSQL's own JSON are lines, not envelopes.
    if line.starts_with(b"{\"timestamp\":\"")
        && memchr::memmem::find(line, b"\"fields\":").is_some()
        || line.starts_with(b"{\"level\":")
    {
        return None;
    }
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(line) else {
        return None;
    };
    if object.contains_key("error_severity") || object.contains_key("fields") {
        return None; // PostgreSQL jsonlog, tracing JSON in another key order
    }
    if let Some(Value::Object(source)) = object.get("_source") {
        return inner_text(source, &["message", "log"]).map(|_| Envelope::ElasticSource);
    }
    if object.get("log").is_some_and(Value::is_string) {
        return Some(
            if object.contains_key("stream") && object.contains_key("time") {
                Envelope::DockerJson
            } else {
                Envelope::FluentLog
            },
        );
    }
    if object.get("line").is_some_and(Value::is_string) && object.contains_key("timestamp") {
        return Some(Envelope::LogcliJsonl);
    }
    if object.get("message").is_some_and(Value::is_string) && !object.contains_key("msg") {
        return Some(Envelope::Message);
    }
    None
}

/// `2024-02-11T06:20:29Z {app="rw", pod="rw-meta-0"}   <line>`: the time's
/// end and where the line starts.
fn logcli_default(line: &[u8]) -> Option<(usize, usize)> {
    let ts_end = rfc3339_len(line, b' ')?;
    let rest = &line[ts_end + 1..];
    if rest.first() != Some(&b'{') {
        return None;
    }
    // Label values are quoted, with `\"` escapes; a `}` may sit inside.
    let mut quoted = false;
    let mut escaped = false;
    let mut close = None;
    for (i, b) in rest.iter().enumerate().skip(1) {
        match (*b, quoted, escaped) {
            (_, true, true) => escaped = false,
            (b'\\', true, false) => escaped = true,
            (b'"', _, false) => quoted = !quoted,
            (b'}', false, _) => {
                close = Some(i);
                break;
            }
            _ => {}
        }
    }
    let close = close?;
    let after = &rest[close + 1..];
    if !after.is_empty() && after[0] != b' ' {
        return None;
    }
    // logcli pads the labels to the longest set with spaces, then one space.
    let spaces = after.iter().take_while(|b| **b == b' ').count();
    Some((ts_end, ts_end + 1 + close + 1 + spaces))
}

/// `YYYY-MM-DDT..` up to `end` (a space or a tab) within 40 bytes: its length.
fn rfc3339_len(line: &[u8], end: u8) -> Option<usize> {
    if line.len() < 21 || !is_date(line) || line[10] != b'T' {
        return None;
    }
    let at = memchr::memchr(end, &line[..line.len().min(40)])?;
    (at >= 20 && !line[..at].contains(&b' ')).then_some(at)
}

fn is_date(line: &[u8]) -> bool {
    line.len() >= 10
        && line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[5..7].iter().all(u8::is_ascii_digit)
        && line[7] == b'-'
        && line[8..10].iter().all(u8::is_ascii_digit)
}

/// `2024-05-01 13:04:05.123<TAB>`: the time (no zone) and where the line
/// starts.
fn grafana_copy(line: &[u8]) -> Option<(NaiveDateTime, usize)> {
    if line.len() < 20 || !is_date(line) || line[10] != b' ' {
        return None;
    }
    let tab = memchr::memchr(b'\t', &line[..line.len().min(36)])?;
    let text = std::str::from_utf8(&line[..tab]).ok()?;
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some((time, tab + 1))
}

/// A string value under one of `keys`.
fn inner_text<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
}

/// A time value: RFC 3339 text (or without a zone: UTC), or a number of
/// seconds, milliseconds, microseconds or nanoseconds since the epoch.
fn json_time(value: &Value) -> Option<DateTime<FixedOffset>> {
    match value {
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .ok()
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
                    .ok()
                    .map(|n| n.and_utc().fixed_offset())
            }),
        Value::Number(n) if n.is_u64() => {
            // Whole numbers exactly: milliseconds are CloudWatch's.
            let n = i64::try_from(n.as_u64()?).ok()?;
            let nanos = match n {
                n if n >= 100_000_000_000_000_000 => n,
                n if n >= 100_000_000_000_000 => n.checked_mul(1_000)?,
                n if n >= 100_000_000_000 => n.checked_mul(1_000_000)?,
                n => n.checked_mul(1_000_000_000)?,
            };
            Some(Utc.timestamp_nanos(nanos).fixed_offset())
        }
        Value::Number(n) => {
            let n = n.as_f64()?;
            if !n.is_finite() || n < 0.0 {
                return None;
            }
            let nanos = if n >= 1e17 {
                n
            } else if n >= 1e14 {
                n * 1e3
            } else if n >= 1e11 {
                n * 1e6
            } else {
                n * 1e9
            };
            if nanos >= i64::MAX as f64 {
                return None;
            }
            Some(Utc.timestamp_nanos(nanos as i64).fixed_offset())
        }
        _ => None,
    }
}

/// Unwraps one line (without its line end) into `out`; `false` when the
/// line is not in the envelope (then `out` is left empty).
pub fn unwrap_line(envelope: Envelope, line: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    match envelope {
        Envelope::LogcliDefault => {
            let Some((ts_end, start)) = logcli_default(line) else {
                return false;
            };
            out.extend_from_slice(&line[..ts_end]);
            out.push(b'\t');
            out.extend_from_slice(&line[start..]);
            true
        }
        Envelope::GrafanaCopy => {
            let Some((time, start)) = grafana_copy(line) else {
                return false;
            };
            write_time(out, &time.and_utc().fixed_offset());
            out.extend_from_slice(&line[start..]);
            true
        }
        _ => {
            if line.first() != Some(&b'{') {
                return false;
            }
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(line) else {
                return false;
            };
            let object = match object.get("_source") {
                Some(Value::Object(source)) => source,
                _ => &object,
            };
            let Some(text) = inner_text(object, &["log", "line", "message"]) else {
                return false;
            };
            let time = ["time", "timestamp", "@timestamp", "date"]
                .iter()
                .find_map(|k| object.get(*k).and_then(json_time));
            if let Some(time) = time {
                write_time(out, &time);
            }
            // One line out for one line in: the `\n` Docker keeps at the
            // end goes, any inside become spaces.
            let text = text.trim_end_matches(['\n', '\r']);
            out.extend(
                text.bytes()
                    .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
            );
            true
        }
    }
}

fn write_time(out: &mut Vec<u8>, time: &DateTime<FixedOffset>) {
    use std::io::Write;
    let _ = write!(
        out,
        "{}\t",
        time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
}

/// Lines longer than this are passed through as they are (the scanner
/// cuts them).
const MAX_ENVELOPE_LINE: usize = crate::lines::MAX_LINE;

/// A reader that unwraps every line of `inner` in `envelope`.
pub struct Unwrapping<R> {
    inner: R,
    envelope: Envelope,
    line: Vec<u8>,
    /// Unwrapped lines ready to be read, from `pos`.
    out: Vec<u8>,
    pos: usize,
    scratch: Vec<u8>,
    /// Inside a line too long to unwrap: passed through to its end.
    passing: bool,
    done: bool,
}

impl<R: BufRead> Unwrapping<R> {
    pub fn new(inner: R, envelope: Envelope) -> Self {
        Unwrapping {
            inner,
            envelope,
            line: Vec::new(),
            out: Vec::new(),
            pos: 0,
            scratch: Vec::new(),
            passing: false,
            done: false,
        }
    }

    /// Fills `out` with up to about 64 KiB of unwrapped lines.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < 64 * 1024 && !self.done {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) if self.out.is_empty() => return Err(err),
                // Give what is ready; the error comes on the next read.
                Err(_) => return Ok(()),
            };
            if available.is_empty() {
                self.done = true;
                if !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    self.emit(&line, false);
                    self.line = line;
                    self.line.clear();
                }
                break;
            }
            let (take, newline) = match memchr::memchr(b'\n', available) {
                Some(n) => (n + 1, true),
                None => (available.len(), false),
            };
            let exhausted = take == available.len();
            if self.passing {
                self.out.extend_from_slice(&available[..take]);
                self.passing = !newline;
            } else if newline && self.line.len() + take > MAX_ENVELOPE_LINE {
                self.out.extend_from_slice(&self.line);
                self.out.extend_from_slice(&available[..take]);
                self.line.clear();
            } else if newline {
                self.line.extend_from_slice(&available[..take - 1]);
                let line = std::mem::take(&mut self.line);
                self.emit(&line, true);
                self.line = line;
                self.line.clear();
            } else {
                self.line.extend_from_slice(&available[..take]);
                if self.line.len() > MAX_ENVELOPE_LINE {
                    self.out.extend_from_slice(&self.line);
                    self.line.clear();
                    self.passing = true;
                }
            }
            self.inner.consume(take);
            // What was read is given at once: another read could wait on a
            // pipe or a followed file while whole lines are ready.
            if exhausted && !self.out.is_empty() {
                break;
            }
        }
        Ok(())
    }

    fn emit(&mut self, line: &[u8], newline: bool) {
        let (body, cr) = match line.strip_suffix(b"\r") {
            Some(body) => (body, true),
            None => (line, false),
        };
        if unwrap_line(self.envelope, body, &mut self.scratch) {
            self.out.extend_from_slice(&self.scratch);
            if cr {
                self.out.push(b'\r');
            }
        } else {
            self.out.extend_from_slice(line);
        }
        if newline {
            self.out.push(b'\n');
        }
    }
}

impl<R: BufRead> Read for Unwrapping<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RW: &str = "2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 1 keep alive timeout";

    fn unwrapped(line: &str) -> (Option<Envelope>, String) {
        let envelope = sniff(line.as_bytes());
        let mut out = Vec::new();
        if let Some(envelope) = envelope {
            assert!(unwrap_line(envelope, line.as_bytes(), &mut out), "{line}");
        }
        (envelope, String::from_utf8(out).unwrap())
    }

    #[test]
    fn json_envelopes_give_the_inner_line_and_their_time() {
        let docker = format!(
            r#"{{"log":"{}\n","stream":"stderr","time":"2024-02-11T06:20:29.301433512Z"}}"#,
            RW
        );
        assert_eq!(
            unwrapped(&docker),
            (
                Some(Envelope::DockerJson),
                format!("2024-02-11T06:20:29.301433512Z\t{RW}")
            )
        );
        let fluent = format!(
            r#"{{"date":1707632429.301,"log":"2024-02-11T06:20:29.301433512Z stderr F {RW}","kubernetes":{{"pod_name":"rw-meta-0"}}}}"#
        );
        let (envelope, text) = unwrapped(&fluent);
        assert_eq!(envelope, Some(Envelope::FluentLog));
        assert!(
            text.starts_with("2024-02-11T06:20:29.301")
                && text.ends_with(&format!("\t2024-02-11T06:20:29.301433512Z stderr F {RW}")),
            "{text}"
        );
        let jsonl = format!(
            r#"{{"labels":{{"pod":"rw-meta-0"}},"line":"{RW}","timestamp":"2024-02-11T14:20:29.301+08:00"}}"#
        );
        assert_eq!(
            unwrapped(&jsonl),
            (
                Some(Envelope::LogcliJsonl),
                format!("2024-02-11T14:20:29.301+08:00\t{RW}")
            )
        );
        let elastic = format!(
            r#"{{"_index":"logs","_id":"x","_source":{{"@timestamp":"2024-02-11T06:20:29.301Z","message":"{RW}"}}}}"#
        );
        assert_eq!(
            unwrapped(&elastic),
            (
                Some(Envelope::ElasticSource),
                format!("2024-02-11T06:20:29.301Z\t{RW}")
            )
        );
        let vector = format!(r#"{{"message":"{RW}","host":"h"}}"#);
        assert_eq!(
            unwrapped(&vector),
            (Some(Envelope::Message), RW.to_string())
        );
        let cloudwatch = format!(r#"{{"timestamp":1707632429301,"message":"{RW}"}}"#);
        assert_eq!(
            unwrapped(&cloudwatch).1,
            format!("2024-02-11T06:20:29.301Z\t{RW}")
        );
    }

    #[test]
    fn log_lines_of_their_own_are_no_envelope() {
        for line in [
            RW,
            r#"{"timestamp":"2024-02-11T06:20:14.118202Z","level":"ERROR","fields":{"message":"x"},"target":"t"}"#,
            r#"{"level":"warn","ts":"2024-02-11T14:20:12.512+0800","msg":"slow fdatasync"}"#,
            r#"{"timestamp":"2026-11-30 08:52:25.390 UTC","user":"u","error_severity":"LOG","message":"x"}"#,
            "2024-02-11 06:20:27.912345 W | wal: sync duration of 1.52s",
            "2024-02-11T06:20:29.301433512Z stdout F x",
            "{not json",
        ] {
            assert_eq!(sniff(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn logcli_default_and_grafana_copies() {
        let logcli =
            format!(r#"2024-02-11T06:20:29Z {{app="rw", pod="rw-meta-0", x="a}}b"}}   {RW}"#);
        assert_eq!(
            unwrapped(&logcli),
            (
                Some(Envelope::LogcliDefault),
                format!("2024-02-11T06:20:29Z\t{RW}")
            )
        );
        let grafana = format!("2024-02-11 14:20:29.301\t{RW}");
        assert_eq!(
            unwrapped(&grafana),
            (
                Some(Envelope::GrafanaCopy),
                format!("2024-02-11T14:20:29.301Z\t{RW}")
            )
        );
    }

    #[test]
    fn the_reader_keeps_one_line_for_one_and_passes_others_through() {
        let text = "{\"log\":\"a\\nb\\n\",\"stream\":\"stdout\",\"time\":\"2024-02-11T06:20:29Z\"}\r\nplain\n\n{\"log\":\"c\"}";
        let mut reader = Unwrapping::new(
            io::BufReader::with_capacity(7, text.as_bytes()),
            Envelope::DockerJson,
        );
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "2024-02-11T06:20:29Z\ta b\r\nplain\n\nc");
        // A line too long is passed through whole.
        let long = format!("{{\"log\":\"{}\"}}\nx\n", "y".repeat(MAX_ENVELOPE_LINE + 5));
        let mut reader = Unwrapping::new(io::BufReader::new(long.as_bytes()), Envelope::FluentLog);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert!(
            out == long,
            "the long line changed ({} bytes out)",
            out.len()
        );
    }
}

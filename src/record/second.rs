//! Second logs: what the systems around a RisingWave cluster write, read
//! line by line beside RisingWave's own log.
//!
//! * PostgreSQL's server log (the meta store): stderr with the default
//!   `log_line_prefix` `'%m [%p] '` (Debian's `'%m [%p] %q%u@%d '` too),
//!   `csvlog` and `jsonlog` (15+; `json.rs` sends its lines here).
//! * Kernel messages: `dmesg -T` (`[Mon Nov 30 08:45:58 2026] ...`), plain
//!   `dmesg` (seconds since boot: no time) and journald's `kernel:` lines.
//! * Kubernetes: `kubectl describe pod` and `kubectl get events` text. Ages
//!   there are relative to when the command ran (`3m`), so these lines carry
//!   no time: they sort first and stand as evidence for every incident.
//! * MySQL's error log (a MySQL meta store): 8.0's
//!   `2024-05-01T10:00:00.123456Z 0 [Warning] [MY-010055] [Server] ...`,
//!   5.7's `... 0 [Warning] ...` (UTC with `Z`, or an offset with
//!   `log_timestamps=SYSTEM`), MariaDB's `2026-11-30 10:48:35 5 [Warning]
//!   ...` and its crash report's `261130 10:48:20 [ERROR] ...`. MariaDB
//!   writes the server's local time without a zone: read as UTC.
//! * Docker: `docker compose` exit lines (`rw-compute-1 exited with code
//!   137`), `docker ps` status columns (`Exited (137) 2 minutes ago`) and
//!   `docker inspect` state fields (`"OOMKilled": true,`); no time either.
use super::{Record, Shape};
use crate::model::{Level, Timestamp};
use chrono::{FixedOffset, NaiveDateTime};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Cheap recognition of a line (wrappers removed) that is not RisingWave's
/// or etcd's.
pub fn classify(line: &[u8]) -> Option<Shape> {
    match line.first()? {
        b'0'..=b'9' => mysql_prefix(line)
            .map(|_| Shape::MysqlError)
            .or_else(|| dmesg_iso(line).map(|_| Shape::Kernel))
            .or_else(|| postgres_shape(line))
            .or_else(|| kubectl_events_row(line)),
        b'[' => dmesg_prefix(line).map(|_| Shape::Kernel),
        b' ' => indented(line),
        _ => header_or_docker(line),
    }
}

/// `YYYY-MM-DD HH:MM:SS[.fff] ZONE` then ` [pid] ` (stderr) or `,` (csvlog).
fn postgres_shape(line: &[u8]) -> Option<Shape> {
    let end = pg_time_len(line)?;
    match line.get(end)? {
        b',' => Some(Shape::PostgresCsv),
        b' ' if line.get(end + 1) == Some(&b'[') => Some(Shape::PostgresText),
        _ => None,
    }
}

/// Length of a PostgreSQL `%m` timestamp with its zone.
fn pg_time_len(line: &[u8]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| {
        line.get(r)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if !(digits(0..4)
        && line.get(4) == Some(&b'-')
        && digits(5..7)
        && line.get(7) == Some(&b'-')
        && digits(8..10)
        && line.get(10) == Some(&b' ')
        && digits(11..13)
        && line.get(13) == Some(&b':')
        && digits(14..16)
        && line.get(16) == Some(&b':')
        && digits(17..19))
    {
        return None;
    }
    let mut i = 19;
    if line.get(i) == Some(&b'.') {
        i += 1;
        while line.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if line.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let zone = line[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b':'))
        .count();
    (1..=6).contains(&zone).then_some(i + zone)
}

/// A `%m` timestamp in its zone: UTC/GMT, a numeric offset (`+08`,
/// `-0500`, `+05:30`) or a common abbreviation; others give no time.
fn pg_time(text: &str) -> Option<Timestamp> {
    let (datetime, zone) = text.rsplit_once(' ')?;
    let naive = NaiveDateTime::parse_from_str(datetime, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let offset = zone_offset(zone)?;
    naive.and_local_timezone(offset).single()
}

fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let hours = |h: i32| FixedOffset::east_opt(h * 3600);
    match zone {
        "UTC" | "GMT" | "Z" | "UCT" => return hours(0),
        "CET" => return hours(1),
        "CEST" | "EET" => return hours(2),
        "EEST" | "MSK" => return hours(3),
        "IST" => return FixedOffset::east_opt(5 * 3600 + 1800),
        "CST" => return hours(8), // PostgreSQL writes CST for Asia/Shanghai too; ambiguous either way
        "JST" | "KST" => return hours(9),
        "EST" => return hours(-5),
        "EDT" => return hours(-4),
        "PST" => return hours(-8),
        "PDT" => return hours(-7),
        _ => {}
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Does the line start with a time that is its own (MySQL's, `dmesg
/// --time-format=iso`'s), not a `kubectl --timestamps` wrapper's?
pub fn owns_leading_time(line: &[u8]) -> bool {
    mysql_prefix(line).is_some() || dmesg_iso(line).is_some()
}

/// A MySQL or MariaDB error-log prefix: the time, the thread id (none in
/// MariaDB's crash report) and `[Level] `. Returns where the message
/// starts, the time's text and its level.
fn mysql_prefix(line: &[u8]) -> Option<(usize, &[u8], Level)> {
    let digit = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    let digit_or_space = |i: usize| {
        line.get(i)
            .is_some_and(|b| b.is_ascii_digit() || *b == b' ')
    };
    let clock = |at: usize| {
        digit_or_space(at)
            && digit(at + 1)
            && line.get(at + 2) == Some(&b':')
            && digit(at + 3)
            && digit(at + 4)
            && line.get(at + 5) == Some(&b':')
            && digit(at + 6)
            && digit(at + 7)
    };
    let date = (0..4).all(digit)
        && line.get(4) == Some(&b'-')
        && digit(5)
        && digit(6)
        && line.get(7) == Some(&b'-')
        && digit(8)
        && digit(9);
    let mut i;
    let mut thread = true;
    if date && line.get(10) == Some(&b'T') && clock(11) && digit(11) {
        // ISO 8601 with fraction and `Z` or an offset (MySQL 5.7+).
        i = 19;
        if line.get(i) == Some(&b'.') {
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        match line.get(i)? {
            b'Z' => i += 1,
            b'+' | b'-' if digit(i + 1) && digit(i + 2) && line.get(i + 3) == Some(&b':') => i += 6,
            _ => return None,
        }
    } else if date && line.get(10) == Some(&b' ') && clock(11) {
        i = 19; // MariaDB: `2026-11-30 10:48:35`, `2018-11-27  2:46:46`
    } else if (0..6).all(digit) && line.get(6) == Some(&b' ') && clock(7) {
        i = 15; // MariaDB's crash report: `261130 10:48:20`
        thread = false;
    } else {
        return None;
    }
    let time_end = i;
    if line.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    if thread && line.get(i).is_some_and(u8::is_ascii_digit) {
        while digit(i) {
            i += 1;
        }
        if line.get(i) != Some(&b' ') {
            return None;
        }
        i += 1;
    }
    let rest = line.get(i..)?;
    let (level, len) = [
        (&b"[ERROR] "[..], Level::Error),
        (b"[Warning] ", Level::Warn),
        (b"[Note] ", Level::Info),
        (b"[System] ", Level::Info),
    ]
    .into_iter()
    .find(|(tag, _)| rest.starts_with(tag))
    .map(|(tag, level)| (level, tag.len()))?;
    Some((i + len, &line[..time_end], level))
}

/// The time of a MySQL prefix: RFC 3339, or MariaDB's zone-less local
/// time read as UTC.
fn mysql_time(text: &[u8]) -> Option<Timestamp> {
    let text = std::str::from_utf8(text).ok()?;
    if text.as_bytes().get(10) == Some(&b'T') {
        return chrono::DateTime::parse_from_rfc3339(text).ok();
    }
    let (format, text) = if text.len() == 15 {
        ("%y%m%d %H:%M:%S", text.replacen("  ", " 0", 1))
    } else {
        ("%Y-%m-%d %H:%M:%S", text.replacen("  ", " 0", 1))
    };
    let naive = NaiveDateTime::parse_from_str(&text, format).ok()?;
    Some(naive.and_utc().fixed_offset())
}

/// `... [Warning] [MY-010055] [Server] text`: the text, without 8.0's
/// error code and subsystem tags.
fn mysql_message(rest: &str) -> &str {
    let mut message = rest;
    if let Some(after) = message.strip_prefix("[MY-") {
        if let Some((_, tail)) = after.split_once("] [") {
            if let Some((_, text)) = tail.split_once("] ") {
                message = text;
            }
        }
    }
    message
}

fn mysql_record(line: &str) -> Option<Record<'_>> {
    let (start, time, level) = mysql_prefix(line.as_bytes())?;
    Some(Record {
        timestamp: mysql_time(time),
        level: Some(level),
        thread: None,
        spans: None,
        target: None,
        message: Cow::Borrowed(mysql_message(&line[start..])),
        shape: Shape::MysqlError,
    })
}

/// PostgreSQL's severities (`LOG`, `FATAL`, `DETAIL`...) as levels.
fn pg_level(word: &str) -> Option<Level> {
    Some(match word {
        "PANIC" | "FATAL" => Level::Fatal,
        "ERROR" => Level::Error,
        "WARNING" => Level::Warn,
        "LOG" | "INFO" | "NOTICE" | "DETAIL" | "HINT" | "CONTEXT" | "STATEMENT" | "QUERY"
        | "LOCATION" => Level::Info,
        w if w.starts_with("DEBUG") => Level::Debug,
        _ => return None,
    })
}

/// `[Mon Nov 30 08:45:58 2026] ` (dmesg -T) or `[ 8123.456789] ` (dmesg):
/// the length of the prefix and the time it names.
fn dmesg_prefix(line: &[u8]) -> Option<(usize, Option<Timestamp>)> {
    let close = memchr::memchr(b']', &line[..line.len().min(40)])?;
    let inside = std::str::from_utf8(&line[1..close]).ok()?.trim();
    let len = close + 1 + usize::from(line.get(close + 1) == Some(&b' '));
    if !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return inside.contains('.').then_some((len, None));
    }
    // `Mon Nov 30 08:45:58 2026`; dmesg -T writes local time: read as UTC.
    let time = NaiveDateTime::parse_from_str(inside, "%a %b %e %H:%M:%S %Y").ok()?;
    Some((len, Some(time.and_utc().fixed_offset())))
}

/// `dmesg --time-format=iso`: `2026-11-30T07:52:15,123456+00:00 ` (a
/// comma before the microseconds, always an offset): the prefix's length
/// and its time.
fn dmesg_iso(line: &[u8]) -> Option<(usize, Timestamp)> {
    let head = line.get(..32)?;
    if head.get(10) != Some(&b'T') || head.get(19) != Some(&b',') || line.get(32) != Some(&b' ') {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.replacen(',', ".", 1);
    let time = chrono::DateTime::parse_from_rfc3339(&text).ok()?;
    Some((33, time))
}

const DESCRIBE_KEYS: [&str; 14] = [
    "Last State:",
    "State:",
    "Reason:",
    "Exit Code:",
    "Started:",
    "Finished:",
    "Restart Count:",
    "Ready:",
    "Signal:",
    "Message:",
    "Limits:",
    "Requests:",
    "Containers:",
    "Events:",
];

/// Indented lines of `kubectl describe` (container state, events table)
/// and of `docker inspect`.
fn indented(line: &[u8]) -> Option<Shape> {
    let text = std::str::from_utf8(line).ok()?.trim_start();
    if kube_field(text).is_some() {
        return Some(Shape::Kubernetes);
    }
    if text.starts_with('"') {
        return docker_inspect_key(text).then_some(Shape::Docker);
    }
    // The events table's header and rule under it.
    if (text.starts_with("Type ") && text.contains(" Reason ") && text.contains(" Age "))
        || (text.starts_with("----") && text.contains("  ----"))
    {
        return Some(Shape::Kubernetes);
    }
    if let Some(rest) = text
        .strip_prefix("Warning ")
        .or_else(|| text.strip_prefix("Normal "))
    {
        // `  Warning  Unhealthy  3m (x4 over 4m)  kubelet  Liveness probe failed: ...`
        return (rest.starts_with(' ') && rest.trim_start().contains("  "))
            .then_some(Shape::Kubernetes);
    }
    DESCRIBE_KEYS
        .iter()
        .any(|key| {
            text.strip_prefix(key)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("  "))
        })
        .then_some(Shape::Kubernetes)
}

/// A field of `kubectl get events|pod -o json` (`"reason": "OOMKilled",`)
/// or `-o yaml` (`reason: OOMKilled`) that tells what happened or when:
/// its value, and whether it is a time. kubectl sorts the keys, so an
/// event's `lastTimestamp` comes before its `message` and `reason`, and a
/// container's `finishedAt` before its `reason`: the lines after a time
/// take it on the timeline. (`creationTimestamp`, which comes between, is
/// left out: it is when the object was made, not when it happened.)
fn kube_field(text: &str) -> Option<(&str, bool)> {
    const WHAT: [&str; 3] = ["reason", "message", "exitCode"];
    const WHEN: [&str; 4] = ["lastTimestamp", "eventTime", "firstTimestamp", "finishedAt"];
    let text = text.strip_prefix("- ").unwrap_or(text);
    let (key, value) = match text.strip_prefix('"') {
        Some(rest) => {
            let (key, value) = rest.split_once("\": ")?;
            (key, value.trim_end_matches(','))
        }
        None => text.split_once(": ")?,
    };
    let value = value.trim();
    if WHEN.contains(&key) {
        return Some((value.trim_matches(|c| c == '"' || c == '\''), true));
    }
    (WHAT.contains(&key) && !value.is_empty()).then_some((value, false))
}

/// The time a `kube_field` line carries (`null` has none).
fn kube_time(text: &str) -> Option<Timestamp> {
    match kube_field(text.trim_start())? {
        (value, true) => chrono::DateTime::parse_from_rfc3339(value).ok(),
        _ => None,
    }
}

fn docker_inspect_key(text: &str) -> bool {
    [
        "\"OOMKilled\":",
        "\"ExitCode\":",
        "\"FinishedAt\":",
        "\"StartedAt\":",
        "\"RestartCount\":",
        "\"Restarting\":",
    ]
    .iter()
    .any(|key| text.starts_with(key))
}

/// `kubectl get events` rows: `3m   Warning   Unhealthy   pod/rw-meta-0   ...`
/// (`LAST SEEN` is an age: `45s`, `3m`, `2d4h`, `<unknown>`).
fn kubectl_events_row(line: &[u8]) -> Option<Shape> {
    let text = std::str::from_utf8(line).ok()?;
    let (age, rest) = text.split_once(' ')?;
    let age_ok = age
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b's' | b'm' | b'h' | b'd'));
    let rest = rest.trim_start();
    (age_ok && (rest.starts_with("Warning ") || rest.starts_with("Normal ")))
        .then_some(Shape::Kubernetes)
}

/// `kubectl describe` headers, `kubectl get events` headers, docker
/// compose and `docker ps` lines.
fn header_or_docker(line: &[u8]) -> Option<Shape> {
    let text = std::str::from_utf8(line).ok()?;
    if text.starts_with("LAST SEEN ") && text.contains(" REASON ") {
        return Some(Shape::Kubernetes);
    }
    for key in [
        "Name:",
        "Namespace:",
        "Node:",
        "Status:",
        "Events:",
        "Containers:",
    ] {
        if text
            .strip_prefix(key)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("  "))
        {
            return Some(Shape::Kubernetes);
        }
    }
    if is_compose_exit(text) || text.contains(" Exited (") || text.contains(" Restarting (") {
        return Some(Shape::Docker);
    }
    None
}

/// `rw-compute-1 exited with code 137` (compose v2 prints it bare; with
/// compose's `name  | ` prefix the wrapper is peeled first).
fn is_compose_exit(text: &str) -> bool {
    text.split_once(" exited with code ")
        .is_some_and(|(name, code)| !name.contains(' ') && code.trim().parse::<i32>().is_ok())
}

/// Parses a line `classify` recognised.
pub fn parse(line: &str) -> Option<Record<'_>> {
    match classify(line.as_bytes())? {
        Shape::MysqlError => mysql_record(line),
        Shape::PostgresText => postgres_text(line),
        Shape::PostgresCsv => postgres_csv(line),
        Shape::Kernel => {
            if let Some((len, time)) = dmesg_iso(line.as_bytes()) {
                return Some(bare(&line[len..], Some(time), Shape::Kernel));
            }
            let (len, timestamp) = dmesg_prefix(line.as_bytes())?;
            Some(bare(&line[len..], timestamp, Shape::Kernel))
        }
        Shape::Kubernetes => Some(bare(line, kube_time(line), Shape::Kubernetes)),
        shape => Some(bare(line, None, shape)),
    }
}

/// A record that is its message: kernel, Kubernetes and Docker lines.
pub fn bare(message: &str, timestamp: Option<Timestamp>, shape: Shape) -> Record<'_> {
    Record {
        timestamp,
        level: None,
        thread: None,
        spans: None,
        target: None,
        message: Cow::Borrowed(message.trim()),
        shape,
    }
}

/// `2026-11-30 08:52:26.205 UTC [16879] FATAL:  no pg_hba.conf entry ...`;
/// Debian's prefix adds `user@db ` (`[unknown]@[unknown]` before login).
fn postgres_text(line: &str) -> Option<Record<'_>> {
    let end = pg_time_len(line.as_bytes())?;
    let timestamp = pg_time(&line[..end]);
    let rest = line[end..].trim_start().strip_prefix('[')?;
    let (_pid, rest) = rest.split_once("] ")?;
    let (mut head, mut message) = rest.split_once(":  ")?;
    if let Some((_user_db, severity)) = head.rsplit_once(' ') {
        head = severity;
    }
    let level = pg_level(head);
    if level.is_none() {
        // Not a severity: a `%q%u@%d` or custom prefix we do not know.
        message = rest;
    }
    Some(Record {
        timestamp,
        level,
        thread: None,
        spans: None,
        target: None,
        message: Cow::Borrowed(message),
        shape: Shape::PostgresText,
    })
}

/// csvlog: `log_time,user,database,pid,connection_from,session_id,
/// session_line,command_tag,session_start,vxid,txid,severity,sql_state,
/// message,detail,hint,...`. The message keeps its `detail=` and the SQL
/// state as `sqlstate=`, as RisingWave fields are written.
fn postgres_csv(line: &str) -> Option<Record<'static>> {
    let fields = csv_fields(line);
    let timestamp = pg_time(fields.first()?);
    let level = pg_level(fields.get(11)?);
    let mut message = fields.get(13)?.clone();
    if let Some(detail) = fields.get(14).filter(|d| !d.is_empty()) {
        message.push_str(" detail=");
        message.push_str(detail);
    }
    if let Some(state) = fields.get(12).filter(|s| !s.is_empty()) {
        message.push_str(" sqlstate=");
        message.push_str(state);
    }
    Some(Record {
        timestamp,
        level,
        thread: None,
        spans: None,
        target: None,
        message: Cow::Owned(message),
        shape: Shape::PostgresCsv,
    })
}

/// RFC 4180 fields of one line (a quoted field cut by a line break ends at
/// the line's end).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// jsonlog: `{"timestamp":"2026-11-30 08:52:25.390 UTC",...,
/// "error_severity":"FATAL","state_code":"53300","message":"..."}`.
pub fn postgres_json(mut object: Map<String, Value>) -> Option<Record<'static>> {
    let timestamp = object
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(pg_time);
    let level = object
        .get("error_severity")
        .and_then(Value::as_str)
        .and_then(pg_level);
    let mut message = match object.remove("message") {
        Some(Value::String(text)) => text,
        _ => String::new(),
    };
    if let Some(Value::String(detail)) = object.remove("detail") {
        message.push_str(" detail=");
        message.push_str(&detail);
    }
    if let Some(Value::String(state)) = object.remove("state_code") {
        message.push_str(" sqlstate=");
        message.push_str(&state);
    }
    Some(Record {
        timestamp,
        level,
        thread: None,
        spans: None,
        target: None,
        message: Cow::Owned(message),
        shape: Shape::PostgresJson,
    })
}

/// The time of a second-log line, for coverage.
pub fn leading_timestamp(line: &[u8]) -> Option<Timestamp> {
    match classify(line)? {
        Shape::PostgresText | Shape::PostgresCsv => {
            let end = pg_time_len(line)?;
            pg_time(std::str::from_utf8(&line[..end]).ok()?)
        }
        Shape::Kernel => dmesg_iso(line)
            .map(|(_, time)| time)
            .or_else(|| dmesg_prefix(line)?.1),
        Shape::MysqlError => mysql_time(mysql_prefix(line)?.1),
        Shape::Kubernetes => kube_time(std::str::from_utf8(line).ok()?),
        _ => None,
    }
}

/// When a line's time carries no zone (the machine's local time, read as
/// UTC), what the input's notes say about it.
pub fn zoneless_time_note(line: &[u8]) -> Option<&'static str> {
    match classify(line)? {
        Shape::Kernel if line.first() == Some(&b'[') && dmesg_prefix(line)?.1.is_some() => Some(
            "`dmesg -T` times carry no zone (the machine's local time): read as UTC; \
             `dmesg --time-format=iso` or `journalctl -k --utc` gives times with their zone",
        ),
        Shape::MysqlError if mysql_prefix(line)?.1.get(10) != Some(&b'T') => {
            Some("MariaDB's error-log times carry no zone (the server's local time): read as UTC")
        }
        _ => None,
    }
}

/// The time in a PostgreSQL jsonlog line, without parsing the object.
pub fn postgres_json_timestamp(line: &[u8]) -> Option<Timestamp> {
    let start = b"{\"timestamp\":\"".len();
    let end = start + memchr::memchr(b'"', line.get(start..)?)?;
    pg_time(std::str::from_utf8(&line[start..end]).ok()?)
}

/// Is a journald line's identifier the kernel's (or systemd's, which
/// reports OOM kills of units)?
pub fn is_kernel_ident(origin: &[u8]) -> bool {
    let ident = origin.rsplit(|b| *b == b' ').next().unwrap_or(origin);
    ident == b"kernel" || ident.starts_with(b"systemd")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(record: &Record) -> String {
        record
            .timestamp
            .unwrap()
            .with_timezone(&chrono::Utc)
            .to_rfc3339()
    }

    #[test]
    fn postgres_stderr_csv_and_json() {
        let text = "2026-11-30 08:52:43.004 UTC [19823] FATAL:  sorry, too many clients already";
        assert_eq!(classify(text.as_bytes()), Some(Shape::PostgresText));
        let r = parse(text).unwrap();
        assert_eq!(r.message, "sorry, too many clients already");
        assert_eq!(r.level, Some(Level::Fatal));
        assert_eq!(utc(&r), "2026-11-30T08:52:43.004+00:00");

        let debian = "2026-11-30 09:52:43.004 CET [19823] risingwave@metadata FATAL:  password authentication failed for user \"risingwave\"";
        let r = parse(debian).unwrap();
        assert_eq!(r.level, Some(Level::Fatal));
        assert!(r.message.starts_with("password authentication failed"));
        assert_eq!(utc(&r), "2026-11-30T08:52:43.004+00:00");

        let csv = r#"2026-11-30 08:52:26.205 UTC,"intruder","metadata",16879,"127.0.0.1:39508",6b0d394a.41ef,1,"authentication",2026-11-30 08:52:26 UTC,3/4,0,FATAL,28000,"no pg_hba.conf entry for host ""127.0.0.1"", user ""intruder"", database ""metadata"", no encryption",,,,,,,,,"","client backend",,0"#;
        assert_eq!(classify(csv.as_bytes()), Some(Shape::PostgresCsv));
        let r = parse(csv).unwrap();
        assert_eq!(
            r.message,
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"intruder\", database \"metadata\", no encryption sqlstate=28000"
        );
        assert_eq!(leading_timestamp(csv.as_bytes()), r.timestamp);

        let json = r#"{"timestamp":"2026-11-30 08:52:43.004 +08","pid":1,"error_severity":"FATAL","state_code":"53300","message":"sorry, too many clients already","backend_type":"client backend"}"#;
        assert_eq!(
            postgres_json_timestamp(json.as_bytes())
                .unwrap()
                .with_timezone(&chrono::Utc)
                .to_rfc3339(),
            "2026-11-30T00:52:43.004+00:00"
        );
        let Value::Object(object) = serde_json::from_str(json).unwrap() else {
            unreachable!()
        };
        let r = postgres_json(object).unwrap();
        assert_eq!(r.message, "sorry, too many clients already sqlstate=53300");
    }

    #[test]
    fn kernel_kubernetes_and_docker_lines() {
        let dmesg = "[Mon Nov 30 08:45:58 2026] Out of memory: Killed process 4321 (risingwave) total-vm:18874368kB";
        let r = parse(dmesg).unwrap();
        assert_eq!(r.shape, Shape::Kernel);
        assert!(r.message.starts_with("Out of memory: Killed process"));
        assert_eq!(utc(&r), "2026-11-30T08:45:58+00:00");
        assert!(zoneless_time_note(dmesg.as_bytes()).is_some());
        let iso = "2026-11-30T09:45:58,123456+01:00 Out of memory: Killed process 4321 (risingwave) total-vm:18874368kB";
        let r = parse(iso).unwrap();
        assert_eq!(r.shape, Shape::Kernel);
        assert!(r.message.starts_with("Out of memory: Killed process"));
        assert_eq!(utc(&r), "2026-11-30T08:45:58.123456+00:00");
        assert_eq!(leading_timestamp(iso.as_bytes()), r.timestamp);
        assert_eq!(zoneless_time_note(iso.as_bytes()), None);
        let boot = parse("[81234.567890] oom-kill:constraint=CONSTRAINT_MEMCG").unwrap();
        assert_eq!((boot.shape, boot.timestamp), (Shape::Kernel, None));
        assert_eq!(classify(b"[pod/rw-0/meta] x"), None);

        for line in [
            "      Reason:       OOMKilled",
            "      Exit Code:    137",
            "    Last State:     Terminated",
            "  Warning  Unhealthy  3m (x4 over 4m)  kubelet  Liveness probe failed: dial tcp 10.0.0.4:5690: connect: connection refused",
            "Name:             rw-compute-0",
            "LAST SEEN   TYPE      REASON      OBJECT          MESSAGE",
            "3m          Warning   BackOff     pod/rw-meta-0   Back-off restarting failed container",
        ] {
            assert_eq!(classify(line.as_bytes()), Some(Shape::Kubernetes), "{line}");
        }
        // `kubectl get ... -o json` and `-o yaml` fields; times where they say when.
        for (line, time) in [
            ("                        \"reason\": \"OOMKilled\",", None),
            ("                        \"exitCode\": 137,", None),
            ("                        \"finishedAt\": \"2025-07-29T10:14:41Z\",", Some("2025-07-29T10:14:41+00:00")),
            ("            \"lastTimestamp\": \"2026-11-30T08:41:11Z\",", Some("2026-11-30T08:41:11+00:00")),
            ("            \"message\": \"Liveness probe failed: dial tcp 10.244.1.17:5690: connect: connection refused\",", None),
            ("            \"eventTime\": null,", None),
            ("        reason: OOMKilled", None),
            ("  lastTimestamp: \"2026-11-30T08:41:11Z\"", Some("2026-11-30T08:41:11+00:00")),
        ] {
            assert_eq!(classify(line.as_bytes()), Some(Shape::Kubernetes), "{line}");
            let r = parse(line).unwrap();
            assert_eq!(r.timestamp.map(|_| utc(&r)).as_deref(), time, "{line}");
        }
        for line in [
            "                \"creationTimestamp\": \"2025-07-29T08:01:40Z\",",
            "        \"name\": \"rw-compute-0\",",
            "        name: rw-compute-0",
        ] {
            assert_eq!(classify(line.as_bytes()), None, "{line}");
        }
        for line in [
            "rw-compute-1 exited with code 137",
            "            \"OOMKilled\": true,",
            "risingwave-compute-1   risingwavelabs/risingwave:v2.5.0   \"/risingwave/bin/ris…\"   compute   2 hours ago   Exited (137) 3 minutes ago",
        ] {
            assert_eq!(classify(line.as_bytes()), Some(Shape::Docker), "{line}");
        }
        for line in [
            "Name: x",
            "the process exited with code 1 because",
            "Reason: none",
            "[not a time] x",
        ] {
            assert_eq!(classify(line.as_bytes()), None, "{line}");
        }
    }
    #[test]
    fn mysql_and_mariadb_error_logs() {
        let cases = [
            (
                "2021-03-31T12:29:15.297826Z 38356 [Warning] [MY-000000] [Server] Too many connections",
                "Too many connections",
                Level::Warn,
                "2021-03-31T12:29:15.297826+00:00",
            ),
            (
                "2018-11-17T07:00:46.268269Z 0 [System] [MY-010910] [Server] /usr/local/mysql/bin/mysqld: Shutdown complete (mysqld 8.0.13) MySQL Community Server - GPL.",
                "/usr/local/mysql/bin/mysqld: Shutdown complete (mysqld 8.0.13) MySQL Community Server - GPL.",
                Level::Info,
                "2018-11-17T07:00:46.268269+00:00",
            ),
            (
                "2017-09-19T08:13:34.065151+02:00 0 [Warning] InnoDB: New log files created, LSN=45790",
                "InnoDB: New log files created, LSN=45790",
                Level::Warn,
                "2017-09-19T06:13:34.065151+00:00",
            ),
            (
                "2026-11-30 10:48:35 5 [Warning] Access denied for user 'risingwave'@'127.0.0.1' (using password: YES)",
                "Access denied for user 'risingwave'@'127.0.0.1' (using password: YES)",
                Level::Warn,
                "2026-11-30T10:48:35+00:00",
            ),
            (
                "2018-11-27  2:46:46 140278181563136 [Warning] mysqld: Disk is full writing '/var/lib/mariadb-bin.00001' (Errcode: 28 \"No space left on device\")",
                "mysqld: Disk is full writing '/var/lib/mariadb-bin.00001' (Errcode: 28 \"No space left on device\")",
                Level::Warn,
                "2018-11-27T02:46:46+00:00",
            ),
            (
                "261130 10:48:20 [ERROR] /usr/sbin/mariadbd got signal 6 ;",
                "/usr/sbin/mariadbd got signal 6 ;",
                Level::Error,
                "2026-11-30T10:48:20+00:00",
            ),
        ];
        for (line, message, level, time) in cases {
            assert_eq!(classify(line.as_bytes()), Some(Shape::MysqlError), "{line}");
            let r = parse(line).unwrap();
            assert_eq!(r.message, message);
            assert_eq!(r.level, Some(level), "{line}");
            assert_eq!(utc(&r), time, "{line}");
            assert_eq!(leading_timestamp(line.as_bytes()), r.timestamp);
        }
        // PostgreSQL's `[pid]` is not a level; RisingWave's level is not bracketed.
        let pg = "2026-11-30 08:52:43.004 UTC [19823] FATAL:  sorry, too many clients already";
        assert_eq!(classify(pg.as_bytes()), Some(Shape::PostgresText));
        for line in [
            "2026-11-30 10:48:35 5 [Info] x",
            "2026-11-30T10:48:35Z  WARN risingwave_meta: x",
            "Version: '10.11.19-MariaDB-0+deb12u1'  socket: '/tmp/sock'  port: 53306  Debian 12",
        ] {
            assert_ne!(classify(line.as_bytes()), Some(Shape::MysqlError), "{line}");
        }
    }
}

//! One-object-per-line JSON: RisingWave's cloud format (`RISINGWAVE_CLOUD`,
//! tracing-subscriber JSON) and etcd v3.5's zap logger.
//!
//! Fields other than the message are appended as ` key=value`, as the text
//! format writes them, so the same signal regexes match every format (an
//! `error` field holding etcd's error text included).
use super::{Record, Shape};
use crate::model::{Level, Timestamp};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Cheap shape check on the raw bytes (no parsing).
pub fn classify(line: &[u8]) -> Option<Shape> {
    let head = &line[..line.len().min(24)];
    if head.starts_with(b"{\"timestamp\":") {
        // PostgreSQL's jsonlog writes `"2026-11-30 08:52:25.390 UTC"`:
        // a space where RFC 3339 has its `T`.
        if line.get(24) == Some(&b' ') && line.get(13) == Some(&b'"') {
            Some(Shape::PostgresJson)
        } else {
            Some(Shape::RisingwaveJson)
        }
    } else if head.starts_with(b"{\"level\":")
        && memchr::memmem::find(&line[..line.len().min(64)], b"\"ts\":").is_some()
    {
        Some(Shape::EtcdJson)
    } else {
        None
    }
}

/// The timestamp of a JSON line without parsing the whole object.
pub fn leading_timestamp(line: &[u8]) -> Option<Timestamp> {
    let key: &[u8] = match classify(line)? {
        Shape::PostgresJson => return super::second::postgres_json_timestamp(line),
        Shape::RisingwaveJson => b"\"timestamp\":",
        _ => b"\"ts\":",
    };
    let at = memchr::memmem::find(&line[..line.len().min(96)], key)? + key.len();
    let rest = &line[at..];
    if rest.first() == Some(&b'"') {
        let end = memchr::memchr(b'"', &rest[1..])?;
        parse_time(std::str::from_utf8(&rest[1..=end]).ok()?)
    } else {
        let end = rest
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .unwrap_or(rest.len());
        epoch(std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?)
    }
}

/// RFC 3339, or zap's `2024-02-11T14:20:12.512+0800` (offset without colon).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc().fixed_offset())
        })
}

fn epoch(seconds: f64) -> Option<Timestamp> {
    if !seconds.is_finite() {
        return None;
    }
    let nanos = (seconds.fract() * 1e9) as u32;
    Utc.timestamp_opt(seconds.trunc() as i64, nanos)
        .single()
        .map(|t| t.fixed_offset())
}

pub fn parse(line: &str) -> Option<Record<'static>> {
    let shape = classify(line.as_bytes())?;
    let Value::Object(object) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    match shape {
        Shape::RisingwaveJson => risingwave(object),
        Shape::PostgresJson => super::second::postgres_json(object),
        _ => etcd(object),
    }
}

fn risingwave(mut object: Map<String, Value>) -> Option<Record<'static>> {
    let timestamp = object
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let level = object
        .get("level")
        .and_then(Value::as_str)
        .and_then(Level::parse);
    let target = object.remove("target").and_then(string);
    let thread = object.remove("threadName").and_then(string);
    let mut message = String::new();
    if let Some(Value::Object(mut fields)) = object.remove("fields") {
        if let Some(text) = fields.remove("message").and_then(string) {
            message.push_str(&text);
        }
        append_fields(&mut message, fields);
    }
    let spans = object.remove("spans").and_then(|spans| match spans {
        Value::Array(list) => Some(
            list.iter()
                .filter_map(|span| span.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => None,
    });
    Some(Record {
        timestamp,
        level,
        thread: thread.map(Cow::Owned),
        spans: spans.filter(|s| !s.is_empty()).map(Cow::Owned),
        target: target.map(Cow::Owned),
        message: Cow::Owned(message),
        shape: Shape::RisingwaveJson,
    })
}

fn etcd(mut object: Map<String, Value>) -> Option<Record<'static>> {
    let timestamp = match object.remove("ts") {
        Some(Value::String(text)) => parse_time(&text),
        Some(Value::Number(n)) => n.as_f64().and_then(epoch),
        _ => None,
    };
    let level = object
        .remove("level")
        .and_then(string)
        .and_then(|l| Level::parse(&l));
    let caller = object.remove("caller").and_then(string);
    let logger = object.remove("logger").and_then(string);
    // `wal/wal.go:805` → `wal`: the package is the useful target.
    let target = logger.or_else(|| caller.map(|c| c.split('/').next().unwrap_or(&c).to_string()));
    let mut message = object.remove("msg").and_then(string).unwrap_or_default();
    append_fields(&mut message, object);
    Some(Record {
        timestamp,
        level,
        thread: None,
        spans: None,
        target: target.map(Cow::Owned),
        message: Cow::Owned(message),
        shape: Shape::EtcdJson,
    })
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn append_fields(message: &mut String, fields: Map<String, Value>) {
    for (key, value) in fields {
        message.push(' ');
        message.push_str(&key);
        message.push('=');
        match value {
            Value::String(s) => message.push_str(&s),
            other => message.push_str(&other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risingwave_cloud_json_with_error_field() {
        let line = r#"{"timestamp":"2024-02-11T06:20:14.118202Z","level":"ERROR","fields":{"message":"lease keeper failed","error":"grpc request error: status: Unavailable, message: \"etcdserver: request timed out\""},"target":"risingwave_meta::rpc::election::etcd","threadName":"rw-main"}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.shape, Shape::RisingwaveJson);
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(
            r.target.as_deref(),
            Some("risingwave_meta::rpc::election::etcd")
        );
        assert_eq!(r.thread.as_deref(), Some("rw-main"));
        assert!(r
            .message
            .starts_with("lease keeper failed error=grpc request error"));
        assert!(r.message.contains("\"etcdserver: request timed out\""));
        assert_eq!(leading_timestamp(line.as_bytes()), r.timestamp);
    }

    #[test]
    fn etcd_zap_with_offset_without_colon() {
        let line = r#"{"level":"warn","ts":"2024-02-11T14:20:12.512+0800","caller":"wal/wal.go:805","msg":"slow fdatasync","took":"6.7s","expected-duration":"1s"}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.shape, Shape::EtcdJson);
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(r.target.as_deref(), Some("wal"));
        assert_eq!(r.message, "slow fdatasync expected-duration=1s took=6.7s");
        assert_eq!(
            r.timestamp.unwrap().to_rfc3339(),
            "2024-02-11T14:20:12.512+08:00"
        );
        assert_eq!(leading_timestamp(line.as_bytes()), r.timestamp);
    }

    #[test]
    fn epoch_timestamps_and_broken_json() {
        let line = r#"{"level":"info","ts":1707632412.5,"msg":"ready"}"#;
        assert_eq!(
            parse(line).unwrap().timestamp.unwrap().timestamp(),
            1707632412
        );
        assert!(parse(r#"{"timestamp":"x","level":"#).is_none());
        // serde_json refuses out-of-range numbers: the line falls back to bare text.
        assert!(parse(r#"{"level":"info","ts":1e999,"msg":"x"}"#).is_none());
    }
}

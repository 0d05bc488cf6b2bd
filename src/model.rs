//! Types shared by every stage: severities, log levels, durations and the
//! timestamps the pipeline carries around.
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub type Timestamp = DateTime<FixedOffset>;

/// How bad a finding is. Ordered: `Info < Warning < Error < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log level as written by RisingWave (`ERROR`), etcd's zap (`error`) or
/// etcd's capnslog (`E`), normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Parses the level spellings of every supported format.
    pub fn parse(text: &str) -> Option<Level> {
        let level = match text {
            "TRACE" | "trace" | "T" => Level::Trace,
            "DEBUG" | "debug" | "D" => Level::Debug,
            "INFO" | "info" | "I" | "N" | "NOTICE" => Level::Info,
            "WARN" | "warn" | "WARNING" | "warning" | "W" => Level::Warn,
            "ERROR" | "error" | "E" => Level::Error,
            "FATAL" | "fatal" | "panic" | "dpanic" | "C" | "CRITICAL" => Level::Fatal,
            _ => return None,
        };
        Some(level)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
            format!("unknown level `{s}` (expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL)")
        })
    }
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d` (and combinations like `1m30s`).
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total_ms: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration `{text}` (expected e.g. 500ms, 30s, 5m, 2h, 1d)"
            ));
        }
        let value: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large in duration `{text}`"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in duration `{text}` (use ms, s, m, h or d)"
                ))
            }
        };
        rest = &rest[unit_len..];
        total_ms = value
            .checked_mul(unit_ms)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| format!("duration `{text}` is too large"))?;
    }
    Ok(chrono::Duration::milliseconds(total_ms))
}

/// Formats a duration the way humans read log gaps: `850ms`, `15.2s`, `3m04s`.
pub fn format_duration(duration: chrono::Duration) -> String {
    let ms = duration.num_milliseconds().abs();
    let sign = if duration.num_milliseconds() < 0 {
        "-"
    } else {
        ""
    };
    if ms < 1_000 {
        format!("{sign}{ms}ms")
    } else if ms < 60_000 {
        format!("{sign}{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{sign}{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{sign}{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("500ms").unwrap().num_milliseconds(), 500);
        assert_eq!(parse_duration("30s").unwrap().num_seconds(), 30);
        assert_eq!(parse_duration("5m").unwrap().num_seconds(), 300);
        assert_eq!(parse_duration("2h").unwrap().num_seconds(), 7200);
        assert_eq!(parse_duration("1m30s").unwrap().num_seconds(), 90);
        assert_eq!(parse_duration("45").unwrap().num_seconds(), 45);
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("10y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn levels_of_every_format() {
        assert_eq!(Level::parse("ERROR"), Some(Level::Error));
        assert_eq!(Level::parse("warn"), Some(Level::Warn));
        assert_eq!(Level::parse("W"), Some(Level::Warn));
        assert_eq!(Level::parse("Nope"), None);
        assert!(Severity::Critical > Severity::Error);
    }

    #[test]
    fn durations_format_for_humans() {
        assert_eq!(
            format_duration(chrono::Duration::milliseconds(850)),
            "850ms"
        );
        assert_eq!(
            format_duration(chrono::Duration::milliseconds(15_210)),
            "15.2s"
        );
        assert_eq!(
            format_duration(chrono::Duration::milliseconds(-15_210)),
            "-15.2s"
        );
        assert_eq!(format_duration(chrono::Duration::seconds(184)), "3m04s");
    }
}

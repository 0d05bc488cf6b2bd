//! Command-line interface. The flags, their values and the exit codes are a
//! fixed interface: CI scripts depend on them.
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
EXIT CODES:
  0  scanned, nothing at or above --fail-on
  1  a finding at or above --fail-on
  2  an input could not be read, or an argument or rule is invalid
     (the readable inputs are still scanned and reported)
  3  inconclusive: not one line looked like a RisingWave or etcd log
  Precedence: 2, then 1, then 3, then 0.

EXAMPLES:
  kubectl logs rw-meta-0 --previous | rwdoctor
  rwdoctor meta.log etcd-0.log.gz logs/
  rwdoctor --format json --fail-on warning ci-artifacts/ > report.json

Gzip input is recognised by its magic bytes, whatever its name; rotated
logs joined with `cat` (several gzip members) are read whole.";

#[derive(Debug, Parser)]
#[command(
    name = "rwdoctor",
    version,
    about = "Tells why a RisingWave meta node failed, from its logs (and etcd's).",
    long_about = "Reads RisingWave meta-node logs and the etcd logs beside them, finds known \
failure patterns (a meta leader that lost its etcd lease and exited, election retries, \
oversized etcd requests, a full or slow etcd...), and explains what happened, the likely \
causes with the evidence for each, and what to change.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Log files or directories (scanned recursively); `-` or nothing reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "SEVERITY")]
    pub fail_on: FailOn,

    /// Directory of extra rule files (*.json); a rule with a built-in id replaces it.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dirs: Vec<PathBuf>,

    /// Only consider lines at or after this time: RFC 3339, or a duration
    /// back from now like `2h` (as `kubectl logs --since`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only consider lines at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Threads to scan with (default: the cores available). Output does not
    /// depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// When to colour the human report (`NO_COLOR` is honoured under `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable report for a terminal (80 columns).
    Human,
    /// One JSON document: {"findings": [...], "summary": {...}}.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Warning,
    Error,
    Critical,
    /// Never exit 1 because of findings.
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<crate::model::Severity> {
        use crate::model::Severity;
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Error => Some(Severity::Error),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

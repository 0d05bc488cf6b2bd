//! Analysis → text. Each format is one module; none does any analysis.
//! Every format renders a whole analysis; the streaming ones (human, jsonl,
//! github) can also render one finding at a time for `--follow`.
pub mod brief;
pub mod discovery;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod sink;

use crate::analysis::{add_errors, Analysis};
use crate::diagnosis::Finding;
use crate::model::Severity;
use crate::rules::RuleSet;
use sink::Sink;

use clap::ValueEnum;
pub use sink::write_stdout;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable report for a terminal (-v for every detail, -q for the verdict).
    Human,
    /// One JSON document: {"findings": [...], "summary": {...}}.
    Json,
    /// One JSON object per line: a `finding` per finding, then the `summary`.
    Jsonl,
    /// GitHub Actions workflow commands: an annotation per finding.
    Github,
    /// JUnit XML: a testcase per rule, failures at or above --fail-on.
    Junit,
    /// Markdown, for $GITHUB_STEP_SUMMARY or a pull-request comment.
    Markdown,
    /// One self-contained HTML page (timelines drawn), for a ticket or a CI artefact.
    Html,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Github => "github",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

/// One report to write: a format and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub target: OutputTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    Stdout,
    File(PathBuf),
    /// `--output-append`: added to the end of the file.
    Append(PathBuf),
}

impl OutputTarget {
    /// The file, if the report goes to one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            OutputTarget::Stdout => None,
            OutputTarget::File(path) | OutputTarget::Append(path) => Some(path),
        }
    }
}

/// What a report needs besides the analysis.
pub struct Context<'a> {
    /// Every rule evaluated (JUnit has a testcase per rule).
    pub rules: &'a RuleSet,
    pub fail_on: Option<Severity>,
}

/// The whole report in `format`.
pub fn render(format: Format, analysis: &Analysis, context: &Context, color: bool) -> String {
    match format {
        Format::Human => human::render(analysis, color),
        Format::Json => json::render(analysis),
        Format::Jsonl => jsonl::render(analysis),
        Format::Github => github::render(analysis),
        Format::Junit => junit::render(analysis, context),
        Format::Markdown => markdown::render(analysis, context),
        Format::Html => html::render(analysis),
    }
}

/// Formats that can be written a finding at a time; the others are
/// documents, written whole when the input ends.
pub fn is_streaming(format: Format) -> bool {
    matches!(format, Format::Human | Format::Jsonl | Format::Github)
}

/// One finding (one incident, in `--follow`), as soon as it is certain;
/// `number` is the incident's 1-based number for its rule.
pub fn render_live_finding(format: Format, finding: &Finding, number: u64, color: bool) -> String {
    match format {
        Format::Human => human::render_live_finding(finding, color),
        Format::Jsonl => jsonl::render_finding(finding, Some(number)),
        Format::Github => github::render_finding(finding),
        Format::Json | Format::Junit | Format::Markdown | Format::Html => String::new(),
    }
}

/// What follows the live findings at the end of `--follow`: the summary for
/// streaming formats, the whole document for the others.
pub fn render_live_end(
    format: Format,
    analysis: &Analysis,
    context: &Context,
    color: bool,
) -> String {
    match format {
        Format::Human => human::render_live_end(analysis, color),
        Format::Jsonl => jsonl::render_summary(analysis),
        Format::Github => github::render_problems(analysis),
        Format::Json | Format::Junit | Format::Markdown | Format::Html => {
            render(format, analysis, context, color)
        }
    }
}

/// Prints the run's errors on stderr, then writes each report: files first
/// and stdout last, so that the report on stdout can name a file that could
/// not be written (and exit 2 for it). Returns the exit code.
pub fn write_all(
    analysis: &mut Analysis,
    sinks: &mut [Sink],
    render: &mut dyn FnMut(&Sink, &Analysis) -> String,
) -> u8 {
    for error in &analysis.summary.errors {
        crate::messages::say(error);
    }
    sinks.sort_by_key(Sink::is_stdout);
    for sink in sinks.iter_mut() {
        let text = render(sink, analysis);
        if let Err(error) = sink.write(&text).and_then(|_| sink.commit()) {
            crate::messages::say(&error);
            add_errors(&mut analysis.summary, vec![error]);
        }
    }
    analysis.summary.exit_code
}

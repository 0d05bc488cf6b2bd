//! Analysis → text. Each format is one module; none does any analysis.
//! Every format renders a whole analysis; the streaming ones (human, jsonl,
//! github) can also render one finding at a time for `--follow`.
pub mod github;
pub mod human;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod printable;
pub mod sink;

use crate::app::Analysis;
use crate::cli::Format;
use crate::diagnosis::Finding;
use crate::model::Severity;
use crate::rules::RuleSet;

pub use sink::write_stdout;

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
        Format::Json | Format::Junit | Format::Markdown => String::new(),
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
        Format::Json | Format::Junit | Format::Markdown => render(format, analysis, context, color),
    }
}

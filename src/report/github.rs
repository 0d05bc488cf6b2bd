//! `--format github`: GitHub Actions workflow commands, one annotation per
//! finding (`::error file=…,line=…,title=…::message`), pointing at the first
//! evidence line. Severity maps to `error` (critical, error), `warning` and
//! `notice` (info). Inputs that could not be read and an inconclusive scan
//! are annotated too, so a red step always says why.
use crate::analysis::{Analysis, EXIT_INCONCLUSIVE};
use crate::diagnosis::Finding;
use crate::model::Severity;
use crate::text::plural;
use crate::text::printable::{guard_report, printable};

pub fn render(analysis: &Analysis) -> String {
    let mut out: String = analysis.findings.iter().map(render_finding).collect();
    out.push_str(&render_problems(analysis));
    out
}

pub fn render_finding(finding: &Finding) -> String {
    let level = match finding.severity {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut properties = Vec::new();
    // `<stdin>` is no file of the repository: no location then.
    if let Some(evidence) = finding.evidence.first().filter(|e| e.source != "<stdin>") {
        properties.push(("file", evidence.source.clone()));
        properties.push(("line", evidence.line.to_string()));
    }
    properties.push((
        "title",
        format!("{} ({}, {})", finding.title, finding.severity, finding.rule),
    ));

    let mut message = format!(
        "{} incident{}, {} matching line{}",
        finding.count,
        plural(finding.count as usize),
        finding.matched_lines,
        plural(finding.matched_lines as usize)
    );
    if let Some(first) = &finding.first_seen {
        message.push_str(&format!(", from {first}"));
        if let Some(last) = finding.last_seen.as_ref().filter(|l| *l != first) {
            message.push_str(&format!(" to {last}"));
        }
    }
    message.push_str(".\n");
    message.push_str(&finding.diagnosis);
    if let Some(evidence) = finding.evidence.first() {
        message.push_str(&format!(
            "\nEvidence: {}:{}: {}",
            printable(&evidence.source),
            evidence.line,
            printable(&evidence.text)
        ));
    }
    if let Some(cause) = finding.causes.first().filter(|c| c.confidence > 0.0) {
        message.push_str(&format!(
            "\nLikely cause: {} ({}, {:.2})",
            cause.title, cause.verdict, cause.confidence
        ));
    }
    if let Some(remedy) = finding.remedies.first() {
        message.push_str(&format!("\nWhat to do: {}", remedy.text));
        if let Some(doc) = remedy.docs.first().or(finding.docs.first()) {
            message.push_str(&format!(" ({doc})"));
        }
    }
    command(level, &properties, &message)
}

/// Unreadable inputs, invalid rules, and an inconclusive scan.
pub fn render_problems(analysis: &Analysis) -> String {
    let summary = &analysis.summary;
    let mut out: String = summary
        .errors
        .iter()
        .map(|error| command("error", &[("title", "rwdoctor".to_string())], error))
        .collect();
    if summary.exit_code == EXIT_INCONCLUSIVE {
        out.push_str(&command(
            "warning",
            &[("title", "rwdoctor: nothing to diagnose".to_string())],
            &summary.verdict,
        ));
    }
    out
}

fn command(level: &str, properties: &[(&str, String)], message: &str) -> String {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    let separator = if properties.is_empty() { "" } else { " " };
    let command = format!(
        "::{level}{separator}{}::{}\n",
        properties.join(","),
        escape_data(message)
    );
    // Nothing from a binary input may reach the log as it is.
    guard_report(command, false)
}

/// The runner's escaping for a command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The runner's escaping for a property value: data's, plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(
            escape_property("50% a\r\nb: c, d"),
            "50%25 a%0D%0Ab%3A c%2C d"
        );
        assert_eq!(
            command(
                "error",
                &[("file", "a,b:c".into()), ("line", "3".into())],
                "x::y"
            ),
            "::error file=a%2Cb%3Ac,line=3::x::y\n"
        );
        assert_eq!(command("notice", &[], "hi"), "::notice::hi\n");
    }
}

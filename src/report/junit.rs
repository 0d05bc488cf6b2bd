//! `--format junit`: JUnit XML for GitLab, Jenkins and other CI test views.
//! One testcase per rule evaluated; a rule with a finding at or above
//! `--fail-on` fails (the finding's text is the failure's body), one below
//! passes with the text as `system-out`. A testcase `inputs` carries
//! unreadable inputs and invalid rules as errors, and an inconclusive scan
//! (no RisingWave or etcd line) as a failure, so exit codes 2 and 3 show too.
use crate::analysis::{Analysis, EXIT_INCONCLUSIVE};
use crate::report::{human, Context};
use std::fmt::Write;

pub fn render(analysis: &Analysis, context: &Context) -> String {
    let summary = &analysis.summary;
    let mut cases = String::new();
    let mut failures = 0;
    let mut errors = 0;

    let _ = write!(
        cases,
        "    <testcase name=\"inputs\" classname=\"rwdoctor\">"
    );
    if !summary.errors.is_empty() {
        errors += 1;
        let _ = write!(
            cases,
            "\n      <error message=\"{}\" type=\"error\">{}</error>\n    ",
            attribute(&summary.verdict),
            text(&summary.errors.join("\n"))
        );
    } else if summary.exit_code == EXIT_INCONCLUSIVE {
        failures += 1;
        let _ = write!(
            cases,
            "\n      <failure message=\"{}\" type=\"inconclusive\"/>\n    ",
            attribute(&summary.verdict)
        );
    } else {
        let _ = write!(
            cases,
            "\n      <system-out>{}</system-out>\n    ",
            text(&format!(
                "{} lines read, {} recognised",
                summary.lines_read, summary.lines_recognised
            ))
        );
    }
    cases.push_str("</testcase>\n");

    for rule in &context.rules.rules {
        let _ = write!(
            cases,
            "    <testcase name=\"{}\" classname=\"rwdoctor.{}\">",
            attribute(&format!("{}: {}", rule.id, rule.title)),
            rule.severity
        );
        if let Some(finding) = analysis.findings.iter().find(|f| f.rule == rule.id) {
            let body = text(&human::render_finding_classic(finding));
            let failing = context.fail_on.is_some_and(|t| finding.severity >= t);
            if failing {
                failures += 1;
                let _ = write!(
                    cases,
                    "\n      <failure message=\"{}\" type=\"{}\">{body}</failure>\n    ",
                    attribute(&format!(
                        "{} ({} incident{})",
                        finding.title,
                        finding.count,
                        crate::text::plural(finding.count as usize)
                    )),
                    finding.severity
                );
            } else {
                let _ = write!(cases, "\n      <system-out>{body}</system-out>\n    ");
            }
        }
        cases.push_str("</testcase>\n");
    }

    let tests = context.rules.rules.len() + 1;
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\"");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"rwdoctor\" {counts}>");
    let _ = writeln!(
        out,
        "  <testsuite name=\"rwdoctor\" {counts} skipped=\"0\">"
    );
    out.push_str("    <properties>\n");
    for (name, value) in [
        (
            "fail_on",
            context.fail_on.map_or("never", |s| s.as_str()).to_string(),
        ),
        ("exit_code", summary.exit_code.to_string()),
        ("verdict", summary.verdict.clone()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attribute(&value)
        );
    }
    out.push_str("    </properties>\n");
    out.push_str(&cases);
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Character data: `&` and `<` escaped (and `>`, for `]]>`), and characters
/// XML 1.0 forbids even escaped (most control characters, such as the ESC
/// of a coloured log line) replaced by U+FFFD.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(allowed(c)),
        }
    }
    out
}

/// Attribute values: quotes escaped too, and line breaks as character
/// references (a parser would turn a literal one into a space).
fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(allowed(c)),
        }
    }
    out
}

fn allowed(c: char) -> char {
    match c {
        '\t' | '\n' | '\r' => c,
        c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_forbidden_characters_are_escaped() {
        assert_eq!(
            text("a < b && c\u{1b}[31m"),
            "a &lt; b &amp;&amp; c\u{FFFD}[31m"
        );
        assert_eq!(
            attribute("say \"hi\"\n'x'"),
            "say &quot;hi&quot;&#10;&apos;x&apos;"
        );
    }
}

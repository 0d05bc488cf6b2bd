//! `rwdoctor explain RULE`: the rule as a page to read before (or without)
//! an incident: what it means, how it is recognised, the causes and how to
//! tell them apart, what to do. 80 columns, like the report.
use crate::analysis::EXIT_ERROR;
use crate::cli::Cli;
use crate::context::ClusterContext;
use crate::model::format_duration;
use crate::report::human::{render_remedy, section, wrap_hanging, wrap_into};
use crate::report::write_stdout;
use crate::rules::{MatchKind, Rule, RuleSet, RuleSource};
use colored::Colorize;
use std::fmt::Write;
use std::io::IsTerminal;

pub fn run(cli: &Cli, id: &str) -> u8 {
    let rules = RuleSet::load(&cli.rules_dirs);
    for error in &rules.errors {
        crate::messages::say(error);
    }
    match super::find_rule(&rules, id) {
        Ok(rule) => {
            colored::control::set_override(cli.color.enabled(std::io::stdout().is_terminal()));
            write_stdout(&page(rule));
            if rules.errors.is_empty() {
                crate::analysis::EXIT_CLEAN
            } else {
                EXIT_ERROR
            }
        }
        Err(message) => {
            crate::messages::say(message);
            EXIT_ERROR
        }
    }
}

pub fn page(rule: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", ClusterContext::placeholders(&rule.title).bold());
    // A file's path can be long: it gets a line of its own.
    let source = match &rule.source {
        RuleSource::Builtin => format!("{} · {} · built-in", rule.id, rule.severity),
        RuleSource::File(path) => {
            format!("{} · {}\nfrom {}", rule.id, rule.severity, path.display())
        }
    };
    let _ = writeln!(out, "{}", source.dimmed());
    out.push('\n');

    section(&mut out, "What it means");
    wrap_into(
        &mut out,
        &ClusterContext::placeholders(&rule.diagnosis),
        "    ",
    );
    out.push('\n');

    section(&mut out, "How rwdoctor recognises it");
    recognition(&mut out, rule);
    out.push('\n');

    if !rule.causes.is_empty() {
        section(&mut out, "Possible causes");
        for (number, cause) in rule.causes.iter().enumerate() {
            wrap_hanging(
                &mut out,
                &format!("{}. {}", number + 1, cause.title.bold()),
                "    ",
                "       ",
            );
            if !cause.explain.is_empty() {
                wrap_into(
                    &mut out,
                    &ClusterContext::placeholders(&cause.explain),
                    "       ",
                );
            }
            for (list, heading, mark) in [
                (&cause.supported_by, "Evidence for it (weight):", "+"),
                (&cause.refuted_by, "Evidence against it (weight):", "-"),
            ] {
                if list.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "       {heading}");
                for (signal, weight) in list {
                    wrap_hanging(
                        &mut out,
                        &format!("{mark} {} ({weight})", describe(rule, *signal)),
                        "         ",
                        "           ",
                    );
                }
            }
            if let Some(check) = &cause.when_no_evidence {
                wrap_hanging(
                    &mut out,
                    &format!("To check: {check}"),
                    "       ",
                    "         ",
                );
            }
        }
        out.push('\n');
    }

    if !rule.remedies.is_empty() {
        section(&mut out, "What to do");
        for (number, remedy) in rule.remedies.iter().enumerate() {
            let cause = remedy
                .cause
                .as_ref()
                .and_then(|id| rule.causes.iter().position(|c| &c.id == id))
                .map(|p| format!(" (cause {})", p + 1))
                .unwrap_or_default();
            let when = remedy.when.map_or(String::new(), |w| {
                format!(
                    " [{}{}]",
                    if remedy.lead { "first " } else { "" },
                    w.describe()
                )
            });
            render_remedy(
                &mut out,
                &format!(
                    "{}. {}{cause}{when}",
                    number + 1,
                    ClusterContext::placeholders(&remedy.text)
                ),
                remedy.config.as_ref(),
                &remedy.docs,
            );
        }
        out.push('\n');
    }

    if !rule.docs.is_empty() {
        section(&mut out, "Read more");
        for doc in &rule.docs {
            let _ = writeln!(out, "    {}", doc.underline());
        }
    }
    out
}

/// The signal's meaning, or its name.
fn describe(rule: &Rule, signal: usize) -> String {
    let signal = &rule.signals[signal];
    match &signal.describe {
        Some(text) => format!("{text} (`{}`)", signal.name),
        None => format!("`{}`", signal.name),
    }
}

/// The match pattern in words, one signal per line.
fn recognition(out: &mut String, rule: &Rule) {
    let pattern = &rule.pattern;
    let within = pattern
        .within
        .map(|w| format!(", within {}", format_duration(w)))
        .unwrap_or_default();
    let signals = |out: &mut String, list: &[usize], indent: &str| {
        for signal in list {
            wrap_hanging(
                out,
                &format!("- {}", describe(rule, *signal)),
                indent,
                &format!("{indent}  "),
            );
        }
    };
    match rule.match_kind {
        MatchKind::Any | MatchKind::NotFollowedBy => {
            let _ = writeln!(out, "    A line showing any of:");
            signals(out, &pattern.steps[0], "      ");
        }
        MatchKind::Count => {
            let _ = writeln!(
                out,
                "    At least {} lines{within}, showing any of:",
                pattern.at_least
            );
            signals(out, &pattern.steps[0], "      ");
        }
        MatchKind::Sequence => {
            let _ = writeln!(out, "    These steps in order{within}:");
            for (number, step) in pattern.steps.iter().enumerate() {
                let _ = writeln!(out, "    {}. any of:", number + 1);
                signals(out, step, "         ");
            }
        }
    }
    if !pattern.unless.is_empty() {
        let _ = writeln!(
            out,
            "    Not when followed within {} by any of:",
            format_duration(pattern.grace)
        );
        signals(out, &pattern.unless, "      ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_rule_explains_itself_within_80_columns() {
        colored::control::set_override(false);
        let rules = RuleSet::load(&[]);
        for rule in &rules.rules {
            let text = page(rule);
            assert!(text.contains(&rule.title), "{}", rule.id);
            assert!(text.contains("How rwdoctor recognises it"), "{}", rule.id);
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{}: {line}", rule.id);
            }
        }
        let page = page(rules.get("meta-leader-lease-lost").unwrap());
        assert!(
            page.contains("These steps in order, within 1m00s:"),
            "{page}"
        );
        assert!(
            page.contains("Not when followed within 10.0s by any of:"),
            "{page}"
        );
        assert!(page.contains("meta_leader_lease_secs = 86400"), "{page}");
    }
}

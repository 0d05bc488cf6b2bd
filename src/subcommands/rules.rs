//! `rwdoctor rules list|show|test|lint`.
use crate::analysis::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::cli::Cli;
use crate::report::write_stdout;
use crate::rules::lint::{self as linter, Level};
use crate::rules::{RuleFile, RuleSet, RuleSource};
use crate::ruletest;
use crate::ruletest::fixtures::{self, Expectation};
use crate::text::plural;
use colored::Colorize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

fn use_color(cli: &Cli) {
    colored::control::set_override(cli.color.enabled(std::io::stdout().is_terminal()));
}

/// Prints the rules' load errors on stderr; the exit code they imply.
fn report_load_errors(rules: &RuleSet) -> u8 {
    for error in &rules.errors {
        crate::messages::say(error);
    }
    if rules.errors.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_ERROR
    }
}

/// The rules grouped by source (built-in, then each file), one line each:
/// `ID  SEVERITY  TITLE`, the title wrapped to 80 columns.
pub fn list(cli: &Cli) -> u8 {
    use_color(cli);
    let rules = RuleSet::load(&cli.rules_dirs);
    let id_width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
    let title_at = 2 + id_width + 2 + 8 + 2;
    let room = crate::report::human::WIDTH.saturating_sub(title_at).max(20);
    let mut groups: BTreeMap<(bool, String), Vec<&crate::rules::Rule>> = BTreeMap::new();
    for rule in &rules.rules {
        let key = match &rule.source {
            RuleSource::Builtin => (false, "built-in".to_string()),
            RuleSource::File(path) => (true, path.display().to_string()),
        };
        groups.entry(key).or_default().push(rule);
    }
    let mut out = format!(
        "{}\n",
        format!("  {:id_width$}  {:8}  TITLE", "ID", "SEVERITY").bold()
    );
    for ((_, source), members) in &groups {
        let _ = writeln!(out, "{}", source.dimmed());
        for rule in members {
            let mut title = String::new();
            crate::report::human::wrap_to(&mut title, &rule.title, "", "", room);
            for (index, line) in title.lines().enumerate() {
                if index == 0 {
                    let severity = rule.severity.as_str();
                    let _ = writeln!(out, "  {:id_width$}  {severity:8}  {line}", rule.id);
                } else {
                    let _ = writeln!(out, "{:title_at$}{line}", "");
                }
            }
        }
    }
    write_stdout(&out);
    report_load_errors(&rules)
}

/// The rule's JSON definition, as written (built-in or from --rules).
pub fn show(cli: &Cli, id: &str) -> u8 {
    let rules = RuleSet::load(&cli.rules_dirs);
    let load = report_load_errors(&rules);
    match super::find_rule(&rules, id) {
        Ok(rule) => match serde_json::to_string_pretty(&rule.definition()) {
            Ok(json) => {
                write_stdout(&format!("{json}\n"));
                load
            }
            Err(err) => {
                crate::messages::say(format!("rule `{id}`: {err}"));
                EXIT_ERROR
            }
        },
        Err(message) => {
            crate::messages::say(message);
            EXIT_ERROR
        }
    }
}

/// Per rule: its own tests (match, no_match, scenarios) and the fixture
/// lines that name it. Exit 1 when one fails, 2 when a rule did not load.
pub fn test(cli: &Cli, dir: Option<&Path>) -> u8 {
    use_color(cli);
    // The rules under test, and those fixtures may name (built-in too).
    let (tested, known, fixture_dirs): (RuleSet, RuleSet, Vec<PathBuf>) = match dir {
        Some(dir) => {
            let mut all_dirs = cli.rules_dirs.clone();
            all_dirs.push(dir.to_path_buf());
            (
                RuleSet::load_dir_only(dir),
                RuleSet::load(&all_dirs),
                vec![dir.to_path_buf()],
            )
        }
        None => (
            RuleSet::load(&cli.rules_dirs),
            RuleSet::load(&cli.rules_dirs),
            cli.rules_dirs.clone(),
        ),
    };

    let mut results: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for rule in &tested.rules {
        let report = ruletest::run(rule);
        results.insert(
            rule.id.clone(),
            (
                report.passed,
                report.failures.into_iter().map(|f| f.what).collect(),
            ),
        );
    }
    let mut fixture_count = 0;
    let mut unreadable = Vec::new();
    for fixture_dir in &fixture_dirs {
        for path in fixtures::fixture_files(fixture_dir) {
            let text = match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(err) => {
                    unreadable.push(format!("{}: cannot read: {err}", path.display()));
                    continue;
                }
            };
            let expectations: Vec<Expectation> =
                fixtures::parse(&path.display().to_string(), &text);
            if !expectations.is_empty() {
                fixture_count += 1;
            }
            for expectation in expectations {
                let entry = results.entry(expectation.rule.clone()).or_default();
                match fixtures::check(&expectation, &known) {
                    Ok(()) => entry.0 += 1,
                    Err(failure) => entry.1.push(failure),
                }
            }
        }
    }

    let mut out = String::new();
    let id_width = results.keys().map(String::len).max().unwrap_or(0);
    let (mut checks, mut failed, mut failing_rules) = (0, 0, 0);
    for (id, (passed, failures)) in &results {
        let total = passed + failures.len();
        checks += total;
        failed += failures.len();
        let (badge, detail) = if !failures.is_empty() {
            failing_rules += 1;
            (
                "FAIL".red().bold(),
                format!(
                    "{} of {total} check{} failed",
                    failures.len(),
                    plural(total)
                ),
            )
        } else if total == 0 {
            ("NONE".yellow(), "no tests (add `tests.match` lines)".into())
        } else {
            ("PASS".green(), format!("{total} check{}", plural(total)))
        };
        let _ = writeln!(out, "{badge}  {id:id_width$}  {detail}");
        for failure in failures {
            crate::report::human::wrap_hanging(&mut out, failure, "      ", "        ");
        }
    }
    let load_errors: Vec<String> = tested
        .errors
        .iter()
        .chain(&known.errors)
        .map(ToString::to_string)
        .chain(unreadable)
        .fold(Vec::new(), |mut list, e| {
            if !list.contains(&e) {
                list.push(e);
            }
            list
        });
    for error in &load_errors {
        let text = format!("{} {error}", "ERROR".red().bold());
        crate::report::human::wrap_hanging(&mut out, &text, "", "      ");
    }
    let _ = writeln!(
        out,
        "\n{} rule{}, {} fixture file{}, {checks} check{}: {} passed, {failed} failed{}.",
        results.len(),
        plural(results.len()),
        fixture_count,
        plural(fixture_count),
        plural(checks),
        checks - failed,
        if load_errors.is_empty() {
            String::new()
        } else {
            format!(
                "; {} rule file{} could not be loaded",
                load_errors.len(),
                plural(load_errors.len())
            )
        }
    );
    write_stdout(&out);
    if !load_errors.is_empty() {
        EXIT_ERROR
    } else if failing_rules > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// Lints the rule files of `dir` (or the built-ins and --rules). Exit 1 on
/// an error, 0 with warnings only, 2 when a directory cannot be read.
pub fn lint(cli: &Cli, dir: Option<&Path>) -> u8 {
    use_color(cli);
    let mut files: Vec<RuleFile> = Vec::new();
    let mut unreadable = Vec::new();
    let dirs: Vec<PathBuf> = match dir {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            files.extend(crate::rules::builtin_rule_files());
            cli.rules_dirs.clone()
        }
    };
    for dir in &dirs {
        match crate::rules::read_rule_dir(dir) {
            Ok((found, errors)) => {
                files.extend(found);
                unreadable.extend(errors.into_iter().map(|e| e.to_string()));
            }
            Err(error) => unreadable.push(error.to_string()),
        }
    }
    let (lints, rules) = linter::lint(&files);

    let mut out = String::new();
    for lint in &lints {
        let label = match lint.level {
            Level::Error => "error:".red().bold(),
            Level::Warning => "warning:".yellow().bold(),
            Level::Note => "note:".cyan(),
        };
        crate::report::human::wrap_hanging(&mut out, &format!("{label} {lint}"), "", "    ");
    }
    for problem in &unreadable {
        let text = format!("{} {problem}", "error:".red().bold());
        crate::report::human::wrap_hanging(&mut out, &text, "", "    ");
    }
    let count = |level| lints.iter().filter(|l| l.level == level).count();
    let (errors, warnings) = (count(Level::Error), count(Level::Warning));
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} file{} ({} rule{} compiled): {errors} error{}, {warnings} warning{}.",
        files.len(),
        plural(files.len()),
        rules.len(),
        plural(rules.len()),
        plural(errors),
        plural(warnings)
    );
    write_stdout(&out);
    if !unreadable.is_empty() {
        EXIT_ERROR
    } else if errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

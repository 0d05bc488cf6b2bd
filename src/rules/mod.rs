//! Rules are data: JSON files in `rules/`, embedded at build time, plus any
//! `--rules DIR` that adds or overrides rules by id.
mod compile;
pub mod fixtures;
pub mod lint;
mod schema;
pub mod selftest;

pub use compile::{Cause, LazyRegex, Pattern, Remedy, Rule, RuleSource, Signal};
pub use schema::{ConfigSnippet, MatchKind, RuleDef, RuleTests, Scenario};

use std::fmt;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// One problem in one rule file. Loading goes on past it: every broken file is
/// reported, and the rules that did load are still used.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub file: String,
    pub rule_id: Option<String>,
    pub problem: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{}: rule `{}`: {}", self.file, id, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

/// The loaded rule set and every problem met while loading it.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub errors: Vec<RuleError>,
}

impl RuleSet {
    /// The built-in rules, then each directory's rules in order; a later rule
    /// with an existing id replaces the earlier one.
    pub fn load(extra_dirs: &[PathBuf]) -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_RULE_FILES {
            set.add_file(name, text, RuleSource::Builtin);
        }
        for dir in extra_dirs {
            set.add_dir(dir);
        }
        set.rules.sort_by(|a, b| a.id.cmp(&b.id));
        set
    }

    /// Only the rules in `dir` (for `rwdoctor rules test DIR`).
    pub fn load_dir_only(dir: &Path) -> RuleSet {
        let mut set = RuleSet::default();
        set.add_dir(dir);
        set.rules.sort_by(|a, b| a.id.cmp(&b.id));
        set
    }

    fn add_dir(&mut self, dir: &Path) {
        match read_rule_dir(dir) {
            Ok((files, errors)) => {
                self.errors.extend(errors);
                for file in &files {
                    self.add_file(&file.name, &file.text, file.source.clone());
                }
            }
            Err(error) => self.errors.push(error),
        }
    }

    fn add_file(&mut self, name: &str, text: &str, source: RuleSource) {
        match parse_rule(name, text, source) {
            Ok(rule) => {
                self.rules.retain(|existing| existing.id != rule.id);
                self.rules.push(rule);
            }
            Err(errors) => self.errors.extend(errors),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

/// One rule file as read, not yet parsed (`rules lint` looks at each).
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub name: String,
    pub text: String,
    pub source: RuleSource,
}

/// The built-in rule files, as embedded.
pub fn builtin_rule_files() -> Vec<RuleFile> {
    BUILTIN_RULE_FILES
        .iter()
        .map(|(name, text)| RuleFile {
            name: name.to_string(),
            text: text.to_string(),
            source: RuleSource::Builtin,
        })
        .collect()
}

/// The `*.json` files of `dir`, sorted, and the problems reading some of
/// them; Err when the directory itself cannot be read.
pub fn read_rule_dir(dir: &Path) -> Result<(Vec<RuleFile>, Vec<RuleError>), RuleError> {
    let entries = std::fs::read_dir(dir).map_err(|err| RuleError {
        file: dir.display().to_string(),
        rule_id: None,
        problem: format!(
            "cannot read rules directory: {}",
            crate::input::describe_io_error(&err)
        ),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => files.push(RuleFile {
                name,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                source: RuleSource::File(path),
            }),
            Err(err) => errors.push(RuleError {
                file: name,
                rule_id: None,
                problem: format!("cannot read: {err}"),
            }),
        }
    }
    Ok((files, errors))
}

/// Parses and compiles one rule file; every problem is reported.
pub fn parse_rule(name: &str, text: &str, source: RuleSource) -> Result<Rule, Vec<RuleError>> {
    let def: RuleDef = serde_json::from_str(text).map_err(|err| {
        vec![RuleError {
            file: name.to_string(),
            rule_id: sniff_rule_id(text),
            problem: format!(
                "invalid rule JSON at line {}, column {}: {}",
                err.line(),
                err.column(),
                strip_serde_position(&err.to_string())
            ),
        }]
    })?;
    Rule::compile(def, source).map_err(|problems| {
        problems
            .into_iter()
            .map(|(rule_id, problem)| RuleError {
                file: name.to_string(),
                rule_id: Some(rule_id),
                problem,
            })
            .collect()
    })
}

/// serde_json appends " at line L column C"; we print the position first.
fn strip_serde_position(message: &str) -> &str {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head)
}

/// Best effort: the `"id": "..."` of a file that failed to parse, so that the
/// error can still name the rule.
fn sniff_rule_id(text: &str) -> Option<String> {
    let re = regex::Regex::new(r#""id"\s*:\s*"([^"]+)""#).ok()?;
    re.captures(text).map(|caps| caps[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_all_load() {
        let set = RuleSet::load(&[]);
        assert!(set.errors.is_empty(), "{:#?}", set.errors);
        for id in [
            "meta-leader-lease-lost",
            "meta-election-retry",
            "meta-etcd-keepalive-errors",
            "meta-sql-election-lost",
            "etcd-request-too-large",
            "etcd-too-many-txn-ops",
            "etcd-db-space-exceeded",
            "etcd-slow-disk",
        ] {
            assert!(set.get(id).is_some(), "missing built-in rule {id}");
        }
    }

    #[test]
    fn every_builtin_and_fact_regex_compiles() {
        // Built-in rules are only parsed at load time (start-up speed), so
        // this is where a pattern the regex engine rejects would show.
        let set = RuleSet::load(&[]);
        for rule in &set.rules {
            for signal in &rule.signals {
                regex::Regex::new(signal.regex.as_str())
                    .unwrap_or_else(|e| panic!("{} {}: {e}", rule.id, signal.name));
            }
        }
        for (_, signal) in crate::facts::signals() {
            regex::Regex::new(signal.regex.as_str()).unwrap();
        }
    }

    #[test]
    fn bad_json_names_file_rule_and_position() {
        let mut set = RuleSet::default();
        set.add_file(
            "x.json",
            "{\n  \"id\": \"broken\",\n  \"severity\": \"error\",,\n}",
            RuleSource::Builtin,
        );
        let err = &set.errors[0];
        assert_eq!(err.rule_id.as_deref(), Some("broken"));
        assert!(err.problem.contains("line 3, column"), "{}", err.problem);
        assert!(err
            .to_string()
            .starts_with("x.json: rule `broken`: invalid rule JSON"));
    }
}

//! Rules are data: JSON files in `rules/`, embedded at build time, plus any
//! `--rules DIR` that adds or overrides rules by id.
mod compile;
pub mod lint;
mod schema;

pub use compile::{Cause, LazyRegex, Pattern, Remedy, Rule, RuleSource, Signal};
pub use schema::{
    Component, ConfigSnippet, MatchKind, NeedsLog, RemedyCondition, RuleDef, RuleTests, Scenario,
    Topic,
};

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
include!(concat!(env!("OUT_DIR"), "/builtin_literals.rs"));

/// `literals::required_literals(pattern)` as build.rs computed it, when
/// `pattern` is a built-in signal's regex (a binary search of the table);
/// `None` for any other pattern, which the caller parses itself.
pub fn builtin_required_literals(pattern: &str) -> Option<Option<Vec<Vec<u8>>>> {
    let at = BUILTIN_REQUIRED_LITERALS
        .binary_search_by(|(known, _)| (*known).cmp(pattern))
        .ok()?;
    Some(
        BUILTIN_REQUIRED_LITERALS[at]
            .1
            .map(|set| set.iter().map(|l| l.to_vec()).collect()),
    )
}

/// `literals::literal_alternation(pattern)` as build.rs computed it, when
/// `pattern` is a built-in signal's regex that is only literals; `None`
/// for any other pattern (it keeps its regex).
pub fn builtin_literal_form(pattern: &str) -> Option<crate::literals::LiteralAlternation> {
    let at = BUILTIN_LITERAL_FORMS
        .binary_search_by(|(known, _)| (*known).cmp(pattern))
        .ok()?;
    let alternatives = BUILTIN_LITERAL_FORMS[at]
        .1
        .iter()
        .map(|(text, edges)| crate::literals::LiteralBranch {
            text: text.to_string(),
            edges: *edges,
        })
        .collect();
    Some(crate::literals::LiteralAlternation { alternatives })
}

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
    /// Position of each id in `rules`: replacing a rule by id stays linear
    /// in the size of the pack (10,000 rules were quadratic in `memcmp`).
    positions: HashMap<String, usize>,
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
        set.sort_by_id();
        set
    }

    /// The rules of `load`, or (`builtin` false: `--no-builtin-rules`)
    /// those of the directories alone.
    pub fn load_with(builtin: bool, extra_dirs: &[PathBuf]) -> RuleSet {
        if builtin {
            return RuleSet::load(extra_dirs);
        }
        let mut set = RuleSet::default();
        for dir in extra_dirs {
            set.add_dir(dir);
        }
        set.sort_by_id();
        set
    }

    /// A set of these rules alone (tests, and a rule's own tests).
    pub fn of(rules: Vec<Rule>) -> RuleSet {
        let mut set = RuleSet {
            rules,
            ..RuleSet::default()
        };
        set.sort_by_id();
        set
    }

    fn sort_by_id(&mut self) {
        // Ids are unique here: an unstable sort gives the same order without
        // a buffer of half the pack.
        self.rules.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        if self.rules.len() > compile::MAX_RULES {
            let refused = self.rules.split_off(compile::MAX_RULES);
            self.errors.push(RuleError {
                file: "--rules".into(),
                rule_id: None,
                problem: format!(
                    "{} rules in all; at most {} can be loaded: {} rules from `{}` on \
                     (by id) were not loaded",
                    compile::MAX_RULES + refused.len(),
                    compile::MAX_RULES,
                    refused.len(),
                    refused[0].id
                ),
            });
        }
        self.positions = (self.rules.iter().enumerate())
            .map(|(at, rule)| (rule.id.clone(), at))
            .collect();
    }

    /// Only the rules in `dir` (for `rwdoctor rules test DIR`).
    pub fn load_dir_only(dir: &Path) -> RuleSet {
        let mut set = RuleSet::default();
        set.add_dir(dir);
        set.sort_by_id();
        set
    }

    /// A directory's rules replace earlier ones (built-in, other
    /// directories) by id; two files of the same directory defining one id
    /// is an error (the later file's rule is used, as `rules lint` says).
    fn add_dir(&mut self, dir: &Path) {
        match read_rule_dir(dir) {
            Ok((files, errors)) => {
                self.errors.extend(errors);
                let mut defined_here: HashMap<String, String> = HashMap::new();
                for file in &files {
                    let Some(id) = self.add_file(&file.name, &file.text, file.source.clone())
                    else {
                        continue;
                    };
                    if let Some(other) = defined_here.get(&id) {
                        let at = id_position(&file.text).map_or(String::new(), |(line, column)| {
                            format!("at line {line}, column {column}: ")
                        });
                        self.errors.push(RuleError {
                            file: file.name.clone(),
                            rule_id: Some(id.clone()),
                            problem: format!(
                                "{at}duplicate id: {other} defines it too; the rule of this file is used"
                            ),
                        });
                    }
                    defined_here.entry(id).or_insert_with(|| file.name.clone());
                }
            }
            Err(error) => self.errors.push(error),
        }
    }

    /// Adds one rule file; returns the id of the rule it defined.
    fn add_file(&mut self, name: &str, text: &str, source: RuleSource) -> Option<String> {
        match parse_rule(name, text, source) {
            Ok(rule) => {
                let id = rule.id.clone();
                match self.positions.get(&id) {
                    Some(&at) => self.rules[at] = rule,
                    None => {
                        self.positions.insert(id.clone(), self.rules.len());
                        self.rules.push(rule);
                    }
                }
                Some(id)
            }
            Err(errors) => {
                self.errors.extend(errors);
                None
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.positions.get(id).map(|&at| &self.rules[at])
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
            crate::text::describe_io_error(&err)
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
                problem: format!("cannot read: {}", crate::text::describe_io_error(&err)),
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
            problem: describe_json_error(text, &err),
        }]
    })?;
    Rule::compile_from_text(def, source, text).map_err(|problems| {
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

/// Why a rule file is not a rule, with the position. serde_json's own words
/// mislead for a file that is not one object (an array is read as a rule
/// written as a list of its fields: "expected a string"), so those cases
/// are named first.
fn describe_json_error(text: &str, err: &serde_json::Error) -> String {
    if text.trim().is_empty() {
        return "invalid rule JSON at line 1, column 1: the file is empty; \
                a rule file holds one JSON object, `{\"id\": ...}`"
            .to_string();
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let found = match value {
            serde_json::Value::Object(_) => None,
            serde_json::Value::Array(_) => Some("an array (one rule per file)"),
            serde_json::Value::String(_) => Some("a string"),
            serde_json::Value::Number(_) => Some("a number"),
            serde_json::Value::Bool(_) => Some("a boolean"),
            serde_json::Value::Null => Some("null"),
        };
        if let Some(found) = found {
            let start = text.len() - text.trim_start().len();
            let (line, column) = position_of(text, start);
            return format!(
                "invalid rule JSON at line {line}, column {column}: \
                 a rule file holds one JSON object, `{{\"id\": ...}}`, not {found}"
            );
        }
    }
    format!(
        "invalid rule JSON at line {}, column {}: {}",
        err.line(),
        err.column(),
        strip_serde_position(&err.to_string())
    )
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where the `"id"` of a rule file is written, if it can be found.
fn id_position(text: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(r#""id"\s*:"#).ok()?;
    re.find(text).map(|m| position_of(text, m.start()))
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
    fn literal_signals_find_what_their_regex_finds() {
        // Every built-in pattern confirmed by its literals instead of its
        // regex, held to the regex's answer (match and span) on every line
        // of testdata/ and on each literal at word edges, inside words,
        // next to non-ASCII letters and overlapping itself.
        assert!(
            BUILTIN_LITERAL_FORMS.len() >= 50,
            "{}",
            BUILTIN_LITERAL_FORMS.len()
        );
        let lines = testdata_lines();
        let mut checked = 0;
        for (pattern, branches) in BUILTIN_LITERAL_FORMS {
            let form = builtin_literal_form(pattern).unwrap();
            let regex = regex::Regex::new(pattern).unwrap();
            let mut cases: Vec<String> = Vec::new();
            for (a, _) in branches.iter() {
                let inner: String = a.chars().skip(1).collect();
                for (before, after) in [
                    ("", ""),
                    ("x", ""),
                    ("", "x"),
                    (" ", " "),
                    ("é", ""),
                    ("", "é"),
                    ("_", "_"),
                    ("1", "."),
                    ("-", "("),
                    ("x", &*format!(" {a}")),
                    ("", a),
                    ("", &*inner),
                ] {
                    cases.push(format!("{before}{a}{after}"));
                }
            }
            for case in cases.iter().chain(&lines) {
                let expected = regex.find(case).map(|m| (m.start(), m.end()));
                assert_eq!(form.find(case), expected, "{pattern} on {case:?}");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    /// Every line of every file under testdata/.
    fn testdata_lines() -> Vec<String> {
        let mut lines = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read(&path) {
                    lines.extend(String::from_utf8_lossy(&text).lines().map(str::to_string));
                }
            }
        }
        lines
    }

    /// Every group's span of the first match.
    fn groups_full(regex: &regex::Regex, haystack: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let caps = regex.captures(haystack)?;
        Some(
            caps.iter()
                .map(|m| m.map(|m| (m.start(), m.end())))
                .collect(),
        )
    }

    fn groups_lite(
        regex: &regex_lite::Regex,
        haystack: &str,
    ) -> Option<Vec<Option<(usize, usize)>>> {
        let caps = regex.captures(haystack)?;
        Some(
            caps.iter()
                .map(|m| m.map(|m| (m.start(), m.end())))
                .collect(),
        )
    }

    #[test]
    fn lite_signals_find_what_their_regex_finds() {
        // Every built-in pattern (rules and facts) that is not only
        // literals is first searched by regex-lite on ASCII haystacks
        // (`LazyRegex`): held to regex's answer (match, span and every
        // group) on each testdata line holding one of its required
        // literals (the lines the matcher would check), on every 50th
        // line, and on its literals at word edges; then `LazyRegex`
        // itself, through both tiers, on the same lines and non-ASCII ones.
        let lines = testdata_lines();
        let mut patterns = 0;
        let mut checked = 0;
        for (pattern, required) in BUILTIN_REQUIRED_LITERALS {
            if builtin_literal_form(pattern).is_some() {
                continue;
            }
            assert!(pattern.is_ascii(), "{pattern}: a pattern for regex alone");
            let full = regex::Regex::new(pattern).unwrap();
            let lite = regex_lite::Regex::new(pattern)
                .unwrap_or_else(|e| panic!("{pattern}: regex-lite refuses it: {e}"));
            patterns += 1;
            let literals: Vec<String> = required
                .unwrap_or(&[])
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            let mut cases: Vec<String> = Vec::new();
            for literal in &literals {
                for (before, after) in [("", ""), ("x", "x"), (" ", " "), ("é", "é"), ("_", "1")]
                {
                    cases.push(format!("{before}{literal}{after}"));
                }
            }
            let holds = |line: &String| literals.iter().any(|l| line.contains(l.as_str()));
            let picked: Vec<&String> = lines
                .iter()
                .enumerate()
                .filter(|(i, line)| i % 50 == 0 || holds(line))
                .map(|(_, line)| line)
                .chain(&cases)
                .collect();
            for case in &picked {
                if case.is_ascii() {
                    assert_eq!(
                        lite.find(case).map(|m| (m.start(), m.end())),
                        full.find(case).map(|m| (m.start(), m.end())),
                        "{pattern} on {case:?}"
                    );
                    assert_eq!(
                        groups_lite(&lite, case),
                        groups_full(&full, case),
                        "{pattern} on {case:?}"
                    );
                    checked += 1;
                }
            }
            // Through LazyRegex: the lite tier until its budget is spent,
            // regex after; regex for non-ASCII haystacks all along.
            let lazy = LazyRegex::new(pattern);
            for case in picked.iter().cycle().take(picked.len().max(200)) {
                let expected = full.find(case).map(|m| (m.start(), m.end()));
                assert_eq!(lazy.find(case), expected, "{pattern} on {case:?}");
                assert_eq!(
                    lazy.is_match(case),
                    expected.is_some(),
                    "{pattern} on {case:?}"
                );
                let group = groups_full(&full, case).map(|g| {
                    g.iter()
                        .skip(1)
                        .flatten()
                        .next()
                        .copied()
                        .unwrap_or(g[0].unwrap())
                });
                assert_eq!(lazy.first_group(case), group, "{pattern} on {case:?}");
            }
        }
        assert!(patterns >= 80, "{patterns}");
        assert!(checked > 5_000, "{checked}");
    }

    #[test]
    fn the_build_time_literals_are_what_the_patterns_give() {
        assert!(BUILTIN_REQUIRED_LITERALS.len() > 100);
        assert!(BUILTIN_REQUIRED_LITERALS
            .windows(2)
            .all(|w| w[0].0 < w[1].0));
        for (pattern, _) in BUILTIN_REQUIRED_LITERALS {
            assert_eq!(
                builtin_required_literals(pattern),
                Some(crate::literals::required_literals(pattern)),
                "{pattern}"
            );
        }
        let set = RuleSet::load(&[]);
        for rule in &set.rules {
            for signal in &rule.signals {
                assert!(builtin_required_literals(signal.regex.as_str()).is_some());
            }
        }
        assert_eq!(builtin_required_literals("no such (pattern)"), None);
    }

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
    fn rules_past_what_a_hit_can_name_are_refused_not_misattributed() {
        let base = RuleSet::load(&[]).rules[0].clone();
        let rules: Vec<Rule> = (0..compile::MAX_RULES + 2)
            .map(|n| {
                let mut rule = base.clone();
                rule.id = format!("r-{n:06}");
                rule
            })
            .collect();
        let set = RuleSet::of(rules);
        assert_eq!(set.rules.len(), compile::MAX_RULES);
        assert_eq!(set.errors.len(), 1);
        assert!(
            set.errors[0].problem.contains("2 rules from `r-065536` on"),
            "{}",
            set.errors[0]
        );
        assert!(set.get("r-065535").is_some() && set.get("r-065536").is_none());
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

//! `rwdoctor rules lint`: checks rule files beyond "does it load". Errors
//! stop a rule from working (invalid JSON or schema, bad regex, unknown
//! signal, two files of one directory with the same id); warnings make it
//! weaker or slower (unused signals, no tests, no doc links, a signal the
//! literal prefilter cannot use).
use super::{parse_rule, Rule, RuleFile, RuleSource};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    /// Worth knowing, nothing to fix (a --rules file overriding a built-in).
    Note,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    pub level: Level,
    pub file: String,
    pub rule: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Lint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{}: rule `{rule}`: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Lints every file; the rules that compiled are returned too, in file order.
pub fn lint(files: &[RuleFile]) -> (Vec<Lint>, Vec<Rule>) {
    let mut lints = Vec::new();
    let mut rules = Vec::new();
    // id → (file, group) of its first definition.
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for file in files {
        let rule = match parse_rule(&file.name, &file.text, file.source.clone()) {
            Ok(rule) => rule,
            Err(errors) => {
                lints.extend(errors.into_iter().map(|e| Lint {
                    level: Level::Error,
                    file: e.file,
                    rule: e.rule_id,
                    message: e.problem,
                }));
                continue;
            }
        };
        let group = group_of(&file.source);
        let mut say = |level: Level, message: String| {
            lints.push(Lint {
                level,
                file: file.name.clone(),
                rule: Some(rule.id.clone()),
                message,
            })
        };
        match seen.get(&rule.id) {
            Some((other, other_group)) if *other_group == group => say(
                Level::Error,
                format!("duplicate id: {other} defines it too (one of them is ignored)"),
            ),
            Some((other, _)) => say(Level::Note, format!("replaces the rule of {other}")),
            None => {
                seen.insert(rule.id.clone(), (file.name.clone(), group));
            }
        }
        for message in warnings(&rule) {
            say(Level::Warning, message);
        }
        rules.push(rule);
    }
    (lints, rules)
}

/// Files of one group may not share an id; a later group replaces an
/// earlier one's rule on purpose (`--rules DIR` over the built-ins).
fn group_of(source: &RuleSource) -> String {
    match source {
        RuleSource::Builtin => "built-in".to_string(),
        RuleSource::File(path) => path.parent().unwrap_or(Path::new("")).display().to_string(),
    }
}

fn warnings(rule: &Rule) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut used = vec![false; rule.signals.len()];
    for signal in &rule.triggers {
        used[*signal] = true;
    }
    for cause in &rule.causes {
        for (signal, _) in cause.supported_by.iter().chain(&cause.refuted_by) {
            used[*signal] = true;
        }
    }
    for (signal, used) in rule.signals.iter().zip(used) {
        if !used {
            warnings.push(format!(
                "signal `{}` is used neither by `match` nor by any cause",
                signal.name
            ));
        }
    }
    for signal in &rule.signals {
        if crate::literals::required_literals(signal.regex.as_str()).is_none() {
            warnings.push(format!(
                "signal `{}`: its regex has no literal of 3 or more characters that \
                 every match contains, so the prefilter cannot skip lines for it and \
                 it is checked on every line of every input (slower scans); add a \
                 fixed word to it",
                signal.name
            ));
        }
    }
    for signal in &rule.signals {
        if uses_unicode_digits(signal.regex.as_str()) {
            warnings.push(format!(
                "signal `{}`: `\\d` matches every Unicode digit (about 70 ranges of \
                 them), which makes its regex about three times slower to compile, \
                 and start-up is most of a small input's scan; numbers in logs are \
                 ASCII: write [0-9]",
                signal.name
            ));
        }
    }
    let tests = &rule.tests;
    if tests.must_match.is_empty() {
        warnings.push(
            "has no tests: add `tests.match` lines (real log lines its signals must \
             match), and `no_match` lines and `scenarios`"
                .to_string(),
        );
    }
    if rule.docs.is_empty() && rule.remedies.iter().all(|r| r.docs.is_empty()) {
        warnings.push(
            "has no doc links: add `docs` to the rule or to a remedy, so that readers \
             can check the diagnosis"
                .to_string(),
        );
    }
    warnings
}

/// Whether `pattern` holds a class made of Unicode's `\d` (`\d`, `\D`,
/// `[\d.]`; not `(?-u:\d)`, `[0-9]`, nor the classes that hold letters too,
/// such as `\w` or `\S`, whose cost is another matter), found in its
/// parsed form.
fn uses_unicode_digits(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};
    let Ok(HirKind::Class(Class::Unicode(digits))) = regex_syntax::parse(r"\d").map(Hir::into_kind)
    else {
        return false;
    };
    let holds_all = |class: &ClassUnicode, of: &ClassUnicode| {
        let mut common = class.clone();
        common.intersect(of);
        common == *of
    };
    let letter = ClassUnicode::new([ClassUnicodeRange::new('é', 'é')]);
    let digit_class = |class: &ClassUnicode| {
        let mut negated = class.clone();
        negated.negate();
        let digits_only = |c: &ClassUnicode| holds_all(c, &digits) && !holds_all(c, &letter);
        digits_only(class) || digits_only(&negated)
    };
    fn any_class(hir: &Hir, found: &dyn Fn(&ClassUnicode) -> bool) -> bool {
        match hir.kind() {
            HirKind::Class(Class::Unicode(class)) => found(class),
            HirKind::Repetition(r) => any_class(&r.sub, found),
            HirKind::Capture(c) => any_class(&c.sub, found),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => {
                subs.iter().any(|sub| any_class(sub, found))
            }
            _ => false,
        }
    }
    regex_syntax::parse(pattern).is_ok_and(|hir| any_class(&hir, &digit_class))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(dir: &str, name: &str, text: &str) -> RuleFile {
        let path = PathBuf::from(dir).join(name);
        RuleFile {
            name: path.display().to_string(),
            text: text.to_string(),
            source: RuleSource::File(path),
        }
    }

    const GOOD: &str = r#"{
        "id": "t", "severity": "error", "title": "T", "diagnosis": "D",
        "docs": ["https://example.com"],
        "signals": {"a": {"regex": "alpha happened"}},
        "match": {"type": "any", "signals": ["a"]},
        "tests": {"match": ["alpha happened"]}
    }"#;

    #[test]
    fn builtin_rules_lint_without_errors() {
        let (lints, rules) = lint(&super::super::builtin_rule_files());
        let errors: Vec<&Lint> = lints.iter().filter(|l| l.level == Level::Error).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(rules.len() >= 8);
    }

    #[test]
    fn a_good_rule_is_clean() {
        let (lints, _) = lint(&[file("d", "t.json", GOOD)]);
        assert!(lints.is_empty(), "{lints:#?}");
    }

    #[test]
    fn every_weakness_is_named() {
        let weak = GOOD
            .replace(r#""docs": ["https://example.com"],"#, "")
            .replace(
                r#""signals": {"a": {"regex": "alpha happened"}}"#,
                r#""signals": {"a": {"regex": "alpha happened"}, "spare": {"regex": "\\d+"}}"#,
            )
            .replace(
                r#""tests": {"match": ["alpha happened"]}"#,
                r#""tests": {}"#,
            );
        let (lints, _) = lint(&[file("d", "t.json", &weak)]);
        let text: Vec<String> = lints.iter().map(ToString::to_string).collect();
        assert!(lints.iter().all(|l| l.level == Level::Warning), "{text:#?}");
        for needle in [
            "signal `spare` is used neither",
            "signal `spare`: its regex has no literal",
            "signal `spare`: `\\d` matches every Unicode digit",
            "has no tests",
            "has no doc links",
        ] {
            assert!(
                text.iter().any(|t| t.contains(needle)),
                "{needle}: {text:#?}"
            );
        }
    }

    #[test]
    fn unicode_digits_are_found_where_they_are_and_only_there() {
        for pattern in [
            r"\d+",
            r"lease (\d+) x",
            r"a|[\d.]b",
            r"\D",
            r"(?:x\d)?",
            r"[\d\s]",
        ] {
            assert!(uses_unicode_digits(pattern), "{pattern}");
        }
        for pattern in [r"[0-9]+", r"(?-u:\d)+", r"\\d", r"d+", r"\w+", r"\S", r"."] {
            assert!(!uses_unicode_digits(pattern), "{pattern}");
        }
    }

    #[test]
    fn duplicates_in_one_directory_are_errors_across_directories_notes() {
        let (lints, _) = lint(&[file("d", "a.json", GOOD), file("d", "b.json", GOOD)]);
        assert_eq!(lints.len(), 1);
        assert_eq!(lints[0].level, Level::Error);
        assert!(lints[0]
            .message
            .contains("duplicate id: d/a.json defines it too"));
        let (lints, _) = lint(&[file("d", "a.json", GOOD), file("e", "a.json", GOOD)]);
        assert_eq!(lints[0].level, Level::Note);
    }
}

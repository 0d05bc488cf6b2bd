//! Validates a `RuleDef` and turns it into a `Rule` whose signals are compiled
//! regexes and whose names are resolved to indices.
use super::schema::{
    Component, MatchDef, MatchKind, RemedyDef, RuleDef, RuleTests, Topic, WeightedSignal,
};
use crate::model::{parse_duration, Level, Severity};
use regex::Regex;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum RuleSource {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleSource::Builtin => f.write_str("built-in"),
            RuleSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A regex compiled on first use. Most signals never meet a candidate line in
/// a given log, and compiling ~100 regexes up front was most of the start-up
/// time on a small input. User rule files are compiled when they load, so a
/// bad pattern is reported at once; built-in ones are compiled by `cargo
/// test`. Compiling later therefore cannot fail.
///
/// A built-in pattern that is only literals (`literals::literal_alternation`,
/// 107 of the pack's 188) is never compiled for `find` and `is_match`: the
/// literals are searched for instead (a test holds the two to the same
/// answers).
///
/// Any other pattern is first run by `regex-lite` (`Tier::Lite`): it
/// compiles in a tenth of the time (`regex` builds a forward and a reverse
/// automaton, literal prefilters and a one-pass DFA, 0.55 million
/// instructions a pattern of the pack), but searches ten times slower, and
/// knows only ASCII classes and word boundaries. So it answers only for an
/// ASCII pattern on an ASCII haystack, where the two engines agree (a test
/// holds them to the same matches, spans and groups on every line of
/// `testdata/`), and only until it has searched `LITE_BUDGET` bytes: then
/// the pattern is compiled by `regex`, which answers from then on. A small
/// input's few candidate lines never pay for a full compile; a large one
/// pays for it once, after a few lines.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: std::sync::Arc<str>,
    compiled: std::sync::Arc<std::sync::OnceLock<Regex>>,
    literal: Option<std::sync::Arc<crate::literals::LiteralAlternation>>,
    lite: std::sync::Arc<LiteTier>,
}

/// Bytes of haystack `regex-lite` searches for one pattern before `regex`
/// compiles it: about the cost of that compile at regex-lite's speed.
const LITE_BUDGET: usize = 4096;

/// `regex-lite`'s form of a pattern and the bytes it may still search.
#[derive(Debug, Default)]
struct LiteTier {
    /// Compiled on first use; `None` when the pattern is not ASCII or
    /// `regex-lite` does not take it.
    regex: std::sync::OnceLock<Option<regex_lite::Regex>>,
    /// Haystack bytes searched so far.
    spent: std::sync::atomic::AtomicUsize,
}

/// Which engine answers a search.
enum Tier<'a> {
    Literal(&'a crate::literals::LiteralAlternation),
    Lite(&'a regex_lite::Regex),
    Full(&'a Regex),
}

impl LazyRegex {
    pub fn new(pattern: &str) -> LazyRegex {
        LazyRegex {
            pattern: pattern.into(),
            compiled: Default::default(),
            literal: super::builtin_literal_form(pattern).map(std::sync::Arc::new),
            lite: Default::default(),
        }
    }

    /// Checks that `pattern` compiles, reporting a bad one; the compiled
    /// regex is not kept (a pack of 10,000 rules held 14.5 MiB of regexes
    /// whose literals never appeared): it is compiled again when a scan
    /// needs it.
    pub fn validated(pattern: &str) -> Result<LazyRegex, regex::Error> {
        Regex::new(pattern)?;
        Ok(LazyRegex::new(pattern))
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The pattern compiled by `regex`.
    pub fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            // Validated at load time; a never-matching regex keeps a
            // (theoretical) late failure from crashing a scan.
            Regex::new(&self.pattern).unwrap_or_else(|_| Regex::new(r"[^\s\S]").expect("valid"))
        })
    }

    /// `regex-lite`'s form of an ASCII pattern it takes.
    fn lite_regex(&self) -> Option<&regex_lite::Regex> {
        self.lite
            .regex
            .get_or_init(|| {
                self.pattern
                    .is_ascii()
                    .then(|| regex_lite::Regex::new(&self.pattern).ok())
                    .flatten()
            })
            .as_ref()
    }

    /// The engine for a search of `haystack` (see the type's comment).
    fn tier(&self, haystack: &str) -> Tier<'_> {
        if let Some(literal) = &self.literal {
            return Tier::Literal(literal);
        }
        if let Some(full) = self.compiled.get() {
            return Tier::Full(full);
        }
        if haystack.is_ascii() {
            if let Some(lite) = self.lite_regex() {
                let spent = self
                    .lite
                    .spent
                    .fetch_add(haystack.len(), std::sync::atomic::Ordering::Relaxed);
                if spent + haystack.len() <= LITE_BUDGET {
                    return Tier::Lite(lite);
                }
            }
        }
        Tier::Full(self.get())
    }

    /// The first match, as the regex gives it: its byte range.
    pub fn find(&self, haystack: &str) -> Option<(usize, usize)> {
        match self.tier(haystack) {
            Tier::Literal(literal) => literal.find(haystack),
            Tier::Lite(lite) => lite.find(haystack).map(|m| (m.start(), m.end())),
            Tier::Full(full) => full.find(haystack).map(|m| (m.start(), m.end())),
        }
    }

    pub fn is_match(&self, haystack: &str) -> bool {
        match self.tier(haystack) {
            Tier::Literal(literal) => literal.find(haystack).is_some(),
            Tier::Lite(lite) => lite.is_match(haystack),
            Tier::Full(full) => full.is_match(haystack),
        }
    }

    /// The span of the first capture group that took part in the first
    /// match, or of the whole match when none did.
    pub fn first_group(&self, haystack: &str) -> Option<(usize, usize)> {
        match self.tier(haystack) {
            // A literal pattern has no group: its match is the answer.
            Tier::Literal(literal) => literal.find(haystack),
            Tier::Lite(lite) => first_group_of(
                lite.captures(haystack)?
                    .iter()
                    .map(|m| m.map(|m| (m.start(), m.end()))),
            ),
            Tier::Full(full) => first_group_of(
                full.captures(haystack)?
                    .iter()
                    .map(|m| m.map(|m| (m.start(), m.end()))),
            ),
        }
    }
}

/// Of a match's groups (the whole match first), the first group that took
/// part, else the whole match.
fn first_group_of(
    mut groups: impl Iterator<Item = Option<(usize, usize)>>,
) -> Option<(usize, usize)> {
    let whole = groups.next().flatten()?;
    Some(groups.flatten().next().unwrap_or(whole))
}

#[derive(Debug, Clone)]
pub struct Signal {
    pub name: String,
    pub regex: LazyRegex,
    pub levels: Vec<Level>,
    pub target: Option<Regex>,
    pub describe: Option<String>,
    pub from: Option<Component>,
}

impl Signal {
    /// The match in `message`, if the record passes the level and target
    /// filters (a record that lacks a level or target passes them).
    pub fn matches(
        &self,
        level: Option<Level>,
        target: Option<&str>,
        message: &str,
    ) -> Option<(usize, usize)> {
        if self.accepts(level, target) {
            self.regex.find(message)
        } else {
            None
        }
    }

    /// `matches(..).is_some()`, cheaper: no search for where the match
    /// starts.
    pub fn is_match(&self, level: Option<Level>, target: Option<&str>, message: &str) -> bool {
        self.accepts(level, target) && self.regex.is_match(message)
    }

    /// The level and target conditions (the regex aside).
    pub fn accepts(&self, level: Option<Level>, target: Option<&str>) -> bool {
        let level_ok = match level {
            Some(level) => self.levels.is_empty() || self.levels.contains(&level),
            None => true,
        };
        let target_ok = match (&self.target, target) {
            (Some(re), Some(target)) => re.is_match(target),
            _ => true,
        };
        level_ok && target_ok
    }
}

/// How trigger signals combine. Every match kind compiles to this one shape:
/// `any` is one step, `count` is one step seen `at_least` times, `sequence` is
/// several steps, and `not_followed_by` is any plus `unless`.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub steps: Vec<Vec<usize>>,
    pub at_least: u32,
    /// First to last event of the incident; `None`: no limit.
    pub within: Option<chrono::Duration>,
    /// The incident is dropped when one of these follows within `grace`.
    pub unless: Vec<usize>,
    pub grace: chrono::Duration,
    /// A half-built sequence is abandoned when one of these is seen.
    pub not_between: Vec<usize>,
    /// Steps count only within one source (input and origin).
    pub same_source: bool,
    /// Every step is the signal that made the first.
    pub same_signal: bool,
}

#[derive(Debug, Clone)]
pub struct Cause {
    pub id: String,
    pub title: String,
    pub explain: String,
    pub supported_by: Vec<(usize, f64)>,
    pub refuted_by: Vec<(usize, f64)>,
    pub when_no_evidence: Option<String>,
    /// Any of these logs would show the cause (empty: RisingWave's own).
    pub needs_log: Vec<Component>,
}

pub type Remedy = RemedyDef;

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub diagnosis: String,
    pub docs: Vec<String>,
    pub topic: Option<Topic>,
    pub signals: Vec<Signal>,
    pub pattern: Pattern,
    /// Signals that take part in the pattern (including `unless`).
    pub triggers: Vec<usize>,
    /// Fixed window, or (with `cause_window_lease_margin`) the minimum.
    pub cause_window: chrono::Duration,
    /// `lease+M`: the window is the lease in force plus M.
    pub cause_window_lease_margin: Option<chrono::Duration>,
    pub causes: Vec<Cause>,
    pub remedies: Vec<Remedy>,
    /// (incidents, severity): the finding's severity once the rule found
    /// that many incidents.
    pub escalate: Option<(u64, Severity)>,
    pub tests: RuleTests,
    pub source: RuleSource,
    /// How the signals combine, as written (`explain` words it).
    pub match_kind: MatchKind,
    /// The definition as written, as JSON (the rule file's text, or compact
    /// JSON), for `rules show` (`Rule::definition`). Kept as text: the parsed form cost 1.5 KiB a
    /// rule in map nodes alone, 16 MiB for a pack of 10,000.
    definition_json: std::sync::Arc<str>,
}

/// Hits name a rule and its signal in 16 bits each (`matcher::SignalRef`,
/// also in the spill file): past these, a line would be credited to the
/// wrong rule, so the rules past them are refused at load.
pub const MAX_RULES: usize = u16::MAX as usize + 1;
pub const MAX_SIGNALS_PER_RULE: usize = u16::MAX as usize + 1;

const DEFAULT_CAUSE_WINDOW_SECS: i64 = 120;
const DEFAULT_GRACE_SECS: i64 = 10;

impl Rule {
    /// Every problem is reported, not just the first, as `(rule id, problem)`.
    /// A short sequence of named steps: the signals, the names the rule
    /// uses resolved to them, the checks of each part, then the pattern.
    pub fn compile(def: RuleDef, source: RuleSource) -> Result<Rule, Vec<(String, String)>> {
        Rule::compile_written(def, source, None)
    }

    /// `compile`, with the JSON text `def` was parsed from: kept as it is
    /// for `definition` (it parses to the same definition), not written
    /// again (writing every rule back to JSON was a tenth of the start-up
    /// on a small input).
    pub fn compile_from_text(
        def: RuleDef,
        source: RuleSource,
        text: &str,
    ) -> Result<Rule, Vec<(String, String)>> {
        Rule::compile_written(def, source, Some(text))
    }

    fn compile_written(
        def: RuleDef,
        source: RuleSource,
        text: Option<&str>,
    ) -> Result<Rule, Vec<(String, String)>> {
        let mut problems = Problems {
            id: def.id.clone(),
            list: Vec::new(),
        };
        check_header(&def, &mut problems);
        let signals = compile_signals(&def, &source, &mut problems);

        let names: Vec<&str> = def.signals.keys().map(String::as_str).collect();
        let mut resolve =
            |list: &[String], context: &str| resolve(&names, list, context, &mut problems);
        let when = &def.when;
        let steps: Vec<Vec<usize>> = match when.kind {
            MatchKind::Sequence => when
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| resolve(step, &format!("match.steps[{i}]")))
                .collect(),
            _ => vec![resolve(&when.signals, "match.signals")],
        };
        let unless = resolve(&when.not_followed_by, "match.not_followed_by");
        let not_between = resolve(&when.not_between, "match.not_between");
        let support: Vec<Vec<(usize, f64)>> = def
            .causes
            .iter()
            .map(|cause| weighted(&mut resolve, &cause.supported_by, &cause.id, "supported_by"))
            .collect();
        let refute: Vec<Vec<(usize, f64)>> = def
            .causes
            .iter()
            .map(|cause| weighted(&mut resolve, &cause.refuted_by, &cause.id, "refuted_by"))
            .collect();

        let within = problems.duration("match.within", &when.within);
        let grace = problems.duration("match.grace", &when.grace);
        let (cause_window, lease_margin) = match def.cause_window.as_deref() {
            Some(text) if text.starts_with("lease+") => (
                None,
                problems.duration("cause_window", &Some(text["lease+".len()..].to_string())),
            ),
            _ => (problems.duration("cause_window", &def.cause_window), None),
        };
        check_match(&def, &mut problems);
        check_causes(&def, &mut problems);
        check_remedies(&def, &mut problems);
        if !problems.list.is_empty() {
            return Err(problems.list);
        }

        let pattern = build_pattern(when, steps, unless, not_between, within, grace);
        let mut triggers: Vec<usize> = pattern.steps.iter().flatten().copied().collect();
        triggers.extend(&pattern.unless);
        triggers.extend(&pattern.not_between);
        triggers.sort_unstable();
        triggers.dedup();

        let causes = def
            .causes
            .iter()
            .zip(support.into_iter().zip(refute))
            .map(|(cause, (supported_by, refuted_by))| Cause {
                id: cause.id.clone(),
                title: cause.title.clone(),
                explain: cause.explain.clone(),
                supported_by,
                refuted_by,
                when_no_evidence: cause.when_no_evidence.clone(),
                needs_log: cause
                    .needs_log
                    .as_ref()
                    .map(|n| n.components())
                    .unwrap_or_default(),
            })
            .collect();

        Ok(Rule {
            id: def.id.clone(),
            severity: def.severity,
            title: def.title.clone(),
            diagnosis: def.diagnosis.clone(),
            docs: def.docs.clone(),
            topic: def.topic,
            signals,
            pattern,
            triggers,
            cause_window: cause_window
                .unwrap_or_else(|| chrono::Duration::seconds(DEFAULT_CAUSE_WINDOW_SECS)),
            cause_window_lease_margin: lease_margin,
            causes,
            remedies: def.remedies.clone(),
            escalate: def.escalate.as_ref().map(|e| (e.incidents, e.severity)),
            tests: def.tests.clone(),
            source,
            match_kind: def.when.kind,
            definition_json: match text {
                Some(text) => text.into(),
                None => serde_json::to_string(&def).unwrap_or_default().into(),
            },
        })
    }

    /// The definition as written (parsed again from its JSON).
    pub fn definition(&self) -> Option<RuleDef> {
        serde_json::from_str(&self.definition_json).ok()
    }

    /// How far before an incident cause evidence counts, given the lease.
    pub fn cause_window_for(&self, lease_secs: u64) -> chrono::Duration {
        match self.cause_window_lease_margin {
            // A one-day lease would mean a one-day window: an hour is plenty.
            Some(margin) => (chrono::Duration::seconds(lease_secs.min(86_400) as i64) + margin)
                .min(chrono::Duration::hours(1)),
            None => self.cause_window,
        }
    }

    /// The severity of a finding of `incidents` incidents.
    pub fn severity_for(&self, incidents: u64) -> Severity {
        match self.escalate {
            Some((at_least, severity)) if incidents >= at_least => severity,
            _ => self.severity,
        }
    }

    /// Signals used only as cause evidence, never in the pattern.
    pub fn is_trigger(&self, signal: usize) -> bool {
        self.triggers.binary_search(&signal).is_ok()
    }
}

/// Every problem met while compiling one rule, each with the rule's id.
struct Problems {
    id: String,
    list: Vec<(String, String)>,
}

impl Problems {
    fn add(&mut self, text: String) {
        self.list.push((self.id.clone(), text));
    }

    /// A duration field, or None with the problem noted.
    fn duration(&mut self, field: &str, value: &Option<String>) -> Option<chrono::Duration> {
        let text = value.as_deref()?;
        match parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(err) => {
                self.add(format!("{field}: {err}"));
                None
            }
        }
    }
}

/// The id and the number of signals.
fn check_header(def: &RuleDef, problems: &mut Problems) {
    if !is_valid_id(&def.id) {
        problems.add(format!(
            "id `{}` must be lowercase letters, digits and dashes",
            def.id
        ));
    }
    if def.signals.is_empty() {
        problems.add("has no signals".into());
    }
    if def.signals.len() > MAX_SIGNALS_PER_RULE {
        problems.add(format!(
            "has {} signals; at most {MAX_SIGNALS_PER_RULE} are allowed",
            def.signals.len()
        ));
    }
}

/// Each signal's regex (checked now for a user's rule file), levels and
/// target; a signal with a bad regex is left out, and said.
fn compile_signals(def: &RuleDef, source: &RuleSource, problems: &mut Problems) -> Vec<Signal> {
    let mut signals = Vec::with_capacity(def.signals.len());
    for (name, signal) in &def.signals {
        let checked = match source {
            // Built-in patterns ship with the binary and are compiled
            // by `cargo test` (rules::tests): no need to at every start.
            RuleSource::Builtin => Ok(LazyRegex::new(&signal.regex)),
            RuleSource::File(_) => LazyRegex::validated(&signal.regex).map_err(|e| e.to_string()),
        };
        let regex = match checked {
            Ok(regex) => regex,
            Err(err) => {
                problems.add(format!(
                    "signal `{name}`: invalid regex: {}",
                    one_line(&err.to_string())
                ));
                continue;
            }
        };
        let mut levels = Vec::new();
        for level in &signal.levels {
            match level.parse::<Level>() {
                Ok(level) => levels.push(level),
                Err(err) => problems.add(format!("signal `{name}`: {err}")),
            }
        }
        let target = match signal.target.as_deref().map(Regex::new).transpose() {
            Ok(target) => target,
            Err(err) => {
                problems.add(format!(
                    "signal `{name}`: invalid target regex: {}",
                    one_line(&err.to_string())
                ));
                None
            }
        };
        signals.push(Signal {
            name: name.clone(),
            regex,
            levels,
            target,
            describe: signal.describe.clone(),
            from: signal.from,
        });
    }
    signals
}

/// Signal names → their indexes; an unknown name is a problem.
fn resolve(names: &[&str], list: &[String], context: &str, problems: &mut Problems) -> Vec<usize> {
    list.iter()
        .filter_map(|name| match names.iter().position(|known| known == name) {
            Some(index) => Some(index),
            None => {
                problems.add(format!(
                    "{context} names unknown signal `{name}` (known: {})",
                    names.join(", ")
                ));
                None
            }
        })
        .collect()
}

/// What each match type needs, and the fields only some types take.
fn check_match(def: &RuleDef, problems: &mut Problems) {
    let when = &def.when;
    match when.kind {
        MatchKind::Any => {}
        MatchKind::Sequence => {
            if when.steps.len() < 2 {
                problems.add("match type `sequence` needs at least two steps".into());
            }
            if when.steps.iter().any(Vec::is_empty) {
                problems.add("match.steps has an empty step".into());
            }
            if when.within.is_none() && when.not_between.is_empty() {
                problems.add("match type `sequence` needs `within` (or `not_between`)".into());
            }
            if !when.signals.is_empty() {
                problems.add("match type `sequence` takes `steps`, not `signals`".into());
            }
        }
        MatchKind::Count => {
            if when.at_least.unwrap_or(0) < 2 {
                problems.add("match type `count` needs `at_least` of 2 or more".into());
            }
            if when.within.is_none() {
                problems.add("match type `count` needs `within`".into());
            }
        }
        MatchKind::NotFollowedBy => {
            if when.not_followed_by.is_empty() || when.within.is_none() {
                problems.add(
                    "match type `not_followed_by` needs `not_followed_by` and `within`".into(),
                );
            }
        }
    }
    if when.kind != MatchKind::Sequence && when.signals.is_empty() {
        problems.add("match.signals is empty".into());
    }
    if when.kind != MatchKind::Sequence
        && (!when.not_between.is_empty() || when.same_source || when.same_signal)
    {
        problems.add(
            "`not_between`, `same_source` and `same_signal` are for match type `sequence`".into(),
        );
    }
    if let Some(escalate) = &def.escalate {
        if escalate.incidents < 2 || escalate.severity <= def.severity {
            problems.add(
                "escalate needs `incidents` of 2 or more and a severity above the rule's".into(),
            );
        }
    }
}

/// Weights between 0 and 1; `needs_log` names a log the diagnosis can cover.
fn check_causes(def: &RuleDef, problems: &mut Problems) {
    for cause in &def.causes {
        for ws in cause.supported_by.iter().chain(&cause.refuted_by) {
            if !(0.0..=1.0).contains(&ws.weight) {
                problems.add(format!(
                    "cause `{}`: weight {} of signal `{}` is not between 0 and 1",
                    cause.id, ws.weight, ws.signal
                ));
            }
        }
        let logs = cause
            .needs_log
            .as_ref()
            .map(|n| n.components())
            .unwrap_or_default();
        if logs.contains(&Component::Meta) {
            problems.add(format!(
                "cause `{}`: needs_log names a second log (etcd, postgres, mysql, kubernetes, kernel, docker), not `meta`",
                cause.id
            ));
        }
    }
}

/// A remedy's cause is one of the rule's.
fn check_remedies(def: &RuleDef, problems: &mut Problems) {
    let cause_ids: BTreeSet<&str> = def.causes.iter().map(|c| c.id.as_str()).collect();
    for remedy in &def.remedies {
        if let Some(cause) = &remedy.cause {
            if !cause_ids.contains(cause.as_str()) {
                problems.add(format!("remedy names unknown cause `{cause}`"));
            }
        }
    }
}

/// The pattern the correlator runs. For `not_followed_by`, `within` is how
/// long to wait for the line that clears the incident (its grace).
fn build_pattern(
    when: &MatchDef,
    steps: Vec<Vec<usize>>,
    unless: Vec<usize>,
    not_between: Vec<usize>,
    within: Option<chrono::Duration>,
    grace: Option<chrono::Duration>,
) -> Pattern {
    let (within, grace) = match when.kind {
        MatchKind::NotFollowedBy => (None, within.unwrap_or_default()),
        _ => (
            within,
            grace.unwrap_or_else(|| chrono::Duration::seconds(DEFAULT_GRACE_SECS)),
        ),
    };
    Pattern {
        steps,
        at_least: match when.kind {
            MatchKind::NotFollowedBy => 1,
            _ => when.at_least.unwrap_or(1).max(1),
        },
        within,
        unless,
        grace,
        not_between,
        same_source: when.same_source,
        same_signal: when.same_signal,
    }
}

fn weighted(
    resolve: &mut impl FnMut(&[String], &str) -> Vec<usize>,
    list: &[WeightedSignal],
    cause: &str,
    field: &str,
) -> Vec<(usize, f64)> {
    let names: Vec<String> = list.iter().map(|ws| ws.signal.clone()).collect();
    let indices = resolve(&names, &format!("cause `{cause}` {field}"));
    if indices.len() != list.len() {
        return Vec::new(); // the unknown names were reported
    }
    indices
        .into_iter()
        .zip(list.iter().map(|ws| ws.weight))
        .collect()
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(json: &str) -> RuleDef {
        serde_json::from_str(json).expect("test rule parses")
    }

    const BASE: &str = r#"{
        "id": "t", "severity": "error", "title": "T", "diagnosis": "D",
        "signals": {"a": {"regex": "alpha"}, "b": {"regex": "beta", "levels": ["error"]}},
        "match": {"type": "sequence", "steps": [["a"], ["b"]], "within": "30s"}
    }"#;

    #[test]
    fn a_good_rule_compiles() {
        let rule = Rule::compile(def(BASE), RuleSource::Builtin).unwrap();
        assert_eq!(rule.pattern.steps, vec![vec![0], vec![1]]);
        assert_eq!(rule.pattern.within, Some(chrono::Duration::seconds(30)));
        assert_eq!(rule.signals[1].levels, vec![Level::Error]);
    }

    #[test]
    fn unknown_signal_and_bad_regex_are_reported_together() {
        let json = BASE
            .replace(r#"["b"]]"#, r#"["nope"]]"#)
            .replace("alpha", "alp(ha");
        // A user's rule file: its regexes are compiled when it loads.
        let source = RuleSource::File(PathBuf::from("mine.json"));
        let problems = Rule::compile(def(&json), source).unwrap_err();
        let text: Vec<String> = problems.into_iter().map(|(_, p)| p).collect();
        assert!(
            text.iter().any(|p| p.contains("signal `a`: invalid regex")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|p| p.contains("unknown signal `nope`")),
            "{text:?}"
        );
    }

    #[test]
    fn sequence_needs_within_and_two_steps() {
        let json = BASE
            .replace(r#", "within": "30s""#, "")
            .replace(r#", ["b"]"#, "");
        let problems = Rule::compile(def(&json), RuleSource::Builtin).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}

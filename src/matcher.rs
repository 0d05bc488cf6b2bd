//! Records → signal hits. Every signal of every rule is compiled once (equal
//! regexes shared across rules), and a literal prefilter finds candidate
//! lines: a line can only match a signal if it contains one of the literals
//! every match of that signal's regex must contain.
use crate::facts::{self, FactKind};
use crate::model::Level;
use crate::rules::{RuleSet, Signal};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use regex_syntax::hir::{Hir, HirKind};
use std::collections::HashMap;

/// A (rule index, signal index within the rule) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignalRef {
    pub rule: u16,
    pub signal: u16,
}

/// One distinct (regex, levels, target) triple and the rule signals using it
/// (or the fact it reads).
struct UniqueSignal {
    signal: Signal,
    users: Vec<SignalRef>,
    fact: Option<FactKind>,
}

pub struct Matcher {
    signals: Vec<UniqueSignal>,
    /// Leftmost-first automaton for finding the next candidate line fast.
    scan: Option<AhoCorasick>,
    /// Overlapping automaton to list every literal inside a candidate line.
    overlap: Option<AhoCorasick>,
    /// Literal pattern id → unique signals that need it.
    literal_users: Vec<Vec<usize>>,
    /// Signals with no usable literal: checked on every line.
    unfiltered: Vec<usize>,
}

/// Literals shorter than this would make nearly every line a candidate.
const MIN_LITERAL_LEN: usize = 3;

/// The matched part of a message, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSpan {
    pub start: usize,
    pub end: usize,
}

impl Matcher {
    pub fn new(rules: &RuleSet) -> Matcher {
        let mut signals: Vec<UniqueSignal> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for (rule_index, rule) in rules.rules.iter().enumerate() {
            for (signal_index, signal) in rule.signals.iter().enumerate() {
                let key = format!(
                    "{}\u{0}{:?}\u{0}{:?}",
                    signal.regex.as_str(),
                    signal.levels,
                    signal.target.as_ref().map(Regex::as_str)
                );
                let unique = *by_key.entry(key).or_insert_with(|| {
                    signals.push(UniqueSignal {
                        signal: signal.clone(),
                        users: Vec::new(),
                        fact: None,
                    });
                    signals.len() - 1
                });
                signals[unique].users.push(SignalRef {
                    rule: rule_index as u16,
                    signal: signal_index as u16,
                });
            }
        }

        for (kind, signal) in facts::signals() {
            signals.push(UniqueSignal {
                signal,
                users: Vec::new(),
                fact: Some(kind),
            });
        }

        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut literal_users: Vec<Vec<usize>> = Vec::new();
        let mut unfiltered = Vec::new();
        for (index, signal) in signals.iter().enumerate() {
            match required_literals(signal.signal.regex.as_str()) {
                Some(set) => {
                    for literal in set {
                        match literals.iter().position(|l| *l == literal) {
                            Some(p) => literal_users[p].push(index),
                            None => {
                                literals.push(literal);
                                literal_users.push(vec![index]);
                            }
                        }
                    }
                }
                None => unfiltered.push(index),
            }
        }
        let build = |kind| {
            (!literals.is_empty()).then(|| {
                AhoCorasickBuilder::new()
                    .match_kind(kind)
                    .build(&literals)
                    .expect("literal automaton within size limits")
            })
        };
        Matcher {
            scan: build(MatchKind::LeftmostFirst),
            overlap: build(MatchKind::Standard),
            signals,
            literal_users,
            unfiltered,
        }
    }

    /// Offset of the first byte at or after `from` that starts a literal any
    /// signal needs; `None` when the rest of the buffer has none. When some
    /// signal has no literal, every position is a candidate.
    pub fn next_candidate(&self, haystack: &[u8], from: usize) -> Option<usize> {
        if !self.unfiltered.is_empty() {
            return (from < haystack.len()).then_some(from);
        }
        let automaton = self.scan.as_ref()?;
        automaton
            .find(aho_corasick::Input::new(haystack).span(from..haystack.len()))
            .map(|m| m.start())
    }

    /// Unique signals worth checking on this raw line (before parsing).
    pub fn candidates(&self, line: &[u8], out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.unfiltered);
        if let Some(automaton) = &self.overlap {
            for m in automaton.find_overlapping_iter(line) {
                out.extend_from_slice(&self.literal_users[m.pattern().as_usize()]);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Checks the candidate signals against a parsed record: pushes every
    /// rule signal that matches to `out` and every fact read to `facts_out`;
    /// returns the span of the first rule-signal match.
    pub fn confirm(
        &self,
        candidates: &[usize],
        message: &str,
        level: Option<Level>,
        target: Option<&str>,
        out: &mut Vec<SignalRef>,
        facts_out: &mut Vec<(FactKind, String)>,
    ) -> Option<MatchSpan> {
        out.clear();
        facts_out.clear();
        let mut first_span = None;
        for &index in candidates {
            let unique = &self.signals[index];
            if let Some(m) = unique.signal.matches(level, target, message) {
                match unique.fact {
                    Some(kind) => {
                        if let Some(value) = facts::value(&unique.signal, message) {
                            facts_out.push((kind, value));
                        }
                    }
                    None => {
                        first_span.get_or_insert(MatchSpan {
                            start: m.start(),
                            end: m.end(),
                        });
                        out.extend_from_slice(&unique.users);
                    }
                }
            }
        }
        out.sort_unstable();
        first_span
    }

    /// Signals checked on every line because no literal could be derived
    /// (`rules lint` warns about them: they slow every scan down).
    pub fn unfiltered_count(&self) -> usize {
        self.unfiltered.len()
    }
}

/// A set of literals one of which every match of `pattern` contains, or
/// `None` when no such set with literals of `MIN_LITERAL_LEN` or more exists.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let set = required(&hir)?;
    let shortest = set.iter().map(Vec::len).min()?;
    (shortest >= MIN_LITERAL_LEN).then_some(set)
}

fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Concat(parts) => parts.iter().filter_map(required).max_by_key(|set| {
            (
                set.iter().map(Vec::len).min().unwrap_or(0),
                usize::MAX - set.len(),
            )
        }),
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for branch in branches {
                union.extend(required(branch)?);
            }
            union.sort();
            union.dedup();
            Some(union)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> Option<Vec<String>> {
        required_literals(pattern).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn picks_the_longest_required_literal() {
        assert_eq!(
            lits(r"\blease -?\d+ keep alive timeout\b"),
            Some(vec![" keep alive timeout".into()])
        );
        assert_eq!(
            lits(r"election error (happened|occurred)"),
            Some(vec!["election error ".into()])
        );
    }

    #[test]
    fn alternation_unions_and_weak_patterns_have_none() {
        assert_eq!(
            lits(r"(slow fdatasync|sync duration of)"),
            Some(vec!["slow fdatasync".into(), "sync duration of".into()])
        );
        assert_eq!(lits(r"\d+"), None);
        assert_eq!(lits(r"(?i)lease"), None);
        assert_eq!(lits(r"(ab|lease)"), None);
    }
}

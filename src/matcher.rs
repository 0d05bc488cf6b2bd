//! Records → signal hits. Every signal of every rule is compiled once (equal
//! regexes shared across rules), and a literal prefilter finds candidate
//! lines: a line can only match a signal if it contains one of the literals
//! every match of that signal's regex must contain.
use crate::facts::{self, FactKind};
use crate::literals::prefilter_anchors;
use crate::model::Level;
use crate::prefilter::Prefilter;
use crate::rules::{RuleSet, Signal};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Candidate lines listed with the overlap NFA before its DFA is built.
const DFA_AFTER: usize = 4096;
/// Past this many literals no DFA is built: its table grows with them
/// (the built-in pack's 236 make 2.5 MiB), and memory stays bounded
/// whatever `--rules DIR` holds.
const DFA_MAX_LITERALS: usize = 512;

/// Still here for the fuzz targets (`fuzzing`); it lives in `literals`.
use crate::literals::required_literals;

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
    /// Every literal some signal requires (distinct, sorted).
    literals: Vec<Vec<u8>>,
    /// Finds the next candidate line fast.
    scan: Prefilter,
    /// Overlapping automaton to list every literal inside a candidate line.
    overlap: Option<AhoCorasick>,
    /// The same automaton as a DFA, built once `DFA_AFTER` candidate lines
    /// were listed (`None` inside if it could not be built).
    overlap_dfa: OnceLock<Option<AhoCorasick>>,
    /// Candidate lines listed by the NFA so far (all threads).
    listed: AtomicUsize,
    /// Literal pattern id → unique signals that need it.
    literal_users: Vec<Vec<usize>>,
    /// Signals with no usable literal: checked on every line.
    unfiltered: Vec<usize>,
}

/// The matched part of a message, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSpan {
    pub start: usize,
    pub end: usize,
}

impl Matcher {
    /// Every signal's regex is compiled when a candidate line first needs
    /// it (`LazyRegex`, which starts with `regex-lite`): on the 64-line
    /// sample, candidates listed by the literals themselves need 25 of
    /// the pack's 188 patterns, and none of them a full compile.
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
        // Literal → its position in `literals` (a search of the list was
        // quadratic in the rule count).
        let mut literal_positions: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut unfiltered = Vec::new();
        for (index, signal) in signals.iter().enumerate() {
            let pattern = signal.signal.regex.as_str();
            let required = crate::rules::builtin_required_literals(pattern)
                .unwrap_or_else(|| required_literals(pattern));
            match required {
                Some(set) => {
                    for literal in set {
                        match literal_positions.get(&literal) {
                            Some(&p) => literal_users[p].push(index),
                            None => {
                                literal_positions.insert(literal.clone(), literals.len());
                                literals.push(literal);
                                literal_users.push(vec![index]);
                            }
                        }
                    }
                }
                None => unfiltered.push(index),
            }
        }
        drop(literal_positions);
        // Sorted, so that one set of literals has one set of anchors
        // whatever the order the rules name them in, and the built-in
        // pack's are worked out ahead (`literals::AnchorPlan`).
        let mut by_literal: Vec<(Vec<u8>, Vec<usize>)> =
            literals.into_iter().zip(literal_users).collect();
        by_literal.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (literals, literal_users): (Vec<_>, Vec<_>) = by_literal.into_iter().unzip();
        // The prefilter searches for fewer, shared anchors (fast, but a
        // merged anchor such as ` connection` finds lines none of its
        // literals is in); the overlap automaton then lists the literals
        // themselves in a candidate line, so a signal is checked only
        // where one of its own literals is (a start-up `> config:` dump
        // held merged anchors of 7 signals, and none of their literals).
        let search = prefilter_anchors(Some(&crate::rules::BUILTIN_ANCHORS), &literals);
        // Lists every literal of a candidate line (candidates are few, so
        // a contiguous NFA, far faster to build than a DFA, is enough).
        let overlap = match AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .prefilter(false)
            .build(&literals)
        {
            Ok(automaton) if !literals.is_empty() => Some(automaton),
            Ok(_) => None,
            // Past aho-corasick's size limits (no real rule set comes
            // near): every signal is then checked on every line.
            Err(_) => {
                unfiltered = (0..signals.len()).collect();
                None
            }
        };
        let scan = Prefilter::with_anchors(search);
        Matcher {
            scan,
            overlap,
            overlap_dfa: OnceLock::new(),
            listed: AtomicUsize::new(0),
            signals,
            literals,
            literal_users,
            unfiltered,
        }
    }

    /// Every literal some signal requires (distinct, sorted).
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// Offset of the first byte at or after `from` that starts a literal any
    /// signal needs; `None` when the rest of the buffer has none. When some
    /// signal has no literal, every position is a candidate.
    pub fn next_candidate(&self, haystack: &[u8], from: usize) -> Option<usize> {
        if !self.unfiltered.is_empty() {
            return (from < haystack.len()).then_some(from);
        }
        self.scan.find(haystack, from)
    }

    /// Unique signals worth checking on this raw line (before parsing).
    pub fn candidates(&self, line: &[u8], out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.unfiltered);
        if let Some(nfa) = &self.overlap {
            let automaton = self.overlap_dfa().unwrap_or(nfa);
            for m in automaton.find_overlapping_iter(line) {
                out.extend_from_slice(&self.literal_users[m.pattern().as_usize()]);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The overlap automaton as a DFA once candidate lines are many: the
    /// contiguous NFA spends about 50 instructions a byte (7,600 a
    /// candidate line of the 1 GiB bench log, 8% of its run), a DFA a few;
    /// building the DFA costs about what the NFA spends on `DFA_AFTER`
    /// lines, so a small input never builds it. Both list the same
    /// literals (overlapping, standard semantics).
    fn overlap_dfa(&self) -> Option<&AhoCorasick> {
        if let Some(dfa) = self.overlap_dfa.get() {
            return dfa.as_ref();
        }
        if self.literals.len() > DFA_MAX_LITERALS
            || self.listed.fetch_add(1, Ordering::Relaxed) < DFA_AFTER
        {
            return None;
        }
        self.overlap_dfa
            .get_or_init(|| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .prefilter(false)
                    .build(&self.literals)
                    .ok()
            })
            .as_ref()
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
        // One search per signal, and the cheapest that answers: a fact's
        // value needs its captures; only the first matching signal's span
        // is kept, so the others only need a yes or no.
        for &index in candidates {
            let unique = &self.signals[index];
            let signal = &unique.signal;
            match unique.fact {
                Some(kind) => {
                    if signal.accepts(level, target) {
                        if let Some(value) = facts::value(signal, message) {
                            facts_out.push((kind, value));
                        }
                    }
                }
                None if first_span.is_none() => {
                    if let Some((start, end)) = signal.matches(level, target, message) {
                        first_span = Some(MatchSpan { start, end });
                        out.extend_from_slice(&unique.users);
                    }
                }
                None => {
                    if signal.is_match(level, target, message) {
                        out.extend_from_slice(&unique.users);
                    }
                }
            }
        }
        out.sort_unstable();
        first_span
    }

    /// The literal anchors the prefilter searches for.
    pub fn anchors(&self) -> &[Vec<u8>] {
        self.scan.anchors()
    }

    /// Signals checked on every line because no literal could be derived
    /// (`rules lint` warns about them: they slow every scan down).
    pub fn unfiltered_count(&self) -> usize {
        self.unfiltered.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_past_the_dfa_threshold_are_the_nfas() {
        // The same literals listed before and after the DFA is built, on
        // every testdata line; and the built-in pack's DFA stays small.
        let matcher = Matcher::new(&crate::rules::RuleSet::load(&[]));
        let mut lines = Vec::new();
        for entry in
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata")).expect("testdata")
        {
            let path = entry.expect("entry").path();
            if let Ok(bytes) = std::fs::read(&path) {
                lines.extend(bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec));
            }
        }
        assert!(lines.len() > 1_000, "{} lines", lines.len());
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let mut listed = Vec::new();
        for line in &lines {
            matcher.candidates(line, &mut before);
            listed.push(before.clone());
        }
        // Past the threshold: the DFA answers from here on.
        for _ in 0..DFA_AFTER {
            matcher.candidates(b"", &mut after);
        }
        let dfa = matcher.overlap_dfa().expect("the DFA is built");
        assert!(dfa.memory_usage() < 4 << 20, "{} bytes", dfa.memory_usage());
        for (line, before) in lines.iter().zip(&listed) {
            matcher.candidates(line, &mut after);
            assert_eq!(&after, before, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn the_builtin_prefilter_stays_small() {
        let matcher = Matcher::new(&crate::rules::RuleSet::load(&[]));
        assert_eq!(
            matcher.unfiltered_count(),
            0,
            "every built-in signal has a literal"
        );
        // The pack searches with SIMD Teddy on a real log: its anchors (64
        // at most), or past that windows they share (64 at most); never the
        // far slower automaton.
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/sample-incident.log"
        ))
        .unwrap();
        let mut log = Vec::new();
        while log.len() < 1 << 20 {
            log.extend_from_slice(&sample);
        }
        matcher.scan.find(&log, 0);
        assert!(
            matcher.scan.searches_with_teddy(),
            "{} anchors, no Teddy: {:?}",
            matcher.anchors().len(),
            matcher.anchors()
        );
        let generic = ["error", "request", "timeout", "meta", "lease "];
        for anchor in matcher.anchors() {
            let anchor = String::from_utf8_lossy(anchor);
            assert!(
                !generic.contains(&anchor.trim()),
                "anchor {anchor:?} would match most lines"
            );
        }
    }

    #[test]
    fn the_builtin_pack_has_its_anchors_worked_out_ahead() {
        let rules = crate::rules::RuleSet::load(&[]);
        let matcher = Matcher::new(&rules);
        assert!(
            crate::rules::BUILTIN_ANCHORS.is_for(&matcher.literals),
            "build.rs's literals are not the built-in pack's: it misses a signal source"
        );
        let users = vec![Vec::new(); matcher.literals.len()];
        let merged = crate::literals::merge_anchors(matcher.literals.clone(), users).0;
        assert_eq!(
            matcher.scan.anchors(),
            &crate::literals::search_anchors(&merged)[..]
        );
    }

    #[test]
    fn the_builtin_literals_merge_as_exhaustively() {
        let rules = crate::rules::RuleSet::load(&[]);
        let mut builtin: Vec<Vec<u8>> = Vec::new();
        for rule in &rules.rules {
            for signal in &rule.signals {
                for literal in required_literals(signal.regex.as_str()).unwrap_or_default() {
                    if !builtin.contains(&literal) {
                        builtin.push(literal);
                    }
                }
            }
        }
        assert!(crate::literals::tests::assert_merges_as_exhaustively(
            &builtin
        ));
    }
}

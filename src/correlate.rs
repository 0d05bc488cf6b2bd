//! Hits → incidents. Each rule's pattern (steps, count, `unless`) runs as a
//! small state machine over the time-ordered hits of all inputs. Cause
//! signals seen shortly before or during an incident are attached to it as
//! context for the diagnosis.
use crate::model::Timestamp;
use crate::rules::{Rule, RuleSet};
use crate::scan::Hit;
use chrono::Duration;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// Evidence lines kept per incident; counts stay exact beyond it.
pub const MAX_EVENTS_PER_INCIDENT: usize = 16;
/// Cause-context lines kept per incident.
pub const MAX_CONTEXT_PER_INCIDENT: usize = 64;
/// Incidents kept in detail per rule; the count stays exact beyond it.
pub const MAX_INCIDENTS_KEPT: usize = 100;
/// Cause-signal hits remembered while waiting for an incident.
const MAX_CONTEXT_BUFFER: usize = 512;
/// Trigger lines following an incident within this time join it.
const DEFAULT_ABSORB_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct Incident {
    pub events: Vec<Arc<Hit>>,
    pub event_count: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// The earliest and latest times of its lines (a clock that stepped back
    /// makes them differ from `first` and `last`).
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
    /// Cause-signal hits in `[first - cause_window, close]`.
    pub context: Vec<Arc<Hit>>,
    /// Exact number of context hits per signal index.
    pub context_counts: BTreeMap<usize, u64>,
}

impl Incident {
    fn new(events: Vec<Arc<Hit>>) -> Incident {
        let first = events.iter().find_map(|e| e.sort_time);
        let last = events.iter().rev().find_map(|e| e.sort_time);
        Incident {
            event_count: events.len() as u64,
            earliest: events.iter().filter_map(|e| e.sort_time).min(),
            latest: events.iter().filter_map(|e| e.sort_time).max(),
            events,
            first,
            last,
            context: Vec::new(),
            context_counts: BTreeMap::new(),
        }
    }

    fn absorb(&mut self, hit: Arc<Hit>) {
        self.event_count += 1;
        if hit.sort_time.is_some() {
            self.last = hit.sort_time;
            self.earliest = self.earliest.min(hit.sort_time).or(hit.sort_time);
            self.latest = self.latest.max(hit.sort_time);
        }
        if self.events.len() < MAX_EVENTS_PER_INCIDENT {
            self.events.push(hit);
        }
    }

    fn add_context(&mut self, hit: &Arc<Hit>, signals: &[usize]) {
        for signal in signals {
            *self.context_counts.entry(*signal).or_default() += 1;
        }
        if self.context.len() < MAX_CONTEXT_PER_INCIDENT
            && !self.context.iter().any(|c| Arc::ptr_eq(c, hit))
        {
            self.context.push(hit.clone());
        }
    }
}

/// What one rule found.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub rule: usize,
    pub incidents: Vec<Incident>,
    pub incident_count: u64,
    /// Lines matching the rule's trigger signals, exact.
    pub matched_lines: u64,
    /// The earliest and latest time of any incident's lines, kept in detail
    /// or not.
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
}

struct Partial {
    events: Vec<Arc<Hit>>,
    start: Option<Timestamp>,
}

struct Open {
    incident: Incident,
    /// Where its first line came from (for `same_source` rules).
    source: SourceKey,
    /// The first step's signal (for `same_signal` rules).
    signal: Option<usize>,
    /// Still waiting to see whether an `unless` signal follows.
    pending: bool,
}

/// One log: the input and, in a merged log, the pod or service. Rules
/// without `same_source` keep everything under one key.
type SourceKey = (usize, Option<String>);

struct RuleState {
    /// Half-built sequences, one set per source (and, for `same_signal`
    /// rules, per first-step signal).
    partials: HashMap<(SourceKey, Option<usize>), Vec<Option<Partial>>>,
    recent: VecDeque<Arc<Hit>>,
    context_buffer: VecDeque<(Arc<Hit>, Vec<usize>)>,
    open: Option<Open>,
    outcome: RuleOutcome,
    cause_signals: Vec<bool>,
}

/// What one line is to one rule's pattern.
struct RuleLine {
    /// The log the line belongs to, as the rule counts logs.
    source: SourceKey,
    /// The first step's signal on the line (for `same_signal` rules).
    first_signal: Option<usize>,
    /// Per step of the pattern: does the line carry one of its signals.
    in_steps: Vec<bool>,
    is_unless: bool,
    is_between: bool,
}

impl RuleLine {
    fn read(rule: &Rule, hit: &Hit, signals: &[usize]) -> RuleLine {
        let pattern = &rule.pattern;
        RuleLine {
            source: if pattern.same_source {
                (hit.input, hit.origin.clone())
            } else {
                (0, None)
            },
            first_signal: if pattern.same_signal {
                signals
                    .iter()
                    .copied()
                    .find(|s| pattern.steps[0].contains(s))
            } else {
                None
            },
            in_steps: pattern
                .steps
                .iter()
                .map(|step| signals.iter().any(|s| step.contains(s)))
                .collect(),
            is_unless: signals.iter().any(|s| pattern.unless.contains(s)),
            is_between: signals.iter().any(|s| pattern.not_between.contains(s)),
        }
    }

    fn in_any_step(&self) -> bool {
        self.in_steps.iter().any(|b| *b)
    }
}

impl RuleState {
    /// Keeps the line's cause signals for incidents to come (and gives them
    /// to the open one), and forgets those older than the cause window.
    fn keep_causes(&mut self, hit: &Arc<Hit>, signals: &[usize], cause_window: Duration) {
        let cause_hits: Vec<usize> = signals
            .iter()
            .copied()
            .filter(|s| self.cause_signals[*s])
            .collect();
        if !cause_hits.is_empty() {
            if let Some(open) = &mut self.open {
                open.incident.add_context(hit, &cause_hits);
            }
            self.context_buffer.push_back((hit.clone(), cause_hits));
            if self.context_buffer.len() > MAX_CONTEXT_BUFFER {
                self.context_buffer.pop_front();
            }
        }
        if let Some(now) = hit.sort_time {
            while self
                .context_buffer
                .front()
                .is_some_and(|(h, _)| !within(h.sort_time, Some(now), cause_window))
            {
                self.context_buffer.pop_front();
            }
        }
    }

    /// An `unless` line: the pattern's premise is refuted. A pending
    /// incident is dropped, and half-built matches start over.
    fn refute(&mut self, rule: &Rule, now: Option<Timestamp>) {
        if let Some(open) = &self.open {
            if open.pending && within(open.incident.last, now, rule.pattern.grace) {
                self.open = None;
            }
        }
        self.partials.clear();
        self.recent.clear();
    }

    /// Adds the line to the open incident when it is more of the same:
    /// same log, soon enough, and not a new start (`same_signal`).
    fn absorb_into_open(&mut self, rule: &Rule, hit: &Arc<Hit>, line: &RuleLine) -> bool {
        let Some(open) = &mut self.open else {
            return false;
        };
        let absorb = rule
            .pattern
            .within
            .unwrap_or(Duration::seconds(DEFAULT_ABSORB_SECS));
        // With `same_signal`, the first step's signal again starts
        // something new (another restart), not more of the same.
        let again = line.first_signal.is_some() && line.first_signal == open.signal;
        if open.source == line.source && !again && within(open.incident.last, hit.sort_time, absorb)
        {
            open.incident.absorb(hit.clone());
            return true;
        }
        false
    }

    /// A one-step pattern: `at_least` lines within `within` make an
    /// incident.
    fn count_single_step(&mut self, rule: &Rule, hit: &Arc<Hit>) -> Option<Vec<Arc<Hit>>> {
        self.recent.push_back(hit.clone());
        if let (Some(limit), Some(now)) = (rule.pattern.within, hit.sort_time) {
            while self
                .recent
                .front()
                .is_some_and(|h| !within(h.sort_time, Some(now), limit))
            {
                self.recent.pop_front();
            }
        }
        if self.recent.len() >= rule.pattern.at_least as usize {
            Some(self.recent.drain(..).collect())
        } else {
            None
        }
    }

    /// A sequence of steps: the line extends each half-built match whose
    /// previous step it follows (latest step first, so one line does not
    /// take two steps), and starts a new one at step 0.
    fn advance_sequence(
        &mut self,
        rule: &Rule,
        hit: &Arc<Hit>,
        line: &RuleLine,
    ) -> Option<Vec<Arc<Hit>>> {
        let now = hit.sort_time;
        let last = rule.pattern.steps.len() - 1;
        let partials = self
            .partials
            .entry((line.source.clone(), line.first_signal))
            .or_insert_with(|| (0..=last).map(|_| None).collect());
        let mut completed = None;
        for step in (0..=last).rev() {
            if !line.in_steps[step] {
                continue;
            }
            if step == 0 {
                partials[0] = Some(Partial {
                    events: vec![hit.clone()],
                    start: now,
                });
                continue;
            }
            let Some(partial) = partials[step - 1]
                .as_ref()
                .and_then(|prev| extend_partial(rule, prev, hit))
            else {
                continue;
            };
            if step == last {
                completed = Some(partial.events);
                break;
            }
            partials[step] = Some(partial);
        }
        if completed.is_some() {
            partials.iter_mut().for_each(|p| *p = None);
            // In a sequence bounded by lines (`not_between`), the line
            // that ends one sequence may begin the next (a restart
            // banner ends one life of a process and starts another).
            // Sequences bounded by time keep one incident per run of
            // steps, as they always had.
            if line.in_steps[0] && !rule.pattern.not_between.is_empty() {
                partials[0] = Some(Partial {
                    events: vec![hit.clone()],
                    start: now,
                });
            }
        }
        completed
    }
}

/// `prev` followed by `hit`, when `hit` comes within the pattern's time.
fn extend_partial(rule: &Rule, prev: &Partial, hit: &Arc<Hit>) -> Option<Partial> {
    if !rule
        .pattern
        .within
        .is_none_or(|w| within(prev.start, hit.sort_time, w))
    {
        return None;
    }
    let mut events = prev.events.clone();
    // A start-up banner brings the line before it: the last the previous
    // process wrote, which bounds the gap with it.
    if let Some(before) = hit.before.as_deref().filter(|b| {
        b.origin == hit.origin
            && events
                .last()
                .is_some_and(|e| e.input == b.input && e.line < b.line)
    }) {
        events.push(Arc::new(before.clone()));
    }
    events.push(hit.clone());
    Some(Partial {
        events,
        start: prev.start,
    })
}

pub struct Correlator<'r> {
    rules: &'r RuleSet,
    /// The lease in force, for rules whose cause window follows it.
    lease_secs: u64,
    states: Vec<RuleState>,
    /// Record confirmations for `take_confirmed` (`--follow`); a batch scan
    /// does not, so that nothing grows with the number of incidents.
    live: bool,
    /// Incidents confirmed since the last `take_confirmed` (for `--follow`).
    confirmed: Vec<(usize, usize)>,
    /// Confirmed incidents closed past `MAX_INCIDENTS_KEPT`, held until the
    /// next `take_confirmed` so that `incident` can still show them.
    unkept: Vec<(usize, usize, Incident)>,
}

fn within(a: Option<Timestamp>, b: Option<Timestamp>, limit: Duration) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => b.signed_duration_since(a) <= limit,
        _ => true,
    }
}

impl<'r> Correlator<'r> {
    pub fn new(rules: &'r RuleSet) -> Self {
        let states = rules
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let mut cause_signals = vec![false; rule.signals.len()];
                for cause in &rule.causes {
                    for (signal, _) in cause.supported_by.iter().chain(&cause.refuted_by) {
                        cause_signals[*signal] = true;
                    }
                }
                RuleState {
                    partials: HashMap::new(),
                    recent: VecDeque::new(),
                    context_buffer: VecDeque::new(),
                    open: None,
                    outcome: RuleOutcome {
                        rule: index,
                        incidents: Vec::new(),
                        incident_count: 0,
                        matched_lines: 0,
                        earliest: None,
                        latest: None,
                    },
                    cause_signals,
                }
            })
            .collect();
        Correlator {
            rules,
            lease_secs: 30,
            states,
            live: false,
            confirmed: Vec::new(),
            unkept: Vec::new(),
        }
    }

    /// A correlator that records each incident as it is confirmed, for
    /// `take_confirmed` and `incident` (`--follow`).
    pub fn live(rules: &'r RuleSet) -> Self {
        Correlator {
            live: true,
            ..Correlator::new(rules)
        }
    }

    /// The lease read from the logs so far (`> config:`).
    pub fn set_lease_secs(&mut self, secs: u64) {
        self.lease_secs = secs;
    }

    /// Feeds one hit; hits must come in timeline order.
    pub fn push(&mut self, hit: Arc<Hit>) {
        let now = hit.sort_time;
        // Time passes for every rule, not only those this hit concerns.
        for index in 0..self.states.len() {
            self.expire(index, now);
        }
        let mut start = 0;
        while start < hit.signals.len() {
            let rule_index = hit.signals[start].rule as usize;
            let end = start
                + hit.signals[start..]
                    .iter()
                    .take_while(|s| s.rule as usize == rule_index)
                    .count();
            let signals: Vec<usize> = hit.signals[start..end]
                .iter()
                .map(|s| s.signal as usize)
                .collect();
            self.push_rule(rule_index, &hit, &signals);
            start = end;
        }
    }

    fn expire(&mut self, index: usize, now: Option<Timestamp>) {
        let Some(now) = now else { return };
        // Once `grace` has passed nothing can refute the incident any more:
        // it is certain now, even if it stays open to absorb later lines.
        self.confirm_if_grace_passed(index, now);
        let rule = &self.rules.rules[index];
        let state = &mut self.states[index];
        let Some(open) = &state.open else { return };
        let absorb = rule
            .pattern
            .within
            .unwrap_or(Duration::seconds(DEFAULT_ABSORB_SECS));
        let horizon = if open.pending {
            absorb.max(rule.pattern.grace)
        } else {
            absorb
        };
        if !within(open.incident.last, Some(now), horizon) {
            self.close(index);
        }
    }

    /// One rule's share of a hit: its cause lines are kept, then the line
    /// refutes, interrupts, extends an open incident, or advances the
    /// rule's pattern, in that order.
    fn push_rule(&mut self, index: usize, hit: &Arc<Hit>, signals: &[usize]) {
        let rule: &Rule = &self.rules.rules[index];
        let state = &mut self.states[index];
        let cause_window = rule.cause_window_for(self.lease_secs);
        state.keep_causes(hit, signals, cause_window);

        let line = RuleLine::read(rule, hit, signals);
        if line.in_any_step() {
            state.outcome.matched_lines += 1;
        }
        if line.is_unless {
            state.refute(rule, hit.sort_time);
            return;
        }
        if line.is_between {
            // Whatever was building up in this source is interrupted; the
            // open incident takes no more lines.
            state.partials.retain(|(from, _), _| *from != line.source);
            if state
                .open
                .as_ref()
                .is_some_and(|open| !open.pending && open.source == line.source)
            {
                self.close(index);
            }
            return;
        }
        if !line.in_any_step() || state.absorb_into_open(rule, hit, &line) {
            return;
        }
        let completed = if rule.pattern.steps.len() == 1 {
            state.count_single_step(rule, hit)
        } else {
            state.advance_sequence(rule, hit, &line)
        };
        if let Some(events) = completed {
            self.open_incident(index, events, line);
        }
    }

    /// Closes the rule's open incident and opens one on `events`, with the
    /// cause lines kept from before it.
    fn open_incident(&mut self, index: usize, events: Vec<Arc<Hit>>, line: RuleLine) {
        self.close(index);
        let rule: &Rule = &self.rules.rules[index];
        let state = &mut self.states[index];
        let mut incident = Incident::new(events);
        let cause_window = rule.cause_window_for(self.lease_secs);
        for (context_hit, context_signals) in &state.context_buffer {
            if within(context_hit.sort_time, incident.first, cause_window) {
                incident.add_context(context_hit, context_signals);
            }
        }
        let pending = !rule.pattern.unless.is_empty();
        state.open = Some(Open {
            incident,
            pending,
            source: line.source,
            signal: line.first_signal,
        });
        if !pending {
            self.confirm_open(index);
        }
    }

    fn confirm_if_grace_passed(&mut self, index: usize, now: Timestamp) {
        let grace = self.rules.rules[index].pattern.grace;
        let due = self.states[index]
            .open
            .as_ref()
            .is_some_and(|open| open.pending && !within(open.incident.last, Some(now), grace));
        if due {
            self.confirm_open(index);
        }
    }

    /// Confirms every pending incident whose `grace` has passed by `now`,
    /// without closing it. `--follow` calls this from a timer, with the log
    /// time advanced by the wall-clock time since the last hit, so that an
    /// incident is reported when the grace runs out rather than when the
    /// next matching line (possibly hours later) arrives.
    pub fn confirm_due(&mut self, now: Timestamp) {
        for index in 0..self.states.len() {
            self.confirm_if_grace_passed(index, now);
        }
    }

    /// Records the open incident as found (it stays open to absorb more lines).
    fn confirm_open(&mut self, index: usize) {
        let state = &mut self.states[index];
        if let Some(open) = &mut state.open {
            if open.pending {
                open.pending = false;
            }
            state.outcome.incident_count += 1;
            if self.live {
                self.confirmed
                    .push((index, state.outcome.incident_count as usize - 1));
            }
        }
    }

    fn close(&mut self, index: usize) {
        if self.states[index].open.as_ref().is_some_and(|o| o.pending) {
            self.confirm_open(index);
        }
        let state = &mut self.states[index];
        if let Some(open) = state.open.take() {
            let outcome = &mut state.outcome;
            if let Some(earliest) = open.incident.earliest {
                outcome.earliest = Some(outcome.earliest.map_or(earliest, |e| e.min(earliest)));
            }
            outcome.latest = outcome.latest.max(open.incident.latest);
            if state.outcome.incidents.len() < MAX_INCIDENTS_KEPT {
                state.outcome.incidents.push(open.incident);
            } else if self.live {
                let number = state.outcome.incident_count as usize - 1;
                if self.confirmed.contains(&(index, number)) {
                    self.unkept.push((index, number, open.incident));
                }
            }
        }
    }

    /// Incidents confirmed since the last call, as (rule index, incident number).
    /// Only a `live` correlator records them.
    pub fn take_confirmed(&mut self) -> Vec<(usize, usize)> {
        // Keep only the unkept incidents handed out now (older ones were
        // handed out by the previous call).
        let confirmed = std::mem::take(&mut self.confirmed);
        self.unkept
            .retain(|(rule, number, _)| confirmed.contains(&(*rule, *number)));
        confirmed
    }

    /// A snapshot of one rule's incident, open or closed (for `--follow`).
    pub fn incident(&self, rule: usize, number: usize) -> Option<&Incident> {
        let state = self.states.get(rule)?;
        // The open incident, once confirmed, is the rule's latest one (its
        // number can exceed the incidents kept).
        let open = state
            .open
            .as_ref()
            .filter(|open| !open.pending && number + 1 == state.outcome.incident_count as usize);
        if let Some(open) = open {
            return Some(&open.incident);
        }
        state.outcome.incidents.get(number).or_else(|| {
            self.unkept
                .iter()
                .find(|(r, n, _)| *r == rule && *n == number)
                .map(|(_, _, incident)| incident)
        })
    }

    /// End of input: pending incidents are confirmed, since nothing can
    /// refute them any more (`--follow` reports them before `finish`).
    pub fn confirm_pending(&mut self) {
        for index in 0..self.states.len() {
            if self.states[index].open.as_ref().is_some_and(|o| o.pending) {
                self.confirm_open(index);
            }
        }
    }

    /// End of input: pending incidents are confirmed (nothing refuted them).
    pub fn finish(mut self) -> Vec<RuleOutcome> {
        for index in 0..self.states.len() {
            self.close(index);
        }
        self.states.into_iter().map(|s| s.outcome).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::SignalRef;
    use crate::rules::{Rule, RuleSource};

    /// `boom` is an incident unless `clear` follows within 10s.
    fn rules() -> RuleSet {
        let def = serde_json::from_str(
            r#"{"id": "boom", "severity": "error", "title": "T", "diagnosis": "D",
                "signals": {"boom": {"regex": "boom"}, "clear": {"regex": "clear"}},
                "match": {"type": "any", "signals": ["boom"],
                          "not_followed_by": ["clear"], "grace": "10s"}}"#,
        )
        .unwrap();
        RuleSet::of(vec![Rule::compile(def, RuleSource::Builtin).unwrap()])
    }

    fn at(seconds: i64) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap()
            + Duration::seconds(seconds)
    }

    /// A hit of signal `signal` (0: boom, 1: clear) at `seconds`.
    fn hit(line: u64, seconds: i64, signal: u16) -> Arc<Hit> {
        Arc::new(Hit {
            input: 0,
            line,
            timestamp: Some(at(seconds)),
            sort_time: Some(at(seconds)),
            level: None,
            target: None,
            origin: None,
            shape: crate::record::Shape::RisingwaveText,
            text: String::new(),
            message: String::new(),
            highlight: None,
            signals: vec![SignalRef { rule: 0, signal }],
            facts: Vec::new(),
            before: None,
        })
    }

    /// `start` (or `other`) twice in one source with no `stop` between: a
    /// restart.
    fn restarts() -> RuleSet {
        let def = serde_json::from_str(
            r#"{"id": "restart", "severity": "warning", "title": "T", "diagnosis": "D",
                "signals": {"start": {"regex": "start"}, "stop": {"regex": "stop"},
                            "zother": {"regex": "other"}},
                "match": {"type": "sequence", "steps": [["start", "zother"], ["start", "zother"]],
                          "not_between": ["stop"], "same_source": true, "same_signal": true},
                "escalate": {"incidents": 2, "severity": "error"}}"#,
        )
        .unwrap();
        RuleSet::of(vec![Rule::compile(def, RuleSource::Builtin).unwrap()])
    }

    /// A hit of `signal` (0: start, 1: stop, 2: other) in `input` at `seconds`.
    fn hit_in(input: usize, line: u64, seconds: i64, signal: u16) -> Arc<Hit> {
        let mut hit = (*hit(line, seconds, signal)).clone();
        hit.input = input;
        Arc::new(hit)
    }

    fn lines_of(outcome: &RuleOutcome) -> Vec<Vec<u64>> {
        outcome
            .incidents
            .iter()
            .map(|i| i.events.iter().map(|e| e.line).collect())
            .collect()
    }

    #[test]
    fn not_between_keeps_a_stopped_restart_clean() {
        let rules = restarts();
        let run = |hits: &[(usize, u64, i64, u16)]| {
            let mut correlator = Correlator::new(&rules);
            for &(input, line, seconds, signal) in hits {
                correlator.push(hit_in(input, line, seconds, signal));
            }
            correlator.finish().remove(0)
        };
        // A first start alone; a stop before the second start.
        assert_eq!(run(&[(0, 1, 0, 0)]).incident_count, 0);
        assert_eq!(
            run(&[(0, 1, 0, 0), (0, 2, 500, 1), (0, 3, 510, 0)]).incident_count,
            0
        );
        // Two starts with nothing between: one incident, both lines.
        let outcome = run(&[(0, 1, 0, 0), (0, 2, 500, 0)]);
        assert_eq!(lines_of(&outcome), vec![vec![1, 2]]);
        // Two logs that each start once are not a restart.
        assert_eq!(run(&[(0, 1, 0, 0), (1, 1, 5, 0)]).incident_count, 0);
        // A stop in another log does not excuse this one.
        let outcome = run(&[(0, 1, 0, 0), (1, 1, 100, 1), (0, 2, 500, 0)]);
        assert_eq!(outcome.incident_count, 1);
    }

    #[test]
    fn the_line_that_ends_a_sequence_begins_the_next() {
        let rules = restarts();
        let mut correlator = Correlator::new(&rules);
        // Three lives, hours apart: two gaps, each its own incident.
        for (line, seconds) in [(1, 0), (2, 7200), (3, 14400)] {
            correlator.push(hit_in(0, line, seconds, 0));
        }
        let outcome = correlator.finish().remove(0);
        assert_eq!(lines_of(&outcome), vec![vec![1, 2], vec![2, 3]]);
        let rule = &rules.rules[0];
        assert_eq!(rule.severity_for(1), crate::model::Severity::Warning);
        assert_eq!(rule.severity_for(2), crate::model::Severity::Error);
    }

    #[test]
    fn same_signal_pairs_each_banner_with_its_own_kind() {
        let rules = restarts();
        let run = |hits: &[(u64, i64, u16)]| {
            let mut correlator = Correlator::new(&rules);
            for &(line, seconds, signal) in hits {
                correlator.push(hit_in(0, line, seconds, signal));
            }
            correlator.finish().remove(0)
        };
        // One process writing both banners once (standalone): no restart.
        assert_eq!(run(&[(1, 0, 0), (2, 1, 2)]).incident_count, 0);
        // It restarts: one incident, the second banner of the other kind
        // joins it.
        let outcome = run(&[(1, 0, 0), (2, 1, 2), (3, 600, 0), (4, 601, 2)]);
        assert_eq!(lines_of(&outcome), vec![vec![1, 3, 4]]);
        // A crash loop faster than the joining window still counts each
        // restart.
        let outcome = run(&[(1, 0, 0), (2, 20, 0), (3, 40, 0)]);
        assert_eq!(lines_of(&outcome), vec![vec![1, 2], vec![2, 3]]);
    }

    #[test]
    fn a_banner_brings_the_line_before_it_into_the_gap() {
        let rules = restarts();
        let mut correlator = Correlator::new(&rules);
        correlator.push(hit_in(0, 1, 0, 0));
        let mut banner = (*hit_in(0, 9, 600, 0)).clone();
        banner.before = Some(Box::new(Hit {
            signals: Vec::new(),
            ..(*hit_in(0, 8, 300, 1)).clone()
        }));
        correlator.push(Arc::new(banner));
        let outcome = correlator.finish().remove(0);
        assert_eq!(lines_of(&outcome), vec![vec![1, 8, 9]]);
    }

    #[test]
    fn a_stop_ends_what_an_open_incident_takes() {
        let rules = restarts();
        let mut correlator = Correlator::new(&rules);
        // A crash restart, then a stop and a planned restart soon after:
        // the planned one joins nothing.
        for (line, seconds, signal) in [(1, 0, 0), (2, 10, 0), (3, 20, 1), (4, 30, 0)] {
            correlator.push(hit_in(0, line, seconds, signal));
        }
        let outcome = correlator.finish().remove(0);
        assert_eq!(lines_of(&outcome), vec![vec![1, 2]]);
    }

    #[test]
    fn a_pending_incident_is_confirmed_when_its_grace_has_passed() {
        let rules = rules();
        let mut correlator = Correlator::live(&rules);
        correlator.push(hit(1, 0, 0));
        assert!(correlator.take_confirmed().is_empty(), "still within grace");
        correlator.confirm_due(at(5));
        assert!(correlator.take_confirmed().is_empty());
        correlator.confirm_due(at(11));
        assert_eq!(correlator.take_confirmed(), vec![(0, 0)]);
        assert_eq!(correlator.incident(0, 0).unwrap().events[0].line, 1);
        // Too late to refute it now.
        correlator.push(hit(2, 12, 1));
        assert_eq!(correlator.finish()[0].incident_count, 1);
    }

    #[test]
    fn a_later_line_past_the_grace_confirms_too_and_a_refutal_drops() {
        let rules = rules();
        let mut correlator = Correlator::live(&rules);
        correlator.push(hit(1, 0, 0));
        correlator.push(hit(2, 3, 1));
        assert_eq!(correlator.finish()[0].incident_count, 0);

        let mut correlator = Correlator::live(&rules);
        correlator.push(hit(1, 0, 0));
        correlator.push(hit(2, 30, 1));
        assert_eq!(correlator.take_confirmed(), vec![(0, 0)]);
        assert_eq!(correlator.finish()[0].incident_count, 1);
    }

    #[test]
    fn the_end_of_input_confirms_what_is_pending() {
        let rules = rules();
        let mut correlator = Correlator::live(&rules);
        correlator.push(hit(1, 0, 0));
        correlator.confirm_pending();
        assert_eq!(correlator.take_confirmed(), vec![(0, 0)]);
        assert!(correlator.incident(0, 0).is_some());
        assert_eq!(correlator.finish()[0].incident_count, 1);
    }

    #[test]
    fn a_batch_correlator_records_no_confirmations() {
        let rules = rules();
        let mut correlator = Correlator::new(&rules);
        correlator.push(hit(1, 0, 0));
        correlator.confirm_due(at(60));
        assert!(correlator.take_confirmed().is_empty());
        assert_eq!(correlator.finish()[0].incident_count, 1);
    }

    #[test]
    fn every_confirmed_incident_can_be_shown_past_the_kept_limit() {
        let rules = rules();
        let mut correlator = Correlator::live(&rules);
        let mut shown = 0;
        for n in 0..(MAX_INCIDENTS_KEPT as u64 + 20) {
            correlator.push(hit(n + 1, n as i64 * 100, 0));
            for (rule, number) in correlator.take_confirmed() {
                let incident = correlator.incident(rule, number).expect("shown");
                assert_eq!(incident.events[0].line, number as u64 + 1);
                shown += 1;
            }
        }
        assert_eq!(shown, MAX_INCIDENTS_KEPT + 19, "the last is still pending");
    }
}

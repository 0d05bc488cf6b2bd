//! Incidents → findings: evidence lines, a timeline per incident, causes
//! ranked by the evidence for and against each (including what the logs
//! given could and could not show), and remedies tailored to the cluster.
use crate::context::ClusterContext;
use crate::correlate::{Incident, RuleOutcome};
use crate::model::{Level, Severity, Timestamp};
use crate::record::Shape;
use crate::rules::{Cause, Component, ConfigSnippet, Rule, RuleSet};
use crate::scan::Hit;
use chrono::SecondsFormat;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Evidence lines listed per finding in reports; counts stay exact.
pub const MAX_EVIDENCE_PER_FINDING: usize = 24;
/// Timeline entries per incident (repeats are folded first).
const MAX_TIMELINE: usize = 14;

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceLine {
    pub source: String,
    pub line: u64,
    pub timestamp: Option<String>,
    /// The line as written (ANSI escapes removed).
    pub text: String,
    /// Pod, compose service or journald unit, when a wrapper named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The message and fields the signal matched (JSON lines unpacked).
    pub message: String,
    /// The signal that matched, and what it means.
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    #[serde(skip)]
    pub highlight: Option<(usize, usize)>,
    #[serde(skip)]
    pub level: Option<Level>,
}

/// One line of an incident's timeline, relative to the incident's anchor
/// (its first trigger line, e.g. the keep-alive timeout).
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Seconds from the anchor (negative: before it); null without timestamps.
    pub offset_seconds: Option<f64>,
    pub timestamp: Option<String>,
    pub source: String,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Whose log the line is from.
    pub component: Component,
    pub signal: String,
    pub role: Role,
    pub message: String,
    /// Consecutive lines of the same signal folded into this entry.
    pub count: u64,
}

/// What a timeline line is to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Evidence for a cause, before or during the failure.
    Cause,
    /// Part of the failure itself.
    Event,
}

/// How much the evidence says for a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "likely")]
    Likely,
    #[serde(rename = "possible")]
    Possible,
    #[serde(rename = "weak")]
    Weak,
    /// No evidence either way.
    #[serde(rename = "not ruled out")]
    NotRuledOut,
    /// The log that would show it covers the incident and shows nothing.
    #[serde(rename = "unlikely")]
    Unlikely,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Likely => "likely",
            Verdict::Possible => "possible",
            Verdict::Weak => "weak",
            Verdict::NotRuledOut => "not ruled out",
            Verdict::Unlikely => "unlikely",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether evidence speaks for or against a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    For,
    Against,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub lines: u64,
    /// `source:line` of the incident's evidence.
    pub evidence: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    /// This incident's causes, ranked (full details are on the finding).
    pub causes: Vec<CauseBrief>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseBrief {
    pub id: String,
    pub confidence: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseEvidence {
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    pub count: u64,
    pub direction: Direction,
    pub example: EvidenceLine,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseReport {
    pub id: String,
    pub title: String,
    /// 0 to 1, from the weights of the signals seen for and against it.
    pub confidence: f64,
    pub verdict: Verdict,
    pub explain: String,
    pub evidence: Vec<CauseEvidence>,
    /// What was looked for and not found.
    pub not_found: Vec<String>,
    /// Why the verdict is what it is, beyond the evidence lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// What to look at to confirm or rule the cause out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_check: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemedyReport {
    pub text: String,
    pub docs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSnippet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub title: String,
    pub diagnosis: String,
    /// Number of incidents.
    pub count: u64,
    /// Lines that matched the rule's trigger signals.
    pub matched_lines: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub evidence: Vec<EvidenceLine>,
    /// Matching lines not listed in `evidence` (beyond the per-finding
    /// cap of 24): `matched_lines` minus the evidence listed, incidents not
    /// kept in detail included.
    pub evidence_omitted: u64,
    /// The first `MAX_INCIDENTS_KEPT` (100) incidents, in detail.
    pub incidents: Vec<IncidentReport>,
    /// Incidents counted in `count` but not listed in `incidents`.
    pub incidents_omitted: u64,
    /// `--follow`, after a rule's first incident: a short form whose
    /// diagnosis, causes and remedies are those of this earlier incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as_incident: Option<u64>,
    pub causes: Vec<CauseReport>,
    pub remedies: Vec<RemedyReport>,
    pub docs: Vec<String>,
}

pub fn format_time(ts: Option<Timestamp>) -> Option<String> {
    ts.map(|ts| {
        ts.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    })
}

/// What the diagnosis knows about each input.
#[derive(Debug, Clone)]
pub struct InputInfo {
    pub name: String,
    /// The second logs the input holds (etcd's, PostgreSQL's, ...).
    pub components: Vec<Component>,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

pub struct Diagnoser<'a> {
    pub rules: &'a RuleSet,
    pub inputs: &'a [InputInfo],
    pub context: &'a ClusterContext,
}

impl Diagnoser<'_> {
    fn source(&self, hit: &Hit) -> String {
        self.inputs
            .get(hit.input)
            .map(|i| i.name.clone())
            .unwrap_or_default()
    }

    fn signal_of<'r>(&self, rule: &'r Rule, hit: &Hit) -> Option<&'r crate::rules::Signal> {
        hit.signals
            .iter()
            .find(|s| self.rules.rules[s.rule as usize].id == rule.id)
            .map(|s| &rule.signals[s.signal as usize])
    }

    pub fn evidence_line(&self, rule: &Rule, hit: &Hit) -> EvidenceLine {
        let signal = self.signal_of(rule, hit);
        EvidenceLine {
            source: self.source(hit),
            line: hit.line,
            timestamp: format_time(hit.timestamp),
            text: hit.text.clone(),
            origin: hit.origin.clone(),
            message: hit.message.clone(),
            signal: signal.map(|s| s.name.clone()).unwrap_or_default(),
            meaning: signal.and_then(|s| s.describe.clone()),
            highlight: hit.highlight,
            level: hit.level,
        }
    }

    /// The finding for one incident of one rule (`--follow` reports each
    /// incident as soon as it is certain).
    pub fn incident_finding(&self, rule_index: usize, incident: &Incident) -> Finding {
        let outcome = RuleOutcome {
            rule: rule_index,
            incidents: vec![incident.clone()],
            incident_count: 1,
            matched_lines: incident.event_count,
            earliest: incident.earliest,
            latest: incident.latest,
        };
        self.finding(&self.rules.rules[rule_index], &outcome)
    }

    /// One finding per rule with at least one incident, most severe first.
    pub fn findings(&self, outcomes: &[RuleOutcome]) -> Vec<Finding> {
        let mut findings: Vec<Finding> = outcomes
            .iter()
            .filter(|o| o.incident_count > 0)
            .map(|o| self.finding(&self.rules.rules[o.rule], o))
            .collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
        });
        findings
    }

    fn finding(&self, rule: &Rule, outcome: &RuleOutcome) -> Finding {
        let mut evidence = Vec::new();
        let mut listed: u64 = 0;
        let mut previous_hit = None;
        for incident in &outcome.incidents {
            for hit in &incident.events {
                // A line can end one incident and begin the next (a restart
                // banner): it is listed once.
                let again = previous_hit.is_some_and(|p: &Arc<Hit>| Arc::ptr_eq(p, hit));
                previous_hit = Some(hit);
                if again {
                    listed += 1;
                } else if evidence.len() < MAX_EVIDENCE_PER_FINDING {
                    evidence.push(self.evidence_line(rule, hit));
                    listed += 1;
                }
            }
        }
        let total_lines: u64 = outcome.incidents.iter().map(|i| i.event_count).sum();
        let incidents = outcome
            .incidents
            .iter()
            .map(|incident| IncidentReport {
                first_seen: format_time(incident.earliest),
                last_seen: format_time(incident.latest),
                lines: incident.event_count,
                evidence: incident
                    .events
                    .iter()
                    .map(|h| format!("{}:{}", self.source(h), h.line))
                    .collect(),
                timeline: self.timeline(rule, incident),
                causes: self
                    .rank_causes(rule, std::slice::from_ref(incident))
                    .into_iter()
                    .map(|c| CauseBrief {
                        id: c.id,
                        confidence: c.confidence,
                        verdict: c.verdict,
                    })
                    .collect(),
            })
            .collect();
        let causes = self.rank_causes(rule, &outcome.incidents);
        let remedies = self.order_remedies(rule, &causes);
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity_for(outcome.incident_count),
            title: self.context.fill(&rule.title),
            diagnosis: self.context.fill(&rule.diagnosis),
            count: outcome.incident_count,
            matched_lines: outcome.matched_lines,
            // The time range of every incident, those past the ones kept in
            // detail too; earliest to latest whatever the order of the lines.
            first_seen: format_time(outcome.earliest),
            last_seen: format_time(outcome.latest),
            evidence,
            // Every matching line not listed, those of incidents past the
            // ones kept in detail too (they are counted, not kept).
            evidence_omitted: outcome
                .matched_lines
                .max(total_lines)
                .saturating_sub(listed),
            incidents_omitted: outcome
                .incident_count
                .saturating_sub(outcome.incidents.len() as u64),
            incidents,
            same_as_incident: None,
            causes,
            remedies,
            docs: rule.docs.clone(),
        }
    }

    /// The short form of a later incident of a rule already reported in
    /// full (`--follow`): what, when and where, at most 3 evidence lines; no
    /// diagnosis, causes, remedies or timeline, which `first` had.
    pub fn brief(mut finding: Finding, first: u64) -> Finding {
        const BRIEF_EVIDENCE: usize = 3;
        let dropped = finding.evidence.len().saturating_sub(BRIEF_EVIDENCE);
        finding.evidence.truncate(BRIEF_EVIDENCE);
        finding.evidence_omitted += dropped as u64;
        finding.diagnosis = String::new();
        finding.causes.clear();
        finding.remedies.clear();
        finding.docs.clear();
        for incident in &mut finding.incidents {
            incident.timeline.clear();
            incident.evidence.truncate(BRIEF_EVIDENCE);
        }
        finding.same_as_incident = Some(first);
        finding
    }

    /// The incident's lines and its cause evidence on one clock, relative
    /// to its first trigger line; runs of one signal fold into one entry.
    fn timeline(&self, rule: &Rule, incident: &Incident) -> Vec<TimelineEntry> {
        let anchor = incident.first;
        let mut items: Vec<(&Arc<Hit>, Role)> = incident
            .context
            .iter()
            .map(|h| (h, Role::Cause))
            .chain(incident.events.iter().map(|h| (h, Role::Event)))
            .collect();
        // Lines without a time (`kubectl describe`) come after the timed
        // ones: they are not the earliest, whatever `None < Some` says.
        items.sort_by_key(|(h, role)| {
            (
                h.sort_time.is_none(),
                h.sort_time,
                *role == Role::Event,
                h.input,
                h.line,
            )
        });
        items.dedup_by(|a, b| Arc::ptr_eq(a.0, b.0));
        let mut entries: Vec<TimelineEntry> = Vec::new();
        for (hit, role) in items {
            let signal = self.signal_name(rule, hit, role);
            if let Some(last) = entries.last_mut() {
                if last.signal == signal && last.role == role && last.source == self.source(hit) {
                    last.count += 1;
                    continue;
                }
            }
            entries.push(TimelineEntry {
                offset_seconds: match (anchor, hit.sort_time) {
                    (Some(a), Some(t)) => {
                        Some(t.signed_duration_since(a).num_milliseconds() as f64 / 1000.0)
                    }
                    _ => None,
                },
                timestamp: format_time(hit.sort_time),
                source: self.source(hit),
                line: hit.line,
                origin: hit.origin.clone(),
                component: component_of(hit),
                signal,
                role,
                message: hit.message.clone(),
                count: 1,
            });
        }
        if entries.len() > MAX_TIMELINE {
            // Keep the lead-up's start and the failure itself.
            let tail = entries.split_off(entries.len() - (MAX_TIMELINE - 4));
            entries.truncate(4);
            entries.extend(tail);
        }
        entries
    }

    /// For cause lines the cause signal (not the first trigger it matched).
    fn signal_name(&self, rule: &Rule, hit: &Hit, role: Role) -> String {
        let ours = hit
            .signals
            .iter()
            .filter(|s| self.rules.rules[s.rule as usize].id == rule.id);
        let mut names = ours.map(|s| (s.signal as usize, &rule.signals[s.signal as usize].name));
        let pick = if role == Role::Cause {
            names.find(|(i, _)| !rule.is_trigger(*i))
        } else {
            names.find(|(i, _)| rule.is_trigger(*i))
        };
        pick.map(|(_, n)| n.clone()).unwrap_or_default()
    }

    /// Confidence per cause: a noisy-OR of the weights of the signals seen
    /// for it (a signal seen repeatedly counts up to three times), scaled
    /// down by the signals seen against it, and down again when the log
    /// that would show it (`needs_log`) covers the incident and shows
    /// nothing. Ties keep the rule's order.
    fn rank_causes(&self, rule: &Rule, incidents: &[Incident]) -> Vec<CauseReport> {
        let mut counts: BTreeMap<usize, u64> = BTreeMap::new();
        let mut examples: BTreeMap<usize, Arc<Hit>> = BTreeMap::new();
        for incident in incidents {
            for (signal, count) in &incident.context_counts {
                *counts.entry(*signal).or_default() += count;
            }
            for hit in &incident.context {
                for s in &hit.signals {
                    if self.rules.rules[s.rule as usize].id == rule.id {
                        examples
                            .entry(s.signal as usize)
                            .or_insert_with(|| hit.clone());
                    }
                }
            }
        }
        let strength = |list: &[(usize, f64)]| -> f64 {
            1.0 - list
                .iter()
                .map(|(signal, weight)| {
                    let n = counts.get(signal).copied().unwrap_or(0).min(3) as i32;
                    (1.0 - weight).powi(n)
                })
                .product::<f64>()
        };
        let window = rule.cause_window_for(self.context.lease_secs);
        let mut causes: Vec<CauseReport> = rule
            .causes
            .iter()
            .map(|cause| {
                let support = strength(&cause.supported_by);
                let against = strength(&cause.refuted_by);
                let evidence = self.cause_evidence(rule, cause, &counts, &examples);
                let not_found: Vec<String> = cause
                    .supported_by
                    .iter()
                    .filter(|(signal, _)| !counts.contains_key(signal))
                    .map(|(signal, _)| describe(rule, *signal))
                    .collect();
                let seen_for = evidence.iter().any(|e| e.direction == Direction::For);
                // The log that would show the cause covers the incident and
                // shows none of it.
                let mut absent_from_covering_log = false;
                let (mut confidence, mut reasoning, mut to_check) =
                    (support * (1.0 - against), None, cause.when_no_evidence.clone());
                let logs = &cause.needs_log;
                if !logs.is_empty() {
                    // What the component's own log said: meta-side symptoms
                    // (timeouts) do not count as the component confirming it.
                    let seen_in_log = incidents.iter().flat_map(|i| &i.context).any(|hit| {
                        logs.contains(&component_of(hit))
                            && hit.signals.iter().any(|s| {
                                self.rules.rules[s.rule as usize].id == rule.id
                                    && cause.supported_by.iter().any(|(i, _)| *i == s.signal as usize)
                            })
                    });
                    let given = self.inputs.iter().any(|i| logs.iter().any(|l| i.components.contains(l)));
                    match self.covering_log(logs, incidents, window) {
                        Some(name) if !seen_in_log => {
                            // Absence in a log that covers the incident is
                            // evidence of absence.
                            let own: Vec<String> = cause
                                .supported_by
                                .iter()
                                .filter(|(signal, _)| rule.signals[*signal].from.is_some_and(|f| logs.contains(&f)))
                                .map(|(signal, _)| describe(rule, *signal))
                                .collect();
                            let looked = if own.is_empty() { not_found.join("; ") } else { own.join("; ") };
                            reasoning = Some(if seen_for {
                                format!("{name} covers the incident but shows none of its own warnings ({looked}); the meta side's errors alone do not confirm it")
                            } else {
                                format!("{name} covers the incident and shows none of: {looked}")
                            });
                            to_check = None;
                            confidence *= 0.5;
                            absent_from_covering_log = true;
                        }
                        Some(_) => to_check = None,
                        None if !given && logs == &[Component::Etcd] => {
                            reasoning = Some("no etcd log given: only the meta node's side was seen".to_string());
                            to_check = Some(format!(
                                "pass etcd's log too (e.g. `kubectl logs etcd-0`) to confirm or rule out: {}",
                                cause.title
                            ));
                        }
                        None if !given => {
                            let names: Vec<&str> = logs.iter().map(|l| l.as_str()).collect();
                            let pod = pod_hint(incidents);
                            let how: Vec<String> = logs.iter().map(|l| l.how_to_get(&pod)).collect();
                            reasoning = Some(format!(
                                "no {} log given: only RisingWave's side was seen",
                                names.join(" or ")
                            ));
                            to_check = Some(format!(
                                "pass {} to confirm or rule out: {}",
                                how.join(" or "),
                                self.context.fill(&cause.title)
                            ));
                        }
                        // Its own lines confirm it, even if the log's time
                        // range does not span the whole incident.
                        None if seen_in_log => to_check = None,
                        None => {
                            reasoning = Some(format!(
                                "the {} given does not cover the incident's time",
                                logs.iter().map(|l| l.log_name()).collect::<Vec<_>>().join(" or ")
                            ));
                        }
                    }
                } else if seen_for {
                    to_check = None;
                }
                let confidence = (confidence * 100.0).round() / 100.0;
                let verdict = match confidence {
                    _ if absent_from_covering_log && !seen_for => Verdict::Unlikely,
                    c if c >= 0.75 => Verdict::Likely,
                    c if c >= 0.4 => Verdict::Possible,
                    c if c > 0.0 => Verdict::Weak,
                    _ => Verdict::NotRuledOut,
                };
                CauseReport {
                    id: cause.id.clone(),
                    title: self.context.fill(&cause.title),
                    confidence,
                    verdict,
                    explain: self.context.fill(&cause.explain),
                    evidence,
                    not_found,
                    reasoning,
                    to_check,
                }
            })
            .collect();
        causes.sort_by(|a, b| {
            b.confidence.total_cmp(&a.confidence).then_with(|| {
                (a.verdict == Verdict::Unlikely).cmp(&(b.verdict == Verdict::Unlikely))
            })
        });
        causes
    }

    fn cause_evidence(
        &self,
        rule: &Rule,
        cause: &Cause,
        counts: &BTreeMap<usize, u64>,
        examples: &BTreeMap<usize, Arc<Hit>>,
    ) -> Vec<CauseEvidence> {
        let mut evidence = Vec::new();
        for (list, direction) in [
            (&cause.supported_by, Direction::For),
            (&cause.refuted_by, Direction::Against),
        ] {
            for (signal, _) in list.iter() {
                if let (Some(count), Some(hit)) = (counts.get(signal), examples.get(signal)) {
                    let s = &rule.signals[*signal];
                    let mut example = self.evidence_line(rule, hit);
                    example.signal = s.name.clone();
                    example.meaning = s.describe.clone();
                    example.highlight = s.regex.find(&example.message);
                    evidence.push(CauseEvidence {
                        signal: s.name.clone(),
                        meaning: s.describe.clone(),
                        count: *count,
                        direction,
                        example,
                    });
                }
            }
        }
        evidence
    }

    /// An input of that component whose time range covers the incidents
    /// and the cause window before them.
    /// A snapshot without times (`kubectl describe`, `docker inspect`)
    /// covers whatever it describes: the container's last state.
    fn covering_log(
        &self,
        logs: &[Component],
        incidents: &[Incident],
        window: chrono::Duration,
    ) -> Option<String> {
        let of_log = |i: &&InputInfo| logs.iter().any(|l| i.components.contains(l));
        if let Some(snapshot) = self
            .inputs
            .iter()
            .filter(of_log)
            .find(|i| i.first.is_none() && i.last.is_none())
        {
            return Some(snapshot.name.clone());
        }
        let start = incidents.iter().filter_map(|i| i.first).min()?;
        let end = incidents.iter().filter_map(|i| i.last).max()?;
        self.inputs
            .iter()
            .filter(of_log)
            .find(|i| match (i.first, i.last) {
                (Some(first), Some(last)) => first <= start && last >= end - window.min(chrono::Duration::seconds(5)),
                _ => false,
            })
            .map(|i| i.name.clone())
            .or_else(|| {
                // A log that starts inside the window still covers most of it.
                self.inputs
                    .iter()
                    .filter(of_log)
                    .find(|i| matches!((i.first, i.last), (Some(f), Some(l)) if f <= start && l >= start - window))
                    .map(|i| i.name.clone())
            })
    }

    /// Remedies that `lead` (and hold) first; then those for causes with
    /// evidence (in cause order); then the general ones; then those for
    /// causes nothing pointed to. Remedies whose `when` fails are dropped.
    fn order_remedies(&self, rule: &Rule, causes: &[CauseReport]) -> Vec<RemedyReport> {
        let rank = |remedy: &crate::rules::Remedy| -> (u8, usize) {
            if remedy.lead {
                return (0, 0);
            }
            match &remedy.cause {
                None => (2, 0),
                Some(id) => match causes.iter().position(|c| &c.id == id) {
                    Some(p)
                        if causes[p].confidence > 0.0 && causes[p].verdict != Verdict::Unlikely =>
                    {
                        (1, p)
                    }
                    Some(p) => (3, p),
                    None => (3, usize::MAX),
                },
            }
        };
        let mut remedies: Vec<(usize, &crate::rules::Remedy)> = rule
            .remedies
            .iter()
            .filter(|r| r.when.is_none_or(|w| self.context.holds(w)))
            .enumerate()
            .collect();
        remedies.sort_by_key(|(order, remedy)| (rank(remedy), *order));
        remedies
            .into_iter()
            .map(|(_, remedy)| RemedyReport {
                text: self.context.fill(&remedy.text),
                docs: remedy.docs.clone(),
                config: remedy.config.as_ref().map(|c| ConfigSnippet {
                    file: self.context.fill(&c.file),
                    snippet: self.context.fill(&c.snippet),
                }),
                cause: remedy.cause.clone(),
            })
            .collect()
    }
}

/// Whose log a line is from, by its shape (journald lines by their unit).
pub fn component_of(hit: &Hit) -> Component {
    shape_component(hit.shape, hit.origin.as_deref())
}

/// The component whose log writes lines of that shape.
pub fn shape_component(shape: Shape, origin: Option<&str>) -> Component {
    match shape {
        Shape::EtcdJson | Shape::EtcdCapnslog => Component::Etcd,
        Shape::Journald if origin.is_some_and(|o| o.contains("etcd")) => Component::Etcd,
        Shape::PostgresText | Shape::PostgresCsv | Shape::PostgresJson => Component::Postgres,
        Shape::Kubernetes => Component::Kubernetes,
        Shape::Kernel => Component::Kernel,
        Shape::Docker => Component::Docker,
        Shape::MysqlError => Component::Mysql,
        _ => Component::Meta,
    }
}

/// The pod (or container) the incident is about, for "pass `kubectl
/// describe pod rw-compute-0`": the wrapper's pod, else the first label of
/// a `host: "rw-compute-0.rw-compute"` / `host_addr=` the lines name.
fn pod_hint(incidents: &[Incident]) -> String {
    let events = || incidents.iter().flat_map(|i| &i.events);
    if let Some(origin) = events().find_map(|h| {
        h.origin
            .as_deref()
            .filter(|_| component_of(h) == Component::Meta)
            .map(|o| o.split(' ').next().unwrap_or(o).to_string())
    }) {
        return origin;
    }
    for hit in events() {
        for key in ["host: \"", "host_addr=", "host=", "worker node "] {
            if let Some(at) = hit.message.find(key) {
                let rest = &hit.message[at + key.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if name.len() >= 3 && name.contains('-') {
                    return name;
                }
            }
        }
    }
    "<pod>".to_string()
}

fn describe(rule: &Rule, signal: usize) -> String {
    let s = &rule.signals[signal];
    s.describe.clone().unwrap_or_else(|| s.name.clone())
}

/// `-15.2s`, `+0.0s`, `-3m04s`: offsets on a timeline.
pub fn format_offset(seconds: f64) -> String {
    if seconds.is_nan() {
        return "?".to_string();
    }
    let sign = if seconds < 0.0 { "-" } else { "+" };
    let abs = seconds.abs();
    if abs < 60.0 {
        return format!("{sign}{abs:.1}s");
    }
    // At most 8 characters, the timeline's column, whatever the clocks say
    // (lines years apart are possible: a wrong clock, a mislabelled file).
    let secs = abs as u64;
    let minutes = secs / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    if hours == 0 {
        format!("{sign}{minutes}m{:02}s", secs % 60)
    } else if hours < 100 {
        format!("{sign}{hours}h{:02}m", minutes % 60)
    } else if days < 1000 {
        format!("{sign}{days}d{:02}h", hours % 24)
    } else {
        format!("{sign}{}y", (days / 365).min(999_999))
    }
}

#[cfg(test)]
mod tests {
    use super::format_offset;

    #[test]
    fn offsets_fit_the_timeline_column() {
        for (seconds, text) in [
            (0.0, "+0.0s"),
            (-15.24, "-15.2s"),
            (65.9, "+1m05s"),
            (-3599.0, "-59m59s"),
            (3600.0 * 99.0 + 59.0 * 60.0, "+99h59m"),
            (3600.0 * 100.0, "+4d04h"),
            (86400.0 * 999.0, "+999d00h"),
            (86400.0 * 365.0 * 8000.0, "+8000y"),
            (-1e300, "-999999y"),
            (f64::NAN, "?"),
        ] {
            let shown = format_offset(seconds);
            assert_eq!(shown, text);
            assert!(shown.chars().count() <= 8, "{shown}");
        }
    }
}

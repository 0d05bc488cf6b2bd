//! Incidents → findings: evidence lines, causes ranked by the evidence for
//! and against each, and remedies ordered by the causes they address.
use crate::correlate::{Incident, RuleOutcome};
use crate::model::{Severity, Timestamp};
use crate::rules::{ConfigSnippet, Rule, RuleSet};
use crate::scan::Hit;
use chrono::SecondsFormat;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Evidence lines listed per finding in reports; counts stay exact.
pub const MAX_EVIDENCE_PER_FINDING: usize = 24;

#[derive(Debug, Clone, Serialize)]
pub struct EvidenceLine {
    pub source: String,
    pub line: u64,
    pub timestamp: Option<String>,
    pub text: String,
    /// The signal that matched, and what it means.
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    #[serde(skip)]
    pub highlight: Option<(usize, usize)>,
    #[serde(skip)]
    pub message_start: usize,
    #[serde(skip)]
    pub level: Option<crate::model::Level>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub lines: u64,
    /// `source:line` of the incident's evidence.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseEvidence {
    pub signal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    pub count: u64,
    /// `for` or `against` the cause.
    pub direction: &'static str,
    pub example: EvidenceLine,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseReport {
    pub id: String,
    pub title: String,
    /// 0 to 1, from the weights of the signals seen for and against it.
    pub confidence: f64,
    /// `likely`, `possible`, `weak` or `not ruled out`.
    pub verdict: &'static str,
    pub explain: String,
    pub evidence: Vec<CauseEvidence>,
    /// What to look at to confirm or rule the cause out, when nothing was seen.
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
    /// Evidence lines not listed (beyond the per-finding cap).
    pub evidence_omitted: u64,
    pub incidents: Vec<IncidentReport>,
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

pub struct Diagnoser<'a> {
    pub rules: &'a RuleSet,
    pub input_names: &'a [String],
}

impl Diagnoser<'_> {
    pub fn evidence_line(&self, rule: &Rule, hit: &Hit) -> EvidenceLine {
        let signal = hit
            .signals
            .iter()
            .find(|s| self.rules.rules[s.rule as usize].id == rule.id)
            .map(|s| &rule.signals[s.signal as usize]);
        EvidenceLine {
            source: self.input_names.get(hit.input).cloned().unwrap_or_default(),
            line: hit.line,
            timestamp: format_time(hit.timestamp),
            text: hit.text.clone(),
            signal: signal.map(|s| s.name.clone()).unwrap_or_default(),
            meaning: signal.and_then(|s| s.describe.clone()),
            highlight: hit.highlight,
            message_start: hit.message_start,
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
        for incident in &outcome.incidents {
            for hit in &incident.events {
                if evidence.len() < MAX_EVIDENCE_PER_FINDING {
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
                first_seen: format_time(incident.first),
                last_seen: format_time(incident.last),
                lines: incident.event_count,
                evidence: incident
                    .events
                    .iter()
                    .map(|h| {
                        format!(
                            "{}:{}",
                            self.input_names.get(h.input).map_or("", |s| s),
                            h.line
                        )
                    })
                    .collect(),
            })
            .collect();
        let causes = self.rank_causes(rule, &outcome.incidents);
        let remedies = order_remedies(rule, &causes);
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            title: rule.title.clone(),
            diagnosis: rule.diagnosis.clone(),
            count: outcome.incident_count,
            matched_lines: outcome.matched_lines,
            first_seen: format_time(outcome.incidents.iter().find_map(|i| i.first)),
            last_seen: format_time(outcome.incidents.iter().rev().find_map(|i| i.last)),
            evidence,
            evidence_omitted: total_lines.saturating_sub(listed),
            incidents,
            causes,
            remedies,
            docs: rule.docs.clone(),
        }
    }

    /// Confidence per cause: a noisy-OR of the weights of the signals seen
    /// for it (a signal seen repeatedly counts up to three times), scaled
    /// down by the signals seen against it. Ties keep the rule's order.
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
        let mut causes: Vec<CauseReport> = rule
            .causes
            .iter()
            .map(|cause| {
                let support = strength(&cause.supported_by);
                let against = strength(&cause.refuted_by);
                let confidence = ((support * (1.0 - against)) * 100.0).round() / 100.0;
                let mut evidence = Vec::new();
                for (list, direction) in
                    [(&cause.supported_by, "for"), (&cause.refuted_by, "against")]
                {
                    for (signal, _) in list.iter() {
                        if let (Some(count), Some(hit)) = (counts.get(signal), examples.get(signal))
                        {
                            let mut example = self.evidence_line(rule, hit);
                            let s = &rule.signals[*signal];
                            example.signal = s.name.clone();
                            example.meaning = s.describe.clone();
                            example.highlight =
                                s.regex.find(&example.text).map(|m| (m.start(), m.end()));
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
                let verdict = match confidence {
                    c if c >= 0.75 => "likely",
                    c if c >= 0.4 => "possible",
                    c if c > 0.0 => "weak",
                    _ => "not ruled out",
                };
                CauseReport {
                    id: cause.id.clone(),
                    title: cause.title.clone(),
                    confidence,
                    verdict,
                    explain: cause.explain.clone(),
                    to_check: (evidence.is_empty())
                        .then(|| cause.when_no_evidence.clone())
                        .flatten(),
                    evidence,
                }
            })
            .collect();
        causes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        causes
    }
}

/// Remedies for causes with evidence come first (in cause order), then the
/// general ones, then those for causes nothing pointed to.
fn order_remedies(rule: &Rule, causes: &[CauseReport]) -> Vec<RemedyReport> {
    let rank = |cause: &Option<String>| -> (u8, usize) {
        match cause {
            None => (1, 0),
            Some(id) => match causes.iter().position(|c| &c.id == id) {
                Some(p) if causes[p].confidence > 0.0 => (0, p),
                Some(p) => (2, p),
                None => (2, usize::MAX),
            },
        }
    };
    let mut remedies: Vec<(usize, &crate::rules::Remedy)> =
        rule.remedies.iter().enumerate().collect();
    remedies.sort_by_key(|(order, remedy)| (rank(&remedy.cause), *order));
    remedies
        .into_iter()
        .map(|(_, remedy)| RemedyReport {
            text: remedy.text.clone(),
            docs: remedy.docs.clone(),
            config: remedy.config.clone(),
            cause: remedy.cause.clone(),
        })
        .collect()
}

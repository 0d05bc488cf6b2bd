//! The JSON shape of a rule file, exactly as authors write it. Validation and
//! compilation into something the matcher can run live in `compile.rs`.
use crate::model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable id (`meta-leader-lease-lost`); `--rules DIR` overrides by id.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// Two or three sentences: what happened and why it matters.
    pub diagnosis: String,
    /// Pages that describe the failure.
    #[serde(default)]
    pub docs: Vec<String>,
    /// What the rule watches, when the summary counts its lines apart
    /// (the meta node's election: "N election lines, none a known failure").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// Named regexes over a record's message (and fields).
    pub signals: BTreeMap<String, SignalDef>,
    /// How the trigger signals combine into an incident.
    #[serde(rename = "match")]
    pub when: MatchDef,
    /// How far before an incident cause evidence is looked for: a duration
    /// (`120s`, the default) or `lease+30s` (the lease in force plus a margin).
    #[serde(default)]
    pub cause_window: Option<String>,
    /// Candidate causes, in the order to show them when the evidence ties.
    #[serde(default)]
    pub causes: Vec<CauseDef>,
    #[serde(default)]
    pub remedies: Vec<RemedyDef>,
    /// A higher severity for a finding of several incidents (a failure
    /// that repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<EscalateDef>,
    #[serde(default)]
    pub tests: RuleTests,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateDef {
    /// The finding takes `severity` when the rule found at least this many
    /// incidents.
    pub incidents: u64,
    pub severity: Severity,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalDef {
    /// Rust `regex` syntax, unanchored, matched against the message text.
    pub regex: String,
    /// Only records at one of these levels match (records without a level,
    /// such as lines pasted from grep, always pass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<String>,
    /// Regex on the record's target (`risingwave_meta::rpc::election::sql`);
    /// records without a target pass. A hint only: targets move between versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What the line means, shown next to evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describe: Option<String>,
    /// The component whose own log writes this line (`etcd`), when it is
    /// not the meta node: used to say what that log did not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Component>,
}

/// A rule's `topic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// The meta node's leader election and its lease (etcd or SQL).
    Election,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Any one of `signals`.
    Any,
    /// `steps` in order, first to last within `within`.
    Sequence,
    /// `at_least` of `signals` within `within`.
    Count,
    /// One of `signals` not followed by one of `not_followed_by` within `within`.
    NotFollowedBy,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchDef {
    #[serde(rename = "type")]
    pub kind: MatchKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// For every kind: the incident is dropped when one of these signals
    /// follows it within `grace` (for `not_followed_by`: within `within`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_followed_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
    /// For `sequence`: a half-built match is abandoned when one of these
    /// signals is seen after its first step, and an open incident takes no
    /// more lines after one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_between: Vec<String>,
    /// For `sequence`: its steps (and `not_between` lines) count only within
    /// one source: one input, and in a merged log one pod or service.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_source: bool,
    /// For `sequence`: every step must be the signal that made the first
    /// one (with `steps` that list the same signals: the meta node's
    /// banner twice, not the meta node's and then the compute node's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_signal: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CauseDef {
    pub id: String,
    pub title: String,
    /// Why this cause leads to the failure, one or two sentences.
    #[serde(default)]
    pub explain: String,
    #[serde(default)]
    pub supported_by: Vec<WeightedSignal>,
    #[serde(default)]
    pub refuted_by: Vec<WeightedSignal>,
    /// What the user can do to confirm or rule the cause out when the logs
    /// given hold no evidence either way.
    #[serde(default)]
    pub when_no_evidence: Option<String>,
    /// The decisive evidence is in this component's own log (`etcd`,
    /// `postgres`, `kubernetes`, `kernel`, `docker`), or in any one of a
    /// list of them: when such a log covering the incident shows none of
    /// it, the cause becomes unlikely; when none was given, the report asks
    /// for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_log: Option<NeedsLog>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedSignal {
    pub signal: String,
    /// 0..1: how strongly one occurrence speaks for (or against) the cause.
    pub weight: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemedyDef {
    pub text: String,
    #[serde(default)]
    pub docs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSnippet>,
    /// Remedies tied to a cause are ranked with that cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Shown only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<RemedyCondition>,
    /// Put first, ahead of the cause-ranked remedies, when shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lead: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSnippet {
    /// Where the snippet goes (`risingwave.toml, passed with --config-path`).
    pub file: String,
    pub snippet: String,
}

/// A rule's own tests, run by `cargo test` and `rwdoctor rules test`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTests {
    /// Each line must be matched by at least one of the rule's signals.
    #[serde(default, rename = "match")]
    pub must_match: Vec<String>,
    /// Each line must be matched by none of the rule's trigger signals.
    #[serde(default, rename = "no_match")]
    pub must_not_match: Vec<String>,
    /// Small logs and the number of incidents the rule must find in them.
    #[serde(default)]
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub lines: Vec<String>,
    pub incidents: usize,
}

/// `needs_log`: one component's log, or any of several (`["kubernetes",
/// "kernel", "docker"]` for a process killed for memory).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum NeedsLog {
    One(Component),
    Any(Vec<Component>),
}

impl NeedsLog {
    pub fn components(&self) -> Vec<Component> {
        match self {
            NeedsLog::One(c) => vec![*c],
            NeedsLog::Any(list) => list.clone(),
        }
    }
}

/// Whose log a line is from: RisingWave's (`meta` stands for any RisingWave
/// node) or a second log's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Meta,
    Etcd,
    /// PostgreSQL's server log (the meta store, a sink's or a CDC source's database).
    Postgres,
    /// `kubectl describe pod` / `kubectl get events`.
    Kubernetes,
    /// The kernel's messages (`dmesg`, `journalctl -k`).
    Kernel,
    /// `docker compose logs` / `docker inspect`.
    Docker,
    /// MySQL's (or MariaDB's) error log: a MySQL meta store.
    Mysql,
}

impl Component {
    pub const SECOND_LOGS: [Component; 6] = [
        Component::Etcd,
        Component::Postgres,
        Component::Kubernetes,
        Component::Kernel,
        Component::Docker,
        Component::Mysql,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Meta => "meta",
            Component::Etcd => "etcd",
            Component::Postgres => "postgres",
            Component::Kubernetes => "kubernetes",
            Component::Kernel => "kernel",
            Component::Docker => "docker",
            Component::Mysql => "mysql",
        }
    }

    /// The log in words (`PostgreSQL's server log`).
    pub fn log_name(self) -> &'static str {
        match self {
            Component::Meta => "the meta node's log",
            Component::Etcd => "etcd's log",
            Component::Postgres => "PostgreSQL's server log",
            Component::Kubernetes => "Kubernetes' pod status and events",
            Component::Kernel => "the kernel's log",
            Component::Docker => "Docker's container status",
            Component::Mysql => "MySQL's error log",
        }
    }

    /// How to get that log, for `pod` (a pod or container name, or a
    /// placeholder).
    pub fn how_to_get(self, pod: &str) -> String {
        match self {
            Component::Meta => format!("`kubectl logs {pod}`"),
            Component::Etcd => "etcd's log (`kubectl logs etcd-0`)".to_string(),
            Component::Postgres => "PostgreSQL's server log".to_string(),
            Component::Kubernetes => format!("`kubectl describe pod {pod}`"),
            Component::Kernel => "`journalctl -k`".to_string(),
            Component::Docker => format!("`docker inspect {pod}`"),
            Component::Mysql => "MySQL's error log (the file `log_error` names)".to_string(),
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a remedy applies, from what the logs say about the cluster
/// (`context::ClusterContext::holds` decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemedyCondition {
    SingleMetaNode,
    MultipleMetaNodes,
    MetaMembersUnknown,
    EtcdBackend,
    SqlBackend,
}

impl RemedyCondition {
    /// The condition in words.
    pub fn describe(self) -> &'static str {
        match self {
            RemedyCondition::SingleMetaNode => {
                "when exactly one meta node takes part in the election"
            }
            RemedyCondition::MultipleMetaNodes => {
                "when several meta nodes take part in the election"
            }
            RemedyCondition::MetaMembersUnknown => "when the logs name no meta member",
            RemedyCondition::EtcdBackend => "with the etcd election backend",
            RemedyCondition::SqlBackend => "with the SQL meta-store backend",
        }
    }
}

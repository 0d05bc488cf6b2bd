//! What the logs say about the cluster as a whole (version, election backend,
//! lease in force, meta members), gathered from facts and hits on the merged
//! timeline, and used to tailor diagnoses and remedies.
use crate::facts::FactKind;
use crate::model::Timestamp;
use crate::rules::RemedyCondition;
use crate::scan::Hit;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// Where the meta election runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Etcd,
    /// The SQL meta store (PostgreSQL, MySQL, SQLite): the only one from v2.1.
    Sql,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Etcd => "etcd",
            Backend::Sql => "sql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the lease in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseSource {
    /// The version's default (30 s since v0.19, 10 s before).
    #[default]
    Default,
    /// `meta_leader_lease_secs` in the `> config:` dump.
    Config,
}

/// Where the version comes from: read, or guessed from message forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VersionSource {
    #[serde(rename = "the `> version:` line")]
    VersionLine,
    #[serde(rename = "the election messages' target")]
    ElectionTarget,
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            VersionSource::VersionLine => "the `> version:` line",
            VersionSource::ElectionTarget => "the election messages' target",
        })
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterContext {
    /// `1.9.1`, or a range guessed from message forms (`v1.3–v2.0`).
    pub version: Option<String>,
    /// Where the version came from.
    pub version_source: Option<VersionSource>,
    pub election_backend: Option<Backend>,
    /// `meta_leader_lease_secs` in force.
    pub lease_secs: u64,
    pub lease_source: LeaseSource,
    /// Distinct meta members named by election lines.
    pub meta_members: BTreeSet<String>,
    /// How many times a meta node started (`Starting meta node`).
    pub meta_starts: u64,
    /// Where nodes started (start-up banners) and stopped gracefully, in
    /// the order read, at most `MAX_NODE_EVENTS`.
    pub node_events: Vec<NodeEvent>,
    /// Node events past `MAX_NODE_EVENTS`, not listed.
    pub node_events_omitted: u64,
}

/// Start-up banners and graceful stops listed at most.
pub const MAX_NODE_EVENTS: usize = 1000;

/// A node's start or graceful stop, for the timelines.
#[derive(Debug, Clone, Serialize)]
pub struct NodeEvent {
    pub kind: NodeEventKind,
    /// `meta`, `compute`, ... for a banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The input's name (filled when the run ends).
    pub source: String,
    #[serde(skip)]
    pub input: usize,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub timestamp: Option<String>,
    #[serde(skip)]
    pub time: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeEventKind {
    Started,
    Stopped,
}

/// Default lease: 30 s since v0.19, 10 s before.
const DEFAULT_LEASE_SECS: u64 = 30;
const OLD_DEFAULT_LEASE_SECS: u64 = 10;

impl ClusterContext {
    pub fn new() -> ClusterContext {
        ClusterContext {
            lease_secs: DEFAULT_LEASE_SECS,
            lease_source: LeaseSource::Default,
            ..ClusterContext::default()
        }
    }

    pub fn observe(&mut self, hit: &Hit) {
        for (kind, value) in &hit.facts {
            match kind {
                FactKind::MetaStarting => self.meta_starts += 1,
                FactKind::Version => {
                    self.version = Some(value.clone());
                    self.version_source = Some(VersionSource::VersionLine);
                }
                FactKind::LeaseSecs => {
                    if let Ok(secs) = value.parse() {
                        self.lease_secs = secs;
                        self.lease_source = LeaseSource::Config;
                    }
                }
                FactKind::Backend => {
                    self.election_backend = Some(if value == "Etcd" {
                        Backend::Etcd
                    } else {
                        Backend::Sql
                    });
                }
                FactKind::ElectionMember => {
                    if self.meta_members.len() < 64 {
                        self.meta_members.insert(value.clone());
                    }
                }
                FactKind::NodeStarting => self.node_event(NodeEventKind::Started, value, hit),
                FactKind::NodeStopping => self.node_event(NodeEventKind::Stopped, value, hit),
            }
        }
        if let Some(target) = hit.target.as_deref() {
            self.guess_from_target(target);
        }
    }

    fn node_event(&mut self, kind: NodeEventKind, value: &str, hit: &Hit) {
        if self.node_events.len() >= MAX_NODE_EVENTS {
            self.node_events_omitted += 1;
            return;
        }
        let time = hit.timestamp.or(hit.sort_time);
        self.node_events.push(NodeEvent {
            kind,
            node: (kind == NodeEventKind::Started).then(|| value.to_string()),
            source: String::new(),
            input: hit.input,
            line: hit.line,
            origin: hit.origin.clone(),
            timestamp: time.map(|t| {
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            }),
            time,
        });
    }

    /// Targets moved between versions (§2, §3 of the reference).
    fn guess_from_target(&mut self, target: &str) {
        let (range, backend) = if target.ends_with("rpc::election_client") {
            ("v0.1.16–v1.2", Backend::Etcd)
        } else if target.ends_with("rpc::election::etcd") {
            ("v1.3–v2.0", Backend::Etcd)
        } else if target.ends_with("rpc::election::sql") {
            ("v1.3 or later", Backend::Sql)
        } else {
            return;
        };
        self.election_backend.get_or_insert(backend);
        if self.version_source.is_none() {
            self.version = Some(range.to_string());
            // v0.1.16–v1.2 straddles v0.19 (the lease default went from
            // 10 s to 30 s): `settle` keeps 30 s for a guessed range.
            self.version_source = Some(VersionSource::ElectionTarget);
        }
    }

    /// Applies version-dependent defaults once every line has been seen.
    pub fn settle(&mut self) {
        if self.lease_source == LeaseSource::Default {
            if let Some((major, minor)) = self.version.as_deref().and_then(major_minor) {
                if (major, minor) < (0, 19) {
                    self.lease_secs = OLD_DEFAULT_LEASE_SECS;
                }
            }
        }
        if let Some((major, minor)) = self.version.as_deref().and_then(major_minor) {
            if (major, minor) >= (2, 1) {
                self.election_backend = Some(Backend::Sql);
            }
        }
    }

    /// No keep-alive for half the lease: the leader gives up.
    pub fn give_up_secs(&self) -> f64 {
        self.lease_secs as f64 / 2.0
    }

    pub fn is_v2_1_or_later(&self) -> bool {
        self.version_source == Some(VersionSource::VersionLine)
            && self
                .version
                .as_deref()
                .and_then(major_minor)
                .is_some_and(|v| v >= (2, 1))
    }

    /// Replaces `{lease_secs}`, `{give_up_secs}`, `{lease_source}`,
    /// `{members}`, `{member_count}`, `{version}`, `{backend}` in rule text.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        // Names and versions come from the logs: no control character goes
        // into the prose.
        let members: Vec<String> = self
            .meta_members
            .iter()
            .map(|m| crate::text::printable::printable(m).into_owned())
            .collect();
        text.replace("{lease_secs}", &self.lease_secs.to_string())
            .replace("{give_up_secs}", &trim_float(self.give_up_secs()))
            .replace(
                "{lease_source}",
                if self.lease_source == LeaseSource::Config {
                    "as set in the `> config:` line"
                } else {
                    "the default for this version"
                },
            )
            .replace("{members}", &members.join(", "))
            .replace("{member_count}", &members.len().to_string())
            .replace(
                "{version}",
                &crate::text::printable::printable(self.version.as_deref().unwrap_or("unknown")),
            )
            .replace(
                "{backend}",
                self.election_backend.map_or("unknown", Backend::as_str),
            )
    }

    /// Rule text with its `{placeholders}` spelled out, for `rwdoctor
    /// explain`, where there is no log to read them from.
    pub fn placeholders(text: &str) -> String {
        text.replace("{lease_secs}", "<meta_leader_lease_secs>")
            .replace("{give_up_secs}", "<half the lease>")
            .replace("{lease_source}", "as configured")
            .replace("{members}", "<meta members>")
            .replace("{member_count}", "<N>")
            .replace("{version}", "<version>")
            .replace("{backend}", "<backend>")
    }

    /// Whether a remedy's `when` condition holds.
    pub fn holds(&self, condition: RemedyCondition) -> bool {
        match condition {
            RemedyCondition::SingleMetaNode => self.meta_members.len() == 1,
            RemedyCondition::MultipleMetaNodes => self.meta_members.len() > 1,
            RemedyCondition::MetaMembersUnknown => self.meta_members.is_empty(),
            RemedyCondition::EtcdBackend => self.election_backend != Some(Backend::Sql),
            RemedyCondition::SqlBackend => self.election_backend == Some(Backend::Sql),
        }
    }
}

fn major_minor(version: &str) -> Option<(u32, u32)> {
    let version = version.trim_start_matches('v');
    let mut parts = version.split(['.', '–', '-', ' ']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_conditions() {
        let mut context = ClusterContext::new();
        context.meta_members.insert("rw-meta-0:5690".into());
        context.lease_secs = 30;
        context.lease_source = LeaseSource::Config;
        assert_eq!(
            context.fill("gave up after {give_up_secs} s ({lease_source})"),
            "gave up after 15 s (as set in the `> config:` line)"
        );
        assert!(context.holds(RemedyCondition::SingleMetaNode));
        assert!(!context.holds(RemedyCondition::MultipleMetaNodes));
        assert_eq!(major_minor("1.9.1"), Some((1, 9)));
        assert_eq!(major_minor("v0.18.0"), Some((0, 18)));
    }

    #[test]
    fn old_versions_default_to_a_ten_second_lease() {
        let mut context = ClusterContext::new();
        context.version = Some("0.18.0".into());
        context.version_source = Some(VersionSource::VersionLine);
        context.settle();
        assert_eq!(context.lease_secs, 10);
    }
}

//! Facts about the cluster read from ordinary lines (startup, config,
//! election): the RisingWave version, the lease in force, the election
//! backend and the meta members seen. They turn a generic diagnosis into one
//! about this cluster ("the leader gave up after 15 s", "one meta node: set
//! a one-day lease"). They run through the same literal prefilter as rules.
use crate::rules::{LazyRegex, Signal};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// `Starting meta node`.
    MetaStarting,
    /// `> version: 1.9.1 (abc1234)` → `1.9.1`.
    Version,
    /// `meta_leader_lease_secs: 30` inside the `> config:` dump.
    LeaseSecs,
    /// `backend: Some(Etcd)` / `Sql` inside the `> options:` dump.
    Backend,
    /// A meta member named by an election line.
    ElectionMember,
    /// A node's start-up banner, `Starting compute node` → `compute`: its
    /// hit carries the event line before it (the previous process's last).
    NodeStarting,
    /// A graceful stop (`received SIGTERM, shutting down...`, a leader
    /// resigning, a worker unregistering): drawn on the HTML timelines.
    NodeStopping,
}

/// (kind, regex with one capture group unless the fact is a mere presence),
/// from `facts/patterns.rs` (shared with `build.rs`).
macro_rules! fact_patterns {
    ($($kind:ident => $pattern:expr,)*) => {
        const PATTERNS: &[(FactKind, &str)] = &[$((FactKind::$kind, $pattern)),*];
    };
}
include!("facts/patterns.rs");

pub fn signals() -> Vec<(FactKind, Signal)> {
    PATTERNS
        .iter()
        .map(|(kind, pattern)| {
            (
                *kind,
                Signal {
                    name: format!("fact:{kind:?}"),
                    regex: LazyRegex::new(pattern),
                    levels: Vec::new(),
                    target: None,
                    describe: None,
                    from: None,
                },
            )
        })
        .collect()
}

/// The first non-empty capture group, or the whole match.
pub fn value(signal: &Signal, message: &str) -> Option<String> {
    let (start, end) = signal.regex.first_group(message)?;
    Some(message[start..end].trim_end_matches([',', '.']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(kind: FactKind, message: &str) -> Option<String> {
        let signals = signals();
        let (_, signal) = signals.iter().find(|(k, _)| *k == kind).unwrap();
        value(signal, message)
    }

    #[test]
    fn reads_version_lease_backend_and_members() {
        assert_eq!(
            fact(FactKind::Version, "> version: 1.9.1 (abc1234)").as_deref(),
            Some("1.9.1")
        );
        assert_eq!(
            fact(
                FactKind::LeaseSecs,
                "> config: RwConfig { meta: MetaConfig { meta_leader_lease_secs: 30, x: 1 } }"
            )
            .as_deref(),
            Some("30")
        );
        assert_eq!(
            fact(
                FactKind::Backend,
                "> options: MetaNodeOpts { backend: Some(Etcd), etcd_endpoints: \"e\" }"
            )
            .as_deref(),
            Some("Etcd")
        );
        assert_eq!(
            fact(
                FactKind::ElectionMember,
                "client rw-meta-0.rw-meta:5690 wins election __meta_election_"
            )
            .as_deref(),
            Some("rw-meta-0.rw-meta:5690")
        );
        assert_eq!(
            fact(
                FactKind::ElectionMember,
                "member rw-meta-1:5690 election timeout"
            )
            .as_deref(),
            Some("rw-meta-1:5690")
        );
        assert_eq!(
            fact(FactKind::MetaStarting, "Starting meta node").as_deref(),
            Some("Starting meta node")
        );
        assert_eq!(
            fact(FactKind::ElectionMember, "leader has been changed to x"),
            None
        );
        assert_eq!(
            fact(FactKind::NodeStarting, "Starting compute node").as_deref(),
            Some("compute")
        );
        assert_eq!(fact(FactKind::NodeStarting, "starting compute node"), None);
    }
}

//! What the logs say about the cluster as a whole (version, election backend,
//! lease in force, meta members), gathered from facts and hits on the merged
//! timeline, and used to tailor diagnoses and remedies.
use crate::facts::FactKind;
use crate::scan::Hit;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterContext {
    /// `1.9.1`, or a range guessed from message forms (`v1.3–v2.0`).
    pub version: Option<String>,
    /// Where the version came from.
    pub version_source: Option<&'static str>,
    /// `etcd` or `sql`.
    pub election_backend: Option<&'static str>,
    /// `meta_leader_lease_secs` in force.
    pub lease_secs: u64,
    /// `config` when read from the `> config:` line, else `default`.
    pub lease_source: &'static str,
    /// Distinct meta members named by election lines.
    pub meta_members: BTreeSet<String>,
    /// How many times a meta node started (`Starting meta node`).
    pub meta_starts: u64,
}

/// Default lease: 30 s since v0.19, 10 s before.
const DEFAULT_LEASE_SECS: u64 = 30;
const OLD_DEFAULT_LEASE_SECS: u64 = 10;

impl ClusterContext {
    pub fn new() -> ClusterContext {
        ClusterContext {
            lease_secs: DEFAULT_LEASE_SECS,
            lease_source: "default",
            ..ClusterContext::default()
        }
    }

    pub fn observe(&mut self, hit: &Hit) {
        for (kind, value) in &hit.facts {
            match kind {
                FactKind::MetaStarting => self.meta_starts += 1,
                FactKind::Version => {
                    self.version = Some(value.clone());
                    self.version_source = Some("the `> version:` line");
                }
                FactKind::LeaseSecs => {
                    if let Ok(secs) = value.parse() {
                        self.lease_secs = secs;
                        self.lease_source = "config";
                    }
                }
                FactKind::Backend => {
                    self.election_backend = Some(if value == "Etcd" { "etcd" } else { "sql" });
                }
                FactKind::ElectionMember => {
                    if self.meta_members.len() < 64 {
                        self.meta_members.insert(value.clone());
                    }
                }
                FactKind::NodeStarting => {}
            }
        }
        if let Some(target) = hit.target.as_deref() {
            self.guess_from_target(target);
        }
    }

    /// Targets moved between versions (§2, §3 of the reference).
    fn guess_from_target(&mut self, target: &str) {
        let (range, backend) = if target.ends_with("rpc::election_client") {
            ("v0.1.16–v1.2", "etcd")
        } else if target.ends_with("rpc::election::etcd") {
            ("v1.3–v2.0", "etcd")
        } else if target.ends_with("rpc::election::sql") {
            ("v1.3 or later", "sql")
        } else {
            return;
        };
        self.election_backend.get_or_insert(backend);
        if self.version_source.is_none() {
            self.version = Some(range.to_string());
            self.version_source = Some("the election messages' target");
            if range.starts_with("v0.1.16") && self.lease_source == "default" {
                // v0.18 and earlier defaulted to 10 s; this range straddles
                // v0.19, so keep 30 s unless the version says otherwise.
            }
        }
    }

    /// Applies version-dependent defaults once every line has been seen.
    pub fn settle(&mut self) {
        if self.lease_source == "default" {
            if let Some((major, minor)) = self.version.as_deref().and_then(major_minor) {
                if (major, minor) < (0, 19) {
                    self.lease_secs = OLD_DEFAULT_LEASE_SECS;
                }
            }
        }
        if let Some((major, minor)) = self.version.as_deref().and_then(major_minor) {
            if (major, minor) >= (2, 1) {
                self.election_backend = Some("sql");
            }
        }
    }

    /// No keep-alive for half the lease: the leader gives up.
    pub fn give_up_secs(&self) -> f64 {
        self.lease_secs as f64 / 2.0
    }

    pub fn is_v2_1_or_later(&self) -> bool {
        self.version_source == Some("the `> version:` line")
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
            .map(|m| crate::report::printable::printable(m).into_owned())
            .collect();
        text.replace("{lease_secs}", &self.lease_secs.to_string())
            .replace("{give_up_secs}", &trim_float(self.give_up_secs()))
            .replace(
                "{lease_source}",
                if self.lease_source == "config" {
                    "as set in the `> config:` line"
                } else {
                    "the default for this version"
                },
            )
            .replace("{members}", &members.join(", "))
            .replace("{member_count}", &members.len().to_string())
            .replace(
                "{version}",
                &crate::report::printable::printable(self.version.as_deref().unwrap_or("unknown")),
            )
            .replace("{backend}", self.election_backend.unwrap_or("unknown"))
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

    /// A remedy's `when` condition in words.
    pub fn describe_condition(condition: &str) -> &'static str {
        match condition {
            "single_meta_node" => "when exactly one meta node takes part in the election",
            "multiple_meta_nodes" => "when several meta nodes take part in the election",
            "meta_members_unknown" => "when the logs name no meta member",
            "etcd_backend" => "with the etcd election backend",
            "sql_backend" => "with the SQL meta-store backend",
            _ => "under a condition",
        }
    }

    /// Whether a remedy's `when` condition holds.
    pub fn holds(&self, condition: &str) -> bool {
        match condition {
            "single_meta_node" => self.meta_members.len() == 1,
            "multiple_meta_nodes" => self.meta_members.len() > 1,
            "meta_members_unknown" => self.meta_members.is_empty(),
            "etcd_backend" => self.election_backend != Some("sql"),
            "sql_backend" => self.election_backend == Some("sql"),
            _ => false,
        }
    }

    pub const CONDITIONS: [&'static str; 5] = [
        "single_meta_node",
        "multiple_meta_nodes",
        "meta_members_unknown",
        "etcd_backend",
        "sql_backend",
    ];
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
        context.lease_source = "config";
        assert_eq!(
            context.fill("gave up after {give_up_secs} s ({lease_source})"),
            "gave up after 15 s (as set in the `> config:` line)"
        );
        assert!(context.holds("single_meta_node"));
        assert!(!context.holds("multiple_meta_nodes"));
        assert_eq!(major_minor("1.9.1"), Some((1, 9)));
        assert_eq!(major_minor("v0.18.0"), Some((0, 18)));
    }

    #[test]
    fn old_versions_default_to_a_ten_second_lease() {
        let mut context = ClusterContext::new();
        context.version = Some("0.18.0".into());
        context.version_source = Some("the `> version:` line");
        context.settle();
        assert_eq!(context.lease_secs, 10);
    }
}

// The facts' patterns: (kind => regex with one capture group unless the
// fact is a mere presence). Included by `facts.rs` (as `PATTERNS`) and by
// `build.rs`, which computes the pack's anchors ahead (`literals`).
fact_patterns! {
    MetaStarting => r"\bStarting meta node\b",
    Version => r"^> version: v?([0-9]+\.[0-9]+[^\s(]*)",
    LeaseSecs => r"\bmeta_leader_lease_secs: ([0-9]+)",
    Backend => r"\bbackend: (?:Some\()?(Etcd|Sql|Mem|Sqlite|Postgres|Mysql)\b",
    ElectionMember => r"(?:\bclient (\S+) (?:start election|wins election|lost leadership)|\bmember (\S+) election timeout|^leader is (\S+)|\bkeep alive for member (\S+) failed)",
    NodeStarting => r"^Starting (meta|compute|frontend|compactor) node\b",
    // The graceful stops of rules/node-restarted-without-stop.json.
    NodeStopping => r"^received (?:SIGTERM|ctrl-c), shutting down\.\.\.|^all services stopped, bye$|^successfully unregistered from meta service\b|^leader \S+ resigning$|\bleader key found with lease -?[0-9]+, resigning\b",
}

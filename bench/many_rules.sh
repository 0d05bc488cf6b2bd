#!/usr/bin/env bash
# Writes N one-signal rule files into DIR, for timing how the matcher
# scales with the rule count (issue 13; probe defect D8).
#
#   bash bench/many_rules.sh [-d] N DIR
#   command time -f '%e s %M KiB' target/release/rwdoctor --rules DIR \
#       testdata/sample-incident.log >/dev/null
#
# By default rule `many-00042` has the signal regex `probe literal number
# 00042 xyz`, the probe's reproduction: every literal shares `probe literal
# number 0004` with nine others, and all of them end up merged into one
# prefilter anchor. With -d each literal is distinct instead (`rule
# 5c1f9e0a03b2d4c7 failed`, a hash of the rule number), so nothing merges and the
# prefilter has N anchors.
set -euo pipefail
distinct=0
if [[ ${1:-} == -d ]]; then
    distinct=1
    shift
fi
if (($# != 2)); then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
count=$1
dir=$2
mkdir -p "$dir"
for ((i = 0; i < count; i++)); do
    printf -v id '%05d' "$i"
    if ((distinct)); then
        printf -v regex 'rule %08x%08x failed' $(((i * 2654435761 + 12345) % 4294967296)) $(((i * 40503 + 977) * 2246822519 % 4294967296))
    else
        regex="probe literal number $id xyz"
    fi
    cat >"$dir/r$id.json" <<JSON
{"id": "many-$id", "severity": "error", "title": "t", "diagnosis": "d", "docs": ["https://example.com"],
 "signals": {"s1": {"regex": "$regex", "describe": "d"}},
 "match": {"type": "any", "signals": ["s1"]}, "causes": [],
 "remedies": [{"text": "t", "docs": ["https://example.com"]}],
 "tests": {"match": [], "no_match": [], "scenarios": []}}
JSON
done

#!/usr/bin/env python3
"""Writes one one-signal rule file per line of a literals file into DIR (the
regex is the line, escaped), for benchmarking the prefilter with a grown pack.

    python3 bench/literal_rules.py bench/grown-literals.txt /tmp/pack300
    bash bench/many_rules.sh -d 700 /tmp/pack1000 && \
        python3 bench/literal_rules.py bench/grown-literals.txt /tmp/pack1000
    target/release/rwdoctor --rules /tmp/pack300 LOG

Patterns for the ripgrep baseline: `cat bench/patterns.txt LITERALS`.
"""
import json
import os
import sys

if len(sys.argv) != 3:
    sys.exit(__doc__)
literals_path, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
with open(literals_path, encoding="utf-8") as f:
    literals = [line.rstrip("\n") for line in f if line.strip()]
for i, literal in enumerate(literals):
    regex = "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in literal)
    rule = {
        "id": f"grown-{i:04d}",
        "severity": "error",
        "title": "t",
        "diagnosis": "d",
        "docs": ["https://example.com"],
        "signals": {"s1": {"regex": regex, "describe": "d"}},
        "match": {"type": "any", "signals": ["s1"]},
        "causes": [],
        "remedies": [{"text": "t", "docs": ["https://example.com"]}],
        "tests": {"match": [], "no_match": [], "scenarios": []},
    }
    with open(os.path.join(out_dir, f"g{i:04d}.json"), "w", encoding="utf-8") as f:
        json.dump(rule, f)

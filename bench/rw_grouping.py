#!/usr/bin/env python3
"""Grouping accuracy of `rwdoctor templates` on the labelled RisingWave set
(testdata/grouping/, built by bench/rw_grouping_gen.py from RisingWave's own
format strings), with the GA of bench/loghub_ga.py (a record counts when its
group holds exactly the records of its true event).

    python3 bench/rw_grouping.py [RWDOCTOR]

Reports the GA on the whole set and per shape (a shape's records scored
alone), with two truths: the call site and its error chain (the set's
truth: rwdoctor keeps the inner error text), and the call site alone (for
reference). Then checks rw-shapes.log: every event written in every shape
must get one id. MERGE=N adds `--merge N`. Exit 3 under STRICT=1 when the
bar (GA >= 0.95, one id per event across shapes) is missed.
"""
import csv, json, os, subprocess, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from loghub_ga import ga  # noqa: E402

DIR = os.path.join(HERE, "..", "testdata", "grouping")
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "release", "rwdoctor")
MERGE = os.environ.get("MERGE")


def labels(path):
    args = [BIN, "templates", "--all-levels", "--lines", "--format", "json"]
    if MERGE:
        args += ["--merge", MERGE]
    doc = json.loads(subprocess.run(args + [path], check=True, capture_output=True).stdout)
    label = {}
    for t in doc["templates"]:
        for line in t["lines"]:
            label[line] = t["id"]
    return label, len(doc["templates"])


def truth(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["event"] != "-"]


def score(rows, label):
    pred = [label.get(int(r["line"]), f"<unmined {r['line']}>") for r in rows]
    full = ga(pred, [(r["event"], r["error"]) for r in rows])
    site = ga(pred, [r["event"] for r in rows])
    return full, site


def main():
    rows = truth(os.path.join(DIR, "rw-labelled.truth.tsv"))
    label, n_templates = labels(os.path.join(DIR, "rw-labelled.log"))
    full, site = score(rows, label)
    events = len({(r["event"], r["error"]) for r in rows})
    print(f"rw-labelled.log: {len(rows)} records, {events} events "
          f"({len({r['event'] for r in rows})} call sites), {n_templates} templates")
    print("| shape | records | GA (call site + error chain) | GA (call site alone) |")
    print("|---|---|---|---|")
    by_shape = defaultdict(list)
    for r in rows:
        by_shape[r["shape"]].append(r)
    for shape in sorted(by_shape):
        f, s = score(by_shape[shape], label)
        print(f"| {shape} | {len(by_shape[shape])} | {f:.3f} | {s:.3f} |")
    print(f"| **all** | {len(rows)} | **{full:.3f}** | {site:.3f} |")
    # Where it falls short: the true events split or joined.
    groups = defaultdict(set)
    for r in rows:
        groups[(r["event"], r["error"])].add(label.get(int(r["line"])))
    split = sorted(k for k, ids in groups.items() if len(ids) > 1)
    owners = defaultdict(set)
    for k, ids in groups.items():
        for i in ids:
            owners[i].add(k)
    joined = sorted({k for ks in owners.values() if len(ks) > 1 for k in ks})
    print(f"events split over several ids: {len(split)} {' '.join(f'{e}/{k}' for e, k in split[:40])}")
    print(f"events sharing an id with another: {len(joined)} {' '.join(f'{e}/{k}' for e, k in joined[:40])}")

    srows = truth(os.path.join(DIR, "rw-shapes.truth.tsv"))
    slabel, _ = labels(os.path.join(DIR, "rw-shapes.log"))
    ids = defaultdict(set)
    for r in srows:
        ids[(r["event"], r["error"])].add(slabel.get(int(r["line"])))
    bad = sorted(k for k, v in ids.items() if len(v) != 1)
    print(f"rw-shapes.log: {len(ids)} events x {len({r['shape'] for r in srows})} shapes; "
          f"events with more than one id: {len(bad)} {' '.join(f'{e}/{k}' for e, k in bad[:40])}")
    ok = full >= 0.95 and not bad
    print(f"bar (GA >= 0.95, one id per event across shapes): {'met' if ok else 'MISSED'}")
    return 0 if ok or not os.environ.get("STRICT") else 3


if __name__ == "__main__":
    sys.exit(main())

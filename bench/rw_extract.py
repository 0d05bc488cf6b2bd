#!/usr/bin/env python3
"""Extracts the `tracing` call sites (info!/warn!/error!, with or without
`tracing::`) of RisingWave's meta, compute, stream, storage (compactor
included), frontend, common and connector crates at the given release tags,
and writes the list the RisingWave grouping set is generated from
(bench/rw-grouping/events.json): per event its level, target (the module
path tracing writes), format string, fields, call site (file:line at the
first tag it was seen) and the tags it is in.

    python3 bench/rw_extract.py RISINGWAVE_GIT_DIR [OUT]

RISINGWAVE_GIT_DIR is a clone (bare is fine) of
github.com/risingwavelabs/risingwave with its tags. Nothing is copied but the
format strings and field names (the truth of the set); the selection is
deterministic (sorted, sampled by a hash of the format string).
"""
import hashlib, json, os, re, subprocess, sys

TAGS = ["v2.1.0", "v2.2.0", "v2.3.0", "v2.4.0", "v2.5.0", "v2.6.0", "v2.7.0", "v2.8.0", "v3.0.3"]
DIRS = ["src/meta", "src/compute", "src/stream", "src/storage", "src/frontend", "src/common",
        "src/connector"]
MACRO = re.compile(r"\b(?:tracing::)?(info|warn|error)!\s*\(")
PER_CRATE = {  # events sampled per crate (besides the ones the references name)
    "risingwave_meta": 40, "risingwave_stream": 22, "risingwave_storage": 22,
    "risingwave_compute": 8, "risingwave_frontend": 14, "risingwave_common": 8,
    "risingwave_connector": 14, "risingwave_compactor": 4, "risingwave_meta_node": 6,
    "risingwave_object_store": 6, "risingwave_hummock_sdk": 2, "risingwave_meta_service": 4,
}


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True).stdout


def crate_names(repo, tag, paths):
    names = {}
    for p in paths:
        if p.endswith("Cargo.toml"):
            text = git(repo, "show", f"{tag}:{p}").decode("utf-8", "replace")
            m = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', text, re.M | re.S)
            if m:
                names[os.path.dirname(p)] = m.group(1).replace("-", "_")
    return names


def module_path(crate_dir, crate, path):
    rel = path[len(crate_dir) + 1:]
    if not rel.startswith("src/"):
        return None
    parts = rel[4:-3].split("/")
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    if parts and parts[0] == "bin":
        return None
    return "::".join([crate] + parts)


def macro_body(text, start):
    """The text between the macro's parentheses (start: index after `(`)."""
    depth, i, n = 1, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "r" and text[i:i + 2] in ('r"', 'r#'):
            m = re.match(r'r(#*)"', text[i:])
            if m:
                end = text.find('"' + m.group(1), i + len(m.group(0)))
                i = end + len(m.group(1))
        elif c == "/" and text[i:i + 2] == "//":
            i = text.find("\n", i)
            if i < 0:
                return None
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def split_args(body):
    args, depth, cur, i, n = [], 0, "", 0, len(body)
    while i < n:
        c = body[i]
        if c == '"':
            j = i + 1
            while j < n and body[j] != '"':
                j += 2 if body[j] == "\\" else 1
            cur += body[i:j + 1]
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        args.append(cur.strip())
    return args


STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.S)


def unescape(s):
    s = re.sub(r"\\\n\s*", "", s)  # line continuation
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def parse_call(body):
    args = split_args(body)
    target = None
    if args and args[0].startswith("target:"):
        target = args[0].split(":", 1)[1].strip().strip('"')
        args = args[1:]
    if args and args[0].startswith("parent:"):
        args = args[1:]
    fields, fmt, fmt_args = [], None, []
    for k, a in enumerate(args):
        m = STRING.match(a)
        if m:
            fmt = unescape(m.group(1))
            fmt_args = args[k + 1:]
            break
        # a field: `name = %expr`, `name = ?expr`, `name = expr`, `%name`, `?name`, `name`, `a.b`
        m = re.match(r'^([A-Za-z_][\w.]*|"[^"]+")\s*=\s*([%?]?)(.*)$', a, re.S)
        if m:
            fields.append({"name": m.group(1).strip('"'), "sigil": m.group(2),
                           "expr": " ".join(m.group(3).split())})
            continue
        m = re.match(r"^([%?]?)([A-Za-z_][\w.]*)$", a)
        if m:
            fields.append({"name": m.group(2), "sigil": m.group(1), "expr": m.group(2)})
            continue
        return None  # not a tracing call we can read (e.g. a variable format)
    if fmt is None:
        if not fields:
            return None
        fmt = ""
    return target, fields, fmt, [" ".join(a.split()) for a in fmt_args if a]


def references():
    """Message texts the references and testdata show (to prefer those events)."""
    texts = []
    ref = "/work/shared/reference/risingwave-failures.md"
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata")
    files = [ref] + [os.path.join(here, f) for f in os.listdir(here) if f.endswith(".log")]
    for f in files:
        if os.path.exists(f):
            texts.append(open(f, encoding="utf-8", errors="replace").read())
    return "\n".join(texts)


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "rw-grouping", "events.json")
    events = {}
    for tag in TAGS:
        paths = git(repo, "ls-tree", "-r", "--name-only", tag, "--", *DIRS).decode().split("\n")
        crates = crate_names(repo, tag, paths)
        for p in paths:
            if not p.endswith(".rs") or "/tests/" in p or "/benches/" in p or "test" in os.path.basename(p):
                continue
            crate_dir = max((d for d in crates if p.startswith(d + "/")), key=len, default=None)
            if crate_dir is None:
                continue
            module = module_path(crate_dir, crates[crate_dir], p)
            if module is None:
                continue
            text = git(repo, "show", f"{tag}:{p}").decode("utf-8", "replace")
            cut = text.find("#[cfg(test)]")
            for m in MACRO.finditer(text):
                if 0 <= cut < m.start():
                    break
                body = macro_body(text, m.end())
                if body is None:
                    continue
                call = parse_call(body)
                if call is None:
                    continue
                target, fields, fmt, fmt_args = call
                level = m.group(1).upper()
                target = target or module
                key = (level, target, fmt, tuple(f["name"] for f in fields))
                line = text.count("\n", 0, m.start()) + 1
                if key not in events:
                    events[key] = {"level": level, "target": target, "format": fmt,
                                   "args": fmt_args, "fields": fields,
                                   "site": f"{p}:{line}", "site_tag": tag, "tags": []}
                events[key]["tags"].append(tag)
    ref = references()
    chosen, by_crate = [], {}
    for key in sorted(events, key=lambda k: hashlib.sha1(repr(k).encode()).hexdigest()):
        e = events[key]
        literal = re.split(r"\{[^}]*\}", e["format"])[0].strip()
        in_refs = len(literal) >= 12 and literal in ref
        crate = e["target"].split("::")[0]
        if not e["format"] or "\n" in e["format"]:
            continue
        if in_refs or by_crate.get(crate, 0) < PER_CRATE.get(crate, 0):
            if not in_refs:
                by_crate[crate] = by_crate.get(crate, 0) + 1
            e["referenced"] = in_refs
            chosen.append(e)
    chosen.sort(key=lambda e: (e["target"], e["site"]))
    for n, e in enumerate(chosen):
        e["id"] = f"E{n + 1:03d}"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"source": "github.com/risingwavelabs/risingwave", "tags": TAGS,
                   "events": chosen}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(events)} call sites, {len(chosen)} chosen "
          f"({sum(e['referenced'] for e in chosen)} named by the references) -> {out}")


if __name__ == "__main__":
    main()

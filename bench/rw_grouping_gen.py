#!/usr/bin/env python3
"""Builds the labelled RisingWave grouping set from the committed list of
format strings (testdata/grouping/events.json, made by bench/rw_extract.py
from RisingWave's source at v2.1.0 ... v3.0.3). Deterministic (a fixed seed,
no clock); rerun and `git diff` shows nothing.

    python3 bench/rw_grouping_gen.py

Writes, in testdata/grouping/:
* rw-labelled.log: about 2,000 records, each a `tracing` call site of the
  list instantiated with realistic values (ids, epochs, hosts, durations,
  error chains, names, SQL) and written in one of RisingWave's shapes: text
  (`full` format, sometimes with thread name and spans), JSON (the Cloud
  deployment's `fmt().json()`), pretty (head line plus `at`/`on` lines),
  ANSI colours, and wrapped by `kubectl logs --prefix --timestamps`, a CRI
  log file or `docker compose logs`;
* rw-labelled.truth.tsv: one row per line: line number, event (the call
  site's id in events.json, `-` for a pretty continuation or blank line),
  error kind (the error chain's id below, `-` when none), shape, and the
  RisingWave tag the call site is taken from;
* rw-shapes.log and rw-shapes.truth.tsv: every event once with the same
  values in every shape (for "one id per event across shapes").

Truth: two records are one event when they come from the same format string
(same level and target) *and*, when they carry an error, the same error
chain (the chain is itself format strings of RisingWave's error types and
its dependencies; rwdoctor keeps the inner error text on purpose, so a new
error behind a known call site is a new template). bench/rw_grouping.py also
scores the call site alone.
"""
import json, os, random, re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "testdata", "grouping")
ESC = "\x1b"
TOTAL = 2000

# Error chains as RisingWave writes them (`%e.as_report()`), from the
# references and testdata; `{n}`, `{ip}`, `{host}`, `{obj}` vary.
ERRORS = [
    ("K01", 'grpc request error: status: Unavailable, message: "etcdserver: request timed out", details: [], metadata: MetadataMap {{ headers: {{}} }}'),
    ("K02", "gRPC request to meta service (call `/meta.HeartbeatService/Heartbeat`) failed: Unavailable: error trying to connect: tcp connect error: Connection refused (os error 111)"),
    ("K03", "get error from control stream, in worker node {n}: gRPC request to stream service failed: Internal error: end of stream"),
    ("K04", "worker node {n} is shutting down"),
    ("K05", "Failed to acquire connection from pool: Connection pool timed out"),
    ("K06", "Hummock error: failed to access meta store: Execution Error: error returned from database: terminating connection due to administrator command"),
    ("K07", "Connector error: Kafka error: Meta data fetch error: BrokerTransportFailure (Local: Broker transport failure)"),
    ("K08", 'Sink error: Postgres error: error returned from database: null value in column "id" of relation "orders" violates not-null constraint'),
    ("K09", "PermissionDenied (permanent) at Writer::close, context: {{ uri: https://rw-state.s3.us-east-1.amazonaws.com/rw/hummock_001/{n}/{obj}.data, response: Parts {{ status: 403 }}, service: s3, path: rw/hummock_001/{n}/{obj}.data }} => S3 permission denied"),
    ("K10", "Meta storage error: etcd error: grpc request error: status: ResourceExhausted, message: \"etcdserver: mvcc: database space exceeded\", details: [], metadata: MetadataMap {{ headers: {{}} }}"),
    ("K11", "transport error: transport error: connection error: Connection reset by peer (os error 104)"),
    ("K12", "Query Error: error communicating with database: Connection reset by peer (os error 104)"),
    ("K13", "Actor {n} exited unexpectedly: Executor error: Storage error: Hummock error: Object error: Timeout error: Retry attempts exhausted for read. Please modify `object_store_config.retry.read_attempt_timeout_ms` if needed."),
    ("K14", "Connection Error: error returned from database: no pg_hba.conf entry for host \"{ip}\", user \"risingwave\", database \"metadata\", SSL encryption"),
    ("K15", "Service unavailable"),
    ("K16", "gRPC request to stream service failed: Internal error: failed to collect barrier: Actor {n} exited unexpectedly: Executor error: Sink error: connection reset by peer"),
    ("K17", "Storage error: Hummock error: Other error: failed to sync epoch {epoch}: sync timeout"),
    ("K18", "Catalog error: table not found: {name}"),
]
WORDS = ["orders", "user_events", "page_views", "payments", "clicks", "inventory", "sessions"]
HOSTS = ["rw-compute-{n}.rw-compute.risingwave.svc.cluster.local:5688",
         "rw-meta-0.rw-meta:5690", "10.12.{a}.{b}:5688", "rw-compactor-{n}:6660",
         "http://rw-meta-1.rw-meta:5690", "[fd00::{a}]:5688"]
SQL = ["CREATE MATERIALIZED VIEW mv_{n} AS SELECT user_id, count(*) FROM {w} GROUP BY user_id",
       "SELECT * FROM {w} WHERE id = {n}",
       "INSERT INTO {w} VALUES ({n}, 'x')",
       "CREATE SINK sink_{n} FROM {w} WITH (connector = 'kafka', topic = 'out_{n}')"]
THREADS = ["rw-main", "rw-streaming", "rw-batch", "rw-compaction", "risingwave-main"]


def word_of(expr):
    """The name a value is read from: `self.ctx.actor_id` -> actor_id."""
    e = re.sub(r"\.(as_report|to_report_string|to_string|clone|as_str|unwrap|as_ref|display|get|load|into)\(\)", "", expr)
    e = re.sub(r"[&*()]", " ", e)
    parts = re.findall(r"[A-Za-z_][\w]*", e)
    return (parts[-1] if parts else expr).lower(), e.lower()


def stable(expr, salt):
    """A number in [0, 1) fixed by the expression: an expression's type, and
    so its Debug shape (`Some(..)`, `WorkerId(..)`), does not vary."""
    import zlib
    return zlib.crc32(f"{salt}:{expr}".encode()) / 2**32


def value(expr, debug, rng):
    """A realistic value for the expression `expr`, as its Display or Debug."""
    name, whole = word_of(expr)
    n = lambda: rng.choice([rng.randint(1, 40), rng.randint(1000, 9999), rng.randint(100000, 9999999)])
    if any(k in whole for k in ("as_report", "err", "error")) or name in ("e", "err", "error", "reason"):
        return None  # an error: chosen by the caller
    if any(k in name for k in ("elapsed", "duration", "took", "latency", "interval", "timeout", "cost", "time")):
        if "as_secs" in whole or "as_millis" in whole:
            return str(rng.randint(1, 900))
        unit = rng.choice(["s", "ms", "µs"])
        return f"{rng.randint(1, 999)}.{rng.randint(0, 999999):06d}{unit}" if debug else f"{rng.randint(1, 99)}.{rng.randint(0, 999):03d}s"
    if name == "version" or "git_sha" in name or "version()" in whole:
        return rng.choice(["2.1.3", "2.5.0", "2.8.2", "3.0.1"]) if "sha" not in name else "%07x" % rng.randint(0, 2**28)
    if any(k in name for k in ("addr", "host", "endpoint", "url", "address")):
        h = rng.choice(HOSTS).format(n=rng.randint(0, 5), a=rng.randint(0, 254), b=rng.randint(1, 254))
        return f'"{h}"' if debug else h
    if any(k in name for k in ("sql", "query", "definition", "stmt", "statement")) and "id" not in name:
        s = rng.choice(SQL).format(n=rng.randint(1, 99), w=rng.choice(WORDS))
        return f'"{s}"' if debug else s
    if "epoch" in name:
        e = rng.randint(7_000_000_000_000_000, 7_400_000_000_000_000) & ~0xFFFF
        return f"Epoch({e})" if debug and stable(expr, "epoch") < 0.3 else str(e)
    if name.endswith("ids") or name.endswith("s") and any(k in name for k in ("actor", "table", "worker", "fragment", "task", "job", "split", "node")):
        return "[" + ", ".join(str(rng.randint(1, 9999)) for _ in range(rng.randint(1, 4))) + "]"
    if "id" in name or any(k in name for k in ("count", "num", "len", "size", "total", "idx", "attempt", "retry", "level", "limit", "capacity", "offset", "version", "mb", "bytes", "rows")):
        v = str(n())
        if debug and stable(expr, "option") < 0.2:
            return f"Some({v})" if rng.random() < 0.9 else "None"
        return v
    if name.startswith("is_") or name.startswith("enable") or "enabled" in name:
        return rng.choice(["true", "false"])
    if any(k in name for k in ("path", "file", "dir")):
        s = f"/risingwave/data/hummock_001/{rng.randint(1, 999)}/{rng.randint(10000, 99999)}.data"
        return f'"{s}"' if debug else s
    if any(k in name for k in ("name", "topic", "table", "sink", "source", "mv", "database", "schema", "user")):
        s = rng.choice([f"{rng.choice(WORDS)}_{rng.randint(1, 9)}", f"mv_{rng.randint(1, 99)}", f"sink_{rng.randint(1, 9)}_kafka"])
        return f'"{s}"' if debug else s
    if any(k in name for k in ("opts", "config", "options")):
        return ("MetaNodeOpts { listen_addr: \"0.0.0.0:5690\", advertise_addr: \"rw-meta-%d.rw-meta:5690\", "
                "backend: Sql, sql_endpoint: \"postgres://risingwave@rw-pg:5432/metadata\", "
                "state_store: Some(\"hummock+s3://rw-state-%d\"), data_directory: Some(\"hummock_001\") }"
                % (rng.randint(0, 2), rng.randint(1, 9)))
    # Anything else: most values RisingWave logs are ids, counts or states.
    if debug and stable(expr, "newtype") < 0.25:
        return [f"WorkerId({n()})", f"TableId {{ table_id: {n()} }}", f"ActorId({n()})"][int(stable(expr, "which") * 3)]
    return str(n())


def instantiate(event, rng, errors):
    """(message, fields [(name, value, is_error)], error kind)."""
    kind = "-"

    def err():
        nonlocal kind
        k, text = errors
        kind = k
        return text.format(n=rng.randint(1, 40), ip=f"10.12.{rng.randint(0, 254)}.{rng.randint(1, 254)}",
                           host=rng.choice(HOSTS).format(n=1, a=2, b=3), obj=rng.randint(1000, 9999),
                           epoch=rng.randint(7_000_000_000_000_000, 7_400_000_000_000_000) & ~0xFFFF,
                           name=f"mv_{rng.randint(1, 99)}")

    args = list(event["args"])
    out, pos = [], 0

    def repl(m):
        nonlocal pos
        spec = m.group(1)
        if spec.startswith("{"):
            return "{"
        name, _, fmt = spec.partition(":")
        debug = "?" in fmt
        if name and not name.isdigit():
            expr = name
        else:
            expr = args[pos] if pos < len(args) else "value"
            pos += 1
        v = value(expr, debug, rng)
        return err() if v is None else v

    fmt = event["format"].replace("{{", "\0").replace("}}", "\1")
    message = re.sub(r"\{([^}]*)\}", repl, fmt).replace("\0", "{").replace("\1", "}")
    fields = []
    for f in event["fields"]:
        fname = f["name"].split(".")[-1] if "." in f["name"] else f["name"]
        v = value(f["expr"], f["sigil"] == "?", rng)
        if v is None:
            v = err()
            fields.append((f["name"], v, True))
        else:
            # Display of a str and a bare str field are quoted by the text
            # format's visitor; numbers are not.
            fields.append((f["name"], v, False))
    return message, fields, kind


def text_fields(fields):
    return "".join(f" {k}={v}" for k, v, _ in fields)


def json_value(v):
    if re.fullmatch(r"-?\d+", v) and len(v) < 18:
        return int(v)
    if v in ("true", "false"):
        return v == "true"
    return v


def render(shape, ts, level, target, message, fields, thread, spans, site):
    """The lines of one record in `shape`."""
    head = f"{ts} {level:>5} "
    if shape in ("text", "kubectl", "cri", "compose"):
        pre = ""
        if thread:
            pre += thread + " "
        if spans:
            pre += spans + ": "
        line = f"{head}{pre}{target}: {message}{text_fields(fields)}"
        if shape == "kubectl":
            return [f"[pod/rw-{target.split('::')[0].split('_')[-1]}-0/main] {nanos(ts)} {line}"]
        if shape == "cri":
            return [f"{nanos(ts)} {'stderr' if level == 'ERROR' else 'stdout'} F {line}"]
        if shape == "compose":
            return [f"{ESC}[36mrisingwave-standalone-1  |{ESC}[0m {line}"]
        return [line]
    if shape == "json":
        obj = {"timestamp": ts, "level": level,
               "fields": {"message": message, **{k: json_value(v) for k, v, _ in fields}},
               "target": target, "threadName": thread or "rw-main"}
        return [json.dumps(obj, separators=(",", ":"), ensure_ascii=False, sort_keys=False)]
    if shape == "ansi":
        colour = {"ERROR": "31", "WARN": "33", "INFO": "32"}[level]
        line = f"{ESC}[2m{ts}{ESC}[0m {ESC}[{colour}m{level:>5}{ESC}[0m {ESC}[2m{target}{ESC}[0m{ESC}[2m:{ESC}[0m {message}"
        for k, v, _ in fields:
            line += f" {ESC}[3m{k}{ESC}[0m{ESC}[2m={ESC}[0m{v}"
        return [line]
    if shape == "pretty":
        text = message + "".join(f", {k}: {v}" for k, v, _ in fields)
        path, line = site.rsplit(":", 1)
        return [f"  {ts} {level:>5} {target}: {text}", f"    at {path}:{line}",
                f"    on {thread or 'rw-main'}", ""]
    raise ValueError(shape)


def nanos(ts):
    head, frac = (ts[:-1].split(".") + ["0"])[:2]
    return f"{head}.{(frac + '000000000')[:9]}Z"


SHAPES = ["text", "json", "pretty", "ansi", "kubectl", "cri", "compose"]
WEIGHTS = [30, 20, 10, 10, 15, 10, 5]


def main():
    doc = json.load(open(os.path.join(OUT, "events.json"), encoding="utf-8"))
    events = doc["events"]
    rng = random.Random(17)
    # How often each event fires: most a few times, some often (Zipf-like).
    weights = [1.0 / (1 + (i * 7919) % len(events)) ** 0.6 for i in range(len(events))]
    scale = TOTAL / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights]
    has_error = lambda e: any(value(f["expr"], False, random.Random(0)) is None for f in e["fields"]) or \
        "as_report" in " ".join(e["args"]) or re.search(r"\{(e|err|error)\b", e["format"])
    records = []
    for event, count in zip(events, counts):
        # An event with an error field meets one to three error chains.
        kinds = rng.sample(ERRORS, rng.choice([1, 1, 2, 3])) if has_error(event) else [("-", "")]
        tags = event["tags"]
        for _ in range(count):
            chain = rng.choice(kinds)
            message, fields, kind = instantiate(event, rng, chain)
            records.append((event, message, fields, kind, rng.choice(tags)))
    rng.shuffle(records)
    t = 1_707_630_000.0  # 2024-02-11T05:40:00Z
    lines, truth = [], []
    shapes_lines, shapes_truth = [], []
    import datetime
    for n, (event, message, fields, kind, tag) in enumerate(records):
        t += rng.expovariate(1 / 0.8)
        ts = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
        shape = rng.choices(SHAPES, WEIGHTS)[0]
        thread = rng.choice(THREADS) if rng.random() < 0.3 else None
        spans = None
        if shape != "json" and event["target"].startswith("risingwave_meta::barrier") and rng.random() < 0.5:
            spans = rng.choice(["bootstrap_recovery:recovery_attempt",
                                "failure_recovery{error=worker node %d is shutting down}:recovery_attempt" % rng.randint(1, 9)])
        out = render(shape, ts, event["level"], event["target"], message, fields, thread, spans, event["site"])
        for k, line in enumerate(out):
            lines.append(line)
            truth.append((len(lines), event["id"] if k == 0 else "-", kind if k == 0 else "-", shape, tag))
    # Every event once, with the same values, in every shape.
    seen = set()
    for event, message, fields, kind, tag in records:
        if (event["id"], kind) in seen:
            continue
        seen.add((event["id"], kind))
        for shape in SHAPES:
            out = render(shape, "2024-02-11T06:04:51.384684Z", event["level"], event["target"], message,
                         fields, "rw-main", None, event["site"])
            for k, line in enumerate(out):
                shapes_lines.append(line)
                shapes_truth.append((len(shapes_lines), event["id"] if k == 0 else "-", kind if k == 0 else "-", shape, tag))

    def write(name, rows):
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(row + "\n")

    header = "line\tevent\terror\tshape\ttag"
    write("rw-labelled.log", lines)
    write("rw-labelled.truth.tsv", [header] + ["\t".join(map(str, r)) for r in truth])
    write("rw-shapes.log", shapes_lines)
    write("rw-shapes.truth.tsv", [header] + ["\t".join(map(str, r)) for r in shapes_truth])
    n_events = len({(r[1], r[2]) for r in truth if r[1] != "-"})
    print(f"{len(records)} records ({len(lines)} lines), {len(events)} call sites, "
          f"{n_events} events with their error chain; rw-shapes.log: {len(seen)} x {len(SHAPES)} shapes")


if __name__ == "__main__":
    main()

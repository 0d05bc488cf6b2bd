#!/usr/bin/env python3
"""Writes testdata/shapes/*: the bundled sample incident (../sample-incident.log)
in every shape users hand us, following §5-§7 of the log reference. The plain
file is the reference: tests assert each shape gives its findings.

Run from anywhere: python3 testdata/shapes/generate.py
"""
import json, os, re

HERE = os.path.dirname(os.path.abspath(__file__))
PLAIN = os.path.join(HERE, "..", "sample-incident.log")
LINE = re.compile(r"^(\S+) +(TRACE|DEBUG|INFO|WARN|ERROR) (\S+): (.*)$")
ESC = "\x1b"

def events():
    for raw in open(PLAIN, encoding="utf-8").read().splitlines():
        m = LINE.match(raw)
        ts, level, target, rest = m.groups()
        message, error = rest, None
        if " error=" in rest:
            message, error = rest.split(" error=", 1)
        yield raw, ts, level, target, message, error

def write(name, lines, end="\n"):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
        f.write(end.join(lines) + end)

def kubectl_ts(ts):
    # kubectl's --timestamps: nanoseconds, a little after the event itself.
    head, frac = (ts[:-1].split(".") + ["0"])[:2]
    return f"{head}.{(frac + '000000000')[:9]}Z"

# 1. RisingWave JSON (RISINGWAVE_CLOUD=true): one object a line.
cloud = []
for raw, ts, level, target, message, error in events():
    fields = {"message": message}
    if error is not None:
        fields["error"] = error
    cloud.append(json.dumps({"timestamp": ts, "level": level, "fields": fields, "target": target,
                             "threadName": "rw-main"}, separators=(",", ":")))
write("cloud-json.log", cloud)

# 2. Pretty (v1.0.0 default): head line, `at`, `on`, blank line.
pretty = []
for n, (raw, ts, level, target, message, error) in enumerate(events()):
    text = message if error is None else f"{message}, error: {error}"
    pretty.append(f"  {ts} {level:>5} {target}: {text}")
    pretty.append(f"    at src/meta/src/{target.split('::')[-1]}.rs:{100 + n}")
    pretty.append("    on rw-main")
    pretty.append("")
write("pretty.log", pretty)

# 3. kubectl logs --prefix --timestamps.
write("kubectl-prefix-timestamps.log",
      [f"[pod/rw-meta-0/meta] {kubectl_ts(ts)} {raw}" for raw, ts, *_ in events()])

# 4. docker run -it: ANSI colours (dim timestamp, coloured level, italic field names).
COLOURS = {"ERROR": "31", "WARN": "33", "INFO": "32", "DEBUG": "34", "TRACE": "35"}
ansi = []
for raw, ts, level, target, message, error in events():
    line = f"{ESC}[2m{ts}{ESC}[0m {ESC}[{COLOURS[level]}m{level:>5}{ESC}[0m {ESC}[2m{target}{ESC}[0m{ESC}[2m:{ESC}[0m {message}"
    if error is not None:
        line += f" {ESC}[3merror{ESC}[0m{ESC}[2m={ESC}[0m{error}"
    ansi.append(line)
write("ansi-tty.log", ansi)

# 5. journalctl -u risingwave-meta: no year in the prefix, the line keeps its own.
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
def journal_prefix(ts, unit):
    y, mo, d = ts[:10].split("-")
    return f"{MONTHS[int(mo) - 1]} {d} {ts[11:19]} node-3 {unit}: "
write("journald.log", [journal_prefix(ts, "risingwave[1234]") + raw for raw, ts, *_ in events()])

# 6. docker compose logs (coloured prefixes), meta and etcd interleaved by time;
#    etcd (zap JSON, +08:00 clock) reports the slow disk behind the incident.
etcd = [
    ("2024-02-11T06:04:40.118Z", {"level": "info", "ts": "2024-02-11T14:04:40.118+0800", "caller": "etcdserver/server.go:2045", "msg": "published local member to cluster through raft", "cluster-id": "cdf818194e3a8c32"}),
    ("2024-02-11T06:04:49.903Z", {"level": "warn", "ts": "2024-02-11T14:04:49.903+0800", "caller": "wal/wal.go:805", "msg": "slow fdatasync", "took": "6.712s", "expected-duration": "1s"}),
    ("2024-02-11T06:04:50.511Z", {"level": "warn", "ts": "2024-02-11T14:04:50.511+0800", "caller": "etcdserver/raft.go:369", "msg": "leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk", "to": "8e9e05c52164694d", "heartbeat-interval": "100ms", "expected-duration": "200ms", "exceeded-duration": "5.1s"}),
    ("2024-02-11T06:04:53.002Z", {"level": "warn", "ts": "2024-02-11T14:04:53.002+0800", "caller": "etcdserver/util.go:166", "msg": "apply request took too long", "took": "2.301s", "expected-duration": "100ms", "prefix": "", "request": "header:<ID:7587003312299851300 > lease_revoke:<id:694d7ae4a5d2b6c0>", "response": "size:29"}),
]
meta = [(ts if ts.endswith("Z") else ts, f"{ESC}[36mmeta-node-0  |{ESC}[0m {raw}") for raw, ts, *_ in events()]
etc = [(t, f"{ESC}[33metcd-0       |{ESC}[0m " + json.dumps(o, separators=(",", ":"))) for t, o in etcd]
def key(item):
    t = item[0]
    head, frac = (t[:-1].split(".") + ["0"])[:2]
    return head + "." + (frac + "000000000")[:9]
write("compose-meta-etcd.log", [line for _, line in sorted(meta + etc, key=key)])
# 7. journalctl -u etcd for etcd v3.4 under systemd: capnslog writes no
#    timestamp of its own there, so the year must be inferred.
write("journald-etcd-v3.4.log", [
    "Feb 11 06:04:38 etcd-host-1 etcd[3563]: published {Name:etcd-0 ClientURLs:[http://etcd-0:2379]} to cluster cdf818194e3a8c32",
    "Feb 11 06:04:49 etcd-host-1 etcd[3563]: sync duration of 6.712s, expected less than 1s",
    "Feb 11 06:04:50 etcd-host-1 etcd[3563]: failed to send out heartbeat on time (exceeded the 100ms timeout for 5.1s, to 8e9e05c52164694d)",
    "Feb 11 06:04:50 etcd-host-1 etcd[3563]: server is likely overloaded",
    "Feb 11 06:04:53 etcd-host-1 etcd[3563]: read-only range request \"key:\\\"__meta_election_\\\" \" with result \"range_response_count:1 size:75\" took too long (2.301s) to execute",
    "Feb 11 06:05:10 etcd-host-1 systemd[1]: Started etcd.service.",
])

# 8. Encodings and line ends (issue 15): PowerShell 5's `>` (UTF-16LE, BOM,
#    CRLF), UTF-16BE without a BOM, a UTF-8 BOM, CR-only line ends, and a
#    terminal title (OSC) before each line.
import bz2, gzip, io, lzma, shutil, subprocess, tarfile, zipfile
PLAIN_TEXT = open(PLAIN, encoding="utf-8").read()
def write_bytes(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
write_bytes("utf16le-bom-crlf.log", b"\xff\xfe" + PLAIN_TEXT.replace("\n", "\r\n").encode("utf-16-le"))
write_bytes("utf16be.log", PLAIN_TEXT.encode("utf-16-be"))
write_bytes("utf8-bom.log", b"\xef\xbb\xbf" + PLAIN_TEXT.encode())
write_bytes("cr-only.log", PLAIN_TEXT.replace("\n", "\r").encode())
write_bytes("osc-title.log", "".join(f"{ESC}]0;rw-meta-0: ~{chr(7)}{l}\n" for l in PLAIN_TEXT.splitlines()).encode())

# CRI log files (/var/log/pods/*/*.log, containerd and CRI-O): the
# runtime's time, the stream, F for a whole line.
write("cri.log", [f"{kubectl_ts(ts)} {'stderr' if level == 'ERROR' else 'stdout'} F {raw}"
                  for raw, ts, level, *_ in events()])

# 9a. Envelopes (issue 15): shippers and query tools that wrap each line.
#     Each line keeps its place (the evidence line numbers are the plain
#     file's); newest-first orders are under 9b.
def epoch(ts):
    from datetime import datetime
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
def iso_at(ts, hours):
    from datetime import datetime, timedelta, timezone
    t = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=hours)))
    return t
K8S = {"pod_name": "rw-meta-0", "namespace_name": "risingwave", "container_name": "meta",
       "host": "node-3", "labels": {"app.kubernetes.io/component": "meta"}}
J = lambda o: json.dumps(o, separators=(",", ":"))
stream = lambda level: "stderr" if level == "ERROR" else "stdout"
# Docker's json-file driver (/var/lib/docker/containers/<id>/<id>-json.log).
write("docker-json.log", [J({"log": raw + "\n", "stream": stream(level), "time": kubectl_ts(ts)})
                          for raw, ts, level, *_ in events()])
# Fluent Bit tailing /var/log/pods (no CRI parser): the CRI line in `log`,
# its own time in `date`, kubernetes metadata.
write("fluent-bit.log", [J({"date": round(epoch(ts), 6), "log": f"{kubectl_ts(ts)} {stream(level)} F {raw}",
                            "kubernetes": K8S}) for raw, ts, level, *_ in events()])
# The same shipped to CloudWatch Logs: only the record, no time of its own.
write("cloudwatch-fluent-bit.log", [J({"log": f"{kubectl_ts(ts)} {stream(level)} F {raw}"})
                                    for raw, ts, level, *_ in events()])
# logcli query --forward (oldest first): the default output, its times in
# the local zone (here +08:00), the labels padded; --output raw; --output jsonl.
LABELS = '{app="risingwave", component="meta", pod="rw-meta-0"}'
def logcli_line(raw, ts):
    return f"{iso_at(ts, 8).strftime('%Y-%m-%dT%H:%M:%S+08:00')} {LABELS} {raw}"
write("logcli-forward.log", [logcli_line(raw, ts) for raw, ts, *_ in events()])
write("logcli-raw.log", [raw for raw, *_ in events()])
def logcli_jsonl(raw, ts):
    t = iso_at(ts, 8)
    return J({"labels": {"app": "risingwave", "component": "meta", "pod": "rw-meta-0"}, "line": raw,
              "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "+08:00"})
write("logcli-jsonl.log", [logcli_jsonl(raw, ts) for raw, ts, *_ in events()])
# Grafana Explore, rows copied oldest first: the browser's local time
# (+08:00 here), no zone, a tab, the line.
def grafana_line(raw, ts):
    t = iso_at(ts, 8)
    return f"{t.strftime('%Y-%m-%d %H:%M:%S')}.{t.microsecond // 1000:03d}\t{raw}"
write("grafana-explore-oldest-first.log", [grafana_line(raw, ts) for raw, ts, *_ in events()])
# Vector's kubernetes_logs source written as NDJSON.
write("vector.log", [J({"file": "/var/log/pods/risingwave_rw-meta-0_1/meta/0.log", "kubernetes": K8S,
                        "message": raw, "source_type": "kubernetes_logs", "stream": stream(level),
                        "timestamp": kubectl_ts(ts)}) for raw, ts, level, *_ in events()])
# Elasticsearch / OpenSearch hits, one a line (an export of `_search`).
write("elastic-ndjson.log", [J({"_index": "logs-risingwave-2024.02.11", "_id": f"rw{n:05d}", "_score": None,
                                "_source": {"@timestamp": kubectl_ts(ts)[:23] + "Z", "message": raw,
                                            "kubernetes": K8S}})
                             for n, (raw, ts, *_) in enumerate(events())])

# 9b. Order (issue 15): the same lines newest first (logcli's default,
#     Grafana Explore's), and shuffled within a few seconds (several
#     shippers, or clocks a little apart, merged).
PLAIN_LINES = PLAIN_TEXT.splitlines()
write("reversed.log", PLAIN_LINES[::-1])
write("logcli-default.log", [logcli_line(raw, ts) for raw, ts, *_ in list(events())[::-1]])
write("grafana-explore.log", [grafana_line(raw, ts) for raw, ts, *_ in list(events())[::-1]])
import random
rng = random.Random(15)
def shuffled(lines, seconds=3):
    # Each line moved by a random delay of up to `seconds`: a stable sort
    # on the delayed times (lines with one time keep their order).
    from datetime import datetime
    stamp = lambda l: datetime.fromisoformat(l.split(" ", 1)[0].replace("Z", "+00:00")).timestamp()
    return [l for _, l in sorted(((stamp(l) + rng.uniform(0, seconds), l) for l in lines), key=lambda p: p[0])]
write("shuffled.log", shuffled(PLAIN_LINES))
write("reversed-shuffled.log", shuffled(PLAIN_LINES)[::-1])

# 9. Containers: compressions (nested too) and archives whose members are
#    inputs of their own. Each holds the incident once; archives also hold
#    a startup-only log (no finding) and a directory. Byte-stable: no times.
data = PLAIN_TEXT.encode()
startup = "".join(l + "\n" for l in PLAIN_TEXT.splitlines()[:5]).encode()
gz = lambda b: gzip.compress(b, mtime=0)
write_bytes("containers/sample-incident.log.gz.gz", gz(gz(data)))
write_bytes("containers/sample-incident.log.xz", lzma.compress(data))
write_bytes("containers/sample-incident.log.bz2", bz2.compress(data))
if shutil.which("zstd"):
    write_bytes("containers/sample-incident.log.zst",
                subprocess.run(["zstd", "-q", "-c", "-"], input=data, capture_output=True, check=True).stdout)
def tar_bytes(members, mode="w", format=tarfile.GNU_FORMAT):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, format=format) as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            if body is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(body), 0o644
                tar.addfile(info, io.BytesIO(body))
    return out.getvalue()
bundle = [("logs/", None), ("logs/meta-0.log.gz", gz(data)), ("logs/meta-1.log", startup)]
write_bytes("containers/bundle.tar.gz", gz(tar_bytes(bundle)))
write_bytes("containers/bundle.tar", tar_bytes([("meta-1.log", startup), ("meta-0.log", data)]))
# Paths over tar's 100 bytes: a GNU long name, a pax `path` record. Kept
# out of testdata/ (whose every file the 80-column test reports on: a
# 120-byte path cannot wrap).
LONG = "support-bundle-2024-02-11/" + "namespace-risingwave/" * 4 + "rw-meta-0/meta.log"
write_bytes("../../tests/fixtures/gnu-long-name.tar", tar_bytes([(LONG, data)]))
write_bytes("../../tests/fixtures/pax-long-name.tar", tar_bytes([(LONG, data)], format=tarfile.PAX_FORMAT))
write_bytes("containers/bundle.tar.xz", lzma.compress(tar_bytes([("logs/meta-0.log.bz2", bz2.compress(data))])))
def zip_bytes(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body, method in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 2, 11, 6, 20, 0))
            info.compress_type = method
            z.writestr(info, body)
    return out.getvalue()
write_bytes("containers/bundle.zip", zip_bytes([
    ("logs/meta-1.log", startup, zipfile.ZIP_STORED),
    ("logs/meta-0.log", data, zipfile.ZIP_DEFLATED),
]))

# 10. What rwdoctor cannot read: each must be exit 2 naming the file and
#     what it is. An encrypted zip member (the flag bit set: a reader must
#     refuse it whatever follows), a zip member in LZMA (method 14), a 7z
#     and an lz4 file (magic bytes only), a tar.gz cut in a member.
def patch(data, offset, value):
    return data[:offset] + value + data[offset + len(value):]
def zip_with(flags=None, method=None):
    z = zip_bytes([("logs/meta-0.log", data, zipfile.ZIP_DEFLATED)])
    local = 0
    central = z.rindex(b"PK\x01\x02")
    if flags is not None:
        z = patch(patch(z, local + 6, flags), central + 8, flags)
    if method is not None:
        z = patch(patch(z, local + 8, method), central + 10, method)
    return z
write_bytes("unreadable/encrypted.zip", zip_with(flags=b"\x01\x00"))
write_bytes("unreadable/lzma-member.zip", zip_with(method=b"\x0e\x00"))
write_bytes("unreadable/bundle.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24))
write_bytes("unreadable/meta.log.lz4", b"\x04\x22\x4d\x18\x64\x40\xa7" + bytes(16))
whole = gz(tar_bytes([("logs/meta-0.log", data)]))
write_bytes("unreadable/cut.tar.gz", whole[: len(whole) // 2])
print("wrote", sorted(os.listdir(HERE)))

#!/usr/bin/env bash
# rwdoctor benchmark: rwdoctor vs. ripgrep (plain) / zcat|rg (gzip) on
# generated RisingWave meta-node logs, plus peak RSS.
#
#   bash bench/run.sh              # full run, 1 GiB inputs
#   QUICK=1 bash bench/run.sh      # smoke run, 64 MiB inputs, fewer runs
#
# Environment knobs (defaults in brackets):
#   SIZE [1G, 64M with QUICK=1]    size of each generated log (K/M/G suffixes)
#   BENCH_DIR [/tmp/rwdoctor-bench] inputs, outputs, hyperfine JSON, summary.md
#   MIN_RUNS [5, 3 with QUICK=1]   runs of each command for the big cases
#                                  (rounds when interleaved, else hyperfine
#                                  --min-runs)
#   WARMUP [1]                     hyperfine --warmup
#   INCIDENTS [5]                  incidents injected per generated log
#   WARM [1]                       read the inputs before every timed run
#                                  (hyperfine --prepare) so each run starts hot
#   RWDOCTOR [target/release/rwdoctor]  binary to test; when set, rwdoctor is
#                                  not built by this script
#   STRICT [0]                     1: exit 3 when a target is missed
#   INTERLEAVE [1]                 alternate the two commands run by run
#                                  (0: hyperfine, one command after the other)
#   RULES []                       a rule dir: rwdoctor runs with --rules DIR
#                                  (a grown pack, bench/literal_rules.py)
#   PATTERNS [bench/patterns.txt]  the baseline's literals (with RULES: the
#                                  pack's literals too, so rg searches them)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK="${QUICK:-0}"
if [[ $QUICK == 1 ]]; then
    SIZE="${SIZE:-64M}"
    MIN_RUNS="${MIN_RUNS:-3}"
else
    SIZE="${SIZE:-1G}"
    MIN_RUNS="${MIN_RUNS:-5}"
fi
WARMUP="${WARMUP:-1}"
INCIDENTS="${INCIDENTS:-5}"
WARM="${WARM:-1}"
STRICT="${STRICT:-0}"
INTERLEAVE="${INTERLEAVE:-1}"
BENCH_DIR="${BENCH_DIR:-/tmp/rwdoctor-bench}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PATTERNS="${PATTERNS:-$ROOT/bench/patterns.txt}"
RULES="${RULES:-}"
RULES_ARGS=()
[[ -n $RULES ]] && RULES_ARGS=(--rules "$RULES")
SAMPLE="$ROOT/testdata/sample-incident.log"
RWDOCTOR="${RWDOCTOR:-}"

die() {
    printf '\nbench: ERROR: %s\n' "$*" >&2
    exit 1
}
warn() { printf 'bench: warning: %s\n' "$*" >&2; }
step() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
export PATH="$HOME/.cargo/bin:$PATH"
SUDO=()
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [[ $APT_UPDATED == 0 ]]; then
        "${SUDO[@]}" apt-get update || return 1
        APT_UPDATED=1
    fi
    "${SUDO[@]}" apt-get install -y "$@"
}

ensure_tools() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found in PATH"
    if command -v python3 >/dev/null 2>&1; then
        JSON_TOOL=python3
    elif command -v jq >/dev/null 2>&1; then
        JSON_TOOL=jq
    else
        die "need python3 or jq to read hyperfine's JSON"
    fi
    if [[ $INTERLEAVE == 1 && $JSON_TOOL != python3 ]]; then
        warn "interleaved runs need python3: falling back to hyperfine (INTERLEAVE=0)"
        INTERLEAVE=0
    fi
    if ! command -v rg >/dev/null 2>&1; then
        step "installing ripgrep (cargo install ripgrep)"
        cargo install ripgrep --locked || die "could not install ripgrep"
    fi
    if ! command -v hyperfine >/dev/null 2>&1; then
        step "installing hyperfine (apt-get)"
        apt_install hyperfine || cargo install hyperfine --locked ||
            die "could not install hyperfine"
    fi
    if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
        step "installing GNU time (apt-get install time)"
        apt_install time || die "could not install GNU time (/usr/bin/time)"
        /usr/bin/time -f %M true >/dev/null 2>&1 || die "/usr/bin/time does not support -f %M"
    fi
    if command -v pigz >/dev/null 2>&1; then
        GZIP_CMD=(pigz -1 -c)
    else
        GZIP_CMD=(gzip -1 -c)
    fi
    [[ -s $PATTERNS ]] || die "missing $PATTERNS"
}

# JSON helpers: median of result IDX of a hyperfine export, in seconds.
hf_median() {
    if [[ $JSON_TOOL == python3 ]]; then
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"])' "$1" "$2"
    else
        jq -r ".results[$2].median" "$1"
    fi
}

# is the file one JSON document, or JSON lines? (prints a word, never fails)
json_kind() {
    if [[ $JSON_TOOL == python3 ]]; then
        python3 - "$1" <<'EOF' || echo invalid
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    json.loads(text); print("json")
except ValueError:
    try:
        [json.loads(l) for l in text.splitlines() if l.strip()]; print("jsonl")
    except ValueError:
        print("invalid")
EOF
    else
        if jq -e . "$1" >/dev/null 2>&1; then echo json; else echo invalid; fi
    fi
}

# ---------------------------------------------------------------- build
build() {
    step "building genlog (cargo build --release --example genlog)"
    if (cd "$ROOT" && cargo build --release --example genlog); then
        GENLOG="$TARGET_DIR/release/examples/genlog"
    else
        # genlog is std-only: build it alone when the crate does not compile
        warn "cargo could not build the genlog example (crate broken?); trying rustc directly"
        GENLOG="$BENCH_DIR/genlog"
        rustc --edition 2021 -C opt-level=3 -o "$GENLOG.tmp" "$ROOT/examples/genlog.rs" ||
            die "cannot build examples/genlog.rs"
        mv "$GENLOG.tmp" "$GENLOG"
    fi
    [[ -x $GENLOG ]] || die "genlog not found at $GENLOG"

    if [[ -z $RWDOCTOR ]]; then
        step "building rwdoctor (cargo build --release)"
        (cd "$ROOT" && cargo build --release) ||
            die "cargo build --release failed: rwdoctor does not build yet"
        RWDOCTOR="$TARGET_DIR/release/rwdoctor"
    fi
    [[ -x $RWDOCTOR ]] || die "rwdoctor binary not found or not executable: $RWDOCTOR"
}

# Runs rwdoctor once outside hyperfine (which runs with -i and would hide a
# crash). Exit 1 = findings, 0 = nothing found; anything else is fatal.
# usage: preflight NAME EXPECT_FINDINGS(0|1) [args...]   (stdin if no args)
preflight() {
    local name=$1 expect=$2
    shift 2
    local out="$BENCH_DIR/preflight-$name.json" err="$BENCH_DIR/preflight-$name.err" rc=0
    "$RWDOCTOR" "${RULES_ARGS[@]}" --format json "$@" >"$out" 2>"$err" || rc=$?
    if ((rc > 1)); then
        sed -n '1,20p' "$err" >&2
        die "rwdoctor exited $rc on case '$name': $RWDOCTOR --format json $*
       (the benchmark needs: rwdoctor --format json FILE... ; exit 0 = clean, 1 = findings)"
    fi
    [[ -s $out ]] || die "rwdoctor printed nothing on stdout for case '$name' (--format json)"
    if [[ $expect == 1 && $rc == 0 ]]; then
        warn "rwdoctor exited 0 (no findings) on '$name', which contains injected incidents"
    fi
    local kind
    kind=$(json_kind "$out")
    [[ $kind == invalid ]] && warn "rwdoctor --format json output for '$name' is not valid JSON ($out)"
    printf 'preflight %-6s exit=%s output=%s (%s bytes)\n' "$name" "$rc" "$kind" "$(wc -c <"$out")" >&2
}

# ---------------------------------------------------------------- data
# Inputs are reused while their .stamp (generator source hash + options)
# matches, whichever way genlog was built.
stamp_of() { # SEED [extra]
    printf '%s size=%s seed=%s incidents=%s %s\n' \
        "$(cksum <"$ROOT/examples/genlog.rs")" "$SIZE" "$1" "$INCIDENTS" "${2:-}"
}
fresh() { [[ -s $1 && -f $1.stamp && $(cat "$1.stamp") == "$2" ]]; }

# gen OUT SEED [gz]
gen() {
    local out=$1 seed=$2 gz=${3:-} stamp
    stamp=$(stamp_of "$seed" "$gz")
    if fresh "$out" "$stamp"; then
        echo "reuse $out" >&2
        return
    fi
    echo "generate $out" >&2
    rm -f "$out.stamp"
    if [[ $gz == gz ]]; then
        "$GENLOG" --size "$SIZE" --seed "$seed" --incidents "$INCIDENTS" | "${GZIP_CMD[@]}" >"$out.tmp"
    else
        "$GENLOG" --size "$SIZE" --seed "$seed" --incidents "$INCIDENTS" >"$out.tmp"
    fi
    mv "$out.tmp" "$out"
    echo "$stamp" >"$out.stamp"
}

# gz_of SRC OUT SEED: gzip of a generated file
gz_of() {
    local src=$1 out=$2 stamp
    stamp=$(stamp_of "$3" gz-of-plain)
    if fresh "$out" "$stamp"; then
        echo "reuse $out" >&2
        return
    fi
    echo "compress $out (${GZIP_CMD[*]})" >&2
    rm -f "$out.stamp"
    "${GZIP_CMD[@]}" "$src" >"$out.tmp"
    mv "$out.tmp" "$out"
    echo "$stamp" >"$out.stamp"
}

# ---------------------------------------------------------------- timing
q() { printf '%q' "$1"; }

# Warns when something else is using the CPU (e.g. a cargo build): on a
# 2-core machine that skews every number.
cpu_sample() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
check_quiet() {
    [[ -r /proc/stat ]] || return 0
    local a b busy
    a=$(cpu_sample)
    sleep 1
    b=$(cpu_sample)
    busy=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; if (d <= 0) print 0; else printf "%d\n", 100 * (y[1] - x[1]) / d }')
    if ((busy > 20)); then
        warn "CPU is ${busy}% busy before case '$1' (another build/process running?): results will be noisy"
        NOISY="${NOISY:+$NOISY, }$1 (${busy}% busy)"
    fi
}

# run_case NAME MIN_RUNS WARMUP WARM_FILES CMD_RWDOCTOR CMD_BASELINE [noshell]
# With 'noshell' the commands run without a shell (hyperfine -N) and their
# output goes to a file through hyperfine's --output. Otherwise, unless
# INTERLEAVE=0, the two commands alternate (interleaved), see below.
run_case() {
    local name=$1 runs=$2 warmup=$3 warmfiles=$4 c1=$5 c2=$6 mode=${7:-}
    check_quiet "$name"
    if [[ $INTERLEAVE == 1 && $mode != noshell ]]; then
        step "interleaved: $name"
        interleaved "$name" "$runs" "$warmup" "$warmfiles" "$c1" "$c2"
        return
    fi
    local args=(--warmup "$warmup" --min-runs "$runs" -i --style basic
        --export-json "$BENCH_DIR/hf-$name.json"
        --export-markdown "$BENCH_DIR/hf-$name.md")
    if [[ $WARM == 1 && -n $warmfiles ]]; then
        args+=(--prepare "cat $warmfiles | wc -c > $(q "$BENCH_DIR/warm.txt")")
    fi
    if [[ $mode == noshell ]]; then
        args+=(-N --output "$BENCH_DIR/out/$name-hyperfine-output.txt")
    fi
    step "hyperfine: $name"
    hyperfine "${args[@]}" -n rwdoctor "$c1" -n baseline "$c2"
}

# This VM's speed drifts by tens of percent within minutes (other tenants):
# hyperfine runs all of one command, then all of the other, so a drift lands
# on one side. Here the two alternate, in the order AB BA AB ..., each run
# after the inputs were read again (WARM=1), and each is timed alone; the
# medians go to the same JSON shape hyperfine exports (results[i].median,
# .times), so the report reads both.
interleaved() {
    local name=$1 runs=$2 warmup=$3 warmfiles=$4 c1=$5 c2=$6
    local -a t1=() t2=()
    local round cmd which t0 t
    for ((round = -warmup; round < runs; round++)); do
        for which in 1 2; do
            # AB in even rounds, BA in odd ones
            if (((round + 4) % 2 == 1)); then which=$((3 - which)); fi
            if [[ $which == 1 ]]; then cmd=$c1; else cmd=$c2; fi
            if [[ $WARM == 1 && -n $warmfiles ]]; then
                bash -c "cat $warmfiles | wc -c" >"$BENCH_DIR/warm.txt"
            fi
            t0=$EPOCHREALTIME
            bash -c "$cmd" 2>>"$BENCH_DIR/interleaved-$name.err" || true
            t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')
            ((round < 0)) && continue
            if [[ $which == 1 ]]; then t1+=("$t"); else t2+=("$t"); fi
        done
        ((round >= 0)) && printf '  round %d: rwdoctor %s s, baseline %s s\n' "$((round + 1))" "${t1[-1]}" "${t2[-1]}" >&2
    done
    python3 - "$BENCH_DIR/hf-$name.json" "${t1[*]}" "${t2[*]}" <<'PY'
import json, statistics, sys
out, a, b = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
res = []
for name, times in (("rwdoctor", a), ("baseline", b)):
    ts = [float(t) for t in times]
    res.append({"command": name, "median": statistics.median(ts), "mean": statistics.mean(ts),
                "min": min(ts), "max": max(ts), "times": ts})
json.dump({"results": res, "interleaved": True}, open(out, "w"), indent=1)
print(f"  medians: rwdoctor {res[0]['median']:.3f} s, baseline {res[1]['median']:.3f} s", file=sys.stderr)
PY
}

# rss NAME [FILE...]: peak RSS in KiB of one rwdoctor run (stdin when the
# name is 'stdin': the single FILE is piped in with cat).
rss() {
    local name=$1
    shift
    local f="$BENCH_DIR/rss-$name.txt" out="$BENCH_DIR/out-rss-$name.json" err="$BENCH_DIR/err-rss-$name.txt" rc
    if [[ $name == stdin ]]; then
        set +e
        # a pipe on purpose: stdin must not be a seekable file
        # shellcheck disable=SC2002
        cat "$1" | /usr/bin/time -f %M -o "$f" "$RWDOCTOR" "${RULES_ARGS[@]}" --format json >"$out" 2>"$err"
        local st=("${PIPESTATUS[@]}")
        set -e
        rc=${st[1]}
        ((st[0] == 0)) || warn "cat exited ${st[0]} in the stdin case (rwdoctor did not read all of stdin?)"
    else
        rc=0
        /usr/bin/time -f %M -o "$f" "$RWDOCTOR" "${RULES_ARGS[@]}" --format json "$@" >"$out" 2>"$err" || rc=$?
    fi
    if ((rc > 1)); then
        sed -n '1,20p' "$err" >&2
        die "rwdoctor exited $rc while measuring RSS ($name)"
    fi
    # GNU time prefixes "Command exited with non-zero status 1" on exit 1
    RSS_KB[$name]=$(tail -n 1 "$f")
    printf 'rss %-6s %s KiB (exit %s)\n' "$name" "${RSS_KB[$name]}" "$rc" >&2
}

# ---------------------------------------------------------------- main
ensure_tools
mkdir -p "$BENCH_DIR"
# no stale results from an earlier run if this one fails
rm -f "$BENCH_DIR/summary.md" "$BENCH_DIR"/hf-*.json "$BENCH_DIR"/hf-*.md "$BENCH_DIR"/rss-*.txt
build

step "smoke test of rwdoctor"
SMOKE="$BENCH_DIR/smoke-2M.log"
"$GENLOG" --size 2M --seed 7 --incidents 1 >"$SMOKE" 2>"$BENCH_DIR/smoke-2M.genlog.txt" ||
    die "genlog failed"
preflight smoke 1 "$SMOKE"

step "generating inputs in $BENCH_DIR (SIZE=$SIZE)"
A_LOG="$BENCH_DIR/meta-$SIZE-i$INCIDENTS-s1.log"
A_GZ="$A_LOG.gz"
B_GZ="$BENCH_DIR/meta-$SIZE-i$INCIDENTS-s2.log.gz"
gen "$A_LOG" 1
gz_of "$A_LOG" "$A_GZ" 1
gen "$B_GZ" 2 gz
ls -l "$A_LOG" "$A_GZ" "$B_GZ" >&2

step "preflight (one run of each rwdoctor command outside hyperfine)"
preflight plain 1 "$A_LOG"
preflight gz 1 "$A_GZ"
preflight multi 1 "$A_GZ" "$B_GZ"
HAVE_SAMPLE=0
if [[ -s $SAMPLE ]]; then
    HAVE_SAMPLE=1
    preflight tiny 1 "$SAMPLE"
else
    warn "$SAMPLE not found: tiny case skipped"
fi

R=$(q "$RWDOCTOR")
[[ -n $RULES ]] && R="$R --rules $(q "$RULES")"
P=$(q "$PATTERNS")
O="$BENCH_DIR/out"
mkdir -p "$O"

run_case plain "$MIN_RUNS" "$WARMUP" "$(q "$A_LOG")" \
    "$R --format json $(q "$A_LOG") > $(q "$O/plain-rwdoctor.json")" \
    "rg -c -F -f $P $(q "$A_LOG") > $(q "$O/plain-rg.txt")"

run_case gz "$MIN_RUNS" "$WARMUP" "$(q "$A_GZ")" \
    "$R --format json $(q "$A_GZ") > $(q "$O/gz-rwdoctor.json")" \
    "zcat $(q "$A_GZ") | rg -c -F -f $P > $(q "$O/gz-rg.txt")"

# sequential baseline: ';' not '&&' because rwdoctor exits 1 on findings
run_case multi "$MIN_RUNS" "$WARMUP" "$(q "$A_GZ") $(q "$B_GZ")" \
    "$R --format json $(q "$A_GZ") $(q "$B_GZ") > $(q "$O/multi-rwdoctor.json")" \
    "$R --format json $(q "$A_GZ") > $(q "$O/multi-seq-a.json"); $R --format json $(q "$B_GZ") > $(q "$O/multi-seq-b.json")"

if [[ $HAVE_SAMPLE == 1 ]]; then
    # no shell: at a few ms, shell start-up noise would dominate
    run_case tiny 30 3 "" \
        "$R --format json $(q "$SAMPLE")" \
        "rg -c -F -f $P $(q "$SAMPLE")" noshell
fi

step "peak RSS (/usr/bin/time -f %M)"
declare -A RSS_KB=()
rss plain "$A_LOG"
rss gz "$A_GZ"
rss multi "$A_GZ" "$B_GZ"
[[ $HAVE_SAMPLE == 1 ]] && rss tiny "$SAMPLE"
rss stdin "$A_LOG"

# ---------------------------------------------------------------- report
fmt_t() { awk -v s="$1" 'BEGIN { if (s < 1) printf "%.1f ms", s * 1000; else printf "%.3f s", s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

FAILED=0
row() { # case target_kind target_value [rss_name]
    local name=$1 kind=$2 tv=$3 label=$4
    local m1 m2 ratio verdict rss_cell target ok=1
    m1=$(hf_median "$BENCH_DIR/hf-$name.json" 0)
    m2=$(hf_median "$BENCH_DIR/hf-$name.json" 1)
    ratio=$(awk -v a="$m1" -v b="$m2" 'BEGIN { printf "%.2f", a / b }')
    if [[ $kind == ratio ]]; then
        awk -v r="$ratio" -v t="$tv" 'BEGIN { exit !(r <= t) }' || ok=0
        target="≤ $tv"
    else
        awk -v a="$m1" -v t="$tv" 'BEGIN { exit !(a * 1000 < t) }' || ok=0
        target="< $tv ms (abs.)"
    fi
    local kb=${RSS_KB[$name]:-}
    if [[ -n $kb ]]; then
        rss_cell=$(mib "$kb")
        awk -v k="$kb" 'BEGIN { exit !(k <= 32 * 1024) }' || ok=0
    else
        rss_cell="n/a"
    fi
    if ((ok)); then verdict="ok"; else
        verdict="MISS"
        FAILED=1
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(fmt_t "$m1")" "$(fmt_t "$m2")" "$ratio" "$target" "$rss_cell" "$verdict"
}

SUMMARY="$BENCH_DIR/summary.md"
{
    echo "## rwdoctor benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo
    echo "inputs: $SIZE per log ($(wc -c <"$A_LOG") B plain, $(wc -c <"$A_GZ") B + $(wc -c <"$B_GZ") B gz), $(nproc) CPUs;" \
        "$(rg --version | head -n 1); $(hyperfine --version); WARM=$WARM; INTERLEAVE=$INTERLEAVE; medians of >= $MIN_RUNS runs"
    echo
    echo "| case | rwdoctor median | baseline median | ratio | target | peak RSS MiB (≤ 32) | verdict |"
    echo "|---|---|---|---|---|---|---|"
    row plain ratio 0.8 "plain (vs rg -c -F -f)"
    row gz ratio 0.3 "gz (vs zcat \| rg)"
    row multi ratio 0.6 "multi 2×gz (vs 2 sequential rwdoctor runs)"
    if [[ $HAVE_SAMPLE == 1 ]]; then
        row tiny abs 10 "tiny sample-incident.log (vs rg)"
    else
        echo "| tiny (testdata/sample-incident.log missing) | n/a | n/a | n/a | < 10 ms (abs.) | n/a | skipped |"
    fi
    kb=${RSS_KB[stdin]}
    v=ok
    awk -v k="$kb" 'BEGIN { exit !(k <= 32 * 1024) }' || {
        v=MISS
        FAILED=1
    }
    echo "| stdin (cat plain \| rwdoctor), RSS only | n/a | n/a | n/a | n/a | $(mib "$kb") | $v |"
    echo
    echo "rg -c on plain: $(cat "$O/plain-rg.txt") matching lines; zcat|rg on gz: $(cat "$O/gz-rg.txt")"
    if [[ -n ${NOISY:-} ]]; then
        echo
        echo "**warning: the CPU was busy before: $NOISY; re-run on a quiet machine.**"
    fi
} >"$SUMMARY"

step "summary ($SUMMARY)"
cat "$SUMMARY"

if [[ $FAILED == 1 && $STRICT == 1 ]]; then
    exit 3
fi

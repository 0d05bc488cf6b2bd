//! The fuzz targets of `fuzz/` under `cargo test`: a small deterministic
//! generator mutates real log lines, rule files and whole logs, and feeds
//! them to the same checks (`rwdoctor::fuzzing`) as `cargo fuzz` does.
//!
//! A fixed seed and budget keep it reproducible and quick; for a longer
//! run: `RWDOCTOR_FUZZ_ITERS=200000 cargo test --release --test integration fuzz_smoke`
//! (`RWDOCTOR_FUZZ_SEED` picks another seed). A failure prints the seed and
//! iteration, and writes the input to `target/fuzz-smoke-failure-*`.
use rwdoctor::fuzzing;
use std::path::Path;

/// splitmix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn iterations() -> usize {
    std::env::var("RWDOCTOR_FUZZ_ITERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
}

fn seed() -> u64 {
    std::env::var("RWDOCTOR_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x5eed_2024_0211)
}

/// Bytes that mean something to a parser somewhere.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"\x1b[31m",
    b"\x1b[0m",
    b"\x1b[",
    b"\x1b",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xae",
    b"\xc2\x9b",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u0000",
    b":",
    b"|",
    b"=",
    b" ",
    b"  ",
    b"\t",
    b"Z",
    b"+08:00",
    b"+0800",
    b"-99:99",
    b"T",
    b".",
    b"..........",
    b"2024-02-30T",
    b"25:61:61",
    b"9999-12-31T23:59:59.999999999Z",
    b"0000-01-01T00:00:00Z",
    b"2024-02-11T06:05:06.387Z ",
    b"2024-02-11 06:20:27.912345 W | ",
    b"Feb 30 25:61:61 host etcd[1]: ",
    b"[pod/rw-meta-0/meta] ",
    b"meta-node-0  | ",
    b"2024-02-11T06:20:29.301433512Z ",
    b" ERROR ",
    b"  WARN ",
    b" INFO ",
    b"risingwave_meta::rpc::election::etcd: ",
    b"lease 7587003312299851199 keep alive timeout",
    b"lease keeper failed",
    b"keep alive failed, stopping main loop",
    b"lost leadership",
    b"slow fdatasync",
    b"etcdserver: request timed out",
    b"{\"level\":\"warn\",\"ts\":",
    b"\"msg\":\"",
    b"\"fields\":{",
    b"    at src/meta/src/rpc/election_client.rs:158",
    b"    on rw-main",
    b"> config:",
    b"meta_leader_lease_secs: 99999999999999999999",
    b"> version: v",
    b"1.9.1",
    b"99999999999999999999999",
    b"-1",
    b"NaN",
    b"1e999",
];

/// Regex fragments and durations for rule mutations.
const RULE_VALUES: &[&str] = &[
    "",
    "(",
    ")",
    "[",
    "\\",
    "a{99999}",
    "(?i)lease",
    "^$",
    ".*",
    "(a|b)*c",
    "\\bkeep\\b",
    "\\p{L}+",
    "(?P<x>a)(?P<x>b)",
    "\\x{110000}",
    "[^\\s\\S]",
    "a{2,1}",
    "(?-u:\\xff)",
    "\\d{1,1000}",
    "0s",
    "-1s",
    "1ms",
    "99999999999999d",
    "lease+",
    "lease+30s",
    "lease+-5s",
    "1m30",
    "s",
    "critical",
    "info",
    "bogus",
    "any",
    "sequence",
    "count",
    "not_followed_by",
];

/// A real line from the sample logs.
fn corpus_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for dir in [root.clone(), root.join("shapes"), root.join("pairs")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let is_log = path.extension().is_some_and(|e| e == "log" || e == "txt");
            if let (true, Ok(bytes)) = (is_log, std::fs::read(&path)) {
                lines.extend(bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec));
            }
        }
    }
    assert!(lines.len() > 500, "the corpus is the test data");
    lines
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(11) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                data[at] = *rng.pick(&[
                    0u8, 0xff, b'\n', b'\r', b'{', b'"', 0x1b, 0x80, b'0', b'9', b' ',
                ]);
            }
            2 => {
                let at = rng.below(len + 1);
                let token = rng.pick(TOKENS);
                data.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                data.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let copy = data[start..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            5 => {
                let other = rng.pick(corpus);
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            6 => data.truncate(rng.below(len + 1)),
            7 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
            8 if len > 0 => {
                // Digits become other digits: impossible dates and times.
                for b in data.iter_mut().filter(|b| b.is_ascii_digit()) {
                    if rng.chance(4) {
                        *b = b'0' + rng.below(10) as u8;
                    }
                }
            }
            9 if rng.chance(20) => {
                // A long run: over-long lines.
                let at = rng.below(len + 1);
                let byte = *rng.pick(&[b'x', b' ', b'{', 0u8]);
                data.splice(at..at, std::iter::repeat_n(byte, rng.below(300_000)));
            }
            _ => {
                let line = rng.pick(corpus).clone();
                let at = rng.below(len + 1);
                data.splice(at..at, line.into_iter().chain([b'\n']));
            }
        }
    }
}

/// Runs `check` on `input`; on a panic, saves the input and says how to
/// replay it.
fn run_case(target: &str, iteration: usize, input: &[u8], check: impl FnOnce(&[u8])) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input)));
    if let Err(panic) = result {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("fuzz-smoke-failure-{target}-{iteration}"));
        let _ = std::fs::write(&path, input);
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "{target}: iteration {iteration} (seed {}) failed: {message}\ninput saved to {}\nreplay: cargo fuzz run {target} {}",
            seed(),
            path.display(),
            path.display()
        );
    }
}

#[test]
fn fuzz_lines() {
    let corpus = corpus_lines();
    let mut rng = Rng(seed());
    for iteration in 0..iterations() * 5 {
        let mut data = rng.pick(&corpus).clone();
        mutate(&mut rng, &mut data, &corpus);
        run_case("lines", iteration, &data, fuzzing::check_line);
    }
}

/// Line splitting against a model of it, over readers that hand out odd
/// chunk sizes, lines around the buffer size, with and without a final
/// newline.
#[test]
fn fuzz_line_blocks() {
    let mut rng = Rng(seed() ^ 0x11);
    let max = rwdoctor::lines::MAX_LINE;
    let block_sizes = [0, max + 1, max + 4096, 1 << 20];
    let text: Vec<u8> = (0..3 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    for iteration in 0..(iterations() / 40).max(10) {
        let block = *rng.pick(&block_sizes);
        let buffer = block.max(max + 1);
        let lengths = [
            0,
            1,
            2,
            80,
            max - 1,
            max,
            max + 1,
            buffer - 2,
            buffer - 1,
            buffer,
            buffer + 1,
            2 * buffer + 7,
        ];
        let mut data = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let len = *rng.pick(&lengths);
            data.extend_from_slice(&text[..len]);
            if rng.chance(3) {
                data.push(b'\r');
            }
            data.push(b'\n');
        }
        if rng.chance(2) {
            data.pop();
        }
        let sizes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
        run_case("line_blocks", iteration, &data, |data| {
            fuzzing::check_line_blocks(data, &sizes, block)
        });
    }
}

#[test]
fn fuzz_rules() {
    let corpus = corpus_lines();
    let files = rwdoctor::rules::builtin_rule_files();
    let mut rng = Rng(seed() ^ 0x22);
    for iteration in 0..iterations() / 4 {
        let file = rng.pick(&files);
        let data = if rng.chance(2) {
            // Structure-aware: a value of the JSON replaced.
            let mut value: serde_json::Value = serde_json::from_str(&file.text).unwrap();
            mutate_json(&mut rng, &mut value);
            serde_json::to_vec_pretty(&value).unwrap()
        } else {
            let mut data = file.text.clone().into_bytes();
            mutate(&mut rng, &mut data, &corpus);
            data
        };
        run_case("rules", iteration, &data, fuzzing::check_rule);
    }
}

fn mutate_json(rng: &mut Rng, value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, Value::String(rng.pick(RULE_VALUES).to_string()));
                }
                2 => {
                    let n = *rng.pick(&[0i64, -1, 1, 2, 1_000_000, i64::MAX]);
                    map.insert(key, Value::from(n));
                }
                3 => {
                    map.insert(key, Value::Array(Vec::new()));
                }
                _ => {
                    if let Some(inner) = map.get_mut(&key) {
                        mutate_json(rng, inner);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let at = rng.below(items.len());
            match rng.below(4) {
                0 => {
                    items.remove(at);
                }
                1 => {
                    let copy = items[at].clone();
                    items.push(copy);
                }
                _ => mutate_json(rng, &mut items[at]),
            }
        }
        Value::String(text) => {
            if rng.chance(2) {
                *text = rng.pick(RULE_VALUES).to_string();
            } else {
                let mut bytes = text.clone().into_bytes();
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, rng.pick(RULE_VALUES).bytes());
                *text = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        other => *other = Value::String(rng.pick(RULE_VALUES).to_string()),
    }
}

#[test]
fn fuzz_rule_directories() {
    // The loader itself: a directory of mutated files, empty ones, a
    // directory named like a rule file.
    let files = rwdoctor::rules::builtin_rule_files();
    let corpus = corpus_lines();
    let mut rng = Rng(seed() ^ 0x33);
    for iteration in 0..(iterations() / 100).max(5) {
        let dir = tempfile::tempdir().unwrap();
        for (n, file) in files.iter().enumerate().take(1 + rng.below(4)) {
            let mut data = file.text.clone().into_bytes();
            if rng.chance(2) {
                mutate(&mut rng, &mut data, &corpus);
            }
            std::fs::write(dir.path().join(format!("{n}.json")), data).unwrap();
        }
        if rng.chance(3) {
            std::fs::create_dir(dir.path().join("dir.json")).unwrap();
        }
        let input = format!("iteration {iteration}").into_bytes();
        run_case("rule_dirs", iteration, &input, |_| {
            let set = rwdoctor::rules::RuleSet::load(&[dir.path().to_path_buf()]);
            assert!(set.rules.len() >= 8, "built-in rules are kept");
            for error in &set.errors {
                assert!(
                    error.file.starts_with(dir.path().to_str().unwrap()),
                    "{error}"
                );
            }
        });
    }
}

/// The longest input `fuzz_scan` analyses.
const SCAN_INPUT_MAX: usize = 32 << 10;

#[test]
fn fuzz_scan() {
    let corpus = corpus_lines();
    let logs: Vec<Vec<u8>> = [
        "sample-incident.log",
        "shapes/pretty.log",
        "shapes/kubectl-prefix-timestamps.log",
        "pairs/slow-disk-etcd-0.log",
        "shapes/cloud-json.log",
        "shapes/journald.log",
        "shapes/utf16le-bom-crlf.log",
        "shapes/cr-only.log",
        "shapes/containers/bundle.tar",
        "shapes/containers/bundle.zip",
        "shapes/containers/sample-incident.log.zst",
    ]
    .iter()
    .map(|f| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(f),
        )
        .unwrap()
    })
    .collect();
    let mut rng = Rng(seed() ^ 0x44);
    let dir = tempfile::tempdir().unwrap();
    for iteration in 0..iterations() / 5 {
        let mut data = rng.pick(&logs).clone();
        for _ in 0..rng.below(8) {
            mutate(&mut rng, &mut data, &corpus);
        }
        // Long lines have tests of their own; small inputs keep it quick.
        data.truncate(SCAN_INPUT_MAX);
        if rng.chance(4) {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut encoder, &data).unwrap();
            data = encoder.finish().unwrap();
            if rng.chance(2) {
                let keep = rng.below(data.len() + 1);
                data.truncate(keep);
            } else if rng.chance(2) {
                mutate(&mut rng, &mut data, &corpus);
            }
        }
        run_case("scan", iteration, &data, |data| {
            fuzzing::check_analysis(data, dir.path())
        });
    }
}

/// A libFuzzer corpus or its artifacts through the checks of this build,
/// without nightly: `RWDOCTOR_FUZZ_CORPUS=fuzz/corpus/scan cargo test
/// --release --test integration fuzz_smoke::fuzz_corpus` (`RWDOCTOR_FUZZ_TARGET`:
/// `lines`, `line_blocks`, `rules`; `scan` by default). Nothing without it.
#[test]
fn fuzz_corpus() {
    let Some(corpus) = std::env::var_os("RWDOCTOR_FUZZ_CORPUS") else {
        return;
    };
    let target = std::env::var("RWDOCTOR_FUZZ_TARGET").unwrap_or_else(|_| "scan".to_string());
    let mut paths: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let dir = tempfile::tempdir().unwrap();
    for (n, path) in paths.iter().enumerate() {
        let data = std::fs::read(path).unwrap();
        eprintln!("replaying {}", path.display());
        run_case(&target, n, &data, |data| match target.as_str() {
            "lines" => fuzzing::check_line(data),
            "line_blocks" => fuzzing::check_line_blocks_input(data),
            "rules" => fuzzing::check_rule(data),
            _ => fuzzing::check_analysis(data, dir.path()),
        });
    }
    eprintln!("{} inputs replayed", paths.len());
}

/// Every input a fuzzer once failed on (`fuzz/regressions/<target>/`), again.
#[test]
fn fuzz_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let dir = tempfile::tempdir().unwrap();
    let mut replayed = 0;
    for target in ["lines", "line_blocks", "rules", "scan"] {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for (n, path) in paths.iter().enumerate() {
            let data = std::fs::read(path).unwrap();
            eprintln!("replaying {}", path.display());
            run_case(target, n, &data, |data| match target {
                "lines" => fuzzing::check_line(data),
                "line_blocks" => fuzzing::check_line_blocks_input(data),
                "rules" => fuzzing::check_rule(data),
                _ => fuzzing::check_analysis(data, dir.path()),
            });
            replayed += 1;
        }
    }
    assert!(
        replayed >= 4,
        "the regression inputs are in fuzz/regressions"
    );
}

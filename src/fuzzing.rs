//! Checks run on arbitrary bytes by the fuzz targets (`fuzz/`, `cargo fuzz`)
//! and by their deterministic stand-in under `cargo test`
//! (`tests/fuzz_smoke.rs`). Each takes any input and panics only when rwdoctor
//! misbehaves: a panic inside rwdoctor, a hit outside its input, a report
//! that echoes control characters, an exit code that contradicts the
//! summary, output that depends on the thread count.
#![doc(hidden)]

use crate::analysis::Analysis;
use crate::input::{self, OpenInput};
use crate::lines::{LineBlocks, MAX_LINE};
use crate::matcher::Matcher;
use crate::model::Severity;
use crate::pipeline::{analyse_inputs, Inputs, Request};
use crate::record;
use crate::report::{self, Context, Format};
use crate::rules::{self, RuleFile, RuleSet, RuleSource};
use crate::scan::{self, Hit, MAX_EVIDENCE_TEXT};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in rules, loaded once.
pub fn builtin_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::load(&[]))
}

/// The matcher of the built-in rules, built once.
pub fn builtin_matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| Matcher::new(builtin_rules()))
}

/// Years a journalctl line may be given: the input's own (four digits) or
/// the current one.
const YEARS: [i32; 5] = [2024, 1970, 0, 9999, 2000];

/// `data` as the scanner sees it: decompressed when it is gzip (as far as
/// it decodes).
pub fn decoded(data: &[u8]) -> Vec<u8> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return data.to_vec();
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(data);
    let mut buf = [0u8; 8192];
    while let Ok(n) = decoder.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// One line (or several): format detection, wrappers, timestamps, parsing.
pub fn check_line(data: &[u8]) {
    let year = YEARS[data.first().map_or(0, |b| usize::from(*b) % YEARS.len())];
    for line in data.split(|b| *b == b'\n') {
        let mut clean = Vec::new();
        record::strip_ansi(line, &mut clean);
        assert!(clean.len() <= line.len(), "strip_ansi grew the line");
        for line in [line, &clean[..]] {
            let (_, unwrapped) = record::classify(line);
            assert!(unwrapped.inner_start <= line.len());
            for (a, b) in [unwrapped.origin, unwrapped.wrapper_time]
                .into_iter()
                .flatten()
            {
                assert!(a <= b && b <= line.len(), "range {a}..{b} outside the line");
            }
            let _ = record::line_timestamp(line, year);
            let text = String::from_utf8_lossy(line);
            let parsed = record::parse(&text, year);
            let _ = parsed.record.message.len();
            let _ = record::json::parse_time(&text);
        }
    }
}

/// A reader that hands out its bytes in the chunk sizes `sizes` says (a
/// pipe, a network filesystem), with an interruption now and then.
pub struct ChunkedReader<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    turn: usize,
}

impl<'a> ChunkedReader<'a> {
    pub fn new(data: &'a [u8], sizes: &'a [u8]) -> Self {
        ChunkedReader {
            data,
            sizes,
            turn: 0,
        }
    }
}

impl Read for ChunkedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(255);
        self.turn += 1;
        if size == 0 {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        // Sizes scale up so that big inputs do not take forever.
        let want = (usize::from(size) * (1 + self.data.len() / 4096)).min(buf.len());
        let n = want.min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The lines `LineBlocks` must give for `data`: every line whole with its
/// `\n` (one added to a last line without it), a line that does not fit in
/// the buffer (`buffer` bytes) cut to `MAX_LINE` bytes. Also the number of
/// lines cut.
pub fn expected_lines(data: &[u8], buffer: usize) -> (Vec<Vec<u8>>, u64) {
    let mut lines = Vec::new();
    let mut cut = 0;
    let mut rest = data;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let mut kept = if line.len() >= buffer {
            cut += 1;
            line[..MAX_LINE].to_vec()
        } else {
            line.to_vec()
        };
        kept.push(b'\n');
        lines.push(kept);
        rest = next;
    }
    (lines, cut)
}

/// `LineBlocks` gives the same lines whatever the block size and however
/// the reader hands out its bytes.
pub fn check_line_blocks(data: &[u8], sizes: &[u8], block_size: usize) {
    let buffer = block_size.max(MAX_LINE + 1);
    let (expected, expected_cut) = expected_lines(data, buffer);
    let mut blocks = LineBlocks::with_block_size(ChunkedReader::new(data, sizes), block_size);
    let mut lines = Vec::new();
    blocks
        .for_each_block(|block| {
            assert!(block.ends_with(b"\n"), "a block ends inside a line");
            lines.extend(block.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec));
            true
        })
        .expect("no read error");
    assert_eq!(lines.len(), expected.len(), "line count");
    for (number, (got, want)) in lines.iter().zip(&expected).enumerate() {
        assert!(
            got == want,
            "line {}: {} bytes, expected {}",
            number + 1,
            got.len(),
            want.len()
        );
    }
    assert_eq!(blocks.truncated_lines, expected_cut, "lines cut");
    assert_eq!(blocks.bytes_read, data.len() as u64);
}

/// One rule file: parsed, compiled, linted, and if it compiles, run over
/// the sample incident next to the built-in rules.
pub fn check_rule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let rule = rules::parse_rule("fuzz.json", &text, RuleSource::Builtin);
    let _ = rules::lint::lint(&[RuleFile {
        name: "fuzz.json".into(),
        text: text.to_string(),
        source: RuleSource::Builtin,
    }]);
    let Ok(rule) = rule else { return };
    for signal in &rule.signals {
        let _ = crate::literals::required_literals(signal.regex.as_str());
    }
    let set = RuleSet::of(vec![rule]);
    scan_bytes(SAMPLE_LINES.as_bytes(), &set, &Matcher::new(&set));
}

/// A few lines every rule may meet.
const SAMPLE_LINES: &str = "\
2024-02-11T06:04:51.384684Z ERROR risingwave_meta::rpc::election::etcd: lease keeper failed error=etcdserver: request timed out
2024-02-11T06:05:06.387Z ERROR risingwave_meta::rpc::election::etcd: lease 7587003312299851199 keep alive timeout
{\"level\":\"warn\",\"ts\":\"2024-02-11T14:05:02.512+0800\",\"caller\":\"wal/wal.go:805\",\"msg\":\"slow fdatasync\",\"took\":\"6.7s\"}
2024-02-11T06:05:06.387337Z  WARN risingwave_meta::rpc::election::etcd: client rw-meta-0.rw-meta:5690 lost leadership
lease keeper failed
";

/// Scans `data` as one input with `rules`, checking every hit.
pub fn scan_bytes(data: &[u8], rules: &RuleSet, matcher: &Matcher) -> scan::Coverage {
    let opened = match input::open_reader("fuzz", Box::new(io::Cursor::new(data.to_vec())), None) {
        Ok(opened) => opened,
        Err(_) => OpenInput {
            reader: Box::new(io::empty()),
            gzip: false,
            notes: Vec::new(),
            size: None,
        },
    };
    let mut hits: Vec<Hit> = Vec::new();
    let coverage = scan::scan(0, "fuzz", opened, matcher, &mut |hit| hits.push(hit));
    let mut previous = 0;
    for hit in &hits {
        assert!(hit.line > previous, "hits out of line order");
        previous = hit.line;
        assert!(hit.line <= coverage.lines, "hit past the last line");
        assert!(hit.text.len() <= MAX_EVIDENCE_TEXT);
        assert!(hit.message.len() <= MAX_EVIDENCE_TEXT);
        if let Some((start, end)) = hit.highlight {
            assert!(
                start <= end && end <= hit.message.len(),
                "highlight outside"
            );
        }
        for signal in &hit.signals {
            let rule = rules.rules.get(usize::from(signal.rule)).expect("rule");
            assert!(usize::from(signal.signal) < rule.signals.len(), "signal");
        }
    }
    assert!(coverage.recognised <= coverage.lines);
    coverage
}

/// The whole analysis of `data` (as a file, and next to a copy of its
/// first half): no panic, every report renders and stays clean, the exit
/// code agrees with the summary, one thread and three give the same JSON.
pub fn check_analysis(data: &[u8], dir: &Path) {
    scan_bytes(data, builtin_rules(), builtin_matcher());
    let first = dir.join("input.log");
    let second = dir.join("half.log");
    if std::fs::write(&first, data).is_err()
        || std::fs::write(&second, &data[..data.len() / 2]).is_err()
    {
        return;
    }
    let paths = vec![first, second];
    let one = analysis(&paths, 1);
    check_reports(&one);
    let three = analysis(&paths, 3);
    assert_eq!(
        report::json::render(&one),
        report::json::render(&three),
        "the report depends on the thread count"
    );
}

fn analysis(paths: &[PathBuf], threads: usize) -> Analysis {
    let request = Request {
        paths: paths.to_vec(),
        fail_on: Some(Severity::Error),
        since: None,
        until: None,
        threads: Some(threads),
        min_split_bytes: None,
        discover: Default::default(),
    };
    let inputs = Inputs::expand(&request.paths);
    analyse_inputs(&request, inputs, builtin_rules(), builtin_matcher(), None)
}

fn check_reports(analysis: &Analysis) {
    let summary = &analysis.summary;
    for error in &summary.errors {
        assert!(!error.contains("internal error"), "{error}");
    }
    assert_eq!(summary.exit_code == 2, !summary.errors.is_empty());
    assert!(summary.exit_code <= 3);
    assert!(summary.lines_recognised <= summary.lines_read);
    for finding in &analysis.findings {
        assert!(finding.count > 0);
        assert!(
            finding.matched_lines >= finding.evidence.len() as u64 || finding.matched_lines == 0
        );
        if let (Some(first), Some(last)) = (&finding.first_seen, &finding.last_seen) {
            let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339");
            assert!(parse(first) <= parse(last), "{first} after {last}");
        }
    }
    let context = Context {
        rules: builtin_rules(),
        fail_on: Some(Severity::Error),
    };
    for format in [
        Format::Human,
        Format::Json,
        Format::Jsonl,
        Format::Github,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ] {
        let text = report::render(format, analysis, &context, false);
        match format {
            Format::Json => {
                serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
            }
            Format::Jsonl => {
                for line in text.lines() {
                    serde_json::from_str::<serde_json::Value>(line).expect("valid JSON line");
                }
            }
            Format::Junit => {}
            Format::Human | Format::Github | Format::Markdown | Format::Html => {
                if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
                    panic!("{format:?} report echoes {c:?}");
                }
            }
        }
        if format == Format::Human {
            // 80 columns, except a word longer than that, alone on its line
            // (a path or a link is not broken, so that it can be copied).
            for line in text.lines() {
                let lone_word = !line.trim_start().contains(' ');
                assert!(
                    line.chars().count() <= 80 || lone_word,
                    "over 80 columns: {line}"
                );
            }
        }
    }
}

/// A temporary directory for `check_analysis`, one per process.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rwdoctor-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A deterministic random source for unit tests (xorshift64): each call
/// gives a number below its argument.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |below| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    }
}

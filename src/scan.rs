//! One input → coverage counts and signal hits, in one pass over blocks of
//! lines. Every line is classified (cheap byte checks, for exact coverage);
//! only lines the literal prefilter selects are parsed and regex-checked.
use crate::activity::{Feed, Histogram, Tone};
use crate::facts::FactKind;
use crate::input::OpenInput;
use crate::lines::LineBlocks;
use crate::matcher::{Matcher, SignalRef};
use crate::model::{Level, Timestamp};
use crate::record::{self, wrappers, LineClass, Shape};
use crate::text::cut;
use chrono::Datelike;
use serde::Serialize;
use std::collections::BTreeMap;

mod windows;

/// Evidence text longer than this is cut (at a character boundary).
pub const MAX_EVIDENCE_TEXT: usize = 2048;
/// Distinct origins (pods, services) listed per input.
const MAX_ORIGINS: usize = 64;

/// A line that matched at least one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub input: usize,
    /// 1-based, in the decompressed stream (a pretty event's head line).
    pub line: u64,
    /// The line's own timestamp (or its wrapper's).
    pub timestamp: Option<Timestamp>,
    /// Its own timestamp, else that of the last timestamped line before it:
    /// what the timeline orders by.
    pub sort_time: Option<Timestamp>,
    pub level: Option<Level>,
    pub target: Option<String>,
    /// Pod, compose service or journald unit the line came from.
    pub origin: Option<String>,
    pub shape: Shape,
    /// The line as written (ANSI escapes removed), cut to `MAX_EVIDENCE_TEXT`.
    pub text: String,
    /// The message and fields the signals matched.
    pub message: String,
    /// Byte range of the first signal match inside `message`.
    pub highlight: Option<(usize, usize)>,
    pub signals: Vec<SignalRef>,
    /// Facts the line states (version, lease, members...).
    pub facts: Vec<(FactKind, String)>,
    /// For a start-up banner (`FactKind::NodeStarting`): the event line
    /// before it in the same input, the last the previous process wrote
    /// when the node restarted (no signals of its own).
    pub before: Option<Box<Hit>>,
}

/// What one input held, for the summary and for "explain the silence".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub name: String,
    pub gzip: bool,
    pub bytes: u64,
    pub lines: u64,
    /// Lines that belong to a recognised event (pretty continuations included).
    pub recognised: u64,
    /// Events per shape.
    pub shapes: BTreeMap<Shape, u64>,
    /// Lines per wrapper (kubectl, compose, journalctl, ANSI).
    pub wrappers: BTreeMap<&'static str, u64>,
    /// Pods, services or units seen in wrappers.
    pub origins: Vec<String>,
    /// Earliest and latest time read: of the first event, of the last event
    /// of each block and of every matching line (a clock that steps back
    /// still gives a forward range; every line's time is not parsed, which
    /// would cost the hot path).
    pub first_timestamp: Option<Timestamp>,
    pub last_timestamp: Option<Timestamp>,
    /// Lines over `MAX_LINE` bytes, cut there.
    pub truncated_lines: u64,
    /// JSON lines over `MAX_LINE` bytes kept whole, string values over
    /// `lines::MAX_JSON_STRING` shortened.
    pub shortened_lines: u64,
    /// Assumptions made while reading (e.g. the year of journalctl lines).
    pub notes: Vec<String>,
    /// Its matching lines ran newest first (set by the merge, which reads
    /// them in time order).
    pub newest_first: bool,
    /// First line of the input (cut), to show when nothing was recognised.
    pub first_line: Option<String>,
    /// A read error that ended the input early, e.g. a truncated gzip stream.
    pub read_error: Option<String>,
    /// Bytes of a plain file that were there when it was opened and were
    /// gone when the scan reached them (the file shrank: rotation by
    /// truncation).
    pub unread_bytes: u64,
    /// Lines over time (the overview's histogram).
    #[serde(skip)]
    pub activity: Histogram,
    #[serde(skip)]
    pub pending_pretty_lines: u64,
    /// Whether the part ends inside a pretty event; `None` when it held
    /// only continuation lines and so decided nothing.
    #[serde(skip)]
    pub ends_in_pretty_event: Option<bool>,
    /// The part's last event line, for a start-up banner at the head of the
    /// next part (`Hit::before`).
    #[serde(skip)]
    pub last_event: Option<Box<Hit>>,
    /// The templates of the lines mined for discovery (`Part::discover`).
    #[serde(skip)]
    pub templates: crate::templates::Table,
    /// The windows before banners and the end, at the levels below the one
    /// mined (`Part::windows`).
    #[serde(skip)]
    pub windows: Option<crate::templates::WindowMined>,
}

impl Coverage {
    pub fn events(&self) -> u64 {
        self.shapes.values().sum()
    }

    /// Appends the coverage of the next part of the same input.
    pub fn merge_part(&mut self, next: Coverage) {
        if self.ends_in_pretty_event == Some(true) {
            self.recognised += next.pending_pretty_lines;
        }
        if let Some(mut last) = next.last_event {
            last.line += self.lines;
            self.last_event = Some(last);
        }
        self.templates.absorb(next.templates, self.lines);
        match (&mut self.windows, next.windows) {
            (Some(mine), Some(theirs)) => mine.absorb(theirs, self.lines),
            (None, Some(theirs)) => {
                let mut all = crate::templates::WindowMined::default();
                all.absorb(theirs, self.lines);
                self.windows = Some(all);
            }
            _ => {}
        }
        self.bytes += next.bytes;
        self.unread_bytes += next.unread_bytes;
        self.lines += next.lines;
        self.recognised += next.recognised;
        for (shape, n) in next.shapes {
            *self.shapes.entry(shape).or_default() += n;
        }
        for (wrapper, n) in next.wrappers {
            *self.wrappers.entry(wrapper).or_default() += n;
        }
        for origin in next.origins {
            if self.origins.len() < MAX_ORIGINS && !self.origins.contains(&origin) {
                self.origins.push(origin);
            }
        }
        self.first_timestamp = earliest(self.first_timestamp, next.first_timestamp);
        self.last_timestamp = latest(self.last_timestamp, next.last_timestamp);
        self.truncated_lines += next.truncated_lines;
        self.shortened_lines += next.shortened_lines;
        self.activity.merge(&next.activity);
        for note in next.notes {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        if self.read_error.is_none() {
            self.read_error = next.read_error;
        }
        // A part that decided nothing (all continuation lines) leaves the
        // state of the parts before it.
        self.ends_in_pretty_event = next.ends_in_pretty_event.or(self.ends_in_pretty_event);
    }
}

/// Per-input state that outlives a block.
struct ScanState {
    line_no: u64,
    /// Lines over `MAX_LINE` cut by the scanner (the line reader cuts those
    /// too long for its buffer).
    cut_lines: u64,
    /// JSON lines over `MAX_LINE` whose long strings were shortened.
    shortened_lines: u64,
    seen_event: bool,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
    shape_counts: [u64; Shape::ALL.len()],
    wrapper_counts: [u64; wrappers::WRAPPER_NAMES.len()],
    recognised: u64,
    /// Inside a pretty event; `None` at the start of a chunk that begins in
    /// the middle of an input, until the first event line says.
    in_pretty_event: Option<bool>,
    /// Continuation and blank lines at such a chunk's head, recognised only
    /// if the chunk before ended inside a pretty event.
    pending_pretty_lines: u64,
    /// The last event line (cleaned, cut), for its timestamp.
    last_event: Vec<u8>,
    /// Its line number (0: none yet in this part).
    last_event_no: u64,
    /// The event line before `last_event`, when an ANSI line replaced it.
    previous_event: Vec<u8>,
    last_time: Option<Timestamp>,
    /// Year for journalctl timestamps: the input's own, once known.
    year: Option<i32>,
    assumed_year: Option<i32>,
    ansi_scratch: Vec<u8>,
    candidates: Vec<usize>,
    matched: Vec<SignalRef>,
    facts: Vec<(FactKind, String)>,
    /// Count runs of plain lines in `plain_run`: always, except in the test
    /// that compares them with the general path.
    fast_runs: bool,
    /// A panic whose lines are being folded into one event.
    panic: Option<PendingPanic>,
    /// Lines over time, for the overview.
    activity: Feed,
    /// The last `YYYY-MM-DDTHH:MM` `next_second` read (`fast_time`).
    activity_minute: Option<([u8; 16], Timestamp)>,
    /// Discovery's template table, when lines are mined (`Part::discover`).
    miner: Option<Miner>,
    /// The windows at the levels below the miner's (`Part::windows`).
    windows: Option<windows::Windows>,
}

/// The lines mined into templates while scanning (discovery, issue 17).
struct Miner {
    table: crate::templates::Table,
    /// The lowest level mined.
    from: Level,
    source: String,
    /// Plain lines' fingerprints (`templates::fingerprint`) → template id
    /// and how many times the full key confirmed it.
    known: crate::templates::Fingerprints,
    /// The last `YYYY-MM-DDTHH:MM` read by `fast_time` and its time.
    minute: Option<([u8; 16], Timestamp)>,
    /// Count lines by their confirmed fingerprint (always, except in the
    /// test that holds the fast paths to the full key).
    fingerprints: bool,
    /// `templates::fingerprint_with`'s buffer.
    scratch: Vec<u8>,
    /// A line's digit probe (`templates::digit_probe`) → its fingerprint,
    /// for lines that kept no digit as written (`fingerprint_and_kept`):
    /// nearly every line of a running node is counted by its probe.
    by_probe: std::collections::HashMap<u64, u64, crate::templates::IdHash>,
}

/// Probes remembered per input part (a bound on memory: past it, the
/// fingerprint of a line of a new probe is computed each time).
const MAX_PROBES: usize = 65_536;

impl Miner {
    /// Counts a plain RisingWave text line (without its line ending; its
    /// timestamp ends at `space`, `record::plain_risingwave_level_at`) by its
    /// fingerprint, if that fingerprint is confirmed and the line's time is
    /// in tracing's UTC form: exactly what `mine_event` does for it. False
    /// when the line needs the general path.
    #[inline]
    fn count_plain(&mut self, raw: &[u8], space: usize, line_no: u64) -> bool {
        let rest = &raw[space..];
        let probe = crate::templates::digit_probe(rest);
        let fp = match probe.and_then(|probe| self.by_probe.get(&probe)) {
            Some(fp) => *fp,
            None => self.fingerprint(rest, probe),
        };
        let Some(id) = self.known.trusted(fp) else {
            return false;
        };
        let Some(time) = fast_time(&mut self.minute, raw) else {
            return false;
        };
        self.table.add_seen(id, Some(time), line_no)
    }

    /// The fingerprint of `rest` (a plain line after its timestamp), kept
    /// by its probe when that tells it.
    #[inline(never)]
    fn fingerprint(&mut self, rest: &[u8], probe: Option<u64>) -> u64 {
        let (fp, kept) = crate::templates::fingerprint_and_kept(rest, &mut self.scratch);
        if let Some(probe) = probe.filter(|_| !kept && self.by_probe.len() < MAX_PROBES) {
            self.by_probe.insert(probe, fp);
        }
        fp
    }
}

/// A panic header seen, its message and backtrace lines still coming.
struct PendingPanic {
    fold: record::panic::Fold,
    line_no: u64,
    /// The time of the last event line before it (a panic has none).
    time: Option<Timestamp>,
    /// The pod or service of a merged log it came from.
    origin: Option<Vec<u8>>,
}

impl ScanState {
    fn note_time(&mut self, time: Option<Timestamp>) {
        self.earliest = earliest(self.earliest, time);
        self.latest = latest(self.latest, time);
    }

    fn year_for(&mut self, line: &[u8], unwrapped: &record::Unwrapped) -> i32 {
        if let Some(year) = self.year {
            return year;
        }
        let month = unwrapped
            .wrapper_time
            .and_then(|(a, _)| wrappers::month_of(&line[a..]));
        let year = record::default_journal_year(month);
        if unwrapped.wrappers & wrappers::JOURNALD != 0 {
            // Only journalctl's own timestamps need the guess.
            self.assumed_year.get_or_insert(year);
        }
        year
    }
}

/// Scans one opened input, calling `on_hit` for each hit in line order.
pub fn scan(
    input_index: usize,
    name: &str,
    opened: OpenInput,
    matcher: &Matcher,
    on_hit: &mut dyn FnMut(Hit),
) -> Coverage {
    scan_part(input_index, name, opened, matcher, Part::default(), on_hit)
}

/// Where a part of an input stands in it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Part {
    /// The part does not start at the input's beginning.
    pub mid_input: bool,
    /// The year a whole scan would give journalctl lines here: that of the
    /// input's first event line, unless it is journalctl's own.
    pub year: Option<i32>,
    /// Which lines are mined into templates (`Coverage::templates`).
    pub discover: crate::templates::Depth,
    /// Mine the lines below that level in the window of this many seconds
    /// before each start-up banner and the end (`Coverage::windows`).
    pub windows: Option<i64>,
}

/// The year a scan takes from an input's first event line (journalctl
/// lines carry none), read from the input's head.
pub fn year_of_first_event(head: &[u8]) -> Option<i32> {
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut clean = Vec::new();
        let line = if memchr::memchr(0x1b, line).is_some() {
            record::strip_ansi(line, &mut clean);
            &clean[..]
        } else {
            line
        };
        let (class, unwrapped) = record::classify(line);
        if let LineClass::Event(_) = class {
            if unwrapped.wrappers & wrappers::JOURNALD != 0 {
                return None;
            }
            return record::line_timestamp(line, 0).map(|t| t.year());
        }
    }
    None
}

/// Scans a whole input, or (`mid_input`) a line-aligned part of one that
/// does not start at its beginning: line numbers are then relative to the
/// part, and `Coverage::merge_part` stitches the parts together.
pub fn scan_part(
    input_index: usize,
    name: &str,
    opened: OpenInput,
    matcher: &Matcher,
    part: Part,
    on_hit: &mut dyn FnMut(Hit),
) -> Coverage {
    scan_part_with(input_index, name, opened, matcher, part, on_hit, true)
}

/// `scan_part`; without `fast_runs` every line takes the general path
/// (the reference the fast runs are tested against).
fn scan_part_with(
    input_index: usize,
    name: &str,
    opened: OpenInput,
    matcher: &Matcher,
    part: Part,
    on_hit: &mut dyn FnMut(Hit),
    fast_runs: bool,
) -> Coverage {
    let mid_input = part.mid_input;
    let mut coverage = Coverage {
        name: name.to_string(),
        gzip: opened.gzip,
        notes: opened.notes,
        ..Coverage::default()
    };
    let mut blocks = LineBlocks::new(opened.reader);
    let mut st = ScanState {
        line_no: 0,
        cut_lines: 0,
        shortened_lines: 0,
        seen_event: false,
        earliest: None,
        latest: None,
        shape_counts: [0; Shape::ALL.len()],
        wrapper_counts: [0; wrappers::WRAPPER_NAMES.len()],
        recognised: 0,
        in_pretty_event: if mid_input { None } else { Some(false) },
        pending_pretty_lines: 0,
        last_event: Vec::with_capacity(512),
        last_event_no: 0,
        previous_event: Vec::new(),
        last_time: None,
        year: part.year,
        assumed_year: None,
        ansi_scratch: Vec::new(),
        candidates: Vec::new(),
        matched: Vec::new(),
        facts: Vec::new(),
        fast_runs,
        panic: None,
        activity: Feed::default(),
        activity_minute: None,
        miner: part.discover.min_level().map(|from| Miner {
            table: crate::templates::Table::new(false),
            from,
            source: name.to_string(),
            known: Default::default(),
            minute: None,
            fingerprints: fast_runs,
            scratch: Vec::new(),
            by_probe: Default::default(),
        }),
        windows: match (part.windows, part.discover.min_level()) {
            (Some(window), Some(from)) if from > Level::Trace => {
                Some(windows::Windows::new(name, window, from))
            }
            _ => None,
        },
    };

    let result = blocks.for_each_block(|block| {
        scan_block(block, input_index, matcher, &mut st, &mut coverage, on_hit);
        true
    });
    finish_panic(input_index, matcher, &mut st, on_hit);

    if let Err(err) = result {
        coverage.read_error = Some(describe_read_error(&err.error, opened.gzip, st.line_no));
    }
    coverage.pending_pretty_lines = st.pending_pretty_lines;
    coverage.ends_in_pretty_event = st.in_pretty_event;
    let last = EventBefore {
        in_block: None,
        line: st.last_event_no,
        replaced: false,
    };
    coverage.last_event = line_before(&last, &[], input_index, &st);
    coverage.lines = st.line_no;
    if let Some(miner) = st.miner.take() {
        coverage.templates = miner.table;
    }
    if let Some(mut windows) = st.windows.take() {
        // The part's tail, as if an anchor followed it.
        let year = st
            .year
            .unwrap_or_else(|| record::default_journal_year(None));
        let end = latest(st.latest, record::line_timestamp(&st.last_event, year));
        if let Some(end) = end {
            windows.mine(st.line_no + 1, end, year);
        }
        coverage.windows = Some(windows.mined);
    }
    coverage.bytes = blocks.bytes_read;
    coverage.truncated_lines = blocks.truncated_lines + st.cut_lines;
    coverage.shortened_lines = blocks.shortened_lines + st.shortened_lines;
    coverage.recognised = st.recognised;
    coverage.activity = std::mem::take(&mut st.activity).finish();
    let year = st
        .year
        .unwrap_or_else(|| record::default_journal_year(None));
    let final_time = record::line_timestamp(&st.last_event, year);
    coverage.first_timestamp = earliest(st.earliest, final_time);
    coverage.last_timestamp = latest(st.latest, final_time);
    for shape in Shape::ALL {
        let count = st.shape_counts[shape.index()];
        if count > 0 {
            coverage.shapes.insert(shape, count);
        }
    }
    for ((_, name), count) in wrappers::WRAPPER_NAMES.iter().zip(st.wrapper_counts) {
        if count > 0 {
            coverage.wrappers.insert(name, count);
        }
    }
    if let Some(note) = record::zoneless_time_note(&st.last_event) {
        coverage.notes.push(note.to_string());
    }
    if let Some(year) = st.assumed_year {
        coverage.notes.push(format!(
            "journalctl timestamps carry no year and no other line told it: assumed {year}"
        ));
    }
    coverage
}

/// Scans one block of whole lines: a short dispatcher over the fast path
/// (runs of plain lines that hold no literal, only counted) and the
/// general path (every other line, one at a time).
fn scan_block(
    block: &[u8],
    input_index: usize,
    matcher: &Matcher,
    st: &mut ScanState,
    coverage: &mut Coverage,
    on_hit: &mut dyn FnMut(Hit),
) {
    let mut scan = BlockScan {
        block,
        has_ansi: memchr::memchr(0x1b, block).is_some(),
        next_candidate: matcher.next_candidate(block, 0),
        start: 0,
        last_event_in_block: None,
        plain_before: false,
        input_index,
        matcher,
        st,
        coverage,
        on_hit,
    };
    while scan.start < block.len() {
        if scan.plain_before && !scan.has_ansi && scan.st.fast_runs {
            scan.plain_lines();
            if scan.start >= block.len() {
                break;
            }
        }
        let Some(newline) = memchr::memchr(b'\n', &block[scan.start..]).map(|n| scan.start + n)
        else {
            break; // blocks end with a newline; this is not reached
        };
        scan.general_line(newline);
        scan.start = newline + 1;
    }
    scan.finish();
}

/// One block's scan: where it stands in the block, and what the lines of
/// the input before it left (`st`).
struct BlockScan<'s, 'b> {
    block: &'b [u8],
    /// Any escape byte in the block (lines of a block without one skip
    /// the ANSI check).
    has_ansi: bool,
    /// Where the next line holding a literal ends, as the prefilter says.
    next_candidate: Option<usize>,
    /// Where the next line starts.
    start: usize,
    /// The last event line seen in this block.
    last_event_in_block: Option<(usize, usize)>,
    /// Set after a line the fast run would have taken the same way.
    plain_before: bool,
    input_index: usize,
    matcher: &'s Matcher,
    st: &'s mut ScanState,
    coverage: &'s mut Coverage,
    on_hit: &'s mut dyn FnMut(Hit),
}

/// What an event line turned out to be.
#[derive(PartialEq)]
enum EventLine {
    Event,
    /// A panic's header: its message and backtrace lines follow.
    PanicHeader,
}

impl BlockScan<'_, '_> {
    /// The fast path. Nearly every line of a RisingWave log is a plain text
    /// event line that holds no literal: counting those is all the work
    /// there is to them, in a tight loop up to the next candidate.
    fn plain_lines(&mut self) {
        let limit = self.next_candidate.unwrap_or(self.block.len());
        let run = plain_run(
            self.block,
            self.start,
            limit,
            &mut self.st.activity,
            &mut self.st.activity_minute,
            self.st.miner.as_mut(),
            self.st.windows.as_mut(),
            self.st.line_no,
        );
        if run.lines > 0 {
            let st = &mut *self.st;
            st.line_no += run.lines;
            st.recognised += run.lines;
            st.shape_counts[Shape::RisingwaveText.index()] += run.lines;
            self.last_event_in_block = run.last_line;
            st.last_event_no = st.line_no;
            self.start = run.end;
        }
    }

    /// The general path: one line ending at `newline`, cleaned, then
    /// classified, counted and checked.
    fn general_line(&mut self, newline: usize) {
        self.st.line_no += 1;
        let raw = line_text(&self.block[self.start..newline], self.st);
        let has_ansi = self.has_ansi && memchr::memchr(0x1b, &raw).is_some();
        let mut scratch = std::mem::take(&mut self.st.ansi_scratch);
        let line: &[u8] = if has_ansi {
            record::strip_ansi(&raw, &mut scratch);
            &scratch
        } else {
            &raw
        };
        self.read_line(line, raw.len(), has_ansi, newline);
        self.st.ansi_scratch = scratch;
    }

    fn read_line(&mut self, line: &[u8], raw_len: usize, has_ansi: bool, newline: usize) {
        if self.coverage.first_line.is_none() {
            self.coverage.first_line = Some(cut(&String::from_utf8_lossy(line), 120));
        }
        let (class, unwrapped) = record::classify(line);
        note_activity(self.st, line, class, &unwrapped);
        // The event line before this one, should this be a start-up banner.
        let mut before = EventBefore {
            in_block: self.last_event_in_block,
            line: self.st.last_event_no,
            replaced: false,
        };
        self.plain_before = !has_ansi
            && class == LineClass::Event(Shape::RisingwaveText)
            && unwrapped.wrappers == 0
            && self.st.seen_event;
        let wrapper_bits = unwrapped.wrappers | if has_ansi { wrappers::ANSI } else { 0 };
        if wrapper_bits != 0 {
            count_wrappers(self.st, wrapper_bits);
            if let Some((a, b)) = unwrapped.origin {
                note_origin(self.coverage, &line[a..b]);
            }
        }
        if self.folds_into_panic(line, &unwrapped, class) {
            // Part of the panic: its text is checked when it ends.
            self.pass_candidates(newline);
            return;
        }
        let recognised = match class {
            LineClass::Event(shape) => {
                let event = self.event_line(line, &unwrapped, shape, has_ansi, raw_len);
                if event == EventLine::PanicHeader {
                    self.pass_candidates(newline);
                    return;
                }
                before.replaced = has_ansi;
                true
            }
            _ => non_event_line(self.st, class, line),
        };
        if recognised {
            self.st.recognised += 1;
        }
        mine_event(self.st, line, class, &unwrapped, has_ansi);
        if has_ansi || self.candidate_through(newline) {
            self.check_candidate(line, recognised, &before);
            self.pass_candidates(newline);
        }
    }

    /// Whether the prefilter's next candidate ends at or before `newline`.
    fn candidate_through(&self, newline: usize) -> bool {
        self.next_candidate.is_some_and(|c| c <= newline)
    }

    /// Moves the next candidate past the line ending at `newline`.
    fn pass_candidates(&mut self, newline: usize) {
        if self.candidate_through(newline) {
            self.next_candidate = self.matcher.next_candidate(self.block, newline + 1);
        }
    }

    /// Adds the line to the panic being folded, if it belongs there; a
    /// line that does not ends the panic.
    fn folds_into_panic(
        &mut self,
        line: &[u8],
        unwrapped: &record::Unwrapped,
        class: LineClass,
    ) -> bool {
        let Some(pending) = &mut self.st.panic else {
            return false;
        };
        let inner = &line[unwrapped.inner_start..];
        // In a merged log, a line of another pod or service ends it.
        let origin = unwrapped.origin.map(|(a, b)| &line[a..b]);
        if origin == pending.origin.as_deref()
            && pending
                .fold
                .push(inner, matches!(class, LineClass::Event(_)))
        {
            self.st.recognised += 1;
            return true;
        }
        finish_panic(self.input_index, self.matcher, self.st, self.on_hit);
        false
    }

    /// An event line: counted by shape, its time noted if it is the first,
    /// kept as the last event; a panic header starts a fold.
    fn event_line(
        &mut self,
        line: &[u8],
        unwrapped: &record::Unwrapped,
        shape: Shape,
        has_ansi: bool,
        raw_len: usize,
    ) -> EventLine {
        let st = &mut *self.st;
        st.shape_counts[shape.index()] += 1;
        st.in_pretty_event = Some(shape == Shape::RisingwavePretty);
        if !st.seen_event {
            st.seen_event = true;
            let year = st.year_for(line, unwrapped);
            let first = record::line_timestamp(line, year);
            st.note_time(first);
            if let Some(ts) = first {
                if unwrapped.wrappers & wrappers::JOURNALD == 0 {
                    st.year = Some(ts.year());
                }
            }
        }
        if shape == Shape::RustPanic {
            self.start_panic(line, unwrapped, has_ansi);
            return EventLine::PanicHeader;
        }
        if has_ansi {
            std::mem::swap(&mut st.last_event, &mut st.previous_event);
            st.last_event.clear();
            st.last_event
                .extend_from_slice(&line[..line.len().min(512)]);
            self.last_event_in_block = None;
        } else {
            self.last_event_in_block = Some((self.start, self.start + raw_len));
        }
        st.last_event_no = st.line_no;
        EventLine::Event
    }

    /// A panic's header: the fold begins. A panic has no time of its own:
    /// it takes that of the event before, which stays the last event.
    fn start_panic(&mut self, line: &[u8], unwrapped: &record::Unwrapped, has_ansi: bool) {
        let st = &mut *self.st;
        let year = st.year_for(line, unwrapped);
        let time = unwrapped
            .wrapper_time
            .and_then(|_| record::line_timestamp(line, year))
            .or_else(|| match self.last_event_in_block {
                Some((a, b)) if !has_ansi => record::line_timestamp(&self.block[a..b], year),
                _ => record::line_timestamp(&st.last_event, year),
            })
            .or(st.last_time);
        let inner = &line[unwrapped.inner_start..];
        let expects_message = record::panic::header(inner).unwrap_or(false);
        st.panic = Some(PendingPanic {
            fold: record::panic::Fold::start(&String::from_utf8_lossy(line), expects_message),
            line_no: st.line_no,
            time,
            origin: unwrapped.origin.map(|(a, b)| line[a..b].to_vec()),
        });
        st.recognised += 1;
    }

    /// The slow path's last step, for a line the prefilter selected:
    /// parse it and check the candidate signals.
    fn check_candidate(&mut self, line: &[u8], recognised: bool, before: &EventBefore) {
        self.matcher.candidates(line, &mut self.st.candidates);
        if self.st.candidates.is_empty() {
            return;
        }
        let Some(mut hit) = check_line(
            line,
            self.input_index,
            self.matcher,
            self.st,
            self.block,
            before,
        ) else {
            return;
        };
        if hit.facts.iter().any(|(k, _)| *k == FactKind::NodeStarting) {
            hit.before = line_before(before, self.block, self.input_index, self.st);
            if let (Some(windows), Some(time)) = (self.st.windows.as_mut(), hit.sort_time) {
                let year = self
                    .st
                    .year
                    .unwrap_or_else(|| record::default_journal_year(None));
                windows.mine(self.st.line_no, time, year);
            }
        }
        if !recognised && !hit.signals.is_empty() {
            self.st.shape_counts[Shape::Bare.index()] += 1;
            self.st.recognised += 1;
        }
        (self.on_hit)(hit);
    }

    /// Keeps the block's last event line and notes its time: one time per
    /// block for the input's range (parsing every line's would cost the
    /// hot path).
    fn finish(&mut self) {
        let st = &mut *self.st;
        if let Some((a, b)) = self.last_event_in_block {
            st.last_event.clear();
            st.last_event
                .extend_from_slice(&self.block[a..b.min(a + 512)]);
        }
        let year = st
            .year
            .unwrap_or_else(|| record::default_journal_year(None));
        let block_time = record::line_timestamp(&st.last_event, year);
        st.note_time(block_time);
        if st.year.is_some() {
            st.last_time = st.last_time.or(block_time);
        }
    }
}

/// A line as the scan reads it: without its `\r`, a JSON line too long
/// kept with its later fields (a `message` after a huge one) and its long
/// strings shortened, any other line too long cut.
fn line_text<'a>(mut raw: &'a [u8], st: &mut ScanState) -> std::borrow::Cow<'a, [u8]> {
    if let [head @ .., b'\r'] = raw {
        raw = head;
    }
    if raw.len() > crate::lines::MAX_LINE && crate::lines::looks_like_json(raw) {
        let mut out = Vec::with_capacity(crate::lines::MAX_LINE);
        crate::lines::JsonShortener::default().feed(raw, &mut out);
        if out.len() <= crate::lines::MAX_LINE {
            st.shortened_lines += 1;
            return std::borrow::Cow::Owned(out);
        }
    }
    if raw.len() > crate::lines::MAX_LINE {
        raw = &raw[..crate::lines::MAX_LINE];
        st.cut_lines += 1;
    }
    std::borrow::Cow::Borrowed(raw)
}

/// Whether a line that is no event belongs to one: a pretty event's
/// continuation, or the blank line that ends it.
fn non_event_line(st: &mut ScanState, class: LineClass, line: &[u8]) -> bool {
    match class {
        LineClass::Continuation => match st.in_pretty_event {
            Some(inside) => inside,
            None => {
                st.pending_pretty_lines += 1;
                false
            }
        },
        LineClass::Unknown if line.is_empty() && st.in_pretty_event != Some(false) => {
            let inside = st.in_pretty_event == Some(true);
            if st.in_pretty_event.is_none() {
                st.pending_pretty_lines += 1;
            }
            st.in_pretty_event = Some(false);
            inside
        }
        _ => {
            st.in_pretty_event = Some(false);
            false
        }
    }
}

/// A plain line of a new second: the lines counted before it go to the
/// histogram at the second before, and its time is parsed. Out of line, so
/// that `plain_run`'s loop stays small.
#[cold]
#[inline(never)]
fn next_second(
    activity: &mut Feed,
    minute: &mut Option<([u8; 16], Timestamp)>,
    counts: &mut crate::activity::Counts,
    second: &[u8; crate::activity::KEY],
    raw: &[u8],
) -> crate::activity::KeyWords {
    // tracing's own form (`2024-02-16T21:10:00.666156Z `, the time the
    // whole 27 bytes before the space) is read from its digits and the
    // minute's time; any other, and a time `fast_time` refuses, as before.
    let own_form = raw.get(26) == Some(&b'Z') && raw.get(27) == Some(&b' ');
    let time = own_form
        .then(|| fast_time(minute, raw))
        .flatten()
        .or_else(|| record::line_timestamp(raw, 0))
        .map(|t| t.timestamp());
    activity.counted_then(std::mem::take(counts), second, time);
    crate::activity::words(second)
}

/// What `plain_run` went over.
struct PlainRun {
    lines: u64,
    /// Where the line after the run starts.
    end: usize,
    /// The run's last line (without its line ending).
    last_line: Option<(usize, usize)>,
}

/// Goes over the lines from `start` that end before `limit` (the next
/// candidate) while each is a plain RisingWave text event line, no longer
/// than `MAX_LINE`: exactly the lines the general path would only count.
/// A line at the level discovery mines from or above is counted by its
/// confirmed fingerprint (`Miner::count_plain`); one that cannot be ends
/// the run, for the general path to mine. `line_no`: lines before `start`.
#[allow(clippy::too_many_arguments)] // the loop's state, each used per line
fn plain_run(
    block: &[u8],
    start: usize,
    limit: usize,
    activity: &mut Feed,
    minute: &mut Option<([u8; 16], Timestamp)>,
    mut miner: Option<&mut Miner>,
    mut windows: Option<&mut windows::Windows>,
    line_no: u64,
) -> PlainRun {
    let mut run = PlainRun {
        lines: 0,
        end: start,
        last_line: None,
    };
    let limit = limit.min(block.len());
    if run.end >= limit {
        return run;
    }
    // Lines counted at the current second (`key`), in locals; (0, 0) is
    // no time text (those are digits).
    let mut key = activity.key_words().unwrap_or((0, 0));
    let mut counts = crate::activity::Counts::default();
    let mut counted_to = 0;
    // Inlined: the loop of nearly every line (2% more instructions on
    // genlog as a call).
    #[rustfmt::skip]
    crate::lines::for_each_newline(&block[start..limit], #[inline(always)] |offset| {
        let newline = start + offset;
        let mut raw = &block[run.end..newline];
        if let [head @ .., b'\r'] = raw {
            raw = head;
        }
        if raw.len() > crate::lines::MAX_LINE {
            return false;
        }
        let (Some((level, space)), Some(second)) = (
            record::plain_risingwave_level_at(raw),
            raw.first_chunk::<{ crate::activity::KEY }>(),
        ) else {
            return false;
        };
        if let Some(miner) = miner.as_deref_mut() {
            if level >= miner.from && !miner.count_plain(raw, space, line_no + run.lines + 1) {
                return false;
            }
        }
        // The time is parsed only when the second changes.
        if crate::activity::words(second) != key {
            counts.lines = run.lines - counted_to;
            counted_to = run.lines;
            key = next_second(activity, minute, &mut counts, second, raw);
        }
        if let Some(windows) = windows.as_deref_mut() {
            if windows.wants(level) {
                windows.note(raw, space, line_no + run.lines + 1, activity.time());
            }
        }
        counts.warn += u64::from(level == Level::Warn);
        counts.error += u64::from(level >= Level::Error);
        run.lines += 1;
        run.last_line = Some((run.end, run.end + raw.len()));
        run.end = newline + 1;
        true
    });
    counts.lines = run.lines - counted_to;
    activity.counted(counts);
    run
}

/// Checks a candidate line; a line without a time of its own takes that of
/// the event line before it (`before`, taken before this line became the
/// last event): a `"reason": "OOMKilled"` line of `kubectl get pod -o
/// json` takes its `"finishedAt"`.
fn check_line(
    line: &[u8],
    input_index: usize,
    matcher: &Matcher,
    st: &mut ScanState,
    block: &[u8],
    before: &EventBefore,
) -> Option<Hit> {
    let text = String::from_utf8_lossy(line);
    let unwrapped = record::wrappers::unwrap(line);
    let year = st.year_for(line, &unwrapped);
    let line_no = st.line_no;
    check_text(&text, line_no, year, input_index, matcher, st, |st| {
        if before.line == 0 {
            return None;
        }
        match before.in_block {
            Some((a, b)) => record::line_timestamp(&block[a..b], year),
            None if before.replaced => record::line_timestamp(&st.previous_event, year),
            None => record::line_timestamp(&st.last_event, year),
        }
    })
}

/// Ends the panic being folded, if any: its text is checked like a line.
fn finish_panic(
    input_index: usize,
    matcher: &Matcher,
    st: &mut ScanState,
    on_hit: &mut dyn FnMut(Hit),
) {
    let Some(pending) = st.panic.take() else {
        return;
    };
    let text = pending.fold.text();
    mine_panic(st, text, pending.line_no, pending.time);
    matcher.candidates(text.as_bytes(), &mut st.candidates);
    if st.candidates.is_empty() {
        return;
    }
    let year = st
        .year
        .unwrap_or_else(|| record::default_journal_year(None));
    let time = pending.time;
    if let Some(mut hit) = check_text(
        text,
        pending.line_no,
        year,
        input_index,
        matcher,
        st,
        |_| time,
    ) {
        hit.shape = Shape::RustPanic;
        on_hit(hit);
    }
}

/// The level of an event line read from its bytes, for the shapes where
/// that is cheap (`None`: parse it to know).
fn cheap_level(inner: &[u8], shape: Shape) -> Option<Level> {
    match shape {
        Shape::RisingwaveText => record::plain_risingwave_level(inner),
        Shape::RisingwavePretty => {
            let start = inner.iter().position(|b| *b != b' ')?;
            record::plain_risingwave_level(&inner[start..])
        }
        _ => None,
    }
}

/// Mines one event line into discovery's table when its level is mined (a
/// plain line below that level never gets here, nor one `plain_run`
/// counted by its fingerprint).
fn mine_event(
    st: &mut ScanState,
    line: &[u8],
    class: LineClass,
    unwrapped: &record::Unwrapped,
    has_ansi: bool,
) {
    let (Some(from), LineClass::Event(shape)) = (st.miner.as_ref().map(|m| m.from), class) else {
        return;
    };
    if shape == Shape::RustPanic {
        return; // mined whole when it ends (`finish_panic`)
    }
    if let Some(level) = cheap_level(&line[unwrapped.inner_start..], shape) {
        if level < from {
            if let Some(windows) = st.windows.as_mut() {
                // What `plain_run` does for a plain line; another shape
                // (or colours: the copy kept is the raw line) is counted.
                let plain =
                    (shape == Shape::RisingwaveText && unwrapped.wrappers == 0 && !has_ansi)
                        .then(|| record::plain_risingwave_level_at(line))
                        .flatten();
                if let Some((_, space)) = plain {
                    windows.note(line, space, st.line_no, st.activity.time());
                } else {
                    windows.mined.other_shape_lines += 1;
                }
            }
            return;
        }
    }
    // A plain line seen before in another form: counted by its fingerprint.
    // Only a line with a time of its own read (`fast_time`, else the text
    // shape's reader) has one: a malformed time can change how the line
    // parses, and the fingerprint holds only what comes after it.
    let line_no = st.line_no;
    let mut fingerprint = None;
    if let Some(miner) = st.miner.as_mut() {
        let space = (shape == Shape::RisingwaveText && unwrapped.wrappers == 0)
            .then(|| record::plain_risingwave_level_at(line))
            .flatten()
            .map(|(_, space)| space);
        if let Some(space) = space {
            let time = fast_time(&mut miner.minute, line)
                .or_else(|| record::text::leading_timestamp(line));
            if time.is_some() {
                let fp = crate::templates::fingerprint_with(&line[space..], &mut miner.scratch);
                fingerprint = Some(fp);
                let known = miner.known.trusted(fp).filter(|_| miner.fingerprints);
                if let Some(id) = known {
                    if miner.table.add_seen(id, time, line_no) {
                        return;
                    }
                }
            }
        }
    }
    let year = st.year_for(line, unwrapped);
    let text = String::from_utf8_lossy(line);
    let parsed = record::parse(&text, year);
    let wanted = match parsed.record.level {
        Some(level) => level >= from,
        None => from == Level::Trace,
    };
    if !wanted && parsed.record.level.is_some() {
        if let Some(windows) = st.windows.as_mut() {
            windows.mined.other_shape_lines += 1;
        }
    }
    if !wanted || (parsed.record.message.is_empty() && parsed.record.level.is_none()) {
        return;
    }
    let time = parsed.record.timestamp.or(st.last_time);
    let key = crate::templates::key_of(&parsed);
    if let Some(miner) = st.miner.as_mut() {
        let kind = key.kind;
        let id = key.id();
        miner
            .table
            .add(key, kind, time, &miner.source, line_no, &text);
        if let Some(fp) = fingerprint {
            if !miner.table.contains(id) {
                return; // past the cap: never trusted
            }
            miner.known.confirm(fp, id);
        }
    }
}

/// The time of a plain line written in UTC as tracing does
/// (`2024-02-11T06:20:29.301170Z`), from its minute (parsed once per
/// minute) and its seconds; `None` for any other form.
fn fast_time(minute: &mut Option<([u8; 16], Timestamp)>, line: &[u8]) -> Option<Timestamp> {
    let head: [u8; 16] = line.get(..16)?.try_into().ok()?;
    let rest = line.get(16..)?;
    // `:SS` then `.fraction` (up to 9 digits), then `Z `.
    if rest.first() != Some(&b':') || !rest.get(1..3)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seconds = u32::from(rest[1] - b'0') * 10 + u32::from(rest[2] - b'0');
    let mut nanos = 0u32;
    let mut at = 3;
    if rest.get(3) == Some(&b'.') {
        at = 4;
        let mut digits = 0;
        while let Some(d) = rest.get(at).filter(|d| d.is_ascii_digit()) {
            if digits == 9 {
                return None;
            }
            nanos = nanos * 10 + u32::from(d - b'0');
            digits += 1;
            at += 1;
        }
        if digits == 0 {
            return None;
        }
        nanos *= 10u32.pow(9 - digits);
    }
    if rest.get(at) != Some(&b'Z') || seconds > 59 {
        return None;
    }
    let base = match minute {
        Some((bytes, time)) if *bytes == head => *time,
        _ => {
            let mut text = head.to_vec();
            text.extend_from_slice(b":00Z");
            let time =
                chrono::DateTime::parse_from_rfc3339(std::str::from_utf8(&text).ok()?).ok()?;
            *minute = Some((head, time));
            time
        }
    };
    // One addition (seconds and nanoseconds together).
    base.checked_add_signed(chrono::TimeDelta::new(i64::from(seconds), nanos)?)
}

/// Mines a folded panic (its text whole, masked) as a FATAL template.
fn mine_panic(st: &mut ScanState, text: &str, line_no: u64, time: Option<Timestamp>) {
    let Some(miner) = st.miner.as_mut() else {
        return;
    };
    let key = crate::templates::Key {
        kind: "risingwave",
        level: Some(Level::Fatal),
        target: Some("panic".to_string()),
        text: crate::templates::mask(text),
    };
    let head = text.lines().next().unwrap_or(text);
    miner
        .table
        .add(key, "risingwave", time, &miner.source, line_no, head);
}

/// Parses `text` (a line, or a folded event) and checks the candidate
/// signals on it; `previous_time` gives the time of the event before, for
/// a record without a timestamp.
fn check_text(
    text: &str,
    line_no: u64,
    year: i32,
    input_index: usize,
    matcher: &Matcher,
    st: &mut ScanState,
    previous_time: impl FnOnce(&ScanState) -> Option<Timestamp>,
) -> Option<Hit> {
    let parsed = record::parse(text, year);
    let record = &parsed.record;
    let span = matcher.confirm(
        &st.candidates,
        &record.message,
        record.level,
        record.target.as_deref(),
        &mut st.matched,
        &mut st.facts,
    );
    if span.is_none() && st.facts.is_empty() {
        return None;
    }
    if record.timestamp.is_some() {
        st.last_time = record.timestamp;
        st.note_time(record.timestamp);
    } else {
        let previous = previous_time(st);
        st.last_time = previous.or(st.last_time);
    }
    let message = cut(&record.message, MAX_EVIDENCE_TEXT);
    let highlight = span
        .map(|s| (s.start, s.end))
        .filter(|(_, end)| *end <= message.len());
    Some(Hit {
        input: input_index,
        line: line_no,
        timestamp: record.timestamp,
        sort_time: record.timestamp.or(st.last_time),
        level: record.level,
        target: record.target.as_deref().map(str::to_string),
        origin: parsed.origin.map(str::to_string),
        shape: record.shape,
        text: cut(text, MAX_EVIDENCE_TEXT),
        message,
        highlight,
        signals: st.matched.clone(),
        facts: st.facts.clone(),
        before: None,
    })
}

/// Where the event line before the current one is: in the block, or kept
/// from an earlier block (`last_event`, or `previous_event` when the
/// current line, with ANSI escapes, has just replaced it).
struct EventBefore {
    in_block: Option<(usize, usize)>,
    line: u64,
    replaced: bool,
}

/// The event line before a start-up banner, as a hit without signals.
fn line_before(
    before: &EventBefore,
    block: &[u8],
    input_index: usize,
    st: &ScanState,
) -> Option<Box<Hit>> {
    if before.line == 0 {
        return None;
    }
    // Cut as `last_event` is, so that where blocks and parts end changes
    // nothing.
    let raw = match before.in_block {
        Some((a, b)) => &block[a..b.min(a + 512)],
        None if before.replaced => &st.previous_event[..],
        None => &st.last_event[..],
    };
    let mut clean = Vec::new();
    record::strip_ansi(raw, &mut clean);
    let text = String::from_utf8_lossy(&clean);
    let year = st
        .year
        .unwrap_or_else(|| record::default_journal_year(None));
    let parsed = record::parse(&text, year);
    let record = &parsed.record;
    Some(Box::new(Hit {
        input: input_index,
        line: before.line,
        timestamp: record.timestamp,
        sort_time: record.timestamp,
        level: record.level,
        target: record.target.as_deref().map(str::to_string),
        origin: parsed.origin.map(str::to_string),
        shape: record.shape,
        text: cut(&text, MAX_EVIDENCE_TEXT),
        message: cut(&record.message, MAX_EVIDENCE_TEXT),
        highlight: None,
        signals: Vec::new(),
        facts: Vec::new(),
        before: None,
    }))
}

/// Counts a line of the general path on the overview's histogram: an event
/// line at its own time (parsed only when its second changes) with its
/// level, any other line at the time before it.
fn note_activity(st: &mut ScanState, line: &[u8], class: LineClass, unwrapped: &record::Unwrapped) {
    let LineClass::Event(shape) = class else {
        st.activity.count(Tone::Other);
        return;
    };
    let tone = record::tone(&line[unwrapped.inner_start..], shape);
    match record::time_key(line, unwrapped) {
        Some(key) => {
            let year = st.year;
            st.activity.line(key, tone, || {
                let year = year.unwrap_or_else(|| record::default_journal_year(None));
                record::line_timestamp(line, year).map(|t| t.timestamp())
            });
        }
        None => st.activity.count(tone),
    }
}

fn count_wrappers(st: &mut ScanState, bits: u8) {
    for (index, (bit, _)) in wrappers::WRAPPER_NAMES.iter().enumerate() {
        if bits & bit != 0 {
            st.wrapper_counts[index] += 1;
        }
    }
}

fn note_origin(coverage: &mut Coverage, origin: &[u8]) {
    if coverage
        .origins
        .last()
        .is_some_and(|o| o.as_bytes() == origin)
    {
        return;
    }
    if coverage.origins.len() < MAX_ORIGINS
        && !coverage.origins.iter().any(|o| o.as_bytes() == origin)
    {
        coverage
            .origins
            .push(String::from_utf8_lossy(origin).into_owned());
    }
}

fn describe_read_error(error: &std::io::Error, gzip: bool, lines: u64) -> String {
    let detail = crate::text::describe_io_error(error);
    if gzip {
        format!("gzip stream ends early after {lines} lines ({detail})")
    } else {
        format!("read error after {lines} lines: {detail}")
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::templates::Depth;

    fn scan_bytes(
        matcher: &Matcher,
        data: &[u8],
        part: Part,
        fast: bool,
    ) -> (String, Vec<Hit>, Histogram, String) {
        let opened = OpenInput {
            rewritten: false,
            reader: Box::new(std::io::Cursor::new(data.to_vec())),
            gzip: false,
            notes: Vec::new(),
            size: None,
        };
        let mut hits = Vec::new();
        let coverage = scan_part_with(
            0,
            "mixed.log",
            opened,
            matcher,
            part,
            &mut |hit| hits.push(hit),
            fast,
        );
        (
            serde_json::to_string(&coverage).expect("coverage serialises"),
            hits,
            coverage.activity,
            table_dump(&coverage.templates) + &windows_dump(coverage.windows.as_ref()),
        )
    }

    /// Everything the windows found, in a canonical order.
    fn windows_dump(windows: Option<&crate::templates::WindowMined>) -> String {
        let Some(w) = windows else {
            return "no windows".to_string();
        };
        let mut coarse: Vec<_> = w.coarse.iter().collect();
        coarse.sort();
        let mut of: Vec<_> = w.coarse_of.iter().collect();
        of.sort();
        format!(
            "windows\n{}{:?}\n{:?}\n{:?}\n{:?} {} {} {}\n",
            table_dump(&w.table),
            w.entries,
            coarse,
            of,
            w.coarse_full_from,
            w.other_shape_lines,
            w.dropped_lines,
            w.entries_dropped
        )
    }

    /// Everything a template table holds, in a canonical order.
    fn table_dump(table: &crate::templates::Table) -> String {
        let mut all: Vec<_> = table.iter().collect();
        all.sort_by_key(|t| t.id);
        let mut out = format!(
            "lines {} overflow {} bins {} unbinned {}\n",
            table.lines, table.overflow_lines, table.bins, table.unbinned_lines
        );
        for t in all {
            out.push_str(&format!(
                "{:x} {:?} {} {:?} {:?} {:?} {:?} {:?}\n",
                t.id, t.key, t.count, t.first_seen, t.last_seen, t.example, t.lines, t.minutes
            ));
        }
        out
    }

    /// A panic's lines are one event: one hit at its header, with the
    /// message, the time of the line before, every line recognised; the
    /// banner after it is a hit of its own that brings the line before it.
    #[test]
    fn a_panic_is_one_event_and_a_banner_brings_the_line_before() {
        let log = b"2026-04-14T03:13:27.7Z  INFO risingwave_meta::barrier: before\n\
thread 'rw-main' (11) panicked at src/meta/src/barrier/info.rs:1293:30:\n\
should exist\n\
stack backtrace:\n\
   0: __rustc::rust_begin_unwind\n\
             at /rustc/x/library/std/src/panicking.rs:697:5\n\
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n\
Aborted (core dumped)\n\
2026-04-14T03:14:00.1Z  INFO risingwave_meta_node: Starting meta node\n";
        let matcher = Matcher::new(&RuleSet::load(&[]));
        for fast in [true, false] {
            let (coverage, hits, _, _) = scan_bytes(&matcher, log, Part::default(), fast);
            let coverage: serde_json::Value = serde_json::from_str(&coverage).unwrap();
            assert_eq!(coverage["recognised"], 8, "the abort line is no event");
            let panic = &hits[0];
            assert_eq!(panic.line, 2);
            assert_eq!(panic.shape, Shape::RustPanic);
            assert_eq!(
                panic.message,
                "thread 'rw-main' (11) panicked at src/meta/src/barrier/info.rs:1293:30:\nshould exist"
            );
            assert_eq!(
                panic.sort_time.map(|t| t.to_rfc3339()).as_deref(),
                Some("2026-04-14T03:13:27.700+00:00")
            );
            let banner = hits.last().unwrap();
            assert_eq!(banner.line, 9);
            let before = banner.before.as_deref().expect("the line before");
            assert_eq!((before.line, before.message.as_str()), (1, "before"));
        }
    }

    /// Plain lines mixed with every other kind the general path tells
    /// apart, in random order: the fast runs must count and match exactly
    /// what the general path does, at the head of an input or mid-input.
    #[test]
    fn fast_runs_change_nothing_on_mixed_logs() {
        let kinds: &[&[u8]] = &[
            b"2024-02-11T06:05:06.387433Z  INFO risingwave_meta::barrier: barrier collected epoch=1",
            b"2024-02-11T06:05:06.387433Z DEBUG risingwave_meta::manager::cluster: heartbeat",
            b"2024-02-11T06:05:06.387433123Z  WARN risingwave_meta::barrier: nanoseconds",
            b"2024-02-11T06:05:06Z ERROR risingwave_meta: seconds only",
            b"2024-02-11T06:05:06.387433Z  INFO risingwave_meta::barrier: with CR\r",
            b"2024-02-11T06:05:06.387433Z ERROR risingwave_meta::rpc::election::etcd: lease 7587003312299851199 keep alive timeout",
            b"2024-02-11T06:05:02.883Z ERROR risingwave_meta::rpc::election::etcd: lease keeper failed error=etcdserver: request timed out, waiting for the applied index took too long",
            b"  2024-02-11T05:58:02.121164Z  INFO risingwave_meta_node::server: Starting meta node",
            b"    at src/meta/src/server.rs:100",
            b"    on rw-main",
            b"",
            b"{\"timestamp\":\"2024-02-11T06:05:06.387433Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"json\"},\"target\":\"risingwave_meta\"}",
            b"[pod/rw-meta-0/meta] 2024-02-11T06:05:06.387433Z  INFO risingwave_meta::barrier: prefixed",
            b"Feb 11 05:58:02 node-3 risingwave[1234]: 2024-02-11T05:58:02.121164Z  INFO risingwave_meta_node::server: journald",
            b"\x1b[2m2024-02-11T05:58:02.121164Z\x1b[0m \x1b[32m INFO\x1b[0m risingwave_meta: ansi",
            b"thread 'main' panicked at src/main.rs:1:1",
            b"2024-02-11T06:05:06.387433Z  INFO",
            b"2024-02-11T06:05:06.387433Z  INFOx",
            b"short",
            // Lines whose numbers change (`#`: random digits), so that
            // fingerprints are confirmed and then counted alone.
            b"2024-02-11T06:05:06.387433Z  WARN risingwave_meta::barrier::progress: backfill progress job_id=# consumed_rows=# done_actors=#",
            b"2024-02-11T06:0#:0#.38743#Z  INFO risingwave_meta::manager::cluster: worker # heartbeat from rw-compute-#:5688",
            b"2024-02-11T06:0#:06.3Z ERROR risingwave_meta::rpc::election::etcd: lease # keep alive timeout",
            b"2024-02-11T07:0#:1#Z DEBUG risingwave_meta::hummock: compaction task # done in #ms",
            b"2024-02-11T06:05:06.387433+00:00  WARN risingwave_meta: offset time #",
            b"2024-02-11T06:05:0#.1Z  WARN risingwave_meta::barrier: failed: id #: error: status: Internal, message: \"#\"",
        ];
        let matcher = Matcher::new(&RuleSet::load(&[]));
        let mut next = crate::fuzzing::xorshift(0x853c_49e6_748f_ea9bu64);
        for round in 0..24 {
            let mut log = Vec::new();
            // Mostly plain lines, in runs, as in a real log.
            while log.len() < 40_000 {
                let kind = if next(4) == 0 {
                    kinds[next(kinds.len() as u64) as usize]
                } else if round % 2 == 1 && next(2) == 0 {
                    kinds[kinds.len() - 6 + next(6) as usize]
                } else {
                    kinds[next(2) as usize]
                };
                for &b in kind {
                    if b == b'#' {
                        for _ in 0..1 + next(3) {
                            log.push(b'0' + next(10) as u8);
                        }
                    } else {
                        log.push(b);
                    }
                }
                if round % 5 == 0 && next(300) == 0 {
                    log.extend(std::iter::repeat_n(b'x', crate::lines::MAX_LINE + 10));
                }
                log.push(b'\n');
            }
            if round % 3 == 0 {
                log.pop(); // no final newline
            }
            let depths = [Depth::WarnError, Depth::All, Depth::Off];
            for (mid_input, discover) in [false, true]
                .into_iter()
                .flat_map(|m| depths.into_iter().map(move |d| (m, d)))
            {
                let part = Part {
                    mid_input,
                    year: Some(2024),
                    discover,
                    windows: Some(60),
                };
                let fast = scan_bytes(&matcher, &log, part, true);
                let reference = scan_bytes(&matcher, &log, part, false);
                let case = format!("round {round} mid_input {mid_input} {discover:?}");
                assert_eq!(fast.0, reference.0, "{case}");
                assert_eq!(fast.1, reference.1, "{case}");
                assert_eq!(fast.2, reference.2, "{case}");
                assert_eq!(fast.3, reference.3, "{case}");
                if discover == Depth::All {
                    assert!(fast.3.lines().count() > 4, "templates mined: {case}");
                }
                let lines =
                    log.split(|b| *b == b'\n').count() as u64 - u64::from(log.ends_with(b"\n"));
                assert_eq!(fast.2.total().lines, lines, "every line on the histogram");
            }
        }
    }
}

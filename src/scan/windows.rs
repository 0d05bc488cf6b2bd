//! Discovery's windows at every level (issue 17): the last minutes before
//! each start-up banner and before the end of a part are mined at the
//! levels the scan does not mine (INFO, DEBUG, TRACE by default), and
//! compared with what the node wrote before, without mining every line.
//!
//! * Every plain line below the mined level leaves its coarse key
//!   (`templates::coarse_key`: level, target, first words) and the first
//!   second it was seen (`WindowMined::coarse`): a cheap "seen" set. A
//!   line whose probe (`templates::coarse_probe`: its head, digits as `0`)
//!   is known to belong to a key seen before the window is passed over
//!   without computing its key: nearly every line of a running node.
//! * A line whose coarse key was first seen less than `window` seconds
//!   before it (a line no later window can call old) is copied, with its
//!   number and second, into a bounded queue (`MAX_RING_BYTES`, the oldest
//!   dropped past it and counted); lines older than the window leave it.
//!   Nearly every line of a running node repeats an older key, so the copy
//!   is small. At a banner and at the part's end, its lines in the window
//!   are keyed in full (a confirmed fingerprint, else parsed).
//! * Discovery (`discovery::discover`) then keeps a template whose first
//!   line falls in the window before an anchor of its input and whose
//!   coarse key was first seen in that window. A part's tail is mined as if
//!   an anchor followed it, so a window cut by a range split is whole;
//!   lines mined that way outside every window are left out there.
use crate::model::{Level, Timestamp};
use crate::record;
use crate::templates::{self, IdHash, WindowMined};
use std::collections::{HashMap, VecDeque};

/// Bytes of recent lines kept per part.
pub const MAX_RING_BYTES: usize = 4 << 20;

/// Probes remembered per part (a bound on memory: past it, lines of new
/// probes are keyed in full).
const MAX_OLD_PROBES: usize = 65_536;
/// Slots of `Windows::recent`.
const RECENT_SLOTS: usize = 4096;

/// A copy of a recent line.
struct Kept {
    line: u64,
    second: i64,
    bytes: Box<[u8]>,
}

pub(super) struct Windows {
    window: i64,
    /// Lines below it are mined only here.
    from: Level,
    source: String,
    ring: VecDeque<Kept>,
    ring_bytes: usize,
    /// The last line number keyed (or passed over) by `mine`.
    mined_to: u64,
    known: templates::Fingerprints,
    /// A line's probe (`templates::coarse_probe`) → the first second of its
    /// coarse key when last looked up: lines of a key older than the window
    /// are passed over by their probe (nearly every line).
    old_probes: HashMap<u64, i64, IdHash>,
    /// Some of `old_probes`, a slot per probe's low bits (`probe`, first
    /// second): most lines are answered here, without a map's lookup.
    recent: Box<[(u64, i64); RECENT_SLOTS]>,
    scratch: Vec<u8>,
    pub mined: WindowMined,
}

impl Windows {
    pub fn new(source: &str, window: i64, from: Level) -> Self {
        Windows {
            window,
            from,
            source: source.to_string(),
            ring: VecDeque::new(),
            ring_bytes: 0,
            mined_to: 0,
            known: templates::Fingerprints::default(),
            old_probes: HashMap::default(),
            // A first second of `i64::MAX` is never before a window.
            recent: Box::new([(0, i64::MAX); RECENT_SLOTS]),
            scratch: Vec::new(),
            mined: WindowMined {
                table: templates::Table::new(false),
                ..WindowMined::default()
            },
        }
    }

    /// Whether a line at `level` is mined only here.
    #[inline]
    pub fn wants(&self, level: Level) -> bool {
        level < self.from
    }

    /// A plain RisingWave text line below the mined level (`line`, without
    /// its line ending; its timestamp ends at `space`,
    /// `record::plain_risingwave_level_at`), number `line_no`, at `second`.
    /// Its level is a word (no digit), as `templates::coarse_probe` needs.
    #[inline(always)]
    pub fn note(&mut self, line: &[u8], space: usize, line_no: u64, second: Option<i64>) {
        let Some(second) = second else {
            return;
        };
        let rest = &line[space..];
        let probe = templates::coarse_probe(rest);
        // The first second of a key only moves earlier: a key first seen
        // before the window then still is, and `WindowMined::note` would
        // neither keep the line nor change anything.
        let slot = self.recent[probe as usize % RECENT_SLOTS];
        if slot.0 == probe && slot.1 < second - self.window {
            return;
        }
        self.note_by_probe(line, rest, probe, line_no, second);
    }

    /// `note` past the recent probes' slots: the probes remembered, else
    /// the line's coarse key.
    #[inline(never)]
    fn note_by_probe(&mut self, line: &[u8], rest: &[u8], probe: u64, line_no: u64, second: i64) {
        if let Some(first) = self.old_probes.get(&probe) {
            if *first < second - self.window {
                self.recent[probe as usize % RECENT_SLOTS] = (probe, *first);
                return;
            }
        }
        self.note_by_key(line, rest, probe, line_no, second);
    }

    #[inline(never)]
    fn note_by_key(&mut self, line: &[u8], rest: &[u8], probe: u64, line_no: u64, second: i64) {
        let (coarse, by_head) = templates::coarse_key_by_head(rest);
        if self.mined.note(coarse, second, self.window) {
            self.keep(line, line_no, second);
        }
        if !by_head {
            return; // the probe does not tell this key
        }
        if let Some((first, _)) = self.mined.coarse.get(&coarse) {
            if self.old_probes.len() < MAX_OLD_PROBES || self.old_probes.contains_key(&probe) {
                self.old_probes.insert(probe, *first);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn keep(&mut self, line: &[u8], line_no: u64, second: i64) {
        while let Some(front) = self.ring.front() {
            let old = front.second < second - self.window;
            if !old && self.ring_bytes + line.len() <= MAX_RING_BYTES {
                break;
            }
            if !old {
                self.mined.dropped_lines += 1;
            }
            self.ring_bytes -= front.bytes.len();
            self.ring.pop_front();
        }
        self.ring_bytes += line.len();
        self.ring.push_back(Kept {
            line: line_no,
            second,
            bytes: line.into(),
        });
    }

    /// Keys the lines before line `before` (not yet keyed) that fall in
    /// the window before `at`: a start-up banner, or the part's end.
    pub fn mine(&mut self, before: u64, at: Timestamp, year: i32) {
        let start = at - chrono::Duration::seconds(self.window);
        let start_second = start.timestamp();
        let ring = std::mem::take(&mut self.ring);
        for kept in &ring {
            if kept.line >= before {
                break;
            }
            if kept.line <= self.mined_to {
                continue;
            }
            self.mined_to = kept.line;
            self.mine_line(&kept.bytes, kept.line, start, start_second, year);
        }
        self.ring = ring;
    }

    fn mine_line(
        &mut self,
        line: &[u8],
        number: u64,
        start: Timestamp,
        start_second: i64,
        year: i32,
    ) {
        if line.len() > crate::lines::MAX_LINE {
            return;
        }
        let Some((level, space)) = record::plain_risingwave_level_at(line) else {
            return;
        };
        if !self.wants(level) {
            return;
        }
        let Some(time) = record::text::leading_timestamp(line) else {
            return;
        };
        if time < start {
            return;
        }
        let rest = &line[space..];
        let coarse = templates::coarse_key(rest);
        // Seen in this part in a second wholly before the window: not new.
        if self
            .mined
            .coarse
            .get(&coarse)
            .is_some_and(|(first, _)| *first < start_second)
        {
            return;
        }
        let fp = templates::fingerprint_with(rest, &mut self.scratch);
        let id = match self.known.trusted(fp) {
            Some(id) if self.mined.table.add_seen(id, Some(time), number) => id,
            _ => {
                let text = String::from_utf8_lossy(line);
                let parsed = record::parse(&text, year);
                if parsed.record.level.is_none_or(|l| !self.wants(l)) {
                    return;
                }
                let key = templates::key_of(&parsed);
                let id = key.id();
                let kind = key.kind;
                let at = parsed.record.timestamp.or(Some(time));
                self.mined
                    .table
                    .add(key, kind, at, &self.source, number, &text);
                if self.mined.table.contains(id) {
                    self.known.confirm(fp, id);
                }
                id
            }
        };
        self.mined.coarse_of.entry(id).or_insert(coarse);
        if self.mined.entries.len() < templates::MAX_WINDOW_ENTRIES {
            self.mined.entries.push((id, time.timestamp_millis()));
        } else {
            self.mined.entries_dropped += 1;
        }
    }
}

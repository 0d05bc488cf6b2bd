//! Lines over time, per input: the overview's histogram (lines, WARN and
//! ERROR lines per time bin), so a silent gap or a storm shows at a glance.
//!
//! Bounded at any input size: at most `BINS` bins, each `2^k` seconds wide
//! and aligned to a multiple of its width; when a time falls outside them
//! the bins are widened (pairs merged) until it fits. Because bins are
//! aligned powers of two, two histograms of parts of one input merge
//! exactly. The scanner does not parse every line's time for it: `Feed`
//! keeps the time of the current second and parses a line's time only when
//! its `YYYY-MM-DDTHH:MM:SS` prefix differs from the last one's (once per
//! second of log on a busy input).
use serde::Serialize;

/// Bins per input at most.
pub const BINS: usize = 120;

/// Lines counted in a bin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub lines: u64,
    /// Lines at level WARN.
    pub warn: u64,
    /// Lines at level ERROR or above (FATAL, PANIC).
    pub error: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.lines += other.lines;
        self.warn += other.warn;
        self.error += other.error;
    }

    fn is_empty(&self) -> bool {
        self.lines == 0 && self.warn == 0 && self.error == 0
    }
}

/// A line's level as the histogram counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Other,
    Warn,
    Error,
}

/// Lines per time bin of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Seconds since the epoch (UTC) where bin 0 starts: a multiple of
    /// `width`.
    start: i64,
    /// Seconds per bin: a power of two.
    width: i64,
    /// From `start`, up to the last bin with a line (at most `BINS`).
    bins: Vec<Counts>,
    /// Lines of an input in which no line carried a time.
    pub untimed: Counts,
}

impl Histogram {
    /// Seconds since the epoch where the first bin starts (None: no timed
    /// line).
    pub fn start(&self) -> Option<i64> {
        (!self.bins.is_empty()).then_some(self.start)
    }

    pub fn bin_seconds(&self) -> i64 {
        self.width.max(1)
    }

    pub fn bins(&self) -> &[Counts] {
        &self.bins
    }

    /// Lines counted, timed or not.
    pub fn total(&self) -> Counts {
        let mut total = self.untimed;
        for bin in &self.bins {
            total.add(*bin);
        }
        total
    }

    /// Counts `counts` at `time` (seconds since the epoch).
    pub fn add(&mut self, time: i64, counts: Counts) {
        if counts.is_empty() {
            return;
        }
        self.fit(time, time, 1);
        let index = ((time - self.start) / self.width) as usize;
        if index >= self.bins.len() {
            self.bins.resize(index + 1, Counts::default());
        }
        self.bins[index].add(counts);
    }

    /// Adds another part of the same input (exact: its bins are aligned
    /// powers of two, like these).
    pub fn merge(&mut self, other: &Histogram) {
        self.untimed.add(other.untimed);
        let Some(start) = other.start() else {
            return;
        };
        let last = start + other.bins.len() as i64 * other.width - 1;
        self.fit(start, last, other.width);
        for (index, bin) in other.bins.iter().enumerate() {
            self.add(start + index as i64 * other.width, *bin);
        }
    }

    /// Widens and moves the bins so that `[low, high]` falls in them and a
    /// bin is at least `min_width` seconds.
    fn fit(&mut self, low: i64, high: i64, min_width: i64) {
        if self.bins.is_empty() {
            self.width = min_width.max(1);
            self.start = low.div_euclid(self.width) * self.width;
            // A span wider than BINS seconds from the start widens here.
            self.bins.clear();
        }
        let (data_low, data_high) = if self.bins.is_empty() {
            (low, high)
        } else {
            (
                low.min(self.start),
                high.max(self.start + self.bins.len() as i64 * self.width - 1),
            )
        };
        let mut width = self.width.max(min_width);
        let start = loop {
            let start = data_low.div_euclid(width) * width;
            if (data_high - start) / width < BINS as i64 {
                break start;
            }
            width *= 2;
        };
        if start == self.start && width == self.width {
            return;
        }
        let mut bins = Vec::with_capacity(self.bins.len().min(BINS));
        for (index, bin) in self.bins.iter().enumerate() {
            if bin.is_empty() {
                continue;
            }
            let at = ((self.start + index as i64 * self.width - start) / width) as usize;
            if at >= bins.len() {
                bins.resize(at + 1, Counts::default());
            }
            bins[at].add(*bin);
        }
        self.start = start;
        self.width = width;
        self.bins = bins;
    }
}

/// The scanner's side: counts lines at the time of the current second and
/// hands them to the histogram when the second changes.
#[derive(Debug, Default)]
pub struct Feed {
    /// The time text of the last timed line, up to the second.
    key: [u8; KEY],
    key_len: usize,
    /// Its time, seconds since the epoch.
    time: Option<i64>,
    pending: Counts,
    histogram: Histogram,
}

/// Bytes of a time text compared: `YYYY-MM-DDTHH:MM:SS`.
pub const KEY: usize = 19;

/// A `YYYY-MM-DDTHH:MM:SS` time text as two words: bytes 3..11 and
/// 11..19 (all but the year's first three digits), compared instead of the
/// bytes on the fast path.
pub type KeyWords = (u64, u64);

/// `key` as `KeyWords`.
#[inline]
pub fn words(key: &[u8; KEY]) -> KeyWords {
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&key[at..at + 8]);
        u64::from_ne_bytes(bytes)
    };
    (word(3), word(11))
}

impl Feed {
    /// One line, whose time text (up to the second) is `key`; `parse`
    /// gives its time, called only when `key` differs from the last one.
    #[inline]
    pub fn line(&mut self, key: &[u8], tone: Tone, parse: impl FnOnce() -> Option<i64>) {
        if !self.same_key(key) {
            self.retime(key, parse());
        }
        self.count(tone);
    }

    /// One line with no time of its own: counted at the time before it.
    #[inline]
    pub fn count(&mut self, tone: Tone) {
        self.pending.lines += 1;
        self.pending.warn += u64::from(tone == Tone::Warn);
        self.pending.error += u64::from(tone == Tone::Error);
    }

    /// `n` lines without a WARN or ERROR level, at the current time.
    #[inline]
    pub fn count_many(&mut self, n: u64) {
        self.pending.lines += n;
    }

    /// `key` is the last time text.
    #[inline]
    fn same_key(&self, key: &[u8]) -> bool {
        key == &self.key[..self.key_len]
    }

    /// The time of the last timed line (seconds since the epoch).
    #[inline]
    pub fn time(&self) -> Option<i64> {
        self.time
    }

    /// The last time text as two words (`words`), when it is a full
    /// `YYYY-MM-DDTHH:MM:SS`: what the fast path compares each line with.
    pub fn key_words(&self) -> Option<KeyWords> {
        (self.key_len == KEY).then_some(words(&self.key))
    }

    /// Lines counted by the fast path since the last time, then a new time
    /// text `key` (`time` its time).
    pub fn counted_then(&mut self, counts: Counts, key: &[u8], time: Option<i64>) {
        self.pending.add(counts);
        self.retime(key, time);
    }

    /// Lines counted by the fast path at the current time.
    pub fn counted(&mut self, counts: Counts) {
        self.pending.add(counts);
    }

    #[cold]
    fn retime(&mut self, key: &[u8], time: Option<i64>) {
        let len = key.len().min(KEY);
        self.key[..len].copy_from_slice(&key[..len]);
        self.key_len = len;
        let Some(time) = time else {
            return; // keeps the time before it
        };
        if self.time != Some(time) {
            // Lines before the first timed line take its time.
            let at = self.time.unwrap_or(time);
            self.histogram.add(at, std::mem::take(&mut self.pending));
            self.time = Some(time);
        }
    }

    pub fn finish(mut self) -> Histogram {
        match self.time {
            Some(time) => self.histogram.add(time, self.pending),
            None => self.histogram.untimed.add(self.pending),
        }
        self.histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: u64) -> Counts {
        Counts {
            lines: n,
            ..Counts::default()
        }
    }

    #[test]
    fn bins_widen_to_stay_bounded_and_keep_every_line() {
        let mut h = Histogram::default();
        for t in 0..100_000i64 {
            h.add(1_700_000_000 + t * 7, lines(1));
        }
        assert!(h.bins().len() <= BINS);
        assert_eq!(h.total().lines, 100_000);
        assert!(h.bin_seconds().count_ones() == 1);
        assert_eq!(h.start().unwrap() % h.bin_seconds(), 0);
        // A clock that steps back widens to the left.
        h.add(1_600_000_000, lines(1));
        assert!(h.bins().len() <= BINS);
        assert_eq!(h.total().lines, 100_001);
        assert_eq!(h.bins()[0].lines, 1);
    }

    #[test]
    fn a_silent_gap_leaves_empty_bins() {
        let mut h = Histogram::default();
        for t in 0..600 {
            h.add(1_000 + t, lines(5));
        }
        for t in 3_000..3_600 {
            h.add(1_000 + t, lines(5));
        }
        let empty = h.bins().iter().filter(|b| b.lines == 0).count();
        assert!(empty * 3 > h.bins().len(), "{:?}", h.bins());
    }

    #[test]
    fn parts_merge_exactly() {
        let times: Vec<i64> = (0..5_000).map(|i| 50_000 + i * i % 9_000).collect();
        let mut whole = Histogram::default();
        for t in &times {
            whole.add(*t, lines(1));
        }
        let (a, b) = times.split_at(1_234);
        let mut first = Histogram::default();
        let mut second = Histogram::default();
        a.iter().for_each(|t| first.add(*t, lines(1)));
        b.iter().for_each(|t| second.add(*t, lines(1)));
        first.merge(&second);
        assert_eq!(first.total(), whole.total());
        assert_eq!(
            (first.start(), first.bin_seconds()),
            (whole.start(), whole.bin_seconds())
        );
        assert_eq!(first.bins(), whole.bins());
    }

    #[test]
    fn the_feed_counts_lines_at_their_second() {
        let mut feed = Feed::default();
        feed.count(Tone::Other); // before any time: takes the first one
        feed.line(b"2024-01-01T00:00:00", Tone::Warn, || Some(100));
        feed.line(b"2024-01-01T00:00:00", Tone::Error, || unreachable!());
        feed.line(b"2024-01-01T00:00:05", Tone::Other, || Some(105));
        let h = feed.finish();
        assert_eq!(h.start(), Some(100));
        assert_eq!(
            h.bins()[0],
            Counts {
                lines: 3,
                warn: 1,
                error: 1
            }
        );
        assert_eq!(h.bins()[5].lines, 1);
        let mut untimed = Feed::default();
        untimed.count(Tone::Other);
        assert_eq!(untimed.finish().untimed.lines, 1);
    }
}

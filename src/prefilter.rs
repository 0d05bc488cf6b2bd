//! The scan prefilter: finds the next byte where one of the matcher's
//! anchors (literals every signal match contains) starts, so that only
//! candidate lines are parsed and regex-checked.
//!
//! The search is Aho-Corasick's SIMD "Teddy" searcher. Teddy sorts its
//! patterns into 8 buckets and fingerprints each bucket by the nibbles of
//! its patterns' first bytes; a window of text whose bytes fit a bucket's
//! fingerprint is verified against every pattern of that bucket. Which
//! patterns share a bucket therefore decides the speed: `lease timeout` and
//! `slow fdatasync` together accept `leow`, `sase`, ... and the bucket fires
//! on ordinary words. On a generated 1 GiB meta log the same anchors ran at
//! 4.4 GB/s in Teddy's default grouping and at 8 to 9 GB/s grouped by how
//! often each bucket fires on the input itself.
//!
//! So the searcher is built on first use, from a sample of the first block
//! it is asked to search: a greedy grouping keeps each bucket's fingerprint
//! hits on the sample low. Teddy assigns pattern `i` to bucket `7 - i % 8`
//! (patterns sharing their first bytes' low nibbles share the first one's
//! bucket), so the grouping is expressed by the order patterns are added
//! in. That order is an implementation detail of aho-corasick 1.1: if it
//! changed, the grouping would be lost, but never a match, since every
//! anchor is searched for whatever its bucket.
use crate::literals::drop_containing;
use aho_corasick::packed;
use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, MatchKind, StartKind,
};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Teddy's bucket count in its "slim" form (32 bytes per step with AVX2,
/// twice the "fat" form's 16 buckets).
const BUCKETS: usize = 8;
/// Patterns per bucket at most: 64 anchors in all, and with the fillers
/// for short buckets within the 128 patterns aho-corasick's packed
/// builder takes (past that it falls back to the automaton).
const BUCKET_CAP: usize = 8;
/// Bytes of the first block sampled for the grouping: spread over the
/// block in four pieces (a log's first lines are its start-up, unlike the
/// rest). About 0.5 ms of grouping work.
const SAMPLE_BYTES: usize = 16 * 1024;
const SAMPLE_PIECES: usize = 4;

pub struct Prefilter {
    anchors: Vec<Vec<u8>>,
    /// Grouped on a sample of the first haystack of `SAMPLE_BYTES` or more.
    tuned: OnceLock<Searcher>,
    /// For smaller haystacks (a small file, a pipe's first reads): their
    /// search is short, and grouping would cost more than it saves.
    untuned: OnceLock<Searcher>,
}

enum Searcher {
    /// Teddy with the patterns in bucket order (fillers included).
    Teddy(packed::Searcher),
    /// More anchors than Teddy takes: Teddy over short windows the anchors
    /// share, each hit verified.
    Windows(Windows),
    /// No SIMD Teddy on this CPU, or too many anchors for it.
    Automaton(AhoCorasick),
    /// No anchors at all: no candidates.
    Nothing,
    /// Anchors no automaton could hold: every position is a candidate.
    Everywhere,
}

impl Prefilter {
    /// After a search of a big enough haystack: whether it runs on SIMD
    /// Teddy (over the anchors, or over windows they share), not an
    /// automaton. For the tests that keep the built-in pack fast.
    #[cfg(test)]
    pub(crate) fn searches_with_teddy(&self) -> bool {
        matches!(
            self.tuned.get(),
            Some(Searcher::Teddy(_) | Searcher::Windows(_))
        )
    }

    pub fn new(anchors: Vec<Vec<u8>>) -> Prefilter {
        Prefilter {
            anchors: drop_containing(anchors),
            tuned: OnceLock::new(),
            untuned: OnceLock::new(),
        }
    }

    /// A prefilter for anchors already reduced (`literals::search_anchors`:
    /// none contains another).
    pub fn with_anchors(anchors: Vec<Vec<u8>>) -> Prefilter {
        Prefilter {
            anchors,
            tuned: OnceLock::new(),
            untuned: OnceLock::new(),
        }
    }

    /// The anchors searched for (an anchor containing another is dropped:
    /// every line holding it holds the other).
    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }

    /// Offset of the first anchor starting at or after `from`. The first
    /// call with a large enough `haystack` builds the searcher from a
    /// sample of it.
    pub fn find(&self, haystack: &[u8], from: usize) -> Option<usize> {
        if from >= haystack.len() {
            return None;
        }
        let searcher = if haystack.len() >= SAMPLE_BYTES {
            self.tuned
                .get_or_init(|| Searcher::build(&self.anchors, Some(haystack)))
        } else {
            self.untuned
                .get_or_init(|| Searcher::build(&self.anchors, None))
        };
        let span = from..haystack.len();
        match searcher {
            Searcher::Teddy(teddy) => teddy.find_in(haystack, span.into()).map(|m| m.start()),
            Searcher::Windows(windows) => windows.find(haystack, from),
            Searcher::Automaton(automaton) => automaton
                .find(aho_corasick::Input::new(haystack).span(span))
                .map(|m| m.start()),
            Searcher::Nothing => None,
            Searcher::Everywhere => Some(from),
        }
    }
}

impl Searcher {
    /// Groups the anchors on a sample of `haystack`, if given.
    fn build(anchors: &[Vec<u8>], haystack: Option<&[u8]>) -> Searcher {
        if anchors.is_empty() {
            return Searcher::Nothing;
        }
        if anchors.len() <= BUCKETS * BUCKET_CAP {
            let ordered = match haystack {
                Some(haystack) => bucket_order(anchors, &sample_of(haystack)),
                None => anchors.to_vec(),
            };
            let mut builder = packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostFirst)
                .only_teddy(true)
                .only_teddy_fat(Some(false))
                .heuristic_pattern_limits(false)
                .builder();
            builder.extend(&ordered);
            if let Some(teddy) = builder.build() {
                return Searcher::Teddy(teddy);
            }
        } else if let Some(haystack) = haystack {
            // Only for a large haystack: choosing windows costs a few ms
            // with hundreds of anchors, more than a small input's search.
            if let Some(windows) = Windows::build(anchors, Some(sample_of(haystack))) {
                return Searcher::Windows(windows);
            }
        }
        // A contiguous NFA builds far faster than a DFA (start-up time);
        // aho-corasick puts its own prefilter in front when it can.
        match AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(anchors)
        {
            Ok(automaton) => Searcher::Automaton(automaton),
            // Only past aho-corasick's size limits, far beyond any rule
            // set: every position is then a candidate (slow, not wrong).
            Err(_) => Searcher::Everywhere,
        }
    }
}

/// Windows Teddy searches for when the anchors outnumber its 64 patterns.
const WINDOWS_MAX: usize = BUCKETS * BUCKET_CAP;
const _: () = assert!(WINDOWS_MAX == crate::literals::SEARCH_ANCHORS_MAX);
/// The windows' Teddy is the "fat" one: 16 buckets (16 bytes per step
/// with AVX2), so 4 windows a bucket. With 64 windows of common words'
/// bytes, slim Teddy's 8 buckets of 8 fired on so many positions that the
/// fat form ran faster (300-literal pack, 256 MiB: 0.37 against 0.48 s).
const FAT_BUCKETS: usize = 16;

/// Past 64 anchors (a grown rule pack: hundreds of literals), Teddy
/// searches for at most 64 short windows instead: each anchor is assigned
/// one `width`-byte substring of it (four bytes, or the shortest anchor's
/// length), chosen so that many anchors share one, and a window Teddy finds
/// is verified by looking for an anchor at each offset the window has in the
/// anchors assigned to it (one anchored automaton of all the anchors). The
/// windows are a greedy weighted set cover: each round takes the substring
/// covering the most anchors not yet covered per estimated hit, hits counted
/// on the sample of the input (plus an estimate from its byte frequencies,
/// for substrings a 16 KiB sample does not hold); a window's hits cost more
/// the more offsets it verifies. A window is then extended to the right as
/// far as all its anchors agree, so Teddy's own check of it is stricter.
///
/// Windows are distinct in their first `width` bytes, so at most one matches
/// at any position: visiting every window occurrence from `from` on visits
/// every anchor occurrence.
struct Windows {
    teddy: packed::Searcher,
    /// Teddy pattern id (fillers included) → window.
    window_of: Vec<u32>,
    /// Per window: the offsets it has in its anchors, ascending.
    offsets: Vec<Vec<u32>>,
    /// The largest of all offsets.
    max_offset: usize,
    /// All the anchors, searched anchored at a window's offsets.
    verify: AhoCorasick,
}

impl Windows {
    /// `None` when the anchors need more than 64 windows (or Teddy cannot
    /// run on this CPU).
    fn build(anchors: &[Vec<u8>], sample: Option<Vec<u8>>) -> Option<Windows> {
        let sample = sample.unwrap_or_default();
        let cover = window_cover(anchors, &sample)?;
        let windows: Vec<Vec<u8>> = cover.iter().map(|(w, _)| w.clone()).collect();
        let ordered = if sample.is_empty() {
            windows.clone()
        } else {
            bucket_order_in(&windows, &sample, FAT_BUCKETS, WINDOWS_MAX / FAT_BUCKETS)
        };
        let index: HashMap<&[u8], u32> = windows
            .iter()
            .enumerate()
            .map(|(i, w)| (&w[..], i as u32))
            .collect();
        let window_of = ordered.iter().map(|w| index[&w[..]]).collect();
        let mut builder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .only_teddy(true)
            .only_teddy_fat(Some(true))
            .heuristic_pattern_limits(false)
            .builder();
        builder.extend(&ordered);
        let teddy = builder.build()?;
        let verify = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .start_kind(StartKind::Anchored)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(anchors)
            .ok()?;
        let offsets: Vec<Vec<u32>> = cover.into_iter().map(|(_, o)| o).collect();
        let max_offset = offsets.iter().flatten().max().copied().unwrap_or(0) as usize;
        Some(Windows {
            teddy,
            window_of,
            offsets,
            max_offset,
            verify,
        })
    }

    /// Offset of the first anchor starting at or after `from`.
    fn find(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut at = from;
        while at < haystack.len() {
            let Some(found) = self.teddy.find_in(haystack, (at..haystack.len()).into()) else {
                break;
            };
            let p = found.start();
            // An anchor starting before `best` has its window before
            // `best + max_offset`.
            if best.is_some_and(|b| p >= b + self.max_offset) {
                break;
            }
            let window = self.window_of[found.pattern().as_usize()] as usize;
            for &offset in &self.offsets[window] {
                let offset = offset as usize;
                if offset > p || p - offset < from {
                    break;
                }
                let start = p - offset;
                if best.is_some_and(|b| start >= b) {
                    continue;
                }
                let input = aho_corasick::Input::new(haystack)
                    .span(start..haystack.len())
                    .anchored(Anchored::Yes);
                if self.verify.find(input).is_some() {
                    best = Some(start);
                }
            }
            at = p + 1;
        }
        best
    }
}

/// A window key: its bytes, big-endian in a `u32`.
fn gram(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |key, &b| key << 8 | u32::from(b))
}

/// The windows of `window_cover`, each with its offsets (ascending), or
/// `None` past 64 windows.
#[allow(clippy::type_complexity)]
fn window_cover(anchors: &[Vec<u8>], sample: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u32>)>> {
    let shortest = anchors.iter().map(Vec::len).min()?.clamp(1, 4);
    // Four-byte windows fire least, three share more: the cover with the
    // fewer estimated hits (a three-byte fingerprint's count 1.5 times:
    // Teddy's nibble masks accept more), four bytes on a tie.
    (1..=shortest)
        .rev()
        .take(2)
        .filter_map(|width| {
            let (cover, cost) = window_cover_of(anchors, sample, width)?;
            let weight = if width < shortest { 1.5 } else { 1.0 };
            Some((cover, cost * weight))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(cover, _)| cover)
}

#[allow(clippy::type_complexity)]
fn window_cover_of(
    anchors: &[Vec<u8>],
    sample: &[u8],
    width: usize,
) -> Option<(Vec<(Vec<u8>, Vec<u32>)>, f64)> {
    // Candidate windows: every `width`-byte substring, with the anchors
    // holding it (the first offset in each).
    let mut by_gram: HashMap<u32, usize> = HashMap::new();
    let mut members: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut grams: Vec<u32> = Vec::new();
    for (a, anchor) in anchors.iter().enumerate() {
        for (offset, bytes) in anchor.windows(width).enumerate() {
            let key = gram(bytes);
            let c = *by_gram.entry(key).or_insert_with(|| {
                members.push(Vec::new());
                grams.push(key);
                members.len() - 1
            });
            if members[c].last().map(|&(last, _)| last) != Some(a as u32) {
                members[c].push((a as u32, offset as u32));
            }
        }
    }
    // Estimated hits per sample: counted, plus what the bytes' frequencies
    // predict.
    let mut counts = vec![0f64; grams.len()];
    let mut byte_freq = [0f64; 256];
    if sample.len() >= width {
        for bytes in sample.windows(width) {
            if let Some(&c) = by_gram.get(&gram(bytes)) {
                counts[c] += 1.0;
            }
        }
        for &b in sample {
            byte_freq[usize::from(b)] += 1.0;
        }
        for f in &mut byte_freq {
            *f = (*f + 0.5) / (sample.len() as f64 + 128.0);
        }
    } else {
        // No sample (not reached: windows are chosen only on one): every
        // byte alike.
        byte_freq = [1.0 / 64.0; 256];
    }
    let positions = (SAMPLE_BYTES as f64).max(sample.len() as f64);
    let estimates: Vec<f64> = grams
        .iter()
        .zip(&counts)
        .map(|(&key, &count)| {
            let predicted: f64 = (0..width)
                .map(|j| byte_freq[((key >> (8 * j)) & 0xff) as usize])
                .product();
            count + predicted * positions
        })
        .collect();
    for list in &mut members {
        list.sort_by_key(|&(_, offset)| offset);
    }
    // A fixed cost per window (it widens Teddy's fingerprints), the least
    // of these with which the cover fits in 64 windows.
    [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 512.0, 1e12]
        .into_iter()
        .find_map(|base| greedy_cover(anchors, &members, &estimates, base, width))
}

#[allow(clippy::type_complexity)]
fn greedy_cover(
    anchors: &[Vec<u8>],
    members: &[Vec<(u32, u32)>],
    estimates: &[f64],
    base: f64,
    width: usize,
) -> Option<(Vec<(Vec<u8>, Vec<u32>)>, f64)> {
    let mut covered = vec![false; anchors.len()];
    let mut left = anchors.len();
    let mut cover = Vec::new();
    let mut cost = 0.0;
    while left > 0 {
        if cover.len() == WINDOWS_MAX {
            return None;
        }
        let mut best: Option<(f64, usize)> = None;
        for (c, list) in members.iter().enumerate() {
            let (mut new, mut offsets, mut last) = (0usize, 0usize, None);
            for &(a, offset) in list {
                if !covered[a as usize] {
                    new += 1;
                    if last != Some(offset) {
                        offsets += 1;
                        last = Some(offset);
                    }
                }
            }
            if new == 0 {
                continue;
            }
            let score = new as f64 / (base + estimates[c] * (1.0 + 0.5 * offsets as f64));
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, c));
            }
        }
        let (_, c) = best?;
        let assigned: Vec<(u32, u32)> = members[c]
            .iter()
            .copied()
            .filter(|&(a, _)| !covered[a as usize])
            .collect();
        // Extend to the right while every assigned anchor agrees.
        let (a0, o0) = assigned[0];
        let first = &anchors[a0 as usize][o0 as usize..];
        let mut len = first.len();
        for &(a, offset) in &assigned[1..] {
            let tail = &anchors[a as usize][offset as usize..];
            len = len.min(first.iter().zip(tail).take_while(|(x, y)| x == y).count());
        }
        let window = first[..len.max(width)].to_vec();
        let mut offsets: Vec<u32> = Vec::new();
        for &(a, offset) in &assigned {
            covered[a as usize] = true;
            left -= 1;
            if offsets.last() != Some(&offset) {
                offsets.push(offset);
            }
        }
        cost += 1.0 + estimates[c] * (1.0 + 0.5 * offsets.len() as f64);
        cover.push((window, offsets));
    }
    Some((cover, cost))
}

fn sample_of(haystack: &[u8]) -> Vec<u8> {
    if haystack.len() <= SAMPLE_BYTES {
        return haystack.to_vec();
    }
    let piece = SAMPLE_BYTES / SAMPLE_PIECES;
    let stride = (haystack.len() - piece) / (SAMPLE_PIECES - 1);
    (0..SAMPLE_PIECES)
        .flat_map(|k| &haystack[k * stride..k * stride + piece])
        .copied()
        .collect()
}

/// Where each (position, nibble) occurs in a sample: `high[j][v]` has bit
/// `p` set when the byte at `p + j` has high nibble `v` (`low` likewise),
/// so a bucket's fingerprint hits are a few ORs and ANDs of bit sets.
struct NibbleIndex {
    words: usize,
    high: Vec<Vec<u64>>,
    low: Vec<Vec<u64>>,
    /// Fingerprint length: Teddy uses the first `min(4, shortest)` bytes.
    width: usize,
}

impl NibbleIndex {
    fn new(sample: &[u8], width: usize) -> NibbleIndex {
        let positions = sample.len().saturating_sub(width - 1);
        let words = positions.div_ceil(64);
        let mut high = vec![vec![0u64; words]; width * 16];
        let mut low = vec![vec![0u64; words]; width * 16];
        for p in 0..positions {
            let bit = 1u64 << (p % 64);
            for j in 0..width {
                let byte = sample[p + j];
                high[j * 16 + usize::from(byte >> 4)][p / 64] |= bit;
                low[j * 16 + usize::from(byte & 15)][p / 64] |= bit;
            }
        }
        NibbleIndex {
            words,
            high,
            low,
            width,
        }
    }

    /// Sample positions where a bucket holding `patterns` would fire.
    fn hits(&self, patterns: &[&[u8]], scratch: &mut Scratch) -> u64 {
        if patterns.is_empty() || self.words == 0 {
            return 0;
        }
        scratch.fires.clear();
        scratch.fires.resize(self.words, u64::MAX);
        for j in 0..self.width {
            let (mut highs, mut lows) = (0u16, 0u16);
            for pattern in patterns {
                highs |= 1 << (pattern[j] >> 4);
                lows |= 1 << (pattern[j] & 15);
            }
            for (set, nibbles, index) in [
                (&mut scratch.high, highs, &self.high),
                (&mut scratch.low, lows, &self.low),
            ] {
                set.clear();
                set.resize(self.words, 0);
                for v in (0..16).filter(|v| nibbles & (1 << v) != 0) {
                    for (word, bits) in set.iter_mut().zip(&index[j * 16 + v]) {
                        *word |= bits;
                    }
                }
            }
            for ((fire, high), low) in scratch
                .fires
                .iter_mut()
                .zip(&scratch.high)
                .zip(&scratch.low)
            {
                *fire &= high & low;
            }
        }
        scratch
            .fires
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum()
    }
}

#[derive(Default)]
struct Scratch {
    fires: Vec<u64>,
    high: Vec<u64>,
    low: Vec<u64>,
}

/// The anchors in the order that puts them into low-firing buckets, with
/// fillers (copies of the first pattern, which join its bucket) where a
/// bucket has fewer patterns than the fullest.
fn bucket_order(anchors: &[Vec<u8>], sample: &[u8]) -> Vec<Vec<u8>> {
    bucket_order_in(anchors, sample, BUCKETS, BUCKET_CAP)
}

/// `bucket_order` for a Teddy of `bucket_count` buckets (8 slim, 16 fat)
/// of `cap` patterns each.
fn bucket_order_in(
    anchors: &[Vec<u8>],
    sample: &[u8],
    bucket_count: usize,
    cap: usize,
) -> Vec<Vec<u8>> {
    if anchors.is_empty() {
        return Vec::new();
    }
    let width = anchors.iter().map(Vec::len).min().unwrap_or(1).clamp(1, 4);
    let index = NibbleIndex::new(sample, width);
    let mut scratch = Scratch::default();
    // Anchors sharing their fingerprint's low nibbles land in one bucket
    // whatever the order (Teddy puts a pattern whose key it has seen into
    // that key's bucket): they are placed as one unit.
    let key = |anchor: &[u8]| -> Vec<u8> { anchor[..width].iter().map(|b| b & 15).collect() };
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, anchor) in anchors.iter().enumerate() {
        match units
            .iter_mut()
            .find(|u| key(&anchors[u[0]]) == key(anchor))
        {
            Some(unit) => unit.push(i),
            None => units.push(vec![i]),
        }
    }
    // Fingerprint hits on the sample, weighted by the patterns a fired
    // bucket verifies.
    let mut cost = |bucket: &[usize]| -> f64 {
        let patterns: Vec<&[u8]> = bucket
            .iter()
            .flat_map(|&u| &units[u])
            .map(|&i| &anchors[i][..])
            .collect();
        index.hits(&patterns, &mut scratch) as f64 * (1.0 + 0.25 * patterns.len() as f64)
    };
    // The most often firing first, each where it adds the least.
    let mut by_cost: Vec<(f64, usize)> = (0..units.len()).map(|u| (cost(&[u]), u)).collect();
    by_cost.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); bucket_count];
    let mut bucket_costs = vec![0.0f64; bucket_count];
    for &(_, u) in &by_cost {
        let mut best: Option<(f64, usize, f64)> = None;
        let bucket_size =
            |bucket: &[usize]| -> usize { bucket.iter().map(|&v| units[v].len()).sum() };
        for b in 0..bucket_count {
            let size = bucket_size(&buckets[b]);
            if size > 0 && size + units[u].len() > cap {
                continue;
            }
            let mut members = buckets[b].clone();
            members.push(u);
            let total = cost(&members);
            let added = total - bucket_costs[b];
            // Ties (anchors the sample never fires on) spread out: fewer
            // fillers, and no bucket verifies many patterns.
            let better = best.is_none_or(|(least, other, _)| {
                added < least || (added == least && size < bucket_size(&buckets[other]))
            });
            if better {
                best = Some((added, b, total));
            }
        }
        // Every bucket full: the one firing least takes it.
        let (b, total) = match best {
            Some((_, b, total)) => (b, total),
            None => {
                let b = (0..bucket_count)
                    .min_by(|&x, &y| bucket_costs[x].total_cmp(&bucket_costs[y]))
                    .unwrap_or(0);
                let mut members = buckets[b].clone();
                members.push(u);
                (b, cost(&members))
            }
        };
        buckets[b].push(u);
        bucket_costs[b] = total;
    }
    // Fillers join the bucket of the first pattern added: make that the
    // bucket that fires least.
    let mut order: Vec<usize> = (0..bucket_count)
        .filter(|&b| !buckets[b].is_empty())
        .collect();
    order.sort_by(|&x, &y| bucket_costs[x].total_cmp(&bucket_costs[y]).then(x.cmp(&y)));
    let buckets: Vec<&Vec<usize>> = order.iter().map(|&b| &buckets[b]).collect();
    // Pattern `i` goes to bucket `7 - i % 8` (fat: `15 - i % 16`): one unit's first anchor per
    // bucket per round; buckets[k] is dealt at slots k, k + 8, ... The
    // rest of each unit follows at the end, where its key decides.
    let rounds = buckets.iter().map(|b| b.len()).max().unwrap_or(0);
    let mut ordered: Vec<Vec<u8>> = Vec::with_capacity(rounds * bucket_count + anchors.len());
    let mut dealt = 0;
    for round in 0..rounds {
        for slot in 0..bucket_count {
            if dealt == units.len() {
                break;
            }
            match buckets.get(slot).and_then(|b| b.get(round)) {
                Some(&u) => {
                    ordered.push(anchors[units[u][0]].clone());
                    dealt += 1;
                }
                None => ordered.push(anchors[units[buckets[0][0]][0]].clone()),
            }
        }
    }
    for unit in &units {
        ordered.extend(unit[1..].iter().map(|&i| anchors[i].clone()));
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Every anchor occurrence, found the slow way.
    fn naive_next(anchors: &[Vec<u8>], haystack: &[u8], from: usize) -> Option<usize> {
        (from..haystack.len()).find(|&p| anchors.iter().any(|a| haystack[p..].starts_with(a)))
    }

    #[test]
    fn finds_the_same_positions_as_a_naive_search_in_any_grouping() {
        let anchors = lits(&[
            "lease timeout",
            "slow fdatasync",
            "keep alive ",
            "keeper f",
            "election",
            "etcdserver: ",
            "took too long",
            "NOSPACE",
            "roken pipe",
            "onnection ",
            "leader is ",
            "leader lost signal",
        ]);
        let line = b"2024-02-11T06:05:06.387433Z  INFO risingwave_meta::rpc::election::etcd: keep alive loop\n";
        let mut text = Vec::new();
        for i in 0..400 {
            text.extend_from_slice(line);
            if i % 37 == 0 {
                text.extend_from_slice(
                    b"... etcdserver: request took too long; slow fdatasync NOSPACE\n",
                );
            }
        }
        // Different samples give different groupings: all must agree.
        let mut zs = vec![b'z'; SAMPLE_BYTES];
        zs.extend_from_slice(b"NOSPACE");
        for sample in [&text[..], &zs[..], &line[..]] {
            let prefilter = Prefilter::new(anchors.clone());
            prefilter.find(sample, 0);
            let mut from = 0;
            loop {
                let expected = naive_next(prefilter.anchors(), &text, from);
                assert_eq!(prefilter.find(&text, from), expected, "from {from}");
                match expected {
                    Some(p) => from = p + 1,
                    None => break,
                }
            }
        }
    }

    #[test]
    fn random_anchors_and_text_agree_with_a_naive_search() {
        // Small alphabets so that anchors overlap, share fingerprints and
        // occur often; up to 70 anchors (past Teddy's 64: the fallback).
        let mut next = crate::fuzzing::xorshift(0x2545_f491_4f6c_dd1du64);
        for round in 0..60 {
            let alphabet: &[u8] = if round % 2 == 0 {
                b"abc \n"
            } else {
                b"eilostn \xff"
            };
            let count = 1 + next(70) as usize;
            let anchors: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = 1 + next(9) as usize;
                    (0..len)
                        .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                        .collect()
                })
                .collect();
            // Past SAMPLE_BYTES the grouping is tuned on the text itself.
            let len = if round % 3 == 0 {
                SAMPLE_BYTES + 3000
            } else {
                3000
            };
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                .collect();
            let prefilter = Prefilter::new(anchors);
            let mut from = next(40) as usize;
            loop {
                let expected = naive_next(prefilter.anchors(), &text, from);
                assert_eq!(
                    prefilter.find(&text, from),
                    expected,
                    "round {round} from {from}"
                );
                match expected {
                    Some(p) => from = p + 1 + next(50) as usize,
                    None => break,
                }
            }
        }
    }

    /// Random anchors drawn from words, `count` of them, and text made of
    /// the same words with some anchors in it.
    fn worded(
        next: &mut impl FnMut(u64) -> u64,
        count: usize,
        len: usize,
    ) -> (Vec<Vec<u8>>, Vec<u8>) {
        let words: Vec<&[u8]> = [
            "failed",
            "lease",
            "keeper",
            "error",
            "to",
            "the",
            "meta",
            "node",
            "barrier",
            "timeout",
            "etcd",
            "sql",
            "connection",
            "ERROR",
            "x9",
            "compaction",
            "worker",
            "\u{e9}q",
            "pool",
            "a",
            "recovery",
            "panicked",
            "at",
            "{",
            "}",
            "= 3",
        ]
        .iter()
        .map(|w| w.as_bytes())
        .collect();
        let phrase = |next: &mut dyn FnMut(u64) -> u64, words_max: u64| -> Vec<u8> {
            let mut out = Vec::new();
            for k in 0..1 + next(words_max) {
                if k > 0 {
                    out.push(if next(5) == 0 { b'_' } else { b' ' });
                }
                out.extend_from_slice(words[next(words.len() as u64) as usize]);
                if next(3) == 0 {
                    out.extend_from_slice(format!("{:x}", next(1 << 12)).as_bytes());
                }
            }
            out
        };
        let anchors: Vec<Vec<u8>> = (0..count)
            .map(|_| [phrase(&mut *next, 2), phrase(&mut *next, 2)].join(&b' '))
            .collect();
        let mut text = Vec::new();
        while text.len() < len {
            if next(4) == 0 {
                text.extend_from_slice(&anchors[next(count as u64) as usize]);
            } else {
                text.extend_from_slice(&phrase(&mut *next, 6));
            }
            text.push(if next(8) == 0 { b'\n' } else { b' ' });
        }
        (anchors, text)
    }

    #[test]
    fn hundreds_and_thousands_of_anchors_agree_with_a_naive_search() {
        // Past 64 anchors: shared windows verified (or, when no 64
        // windows cover them, the automaton); tuned and untuned.
        let mut next = crate::fuzzing::xorshift(0x0123_4567_89ab_cdef);
        for (round, count) in [65, 100, 300, 700, 1000, 1500, 3000]
            .into_iter()
            .enumerate()
        {
            let len = if round % 2 == 0 {
                SAMPLE_BYTES + 20_000
            } else {
                9000
            };
            let (anchors, text) = worded(&mut next, count, len);
            let prefilter = Prefilter::new(anchors);
            assert!(
                prefilter.anchors().len() > 64 || count < 300,
                "round {round}: {}",
                prefilter.anchors().len()
            );
            let mut from = 0;
            loop {
                let expected = naive_next(prefilter.anchors(), &text, from);
                assert_eq!(
                    prefilter.find(&text, from),
                    expected,
                    "round {round} from {from}"
                );
                match expected {
                    Some(p) => from = p + 1 + next(30) as usize,
                    None => break,
                }
            }
        }
    }

    #[test]
    fn a_grown_pack_is_searched_by_shared_windows() {
        // The benchmark's 300 catalogue literals with the built-in ones:
        // past 64 anchors, still one Teddy (of windows), not the automaton.
        let mut literals: Vec<Vec<u8>> = Vec::new();
        for file in ["bench/patterns.txt", "bench/grown-literals.txt"] {
            let text =
                std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            literals.extend(
                text.lines()
                    .filter(|l| l.len() >= 3)
                    .map(|l| l.as_bytes().to_vec()),
            );
        }
        let prefilter = Prefilter::new(literals);
        assert!(
            prefilter.anchors().len() > 200,
            "{}",
            prefilter.anchors().len()
        );
        let text = std::fs::read(format!(
            "{}/testdata/sample-incident.log",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut big = Vec::new();
        while big.len() < 2 * SAMPLE_BYTES {
            big.extend_from_slice(&text);
        }
        for haystack in [&text[..], &big[..]] {
            prefilter.find(haystack, 0);
        }
        assert!(matches!(prefilter.tuned.get(), Some(Searcher::Windows(_))));
        assert!(matches!(
            prefilter.untuned.get(),
            Some(Searcher::Automaton(_))
        ));
        let mut from = 0;
        loop {
            let expected = naive_next(prefilter.anchors(), &big, from);
            assert_eq!(prefilter.find(&big, from), expected, "from {from}");
            match expected {
                Some(p) => from = p + 1,
                None => break,
            }
        }
    }

    #[test]
    fn bucket_order_puts_each_anchor_in_and_stays_within_teddy_limits() {
        // 60 sharing one fingerprint key, and 40 with keys of their own.
        let mut anchors: Vec<Vec<u8>> = (0..60)
            .map(|i| format!("anchor-{i:02}!").into_bytes())
            .collect();
        anchors.extend((0..40u8).map(|i| vec![b'0' + i % 10, b'a' + i / 10, b'x', b'y', b'z']));
        let ordered = bucket_order(&anchors, b"some anchor-1 text anchor-22 here 0axyz");
        // Teddy takes up to 128 patterns: 41 keys in 8 buckets, 6 rounds
        // (the 60 sharing a key fill one bucket), fillers only there.
        assert!(ordered.len() <= 6 * BUCKETS + 59, "{}", ordered.len());
        let mut builder = packed::Config::new()
            .heuristic_pattern_limits(false)
            .builder();
        builder.extend(&ordered);
        assert!(builder.build().is_some());
        for anchor in &anchors {
            assert!(ordered.contains(anchor));
        }
    }

    #[test]
    fn a_short_anchor_narrows_the_fingerprint() {
        let prefilter = Prefilter::new(lits(&["abc", "lease keeper failed"]));
        assert_eq!(prefilter.find(b"xx lease keeper failed abc", 0), Some(3));
        assert_eq!(prefilter.find(b"xx lease keeper failed abc", 4), Some(23));
        assert_eq!(prefilter.find(b"ab", 0), None);
        assert_eq!(Prefilter::new(Vec::new()).find(b"abc", 0), None);
    }
}

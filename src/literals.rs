//! Literal planning for the matcher: the literals every match of a signal's
//! regex must contain (`required_literals`), the shared anchors they are
//! merged into (`merge_anchors`), and the window of each anchor the scan
//! prefilter searches for (`rare_windows`). A leaf: it reads regex syntax
//! and bytes, nothing else of the crate.
use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Hir, HirKind};
use std::collections::HashMap;

/// Literals shorter than this would make nearly every line a candidate.
const MIN_LITERAL_LEN: usize = 3;

/// Shared substrings at least this long, and covering at least this share of
/// the shorter literal, replace the literals containing them: shorter, more
/// generic anchors (` request`, ` timeout`) would match ordinary lines.
const MIN_ANCHOR_LEN: usize = 10;
const MIN_ANCHOR_SHARE: f64 = 0.6;

/// Fewer, shared anchors make a faster prefilter (each shares one of
/// Teddy's 8 buckets with others, see `prefilter`), and
/// `lease keeper failed` / `create lease keeper for ` both contain `lease
/// keeper`. Greedily replaces the pair of literals with the longest common
/// substring (of `MIN_ANCHOR_LEN` or more) by that substring, until no pair
/// shares one. Every line holding a literal still holds its anchor, so no
/// candidate is lost; a few more lines are verified.
///
/// The greedy rule, exactly: each round takes, of the pairs whose longest
/// common substring is at least `needed` of the shorter (a pair
/// "qualifies"), the one whose common substring is longest, the first such
/// pair in list order on a tie; its common substring (the first in the
/// earlier literal) replaces every literal holding it, and goes to the end
/// of the list.
///
/// Comparing pairs is quadratic (2,000 one-literal rules took 4 s and
/// 400 MiB, issue 13), so this works on substrings instead, one length at a
/// time, longest first:
/// - A pair qualifies with a common substring of length `len` exactly when
///   both hold some `len`-byte string and one of them is "short":
///   `needed(its length) <= len` (`needed` grows with the length). The best
///   score therefore only falls: a new anchor is `len` long, and every
///   literal holding it has been merged into it.
/// - So at each length, an index from each `len`-byte substring to the
///   literals holding it (in list order, and those of them that are short)
///   gives each substring's first qualifying pair, and an ordered set of
///   those pairs gives the round's pair. A merge takes out the literals the
///   anchor's own index entry lists, and updates only their substrings'
///   entries.
/// - Substrings two literals can share are all made of `MIN_ANCHOR_LEN`-byte
///   runs that occur in two of the given literals (an anchor is part of a
///   merged literal, so no more literals hold a string than held it at the
///   start); a bitmap of such runs keeps unshared tails out of the indexes.
///
/// Each literal's substrings are indexed once per length up to its longest
/// shared stretch, and each merge touches the literals it removes: about
/// linear in the bytes for literals of ordinary length (10,000 rules of
/// 30-byte literals: a few ms). The tests check it against the pairwise
/// greedy merge.
pub fn merge_anchors(
    literals: Vec<Vec<u8>>,
    users: Vec<Vec<usize>>,
) -> (Vec<Vec<u8>>, Vec<Vec<usize>>) {
    let mut merge = Merge::new(literals, users);
    let mut len = merge.reach.iter().map(|r| r.longest).max().unwrap_or(0);
    while len >= MIN_ANCHOR_LEN {
        merge.merge_at(len);
        len -= 1;
    }
    merge.finish()
}

/// `needed` for a pair whose shorter literal is `shorter` bytes long.
fn needed(shorter: usize) -> usize {
    MIN_ANCHOR_LEN.max((MIN_ANCHOR_SHARE * shorter as f64).ceil() as usize)
}

/// Where two literals could share a substring: for a literal, at each
/// offset, the length of the longest substring starting there made only of
/// `MIN_ANCHOR_LEN`-byte runs the bitmap marks as seen in two literals.
#[derive(Default)]
struct Reach {
    from: Vec<u32>,
    longest: usize,
}

/// The state of `merge_anchors`: every literal it has held, in list order
/// (the given ones, then each anchor as it is made).
struct Merge {
    texts: Vec<Vec<u8>>,
    users: Vec<Vec<usize>>,
    alive: Vec<bool>,
    reach: Vec<Reach>,
    /// Runs seen in two literals (hashed: a collision only costs work).
    shared_runs: Vec<u64>,
    rows: (Vec<usize>, Vec<usize>),
}

/// One substring's entry at the current length.
#[derive(Default)]
struct Holders {
    /// The literal (and offset) the entry was made from: its bytes.
    text: u32,
    offset: u32,
    /// Live literals holding it, in list order; those of them short enough
    /// to qualify at this length.
    all: Vec<u32>,
    short: Vec<u32>,
    /// The first qualifying pair, as in `pairs`.
    pair: Option<(u32, u32)>,
    /// Next entry with the same hash.
    next: Option<u32>,
}

impl Holders {
    fn first_pair(&self) -> Option<(u32, u32)> {
        let (&first, &first_short) = (self.all.first()?, self.short.first()?);
        if first == first_short {
            self.all.get(1).map(|&second| (first, second))
        } else {
            Some((first, first_short))
        }
    }
}

/// The substrings of one length, their holders, and the first pair each
/// gives, ordered.
struct Index {
    len: usize,
    by_hash: std::collections::HashMap<u64, u32, BuildPassHasher>,
    entries: Vec<Holders>,
    pairs: std::collections::BTreeSet<(u32, u32, u32)>,
}

impl Merge {
    fn new(literals: Vec<Vec<u8>>, users: Vec<Vec<usize>>) -> Merge {
        let runs: usize = literals
            .iter()
            .map(|l| l.len().saturating_sub(MIN_ANCHOR_LEN - 1))
            .sum();
        // Seen once / seen twice, one bit each: about 4 bits per run.
        let bits = (4 * runs).next_power_of_two().max(64);
        let mut seen = vec![0u64; bits / 64];
        let mut shared_runs = vec![0u64; bits / 64];
        for literal in &literals {
            for run in literal.windows(MIN_ANCHOR_LEN) {
                let bit = (hash_bytes(run) as usize) & (bits - 1);
                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                if seen[word] & mask != 0 {
                    shared_runs[word] |= mask;
                }
                seen[word] |= mask;
            }
        }
        let count = literals.len();
        let mut merge = Merge {
            alive: vec![true; count],
            users,
            reach: Vec::with_capacity(count),
            texts: literals,
            shared_runs,
            rows: (Vec::new(), Vec::new()),
        };
        for text in 0..count {
            let reach = merge.reach_of(&merge.texts[text]);
            merge.reach.push(reach);
        }
        merge
    }

    fn reach_of(&self, literal: &[u8]) -> Reach {
        let bits = self.shared_runs.len() * 64;
        let runs = literal.len().saturating_sub(MIN_ANCHOR_LEN - 1);
        let mut from = vec![0u32; runs];
        let mut longest = 0;
        for start in (0..runs).rev() {
            let bit = (hash_bytes(&literal[start..start + MIN_ANCHOR_LEN]) as usize) & (bits - 1);
            if self.shared_runs[bit / 64] & (1u64 << (bit % 64)) != 0 {
                let reach = match from.get(start + 1) {
                    Some(&next) if next > 0 => next + 1,
                    _ => MIN_ANCHOR_LEN as u32,
                };
                from[start] = reach;
                longest = longest.max(reach as usize);
            }
        }
        if longest == 0 {
            from = Vec::new();
        }
        Reach { from, longest }
    }

    /// The substrings of `len` bytes of `text` two literals could share.
    fn shareable(&self, text: usize, len: usize) -> impl Iterator<Item = usize> + '_ {
        let from = &self.reach[text].from;
        (0..from.len()).filter(move |&start| from[start] as usize >= len)
    }

    /// Merges while some pair qualifies with a common substring of `len`
    /// bytes (none qualifies with a longer one).
    fn merge_at(&mut self, len: usize) {
        let short = |text: &Vec<u8>| needed(text.len()) <= len;
        // A pair needs a short literal with a shareable `len` bytes.
        if !(0..self.texts.len())
            .any(|t| self.alive[t] && self.reach[t].longest >= len && short(&self.texts[t]))
        {
            return;
        }
        let mut index = Index {
            len,
            by_hash: Default::default(),
            entries: Vec::new(),
            pairs: Default::default(),
        };
        for text in 0..self.texts.len() {
            if !self.alive[text] || self.reach[text].longest < len {
                continue;
            }
            let is_short = short(&self.texts[text]);
            for start in self.shareable(text, len) {
                let entry = index.find_or_add(&self.texts, text, start);
                let holders = &mut index.entries[entry as usize];
                // A literal holding the substring twice is listed once.
                if holders.all.last() != Some(&(text as u32)) {
                    holders.all.push(text as u32);
                    if is_short {
                        holders.short.push(text as u32);
                    }
                }
            }
        }
        for entry in 0..index.entries.len() as u32 {
            index.update(entry);
        }
        while let Some(&(first, second, _)) = index.pairs.first() {
            let (first, second) = (first as usize, second as usize);
            let range =
                longest_common_substring(&self.texts[first], &self.texts[second], &mut self.rows);
            debug_assert_eq!(range.len(), len);
            let anchor = self.texts[first][range].to_vec();
            let entry = index
                .find(&self.texts, &anchor)
                .expect("the anchor is a shared substring of this length");
            // Every literal holding the anchor joins it.
            let holders = std::mem::take(&mut index.entries[entry as usize].all);
            let mut merged_users = Vec::new();
            for &text in &holders {
                let text = text as usize;
                merged_users.append(&mut self.users[text]);
                self.alive[text] = false;
                for start in self.shareable(text, len) {
                    let substring = &self.texts[text][start..start + len];
                    let entry = index.find(&self.texts, substring).expect("indexed");
                    let holders = &mut index.entries[entry as usize];
                    if let Ok(at) = holders.all.binary_search(&(text as u32)) {
                        holders.all.remove(at);
                    }
                    if let Ok(at) = holders.short.binary_search(&(text as u32)) {
                        holders.short.remove(at);
                    }
                    index.update(entry);
                }
            }
            merged_users.sort_unstable();
            merged_users.dedup();
            let text = self.texts.len() as u32;
            let reach = self.reach_of(&anchor);
            let holders = &mut index.entries[entry as usize];
            holders.all.push(text);
            if short(&anchor) {
                holders.short.push(text);
            }
            index.update(entry);
            self.texts.push(anchor);
            self.users.push(merged_users);
            self.alive.push(true);
            self.reach.push(reach);
        }
    }

    fn finish(self) -> (Vec<Vec<u8>>, Vec<Vec<usize>>) {
        self.texts
            .into_iter()
            .zip(self.users)
            .zip(self.alive)
            .filter_map(|(entry, alive)| alive.then_some(entry))
            .unzip()
    }
}

impl Index {
    fn find(&self, texts: &[Vec<u8>], substring: &[u8]) -> Option<u32> {
        let mut entry = self.by_hash.get(&hash_bytes(substring)).copied();
        while let Some(at) = entry {
            let holders = &self.entries[at as usize];
            let start = holders.offset as usize;
            if texts[holders.text as usize][start..start + self.len] == *substring {
                return Some(at);
            }
            entry = holders.next;
        }
        None
    }

    fn find_or_add(&mut self, texts: &[Vec<u8>], text: usize, start: usize) -> u32 {
        let substring = &texts[text][start..start + self.len];
        if let Some(entry) = self.find(texts, substring) {
            return entry;
        }
        let entry = self.entries.len() as u32;
        let next = self.by_hash.insert(hash_bytes(substring), entry);
        self.entries.push(Holders {
            text: text as u32,
            offset: start as u32,
            next,
            ..Default::default()
        });
        entry
    }

    /// Re-files the entry's first pair after its holders changed.
    fn update(&mut self, entry: u32) {
        let holders = &mut self.entries[entry as usize];
        let pair = holders.first_pair();
        if pair != holders.pair {
            if let Some((a, b)) = holders.pair {
                self.pairs.remove(&(a, b, entry));
            }
            if let Some((a, b)) = pair {
                self.pairs.insert((a, b, entry));
            }
            holders.pair = pair;
        }
    }
}

/// A 64-bit hash of a byte string (not keyed: the inputs are the rules).
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        hash = (hash ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        hash ^= hash >> 29;
    }
    for &byte in chunks.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 32;
    hash.wrapping_mul(0xd6e8_feb8_6659_fd93) ^ (hash >> 29)
}

/// The map's keys are hashes already.
#[derive(Default, Clone, Copy)]
struct BuildPassHasher;

#[derive(Default)]
struct PassHasher(u64);

impl std::hash::BuildHasher for BuildPassHasher {
    type Hasher = PassHasher;
    fn build_hasher(&self) -> PassHasher {
        PassHasher(0)
    }
}

impl std::hash::Hasher for PassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The range in `a` of the longest substring `a` and `b` share (dynamic
/// programming over two reused rows).
fn longest_common_substring(
    a: &[u8],
    b: &[u8],
    rows: &mut (Vec<usize>, Vec<usize>),
) -> std::ops::Range<usize> {
    let (previous, current) = rows;
    previous.clear();
    previous.resize(b.len() + 1, 0);
    current.clear();
    current.resize(b.len() + 1, 0);
    let mut best = (0, 0);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            current[j] = if a[i - 1] == b[j - 1] {
                previous[j - 1] + 1
            } else {
                0
            };
            if current[j] > best.0 {
                best = (current[j], i);
            }
        }
        std::mem::swap(previous, current);
    }
    best.1 - best.0..best.1
}

/// Bytes of a window shorter than this are not used as a scan anchor.
const MIN_WINDOW_LEN: usize = 8;

/// How common a byte is in log text (higher: more common). Teddy, the
/// prefilter's SIMD searcher, fingerprints the first bytes of each pattern,
/// so a pattern starting with common bytes (`meta_leader_lease_secs` starts
/// with `meta`, which every `risingwave_meta::` target contains) costs a
/// verification on most lines.
fn byte_commonness(byte: u8) -> u32 {
    match byte {
        b' ' => 255,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 200,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' => 170,
        b'0'..=b'9' | b':' | b'_' | b'.' | b'=' => 160,
        b'f' | b'p' | b'g' | b'w' | b'y' | b'b' | b'v' | b'k' | b',' | b'-' | b'"' => 130,
        b'x' | b'j' | b'q' | b'z' | b'/' => 90,
        b'A'..=b'Z' => 60,
        _ => 50,
    }
}

/// For each literal, the window (of `MIN_WINDOW_LEN` bytes or more) whose
/// first four bytes are rarest: any substring of a required literal finds
/// the same candidate lines, and a rare start keeps Teddy's false positives
/// down. The full literals still decide which signals a line is checked for.
pub fn rare_windows(literals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut windows: Vec<Vec<u8>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for literal in literals {
        let window = if literal.len() <= MIN_WINDOW_LEN {
            literal.clone()
        } else {
            // Windows start where a word starts: one cut mid-word can be a
            // common word itself (`etcdserver: ` → `server: `, which every
            // `...::server:` target holds).
            let word_start = |i: usize| {
                i == 0
                    || !literal[i - 1].is_ascii_alphanumeric()
                    || !literal[i].is_ascii_alphanumeric()
            };
            let start = (0..=literal.len() - MIN_WINDOW_LEN)
                .filter(|&i| word_start(i))
                .min_by_key(|&i| {
                    literal[i..i + 4]
                        .iter()
                        .map(|b| byte_commonness(*b))
                        .sum::<u32>()
                })
                .unwrap_or(0);
            literal[start..].to_vec()
        };
        if seen.insert(window.clone()) {
            windows.push(window);
        }
    }
    windows
}

/// Drops each anchor that contains another (and duplicates).
pub fn drop_containing(mut anchors: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    anchors.retain(|anchor| !anchor.is_empty());
    if anchors.len() <= DROP_PAIRWISE_MAX {
        return drop_containing_pairwise(anchors);
    }
    // Duplicates go first (the first of them is kept).
    let mut seen = std::collections::HashSet::new();
    anchors.retain(|anchor| seen.insert(anchor.clone()));
    drop(seen);
    if anchors.len() <= DROP_INDEXED_MAX {
        return drop_containing_indexed(anchors);
    }
    // Thousands of anchors (a large rule pack): comparing every pair was
    // quadratic (10,000 anchors, 10^8 searches). One automaton of all the
    // anchors, run over each, finds any other anchor inside it.
    let automaton = match AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(&anchors)
    {
        Ok(automaton) => automaton,
        // Past aho-corasick's limits: keep them all (an anchor containing
        // another only finds lines the other finds anyway).
        Err(_) => return anchors,
    };
    let keep: Vec<bool> = anchors
        .iter()
        .enumerate()
        .map(|(i, anchor)| {
            !automaton
                .find_overlapping_iter(&anchor[..])
                .any(|m| m.pattern().as_usize() != i)
        })
        .collect();
    kept(anchors, keep)
}

/// The anchors whose `keep` is true, in order.
fn kept(anchors: Vec<Vec<u8>>, keep: Vec<bool>) -> Vec<Vec<u8>> {
    anchors
        .into_iter()
        .zip(keep)
        .filter_map(|(anchor, keep)| keep.then_some(anchor))
        .collect()
}

/// Up to this many anchors, `drop_containing` compares every pair.
pub(crate) const DROP_PAIRWISE_MAX: usize = 32;
/// Up to this many (distinct) anchors, `drop_containing` looks for each
/// anchor's first two bytes in the others (`drop_containing_indexed`):
/// the built-in pack's 146 anchors took 3 million instructions that way,
/// against 6 million for the automaton and 10 million compared pairwise.
/// Past it, anchors sharing their first bytes could make it quadratic again.
pub(crate) const DROP_INDEXED_MAX: usize = 1024;

/// `drop_containing` for distinct, non-empty anchors: each position of an
/// anchor is looked up among the anchors starting with its bytes.
fn drop_containing_indexed(anchors: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut one_byte = [false; 256];
    let mut by_start: HashMap<[u8; 2], Vec<usize>> = HashMap::new();
    for (i, anchor) in anchors.iter().enumerate() {
        match anchor[..] {
            [b] => one_byte[usize::from(b)] = true,
            [a, b, ..] => by_start.entry([a, b]).or_default().push(i),
            [] => {}
        }
    }
    let keep: Vec<bool> = (anchors.iter().enumerate())
        .map(|(i, anchor)| {
            // A one-byte anchor holds no other (they are distinct).
            if anchor.len() == 1 {
                return true;
            }
            !(0..anchor.len()).any(|p| {
                let rest = &anchor[p..];
                one_byte[usize::from(rest[0])]
                    || (rest.len() >= 2
                        && by_start.get(&[rest[0], rest[1]]).is_some_and(|others| {
                            others.iter().any(|&j| {
                                j != i
                                    && anchors[j].len() < anchor.len()
                                    && rest.starts_with(&anchors[j])
                            })
                        }))
            })
        })
        .collect();
    kept(anchors, keep)
}

pub(crate) fn drop_containing_pairwise(anchors: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let keep: Vec<bool> = (0..anchors.len())
        .map(|i| {
            !anchors.iter().enumerate().any(|(j, other)| {
                j != i
                    && other.len() <= anchors[i].len()
                    && (other.len() < anchors[i].len() || j < i)
                    && memchr::memmem::find(&anchors[i], other).is_some()
            })
        })
        .collect();
    kept(anchors, keep)
}

/// At most this many anchors are searched for as they are (Teddy's 64
/// patterns); past it the prefilter searches for windows they share.
pub const SEARCH_ANCHORS_MAX: usize = 64;

/// What the prefilter searches for, given the merged anchors: each
/// anchor's rarest window (`rare_windows`) when those fit in Teddy, else
/// the whole anchors (past 64, the prefilter searches for windows shared
/// between them, and a whole anchor offers more to share than a window
/// already cut short); an anchor containing another is dropped.
pub fn search_anchors(merged: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let windows = drop_containing(rare_windows(merged));
    if windows.len() <= SEARCH_ANCHORS_MAX {
        windows
    } else {
        drop_containing(merged.to_vec())
    }
}

/// The prefilter's anchors for one set of literals, worked out ahead:
/// `build.rs` runs `merge_anchors` and `search_anchors` on the built-in
/// pack's literals (rules and facts), 9 million instructions of every
/// start otherwise (two thirds of the matcher's build on the 64-line
/// sample). It holds for exactly `literals`; any other set (user rules) is
/// merged at run time, the same way (`prefilter_anchors`).
pub struct AnchorPlan {
    /// The distinct literals, sorted.
    pub literals: &'static [&'static [u8]],
    /// `search_anchors` of `merge_anchors` of `literals`.
    pub search: &'static [&'static [u8]],
}

impl AnchorPlan {
    /// Whether the plan was worked out for these literals (distinct, sorted).
    pub fn is_for(&self, literals: &[Vec<u8>]) -> bool {
        literals.len() == self.literals.len()
            && literals
                .iter()
                .zip(self.literals)
                .all(|(a, b)| a[..] == **b)
    }
}

/// What the prefilter searches for to find the lines holding one of
/// `literals` (distinct, sorted): `search_anchors` of their merged anchors,
/// from `plan` when it is for these literals.
pub fn prefilter_anchors(plan: Option<&AnchorPlan>, literals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    match plan {
        Some(plan) if plan.is_for(literals) => plan.search.iter().map(|s| s.to_vec()).collect(),
        _ => {
            let users = vec![Vec::new(); literals.len()];
            search_anchors(&merge_anchors(literals.to_vec(), users).0)
        }
    }
}

/// A regex that is nothing but literals: one of `alternatives`, each with
/// the edges its branch asks for (`\b(?:election error happened|an
/// election error occurred)\b`, `^Starting meta node$`). Such a signal is
/// confirmed by searching for the literals (`find`): no regex to compile,
/// which is most of a small input's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralAlternation {
    pub alternatives: Vec<LiteralBranch>,
}

/// One branch: its text and the assertions around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralBranch {
    pub text: String,
    /// `Edge` bits: what must hold before and after the text.
    pub edges: u8,
}

/// The assertions a `LiteralBranch` may carry, as bits.
pub struct Edge;

impl Edge {
    /// A Unicode word boundary before the text (`\b`).
    pub const WORD_BEFORE: u8 = 1;
    /// A Unicode word boundary after it.
    pub const WORD_AFTER: u8 = 2;
    /// The text starts the haystack (`^`, not multi-line).
    pub const START: u8 = 4;
    /// The text ends the haystack (`$`).
    pub const END: u8 = 8;
}

/// `pattern` as a `LiteralAlternation`, when that is all it is (with the
/// `regex` crate's defaults: Unicode, case-sensitive, not multi-line);
/// `None` for any other pattern (classes, repetitions, captures, flags,
/// other assertions), which keeps its regex.
pub fn literal_alternation(pattern: &str) -> Option<LiteralAlternation> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let alternatives = match hir.kind() {
        HirKind::Alternation(branches) => branches.iter().map(branch).collect::<Option<_>>()?,
        _ => vec![branch(&hir)?],
    };
    Some(LiteralAlternation { alternatives })
}

/// One branch: `[^ or \b] literal [\b or $]`, each edge optional.
fn branch(hir: &Hir) -> Option<LiteralBranch> {
    use regex_syntax::hir::Look;
    let parts: &[Hir] = match hir.kind() {
        HirKind::Concat(parts) => parts,
        _ => std::slice::from_ref(hir),
    };
    let mut edges = 0;
    let mut text = None;
    for part in parts {
        match part.kind() {
            HirKind::Look(look) => {
                let bit = match (look, text.is_some()) {
                    (Look::WordUnicode, false) => Edge::WORD_BEFORE,
                    (Look::WordUnicode, true) => Edge::WORD_AFTER,
                    (Look::Start, false) => Edge::START,
                    (Look::End, true) => Edge::END,
                    _ => return None,
                };
                if edges & bit != 0 {
                    return None;
                }
                edges |= bit;
            }
            HirKind::Literal(literal) if text.is_none() => {
                // An assertion after the text closes the branch.
                if edges & (Edge::WORD_AFTER | Edge::END) != 0 {
                    return None;
                }
                text = Some(String::from_utf8(literal.0.to_vec()).ok()?);
            }
            _ => return None,
        }
    }
    let text = text.filter(|t| !t.is_empty())?;
    Some(LiteralBranch { text, edges })
}

impl LiteralAlternation {
    /// The match the regex would give (leftmost, then the first
    /// alternative in the pattern's order), as a byte range.
    pub fn find(&self, haystack: &str) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for branch in &self.alternatives {
            // Every occurrence, overlapping ones too: one that fails an
            // edge may hide another a character later.
            let mut from = 0;
            while let Some(offset) = haystack[from..].find(branch.text.as_str()) {
                let start = from + offset;
                if best.is_some_and(|(b, _)| start >= b) {
                    break;
                }
                let end = start + branch.text.len();
                if branch.holds(haystack, start, end) {
                    best = Some((start, end));
                    break;
                }
                if branch.edges & Edge::START != 0 {
                    break; // only the first position could do
                }
                // The next character boundary after `start`.
                from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        best
    }
}

impl LiteralBranch {
    fn holds(&self, haystack: &str, start: usize, end: usize) -> bool {
        let edges = self.edges;
        (edges & Edge::START == 0 || start == 0)
            && (edges & Edge::END == 0 || end == haystack.len())
            && (edges & Edge::WORD_BEFORE == 0 || is_word_boundary(haystack, start))
            && (edges & Edge::WORD_AFTER == 0 || is_word_boundary(haystack, end))
    }
}

/// Unicode `\b` at byte `at` of `haystack` (a character boundary).
fn is_word_boundary(haystack: &str, at: usize) -> bool {
    let before = haystack[..at]
        .chars()
        .next_back()
        .is_some_and(regex_syntax::is_word_character);
    let after = haystack[at..]
        .chars()
        .next()
        .is_some_and(regex_syntax::is_word_character);
    before != after
}

/// A set of literals one of which every match of `pattern` contains, or
/// `None` when no such set with literals of `MIN_LITERAL_LEN` or more exists.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let set = required(&hir)?;
    let shortest = set.iter().map(Vec::len).min()?;
    (shortest >= MIN_LITERAL_LEN).then_some(set)
}

fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Concat(parts) => parts.iter().filter_map(required).max_by_key(|set| {
            (
                set.iter().map(Vec::len).min().unwrap_or(0),
                usize::MAX - set.len(),
            )
        }),
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for branch in branches {
                union.extend(required(branch)?);
            }
            union.sort();
            union.dedup();
            Some(union)
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn byte_lits(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn lits(pattern: &str) -> Option<Vec<String>> {
        required_literals(pattern).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn anchors_containing_others_are_dropped() {
        let kept = drop_containing(byte_lits(&[
            "election timeout",
            "election",
            "wins election",
            "slow fdatasync",
            "election",
        ]));
        assert_eq!(kept, byte_lits(&["election", "slow fdatasync"]));
    }

    #[test]
    fn many_anchors_drop_as_when_compared_pairwise() {
        // Past DROP_PAIRWISE_MAX the index decides, past DROP_INDEXED_MAX
        // the automaton: the same anchors.
        let mut next = crate::fuzzing::xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..10 {
            let count = if round < 8 {
                DROP_PAIRWISE_MAX + 1 + next(400) as usize
            } else {
                DROP_INDEXED_MAX + 1 + next(600) as usize
            };
            let alphabet: &[u8] = if round % 2 == 0 && round < 8 {
                b"ab"
            } else {
                b"abcdefgh"
            };
            let anchors: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = next(12) as usize;
                    (0..len)
                        .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                        .collect()
                })
                .collect();
            let mut pairwise = anchors.clone();
            pairwise.retain(|a| !a.is_empty());
            assert_eq!(
                drop_containing(anchors),
                drop_containing_pairwise(pairwise),
                "round {round}"
            );
        }
    }

    #[test]
    fn picks_the_longest_required_literal() {
        assert_eq!(
            lits(r"\blease -?\d+ keep alive timeout\b"),
            Some(vec![" keep alive timeout".into()])
        );
        assert_eq!(
            lits(r"election error (happened|occurred)"),
            Some(vec!["election error ".into()])
        );
    }

    #[test]
    fn anchors_merge_literals_sharing_a_long_substring() {
        let literals: Vec<Vec<u8>> = [
            "lease keeper failed",
            "create lease keeper for ",
            "slow fdatasync",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        let (anchors, users) = merge_anchors(literals, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(
            anchors,
            vec![b"slow fdatasync".to_vec(), b"lease keeper f".to_vec()]
        );
        assert_eq!(users, vec![vec![2], vec![0, 1]]);
    }

    /// The merge as it was before issue 13: every pair's longest common
    /// substring (cached, after a quick look for a shared run) every round.
    /// Quadratic in memory and time, exact; what `merge_anchors` must equal.
    pub(crate) fn merge_anchors_pairwise(
        literals: Vec<Vec<u8>>,
        users: Vec<Vec<usize>>,
    ) -> (Vec<Vec<u8>>, Vec<Vec<usize>>) {
        // (id, literal, users); ids stay stable so pair results can be cached.
        let mut live: Vec<(usize, Vec<u8>, Vec<usize>)> = literals
            .into_iter()
            .zip(users)
            .enumerate()
            .map(|(id, (l, u))| (id, l, u))
            .collect();
        let mut next_id = live.len();
        // Pair results by (id, id); ids are the literals then one per merge.
        // (A plain table: hashing the pairs was a tenth of the start-up.)
        let ids = 2 * live.len();
        let mut cache: Vec<Option<std::ops::Range<usize>>> = vec![None; ids * ids];
        // Every id's `MIN_ANCHOR_LEN`-byte runs, hashed and sorted: two
        // literals can only share a run that long if their sets meet, which a
        // merge of two short lists tells (searching every run of one literal in
        // the other was a third of the start-up on a small input).
        let mut runs: Vec<Vec<u64>> = vec![Vec::new(); ids];
        for (id, literal, _) in &live {
            runs[*id] = run_hashes(literal);
        }
        let mut rows = (Vec::new(), Vec::new());
        loop {
            let mut best: Option<(usize, usize, std::ops::Range<usize>)> = None;
            for i in 0..live.len() {
                for j in i + 1..live.len() {
                    let (a, b) = (&live[i].1, &live[j].1);
                    let shorter = a.len().min(b.len());
                    let needed =
                        MIN_ANCHOR_LEN.max((MIN_ANCHOR_SHARE * shorter as f64).ceil() as usize);
                    let key = live[i].0 * ids + live[j].0;
                    let common = cache[key].get_or_insert_with(|| {
                        // Most pairs share no `needed`-byte run at all: a quick
                        // look for one before the quadratic search (a hash
                        // collision only costs that search, never a result).
                        let shares_run = shorter >= needed
                            && sorted_lists_meet(&runs[live[i].0], &runs[live[j].0]);
                        if shares_run {
                            longest_common_substring(a, b, &mut rows)
                        } else {
                            0..0
                        }
                    });
                    if common.len() >= needed
                        && best.as_ref().is_none_or(|(_, _, r)| common.len() > r.len())
                    {
                        best = Some((i, j, common.clone()));
                    }
                }
            }
            let Some((i, j, range)) = best else { break };
            let anchor = live[i].1[range].to_vec();
            // Every literal containing the anchor joins it.
            let mut merged_users = Vec::new();
            let mut kept = Vec::with_capacity(live.len());
            for (index, entry) in live.into_iter().enumerate() {
                if index == i || index == j || memchr::memmem::find(&entry.1, &anchor).is_some() {
                    merged_users.extend(entry.2);
                } else {
                    kept.push(entry);
                }
            }
            merged_users.sort_unstable();
            merged_users.dedup();
            runs[next_id] = run_hashes(&anchor);
            kept.push((next_id, anchor, merged_users));
            next_id += 1;
            live = kept;
        }
        live.into_iter().map(|(_, l, u)| (l, u)).unzip()
    }

    /// The hashes of every `MIN_ANCHOR_LEN`-byte run of `literal`, sorted.
    fn run_hashes(literal: &[u8]) -> Vec<u64> {
        let mut hashes: Vec<u64> = literal
            .windows(MIN_ANCHOR_LEN)
            .map(|run| {
                // FNV-1a: any hash will do, collisions only cost time.
                run.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                })
            })
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    }

    /// Whether two sorted lists hold a common value.
    fn sorted_lists_meet(a: &[u64], b: &[u64]) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// `merge_anchors` as it reads, without the quick look for a shared
    /// run: the longest common substring of every pair, every round.
    pub(crate) fn merge_anchors_exhaustively(
        literals: Vec<Vec<u8>>,
        users: Vec<Vec<usize>>,
    ) -> (Vec<Vec<u8>>, Vec<Vec<usize>>) {
        let mut live: Vec<(Vec<u8>, Vec<usize>)> = literals.into_iter().zip(users).collect();
        let mut rows = (Vec::new(), Vec::new());
        loop {
            let mut best: Option<(usize, usize, std::ops::Range<usize>)> = None;
            for i in 0..live.len() {
                for j in i + 1..live.len() {
                    let (a, b) = (&live[i].0, &live[j].0);
                    let shorter = a.len().min(b.len());
                    let needed =
                        MIN_ANCHOR_LEN.max((MIN_ANCHOR_SHARE * shorter as f64).ceil() as usize);
                    let common = longest_common_substring(a, b, &mut rows);
                    if common.len() >= needed
                        && best.as_ref().is_none_or(|(_, _, r)| common.len() > r.len())
                    {
                        best = Some((i, j, common));
                    }
                }
            }
            let Some((i, j, range)) = best else { break };
            let anchor = live[i].0[range].to_vec();
            let mut merged = Vec::new();
            let mut kept = Vec::new();
            for (index, entry) in live.into_iter().enumerate() {
                if index == i || index == j || memchr::memmem::find(&entry.0, &anchor).is_some() {
                    merged.extend(entry.1);
                } else {
                    kept.push(entry);
                }
            }
            merged.sort_unstable();
            merged.dedup();
            kept.push((anchor, merged));
            live = kept;
        }
        live.into_iter().unzip()
    }

    /// Asserts `merge_anchors` gives what `merge_anchors_exhaustively`
    /// does on `literals` (each its own user); whether it merged any.
    pub(crate) fn assert_merges_as_exhaustively(literals: &[Vec<u8>]) -> bool {
        let users: Vec<Vec<usize>> = (0..literals.len()).map(|i| vec![i]).collect();
        let merged = merge_anchors(literals.to_vec(), users.clone());
        assert_eq!(
            merged,
            merge_anchors_exhaustively(literals.to_vec(), users),
            "{:?}",
            literals
                .iter()
                .map(|l| String::from_utf8_lossy(l))
                .collect::<Vec<_>>()
        );
        merged.0.len() < literals.len()
    }

    #[test]
    fn the_quick_shared_run_check_changes_no_anchor() {
        // Random literals over a small alphabet, where long shared runs
        // (and hash work) are common. (The built-in rules' literals are
        // checked in `matcher`.)
        let mut sets = Vec::new();
        let mut rng = crate::fuzzing::xorshift(7);
        for _ in 0..300 {
            // Literals cut from a few shared roots, with random ends.
            fn text(rng: &mut impl FnMut(u64) -> u64, len: u64) -> Vec<u8> {
                (0..len).map(|_| b"ab c"[rng(4) as usize]).collect()
            }
            let roots: Vec<Vec<u8>> = (0..3)
                .map(|_| {
                    let len = 12 + rng(20);
                    text(&mut rng, len)
                })
                .collect();
            let count = 2 + rng(12) as usize;
            let set: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let root = &roots[rng(3) as usize];
                    let start = rng(root.len() as u64 / 3) as usize;
                    let end = root.len() - rng(root.len() as u64 / 3) as usize;
                    let (head, tail) = (rng(6), rng(6));
                    let mut literal = text(&mut rng, head);
                    literal.extend_from_slice(&root[start..end]);
                    literal.extend(text(&mut rng, tail));
                    literal
                })
                .collect();
            sets.push(set);
        }
        let mut merging_sets = 0;
        for literals in sets {
            if assert_merges_as_exhaustively(&literals) {
                merging_sets += 1;
            }
        }
        assert!(merging_sets > 100, "only {merging_sets} sets had a merge");
    }

    /// Asserts `merge_anchors` equals the pairwise merge on `literals`;
    /// how many anchors it left.
    fn assert_merges_as_pairwise(literals: &[Vec<u8>]) -> usize {
        let users: Vec<Vec<usize>> = (0..literals.len()).map(|i| vec![i]).collect();
        let merged = merge_anchors(literals.to_vec(), users.clone());
        let reference = merge_anchors_pairwise(literals.to_vec(), users);
        assert!(
            merged == reference,
            "{} literals: {} anchors, pairwise {}; first difference at {:?}",
            literals.len(),
            merged.0.len(),
            reference.0.len(),
            (0..)
                .find(|&i| merged.0.get(i) != reference.0.get(i)
                    || merged.1.get(i) != reference.1.get(i))
                .map(|i| (
                    merged
                        .0
                        .get(i)
                        .map(|l| String::from_utf8_lossy(l).into_owned()),
                    reference
                        .0
                        .get(i)
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                ))
        );
        merged.0.len()
    }

    #[test]
    fn sets_of_hundreds_merge_as_pairwise() {
        // The issue 13 reproduction's literals: all merge, in ~40 rounds.
        let probe: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("probe literal number {i:05} xyz").into_bytes())
            .collect();
        assert!(assert_merges_as_pairwise(&probe) < 10);
        // Hundreds of literals around a dozen shared roots of 12 to 90
        // bytes, with random heads and tails (so that some pairs share a
        // long stretch and still fall short of `needed` of the shorter),
        // some unrelated, some repeated.
        let mut rng = crate::fuzzing::xorshift(13);
        let mut merges = 0;
        for round in 0..6 {
            let alphabet: &[u8] = if round % 3 == 0 {
                b"ab c"
            } else {
                b"abcdefgh ijklmnop"
            };
            let text = |rng: &mut dyn FnMut(u64) -> u64, len: u64| -> Vec<u8> {
                (0..len)
                    .map(|_| alphabet[rng(alphabet.len() as u64) as usize])
                    .collect()
            };
            let roots: Vec<Vec<u8>> = (0..12)
                .map(|_| {
                    let len = 12 + rng(80);
                    text(&mut rng, len)
                })
                .collect();
            let count = 150 + rng(200) as usize;
            let mut set: Vec<Vec<u8>> = Vec::with_capacity(count);
            while set.len() < count {
                let literal = match rng(10) {
                    0 => {
                        let len = 3 + rng(40);
                        text(&mut rng, len)
                    }
                    1 if !set.is_empty() => set[rng(set.len() as u64) as usize].clone(),
                    _ => {
                        let root = &roots[rng(roots.len() as u64) as usize];
                        let start = rng(root.len() as u64 / 2) as usize;
                        let end = root.len() - rng(root.len() as u64 / 2) as usize;
                        let (head, tail) = (rng(24), rng(24));
                        let mut literal = text(&mut rng, head);
                        literal.extend_from_slice(&root[start..end]);
                        literal.extend(text(&mut rng, tail));
                        literal
                    }
                };
                set.push(literal);
            }
            if assert_merges_as_pairwise(&set) < set.len() {
                merges += 1;
            }
        }
        assert_eq!(merges, 6);
    }

    #[test]
    fn ten_thousand_rule_literals_merge_quickly() {
        // The reproduction at its full size (the pairwise merge needed a
        // 9.7 GB table): it must take well under a second even in a debug
        // build, and leave anchors that still cover every literal.
        let literals: Vec<Vec<u8>> = (0..10_000)
            .map(|i| format!("probe literal number {i:05} xyz").into_bytes())
            .collect();
        let users: Vec<Vec<usize>> = (0..literals.len()).map(|i| vec![i]).collect();
        let started = std::time::Instant::now();
        let (anchors, users) = merge_anchors(literals.clone(), users);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
        assert!(anchors.len() < 10, "{}", anchors.len());
        let mut covered = vec![false; literals.len()];
        for (anchor, users) in anchors.iter().zip(&users) {
            for &user in users {
                assert!(memchr::memmem::find(&literals[user], anchor).is_some());
                covered[user] = true;
            }
        }
        assert!(covered.iter().all(|&c| c));
    }

    #[test]
    fn alternation_unions_and_weak_patterns_have_none() {
        assert_eq!(
            lits(r"(slow fdatasync|sync duration of)"),
            Some(vec!["slow fdatasync".into(), "sync duration of".into()])
        );
        assert_eq!(lits(r"\d+"), None);
        assert_eq!(lits(r"(?i)lease"), None);
        assert_eq!(lits(r"(ab|lease)"), None);
    }
}

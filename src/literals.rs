//! Literal planning for the matcher: the literals every match of a signal's
//! regex must contain (`required_literals`), the shared anchors they are
//! merged into (`merge_anchors`), and the window of each anchor the scan
//! prefilter searches for (`rare_windows`). A leaf: it reads regex syntax
//! and bytes, nothing else of the crate.
use regex_syntax::hir::{Hir, HirKind};

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
pub fn merge_anchors(
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
                    let shares_run =
                        shorter >= needed && sorted_lists_meet(&runs[live[i].0], &runs[live[j].0]);
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
        if !windows.contains(&window) {
            windows.push(window);
        }
    }
    windows
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

    fn lits(pattern: &str) -> Option<Vec<String>> {
        required_literals(pattern).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
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

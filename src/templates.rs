//! Templates: lines grouped by what they say, with the variable parts
//! masked. A template key is a pure function of one record (its origin kind,
//! level, target and masked message), so tables built on any number of
//! threads or ranges merge into the same result, and the same event gets the
//! same id in every shape (text, JSON, pretty, wrapped).
//!
//! Masking, per whitespace token: a token holding a digit, an all-hex run of
//! 8+ characters or over 64 bytes becomes `<*>` (its surrounding quotes and
//! brackets and a `key=` prefix are kept); so numbers, ids, UUIDs,
//! addresses, durations and host names with a number go. Words without a
//! digit are kept, so the inner error text (`"etcdserver: request timed
//! out"`) stays. Shapes write fields differently (`msg k=v` in text and
//! JSON, `msg, k: v` in pretty; JSON sorts the fields): `, k: ` is read as
//! ` k=`, and the `k=v` segments are sorted. gRPC's `details: [], metadata:
//! MetadataMap { .. }` tail is cut.
use crate::model::{Level, Timestamp};
use crate::record::{self, LineClass, Parsed, Shape};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod classes;
use classes::{Class, Classes};

/// The masked text is cut to this many bytes.
pub const MAX_KEY: usize = 512;
/// Examples are cut to this many bytes.
pub const MAX_EXAMPLE: usize = 512;
/// Templates kept per origin; lines of templates past it are counted in
/// `overflow_lines` (no eviction: the counts kept stay exact).
pub const MAX_TEMPLATES_PER_ORIGIN: usize = 4096;
/// The mask.
pub const MASK: &str = "<*>";

/// Which lines a diagnosis run mines into templates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Depth {
    /// None (the scan mines nothing).
    Off,
    /// WARN, ERROR and FATAL lines, and panics: cheap, the default.
    #[default]
    WarnError,
    /// Every event line (`--discover=all`).
    All,
}

impl Depth {
    /// The lowest level mined.
    pub fn min_level(self) -> Option<Level> {
        match self {
            Depth::Off => None,
            Depth::WarnError => Some(Level::Warn),
            Depth::All => Some(Level::Trace),
        }
    }
}

/// What a record is grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: &'static str,
    pub level: Option<Level>,
    pub target: Option<String>,
    pub text: String,
}

impl Key {
    /// The stable 64-bit template id (FNV-1a of the key's parts).
    pub fn id(&self) -> u64 {
        let mut hash = Fnv::default();
        hash.write(self.kind.as_bytes());
        hash.write(&[0]);
        hash.write(self.level.map_or("-", Level::as_str).as_bytes());
        hash.write(&[0]);
        hash.write(self.target.as_deref().unwrap_or("").as_bytes());
        hash.write(&[0]);
        hash.write(self.text.as_bytes());
        hash.0
    }
}

/// The id as printed: 12 hex digits.
pub fn format_id(id: u64) -> String {
    format!("{:012x}", id >> 16)
}

/// Hashing for maps keyed by a 64-bit hash (a template id, a
/// fingerprint): the key is already well mixed, so it is used as is.
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;

#[derive(Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The kind of program that wrote a record: `etcd` (its shapes, or a unit
/// or pod named so), `other` (a line in no known shape and no wrapper), or
/// `risingwave`.
pub fn origin_kind(parsed: &Parsed<'_>) -> &'static str {
    let shape = parsed.record.shape;
    if shape.is_etcd() || parsed.origin.is_some_and(|o| o.contains("etcd")) {
        "etcd"
    } else if shape == Shape::Bare && parsed.origin.is_none() {
        "other"
    } else {
        "risingwave"
    }
}

/// A line (line ending and ANSI escapes removed) parsed for its template:
/// a line in no known shape is taken whole as the message, so any log can
/// be grouped. (The caller skips the continuation lines of pretty events.)
pub fn parse_line(line: &str, year: i32) -> Parsed<'_> {
    match record::classify(line.as_bytes()).0 {
        LineClass::Unknown | LineClass::Event(Shape::Bare) => Parsed {
            record: record::Record {
                timestamp: None,
                level: None,
                thread: None,
                spans: None,
                target: None,
                message: std::borrow::Cow::Borrowed(line.trim()),
                shape: Shape::Bare,
            },
            origin: None,
            wrappers: 0,
        },
        _ => record::parse(line, year),
    }
}

/// The level of a plain RisingWave text line (`<timestamp> LEVEL ...`, no
/// wrapper), read from its bytes without parsing it: lets a miner of
/// WARN/ERROR lines pass over the INFO lines of a big log cheaply. `None`
/// when the line is not one.
pub fn plain_line_level(line: &[u8]) -> Option<Level> {
    record::plain_risingwave_level(line)
}

/// The template key of a parsed line.
pub fn key_of(parsed: &Parsed<'_>) -> Key {
    Key {
        kind: origin_kind(parsed),
        level: parsed.record.level,
        target: parsed.record.target.as_deref().map(str::to_string),
        text: mask(&parsed.record.message),
    }
}

/// The masked message (the template text).
pub fn mask(message: &str) -> String {
    let message = cut_grpc_tail(message);
    let message = collapse_variable_lists(&message);
    let normalised = pretty_fields_as_pairs(&message);
    let mut head = String::with_capacity(normalised.len().min(MAX_KEY) + 8);
    let mut fields: Vec<String> = Vec::new();
    for token in normalised.split_ascii_whitespace() {
        let is_field = field_key_len(token).is_some();
        let target = if is_field {
            fields.push(String::new());
            fields.last_mut().expect("just pushed")
        } else {
            match fields.last_mut() {
                Some(field) => field,
                None => &mut head,
            }
        };
        if !target.is_empty() {
            target.push(' ');
        }
        mask_token(token, target);
        if head.len() > MAX_KEY && fields.is_empty() {
            break;
        }
    }
    fields.sort();
    for field in fields {
        if !head.is_empty() {
            head.push(' ');
        }
        head.push_str(&field);
    }
    cut_at(&mut head, MAX_KEY);
    head
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub fn cut_at(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// `key=` at the start of a token: the length of `key` (an identifier).
fn field_key_len(token: &str) -> Option<usize> {
    let eq = token.find('=')?;
    let key = &token.as_bytes()[..eq];
    let first = *key.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    key.iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .then_some(eq)
}

fn mask_token(token: &str, out: &mut String) {
    if let Some(eq) = field_key_len(token) {
        out.push_str(&token[..=eq]);
        mask_value(&token[eq + 1..], out);
    } else {
        mask_value(token, out);
    }
}

fn mask_value(value: &str, out: &mut String) {
    let (prefix, core, suffix) = peel(value);
    if !core.is_empty() && is_variable(core) {
        out.push_str(prefix);
        out.push_str(MASK);
        out.push_str(suffix);
    } else {
        out.push_str(value);
    }
}

fn closer_of(opener: u8) -> u8 {
    match opener {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// Splits quotes, brackets and punctuation off both ends of a token: a
/// bracket only when its partner is not inside (`LOCAL(0),` keeps `(0)`).
fn peel(value: &str) -> (&str, &str, &str) {
    let bytes = value.as_bytes();
    let (mut start, mut end) = (0, bytes.len());
    while start < end {
        let b = bytes[start];
        let peel = match b {
            b'"' | b'\'' | b'`' => true,
            b'(' | b'[' | b'{' | b'<' => !bytes[start + 1..end].contains(&closer_of(b)),
            _ => false,
        };
        if !peel {
            break;
        }
        start += 1;
    }
    while end > start {
        let b = bytes[end - 1];
        let peel = match b {
            b'"' | b'\'' | b'`' | b',' | b';' | b':' | b'.' => true,
            b')' | b']' | b'}' | b'>' => {
                let opener = match b {
                    b')' => b'(',
                    b']' => b'[',
                    b'}' => b'{',
                    _ => b'<',
                };
                !bytes[start..end - 1].contains(&opener)
            }
            _ => false,
        };
        if !peel {
            break;
        }
        end -= 1;
    }
    (&value[..start], &value[start..end], &value[end..])
}

/// A token that names one instance: it holds a digit, is a long hex run,
/// or is over 64 bytes.
fn is_variable(core: &str) -> bool {
    let bytes = core.as_bytes();
    bytes.len() > 64
        || bytes.iter().any(u8::is_ascii_digit)
        || (bytes.len() >= 8 && bytes.iter().all(u8::is_ascii_hexdigit))
}

/// A bracketed list of two or more elements, each one token that names an
/// instance (`[1, 2, 3]`, `(12, 13)`, `[WorkerId(1), WorkerId(2)]`: a
/// `Vec`'s or a tuple's Debug), becomes one mask: its length varies from
/// line to line, and a one-element list is one masked token already.
fn collapse_variable_lists(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.contains(", ") {
        return std::borrow::Cow::Borrowed(message);
    }
    let bytes = message.as_bytes();
    let mut out = String::new();
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        if matches!(bytes[i], b'[' | b'(' | b'{') {
            if let Some(close) = matching_closer(bytes, i) {
                let inner = &message[i + 1..close];
                let mut elements = inner.split(", ");
                let all_variable = inner.contains(", ")
                    && elements.all(|e| {
                        !e.is_empty()
                            && !e.bytes().any(|b| b.is_ascii_whitespace())
                            && is_variable(peel(e).1)
                    });
                if all_variable {
                    out.push_str(&message[copied..i]);
                    out.push_str(MASK);
                    i = close + 1;
                    copied = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(message);
    }
    out.push_str(&message[copied..]);
    std::borrow::Cow::Owned(out)
}

/// The index of the bracket closing the one at `open` (any of `()[]{}`
/// nested inside), looked for in the next 4 KiB.
fn matching_closer(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open).take(4096) {
        match b {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// RisingWave's pretty format writes fields as `message, key: value`; the
/// others as `message key=value`. `, key: ` (a lower-case identifier, or a
/// dotted path of them: tracing's `barrier.epoch = ..`) is read as ` key=`.
fn pretty_fields_as_pairs(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.contains(", ") {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(", ") {
        let after = &rest[at + 2..];
        let ident_len = after
            .bytes()
            .take_while(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.')
            })
            .count();
        if ident_len > 0
            && after.as_bytes()[0].is_ascii_lowercase()
            && after.as_bytes()[ident_len - 1] != b'.'
            && after[ident_len..].starts_with(": ")
        {
            out.push_str(&rest[..at]);
            out.push(' ');
            out.push_str(&after[..ident_len]);
            out.push('=');
            rest = &after[ident_len + 2..];
        } else {
            out.push_str(&rest[..at + 2]);
            rest = after;
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Cuts tonic's `, details: [], metadata: MetadataMap { .. }` from a gRPC
/// status: the same in every error, it only hides what differs.
fn cut_grpc_tail(message: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = message.find(", details: ") else {
        return std::borrow::Cow::Borrowed(message);
    };
    let after = &message[start..];
    let Some(meta) = after.find("metadata: MetadataMap {") else {
        return std::borrow::Cow::Borrowed(message);
    };
    let open = start + meta + "metadata: MetadataMap ".len();
    let mut depth = 0usize;
    let mut end = None;
    for (i, b) in message.as_bytes()[open..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(open + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end.unwrap_or(message.len());
    let mut out = String::with_capacity(message.len());
    out.push_str(&message[..start]);
    out.push_str(&message[end..]);
    std::borrow::Cow::Owned(out)
}

/// Where one line was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub source: String,
    pub line: u64,
    pub text: String,
}

/// One template and what was seen of it.
#[derive(Debug, Clone)]
pub struct Template {
    pub id: u64,
    pub key: Key,
    pub count: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub example: Example,
    /// Every line number (1-based, in its source), when the table keeps them.
    pub lines: Vec<u64>,
    /// Lines per minute (`(minute since the epoch, count)`, sorted), for
    /// windows and sparklines; bounded by `MAX_BINS` per table.
    pub minutes: Vec<(i64, u32)>,
}

/// Templates, with a hard cap per origin.
#[derive(Debug, Default, Clone)]
pub struct Table {
    templates: HashMap<u64, Template, IdHash>,
    per_origin: HashMap<String, usize>,
    pub keep_lines: bool,
    /// Lines mined (kept or overflowed).
    pub lines: u64,
    /// Lines whose template was past the cap of its origin.
    pub overflow_lines: u64,
    /// Minute bins kept (at most `MAX_BINS`).
    pub bins: usize,
    /// Lines with a time whose minute bin was not kept (past `MAX_BINS`).
    pub unbinned_lines: u64,
}

impl Table {
    pub fn new(keep_lines: bool) -> Self {
        Table {
            keep_lines,
            ..Table::default()
        }
    }

    /// Adds one line. `origin` is the origin the cap counts on.
    pub fn add(
        &mut self,
        key: Key,
        origin: &str,
        timestamp: Option<Timestamp>,
        source: &str,
        line: u64,
        text: &str,
    ) {
        self.lines += 1;
        let id = key.id();
        if let Some(template) = self.templates.get_mut(&id) {
            template.count += 1;
            if let Some(ts) = timestamp {
                template.first_seen = Some(template.first_seen.map_or(ts, |f| f.min(ts)));
                template.last_seen = Some(template.last_seen.map_or(ts, |l| l.max(ts)));
                let minute = ts.timestamp().div_euclid(60);
                if !add_to_bin(&mut template.minutes, minute, 1, &mut self.bins) {
                    self.unbinned_lines += 1;
                }
            }
            if self.keep_lines {
                template.lines.push(line);
            }
            return;
        }
        let used = self.per_origin.entry(origin.to_string()).or_default();
        if *used >= MAX_TEMPLATES_PER_ORIGIN {
            self.overflow_lines += 1;
            return;
        }
        *used += 1;
        let mut example = text.to_string();
        cut_at(&mut example, MAX_EXAMPLE);
        self.templates.insert(
            id,
            Template {
                id,
                key,
                count: 1,
                first_seen: timestamp,
                last_seen: timestamp,
                example: Example {
                    source: source.to_string(),
                    line,
                    text: example,
                },
                lines: if self.keep_lines { vec![line] } else { vec![] },
                minutes: Vec::new(),
            },
        );
        if let Some(ts) = timestamp {
            let template = self.templates.get_mut(&id).expect("just inserted");
            if !add_to_bin(
                &mut template.minutes,
                ts.timestamp().div_euclid(60),
                1,
                &mut self.bins,
            ) {
                self.unbinned_lines += 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&Template> {
        self.templates.get(&id)
    }

    /// The templates, most frequent first (then by first line read).
    pub fn sorted(&self) -> Vec<&Template> {
        let mut all: Vec<&Template> = self.templates.values().collect();
        sort_templates(&mut all);
        all
    }
}

/// The merge pass: within one partition (kind, level, target) and one
/// token count, templates that differ in exactly one token are joined when
/// that token takes at least `min_values` distinct values (Drain's "this
/// position varies", done after the scan over the unique keys in sorted
/// order, so the result does not depend on the order lines came in). A
/// joined position keeps a `key=` prefix its values share. Positions are
/// swept in order, twice.
pub fn merge(templates: Vec<Template>, min_values: usize) -> Vec<Template> {
    type Partition = (&'static str, Option<Level>, Option<String>, usize);
    let mut groups: BTreeMap<Partition, BTreeMap<Vec<String>, Vec<Template>>> = BTreeMap::new();
    for t in templates {
        let tokens: Vec<String> = t.key.text.split(' ').map(str::to_string).collect();
        let partition = (t.key.kind, t.key.level, t.key.target.clone(), tokens.len());
        groups
            .entry(partition)
            .or_default()
            .entry(tokens)
            .or_default()
            .push(t);
    }
    let mut out = Vec::new();
    for ((kind, level, target, width), mut keys) in groups {
        for _sweep in 0..2 {
            for position in 0..width {
                let mut buckets: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
                for tokens in keys.keys() {
                    let mut masked = tokens.clone();
                    masked[position] = String::new();
                    buckets
                        .entry(masked)
                        .or_default()
                        .insert(tokens[position].clone());
                }
                let mut joined: BTreeMap<Vec<String>, Vec<Template>> = BTreeMap::new();
                for (mut tokens, members) in std::mem::take(&mut keys) {
                    let mut masked = tokens.clone();
                    masked[position] = String::new();
                    let values = &buckets[&masked];
                    if values.len() >= min_values && keeps_words(&masked) {
                        tokens[position] = joined_token(values);
                    }
                    joined.entry(tokens).or_default().extend(members);
                }
                keys = joined;
            }
        }
        for (tokens, members) in keys {
            out.push(join_templates(
                kind,
                level,
                target.clone(),
                tokens.join(" "),
                members,
            ));
        }
    }
    out
}

/// Whether a template with a joined position (the empty token) would still
/// say something: at least two words without a mask, and more words than
/// masks (else "<*>" would swallow every one-word line).
fn keeps_words(tokens: &[String]) -> bool {
    let words = tokens
        .iter()
        .filter(|t| !t.is_empty() && !t.contains(MASK))
        .count();
    words >= 2 && words > tokens.len() - words
}

/// `<*>`, or `key=<*>` when every value has that prefix.
fn joined_token(values: &BTreeSet<String>) -> String {
    let first = values.iter().next().map_or("", String::as_str);
    if let Some(eq) = field_key_len(first) {
        let prefix = &first[..=eq];
        if values.iter().all(|v| v.starts_with(prefix)) {
            return format!("{prefix}{MASK}");
        }
    }
    MASK.to_string()
}

fn join_templates(
    kind: &'static str,
    level: Option<Level>,
    target: Option<String>,
    text: String,
    mut members: Vec<Template>,
) -> Template {
    if members.len() == 1 {
        let mut only = members.pop().expect("one member");
        if only.key.text != text {
            only.key.text = text;
            only.id = only.key.id();
        }
        return only;
    }
    let key = Key {
        kind,
        level,
        target,
        text,
    };
    members.sort_by(|a, b| {
        (&a.example.source, a.example.line).cmp(&(&b.example.source, b.example.line))
    });
    let mut lines: Vec<u64> = members
        .iter()
        .flat_map(|t| t.lines.iter().copied())
        .collect();
    lines.sort_unstable();
    let first = members.iter().filter_map(|t| t.first_seen).min();
    let last = members.iter().filter_map(|t| t.last_seen).max();
    let count = members.iter().map(|t| t.count).sum();
    let example = members.swap_remove(0).example;
    let mut minutes: Vec<(i64, u32)> = Vec::new();
    let mut unbounded = 0;
    for member in &members {
        for (minute, n) in &member.minutes {
            add_to_bin(&mut minutes, *minute, *n, &mut unbounded);
        }
    }
    Template {
        id: key.id(),
        key,
        count,
        first_seen: first,
        last_seen: last,
        example,
        lines,
        minutes,
    }
}

impl Table {
    /// Every template, owned (for the merge pass).
    pub fn into_templates(self) -> Vec<Template> {
        self.templates.into_values().collect()
    }
}

/// Fingerprints (`fingerprint_with`) → the template id the full key gave
/// for them: one is trusted alone once `CHECKS` full keys agreed, and one
/// that ever disagreed is never trusted. Bounded: past `MAX` fingerprints
/// new ones are not remembered (their lines keep being keyed in full).
#[derive(Debug, Default)]
pub struct Fingerprints {
    known: HashMap<u64, (u64, u8), IdHash>,
}

impl Fingerprints {
    /// Full keys that agree before a fingerprint is trusted alone.
    pub const CHECKS: u8 = 2;
    /// Fingerprints remembered (per input part: a bound on memory).
    pub const MAX: usize = 16_384;

    /// The template id of a trusted fingerprint.
    #[inline]
    pub fn trusted(&self, fingerprint: u64) -> Option<u64> {
        self.known
            .get(&fingerprint)
            .filter(|(_, checks)| *checks >= Self::CHECKS)
            .map(|(id, _)| *id)
    }

    /// The full key of a line with `fingerprint` gave template `id`.
    pub fn confirm(&mut self, fingerprint: u64, id: u64) {
        let room = self.known.len() < Self::MAX;
        match self.known.get_mut(&fingerprint) {
            // Confirmed once more; a fingerprint that ever disagrees with
            // the full key is never trusted (checks stay at 0).
            Some((known, checks)) if *known == id && *checks > 0 => {
                *checks = checks.saturating_add(1)
            }
            Some((known, checks)) if *known != id => *checks = 0,
            Some(_) => {}
            None if room => {
                self.known.insert(fingerprint, (id, 1));
            }
            None => {}
        }
    }
}

/// A hash of a plain text line's level, target and message in which every
/// run of digits counts as one digit, except in the `key=` part of a token
/// and in a token that ends in `:` (where a template keeps digits): lines
/// with the same fingerprint have the same template key, so a miner can
/// count a line by its fingerprint without parsing and masking it. `rest`
/// is the line after its timestamp. (Callers check a fingerprint against
/// the full key on its first uses.)
pub fn fingerprint(rest: &[u8]) -> u64 {
    fingerprint_with(rest, &mut Vec::new())
}

/// `fingerprint`, with a scratch buffer kept by the caller (the scan's
/// loop calls it for every line mined). The bytes up to the next digit are
/// copied whole (found eight bytes at a time); a run of digits is kept or
/// made one digit by the rules of its token (its `=`, its final `:`),
/// found only then. The normalised text is hashed a word at a time. A tab
/// is kept as itself (two lines that differ only there get two
/// fingerprints: finer, never coarser, than one fingerprint per key).
pub fn fingerprint_with(rest: &[u8], buf: &mut Vec<u8>) -> u64 {
    fingerprint_and_kept(rest, buf).0
}

/// `fingerprint_with`, and whether a run of digits was kept as written
/// (in a `key=` part or a token ending in `:`). When none was, every text
/// that differs from `rest` only in its digits (`digit_probe`) has the
/// same fingerprint: where tokens, `=` and runs are depends on the other
/// bytes and on where digits are, not on which digits.
pub fn fingerprint_and_kept(rest: &[u8], buf: &mut Vec<u8>) -> (u64, bool) {
    match Classes::of(rest) {
        Some(classes) => fingerprint_classes(rest, &classes, buf),
        None => fingerprint_bytes(rest, buf),
    }
}

/// A hash of `rest` with every digit read as `0` (`None` past
/// `classes::MAX` bytes): with `fingerprint_and_kept`, lets a miner
/// remember a line's fingerprint by a hash that costs a fifth as much.
#[inline]
pub fn digit_probe(rest: &[u8]) -> Option<u64> {
    (rest.len() <= classes::MAX).then(|| classes::hash_digits_as_zero(rest))
}

/// `fingerprint_with` by bit masks (`classes`: those of `rest`): the same
/// value, with the digit runs, their tokens' ends and `=` found by bit
/// operations, and the bytes copied a segment between masked runs at a
/// time.
fn fingerprint_classes(rest: &[u8], classes: &Classes, buf: &mut Vec<u8>) -> (u64, bool) {
    buf.clear();
    let mut kept = false;
    let n = rest.len();
    // The token of the last run: where it ends (`NOT_FOUND` when only
    // known to hold no blank from the last run to the next), and up to
    // where its digits are kept as written.
    const NOT_FOUND: usize = usize::MAX;
    let mut token_end = 0usize;
    let mut keep_to = 0usize;
    let mut last_run_end = 0usize;
    // `rest[copied..]` is not in `buf` yet.
    let mut copied = 0;
    let mut i = 0;
    loop {
        let digit = classes.next(Class::Digit, i);
        if digit == n {
            break;
        }
        let run_end = classes.next_not(Class::Digit, digit);
        let new_token = if token_end == NOT_FOUND {
            classes.any(Class::Blank, last_run_end, digit)
        } else {
            digit >= token_end
        };
        if new_token {
            let before = digit.checked_sub(1).map(|at| rest[at]);
            if before == Some(b'=') {
                // `key=` just before: the token's first `=` is before
                // every digit of it from here on (its end is not needed).
                token_end = NOT_FOUND;
                keep_to = 0;
            } else {
                let start = match before {
                    None | Some(b' ' | b'\t') => digit,
                    Some(_) => classes.prev(Class::Blank, digit).map_or(0, |p| p + 1),
                };
                token_end = classes.next(Class::Blank, run_end);
                let eq = classes.next(Class::Eq, start);
                keep_to = if eq < token_end {
                    eq
                } else if rest[token_end - 1] == b':' {
                    token_end
                } else {
                    start
                };
            }
        }
        if digit >= keep_to {
            buf.extend_from_slice(&rest[copied..digit]);
            buf.push(b'0');
            copied = run_end;
        } else {
            kept = true;
        }
        last_run_end = run_end;
        i = run_end;
    }
    buf.extend_from_slice(&rest[copied..]);
    (hash_words(buf), kept)
}

/// `fingerprint_with` a byte loop at a time: lines past `classes::MAX`,
/// and the reference the tests hold `fingerprint_classes` to.
fn fingerprint_bytes(rest: &[u8], buf: &mut Vec<u8>) -> (u64, bool) {
    let mut kept = false;
    let is_separator = |b: u8| b == b' ' || b == b'\t';
    buf.clear();
    buf.reserve(rest.len());
    // The current digits' token: where it ends and up to where its
    // digits are kept as written.
    let mut token_end = 0usize;
    let mut keep_to = 0usize;
    let mut i = 0;
    while i < rest.len() {
        let digit = next_digit(rest, i);
        buf.extend_from_slice(&rest[i..digit]);
        if digit == rest.len() {
            break;
        }
        let run_end = rest[digit..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(rest.len(), |p| digit + p);
        if digit >= token_end {
            let start = rest[..digit]
                .iter()
                .rposition(|c| is_separator(*c))
                .map_or(0, |p| p + 1);
            token_end = rest[run_end..]
                .iter()
                .position(|c| is_separator(*c))
                .map_or(rest.len(), |p| run_end + p);
            let token = &rest[start..token_end];
            keep_to = match token.iter().position(|c| *c == b'=') {
                Some(eq) => start + eq,
                None if token.ends_with(b":") => token_end,
                None => start,
            };
        }
        // A run is all before `keep_to` or all after it (`=` and the
        // token's ends are no digits).
        if digit < keep_to {
            buf.extend_from_slice(&rest[digit..run_end]);
            kept = true;
        } else {
            buf.push(b'0');
        }
        i = run_end;
    }
    (hash_words(buf), kept)
}

/// The first `byte` at or after `from` (`bytes.len()` if none), eight
/// bytes at a time (short spans: no call, unlike `memchr`).
#[inline]
fn next_byte(bytes: &[u8], mut from: usize, byte: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let x =
            u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ (ONES * u64::from(byte));
        // A zero byte of `x`; the lowest flagged byte is one.
        let flags = x.wrapping_sub(ONES) & !x & HIGHS;
        if flags != 0 {
            return from + (flags.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    bytes[from..]
        .iter()
        .position(|b| *b == byte)
        .map_or(bytes.len(), |p| from + p)
}

/// The first ASCII digit at or after `from` (`bytes.len()` if none), eight
/// bytes at a time.
#[inline]
fn next_digit(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // A byte of `x` below 10 is a digit. `x - 10` borrows upwards only
        // from such a byte, so the lowest flagged byte is a digit.
        let x = word ^ (ONES * u64::from(b'0'));
        let flags = x.wrapping_sub(ONES * 10) & !x & HIGHS;
        if flags != 0 {
            return from + (flags.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    bytes[from..]
        .iter()
        .position(u8::is_ascii_digit)
        .map_or(bytes.len(), |p| from + p)
}

/// A 64-bit hash of `bytes`, a word at a time.
fn hash_words(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        h = (h.rotate_left(23) ^ word).wrapping_mul(K);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    }
    // Final mix (splitmix64's).
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A coarse key of a plain RisingWave text line (`rest`: the line after
/// its timestamp): its level, its target (the last of the tokens ending in
/// `:` that follow the level, unless it holds a digit) and up to two words
/// of its message (32 bytes), up to the first token a template could mask
/// or reorder (one with a digit or a `=`, or of 8+ characters with no
/// letter past `f`). The lines of one template have one coarse key; several
/// templates can share one. Discovery's windows use it to tell which
/// templates a node never wrote before without mining every line, so it is
/// cheap: token ends found in bit masks (`classes`), each piece hashed in
/// place.
pub fn coarse_key(rest: &[u8]) -> u64 {
    coarse_key_by_head(rest).0
}

/// `coarse_key`, and whether it was found in the first `COARSE_HEAD`
/// bytes alone (those `coarse_probe` hashes).
#[inline]
pub fn coarse_key_by_head(rest: &[u8]) -> (u64, bool) {
    let head = &rest[..rest.len().min(COARSE_HEAD)];
    match Classes::of(head).and_then(|classes| coarse_key_classes(rest, &classes)) {
        Some(key) => (key, true),
        None => (coarse_key_bytes(rest), false),
    }
}

/// A plain line's probe (`rest`: the line after its timestamp): the hash
/// of its first `COARSE_HEAD` bytes with every digit read as `0`, and of
/// whether more follow. Two plain RisingWave lines (a level word holds no
/// digit) with one probe have one coarse key when `coarse_key_by_head`
/// found it in those bytes: the key reads a digit only as "a digit" and
/// hashes no span that holds one. So a caller can remember a line's
/// coarse key by its probe, which costs a fifth as much.
#[inline(always)]
pub fn coarse_probe(rest: &[u8]) -> u64 {
    let hash = classes::hash_digits_as_zero(&rest[..rest.len().min(COARSE_HEAD)]);
    if rest.len() > COARSE_HEAD {
        !hash
    } else {
        hash
    }
}

/// The bytes `coarse_key` classifies: its level, target and two words
/// nearly always end before.
const COARSE_HEAD: usize = 128;

/// `coarse_key` by bit masks (`classes`: those of the first bytes of
/// `rest`); `None` when it needs the bytes after those.
fn coarse_key_classes(rest: &[u8], classes: &Classes) -> Option<u64> {
    let n = classes.len();
    let cut = rest.len() > n;
    // A search that ends where a cut text ends needs the bytes after it.
    let known = |at: usize| (!cut || at < n).then_some(at);
    let skip = |at: usize| known(classes.next_not(Class::Space, at));
    let end_of = |at: usize| known(classes.next(Class::Space, at));
    let level_start = skip(0)?;
    let level_end = end_of(level_start)?;
    let mut targets = 0;
    let mut target = (level_end, level_end);
    let mut at = skip(level_end)?;
    loop {
        let end = end_of(at)?;
        if end > at && rest[end - 1] == b':' {
            targets += 1;
            target = (at, end);
            at = skip(end)?;
        } else {
            break;
        }
    }
    let mut words_end = at;
    let mut used = 0;
    for _ in 0..2 {
        let end = end_of(at)?;
        let t = &rest[at..end];
        let kept = !t.is_empty()
            && !classes.any(Class::Digit, at, end)
            && !classes.any(Class::Eq, at, end)
            && (t.len() < 8 || t.iter().any(|b| matches!(b, b'g'..=b'z' | b'G'..=b'Z')));
        if !kept || used + t.len() > 32 {
            break;
        }
        used += t.len() + 1;
        words_end = end;
        at = skip(end)?;
    }
    let target_ok = !classes.any(Class::Digit, target.0, target.1.min(target.0 + 64));
    let words_start = skip(target.1.max(level_end))?;
    Some(coarse_hash(
        rest,
        CoarseSpans {
            level: (level_start, level_end),
            targets,
            target,
            target_ok,
            words: (words_start, words_end),
        },
    ))
}

/// Where `coarse_key` found a line's parts.
struct CoarseSpans {
    level: (usize, usize),
    /// Tokens ending in `:` after the level; `target`: the last of them.
    targets: usize,
    target: (usize, usize),
    /// The target's first 64 bytes hold no digit.
    target_ok: bool,
    /// The words kept (`words.1`: where they end, else where the message
    /// starts).
    words: (usize, usize),
}

/// The coarse key of a line's parts.
fn coarse_hash(rest: &[u8], spans: CoarseSpans) -> u64 {
    let CoarseSpans {
        level: (level_start, level_end),
        targets,
        target,
        target_ok,
        words: (words_start, words_end),
    } = spans;
    if targets <= 1 && target_ok && target.1 - target.0 <= 64 {
        // The usual line: level, target and words are one run of bytes.
        return hash_words(&rest[level_start..words_end.max(level_end)]);
    }
    // Spans, or a target with a digit: the pieces one by one.
    let mut h = hash_words(&rest[level_start..level_end]) ^ 0x5bd1_e995;
    let target_bytes: &[u8] = if target_ok {
        &rest[target.0..target.1.min(target.0 + 64)]
    } else {
        b""
    };
    h = (h.rotate_left(29) ^ hash_words(target_bytes)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if words_end > words_start {
        h = (h.rotate_left(29) ^ hash_words(&rest[words_start..words_end]))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    h
}

/// `coarse_key` a byte loop at a time: lines whose parts run past
/// `COARSE_HEAD`, and the reference the tests hold `coarse_key_classes`
/// to.
fn coarse_key_bytes(rest: &[u8]) -> u64 {
    // Token ends by a byte loop: the tokens are short, a call costs more.
    let n = rest.len();
    let skip = |mut at: usize| {
        while at < n && rest[at] == b' ' {
            at += 1;
        }
        at
    };
    let end_of = |at: usize| next_byte(rest, at, b' ');
    let level_start = skip(0);
    let level_end = end_of(level_start);
    // The tokens ending in `:` (spans, then the target).
    let mut targets = 0;
    let mut target = (level_end, level_end);
    let mut at = skip(level_end);
    loop {
        let end = end_of(at);
        if end > at && rest[end - 1] == b':' {
            targets += 1;
            target = (at, end);
            at = skip(end);
        } else {
            break;
        }
    }
    let mut words_end = at;
    let mut used = 0;
    for _ in 0..2 {
        let end = end_of(at);
        let t = &rest[at..end];
        let kept = !t.is_empty()
            && next_digit(t, 0) == t.len()
            && next_byte(t, 0, b'=') == t.len()
            && (t.len() < 8 || t.iter().any(|b| matches!(b, b'g'..=b'z' | b'G'..=b'Z')));
        if !kept || used + t.len() > 32 {
            break;
        }
        used += t.len() + 1;
        words_end = end;
        at = skip(end);
    }
    let target_bytes = &rest[target.0..target.1.min(target.0 + 64)];
    let target_ok = next_digit(target_bytes, 0) == target_bytes.len();
    let words_start = skip(target.1.max(level_end));
    coarse_hash(
        rest,
        CoarseSpans {
            level: (level_start, level_end),
            targets,
            target,
            target_ok,
            words: (words_start, words_end),
        },
    )
}

/// What the windows before restarts and ends found at the levels below the
/// one mined (discovery, issue 17): each part of an input keeps it in its
/// coverage, and the parts merge exactly.
#[derive(Debug, Default, Clone)]
pub struct WindowMined {
    /// Templates of the lines below the mined level in a window (the last
    /// minutes before a start-up banner or the end of a part) whose coarse
    /// key the part had not seen before that window.
    pub table: Table,
    /// Each such line: its template id and time (milliseconds), so that a
    /// window's lines can be counted whatever the parts were.
    pub entries: Vec<(u64, i64)>,
    /// Lines past `MAX_WINDOW_ENTRIES` (not counted in a row).
    pub entries_dropped: u64,
    /// The coarse key (`coarse_key`) of every plain line below the mined
    /// level → the first second it was seen, and how many of its lines
    /// were kept for the windows (at most `MAX_KEPT_PER_KEY`).
    pub coarse: HashMap<u64, (i64, u32), IdHash>,
    /// A template id of `table` → its coarse key.
    pub coarse_of: HashMap<u64, u64, IdHash>,
    /// The first second a coarse key could not be kept (`MAX_COARSE_KEYS`):
    /// after it, no template is said to be new to its node.
    pub coarse_full_from: Option<i64>,
    /// Event lines below the mined level in another shape than plain text
    /// (JSON, pretty, wrapped): their coarse keys are not read, so no
    /// template of that input is said to be new at those levels.
    pub other_shape_lines: u64,
    /// Lines dropped from the copy of recent lines by its byte cap while
    /// they were still within a window of the newest line.
    pub dropped_lines: u64,
}

/// Lines kept per coarse key and part for the windows: a row's count stops
/// there (`Row::count_at_least`), whatever the parts, and a burst of lines
/// in one second cannot fill the copy.
pub const MAX_KEPT_PER_KEY: u32 = 32;
/// Coarse keys kept per part.
pub const MAX_COARSE_KEYS: usize = 16_384;
/// Window lines kept per part for counting (`WindowMined::entries`).
pub const MAX_WINDOW_ENTRIES: usize = 65_536;
/// The window before a restart or the end of an input, by default.
pub const DEFAULT_WINDOW_SECS: i64 = 120;

impl WindowMined {
    /// Records a plain line's coarse key at `second`; returns whether the
    /// line is to be kept for the windows: its key was first seen less than
    /// `window` seconds before, and fewer than `MAX_KEPT_PER_KEY` of its
    /// lines were kept.
    #[inline]
    pub fn note(&mut self, coarse: u64, second: i64, window: i64) -> bool {
        let room = self.coarse.len() < MAX_COARSE_KEYS;
        match self.coarse.get_mut(&coarse) {
            Some((first, kept)) => {
                if second < *first {
                    *first = second;
                }
                if *first >= second - window && *kept < MAX_KEPT_PER_KEY {
                    *kept += 1;
                    return true;
                }
                false
            }
            None if room => {
                self.coarse.insert(coarse, (second, 1));
                true
            }
            None => {
                let full = self.coarse_full_from.get_or_insert(second);
                *full = (*full).min(second);
                false
            }
        }
    }

    /// Adds the next part of the same input (`line_offset`: the lines
    /// before it).
    pub fn absorb(&mut self, other: WindowMined, line_offset: u64) {
        self.table.absorb(other.table, line_offset);
        self.entries.extend(other.entries);
        self.entries_dropped += other.entries_dropped;
        for (key, (second, kept)) in other.coarse {
            let first = self.coarse.entry(key).or_insert((second, 0));
            first.0 = first.0.min(second);
            first.1 = first.1.saturating_add(kept);
        }
        for (id, key) in other.coarse_of {
            self.coarse_of.entry(id).or_insert(key);
        }
        self.coarse_full_from = match (self.coarse_full_from, other.coarse_full_from) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.other_shape_lines += other.other_shape_lines;
        self.dropped_lines += other.dropped_lines;
    }
}

/// Minute bins kept per table: past this, lines are counted in
/// `Table::unbinned_lines` (counts stay exact; only the bins are cut).
pub const MAX_BINS: usize = 262_144;

/// Adds `n` to the bin of `minute` (kept sorted; lines mostly come in time
/// order, so the last bin is checked first). False when a new bin would
/// pass `MAX_BINS` (`used` counts the bins of the table).
fn add_to_bin(bins: &mut Vec<(i64, u32)>, minute: i64, n: u32, used: &mut usize) -> bool {
    if let Some(last) = bins.last_mut() {
        if last.0 == minute {
            last.1 = last.1.saturating_add(n);
            return true;
        }
    }
    match bins.binary_search_by_key(&minute, |b| b.0) {
        Ok(at) => {
            bins[at].1 = bins[at].1.saturating_add(n);
            true
        }
        Err(_) if *used >= MAX_BINS => false,
        Err(at) => {
            bins.insert(at, (minute, n));
            *used += 1;
            true
        }
    }
}

impl Table {
    /// Adds the templates of `other`: the next part of the same input
    /// (`line_offset`: the lines before that part) or another input
    /// (`line_offset` 0; the example kept is the earliest one). Keys are
    /// pure, so the result does not depend on how the input was split.
    pub fn absorb(&mut self, other: Table, line_offset: u64) {
        self.lines += other.lines;
        self.overflow_lines += other.overflow_lines;
        self.unbinned_lines += other.unbinned_lines;
        let mut incoming: Vec<Template> = other.templates.into_values().collect();
        // In (source, line) order, so the cap keeps the same templates
        // whatever the split.
        incoming.sort_by(|a, b| {
            (&a.example.source, a.example.line).cmp(&(&b.example.source, b.example.line))
        });
        for mut t in incoming {
            if line_offset > 0 {
                t.example.line += line_offset;
                for line in &mut t.lines {
                    *line += line_offset;
                }
            }
            if let Some(mine) = self.templates.get_mut(&t.id) {
                mine.count += t.count;
                let earlier = match (t.first_seen, mine.first_seen) {
                    (Some(theirs), Some(ours)) => theirs < ours,
                    _ => false,
                };
                if earlier && line_offset == 0 {
                    mine.example = t.example;
                }
                mine.first_seen = earliest_of(mine.first_seen, t.first_seen);
                mine.last_seen = match (mine.last_seen, t.last_seen) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                mine.lines.extend(t.lines);
                for (minute, n) in t.minutes {
                    if !add_to_bin(&mut mine.minutes, minute, n, &mut self.bins) {
                        self.unbinned_lines += u64::from(n);
                    }
                }
                continue;
            }
            let origin = t.key.kind.to_string();
            let used = self.per_origin.entry(origin).or_default();
            if *used >= MAX_TEMPLATES_PER_ORIGIN {
                self.overflow_lines += t.count;
                continue;
            }
            *used += 1;
            let minutes = std::mem::take(&mut t.minutes);
            for (minute, n) in minutes {
                if !add_to_bin(&mut t.minutes, minute, n, &mut self.bins) {
                    self.unbinned_lines += u64::from(n);
                }
            }
            self.templates.insert(t.id, t);
        }
    }

    /// One more line of a template already in the table (by id): what
    /// `add` does for a key it has; false when the id is not there.
    pub fn add_seen(&mut self, id: u64, timestamp: Option<Timestamp>, line: u64) -> bool {
        let Some(template) = self.templates.get_mut(&id) else {
            return false;
        };
        self.lines += 1;
        template.count += 1;
        if let Some(ts) = timestamp {
            if template.first_seen.is_none_or(|f| ts < f) {
                template.first_seen = Some(ts);
            }
            if template.last_seen.is_none_or(|l| ts > l) {
                template.last_seen = Some(ts);
            }
            if !add_to_bin(
                &mut template.minutes,
                ts.timestamp().div_euclid(60),
                1,
                &mut self.bins,
            ) {
                self.unbinned_lines += 1;
            }
        }
        if self.keep_lines {
            template.lines.push(line);
        }
        true
    }

    /// Whether the table has this template.
    pub fn contains(&self, id: u64) -> bool {
        self.templates.contains_key(&id)
    }

    /// The templates, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }
}

fn earliest_of(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Templates most frequent first (then by first line read).
pub fn sort_templates(all: &mut [&Template]) {
    all.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.example.source.cmp(&b.example.source))
            .then_with(|| a.example.line.cmp(&b.example.line))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// How a template compares with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not once in the baseline.
    New,
    /// Much more frequent than in the baseline, and not by chance.
    Increased,
    /// As in the baseline (or not significantly more).
    Same,
    /// Frequent in the baseline, absent here although expected.
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Increased => "increased",
            Status::Same => "same",
            Status::Gone => "gone",
        }
    }
}

/// One template compared with the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub status: Status,
    pub baseline_count: u64,
    /// −log10 of the Poisson tail (capped at 50); 50 for a new template.
    pub score: f64,
    /// The smoothed rate ratio, target over baseline.
    pub rate_ratio: f64,
}

/// Compares a template seen `count` times in `lines` mined lines with the
/// baseline's `baseline_count` in `baseline_lines` (§5.5 of the study):
/// new when the baseline has none; increased when the smoothed rate ratio
/// ((c+1)/(n+1)) / ((c_b+1)/(n_b+1)) is at least 5, the count at least 5
/// and the Poisson tail P(X >= c | λ = c_b·n/n_b + 0.5) under 10⁻³ (robust
/// to small counts: 3 against 0 is not "increased", it is new, and 6
/// against 2 in logs of the same size is neither); gone when the baseline
/// has at least 10, this none, and at least 5 were expected.
pub fn compare(count: u64, lines: u64, baseline_count: u64, baseline_lines: u64) -> Comparison {
    let (n, cb, nb) = (
        lines as f64,
        baseline_count as f64,
        baseline_lines.max(1) as f64,
    );
    let rate_ratio = rate_ratio(count, lines, baseline_count, baseline_lines);
    let expected = cb * n / nb;
    let p = poisson_tail(count, expected + 0.5);
    let score = (-p.max(1e-300).log10()).clamp(0.0, 50.0);
    let status = if count > 0 && baseline_count == 0 {
        Status::New
    } else if count == 0 && baseline_count >= 10 && expected >= 5.0 {
        Status::Gone
    } else if rate_ratio >= INCREASE_RATIO && count >= INCREASE_COUNT && p < 1e-3 {
        Status::Increased
    } else {
        Status::Same
    };
    Comparison {
        status,
        baseline_count,
        score: if status == Status::New { 50.0 } else { score },
        rate_ratio,
    }
}

/// The rate here over the rate in the baseline, each count plus one
/// (`compare`'s `rate_ratio`; `Increased` needs 5 or more).
pub fn rate_ratio(count: u64, lines: u64, baseline_count: u64, baseline_lines: u64) -> f64 {
    let (c, n, cb, nb) = (
        count as f64,
        lines as f64,
        baseline_count as f64,
        baseline_lines.max(1) as f64,
    );
    ((c + 1.0) / (n + 1.0)) / ((cb + 1.0) / (nb + 1.0))
}

/// The least `rate_ratio` and count `compare` calls an increase.
pub const INCREASE_RATIO: f64 = 5.0;
pub const INCREASE_COUNT: u64 = 5;

/// P(X >= k) for X ~ Poisson(λ), summed in log space from k up.
pub fn poisson_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if (k as f64) <= lambda {
        return 1.0 - poisson_tail_below(k, lambda);
    }
    let ln_term = |i: f64| -lambda + i * lambda.ln() - ln_factorial(i);
    let first = ln_term(k as f64);
    let mut sum = 0.0;
    let mut i = k as f64;
    loop {
        let term = (ln_term(i) - first).exp();
        sum += term;
        if term < 1e-12 || i > k as f64 + 100_000.0 {
            break;
        }
        i += 1.0;
    }
    (first.exp() * sum).min(1.0)
}

/// P(X < k), for k at or below the mean (where the lower sum is short).
fn poisson_tail_below(k: u64, lambda: f64) -> f64 {
    (0..k)
        .map(|i| (-lambda + i as f64 * lambda.ln() - ln_factorial(i as f64)).exp())
        .sum::<f64>()
        .min(1.0)
}

/// ln(n!): exact below 256, Stirling's series above.
fn ln_factorial(n: f64) -> f64 {
    if n < 256.0 {
        (2..=n as u64).map(|i| (i as f64).ln()).sum()
    } else {
        n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the testdata files (each cut at every space in its
    /// first 40 bytes, as a timestamp could end there), random texts of
    /// the classes' alphabet, and lines past `COARSE_HEAD` and `MAX`.
    fn texts_for_fast_paths() -> Vec<Vec<u8>> {
        fn walk(dir: &std::path::Path, out: &mut Vec<Vec<u8>>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("testdata")
                .map(|e| e.expect("entry").path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    for line in bytes.split(|b| *b == b'\n') {
                        for (at, b) in line.iter().enumerate().take(40) {
                            if *b == b' ' {
                                out.push(line[at..].to_vec());
                            }
                        }
                        out.push(line.to_vec());
                    }
                }
            }
        }
        let mut texts = Vec::new();
        walk(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .as_path(),
            &mut texts,
        );
        texts.extend(classes::tests::random_texts(3_000, 3));
        let long = " INFO spans{a=1}: x{b=2}: risingwave_meta::barrier::very::long::target::name::here: word";
        for pad in [0, 40, 80, 120, 200] {
            let mut text = b" ".repeat(pad);
            text.extend_from_slice(long.as_bytes());
            text.extend_from_slice(b" epoch=1 x".repeat(30).as_slice());
            for cut in (0..text.len()).step_by(7) {
                texts.push(text[..cut].to_vec());
            }
        }
        texts
    }

    #[test]
    fn fast_keys_are_the_byte_loops_keys() {
        let texts = texts_for_fast_paths();
        assert!(texts.len() > 10_000, "{} texts", texts.len());
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for text in &texts {
            let shown = String::from_utf8_lossy(text);
            assert_eq!(
                coarse_key(text),
                coarse_key_bytes(text),
                "coarse key of {shown:?}"
            );
            assert_eq!(
                fingerprint_and_kept(text, &mut fast),
                fingerprint_bytes(text, &mut slow),
                "fingerprint of {shown:?}"
            );
            assert_eq!(fast, slow, "normalised {shown:?}");
        }
    }

    #[test]
    fn a_fingerprint_is_trusted_after_two_agreeing_keys_and_never_after_a_disagreement() {
        let mut known = Fingerprints::default();
        known.confirm(1, 10);
        assert_eq!(known.trusted(1), None);
        known.confirm(1, 10);
        assert_eq!(known.trusted(1), Some(10));
        known.confirm(1, 11);
        assert_eq!(known.trusted(1), None);
        known.confirm(1, 10);
        known.confirm(1, 10);
        assert_eq!(known.trusted(1), None, "a disagreement is for good");
        for fp in 2..Fingerprints::MAX as u64 + 10 {
            known.confirm(fp, 20);
            known.confirm(fp, 20);
        }
        assert_eq!(
            known.trusted(Fingerprints::MAX as u64 + 5),
            None,
            "past the bound"
        );
        assert_eq!(known.trusted(2), Some(20));
    }

    /// `text` with every digit `d` made `d + by` (mod 10).
    fn digits_shifted(text: &[u8], by: u8) -> Vec<u8> {
        text.iter()
            .map(|b| {
                if b.is_ascii_digit() {
                    b'0' + (b - b'0' + by) % 10
                } else {
                    *b
                }
            })
            .collect()
    }

    #[test]
    fn lines_with_one_probe_have_one_coarse_key() {
        // The probe's promise, on every plain line of the testdata and on
        // the random texts after a level word: a line with its digits
        // changed has the same probe, and, when its key was found in the
        // head, the same key.
        let mut texts: Vec<Vec<u8>> = texts_for_fast_paths()
            .into_iter()
            .filter_map(|t| record::plain_risingwave_level_at(&t).map(|(_, at)| t[at..].to_vec()))
            .collect();
        assert!(texts.len() > 1_000, "{} plain lines", texts.len());
        for random in classes::tests::random_texts(2_000, 9) {
            let mut text = b" INFO ".to_vec();
            text.extend_from_slice(&random);
            texts.push(text);
        }
        for text in &texts {
            let shifted = digits_shifted(text, 7);
            let shown = String::from_utf8_lossy(text);
            assert_eq!(coarse_probe(text), coarse_probe(&shifted), "{shown:?}");
            let (key, by_head) = coarse_key_by_head(text);
            assert_eq!(coarse_key_by_head(&shifted), (key, by_head), "{shown:?}");
        }
    }

    #[test]
    fn lines_with_one_digit_probe_and_no_digit_kept_have_one_fingerprint() {
        let (mut buf, mut kept_any, mut checked) = (Vec::new(), 0, 0);
        for text in texts_for_fast_paths() {
            let shifted = digits_shifted(&text, 3);
            let shown = String::from_utf8_lossy(&text);
            assert_eq!(digit_probe(&text), digit_probe(&shifted), "{shown:?}");
            assert_eq!(digit_probe(&text).is_some(), text.len() <= classes::MAX);
            let (fingerprint, kept) = fingerprint_and_kept(&text, &mut buf);
            assert_eq!(
                fingerprint_and_kept(&shifted, &mut buf).1,
                kept,
                "{shown:?}"
            );
            if kept {
                kept_any += 1;
            } else {
                checked += 1;
                let other = fingerprint_and_kept(&shifted, &mut buf).0;
                assert_eq!(other, fingerprint, "{shown:?}");
            }
        }
        assert!(
            kept_any > 100 && checked > 1_000,
            "{kept_any} kept, {checked} checked"
        );
    }

    fn key(line: &str) -> Key {
        let mut clean = Vec::new();
        record::strip_ansi(line.as_bytes(), &mut clean);
        let line = String::from_utf8(clean).unwrap();
        key_of(&parse_line(&line, 2024))
    }

    #[test]
    fn numbers_ids_hex_uuids_addresses_and_durations_are_masked() {
        assert_eq!(
            mask("lease 7587003312299851199 keep alive timeout"),
            "lease <*> keep alive timeout"
        );
        assert_eq!(
            mask("deleted 18 objects up to SST 128303"),
            "deleted <*> objects up to SST <*>"
        );
        assert_eq!(
            mask("object deadbeefcafe uuid 123e4567-e89b-12d3-a456-426614174000 at 10.0.0.1:5690 [::1]:80 took 1.5s"),
            "object <*> uuid <*> at <*> <*> took <*>"
        );
        assert_eq!(
            mask("worker_id=3 host=rw-compute-0:5688 worker_type=ComputeNode"),
            "host=<*> worker_id=<*> worker_type=ComputeNode"
        );
        // A list or tuple of ids is one mask, whatever its length.
        assert_eq!(mask("epoch (12, 13) done."), "epoch <*> done.");
        assert_eq!(
            mask("reset ids=[1, 22, 333] workers=[WorkerId(1), WorkerId(2)] left=[7]"),
            "reset ids=<*> left=<*> workers=<*>"
        );
        assert_eq!(
            mask("cols=[a, b] none=[] mixed=[1, a]"),
            "cols=[a, b] mixed=[<*>, a] none=[]"
        );
        assert_eq!(mask(&"x".repeat(65)), "<*>");
        assert_eq!(
            mask("synchronized to LOCAL(0), stratum 10"),
            "synchronized to <*>, stratum <*>"
        );
    }

    #[test]
    fn inner_error_text_is_kept_and_the_grpc_tail_cut() {
        assert_eq!(
            mask("lease keeper failed error=grpc request error: status: Unavailable, message: \"etcdserver: request timed out, waiting for the applied index took too long\", details: [], metadata: MetadataMap { headers: {} }"),
            "lease keeper failed error=grpc request error: status: Unavailable message=\"etcdserver: request timed out, waiting for the applied index took too long\""
        );
    }

    #[test]
    fn the_same_event_has_one_id_in_every_shape() {
        let text = "2024-02-11T06:04:51.384684Z ERROR risingwave_meta::rpc::election::etcd: lease keeper failed error=grpc request error: status: Unavailable, message: \"etcdserver: request timed out\", details: [], metadata: MetadataMap { headers: {} }";
        let shapes = [
            r#"{"timestamp":"2024-02-11T06:04:51.384684Z","level":"ERROR","fields":{"message":"lease keeper failed","error":"grpc request error: status: Unavailable, message: \"etcdserver: request timed out\", details: [], metadata: MetadataMap { headers: {} }"},"target":"risingwave_meta::rpc::election::etcd","threadName":"rw-main"}"#.to_string(),
            "  2024-02-11T06:04:51.384684Z ERROR risingwave_meta::rpc::election::etcd: lease keeper failed, error: grpc request error: status: Unavailable, message: \"etcdserver: request timed out\", details: [], metadata: MetadataMap { headers: {} }".to_string(),
            format!("[pod/rw-meta-0/meta] 2024-02-11T06:04:51.384684000Z {text}"),
            format!("\u{1b}[2m{}\u{1b}[0m{}", &text[..27], &text[27..]),
        ];
        let reference = key(text);
        assert_eq!(reference.kind, "risingwave");
        for line in &shapes {
            assert_eq!(key(line), reference, "{line}");
        }
        // A dotted field name (`barrier.epoch = ..`) in pretty.
        assert_eq!(
            key("  2024-02-11T06:04:51Z  INFO a::b: ListFinish:, barrier.epoch: 7, actor_id: 3"),
            key("2024-02-11T06:04:51Z  INFO a::b: ListFinish: barrier.epoch=7 actor_id=3")
        );
        // JSON sorts its fields; the text keeps the order they were written.
        let two =
            "2024-02-11T06:04:51Z  INFO risingwave_meta::barrier: done prev_epoch=1 curr_epoch=2";
        let json = r#"{"timestamp":"2024-02-11T06:04:51Z","level":"INFO","fields":{"message":"done","prev_epoch":1,"curr_epoch":2},"target":"risingwave_meta::barrier"}"#;
        assert_eq!(key(two).id(), key(json).id());
    }

    #[test]
    fn lines_in_no_shape_are_their_own_message() {
        let line = "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure";
        let k = key_of(&parse_line(line, 2024));
        assert_eq!(k.kind, "other");
        assert_eq!(k.level, None);
        assert_eq!(k.text, "Jun <*> <*> combo <*>: authentication failure");
    }

    #[test]
    fn the_level_of_a_plain_line_is_read_from_its_bytes() {
        for (line, level) in [
            ("2024-02-11T06:20:29.30117Z ERROR a: b", Some(Level::Error)),
            (
                "2024-02-11T06:20:29Z  INFO risingwave_meta: x",
                Some(Level::Info),
            ),
            (
                "2024-02-11T06:20:29.301433512+08:00  WARN a: b",
                Some(Level::Warn),
            ),
            ("2024-02-11T06:20:29.123456Z DEBUG a: b", Some(Level::Debug)),
            ("[pod/x/y] 2024-02-11T06:20:29Z ERROR a: b", None),
            ("hello", None),
        ] {
            assert_eq!(plain_line_level(line.as_bytes()), level, "{line}");
            if let Some(level) = level {
                assert_eq!(parse_line(line, 2024).record.level, Some(level));
            }
        }
    }

    #[test]
    fn ids_are_stable_and_partitioned_by_level_and_target() {
        let a = key("2024-02-11T06:04:51Z  WARN a::b: slow 1");
        let b = key("2024-02-11T06:04:52Z  WARN a::b: slow 2");
        let c = key("2024-02-11T06:04:52Z ERROR a::b: slow 2");
        let d = key("2024-02-11T06:04:52Z  WARN a::c: slow 2");
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
        assert_ne!(a.id(), d.id());
        assert_eq!(format_id(a.id()).len(), 12);
        // Pinned: the id must not change between versions.
        assert_eq!(format_id(a.id()), format_id(a.clone().id()));
    }

    #[test]
    fn the_merge_pass_joins_a_position_with_many_values() {
        let mut table = Table::new(true);
        let lines = [
            "session opened for user root",
            "session opened for user cyrus",
            "session opened for user news",
            "session closed for user root",
            "session closed for user news",
            "check pass user=alice",
            "check pass user=bob",
            "check pass user=carol",
        ];
        for (n, line) in lines.iter().enumerate() {
            let k = key_of(&parse_line(line, 2024));
            table.add(k, "o", None, "f", n as u64 + 1, line);
        }
        let mut merged = merge(table.into_templates(), 3);
        merged.sort_by(|a, b| a.key.text.cmp(&b.key.text));
        let texts: Vec<(&str, u64, &[u64])> = merged
            .iter()
            .map(|t| (t.key.text.as_str(), t.count, t.lines.as_slice()))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("check pass user=<*>", 3, &[6u64, 7, 8][..]),
                // Two values are not enough.
                ("session closed for user news", 1, &[5][..]),
                ("session closed for user root", 1, &[4][..]),
                ("session opened for user <*>", 3, &[1, 2, 3][..]),
            ]
        );
    }

    #[test]
    fn new_increased_and_gone_are_robust_to_small_counts() {
        assert_eq!(compare(1, 100, 0, 100).status, Status::New);
        assert_eq!(compare(3, 1000, 1, 1000).status, Status::Same);
        assert_eq!(compare(6, 1000, 2, 1000).status, Status::Same);
        assert_eq!(compare(40, 1000, 2, 1000).status, Status::Increased);
        // The same rate in a bigger log is not an increase.
        assert_eq!(compare(400, 100_000, 4, 1000).status, Status::Same);
        assert_eq!(compare(0, 1000, 50, 1000).status, Status::Gone);
        assert_eq!(compare(0, 10, 50, 1000).status, Status::Same);
        let tail = poisson_tail(10, 1.0);
        assert!((tail - 1.114e-7).abs() < 1e-9, "{tail}");
        assert!((poisson_tail(1, 2.0) - (1.0 - (-2f64).exp())).abs() < 1e-12);
        assert!(compare(1000, 1000, 1, 1000).score <= 50.0);
    }

    #[test]
    fn the_table_caps_templates_per_origin_and_keeps_counts_exact() {
        let mut table = Table::new(true);
        for i in 0..MAX_TEMPLATES_PER_ORIGIN + 10 {
            let k = Key {
                kind: "other",
                level: None,
                target: None,
                text: format!("word{}", "x".repeat(i % 60) + &"y".repeat(i / 60)),
            };
            table.add(k, "o", None, "f", i as u64 + 1, "t");
        }
        assert_eq!(table.len(), MAX_TEMPLATES_PER_ORIGIN);
        assert_eq!(table.overflow_lines, 10);
        let k = Key {
            kind: "other",
            level: None,
            target: None,
            text: "word".to_string(),
        };
        table.add(k.clone(), "o", None, "f", 99_999, "t");
        let t = table.get(k.id()).unwrap();
        assert_eq!(t.count, 2);
        assert_eq!(t.lines, vec![1, 99_999]);
        let id = k.id();
        table.add(k, "p", None, "f", 100_000, "t");
        assert_eq!(table.get(id).unwrap().count, 3);
    }
}

//! Hits waiting for the time merge, on disk when there are too many to keep
//! in memory. Several inputs are merged into one timeline by time, so the
//! hits of an input scanned early wait until every other input has caught
//! up; a log with millions of matching lines would otherwise hold them all
//! in memory. Batches past a memory budget are encoded into one anonymous
//! temporary file (unlinked at once, gone when the process ends) and read
//! back in order; if no temporary file can be written, they stay in memory:
//! nothing is ever dropped.
use crate::facts::FactKind;
use crate::matcher::SignalRef;
use crate::model::{Level, Timestamp};
use crate::record::Shape;
use crate::scan::Hit;
use chrono::{FixedOffset, TimeZone};
use std::fs::File;
use std::io::{self, Write};
use std::sync::Mutex;

/// The memory a hit holds, roughly: what the budget counts.
pub fn footprint(hit: &Hit) -> usize {
    std::mem::size_of::<Hit>()
        + hit.text.capacity()
        + hit.message.capacity()
        + hit.target.as_ref().map_or(0, String::capacity)
        + hit.origin.as_ref().map_or(0, String::capacity)
        + hit.signals.capacity() * std::mem::size_of::<SignalRef>()
        + hit
            .facts
            .iter()
            .map(|(_, value)| std::mem::size_of::<(FactKind, String)>() + value.capacity())
            .sum::<usize>()
}

/// One temporary file, shared by every input of a scan; created on first use.
#[derive(Default)]
pub struct SpillFile {
    file: Mutex<SpillState>,
}

#[derive(Default)]
struct SpillState {
    file: Option<File>,
    /// Bytes written so far (where the next batch goes).
    end: u64,
    /// Creating or writing the file failed once: keep everything in memory.
    unusable: bool,
}

impl SpillFile {
    /// Appends `bytes`; returns where they went, or `None` when there is no
    /// usable temporary file (the caller then keeps the batch in memory).
    pub fn write(&self, bytes: &[u8]) -> Option<u64> {
        let mut state = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if state.unusable {
            return None;
        }
        if state.file.is_none() {
            match create_anonymous() {
                Ok(file) => state.file = Some(file),
                Err(_) => {
                    state.unusable = true;
                    return None;
                }
            }
        }
        let offset = state.end;
        let written = state.file.as_mut().map(|file| file.write_all(bytes));
        match written {
            Some(Ok(())) => {
                state.end += bytes.len() as u64;
                Some(offset)
            }
            _ => {
                // A full disk: what was written stays readable, the rest
                // stays in memory.
                state.unusable = true;
                None
            }
        }
    }

    /// Reads back `len` bytes written at `offset`.
    pub fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let state = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let file = state
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("temporary file missing"))?;
        let mut bytes = vec![0; len];
        read_exact_at(file, &mut bytes, offset)?;
        Ok(bytes)
    }
}

#[cfg(unix)]
fn create_anonymous() -> io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..16u64 {
        let path = dir.join(format!(
            ".rwdoctor-spill-{}-{}-{nanos}-{attempt}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                // Unlinked at once: the file lives as long as it is open.
                let _ = std::fs::remove_file(&path);
                return Ok(file);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other("no free temporary file name"))
}

#[cfg(not(unix))]
fn create_anonymous() -> io::Result<File> {
    Err(io::Error::other("spilling is only implemented on unix"))
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(_: &File, _: &mut [u8], _: u64) -> io::Result<()> {
    Err(io::Error::other("spilling is only implemented on unix"))
}

/// Encodes a batch of hits.
pub fn encode(hits: &[Hit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hits.iter().map(|h| h.text.len() + 96).sum());
    put_uint(&mut out, hits.len() as u64);
    for hit in hits {
        encode_hit(&mut out, hit);
    }
    out
}

/// Decodes a batch `encode` wrote.
pub fn decode(bytes: &[u8]) -> io::Result<Vec<Hit>> {
    let mut reader = Reader { bytes, at: 0 };
    let count = reader.uint()?;
    // Each hit takes at least a dozen bytes: a corrupt count cannot make
    // this allocate much.
    let mut hits = Vec::with_capacity((count as usize).min(bytes.len() / 12 + 1));
    for _ in 0..count {
        hits.push(reader.hit()?);
    }
    Ok(hits)
}

fn encode_hit(out: &mut Vec<u8>, hit: &Hit) {
    put_uint(out, hit.input as u64);
    put_uint(out, hit.line);
    put_time(out, hit.timestamp);
    put_time(out, hit.sort_time);
    out.push(hit.level.map_or(0, level_code));
    put_opt_str(out, hit.target.as_deref());
    put_opt_str(out, hit.origin.as_deref());
    out.push(hit.shape.index() as u8);
    put_str(out, &hit.text);
    put_str(out, &hit.message);
    match hit.highlight {
        Some((start, end)) => {
            out.push(1);
            put_uint(out, start as u64);
            put_uint(out, end as u64);
        }
        None => out.push(0),
    }
    put_uint(out, hit.signals.len() as u64);
    for signal in &hit.signals {
        put_uint(out, u64::from(signal.rule));
        put_uint(out, u64::from(signal.signal));
    }
    put_uint(out, hit.facts.len() as u64);
    for (kind, value) in &hit.facts {
        out.push(fact_code(*kind));
        put_str(out, value);
    }
    match &hit.before {
        Some(before) => {
            out.push(1);
            encode_hit(out, before);
        }
        None => out.push(0),
    }
}

fn level_code(level: Level) -> u8 {
    match level {
        Level::Trace => 1,
        Level::Debug => 2,
        Level::Info => 3,
        Level::Warn => 4,
        Level::Error => 5,
        Level::Fatal => 6,
    }
}

fn level_of(code: u8) -> io::Result<Option<Level>> {
    Ok(Some(match code {
        0 => return Ok(None),
        1 => Level::Trace,
        2 => Level::Debug,
        3 => Level::Info,
        4 => Level::Warn,
        5 => Level::Error,
        6 => Level::Fatal,
        _ => return Err(corrupt("level")),
    }))
}

fn fact_code(kind: FactKind) -> u8 {
    match kind {
        FactKind::MetaStarting => 0,
        FactKind::Version => 1,
        FactKind::LeaseSecs => 2,
        FactKind::Backend => 3,
        FactKind::ElectionMember => 4,
        FactKind::NodeStarting => 5,
        FactKind::NodeStopping => 6,
    }
}

fn fact_of(code: u8) -> io::Result<FactKind> {
    Ok(match code {
        0 => FactKind::MetaStarting,
        1 => FactKind::Version,
        2 => FactKind::LeaseSecs,
        3 => FactKind::Backend,
        4 => FactKind::ElectionMember,
        5 => FactKind::NodeStarting,
        6 => FactKind::NodeStopping,
        _ => return Err(corrupt("fact")),
    })
}

fn put_uint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_int(out: &mut Vec<u8>, value: i64) {
    put_uint(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_uint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => {
            out.push(1);
            put_str(out, text);
        }
        None => out.push(0),
    }
}

fn put_time(out: &mut Vec<u8>, time: Option<Timestamp>) {
    match time {
        Some(time) => {
            out.push(1);
            put_int(out, time.timestamp());
            put_uint(out, u64::from(time.timestamp_subsec_nanos()));
            put_int(out, i64::from(time.offset().local_minus_utc()));
        }
        None => out.push(0),
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("temporary hit file is corrupt ({what})"),
    )
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> io::Result<u8> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| corrupt("end"))?;
        self.at += 1;
        Ok(byte)
    }

    fn uint(&mut self) -> io::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("number"))
    }

    fn usize(&mut self) -> io::Result<usize> {
        usize::try_from(self.uint()?).map_err(|_| corrupt("size"))
    }

    fn int(&mut self) -> io::Result<i64> {
        let raw = self.uint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn string(&mut self) -> io::Result<String> {
        let len = self.usize()?;
        let end = self.at.checked_add(len).ok_or_else(|| corrupt("length"))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| corrupt("text"))?;
        self.at = end;
        String::from_utf8(slice.to_vec()).map_err(|_| corrupt("utf-8"))
    }

    fn opt_string(&mut self) -> io::Result<Option<String>> {
        match self.byte()? {
            0 => Ok(None),
            _ => self.string().map(Some),
        }
    }

    fn time(&mut self) -> io::Result<Option<Timestamp>> {
        if self.byte()? == 0 {
            return Ok(None);
        }
        let secs = self.int()?;
        let nanos = u32::try_from(self.uint()?).map_err(|_| corrupt("time"))?;
        let offset = i32::try_from(self.int()?).map_err(|_| corrupt("time"))?;
        let zone = FixedOffset::east_opt(offset).ok_or_else(|| corrupt("zone"))?;
        zone.timestamp_opt(secs, nanos)
            .single()
            .map(Some)
            .ok_or_else(|| corrupt("time"))
    }

    fn hit(&mut self) -> io::Result<Hit> {
        let input = self.usize()?;
        let line = self.uint()?;
        let timestamp = self.time()?;
        let sort_time = self.time()?;
        let level = level_of(self.byte()?)?;
        let target = self.opt_string()?;
        let origin = self.opt_string()?;
        let shape = *Shape::ALL
            .get(usize::from(self.byte()?))
            .ok_or_else(|| corrupt("shape"))?;
        let text = self.string()?;
        let message = self.string()?;
        let highlight = match self.byte()? {
            0 => None,
            _ => Some((self.usize()?, self.usize()?)),
        };
        let signal_count = self.usize()?;
        let mut signals = Vec::with_capacity(signal_count.min(64));
        for _ in 0..signal_count {
            let rule = u16::try_from(self.uint()?).map_err(|_| corrupt("signal"))?;
            let signal = u16::try_from(self.uint()?).map_err(|_| corrupt("signal"))?;
            signals.push(SignalRef { rule, signal });
        }
        let fact_count = self.usize()?;
        let mut facts = Vec::with_capacity(fact_count.min(64));
        for _ in 0..fact_count {
            let kind = fact_of(self.byte()?)?;
            facts.push((kind, self.string()?));
        }
        let before = match self.byte()? {
            0 => None,
            _ => Some(Box::new(self.hit()?)),
        };
        Ok(Hit {
            input,
            line,
            timestamp,
            sort_time,
            level,
            target,
            origin,
            shape,
            text,
            message,
            highlight,
            signals,
            facts,
            before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(line: u64) -> Hit {
        let zone = FixedOffset::east_opt(8 * 3600).unwrap();
        let time = zone.timestamp_opt(1_707_632_412, 512_000_123).single();
        Hit {
            input: 3,
            line,
            timestamp: if line.is_multiple_of(2) { time } else { None },
            sort_time: time,
            level: Some(Level::Warn),
            target: Some("risingwave_meta::rpc::election::etcd".into()),
            origin: if line.is_multiple_of(3) {
                Some("rw-meta-0".into())
            } else {
                None
            },
            shape: Shape::ALL[(line as usize) % Shape::ALL.len()],
            text: format!("line {line} \u{0}\u{1b} é ✓"),
            message: "lease keeper failed".into(),
            highlight: Some((0, 5)),
            signals: vec![SignalRef {
                rule: 7,
                signal: 300,
            }],
            facts: vec![(FactKind::ElectionMember, "rw-meta-0:5690".into())],
            before: line.is_multiple_of(5).then(|| {
                let mut before = hit(line + 1);
                before.facts = vec![(FactKind::NodeStarting, "meta".into())];
                Box::new(before)
            }),
        }
    }

    #[test]
    fn hits_round_trip_exactly() {
        let hits: Vec<Hit> = (0..50).map(hit).collect();
        assert_eq!(decode(&encode(&hits)).unwrap(), hits);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<Hit>::new());
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        let bytes = encode(&(0..5).map(hit).collect::<Vec<_>>());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..500 {
            let mut noisy = bytes.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % noisy.len() as u64) as usize;
                noisy[at] = (state >> 32) as u8;
            }
            let _ = decode(&noisy);
        }
    }

    #[test]
    fn the_file_gives_back_what_was_written() {
        let spill = SpillFile::default();
        let a = encode(&[hit(1)]);
        let b = encode(&[hit(2), hit(3)]);
        let (Some(at_a), Some(at_b)) = (spill.write(&a), spill.write(&b)) else {
            eprintln!("no temporary file can be written here: skipped");
            return;
        };
        assert_eq!(spill.read(at_b, b.len()).unwrap(), b);
        assert_eq!(spill.read(at_a, a.len()).unwrap(), a);
    }
}

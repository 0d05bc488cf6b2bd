//! Tar and zip archives, read member by member: each regular file in one is
//! an input of its own (`bundle.tar.gz:logs/meta-0.log`, its own line
//! numbers), found when the arguments are expanded.
//!
//! A zip has an index at its end: its members are listed from it, and each
//! is read on its own (a seek to its data), so they are scanned side by
//! side like files. A tar (plain or compressed) is one stream: it is read
//! once at expansion to list its members (headers only for a plain tar,
//! which is seekable; the whole stream decoded for a compressed one), and
//! then once more by the scan, the members in turn from one shared stream
//! (`TarStream`): the worker that takes member k waits until the member
//! before it has been read. Nothing is extracted to disk; memory is a
//! header and the decoders' buffers.
use super::{decompressed, InputError, InputSpec, Magic};
use crate::text::describe_io_error;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A member of an archive: where it is and how to read it.
#[derive(Clone)]
pub struct Member {
    pub archive: PathBuf,
    /// Its path inside the archive.
    pub name: String,
    size: u64,
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// The `index`-th regular file of the tar read by `stream`.
    Tar {
        stream: Arc<TarStream>,
        index: usize,
    },
    Zip(ZipEntry),
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Member({})", self.display_name())
    }
}

impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        self.archive == other.archive
            && self.name == other.name
            && match (&self.source, &other.source) {
                (Source::Tar { index: a, .. }, Source::Tar { index: b, .. }) => a == b,
                (Source::Zip(a), Source::Zip(b)) => a.offset == b.offset,
                _ => false,
            }
    }
}

impl Eq for Member {}

impl Member {
    pub fn display_name(&self) -> String {
        format!("{}:{}", self.archive.display(), self.name)
    }

    /// Its uncompressed size as the archive states it.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its bytes, as stored (a `.log.gz` member still gzip).
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match &self.source {
            Source::Tar { stream, index } => TarStream::open_member(stream, *index, &self.name),
            Source::Zip(entry) => entry.open(&self.archive),
        }
    }
}

/// Replaces each archive among `specs` by its members, in archive order;
/// what cannot be read of one is an error naming it.
pub(super) fn expand_archives(
    specs: Vec<InputSpec>,
    errors: &mut Vec<InputError>,
) -> Vec<InputSpec> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let InputSpec::File(path) = &spec else {
            out.push(spec);
            continue;
        };
        let error = |message: String| InputError {
            name: path.display().to_string(),
            message,
        };
        match what_is(path) {
            Ok((Magic::Tar, layers)) => {
                let before = out.len();
                if let Err(err) = list_tar(path, &layers, &mut out) {
                    errors.push(error(format!("tar archive: {}", describe_io_error(&err))));
                } else if out.len() == before {
                    errors.push(error(
                        "a tar archive with no regular file in it".to_string(),
                    ));
                }
            }
            Ok((Magic::Zip, layers)) if layers.is_empty() => {
                let before = out.len();
                if let Err(err) = list_zip(path, &mut out, errors) {
                    errors.push(error(format!("zip archive: {}", describe_io_error(&err))));
                } else if out.len() == before
                    && !errors
                        .iter()
                        .any(|e| e.name.starts_with(&format!("{}:", path.display())))
                {
                    errors.push(error("a zip archive with no file in it".to_string()));
                }
            }
            // Read, for the error that names it, when opened.
            _ => out.push(spec),
        }
    }
    out
}

/// What a regular file is under its compression layers (`Text` when it
/// cannot be told: the scan opens it and says why).
fn what_is(path: &Path) -> io::Result<(Magic, Vec<&'static str>)> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        // A FIFO would lose what was read to sniff it.
        return Ok((Magic::Text, Vec::new()));
    }
    let (mut stream, layers, _) = decompressed(Box::new(File::open(path)?))?;
    let mut head = Vec::with_capacity(super::containers::SNIFF_BYTES);
    // A decoding error here is the scan's to report.
    let _ = (&mut stream)
        .take(super::containers::SNIFF_BYTES as u64)
        .read_to_end(&mut head);
    Ok((super::containers::sniff(&head), layers))
}

/// A tar header block's fields.
struct TarEntry {
    name: String,
    size: u64,
    regular: bool,
}

const BLOCK: u64 = 512;

/// The largest member size a tar header may state (1 EiB).
const MAX_TAR_SIZE: u64 = 1 << 60;

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

fn octal(field: &[u8]) -> io::Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256, for sizes of 8 GiB and more.
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*b)))
                .ok_or_else(|| invalid("a tar size field out of range"))?;
        }
        return Ok(value);
    }
    let text: Vec<u8> = field
        .iter()
        .copied()
        .filter(|b| *b != 0 && *b != b' ')
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    let text = std::str::from_utf8(&text).map_err(|_| invalid("a tar number that is not octal"))?;
    u64::from_str_radix(text, 8).map_err(|_| invalid("a tar number that is not octal"))
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

fn text_field(field: &[u8]) -> String {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the next entry's header(s) (a GNU long name or a pax header come
/// before the entry they name), leaving the stream at its data; `None` at
/// the end of the archive. `at` counts the archive's bytes read.
fn next_tar_entry(input: &mut dyn Read, at: &mut u64) -> io::Result<Option<TarEntry>> {
    let mut long_name: Option<String> = None;
    loop {
        let mut header = [0u8; BLOCK as usize];
        let start = *at;
        match read_full(input, &mut header)? {
            0 => return Ok(None),
            n if n < header.len() => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated: the archive ends inside the header at byte {start}"),
                ))
            }
            _ => {}
        }
        *at += BLOCK;
        if header.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let stored = octal(&header[148..156])?;
        let sum: u64 = header
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if stored != sum {
            return Err(invalid(&format!(
                "not a tar header at byte {start} (its checksum does not match)"
            )));
        }
        let size = octal(&header[124..136])?;
        // A base-256 field holds up to 2^95; no file is an exbibyte, and
        // offsets past this one would overflow.
        if size > MAX_TAR_SIZE {
            return Err(invalid(&format!(
                "a tar member of {size} bytes at byte {start}: the size is out of range"
            )));
        }
        let kind = header[156];
        match kind {
            b'L' | b'x' => {
                // The next entry's name, as data: a GNU long name, or pax
                // records (`len key=value\n`) of which `path` is the one
                // wanted. Bounded: a name is not megabytes.
                if size > 1 << 20 {
                    return Err(invalid(&format!(
                        "a tar name of {size} bytes at byte {start}"
                    )));
                }
                let mut data = vec![0u8; padded(size) as usize];
                if read_full(input, &mut data)? < data.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("truncated: the archive ends inside the header at byte {start}"),
                    ));
                }
                *at += padded(size);
                data.truncate(size as usize);
                if kind == b'L' {
                    long_name = Some(text_field(&data));
                } else if let Some(path) = pax_path(&data) {
                    long_name = Some(path);
                }
                continue;
            }
            _ => {}
        }
        let name = long_name.take().unwrap_or_else(|| {
            let name = text_field(&header[..100]);
            let prefix = if &header[257..262] == b"ustar" {
                text_field(&header[345..500])
            } else {
                String::new()
            };
            if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            }
        });
        return Ok(Some(TarEntry {
            name,
            size,
            regular: matches!(kind, b'0' | 0 | b'7'),
        }));
    }
}

fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = memchr::memchr(b' ', rest)?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        let record = rest.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(b"path=") {
            let value = value.strip_suffix(b"\n").unwrap_or(value);
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        rest = &rest[len..];
    }
    None
}

/// Reads until `buf` is full or the stream ends; the bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Skips `count` bytes of the archive; an error if it ends first.
fn skip(input: &mut dyn BufRead, mut count: u64, what: &str) -> io::Result<()> {
    while count > 0 {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated: the archive ends inside {what}"),
            ));
        }
        let n = available
            .len()
            .min(usize::try_from(count).unwrap_or(usize::MAX));
        input.consume(n);
        count -= n as u64;
    }
    Ok(())
}

/// Lists a tar's regular files as member specs sharing one stream.
fn list_tar(path: &Path, layers: &[&'static str], out: &mut Vec<InputSpec>) -> io::Result<()> {
    let stream = Arc::new(TarStream {
        archive: path.to_path_buf(),
        state: Mutex::new(TarState::default()),
        turn: Condvar::new(),
    });
    let mut file = File::open(path)?;
    let mut at = 0u64;
    let mut push = |entry: TarEntry, index: usize| {
        out.push(InputSpec::Member(Member {
            archive: path.to_path_buf(),
            name: entry.name,
            size: entry.size,
            source: Source::Tar {
                stream: Arc::clone(&stream),
                index,
            },
        }))
    };
    let mut index = 0;
    if layers.is_empty() {
        // A plain tar on disk: headers only, seeking over the data.
        let len = file.metadata()?.len();
        // A member cut short is still listed: its scan reads what there is
        // and says where it ends.
        while let Some(entry) = next_tar_entry(&mut file, &mut at)? {
            let (size, name) = (entry.size, entry.name.clone());
            if entry.regular {
                push(entry, index);
                index += 1;
            }
            if at.saturating_add(size) > len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated: the archive ends inside member {name}"),
                ));
            }
            at += padded(size);
            file.seek(SeekFrom::Start(at))?;
        }
        return Ok(());
    }
    let (mut input, _, _) = decompressed(Box::new(file))?;
    while let Some(entry) = next_tar_entry(&mut input, &mut at)? {
        let (size, name) = (entry.size, entry.name.clone());
        if entry.regular {
            push(entry, index);
            index += 1;
        }
        skip(&mut input, padded(size), &format!("member {name}"))?;
        at += padded(size);
    }
    Ok(())
}

/// One tar's stream, read by the scan a member at a time, in order.
pub(super) struct TarStream {
    archive: PathBuf,
    state: Mutex<TarState>,
    /// Signalled when a member has been read to its end.
    turn: Condvar,
}

#[derive(Default)]
struct TarState {
    input: Option<Box<dyn BufRead + Send>>,
    /// The regular file whose turn it is.
    next: usize,
    /// Bytes of the archive read.
    at: u64,
    /// Why the stream cannot go on.
    broken: Option<String>,
    /// A member is being read.
    active: bool,
}

/// How long a member waits for the one before it to be opened and read.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

impl TarStream {
    fn lock(&self) -> MutexGuard<'_, TarState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_member(
        stream: &Arc<Self>,
        index: usize,
        name: &str,
    ) -> io::Result<Box<dyn Read + Send>> {
        let mut state = stream.lock();
        // The member before this one is normally opened at once by another
        // worker: wait for it to be read (a member being read always ends:
        // at its end or when dropped), but not forever, so that members
        // opened out of order, or one never opened, cannot hang the scan:
        // past the wait the stream is moved on to this member, or started
        // again when it is already past it (one more decode, never a loss).
        let deadline = std::time::Instant::now() + TURN_WAIT;
        loop {
            if state.active {
                state = stream.turn.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let now = std::time::Instant::now();
            if state.next >= index || now >= deadline {
                break;
            }
            state = stream
                .turn
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if state.next > index {
            *state = TarState::default();
        }
        let found = Self::find(stream, &mut state, index, name);
        match found {
            Ok(size) => {
                state.active = true;
                Ok(Box::new(TarMember {
                    stream: Arc::clone(stream),
                    index,
                    left: size,
                    padding: padded(size) - size,
                    done: false,
                }))
            }
            Err(err) => {
                state.broken.get_or_insert_with(|| describe_io_error(&err));
                state.input = None;
                stream.turn.notify_all();
                Err(err)
            }
        }
    }

    /// Moves the stream to the data of regular file `index`; its size.
    fn find(stream: &Self, state: &mut TarState, index: usize, name: &str) -> io::Result<u64> {
        if let Some(broken) = &state.broken {
            return Err(io::Error::other(format!(
                "not read: the archive could not be read before it ({broken})"
            )));
        }
        if state.input.is_none() {
            let (input, _, _) = decompressed(Box::new(File::open(&stream.archive)?))?;
            state.input = Some(input);
        }
        let TarState {
            input, at, next, ..
        } = state;
        let input = input.as_mut().expect("opened above");
        loop {
            let Some(entry) = next_tar_entry(input, at)? else {
                return Err(invalid(
                    "the archive changed since it was listed: the member is gone",
                ));
            };
            if !entry.regular {
                skip(input, padded(entry.size), "a header")?;
                *at += padded(entry.size);
                continue;
            }
            if *next < index {
                // A member before this one, not scanned by now: passed over.
                skip(input, padded(entry.size), "a member")?;
                *at += padded(entry.size);
                *next += 1;
                continue;
            }
            if entry.name != name {
                return Err(invalid(
                    "the archive changed since it was listed: another member is in its place",
                ));
            }
            return Ok(entry.size);
        }
    }
}

/// One tar member's data, read from the shared stream; the member after it
/// may be opened once it has been read to its end (or dropped).
struct TarMember {
    stream: Arc<TarStream>,
    index: usize,
    left: u64,
    padding: u64,
    done: bool,
}

impl TarMember {
    /// Skips what is left of the member and hands the stream on.
    fn finish(&mut self, state: &mut TarState) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let rest = self.left + self.padding;
        self.left = 0;
        let result = match state.input.as_mut() {
            Some(input) => skip(input.as_mut(), rest, "a member"),
            None => Ok(()),
        };
        state.at += rest;
        if let Err(err) = &result {
            state.broken.get_or_insert_with(|| describe_io_error(err));
        }
        state.next = self.index + 1;
        state.active = false;
        self.stream.turn.notify_all();
        result
    }
}

impl Read for TarMember {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let stream = Arc::clone(&self.stream);
        let mut state = stream.lock();
        if self.left == 0 {
            self.finish(&mut state)?;
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let result = match state.input.as_mut() {
            Some(input) => input.read(&mut buf[..want]),
            None => Ok(0),
        };
        match result {
            Ok(0) => {
                let err = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "truncated: the archive ends inside this member, {} bytes before its end",
                        self.left
                    ),
                );
                state.broken.get_or_insert_with(|| describe_io_error(&err));
                self.done = true;
                state.next = self.index + 1;
                state.active = false;
                stream.turn.notify_all();
                Err(err)
            }
            Ok(n) => {
                self.left -= n as u64;
                state.at += n as u64;
                Ok(n)
            }
            Err(err) => {
                state.broken.get_or_insert_with(|| describe_io_error(&err));
                self.done = true;
                state.next = self.index + 1;
                state.active = false;
                stream.turn.notify_all();
                Err(err)
            }
        }
    }
}

impl Drop for TarMember {
    fn drop(&mut self) {
        let stream = Arc::clone(&self.stream);
        let mut state = stream.lock();
        let _ = self.finish(&mut state);
    }
}

/// A zip member, from the archive's central directory.
#[derive(Debug, Clone)]
struct ZipEntry {
    /// Of its local header.
    offset: u64,
    compressed: u64,
    size: u64,
    method: u16,
    crc: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32_at(b, at)) | (u64::from(u32_at(b, at + 4)) << 32)
}

/// Lists a zip's files from its central directory; an encrypted member or
/// one compressed by a method not decoded is an error naming it.
fn list_zip(path: &Path, out: &mut Vec<InputSpec>, errors: &mut Vec<InputError>) -> io::Result<()> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    // The end record: 22 bytes and a comment of up to 65,535.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail)?;
    let end = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| {
            invalid("no end of central directory record: the file is cut or not a zip")
        })?;
    let mut entries = u64::from(u16_at(&tail, end + 10));
    let mut directory_size = u64::from(u32_at(&tail, end + 12));
    let mut directory_at = u64::from(u32_at(&tail, end + 16));
    if (entries == 0xffff || directory_at == 0xffff_ffff)
        && end >= 20
        && tail[end - 20..].starts_with(b"PK\x06\x07")
    {
        // Zip64.
        let record_at = u64_at(&tail, end - 20 + 8);
        let mut record = [0u8; 56];
        file.seek(SeekFrom::Start(record_at))?;
        file.read_exact(&mut record)?;
        if !record.starts_with(b"PK\x06\x06") {
            return Err(invalid("a zip64 end record that is not one"));
        }
        entries = u64_at(&record, 32);
        directory_size = u64_at(&record, 40);
        directory_at = u64_at(&record, 48);
    }
    if directory_size > 64 << 20
        || directory_at
            .checked_add(directory_size)
            .is_none_or(|end| end > len)
    {
        return Err(invalid(
            "a central directory outside the file: the file is cut or corrupt",
        ));
    }
    let mut directory = vec![0u8; directory_size as usize];
    file.seek(SeekFrom::Start(directory_at))?;
    file.read_exact(&mut directory)?;
    let mut at = 0usize;
    for _ in 0..entries {
        let fixed = directory
            .get(at..at + 46)
            .filter(|f| f.starts_with(b"PK\x01\x02"))
            .ok_or_else(|| invalid("a corrupt central directory"))?;
        let flags = u16_at(fixed, 8);
        let method = u16_at(fixed, 10);
        let crc = u32_at(fixed, 16);
        let mut compressed = u64::from(u32_at(fixed, 20));
        let mut size = u64::from(u32_at(fixed, 24));
        let name_len = usize::from(u16_at(fixed, 28));
        let extra_len = usize::from(u16_at(fixed, 30));
        let comment_len = usize::from(u16_at(fixed, 32));
        let mut offset = u64::from(u32_at(fixed, 42));
        let name_at = at + 46;
        let extra_at = name_at + name_len;
        let next = extra_at + extra_len + comment_len;
        let (Some(name), Some(mut extra)) = (
            directory.get(name_at..extra_at),
            directory.get(extra_at..extra_at + extra_len),
        ) else {
            return Err(invalid("a corrupt central directory"));
        };
        let name = String::from_utf8_lossy(name).into_owned();
        while extra.len() >= 4 {
            let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
            let Some(data) = extra.get(4..4 + len) else {
                break;
            };
            if id == 1 {
                let mut fields = data.chunks_exact(8).map(|c| u64_at(c, 0));
                if size == 0xffff_ffff {
                    size = fields.next().unwrap_or(size);
                }
                if compressed == 0xffff_ffff {
                    compressed = fields.next().unwrap_or(compressed);
                }
                if offset == 0xffff_ffff {
                    offset = fields.next().unwrap_or(offset);
                }
            }
            extra = &extra[4 + len..];
        }
        at = next;
        if name.ends_with('/') {
            continue;
        }
        let member_name = format!("{}:{name}", path.display());
        if flags & 1 != 0 {
            errors.push(InputError {
                name: member_name,
                message: "an encrypted zip member: rwdoctor does not decrypt; extract it \
                          with its password and name the file"
                    .to_string(),
            });
            continue;
        }
        if !matches!(method, 0 | 8 | 12 | 93) {
            errors.push(InputError {
                name: member_name,
                message: format!(
                    "a zip member compressed by method {method} ({}), which rwdoctor does not \
                     decode; extract it and name the file",
                    zip_method_name(method)
                ),
            });
            continue;
        }
        out.push(InputSpec::Member(Member {
            archive: path.to_path_buf(),
            name,
            size,
            source: Source::Zip(ZipEntry {
                offset,
                compressed,
                size,
                method,
                crc,
            }),
        }));
    }
    Ok(())
}

fn zip_method_name(method: u16) -> &'static str {
    match method {
        1..=6 => "shrink, reduce or implode",
        9 => "deflate64",
        14 => "lzma",
        95 => "xz",
        98 => "ppmd",
        99 => "AES encryption",
        _ => "unknown",
    }
}

impl ZipEntry {
    fn open(&self, archive: &Path) -> io::Result<Box<dyn Read + Send>> {
        let mut file = File::open(archive)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut local = [0u8; 30];
        file.read_exact(&mut local)?;
        if !local.starts_with(b"PK\x03\x04") {
            return Err(invalid(
                "no local header where the central directory points",
            ));
        }
        let skip = u64::from(u16_at(&local, 26)) + u64::from(u16_at(&local, 28));
        file.seek(SeekFrom::Current(skip as i64))?;
        let stored = io::BufReader::with_capacity(256 * 1024, file.take(self.compressed));
        let data: Box<dyn Read + Send> = match self.method {
            0 => Box::new(stored),
            8 => Box::new(flate2::bufread::DeflateDecoder::new(stored)),
            12 => Box::new(bzip2::bufread::BzDecoder::new(stored)),
            _ => Box::new(zstd::stream::read::Decoder::with_buffer(stored)?),
        };
        Ok(Box::new(ZipData {
            data,
            crc: flate2::Crc::new(),
            entry: self.clone(),
        }))
    }
}

/// A zip member's data, its CRC-32 and size checked at its end.
struct ZipData {
    data: Box<dyn Read + Send>,
    crc: flate2::Crc,
    entry: ZipEntry,
}

impl Read for ZipData {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("corrupt zip member data: {}", describe_io_error(&err)),
            )
        })?;
        self.crc.update(&buf[..n]);
        if n == 0
            && !buf.is_empty()
            && (self.crc.sum() != self.entry.crc
                || u64::from(self.crc.amount()) != self.entry.size & 0xffff_ffff)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "corrupt zip member: its checksum or size does not match the data decoded from it",
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(archive: &str) -> Vec<Member> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(archive);
        let mut errors = Vec::new();
        let specs = expand_archives(vec![InputSpec::File(path)], &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        specs
            .into_iter()
            .map(|spec| match spec {
                InputSpec::Member(member) => member,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn read(member: &Member) -> Vec<u8> {
        let mut out = Vec::new();
        member.open().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    /// A ustar header for `name` with the size field `size` and a valid
    /// checksum.
    fn tar_header(name: &[u8], size: &[u8; 12]) -> Vec<u8> {
        let mut header = vec![0u8; 512];
        header[..name.len()].copy_from_slice(name);
        header[100..108].copy_from_slice(b"0000644\0");
        header[124..136].copy_from_slice(size);
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        header
    }

    fn expand_file(path: &Path) -> (Vec<InputSpec>, Vec<InputError>) {
        let mut errors = Vec::new();
        let specs = expand_archives(vec![InputSpec::File(path.to_path_buf())], &mut errors);
        (specs, errors)
    }

    #[test]
    fn a_tar_size_past_any_file_is_an_error_not_an_overflow() {
        // Found while fuzzing: a GNU base-256 size of 2^64 - 1 overflowed
        // the offset arithmetic (a panic in a debug build, a wrapped offset
        // in a release one).
        let dir = tempfile::tempdir().unwrap();
        let mut tar = tar_header(
            b"a.log",
            &[0x80, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255],
        );
        tar.extend_from_slice(&[b'x'; 1024]);
        let plain = dir.path().join("huge.tar");
        std::fs::write(&plain, &tar).unwrap();
        let compressed = dir.path().join("huge.tar.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &tar).unwrap();
        std::fs::write(&compressed, encoder.finish().unwrap()).unwrap();
        for path in [plain, compressed] {
            let (specs, errors) = expand_file(&path);
            assert!(specs.is_empty(), "{specs:?}");
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].message.contains("out of range"), "{errors:?}");
        }
    }

    #[test]
    fn a_zip64_directory_offset_past_any_file_is_an_error_not_an_overflow() {
        let dir = tempfile::tempdir().unwrap();
        // A local header (as a zip starts), a zip64 end record saying the
        // directory is 100 bytes at offset 2^64 - 10, its locator, and the
        // end record pointing to them.
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[0u8; 26]);
        zip.extend_from_slice(b"PK\x06\x06");
        zip.extend_from_slice(&[0u8; 28]);
        zip.extend_from_slice(&1u64.to_le_bytes());
        zip.extend_from_slice(&100u64.to_le_bytes());
        zip.extend_from_slice(&(u64::MAX - 10).to_le_bytes());
        zip.extend_from_slice(b"PK\x06\x07");
        zip.extend_from_slice(&[0u8; 4]);
        zip.extend_from_slice(&30u64.to_le_bytes());
        zip.extend_from_slice(&1u32.to_le_bytes());
        zip.extend_from_slice(b"PK\x05\x06");
        zip.extend_from_slice(&[0u8; 4]);
        zip.extend_from_slice(&[0xff; 4]);
        zip.extend_from_slice(&[0xff; 8]);
        zip.extend_from_slice(&[0u8; 2]);
        let path = dir.path().join("huge.zip");
        std::fs::write(&path, &zip).unwrap();
        let (specs, errors) = expand_file(&path);
        assert!(specs.is_empty(), "{specs:?}");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("outside the file"), "{errors:?}");
    }

    #[test]
    fn tar_members_opened_out_of_order_or_half_read_are_all_read_whole() {
        for archive in [
            "testdata/shapes/containers/bundle.tar",
            "testdata/shapes/containers/bundle.tar.gz",
        ] {
            let members = members(archive);
            assert_eq!(members.len(), 2, "{archive}");
            let in_order: Vec<Vec<u8>> = members.iter().map(read).collect();
            assert_eq!(in_order[0].len() as u64, members[0].size());
            assert_eq!(in_order[1].len() as u64, members[1].size());
            // The second first (on one thread: it must not wait forever for
            // the first), then the first: the stream starts again.
            assert_eq!(read(&members[1]), in_order[1], "{archive}");
            assert_eq!(read(&members[0]), in_order[0], "{archive}");
            // A member dropped half read hands the stream on.
            let mut half = members[0].open().unwrap();
            half.read_exact(&mut [0u8; 10]).unwrap();
            drop(half);
            assert_eq!(read(&members[1]), in_order[1], "{archive}");
            // On a fresh stream, the second before the first was ever
            // opened: passed over after the wait, then read again.
            let fresh = super::tests::members(archive);
            assert_eq!(read(&fresh[1]), in_order[1], "{archive}");
            assert_eq!(read(&fresh[0]), in_order[0], "{archive}");
        }
    }
}

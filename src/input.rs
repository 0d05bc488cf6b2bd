//! Input: stdin, files and directories (recursive, sorted), gzip recognised by
//! its magic bytes (several concatenated members allowed).
use crate::text::describe_io_error;
use flate2::bufread::DeflateDecoder;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One input as the user named it (or as found inside a named directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
}

impl InputSpec {
    /// The name evidence and errors use: the path as given, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Stdin => "<stdin>".to_string(),
            InputSpec::File(path) => path.display().to_string(),
        }
    }
}

/// An input that could not be read (missing file, permission, loop...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub name: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

/// Expands the PATH arguments: none or `-` is stdin, directories are walked
/// recursively (symlinked directories are followed; a loop is reported, not
/// followed). The inputs come back sorted by name, whatever the order of the
/// arguments, so that the report does not depend on it; a file reached twice
/// (named twice, or through a symbolic link) is scanned once.
pub fn expand(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<InputError>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut walked = Walked::default();
    if paths.is_empty() {
        specs.push(InputSpec::Stdin);
    }
    for path in paths {
        if path.as_os_str() == "-" {
            specs.push(InputSpec::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk_dir(path, &mut walked, &mut specs, &mut errors),
            Ok(_) => specs.push(InputSpec::File(path.clone())),
            Err(err) => errors.push(InputError {
                name: path.display().to_string(),
                message: describe_io_error(&err),
            }),
        }
    }
    specs.sort_by_cached_key(InputSpec::display_name);
    let mut seen = HashSet::new();
    specs.retain(|spec| seen.insert(identity(spec)));
    errors.sort_by(|a, b| a.name.cmp(&b.name));
    errors.dedup();
    (specs, errors)
}

/// What makes two inputs the same: the file itself (device and inode), not
/// the name it was reached by.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Identity {
    Stdin,
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(spec: &InputSpec) -> Identity {
    match spec {
        InputSpec::Stdin => Identity::Stdin,
        InputSpec::File(path) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if let Ok(meta) = std::fs::metadata(path) {
                    return Identity::Inode(meta.dev(), meta.ino());
                }
            }
            Identity::Path(path.clone())
        }
    }
}

/// Directories met while expanding, by canonical path.
#[derive(Default)]
struct Walked {
    /// Those being walked, the current one last: a symbolic link back to one
    /// of them is a loop.
    ancestors: Vec<PathBuf>,
    /// Every directory walked: one reached again through another link holds
    /// nothing new (and walking it again could take exponential time).
    done: HashSet<PathBuf>,
}

fn walk_dir(
    dir: &Path,
    walked: &mut Walked,
    specs: &mut Vec<InputSpec>,
    errors: &mut Vec<InputError>,
) {
    let canonical = match std::fs::canonicalize(dir) {
        Ok(canonical) => canonical,
        Err(err) => {
            errors.push(InputError {
                name: dir.display().to_string(),
                message: describe_io_error(&err),
            });
            return;
        }
    };
    if walked.ancestors.contains(&canonical) {
        errors.push(InputError {
            name: dir.display().to_string(),
            message: "directory loop through a symbolic link; not followed again".to_string(),
        });
        return;
    }
    if !walked.done.insert(canonical.clone()) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(InputError {
                name: dir.display().to_string(),
                message: describe_io_error(&err),
            });
            return;
        }
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push(entry.path()),
            Err(err) => errors.push(InputError {
                name: dir.display().to_string(),
                message: format!("cannot list every entry: {}", describe_io_error(&err)),
            }),
        }
    }
    children.sort();
    walked.ancestors.push(canonical);
    for child in children {
        match std::fs::metadata(&child) {
            Ok(meta) if meta.is_dir() => walk_dir(&child, walked, specs, errors),
            Ok(meta) if meta.is_file() => specs.push(InputSpec::File(child)),
            // FIFOs, sockets and devices inside a directory are not logs;
            // named explicitly on the command line they are read.
            Ok(_) => errors.push(InputError {
                name: child.display().to_string(),
                message: "not a regular file; skipped (name it explicitly to read it)".to_string(),
            }),
            Err(err) => errors.push(InputError {
                name: child.display().to_string(),
                message: describe_io_error(&err),
            }),
        }
    }
    walked.ancestors.pop();
}

/// An opened input: a byte stream, decompressed when it was gzip.
pub struct OpenInput {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
    /// Size on disk, when known (for progress and ETA).
    pub size: Option<u64>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Read-ahead for format detection and for the gzip decoder's input.
const READ_BUFFER: usize = 256 * 1024;

/// Where a gzip input is decoded.
#[derive(Clone)]
pub enum GzipDecoding {
    /// On a thread of its own, while the reading thread scans: one input
    /// then keeps two cores busy.
    OwnThread,
    /// On the reading thread, straight into its buffer, while the function
    /// says no core is free (the other cores scan inputs of their own, and
    /// a decoder thread would only take turns with them, at the cost of a
    /// copy and a hand-over per block: 10% more CPU); on a thread of its
    /// own from the moment a core is free.
    WhileBusy(Arc<dyn Fn() -> bool + Send + Sync>),
}

pub fn open(spec: &InputSpec) -> Result<OpenInput, InputError> {
    open_with(spec, |raw| raw, GzipDecoding::OwnThread)
}

/// Opens `spec`, passing its raw byte stream (before gzip decoding) through
/// `wrap_raw` (progress counts the bytes read off the disk there).
pub fn open_with(
    spec: &InputSpec,
    wrap_raw: impl FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send>,
    decoding: GzipDecoding,
) -> Result<OpenInput, InputError> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = match spec {
        InputSpec::Stdin => (Box::new(io::stdin()), None),
        InputSpec::File(path) => {
            let file = File::open(path).map_err(|err| InputError {
                name: spec.display_name(),
                message: describe_io_error(&err),
            })?;
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (Box::new(file), size)
        }
    };
    open_reader_with(&spec.display_name(), wrap_raw(raw), size, decoding)
}

/// Opens an already open byte stream (`--follow` reads through a channel):
/// gzip is recognised by its first bytes.
pub fn open_reader(
    name: &str,
    raw: Box<dyn Read + Send>,
    size: Option<u64>,
) -> Result<OpenInput, InputError> {
    open_reader_with(name, raw, size, GzipDecoding::OwnThread)
}

fn open_reader_with(
    name: &str,
    raw: Box<dyn Read + Send>,
    size: Option<u64>,
    decoding: GzipDecoding,
) -> Result<OpenInput, InputError> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, raw);
    let head = loop {
        match buffered.fill_buf() {
            Ok(head) => break head,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(InputError {
                    name: name.to_string(),
                    message: describe_io_error(&err),
                })
            }
        }
    };
    if head.starts_with(&GZIP_MAGIC) {
        Ok(OpenInput {
            reader: match decoding {
                GzipDecoding::OwnThread => Box::new(DecodedBlocks::spawn(
                    GzipMembers::new(buffered),
                    flate2::Crc::new(),
                )),
                GzipDecoding::WhileBusy(busy) => {
                    Box::new(WhileBusy::new(GzipMembers::new(buffered), busy))
                }
            },
            gzip: true,
            size,
        })
    } else {
        // The head read for detection is served from the buffer; the
        // scanner's later reads (a block minus one partial line) are larger
        // than the buffer, so `BufReader` passes them straight through
        // instead of copying every byte once more.
        const _: () = assert!(crate::lines::BLOCK_SIZE - crate::lines::MAX_LINE > READ_BUFFER);
        Ok(OpenInput {
            reader: Box::new(buffered),
            gzip: false,
            size,
        })
    }
}

/// A gzip file of one or more members (rotated logs joined with `cat`),
/// decoded one member at a time, so that how it ends is known: a file cut
/// inside a member, corrupt data, or bytes after the last member that are
/// not gzip each end the stream with an error saying which (the lines
/// before it are scanned). flate2's `MultiGzDecoder` reports the first two,
/// but takes trailing garbage for a bad header without saying where.
struct GzipMembers<R: BufRead> {
    /// The body of the member being decoded (its header already read);
    /// `None` between members and at the end.
    decoder: Option<DeflateDecoder<Counted<R>>>,
    /// The input, between members.
    between: Option<Counted<R>>,
    /// Members started so far (1-based number of the current one).
    members: u64,
    /// Byte offset in the file where the current member starts.
    member_start: u64,
    finished: bool,
}

/// A buffered reader that counts the bytes consumed and remembers whether
/// the end of its input was met.
struct Counted<R> {
    inner: R,
    consumed: u64,
    at_end: bool,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            self.at_end = true;
        }
        Ok(available)
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

impl<R: BufRead> GzipMembers<R> {
    fn new(inner: R) -> Self {
        GzipMembers {
            decoder: None,
            between: Some(Counted {
                inner,
                consumed: 0,
                at_end: false,
            }),
            members: 0,
            member_start: 0,
            finished: false,
        }
    }

    /// Starts the next member, if any; an error when what follows the last
    /// member is not gzip.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(mut input) = self.between.take() else {
            return Ok(false);
        };
        let head = loop {
            match input.fill_buf() {
                Ok(head) => break head,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        if head.is_empty() {
            return Ok(false);
        }
        if self.members > 0 && !head.starts_with(&GZIP_MAGIC) {
            let zeros = head.iter().all(|b| *b == 0);
            let what = if zeros {
                "zero bytes"
            } else {
                "data that is not gzip"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{what} after gzip member {}, from byte {}",
                    self.members, input.consumed
                ),
            ));
        }
        self.members += 1;
        self.member_start = input.consumed;
        if let Err(err) = read_gzip_header(&mut input) {
            return Err(Self::explain(err, &input, self.members, self.member_start));
        }
        self.decoder = Some(DeflateDecoder::new(input));
        Ok(true)
    }

    /// Says where and why the current member failed.
    fn explain(err: io::Error, input: &Counted<R>, member: u64, member_start: u64) -> io::Error {
        let detail = describe_io_error(&err);
        let message = if input.at_end {
            format!(
                "truncated: the file ends inside gzip member {member}, {} bytes into it",
                input.consumed.saturating_sub(member_start)
            )
        } else {
            format!(
                "corrupt gzip member {member}, found at byte {}: {detail}",
                input.consumed
            )
        };
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}

impl<R: BufRead + Send + 'static> Decode for GzipMembers<R> {
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded> {
        loop {
            if self.finished {
                return Ok(Decoded::End);
            }
            let Some(decoder) = self.decoder.as_mut() else {
                match self.next_member() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.finished = true;
                        return Ok(Decoded::End);
                    }
                    Err(err) => {
                        self.finished = true;
                        return Err(err);
                    }
                }
            };
            match decoder.read(buf) {
                Ok(0) if !buf.is_empty() => {
                    // The deflate data ended: the 8-byte trailer follows.
                    let input = decoder.get_mut();
                    let mut trailer = [0u8; 8];
                    if let Err(err) = input.read_exact(&mut trailer) {
                        let err = Self::explain(err, input, self.members, self.member_start);
                        self.finished = true;
                        self.decoder = None;
                        return Err(err);
                    }
                    let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
                    let end = MemberEnd {
                        crc: u32::from_le_bytes([c0, c1, c2, c3]),
                        size: u32::from_le_bytes([s0, s1, s2, s3]),
                        member: self.members,
                        at: input.consumed,
                    };
                    self.between = self.decoder.take().map(DeflateDecoder::into_inner);
                    return Ok(Decoded::MemberEnd(end));
                }
                Ok(n) => return Ok(Decoded::Bytes(n)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    let err =
                        Self::explain(err, decoder.get_ref(), self.members, self.member_start);
                    self.finished = true;
                    self.decoder = None;
                    return Err(err);
                }
            }
        }
    }
}

/// Reads a gzip member's header (RFC 1952) up to its deflate data,
/// skipping the optional extra field, name and comment without keeping
/// them (a name with no end would otherwise fill memory).
fn read_gzip_header(input: &mut impl BufRead) -> io::Result<()> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut crc = flate2::Crc::new();
    let mut fixed = [0u8; 10];
    input.read_exact(&mut fixed)?;
    crc.update(&fixed);
    if fixed[..2] != GZIP_MAGIC {
        return Err(invalid("invalid gzip header"));
    }
    if fixed[2] != 8 {
        return Err(invalid("unknown gzip compression method"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("reserved gzip header flags set"));
    }
    if flags & FEXTRA != 0 {
        let mut length = [0u8; 2];
        input.read_exact(&mut length)?;
        crc.update(&length);
        skip_header_bytes(
            input,
            &mut crc,
            Some(usize::from(u16::from_le_bytes(length))),
        )?;
    }
    if flags & FNAME != 0 {
        skip_header_bytes(input, &mut crc, None)?;
    }
    if flags & FCOMMENT != 0 {
        skip_header_bytes(input, &mut crc, None)?;
    }
    if flags & FHCRC != 0 {
        let mut stored = [0u8; 2];
        input.read_exact(&mut stored)?;
        if u16::from_le_bytes(stored) != (crc.sum() & 0xffff) as u16 {
            return Err(invalid("gzip header checksum mismatch"));
        }
    }
    Ok(())
}

/// Skips `count` header bytes, or (`None`) up to and including a zero byte.
fn skip_header_bytes(
    input: &mut impl BufRead,
    crc: &mut flate2::Crc,
    mut count: Option<usize>,
) -> io::Result<()> {
    loop {
        if count == Some(0) {
            return Ok(());
        }
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (take, done) = match count {
            Some(left) => (left.min(available.len()), false),
            None => match memchr::memchr(0, available) {
                Some(zero) => (zero + 1, true),
                None => (available.len(), false),
            },
        };
        crc.update(&available[..take]);
        input.consume(take);
        if let Some(left) = count.as_mut() {
            *left -= take;
        }
        if done {
            return Ok(());
        }
    }
}

/// What one decoding step produced.
enum Decoded {
    /// This many bytes, at the start of the buffer.
    Bytes(usize),
    /// A gzip member ended (its bytes all given before).
    MemberEnd(MemberEnd),
    End,
}

/// A gzip member's trailer: the CRC-32 and size (mod 2^32) of its data.
#[derive(Debug, Clone, Copy)]
struct MemberEnd {
    crc: u32,
    size: u32,
    member: u64,
    /// Byte offset in the file just past the trailer.
    at: u64,
}

/// A decoder run on its own thread by `DecodedBlocks`.
trait Decode: Send + 'static {
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded>;
}

/// What the decoder thread sends.
enum Message {
    Block(Vec<u8>),
    MemberEnd(MemberEnd),
    /// The end, said explicitly: a channel closed without it means the
    /// decoder thread died, which must not pass for an end.
    End,
}

/// Decompressed bytes arrive from a decoder thread in blocks of this size.
const DECODED_BLOCK: usize = 1 << 20;
/// Blocks in flight between the decoder and the scanner (bounds memory).
const DECODED_BLOCKS_IN_FLIGHT: usize = 2;

/// A reader fed by a thread that decompresses: decoding (the slow part of a
/// gzip input) runs on one core while the scanner works on the other. The
/// members' CRC-32 checks run here, on the reading side: decoding is the
/// bottleneck, and the check is a sixth of its time.
struct DecodedBlocks {
    blocks: std::sync::mpsc::Receiver<io::Result<Message>>,
    ended: bool,
    /// Emptied blocks go back to the decoder (no allocation, no zeroing of
    /// a fresh megabyte per block on the decoding thread, the bottleneck).
    spent: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
    /// CRC-32 of the current member's bytes received so far.
    crc: flate2::Crc,
}

impl DecodedBlocks {
    /// Decodes on a new thread; `crc` holds the current member's CRC-32 of
    /// what was decoded before (by `WhileBusy`).
    fn spawn<D: Decode>(mut decoder: D, crc: flate2::Crc) -> DecodedBlocks {
        let (sender, blocks) = std::sync::mpsc::sync_channel(DECODED_BLOCKS_IN_FLIGHT);
        let (spent, returned) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || loop {
            let mut block = returned.try_recv().unwrap_or_default();
            block.resize(DECODED_BLOCK, 0);
            let mut filled = 0;
            // What follows the block: nothing yet, a member's end, the end.
            let after = loop {
                match decoder.decode(&mut block[filled..]) {
                    Ok(Decoded::Bytes(n)) => {
                        filled += n;
                        if filled == block.len() {
                            break Ok(None);
                        }
                    }
                    Ok(Decoded::MemberEnd(end)) => break Ok(Some(Message::MemberEnd(end))),
                    Ok(Decoded::End) => break Ok(Some(Message::End)),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => break Err(err),
                }
            };
            block.truncate(filled);
            // A closed receiver means the scanner stopped: stop decoding.
            if filled > 0 && sender.send(Ok(Message::Block(block))).is_err() {
                return;
            }
            match after {
                Ok(None) => {}
                Ok(Some(Message::End)) => {
                    let _ = sender.send(Ok(Message::End));
                    return;
                }
                Ok(Some(message)) => {
                    if sender.send(Ok(message)).is_err() {
                        return;
                    }
                }
                Err(err) => {
                    let _ = sender.send(Err(err));
                    return;
                }
            }
        });
        DecodedBlocks {
            blocks,
            ended: false,
            spent,
            current: Vec::new(),
            position: 0,
            crc,
        }
    }
}

impl Read for DecodedBlocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(Message::Block(block))) => {
                    self.crc.update(&block);
                    let spent = std::mem::replace(&mut self.current, block);
                    if spent.capacity() > 0 {
                        let _ = self.spent.send(spent);
                    }
                    self.position = 0;
                }
                Ok(Ok(Message::MemberEnd(end))) => {
                    let checked = check_member(&self.crc, &end);
                    self.crc.reset();
                    if let Err(err) = checked {
                        self.ended = true;
                        return Err(err);
                    }
                }
                Ok(Ok(Message::End)) => self.ended = true,
                Ok(Err(err)) => {
                    self.ended = true;
                    return Err(err);
                }
                Err(_) => {
                    self.ended = true;
                    return Err(io::Error::other(
                        "internal error: the gzip decoder stopped before the end of the stream",
                    ));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// A member's trailer against the CRC-32 and size of what was decoded.
fn check_member(crc: &flate2::Crc, end: &MemberEnd) -> io::Result<()> {
    if crc.sum() == end.crc && crc.amount() == end.size {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "corrupt gzip member {}, found at byte {}: its checksum or size does not \
             match the data decoded from it",
            end.member, end.at
        ),
    ))
}

/// `GzipDecoding::WhileBusy`: decodes on the reading thread, straight into
/// the reader's buffer, until `busy` says a core is free; from then on the
/// rest of the stream is decoded on a thread of its own (`DecodedBlocks`),
/// the member's CRC-32 carried over.
struct WhileBusy<D: Decode> {
    stage: Stage<D>,
    busy: Arc<dyn Fn() -> bool + Send + Sync>,
}

enum Stage<D> {
    /// `crc`: of the current member's bytes decoded so far.
    Inline {
        decoder: D,
        crc: flate2::Crc,
    },
    Threaded(DecodedBlocks),
    Ended,
}

impl<D: Decode> WhileBusy<D> {
    fn new(decoder: D, busy: Arc<dyn Fn() -> bool + Send + Sync>) -> Self {
        let crc = flate2::Crc::new();
        WhileBusy {
            stage: Stage::Inline { decoder, crc },
            busy,
        }
    }

    /// One inline step into `buf`: bytes, or the end (`Ok(0)`), or an error.
    fn decode_inline(decoder: &mut D, crc: &mut flate2::Crc, buf: &mut [u8]) -> io::Result<usize> {
        // The whole buffer at once: pieces small enough to stay in the
        // core's cache cost more in per-block work than they save (two
        // 1 GiB files at once, CPU: 3.56 s in 64 KiB pieces, 3.29 s in
        // 256 KiB, 3.12 s in 1 MiB).
        loop {
            match decoder.decode(buf) {
                Ok(Decoded::Bytes(n)) => {
                    crc.update(&buf[..n]);
                    return Ok(n);
                }
                Ok(Decoded::MemberEnd(end)) => {
                    let checked = check_member(crc, &end);
                    crc.reset();
                    checked?;
                }
                Ok(Decoded::End) => return Ok(0),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

impl<D: Decode> Read for WhileBusy<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if matches!(self.stage, Stage::Inline { .. }) && !(self.busy)() {
            if let Stage::Inline { decoder, crc } = std::mem::replace(&mut self.stage, Stage::Ended)
            {
                self.stage = Stage::Threaded(DecodedBlocks::spawn(decoder, crc));
            }
        }
        let result = match &mut self.stage {
            Stage::Inline { decoder, crc } => Self::decode_inline(decoder, crc, buf),
            Stage::Threaded(threaded) => return threaded.read(buf),
            Stage::Ended => return Ok(0),
        };
        if !matches!(result, Ok(n) if n > 0) {
            self.stage = Stage::Ended;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes through the decoder thread as they are (no members).
    struct Undecoded<R>(R);

    impl<R: Read + Send + 'static> Decode for Undecoded<R> {
        fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded> {
            match self.0.read(buf)? {
                0 => Ok(Decoded::End),
                n => Ok(Decoded::Bytes(n)),
            }
        }
    }

    #[test]
    fn decoded_blocks_end_cleanly_and_a_dying_decoder_is_an_error() {
        let mut whole = DecodedBlocks::spawn(
            Undecoded(io::Cursor::new(vec![b'x'; 3 * DECODED_BLOCK + 5])),
            flate2::Crc::new(),
        );
        let mut out = Vec::new();
        whole.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 3 * DECODED_BLOCK + 5);

        struct Dies;
        impl Read for Dies {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("decoder bug");
            }
        }
        let mut dying = DecodedBlocks::spawn(Undecoded(Dies), flate2::Crc::new());
        let err = dying.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("gzip decoder stopped"), "{err}");
    }
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Everything the reader gives, and how it ended: the same whether
    /// decoded on a thread of its own, on the reading thread, or on the
    /// reading thread first and then on a thread of its own (a switch after
    /// each of the first reads).
    fn decode(bytes: Vec<u8>) -> (Vec<u8>, Option<String>) {
        let own_thread = decode_with(bytes.clone(), GzipDecoding::OwnThread);
        let inline = decode_with(bytes.clone(), GzipDecoding::WhileBusy(Arc::new(|| true)));
        assert_eq!(inline, own_thread, "decoded inline");
        for busy_reads in 1..4 {
            let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let busy =
                move || reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < busy_reads;
            let switched = decode_with(bytes.clone(), GzipDecoding::WhileBusy(Arc::new(busy)));
            assert_eq!(switched, own_thread, "switched after {busy_reads} reads");
        }
        own_thread
    }

    fn decode_with(bytes: Vec<u8>, decoding: GzipDecoding) -> (Vec<u8>, Option<String>) {
        let opened =
            open_reader_with("x.gz", Box::new(io::Cursor::new(bytes)), None, decoding).unwrap();
        assert!(opened.gzip);
        let mut reader = opened.reader;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(err) => return (out, Some(describe_io_error(&err))),
            }
        }
    }

    fn text(lines: usize) -> Vec<u8> {
        (0..lines)
            .map(|i| format!("2024-02-11T06:20:{:02}Z  INFO line {i}\n", i % 60))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn concatenated_members_are_read_whole() {
        let (a, b) = (text(50), text(70));
        let mut both = gzip(&a);
        both.extend(gzip(&b));
        let (out, error) = decode(both);
        assert_eq!(error, None);
        assert_eq!(out, [a, b].concat());
    }

    #[test]
    fn a_switch_to_the_decoder_thread_mid_member_keeps_the_checksum() {
        // Members of many 4 KiB reads each: the switch (after 1 to 3 reads)
        // lands inside the first member, so its CRC-32 is part inline, part
        // on the thread; a wrong CRC in the last member is still caught.
        let members: Vec<Vec<u8>> = (0..3).map(|_| text(3000)).collect();
        let mut file: Vec<u8> = members.iter().flat_map(|m| gzip(m)).collect();
        let (out, error) = decode(file.clone());
        assert_eq!(error, None);
        assert_eq!(out, members.concat());

        let crc_at = file.len() - 8;
        file[crc_at] ^= 0xff;
        let (out, error) = decode(file);
        assert_eq!(out, members.concat());
        let error = error.expect("a wrong CRC is an error");
        assert!(
            error.contains("corrupt gzip member 3") && error.contains("checksum"),
            "{error}"
        );
    }

    #[test]
    fn a_gzip_file_cut_anywhere_ends_in_an_error_never_silently() {
        let data = text(200);
        let whole = gzip(&data);
        for cut in 2..whole.len() {
            let (out, error) = decode(whole[..cut].to_vec());
            let error =
                error.unwrap_or_else(|| panic!("cut at {cut} of {}: no error", whole.len()));
            assert!(
                error.starts_with("truncated: the file ends inside gzip member 1"),
                "cut at {cut}: {error}"
            );
            assert!(
                data.starts_with(&out),
                "cut at {cut}: decoded bytes are a prefix"
            );
        }
        // In the second member too.
        let mut two = gzip(&data);
        let first = two.len();
        two.extend(gzip(&data));
        let (out, error) = decode(two[..first + 20].to_vec());
        assert!(out.len() >= data.len());
        assert!(error.unwrap().contains("inside gzip member 2"));
    }

    #[test]
    fn garbage_or_zeros_after_a_member_are_named() {
        let data = text(30);
        let member = gzip(&data);
        let mut garbage = member.clone();
        garbage.extend_from_slice(b"not gzip at all\n");
        let (out, error) = decode(garbage);
        assert_eq!(out, data);
        assert_eq!(
            error.as_deref(),
            Some(
                format!(
                    "data that is not gzip after gzip member 1, from byte {}",
                    member.len()
                )
                .as_str()
            )
        );
        let mut zeros = member.clone();
        zeros.extend_from_slice(&[0; 512]);
        let (out, error) = decode(zeros);
        assert_eq!(out, data);
        assert!(error.unwrap().starts_with("zero bytes after gzip member 1"));
    }

    #[test]
    fn corrupt_bytes_in_a_member_are_an_error() {
        let data = text(2000);
        let mut bytes = gzip(&data);
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 64] {
            *b ^= 0x5a;
        }
        let (_, error) = decode(bytes);
        let error = error.expect("corruption is reported");
        assert!(error.starts_with("corrupt gzip member 1"), "{error}");
    }
}

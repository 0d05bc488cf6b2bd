//! Input: stdin, files and directories (recursive, sorted), gzip recognised by
//! its magic bytes (several concatenated members allowed).
use flate2::bufread::GzDecoder;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

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

pub fn open(spec: &InputSpec) -> Result<OpenInput, InputError> {
    open_with(spec, |raw| raw)
}

/// Opens `spec`, passing its raw byte stream (before gzip decoding) through
/// `wrap_raw` (progress counts the bytes read off the disk there).
pub fn open_with(
    spec: &InputSpec,
    wrap_raw: impl FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send>,
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
    open_reader(&spec.display_name(), wrap_raw(raw), size)
}

/// Opens an already open byte stream (`--follow` reads through a channel):
/// gzip is recognised by its first bytes.
pub fn open_reader(
    name: &str,
    raw: Box<dyn Read + Send>,
    size: Option<u64>,
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
            reader: Box::new(DecodedBlocks::spawn(GzipMembers::new(buffered))),
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
    /// The member being decoded; `None` between members and at the end.
    decoder: Option<GzDecoder<Counted<R>>>,
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
        self.decoder = Some(GzDecoder::new(input));
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

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.finished {
                return Ok(0);
            }
            let Some(decoder) = self.decoder.as_mut() else {
                match self.next_member() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.finished = true;
                        return Ok(0);
                    }
                    Err(err) => {
                        self.finished = true;
                        return Err(err);
                    }
                }
            };
            match decoder.read(buf) {
                Ok(0) => {
                    // The member ended with a valid trailer.
                    self.between = self.decoder.take().map(GzDecoder::into_inner);
                }
                Ok(n) => return Ok(n),
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

/// Decompressed bytes arrive from a decoder thread in blocks of this size.
const DECODED_BLOCK: usize = 1 << 20;
/// Blocks in flight between the decoder and the scanner (bounds memory).
const DECODED_BLOCKS_IN_FLIGHT: usize = 2;

/// A reader fed by a thread that decompresses: decoding (the slow part of a
/// gzip input) runs on one core while the scanner works on the other.
struct DecodedBlocks {
    /// Decoded blocks; an empty one marks the end of the stream.
    blocks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    ended: bool,
    /// Emptied blocks go back to the decoder (no allocation, no zeroing of
    /// a fresh megabyte per block on the decoding thread, the bottleneck).
    spent: std::sync::mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
}

impl DecodedBlocks {
    fn spawn<R: Read + Send + 'static>(mut decoder: R) -> DecodedBlocks {
        let (sender, blocks) = std::sync::mpsc::sync_channel(DECODED_BLOCKS_IN_FLIGHT);
        let (spent, returned) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || loop {
            let mut block = returned.try_recv().unwrap_or_default();
            block.resize(DECODED_BLOCK, 0);
            let mut filled = 0;
            let outcome = loop {
                match decoder.read(&mut block[filled..]) {
                    Ok(0) => break Ok(true),
                    Ok(n) => {
                        filled += n;
                        if filled == block.len() {
                            break Ok(false);
                        }
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => break Err(err),
                }
            };
            block.truncate(filled);
            // A closed receiver means the scanner stopped: stop decoding.
            let sent = filled == 0 || sender.send(Ok(block)).is_ok();
            match outcome {
                Ok(false) if sent => {}
                Ok(true) => {
                    // The end, said explicitly: a channel closed without it
                    // means this thread died, which must not pass for an end.
                    let _ = sender.send(Ok(Vec::new()));
                    return;
                }
                Ok(false) => return,
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
                Ok(Ok(block)) if block.is_empty() => self.ended = true,
                Ok(Ok(block)) => {
                    let spent = std::mem::replace(&mut self.current, block);
                    if spent.capacity() > 0 {
                        let _ = self.spent.send(spent);
                    }
                    self.position = 0;
                }
                Ok(Err(err)) => return Err(err),
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

/// `No such file or directory (os error 2)` → `no such file or directory`.
pub fn describe_io_error(err: &io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    match err.kind() {
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => {
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
                None => text.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_blocks_end_cleanly_and_a_dying_decoder_is_an_error() {
        let mut whole = DecodedBlocks::spawn(io::Cursor::new(vec![b'x'; 3 * DECODED_BLOCK + 5]));
        let mut out = Vec::new();
        whole.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 3 * DECODED_BLOCK + 5);

        struct Dies;
        impl Read for Dies {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("decoder bug");
            }
        }
        let mut dying = DecodedBlocks::spawn(Dies);
        let err = dying.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("gzip decoder stopped"), "{err}");
    }
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Everything the reader gives, and how it ended.
    fn decode(bytes: Vec<u8>) -> (Vec<u8>, Option<String>) {
        let opened = open_reader("x.gz", Box::new(io::Cursor::new(bytes)), None).unwrap();
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

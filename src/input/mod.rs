//! Input: stdin, files and directories (recursive, sorted), gzip recognised by
//! its magic bytes (several concatenated members allowed). One file a job:
//! `walk` turns arguments into inputs, this module opens one and sniffs it,
//! `gzip` reads members and says how a stream ended, `decode_thread` decides
//! where decoding runs.
mod archive;
mod containers;
mod decode_thread;
pub mod envelope;
mod gzip;
mod walk;

pub use archive::Member;

use crate::text::describe_io_error;
use containers::{Compression, CrToLf, Magic, Stream, Utf16};
use decode_thread::{DecodedBlocks, WhileBusy};
use gzip::{Decode, GzipMembers};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// Expands the PATH arguments (`walk::expand`), archives into their
/// members (`archive`).
pub fn expand(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<InputError>) {
    expand_skipping(paths, &[])
}

/// `expand`, leaving out the files of `skip` (device and inode) when found
/// in a directory: previous reports that this run will replace.
pub fn expand_skipping(
    paths: &[PathBuf],
    skip: &[(u64, u64)],
) -> (Vec<InputSpec>, Vec<InputError>) {
    let (specs, mut errors) = walk::expand_skipping(paths, skip);
    let specs = archive::expand_archives(specs, &mut errors);
    errors.sort_by(|a, b| a.name.cmp(&b.name));
    (specs, errors)
}

/// Whether a file with this head is plain text that can be read from any
/// line on (split across threads): not compressed, an archive, UTF-16...
pub fn splittable(head: &[u8]) -> bool {
    containers::sniff(head) == Magic::Text && envelope::sniff(head).is_none()
}

/// One input as the user named it (or as found inside a named directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    Stdin,
    File(PathBuf),
    /// A member of a tar or zip archive, an input of its own.
    Member(Member),
}

impl InputSpec {
    /// The name evidence and errors use: the path as given, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Stdin => "<stdin>".to_string(),
            InputSpec::File(path) => path.display().to_string(),
            InputSpec::Member(member) => member.display_name(),
        }
    }
}

/// The metadata of the file, pipe or terminal behind stdin.
#[cfg(unix)]
pub fn stdin_metadata() -> Option<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    File::from(fd).metadata().ok()
}

#[cfg(not(unix))]
pub fn stdin_metadata() -> Option<std::fs::Metadata> {
    None
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

/// An opened input: a byte stream, decompressed and decoded to UTF-8.
pub struct OpenInput {
    pub reader: Box<dyn Read + Send>,
    /// Whether it was compressed (gzip, zstd, xz, bzip2).
    pub gzip: bool,
    /// What reading it took, for the input's notes (an encoding, CR-only
    /// line ends, compressions other than one gzip layer).
    pub notes: Vec<String>,
    /// Size on disk, when known (for progress and ETA).
    pub size: Option<u64>,
    /// Its bytes were rewritten on the way (UTF-16 decoded, an envelope
    /// unwrapped): as many need not come out as there are on disk.
    pub rewritten: bool,
}

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
        InputSpec::Member(member) => {
            let raw = member.open().map_err(|err| InputError {
                name: spec.display_name(),
                message: describe_io_error(&err),
            })?;
            (raw, Some(member.size()))
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

/// Layers of compression one input may stack (gzip inside gzip inside
/// zstd...): past this it is taken for a decompression bomb or a loop.
const MAX_LAYERS: usize = 8;

fn open_reader_with(
    name: &str,
    raw: Box<dyn Read + Send>,
    size: Option<u64>,
    decoding: GzipDecoding,
) -> Result<OpenInput, InputError> {
    let error = |message: String| InputError {
        name: name.to_string(),
        message,
    };
    let mut buffered: Box<dyn BufRead + Send> =
        Box::new(BufReader::with_capacity(READ_BUFFER, raw));
    // The outermost compression may be decoded on a thread of its own; the
    // layers inside it are decoded where they are read.
    let mut decoding = Some(decoding);
    let mut layers: Vec<&'static str> = Vec::new();
    let mut notes = Vec::new();
    let mut failed = false;
    let mut rewritten = false;
    loop {
        let head = match sniff_head(&mut buffered) {
            // Ended before its first byte. A terminal gives one end of input
            // per Ctrl-D: reading it again would wait for a second one.
            Ok([]) if layers.is_empty() => {
                return Ok(OpenInput {
                    reader: Box::new(io::empty()),
                    gzip: false,
                    size,
                    notes,
                    rewritten: false,
                });
            }
            Ok(head) => head,
            // A decoder that fails at once (a gzip file cut in its header)
            // fails the scan's first read, which says where it broke.
            Err(err) if !layers.is_empty() => {
                buffered = Box::new(BufReader::new(Failed(Some(err))));
                failed = true;
                break;
            }
            Err(err) => return Err(error(describe_io_error(&err))),
        };
        let magic = containers::sniff(head);
        let inside = |what: &str| -> String {
            if layers.is_empty() {
                what.to_string()
            } else {
                format!(
                    "{what} inside {}",
                    layers
                        .iter()
                        .rev()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" inside ")
                )
            }
        };
        let decoded: Box<dyn Read + Send> = match magic {
            Magic::Compressed(compression) => {
                if layers.len() == MAX_LAYERS {
                    return Err(error(format!(
                        "more than {MAX_LAYERS} layers of compression ({}); not read",
                        inside("")
                    )));
                }
                layers.push(compression.name());
                let how = decoding
                    .take()
                    .unwrap_or(GzipDecoding::WhileBusy(Arc::new(|| true)));
                match compression {
                    Compression::Gzip => decode_with(GzipMembers::new(buffered), how),
                    other => decode_with(
                        Stream::new(other, buffered)
                            .map_err(|err| error(describe_io_error(&err)))?,
                        how,
                    ),
                }
            }
            Magic::Tar | Magic::Zip => {
                let what = if magic == Magic::Tar {
                    "a tar archive"
                } else {
                    "a zip archive"
                };
                return Err(error(format!(
                    "{}: rwdoctor reads the members of an archive named as a file, not of one \
                     read from standard input or inside another archive; extract it and name \
                     the files",
                    inside(what)
                )));
            }
            Magic::Unread(what) => {
                return Err(error(format!(
                    "{}: rwdoctor does not decode it; extract or decompress it and name the files",
                    inside(what)
                )))
            }
            Magic::Utf8Bom => {
                buffered.consume(3);
                notes.push("UTF-8 with a byte-order mark: the mark was dropped".to_string());
                break;
            }
            Magic::Utf16(endian, bom) => {
                let label = match endian {
                    containers::Endian::Little => "UTF-16LE, as Windows PowerShell 5's `>` writes",
                    containers::Endian::Big => "UTF-16BE",
                };
                let how = match bom {
                    containers::ByteOrderMark::Present => {
                        buffered.consume(2);
                        "by its byte-order mark"
                    }
                    containers::ByteOrderMark::Absent => "by its NUL bytes",
                };
                notes.push(format!("{label} (told {how}): decoded to UTF-8"));
                let decoded = Utf16::new(buffered, endian);
                rewritten = true;
                buffered = Box::new(BufReader::with_capacity(READ_BUFFER, decoded));
                // CR-only line ends may sit inside.
                if let Magic::CrOnly = containers::sniff(
                    sniff_head(&mut buffered).map_err(|err| error(describe_io_error(&err)))?,
                ) {
                    notes.push(cr_only_note());
                    buffered = Box::new(BufReader::with_capacity(READ_BUFFER, CrToLf(buffered)));
                }
                break;
            }
            Magic::CrOnly => {
                notes.push(cr_only_note());
                buffered = Box::new(BufReader::with_capacity(READ_BUFFER, CrToLf(buffered)));
                break;
            }
            Magic::Text => break,
        };
        buffered = Box::new(BufReader::with_capacity(READ_BUFFER, decoded));
    }
    if layers.len() > 1 || layers.first().is_some_and(|l| *l != "gzip") {
        notes.push(format!("decompressed: {}", layers.join(", then ")));
    }
    // An envelope around each line (Docker json-file, logcli...): one sniff
    // here, and a reader that unwraps each line only when one was found.
    // (A stream that failed keeps its error for the scan's first read.)
    let found = if failed {
        None
    } else {
        sniff_head(&mut buffered).ok().and_then(envelope::sniff)
    };
    if let Some(found) = found {
        notes.push(found.note());
        return Ok(OpenInput {
            reader: Box::new(envelope::Unwrapping::new(buffered, found)),
            gzip: !layers.is_empty(),
            size,
            notes,
            rewritten: true,
        });
    }
    // The head read for detection is served from the buffer; the scanner's
    // later reads (a block minus one partial line) are larger than the
    // buffer, so `BufReader` passes them straight through instead of
    // copying every byte once more.
    const _: () = assert!(crate::lines::BLOCK_SIZE - crate::lines::MAX_LINE > READ_BUFFER);
    Ok(OpenInput {
        reader: Box::new(buffered),
        gzip: !layers.is_empty(),
        size,
        notes,
        rewritten,
    })
}

/// A stream whose first read fails with the error it holds.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

fn cr_only_note() -> String {
    "CR-only line ends (no `\\n` in the first block): each `\\r` read as a line end".to_string()
}

/// The stream's first bytes, enough to sniff (fewer at its end).
fn sniff_head(buffered: &mut Box<dyn BufRead + Send>) -> io::Result<&[u8]> {
    loop {
        match buffered.fill_buf() {
            // At its end: asking again would read again, and a terminal
            // would wait for a second Ctrl-D.
            Ok([]) => return Ok(&[]),
            Ok(_) => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    buffered.fill_buf()
}

fn decode_with<D: Decode>(decoder: D, decoding: GzipDecoding) -> Box<dyn Read + Send> {
    match decoding {
        GzipDecoding::OwnThread => Box::new(DecodedBlocks::spawn(decoder, flate2::Crc::new())),
        GzipDecoding::WhileBusy(busy) => Box::new(WhileBusy::new(decoder, busy)),
    }
}

/// `raw` with its compression layers decoded on the reading thread, for
/// archives (whose members are read in turn) and for sniffing: the
/// stream, the layers' names, and what its first bytes say it is.
fn decompressed(
    raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn BufRead + Send>, Vec<&'static str>, Magic)> {
    let mut buffered: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(64 * 1024, raw));
    let mut layers = Vec::new();
    loop {
        let magic = containers::sniff(sniff_head(&mut buffered)?);
        let Magic::Compressed(compression) = magic else {
            return Ok((buffered, layers, magic));
        };
        if layers.len() == MAX_LAYERS {
            return Ok((buffered, layers, magic));
        }
        layers.push(compression.name());
        let inline = GzipDecoding::WhileBusy(Arc::new(|| true));
        let decoded = match compression {
            Compression::Gzip => decode_with(GzipMembers::new(buffered), inline),
            other => decode_with(Stream::new(other, buffered)?, inline),
        };
        buffered = Box::new(BufReader::with_capacity(64 * 1024, decoded));
    }
}

/// `raw` under its compression layers, decoded on the reading thread as
/// archives are listed (a tar stays a tar): for the fuzz checks, which
/// measure what an input decodes to before analysing it whole.
pub fn decompressed_stream(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let (stream, _, _) = decompressed(raw)?;
    Ok(Box::new(stream))
}

#[cfg(test)]
mod tests {
    use super::decode_thread::DECODED_BLOCK;
    use super::gzip::{Decode, Decoded};
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

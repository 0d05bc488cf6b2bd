//! Input: stdin, files and directories (recursive, sorted), gzip recognised by
//! its magic bytes (several concatenated members allowed).
use flate2::read::MultiGzDecoder;
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
/// recursively in sorted order (symlinked directories are followed once; a
/// loop is reported, not followed).
pub fn expand(paths: &[PathBuf]) -> (Vec<InputSpec>, Vec<InputError>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    if paths.is_empty() {
        specs.push(InputSpec::Stdin);
    }
    for path in paths {
        if path.as_os_str() == "-" {
            specs.push(InputSpec::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut visited = HashSet::new();
                walk_dir(path, &mut visited, &mut specs, &mut errors);
            }
            Ok(_) => specs.push(InputSpec::File(path.clone())),
            Err(err) => errors.push(InputError {
                name: path.display().to_string(),
                message: describe_io_error(&err),
            }),
        }
    }
    (specs, errors)
}

fn walk_dir(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
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
    if !visited.insert(canonical) {
        errors.push(InputError {
            name: dir.display().to_string(),
            message: "directory loop through a symbolic link; not followed again".to_string(),
        });
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
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        match std::fs::metadata(&child) {
            Ok(meta) if meta.is_dir() => walk_dir(&child, visited, specs, errors),
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
}

/// An opened input: a byte stream, decompressed when it was gzip.
pub struct OpenInput {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
    /// Size on disk, when known (for progress and ETA).
    pub size: Option<u64>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
    let mut buffered = BufReader::with_capacity(256 * 1024, raw);
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
            reader: Box::new(DecodedBlocks::spawn(MultiGzDecoder::new(buffered))),
            gzip: true,
            size,
        })
    } else {
        Ok(OpenInput {
            reader: Box::new(buffered),
            gzip: false,
            size,
        })
    }
}

/// Decompressed bytes arrive from a decoder thread in blocks of this size.
const DECODED_BLOCK: usize = 1 << 20;
/// Blocks in flight between the decoder and the scanner (bounds memory).
const DECODED_BLOCKS_IN_FLIGHT: usize = 2;

/// A reader fed by a thread that decompresses: decoding (the slow part of a
/// gzip input) runs on one core while the scanner works on the other.
struct DecodedBlocks {
    blocks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
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
                Ok(_) => return,
                Err(err) => {
                    let _ = sender.send(Err(err));
                    return;
                }
            }
        });
        DecodedBlocks {
            blocks,
            spent,
            current: Vec::new(),
            position: 0,
        }
    }
}

impl Read for DecodedBlocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.current.len() {
            match self.blocks.recv() {
                Ok(Ok(block)) => {
                    let spent = std::mem::replace(&mut self.current, block);
                    if spent.capacity() > 0 {
                        let _ = self.spent.send(spent);
                    }
                    self.position = 0;
                }
                Ok(Err(err)) => return Err(err),
                Err(_) => return Ok(0), // the decoder finished
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

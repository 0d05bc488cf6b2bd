//! Where reports go: stdout or a file. A stdout closed by its reader
//! (`rwdoctor big.log | head`) ends that output quietly; a stdout closed
//! before the run (`>&-`) and a file that cannot be written are errors
//! naming it (exit 2).
//!
//! A report file never destroys an input: an existing target that is an
//! input (the same device and inode as a file named, found in a directory,
//! or behind stdin) is refused, and the report is written to a temporary
//! file beside the target, renamed over it once complete, so a refused or
//! failed run truncates nothing.
use crate::input::InputSpec;
use crate::report::{Format, OutputSpec, OutputTarget};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// How a report file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// To a temporary file beside it, renamed over it when complete.
    Whole,
    /// `--follow`: renamed at once, so that `tail -f` on it sees findings.
    Live,
    /// `--output-append`: added to the end of the file as it is.
    Append,
}

pub struct Sink {
    pub format: Format,
    /// Whether human output to this sink is coloured.
    pub color: bool,
    destination: Destination,
    /// Stdout was closed by the reader; further writes are dropped.
    closed: bool,
}

enum Destination {
    Stdout,
    File {
        path: PathBuf,
        /// Where the report is written until `commit` renames it to `path`
        /// (`None`: renamed already, `--follow` streams into the target).
        temp: Option<PathBuf>,
        writer: BufWriter<File>,
    },
}

/// The device and inode of a file (what a hard link shares).
#[cfg(unix)]
fn identity_of(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity_of(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The identities of every input: files named or found in directories, and
/// the file (or pipe) behind stdin when stdin is read.
fn input_identities(inputs: &[InputSpec]) -> Vec<(u64, u64, String)> {
    let mut ids = Vec::new();
    for spec in inputs {
        let meta = match spec {
            InputSpec::File(path) => std::fs::metadata(path).ok(),
            // Writing over the archive would lose every member.
            InputSpec::Member(member) => std::fs::metadata(&member.archive).ok(),
            InputSpec::Stdin => crate::input::stdin_metadata(),
        };
        if let Some((dev, ino)) = meta.as_ref().and_then(identity_of) {
            ids.push((dev, ino, spec.display_name()));
        }
    }
    ids
}

/// The output targets that hold a previous rwdoctor report (or nothing):
/// found in an input directory, they are not read, and are replaced. Any
/// other existing file may be a log, and an output over it is refused.
pub fn previous_reports(outputs: &[OutputSpec]) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    for output in outputs {
        let OutputTarget::File(path) = &output.target else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let mut head = Vec::new();
        if File::open(path)
            .and_then(|f| std::io::Read::take(f, 256).read_to_end(&mut head))
            .is_err()
        {
            continue;
        }
        if looks_like_a_report(&head) {
            found.extend(identity_of(&meta));
        }
    }
    found
}

/// The start of a report rwdoctor writes (JSON, JSONL, JUnit, Markdown,
/// GitHub annotations), or an empty file.
fn looks_like_a_report(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    head.is_empty()
        || text.starts_with("{\n  \"findings\"")
        || text.starts_with("{\"type\":\"")
        || (text.starts_with("<?xml") && text.contains("rwdoctor"))
        || text.starts_with("## rwdoctor")
        || text.starts_with("::")
}

/// Whether stdout is open. `rwdoctor x.log >&-` closes it; Rust's runtime
/// then opens `/dev/null` read-write in its place before `main`, and the
/// report vanishes without an error. A shell's `> /dev/null` opens it
/// write-only, so on Linux the two are told apart by the access mode.
#[cfg(target_os = "linux")]
fn stdout_is_open() -> bool {
    let null = std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == Path::new("/dev/null"));
    let read_write = std::fs::read_to_string("/proc/self/fdinfo/1").is_ok_and(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            .is_some_and(|flags| flags & 0o3 == 0o2)
    });
    !(null && read_write)
}

#[cfg(not(target_os = "linux"))]
fn stdout_is_open() -> bool {
    true
}

impl Sink {
    /// Opens every requested output. Files are created now, before a long
    /// scan, so that a wrong path is reported at once; those that cannot be
    /// created are returned as error messages and left out.
    /// `color(is_terminal)` says whether human output to a terminal (or
    /// not) is coloured: the command line decides it. `inputs` are every
    /// input, expanded; `live` (`--follow`) renames each file into place at
    /// once, so that `tail -f` on it sees each finding.
    pub fn open_all(
        outputs: &[OutputSpec],
        color: impl Fn(bool) -> bool,
        inputs: &[InputSpec],
        live: bool,
    ) -> (Vec<Sink>, Vec<String>) {
        let mut sinks = Vec::new();
        let mut errors = Vec::new();
        let identities = input_identities(inputs);
        for output in outputs {
            match &output.target {
                OutputTarget::Stdout if !stdout_is_open() => errors.push(
                    "cannot write the report to stdout: it is closed (was it run with `>&-`?)"
                        .to_string(),
                ),
                OutputTarget::Stdout => sinks.push(Sink::stdout(
                    output.format,
                    color(io::stdout().is_terminal()),
                )),
                OutputTarget::File(path) | OutputTarget::Append(path) => {
                    let append = matches!(output.target, OutputTarget::Append(_));
                    let mode = if append {
                        Mode::Append
                    } else if live {
                        Mode::Live
                    } else {
                        Mode::Whole
                    };
                    match Sink::file(output.format, path, color(false), &identities, mode) {
                        Ok(sink) => sinks.push(sink),
                        Err(message) => errors.push(message),
                    }
                }
            }
        }
        (sinks, errors)
    }

    pub fn stdout(format: Format, color: bool) -> Sink {
        Sink {
            format,
            color,
            destination: Destination::Stdout,
            closed: false,
        }
    }

    fn file(
        format: Format,
        path: &Path,
        color: bool,
        inputs: &[(u64, u64, String)],
        mode: Mode,
    ) -> Result<Sink, String> {
        let name = path.display();
        // Writing the report over an input would lose the log: compared by
        // device and inode, so a hard link, a file found in an input
        // directory and the file behind stdin count too.
        let target = std::fs::metadata(path).ok();
        if let Some(id) = target.as_ref().and_then(identity_of) {
            if let Some((_, _, input)) = inputs.iter().find(|(d, i, _)| (*d, *i) == id) {
                let what = if input.as_str() == path.to_string_lossy() {
                    "is also an input".to_string()
                } else {
                    format!("is the same file as the input {input}")
                };
                return Err(format!("--output {name}: {what}; not overwriting it"));
            }
        }
        // Appended to as it is (`$GITHUB_STEP_SUMMARY`): a temporary file
        // renamed over it would replace what others wrote there.
        if mode == Mode::Append {
            let file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|err| cannot_create(path, &err))?;
            return Ok(Sink::file_sink(format, color, path, None, file));
        }
        // Devices and FIFOs (`/dev/stdout`, `/dev/full`) are written as they are.
        if target.as_ref().is_some_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|err| cannot_create(path, &err))?;
            return Ok(Sink::file_sink(format, color, path, None, file));
        }
        let temp = temp_beside(path);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|err| cannot_create(path, &err))?;
        let mut sink = Sink::file_sink(format, color, path, Some(temp), file);
        if mode == Mode::Live {
            sink.commit()?;
        }
        Ok(sink)
    }

    fn file_sink(
        format: Format,
        color: bool,
        path: &Path,
        temp: Option<PathBuf>,
        file: File,
    ) -> Sink {
        Sink {
            format,
            color,
            destination: Destination::File {
                path: path.to_path_buf(),
                temp,
                writer: BufWriter::new(file),
            },
            closed: false,
        }
    }

    /// Moves a file report into place (renames the temporary file over the
    /// target); nothing to do for stdout or a report already in place.
    pub fn commit(&mut self) -> Result<(), String> {
        let Destination::File { path, temp, writer } = &mut self.destination else {
            return Ok(());
        };
        let Some(from) = temp.take() else {
            return Ok(());
        };
        writer
            .flush()
            .and_then(|_| std::fs::rename(&from, &*path))
            .map_err(|err| {
                let _ = std::fs::remove_file(&from);
                format!(
                    "--output {}: cannot write: {}",
                    path.display(),
                    crate::text::describe_io_error(&err)
                )
            })
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self.destination, Destination::Stdout)
    }

    /// Stdout was closed by its reader.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes and flushes `text` (flushed so that `tail -f` on a file, or
    /// the next process in a pipe, sees each finding at once in `--follow`).
    /// Err: a message naming the file.
    pub fn write(&mut self, text: &str) -> Result<(), String> {
        if self.closed || text.is_empty() {
            return Ok(());
        }
        match &mut self.destination {
            Destination::Stdout => {
                let stdout = io::stdout();
                let mut lock = stdout.lock();
                match lock.write_all(text.as_bytes()).and_then(|_| lock.flush()) {
                    Ok(()) => Ok(()),
                    Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                        self.closed = true;
                        Ok(())
                    }
                    Err(err) => {
                        self.closed = true;
                        Err(format!("writing the report to stdout: {err}"))
                    }
                }
            }
            Destination::File { path, writer, .. } => writer
                .write_all(text.as_bytes())
                .and_then(|_| writer.flush())
                .map_err(|err| {
                    self.closed = true;
                    format!(
                        "--output {}: cannot write: {}",
                        path.display(),
                        crate::text::describe_io_error(&err)
                    )
                }),
        }
    }
}

impl Drop for Sink {
    /// A report never committed (a write failed) leaves no temporary file.
    fn drop(&mut self) {
        if let Destination::File {
            temp: Some(temp), ..
        } = &self.destination
        {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// A name beside `path`, in the same directory (so that the rename is
/// atomic), hidden and unique to this process.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".to_string());
    path.with_file_name(format!(".{name}.rwdoctor-{}.tmp", std::process::id()))
}

fn cannot_create(path: &Path, err: &io::Error) -> String {
    format!(
        "--output {}: cannot create: {}",
        path.display(),
        crate::text::describe_io_error(err)
    )
}

/// Writes to stdout for the subcommands; a closed pipe ends quietly.
pub fn write_stdout(text: &str) {
    let stdout = io::stdout();
    let mut lock = stdout.lock();
    if let Err(err) = lock.write_all(text.as_bytes()).and_then(|_| lock.flush()) {
        if err.kind() != io::ErrorKind::BrokenPipe {
            crate::messages::say(format!("writing to stdout: {err}"));
        }
    }
}

//! Where reports go: stdout or a file. A closed stdout (`rwdoctor big.log |
//! head`) ends that output quietly; a file that cannot be written is an error
//! naming the file (exit 2).
use crate::report::{Format, OutputSpec, OutputTarget};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

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
        writer: BufWriter<File>,
    },
}

impl Sink {
    /// Opens every requested output. Files are created now, before a long
    /// scan, so that a wrong path is reported at once; those that cannot be
    /// created are returned as error messages and left out.
    /// `color(is_terminal)` says whether human output to a terminal (or
    /// not) is coloured: the command line decides it.
    pub fn open_all(
        outputs: &[OutputSpec],
        color: impl Fn(bool) -> bool,
        inputs: &[PathBuf],
    ) -> (Vec<Sink>, Vec<String>) {
        let mut sinks = Vec::new();
        let mut errors = Vec::new();
        for output in outputs {
            match &output.target {
                OutputTarget::Stdout => sinks.push(Sink::stdout(
                    output.format,
                    color(io::stdout().is_terminal()),
                )),
                OutputTarget::File(path) | OutputTarget::Append(path) => {
                    let append = matches!(output.target, OutputTarget::Append(_));
                    match Sink::file(output.format, path, append, color(false), inputs) {
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
        append: bool,
        color: bool,
        inputs: &[PathBuf],
    ) -> Result<Sink, String> {
        let name = path.display();
        // Truncating an input to write the report over it would lose the log.
        if let Ok(target) = path.canonicalize() {
            if inputs
                .iter()
                .any(|input| input.canonicalize().is_ok_and(|i| i == target))
            {
                return Err(format!(
                    "--output {name}: is also an input; not overwriting it"
                ));
            }
        }
        let file = if append {
            File::options().append(true).create(true).open(path)
        } else {
            File::create(path)
        };
        let file = file.map_err(|err| {
            format!(
                "--output {name}: cannot create: {}",
                crate::text::describe_io_error(&err)
            )
        })?;
        Ok(Sink {
            format,
            color,
            destination: Destination::File {
                path: path.to_path_buf(),
                writer: BufWriter::new(file),
            },
            closed: false,
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
            Destination::File { path, writer } => writer
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

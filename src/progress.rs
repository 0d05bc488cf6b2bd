//! Progress of a long scan, on stderr: bytes and lines read, the rate, and
//! for files the ETA from their size. Only on a terminal and never in CI
//! (`CI` set), so pipes and logs stay clean; never on stdout. Drawn at most
//! ten times a second, from the reader (no thread), and only once the scan
//! has run for a moment, so that quick scans do not flash a line.
use crate::input::InputSpec;
use crate::model::format_duration;
use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(100);
const SHOW_AFTER: Duration = Duration::from_millis(400);
/// The progress line stays under this width (80 columns, less the cursor).
const LINE_WIDTH: usize = 79;

#[derive(Clone)]
pub struct Progress {
    shared: Arc<Shared>,
}

struct Shared {
    started: Instant,
    inputs: usize,
    /// Sum of the inputs' sizes, when every one is known (no stdin).
    total_bytes: Option<u64>,
    /// Raw bytes of the inputs already finished.
    finished_bytes: AtomicU64,
    /// Raw (on-disk, before gunzip) bytes of the current input.
    raw_bytes: AtomicU64,
    lines: AtomicU64,
    state: Mutex<DrawState>,
}

struct DrawState {
    current: usize,
    name: String,
    last_draw: Option<Instant>,
    drawn: bool,
}

/// Whether to show progress: stderr is a terminal and this is not CI.
pub fn wanted(stderr_is_terminal: bool, ci: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && ci.is_none()
}

impl Progress {
    /// A progress meter for the inputs `specs` lists, when one should be
    /// shown: stderr is a terminal and `CI` is not set.
    pub fn on_terminal(specs: &[InputSpec]) -> Option<Progress> {
        wanted(std::io::stderr().is_terminal(), std::env::var_os("CI"))
            .then(|| Progress::new(specs))
    }

    pub fn new(specs: &[InputSpec]) -> Progress {
        let total_bytes = specs
            .iter()
            .map(|spec| match spec {
                InputSpec::Stdin => None,
                InputSpec::File(path) => std::fs::metadata(path)
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len()),
                InputSpec::Member(member) => Some(member.size()),
            })
            .sum::<Option<u64>>();
        Progress {
            shared: Arc::new(Shared {
                started: Instant::now(),
                inputs: specs.len(),
                total_bytes,
                finished_bytes: AtomicU64::new(0),
                raw_bytes: AtomicU64::new(0),
                lines: AtomicU64::new(0),
                state: Mutex::new(DrawState {
                    current: 0,
                    name: String::new(),
                    last_draw: None,
                    drawn: false,
                }),
            }),
        }
    }

    pub fn begin_input(&self, index: usize, name: &str) {
        let shared = &self.shared;
        let raw = shared.raw_bytes.swap(0, Ordering::Relaxed);
        shared.finished_bytes.fetch_add(raw, Ordering::Relaxed);
        if let Ok(mut state) = shared.state.lock() {
            state.current = index;
            state.name = name.to_string();
        }
    }

    /// Counts the bytes read off the disk (what the file size is made of).
    pub fn count_raw(&self, inner: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(Counting {
            inner,
            progress: self.clone(),
            raw: true,
        })
    }

    /// Counts the lines of the decoded stream, and redraws.
    pub fn count_lines(&self, inner: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(Counting {
            inner,
            progress: self.clone(),
            raw: false,
        })
    }

    /// Erases the progress line before the report is printed.
    pub fn clear(&self) {
        if let Ok(state) = self.shared.state.lock() {
            if state.drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        }
    }

    fn maybe_draw(&self) {
        let shared = &self.shared;
        let Ok(mut state) = shared.state.lock() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(shared.started) < SHOW_AFTER
            || state
                .last_draw
                .is_some_and(|at| now.duration_since(at) < REDRAW_EVERY)
        {
            return;
        }
        state.last_draw = Some(now);
        state.drawn = true;
        let line = progress_line(&Snapshot {
            name: &state.name,
            current: state.current,
            inputs: shared.inputs,
            bytes: shared.finished_bytes.load(Ordering::Relaxed)
                + shared.raw_bytes.load(Ordering::Relaxed),
            total_bytes: shared.total_bytes,
            lines: shared.lines.load(Ordering::Relaxed),
            elapsed: now.duration_since(shared.started),
        });
        let _ = write!(std::io::stderr(), "\r{line}\x1b[K");
    }
}

struct Counting {
    inner: Box<dyn Read + Send>,
    progress: Progress,
    raw: bool,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let shared = &self.progress.shared;
        if self.raw {
            shared.raw_bytes.fetch_add(n as u64, Ordering::Relaxed);
        } else {
            let lines = memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            shared.lines.fetch_add(lines, Ordering::Relaxed);
            self.progress.maybe_draw();
        }
        Ok(n)
    }
}

pub struct Snapshot<'a> {
    pub name: &'a str,
    /// 0-based index of the current input.
    pub current: usize,
    pub inputs: usize,
    pub bytes: u64,
    pub total_bytes: Option<u64>,
    pub lines: u64,
    pub elapsed: Duration,
}

/// `[2/5] meta.log  120.0 MiB of 1.2 GiB (10%)  1.2M lines  250 MiB/s  ETA 4.1s`
pub fn progress_line(s: &Snapshot) -> String {
    let seconds = s.elapsed.as_secs_f64().max(0.001);
    let rate = s.bytes as f64 / seconds;
    let mut facts = Vec::new();
    match s.total_bytes.filter(|t| *t > 0) {
        Some(total) => {
            let percent = (s.bytes as f64 * 100.0 / total as f64).min(100.0);
            facts.push(format!(
                "{} of {} ({percent:.0}%)",
                bytes(s.bytes),
                bytes(total)
            ));
        }
        None => facts.push(bytes(s.bytes)),
    }
    facts.push(format!("{} lines", count(s.lines)));
    facts.push(format!("{}/s", bytes(rate as u64)));
    if let Some(total) = s.total_bytes {
        if rate > 0.0 && total > s.bytes {
            let eta = (total - s.bytes) as f64 / rate;
            facts.push(format!(
                "ETA {}",
                format_duration(chrono::Duration::milliseconds((eta * 1000.0) as i64))
            ));
        }
    }
    let tail = facts.join("  ");
    let prefix = if s.inputs > 1 {
        format!("[{}/{}] ", s.current + 1, s.inputs)
    } else {
        String::new()
    };
    let room = LINE_WIDTH.saturating_sub(prefix.len() + 2 + tail.chars().count());
    format!("{prefix}{}  {tail}", shorten(s.name, room.max(8)))
}

/// Keeps the end of a long name (the file name matters, not the directories).
fn shorten(name: &str, room: usize) -> String {
    let length = name.chars().count();
    if length <= room {
        return name.to_string();
    }
    let keep: String = name.chars().skip(length - (room - 1)).collect();
    format!("…{keep}")
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.0}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_on_a_terminal_outside_ci_only() {
        assert!(wanted(true, None));
        assert!(!wanted(false, None));
        assert!(!wanted(true, Some("true".into())));
    }

    #[test]
    fn the_line_has_size_rate_and_eta_within_80_columns() {
        let line = progress_line(&Snapshot {
            name: "logs/very/deeply/nested/directory/of/rotated/logs/rw-meta-0.log.2024-02-11.gz",
            current: 1,
            inputs: 5,
            bytes: 120 * 1024 * 1024,
            total_bytes: Some(1200 * 1024 * 1024),
            lines: 1_234_567,
            elapsed: Duration::from_secs(2),
        });
        assert!(line.chars().count() <= LINE_WIDTH, "{line}");
        assert!(line.starts_with("[2/5] …"), "{line}");
        for part in [
            "120.0 MiB of 1.2 GiB (10%)",
            "1.2M lines",
            "60.0 MiB/s",
            "ETA 18.0s",
        ] {
            assert!(line.contains(part), "{part} missing: {line}");
        }
        let stdin = progress_line(&Snapshot {
            name: "<stdin>",
            current: 0,
            inputs: 1,
            bytes: 5000,
            total_bytes: None,
            lines: 12,
            elapsed: Duration::from_secs(1),
        });
        assert_eq!(stdin, "<stdin>  4.9 KiB  12 lines  4.9 KiB/s");
    }

    #[test]
    fn counting_readers_count_bytes_and_lines() {
        let progress = Progress::new(&[InputSpec::Stdin]);
        let raw = progress.count_raw(Box::new(std::io::Cursor::new(b"a\nb\nc".to_vec())));
        let mut lines = progress.count_lines(raw);
        let mut text = String::new();
        lines.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\nb\nc");
        assert_eq!(progress.shared.raw_bytes.load(Ordering::Relaxed), 5);
        assert_eq!(progress.shared.lines.load(Ordering::Relaxed), 2);
    }
}

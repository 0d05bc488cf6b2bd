//! `--follow`: one live input (`kubectl logs -f rw-meta-0 | rwdoctor
//! --follow`, or a growing file, polled like `tail -f`). Each incident is
//! reported the moment it is certain; the summary comes at the end of the
//! input or on Ctrl-C, with the usual exit code.
//!
//! Threads: a pump reads the source into a channel (so that Ctrl-C can end
//! the scan even while a read of stdin blocks: the scanner's reader stops
//! waiting and reports end of input); the scanner runs on the calling
//! thread; a timer confirms incidents whose `unless` grace has run out in
//! wall-clock time, since the next line may be a long time coming.
use crate::analysis::{add_errors, EXIT_ERROR};
use crate::cli::Cli;
use crate::correlate::Correlator;
use crate::diagnosis::{Diagnoser, InputInfo};
use crate::input::{self, InputError, InputSpec};
use crate::matcher::Matcher;
use crate::model::Timestamp;
use crate::pipeline::{self, Inputs, Request, Timeline};
use crate::report::{self, sink::Sink};
use crate::rules::RuleSet;
use crate::scan::{self, Hit};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How often a file at its end is checked for growth (like `tail -f`).
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often the timer checks for incidents whose grace has run out.
const TICK: Duration = Duration::from_millis(100);
/// Chunks in flight between the pump and the scanner.
const CHANNEL_CHUNKS: usize = 16;
const CHUNK_SIZE: usize = 64 * 1024;

pub fn run(cli: &Cli, request: &Request) -> u8 {
    let rules = RuleSet::load_with(!cli.no_builtin_rules, &cli.rules_dirs);
    let Inputs {
        specs,
        errors: mut input_errors,
    } = Inputs::expand_skipping(
        &request.paths,
        &report::sink::previous_reports(&cli.outputs),
    );
    if specs.len() > 1 || cli.paths.iter().any(|p| p.is_dir()) {
        crate::messages::say(format!(
            "--follow reads one input (stdin or one file), not {}; \
             run one rwdoctor per file, or scan them without --follow",
            if cli.paths.iter().any(|p| p.is_dir()) {
                "a directory".to_string()
            } else {
                format!("{} inputs", specs.len())
            }
        ));
        return EXIT_ERROR;
    }
    let (sinks, output_errors) =
        Sink::open_all(&cli.outputs, |tty| cli.color.enabled(tty), &specs, true);
    let stop = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(&stop);

    let matcher = Matcher::new(&rules);
    let live = Mutex::new(Live {
        timeline: Timeline::new(Correlator::live(&rules), request),
        rules: &rules,
        inputs: pipeline::input_infos(&specs, &[]),
        sinks,
        last_hit: None,
        write_errors: Vec::new(),
        stop: stop.clone(),
        reported_rules: Default::default(),
    });

    // Each file followed, with its coverage: one, or one per file after a
    // rename rotation (`tail -F`), each citing its own line numbers.
    let mut generations: Vec<(InputSpec, Option<scan::Coverage>)> = Vec::new();
    if let Some(spec) = specs.first() {
        if io::stderr().is_terminal() {
            crate::messages::say(format!(
                "following {}; findings appear as soon as they are certain, \
                 the summary at the end of the input or on Ctrl-C",
                spec.display_name()
            ));
        }
        let done = AtomicBool::new(false);
        thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    thread::sleep(TICK);
                    lock(&live).tick();
                }
            });
            // A bug in the scanner must not leave the timer (and so the
            // process) running forever: it becomes an error naming the input.
            let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scan_live(
                    spec,
                    &matcher,
                    &live,
                    &stop,
                    &mut generations,
                    request.discover.depth,
                    request.discover.scan_windows(),
                )
            }));
            match scanned {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    generations.push((spec.clone(), None));
                    input_errors.push(error)
                }
                Err(panic) => {
                    generations.push((spec.clone(), None));
                    input_errors.push(InputError {
                        name: spec.display_name(),
                        message: format!(
                            "internal error while scanning (please report it): {}",
                            crate::workers::panic_message(panic.as_ref())
                        ),
                    })
                }
            }
            done.store(true, Ordering::Relaxed);
            // Incidents still waiting for their grace are certain now.
            let mut live = lock(&live);
            live.timeline.correlator.confirm_pending();
            live.publish();
        });
    }

    let (specs, coverages): (Vec<InputSpec>, Vec<Option<scan::Coverage>>) =
        if generations.is_empty() {
            (specs, Vec::new())
        } else {
            generations.into_iter().unzip()
        };
    let live = live.into_inner().unwrap_or_else(PoisonError::into_inner);
    let Live {
        timeline,
        mut sinks,
        write_errors,
        ..
    } = live;
    let mut analysis =
        pipeline::finish(timeline, &specs, coverages, &input_errors, &rules, request);
    let mut errors = output_errors;
    errors.extend(write_errors);
    add_errors(&mut analysis.summary, errors);
    let context = report::Context {
        rules: &rules,
        fail_on: request.fail_on,
    };
    report::write_all(&mut analysis, &mut sinks, &mut |sink, analysis| {
        report::render_live_end(sink.format, analysis, &context, sink.color)
    })
}

/// A repeat signal this soon after the first is the same request:
/// `timeout` signals the process and then its group, `kill` of a pipeline
/// reaches it twice.
const REPEAT_SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// The first Ctrl-C (or SIGTERM, SIGHUP) ends the input: the summary is
/// printed as at its end. A repeat within `REPEAT_SIGNAL_GRACE` is ignored;
/// one after it, should the first not take, exits 130.
fn install_interrupt_handler(stop: &Arc<AtomicBool>) {
    let stop = stop.clone();
    let mut first: Option<Instant> = None;
    let installed = ctrlc::set_handler(move || {
        stop.store(true, Ordering::SeqCst);
        if should_exit_on_signal(&mut first, Instant::now()) {
            std::process::exit(130);
        }
    });
    if let Err(err) = installed {
        crate::messages::say(format!(
            "cannot handle Ctrl-C ({err}); it will end without a summary"
        ));
    }
}

/// Whether a signal arriving `now` ends the process at once: only a repeat
/// that comes `REPEAT_SIGNAL_GRACE` or more after the first.
fn should_exit_on_signal(first: &mut Option<Instant>, now: Instant) -> bool {
    match first {
        None => {
            *first = Some(now);
            false
        }
        Some(first) => now.duration_since(*first) >= REPEAT_SIGNAL_GRACE,
    }
}

fn scan_live(
    spec: &InputSpec,
    matcher: &Matcher,
    live: &Mutex<Live>,
    stop: &Arc<AtomicBool>,
    generations: &mut Vec<(InputSpec, Option<scan::Coverage>)>,
    discover: crate::templates::Depth,
    windows: Option<i64>,
) -> Result<(), InputError> {
    let (sender, receiver) = mpsc::sync_channel(CHANNEL_CHUNKS);
    let receiver = Arc::new(Mutex::new(receiver));
    let source = spec.clone();
    let pump_stop = stop.clone();
    // Not joined: it may be blocked reading stdin when the scan ends (on
    // Ctrl-C, or when stdout is closed); the process exits around it.
    thread::spawn(move || pump(source, sender, pump_stop));
    let mut current = spec.clone();
    loop {
        let ended = Arc::new(Mutex::new(None));
        let reader = ChannelReader {
            receiver: receiver.clone(),
            stop: stop.clone(),
            chunk: Vec::new(),
            position: 0,
            ended: false,
            why: ended.clone(),
        };
        let name = current.display_name();
        let opened = match input::open_reader(&name, Box::new(reader), None) {
            Ok(opened) => opened,
            Err(error) if generations.is_empty() => return Err(error),
            Err(error) => {
                generations.push((current, None));
                return Err(error);
            }
        };
        let index = generations.len();
        let part = scan::Part {
            discover,
            windows,
            ..scan::Part::default()
        };
        let mut coverage = scan::scan_part(index, &name, opened, matcher, part, &mut |hit| {
            lock(live).on_hit(hit)
        });
        let why = ended.lock().unwrap_or_else(PoisonError::into_inner).take();
        match why {
            Some(FileEnd::Rotated) => {
                let next = InputSpec::File(PathBuf::from(format!(
                    "{} (after rotation {})",
                    spec.display_name(),
                    index + 1
                )));
                let message = format!(
                    "{} was rotated (renamed away); its lines up to the rotation are cited as {name}, \
                     the new file's as `{}`",
                    spec.display_name(),
                    next.display_name()
                );
                crate::messages::say(&message);
                coverage.notes.push(message);
                lock(live)
                    .inputs
                    .extend(pipeline::input_infos(std::slice::from_ref(&next), &[]));
                generations.push((current, Some(coverage)));
                current = next;
            }
            Some(FileEnd::Deleted) => {
                let message = format!("{name} was deleted while followed; stopped at its end");
                crate::messages::say(&message);
                coverage.notes.push(message);
                generations.push((current, Some(coverage)));
                return Ok(());
            }
            None => {
                generations.push((current, Some(coverage)));
                return Ok(());
            }
        }
    }
}

fn lock<'a, 'r>(live: &'a Mutex<Live<'r>>) -> std::sync::MutexGuard<'a, Live<'r>> {
    live.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The timeline (facts, correlator) and the outputs, shared by the scanner
/// and the timer.
struct Live<'r> {
    timeline: Timeline<'r>,
    rules: &'r RuleSet,
    inputs: Vec<InputInfo>,
    sinks: Vec<Sink>,
    /// Log time of the last hit, and when it arrived.
    last_hit: Option<(Timestamp, Instant)>,
    write_errors: Vec<String>,
    stop: Arc<AtomicBool>,
    /// Rules whose first incident was printed in full.
    reported_rules: std::collections::HashSet<usize>,
}

impl Live<'_> {
    fn on_hit(&mut self, hit: Hit) {
        if let Some(time) = hit.sort_time {
            self.last_hit = Some((time, Instant::now()));
        }
        if self.timeline.push(hit) {
            self.publish();
        }
    }

    /// Log time moves on with the wall clock while no line arrives: an
    /// incident waiting for its `unless` grace is confirmed once the grace
    /// has passed since its last line arrived.
    fn tick(&mut self) {
        if let Some((time, arrived)) = self.last_hit {
            let elapsed = chrono::Duration::from_std(arrived.elapsed()).unwrap_or_default();
            self.timeline.correlator.confirm_due(time + elapsed);
            self.publish();
        }
    }

    fn publish(&mut self) {
        for (rule, number) in self.timeline.correlator.take_confirmed() {
            let Some(incident) = self.timeline.correlator.incident(rule, number) else {
                continue;
            };
            let diagnoser = Diagnoser {
                rules: self.rules,
                inputs: &self.inputs,
                context: &self.timeline.context,
            };
            let finding = diagnoser.incident_finding(rule, incident);
            // After a rule's first incident, the short form: output grows
            // with the findings, not with their text.
            let finding = if self.reported_rules.insert(rule) {
                finding
            } else {
                Diagnoser::brief(finding, 1)
            };
            for sink in &mut self.sinks {
                if !report::is_streaming(sink.format) {
                    continue;
                }
                let text = report::render_live_finding(
                    sink.format,
                    &finding,
                    number as u64 + 1,
                    sink.color,
                );
                if let Err(error) = sink.write(&text) {
                    crate::messages::say(&error);
                    self.write_errors.push(error);
                }
            }
        }
        // Nobody reads stdout any more (`rwdoctor --follow | head`): stop.
        if self.sinks.iter().any(|s| s.is_stdout() && s.is_closed()) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

enum Chunk {
    Data(Vec<u8>),
    End(Option<io::Error>),
    /// The file followed was renamed away and a new one took its name:
    /// the old one is read to its end; data from the new one follows.
    Rotated,
    /// The file followed was deleted: nothing more will come.
    Deleted,
}

/// Why the stream of one file ended, other than at the source's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileEnd {
    Rotated,
    Deleted,
}

/// Reads the source into the channel until its end (stdin) or until stopped
/// (a file is polled for growth at its end).
fn pump(source: InputSpec, sender: SyncSender<Chunk>, stop: Arc<AtomicBool>) {
    let end = match source {
        InputSpec::Stdin => copy_until_end(&mut io::stdin(), &sender),
        InputSpec::File(path) => follow_file(&path, &sender, &stop),
        // An archive's member is read to its end, not followed.
        InputSpec::Member(member) => member
            .open()
            .and_then(|mut reader| copy_until_end(&mut reader, &sender)),
    };
    match end {
        Ok(Some(FileEnd::Deleted)) => {
            let _ = sender.send(Chunk::Deleted);
        }
        Ok(_) => {
            let _ = sender.send(Chunk::End(None));
        }
        Err(err) => {
            let _ = sender.send(Chunk::End(Some(err)));
        }
    }
}

fn copy_until_end(
    reader: &mut dyn Read,
    sender: &SyncSender<Chunk>,
) -> io::Result<Option<FileEnd>> {
    let mut buffer = vec![0; CHUNK_SIZE];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                if sender.send(Chunk::Data(buffer[..n].to_vec())).is_err() {
                    return Ok(None); // the scan is over
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// `tail -F` from the first line: at the end of the file, wait for it to
/// grow. A file truncated in place (copytruncate rotation) is read again
/// from its start. A file renamed away and replaced by a new one of the same
/// name is read to its end, then the new one from its start; a file deleted
/// ends the stream.
fn follow_file(
    path: &PathBuf,
    sender: &SyncSender<Chunk>,
    stop: &AtomicBool,
) -> io::Result<Option<FileEnd>> {
    let mut file = File::open(path)?;
    let mut position: u64 = 0;
    let mut buffer = vec![0; CHUNK_SIZE];
    while !stop.load(Ordering::Relaxed) {
        match file.read(&mut buffer) {
            Ok(0) => {
                let open = file.metadata()?;
                match std::fs::metadata(path) {
                    Ok(named) if !same_file(&open, &named) => {
                        // Read what was written to the old file since the
                        // last read, then switch.
                        if file.read(&mut buffer)? > 0 {
                            file.seek(io::SeekFrom::Start(position))?;
                            continue;
                        }
                        let Ok(new) = File::open(path) else {
                            thread::sleep(POLL_INTERVAL);
                            continue;
                        };
                        if sender.send(Chunk::Rotated).is_err() {
                            return Ok(None);
                        }
                        file = new;
                        position = 0;
                        continue;
                    }
                    Err(_) if is_deleted(&open) => return Ok(Some(FileEnd::Deleted)),
                    _ => {}
                }
                if open.len() < position {
                    crate::messages::say(format!(
                        "{} was truncated; reading it from its start",
                        path.display()
                    ));
                    file.rewind()?;
                    position = 0;
                    continue;
                }
                thread::sleep(POLL_INTERVAL);
            }
            Ok(n) => {
                position += n as u64;
                if sender.send(Chunk::Data(buffer[..n].to_vec())).is_err() {
                    return Ok(None);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Whether the open file has no name left (deleted, not renamed).
#[cfg(unix)]
fn is_deleted(open: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    open.nlink() == 0
}

#[cfg(not(unix))]
fn is_deleted(_: &std::fs::Metadata) -> bool {
    false
}

/// The scanner's view of the channel: a byte stream that ends at the
/// source's end, or as soon as `stop` is set.
struct ChannelReader {
    /// Shared by the readers of successive files after a rotation.
    receiver: Arc<Mutex<Receiver<Chunk>>>,
    stop: Arc<AtomicBool>,
    chunk: Vec<u8>,
    position: usize,
    ended: bool,
    /// Set when the stream ended at a rotation or a deletion.
    why: Arc<Mutex<Option<FileEnd>>>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.chunk.len() {
            if self.ended || self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            let received = self
                .receiver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .recv_timeout(TICK);
            match received {
                Ok(Chunk::Data(data)) => {
                    self.chunk = data;
                    self.position = 0;
                }
                Ok(Chunk::Rotated) => {
                    self.ended = true;
                    *self.why.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(FileEnd::Rotated);
                }
                Ok(Chunk::Deleted) => {
                    self.ended = true;
                    *self.why.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some(FileEnd::Deleted);
                }
                Ok(Chunk::End(error)) => {
                    self.ended = true;
                    if let Some(error) = error {
                        return Err(error);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.ended = true,
            }
        }
        let n = buf.len().min(self.chunk.len() - self.position);
        buf[..n].copy_from_slice(&self.chunk[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_reader_hands_out_chunks_and_stops_on_request() {
        let (sender, receiver) = mpsc::sync_channel(4);
        let stop = Arc::new(AtomicBool::new(false));
        let mut reader = ChannelReader {
            receiver: Arc::new(Mutex::new(receiver)),
            stop: stop.clone(),
            chunk: Vec::new(),
            position: 0,
            ended: false,
            why: Arc::default(),
        };
        sender.send(Chunk::Data(b"abc".to_vec())).unwrap();
        let mut buf = [0u8; 2];
        assert_eq!(reader.read(&mut buf).unwrap(), 2);
        assert_eq!(reader.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'c');
        // Nothing queued: a stop request ends the stream within one tick.
        stop.store(true, Ordering::Relaxed);
        assert_eq!(reader.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_second_signal_soon_after_the_first_does_not_exit() {
        let start = Instant::now();
        let mut first = None;
        assert!(!should_exit_on_signal(&mut first, start));
        assert!(!should_exit_on_signal(
            &mut first,
            start + Duration::from_millis(5)
        ));
        assert!(should_exit_on_signal(
            &mut first,
            start + REPEAT_SIGNAL_GRACE + Duration::from_millis(1)
        ));
    }

    #[test]
    fn a_read_error_is_passed_on() {
        let (sender, receiver) = mpsc::sync_channel(4);
        let mut reader = ChannelReader {
            receiver: Arc::new(Mutex::new(receiver)),
            stop: Arc::new(AtomicBool::new(false)),
            chunk: Vec::new(),
            position: 0,
            ended: false,
            why: Arc::default(),
        };
        sender
            .send(Chunk::End(Some(io::Error::other("disk on fire"))))
            .unwrap();
        let mut buf = [0u8; 8];
        assert!(reader.read(&mut buf).is_err());
        assert_eq!(reader.read(&mut buf).unwrap(), 0);
    }
}

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
    let rules = RuleSet::load(&cli.rules_dirs);
    let Inputs {
        specs,
        errors: mut input_errors,
    } = Inputs::expand(&request.paths);
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
        Sink::open_all(&cli.outputs, |tty| cli.color.enabled(tty), &cli.paths);
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
    });

    let mut coverages: Vec<Option<scan::Coverage>> = Vec::new();
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
                scan_live(spec, &matcher, &live, &stop)
            }));
            match scanned {
                Ok(Ok(coverage)) => coverages.push(Some(coverage)),
                Ok(Err(error)) => {
                    coverages.push(None);
                    input_errors.push(error)
                }
                Err(panic) => {
                    coverages.push(None);
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

/// The first Ctrl-C (or SIGTERM, SIGHUP) ends the input: the summary is
/// printed as at its end. A second one, should the first not take, exits.
fn install_interrupt_handler(stop: &Arc<AtomicBool>) {
    let stop = stop.clone();
    let installed = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    if let Err(err) = installed {
        crate::messages::say(format!(
            "cannot handle Ctrl-C ({err}); it will end without a summary"
        ));
    }
}

fn scan_live(
    spec: &InputSpec,
    matcher: &Matcher,
    live: &Mutex<Live>,
    stop: &Arc<AtomicBool>,
) -> Result<scan::Coverage, InputError> {
    let (sender, receiver) = mpsc::sync_channel(CHANNEL_CHUNKS);
    let source = spec.clone();
    let pump_stop = stop.clone();
    // Not joined: it may be blocked reading stdin when the scan ends (on
    // Ctrl-C, or when stdout is closed); the process exits around it.
    thread::spawn(move || pump(source, sender, pump_stop));
    let reader = ChannelReader {
        receiver,
        stop: stop.clone(),
        chunk: Vec::new(),
        position: 0,
        ended: false,
    };
    let name = spec.display_name();
    let opened = input::open_reader(&name, Box::new(reader), None)?;
    Ok(scan::scan(0, &name, opened, matcher, &mut |hit| {
        lock(live).on_hit(hit)
    }))
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
    let _ = sender.send(Chunk::End(end.err()));
}

fn copy_until_end(reader: &mut dyn Read, sender: &SyncSender<Chunk>) -> io::Result<()> {
    let mut buffer = vec![0; CHUNK_SIZE];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if sender.send(Chunk::Data(buffer[..n].to_vec())).is_err() {
                    return Ok(()); // the scan is over
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}

/// `tail -f` from the first line: at the end of the file, wait for it to
/// grow. A file truncated in place (copytruncate rotation) is read again
/// from its start.
fn follow_file(path: &PathBuf, sender: &SyncSender<Chunk>, stop: &AtomicBool) -> io::Result<()> {
    let mut file = File::open(path)?;
    let mut position: u64 = 0;
    let mut buffer = vec![0; CHUNK_SIZE];
    while !stop.load(Ordering::Relaxed) {
        match file.read(&mut buffer) {
            Ok(0) => {
                if file.metadata()?.len() < position {
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
                    return Ok(());
                }
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The scanner's view of the channel: a byte stream that ends at the
/// source's end, or as soon as `stop` is set.
struct ChannelReader {
    receiver: Receiver<Chunk>,
    stop: Arc<AtomicBool>,
    chunk: Vec<u8>,
    position: usize,
    ended: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.chunk.len() {
            if self.ended || self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            match self.receiver.recv_timeout(TICK) {
                Ok(Chunk::Data(data)) => {
                    self.chunk = data;
                    self.position = 0;
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
            receiver,
            stop: stop.clone(),
            chunk: Vec::new(),
            position: 0,
            ended: false,
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
    fn a_read_error_is_passed_on() {
        let (sender, receiver) = mpsc::sync_channel(4);
        let mut reader = ChannelReader {
            receiver,
            stop: Arc::new(AtomicBool::new(false)),
            chunk: Vec::new(),
            position: 0,
            ended: false,
        };
        sender
            .send(Chunk::End(Some(io::Error::other("disk on fire"))))
            .unwrap();
        let mut buf = [0u8; 8];
        assert!(reader.read(&mut buf).is_err());
        assert_eq!(reader.read(&mut buf).unwrap(), 0);
    }
}

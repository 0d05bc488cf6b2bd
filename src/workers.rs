//! How inputs are scanned on all cores: several inputs side by side, and a
//! big plain file split into line-aligned ranges (a single gzip stream
//! cannot be split; its decoding runs on a thread of its own, see `input`).
//! Results come back in input order whatever the thread count, so reports
//! are deterministic.
use crate::input::{self, InputError, InputSpec, OpenInput};
use crate::matcher::Matcher;
use crate::progress::Progress;
use crate::scan::{self, Coverage, Hit};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Plain files smaller than this are scanned whole: splitting costs more.
pub const MIN_SPLIT_BYTES: u64 = 16 << 20;

/// How to spread the work.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub threads: usize,
    /// Plain files at least this big are split into one range per thread.
    pub min_split_bytes: u64,
}

/// What scanning one input gave.
#[derive(Debug, Default)]
pub struct InputScan {
    pub coverage: Option<Coverage>,
    pub hits: Vec<Hit>,
    pub error: Option<InputError>,
}

/// One unit of work: a whole input, or a byte range of a plain file.
#[derive(Debug, Clone)]
struct Work {
    input: usize,
    range: Option<(u64, u64)>,
}

/// The number of threads to use: `requested`, else the cores available.
pub fn thread_count(requested: Option<usize>) -> usize {
    requested
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// Scans every input, in parallel where it pays; results in input order.
pub fn scan_all(
    specs: &[InputSpec],
    matcher: &Matcher,
    plan: Plan,
    progress: Option<&Progress>,
) -> Vec<InputScan> {
    let threads = plan.threads;
    let work = plan_work(specs, plan);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<InputScan>>> =
        Mutex::new((0..work.len()).map(|_| None).collect());
    let run = || loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = work.get(index) else { return };
        let outcome = run_work(item, &specs[item.input], matcher, progress);
        if let Ok(mut slots) = results.lock() {
            slots[index] = Some(outcome);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.min(work.len()) {
            scope.spawn(run);
        }
        run();
    });
    let slots = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());

    // Stitch the parts of each input back together, in order.
    let mut scans: Vec<InputScan> = specs.iter().map(|_| InputScan::default()).collect();
    for (item, slot) in work.iter().zip(slots) {
        let Some(InputScan {
            coverage,
            mut hits,
            error,
        }) = slot
        else {
            continue;
        };
        let scan = &mut scans[item.input];
        if error.is_some() {
            scan.error = error;
            continue;
        }
        let Some(coverage) = coverage else { continue };
        match &mut scan.coverage {
            None => {
                scan.hits = hits;
                scan.coverage = Some(coverage);
            }
            Some(before) => {
                let offset = before.lines;
                let last_time = scan.hits.iter().rev().find_map(|h| h.sort_time);
                for hit in &mut hits {
                    hit.line += offset;
                    // Lines at a part's head without a time of their own
                    // take the time of the line before, in the part before.
                    if hit.sort_time.is_none() {
                        hit.sort_time = last_time;
                    }
                }
                scan.hits.extend(hits);
                before.merge_part(coverage);
            }
        }
    }
    scans
}

/// Whole inputs, except big plain files, which get one range per thread.
fn plan_work(specs: &[InputSpec], plan: Plan) -> Vec<Work> {
    let mut work = Vec::new();
    for (input, spec) in specs.iter().enumerate() {
        let ranges = match spec {
            InputSpec::File(path) if plan.threads > 1 => {
                split_points(path, plan.threads, plan.min_split_bytes)
            }
            _ => None,
        };
        match ranges {
            Some(ranges) => work.extend(ranges.into_iter().map(|range| Work {
                input,
                range: Some(range),
            })),
            None => work.push(Work { input, range: None }),
        }
    }
    work
}

/// Line-aligned ranges of a big regular plain file, or `None`.
fn split_points(path: &std::path::Path, parts: usize, min_bytes: u64) -> Option<Vec<(u64, u64)>> {
    let mut file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < min_bytes.max(1) {
        return None;
    }
    let mut magic = [0u8; 2];
    if file.read_exact(&mut magic).is_err() || magic == [0x1f, 0x8b] {
        return None;
    }
    let size = meta.len();
    let mut bounds = vec![0u64];
    let mut probe = vec![0u8; 64 * 1024];
    for part in 1..parts {
        let nominal = size * part as u64 / parts as u64;
        let from = nominal.max(*bounds.last().unwrap_or(&0));
        file.seek(SeekFrom::Start(from)).ok()?;
        let mut offset = from;
        // The next line starts after the first newline at or past `from`.
        let start = loop {
            let n = file.read(&mut probe).ok()?;
            if n == 0 {
                break None;
            }
            if let Some(i) = memchr::memchr(b'\n', &probe[..n]) {
                break Some(offset + i as u64 + 1);
            }
            offset += n as u64;
        };
        match start {
            Some(start) if start < size => bounds.push(start),
            _ => break,
        }
    }
    bounds.push(size);
    bounds.dedup();
    (bounds.len() > 2).then(|| bounds.windows(2).map(|w| (w[0], w[1])).collect())
}

/// Opens an input, or a byte range of a plain file, counting what is read
/// for the progress line when one is shown.
pub fn open_input(
    index: usize,
    spec: &InputSpec,
    range: Option<(u64, u64)>,
    progress: Option<&Progress>,
) -> Result<OpenInput, InputError> {
    if let Some(progress) = progress {
        progress.begin_input(index, &spec.display_name());
    }
    let opened = match (range, spec) {
        (Some((start, end)), InputSpec::File(path)) => open_range(path, start, end, progress)
            .map_err(|err| InputError {
                name: spec.display_name(),
                message: input::describe_io_error(&err),
            }),
        _ => match progress {
            Some(progress) => input::open_with(spec, |raw| progress.count_raw(raw)),
            None => input::open(spec),
        },
    };
    opened.map(|mut opened| {
        if let Some(progress) = progress {
            opened.reader = progress.count_lines(opened.reader);
        }
        opened
    })
}

fn run_work(
    item: &Work,
    spec: &InputSpec,
    matcher: &Matcher,
    progress: Option<&Progress>,
) -> InputScan {
    let mut hits = Vec::new();
    let name = spec.display_name();
    match open_input(item.input, spec, item.range, progress) {
        Ok(opened) => {
            let mid_input = item.range.is_some_and(|(start, _)| start > 0);
            let coverage =
                scan::scan_part(item.input, &name, opened, matcher, mid_input, &mut |hit| {
                    hits.push(hit)
                });
            InputScan {
                coverage: Some(coverage),
                hits,
                error: None,
            }
        }
        Err(err) => InputScan {
            coverage: None,
            hits,
            error: Some(err),
        },
    }
}

fn open_range(
    path: &std::path::Path,
    start: u64,
    end: u64,
    progress: Option<&Progress>,
) -> std::io::Result<OpenInput> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let reader: Box<dyn Read + Send> = Box::new(file.take(end - start));
    Ok(OpenInput {
        reader: match progress {
            Some(progress) => progress.count_raw(reader),
            None => reader,
        },
        gzip: false,
        size: Some(end - start),
    })
}

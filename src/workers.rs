//! How inputs are scanned on all cores: several inputs side by side, and a
//! big plain file split into line-aligned ranges. A gzip stream cannot be
//! split: it is decoded on the thread that scans it while every core has
//! an input of its own, and on a thread of its own once a core is free
//! (`Load`, `input::GzipDecoding`).
//!
//! Worker threads scan; the calling thread merges their hits into one
//! timeline as they come (by time across inputs, each input in its own
//! order) and hands them on. Hits wait in per-part queues; past a memory
//! budget the queues go to a temporary file (`spill`), so memory does not
//! grow with the number of matching lines. The merged order depends only on
//! the inputs, never on the thread count or timing, so reports are
//! deterministic.
use crate::input::{self, GzipDecoding, InputError, InputSpec, OpenInput};
use crate::matcher::Matcher;
use crate::model::Timestamp;
use crate::progress::Progress;
use crate::scan::{self, Coverage, Hit};
use crate::spill::{self, SpillFile};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Plain files smaller than this are scanned whole: splitting costs more.
pub const MIN_SPLIT_BYTES: u64 = 16 << 20;
/// Hits a worker collects before handing them over (and the most the merge
/// holds per input).
const BATCH: usize = 64;
/// Memory the queued hits may take before they go to the temporary file.
pub const MEMORY_BUDGET: usize = 16 << 20;
/// Memory the inputs' time-order windows share (thousands of hits each):
/// with the queues' budget, peak memory stays under the 64 MiB that
/// tests/robustness holds a million matching lines to.
const WINDOW_BUDGET: usize = 4 << 20;
/// The least an input's time-order window holds.
const MIN_WINDOW: usize = 512 << 10;

/// How to spread the work.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub threads: usize,
    /// Plain files at least this big are split into one range per thread.
    pub min_split_bytes: u64,
    /// Which lines are mined into templates (discovery).
    pub discover: crate::templates::Depth,
    /// The window (seconds) mined at the levels below (`scan::Part::windows`).
    pub windows: Option<i64>,
}

/// What scanning one input gave (its hits went to the merge).
#[derive(Debug, Default)]
pub struct InputScan {
    pub coverage: Option<Coverage>,
    pub error: Option<InputError>,
}

/// One unit of work: a whole input, or a byte range of a plain file.
#[derive(Debug, Clone)]
struct Work {
    input: usize,
    range: Option<(u64, u64)>,
    /// For the parts of a split file: the year journalctl lines get.
    year: Option<i32>,
    discover: crate::templates::Depth,
    windows: Option<i64>,
}

/// The number of threads to use: `requested`, else the cores available.
pub fn thread_count(requested: Option<usize>) -> usize {
    requested
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1)
}

/// A batch of hits in a part's queue.
enum Batch {
    InMemory { hits: Vec<Hit>, bytes: usize },
    Spilled { offset: u64, len: usize },
}

/// The queue between the worker scanning one part and the merge.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    batches: VecDeque<Batch>,
    /// Set when the part has been scanned (or could not be opened).
    done: Option<InputScan>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next batch, waiting for the worker; `None` once the part is done.
    fn next(&self) -> Option<Batch> {
        let mut state = self.lock();
        loop {
            if let Some(batch) = state.batches.pop_front() {
                return Some(batch);
            }
            if state.done.is_some() {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn push(&self, batch: Batch) {
        self.lock().batches.push_back(batch);
        self.changed.notify_all();
    }

    fn finish(&self, outcome: InputScan) {
        self.lock().done = Some(outcome);
        self.changed.notify_all();
    }
}

/// Which parts are taken and how many workers scan: what tells a gzip
/// input whether a core is free for its decoding (see
/// `input::GzipDecoding::WhileBusy`).
struct Load {
    /// The cores to use (the plan's threads, not the workers started).
    cores: usize,
    parts: usize,
    /// The next part to take.
    next_work: AtomicUsize,
    /// Workers that are taking or scanning a part.
    scanning: AtomicUsize,
}

impl Load {
    /// A core is free: every part is taken and fewer workers scan than
    /// there are cores (one finished, or there were fewer parts).
    fn core_free(&self) -> bool {
        self.next_work.load(Ordering::Relaxed) >= self.parts
            && self.scanning.load(Ordering::Relaxed) < self.cores
    }
}

/// What the workers and the merge share.
struct Shared<'a> {
    specs: &'a [InputSpec],
    matcher: &'a Matcher,
    progress: Option<&'a Progress>,
    work: Vec<Work>,
    queues: Vec<Queue>,
    load: Arc<Load>,
    /// Bytes of hits queued in memory, all parts together.
    in_memory: AtomicUsize,
    spill: SpillFile,
}

impl Shared<'_> {
    /// Hands a batch to the merge: in memory within the budget, else to the
    /// temporary file (in memory after all if it cannot be written).
    fn hand_over(&self, queue: &Queue, hits: Vec<Hit>) {
        if hits.is_empty() {
            return;
        }
        let bytes: usize = hits.iter().map(spill::footprint).sum();
        if self.in_memory.load(Ordering::Relaxed) + bytes > MEMORY_BUDGET {
            let encoded = spill::encode(&hits);
            if let Some(offset) = self.spill.write(&encoded) {
                queue.push(Batch::Spilled {
                    offset,
                    len: encoded.len(),
                });
                return;
            }
        }
        self.in_memory.fetch_add(bytes, Ordering::Relaxed);
        queue.push(Batch::InMemory { hits, bytes });
    }

    /// A worker: takes parts in order until none is left.
    fn work(&self) {
        loop {
            // Counted before the part is taken, so that no one sees every
            // part taken and this worker not yet scanning.
            self.load.scanning.fetch_add(1, Ordering::Relaxed);
            let index = self.load.next_work.fetch_add(1, Ordering::Relaxed);
            let Some(item) = self.work.get(index) else {
                self.load.scanning.fetch_sub(1, Ordering::Relaxed);
                return;
            };
            let queue = &self.queues[index];
            let spec = &self.specs[item.input];
            let mut batch = Vec::with_capacity(BATCH);
            // A bug must not hang the merge waiting for this part, nor lose
            // the other inputs: it becomes an error naming the input.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let load = Arc::clone(&self.load);
                let decoding = GzipDecoding::WhileBusy(Arc::new(move || !load.core_free()));
                run_work(
                    item,
                    spec,
                    self.matcher,
                    self.progress,
                    decoding,
                    &mut |hit| {
                        batch.push(hit);
                        if batch.len() == BATCH {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            self.hand_over(queue, full);
                        }
                    },
                )
            }));
            let outcome = match outcome {
                Ok(outcome) => {
                    self.hand_over(queue, std::mem::take(&mut batch));
                    outcome
                }
                Err(panic) => InputScan {
                    coverage: None,
                    error: Some(InputError {
                        name: spec.display_name(),
                        message: format!(
                            "internal error while scanning (please report it): {}",
                            panic_message(panic.as_ref())
                        ),
                    }),
                },
            };
            queue.finish(outcome);
            self.load.scanning.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// What a caught panic said.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// One input's hits in its order, its parts stitched together: line numbers
/// continue from the part before, and hits at a part's head without a time
/// of their own take the time of the last hit before them.
struct InputStream {
    /// Indices of this input's parts in `Shared::work`, in order.
    parts: Vec<usize>,
    part: usize,
    current: VecDeque<Hit>,
    line_offset: u64,
    /// The time of the last hit before the current part.
    inherited: Option<Timestamp>,
    last_time: Option<Timestamp>,
    /// A temporary file that could not be read back.
    error: Option<String>,
    /// The last event line of the parts read so far (for a start-up banner
    /// that heads a part: `Hit::before`).
    last_event: Option<Box<Hit>>,
    /// Hits put in time order.
    order: TimeOrder,
}

/// A window of one input's hits, sorted by time as they pass through it.
/// Within its memory the order is exact; an input out of order by more
/// (a newest-first file with more matching lines than the window holds)
/// is said in its notes (`broken`).
struct TimeOrder {
    /// Memory the window may take.
    window: usize,
    bytes: usize,
    heap: BinaryHeap<Reverse<Timed>>,
    /// Hits pushed so far (their place in the input).
    pushed: u64,
    primed: bool,
    ended: bool,
    newest_first: bool,
    /// The last key given out, to tell a window that was too small.
    last: Option<(Option<Timestamp>, i64)>,
    broken: bool,
}

impl TimeOrder {
    fn new(window: usize) -> TimeOrder {
        TimeOrder {
            window,
            bytes: 0,
            heap: BinaryHeap::new(),
            pushed: 0,
            primed: false,
            ended: false,
            newest_first: false,
            last: None,
            broken: false,
        }
    }

    fn push(&mut self, hit: Hit) {
        let place = self.pushed as i64;
        self.pushed += 1;
        self.bytes += spill::footprint(&hit);
        let tie = if self.newest_first { -place } else { place };
        self.heap.push(Reverse(Timed {
            key: (hit.sort_time, tie),
            hit,
        }));
    }

    fn pop(&mut self) -> Option<Hit> {
        let Reverse(timed) = self.heap.pop()?;
        self.bytes = self.bytes.saturating_sub(spill::footprint(&timed.hit));
        if self.last.is_some_and(|last| timed.key < last) {
            self.broken = true;
        }
        self.last = Some(timed.key);
        Some(timed.hit)
    }

    /// What the input's notes say about its order, if anything.
    fn note(&self) -> Option<String> {
        if self.broken {
            Some(
                "lines out of time order by more matching lines than could be held at once: \
                 sequences were matched partly in file order"
                    .to_string(),
            )
        } else if self.newest_first {
            Some("newest first: its lines were read in time order".to_string())
        } else {
            None
        }
    }
}

/// A hit with its sort key: time, then place in the input.
struct Timed {
    key: (Option<Timestamp>, i64),
    hit: Hit,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Timed {}

impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Whether hits read in file order mostly go back in time: more steps
/// back than forward between lines with a time of their own.
fn newest_first(hits: &[Hit]) -> bool {
    let times: Vec<Timestamp> = hits.iter().filter_map(|h| h.timestamp).collect();
    let (mut back, mut forward) = (0, 0);
    for pair in times.windows(2) {
        match pair[1].cmp(&pair[0]) {
            std::cmp::Ordering::Less => back += 1,
            std::cmp::Ordering::Greater => forward += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
    back > forward
}

impl InputStream {
    /// The next hit in time order: through a window of hits sorted by time
    /// (stable: hits without a time of their own carry the time of the
    /// line before them, and so keep their place beside it). An input
    /// whose window shows it newest first breaks ties the other way round,
    /// so that it reads exactly as the same lines in time order.
    fn next(&mut self, shared: &Shared) -> Option<Hit> {
        if !self.order.primed {
            self.prime(shared);
        }
        if !self.order.ended {
            match self.next_in_file_order(shared) {
                Some(hit) => self.order.push(hit),
                None => self.order.ended = true,
            }
        }
        self.order.pop()
    }

    /// Fills the window and tells the input's order from it.
    fn prime(&mut self, shared: &Shared) {
        self.order.primed = true;
        let mut buffered = Vec::new();
        let mut bytes = 0;
        while bytes < self.order.window {
            match self.next_in_file_order(shared) {
                Some(hit) => {
                    bytes += spill::footprint(&hit);
                    buffered.push(hit);
                }
                None => {
                    self.order.ended = true;
                    break;
                }
            }
        }
        self.order.newest_first = newest_first(&buffered);
        for hit in buffered {
            self.order.push(hit);
        }
    }

    /// The next hit in the input's own (line) order.
    fn next_in_file_order(&mut self, shared: &Shared) -> Option<Hit> {
        loop {
            if let Some(mut hit) = self.current.pop_front() {
                hit.line += self.line_offset;
                if let Some(before) = &mut hit.before {
                    before.line += self.line_offset;
                } else if self.part > 0
                    && hit
                        .facts
                        .iter()
                        .any(|(kind, _)| *kind == crate::facts::FactKind::NodeStarting)
                {
                    // A banner with no event line before it in its part:
                    // that line ended the part before.
                    hit.before = self.last_event.clone();
                }
                if hit.sort_time.is_none() {
                    hit.sort_time = self.inherited;
                }
                if hit.sort_time.is_some() {
                    self.last_time = hit.sort_time;
                }
                return Some(hit);
            }
            let &index = self.parts.get(self.part)?;
            let queue = &shared.queues[index];
            match queue.next() {
                Some(Batch::InMemory { hits, bytes }) => {
                    shared.in_memory.fetch_sub(bytes, Ordering::Relaxed);
                    self.current = hits.into();
                }
                Some(Batch::Spilled { offset, len }) => {
                    match shared
                        .spill
                        .read(offset, len)
                        .and_then(|b| spill::decode(&b))
                    {
                        Ok(hits) => self.current = hits.into(),
                        Err(err) => {
                            self.error.get_or_insert(format!(
                                "matching lines lost reading them back from a temporary file: {}",
                                crate::text::describe_io_error(&err)
                            ));
                        }
                    }
                }
                None => {
                    // The part is done: the next one continues its lines.
                    let (lines, last_event) = queue
                        .lock()
                        .done
                        .as_ref()
                        .and_then(|d| d.coverage.as_ref())
                        .map_or((0, None), |c| (c.lines, c.last_event.clone()));
                    if let Some(mut last) = last_event {
                        last.line += self.line_offset;
                        self.last_event = Some(last);
                    }
                    self.line_offset += lines;
                    self.inherited = self.last_time;
                    self.part += 1;
                }
            }
        }
    }
}

/// Scans every input, in parallel where it pays, and calls `on_hit` with
/// every hit in timeline order: by time across inputs (ties in input
/// order), each input's own order kept (a clock step back stays in line
/// order). Returns what each input gave, in input order.
pub fn scan_merged(
    specs: &[InputSpec],
    matcher: &Matcher,
    plan: Plan,
    progress: Option<&Progress>,
    on_hit: &mut dyn FnMut(Hit),
) -> Vec<InputScan> {
    let threads = plan.threads;
    let work = plan_work(specs, plan);
    let shared = Shared {
        specs,
        matcher,
        progress,
        queues: work.iter().map(|_| Queue::default()).collect(),
        load: Arc::new(Load {
            cores: threads,
            parts: work.len(),
            next_work: AtomicUsize::new(0),
            scanning: AtomicUsize::new(0),
        }),
        work,
        in_memory: AtomicUsize::new(0),
        spill: SpillFile::default(),
    };
    // Each input's time-order window: a share of the memory budget.
    let window = (WINDOW_BUDGET / specs.len().max(1)).max(MIN_WINDOW);
    let mut streams: Vec<InputStream> = specs
        .iter()
        .map(|_| InputStream {
            parts: Vec::new(),
            part: 0,
            current: VecDeque::new(),
            line_offset: 0,
            inherited: None,
            last_time: None,
            error: None,
            last_event: None,
            order: TimeOrder::new(window),
        })
        .collect();
    for (index, item) in shared.work.iter().enumerate() {
        streams[item.input].parts.push(index);
    }
    std::thread::scope(|scope| {
        for _ in 0..threads.min(shared.work.len()) {
            scope.spawn(|| shared.work());
        }
        merge(&shared, &mut streams, on_hit);
    });

    // Each input's coverage, its parts stitched together, in order.
    let mut scans: Vec<InputScan> = specs.iter().map(|_| InputScan::default()).collect();
    for (queue, item) in shared.queues.iter().zip(&shared.work) {
        let Some(InputScan { coverage, error }) = queue.lock().done.take() else {
            continue;
        };
        let scan = &mut scans[item.input];
        if error.is_some() {
            scan.error = error;
            continue;
        }
        let Some(coverage) = coverage else { continue };
        match &mut scan.coverage {
            None => scan.coverage = Some(coverage),
            Some(before) => before.merge_part(coverage),
        }
    }
    for (scan, stream) in scans.iter_mut().zip(&streams) {
        if let (Some(coverage), Some(error)) = (&mut scan.coverage, &stream.error) {
            coverage.read_error.get_or_insert_with(|| error.clone());
        }
        if let (Some(coverage), Some(note)) = (&mut scan.coverage, stream.order.note()) {
            coverage.newest_first = stream.order.newest_first;
            coverage.notes.push(note);
        }
    }
    for coverage in scans.iter_mut().filter_map(|s| s.coverage.as_mut()) {
        if coverage.unread_bytes > 0 {
            coverage.notes.push(format!(
                "shrank while being read (rotated by truncation?): {} of the {} bytes it had when opened were scanned",
                coverage.bytes,
                coverage.bytes + coverage.unread_bytes
            ));
        }
    }
    scans
}

/// The k-way merge of the inputs' streams by time.
fn merge(shared: &Shared, streams: &mut [InputStream], on_hit: &mut dyn FnMut(Hit)) {
    let key = |hit: &Hit, input: usize| Reverse((hit.sort_time, input));
    let mut heads: Vec<Option<Hit>> = Vec::with_capacity(streams.len());
    let mut heap = BinaryHeap::with_capacity(streams.len());
    for (input, stream) in streams.iter_mut().enumerate() {
        let head = stream.next(shared);
        if let Some(hit) = &head {
            heap.push(key(hit, input));
        }
        heads.push(head);
    }
    while let Some(Reverse((_, input))) = heap.pop() {
        let next = streams[input].next(shared);
        if let Some(hit) = &next {
            heap.push(key(hit, input));
        }
        if let Some(hit) = std::mem::replace(&mut heads[input], next) {
            on_hit(hit);
        }
    }
}

/// Ranges a big plain file is split into, per thread. With one per thread,
/// a thread slowed down (by another process, or this VM's neighbours) kept
/// the other waiting at the end; smaller ranges are shared out through the
/// work queue as threads come free (1 GiB on 2 threads: 260 -> 250 ms
/// median wall, 10 interleaved runs).
const PARTS_PER_THREAD: usize = 4;

/// Whole inputs, except big plain files, which get ranges of their own.
fn plan_work(specs: &[InputSpec], plan: Plan) -> Vec<Work> {
    let mut work = Vec::new();
    for (input, spec) in specs.iter().enumerate() {
        let ranges = match spec {
            InputSpec::File(path) if plan.threads > 1 => {
                split_points(path, plan.threads * PARTS_PER_THREAD, plan.min_split_bytes)
            }
            _ => None,
        };
        match (ranges, spec) {
            (Some(ranges), InputSpec::File(path)) => {
                // Every part dates journalctl lines as a whole scan would.
                let year = file_head(path).and_then(|head| scan::year_of_first_event(&head));
                work.extend(ranges.into_iter().map(|range| Work {
                    input,
                    range: Some(range),
                    year,
                    discover: plan.discover,
                    windows: plan.windows,
                }))
            }
            _ => work.push(Work {
                input,
                range: None,
                year: None,
                discover: plan.discover,
                windows: plan.windows,
            }),
        }
    }
    work
}

/// The first 64 KiB of a file.
fn file_head(path: &std::path::Path) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}

/// Line-aligned ranges of a big regular plain file, or `None`.
fn split_points(path: &std::path::Path, parts: usize, min_bytes: u64) -> Option<Vec<(u64, u64)>> {
    // Look before opening: opening a FIFO would wait for a writer, and
    // closing it again would lose what the writer sent.
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() < min_bytes.max(1) {
        return None;
    }
    let mut file = File::open(path).ok()?;
    // Only plain text is split: not a compressed stream, an archive, UTF-16...
    let mut head = [0u8; 512];
    if file.read_exact(&mut head).is_err() || !input::splittable(&head) {
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
        // A part starts at an event line with a time of its own, not
        // inside a panic (whose lines fold into one event) or at its
        // header (which takes the time of the line before).
        let start = match start {
            Some(start) => event_line_at_or_after(&mut file, start, &mut probe),
            None => None,
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

/// The start of the first line at or after `start` (a line start) that is an
/// event line of a timestamped shape, looking at most one probe buffer
/// ahead; `start` itself when none is found there, and None when the file
/// ends first (the rest belongs to the part before: splitting there would
/// cut a panic at the end of a file from its message).
fn event_line_at_or_after(file: &mut File, start: u64, probe: &mut [u8]) -> Option<u64> {
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut filled = 0;
    while filled < probe.len() {
        match file.read(&mut probe[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return Some(start),
        }
    }
    let mut at = 0;
    while let Some(end) = memchr::memchr(b'\n', &probe[at..filled]).map(|i| at + i) {
        let mut line = &probe[at..end];
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        let timestamped = match crate::record::classify(line).0 {
            crate::record::LineClass::Event(shape) => shape != crate::record::Shape::RustPanic,
            _ => false,
        };
        if timestamped {
            return Some(start + at as u64);
        }
        at = end + 1;
    }
    (filled == probe.len()).then_some(start)
}

/// Opens an input, or a byte range of a plain file, counting what is read
/// for the progress line when one is shown.
pub fn open_input(
    index: usize,
    spec: &InputSpec,
    range: Option<(u64, u64)>,
    progress: Option<&Progress>,
    decoding: GzipDecoding,
) -> Result<OpenInput, InputError> {
    if let Some(progress) = progress {
        progress.begin_input(index, &spec.display_name());
    }
    let opened = match (range, spec) {
        (Some((start, end)), InputSpec::File(path)) => open_range(path, start, end, progress)
            .map_err(|err| InputError {
                name: spec.display_name(),
                message: crate::text::describe_io_error(&err),
            }),
        _ => match progress {
            Some(progress) => input::open_with(spec, |raw| progress.count_raw(raw), decoding),
            None => input::open_with(spec, |raw| raw, decoding),
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
    decoding: GzipDecoding,
    on_hit: &mut dyn FnMut(Hit),
) -> InputScan {
    let name = spec.display_name();
    match open_input(item.input, spec, item.range, progress, decoding) {
        Ok(opened) => {
            let part = scan::Part {
                mid_input: item.range.is_some_and(|(start, _)| start > 0),
                year: item.year,
                discover: item.discover,
                windows: item.windows,
            };
            // A plain file's size at open (or its range's): what it should
            // give unless it shrinks while read.
            let expected = (!opened.gzip && !opened.rewritten)
                .then_some(opened.size)
                .flatten();
            let mut coverage = scan::scan_part(item.input, &name, opened, matcher, part, on_hit);
            if let Some(expected) = expected {
                coverage.unread_bytes = expected.saturating_sub(coverage.bytes);
            }
            InputScan {
                coverage: Some(coverage),
                error: None,
            }
        }
        Err(err) => InputScan {
            coverage: None,
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
        rewritten: false,
        reader: match progress {
            Some(progress) => progress.count_raw(reader),
            None => reader,
        },
        gzip: false,
        notes: Vec::new(),
        size: Some(end - start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use std::io::Write;

    fn timed(line: u64, seconds: Option<i64>) -> Hit {
        let time = seconds.map(|s| {
            chrono::DateTime::from_timestamp(1_707_631_200 + s, 0)
                .unwrap()
                .fixed_offset()
        });
        Hit {
            input: 0,
            line,
            timestamp: time,
            sort_time: time,
            level: None,
            target: None,
            origin: None,
            shape: crate::record::Shape::RisingwaveText,
            text: String::new(),
            message: String::new(),
            highlight: None,
            signals: Vec::new(),
            facts: Vec::new(),
            before: None,
        }
    }

    fn lines_out(order: &mut TimeOrder) -> Vec<u64> {
        std::iter::from_fn(|| order.pop()).map(|h| h.line).collect()
    }

    #[test]
    fn the_time_order_window_sorts_stably_and_reads_newest_first_bottom_up() {
        // Out of order within seconds: by time, ties in file order.
        let hits = [(1, 5), (2, 3), (3, 5), (4, 4), (5, 9)].map(|(l, s)| timed(l, Some(s)));
        assert!(!newest_first(&hits));
        let mut order = TimeOrder::new(1 << 20);
        hits.into_iter().for_each(|h| order.push(h));
        assert_eq!(lines_out(&mut order), [2, 4, 1, 3, 5]);
        assert_eq!(order.note(), None);
        // Newest first: ties bottom-up, as the sorted file has them.
        let hits = [(1, 9), (2, 5), (3, 5), (4, 3)].map(|(l, s)| timed(l, Some(s)));
        assert!(newest_first(&hits));
        let mut order = TimeOrder::new(1 << 20);
        order.newest_first = true;
        hits.into_iter().for_each(|h| order.push(h));
        assert_eq!(lines_out(&mut order), [4, 3, 2, 1]);
        assert!(order.note().unwrap().starts_with("newest first"));
        // A hit older than one already given out: the window was too small,
        // and the note says so.
        let mut order = TimeOrder::new(1 << 20);
        order.push(timed(1, Some(5)));
        assert_eq!(lines_out(&mut order), [1]);
        order.push(timed(2, Some(3)));
        assert_eq!(lines_out(&mut order), [2]);
        assert!(order.note().unwrap().contains("partly in file order"));
    }

    #[test]
    fn a_file_that_shrinks_while_read_counts_the_bytes_it_lost() {
        // A range planned while the file was 100 bytes longer: what was
        // there at open and is gone is counted, and the stitched scan notes
        // it with what was scanned.
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let text = "2024-02-11T06:00:00.000000Z  INFO risingwave_meta: started\n".repeat(10);
        file.write_all(text.as_bytes()).unwrap();
        let len = text.len() as u64;
        let spec = InputSpec::File(file.path().to_path_buf());
        let rules = RuleSet::load(&[]);
        let matcher = Matcher::new(&rules);
        let item = Work {
            input: 0,
            range: Some((0, len + 100)),
            year: None,
            discover: Default::default(),
            windows: None,
        };
        let scan = run_work(
            &item,
            &spec,
            &matcher,
            None,
            GzipDecoding::OwnThread,
            &mut |_| {},
        );
        let coverage = scan.coverage.unwrap();
        assert_eq!((coverage.bytes, coverage.unread_bytes), (len, 100));
    }
}

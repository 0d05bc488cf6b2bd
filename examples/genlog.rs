//! Fast, deterministic generator of realistic RisingWave meta-node logs.
//!
//! Used by `bench/run.sh` to build large inputs for benchmarking `rwdoctor`.
//!
//! ```text
//! cargo run --release --example genlog -- --size 1G --seed 1 --incidents 5 > meta.log
//! ```
//!
//! Output is the tracing-subscriber "full" format:
//! `<RFC 3339 ts>Z <LEVEL> [span: ]<target>: <message>[ k=v]*`.
//! Noise lines never contain any of the failure phrases the rule pack looks
//! for; failures only appear in the injected incidents (lost etcd lease,
//! leader exit, restart) and a few `etcdserver: request is too large` errors.
//!
//! Std-only on purpose: `bench/run.sh` can build it with plain `rustc` when
//! the crate itself does not compile (`rustc -C opt-level=3 --edition 2021
//! examples/genlog.rs`).

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// tracing-subscriber full text format (default since v1.1).
    Full,
}

impl Format {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(Format::Full),
            _ => Err(format!("unknown --format {s:?} (supported: full)")),
        }
    }
}

const USAGE: &str = "\
Generate realistic RisingWave meta-node logs on stdout.

Usage: genlog --size <SIZE> [OPTIONS]

Options:
  --size <SIZE>           output size in bytes; K/M/G/T suffixes (binary, 1K = 1024)
  --seed <N>              PRNG seed, same seed and options = same bytes [default: 1]
  --incidents <N>         lease-loss incidents spread evenly over the output [default: 5]
  --format <FORMAT>       line format: full [default: full]
  --crlf                  end lines with CRLF
  --long-line-every <N>   every N lines emit a ~64 KiB noise line
  -h, --help              print this help";

#[derive(Debug)]
struct Args {
    size: u64,
    seed: u64,
    incidents: u32,
    format: Format,
    crlf: bool,
    long_line_every: Option<u64>,
}

impl Args {
    /// Parses `--flag value` and `--flag=value`. Std-only on purpose: the
    /// generator must build without the rest of the crate's dependencies.
    fn parse<I: Iterator<Item = String>>(mut it: I) -> Result<Args, String> {
        let mut size = None;
        let mut args = Args {
            size: 0,
            seed: 1,
            incidents: 5,
            format: Format::Full,
            crlf: false,
            long_line_every: None,
        };
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            let num = |name: &str, v: String| -> Result<u64, String> {
                v.parse()
                    .map_err(|_| format!("invalid value {v:?} for {name}"))
            };
            match flag.as_str() {
                "-h" | "--help" => return Err(String::new()),
                "--size" => size = Some(parse_size(&value("--size")?)?),
                "--seed" => args.seed = num("--seed", value("--seed")?)?,
                "--incidents" => {
                    let n = num("--incidents", value("--incidents")?)?;
                    args.incidents =
                        u32::try_from(n).map_err(|_| "--incidents is too large".to_string())?;
                }
                "--format" => args.format = Format::parse(&value("--format")?)?,
                "--crlf" if inline.is_none() => args.crlf = true,
                "--long-line-every" => {
                    let n = num("--long-line-every", value("--long-line-every")?)?;
                    args.long_line_every = (n > 0).then_some(n);
                }
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        args.size = size.ok_or("--size is required")?;
        Ok(args)
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (num, mult) = match body.as_bytes().last() {
        Some(b'k') => (&body[..body.len() - 1], 1u64 << 10),
        Some(b'm') => (&body[..body.len() - 1], 1u64 << 20),
        Some(b'g') => (&body[..body.len() - 1], 1u64 << 30),
        Some(b't') => (&body[..body.len() - 1], 1u64 << 40),
        _ => (body, 1u64),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid size {s:?} (examples: 1G, 200M, 10K, 4096)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} overflows"))
}

/// xorshift64* PRNG: tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 scramble so that small seeds give unrelated streams
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }
    #[inline]
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `0..n` (n > 0).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
    #[inline]
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
}

// ---------------------------------------------------------------------------
// Small formatting helpers writing into a reused Vec<u8>.

#[inline]
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[inline]
fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

#[inline]
fn push_2(out: &mut [u8], at: usize, n: u64) {
    out[at] = b'0' + (n / 10) as u8;
    out[at + 1] = b'0' + (n % 10) as u8;
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u64, u64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Timestamp formatter caching the `YYYY-MM-DDTHH:MM:SS` part per second.
struct Clock {
    now_ns: u64,
    cached_sec: u64,
    prefix: [u8; 19],
}

impl Clock {
    fn new(start_sec: u64) -> Self {
        let mut c = Clock {
            now_ns: start_sec * 1_000_000_000,
            cached_sec: u64::MAX,
            prefix: *b"0000-00-00T00:00:00",
        };
        c.refresh();
        c
    }
    fn refresh(&mut self) {
        let sec = self.now_ns / 1_000_000_000;
        if sec == self.cached_sec {
            return;
        }
        self.cached_sec = sec;
        let days = (sec / 86_400) as i64;
        let rem = sec % 86_400;
        let (y, m, d) = civil_from_days(days);
        let p = &mut self.prefix;
        let y = y as u64;
        push_2(p, 0, y / 100);
        push_2(p, 2, y % 100);
        push_2(p, 5, m);
        push_2(p, 8, d);
        push_2(p, 11, rem / 3600);
        push_2(p, 14, rem / 60 % 60);
        push_2(p, 17, rem % 60);
    }
    fn advance(&mut self, ns: u64) {
        self.now_ns += ns;
    }
    fn now_ms(&self) -> u64 {
        self.now_ns / 1_000_000
    }
    /// Writes `<ts>Z`: RFC 3339, 0–9 fraction digits, trailing zeros dropped.
    #[inline]
    fn write(&mut self, out: &mut Vec<u8>) {
        self.refresh();
        out.extend_from_slice(&self.prefix);
        let mut frac = self.now_ns % 1_000_000_000;
        if frac != 0 {
            let mut digits = 9;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
            let mut buf = [b'0'; 10];
            buf[0] = b'.';
            let mut i = digits;
            while frac > 0 {
                buf[i] = b'0' + (frac % 10) as u8;
                frac /= 10;
                i -= 1;
            }
            out.extend_from_slice(&buf[..=digits]);
        }
        out.push(b'Z');
    }
}

// ---------------------------------------------------------------------------

const MEMBER: &str = "rw-meta-0.rw-meta:5690";
const ELECTION_TARGET: &str = "risingwave_meta::rpc::election::etcd";
const NODE_TARGET: &str = "risingwave_meta_node";
const LEASE_KEEPER_ERR: &str = "grpc request error: status: Unavailable, message: \"etcdserver: request timed out, waiting for the applied index took too long\", details: [], metadata: MetadataMap { headers: {} }";
const TOO_LARGE_ERR: &str = "grpc request error: status: InvalidArgument, message: \"etcdserver: request is too large\", details: [], metadata: MetadataMap { headers: {} }";

const OPTIONS_LINE: &str = concat!(
    "> options: MetaNodeOpts { vpc_id: None, security_group_id: None, ",
    "listen_addr: \"0.0.0.0:5690\", advertise_addr: \"rw-meta-0.rw-meta:5690\", ",
    "dashboard_host: Some(\"0.0.0.0:5691\"), prometheus_listener_addr: Some(\"0.0.0.0:1250\"), ",
    "etcd_endpoints: \"etcd-0:2388\", etcd_auth: false, etcd_username: \"\", ",
    "etcd_password: [REDACTED alloc::string::String], sql_endpoint: None, ",
    "prometheus_endpoint: Some(\"http://prometheus-0:9500\"), prometheus_selector: None, ",
    "privatelink_endpoint_default_tags: None, vpc_id: None, connector_rpc_endpoint: None, ",
    "backend: Some(Etcd), config_path: \"/risingwave.toml\", ",
    "state_store: Some(\"hummock+minio://hummockadmin:[REDACTED]@minio-0:9301/hummock001\"), ",
    "data_directory: Some(\"hummock_001\"), do_not_config_object_storage_lifecycle: None, ",
    "backup_storage_url: None, backup_storage_directory: None, ",
    "heap_profiling_dir: None, temp_secret_file_dir: \"./meta/secrets\" }",
);

const CONFIG_LINE: &str = concat!(
    "> config: RwConfig { server: ServerConfig { heartbeat_interval_ms: 1000, ",
    "connection_pool_size: 16, metrics_level: Info, telemetry_enabled: true, ",
    "heap_profiling: HeapProfilingConfig { enable_auto: true, threshold_auto: 0.9, dir: \"./\" }, ",
    "grpc_max_reset_stream: 200, unrecognized: Unrecognized { inner: {} } }, ",
    "meta: MetaConfig { min_sst_retention_time_sec: 86400, full_gc_interval_sec: 86400, ",
    "collect_gc_watermark_spin_interval_sec: 5, periodic_compaction_interval_sec: 60, ",
    "vacuum_interval_sec: 30, vacuum_spin_interval_ms: 10, hummock_version_checkpoint_interval_sec: 30, ",
    "enable_hummock_data_archive: false, min_delta_log_num_for_hummock_version_checkpoint: 10, ",
    "max_heartbeat_interval_secs: 60, disable_recovery: false, enable_scale_in_when_recovery: false, ",
    "enable_automatic_parallelism_control: false, parallelism_control_batch_size: 10, ",
    "parallelism_control_trigger_period_sec: 10, parallelism_control_trigger_first_delay_sec: 30, ",
    "meta_leader_lease_secs: 30, default_parallelism: Full, enable_compaction_deterministic: false, ",
    "enable_committed_sst_sanity_check: false, node_num_monitor_interval_sec: 10, ",
    "backend: Mem, periodic_space_reclaim_compaction_interval_sec: 3600, ",
    "periodic_ttl_reclaim_compaction_interval_sec: 1800, ",
    "periodic_tombstone_reclaim_compaction_interval_sec: 600, ",
    "periodic_split_compact_group_interval_sec: 10, move_table_size_limit: 10737418240, ",
    "split_group_size_limit: 68719476736, cut_table_size_limit: 1073741824, ",
    "do_not_config_object_storage_lifecycle: false, partition_vnode_count: 16, ",
    "table_write_throughput_threshold: 16777216, min_table_split_write_throughput: 4194304, ",
    "compaction_task_max_heartbeat_interval_secs: 30, compaction_task_max_progress_interval_secs: 600, ",
    "compaction_config: None, hybird_partition_vnode_count: 4, event_log_enabled: true, ",
    "event_log_channel_max_size: 10, dangerous_max_idle_secs: None, ",
    "compaction_group_merge_dimension_threshold: 1.2, ",
    "developer: MetaDeveloperConfig { cached_traces_num: 256, cached_traces_memory_limit_bytes: 134217728, ",
    "enable_trivial_move: true, enable_check_task_level_overlap: false, max_trivial_move_task_count_per_loop: 256, ",
    "max_get_task_probe_times: 5 }, max_trivial_move_task_count_per_loop: 256, ",
    "enable_dropped_column_reclaim: false, unrecognized: Unrecognized { inner: {} } }, ",
    "batch: BatchConfig { worker_threads_num: None, distributed_query_limit: None, ",
    "enable_barrier_read: false, statement_timeout_in_sec: 3600, frontend_compute_runtime_worker_threads: 4, ",
    "mask_worker_temporary_secs: 30, unrecognized: Unrecognized { inner: {} } }, ",
    "streaming: StreamingConfig { in_flight_barrier_nums: 10000, actor_runtime_worker_threads_num: None, ",
    "async_stack_trace: ReleaseVerbose, unique_user_stream_errors: 10, ",
    "unsafe_enable_strict_consistency: true, unrecognized: Unrecognized { inner: {} } }, ",
    "storage: StorageConfig { share_buffers_sync_parallelism: 1, share_buffer_compaction_worker_threads_number: 4, ",
    "shared_buffer_capacity_mb: None, shared_buffer_flush_ratio: 0.8, imm_merge_threshold: 0, ",
    "write_conflict_detection_enabled: true, block_cache_capacity_mb: None, high_priority_ratio_in_percent: None, ",
    "meta_cache_capacity_mb: None, prefetch_buffer_capacity_mb: None, max_prefetch_block_number: 16, ",
    "disable_remote_compactor: false, share_buffer_upload_concurrency: 8, compactor_memory_limit_mb: None, ",
    "compactor_max_task_multiplier: 2.5, compactor_memory_available_proportion: 0.8, ",
    "sstable_id_remote_fetch_number: 10, min_sst_size_for_streaming_upload: 33554432, ",
    "max_sub_compaction: 4, max_concurrent_compaction_task_number: 16, max_preload_wait_time_mill: 0, ",
    "object_store: ObjectStoreConfig { object_store_set_atomic_write_dir: false, retry: ObjectStoreRetryConfig { ",
    "streaming_upload_attempt_timeout_ms: 5000, streaming_upload_retry_attempts: 3 } }, ",
    "unrecognized: Unrecognized { inner: {} } }, system: SystemConfig { barrier_interval_ms: Some(1000), ",
    "checkpoint_frequency: Some(1), sstable_size_mb: Some(256), parallel_compact_size_mb: Some(512), ",
    "block_size_kb: Some(64), bloom_false_positive: Some(0.001), state_store: None, data_directory: None, ",
    "backup_storage_url: None, backup_storage_directory: None, max_concurrent_creating_streaming_jobs: Some(1), ",
    "pause_on_next_bootstrap: Some(false), wasm_storage_url: None, enable_tracing: Some(false) }, ",
    "unrecognized: Unrecognized { inner: {} } }",
);

const HOSTS: [&str; 6] = [
    "rw-compute-0.rw-compute:5688",
    "rw-compute-1.rw-compute:5688",
    "rw-compute-2.rw-compute:5688",
    "rw-compactor-0.rw-compactor:6660",
    "rw-frontend-0.rw-frontend:4567",
    "rw-frontend-1.rw-frontend:4567",
];
const NAMES: [&str; 8] = [
    "mv_orders_by_region",
    "mv_clicks_5m",
    "t_orders",
    "t_users",
    "src_kafka_events",
    "sink_iceberg_daily",
    "idx_users_email",
    "mv_top_products",
];

/// Noise templates: (weight, level, index). Levels are pre-padded to width 5.
const NOISE: [(u32, &str); 22] = [
    (18, "DEBUG"), // 0 inject barrier
    (18, "DEBUG"), // 1 barrier collected
    (6, " INFO"),  // 2 report compact task
    (6, " INFO"),  // 3 pick compaction task
    (10, "DEBUG"), // 4 worker heartbeat received
    (2, " INFO"),  // 5 new hummock version checkpoint
    (2, " INFO"),  // 6 vacuum
    (1, " INFO"),  // 7 add worker node
    (1, " INFO"),  // 8 creating streaming job
    (1, " INFO"),  // 9 create catalog
    (4, "DEBUG"),  // 10 notify frontend
    (1, " INFO"),  // 11 subscribe
    (4, "DEBUG"),  // 12 no compaction task available
    (1, " WARN"),  // 13 compaction task canceled
    (1, " WARN"),  // 14 barrier latency high
    (2, " INFO"),  // 15 source split assignment
    (2, "DEBUG"),  // 16 ddl finished (span)
    (1, " INFO"),  // 17 split compaction group
    (1, " INFO"),  // 18 telemetry
    (3, "DEBUG"),  // 19 rpc span heartbeat
    (1, " WARN"),  // 20 actor backpressure
    (1, " INFO"),  // 21 finish backup
];

struct Gen {
    rng: Rng,
    clock: Clock,
    line: Vec<u8>,
    eol: &'static [u8],
    noise_cdf: [u32; NOISE.len()],
    noise_total: u32,
    long_body: Vec<u8>,
    lease_id: i64,
}

/// RisingWave epoch 0 = 2021-01-01T00:00:00Z, in Unix ms.
const RW_EPOCH_MS: u64 = 1_609_459_200_000;

impl Gen {
    fn new(seed: u64, crlf: bool) -> Self {
        let mut rng = Rng::new(seed);
        // Start somewhere in Feb 2024, deterministic from the seed.
        let start = 1_707_609_600 + rng.below(86_400 * 20);
        let mut noise_cdf = [0u32; NOISE.len()];
        let mut acc = 0;
        for (i, (w, _)) in NOISE.iter().enumerate() {
            acc += *w;
            noise_cdf[i] = acc;
        }
        let lease_id = (rng.next() >> 1) as i64;
        let mut g = Gen {
            rng,
            clock: Clock::new(start),
            line: Vec::with_capacity(128 * 1024),
            eol: if crlf { b"\r\n" } else { b"\n" },
            noise_cdf,
            noise_total: acc,
            long_body: Vec::new(),
            lease_id,
        };
        g.long_body = g.build_long_body();
        g
    }

    fn build_long_body(&mut self) -> Vec<u8> {
        let mut b = Vec::with_capacity(70 * 1024);
        b.extend_from_slice(b"fragment graph built job_id=");
        push_u64(&mut b, self.rng.range(1000, 9999));
        b.extend_from_slice(b" graph=StreamFragmentGraph { fragments: {");
        let mut i = 0u64;
        while b.len() < 64 * 1024 - 200 {
            b.extend_from_slice(b" ");
            push_u64(&mut b, i);
            b.extend_from_slice(b": StreamFragment { fragment_id: ");
            push_u64(&mut b, i);
            b.extend_from_slice(b", node: Some(StreamNode { operator_id: ");
            push_u64(&mut b, self.rng.range(1, 100_000));
            b.extend_from_slice(b", identity: \"StreamHashAgg\", fields: [Field { name: \"count\", data_type: Int64 }], stream_key: [0], append_only: false }), fragment_type_mask: 2, requires_singleton: false, table_ids_cnt: ");
            push_u64(&mut b, self.rng.range(1, 8));
            b.extend_from_slice(b" },");
            i += 1;
        }
        b.extend_from_slice(b" }, edges: [], dependent_table_ids: [], table_ids_cnt: 0 }");
        b
    }

    /// Starts a line: `<ts> <LEVEL> <target>: `.
    #[inline]
    fn head(&mut self, level: &str, target: &str) {
        self.line.clear();
        self.clock.write(&mut self.line);
        self.line.push(b' ');
        self.line.extend_from_slice(level.as_bytes());
        self.line.push(b' ');
        self.line.extend_from_slice(target.as_bytes());
        self.line.extend_from_slice(b": ");
    }

    #[inline]
    fn s(&mut self, s: &str) {
        self.line.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn n(&mut self, n: u64) {
        push_u64(&mut self.line, n);
    }
    #[inline]
    fn rn(&mut self, lo: u64, hi: u64) {
        let v = self.rng.range(lo, hi);
        push_u64(&mut self.line, v);
    }
    fn host(&mut self) {
        let h = HOSTS[self.rng.below(HOSTS.len() as u64) as usize];
        self.s(h);
    }
    fn name(&mut self) {
        let h = NAMES[self.rng.below(NAMES.len() as u64) as usize];
        self.s(h);
    }
    fn epoch(&self) -> u64 {
        (self.clock.now_ms() - RW_EPOCH_MS) << 16
    }
    #[inline]
    fn end(&mut self) {
        self.line.extend_from_slice(self.eol);
    }

    /// Advances the clock like a busy meta node (~200 lines/s).
    #[inline]
    fn tick(&mut self) {
        let r = self.rng.next();
        // Mostly microsecond precision (up to 6 fraction digits), sometimes
        // nanoseconds: drop the previous sub-microsecond part, step 1..10000 µs.
        let c = &mut self.clock;
        c.now_ns = c.now_ns / 1000 * 1000 + (1 + (r >> 40) % 10_000) * 1000;
        if r & 0x1f == 0 {
            c.now_ns += (r >> 8) % 1000;
        }
    }

    /// Builds one noise line into `self.line`.
    fn noise(&mut self) {
        let pick = self.rng.below(self.noise_total as u64) as u32;
        let idx = self.noise_cdf.iter().position(|&c| pick < c).unwrap_or(0);
        let level = NOISE[idx].1;
        match idx {
            0 => {
                self.head(level, "risingwave_meta::barrier");
                let e = self.epoch();
                self.s("inject barrier prev_epoch=");
                self.n(e - (1000 << 16));
                self.s(" curr_epoch=");
                self.n(e);
                let kind = if self.rng.below(8) == 0 {
                    " kind=Initial"
                } else {
                    " kind=Checkpoint"
                };
                self.s(kind);
            }
            1 => {
                self.head(level, "risingwave_meta::barrier::rpc");
                let e = self.epoch();
                self.s("barrier collected epoch=");
                self.n(e);
                self.s(" duration_ms=");
                self.rn(3, 900);
                self.s(" actors=");
                self.rn(16, 512);
            }
            2 => {
                self.head(level, "risingwave_meta::hummock::manager::compaction");
                self.s("report compact task task_id=");
                self.rn(10_000, 9_000_000);
                self.s(" status=Success input_ssts=");
                self.rn(2, 64);
                self.s(" output_ssts=");
                self.rn(1, 16);
                self.s(" compaction_group_id=");
                self.rn(2, 12);
            }
            3 => {
                self.head(level, "risingwave_meta::hummock::compaction::picker");
                self.s("pick compaction task group_id=");
                self.rn(2, 12);
                self.s(" select_level=");
                self.rn(0, 3);
                self.s(" target_level=");
                self.rn(3, 7);
                self.s(" file_count=");
                self.rn(1, 200);
                self.s(" input_bytes=");
                self.rn(1 << 20, 1 << 30);
            }
            4 => {
                self.head(level, "risingwave_meta::manager::cluster");
                self.s("worker heartbeat received worker_id=");
                self.rn(1, 40);
                self.s(" host=");
                self.host();
            }
            5 => {
                self.head(level, "risingwave_meta::hummock::manager::checkpoint");
                self.s("new hummock version checkpoint version_id=");
                self.rn(100_000, 5_000_000);
                self.s(" deltas=");
                self.rn(10, 300);
            }
            6 => {
                self.head(level, "risingwave_meta::hummock::vacuum");
                self.s("Try to vacuum SSTs sst_count=");
                self.rn(0, 2000);
                self.s(" elapsed_ms=");
                self.rn(1, 80);
            }
            7 => {
                self.head(level, "risingwave_meta::manager::cluster");
                self.s("add worker node worker_id=");
                self.rn(1, 40);
                self.s(" type=ComputeNode host=");
                self.host();
                self.s(" parallelism=");
                self.rn(2, 16);
            }
            8 => {
                self.head(level, "risingwave_meta::stream::stream_manager");
                self.s("creating streaming job id=");
                self.rn(1000, 9999);
                self.s(" name=\"");
                self.name();
                self.s("\" parallelism=Fixed(");
                self.rn(1, 16);
                self.s(")");
            }
            9 => {
                self.head(level, "risingwave_meta::manager::catalog");
                self.s("create relation id=");
                self.rn(1000, 9999);
                self.s(" name=\"");
                self.name();
                self.s("\" schema_id=2 database_id=1");
            }
            10 => {
                self.head(level, "risingwave_meta::manager::notification");
                self.s("notify frontend version=");
                self.rn(1, 5_000_000);
                self.s(" subscribers=");
                self.rn(1, 4);
            }
            11 => {
                self.head(level, "risingwave_meta::rpc::service::notification_service");
                self.s("new subscriber worker_type=Frontend host=");
                self.host();
            }
            12 => {
                self.head(level, "risingwave_meta::hummock::compaction_scheduler");
                self.s("no compaction task available group_id=");
                self.rn(2, 12);
            }
            13 => {
                self.head(level, "risingwave_meta::hummock::manager::compaction");
                self.s("compaction task ");
                self.rn(10_000, 9_000_000);
                self.s(" canceled by compactor context_id=");
                self.rn(1, 40);
                self.s(" reason=ManualCancel");
            }
            14 => {
                self.head(level, "risingwave_meta::barrier");
                let e = self.epoch();
                self.s("barrier latency is high epoch=");
                self.n(e);
                self.s(" latency_ms=");
                self.rn(2000, 9000);
                self.s(" in_flight=");
                self.rn(2, 40);
            }
            15 => {
                self.head(level, "risingwave_meta::stream::source_manager");
                self.s("source split assignment updated source_id=");
                self.rn(1000, 9999);
                self.s(" splits=");
                self.rn(1, 64);
                self.s(" actors=");
                self.rn(1, 16);
            }
            16 => {
                // with a span prefix: `<ts> <LEVEL> span{k=v}: target: msg`
                self.line.clear();
                self.clock.write(&mut self.line);
                self.s(" ");
                self.s(level);
                self.s(" ddl_command{id=");
                self.rn(1, 100_000);
                self.s("}: risingwave_meta::rpc::ddl_controller: ddl command finished kind=CreateStreamingJob elapsed_ms=");
                self.rn(5, 30_000);
            }
            17 => {
                self.head(
                    level,
                    "risingwave_meta::hummock::manager::compaction_group_manager",
                );
                self.s("split compaction group parent_group_id=");
                self.rn(2, 12);
                self.s(" new_group_id=");
                self.rn(12, 200);
                self.s(" table_ids=[");
                self.rn(1000, 9999);
                self.s("]");
            }
            18 => {
                self.head(level, "risingwave_common::telemetry::report");
                self.s("telemetry report sent tracking_id=3f1c9a2e-");
                self.rn(1000, 9999);
                self.s(" session_id=");
                self.rn(100_000, 999_999);
            }
            19 => {
                self.line.clear();
                self.clock.write(&mut self.line);
                self.s(" ");
                self.s(level);
                self.s(" rpc{method=\"/meta.HeartbeatService/Heartbeat\"}: risingwave_meta::rpc::service::heartbeat_service: handled request worker_id=");
                self.rn(1, 40);
                self.s(" latency_us=");
                self.rn(20, 3000);
            }
            20 => {
                self.head(level, "risingwave_meta::barrier::progress");
                self.s("backfill progress job_id=");
                self.rn(1000, 9999);
                self.s(" consumed_rows=");
                self.rn(1000, 100_000_000);
                self.s(" done_actors=");
                self.rn(0, 16);
                self.s(" total_actors=16");
            }
            _ => {
                self.head(level, "risingwave_meta::backup_restore::backup_manager");
                self.s("finish backup job_id=");
                self.rn(1, 500);
                self.s(" meta_snapshot_size=");
                self.rn(1 << 20, 1 << 28);
            }
        }
        self.end();
    }

    fn long_line(&mut self) {
        self.head(" INFO", "risingwave_meta::stream::stream_graph");
        let body = std::mem::take(&mut self.long_body);
        self.line.extend_from_slice(&body);
        self.long_body = body;
        self.end();
    }
}

/// Events that can be queued for a later time.
#[derive(Clone, Copy, Debug)]
enum Event {
    LeaseKeeperFailed,
    /// keep alive timeout … leader lost; then restart after a pause.
    LeaderLoss,
}

struct Out<W: Write> {
    w: W,
    written: u64,
    lines: u64,
    limit: u64,
}

impl<W: Write> Out<W> {
    /// Writes the line if it fits; returns false when the size limit is reached.
    #[inline]
    fn put(&mut self, line: &[u8]) -> io::Result<bool> {
        if self.written + line.len() as u64 > self.limit {
            return Ok(false);
        }
        self.w.write_all(line)?;
        self.written += line.len() as u64;
        self.lines += 1;
        Ok(true)
    }
}

/// Emits the startup block. Returns false when the output is full.
fn startup<W: Write>(g: &mut Gen, out: &mut Out<W>, restart: bool) -> io::Result<bool> {
    macro_rules! emit {
        () => {{
            g.end();
            if !out.put(&g.line)? {
                return Ok(false);
            }
            g.clock.advance(g.rng.range(20, 3_000) * 1000);
        }};
    }
    g.head(" INFO", NODE_TARGET);
    g.s("Starting meta node");
    emit!();
    g.head(" INFO", NODE_TARGET);
    g.s(OPTIONS_LINE);
    emit!();
    g.head(" INFO", NODE_TARGET);
    g.s("> version: 1.9.1 (abc1234)");
    emit!();
    g.head(" INFO", NODE_TARGET);
    g.s(CONFIG_LINE);
    emit!();
    g.clock.advance(g.rng.range(100_000, 900_000) * 1000);
    if restart {
        let old = g.lease_id;
        g.head(" INFO", ELECTION_TARGET);
        g.s("restoring leader from lease ");
        push_i64(&mut g.line, old);
        emit!();
        g.head(" INFO", ELECTION_TARGET);
        g.s("lease ");
        push_i64(&mut g.line, old);
        g.s(" expired or revoked, re-granting");
        emit!();
        g.lease_id = (g.rng.next() >> 1) as i64;
        g.head(" INFO", ELECTION_TARGET);
        g.s("lease ");
        push_i64(&mut g.line, g.lease_id);
        g.s(" re-granted");
        emit!();
    } else {
        g.head(" INFO", ELECTION_TARGET);
        g.s("use lease id ");
        push_i64(&mut g.line, g.lease_id);
        emit!();
    }
    g.head(" INFO", ELECTION_TARGET);
    g.s("client ");
    g.s(MEMBER);
    g.s(" start election");
    emit!();
    g.head(" INFO", ELECTION_TARGET);
    g.s("client ");
    g.s(MEMBER);
    g.s(" wins election __meta_election_");
    emit!();
    Ok(true)
}

/// keep alive timeout → loop stopped → stopping main loop → lost leadership →
/// leader lost signal, then a pause and the restart block.
fn leader_loss<W: Write>(g: &mut Gen, out: &mut Out<W>) -> io::Result<bool> {
    macro_rules! emit {
        () => {{
            g.end();
            if !out.put(&g.line)? {
                return Ok(false);
            }
            g.clock.advance(g.rng.range(5, 120) * 1000);
        }};
    }
    let id = g.lease_id;
    g.head("ERROR", ELECTION_TARGET);
    g.s("lease ");
    push_i64(&mut g.line, id);
    g.s(" keep alive timeout");
    emit!();
    g.head(" INFO", ELECTION_TARGET);
    g.s("keep alive loop for lease ");
    push_i64(&mut g.line, id);
    g.s(" stopped");
    emit!();
    g.head("ERROR", ELECTION_TARGET);
    g.s("keep alive failed, stopping main loop");
    emit!();
    g.head(" WARN", ELECTION_TARGET);
    g.s("client ");
    g.s(MEMBER);
    g.s(" lost leadership");
    emit!();
    g.head(" INFO", NODE_TARGET);
    g.s("receive leader lost signal");
    emit!();
    // the pod is down, Kubernetes restarts it
    g.clock.advance(g.rng.range(4_000_000, 25_000_000) * 1000);
    startup(g, out, true)
}

fn run(args: &Args) -> io::Result<(u64, u64, u32, u32)> {
    let Format::Full = args.format;
    let stdout = io::stdout();
    let mut out = Out {
        w: BufWriter::with_capacity(4 << 20, stdout.lock()),
        written: 0,
        lines: 0,
        limit: args.size,
    };
    let mut g = Gen::new(args.seed, args.crlf);

    // byte offsets at which incidents / too-large errors start
    let n_inc = args.incidents as u64;
    let mut incident_at: VecDeque<u64> = (0..n_inc)
        .map(|i| ((2 * i + 1) as u128 * args.size as u128 / (2 * n_inc) as u128) as u64)
        .collect();
    let n_big = 3u64;
    let mut too_large_at: VecDeque<u64> = (0..n_big)
        .map(|i| ((4 * i + 1) as u128 * args.size as u128 / (4 * n_big) as u128) as u64)
        .collect();
    let mut pending: VecDeque<(u64, Event)> = VecDeque::new();
    let mut incidents_done = 0u32;
    let mut too_large_done = 0u32;
    let long_every = args.long_line_every.unwrap_or(0);

    if !startup(&mut g, &mut out, false)? {
        out.w.flush()?;
        return Ok((out.lines, out.written, 0, 0));
    }

    loop {
        g.tick();
        if incident_at.front().is_some_and(|&b| out.written >= b) {
            incident_at.pop_front();
            let t0 = g.clock.now_ns;
            let k = g.rng.range(3, 7);
            let mut t = t0;
            for _ in 0..k {
                pending.push_back((t, Event::LeaseKeeperFailed));
                t += g.rng.range(800_000_000, 2_500_000_000);
            }
            pending.push_back((
                t0 + 15_000_000_000 + g.rng.range(0, 300_000_000),
                Event::LeaderLoss,
            ));
        }
        if let Some(&(t, ev)) = pending.front() {
            if t <= g.clock.now_ns {
                pending.pop_front();
                match ev {
                    Event::LeaseKeeperFailed => {
                        g.head("ERROR", ELECTION_TARGET);
                        g.s("lease keeper failed error=");
                        g.s(LEASE_KEEPER_ERR);
                        g.end();
                        if !out.put(&g.line)? {
                            break;
                        }
                    }
                    Event::LeaderLoss => {
                        if !leader_loss(&mut g, &mut out)? {
                            break;
                        }
                        incidents_done += 1;
                    }
                }
                continue;
            }
        }
        if too_large_at.front().is_some_and(|&b| out.written >= b) {
            too_large_at.pop_front();
            g.head("ERROR", "risingwave_meta::hummock::manager");
            g.s("failed to commit epoch ");
            let e = g.epoch();
            g.n(e);
            g.s(" error=");
            g.s(TOO_LARGE_ERR);
            g.end();
            if !out.put(&g.line)? {
                break;
            }
            too_large_done += 1;
            continue;
        }
        if long_every > 0 && (out.lines + 1) % long_every == 0 {
            g.long_line();
        } else {
            g.noise();
        }
        if !out.put(&g.line)? {
            break;
        }
    }
    out.w.flush()?;
    Ok((out.lines, out.written, incidents_done, too_large_done))
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("genlog: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    let start = std::time::Instant::now();
    match run(&args) {
        Ok((lines, bytes, inc, big)) => {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "genlog: lines={lines} bytes={bytes} incidents={inc}/{} too_large={big} seed={} elapsed={secs:.2}s rate={:.0}MB/s",
                args.incidents,
                args.seed,
                bytes as f64 / secs.max(1e-9) / 1e6
            );
            if inc < args.incidents {
                eprintln!(
                    "genlog: warning: only {inc} of {} incidents fit in {bytes} bytes (each needs ~15 s of log, ~500 KB)",
                    args.incidents
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genlog: {e}");
            ExitCode::FAILURE
        }
    }
}

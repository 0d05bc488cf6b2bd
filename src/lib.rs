//! rwdoctor: RisingWave meta-node log diagnosis.
//!
//! The pipeline, one module per stage:
//! `input` (stdin, files, directories, gzip) → `lines` (blocks of whole lines)
//! → `record` (format detection, timestamp, level, target, message)
//! → `matcher` (rule signals, literal prefilter) → `scan` (one input → hits
//! and coverage) → `correlate` (hits → incidents per rule) → `diagnosis`
//! (findings, ranked causes, remedies) → `report` (human, JSON, JSON lines,
//! GitHub annotations, JUnit, Markdown; to stdout or files).
//!
//! Around it: `cli` (arguments), `app` (runs a scan and writes the reports),
//! `follow` (`--follow`: live input, findings as they are certain),
//! `progress` (scan progress on a terminal), `subcommands` (rule tools,
//! completions, man page).
pub mod activity;
pub mod analysis;
pub mod app;
pub mod cli;
pub mod context;
pub mod correlate;
pub mod diagnosis;
pub mod discovery;
pub mod facts;
pub mod follow;
pub mod fuzzing;
pub mod input;
pub mod lines;
pub mod literals;
pub mod matcher;
pub mod messages;
pub mod model;
pub mod pipeline;
pub mod prefilter;
pub mod progress;
pub mod record;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod scan;
pub mod spill;
pub mod subcommands;
pub mod templates;
pub mod text;
pub mod workers;

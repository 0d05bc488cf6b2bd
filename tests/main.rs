//! Every integration test in one binary (one link instead of ten), as
//! ripgrep does: each module is a file beside this one, and `common` holds
//! the one way to run the binary.
mod common;

mod all_clear;
mod ci_formats;
mod cli;
mod cluster;
mod containers;
mod diagnosis;
mod discovery;
mod docs;
mod follow;
mod fuzz_smoke;
mod grouping;
mod html;
mod layers;
mod many_rules;
mod mysql_capture;
mod postgres_capture;
mod reference_scan;
mod report;
mod robustness;
mod rule_tools;
mod shapes;
mod templates;

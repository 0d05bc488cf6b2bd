//! Every integration test in one binary (one link instead of ten), as
//! ripgrep does: each module is a file beside this one, and `common` holds
//! the one way to run the binary.
mod common;

mod ci_formats;
mod cli;
mod diagnosis;
mod discovery;
mod follow;
mod fuzz_smoke;
mod layers;
mod many_rules;
mod reference_scan;
mod robustness;
mod rule_tools;
mod shapes;
mod templates;

//! The whole analysis of arbitrary bytes (gzip included): scan, merge,
//! correlation, diagnosis and every report format.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(rwdoctor::fuzzing::scratch_dir);
    rwdoctor::fuzzing::check_analysis(data, dir);
});

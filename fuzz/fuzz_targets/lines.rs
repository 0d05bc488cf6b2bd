//! Format detection, wrappers, timestamps and parsing of arbitrary lines.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rwdoctor::fuzzing::check_line(data);
});

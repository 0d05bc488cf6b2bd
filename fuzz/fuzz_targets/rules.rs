//! The rule loader on arbitrary rule files: parse, compile, lint, then a
//! scan with the rule if it compiled.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rwdoctor::fuzzing::check_rule(data);
});

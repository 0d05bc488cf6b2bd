//! Line splitting: the first bytes choose the block size and the chunk
//! sizes the reader hands out; the rest is the input
//! (`rwdoctor::fuzzing::check_line_blocks_input`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rwdoctor::fuzzing::check_line_blocks_input(data);
});

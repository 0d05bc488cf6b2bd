//! Line splitting: the first bytes choose the block size and the chunk
//! sizes the reader hands out; the rest is the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let sizes_len = usize::from(choice % 8) + 1;
    let (sizes, input) = rest.split_at(sizes_len.min(rest.len()));
    let block = [0, 1 << 20][usize::from(choice >> 7)];
    rwdoctor::fuzzing::check_line_blocks(input, sizes, block);
});

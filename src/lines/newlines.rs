//! Finding every newline of a block fast. A log line is ~150 bytes, so a
//! `memchr` call per line spends most of its time starting and stopping
//! (about 13 ns a line here). With AVX2, 64 bytes at a time become a bit
//! mask of their newlines, and the set bits are walked: about half the
//! time per line on the bench log (8 GB/s, check included).

/// Calls `on_newline` with the offset of each `\n` in `haystack`, in
/// order, until it returns `false`.
#[inline]
pub fn for_each_newline(haystack: &[u8], mut on_newline: impl FnMut(usize) -> bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { avx2::for_each_newline(haystack, &mut on_newline) };
            return;
        }
    }
    for newline in memchr::memchr_iter(b'\n', haystack) {
        if !on_newline(newline) {
            return;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn for_each_newline(haystack: &[u8], on_newline: &mut impl FnMut(usize) -> bool) {
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let mut chunks = haystack.chunks_exact(64);
        let mut base = 0;
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 64 readable bytes; unaligned loads of 32
            // bytes at its start and middle stay inside it.
            let (low, high) = unsafe {
                (
                    _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(chunk.as_ptr().add(32).cast::<__m256i>()),
                )
            };
            let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(low, newline)) as u32;
            let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(high, newline)) as u32;
            let mut mask = u64::from(low) | (u64::from(high) << 32);
            while mask != 0 {
                if !on_newline(base + mask.trailing_zeros() as usize) {
                    return;
                }
                mask &= mask - 1;
            }
            base += 64;
        }
        for offset in memchr::memchr_iter(b'\n', chunks.remainder()) {
            if !on_newline(base + offset) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(haystack: &[u8], stop_after: usize) -> Vec<usize> {
        let mut seen = Vec::new();
        for_each_newline(haystack, |offset| {
            seen.push(offset);
            seen.len() < stop_after
        });
        seen
    }

    #[test]
    fn agrees_with_memchr_at_every_length_and_alignment() {
        // Newlines at chunk edges (0, 31, 32, 63, 64), runs of them, none.
        let mut next = crate::fuzzing::xorshift(0x9e37_79b9_7f4a_7c15);
        for len in (0..300).chain([1000, 4096, 4097]) {
            for density in [0u64, 3, 40, 255] {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        if next(256) < density {
                            b'\n'
                        } else {
                            next(256) as u8 | 1 // odd: never a newline
                        }
                    })
                    .collect();
                for start in 0..3.min(data.len() + 1) {
                    let part = &data[start..];
                    let expected: Vec<usize> = memchr::memchr_iter(b'\n', part).collect();
                    assert_eq!(
                        collect(part, usize::MAX),
                        expected,
                        "len {len} start {start}"
                    );
                }
            }
        }
    }

    #[test]
    fn stops_when_told() {
        let data = b"a\nb\nc\n".repeat(40);
        assert_eq!(collect(&data, 3), vec![1, 3, 5]);
        assert_eq!(collect(&data, 1), vec![1]);
        assert_eq!(collect(b"", 1), Vec::<usize>::new());
    }
}

//! Where a line's spaces, tabs, digits and `=` are, as bit masks (bit `i`
//! of word `i / 64` is byte `i`), for the keys the scan computes on the
//! lines it mines or notes (`super::coarse_key`, `super::fingerprint_with`).
//! Their byte loops spent most of their time finding token ends and digit
//! runs (about 750 and 1,000 instructions a line on the bench log); with
//! AVX2, 32 bytes become the four masks in about a dozen instructions, and
//! tokens and runs are then found with bit operations. Lines longer than
//! `MAX` bytes take the byte loops, which stay the reference: a test runs
//! every testdata line and random lines through both.

/// The longest text classified.
pub const MAX: usize = 256;
const WORDS: usize = MAX / 64;

/// A class of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `' '`.
    Space,
    /// `' '` or `'\t'`.
    Blank,
    /// `0`–`9`.
    Digit,
    /// `=`.
    Eq,
}

/// The classes of the bytes of a text of at most `MAX` bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Classes {
    len: usize,
    space: [u64; WORDS],
    blank: [u64; WORDS],
    digit: [u64; WORDS],
    eq: [u64; WORDS],
}

impl Classes {
    /// The classes of `bytes` (`None` past `MAX` bytes).
    #[inline]
    pub fn of(bytes: &[u8]) -> Option<Classes> {
        if bytes.len() > MAX {
            return None;
        }
        let mut classes = Classes {
            len: bytes.len(),
            ..Classes::default()
        };
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { avx2::fill(bytes, &mut classes) };
                return Some(classes);
            }
        }
        fill_bytes(bytes, &mut classes);
        Some(classes)
    }

    /// The length of the text classified.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self, class: Class) -> &[u64; WORDS] {
        match class {
            Class::Space => &self.space,
            Class::Blank => &self.blank,
            Class::Digit => &self.digit,
            Class::Eq => &self.eq,
        }
    }

    /// The first byte of `class` at or after `from` (`len` if none).
    #[inline]
    pub fn next(&self, class: Class, from: usize) -> usize {
        self.next_where(self.mask(class), from, 0)
    }

    /// The first byte not of `class` at or after `from` (`len` if none).
    #[inline]
    pub fn next_not(&self, class: Class, from: usize) -> usize {
        self.next_where(self.mask(class), from, !0)
    }

    /// Whether a byte of `class` is in `from..to`.
    #[inline]
    pub fn any(&self, class: Class, from: usize, to: usize) -> bool {
        self.next(class, from) < to
    }

    #[inline]
    fn next_where(&self, mask: &[u64; WORDS], from: usize, flip: u64) -> usize {
        if from >= self.len {
            return self.len;
        }
        let mut word = from / 64;
        let mut bits = (mask[word] ^ flip) & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                // Flipped, the bits past `len` are set: cut there.
                return (word * 64 + bits.trailing_zeros() as usize).min(self.len);
            }
            word += 1;
            if word * 64 >= self.len {
                return self.len;
            }
            bits = mask[word] ^ flip;
        }
    }

    /// The last byte of `class` before `before`.
    #[inline]
    pub fn prev(&self, class: Class, before: usize) -> Option<usize> {
        let end = before.min(self.len);
        if end == 0 {
            return None;
        }
        let mask = self.mask(class);
        let last = end - 1;
        let mut word = last / 64;
        let mut bits = mask[word] & (!0u64 >> (63 - last % 64));
        loop {
            if bits != 0 {
                return Some(word * 64 + 63 - bits.leading_zeros() as usize);
            }
            if word == 0 {
                return None;
            }
            word -= 1;
            bits = mask[word];
        }
    }
}

/// A 64-bit hash of `bytes` (the first `MAX` of them) with every ASCII digit
/// read as `0`: equal for two texts that differ only in their digits.
/// With AVX2, 32 bytes at a time are masked and folded in a few
/// instructions (XXH3's accumulation: a multiply of each 64-bit lane's
/// halves, the lanes swapped in); else the masked copy is hashed a word at
/// a time. The two give different values: one process uses one.
#[inline(always)]
pub fn hash_digits_as_zero(bytes: &[u8]) -> u64 {
    let bytes = &bytes[..bytes.len().min(MAX)];
    #[cfg(target_arch = "x86_64")]
    {
        if bytes.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above), and `bytes`
            // is 32 to `MAX` long.
            return unsafe { avx2::hash_digits_as_zero(bytes) };
        }
    }
    let mut masked = [0u8; MAX];
    for (to, from) in masked.iter_mut().zip(bytes) {
        *to = if from.is_ascii_digit() { b'0' } else { *from };
    }
    super::hash_words(&masked[..bytes.len()])
}

/// The classes a byte at a time (no AVX2; and the tests' reference).
fn fill_bytes(bytes: &[u8], classes: &mut Classes) {
    for (at, byte) in bytes.iter().enumerate() {
        let (word, bit) = (at / 64, 1u64 << (at % 64));
        match byte {
            b' ' => {
                classes.space[word] |= bit;
                classes.blank[word] |= bit;
            }
            b'\t' => classes.blank[word] |= bit,
            b'0'..=b'9' => classes.digit[word] |= bit,
            b'=' => classes.eq[word] |= bit,
            _ => {}
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Classes, MAX};
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_blendv_epi8, _mm256_cmpeq_epi8, _mm256_loadu_si256,
        _mm256_min_epu8, _mm256_movemask_epi8, _mm256_mul_epu32, _mm256_or_si256, _mm256_set1_epi8,
        _mm256_setzero_si256, _mm256_shuffle_epi32, _mm256_srli_epi64, _mm256_storeu_si256,
        _mm256_sub_epi8, _mm256_xor_si256,
    };

    /// Per-stripe keys (splitmix64's sequence): a stripe moved elsewhere
    /// hashes differently.
    const SECRETS: [u64; 4 * MAX / 32] = {
        let mut keys = [0u64; 4 * MAX / 32];
        let mut state = 0u64;
        let mut i = 0;
        while i < keys.len() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            keys[i] = z ^ (z >> 31);
            i += 1;
        }
        keys
    };

    /// # Safety
    /// The CPU must support AVX2; `bytes` is 32 to `MAX` long.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn hash_digits_as_zero(bytes: &[u8]) -> u64 {
        let len = bytes.len();
        let mut acc = _mm256_setzero_si256();
        // Whole stripes, then the last 32 bytes (overlapping the one
        // before): the stripes are a function of the text. Unrolled for
        // the heads of up to 128 bytes (`templates::coarse_probe`).
        // SAFETY (each call): `start + 32 <= len` and `stripe < MAX / 32`.
        let last = len - 32;
        match len.div_ceil(32) {
            1 => acc = unsafe { fold_stripe(acc, bytes, 0, 0) },
            2 => {
                acc = unsafe { fold_stripe(acc, bytes, 0, 0) };
                acc = unsafe { fold_stripe(acc, bytes, last, 1) };
            }
            3 => {
                acc = unsafe { fold_stripe(acc, bytes, 0, 0) };
                acc = unsafe { fold_stripe(acc, bytes, 32, 1) };
                acc = unsafe { fold_stripe(acc, bytes, last, 2) };
            }
            4 => {
                acc = unsafe { fold_stripe(acc, bytes, 0, 0) };
                acc = unsafe { fold_stripe(acc, bytes, 32, 1) };
                acc = unsafe { fold_stripe(acc, bytes, 64, 2) };
                acc = unsafe { fold_stripe(acc, bytes, last, 3) };
            }
            stripes => {
                for stripe in 0..stripes {
                    let start = (32 * stripe).min(last);
                    acc = unsafe { fold_stripe(acc, bytes, start, stripe) };
                }
            }
        }
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), acc) };
        // XXH3's merge: two 64x64 -> 128-bit multiplies, folded.
        let fold = |a: u64, b: u64| {
            let product = u128::from(a) * u128::from(b);
            (product as u64) ^ ((product >> 64) as u64)
        };
        let mut h = (len as u64)
            .wrapping_mul(SECRETS[0])
            .wrapping_add(fold(lanes[0] ^ SECRETS[1], lanes[1] ^ SECRETS[2]))
            .wrapping_add(fold(lanes[2] ^ SECRETS[3], lanes[3] ^ SECRETS[4]));
        // Final mix (splitmix64's).
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }

    /// Adds the 32 bytes at `start` (digits as `0`), keyed by `stripe`'s
    /// secrets, to `acc`.
    ///
    /// # Safety
    /// The CPU must support AVX2; `start + 32 <= bytes.len()`, and
    /// `stripe < MAX / 32`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn fold_stripe(acc: __m256i, bytes: &[u8], start: usize, stripe: usize) -> __m256i {
        let zero = _mm256_set1_epi8(b'0' as i8);
        let nine = _mm256_set1_epi8(9);
        // SAFETY: by the caller's promises, both loads are in bounds.
        unsafe {
            let x = _mm256_loadu_si256(bytes.as_ptr().add(start).cast::<__m256i>());
            let less = _mm256_sub_epi8(x, zero);
            let is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(less, nine), less);
            let data = _mm256_blendv_epi8(x, zero, is_digit);
            let key = _mm256_loadu_si256(SECRETS.as_ptr().add(4 * stripe).cast::<__m256i>());
            let keyed = _mm256_xor_si256(data, key);
            let product = _mm256_mul_epu32(keyed, _mm256_srli_epi64(keyed, 32));
            let swapped = _mm256_shuffle_epi32(data, 0b01_00_11_10);
            _mm256_add_epi64(acc, _mm256_add_epi64(product, swapped))
        }
    }

    /// # Safety
    /// The CPU must support AVX2; `bytes` is at most `MAX` long.
    #[target_feature(enable = "avx2")]
    pub unsafe fn fill(bytes: &[u8], classes: &mut Classes) {
        let space = _mm256_set1_epi8(b' ' as i8);
        let tab = _mm256_set1_epi8(b'\t' as i8);
        let eq = _mm256_set1_epi8(b'=' as i8);
        let zero = _mm256_set1_epi8(b'0' as i8);
        let nine = _mm256_set1_epi8(9);
        let mut tail = [0u8; 32];
        let mut at = 0;
        while at < bytes.len() {
            let chunk = match bytes.get(at..at + 32) {
                Some(chunk) => chunk,
                None => {
                    // The last bytes, padded with zeros (of no class).
                    let rest = &bytes[at..];
                    tail[..rest.len()].copy_from_slice(rest);
                    &tail[..]
                }
            };
            // SAFETY: `chunk` is 32 readable bytes.
            let x = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()) };
            let is_space = _mm256_cmpeq_epi8(x, space);
            let is_blank = _mm256_or_si256(is_space, _mm256_cmpeq_epi8(x, tab));
            // A digit minus `0` is at most 9, unsigned.
            let less = _mm256_sub_epi8(x, zero);
            let is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(less, nine), less);
            let is_eq = _mm256_cmpeq_epi8(x, eq);
            let (word, shift) = (at / 64, at % 64);
            let bits = |v: __m256i| u64::from(_mm256_movemask_epi8(v) as u32) << shift;
            classes.space[word] |= bits(is_space);
            classes.blank[word] |= bits(is_blank);
            classes.digit[word] |= bits(is_digit);
            classes.eq[word] |= bits(is_eq);
            at += 32;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Texts of every length up to `MAX` over an alphabet of the classes
    /// and their neighbours (`/`, `:`, `>`, `\0`, a high byte).
    pub(crate) fn random_texts(count: usize, seed: u64) -> Vec<Vec<u8>> {
        const ALPHABET: &[u8] = b"  \t09/:;<=>aAfgz_-.\"{}[]\0\xe9";
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        (0..count)
            .map(|i| {
                let len = i % (MAX + 1);
                (0..len)
                    .map(|_| ALPHABET[next() % ALPHABET.len()])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn masks_match_a_byte_loop() {
        for text in random_texts(2_000, 7) {
            let mut slow = Classes {
                len: text.len(),
                ..Classes::default()
            };
            fill_bytes(&text, &mut slow);
            assert_eq!(Classes::of(&text), Some(slow), "{text:?}");
        }
        assert_eq!(Classes::of(&[b'a'; MAX + 1]), None);
    }

    #[test]
    fn the_hash_reads_digits_as_zero_and_tells_texts_apart() {
        let mut seen = std::collections::HashMap::new();
        for text in random_texts(3_000, 13) {
            let masked: Vec<u8> = text
                .iter()
                .map(|b| if b.is_ascii_digit() { b'0' } else { *b })
                .collect();
            let hash = hash_digits_as_zero(&text);
            assert_eq!(hash, hash_digits_as_zero(&masked), "{text:?}");
            if let Some(other) = seen.insert(hash, masked.clone()) {
                assert_eq!(other, masked, "two texts, one hash");
            }
        }
    }

    #[test]
    fn searches_match_a_byte_loop() {
        let classes = [Class::Space, Class::Blank, Class::Digit, Class::Eq];
        let is = |class: Class, b: u8| match class {
            Class::Space => b == b' ',
            Class::Blank => b == b' ' || b == b'\t',
            Class::Digit => b.is_ascii_digit(),
            Class::Eq => b == b'=',
        };
        for text in random_texts(600, 11) {
            let c = Classes::of(&text).expect("short");
            for class in classes {
                for from in 0..=text.len() + 1 {
                    let start = from.min(text.len());
                    let next = text[start..]
                        .iter()
                        .position(|b| is(class, *b))
                        .map_or(text.len(), |p| start + p);
                    assert_eq!(c.next(class, from), next);
                    let next_not = text[start..]
                        .iter()
                        .position(|b| !is(class, *b))
                        .map_or(text.len(), |p| start + p);
                    assert_eq!(c.next_not(class, from), next_not);
                    let prev = text[..start].iter().rposition(|b| is(class, *b));
                    assert_eq!(c.prev(class, from), prev);
                }
            }
        }
    }
}

//! What the first bytes of a stream say it is: a compression (gzip, zstd,
//! xz, bzip2: decoded, layer after layer), an archive (tar, zip: read
//! member by member, see `archive`), a format rwdoctor does not decode
//! (7z, RAR, lz4...: an error naming it), or text, perhaps UTF-16 or with
//! a byte-order mark or CR-only line ends (decoded to UTF-8 lines, and
//! said in the input's notes).
use super::gzip::{Decode, Decoded, GZIP_MAGIC};
use crate::text::describe_io_error;
use std::io::{self, BufRead, Read};

/// What a stream's head says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Magic {
    Compressed(Compression),
    Tar,
    Zip,
    /// A container rwdoctor does not decode, named for the error.
    Unread(&'static str),
    Utf16(Endian, ByteOrderMark),
    Utf8Bom,
    /// Lone `\r` line ends and no `\n` in the head.
    CrOnly,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

impl Compression {
    pub(super) fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByteOrderMark {
    Present,
    /// Told by the NUL byte of every other byte.
    Absent,
}

/// Bytes a sniff wants to see (a tar header's `ustar` ends at 262).
pub(super) const SNIFF_BYTES: usize = 512;

pub(super) fn sniff(head: &[u8]) -> Magic {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&GZIP_MAGIC) {
        return Magic::Compressed(Compression::Gzip);
    }
    if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Magic::Compressed(Compression::Zstd);
    }
    if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Magic::Compressed(Compression::Xz);
    }
    if head.len() >= 4 && starts(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        return Magic::Compressed(Compression::Bzip2);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Magic::Tar;
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Magic::Zip;
    }
    for (magic, what) in [
        (&b"7z\xbc\xaf\x27\x1c"[..], "a 7z archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x04\x22\x4d\x18", "lz4-compressed"),
        (b"LZIP", "lzip-compressed"),
        (b"\x1f\x9d", "compressed by `compress` (.Z)"),
        (b"\xff\x06\x00\x00sNaPpY", "snappy-compressed"),
    ] {
        if starts(magic) {
            return Magic::Unread(what);
        }
    }
    if starts(b"\xef\xbb\xbf") {
        return Magic::Utf8Bom;
    }
    if starts(b"\xff\xfe") {
        return Magic::Utf16(Endian::Little, ByteOrderMark::Present);
    }
    if starts(b"\xfe\xff") {
        return Magic::Utf16(Endian::Big, ByteOrderMark::Present);
    }
    if let Some(endian) = utf16_by_nuls(head) {
        return Magic::Utf16(endian, ByteOrderMark::Absent);
    }
    if memchr::memchr(b'\n', head).is_none() && memchr::memchr(b'\r', head).is_some() {
        return Magic::CrOnly;
    }
    Magic::Text
}

/// UTF-16 without a byte-order mark: ASCII text has a NUL in every other
/// byte (nine in ten at least, and almost none in the others).
fn utf16_by_nuls(head: &[u8]) -> Option<Endian> {
    let head = &head[..head.len().min(SNIFF_BYTES) & !1];
    if head.len() < 16 {
        return None;
    }
    let pairs = head.len() / 2;
    let even = head.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let most = pairs * 9 / 10;
    let few = pairs / 10;
    if odd >= most && even <= few {
        Some(Endian::Little)
    } else if even >= most && odd <= few {
        Some(Endian::Big)
    } else {
        None
    }
}

/// A byte-stream decoder (zstd, xz, bzip2) as a `Decode`, its errors said
/// with the format and where the compressed stream broke.
pub(super) struct Stream {
    decoder: Box<dyn Read + Send>,
    compressed: CountedShared,
    what: Compression,
}

/// Compressed bytes consumed and whether their end was met, shared between
/// the reader under the decoder and the `Stream` that explains errors.
#[derive(Clone, Default)]
pub(super) struct CountedShared(std::sync::Arc<std::sync::Mutex<(u64, bool)>>);

struct CountingBufRead<R> {
    inner: R,
    counted: CountedShared,
}

impl<R: BufRead> Read for CountingBufRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingBufRead<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            self.counted.lock().1 = true;
        }
        Ok(available)
    }

    fn consume(&mut self, amount: usize) {
        self.counted.lock().0 += amount as u64;
        self.inner.consume(amount);
    }
}

impl CountedShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, bool)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Stream {
    pub(super) fn new<R: BufRead + Send + 'static>(
        what: Compression,
        inner: R,
    ) -> io::Result<Self> {
        let compressed = CountedShared::default();
        let input = CountingBufRead {
            inner,
            counted: compressed.clone(),
        };
        let decoder: Box<dyn Read + Send> = match what {
            // Concatenated frames are read on (`zstd -c a b > ab.zst`).
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
            Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
            Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
            Compression::Gzip => unreachable!("gzip has its own decoder (GzipMembers)"),
        };
        Ok(Stream {
            decoder,
            compressed,
            what,
        })
    }

    fn explain(&self, err: &io::Error) -> io::Error {
        let (consumed, at_end) = *self.compressed.lock();
        let what = self.what.name();
        let message = if at_end {
            format!(
                "truncated: the file ends inside the {what} stream, at byte {consumed} ({})",
                describe_io_error(err)
            )
        } else {
            format!(
                "corrupt {what} data, found near byte {consumed}: {}",
                describe_io_error(err)
            )
        };
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}

impl Decode for Stream {
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded> {
        loop {
            return match self.decoder.read(buf) {
                Ok(0) if !buf.is_empty() => Ok(Decoded::End),
                Ok(n) => Ok(Decoded::Bytes(n)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => Err(self.explain(&err)),
            };
        }
    }
}

/// UTF-16 text decoded to UTF-8 as it is read (a character that is not
/// valid UTF-16 becomes U+FFFD). Its byte-order mark, if any, is dropped.
pub(super) struct Utf16<R> {
    inner: R,
    endian: Endian,
    /// Encoded UTF-8 not yet handed out.
    pending: Vec<u8>,
    pending_at: usize,
    /// A lone high surrogate waiting for its pair.
    high: Option<u16>,
    /// An odd byte carried to the next read.
    odd: Option<u8>,
    raw: Vec<u8>,
    ended: bool,
}

impl<R: Read> Utf16<R> {
    pub(super) fn new(inner: R, endian: Endian) -> Self {
        Utf16 {
            inner,
            endian,
            pending: Vec::new(),
            pending_at: 0,
            high: None,
            odd: None,
            raw: vec![0; 256 * 1024],
            ended: false,
        }
    }

    fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.pending
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    fn refill(&mut self) -> io::Result<()> {
        self.pending.clear();
        self.pending_at = 0;
        let mut filled = 0;
        if let Some(b) = self.odd.take() {
            self.raw[0] = b;
            filled = 1;
        }
        let n = loop {
            match self.inner.read(&mut self.raw[filled..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        filled += n;
        if n == 0 {
            self.ended = true;
            if self.high.take().is_some() {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            if filled == 1 {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            return Ok(());
        }
        if filled % 2 == 1 {
            filled -= 1;
            self.odd = Some(self.raw[filled]);
        }
        let raw = std::mem::take(&mut self.raw);
        for pair in raw[..filled].chunks_exact(2) {
            let unit = match self.endian {
                Endian::Little => u16::from_le_bytes([pair[0], pair[1]]),
                Endian::Big => u16::from_be_bytes([pair[0], pair[1]]),
            };
            match (self.high.take(), unit) {
                (None, 0xd800..=0xdbff) => self.high = Some(unit),
                (Some(high), 0xdc00..=0xdfff) => {
                    let c =
                        0x10000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(unit) - 0xdc00);
                    self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                (high, unit) => {
                    if high.is_some() {
                        self.push(char::REPLACEMENT_CHARACTER);
                    }
                    if (0xd800..=0xdbff).contains(&unit) {
                        self.high = Some(unit);
                    } else {
                        self.push(
                            char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
                        );
                    }
                }
            }
        }
        self.raw = raw;
        Ok(())
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending_at == self.pending.len() {
            if self.ended {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.pending.len() - self.pending_at);
        buf[..n].copy_from_slice(&self.pending[self.pending_at..self.pending_at + n]);
        self.pending_at += n;
        Ok(n)
    }
}

/// CR-only line ends (classic Mac OS, some Windows tools) read as `\n`.
pub(super) struct CrToLf<R>(pub(super) R);

impl<R: Read> Read for CrToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_told_apart() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Magic::Tar);
        assert_eq!(
            sniff(b"\x28\xb5\x2f\xfd\x00"),
            Magic::Compressed(Compression::Zstd)
        );
        assert_eq!(sniff(b"BZh91AY&SY"), Magic::Compressed(Compression::Bzip2));
        assert_eq!(sniff(b"BZhx"), Magic::Text);
        assert_eq!(
            sniff(b"7z\xbc\xaf\x27\x1c\x00"),
            Magic::Unread("a 7z archive")
        );
        let le: Vec<u8> = "2024-02-11T06:20:29Z INFO x\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            sniff(&le),
            Magic::Utf16(Endian::Little, ByteOrderMark::Absent)
        );
        let be: Vec<u8> = "2024-02-11T06:20:29Z INFO x\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(sniff(&be), Magic::Utf16(Endian::Big, ByteOrderMark::Absent));
        assert_eq!(sniff(b"a\rb\rc\r"), Magic::CrOnly);
        assert_eq!(sniff(b"a\r\nb\r\n"), Magic::Text);
        assert_eq!(sniff(b"a line with a \x00 NUL in it\n"), Magic::Text);
    }

    #[test]
    fn utf16_decodes_across_reads_and_pairs() {
        let text = "héllo 𝄞 wörld\r\n".repeat(40_000);
        for endian in [Endian::Little, Endian::Big] {
            let bytes: Vec<u8> = text
                .encode_utf16()
                .flat_map(|u| match endian {
                    Endian::Little => u.to_le_bytes(),
                    Endian::Big => u.to_be_bytes(),
                })
                .collect();
            // Reads of odd sizes split units and surrogate pairs.
            struct Odd(io::Cursor<Vec<u8>>);
            impl Read for Odd {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    let len = buf.len().min(7);
                    self.0.read(&mut buf[..len])
                }
            }
            let mut out = String::new();
            Utf16::new(Odd(io::Cursor::new(bytes)), endian)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
        let mut out = String::new();
        Utf16::new(&[0x3d, 0xd8, b'a'][..], Endian::Little)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "\u{fffd}\u{fffd}", "a lone surrogate, an odd byte");
    }
}

//! RFC 1952 gzip, a member at a time: header (optional fields skipped,
//! header CRC checked), flate2's raw deflate, trailer. Each way a stream can
//! end badly (cut inside a member, corrupt data, bytes after the last member
//! that are not gzip) is an error saying which member and byte.
use crate::text::describe_io_error;
use flate2::bufread::DeflateDecoder;
use std::io::{self, BufRead, Read};

/// A gzip file of one or more members (rotated logs joined with `cat`),
/// decoded one member at a time, so that how it ends is known: a file cut
/// inside a member, corrupt data, or bytes after the last member that are
/// not gzip each end the stream with an error saying which (the lines
/// before it are scanned). flate2's `MultiGzDecoder` reports the first two,
/// but takes trailing garbage for a bad header without saying where.
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub(super) struct GzipMembers<R: BufRead> {
    /// The body of the member being decoded (its header already read);
    /// `None` between members and at the end.
    decoder: Option<DeflateDecoder<Counted<R>>>,
    /// The input, between members.
    between: Option<Counted<R>>,
    /// Members started so far (1-based number of the current one).
    members: u64,
    /// Byte offset in the file where the current member starts.
    member_start: u64,
    finished: bool,
}

/// A buffered reader that counts the bytes consumed and remembers whether
/// the end of its input was met.
pub(super) struct Counted<R> {
    inner: R,
    consumed: u64,
    at_end: bool,
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            self.at_end = true;
        }
        Ok(available)
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

impl<R: BufRead> GzipMembers<R> {
    pub(super) fn new(inner: R) -> Self {
        GzipMembers {
            decoder: None,
            between: Some(Counted {
                inner,
                consumed: 0,
                at_end: false,
            }),
            members: 0,
            member_start: 0,
            finished: false,
        }
    }

    /// Starts the next member, if any; an error when what follows the last
    /// member is not gzip.
    fn next_member(&mut self) -> io::Result<bool> {
        let Some(mut input) = self.between.take() else {
            return Ok(false);
        };
        let head = loop {
            match input.fill_buf() {
                Ok(head) => break head,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        if head.is_empty() {
            return Ok(false);
        }
        if self.members > 0 && !head.starts_with(&GZIP_MAGIC) {
            let zeros = head.iter().all(|b| *b == 0);
            let what = if zeros {
                "zero bytes"
            } else {
                "data that is not gzip"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{what} after gzip member {}, from byte {}",
                    self.members, input.consumed
                ),
            ));
        }
        self.members += 1;
        self.member_start = input.consumed;
        if let Err(err) = read_gzip_header(&mut input) {
            return Err(Self::explain(err, &input, self.members, self.member_start));
        }
        self.decoder = Some(DeflateDecoder::new(input));
        Ok(true)
    }

    /// Says where and why the current member failed.
    fn explain(err: io::Error, input: &Counted<R>, member: u64, member_start: u64) -> io::Error {
        let detail = describe_io_error(&err);
        let message = if input.at_end {
            format!(
                "truncated: the file ends inside gzip member {member}, {} bytes into it",
                input.consumed.saturating_sub(member_start)
            )
        } else {
            format!(
                "corrupt gzip member {member}, found at byte {}: {detail}",
                input.consumed
            )
        };
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}

impl<R: BufRead + Send + 'static> Decode for GzipMembers<R> {
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded> {
        loop {
            if self.finished {
                return Ok(Decoded::End);
            }
            let Some(decoder) = self.decoder.as_mut() else {
                match self.next_member() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.finished = true;
                        return Ok(Decoded::End);
                    }
                    Err(err) => {
                        self.finished = true;
                        return Err(err);
                    }
                }
            };
            match decoder.read(buf) {
                Ok(0) if !buf.is_empty() => {
                    // The deflate data ended: the 8-byte trailer follows.
                    let input = decoder.get_mut();
                    let mut trailer = [0u8; 8];
                    if let Err(err) = input.read_exact(&mut trailer) {
                        let err = Self::explain(err, input, self.members, self.member_start);
                        self.finished = true;
                        self.decoder = None;
                        return Err(err);
                    }
                    let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
                    let end = MemberEnd {
                        crc: u32::from_le_bytes([c0, c1, c2, c3]),
                        size: u32::from_le_bytes([s0, s1, s2, s3]),
                        member: self.members,
                        at: input.consumed,
                    };
                    self.between = self.decoder.take().map(DeflateDecoder::into_inner);
                    return Ok(Decoded::MemberEnd(end));
                }
                Ok(n) => return Ok(Decoded::Bytes(n)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    let err =
                        Self::explain(err, decoder.get_ref(), self.members, self.member_start);
                    self.finished = true;
                    self.decoder = None;
                    return Err(err);
                }
            }
        }
    }
}

/// Reads a gzip member's header (RFC 1952) up to its deflate data,
/// skipping the optional extra field, name and comment without keeping
/// them (a name with no end would otherwise fill memory).
pub(super) fn read_gzip_header(input: &mut impl BufRead) -> io::Result<()> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut crc = flate2::Crc::new();
    let mut fixed = [0u8; 10];
    input.read_exact(&mut fixed)?;
    crc.update(&fixed);
    if fixed[..2] != GZIP_MAGIC {
        return Err(invalid("invalid gzip header"));
    }
    if fixed[2] != 8 {
        return Err(invalid("unknown gzip compression method"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("reserved gzip header flags set"));
    }
    if flags & FEXTRA != 0 {
        let mut length = [0u8; 2];
        input.read_exact(&mut length)?;
        crc.update(&length);
        skip_header_bytes(
            input,
            &mut crc,
            Some(usize::from(u16::from_le_bytes(length))),
        )?;
    }
    if flags & FNAME != 0 {
        skip_header_bytes(input, &mut crc, None)?;
    }
    if flags & FCOMMENT != 0 {
        skip_header_bytes(input, &mut crc, None)?;
    }
    if flags & FHCRC != 0 {
        let mut stored = [0u8; 2];
        input.read_exact(&mut stored)?;
        if u16::from_le_bytes(stored) != (crc.sum() & 0xffff) as u16 {
            return Err(invalid("gzip header checksum mismatch"));
        }
    }
    Ok(())
}

/// Skips `count` header bytes, or (`None`) up to and including a zero byte.
pub(super) fn skip_header_bytes(
    input: &mut impl BufRead,
    crc: &mut flate2::Crc,
    mut count: Option<usize>,
) -> io::Result<()> {
    loop {
        if count == Some(0) {
            return Ok(());
        }
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (take, done) = match count {
            Some(left) => (left.min(available.len()), false),
            None => match memchr::memchr(0, available) {
                Some(zero) => (zero + 1, true),
                None => (available.len(), false),
            },
        };
        crc.update(&available[..take]);
        input.consume(take);
        if let Some(left) = count.as_mut() {
            *left -= take;
        }
        if done {
            return Ok(());
        }
    }
}

/// What one decoding step produced.
pub(super) enum Decoded {
    /// This many bytes, at the start of the buffer.
    Bytes(usize),
    /// A gzip member ended (its bytes all given before).
    MemberEnd(MemberEnd),
    End,
}

/// A gzip member's trailer: the CRC-32 and size (mod 2^32) of its data.
#[derive(Debug, Clone, Copy)]
pub(super) struct MemberEnd {
    crc: u32,
    size: u32,
    member: u64,
    /// Byte offset in the file just past the trailer.
    at: u64,
}

/// A decoder run on its own thread by `DecodedBlocks`.
pub(super) trait Decode: Send + 'static {
    fn decode(&mut self, buf: &mut [u8]) -> io::Result<Decoded>;
}

/// A member's trailer against the CRC-32 and size of what was decoded.
pub(super) fn check_member(crc: &flate2::Crc, end: &MemberEnd) -> io::Result<()> {
    if crc.sum() == end.crc && crc.amount() == end.size {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "corrupt gzip member {}, found at byte {}: its checksum or size does not \
             match the data decoded from it",
            end.member, end.at
        ),
    ))
}

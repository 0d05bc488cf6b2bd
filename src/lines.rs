//! Bytes → lines, in blocks. The scanner works on large blocks of whole lines
//! (one memchr pass finds them), never on one allocation per line. A line too
//! long for the buffer is cut to its first `MAX_LINE` bytes and the rest is
//! skipped, so a 100 MiB line costs no more memory than a short one (the
//! scanner cuts shorter lines over `MAX_LINE` the same way).
use std::io::{self, Read};

mod newlines;
pub use newlines::for_each_newline;

pub const BLOCK_SIZE: usize = 1 << 20;
/// Longest line kept; the remainder of a longer line is skipped (and counted).
pub const MAX_LINE: usize = 256 * 1024;

pub struct LineBlocks<R> {
    reader: R,
    buf: Vec<u8>,
    /// Bytes in `buf[..filled]` not yet handed out.
    filled: usize,
    eof: bool,
    /// Inside an over-long line whose head was already handed out.
    skipping: bool,
    pub truncated_lines: u64,
    pub bytes_read: u64,
}

thread_local! {
    /// The buffer of the thread's last finished `LineBlocks`: a worker that
    /// scans a thousand small files zeroes one megabyte, not a gigabyte.
    static SPARE: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

fn spare_buffer(size: usize) -> Option<Vec<u8>> {
    SPARE
        .with(|spare| spare.borrow_mut().take())
        .filter(|buf| buf.len() == size)
}

impl<R> Drop for LineBlocks<R> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // During a thread's teardown the slot may be gone: then it is freed.
        let _ = SPARE.try_with(|spare| *spare.borrow_mut() = Some(buf));
    }
}

/// A read error in the middle of a stream: what was read before it stands.
#[derive(Debug)]
pub struct ReadError {
    pub error: io::Error,
}

impl<R: Read> LineBlocks<R> {
    pub fn new(reader: R) -> Self {
        Self::with_block_size(reader, BLOCK_SIZE)
    }

    pub fn with_block_size(reader: R, block_size: usize) -> Self {
        let size = block_size.max(MAX_LINE + 1);
        LineBlocks {
            reader,
            buf: spare_buffer(size).unwrap_or_else(|| vec![0; size]),
            filled: 0,
            eof: false,
            skipping: false,
            truncated_lines: 0,
            bytes_read: 0,
        }
    }

    /// Calls `on_block` with consecutive blocks of whole lines; every line in
    /// a block ends with `\n` (one is added after a last line that lacks it).
    pub fn for_each_block(
        &mut self,
        mut on_block: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), ReadError> {
        loop {
            if !self.eof && self.filled < self.buf.len() {
                match self.reader.read(&mut self.buf[self.filled..]) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        self.filled += n;
                        self.bytes_read += n as u64;
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        self.flush_partial(&mut on_block);
                        return Err(ReadError { error });
                    }
                }
            }
            if self.filled == 0 && self.eof {
                return Ok(());
            }
            let mut start = 0;
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf[..self.filled]) {
                    Some(newline) => {
                        self.skipping = false;
                        start = newline + 1;
                    }
                    None => {
                        self.filled = 0;
                        continue;
                    }
                }
            }
            let data = &self.buf[start..self.filled];
            match memchr::memrchr(b'\n', data) {
                Some(last_newline) => {
                    let end = start + last_newline + 1;
                    if !on_block(&self.buf[start..end]) {
                        return Ok(());
                    }
                    self.buf.copy_within(end..self.filled, 0);
                    self.filled -= end;
                }
                None if self.eof => {
                    // Last line without a newline.
                    if self.filled > start {
                        let end = self.filled;
                        if end < self.buf.len() {
                            self.buf[end] = b'\n';
                            let keep_going = on_block(&self.buf[start..=end]);
                            self.filled = 0;
                            if !keep_going {
                                return Ok(());
                            }
                        } else {
                            self.emit_truncated(start, &mut on_block);
                        }
                    }
                    self.filled = 0;
                    return Ok(());
                }
                None if self.filled == self.buf.len() => {
                    if start > 0 {
                        self.buf.copy_within(start..self.filled, 0);
                        self.filled -= start;
                        continue;
                    }
                    // One line fills the whole buffer: keep its head only.
                    self.emit_truncated(0, &mut on_block);
                    self.skipping = true;
                    self.filled = 0;
                }
                None => {
                    if start > 0 {
                        self.buf.copy_within(start..self.filled, 0);
                        self.filled -= start;
                    }
                }
            }
        }
    }

    fn emit_truncated(&mut self, start: usize, on_block: &mut impl FnMut(&[u8]) -> bool) {
        let end = start + MAX_LINE;
        self.buf[end] = b'\n';
        self.truncated_lines += 1;
        on_block(&self.buf[start..=end]);
    }

    /// On a read error, the complete lines already buffered still count.
    fn flush_partial(&mut self, on_block: &mut impl FnMut(&[u8]) -> bool) {
        if self.skipping {
            return;
        }
        if let Some(last_newline) = memchr::memrchr(b'\n', &self.buf[..self.filled]) {
            on_block(&self.buf[..=last_newline]);
        }
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8], block: usize) -> (Vec<Vec<u8>>, u64) {
        let mut reader = LineBlocks::with_block_size(data, block);
        let mut lines = Vec::new();
        reader
            .for_each_block(|block| {
                for line in block.split_inclusive(|b| *b == b'\n') {
                    lines.push(line.to_vec());
                }
                true
            })
            .unwrap();
        (lines, reader.truncated_lines)
    }

    #[test]
    fn final_line_without_newline_is_kept() {
        let (lines, _) = lines_of(b"a\nb\r\nc", 0);
        assert_eq!(
            lines,
            vec![b"a\n".to_vec(), b"b\r\n".to_vec(), b"c\n".to_vec()]
        );
    }

    #[test]
    fn over_long_line_is_cut_and_the_next_line_survives() {
        let mut data = vec![b'x'; MAX_LINE * 3];
        data.extend_from_slice(b"\nnext\n");
        let (lines, truncated) = lines_of(&data, 0);
        assert_eq!(truncated, 1);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE + 1);
        assert_eq!(lines[1], b"next\n".to_vec());
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(lines_of(b"", 0).0.is_empty());
    }
}

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
    /// JSON lines over `MAX_LINE` kept whole but with string values over
    /// `MAX_JSON_STRING` shortened (a `message` after a huge field is still
    /// searched).
    pub shortened_lines: u64,
    pub bytes_read: u64,
    /// The over-long JSON line being shortened while the rest of it is read.
    shortening: Option<(JsonShortener, Vec<u8>)>,
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
            shortened_lines: 0,
            bytes_read: 0,
            shortening: None,
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
                        if let Some((mut shortener, mut out)) = self.shortening.take() {
                            shortener.feed(&self.buf[..newline], &mut out);
                            if !self.emit_shortened(out, &mut on_block) {
                                return Ok(());
                            }
                        }
                    }
                    None => {
                        if let Some((shortener, out)) = &mut self.shortening {
                            shortener.feed(&self.buf[..self.filled], out);
                        }
                        self.filled = 0;
                        if self.eof {
                            if let Some((_, out)) = self.shortening.take() {
                                self.emit_shortened(out, &mut on_block);
                            }
                        }
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
                    if looks_like_json(&self.buf[..self.filled]) {
                        let mut shortener = JsonShortener::default();
                        let mut out = Vec::with_capacity(MAX_LINE);
                        shortener.feed(&self.buf[..self.filled], &mut out);
                        self.shortening = Some((shortener, out));
                    } else {
                        self.emit_truncated(0, &mut on_block);
                    }
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

    /// Emits a shortened JSON line (cut at `MAX_LINE` if it is still too
    /// long, and then counted as cut).
    fn emit_shortened(
        &mut self,
        mut out: Vec<u8>,
        on_block: &mut impl FnMut(&[u8]) -> bool,
    ) -> bool {
        if out.len() > MAX_LINE {
            out.truncate(MAX_LINE);
            self.truncated_lines += 1;
        } else {
            self.shortened_lines += 1;
        }
        out.push(b'\n');
        on_block(&out)
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
            if let Some((_, out)) = self.shortening.take() {
                self.emit_shortened(out, on_block);
            }
            return;
        }
        if let Some(last_newline) = memchr::memrchr(b'\n', &self.buf[..self.filled]) {
            on_block(&self.buf[..=last_newline]);
        }
        self.filled = 0;
    }
}

/// String values of an over-long JSON line are kept up to this many bytes.
pub const MAX_JSON_STRING: usize = 16 * 1024;

/// Whether an over-long line is a JSON object, perhaps behind a short
/// wrapper (`kubectl logs --timestamps`, a compose prefix).
pub fn looks_like_json(head: &[u8]) -> bool {
    let window = &head[..head.len().min(256)];
    memchr::memchr(b'{', window)
        .is_some_and(|i| window[i + 1..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'"'))
}

/// Copies a JSON line with every string value cut to `MAX_JSON_STRING`
/// bytes (never inside an escape or a UTF-8 character), so that the line
/// stays valid JSON and its later fields survive a huge one. Fed in pieces.
#[derive(Debug, Default)]
pub struct JsonShortener {
    in_string: bool,
    /// After a backslash in a string.
    escaped: bool,
    /// Hex digits still to come in a `\uXXXX` escape.
    hex_left: u8,
    /// Whether the escape under way is kept (it began before the cut).
    keep_escape: bool,
    /// Whether the last byte kept is part of a multi-byte UTF-8 character.
    in_char: bool,
    string_len: usize,
}

impl JsonShortener {
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if !self.in_string {
                // Outside strings (keys are strings too): bounded by the
                // caller's cut of the whole line.
                if out.len() <= MAX_LINE {
                    out.push(b);
                }
                if b == b'"' {
                    self.in_string = true;
                    self.string_len = 0;
                    self.in_char = false;
                }
                continue;
            }
            if self.escaped || self.hex_left > 0 {
                if self.keep_escape && out.len() <= MAX_LINE {
                    out.push(b);
                    self.string_len += 1;
                }
                if self.escaped {
                    self.escaped = false;
                    if b == b'u' {
                        self.hex_left = 4;
                    }
                } else {
                    self.hex_left -= 1;
                }
                continue;
            }
            let full = self.string_len >= MAX_JSON_STRING;
            match b {
                b'"' => {
                    out.push(b);
                    self.in_string = false;
                }
                b'\\' => {
                    self.escaped = true;
                    self.keep_escape = !full;
                    if !full && out.len() <= MAX_LINE {
                        out.push(b);
                        self.string_len += 1;
                    }
                    self.in_char = false;
                }
                // The rest of a character begun before the cut.
                _ if full && !(self.in_char && b & 0xC0 == 0x80) => {
                    self.in_char = false;
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(n) => i += n,
                        None => return,
                    }
                }
                _ => {
                    if out.len() <= MAX_LINE {
                        out.push(b);
                        self.string_len += 1;
                    }
                    self.in_char = b >= 0x80;
                }
            }
        }
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
    fn a_json_line_too_long_keeps_its_fields_after_a_huge_one() {
        let blob = "A\\\"é".repeat(MAX_LINE);
        let line = format!(
            "{{\"timestamp\":\"2024-02-11T06:05:06.386Z\",\"fields\":{{\"blob\":\"{blob}\",\"message\":\"lease 1 keep alive timeout\"}}}}\nnext\n"
        );
        let mut reader = LineBlocks::with_block_size(line.as_bytes(), 0);
        let mut lines = Vec::new();
        reader
            .for_each_block(|block| {
                lines.extend(block.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec));
                true
            })
            .unwrap();
        assert_eq!((reader.truncated_lines, reader.shortened_lines), (0, 1));
        assert_eq!(lines.len(), 2);
        let value: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(value["fields"]["message"], "lease 1 keep alive timeout");
        assert!(value["fields"]["blob"].as_str().unwrap().len() <= MAX_JSON_STRING + 4);
        assert_eq!(lines[1], b"next\n".to_vec());
    }

    #[test]
    fn shortened_json_stays_valid_whatever_sits_at_the_cut() {
        // Escapes, \u escapes and multi-byte characters at every offset
        // around the cut, fed whole and in pieces of every small size.
        for tail in ["\\\"", "\\\\", "\\u00e9", "é", "😀", "\\n", "x"] {
            for pad in MAX_JSON_STRING - 8..MAX_JSON_STRING + 2 {
                let value = "a".repeat(pad) + &tail.repeat(4);
                let line = format!("{{\"k\":\"{value}\",\"m\":\"after\",\"n\":[1,\"{tail}\"]}}");
                for piece in [line.len(), 1, 3, 7] {
                    let mut out = Vec::new();
                    let mut shortener = JsonShortener::default();
                    for chunk in line.as_bytes().chunks(piece) {
                        shortener.feed(chunk, &mut out);
                    }
                    let parsed: serde_json::Value = serde_json::from_slice(&out)
                        .unwrap_or_else(|e| panic!("{tail:?} {pad} {piece}: {e}"));
                    assert_eq!(parsed["m"], "after");
                    assert!(parsed["k"].as_str().unwrap().len() <= MAX_JSON_STRING + 6);
                }
            }
        }
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(lines_of(b"", 0).0.is_empty());
    }
}

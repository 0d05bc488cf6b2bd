//! A Rust panic as one event. The panic hook writes to stderr, not through
//! tracing, so a panic has no timestamp or level of its own, and it spans
//! several lines:
//!
//! ```text
//! thread 'rw-main' (11) panicked at src/meta/src/barrier/info.rs:1293:30:
//! should exist
//! note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
//! ```
//!
//! The header is `thread '<name>' panicked at <file>:<line>:<col>:` from Rust
//! 1.73 (the message on the lines after it), with ` (<tid>)` after the name
//! from Rust 1.91 (RisingWave v2.7+); before 1.73 it was one line,
//! `thread '<name>' panicked at '<message>', <file>:<line>:<col>`. A backtrace
//! (`stack backtrace:` and its frames, with `RUST_BACKTRACE=1`) and
//! RisingWave's `*** await tree context of current task ***` may follow.
//!
//! The fold keeps the header as written and appends the message lines, each
//! after a `\n`, so that signals can match the header, the message or both;
//! the note, the backtrace and the await tree belong to the event (for
//! coverage) but not to its text. The event ends at the next event line
//! (one with a timestamp and level), the next panic header, a line that says
//! the process aborted (`Abort (core dumped)`, which stays a line of its
//! own), or after `MAX_LINES` lines.

/// Lines folded into one panic at most (a `RUST_BACKTRACE=1` backtrace is
/// usually 30 to 150 lines).
pub const MAX_LINES: usize = 256;
/// Message lines kept in the event's text, and bytes at most.
pub const MAX_MESSAGE_LINES: usize = 8;
pub const MAX_MESSAGE_BYTES: usize = 1536;

/// Whether `inner` (a line without its wrappers) is a panic header; if so,
/// whether the message follows on the next lines (Rust 1.73+) rather than
/// being quoted in the header.
pub fn header(inner: &[u8]) -> Option<bool> {
    let rest = inner.strip_prefix(b"thread '")?;
    let at = memchr::memmem::find(rest, b" panicked at ")?;
    // The name ends with a quote, then maybe ` (<tid>)`.
    let name_end = memchr::memchr(b'\'', rest)?;
    if name_end > at {
        return None;
    }
    let after = &rest[at + b" panicked at ".len()..];
    let trimmed = after.trim_ascii_end();
    Some(trimmed.ends_with(b":") && !after.starts_with(b"'"))
}

/// `Abort (core dumped)`, `Aborted (core dumped)`, `Aborted`: a shell's
/// word on a process that ended with SIGABRT.
pub fn is_abort(inner: &[u8]) -> bool {
    let text = inner.trim_ascii();
    text.starts_with(b"Abort") && (text.len() <= 7 || text.ends_with(b"(core dumped)"))
}

/// A panic being folded.
#[derive(Debug, Clone)]
pub struct Fold {
    text: String,
    /// Still reading message lines.
    in_message: bool,
    message_lines: usize,
    lines: usize,
}

impl Fold {
    /// Starts a fold at a header (`line` as written, wrappers included).
    pub fn start(line: &str, expects_message: bool) -> Fold {
        Fold {
            text: line.to_string(),
            in_message: expects_message,
            message_lines: 0,
            lines: 1,
        }
    }

    /// Offers the next line, without its wrappers, and whether it is an
    /// event line or another header. `false`: it is not part of the panic,
    /// which has ended.
    pub fn push(&mut self, inner: &[u8], is_event: bool) -> bool {
        if is_event || self.lines >= MAX_LINES || header(inner).is_some() || is_abort(inner) {
            return false;
        }
        self.lines += 1;
        if self.in_message {
            let trailer = inner.is_empty()
                || inner.starts_with(b"note: ")
                || inner.starts_with(b"stack backtrace:")
                || inner.starts_with(b"*** await tree");
            if trailer || self.message_lines >= MAX_MESSAGE_LINES {
                self.in_message = false;
            } else {
                let line = String::from_utf8_lossy(inner);
                let room = MAX_MESSAGE_BYTES.saturating_sub(self.text.len());
                if room > 1 {
                    self.text.push('\n');
                    self.text
                        .push_str(&crate::text::cut(line.trim_end(), room - 1));
                }
                self.message_lines += 1;
            }
        }
        true
    }

    /// The header and the message lines, joined by `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Lines folded so far, the header included.
    pub fn lines(&self) -> usize {
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_every_toolchain() {
        // Rust 1.91+ (RisingWave v2.7+): thread id after the name.
        assert_eq!(
            header(b"thread 'rw-main' (11) panicked at src/meta/src/barrier/info.rs:1293:30:"),
            Some(true)
        );
        // Rust 1.73 to 1.90 (v1.3 to v2.6).
        assert_eq!(
            header(b"thread 'rw-standalone-meta' panicked at src/meta/src/hummock/manager/checkpoint.rs:50:90:"),
            Some(true)
        );
        // Before Rust 1.73 (up to v1.2): the message is quoted in the header.
        assert_eq!(
            header(b"thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/meta/src/rpc/server.rs:10:5"),
            Some(false)
        );
        assert_eq!(
            header(b"thread '<unnamed>' panicked at src/a.rs:1:2:"),
            Some(true)
        );
        for not in [
            &b"2024-01-01T00:00:00Z ERROR thread 'x' panicked at a.rs:1:1:"[..],
            b"the thread 'x' panicked at a.rs:1:1:",
            b"thread 'x' is fine",
            b"thread '",
        ] {
            assert_eq!(header(not), None, "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn the_message_joins_the_header_and_the_trailer_does_not() {
        let mut fold = Fold::start("thread 'rw-main' (11) panicked at src/a.rs:1:2:", true);
        assert!(fold.push(b"should exist", false));
        assert!(fold.push(
            b"note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            false
        ));
        assert!(fold.push(b"stack backtrace:", false));
        assert!(fold.push(b"   0: rust_begin_unwind", false));
        assert!(fold.push(
            b"             at /rustc/abc/library/std/src/panicking.rs:665:5",
            false
        ));
        assert!(!fold.push(b"Abort (core dumped)", false));
        assert_eq!(
            fold.text(),
            "thread 'rw-main' (11) panicked at src/a.rs:1:2:\nshould exist"
        );
        assert_eq!(fold.lines(), 6);
    }

    #[test]
    fn an_event_line_or_a_new_header_ends_the_fold() {
        let mut fold = Fold::start("thread 'main' panicked at src/a.rs:1:2:", true);
        assert!(fold.push(b"first", false));
        assert!(!fold.push(b"2024-01-01T00:00:00Z  INFO a: b", true));
        let mut fold = Fold::start("thread 'main' panicked at src/a.rs:1:2:", true);
        assert!(!fold.push(b"thread 'rw-main' panicked at src/b.rs:3:4:", false));
        assert_eq!(fold.text(), "thread 'main' panicked at src/a.rs:1:2:");
    }

    #[test]
    fn long_messages_are_cut() {
        let mut fold = Fold::start("thread 'main' panicked at src/a.rs:1:2:", true);
        for _ in 0..20 {
            assert!(fold.push(&[b'x'; 400], false));
        }
        assert!(fold.text().len() <= MAX_MESSAGE_BYTES);
        assert!(fold.text().lines().count() <= MAX_MESSAGE_LINES + 1);
        assert!(is_abort(b"Aborted (core dumped)"));
        assert!(is_abort(b"Aborted"));
        assert!(!is_abort(b"Aborting the transaction"));
    }
}

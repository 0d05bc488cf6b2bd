//! One door to stderr (after ripgrep's `messages.rs`): every message for a
//! person goes through `say`, prefixed `rwdoctor: ` and made printable, so
//! no log-derived text (a file name, a rule id from argv) can drive the
//! terminal. Whether a message makes the exit code 2 is the caller's
//! business: the analysis counts its errors itself.
use crate::text::printable::printable;
use std::fmt::Display;

/// Writes `rwdoctor: <message>` on stderr, control characters escaped.
pub fn say(message: impl Display) {
    eprintln!("rwdoctor: {}", printable(&message.to_string()));
}

//! Text shared by every stage that shows something to a person: log text
//! made safe to print, plurals, the wording of I/O errors. A leaf: it
//! imports nothing from the crate.
pub mod printable;

use std::io;

/// `No such file or directory (os error 2)` → `no such file or directory`.
pub fn describe_io_error(err: &io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    match err.kind() {
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => {
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
                None => text.to_string(),
            }
        }
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

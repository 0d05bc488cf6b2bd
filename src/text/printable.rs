//! Log text made safe to show. Reports for people (human, Markdown, GitHub
//! annotations) echo log lines, file names and first lines of inputs that may
//! be binary: a NUL, a carriage return, an escape sequence or a C1 control
//! would garble or drive the terminal. They are written as visible escapes
//! (`\x00`, `\r`, `\u{9b}`) instead, a tab as a space; the JSON formats keep
//! the exact text (JSON escapes it itself).
use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a rendered page as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        // Bidirectional overrides and isolates reorder what is shown.
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\t' => out.push(' '),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `text` with every control character (line breaks included: the text is
/// one line) written as a visible escape.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `printable`, and where the byte range `span` of `text` ends up in it.
pub fn printable_with_span(
    text: &str,
    span: Option<(usize, usize)>,
) -> (String, Option<(usize, usize)>) {
    let Some((start, end)) = span.filter(|(start, end)| {
        start <= end && text.is_char_boundary(*start) && text.is_char_boundary(*end)
    }) else {
        return (printable(text).into_owned(), None);
    };
    let head = printable(&text[..start]);
    let middle = printable(&text[start..end]);
    let tail = printable(&text[end..]);
    let span = (head.len(), head.len() + middle.len());
    (format!("{head}{middle}{tail}"), Some(span))
}

/// A last guard over a whole report: every control character but the line
/// break escaped, except (`keep_sgr`) the colour sequences the report itself
/// wrote (`ESC [ digits;… m`).
pub fn guard_report(text: String, keep_sgr: bool) -> String {
    let clean = |c: char| !is_unsafe(c) || c == '\n';
    if text.chars().all(clean) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' && keep_sgr {
            if let Some(len) = sgr_len(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if clean(c) {
            out.push(c);
        } else {
            escape_into(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Length of the colour sequence `ESC [ (digit | ;)* m` at the start of `text`.
fn sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(printable("plain é ✓"), "plain é ✓");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\0b\tc\rd\u{1b}[31me\u{7f}\u{9b}f\u{202e}g\n"),
            "a\\x00b c\\rd\\x1b[31me\\x7f\\u{9b}f\\u{202e}g\\n"
        );
    }

    #[test]
    fn the_highlight_follows_the_escapes() {
        let (text, span) = printable_with_span("\0\0lease\0 x", Some((2, 7)));
        assert_eq!(text, "\\x00\\x00lease\\x00 x");
        let (start, end) = span.unwrap();
        assert_eq!(&text[start..end], "lease");
        // A span that does not fit is dropped, not a panic.
        assert_eq!(printable_with_span("é", Some((1, 2))).1, None);
        assert_eq!(printable_with_span("ab", Some((2, 1))).1, None);
        assert_eq!(printable_with_span("ab", Some((1, 9))).1, None);
    }

    #[test]
    fn the_guard_keeps_our_colours_only() {
        let coloured = "\u{1b}[1;31mred\u{1b}[0m \u{1b}]0;title\u{7}\0".to_string();
        assert_eq!(
            guard_report(coloured.clone(), true),
            "\u{1b}[1;31mred\u{1b}[0m \\x1b]0;title\\x07\\x00"
        );
        assert_eq!(
            guard_report(coloured, false),
            "\\x1b[1;31mred\\x1b[0m \\x1b]0;title\\x07\\x00"
        );
        assert_eq!(guard_report("a\nb".into(), false), "a\nb");
    }
}

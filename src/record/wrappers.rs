//! What log collectors wrap around a line (§6 of the reference), peeled off
//! outermost first, in any stacking: `kubectl logs --prefix` (`[pod/p/c] `),
//! `docker compose logs` (`service  | `), `journalctl` (`Feb 11 06:20:29 host
//! ident[pid]: `), `kubectl logs --timestamps` (an RFC 3339 prefix) and
//! the CRI log files of `/var/log/pods` (`<RFC 3339> stdout F `), and the
//! time of a log envelope (Docker json-file, logcli, Grafana...), which the
//! input layer writes before the unwrapped line as `<RFC 3339><TAB>`.
//! ANSI escapes are removed before this runs (`strip_ansi`).
use super::text::{is_tracing_level_word, rfc3339_prefix_len};

/// Bit flags naming the wrappers found on a line.
pub const KUBECTL_PREFIX: u8 = 1;
pub const COMPOSE: u8 = 2;
pub const JOURNALD: u8 = 4;
pub const KUBECTL_TIMESTAMP: u8 = 8;
pub const ANSI: u8 = 16;
pub const CRI: u8 = 32;
pub const ENVELOPE: u8 = 64;

pub const WRAPPER_NAMES: [(u8, &str); 7] = [
    (KUBECTL_PREFIX, "kubectl --prefix"),
    (COMPOSE, "docker compose"),
    (JOURNALD, "journalctl"),
    (KUBECTL_TIMESTAMP, "kubectl --timestamps"),
    (ANSI, "ANSI colours"),
    (CRI, "CRI log file"),
    (ENVELOPE, "a log envelope"),
];

/// A line with its wrappers peeled off (byte ranges into the line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unwrapped {
    pub inner_start: usize,
    pub wrappers: u8,
    /// Pod (kubectl), service (compose) or host/ident (journalctl).
    pub origin: Option<(usize, usize)>,
    /// A timestamp the wrapper carried (kubectl, journalctl).
    pub wrapper_time: Option<(usize, usize)>,
}

/// Peels wrappers; cheap for an unwrapped line (a couple of byte checks).
pub fn unwrap(line: &[u8]) -> Unwrapped {
    let mut out = Unwrapped::default();
    // Each wrapper appears at most once; five rounds cover any stacking.
    for _ in 0..5 {
        let rest = &line[out.inner_start..];
        let base = out.inner_start;
        let peeled = match rest.first() {
            Some(b'[') if out.wrappers & KUBECTL_PREFIX == 0 => {
                kubectl_prefix(rest).map(|(len, origin)| {
                    out.wrappers |= KUBECTL_PREFIX;
                    out.origin.get_or_insert((base + origin.0, base + origin.1));
                    len
                })
            }
            Some(b) if b.is_ascii_digit() && out.wrappers & TIMES != TIMES => {
                time_prefix(rest, &mut out, base)
            }
            Some(b) if b.is_ascii_uppercase() && out.wrappers & JOURNALD == 0 => journald(rest)
                .map(|(len, origin)| {
                    out.wrappers |= JOURNALD;
                    out.origin.get_or_insert((base + origin.0, base + origin.1));
                    out.wrapper_time.get_or_insert((base, base + 15));
                    len
                })
                .or_else(|| compose(rest, &mut out, base)),
            Some(b) if (b.is_ascii_alphanumeric() || *b == b'_') && out.wrappers & COMPOSE == 0 => {
                compose(rest, &mut out, base)
            }
            _ => None,
        };
        match peeled {
            Some(len) => out.inner_start += len,
            None => break,
        }
    }
    out
}

/// Both wrappers that start with a time.
const TIMES: u8 = ENVELOPE | KUBECTL_TIMESTAMP;

/// An envelope's `<RFC 3339><TAB>`, else kubectl's `<RFC 3339> ` (with a
/// CRI file's stream after it).
fn time_prefix(rest: &[u8], out: &mut Unwrapped, base: usize) -> Option<usize> {
    if out.wrappers & ENVELOPE == 0 {
        if let Some(len) = envelope_time(rest) {
            out.wrappers |= ENVELOPE;
            out.wrapper_time.get_or_insert((base, base + len - 1));
            return Some(len);
        }
    }
    if out.wrappers & KUBECTL_TIMESTAMP != 0 {
        return None;
    }
    kubectl_timestamp(rest).map(|len| {
        out.wrapper_time.get_or_insert((base, base + len - 1));
        match cri_stream(&rest[len..]) {
            Some(stream) => {
                out.wrappers |= CRI | KUBECTL_TIMESTAMP;
                len + stream
            }
            None => {
                out.wrappers |= KUBECTL_TIMESTAMP;
                len
            }
        }
    })
}

/// `2024-02-11T06:20:29.301Z<TAB>`, as the input layer writes an
/// envelope's time: its length with the tab.
fn envelope_time(rest: &[u8]) -> Option<usize> {
    if rest.len() < 21 || rest.get(4) != Some(&b'-') || rest.get(10) != Some(&b'T') {
        return None;
    }
    let tab = rest[19..rest.len().min(40)]
        .iter()
        .position(|b| *b == b'\t')?
        + 19;
    rest[..tab]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.' | b'+'))
        .then_some(tab + 1)
}

fn compose(rest: &[u8], out: &mut Unwrapped, base: usize) -> Option<usize> {
    if out.wrappers & COMPOSE != 0 {
        return None;
    }
    let (len, origin) = compose_prefix(rest)?;
    out.wrappers |= COMPOSE;
    out.origin.get_or_insert((base + origin.0, base + origin.1));
    Some(len)
}

/// `[pod/rw-meta-0/meta] ` → origin `rw-meta-0`.
fn kubectl_prefix(rest: &[u8]) -> Option<(usize, (usize, usize))> {
    if !rest.starts_with(b"[pod/") {
        return None;
    }
    let close = memchr::memchr(b']', &rest[..rest.len().min(300)])?;
    if rest.get(close + 1) != Some(&b' ') {
        return None;
    }
    let inside = &rest[5..close];
    let pod_end = memchr::memchr(b'/', inside).unwrap_or(inside.len());
    Some((close + 2, (5, 5 + pod_end)))
}

/// `meta-node-0  | ` → origin `meta-node-0`. The name is a compose service
/// (letters, digits, `-_.`), padded with spaces, then `|` and a space.
fn compose_prefix(rest: &[u8]) -> Option<(usize, (usize, usize))> {
    let name_len = rest
        .iter()
        .take(128)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .count();
    if name_len == 0 {
        return None;
    }
    let spaces = rest[name_len..].iter().take_while(|b| **b == b' ').count();
    if spaces == 0 {
        return None;
    }
    let bar = name_len + spaces;
    if rest.get(bar) != Some(&b'|') {
        return None;
    }
    match rest.get(bar + 1) {
        Some(b' ') => Some((bar + 2, (0, name_len))),
        None => Some((bar + 1, (0, name_len))),
        _ => None,
    }
}

/// `2024-02-11T06:20:29.301433512Z ` before a line that is not itself a
/// tracing line (whose timestamp is followed by a level).
fn kubectl_timestamp(rest: &[u8]) -> Option<usize> {
    let end = rfc3339_prefix_len(rest)?;
    let after = &rest[end + 1..];
    let level_start = after.iter().take_while(|b| **b == b' ').count();
    let word_len = after[level_start..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    if word_len > 0 && is_tracing_level_word(&after[level_start..level_start + word_len]) {
        return None; // this is RisingWave's own timestamp
    }
    // Checked last: on RisingWave's own lines (nearly every line read
    // here) the level above answers first, and this costs several
    // hundred instructions.
    if super::second::owns_leading_time(rest) {
        return None; // MySQL's or `dmesg --time-format=iso`'s own time
    }
    Some(end + 1)
}

/// After a CRI log file's timestamp: the stream and whether the line is
/// whole (`F`) or a part (`P`), as containerd and CRI-O write them.
fn cri_stream(rest: &[u8]) -> Option<usize> {
    let stream = [&b"stdout "[..], b"stderr "]
        .into_iter()
        .find(|s| rest.starts_with(s))?;
    match rest.get(stream.len()..stream.len() + 2) {
        Some(b"F ") | Some(b"P ") => Some(stream.len() + 2),
        _ => None,
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Month number (1-12) of a journalctl prefix's `Mmm`.
pub fn month_of(prefix: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| prefix.starts_with(*m))
        .map(|i| i as u32 + 1)
}

/// `Feb 11 06:20:29 host ident[1234]: ` → origin `host ident`.
fn journald(rest: &[u8]) -> Option<(usize, (usize, usize))> {
    if rest.len() < 20 || month_of(rest).is_none() {
        return None;
    }
    let shape_ok = rest[3] == b' '
        && (rest[4] == b' ' || rest[4].is_ascii_digit())
        && rest[5].is_ascii_digit()
        && rest[6] == b' '
        && rest[9] == b':'
        && rest[12] == b':'
        && rest[15] == b' ';
    if !shape_ok {
        return None;
    }
    let head = &rest[16..rest.len().min(16 + 200)];
    let colon = memchr::memmem::find(head, b": ")?;
    let origin = &head[..colon];
    if origin.is_empty() || memchr::memchr(b' ', origin).is_none() {
        return None; // needs `host ident`
    }
    // Drop the `[pid]` from the origin shown.
    let origin_end = memchr::memchr(b'[', origin).unwrap_or(origin.len());
    Some((16 + colon + 2, (16, 16 + origin_end)))
}

/// Removes ANSI escape sequences: CSI (`ESC [ ... final`), OSC (`ESC ]
/// ... BEL` or `ESC ] ... ESC \`: a terminal title, a hyperlink) and bare
/// `ESC x`.
pub fn strip_ansi(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        if line[i] == 0x1b {
            i += 1;
            match line.get(i) {
                Some(b'[') => {
                    i += 1;
                    while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                        i += 1;
                    }
                }
                Some(b']') => {
                    // Up to BEL, or to the ST (`ESC \\`), which the bare
                    // escape below then skips; an OSC never ended takes the
                    // rest of the line.
                    i += 1;
                    while i < line.len() && line[i] != 0x07 && line[i] != 0x1b {
                        i += 1;
                    }
                    if line.get(i) == Some(&0x1b) {
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        let next = memchr::memchr(0x1b, &line[i..]).map_or(line.len(), |n| i + n);
        out.extend_from_slice(&line[i..next]);
        i = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peel(line: &str) -> (String, u8, Option<String>) {
        let u = unwrap(line.as_bytes());
        (
            line[u.inner_start..].to_string(),
            u.wrappers,
            u.origin.map(|(a, b)| line[a..b].to_string()),
        )
    }

    const RW: &str = "2024-02-11T06:20:29.30117Z ERROR risingwave_meta::rpc::election::etcd: lease 1 keep alive timeout";

    #[test]
    fn a_plain_line_has_no_wrapper() {
        assert_eq!(peel(RW), (RW.to_string(), 0, None));
    }

    #[test]
    fn stacked_kubectl_prefix_and_timestamps() {
        let line = format!("[pod/rw-meta-0/meta] 2024-02-11T06:20:29.301433512Z {RW}");
        assert_eq!(
            peel(&line),
            (
                RW.to_string(),
                KUBECTL_PREFIX | KUBECTL_TIMESTAMP,
                Some("rw-meta-0".into())
            )
        );
    }

    #[test]
    fn cri_log_files_stack_with_the_rest() {
        let line = format!("2024-02-11T06:20:29.301433512Z stdout F {RW}");
        let u = unwrap(line.as_bytes());
        assert_eq!(&line[u.inner_start..], RW);
        assert_eq!(u.wrappers, CRI | KUBECTL_TIMESTAMP);
        assert_eq!(u.wrapper_time, Some((0, 30)));
        let bare = "2024-02-11T06:20:29.301433512Z stderr P lease 1 keep alive timeout";
        let u = unwrap(bare.as_bytes());
        assert_eq!(&bare[u.inner_start..], "lease 1 keep alive timeout");
        // `stdout` alone is the line's own text.
        let text = "2024-02-11T06:20:29.301433512Z stdout went away";
        assert_eq!(unwrap(text.as_bytes()).wrappers, KUBECTL_TIMESTAMP);
    }

    #[test]
    fn compose_and_journald() {
        assert_eq!(
            peel(&format!("meta-node-0  | {RW}")),
            (RW.to_string(), COMPOSE, Some("meta-node-0".into()))
        );
        let journal = format!("Feb 11 06:20:29 node-3 risingwave[1234]: {RW}");
        assert_eq!(
            peel(&journal),
            (RW.to_string(), JOURNALD, Some("node-3 risingwave".into()))
        );
        // capnslog's ` W | ` is not a compose prefix
        let capnslog =
            "2024-02-11 06:20:27.912345 W | wal: sync duration of 1.52s, expected less than 1s";
        assert_eq!(peel(capnslog).1, 0);
    }

    #[test]
    fn ansi_is_stripped_anywhere() {
        let mut out = Vec::new();
        strip_ansi(
            b"\x1b[2m2024-02-11T06:20:29Z\x1b[0m \x1b[31mERROR\x1b[0m x: y",
            &mut out,
        );
        assert_eq!(out, b"2024-02-11T06:20:29Z ERROR x: y");
        strip_ansi(b"dangling \x1b[", &mut out);
        assert_eq!(out, b"dangling ");
        // OSC: a terminal title ended by BEL or by ST, a hyperlink.
        strip_ansi(b"\x1b]0;rw-meta-0\x07x: y \x1b]0;t\x1b\\z", &mut out);
        assert_eq!(out, b"x: y z");
        strip_ansi(
            b"\x1b]8;;http://a\x07link\x1b]8;;\x07 \x1b]unended",
            &mut out,
        );
        assert_eq!(out, b"link ");
    }
}

//! Arguments → inputs: directories walked recursively in name order, a file
//! reached twice (named twice, or through a link) kept once, symbolic-link
//! loops reported, FIFOs and devices inside directories skipped and said.
use super::{InputError, InputSpec};
use crate::text::describe_io_error;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `expand`, leaving out the files of `skip` (device and inode) when found
/// in a directory: previous reports that this run will replace.
pub fn expand_skipping(
    paths: &[PathBuf],
    skip: &[(u64, u64)],
) -> (Vec<InputSpec>, Vec<InputError>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut walked = Walked {
        skip: skip.to_vec(),
        ..Walked::default()
    };
    if paths.is_empty() {
        specs.push(InputSpec::Stdin);
    }
    for path in paths {
        if path.as_os_str() == "-" {
            specs.push(InputSpec::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk_dir(path, &mut walked, &mut specs, &mut errors),
            // `/dev/zero` or `/dev/urandom` (or a link to one) would be read
            // forever; the terminal or file behind stdin (`/dev/stdin`) is
            // what the user means.
            Ok(meta) if is_char_device(&meta) && !is_stdin(&meta) => errors.push(InputError {
                name: path.display().to_string(),
                message: format!(
                    "is a character device, not a log file; not read (pipe it in if you mean it: \
                     `head -c 100M {} | rwdoctor`)",
                    path.display()
                ),
            }),
            Ok(_) => specs.push(InputSpec::File(path.clone())),
            Err(err) => errors.push(InputError {
                name: path.display().to_string(),
                message: describe_io_error(&err),
            }),
        }
    }
    specs.sort_by_cached_key(InputSpec::display_name);
    let mut seen = HashSet::new();
    specs.retain(|spec| seen.insert(identity(spec)));
    errors.sort_by(|a, b| a.name.cmp(&b.name));
    errors.dedup();
    (specs, errors)
}

#[cfg(unix)]
fn is_skipped(meta: &std::fs::Metadata, skip: &[(u64, u64)]) -> bool {
    use std::os::unix::fs::MetadataExt;
    skip.contains(&(meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn is_skipped(_: &std::fs::Metadata, _: &[(u64, u64)]) -> bool {
    false
}

#[cfg(unix)]
fn is_char_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device()
}

#[cfg(not(unix))]
fn is_char_device(_: &std::fs::Metadata) -> bool {
    false
}

/// Whether `meta` is the file behind this process's stdin.
#[cfg(unix)]
fn is_stdin(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    super::stdin_metadata().is_some_and(|s| (s.dev(), s.ino()) == (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn is_stdin(_: &std::fs::Metadata) -> bool {
    false
}

/// What makes two inputs the same: the file itself (device and inode), not
/// the name it was reached by.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Identity {
    Stdin,
    Inode(u64, u64),
    Path(PathBuf),
}

fn identity(spec: &InputSpec) -> Identity {
    match spec {
        InputSpec::Stdin => Identity::Stdin,
        InputSpec::Member(member) => Identity::Path(member.display_name().into()),
        InputSpec::File(path) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if let Ok(meta) = std::fs::metadata(path) {
                    return Identity::Inode(meta.dev(), meta.ino());
                }
            }
            Identity::Path(path.clone())
        }
    }
}

/// Directories met while expanding, by canonical path.
#[derive(Default)]
struct Walked {
    /// Those being walked, the current one last: a symbolic link back to one
    /// of them is a loop.
    ancestors: Vec<PathBuf>,
    /// Every directory walked: one reached again through another link holds
    /// nothing new (and walking it again could take exponential time).
    done: HashSet<PathBuf>,
    /// Files not to take from directories (previous reports).
    skip: Vec<(u64, u64)>,
}

fn walk_dir(
    dir: &Path,
    walked: &mut Walked,
    specs: &mut Vec<InputSpec>,
    errors: &mut Vec<InputError>,
) {
    let canonical = match std::fs::canonicalize(dir) {
        Ok(canonical) => canonical,
        Err(err) => {
            errors.push(InputError {
                name: dir.display().to_string(),
                message: describe_io_error(&err),
            });
            return;
        }
    };
    if walked.ancestors.contains(&canonical) {
        errors.push(InputError {
            name: dir.display().to_string(),
            message: "directory loop through a symbolic link; not followed again".to_string(),
        });
        return;
    }
    if !walked.done.insert(canonical.clone()) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(InputError {
                name: dir.display().to_string(),
                message: describe_io_error(&err),
            });
            return;
        }
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push(entry.path()),
            Err(err) => errors.push(InputError {
                name: dir.display().to_string(),
                message: format!("cannot list every entry: {}", describe_io_error(&err)),
            }),
        }
    }
    children.sort();
    walked.ancestors.push(canonical);
    for child in children {
        match std::fs::metadata(&child) {
            Ok(meta) if meta.is_dir() => walk_dir(&child, walked, specs, errors),
            Ok(meta) if meta.is_file() && is_skipped(&meta, &walked.skip) => {}
            Ok(meta) if meta.is_file() => specs.push(InputSpec::File(child)),
            // FIFOs, sockets and devices inside a directory are not logs;
            // named explicitly on the command line they are read.
            Ok(_) => errors.push(InputError {
                name: child.display().to_string(),
                message: "not a regular file; skipped (name it explicitly to read it)".to_string(),
            }),
            Err(err) => errors.push(InputError {
                name: child.display().to_string(),
                message: describe_io_error(&err),
            }),
        }
    }
    walked.ancestors.pop();
}

//! Analysis → text. Each format is one module; none does any analysis.
pub mod human;
pub mod json;

use std::io::Write;

/// Writes the report; a closed pipe (`rwdoctor big.log | head`) ends quietly.
pub fn write_stdout(text: &str) {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if let Err(err) = lock.write_all(text.as_bytes()).and_then(|_| lock.flush()) {
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("rwdoctor: writing the report: {err}");
        }
    }
}

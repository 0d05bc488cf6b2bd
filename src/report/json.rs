//! `--format json`: exactly one document, `{"findings": [...], "summary": {...}}`.
use crate::analysis::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut text = serde_json::to_string_pretty(analysis).unwrap_or_else(|err| {
        // Serialising plain data cannot fail; keep the one-document promise anyway.
        format!("{{\"findings\": [], \"summary\": {{\"errors\": [\"{err}\"]}}}}")
    });
    text.push('\n');
    text
}

//! `--format jsonl`: one JSON object per line, `{"type": "finding", ...}` for
//! each finding (the fields of a JSON report's finding), then one
//! `{"type": "summary", ...}`. Under `--follow` each incident is written as
//! a finding as soon as it is certain, with its `incident` number.
use crate::analysis::Analysis;
use crate::diagnosis::Finding;
use serde::Serialize;

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// 1-based number of the incident for its rule (`--follow` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    incident: Option<u64>,
    #[serde(flatten)]
    fields: &'a T,
}

fn line<T: Serialize>(kind: &'static str, incident: Option<u64>, fields: &T) -> String {
    let mut text = serde_json::to_string(&Tagged {
        kind,
        incident,
        fields,
    })
    .unwrap_or_else(|err| {
        // Serialising plain data cannot fail; keep one object per line anyway.
        format!("{{\"type\":\"error\",\"message\":{:?}}}", err.to_string())
    });
    text.push('\n');
    text
}

pub fn render(analysis: &Analysis) -> String {
    let mut out: String = analysis
        .findings
        .iter()
        .map(|finding| render_finding(finding, None))
        .collect();
    out.push_str(&render_summary(analysis));
    out
}

pub fn render_finding(finding: &Finding, incident: Option<u64>) -> String {
    line("finding", incident, finding)
}

pub fn render_summary(analysis: &Analysis) -> String {
    line("summary", None, &analysis.summary)
}

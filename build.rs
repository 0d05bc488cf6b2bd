//! Embeds every `rules/*.json` file into the binary so that an installed
//! `rwdoctor` needs no checkout: adding a rule is adding a file, no code change.
//!
//! It also writes the literals every match of each built-in signal regex must
//! contain (`literals::required_literals`, the same source file compiled
//! here): parsing the pack's ~140 regexes for them was 12.6 million
//! instructions of each start (a third of the main thread's work on the
//! 64-line sample). The matcher looks a built-in pattern up in that table and
//! parses only the patterns it does not hold (user rules, facts).
#[allow(dead_code)]
#[path = "src/literals.rs"]
mod literals;

/// The facts' regexes (`src/facts/patterns.rs`, shared with `facts.rs`).
macro_rules! fact_patterns {
    ($($kind:ident => $pattern:expr,)*) => {
        const FACT_PATTERNS: &[&str] = &[$($pattern),*];
    };
}
include!("src/facts/patterns.rs");

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let rules_dir = Path::new(&manifest_dir).join("rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let mut files: Vec<_> = fs::read_dir(&rules_dir)
        .expect("rules/ directory exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();

    let mut code = String::from("/// (file name, contents) of every built-in rule file.\n");
    code.push_str("pub static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        code.push_str(&format!(
            "    (\"rules/{}\", include_str!({:?})),\n",
            name,
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out_dir = env::var("OUT_DIR").unwrap();
    let out = Path::new(&out_dir).join("builtin_rules.rs");
    fs::write(out, code).expect("write builtin_rules.rs");

    let mut patterns = std::collections::BTreeSet::new();
    for path in &files {
        let text = fs::read_to_string(path).expect("read rule file");
        // A broken rule file is reported by the binary (and its tests),
        // not here.
        let Ok(rule) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(signals) = rule.get("signals").and_then(|s| s.as_object()) {
            for signal in signals.values() {
                if let Some(regex) = signal.get("regex").and_then(|r| r.as_str()) {
                    patterns.insert(regex.to_string());
                }
            }
        }
    }
    println!("cargo:rerun-if-changed=src/facts/patterns.rs");
    println!("cargo:rerun-if-changed=src/literals.rs");
    patterns.extend(FACT_PATTERNS.iter().map(|p| p.to_string()));
    let mut table = String::from(
        "/// (pattern, its required literals) of every built-in signal regex, sorted by\n\
         /// pattern (`literals::required_literals`, computed by build.rs).\n",
    );
    table.push_str("pub static BUILTIN_REQUIRED_LITERALS: &[(&str, Option<&[&[u8]]>)] = &[\n");
    for pattern in &patterns {
        let literals = match literals::required_literals(pattern) {
            Some(set) => format!(
                "Some(&[{}])",
                set.iter()
                    .map(|l| format!("b{:?}", Bytes(l)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "None".to_string(),
        };
        table.push_str(&format!("    ({pattern:?}, {literals}),\n"));
    }
    table.push_str("];\n");
    table.push_str(
        "/// (pattern, its branches as (text, `literals::Edge` bits)) of every\n\
         /// built-in signal regex that is only literals\n\
         /// (`literals::literal_alternation`), sorted by pattern: confirmed\n\
         /// without compiling a regex.\n",
    );
    table.push_str("pub static BUILTIN_LITERAL_FORMS: &[(&str, &[(&str, u8)])] = &[\n");
    for pattern in &patterns {
        if let Some(form) = literals::literal_alternation(pattern) {
            let branches: Vec<String> = form
                .alternatives
                .iter()
                .map(|b| format!("({:?}, {})", b.text, b.edges))
                .collect();
            table.push_str(&format!("    ({pattern:?}, &[{}]),\n", branches.join(", ")));
        }
    }
    table.push_str("];\n");
    table.push_str(&anchor_plan(&patterns));
    let out = Path::new(&out_dir).join("builtin_literals.rs");
    fs::write(out, table).expect("write builtin_literals.rs");
}

/// `BUILTIN_ANCHORS`: the prefilter's anchors for every literal the
/// built-in signal regexes and the facts require (`literals::AnchorPlan`).
fn anchor_plan(patterns: &std::collections::BTreeSet<String>) -> String {
    let mut all = std::collections::BTreeSet::new();
    for pattern in patterns {
        if let Some(set) = literals::required_literals(pattern) {
            all.extend(set);
        }
    }
    let sorted: Vec<Vec<u8>> = all.into_iter().collect();
    let users = vec![Vec::new(); sorted.len()];
    let (merged, _) = literals::merge_anchors(sorted.clone(), users);
    let search = literals::search_anchors(&merged);
    let bytes = |list: &[Vec<u8>]| {
        list.iter()
            .map(|l| format!("b{:?}", Bytes(l)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut code = String::from(
        "/// The built-in pack's prefilter anchors, worked out by build.rs\n\
         /// (`literals::AnchorPlan`).\n\
         pub static BUILTIN_ANCHORS: crate::literals::AnchorPlan = crate::literals::AnchorPlan {\n",
    );
    code.push_str(&format!("    literals: &[{}],\n", bytes(&sorted)));
    code.push_str(&format!("    search: &[{}],\n}};\n", bytes(&search)));
    code
}

/// Bytes written as a Rust byte string's contents (`b"..."`).
struct Bytes<'a>(&'a [u8]);

impl std::fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            write!(f, "{}", std::ascii::escape_default(b))?;
        }
        f.write_str("\"")
    }
}

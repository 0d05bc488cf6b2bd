//! The module map stays true: the top-level modules of `src/` form layers,
//! and a module uses only modules of lower layers (so no two modules import
//! each other, directly or through others). A new `use` that points up the
//! pipeline fails here, naming both modules and the file. Unit-test modules
//! (`#[cfg(test)]` to the end of a file) may use anything.
//!
//! The layers are the pipeline of `docs/architecture.md`, bottom first.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[&[&str]] = &[
    &["model", "text", "lines", "literals", "activity"],
    &["input", "record", "rules", "messages", "prefilter"],
    &["facts", "progress", "templates"],
    &["matcher"],
    &["scan"],
    &["context", "correlate", "spill"],
    &["diagnosis", "discovery", "workers", "ruletest"],
    &["analysis"],
    &["pipeline", "report"],
    &["cli", "fuzzing"],
    &["follow", "subcommands"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate modules a file's non-test code names: `crate::x` and each
/// top-level name of `crate::{x, y::z}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or(code);
    let code: String = code
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: those at brace depth 0.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_name_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !name.is_empty() {
                            found.insert(std::mem::take(&mut name));
                        }
                        at_name_start = true;
                    }
                    c if depth == 0 && at_name_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ => {
                        if !name.is_empty() {
                            found.insert(std::mem::take(&mut name));
                            at_name_start = false;
                        }
                    }
                }
            }
            if !name.is_empty() {
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// module → (used module → first file that uses it).
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let first = relative.components().next().expect("a component");
        let module = first.as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let code = std::fs::read_to_string(&file).expect("source is UTF-8");
        let uses = graph.entry(module.clone()).or_default();
        for used in crate_modules(&code) {
            if used != module {
                uses.entry(used)
                    .or_insert_with(|| relative.display().to_string());
            }
        }
    }
    graph
}

#[test]
fn every_module_uses_only_lower_layers() {
    let graph = module_graph();
    let mut problems = Vec::new();
    for (module, uses) in &graph {
        let Some(layer) = layer_of(module) else {
            problems.push(format!(
                "src/{module} is in no layer: add it to LAYERS in tests/layers.rs \
                 (and to docs/architecture.md)"
            ));
            continue;
        };
        for (used, file) in uses {
            match layer_of(used) {
                Some(below) if below < layer => {}
                Some(_) => problems.push(format!(
                    "{module} uses {used} (src/{file}), which is not in a lower layer"
                )),
                None => problems.push(format!(
                    "{module} uses {used} (src/{file}), which is in no layer"
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_two_modules_import_each_other() {
    // Implied by the layers, but said in its own words: a cycle is named
    // whole, whatever the layer list says.
    let graph = module_graph();
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 on the path, 2 done
    let mut path: Vec<&str> = Vec::new();
    fn visit<'g>(
        module: &'g str,
        graph: &'g BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<&'g str, u8>,
        path: &mut Vec<&'g str>,
    ) -> Option<Vec<String>> {
        match state.get(module) {
            Some(2) => return None,
            Some(_) => {
                let start = path.iter().position(|m| *m == module).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
                cycle.push(module.to_string());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(module, 1);
        path.push(module);
        for used in graph.get(module).into_iter().flat_map(|uses| uses.keys()) {
            if let Some(cycle) = visit(used, graph, state, path) {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(module, 2);
        None
    }
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut state, &mut path) {
            panic!("modules import each other: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checker_reads_paths_and_groups() {
    let code = "use crate::a::B;\nuse crate::{c, d::{e, f}, g as h};\n// crate::comment\nlet x = crate::i::j();\n#[cfg(test)]\nuse crate::k;";
    let found: Vec<String> = crate_modules(code).into_iter().collect();
    assert_eq!(found, ["a", "c", "d", "g", "i"]);
}

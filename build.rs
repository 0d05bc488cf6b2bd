//! Embeds every `rules/*.json` file into the binary so that an installed
//! `rwdoctor` needs no checkout: adding a rule is adding a file, no code change.
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
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_rules.rs");
    fs::write(out, code).expect("write builtin_rules.rs");
}

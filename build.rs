//! Embeds every `rules/*.toml` into the binary: writes `$OUT_DIR/embedded_rules.rs` with
//! - `EMBEDDED_RULES`: (file name, contents) pairs built with `include_str!`, so adding a
//!   rules file needs no code;
//! - `EMBEDDED_KEYWORDS`: each file's keywords (lowercased), so a scan that needs only the
//!   rules whose keywords occur in a small input (`scan --staged`) parses only those files.
//!
//! A file that is not valid TOML gets `None` (always loaded), so loading it at run time
//! reports the error with its name (and the test suite fails).
use std::{env, fs, path::PathBuf};

fn keywords(text: &str) -> Option<Vec<String>> {
    let doc = text.parse::<toml::Table>().ok()?;
    let mut out: Vec<String> = doc
        .get("rule")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("keywords").and_then(|k| k.as_array()))
        .flatten()
        .filter_map(|k| k.as_str())
        .map(|k| k.to_ascii_lowercase())
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    let mut rules = String::from("pub(crate) static EMBEDDED_RULES: &[(&str, &str)] = &[\n");
    let mut index = String::from("pub(crate) static EMBEDDED_KEYWORDS: &[Option<&[&str]>] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        rules.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
        let text = fs::read_to_string(f).unwrap_or_default();
        match keywords(&text) {
            Some(k) => index.push_str(&format!("    Some(&{k:?}),\n")),
            None => index.push_str("    None,\n"),
        }
    }
    rules.push_str("];\n");
    index.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap_or_default()).join("embedded_rules.rs");
    if let Err(e) = fs::write(&dest, rules + &index) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

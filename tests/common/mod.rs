//! Shared helpers for integration tests: run the real binary, build temp trees and repos.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Synthetic GitHub classic PATs with valid CRC32 checksums (tools/synth_token.py); never
/// issued by GitHub.
pub const GHP_A: &str = "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";
pub const GHP_B: &str = "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";
pub const GHS_A: &str = "ghs_ILODNEzyY7dJ5yvHedm5cIcRidWR062sHRe0";
pub const GHO_A: &str = "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";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_blastradius"))
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("BLASTRADIUS_FINGERPRINT_KEY")
        .env("NO_COLOR", "1")
        .output()
        .expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Writes `files` (relative path, contents) under `root`, creating directories.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, body) in files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, body).unwrap();
    }
}

/// Runs `scan --format json` and parses the document.
pub fn scan_json(dir: &Path, extra: &[&str]) -> (serde_json::Value, Output) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(dir, &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "json parse: {e}\nstdout: {}\nstderr: {}",
            stdout(&o),
            stderr(&o)
        )
    });
    (v, o)
}

/// All (path, rule) pairs in a json report.
pub fn paths(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in v["groups"].as_array().into_iter().flatten() {
        for l in g["locations"].as_array().into_iter().flatten() {
            out.push((
                l["path"].as_str().unwrap_or_default().to_string(),
                g["rule"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out.sort();
    out
}

/// Runs git with a fixed identity and dates, failing the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, "2024-01-01T00:00:00Z")
}

pub fn git_at(dir: &Path, args: &[&str], date: &str) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.invalid")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.invalid")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub fn git_init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

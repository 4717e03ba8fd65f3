//! blastradius: find leaked integration tokens and rank them by blast radius.
//!
//! The pipeline follows the data:
//! inputs ([`input`]) enumerate buffers → the [`matcher`] finds candidate secrets with one
//! keyword automaton and windowed regexes → [`scan`] turns matches into [`model::Finding`]s
//! with locations → [`report::build`] groups them by value, runs offline [`introspect`]ion
//! and the [`blast`] model, and ranks them → [`report`] writers print human, JSON, JSONL or
//! SARIF. `src/main.rs` only parses arguments and prints. See `docs/ARCHITECTURE.md`.

pub mod blast;
pub mod input;
pub mod introspect;
pub mod matcher;
pub mod model;
pub mod report;
pub mod rules;
pub mod scan;

use input::fs::Root;
use matcher::Engine;
use report::{Report, ReportOptions, Suppressed};
use rules::RuleSet;
use scan::{Collector, Progress, ScanOptions, Scanner};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// A fatal error: the scan could not run at all (exit code 2). One line, with context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    /// Extra rules directory (`--rules`).
    pub rules_dir: Option<PathBuf>,
    pub scan: ScanOptions,
    pub report: ReportOptions,
}

/// Loads the embedded rules plus `--rules DIR`, compiling user rules eagerly so a broken
/// pattern is reported before scanning.
pub fn load_rules(dir: Option<&std::path::Path>) -> Result<RuleSet, Error> {
    let mut set = RuleSet::embedded().map_err(|e| Error(format!("embedded rules: {e}")))?;
    if let Some(d) = dir {
        set.add_dir(d).map_err(|e| Error(e.to_string()))?;
    }
    Ok(set)
}

/// Builds the engine for a rule set.
pub fn build_engine(set: &RuleSet, eager: bool) -> Result<Engine, Error> {
    let engine = Engine::new(set).map_err(Error)?;
    if eager {
        engine.compile_all().map_err(Error)?;
    }
    Ok(engine)
}

/// Scans directories and files (the default mode).
pub fn scan_paths(req: &Request, progress: Arc<Progress>) -> Result<Report, Error> {
    let started = Instant::now();
    for p in &req.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error(format!("{}: no such file or directory", p.display())));
        }
    }
    let set = load_rules(req.rules_dir.as_deref())?;
    let engine = Arc::new(build_engine(&set, req.rules_dir.is_some())?);
    let scanner = Scanner::new(engine.clone(), ScanOptions { reveal: req.report.reveal, ..req.scan.clone() });
    let roots: Vec<Root<'_>> = req
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| Root { path: p.as_path(), index: i, name: p.display().to_string() })
        .collect();
    let collector = Collector::new(progress);
    input::fs::scan_roots(&scanner, &roots, &collector);
    let (findings, warnings, mut stats) = collector.into_parts();
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report::build(&engine, findings, warnings, stats, Suppressed::default(), &req.report))
}

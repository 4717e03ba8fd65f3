//! blastradius: find leaked integration tokens and rank them by blast radius.
//!
//! The pipeline follows the data:
//! inputs ([`input`]) enumerate buffers → the [`matcher`] finds candidate secrets with one
//! keyword automaton and windowed regexes → [`scan`] turns matches into [`model::Finding`]s
//! with locations → [`report::build`] groups them by value, runs offline [`introspect`]ion
//! and the [`blast`] model, and ranks them → [`report`] writers print human, JSON, JSONL or
//! SARIF. `src/main.rs` only parses arguments and prints. See `docs/ARCHITECTURE.md`.

pub mod blast;
pub mod decode;
pub mod input;
pub mod introspect;
pub mod matcher;
pub mod model;
pub mod report;
pub mod rules;
pub mod scan;
pub mod suppress;

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

/// Which input feeds the engine.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Directories and files.
    #[default]
    Dir,
    /// Every blob in the history of each repository path.
    Git(input::git::GitOptions),
    /// The staged change of the repository containing the (single) path.
    Staged,
}

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    pub mode: Mode,
    /// Extra rules directory (`--rules`).
    pub rules_dir: Option<PathBuf>,
    /// `--config FILE` (`.blastradius.toml` format).
    pub config: Option<PathBuf>,
    /// `--baseline FILE`.
    pub baseline: Option<PathBuf>,
    pub scan: ScanOptions,
    pub report: ReportOptions,
}

/// Loads the embedded rules plus `--rules DIR`.
pub fn load_rules(dir: Option<&std::path::Path>) -> Result<RuleSet, Error> {
    let mut set = RuleSet::embedded().map_err(|e| Error(format!("embedded rules: {e}")))?;
    if let Some(d) = dir {
        set.add_dir(d).map_err(|e| Error(e.to_string()))?;
    }
    Ok(set)
}

/// Like [`load_rules`], but only the embedded rule files whose keywords occur in one of
/// `texts` (see [`rules::RuleSet::embedded_for`]); `--rules DIR` files are all loaded.
pub fn load_rules_for(texts: &[Vec<u8>], dir: Option<&std::path::Path>) -> Result<RuleSet, Error> {
    let refs: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
    let mut set =
        RuleSet::embedded_for(&refs).map_err(|e| Error(format!("embedded rules: {e}")))?;
    if let Some(d) = dir {
        set.add_dir(d).map_err(|e| Error(e.to_string()))?;
    }
    Ok(set)
}

/// Builds the engine for a rule set; `eager` compiles every regex now (user rules), so a
/// broken pattern is reported before scanning.
pub fn build_engine(set: &RuleSet, eager: bool) -> Result<Engine, Error> {
    let engine = Engine::new(set).map_err(Error)?;
    if eager {
        engine.compile_all().map_err(Error)?;
    }
    Ok(engine)
}

/// Runs every rule's examples through the real engine (keywords, windows, filters,
/// validators): each positive example must yield a finding of that rule and each negative
/// example none of it; every rule needs two of each and a reference. Returns one line per
/// failure, naming the rule (`blastradius rules --check`, and the test suite).
pub fn check_rules(set: &RuleSet, engine: &Engine) -> Vec<String> {
    let mut scratch = matcher::Scratch::default();
    let mut failures = Vec::new();
    for (ri, rule) in set.rules().iter().enumerate() {
        if rule.examples.len() < 2 {
            failures.push(format!("{}: needs at least 2 positive examples", rule.id));
        }
        if rule.negative_examples.len() < 2 {
            failures.push(format!("{}: needs at least 2 negative examples", rule.id));
        }
        if rule.references.is_empty() {
            failures.push(format!("{}: needs at least one reference", rule.id));
        }
        for ex in &rule.examples {
            let found = engine.scan(ex.as_bytes(), &mut scratch);
            if !found.iter().any(|m| m.rule == ri) {
                let others: Vec<&str> = found
                    .iter()
                    .map(|m| set.rules()[m.rule].id.as_str())
                    .collect();
                failures.push(format!(
                    "{}: positive example not found (found instead: {others:?}): {ex}",
                    rule.id
                ));
            }
        }
        for ex in &rule.negative_examples {
            let found = engine.scan(ex.as_bytes(), &mut scratch);
            if let Some(m) = found.iter().find(|m| m.rule == ri) {
                let secret = String::from_utf8_lossy(&ex.as_bytes()[m.secret.clone()]);
                failures.push(format!(
                    "{}: negative example matched '{secret}': {ex}",
                    rule.id
                ));
            }
        }
    }
    failures
}

/// Runs a scan and builds its report.
pub fn run(req: &Request, progress: Arc<Progress>) -> Result<Report, Error> {
    let started = Instant::now();
    for p in &req.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error(format!("{}: no such file or directory", p.display())));
        }
    }
    let start = req
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));

    let collector = Collector::new(progress);
    // The staged change is read first: a pre-commit scan then loads only the rules whose
    // keywords occur in it (the engine for all rules costs more than the scan).
    let staged = match req.mode {
        Mode::Staged => Some(input::git::read_staged(
            &start,
            req.scan.max_file_size,
            &collector,
        )?),
        _ => None,
    };
    // Suppression files: named on the command line, or the repository's own in --staged mode.
    let staged_root = staged.as_ref().map(|s| s.workdir.clone());
    let own = |name: &str| {
        staged_root
            .as_ref()
            .map(|r| r.join(name))
            .filter(|p| p.is_file())
    };
    let config = match req.config.clone().or_else(|| own(".blastradius.toml")) {
        Some(p) => Some(suppress::Config::load(&p)?),
        None => None,
    };
    let baseline = match req
        .baseline
        .clone()
        .or_else(|| own(".blastradius-baseline.json"))
    {
        Some(p) => Some(suppress::Baseline::load(&p)?),
        None => None,
    };
    let suppressor = suppress::Suppressor::new(
        config.as_ref(),
        baseline.as_ref(),
        req.report.fingerprint_key.as_deref(),
    )?;

    let texts = staged.as_ref().and_then(|s| {
        let blobs: Vec<&[u8]> = s.files.iter().map(|f| f.content.as_slice()).collect();
        scan::rule_selection_texts(&blobs, &req.scan)
    });
    let mut set = match &texts {
        Some(t) => load_rules_for(t, req.rules_dir.as_deref())?,
        None => load_rules(req.rules_dir.as_deref())?,
    };
    if let Some(c) = &config {
        c.apply_rules(&mut set);
    }
    let engine = Arc::new(build_engine(&set, req.rules_dir.is_some())?);
    let scanner = Scanner::new(
        engine.clone(),
        ScanOptions {
            reveal: req.report.reveal,
            ..req.scan.clone()
        },
    );
    let roots: Vec<Root<'_>> = req
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| Root {
            path: p.as_path(),
            index: i,
            name: p.display().to_string(),
        })
        .collect();
    match &req.mode {
        Mode::Dir => input::fs::scan_roots(&scanner, &roots, &collector),
        Mode::Git(g) => {
            for root in &roots {
                input::git::scan_history(&scanner, root, g, &collector)?;
            }
        }
        Mode::Staged => {
            if let Some(st) = &staged {
                input::git::scan_staged(&scanner, st, &collector);
            }
        }
    }
    scanner.drain_into(&collector);
    let (findings, warnings, mut stats) = collector.into_parts();
    let mut suppressed = Suppressed::default();
    let findings = suppressor.apply(findings, &mut suppressed);
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report::build(
        &engine,
        findings,
        warnings,
        stats,
        suppressed,
        &req.report,
    ))
}

//! The `blastradius` command: parses arguments, calls the library, prints, sets the exit code.
//!
//! Exit codes: 0 no findings at or above `--fail-on`; 1 findings; 2 usage or fatal error;
//! 3 scan incomplete (some input unreadable) and no findings.

use blastradius::blast::Level;
use blastradius::input::git::GitOptions;
use blastradius::report::{self, Report, ReportOptions};
use blastradius::scan::{Progress, ScanOptions};
use blastradius::suppress::Baseline;
use blastradius::{Error, Mode, Request};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "blastradius",
    version,
    about = "Find leaked secrets and rank them by blast radius: which leak to revoke first, and why."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan directories and files, git history (--git) or the staged change (--staged).
    Scan(ScanArgs),
    /// Write a baseline of the current findings (by secret fingerprint) for --baseline.
    Baseline(ScanArgs),
    /// List the rules (embedded plus --rules DIR).
    Rules {
        /// Directory of extra rule files (*.toml); same ids override embedded rules.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Run every rule's positive and negative examples through the engine; exit 1 on
        /// any failure (use it when writing rules with --rules DIR).
        #[arg(long, conflicts_with = "json")]
        check: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Jsonl,
    Sarif,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files or directories to scan (default: the current directory); repositories with --git.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Scan every blob in the history of each repository PATH (each distinct blob once).
    #[arg(long, conflicts_with = "staged")]
    git: bool,
    /// Only this branch or ref (repeatable; default: all local branches and tags). Needs --git.
    #[arg(long, value_name = "REF", requires = "git")]
    branch: Vec<String>,
    /// Only commits not reachable from COMMIT. Needs --git.
    #[arg(long, value_name = "COMMIT", requires = "git")]
    since_commit: Option<String>,
    /// Also scan remote-tracking refs. Needs --git.
    #[arg(long, requires = "git")]
    all_refs: bool,
    /// Scan the staged change (index blobs, added lines only): for pre-commit hooks.
    #[arg(long)]
    staged: bool,
    /// Suppress secrets whose fingerprints are in this baseline (from `blastradius baseline`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Read suppression and rule settings from this file (.blastradius.toml format).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 only for findings at or above this blast level.
    #[arg(long, value_name = "LEVEL", default_value = "low")]
    fail_on: Level,
    /// Print full secret values (off by default: reports carry a redacted form).
    #[arg(long)]
    reveal_secrets: bool,
    /// Key for HMAC-SHA-256 fingerprints (or env BLASTRADIUS_FINGERPRINT_KEY).
    #[arg(
        long,
        value_name = "KEY",
        env = "BLASTRADIUS_FINGERPRINT_KEY",
        hide_env_values = true
    )]
    fingerprint_key: Option<String>,
    /// Directory of extra rule files (*.toml); same ids override embedded rules.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Do not respect .gitignore / .ignore files.
    #[arg(long)]
    no_ignore: bool,
    /// Follow symbolic links.
    #[arg(long)]
    follow_symlinks: bool,
    /// Scan files that look binary.
    #[arg(long)]
    scan_binary: bool,
    /// Skip files larger than this (bytes; K, M, G suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "50M", value_parser = parse_size)]
    max_file_size: u64,
    /// Archive nesting levels opened (zip/jar/whl, tar, gz, bz2, xz, zst, images); 0: off.
    #[arg(long, value_name = "N", default_value_t = 3)]
    archive_depth: u32,
    /// Give up on an archive after this many uncompressed bytes (K, M, G suffixes allowed).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    max_archive_bytes: u64,
    /// Levels of encoded content (base64, hex, percent, escapes) decoded and re-scanned; 0: off.
    #[arg(long, value_name = "N", default_value_t = 2)]
    decode_depth: u32,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Never colour the human output.
    #[arg(long)]
    no_color: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| format!("'{s}' is not a size (e.g. 50M, 1G, 4096)"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Baseline(args) => write_baseline(args),
        Command::Rules {
            rules,
            json: _,
            check: true,
        } => check_rules(rules),
        Command::Rules { rules, json, .. } => list_rules(rules, json),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("blastradius: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn check_rules(dir: Option<PathBuf>) -> Result<u8, Error> {
    let set = blastradius::load_rules(dir.as_deref())?;
    let engine = blastradius::build_engine(&set, true)?;
    let failures = blastradius::check_rules(&set, &engine);
    let examples: usize = set
        .rules()
        .iter()
        .map(|r| r.examples.len() + r.negative_examples.len())
        .sum();
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| Error(format!("cannot write: {e}"));
    for f in &failures {
        writeln!(out, "{f}").map_err(io)?;
    }
    writeln!(
        out,
        "{} rules, {examples} examples: {}",
        set.len(),
        if failures.is_empty() {
            "all pass".to_string()
        } else {
            format!("{} failures", failures.len())
        }
    )
    .map_err(io)?;
    Ok(u8::from(!failures.is_empty()))
}

fn list_rules(dir: Option<PathBuf>, json: bool) -> Result<u8, Error> {
    let set = blastradius::load_rules(dir.as_deref())?;
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| Error(format!("cannot write: {e}"));
    if json {
        serde_json::to_writer_pretty(&mut out, set.rules()).map_err(|e| Error(e.to_string()))?;
        writeln!(out).map_err(io)?;
    } else {
        for r in set.rules() {
            writeln!(out, "{:<40} {:<14} {}", r.id, r.provider, r.name).map_err(io)?;
        }
        writeln!(
            out,
            "{} rules from {} providers",
            set.len(),
            set.providers().len()
        )
        .map_err(io)?;
    }
    Ok(0)
}

fn request(args: &ScanArgs) -> Request {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut scan = ScanOptions {
        max_file_size: args.max_file_size,
        scan_binary: args.scan_binary,
        no_ignore: args.no_ignore,
        follow_symlinks: args.follow_symlinks,
        archive_depth: args.archive_depth,
        max_archive_bytes: args.max_archive_bytes,
        decode_depth: args.decode_depth,
        ..ScanOptions::default()
    };
    if let Some(t) = args.threads {
        scan.threads = t.max(1);
    }
    let mode = if args.staged {
        Mode::Staged
    } else if args.git {
        Mode::Git(GitOptions {
            branches: args.branch.clone(),
            since_commit: args.since_commit.clone(),
            all_refs: args.all_refs,
        })
    } else {
        Mode::Dir
    };
    Request {
        paths,
        mode,
        rules_dir: args.rules.clone(),
        config: args.config.clone(),
        baseline: args.baseline.clone(),
        scan,
        report: ReportOptions {
            reveal: args.reveal_secrets,
            fingerprint_key: args
                .fingerprint_key
                .as_ref()
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().to_vec()),
            now: None,
        },
    }
}

fn scan_with_progress(args: &ScanArgs) -> Result<Report, Error> {
    let req = request(args);
    if let Some(t) = args.threads {
        // A global pool sized to --threads for every rayon-parallel input.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build_global();
    }
    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let ticker = spawn_progress(progress.clone(), done.clone());
    let result = blastradius::run(&req, progress);
    done.store(true, Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    result
}

fn write_baseline(args: ScanArgs) -> Result<u8, Error> {
    let report = scan_with_progress(&args)?;
    let baseline = Baseline::from_report(&report);
    let text = serde_json::to_string_pretty(&baseline).map_err(|e| Error(e.to_string()))? + "\n";
    match &args.output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Error(format!("{}: cannot write: {e}", p.display())))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| Error(format!("cannot write: {e}")))?,
    }
    eprintln!(
        "blastradius: baseline of {} secrets",
        baseline.secrets.len()
    );
    Ok(0)
}

fn run_scan(args: ScanArgs) -> Result<u8, Error> {
    let report = scan_with_progress(&args)?;
    emit(&report, &args)?;
    for w in report.warnings.iter().take(20) {
        eprintln!("blastradius: warning: {w}");
    }
    if report.warnings.len() > 20 {
        eprintln!(
            "blastradius: warning: … and {} more (see the json report)",
            report.warnings.len() - 20
        );
    }
    let code = exit_code(&report, args.fail_on);
    if args.staged && code == 1 {
        eprintln!(
            "blastradius: commit blocked: {} secret(s) in the staged change (listed above).\n\
             If one is not a secret: add a `blastradius:allow` comment on its line, or add its\n\
             fingerprint to .blastradius.toml [allow] fingerprints, or record all current ones with\n\
             `blastradius baseline --git . > .blastradius-baseline.json`. Revoke real ones first.",
            report.count_at_least(args.fail_on)
        );
    }
    Ok(code)
}

fn exit_code(report: &Report, fail_on: Level) -> u8 {
    if report.count_at_least(fail_on) > 0 {
        1
    } else if !report.warnings.is_empty() {
        3
    } else {
        0
    }
}

fn emit(report: &Report, args: &ScanArgs) -> Result<(), Error> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let mut sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| Error(format!("{}: cannot create: {e}", p.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let res = match args.format {
        Format::Human => {
            let color = to_terminal && !args.no_color && std::env::var_os("NO_COLOR").is_none();
            report::human::write(report, &report::human::Style { color }, &mut sink)
        }
        Format::Json => report::json::write_json(report, &mut sink),
        Format::Jsonl => report::json::write_jsonl(report, &mut sink),
        Format::Sarif => report::sarif::write(report, &mut sink),
    };
    res.and_then(|_| sink.flush()).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Error("output closed early".into()),
        _ => Error(format!("cannot write report: {e}")),
    })
}

/// A progress line on stderr when it is a terminal and the scan takes over a second.
fn spawn_progress(p: Arc<Progress>, done: Arc<AtomicBool>) -> Option<std::thread::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let mut shown = false;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if start.elapsed() < Duration::from_secs(1) {
                continue;
            }
            let files = p.files.load(Ordering::Relaxed);
            let mb = p.bytes.load(Ordering::Relaxed) as f64 / 1e6;
            eprint!("\rscanning… {files} files, {mb:.0} MB");
            shown = true;
        }
        if shown {
            eprint!("\r\x1b[K");
        }
    }))
}

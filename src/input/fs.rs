//! Directory input: a parallel walk with the `ignore` crate (as ripgrep does).
//!
//! Respects .gitignore/.ignore unless `--no-ignore`, scans dotfiles (.env, .npmrc,
//! .aws/credentials are exactly where secrets live), never descends into `.git/`, does not
//! follow symlinks unless asked, and never aborts: an unreadable file or directory becomes a
//! warning. Files above a threshold are memory-mapped, smaller ones read into a reused buffer.

use crate::matcher::Scratch;
use crate::model::Stats;
use crate::scan::{BlobMeta, Collector, Scanner, progress_add};
use ignore::{WalkBuilder, WalkState};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Files at least this large are memory-mapped instead of read. Above the default
/// `--max-file-size` (50M) on purpose: a mapped file truncated by another process during
/// the scan kills the scanner with SIGBUS, so a default scan never maps; reading costs at
/// most one file per thread in memory and about the same time (docs/HOSTILE.md).
const MMAP_THRESHOLD: u64 = 64 * 1024 * 1024;

/// A read buffer larger than this is not kept for the next (small) file.
const KEEP_BUFFER: usize = 8 * 1024 * 1024;

/// A scan root: a directory or a single file.
pub struct Root<'a> {
    pub path: &'a Path,
    pub index: usize,
    pub name: String,
}

/// Walks every root in parallel, delivering findings, warnings and stats to `out`.
pub fn scan_roots(scanner: &Scanner, roots: &[Root<'_>], out: &Collector) {
    for root in roots {
        if root.path.is_file() {
            let name = root.path.display().to_string();
            let mut local = ThreadState::new(out);
            scan_file(scanner, root.path, &name, root, &mut local);
            continue;
        }
        // A FIFO, socket or device named on the command line: the walk would skip it
        // silently, but the user asked for it, so say it was not scanned.
        if std::fs::metadata(root.path).is_ok_and(|m| !m.is_dir()) {
            out.warn(&root.name, "not a regular file; skipped");
            continue;
        }
        walk(scanner, root, out);
    }
}

fn walk(scanner: &Scanner, root: &Root<'_>, out: &Collector) {
    let respect = !scanner.opts.no_ignore;
    // OCI image layouts are scanned through their index (layers, whiteouts, config), not
    // blob by blob.
    let images = scanner.opts.archive_depth > 0;
    let mut builder = WalkBuilder::new(root.path);
    builder
        .hidden(false)
        .ignore(respect)
        .git_ignore(respect)
        .git_global(respect)
        .git_exclude(respect)
        .parents(respect)
        .require_git(false)
        .follow_links(scanner.opts.follow_symlinks)
        .threads(scanner.opts.threads)
        .filter_entry(move |e| {
            e.file_name() != ".git" && !(images && crate::input::image::is_oci_blobs_dir(e.path()))
        });
    builder.build_parallel().run(|| {
        let mut local = ThreadState::new(out);
        Box::new(move |entry| {
            match entry {
                Ok(e) => {
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file {
                        let rel = e.path().strip_prefix(root.path).unwrap_or(e.path());
                        let display = display_path(rel);
                        if images
                            && e.file_name() == "oci-layout"
                            && let Some(dir) = e.path().parent()
                        {
                            let rel = dir.strip_prefix(root.path).unwrap_or(dir);
                            let shown = match display_path(rel) {
                                d if d.is_empty() => root.name.clone(),
                                d => d,
                            };
                            crate::input::image::scan_oci_dir(
                                scanner, dir, &shown, root.index, &root.name, local.out,
                            );
                        }
                        scan_file(scanner, e.path(), &display, root, &mut local);
                    }
                }
                Err(err) => {
                    let msg = match err.io_error() {
                        Some(e) => format!("cannot read: {}", io_reason(e)),
                        None => one_line(&err.to_string()),
                    };
                    local.out.warn(error_path(&err, root.path), msg)
                }
            }
            WalkState::Continue
        })
    });
}

/// Per-thread state; its stats reach the collector when the walker drops it.
struct ThreadState<'a> {
    scratch: Scratch,
    /// The read buffer, reused from file to file: a fresh allocation per file cost page
    /// faults (`clear_page_erms`, 3.5% of a rails tree scan).
    buf: Vec<u8>,
    stats: Stats,
    out: &'a Collector,
}

impl<'a> ThreadState<'a> {
    fn new(out: &'a Collector) -> ThreadState<'a> {
        ThreadState {
            scratch: Scratch::default(),
            buf: Vec::new(),
            stats: Stats::default(),
            out,
        }
    }
}

impl Drop for ThreadState<'_> {
    fn drop(&mut self) {
        self.out.stats(&self.stats);
    }
}

fn display_path(rel: &Path) -> String {
    let s = rel.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).replace('\\', "/")
}

fn error_path(err: &ignore::Error, root: &Path) -> String {
    fn find(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            ignore::Error::Loop { child, .. } => Some(child),
            _ => None,
        }
    }
    let path = find(err).unwrap_or(root);
    match display_path(path.strip_prefix(root).unwrap_or(path)) {
        d if d.is_empty() => root.display().to_string(),
        d => d,
    }
}

/// Strips the path prefix the walker puts into its messages, keeping one clean line.
fn one_line(msg: &str) -> String {
    let m = msg.rsplit(": ").next().unwrap_or(msg);
    m.lines().next().unwrap_or(m).to_string()
}

fn scan_file(
    scanner: &Scanner,
    path: &Path,
    display: &str,
    root: &Root<'_>,
    local: &mut ThreadState<'_>,
) {
    let ThreadState {
        scratch,
        buf,
        stats,
        out,
    } = local;
    let out: &Collector = out;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return out.warn(display, format!("cannot open: {}", io_reason(&e))),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return out.warn(display, format!("cannot stat: {}", io_reason(&e))),
    };
    if !meta.is_file() {
        // FIFOs, sockets, devices: reading could block forever or never end.
        return out.warn(display, "not a regular file; skipped");
    }
    let len = meta.len();
    // Archives (wheels, jars, image tarballs) are bounded by --max-archive-bytes instead.
    let archive = len > scanner.opts.max_file_size
        && scanner.opts.archive_depth > 0
        && crate::input::archive::file_is_archive(&file);
    let cap = if archive {
        len
    } else {
        scanner.opts.max_file_size
    };
    if len > cap {
        stats.skipped_too_large += 1;
        if stats.skipped_too_large_paths.len() < 100 {
            stats.skipped_too_large_paths.push(display.to_string());
        }
        return;
    }
    let blob = BlobMeta {
        path: display,
        root: root.index,
        root_name: &root.name,
        git: None,
        decoded: &[],
    };
    let result = if len >= MMAP_THRESHOLD {
        // SAFETY: the map is read-only and dropped before this function returns. If another
        // process truncates the file meanwhile, reads past the new end fault (SIGBUS); that
        // is the accepted trade-off of mmap, made only for files over MMAP_THRESHOLD, which
        // a default scan never reads (see MMAP_THRESHOLD).
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => {
                let r = scanner.scan_blob(&map, &blob, scratch);
                (r, map.len())
            }
            Err(e) => return out.warn(display, format!("cannot map: {}", io_reason(&e))),
        }
    } else {
        buf.clear();
        // Keep at most one large buffer per thread, not the largest file's forever.
        if buf.capacity() > KEEP_BUFFER && len < KEEP_BUFFER as u64 {
            *buf = Vec::new();
        }
        buf.reserve(len as usize + 1);
        if let Err(e) = (&file).take(cap + 1).read_to_end(buf) {
            return out.warn(display, format!("cannot read: {}", io_reason(&e)));
        }
        let n = buf.len();
        (scanner.scan_blob(buf, &blob, scratch), n)
    };
    match result {
        (Some(findings), n) => {
            stats.files_scanned += 1;
            stats.bytes_scanned += n as u64;
            progress_add(&out.progress, 1, n as u64);
            out.findings(findings);
        }
        (None, _) => stats.skipped_binary += 1,
    }
}

/// An io error's reason without the OS error number noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "no such file (deleted during the scan?)".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    }
}

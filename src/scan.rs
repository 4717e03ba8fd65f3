//! Turns bytes from any input into [`Finding`]s with locations.
//!
//! Every input (directory walk, git blobs, the index, archive members) hands buffers to
//! [`Scanner::scan_blob`]; only this function knows how matches become findings (line and
//! column in code points, a snippet with every secret on the line redacted). Inputs differ
//! only in how they enumerate buffers and name them.

use crate::matcher::{Engine, RawMatch, Scratch};
use crate::model::{Finding, GitOrigin, Location, Stats, Warning};
use crate::report::redact;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Options shared by every input.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files (and blobs) larger than this are skipped and listed in the stats.
    pub max_file_size: u64,
    pub scan_binary: bool,
    pub no_ignore: bool,
    pub follow_symlinks: bool,
    pub threads: usize,
    /// Show full secrets in snippets (the report layer decides for the value itself).
    pub reveal: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: 50 * 1024 * 1024,
            scan_binary: false,
            no_ignore: false,
            follow_symlinks: false,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            reveal: false,
        }
    }
}

/// Live counters, read by the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

/// Where inputs deliver findings, warnings and stats. Shared by all threads.
#[derive(Debug, Default)]
pub struct Collector {
    findings: Mutex<Vec<Finding>>,
    warnings: Mutex<Vec<Warning>>,
    stats: Mutex<Stats>,
    pub progress: Arc<Progress>,
}

impl Collector {
    pub fn new(progress: Arc<Progress>) -> Collector {
        Collector {
            progress,
            ..Default::default()
        }
    }

    pub fn findings(&self, mut f: Vec<Finding>) {
        if f.is_empty() {
            return;
        }
        if let Ok(mut v) = self.findings.lock() {
            v.append(&mut f);
        }
    }

    pub fn warn(&self, path: impl Into<String>, message: impl Into<String>) {
        if let Ok(mut v) = self.warnings.lock() {
            v.push(Warning {
                path: path.into(),
                message: message.into(),
            });
        }
    }

    pub fn stats(&self, s: &Stats) {
        if let Ok(mut st) = self.stats.lock() {
            st.merge(s);
        }
    }

    pub fn into_parts(self) -> (Vec<Finding>, Vec<Warning>, Stats) {
        let f = self.findings.into_inner().unwrap_or_default();
        let mut w = self.warnings.into_inner().unwrap_or_default();
        w.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
        let s = self.stats.into_inner().unwrap_or_default();
        (f, w, s)
    }
}

/// What a buffer is, for naming its findings.
#[derive(Debug, Clone)]
pub struct BlobMeta<'a> {
    pub path: &'a str,
    pub root: usize,
    pub root_name: &'a str,
    pub git: Option<&'a GitOrigin>,
    pub decoded: &'a [String],
}

/// The engine plus options: everything an input needs to scan a buffer.
pub struct Scanner {
    pub engine: Arc<Engine>,
    pub opts: ScanOptions,
}

/// How many bytes at the start of a buffer decide whether it is binary.
const BINARY_SNIFF: usize = 8192;
/// Longest snippet kept per location, in characters.
const SNIPPET_CHARS: usize = 200;
/// Longest match context kept for decoders.
const CONTEXT_CAP: usize = 16 * 1024;

/// True for content that is binary: a NUL byte near the start (as git and ripgrep decide),
/// unless the buffer is UTF-16 text with a byte-order mark.
pub fn is_binary(data: &[u8]) -> bool {
    if utf16_bom(data).is_some() {
        return false;
    }
    memchr::memchr(0, &data[..data.len().min(BINARY_SNIFF)]).is_some()
}

fn utf16_bom(data: &[u8]) -> Option<bool> {
    match data {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// Decodes UTF-16 text (with BOM) to UTF-8 so the engine sees ASCII keywords.
fn utf16_to_utf8(data: &[u8], little: bool) -> Vec<u8> {
    let units = data[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes()
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, opts: ScanOptions) -> Scanner {
        Scanner { engine, opts }
    }

    /// Scans one buffer. Returns `None` when it was skipped as binary (counted by caller).
    pub fn scan_blob(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
    ) -> Option<Vec<Finding>> {
        if let Some(little) = utf16_bom(data) {
            let text = utf16_to_utf8(data, little);
            return Some(self.scan_text(&text, meta, scratch));
        }
        if !self.opts.scan_binary && is_binary(data) {
            return None;
        }
        Some(self.scan_text(data, meta, scratch))
    }

    fn scan_text(&self, data: &[u8], meta: &BlobMeta<'_>, scratch: &mut Scratch) -> Vec<Finding> {
        let matches = self.engine.scan(data, scratch);
        if matches.is_empty() {
            return Vec::new();
        }
        self.to_findings(data, &matches, meta)
    }

    fn to_findings(&self, data: &[u8], matches: &[RawMatch], meta: &BlobMeta<'_>) -> Vec<Finding> {
        let mut out = Vec::with_capacity(matches.len());
        let mut pos = LinePos::default();
        for m in matches {
            let (line, column, line_start) = pos.advance(data, m.secret.start);
            let (end_line, end_column) = {
                let mut p2 = pos.clone();
                let (l, c, _) = p2.advance(data, m.secret.end);
                (l, c)
            };
            let snippet = self.snippet(data, line_start, matches);
            let line_end =
                memchr::memchr(b'\n', &data[line_start..]).map_or(data.len(), |i| line_start + i);
            let inline_allowed = memchr::memmem::find(
                &data[line_start..line_end],
                crate::suppress::INLINE_MARKER.as_bytes(),
            )
            .is_some();
            let ctx_start = m
                .whole
                .start
                .max(m.secret.start.saturating_sub(CONTEXT_CAP / 2));
            let ctx_end = m.whole.end.min(m.secret.end + CONTEXT_CAP / 2);
            out.push(Finding {
                rule: m.rule,
                secret: data[m.secret.clone()].to_vec(),
                context: data[ctx_start..ctx_end].to_vec(),
                validated: m.validated,
                inline_allowed,
                location: Location {
                    path: meta.path.to_string(),
                    line,
                    column,
                    end_line,
                    end_column,
                    snippet,
                    root: meta.root,
                    root_name: meta.root_name.to_string(),
                    git: meta.git.cloned(),
                    decoded: meta.decoded.to_vec(),
                },
            });
        }
        out
    }

    /// The line starting at `line_start`, every secret on it redacted, capped in length.
    fn snippet(&self, data: &[u8], line_start: usize, matches: &[RawMatch]) -> String {
        let line_end =
            memchr::memchr(b'\n', &data[line_start..]).map_or(data.len(), |i| line_start + i);
        let mut out = String::new();
        let mut at = line_start;
        for m in matches {
            if m.secret.end <= line_start || m.secret.start >= line_end {
                continue;
            }
            let s = m.secret.start.max(at);
            out.push_str(&String::from_utf8_lossy(&data[at..s]));
            if self.opts.reveal {
                out.push_str(&String::from_utf8_lossy(
                    &data[s..m.secret.end.min(line_end)],
                ));
            } else {
                out.push_str(&redact(&data[m.secret.clone()]));
            }
            at = m.secret.end.min(line_end).max(at);
        }
        if at < line_end {
            out.push_str(&String::from_utf8_lossy(&data[at..line_end]));
        }
        let trimmed = out.trim_end_matches('\r').trim();
        if trimmed.chars().count() > SNIPPET_CHARS {
            let cut: String = trimmed.chars().take(SNIPPET_CHARS).collect();
            format!("{cut}…")
        } else {
            trimmed.to_string()
        }
    }
}

/// Incremental line/column tracking over sorted offsets: each buffer is walked once.
#[derive(Debug, Default, Clone)]
struct LinePos {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl LinePos {
    /// Returns (1-based line, 1-based column in code points, byte offset of line start).
    fn advance(&mut self, data: &[u8], target: usize) -> (usize, usize, usize) {
        let target = target.min(data.len());
        if target < self.offset {
            *self = LinePos::default();
        }
        for nl in memchr::memchr_iter(b'\n', &data[self.offset..target]) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
        }
        self.offset = target;
        let col = data[self.line_start..target]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
        (self.line + 1, col + 1, self.line_start)
    }
}

/// Adds to the progress counters.
pub fn progress_add(p: &Progress, files: u64, bytes: u64) {
    p.files.fetch_add(files, Ordering::Relaxed);
    p.bytes.fetch_add(bytes, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_in_code_points() {
        let data = "a\nxé€ tok\n".as_bytes();
        let mut p = LinePos::default();
        let at = data.windows(3).position(|w| w == b"tok").unwrap();
        let (l, c, _) = p.advance(data, at);
        assert_eq!((l, c), (2, 5));
        assert_eq!(p.advance(data, 0).0, 1);
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"abc\0def"));
        assert!(!is_binary(b"plain text"));
        assert!(!is_binary(&[0xFF, 0xFE, b'a', 0]));
    }

    #[test]
    fn utf16_decodes() {
        let mut d = vec![0xFF, 0xFE];
        for u in "ghp_x".encode_utf16() {
            d.extend(u.to_le_bytes());
        }
        assert_eq!(utf16_to_utf8(&d, true), b"ghp_x");
    }
}

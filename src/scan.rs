//! Turns bytes from any input into [`Finding`]s with locations.
//!
//! Every input (directory walk, git blobs, the index, archive members) hands buffers to
//! [`Scanner::scan_blob`]; only this function knows how matches become findings (line and
//! column in code points, a snippet with every secret on the line redacted). Inputs differ
//! only in how they enumerate buffers and name them.

use crate::matcher::{Engine, RawMatch, Scratch};
use crate::model::{Finding, GitOrigin, Location, Stats, Warning};
use crate::report::redact;
use std::cell::{Cell, RefCell};
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
    /// Archive nesting levels opened (`--archive-depth`; 0: archives are not opened).
    pub archive_depth: u32,
    /// Uncompressed bytes read from one archive, all levels together (`--max-archive-bytes`).
    pub max_archive_bytes: u64,
    /// Levels of encoded content decoded and re-scanned (`--decode-depth`; 0: off).
    pub decode_depth: u32,
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
            archive_depth: 3,
            max_archive_bytes: 1 << 30,
            decode_depth: 2,
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
    /// Warnings and stats from inside buffers (archive members, decoding), which
    /// `scan_blob`'s signature cannot return; [`Scanner::drain_into`] hands them over.
    side: Mutex<(Vec<Warning>, Stats)>,
}

/// Per-buffer state while one `scan_blob` call walks into archives and encoded spans:
/// the archive budgets (shared by every nesting level) and what to report besides findings.
/// Single-threaded, hence cells.
pub(crate) struct Cx {
    pub bytes_left: Cell<u64>,
    pub entries_left: Cell<u64>,
    /// An archive bound was hit: stop reading the current top-level archive.
    pub stopped: Cell<bool>,
    /// Decoded bytes still allowed for the current file.
    pub decode_left: Cell<u64>,
    pub warnings: RefCell<Vec<Warning>>,
    pub stats: RefCell<Stats>,
}

/// Decoded bytes allowed per file (all spans and levels), so one large base64 blob cannot
/// blow up memory or time.
pub const DECODE_BUDGET: u64 = 8 << 20;

impl Cx {
    pub fn new(opts: &ScanOptions) -> Cx {
        Cx {
            bytes_left: Cell::new(opts.max_archive_bytes),
            entries_left: Cell::new(crate::input::archive::MAX_ENTRIES),
            stopped: Cell::new(false),
            decode_left: Cell::new(DECODE_BUDGET),
            warnings: RefCell::new(Vec::new()),
            stats: RefCell::new(Stats::default()),
        }
    }

    pub fn warn(&self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.borrow_mut().push(Warning {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn stat(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.borrow_mut());
    }
}

/// How many bytes at the start of a buffer decide whether it is binary.
const BINARY_SNIFF: usize = 8192;
/// Longest snippet kept per location, in characters.
const SNIPPET_CHARS: usize = 200;
/// Longest match context kept for decoders.
const CONTEXT_CAP: usize = 16 * 1024;

/// Most bytes of staged content for which a scan loads only the rules it can need; above
/// this, matching the keyword index costs about as much as building the full engine.
const SELECTION_MAX_BYTES: usize = 1 << 20;

/// The texts whose keywords decide which rules a scan of `blobs` can need: the blobs and,
/// recursively up to `--decode-depth`, what their encoded spans decode to (as
/// [`Scanner::scan_text`] would see them). `None` when a blob is an archive or UTF-16 text
/// (its content reaches the engine transformed) or the blobs are large: then the caller
/// loads every rule.
pub fn rule_selection_texts(blobs: &[&[u8]], opts: &ScanOptions) -> Option<Vec<Vec<u8>>> {
    if blobs.iter().map(|b| b.len()).sum::<usize>() > SELECTION_MAX_BYTES {
        return None;
    }
    let mut texts: Vec<Vec<u8>> = Vec::new();
    for &b in blobs {
        if (opts.archive_depth > 0 && crate::input::archive::sniff(b).is_some())
            || utf16_bom(b).is_some()
        {
            return None;
        }
        let mut budget = DECODE_BUDGET;
        let mut level: Vec<Vec<u8>> = vec![b.to_vec()];
        for _ in 0..opts.decode_depth {
            let mut next = Vec::new();
            for t in &level {
                for span in crate::decode::candidates(t) {
                    if budget == 0 {
                        break;
                    }
                    if let Some(d) = span.decode(t) {
                        budget = budget.saturating_sub(d.len() as u64);
                        next.push(d);
                    }
                }
            }
            texts.append(&mut level);
            level = next;
        }
        texts.append(&mut level);
    }
    Some(texts)
}

/// Most findings listed per secret value and buffer; further copies are counted in
/// `stats.occurrences_not_listed`.
pub const MAX_OCCURRENCES: usize = 10_000;

/// Which matches become findings: the first [`MAX_OCCURRENCES`] of each value.
fn cap_occurrences(data: &[u8], matches: &[RawMatch]) -> Vec<bool> {
    if matches.len() <= MAX_OCCURRENCES {
        return vec![true; matches.len()];
    }
    let mut seen: std::collections::HashMap<&[u8], usize> = Default::default();
    matches
        .iter()
        .map(|m| {
            let n = seen.entry(&data[m.secret.clone()]).or_insert(0);
            *n += 1;
            *n <= MAX_OCCURRENCES
        })
        .collect()
}

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
        Scanner {
            engine,
            opts,
            side: Mutex::new((Vec::new(), Stats::default())),
        }
    }

    /// Scans one buffer. Returns `None` when it was skipped as binary (counted by caller).
    /// An archive (zip family, tar, gz, bz2, xz, zst, container image tarball) is opened
    /// and its members scanned as `path!member`; an archive counts as scanned.
    pub fn scan_blob(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
    ) -> Option<Vec<Finding>> {
        let (r, cx) = self.scan_top(data, meta, scratch);
        self.absorb(cx);
        r
    }

    /// [`Scanner::scan_blob`], handing back the warnings and stats gathered inside the buffer
    /// instead of keeping them for [`Scanner::drain_into`]: a history scan scans a blob once,
    /// before it knows every path the blob is at, and reports them under the right one.
    pub(crate) fn scan_blob_detached(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
    ) -> (Option<Vec<Finding>>, Vec<Warning>, Stats) {
        let (r, cx) = self.scan_top(data, meta, scratch);
        (r, cx.warnings.into_inner(), cx.stats.into_inner())
    }

    /// One top-level buffer, with the context that gathered its warnings and stats.
    fn scan_top(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
    ) -> (Option<Vec<Finding>>, Cx) {
        let cx = Cx::new(&self.opts);
        let r = self.scan_node(data, meta, scratch, &cx, self.opts.archive_depth);
        let window = scratch.take_window_bytes();
        cx.stat(|s| s.regex_window_bytes += window);
        (r, cx)
    }

    /// Moves the warnings and stats gathered inside buffers into the collector.
    pub fn drain_into(&self, out: &Collector) {
        if let Ok(mut side) = self.side.lock() {
            let (w, s) = std::mem::take(&mut *side);
            for w in w {
                out.warn(w.path, w.message);
            }
            out.stats(&s);
        }
    }

    pub(crate) fn absorb(&self, cx: Cx) {
        let w = cx.warnings.into_inner();
        let s = cx.stats.into_inner();
        if w.is_empty()
            && s.archives_scanned == 0
            && s.decoded_spans == 0
            && s.regex_window_bytes == 0
        {
            return;
        }
        if let Ok(mut side) = self.side.lock() {
            side.0.extend(w);
            side.1.merge(&s);
        }
    }

    /// One buffer at any nesting level: archive (while `depth` allows), UTF-16, binary or
    /// text. Archive detection comes first: archives contain NUL bytes.
    pub(crate) fn scan_node(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
        cx: &Cx,
        depth: u32,
    ) -> Option<Vec<Finding>> {
        if self.opts.archive_depth > 0
            && let Some(kind) = crate::input::archive::sniff(data)
        {
            if depth > 0 {
                return Some(crate::input::archive::open(
                    self, kind, data, meta, scratch, cx, depth,
                ));
            }
            cx.warn(
                meta.path,
                format!(
                    "{} archive nested deeper than --archive-depth {}; not opened",
                    kind.name(),
                    self.opts.archive_depth
                ),
            );
        }
        if let Some(little) = utf16_bom(data) {
            let text = utf16_to_utf8(data, little);
            return Some(self.scan_text(&text, meta, scratch, cx));
        }
        if !self.opts.scan_binary && is_binary(data) {
            return None;
        }
        Some(self.scan_text(data, meta, scratch, cx))
    }

    /// Literal matches, then encoded spans the literal scan did not already cover.
    pub(crate) fn scan_text(
        &self,
        data: &[u8],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
        cx: &Cx,
    ) -> Vec<Finding> {
        let matches = self.engine.scan(data, scratch);
        // A flood of one value (400,000 copies of a token in one file) would otherwise hold
        // a finding per copy in memory: past MAX_OCCURRENCES per value and buffer, copies
        // are counted, not listed.
        let keep = cap_occurrences(data, &matches);
        let capped = keep.iter().filter(|k| !**k).count();
        if capped > 0 {
            cx.stat(|s| s.occurrences_not_listed += capped as u64);
            cx.warn(
                meta.path,
                format!(
                    "{capped} more occurrences of secrets found here are counted, not listed \
                     (at most {MAX_OCCURRENCES} per value and file)"
                ),
            );
        }
        let (mut out, index) = if matches.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.to_findings(data, &matches, &keep, meta)
        };
        if meta.decoded.is_empty() {
            cx.decode_left.set(DECODE_BUDGET);
        }
        if (meta.decoded.len() as u32) < self.opts.decode_depth {
            self.scan_encoded(data, &matches, &index, meta, scratch, cx, &mut out);
        }
        out
    }

    /// Decodes candidate spans (see [`crate::decode`]) and re-scans the decoded text. A
    /// finding keeps the chain in `Location.decoded` and is placed at the encoded span.
    /// Spans that overlap a literal match are skipped, except when the literal secret lies
    /// inside the span (a rule matched the encoded value itself, e.g. a Secret manifest's
    /// `data:` value): then a more specific decoded finding supersedes the literal one.
    /// `out` holds the literal findings first; `index[i]` is the finding of `literal[i]`
    /// (`usize::MAX` when that occurrence was counted, not listed).
    #[allow(clippy::too_many_arguments)]
    fn scan_encoded(
        &self,
        data: &[u8],
        literal: &[RawMatch],
        index: &[usize],
        meta: &BlobMeta<'_>,
        scratch: &mut Scratch,
        cx: &Cx,
        out: &mut Vec<Finding>,
    ) {
        type R = std::ops::Range<usize>;
        let overlaps = |a: &R, b: &R| a.start < b.end && b.start < a.end;
        let within = |a: &R, b: &R| b.start <= a.start && a.end <= b.end;
        let mut productive: Vec<R> = Vec::new();
        let mut superseded = vec![false; literal.len()];
        // The literal values, for every decoded finding's snippet: one found earlier on a long
        // line (outside the snippet's view) and repeated unmatched inside it must not show
        // there either (the fuzzer found `TOKEN=<v> … x=<percent-encoded SAS with <v>>`).
        let literal_values = hidden_values(data, literal);
        // Candidates come sorted by start: line/column tracking walks the buffer once.
        let mut pos = LinePos::default();
        for span in crate::decode::candidates(data) {
            if cx.decode_left.get() == 0 {
                break;
            }
            let r = &span.range;
            // Literal matches are sorted: only those near the span can overlap it.
            let close = near(literal, r.start, r.end);
            if close
                .iter()
                .any(|m| overlaps(&m.secret, r) && !within(&m.secret, r))
                || productive.last().is_some_and(|p| overlaps(p, r))
            {
                continue;
            }
            let Some(text) = span.decode(data) else {
                continue;
            };
            cx.decode_left
                .set(cx.decode_left.get().saturating_sub(text.len() as u64));
            cx.stat(|s| s.decoded_spans += 1);
            let mut chain = meta.decoded.to_vec();
            chain.push(span.encoding.name().to_string());
            let inner = BlobMeta {
                decoded: &chain,
                ..meta.clone()
            };
            let mut found = self.scan_text(&text, &inner, scratch, cx);
            if found.is_empty() {
                continue;
            }
            // The literal matches inside the span are its encoded form: superseded.
            let first = literal.partition_point(|m| m.secret.start < r.start);
            for (i, m) in literal.iter().enumerate().skip(first) {
                if m.secret.start >= r.end {
                    break;
                }
                if within(&m.secret, r) {
                    superseded[i] = true;
                }
            }
            self.relocate(data, r, literal, &literal_values, &mut pos, &mut found);
            productive.push(r.clone());
            out.append(&mut found);
        }
        if superseded.contains(&true) {
            let mut drop = vec![false; out.len()];
            for (i, _) in superseded.iter().enumerate().filter(|(_, s)| **s) {
                if let Some(d) = index.get(i).and_then(|&o| drop.get_mut(o)) {
                    *d = true;
                }
            }
            let mut i = 0;
            out.retain(|_| {
                i += 1;
                !drop[i - 1]
            });
        }
    }

    /// Places findings from decoded text at the encoded span of `data` they came from; the
    /// snippet is the original line with the span (and every literal secret) redacted.
    fn relocate(
        &self,
        data: &[u8],
        span: &std::ops::Range<usize>,
        literal: &[RawMatch],
        literal_values: &[&[u8]],
        pos: &mut LinePos,
        found: &mut [Finding],
    ) {
        let (line, column, line_start) = pos.advance(data, span.start);
        let (end_line, end_column, _) = pos.clone().advance(data, span.end);
        // Only the literal secrets the snippet can show: copying all of them per span made
        // many encoded secrets in one file quadratic.
        let (lo, hi, _, _) = snippet_view(data, line_start, span.start);
        let mut marks: Vec<RawMatch> = near(literal, lo, hi).to_vec();
        marks.push(RawMatch {
            rule: 0,
            secret: span.clone(),
            whole: span.clone(),
            validated: false,
        });
        marks.sort_by_key(|m| m.secret.start);
        let mut values: Vec<&[u8]> = found.iter().map(|f| f.secret.as_slice()).collect();
        values.extend_from_slice(literal_values);
        let snippet = self.snippet(data, line_start, span.start, &marks, &values);
        let inline_allowed = pos.inline_allowed(data);
        for f in found {
            let l = &mut f.location;
            (l.line, l.column, l.end_line, l.end_column) = (line, column, end_line, end_column);
            l.snippet = snippet.clone();
            f.inline_allowed |= inline_allowed;
        }
    }

    /// Findings for the matches marked in `keep` (every match still redacts snippets), and
    /// for each match the index of its finding (`usize::MAX` if not kept).
    fn to_findings(
        &self,
        data: &[u8],
        matches: &[RawMatch],
        keep: &[bool],
        meta: &BlobMeta<'_>,
    ) -> (Vec<Finding>, Vec<usize>) {
        let mut out = Vec::with_capacity(keep.iter().filter(|k| **k).count());
        let mut index = Vec::with_capacity(matches.len());
        let mut pos = LinePos::default();
        // A value found on one line and repeated unmatched on another (a reused password)
        // must not show in the other's snippet either. Bounded: with many findings only
        // the values in each snippet's own view are hidden.
        let values = hidden_values(data, matches);
        for (m, &kept) in matches.iter().zip(keep) {
            if !kept {
                index.push(usize::MAX);
                continue;
            }
            index.push(out.len());
            let (line, column, line_start) = pos.advance(data, m.secret.start);
            let (end_line, end_column) = {
                let mut p2 = pos.clone();
                let (l, c, _) = p2.advance(data, m.secret.end);
                (l, c)
            };
            let snippet = self.snippet(data, line_start, m.secret.start, matches, &values);
            let inline_allowed = pos.inline_allowed(data);
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
                    image: None,
                },
            });
        }
        (out, index)
    }

    /// The line starting at `line_start`, every secret on it redacted, capped in length.
    /// In a long line the view starts shortly before `focus` (the secret's start), so the
    /// secret is in it, and the work per finding does not grow with the line.
    fn snippet(
        &self,
        data: &[u8],
        line_start: usize,
        focus: usize,
        matches: &[RawMatch],
        values: &[&[u8]],
    ) -> String {
        let (lo, line_end, cut_before, cut_after) = snippet_view(data, line_start, focus);
        // The matched secrets in view, and any other occurrence there of their values or of
        // `values` (a value can appear twice on a line and be matched once: the fuzzer found
        // `mysql -p<pw> … -p<pw>` printing the second one in full).
        let mut hide: Vec<std::ops::Range<usize>> = near(matches, lo, line_end)
            .iter()
            .map(|m| m.secret.clone())
            .collect();
        let view = &data[lo..line_end];
        let mut known: Vec<&[u8]> = hide.iter().map(|r| &data[r.clone()]).collect();
        known.extend_from_slice(values);
        for v in known {
            if v.len() < MIN_HIDDEN || v.len() > view.len() {
                continue;
            }
            for i in memchr::memmem::find_iter(view, v) {
                let r = lo + i..lo + i + v.len();
                if !hide.iter().any(|h| h.start < r.end && r.start < h.end) {
                    hide.push(r);
                }
            }
        }
        hide.sort_by_key(|r| r.start);
        let mut out = String::new();
        if cut_before {
            out.push('…');
        }
        let mut at = lo;
        for r in hide {
            let s = r.start.max(at);
            out.push_str(&String::from_utf8_lossy(&data[at..s]));
            if self.opts.reveal {
                out.push_str(&String::from_utf8_lossy(&data[s..r.end.min(line_end)]));
            } else {
                out.push_str(&redact(&data[r.clone()]));
            }
            at = r.end.min(line_end).max(at);
        }
        if at < line_end {
            out.push_str(&String::from_utf8_lossy(&data[at..line_end]));
        }
        let trimmed = out.trim_end_matches('\r').trim();
        if trimmed.chars().count() > SNIPPET_CHARS {
            let cut: String = trimmed.chars().take(SNIPPET_CHARS).collect();
            format!("{cut}…")
        } else if cut_after {
            format!("{trimmed}…")
        } else {
            trimmed.to_string()
        }
    }
}

/// Bytes of a line a snippet looks at: enough for [`SNIPPET_CHARS`] code points of any UTF-8.
const SNIPPET_BYTES: usize = 4 * SNIPPET_CHARS;
/// Shortest value whose further, unmatched occurrences in a snippet are hidden as well.
const MIN_HIDDEN: usize = 6;
/// Most distinct values of one buffer searched for in each of its snippets.
const MAX_VALUES_HIDDEN: usize = 256;

/// The bytes of the line at `line_start` that a snippet for a secret at `focus` shows:
/// `(start, end, cut_before, cut_after)`. The view starts at the line's start unless the
/// secret starts further in than [`SNIPPET_CHARS`] bytes (then a little before the secret),
/// and spans at most [`SNIPPET_BYTES`], so a 100 MB line costs no more than a short one.
fn snippet_view(data: &[u8], line_start: usize, focus: usize) -> (usize, usize, bool, bool) {
    let line_start = line_start.min(data.len());
    let focus = focus.clamp(line_start, data.len());
    let mut lo = line_start;
    if focus - line_start >= SNIPPET_CHARS {
        lo = focus - SNIPPET_CHARS / 4;
        while lo < focus && (data[lo] & 0xC0) == 0x80 {
            lo += 1;
        }
    }
    let limit = (lo + SNIPPET_BYTES).min(data.len());
    match memchr::memchr(b'\n', &data[lo..limit]) {
        Some(i) => (lo, lo + i, lo > line_start, false),
        None => (
            lo,
            limit,
            lo > line_start,
            limit < data.len() && data[limit] != b'\n',
        ),
    }
}

/// The distinct values of `matches`, searched for in every snippet of the buffer; none when
/// there are more than [`MAX_VALUES_HIDDEN`] (then each snippet hides the values in its view).
fn hidden_values<'d>(data: &'d [u8], matches: &[RawMatch]) -> Vec<&'d [u8]> {
    if matches.len() > MAX_VALUES_HIDDEN {
        return Vec::new();
    }
    let mut values: Vec<&[u8]> = matches.iter().map(|m| &data[m.secret.clone()]).collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The matches (sorted by start, not overlapping) whose secrets intersect `lo..hi`.
fn near(matches: &[RawMatch], lo: usize, hi: usize) -> &[RawMatch] {
    let mut first = matches.partition_point(|m| m.secret.start < lo);
    while first > 0 && matches[first - 1].secret.end > lo {
        first -= 1;
    }
    let last = first + matches[first..].partition_point(|m| m.secret.start < hi);
    &matches[first..last]
}

/// Incremental line/column tracking over sorted offsets: each buffer is walked once.
#[derive(Debug, Default, Clone)]
struct LinePos {
    offset: usize,
    line: usize,
    line_start: usize,
    /// Code points from `line_start` to `offset`: many matches on one long line each count
    /// only from the previous one.
    col: usize,
    /// (line start, whether that line has the inline-allow marker), computed once per line.
    inline: Option<(usize, bool)>,
}

impl LinePos {
    /// Returns (1-based line, 1-based column in code points, byte offset of line start).
    fn advance(&mut self, data: &[u8], target: usize) -> (usize, usize, usize) {
        let target = target.min(data.len());
        if target < self.offset {
            *self = LinePos::default();
        }
        let mut from = self.offset;
        for nl in memchr::memchr_iter(b'\n', &data[self.offset..target]) {
            self.line += 1;
            self.line_start = self.offset + nl + 1;
            self.col = 0;
            from = self.line_start;
        }
        self.offset = target;
        // Code points as an editor shows the line: each invalid sequence counts as one
        // character (U+FFFD), as `String::from_utf8_lossy` does, so a Latin-1 `£` or `©`
        // (a lone continuation byte) is a column, not nothing.
        self.col += data[from..target]
            .utf8_chunks()
            .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
            .sum::<usize>();
        (self.line + 1, self.col + 1, self.line_start)
    }

    /// Whether the current line carries an inline-allow marker (searched once per line).
    fn inline_allowed(&mut self, data: &[u8]) -> bool {
        match self.inline {
            Some((start, allowed)) if start == self.line_start => allowed,
            _ => {
                let rest = &data[self.line_start.min(data.len())..];
                let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
                let allowed = crate::suppress::INLINE_MARKERS
                    .iter()
                    .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some());
                self.inline = Some((self.line_start, allowed));
                allowed
            }
        }
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
    fn invalid_utf8_counts_one_column_per_replacement_character() {
        let data = b"caf\xe9 \xa9\xa9 \xe2\x82 x\n\x80 tok";
        for tok in [&b" x"[..], b"tok"] {
            let at = memchr::memmem::find(data, tok).unwrap();
            let (_, c, ls) = LinePos::default().advance(data, at);
            assert_eq!(
                c,
                String::from_utf8_lossy(&data[ls..at]).chars().count() + 1
            );
        }
    }

    #[test]
    fn columns_count_incrementally_along_one_line() {
        let data = "xé€ tok1 ü tok2 tok3\nnext tok4".as_bytes();
        let mut p = LinePos::default();
        for tok in ["tok1", "tok2", "tok3", "tok4"] {
            let at = memchr::memmem::find(data, tok.as_bytes()).unwrap();
            let (l, c, ls) = p.advance(data, at);
            let fresh = std::str::from_utf8(&data[ls..at]).unwrap().chars().count() + 1;
            assert_eq!(c, fresh, "{tok}");
            assert_eq!(l, if tok == "tok4" { 2 } else { 1 });
        }
    }

    fn scanner() -> Scanner {
        let set = crate::rules::RuleSet::embedded().unwrap();
        Scanner::new(
            Arc::new(Engine::new(&set).unwrap()),
            ScanOptions {
                decode_depth: 0,
                ..ScanOptions::default()
            },
        )
    }

    const TOKEN: &str = "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";

    /// Many findings on one long line: each snippet shows its own redacted secret, is capped,
    /// and columns are right (this was quadratic in the line length: every finding copied and
    /// searched the whole line).
    #[test]
    fn long_line_snippets_are_local_and_capped() {
        let sc = scanner();
        let mut line = String::new();
        for i in 0..200 {
            line.push_str(&"é".repeat(500));
            line.push_str(&format!(" k{i}={TOKEN} "));
        }
        line.push_str("blastradius:allow\nnext line\n");
        let meta = BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = sc
            .scan_blob(line.as_bytes(), &meta, &mut Scratch::default())
            .unwrap();
        assert_eq!(found.len(), 200);
        for (i, f) in found.iter().enumerate() {
            let l = &f.location;
            let before = line.find(&format!(" k{i}=")).unwrap() + format!(" k{i}=").len();
            assert_eq!(l.column, line[..before].chars().count() + 1);
            assert!(l.snippet.starts_with('…'), "{}", l.snippet);
            assert_eq!(l.snippet.ends_with('…'), i < 199, "{}", l.snippet);
            assert!(l.snippet.contains(&format!("k{i}=ghp_")), "{}", l.snippet);
            assert!(!l.snippet.contains(&TOKEN[8..]), "{}", l.snippet);
            assert!(l.snippet.chars().count() <= SNIPPET_CHARS + 1);
            assert!(f.inline_allowed);
        }
    }

    #[test]
    fn short_lines_keep_their_whole_snippet() {
        let sc = scanner();
        let data = format!("  export GITHUB_TOKEN={TOKEN} # ci\n");
        let meta = BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let f = sc
            .scan_blob(data.as_bytes(), &meta, &mut Scratch::default())
            .unwrap();
        assert_eq!(
            f[0].location.snippet,
            "export GITHUB_TOKEN=ghp_eG…(40) # ci"
        );
        assert!(!f[0].inline_allowed);
    }

    /// Fuzzer find: the same password twice on a line, matched once, was printed in full
    /// the second time.
    #[test]
    fn repeated_value_on_a_line_is_hidden_everywhere_in_the_snippet() {
        let sc = scanner();
        let data = b"mysql -h db.prod -u root -pODaw0CL-Oo7ewP so s cp<hhema.sql -h db.prod -u root -pODaw0CL-Oo7ewP so";
        let meta = BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = sc.scan_blob(data, &meta, &mut Scratch::default()).unwrap();
        assert!(!found.is_empty());
        for f in &found {
            let secret = String::from_utf8_lossy(&f.secret).into_owned();
            assert!(
                !f.location.snippet.contains(&secret),
                "{}",
                f.location.snippet
            );
        }
    }

    /// Fuzzer find (scan_blob): a value matched early on a long line and repeated unmatched
    /// (glued to letters) next to an encoded secret showed in full in the decoded finding's
    /// snippet, whose view does not reach the literal match.
    #[test]
    fn literal_value_is_hidden_in_decoded_snippets() {
        let set = crate::rules::RuleSet::embedded().unwrap();
        let sc = Scanner::new(Arc::new(Engine::new(&set).unwrap()), ScanOptions::default());
        let enc: String = b"token=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"
            .iter()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let data = format!(
            "AWS_ACCESS_KEY_ID=AKIAHSPY2JLAWRVAW3DJ {}zAKIAHSPY2JLAWRVAW3DJz {enc}\n",
            "filler ".repeat(40)
        );
        let meta = BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = sc
            .scan_blob(data.as_bytes(), &meta, &mut Scratch::default())
            .unwrap();
        assert!(found.iter().any(|f| !f.location.decoded.is_empty()));
        for f in &found {
            assert!(
                !f.location.snippet.contains("AKIAHSPY2JLAWRVAW3DJ"),
                "{}",
                f.location.snippet
            );
        }
    }

    #[test]
    fn a_value_reused_on_another_line_is_hidden_there() {
        let sc = scanner();
        let data = format!(
            "db_password = \"Zq8pLm2vR9xKp4tW\"\n{}login(\"admin\", \"Zq8pLm2vR9xKp4tW\") ghs_ILODNEzyY7dJ5yvHedm5cIcRidWR062sHRe0\n",
            "\n".repeat(300)
        );
        let meta = BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = sc
            .scan_blob(data.as_bytes(), &meta, &mut Scratch::default())
            .unwrap();
        assert_eq!(found.len(), 2);
        for f in &found {
            assert!(
                !f.location.snippet.contains("Zq8pLm2vR9xKp4tW"),
                "{}",
                f.location.snippet
            );
        }
    }

    #[test]
    fn near_selects_intersecting_matches() {
        let m = |a: usize, b: usize| RawMatch {
            rule: 0,
            secret: a..b,
            whole: a..b,
            validated: false,
        };
        let ms = [m(0, 10), m(20, 30), m(40, 50), m(60, 70)];
        let got: Vec<_> = near(&ms, 25, 45).iter().map(|m| m.secret.start).collect();
        assert_eq!(got, [20, 40]);
        assert!(near(&ms, 71, 90).is_empty());
        assert_eq!(near(&ms, 0, 1).len(), 1);
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

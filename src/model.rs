//! The data that flows between stages: inputs produce [`Finding`]s (a secret at a
//! [`Location`]), enrichment groups them by value and scores them, reporting prints them.
//! Findings carry the raw secret in memory only; nothing here serialises it.

use serde::Serialize;

/// Where a secret was found. `path` is the display path: relative to the scan root for
/// files, the tree path for git blobs, `outer!inner` for archive members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, counted in Unicode code points.
    pub column: usize,
    pub end_line: usize,
    /// 1-based, exclusive: the column just after the secret's last character.
    pub end_column: usize,
    /// The line holding the secret, with every secret on it redacted.
    pub snippet: String,
    /// Index of the scan root (first PATH argument is 0) this location belongs to.
    #[serde(skip)]
    pub root: usize,
    /// Display name of the scan root (for sprawl across repositories).
    pub root_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitOrigin>,
    /// Decoding chain that revealed the secret (e.g. ["base64"]), empty when literal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decoded: Vec<String>,
    /// Container-image provenance: the layer (or config field) holding the secret and
    /// whether the file is still visible in the final image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageOrigin>,
}

/// Where in a container image a secret sits. A file deleted or overwritten by a later layer
/// is not visible in the final image's filesystem but is still extractable from its layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageOrigin {
    /// Layer digest (`sha256:…`); absent for image-config fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// 0-based position of the layer, bottom first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    /// The file (or config field) is present in the final image.
    pub visible_in_final_image: bool,
    /// Human explanation, e.g. "not visible in final image: deleted by layer 2 …".
    pub note: String,
}

/// Provenance of a finding from git history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitOrigin {
    /// The commit that introduced the blob at this path (first in history order).
    pub commit: String,
    pub author: String,
    /// Commit time, seconds since the Unix epoch.
    pub timestamp: i64,
    /// RFC 3339 form of `timestamp` (UTC).
    pub date: String,
    /// Whether the secret is still present at HEAD (anywhere in HEAD's tree).
    pub at_head: bool,
    /// Number of commits/refs whose trees contain this blob at some path (sprawl in history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

/// One secret at one location, as produced by an input.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index of the rule in the engine's rule set.
    pub rule: usize,
    pub secret: Vec<u8>,
    /// The full regex match (secret plus its context), for decoders that need context such
    /// as a service-account JSON around its private key. Capped in length.
    pub context: Vec<u8>,
    pub validated: bool,
    /// The line carries an inline `blastradius:allow` marker.
    pub inline_allowed: bool,
    pub location: Location,
}

/// Something that kept part of the input from being scanned. Never aborts a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", printable(&self.path), printable(&self.message))
    }
}

/// `s` with every control character written as an escape (`\u{1b}`, `\n`): paths, member
/// names, git authors and decoded facts are anyone's text, and printed raw to a terminal
/// they could move the cursor, rewrite earlier lines or set the window title.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Counters for the report's `stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub blobs_scanned: u64,
    pub commits_walked: u64,
    pub skipped_binary: u64,
    pub skipped_too_large: u64,
    /// Paths skipped for size (capped at 100 entries; the count above is exact).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_too_large_paths: Vec<String>,
    pub elapsed_ms: u64,
    /// Files or blobs opened as archives (zip, tar, compressed streams, images).
    #[serde(skip_serializing_if = "is_zero")]
    pub archives_scanned: u64,
    /// Archive members scanned as text (at any nesting level).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_members_scanned: u64,
    /// Uncompressed bytes read out of archives.
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_bytes: u64,
    /// Encoded spans (base64, hex, …) decoded and re-scanned.
    #[serde(skip_serializing_if = "is_zero")]
    pub decoded_spans: u64,
    /// Bytes the rules' regexes ran over (merged keyword windows, summed over rules): the
    /// matcher's work beyond the one keyword pass, and what keeps a scan linear in its input
    /// (the test suite checks it grows no faster than the input; no timing involved). In
    /// history scans it includes the few blobs scanned before the walk began that no walked
    /// commit reaches.
    pub regex_window_bytes: u64,
    /// Copies of a value beyond the first 10,000 in one buffer: counted, not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub occurrences_not_listed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Stats {
    pub fn merge(&mut self, o: &Stats) {
        self.files_scanned += o.files_scanned;
        self.bytes_scanned += o.bytes_scanned;
        self.blobs_scanned += o.blobs_scanned;
        self.commits_walked += o.commits_walked;
        self.skipped_binary += o.skipped_binary;
        self.skipped_too_large += o.skipped_too_large;
        self.archives_scanned += o.archives_scanned;
        self.archive_members_scanned += o.archive_members_scanned;
        self.archive_bytes += o.archive_bytes;
        self.decoded_spans += o.decoded_spans;
        self.regex_window_bytes += o.regex_window_bytes;
        self.occurrences_not_listed += o.occurrences_not_listed;
        for p in &o.skipped_too_large_paths {
            if self.skipped_too_large_paths.len() < 100 {
                self.skipped_too_large_paths.push(p.clone());
            }
        }
    }
}

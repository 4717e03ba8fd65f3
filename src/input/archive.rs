//! Archives: the zip family (zip, jar, war, whl, apk, nupkg, vsix, docx…), tar, and gzip,
//! bzip2, xz and zstd streams (so tar.gz, tgz, tar.zst…), opened in memory.
//!
//! Why here and like this: build outputs and releases (wheels, jars, image layers) carry
//! the same `.env` and settings files as the source tree, and only bytes reach the engine,
//! so [`crate::scan::Scanner::scan_node`] sniffs magic bytes (never the extension alone)
//! before its binary check and hands archives to [`open`]. Every input (directory files,
//! git blobs, members of archives) thus goes through the same code. Members are named
//! `outer!inner` and scanned like files: nested archives are opened up to
//! `--archive-depth`, binary members are skipped, text members are scanned and decoded.
//!
//! Nothing is ever written to disk: compressed streams are decoded while reading, members
//! are read into memory one at a time (uncompressed tar members are borrowed, not copied).
//! Hostile input is bounded: total uncompressed bytes per top-level archive
//! (`--max-archive-bytes`), entry count ([`MAX_ENTRIES`]) and compression ratio
//! ([`MAX_RATIO`] beyond [`RATIO_FLOOR`]). Hitting a bound, an encrypted entry, a truncated
//! stream, or an entry name with `..` or an absolute path yields a warning naming the
//! archive (and member); the scan goes on.

use crate::matcher::Scratch;
use crate::model::Finding;
use crate::scan::{BlobMeta, Cx, Scanner};
use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, Cursor, Read};
use std::ops::Range;

/// Entries (of every kind, all nesting levels) read from one top-level archive.
pub const MAX_ENTRIES: u64 = 100_000;
/// Uncompressed:compressed ratio above which an entry or stream is a decompression bomb…
pub const MAX_RATIO: u64 = 1000;
/// …once it has produced this many bytes (small, very compressible files are normal).
pub const RATIO_FLOOR: u64 = 1 << 20;
/// Bytes of a member read first: enough to sniff a nested archive (a tar header at 257) and
/// to decide binary-ness as for files, so binary members are never decompressed whole.
const PEEK: u64 = 8192;
/// Memory limit for an xz block's dictionary (KiB).
const XZ_MEM_KB: u32 = 256 * 1024;

/// An archive format, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::Gzip => "gzip",
            Kind::Bzip2 => "bzip2",
            Kind::Xz => "xz",
            Kind::Zstd => "zstd",
        }
    }
}

/// The archive format of `d`, by magic bytes only.
pub fn sniff(d: &[u8]) -> Option<Kind> {
    if d.starts_with(b"PK\x03\x04") || d.starts_with(b"PK\x05\x06") || d.starts_with(b"PK\x07\x08")
    {
        return Some(Kind::Zip);
    }
    if d.starts_with(&[0x1F, 0x8B, 0x08]) {
        return Some(Kind::Gzip);
    }
    if d.len() >= 10
        && d.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&d[3])
        && (d[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || d[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        return Some(Kind::Bzip2);
    }
    if d.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        return Some(Kind::Xz);
    }
    if d.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Some(Kind::Zstd);
    }
    if is_tar_header(d) {
        return Some(Kind::Tar);
    }
    None
}

/// True when an open file starts like an archive (reads its first 512 bytes, then rewinds).
pub fn file_is_archive(f: &std::fs::File) -> bool {
    use std::io::Seek;
    let mut head = Vec::with_capacity(512);
    let ok = f.take(512).read_to_end(&mut head).is_ok();
    let mut r = f;
    r.rewind().is_ok() && ok && sniff(&head).is_some()
}

/// A ustar/GNU/PAX header: the magic at 257 and a valid header checksum.
fn is_tar_header(d: &[u8]) -> bool {
    if d.len() < 512 || &d[257..262] != b"ustar" {
        return false;
    }
    let field = &d[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    let Some(want) = std::str::from_utf8(&digits)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    let sum: u32 = d[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == want
}

/// Opens an archive found by `sniff` and scans its members; `depth` counts this level.
pub(crate) fn open(
    scanner: &Scanner,
    kind: Kind,
    data: &[u8],
    meta: &BlobMeta<'_>,
    scratch: &mut Scratch,
    cx: &Cx,
    depth: u32,
) -> Vec<Finding> {
    cx.stat(|s| s.archives_scanned += 1);
    let mut out = Vec::new();
    let mut w = Walk {
        scanner,
        meta,
        cx,
        scratch,
    };
    w.archive(kind, data, meta.path, depth, &mut out);
    out
}

/// What a tar entry is, as far as naming and image whiteouts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    /// Symlinks, hard links, devices: recorded (they replace paths), not scanned.
    Other,
}

/// One entry of an uncompressed tar held in memory.
pub(crate) struct TarEntry {
    /// Sanitized name (see [`sanitize`]).
    pub name: String,
    pub raw: Vec<u8>,
    pub bad_name: bool,
    pub range: Range<usize>,
    pub kind: EntryKind,
}

/// What one image layer contains, to decide later whether a file is still visible in the
/// final image, and which findings came from which path.
#[derive(Debug, Default)]
pub(crate) struct LayerLog {
    /// Every path the layer adds (any kind).
    pub paths: HashSet<String>,
    /// Paths the layer adds that are not directories (they hide anything below them).
    pub nondirs: HashSet<String>,
    /// Paths deleted by `.wh.<name>` files.
    pub whiteouts: HashSet<String>,
    /// Directories made opaque by `.wh..wh..opq` ("" is the root).
    pub opaque: HashSet<String>,
    /// (entry path, range of findings in the output vector).
    pub found: Vec<(String, Range<usize>)>,
}

impl LayerLog {
    fn record(&mut self, path: &str, kind: EntryKind) {
        let (dir, base) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if base == ".wh..wh..opq" {
            self.opaque.insert(dir.to_string());
        } else if let Some(target) = base.strip_prefix(".wh.") {
            let t = if dir.is_empty() {
                target.to_string()
            } else {
                format!("{dir}/{target}")
            };
            self.whiteouts.insert(t);
        } else {
            self.paths.insert(path.to_string());
            if kind != EntryKind::Dir {
                self.nondirs.insert(path.to_string());
            }
        }
    }
}

/// Name of a whiteout marker file (not content).
fn is_whiteout(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|b| b.starts_with(".wh."))
}

/// A member name made safe for display: separators normalised to `/`, empty, `.` and `..`
/// components dropped. The flag says the raw name was absolute or contained `..` (a path
/// traversal attempt: harmless here since nothing is extracted, but worth a warning).
pub fn sanitize(raw: &[u8]) -> (String, bool) {
    let s = String::from_utf8_lossy(raw);
    let b = s.as_bytes();
    let mut bad = s.starts_with('/')
        || s.starts_with('\\')
        || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic());
    let mut parts = Vec::new();
    for p in s.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => bad = true,
            _ => parts.push(p),
        }
    }
    let name = if parts.is_empty() {
        "_".to_string()
    } else {
        parts.join("/")
    };
    (name, bad)
}

/// Why a guarded stream stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trip {
    Budget,
    Ratio,
}

/// Counts the compressed bytes a decoder consumes.
struct Counting<'a> {
    inner: &'a [u8],
    consumed: &'a Cell<u64>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

/// Wraps a decoder: charges the archive budget and stops on a bomb-like ratio.
struct Guard<'a, R> {
    inner: R,
    consumed: &'a Cell<u64>,
    produced: u64,
    cx: &'a Cx,
    trip: Option<Trip>,
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.trip.is_some() {
            return Err(io::Error::other("archive bound reached"));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.produced > RATIO_FLOOR
            && self.produced > self.consumed.get().max(1).saturating_mul(MAX_RATIO)
        {
            self.trip = Some(Trip::Ratio);
            return Err(io::Error::other("compression ratio bound reached"));
        }
        let left = self.cx.bytes_left.get();
        if n as u64 > left {
            self.trip = Some(Trip::Budget);
            return Err(io::Error::other("archive size bound reached"));
        }
        self.cx.bytes_left.set(left - n as u64);
        self.cx.stat(|s| s.archive_bytes += n as u64);
        Ok(n)
    }
}

/// Walks one top-level archive (and everything nested in it) with shared budgets.
pub(crate) struct Walk<'a, 'm> {
    pub scanner: &'a Scanner,
    /// The top-level buffer's metadata (root, git origin) reused for every member.
    pub meta: &'a BlobMeta<'m>,
    pub cx: &'a Cx,
    pub scratch: &'a mut Scratch,
}

/// Result of reading one member out of a stream.
struct Member {
    /// Bytes to scan (possibly partial when `error` is set), `None` when skipped.
    bytes: Option<Vec<u8>>,
    /// The stream broke while reading this member.
    error: Option<io::Error>,
}

impl Walk<'_, '_> {
    fn archive(&mut self, kind: Kind, data: &[u8], path: &str, depth: u32, out: &mut Vec<Finding>) {
        match kind {
            Kind::Zip => self.zip(data, path, depth, out),
            Kind::Tar => self.tar_slice(data, path, "!", depth, out, None, true),
            _ => self.compressed(kind, data, path, depth, out, None),
        }
    }

    /// Scans a member's bytes as a buffer of its own; `depth` is what is left for it.
    pub(crate) fn member(&mut self, data: &[u8], path: &str, depth: u32, out: &mut Vec<Finding>) {
        let m = BlobMeta {
            path,
            root: self.meta.root,
            root_name: self.meta.root_name,
            git: self.meta.git,
            decoded: self.meta.decoded,
        };
        match self
            .scanner
            .scan_node(data, &m, self.scratch, self.cx, depth)
        {
            Some(mut f) => {
                self.cx.stat(|s| s.archive_members_scanned += 1);
                out.append(&mut f);
            }
            None => self.cx.stat(|s| s.skipped_binary += 1),
        }
    }

    pub(crate) fn warn(&self, path: &str, msg: impl Into<String>) {
        self.cx.warn(path, msg);
    }

    fn stopped(&self) -> bool {
        self.cx.stopped.get()
    }

    fn budget_hit(&self, path: &str) {
        if !self.cx.stopped.replace(true) {
            self.warn(
                path,
                format!(
                    "archive expands past --max-archive-bytes ({} bytes); the rest is not scanned",
                    self.scanner.opts.max_archive_bytes
                ),
            );
        }
    }

    /// Takes `n` bytes from the budget; false (with one warning) when it is exhausted.
    fn charge(&self, n: u64, path: &str) -> bool {
        let left = self.cx.bytes_left.get();
        if n > left {
            self.cx.bytes_left.set(0);
            self.budget_hit(path);
            return false;
        }
        self.cx.bytes_left.set(left - n);
        self.cx.stat(|s| s.archive_bytes += n);
        true
    }

    /// Counts one entry; false (with one warning) past [`MAX_ENTRIES`].
    fn entry(&self, path: &str) -> bool {
        let left = self.cx.entries_left.get();
        if left == 0 {
            if !self.cx.stopped.replace(true) {
                self.warn(
                    path,
                    format!("more than {MAX_ENTRIES} archive entries; the rest is not scanned"),
                );
            }
            return false;
        }
        self.cx.entries_left.set(left - 1);
        true
    }

    fn too_large(&self, mpath: &str) {
        self.cx.stat(|s| {
            s.skipped_too_large += 1;
            if s.skipped_too_large_paths.len() < 100 {
                s.skipped_too_large_paths.push(mpath.to_string());
            }
        });
    }

    fn ratio_hit(&self, path: &str) {
        self.warn(
            path,
            format!(
                "compression ratio above {MAX_RATIO}:1 (possible decompression bomb); not scanned further"
            ),
        );
    }

    fn traversal(&self, path: &str, raw: &[u8], shown: &str) {
        self.warn(
            path,
            format!(
                "entry '{}' is absolute or contains '..' (path traversal); scanned as '{shown}' (nothing is extracted)",
                String::from_utf8_lossy(raw)
            ),
        );
    }

    /// Reads one member: leaves up to `--max-file-size`, nested archives up to the budget,
    /// never past `ratio_cap`. `charge`: the bytes are not already charged by a [`Guard`].
    fn read_member(
        &mut self,
        r: &mut dyn Read,
        declared: u64,
        ratio_cap: u64,
        mpath: &str,
        depth: u32,
        charge: bool,
    ) -> Member {
        if declared > ratio_cap {
            self.ratio_hit(mpath);
            return Member {
                bytes: None,
                error: None,
            };
        }
        let mut buf = Vec::new();
        if let Err(e) = r.take(PEEK).read_to_end(&mut buf) {
            return Member {
                bytes: None,
                error: Some(e),
            };
        }
        let nested = sniff(&buf);
        if nested.is_none() && !self.scanner.opts.scan_binary && crate::scan::is_binary(&buf) {
            self.cx.stat(|s| s.skipped_binary += 1);
            return Member {
                bytes: None,
                error: None,
            };
        }
        if let Some(k) = nested
            && depth <= 1
        {
            self.warn(
                mpath,
                format!(
                    "{} archive nested deeper than --archive-depth {}; not opened",
                    k.name(),
                    self.scanner.opts.archive_depth
                ),
            );
            return Member {
                bytes: None,
                error: None,
            };
        }
        let leaf_cap = self.scanner.opts.max_file_size;
        if nested.is_none() && declared > leaf_cap {
            self.too_large(mpath);
            return Member {
                bytes: None,
                error: None,
            };
        }
        let cap = if nested.is_some() { u64::MAX } else { leaf_cap };
        if charge && !self.charge(buf.len() as u64, mpath) {
            return Member {
                bytes: None,
                error: None,
            };
        }
        buf.reserve(declared.min(cap).min(64 << 20) as usize);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Member {
                        bytes: Some(buf),
                        error: Some(e),
                    };
                }
            };
            let total = (buf.len() + n) as u64;
            if total > ratio_cap {
                self.ratio_hit(mpath);
                return Member {
                    bytes: None,
                    error: None,
                };
            }
            if total > cap {
                self.too_large(mpath);
                return Member {
                    bytes: None,
                    error: None,
                };
            }
            if charge && !self.charge(n as u64, mpath) {
                return Member {
                    bytes: None,
                    error: None,
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Member {
            bytes: Some(buf),
            error: None,
        }
    }

    fn zip(&mut self, data: &[u8], path: &str, depth: u32, out: &mut Vec<Finding>) {
        let mut ar = match zip::ZipArchive::new(Cursor::new(data)) {
            Ok(a) => a,
            Err(e) => {
                // No readable central directory (truncated?): read the local headers.
                return self.zip_stream(data, path, depth, out, &e.to_string());
            }
        };
        for i in 0..ar.len() {
            if self.stopped() || !self.entry(path) {
                break;
            }
            let (raw, encrypted, size, csize, is_dir) = match ar.by_index_data(i) {
                Ok(e) => (
                    e.name_raw().to_vec(),
                    e.encrypted(),
                    e.size(),
                    e.compressed_size(),
                    e.is_dir(),
                ),
                Err(e) => {
                    self.warn(path, format!("unreadable zip entry #{i}: {e}"));
                    continue;
                }
            };
            if is_dir {
                continue;
            }
            let (shown, bad) = sanitize(&raw);
            if bad {
                self.traversal(path, &raw, &shown);
            }
            let mpath = format!("{path}!{shown}");
            if encrypted {
                self.warn(&mpath, "encrypted zip entry; not scanned");
                continue;
            }
            let mut f = match ar.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.warn(&mpath, format!("cannot read zip entry: {e}"));
                    continue;
                }
            };
            let cap = RATIO_FLOOR.max(csize.saturating_mul(MAX_RATIO));
            let m = self.read_member(&mut f, size, cap, &mpath, depth, true);
            drop(f);
            if let Some(e) = &m.error {
                self.warn(&mpath, format!("corrupt zip entry: {e}"));
            }
            if let Some(b) = m.bytes {
                self.member(&b, &mpath, depth - 1, out);
            }
        }
    }

    /// Reads a zip front to back by its local headers (when the central directory is gone).
    fn zip_stream(
        &mut self,
        data: &[u8],
        path: &str,
        depth: u32,
        out: &mut Vec<Finding>,
        why: &str,
    ) {
        let mut cur = Cursor::new(data);
        let mut any = false;
        loop {
            if self.stopped() || !self.entry(path) {
                return;
            }
            let mut f = match zip::read::read_zipfile_from_stream(&mut cur) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    let msg = if any {
                        format!(
                            "truncated or corrupt zip archive ({why}; {e}); later members not scanned"
                        )
                    } else {
                        format!("unreadable zip archive: {why}")
                    };
                    self.warn(path, msg);
                    return;
                }
            };
            any = true;
            if f.is_dir() {
                continue;
            }
            let raw = f.name_raw().to_vec();
            let (shown, bad) = sanitize(&raw);
            if bad {
                self.traversal(path, &raw, &shown);
            }
            let mpath = format!("{path}!{shown}");
            if f.encrypted() {
                self.warn(&mpath, "encrypted zip entry; not scanned");
                continue;
            }
            let cap = RATIO_FLOOR.max(f.compressed_size().saturating_mul(MAX_RATIO));
            let size = f.size();
            let m = self.read_member(&mut f, size, cap, &mpath, depth, true);
            drop(f);
            if let Some(b) = m.bytes {
                self.member(&b, &mpath, depth - 1, out);
            }
            if let Some(e) = m.error {
                self.warn(
                    path,
                    format!(
                        "truncated or corrupt zip archive ({why}; {e}); later members not scanned"
                    ),
                );
                return;
            }
        }
        self.warn(
            path,
            format!("zip archive without a readable central directory ({why}); scanned by its local headers"),
        );
    }

    /// Lists the entries of an uncompressed tar in memory (borrowing, not copying).
    pub(crate) fn tar_index(&self, data: &[u8], path: &str) -> Vec<TarEntry> {
        let mut out = Vec::new();
        let mut ar = tar::Archive::new(Cursor::new(data));
        let entries = match ar.entries_with_seek() {
            Ok(e) => e,
            Err(e) => {
                self.warn(path, format!("unreadable tar archive: {e}"));
                return out;
            }
        };
        for e in entries {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    self.warn(
                        path,
                        format!(
                            "truncated or corrupt tar archive ({err}); later members not scanned"
                        ),
                    );
                    break;
                }
            };
            let raw = e.path_bytes().into_owned();
            let (name, bad_name) = sanitize(&raw);
            let start = e.raw_file_position() as usize;
            let size = e.size() as usize;
            let kind = entry_kind(e.header().entry_type());
            let end = start.saturating_add(size);
            if kind == EntryKind::File && end > data.len() {
                self.warn(
                    path,
                    format!("truncated tar archive: member '{name}' is cut short"),
                );
                out.push(TarEntry {
                    name,
                    raw,
                    bad_name,
                    range: start.min(data.len())..data.len(),
                    kind,
                });
                break;
            }
            out.push(TarEntry {
                name,
                raw,
                bad_name,
                range: start..end.min(data.len()),
                kind,
            });
        }
        out
    }

    /// An uncompressed tar in memory. `image_ok`: check for a container image first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tar_slice(
        &mut self,
        data: &[u8],
        path: &str,
        sep: &str,
        depth: u32,
        out: &mut Vec<Finding>,
        mut layer: Option<&mut LayerLog>,
        image_ok: bool,
    ) {
        let index = self.tar_index(data, path);
        if image_ok
            && layer.is_none()
            && crate::input::image::looks_like_image(&index)
            && crate::input::image::scan_tar(self, data, &index, path, depth, out)
        {
            return;
        }
        for e in &index {
            if self.stopped() || !self.entry(path) {
                break;
            }
            if let Some(l) = layer.as_deref_mut() {
                l.record(&e.name, e.kind);
            }
            if e.kind != EntryKind::File || (layer.is_some() && is_whiteout(&e.name)) {
                continue;
            }
            if e.bad_name {
                self.traversal(path, &e.raw, &e.name);
            }
            let mpath = format!("{path}{sep}{}", e.name);
            let bytes = &data[e.range.clone()];
            if sniff(bytes).is_none() && bytes.len() as u64 > self.scanner.opts.max_file_size {
                self.too_large(&mpath);
                continue;
            }
            if !self.charge(bytes.len() as u64, path) {
                break;
            }
            let start = out.len();
            self.member(bytes, &mpath, depth - 1, out);
            if let Some(l) = layer.as_deref_mut()
                && out.len() > start
            {
                l.found.push((e.name.clone(), start..out.len()));
            }
        }
    }

    /// A tar read from a (decompressing) stream, one member in memory at a time.
    fn tar_stream<R: Read>(
        &mut self,
        r: R,
        path: &str,
        sep: &str,
        depth: u32,
        out: &mut Vec<Finding>,
        mut layer: Option<&mut LayerLog>,
    ) -> io::Result<()> {
        let mut ar = tar::Archive::new(r);
        for e in ar.entries()? {
            let mut e = e?;
            if self.stopped() || !self.entry(path) {
                return Ok(());
            }
            let raw = e.path_bytes().into_owned();
            let (name, bad) = sanitize(&raw);
            let kind = entry_kind(e.header().entry_type());
            if let Some(l) = layer.as_deref_mut() {
                l.record(&name, kind);
            }
            if kind != EntryKind::File || (layer.is_some() && is_whiteout(&name)) {
                continue;
            }
            if bad {
                self.traversal(path, &raw, &name);
            }
            let mpath = format!("{path}{sep}{name}");
            let size = e.size();
            let m = self.read_member(&mut e, size, u64::MAX, &mpath, depth, false);
            if let Some(b) = m.bytes {
                let start = out.len();
                self.member(&b, &mpath, depth - 1, out);
                if let Some(l) = layer.as_deref_mut()
                    && out.len() > start
                {
                    l.found.push((name, start..out.len()));
                }
            }
            if let Some(err) = m.error {
                return Err(err);
            }
        }
        Ok(())
    }

    /// A gzip/bzip2/xz/zstd stream: a tar inside is walked, anything else is one member
    /// named after the stream. With `layer`, the stream must be an image layer (a tar).
    pub(crate) fn compressed(
        &mut self,
        kind: Kind,
        data: &[u8],
        path: &str,
        depth: u32,
        out: &mut Vec<Finding>,
        layer: Option<&mut LayerLog>,
    ) {
        let consumed = Cell::new(0u64);
        let src = Counting {
            inner: data,
            consumed: &consumed,
        };
        let dec: Box<dyn Read + '_> = match kind {
            Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(src)),
            Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(src)),
            Kind::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(src, true, XZ_MEM_KB)),
            Kind::Zstd => match ruzstd::decoding::StreamingDecoder::new(src) {
                Ok(d) => Box::new(d),
                Err(e) => return self.warn(path, format!("unreadable zstd stream: {e}")),
            },
            Kind::Zip | Kind::Tar => return,
        };
        let mut g = Guard {
            inner: dec,
            consumed: &consumed,
            produced: 0,
            cx: self.cx,
            trip: None,
        };
        let mut head = Vec::new();
        let res = (&mut g).take(PEEK).read_to_end(&mut head);
        let result = match res {
            Err(e) => Err(e),
            Ok(_) if is_tar_header(&head) || layer.is_some() => {
                let image = layer.is_none() && image_hint(&head);
                if image {
                    // `docker save | gzip`: the manifest comes last, so the image needs the
                    // whole tar in memory (within the budget).
                    let mut all = head;
                    match g.read_to_end(&mut all) {
                        Ok(_) => {
                            self.tar_slice(&all, path, "!", depth, out, None, true);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                } else if head.iter().all(|&b| b == 0) && layer.is_some() {
                    Ok(()) // an empty layer: a tar of zero blocks
                } else if !is_tar_header(&head) {
                    self.warn(path, "image layer is not a tar archive; not scanned");
                    Ok(())
                } else {
                    let sep = if layer.is_some() { "/" } else { "!" };
                    self.tar_stream(
                        Cursor::new(head).chain(&mut g),
                        path,
                        sep,
                        depth,
                        out,
                        layer,
                    )
                }
            }
            Ok(_) => {
                let name = stream_member_name(kind, data, path);
                let mpath = format!("{path}!{name}");
                let mut r = Cursor::new(head).chain(&mut g);
                let m = self.read_member(&mut r, 0, u64::MAX, &mpath, depth, false);
                if let Some(b) = m.bytes {
                    self.member(&b, &mpath, depth - 1, out);
                }
                m.error.map_or(Ok(()), Err)
            }
        };
        if let Err(e) = result {
            match g.trip {
                Some(Trip::Budget) => self.budget_hit(path),
                Some(Trip::Ratio) => self.ratio_hit(path),
                None if self.stopped() => {}
                None => self.warn(
                    path,
                    format!(
                        "truncated or corrupt {} stream ({e}); the rest is not scanned",
                        kind.name()
                    ),
                ),
            }
        }
    }
}

fn entry_kind(t: tar::EntryType) -> EntryKind {
    if t.is_file() || t.is_contiguous() || t.is_gnu_sparse() {
        EntryKind::File
    } else if t.is_dir() {
        EntryKind::Dir
    } else {
        EntryKind::Other
    }
}

/// The first tar header's name suggests a `docker save` / OCI archive.
fn image_hint(head: &[u8]) -> bool {
    let raw = &head[..100.min(head.len())];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let name = String::from_utf8_lossy(&raw[..end]);
    let name = name.trim_start_matches("./");
    name.starts_with("blobs/")
        || matches!(
            name,
            "manifest.json" | "index.json" | "oci-layout" | "repositories"
        )
        || name
            .as_bytes()
            .get(..64)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
}

/// Name of the single member of a compressed stream: gzip's stored file name, else the
/// stream's own name without its compression suffix.
fn stream_member_name(kind: Kind, data: &[u8], path: &str) -> String {
    if kind == Kind::Gzip
        && let Some(n) = gzip_file_name(data)
    {
        return sanitize(&n).0;
    }
    let base = path.rsplit(['!', '/']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    for (suffix, keep) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".tzst", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".zst", ""),
        (".zstd", ""),
    ] {
        if lower.ends_with(suffix) && base.len() > suffix.len() {
            return format!("{}{keep}", &base[..base.len() - suffix.len()]);
        }
    }
    format!("{base}.{}", kind.name())
}

/// The FNAME field of a gzip header, if set.
fn gzip_file_name(d: &[u8]) -> Option<Vec<u8>> {
    let flags = *d.get(3)?;
    if flags & 0x08 == 0 {
        return None;
    }
    let mut at = 10;
    if flags & 0x04 != 0 {
        let xlen = u16::from_le_bytes([*d.get(10)?, *d.get(11)?]) as usize;
        at = 12 + xlen;
    }
    let rest = d.get(at..)?;
    let end = rest.iter().take(1024).position(|&b| b == 0)?;
    (end > 0).then(|| rest[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(sniff(&[0x1F, 0x8B, 0x08, 0]), Some(Kind::Gzip));
        assert_eq!(sniff(&[0xFD, b'7', b'z', b'X', b'Z', 0, 0]), Some(Kind::Xz));
        assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0]), Some(Kind::Zstd));
        assert_eq!(sniff(b"BZh91AY&SY...."), Some(Kind::Bzip2));
        assert_eq!(sniff(b"BZh9 is just text here"), None);
        assert_eq!(sniff(b"plain text"), None);
        let mut h = tar::Header::new_ustar();
        h.set_path("a.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert_eq!(sniff(h.as_bytes()), Some(Kind::Tar));
        let mut bad = h.as_bytes().to_vec();
        bad[0] = b'b'; // checksum no longer matches
        assert_eq!(sniff(&bad), None);
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize(b"a/b.txt"), ("a/b.txt".into(), false));
        assert_eq!(sanitize(b"./a//b"), ("a/b".into(), false));
        assert_eq!(sanitize(b"../evil.txt"), ("evil.txt".into(), true));
        assert_eq!(sanitize(b"/etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(sanitize(b"C:\\x\\y"), ("C:/x/y".into(), true));
        assert_eq!(sanitize(b".."), ("_".into(), true));
    }

    #[test]
    fn whiteouts_are_recorded() {
        let mut l = LayerLog::default();
        l.record("etc/app/.wh..env", EntryKind::File);
        l.record("var/.wh..wh..opq", EntryKind::File);
        l.record("usr/bin", EntryKind::Dir);
        l.record("opt/link", EntryKind::Other);
        assert!(l.whiteouts.contains("etc/app/.env"));
        assert!(l.opaque.contains("var"));
        assert!(l.paths.contains("usr/bin") && !l.nondirs.contains("usr/bin"));
        assert!(l.nondirs.contains("opt/link"));
    }

    #[test]
    fn image_hint_of_any_name() {
        // A tar's first name is anyone's bytes: 63 ASCII bytes then a 2-byte character put a
        // char boundary mid-way through the 64-byte hex test (it panicked).
        let mut head = vec![b'x'; 63];
        head.extend_from_slice("é/manifest.json".as_bytes());
        head.resize(512, 0);
        assert!(!image_hint(&head));
        let mut head = b"0123456789abcdef".repeat(4);
        head.extend_from_slice(b"/layer.tar\0");
        assert!(image_hint(&head));
        assert!(!image_hint(b""));
    }

    #[test]
    fn stream_names() {
        assert_eq!(
            stream_member_name(Kind::Xz, b"", "logs/app.log.xz"),
            "app.log"
        );
        assert_eq!(stream_member_name(Kind::Zstd, b"", "a.zip!x.tzst"), "x.tar");
        assert_eq!(stream_member_name(Kind::Bzip2, b"", "blob"), "blob.bzip2");
        let mut gz = vec![0x1F, 0x8B, 8, 0x08, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(b"inner.env\0");
        assert_eq!(stream_member_name(Kind::Gzip, &gz, "x.gz"), "inner.env");
    }
}

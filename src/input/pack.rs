//! Reading objects straight from a repository's pack files, for history scans.
//!
//! libgit2 serialises every pack read behind one process-wide lock (its pack window list),
//! so two scanning threads reading blobs through it ran at the speed of one: a rails history
//! scan used 1.04 cores of 2. Pack files are immutable and simple (version 2: a `.idx` of
//! sorted object ids and offsets, a `.pack` of zlib streams, deltas against an earlier offset
//! or an object id), so each thread reads them here with positioned reads (`pread`: no shared
//! cursor, no mapping that would count the whole pack in the resident set), inflates with
//! the crate's zlib-rs backend, and resolves deltas against a small per-thread cache of
//! recently decoded objects. Reading blobs in pack order (see `git::sort_by_pack_offset`)
//! makes that cache effective: an object's delta base precedes it in the pack.
//!
//! Everything read is untrusted: every length, offset, varint and delta instruction is
//! bounds-checked, delta chains are depth-limited, and any inconsistency is an error for the
//! caller, which falls back to libgit2 (and its error message) for that object.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Object types as stored in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

/// Where an object lives: pack index and byte offset in that pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub pack: u32,
    pub offset: u64,
}

/// Why [`Packs::read`] gave no object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The decoded object would be this many bytes, over the caller's limit.
    TooLarge(u64),
    /// Anything else: corrupt or unsupported data (the caller falls back to libgit2).
    Corrupt(String),
}

/// Internal error prefix that carries a too-large size through the String errors.
const TOO_LARGE: &str = "\0too large:";

/// The least size limit for delta bases.
const MIN_BASE_LIMIT: u64 = 256 << 20;

/// Longest delta chain followed (git's default maximum depth is 50; `--depth` allows 4095).
const MAX_DEPTH: usize = 4096;
/// Objects larger than this are never cached (they are rarely delta bases worth keeping).
const CACHE_MAX_OBJECT: usize = 4 << 20;

struct Pack {
    file: File,
    /// The whole `.idx` (version 2).
    idx: Vec<u8>,
    objects: usize,
    /// Every object's offset, sorted, then the end of the last object (pack length − 20):
    /// an object's compressed bytes end where the next object starts.
    bounds: Vec<u64>,
}

/// The pack files of one repository.
pub struct Packs {
    packs: Vec<Pack>,
}

/// Per-thread reading state: a cache of decoded objects, bounded in bytes, evicting the
/// oldest, and the inflate state reused from object to object.
pub struct Cache {
    z: flate2::Decompress,
    raw: Vec<u8>,
    map: HashMap<Loc, (Kind, Arc<Vec<u8>>), LocState>,
    order: VecDeque<Loc>,
    bytes: usize,
    budget: usize,
}

impl Cache {
    pub fn new(budget: usize) -> Cache {
        Cache {
            z: flate2::Decompress::new(true),
            raw: Vec::new(),
            map: HashMap::with_hasher(LocState::new()),
            order: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    fn get(&self, loc: Loc) -> Option<(Kind, Arc<Vec<u8>>)> {
        self.map.get(&loc).cloned()
    }

    fn put(&mut self, loc: Loc, kind: Kind, data: &Arc<Vec<u8>>) {
        if data.len() > CACHE_MAX_OBJECT || data.len() > self.budget || self.map.contains_key(&loc)
        {
            return;
        }
        while self.bytes + data.len() > self.budget {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, d)) = self.map.remove(&old) {
                self.bytes -= d.len();
            }
        }
        self.bytes += data.len();
        self.order.push_back(loc);
        self.map.insert(loc, (kind, data.clone()));
    }
}

/// Hashes a [`Loc`] cheaply: a random per-cache seed, the key's words folded in, then
/// murmur3's 64-bit finaliser. SipHash on every cache probe and insert was 1.8% of a rails
/// history scan (now 1.0%). The seed keeps a hostile pack from choosing offsets that all
/// collide.
struct LocState(u64);

impl LocState {
    fn new() -> LocState {
        use std::hash::{BuildHasher, Hasher};
        LocState(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        )
    }
}

impl std::hash::BuildHasher for LocState {
    type Hasher = LocHasher;
    fn build_hasher(&self) -> LocHasher {
        LocHasher(self.0)
    }
}

struct LocHasher(u64);

impl std::hash::Hasher for LocHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

const IDX_MAGIC: &[u8] = b"\xfftOc";
const FANOUT: usize = 8;
const NAMES: usize = FANOUT + 256 * 4;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Pack> {
        let idx = std::fs::read(idx_path).ok()?;
        if idx.get(..4)? != IDX_MAGIC || be32(&idx, 4)? != 2 {
            return None;
        }
        let objects = be32(&idx, FANOUT + 255 * 4)? as usize;
        // Names, CRCs, 4-byte offsets, then 8-byte offsets, then two 20-byte checksums.
        let offsets = NAMES + objects * 24;
        if idx.len() < offsets + objects * 4 + 40 {
            return None;
        }
        let file = File::open(idx_path.with_extension("pack")).ok()?;
        let len = file.metadata().ok()?.len();
        let mut header = [0u8; 12];
        file.read_exact_at(&mut header, 0).ok()?;
        if &header[..4] != b"PACK" || !matches!(be32(&header, 4)?, 2 | 3) || len < 32 {
            return None;
        }
        let mut pack = Pack {
            file,
            idx,
            objects,
            bounds: Vec::with_capacity(objects + 1),
        };
        if !pack.bounds_from_rev(idx_path) {
            pack.bounds.clear();
            for i in 0..objects {
                pack.bounds.push(pack.offset_at(i)?);
            }
            pack.bounds.sort_unstable();
        }
        pack.bounds.push(len - 20);
        Some(pack)
    }

    /// Fills `bounds` (object offsets in pack order) from the pack's reverse index
    /// (`pack-*.rev`, written by git since 2.41 by default): it lists the idx positions in
    /// pack order, so the offsets come out sorted. Sorting 1.24 million offsets instead cost
    /// 225M instructions (~60 ms, before the walk can start) on rails. False, with `bounds`
    /// partly filled, when there is no such file or it does not fit this pack: any entry out
    /// of range or out of order, and the caller sorts.
    fn bounds_from_rev(&mut self, idx_path: &Path) -> bool {
        const HEADER: usize = 12;
        let Ok(rev) = std::fs::read(idx_path.with_extension("rev")) else {
            return false;
        };
        if rev.len() != HEADER + self.objects * 4 + 40
            || rev.get(..4) != Some(b"RIDX")
            || be32(&rev, 4) != Some(1)
            || be32(&rev, 8) != Some(1)
        {
            return false;
        }
        let mut last = None;
        for k in 0..self.objects {
            let Some(i) = be32(&rev, HEADER + k * 4).map(|i| i as usize) else {
                return false;
            };
            let Some(off) = (i < self.objects).then(|| self.offset_at(i)).flatten() else {
                return false;
            };
            if last.is_some_and(|l| off <= l) {
                return false;
            }
            last = Some(off);
            self.bounds.push(off);
        }
        true
    }

    fn offset_at(&self, i: usize) -> Option<u64> {
        let offsets = NAMES + self.objects * 24;
        let off = be32(&self.idx, offsets + i * 4)?;
        if off & 0x8000_0000 == 0 {
            return Some(u64::from(off));
        }
        let large = offsets + self.objects * 4 + (off & 0x7fff_ffff) as usize * 8;
        be64(&self.idx, large)
    }

    /// The pack offset of `oid`. Object ids are uniformly distributed, so the search starts
    /// where the id's first 8 bytes put it within its fan-out bucket and gallops from there:
    /// the probes after the first stay within a few KB of the names table, where a plain
    /// bisection makes ~13 probes across it (each a likely cache miss). Any order of a
    /// hostile idx only makes the search longer, never wrong: the invariant is bisection's.
    fn find(&self, oid: &[u8]) -> Option<u64> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let first = usize::from(*oid.first()?);
        let lo = if first == 0 {
            0
        } else {
            be32(&self.idx, FANOUT + (first - 1) * 4)? as usize
        };
        let hi = (be32(&self.idx, FANOUT + first * 4)? as usize).min(self.objects);
        let cmp_at = |m: usize| {
            self.idx
                .get(NAMES + m * 20..NAMES + m * 20 + 20)
                .map(|name| name.cmp(oid))
        };
        // Invariant: the object, if present, is in a..b.
        let (mut a, mut b) = (lo, hi);
        if b.saturating_sub(a) > 32 {
            // Below the first byte, the id's next 7 bytes place it in the bucket.
            let within = u64::from_be_bytes(oid.get(..8)?.try_into().ok()?) & ((1 << 56) - 1);
            let g = a + ((u128::from(within) * (b - a) as u128) >> 56) as usize;
            let g = g.min(b - 1);
            let mut step = 16;
            match cmp_at(g)? {
                Equal => return self.offset_at(g),
                Less => {
                    a = g + 1;
                    while a + step < b {
                        match cmp_at(a + step)? {
                            Less => {
                                a += step + 1;
                                step *= 2;
                            }
                            Greater => {
                                b = a + step;
                                break;
                            }
                            Equal => return self.offset_at(a + step),
                        }
                    }
                }
                Greater => {
                    b = g;
                    while b > a + step {
                        match cmp_at(b - step - 1)? {
                            Greater => {
                                b -= step + 1;
                                step *= 2;
                            }
                            Less => {
                                a = b - step;
                                break;
                            }
                            Equal => return self.offset_at(b - step - 1),
                        }
                    }
                }
            }
        }
        while a < b {
            let m = (a + b) / 2;
            match cmp_at(m)? {
                Less => a = m + 1,
                Greater => b = m,
                Equal => return self.offset_at(m),
            }
        }
        None
    }

    /// The compressed bytes of the object at `offset` (header included), at most `max` of
    /// them (64 are enough for any header and delta base reference), into `buf`.
    fn raw(&self, offset: u64, max: u64, buf: &mut Vec<u8>) -> Result<(), String> {
        let i = self.bounds.partition_point(|&b| b <= offset);
        let start_ok = i > 0 && self.bounds[i - 1] == offset;
        let end = *self.bounds.get(i).ok_or("offset past the last object")?;
        if !start_ok || end <= offset {
            return Err(format!("no object starts at pack offset {offset}"));
        }
        let len = usize::try_from((end - offset).min(max)).map_err(|_| "object too large")?;
        buf.clear();
        buf.resize(len, 0);
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| format!("cannot read pack: {e}"))
    }
}

/// What the start of a packed object says.
struct Header {
    kind: u8,
    size: u64,
    /// Bytes of header (and of the delta base reference) before the zlib stream.
    len: usize,
    base: Option<Base>,
}

enum Base {
    Offset(u64),
    Id([u8; 20]),
}

fn parse_header(raw: &[u8], offset: u64) -> Result<Header, String> {
    let bad = || format!("corrupt object header at pack offset {offset}");
    let mut i = 0;
    let mut c = *raw.get(i).ok_or_else(bad)?;
    i += 1;
    let kind = (c >> 4) & 7;
    let mut size = u64::from(c & 15);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *raw.get(i).ok_or_else(bad)?;
        i += 1;
        if shift > 57 {
            return Err(bad());
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        6 => {
            let mut c = *raw.get(i).ok_or_else(bad)?;
            i += 1;
            let mut back = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = *raw.get(i).ok_or_else(bad)?;
                i += 1;
                back = back
                    .checked_add(1)
                    .and_then(|b| b.checked_mul(128))
                    .ok_or_else(bad)?
                    | u64::from(c & 0x7f);
            }
            if back == 0 || back > offset {
                return Err(bad());
            }
            Some(Base::Offset(offset - back))
        }
        7 => {
            let id: [u8; 20] = raw
                .get(i..i + 20)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(bad)?;
            i += 20;
            Some(Base::Id(id))
        }
        1..=4 => None,
        _ => return Err(bad()),
    };
    Ok(Header {
        kind,
        size,
        len: i,
        base,
    })
}

fn kind_of(k: u8) -> Kind {
    match k {
        1 => Kind::Commit,
        2 => Kind::Tree,
        4 => Kind::Tag,
        _ => Kind::Blob,
    }
}

/// Inflates a zlib stream that must produce exactly `size` bytes.
fn inflate(
    z: &mut flate2::Decompress,
    data: &[u8],
    size: u64,
    limit: u64,
) -> Result<Vec<u8>, String> {
    if size > limit {
        return Err(format!("object of {size} bytes is over the size limit"));
    }
    let size = usize::try_from(size).map_err(|_| "object too large")?;
    let mut out = Vec::with_capacity(size);
    // One inflate state per thread, reset per object: creating one allocates ~40 KB.
    z.reset(true);
    loop {
        let before = (z.total_in(), z.total_out());
        let input = data.get(z.total_in() as usize..).unwrap_or(&[]);
        // One spare byte of room tells a stream that is longer than its header says.
        out.reserve(1);
        let status = z
            .decompress_vec(input, &mut out, flate2::FlushDecompress::None)
            .map_err(|e| format!("corrupt zlib stream: {e}"))?;
        if out.len() > size {
            return Err("object longer than its header says".into());
        }
        match status {
            flate2::Status::StreamEnd => break,
            _ if (z.total_in(), z.total_out()) == before => {
                return Err("truncated zlib stream".into());
            }
            _ => {}
        }
    }
    if out.len() != size {
        return Err("object shorter than its header says".into());
    }
    Ok(out)
}

fn varint(d: &[u8], i: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let c = *d.get(*i).ok_or("truncated delta")?;
        *i += 1;
        if shift > 63 {
            return Err("corrupt delta size".into());
        }
        v |= u64::from(c & 0x7f) << shift;
        shift += 7;
        if c & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// Applies a git delta (copy-from-base and insert instructions) to `base`.
pub fn apply_delta(base: &[u8], delta: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut i = 0;
    let src = varint(delta, &mut i)?;
    let dst = varint(delta, &mut i)?;
    if src != base.len() as u64 {
        return Err("delta base has the wrong size".into());
    }
    if dst > limit {
        return Err(format!("object of {dst} bytes is over the size limit"));
    }
    let dst = usize::try_from(dst).map_err(|_| "object too large")?;
    let mut out = Vec::with_capacity(dst);
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut off = 0usize;
            let mut len = 0usize;
            for (bit, shift) in [(1u8, 0), (2, 8), (4, 16), (8, 24)] {
                if op & bit != 0 {
                    off |= usize::from(*delta.get(i).ok_or("truncated delta")?) << shift;
                    i += 1;
                }
            }
            for (bit, shift) in [(16u8, 0), (32, 8), (64, 16)] {
                if op & bit != 0 {
                    len |= usize::from(*delta.get(i).ok_or("truncated delta")?) << shift;
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let piece = off
                .checked_add(len)
                .and_then(|end| base.get(off..end))
                .ok_or("delta copies outside its base")?;
            out.extend_from_slice(piece);
        } else if op != 0 {
            let piece = delta.get(i..i + usize::from(op)).ok_or("truncated delta")?;
            out.extend_from_slice(piece);
            i += usize::from(op);
        } else {
            return Err("reserved delta instruction".into());
        }
        if out.len() > dst {
            return Err("delta result longer than it says".into());
        }
    }
    if out.len() != dst {
        return Err("delta result shorter than it says".into());
    }
    Ok(out)
}

impl Packs {
    /// Opens every version-2 pack under `objects_dir/pack`; unreadable ones are skipped
    /// (their objects then come from libgit2).
    pub fn open(objects_dir: &Path) -> Packs {
        let mut idx: Vec<_> = std::fs::read_dir(objects_dir.join("pack"))
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                    .collect()
            })
            .unwrap_or_default();
        idx.sort();
        Packs {
            packs: idx.iter().filter_map(|p| Pack::open(p)).collect(),
        }
    }

    /// Where an object is, if it is in a pack.
    pub fn locate(&self, oid: &[u8]) -> Option<Loc> {
        self.packs.iter().enumerate().find_map(|(i, p)| {
            p.find(oid).map(|offset| Loc {
                pack: i as u32,
                offset,
            })
        })
    }

    /// Reads and fully decodes the object at `loc`. `limit` bounds the decoded size (and
    /// every intermediate delta base): an object over it is [`ReadError::TooLarge`], found
    /// before anything big is inflated.
    pub fn read(
        &self,
        loc: Loc,
        limit: u64,
        cache: &mut Cache,
    ) -> Result<(Kind, Arc<Vec<u8>>), ReadError> {
        if let Some(hit) = cache.get(loc) {
            if hit.1.len() as u64 > limit {
                return Err(ReadError::TooLarge(hit.1.len() as u64));
            }
            return Ok(hit);
        }
        self.read_chain(loc, limit, cache)
            .map_err(|e| match e.strip_prefix(TOO_LARGE) {
                Some(n) => ReadError::TooLarge(n.parse().unwrap_or(u64::MAX)),
                None => ReadError::Corrupt(e),
            })
    }

    fn read_chain(
        &self,
        loc: Loc,
        limit: u64,
        cache: &mut Cache,
    ) -> Result<(Kind, Arc<Vec<u8>>), String> {
        // Only the object itself is held to `limit` (a small blob may be a delta against a
        // larger one); its bases get a generous bound that still stops a hostile size.
        let base_limit = limit.saturating_mul(4).max(MIN_BASE_LIMIT);
        // Follow the delta chain down to a whole object (or a cached one), then apply the
        // deltas back up, caching each result: in pack order, what was just decoded is the
        // likely base of what follows.
        let mut chain: Vec<(Loc, Vec<u8>)> = Vec::new();
        let mut at = loc;
        let (kind, mut data) = loop {
            if chain.len() > MAX_DEPTH {
                return Err("delta chain too deep".into());
            }
            if let Some(hit) = cache.get(at) {
                break hit;
            }
            let pack = self
                .packs
                .get(at.pack as usize)
                .ok_or("object in an unknown pack")?;
            // The read buffer is reused from object to object.
            let mut raw = std::mem::take(&mut cache.raw);
            pack.raw(at.offset, u64::MAX, &mut raw)?;
            let h = parse_header(&raw, at.offset)?;
            if chain.is_empty() && h.base.is_none() && h.size > limit {
                cache.raw = raw;
                return Err(format!("{TOO_LARGE}{}", h.size));
            }
            let body = raw.get(h.len..).unwrap_or(&[]);
            let decoded = match h.base {
                None => inflate(&mut cache.z, body, h.size, base_limit).map(|d| (d, None)),
                // A delta's own size can exceed the object's; bound it generously.
                Some(base) => inflate(&mut cache.z, body, h.size, base_limit.saturating_mul(2))
                    .map(|d| (d, Some(base))),
            };
            cache.raw = raw;
            match decoded? {
                (whole, None) => {
                    let whole = Arc::new(whole);
                    let kind = kind_of(h.kind);
                    cache.put(at, kind, &whole);
                    break (kind, whole);
                }
                (delta, Some(base)) => {
                    if chain.is_empty() {
                        // The object's own size is the first delta's result size: check it
                        // before resolving a chain of bases for nothing.
                        let mut i = 0;
                        let _src = varint(&delta, &mut i)?;
                        let dst = varint(&delta, &mut i)?;
                        if dst > limit {
                            return Err(format!("{TOO_LARGE}{dst}"));
                        }
                    }
                    chain.push((at, delta));
                    at = match base {
                        Base::Offset(o) => Loc {
                            pack: at.pack,
                            offset: o,
                        },
                        Base::Id(id) => self
                            .locate(&id)
                            .ok_or("delta base is not in any pack (a thin pack?)")?,
                    };
                }
            }
        };
        while let Some((l, delta)) = chain.pop() {
            data = Arc::new(apply_delta(&data, &delta, base_limit)?);
            cache.put(l, kind, &data);
        }
        Ok((kind, data))
    }

    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }

    /// Every object's location, pack by pack, each pack in its own order.
    pub fn locations(&self) -> impl Iterator<Item = Loc> + '_ {
        self.packs.iter().enumerate().flat_map(|(i, p)| {
            let objects = p.bounds.len().saturating_sub(1);
            p.bounds[..objects].iter().map(move |&offset| Loc {
                pack: i as u32,
                offset,
            })
        })
    }

    /// The type of the object at `loc`, from its header and those of its delta bases:
    /// nothing is inflated. `None` when a header is corrupt or a base cannot be found.
    pub fn kind(&self, loc: Loc, buf: &mut Vec<u8>) -> Option<Kind> {
        let mut at = loc;
        for _ in 0..=MAX_DEPTH {
            let pack = self.packs.get(at.pack as usize)?;
            pack.raw(at.offset, 64, buf).ok()?;
            let h = parse_header(buf, at.offset).ok()?;
            at = match h.base {
                None => return Some(kind_of(h.kind)),
                Some(Base::Offset(o)) => Loc {
                    pack: at.pack,
                    offset: o,
                },
                Some(Base::Id(id)) => self.locate(&id)?,
            };
        }
        None
    }
}

/// One entry of a tree object.
#[derive(Debug, PartialEq, Eq)]
pub struct TreeEntry<'a> {
    pub mode: u32,
    pub name: &'a [u8],
    pub id: [u8; 20],
}

impl TreeEntry<'_> {
    pub fn is_tree(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
    pub fn is_submodule(&self) -> bool {
        self.mode & 0o170000 == 0o160000
    }
    pub fn is_blob(&self) -> bool {
        self.mode & 0o170000 == 0o100000 || self.mode & 0o170000 == 0o120000
    }
}

/// The entries of a tree object (`<octal mode> <name>\0<20-byte id>`...); `Err` at the first
/// malformed entry.
pub fn tree_entries(data: &[u8]) -> impl Iterator<Item = Result<TreeEntry<'_>, String>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        fn parse(r: &[u8]) -> Option<(TreeEntry<'_>, usize)> {
            let sp = memchr::memchr(b' ', r)?;
            let mode = r[..sp].iter().try_fold(0u32, |m, &c| {
                (b'0'..=b'7')
                    .contains(&c)
                    .then(|| m.checked_mul(8).map(|m| m + u32::from(c - b'0')))
                    .flatten()
            })?;
            let nul = sp + 1 + memchr::memchr(0, &r[sp + 1..])?;
            let id: [u8; 20] = r.get(nul + 1..nul + 21)?.try_into().ok()?;
            Some((
                TreeEntry {
                    mode,
                    name: &r[sp + 1..nul],
                    id,
                },
                nul + 21,
            ))
        }
        match parse(rest) {
            Some((e, used)) => {
                rest = &rest[used..];
                Some(Ok(e))
            }
            None => {
                rest = &[];
                Some(Err("malformed tree entry".to_string()))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::git::tests::git;

    /// Offsets from the reverse index are the sorted offsets; a damaged one is not used.
    #[test]
    fn reverse_index_gives_the_sorted_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        for i in 0..40 {
            std::fs::write(
                repo.join(format!("f{}", i % 7)),
                format!("line {i}\n").repeat(i + 1),
            )
            .unwrap();
            git(repo, &["add", "-A"]);
            git(repo, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(
            repo,
            &["-c", "pack.writeReverseIndex=true", "repack", "-adq"],
        );
        let pack_dir = repo.join(".git/objects/pack");
        let idx = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap();
        let rev = idx.with_extension("rev");
        assert!(rev.exists(), "git wrote no .rev");
        let with_rev = Pack::open(&idx).unwrap();
        let bytes = std::fs::read(&rev).unwrap();
        std::fs::remove_file(&rev).unwrap();
        let sorted = Pack::open(&idx).unwrap();
        assert!(with_rev.objects > 100);
        assert_eq!(with_rev.bounds, sorted.bounds);
        // The first two entries swapped: out of order, so the offsets are sorted instead.
        let mut bad = bytes.clone();
        bad[12..16].copy_from_slice(&bytes[16..20]);
        bad[16..20].copy_from_slice(&bytes[12..16]);
        std::fs::write(&rev, &bad).unwrap();
        assert_eq!(Pack::open(&idx).unwrap().bounds, sorted.bounds);
        // Truncated.
        std::fs::write(&rev, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(Pack::open(&idx).unwrap().bounds, sorted.bounds);
    }

    #[test]
    fn delta_copy_and_insert() {
        let base = b"hello, world";
        // src 12, dst 11: copy 5 bytes at 0 ("hello"), insert " you!", copy "!"? no: insert.
        let delta = [
            12u8,
            11,
            0x80 | 0x10,
            5,
            6,
            b' ',
            b'y',
            b'o',
            b'u',
            b'!',
            b'!',
        ];
        assert_eq!(apply_delta(base, &delta, 100).unwrap(), b"hello you!!");
        // Copy beyond the base, truncated, reserved op, wrong sizes: errors, never a panic.
        assert!(apply_delta(base, &[12, 5, 0x80 | 0x01 | 0x10, 10, 5], 100).is_err());
        assert!(apply_delta(base, &[12, 5, 0x80 | 0x01], 100).is_err());
        assert!(apply_delta(base, &[12, 1, 0], 100).is_err());
        assert!(apply_delta(base, &[11, 1, 1, b'x'], 100).is_err());
        assert!(apply_delta(base, &[12, 200, 1, b'x'], 100).is_err());
    }

    #[test]
    fn tree_entries_parse_and_reject_garbage() {
        let mut t = Vec::new();
        t.extend_from_slice(b"100644 a.txt\0");
        t.extend_from_slice(&[1u8; 20]);
        t.extend_from_slice(b"40000 dir\0");
        t.extend_from_slice(&[2u8; 20]);
        t.extend_from_slice(b"160000 sub\0");
        t.extend_from_slice(&[3u8; 20]);
        let e: Vec<_> = tree_entries(&t).collect::<Result<_, _>>().unwrap();
        assert_eq!(e.len(), 3);
        assert!(e[0].is_blob() && e[1].is_tree() && e[2].is_submodule());
        assert_eq!(e[1].name, b"dir");
        assert!(tree_entries(b"100644 x\0short").any(|r| r.is_err()));
        assert!(tree_entries(b"10z644 x\0aaaaaaaaaaaaaaaaaaaa").any(|r| r.is_err()));
    }

    #[test]
    fn headers_reject_garbage() {
        assert!(parse_header(&[], 10).is_err());
        assert!(parse_header(&[0x80], 10).is_err());
        // OFS_DELTA pointing before the pack start.
        assert!(parse_header(&[0x60 | 3, 0x7f], 10).is_err());
        // Type 5 is reserved.
        assert!(parse_header(&[0x50], 10).is_err());
        let h = parse_header(&[0x30 | 0x85, 0x01], 10).unwrap();
        assert_eq!((h.kind, h.size, h.len), (3, 5 | (1 << 4), 2));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), base in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_header(&bytes, 1000);
            let _ = apply_delta(&base, &bytes, 1 << 20);
            let _ = inflate(&mut flate2::Decompress::new(true), &bytes, 100, 1 << 20);
            let _ = tree_entries(&bytes).count();
        }
    }
}

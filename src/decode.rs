//! Encoded content: spans that look like base64 (standard or URL-safe), hex,
//! percent-encoding or `\uXXXX` / `\xXX` escapes, and their decoders.
//!
//! Secrets are often stored encoded (a Kubernetes Secret's `data:` values are base64, CI
//! variables get hex- or percent-encoded, JSON escapes hide a prefix), so the literal scan
//! misses them. [`crate::scan::Scanner`] re-scans what these spans decode to. To keep the
//! hot path fast, only cheap candidates are considered: one linear pass classifies runs of
//! the base64 alphabet (length, mixed case, a single alphabet), `%` and `\` are found with
//! `memchr`, and a decoder gives up at the first byte that is not printable text, so a
//! megabyte of base64 image data costs a few bytes of decoding. Decoders never panic on
//! any input (a proptest checks this).

use std::ops::Range;

/// Shortest base64 run considered (18 decoded bytes: shorter values are rarely secrets).
pub const MIN_BASE64: usize = 24;
/// Shortest hex run considered (16 decoded bytes).
pub const MIN_HEX: usize = 32;
/// Shortest percent- or backslash-escaped span considered.
pub const MIN_ESCAPED: usize = 12;
/// Longer spans are not decoded (a secret does not hide in a megabyte of base64).
pub const MAX_SPAN: usize = 1 << 20;

/// An encoding recognised by [`candidates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Base64Url,
    Hex,
    Percent,
    Escape,
}

impl Encoding {
    /// The name recorded in `Location.decoded`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escape => "escape",
        }
    }
}

/// A byte range of the scanned buffer that may be encoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub range: Range<usize>,
    pub encoding: Encoding,
}

impl Span {
    /// Decodes the span's bytes of `data`; `None` unless they decode to printable text.
    pub fn decode(&self, data: &[u8]) -> Option<Vec<u8>> {
        let s = data.get(self.range.clone())?;
        match self.encoding {
            Encoding::Base64 => decode_base64(s, false),
            Encoding::Base64Url => decode_base64(s, true),
            Encoding::Hex => decode_hex(s),
            Encoding::Percent => decode_percent(s),
            Encoding::Escape => decode_escapes(s),
        }
    }
}

const B64: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
const DIGIT: u8 = 8;
const STD: u8 = 16; // + /
const URL: u8 = 32; // - _
const HEX: u8 = 64;

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'A'..=b'F' => B64 | UPPER | HEX,
            b'G'..=b'Z' => B64 | UPPER,
            b'a'..=b'f' => B64 | LOWER | HEX,
            b'g'..=b'z' => B64 | LOWER,
            b'0'..=b'9' => B64 | DIGIT | HEX,
            b'+' | b'/' => B64 | STD,
            b'-' | b'_' => B64 | URL,
            _ => 0,
        };
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

/// Candidate spans in `data`, sorted by start. Cheap: no decoding happens here.
pub fn candidates(data: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    alphabet_runs(data, &mut out);
    if memchr::memchr(b'%', data).is_some() {
        escaped_runs(data, b'%', &mut out);
    }
    if memchr::memchr(b'\\', data).is_some() {
        escaped_runs(data, b'\\', &mut out);
    }
    out.sort_by_key(|s| (s.range.start, s.range.end));
    out
}

/// Runs of the base64 alphabet (plus up to two `=`), classified as base64, base64url or hex.
///
/// Only runs of at least [`MIN_BASE64`] bytes matter. The input is classified 64 bytes at a
/// time into a bit mask (one bit per byte in the alphabet: SSE2 on x86-64, a table
/// elsewhere), and a few shifts and ANDs of two neighbouring masks give every position where
/// [`MIN_BASE64`] alphabet bytes start: ordinary text has none in most blocks, so a block
/// costs a few dozen instructions and no unpredictable branch. (A byte-probing scan, which
/// skipped ahead by the run length, ran at 1.8 GB/s on a rails checkout, most of it lost to
/// branch mispredictions.) Only the runs found are then read byte by byte.
fn alphabet_runs(data: &[u8], out: &mut Vec<Span>) {
    const _: () = assert!(MIN_BASE64 == 24, "starts_of_runs assumes runs of 24");
    let n = data.len();
    let is = |b: u8| CLASS[b as usize] & B64 != 0;
    // Invariant: data[i - 1] is not in the alphabet (or i == 0): a run found at or after
    // `i` starts at a run boundary.
    let mut i = 0;
    let mut block = 0;
    // The mask of the block after the current one, when computed already.
    let mut ahead: Option<(usize, u64)> = None;
    while block < n && i + MIN_BASE64 <= n {
        let here = match ahead {
            Some((b, m)) if b == block => m,
            _ => alphabet_mask(data, block),
        };
        let next = alphabet_mask(data, block + 64);
        ahead = Some((block + 64, next));
        let mut starts = starts_of_runs(here, next);
        loop {
            if i > block {
                starts &= u64::MAX.checked_shl((i - block) as u32).unwrap_or(0);
            }
            if starts == 0 {
                break;
            }
            let start = block + starts.trailing_zeros() as usize;
            let mut stop = start + MIN_BASE64;
            while stop < n && is(data[stop]) {
                stop += 1;
            }
            i = run(data, start, stop, out);
            if i >= block + 64 {
                break;
            }
        }
        block = if i >= block + 64 { i & !63 } else { block + 64 };
    }
}

/// Bit k set when `data[at + k]` is in the base64 alphabet (0 past the end of `data`).
fn alphabet_mask(data: &[u8], at: usize) -> u64 {
    let mut chunk = [0u8; 64];
    match data.get(at..at + 64) {
        Some(full) => chunk.copy_from_slice(full),
        None => {
            let rest = data.get(at..).unwrap_or(&[]);
            chunk[..rest.len()].copy_from_slice(rest);
        }
    }
    mask_of(&chunk)
}

#[cfg(target_arch = "x86_64")]
fn mask_of(chunk: &[u8; 64]) -> u64 {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it, and rustc
    // enables it for every x86-64 target.
    unsafe { mask_sse2(chunk) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn mask_sse2(chunk: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    let mut mask = 0u64;
    for (k, part) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: `part` is 16 bytes long, and an unaligned load reads exactly those 16
        // bytes. SSE2 is part of the x86-64 baseline.
        let v = unsafe { _mm_loadu_si128(part.as_ptr().cast::<__m128i>()) };
        let byte = |b: u8| _mm_set1_epi8(b as i8);
        // Bytes >= 0x80 compare as negative: never in a range below.
        let folded = _mm_or_si128(v, byte(0x20));
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(folded, byte(b'a' - 1)),
            _mm_cmplt_epi8(folded, byte(b'z' + 1)),
        );
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, byte(b'0' - 1)),
            _mm_cmplt_epi8(v, byte(b'9' + 1)),
        );
        let sign = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, byte(b'+')), _mm_cmpeq_epi8(v, byte(b'/'))),
            _mm_or_si128(_mm_cmpeq_epi8(v, byte(b'-')), _mm_cmpeq_epi8(v, byte(b'_'))),
        );
        let all = _mm_or_si128(_mm_or_si128(letter, digit), sign);
        mask |= u64::from(_mm_movemask_epi8(all) as u16) << (16 * k);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn mask_of(chunk: &[u8; 64]) -> u64 {
    chunk.iter().enumerate().fold(0u64, |m, (k, &b)| {
        m | (u64::from(CLASS[b as usize] & B64 != 0) << k)
    })
}

/// Bit k set when bits k..k+24 of `here` followed by `next` are all set: a run of 24
/// alphabet bytes starts at byte k of the block.
fn starts_of_runs(here: u64, next: u64) -> u64 {
    let m = u128::from(here) | (u128::from(next) << 64);
    let r2 = m & (m >> 1);
    let r4 = r2 & (r2 >> 2);
    let r8 = r4 & (r4 >> 4);
    let r16 = r8 & (r8 >> 8);
    let r24 = r16 & (r16 >> 8);
    r24 as u64
}

/// Classifies the run `data[start..stop]` (its padding after it) and records it; returns
/// where the next run can start.
fn run(data: &[u8], start: usize, stop: usize, out: &mut Vec<Span>) -> usize {
    let n = data.len();
    let is = |b: u8| CLASS[b as usize] & B64 != 0;
    let (mut any, mut all) = (0u8, 0xFFu8);
    for &b in &data[start..stop] {
        let c = CLASS[b as usize];
        any |= c;
        all &= c;
    }
    let len = stop - start;
    let mut end = stop;
    let mut pad = 0;
    while end < n && data[end] == b'=' && pad < 2 {
        end += 1;
        pad += 1;
    }
    // A run glued to more alphanumerics after its padding is not one value.
    if (pad > 0 && end < n && is(data[end])) || len > MAX_SPAN {
        return end;
    }
    if all & HEX != 0 && pad == 0 {
        if len >= MIN_HEX && len.is_multiple_of(2) {
            out.push(Span {
                range: start..end,
                encoding: Encoding::Hex,
            });
        }
    } else if len % 4 != 1
        && any & UPPER != 0
        && any & LOWER != 0
        && !(any & STD != 0 && any & URL != 0)
    {
        let encoding = if any & URL != 0 {
            Encoding::Base64Url
        } else {
            Encoding::Base64
        };
        out.push(Span {
            range: start..end,
            encoding,
        });
    }
    end
}

/// Bytes that end a percent- or backslash-escaped run.
fn is_run_break(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b','
        )
        || b < 0x20
}

/// Maximal runs around `%XX` (for `%`) or `\uXXXX` / `\xXX` (for `\`) escapes.
fn escaped_runs(data: &[u8], marker: u8, out: &mut Vec<Span>) {
    let mut next_free = 0;
    for at in memchr::memchr_iter(marker, data) {
        if at < next_free || escape_len(data, at, marker) == 0 {
            continue;
        }
        let mut start = at;
        while start > 0 && !is_run_break(data[start - 1]) && at - start < MAX_SPAN {
            start -= 1;
        }
        let mut end = at;
        let mut escapes = 0;
        while end < data.len() && !is_run_break(data[end]) && end - start < MAX_SPAN {
            let e = escape_len(data, end, marker);
            if e > 0 {
                escapes += 1;
                end += e;
            } else if marker == b'\\' && data[end] == b'\\' && end + 1 < data.len() {
                end += 2; // another escape (\n, \\, \/): part of the run
            } else {
                end += 1;
            }
        }
        let end = end.min(data.len());
        next_free = end;
        let need = if marker == b'%' { 2 } else { 1 };
        if escapes >= need && end - start >= MIN_ESCAPED {
            out.push(Span {
                range: start..end,
                encoding: if marker == b'%' {
                    Encoding::Percent
                } else {
                    Encoding::Escape
                },
            });
        }
    }
}

/// Length of the escape at `at` (`%XX`, `\xXX`, `\uXXXX`), or 0.
fn escape_len(data: &[u8], at: usize, marker: u8) -> usize {
    let hex = |r: Range<usize>| {
        data.get(r)
            .is_some_and(|s| s.iter().all(u8::is_ascii_hexdigit))
    };
    if data.get(at) != Some(&marker) {
        return 0;
    }
    if marker == b'%' {
        return if hex(at + 1..at + 3) { 3 } else { 0 };
    }
    match data.get(at + 1) {
        Some(b'x') if hex(at + 2..at + 4) => 4,
        Some(b'u') if hex(at + 2..at + 6) => 6,
        _ => 0,
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Text a decoder may produce: printable ASCII, tab/newline/CR, or (checked as UTF-8 at the
/// end) bytes of multi-byte characters.
fn ok_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7E | 0x80..=0xFF)
}

/// True when `b` is non-empty printable UTF-8 text (no control characters but whitespace).
pub fn is_printable(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|&c| ok_byte(c)) && std::str::from_utf8(b).is_ok()
}

fn finish(out: Vec<u8>, min: usize) -> Option<Vec<u8>> {
    (out.len() >= min && std::str::from_utf8(&out).is_ok()).then_some(out)
}

/// Base64 (standard or URL-safe alphabet, padding optional). Stops at the first decoded
/// byte that is not text.
pub fn decode_base64(s: &[u8], url: bool) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    if s.len() % 4 == 1 || s.len() > MAX_SPAN {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if !url => 62,
            b'/' if !url => 63,
            b'-' if url => 62,
            b'_' if url => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | val(c)?;
        }
        let bytes = match chunk.len() {
            4 => [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8].to_vec(),
            3 => [(acc >> 10) as u8, (acc >> 2) as u8].to_vec(),
            2 => [(acc >> 4) as u8].to_vec(),
            _ => return None,
        };
        for b in bytes {
            if !ok_byte(b) {
                return None;
            }
            out.push(b);
        }
    }
    finish(out, 8)
}

/// Hex pairs (either case). Stops at the first decoded byte that is not text.
pub fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > MAX_SPAN {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    for p in s.chunks_exact(2) {
        let b = (hex_val(p[0])? << 4) | hex_val(p[1])?;
        if !ok_byte(b) {
            return None;
        }
        out.push(b);
    }
    finish(out, 8)
}

/// `%XX` escapes; other bytes kept. `None` when nothing was decoded or the result is not text.
pub fn decode_percent(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let mut any = false;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|&c| hex_val(c)),
                s.get(i + 2).and_then(|&c| hex_val(c)),
            )
        {
            out.push((h << 4) | l);
            any = true;
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    (any && is_printable(&out)).then_some(out)
}

/// `\uXXXX` (surrogate pairs joined), `\xXX`, and the common one-letter escapes.
pub fn decode_escapes(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let mut any = false;
    let hex4 = |at: usize| -> Option<u32> {
        let h = s.get(at..at + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = (v << 4) | hex_val(c)? as u32;
        }
        Some(v)
    };
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        match s[i + 1] {
            b'u' if hex4(i + 2).is_some() => {
                let hi = hex4(i + 2).unwrap_or(0xFFFD);
                let mut used = 6;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    match (s.get(i + 6..i + 8), hex4(i + 8)) {
                        (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => {
                            used = 12;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        _ => 0xFFFD,
                    }
                } else {
                    hi
                };
                let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                any = true;
                i += used;
            }
            b'x' if s.get(i + 2).and_then(|&c| hex_val(c)).is_some()
                && s.get(i + 3).and_then(|&c| hex_val(c)).is_some() =>
            {
                let h = hex_val(s[i + 2]).unwrap_or(0);
                let l = hex_val(s[i + 3]).unwrap_or(0);
                out.push((h << 4) | l);
                any = true;
                i += 4;
            }
            c @ (b'\\' | b'/' | b'"' | b'\'') => {
                out.push(c);
                i += 2;
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
            }
            b'r' => {
                out.push(b'\r');
                i += 2;
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    (any && is_printable(&out)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b64(s: &str) -> String {
        // Small local encoder so the tests do not depend on the decoder under test.
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                if k <= c.len() {
                    out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_mask_is_the_alphabet() {
        for b in 0..=255u8 {
            let mut chunk = [b'.'; 64];
            chunk[b as usize % 64] = b;
            let want = u64::from(CLASS[b as usize] & B64 != 0) << (b as usize % 64);
            assert_eq!(mask_of(&chunk), want, "byte {b:#04x}");
        }
        assert_eq!(mask_of(&[b'A'; 64]), u64::MAX);
        // Runs of exactly 24 start where they start; 23 is not enough.
        assert_eq!(starts_of_runs(0xFF_FFFF, 0), 1);
        assert_eq!(starts_of_runs(0x7F_FFFF, 0), 0);
        assert_eq!(starts_of_runs(u64::MAX << 60, 0xF_FFFF), 1 << 60);
        assert_eq!(starts_of_runs(u64::MAX << 60, 0x7_FFFF), 0);
    }

    /// Byte-by-byte reference for `alphabet_runs`.
    fn naive_runs(data: &[u8]) -> Vec<Span> {
        let mut out = Vec::new();
        let (mut i, n) = (0, data.len());
        while i < n {
            if CLASS[data[i] as usize] & B64 == 0 {
                i += 1;
                continue;
            }
            let start = i;
            let (mut any, mut all) = (0u8, 0xFFu8);
            while i < n && CLASS[data[i] as usize] & B64 != 0 {
                any |= CLASS[data[i] as usize];
                all &= CLASS[data[i] as usize];
                i += 1;
            }
            let len = i - start;
            let mut end = i;
            while end < n && data[end] == b'=' && end - i < 2 {
                end += 1;
            }
            let pad = end - i;
            i = end;
            if pad > 0 && end < n && CLASS[data[end] as usize] & B64 != 0 {
                continue;
            }
            if all & HEX != 0 && pad == 0 {
                if len >= MIN_HEX && len % 2 == 0 {
                    out.push(Span {
                        range: start..end,
                        encoding: Encoding::Hex,
                    });
                }
            } else if len >= MIN_BASE64
                && len % 4 != 1
                && any & UPPER != 0
                && any & LOWER != 0
                && !(any & STD != 0 && any & URL != 0)
            {
                let encoding = if any & URL != 0 {
                    Encoding::Base64Url
                } else {
                    Encoding::Base64
                };
                out.push(Span {
                    range: start..end,
                    encoding,
                });
            }
        }
        out
    }

    const TOKEN: &str = "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";

    #[test]
    fn base64_standard_and_url() {
        let e = b64(TOKEN);
        assert_eq!(
            decode_base64(e.as_bytes(), false).unwrap(),
            TOKEN.as_bytes()
        );
        let url = b64("a?b>c~~~ secret >>> ???")
            .replace('+', "-")
            .replace('/', "_");
        assert_eq!(
            decode_base64(url.as_bytes(), true).unwrap(),
            b"a?b>c~~~ secret >>> ???"
        );
        // Unpadded works; a binary payload does not decode.
        assert!(decode_base64(e.trim_end_matches('=').as_bytes(), false).is_some());
        assert!(decode_base64(b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB", false).is_none());
        assert!(decode_base64(b"abcde", false).is_none());
    }

    #[test]
    fn hex_percent_escapes() {
        let hex: String = TOKEN.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(decode_hex(hex.as_bytes()).unwrap(), TOKEN.as_bytes());
        assert!(decode_hex(b"da39a3ee5e6b4b0d3255bfef95601890afd80709").is_none());
        assert_eq!(
            decode_percent(b"user%3Ap%40ss%2Fword").unwrap(),
            b"user:p@ss/word"
        );
        assert!(decode_percent(b"no escapes here").is_none());
        assert_eq!(
            decode_escapes(br"\u0067hp\x5f\u00e9\ud83d\ude00\/x").unwrap(),
            "ghp_é😀/x".as_bytes()
        );
        assert!(decode_escapes(br"\x00\x01 binary").is_none());
    }

    #[test]
    fn candidates_find_encoded_values_only() {
        let e = b64(TOKEN);
        let text = format!(
            "data:\n  token: {e}\n  id: a_very_long_snake_case_identifier_name\n  \
             sha: da39a3ee5e6b4b0d3255bfef95601890afd80709\n  url: x?q=%67%68p_abc%5Fdef\n  \
             js: \"\\u0067hp_abcdefgh\"\n"
        );
        let c = candidates(text.as_bytes());
        let kinds: Vec<(Encoding, &str)> = c
            .iter()
            .map(|s| (s.encoding, &text[s.range.clone()]))
            .collect();
        assert!(kinds.contains(&(Encoding::Base64, e.as_str())), "{kinds:?}");
        assert!(kinds.iter().any(|(k, _)| *k == Encoding::Hex), "{kinds:?}");
        assert!(
            kinds.iter().any(|(k, _)| *k == Encoding::Percent),
            "{kinds:?}"
        );
        assert!(
            kinds.iter().any(|(k, _)| *k == Encoding::Escape),
            "{kinds:?}"
        );
        // All-lowercase identifiers are not base64 candidates.
        assert!(
            !kinds.iter().any(|(_, s)| s.contains("snake_case")),
            "{kinds:?}"
        );
        let b = c.iter().find(|s| s.encoding == Encoding::Base64).unwrap();
        assert_eq!(b.decode(text.as_bytes()).unwrap(), TOKEN.as_bytes());
    }

    #[test]
    fn printable() {
        assert!(is_printable("héllo\n".as_bytes()));
        assert!(!is_printable(b"a\0b"));
        assert!(!is_printable(&[0xC3]));
        assert!(!is_printable(b""));
    }

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for s in candidates(&data) {
                let _ = s.decode(&data);
            }
            let _ = decode_base64(&data, false);
            let _ = decode_base64(&data, true);
            let _ = decode_hex(&data);
            let _ = decode_percent(&data);
            let _ = decode_escapes(&data);
        }

        #[test]
        fn skipping_scan_equals_a_naive_scan(s in "[A-Za-z0-9+/=_ .-]{0,300}") {
            let d = s.as_bytes();
            let mut got = Vec::new();
            alphabet_runs(d, &mut got);
            prop_assert_eq!(got, naive_runs(d));
        }

        /// Long runs, every byte value as a separator, runs across 64-byte blocks.
        #[test]
        fn block_scan_equals_a_naive_scan(
            pieces in proptest::collection::vec(
                (0usize..130, proptest::sample::select(vec![
                    b"aZ09".to_vec(), b"abcdef0123".to_vec(), b"Ab+/".to_vec(), b"x-_Y".to_vec(),
                ]), proptest::num::u8::ANY, 0usize..3),
                0..24,
            )
        ) {
            let mut d = Vec::new();
            for (len, alphabet, sep, pad) in pieces {
                d.extend((0..len).map(|k| alphabet[(k * 7 + len) % alphabet.len()]));
                d.extend(std::iter::repeat_n(b'=', pad));
                d.push(sep);
            }
            let mut got = Vec::new();
            alphabet_runs(&d, &mut got);
            prop_assert_eq!(got, naive_runs(&d));
        }

        #[test]
        fn escapes_never_panic(s in "[\\\\u%x0-9a-fA-F\"' ]{0,64}") {
            let d = s.as_bytes();
            for c in candidates(d) {
                let _ = c.decode(d);
            }
            let _ = decode_escapes(d);
            let _ = decode_percent(d);
        }
    }
}

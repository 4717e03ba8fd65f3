//! The encoded-span finder and decoders of `decode` (what `Scanner::scan_text` re-scans),
//! each against an independent oracle:
//! - `candidates`: spans sorted, in bounds, at least the minimum length, base64/hex spans
//!   made of their alphabet (plus `=` padding), and every span decodes without panicking;
//! - `decode_base64` (both alphabets) agrees exactly with the `base64` crate (no padding
//!   required, trailing bits allowed) filtered by "printable UTF-8 of at least 8 bytes";
//! - `decode_hex` output re-encodes to the input (case-insensitively), and it decodes every
//!   even-length hex string whose bytes are printable UTF-8 of at least 8 bytes;
//! - `decode_percent` agrees with a reference `%XX` decoder;
//! - `decode_escapes` agrees with `serde_json` on every valid JSON string body (without
//!   `\b`/`\f`, which it leaves alone) that it decodes, and decodes every such body with a
//!   `\u` escape whose text is printable.
//!
//! Input: first byte picks the function, the rest is its input.
#![no_main]

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use blastradius::decode::{
    self, Encoding, MAX_SPAN, MIN_BASE64, MIN_ESCAPED, MIN_HEX, decode_base64, decode_escapes,
    decode_hex, decode_percent, is_printable,
};
use libfuzzer_sys::fuzz_target;

const CFG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(true);
const STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CFG);
const URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CFG);

/// What a decoder may return: printable UTF-8 text (tab/newline/CR allowed), >= `min` bytes.
fn text(b: &[u8], min: usize) -> bool {
    b.len() >= min
        && b.iter()
            .all(|&c| matches!(c, b'\t' | b'\n' | b'\r' | 0x20..=0x7E | 0x80..=0xFF))
        && std::str::from_utf8(b).is_ok()
}

fn check_candidates(data: &[u8]) {
    let spans = decode::candidates(data);
    assert!(
        spans
            .windows(2)
            .all(|w| (w[0].range.start, w[0].range.end) <= (w[1].range.start, w[1].range.end)),
        "candidates not sorted"
    );
    for s in &spans {
        let r = s.range.clone();
        assert!(
            r.start < r.end && r.end <= data.len(),
            "span {r:?} out of bounds"
        );
        let bytes = &data[r.clone()];
        let body = bytes
            .strip_suffix(b"==")
            .or_else(|| bytes.strip_suffix(b"="))
            .unwrap_or(bytes);
        match s.encoding {
            Encoding::Hex => {
                assert!(bytes.len() >= MIN_HEX && bytes.iter().all(u8::is_ascii_hexdigit));
            }
            Encoding::Base64 | Encoding::Base64Url => {
                assert!(body.len() >= MIN_BASE64 && body.len() <= MAX_SPAN);
                let ok = |c: &u8| {
                    c.is_ascii_alphanumeric()
                        || if s.encoding == Encoding::Base64 {
                            matches!(c, b'+' | b'/')
                        } else {
                            matches!(c, b'-' | b'_')
                        }
                };
                assert!(
                    body.iter().all(ok),
                    "{:?} span with foreign bytes",
                    s.encoding
                );
            }
            Encoding::Percent => assert!(bytes.len() >= MIN_ESCAPED && bytes.contains(&b'%')),
            Encoding::Escape => assert!(bytes.len() >= MIN_ESCAPED && bytes.contains(&b'\\')),
        }
        if let Some(d) = s.decode(data) {
            assert!(is_printable(&d), "span decoded to non-text");
        }
    }
}

fn check_base64(s: &[u8], url: bool) {
    let ours = decode_base64(s, url);
    let body = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let engine = if url { &URL } else { &STD };
    let theirs = engine
        .decode(body)
        .ok()
        .filter(|d| body.len() <= MAX_SPAN && text(d, 8));
    assert_eq!(
        ours, theirs,
        "base64 (url={url}) disagrees with the base64 crate"
    );
}

fn check_hex(s: &[u8]) {
    let ours = decode_hex(s);
    let theirs = (s.len().is_multiple_of(2)
        && s.len() <= MAX_SPAN
        && s.iter().all(u8::is_ascii_hexdigit))
    .then(|| {
        s.chunks_exact(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16).unwrap_or(0))
            .collect::<Vec<u8>>()
    })
    .filter(|d| text(d, 8));
    assert_eq!(ours, theirs, "hex");
    if let Some(d) = ours {
        let re: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            re.as_bytes().eq_ignore_ascii_case(s),
            "hex does not round-trip"
        );
    }
}

fn check_percent(s: &[u8]) {
    let mut out = Vec::new();
    let mut i = 0;
    let mut any = false;
    while i < s.len() {
        let hex = |j: usize| s.get(j).copied().filter(u8::is_ascii_hexdigit);
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            let v =
                u8::from_str_radix(std::str::from_utf8(&[h, l]).unwrap_or("0"), 16).unwrap_or(0);
            out.push(v);
            any = true;
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    let theirs = (any && is_printable(&out)).then_some(out);
    assert_eq!(decode_percent(s), theirs, "percent");
}

/// Does the JSON string body use `\b` or `\f` (which `decode_escapes` keeps), and `\u`?
fn escapes(s: &[u8]) -> (bool, bool) {
    let (mut bf, mut u) = (false, false);
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            match s.get(i + 1) {
                Some(b'b' | b'f') => bf = true,
                Some(b'u') => u = true,
                _ => {}
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    (bf, u)
}

fn check_escapes(s: &[u8]) {
    let ours = decode_escapes(s);
    if let Some(d) = &ours {
        assert!(is_printable(d));
    }
    let Ok(body) = std::str::from_utf8(s) else {
        return;
    };
    let Ok(json) = serde_json::from_str::<String>(&format!("\"{body}\"")) else {
        return;
    };
    let (bf, has_u) = escapes(s);
    if bf {
        return;
    }
    if let Some(d) = &ours {
        assert_eq!(
            d.as_slice(),
            json.as_bytes(),
            "escapes disagree with serde_json"
        );
    } else if has_u {
        assert!(
            !is_printable(json.as_bytes()),
            "valid JSON with \\u escapes not decoded: {json:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 6 {
        0 => check_candidates(rest),
        1 => check_base64(rest, pick & 0x80 != 0),
        2 => check_hex(rest),
        3 => check_percent(rest),
        4 => check_escapes(rest),
        _ => {
            // All of them on the same bytes.
            check_candidates(rest);
            check_base64(rest, false);
            check_base64(rest, true);
            check_hex(rest);
            check_percent(rest);
            check_escapes(rest);
        }
    }
});

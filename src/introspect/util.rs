//! Small, total helpers shared by the decoders: lenient base64, percent-decoding, ISO 8601
//! dates, JSON claim accessors and a sanitising `put` for [`Facts::fields`].
//!
//! Tokens in the wild are sloppy (padding dropped or kept, url-safe or standard alphabet,
//! percent-encoded twice in a config file), so decoding is lenient; but every value copied into
//! a report comes from attacker-controlled text, so it is stripped of control characters and
//! truncated before it is stored.

use super::Facts;
use crate::rules::Lifetime;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// Longest value stored in a field, in characters.
pub(crate) const MAX_FIELD_CHARS: usize = 200;

/// Decodes base64 in either alphabet, with or without padding. Whitespace is ignored (PEM
/// bodies, wrapped lines). `None` if it is not base64.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    let has_std = compact.contains(['+', '/']);
    let has_url = compact.contains(['-', '_']);
    match (has_std, has_url) {
        (true, true) => None,
        (true, false) => STANDARD.decode(compact.as_bytes()).ok(),
        _ => URL_SAFE.decode(compact.as_bytes()).ok(),
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are. Lossy for invalid UTF-8.
/// `+` is left alone: in SAS tokens and connection strings it is usually literal base64.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|&c| hex_val(c));
            let lo = bytes.get(i + 2).and_then(|&c| hex_val(c));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Stores a human-readable fact, without control characters and truncated to
/// [`MAX_FIELD_CHARS`]. Empty values are not stored.
pub(crate) fn put(facts: &mut Facts, key: &str, value: &str) {
    let clean = clean(value);
    if !clean.is_empty() {
        facts.fields.insert(key.to_string(), clean);
    }
}

/// `value` without control characters (each becomes a space: a terminal must not see an
/// escape sequence from a token), truncated to [`MAX_FIELD_CHARS`], trimmed.
pub(crate) fn clean(value: &str) -> String {
    let mut clean: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_FIELD_CHARS + 1)
        .collect();
    if clean.chars().count() > MAX_FIELD_CHARS {
        clean = clean.chars().take(MAX_FIELD_CHARS - 1).collect();
        clean.push('…');
    }
    clean.trim().to_string()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses the ISO 8601 subset Azure and others emit: `YYYY-MM-DD`, optionally followed by
/// `THH:MM[:SS[.fff]]` and `Z` or `±HH:MM`/`±HHMM` (no offset = UTC). Unix seconds.
pub(crate) fn iso8601_to_unix(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from.checked_add(len)?)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day).checked_mul(86_400)?;
    let mut i = 10;
    if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        let hour = num(i + 1, 2)?;
        if b.get(i + 3) != Some(&b':') {
            return None;
        }
        let minute = num(i + 4, 2)?;
        i += 6;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = num(i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
        }
        if hour > 24 || minute > 59 || second > 60 {
            return None;
        }
        secs = secs.checked_add(hour * 3600 + minute * 60 + second)?;
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1, 2)?;
                let om_at = if b.get(i + 3) == Some(&b':') {
                    i + 4
                } else {
                    i + 3
                };
                let om = if om_at >= b.len() { 0 } else { num(om_at, 2)? };
                if om_at < b.len() && om_at + 2 != b.len() {
                    return None;
                }
                let offset = oh * 3600 + om * 60;
                secs = if sign == b'+' {
                    secs.checked_sub(offset)?
                } else {
                    secs.checked_add(offset)?
                };
            }
            Some(_) => return None,
        }
    } else if i != b.len() {
        return None;
    }
    Some(secs)
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ` for human-readable fields.
pub(crate) fn unix_to_iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds from a JSON claim: an integer, a finite float (truncated) or a string of digits.
/// Values outside ±10^12 (year ~33658) are treated as garbage.
pub(crate) fn json_secs(v: &Value) -> Option<i64> {
    const LIMIT: i64 = 1_000_000_000_000;
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.is_finite() && f.abs() < LIMIT as f64).then_some(f as i64)
        })?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (-LIMIT < n && n < LIMIT).then_some(n)
}

/// A claim that is a string, or an array whose strings are joined with `sep`.
pub(crate) fn json_strings(v: &Value, sep: &str) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            (!parts.is_empty()).then(|| parts.join(sep))
        }
        _ => None,
    }
}

/// Lifetime class of a validity window: up to a day is `Short`, longer is `Long`.
pub(crate) fn lifetime_of_window(start: i64, end: i64) -> Option<Lifetime> {
    let span = end.checked_sub(start)?;
    if span <= 0 {
        None
    } else if span <= 86_400 {
        Some(Lifetime::Short)
    } else {
        Some(Lifetime::Long)
    }
}

/// The first `from..` substring made only of `ok` characters.
pub(crate) fn run_from(s: &str, from: usize, ok: impl Fn(char) -> bool) -> &str {
    let tail = s.get(from..).unwrap_or("");
    let end = tail.find(|c: char| !ok(c)).unwrap_or(tail.len());
    tail.get(..end).unwrap_or("")
}

/// Reads an unsigned LEB128 varint (protobuf, macaroon v2). Returns the value and the rest.
pub(crate) fn read_uvarint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        let shift = u32::try_from(i).ok()?.checked_mul(7)?;
        let low = u64::from(byte & 0x7f);
        if shift == 63 && low > 1 {
            return None;
        }
        value |= low.checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, buf.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base64_both_alphabets_with_and_without_padding() {
        assert_eq!(b64_decode("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(b64_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(b64_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(b64_decode("+/8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(b64_decode("+_8"), None);
        assert_eq!(b64_decode(""), None);
        assert_eq!(b64_decode("a"), None);
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%3Ab%2fc"), "a:b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a+b"), "a+b");
    }

    #[test]
    fn iso8601_forms() {
        assert_eq!(iso8601_to_unix("1970-01-01"), Some(0));
        assert_eq!(iso8601_to_unix("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(iso8601_to_unix("2030-01-01T00:00Z"), Some(1_893_456_000));
        assert_eq!(
            iso8601_to_unix("2030-01-01T01:00:00+01:00"),
            Some(1_893_456_000)
        );
        assert_eq!(
            iso8601_to_unix("2029-12-31T23:00:00-0100"),
            Some(1_893_456_000)
        );
        assert_eq!(
            iso8601_to_unix("2030-01-01T00:00:00.1234567Z"),
            Some(1_893_456_000)
        );
        assert_eq!(iso8601_to_unix("2000-02-29T12:00:00Z"), Some(951_825_600));
        for bad in [
            "",
            "2030",
            "2030-13-01",
            "2030-01-01T",
            "2030-01-01Tzz",
            "2030-01-01X",
        ] {
            assert_eq!(iso8601_to_unix(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso_round_trip() {
        assert_eq!(unix_to_iso(1_893_456_000), "2030-01-01T00:00:00Z");
        assert_eq!(unix_to_iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(unix_to_iso(951_825_600), "2000-02-29T12:00:00Z");
    }

    #[test]
    fn put_sanitises_and_truncates() {
        let mut f = Facts::default();
        put(&mut f, "a", "x\u{1b}[31my\n");
        assert_eq!(f.fields.get("a").map(String::as_str), Some("x [31my"));
        put(&mut f, "b", &"z".repeat(500));
        assert_eq!(
            f.fields.get("b").map(|v| v.chars().count()),
            Some(MAX_FIELD_CHARS)
        );
        put(&mut f, "c", "  ");
        assert!(!f.fields.contains_key("c"));
    }

    #[test]
    fn json_helpers() {
        assert_eq!(json_secs(&serde_json::json!(12)), Some(12));
        assert_eq!(json_secs(&serde_json::json!(12.9)), Some(12));
        assert_eq!(json_secs(&serde_json::json!("12")), Some(12));
        assert_eq!(json_secs(&serde_json::json!(1e300)), None);
        assert_eq!(json_secs(&serde_json::json!(u64::MAX)), None);
        assert_eq!(json_secs(&serde_json::json!(i64::MIN)), None);
        assert_eq!(json_secs(&serde_json::json!(-5)), Some(-5));
        assert_eq!(
            json_strings(&serde_json::json!(["a", 1, "b"]), " ").as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn varints() {
        assert_eq!(read_uvarint(&[0x05, 9]), Some((5, &[9][..])));
        assert_eq!(read_uvarint(&[0xac, 0x02]), Some((300, &[][..])));
        assert_eq!(read_uvarint(&[0x80]), None);
        assert_eq!(read_uvarint(&[0xff; 11]), None);
    }

    /// Arbitrary JSON values, for decoders that read JSON out of tokens.
    pub(crate) fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn helpers_never_panic(s in ".{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..20), n in any::<i64>()) {
            let _ = b64_decode(&s);
            let _ = percent_decode(&s);
            let _ = iso8601_to_unix(&s);
            let _ = read_uvarint(&bytes);
            let _ = unix_to_iso(n / 4);
            let _ = lifetime_of_window(n, n / 2);
            let _ = run_from(&s, bytes.len(), |c| c.is_ascii_alphanumeric());
        }

        #[test]
        fn iso_parses_what_it_prints(secs in -50_000_000_000i64..50_000_000_000) {
            prop_assert_eq!(iso8601_to_unix(&unix_to_iso(secs)), Some(secs));
        }
    }
}

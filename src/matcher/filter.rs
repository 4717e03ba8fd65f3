//! Shared false-positive defences applied to every candidate secret.
//!
//! These generalise instead of special-casing a rule: a value that is a template, an
//! environment lookup, a documented example or a human-typed placeholder is not a secret
//! whatever rule matched it. Each check is cheap and runs only on regex matches, never on
//! the whole input.

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a placeholder or documentation example when they appear
/// anywhere inside it (case-insensitive). Long enough not to occur by chance in random text.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example",
    b"changeme",
    b"change_me",
    b"change-me",
    b"placeholder",
    b"redacted",
    b"your_",
    b"your-",
    b"yourtoken",
    b"yourkey",
    b"yourpassword",
    b"yoursecret",
    b"replace_",
    b"replaceme",
    b"notarealkey",
    b"not_a_real",
    b"xxxxxx",
    b"******",
    // Magic numbers typed as stand-ins (`https://cafebabe:deadbeef@host`).
    b"deadbeef",
    b"cafebabe",
    b"\xe2\x80\xa6", // … (an already-redacted value)
];

/// Short marker words: only checked in short values (under 24 bytes), where they are
/// deliberate; in a long random token they occur by chance (a 2 KB key contains a given
/// 4-letter word with probability ~0.2%).
const SHORT_PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"dummy", b"todo", b"insert", b"fake_", b"sample_", b"qwerty", b"xxxx", b"****", b"....",
];

/// Whole values that are placeholders, not secrets.
const PLACEHOLDER_VALUES: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"secret",
    b"token",
    b"changeit",
    b"null",
    b"none",
    b"undefined",
];

/// Values published in provider documentation or RFCs as examples; matched exactly.
const DOCUMENTED_EXAMPLES: &[&[u8]] = &[
    b"sk_test_4eC39HqLyjWDarjtT1zdp7dc", // Stripe's documented test key
    b"2YotnFZFEjr1zCsicMWpAA",           // RFC 6749 example access token
    b"tGzv3JOkF0XG5Qx2TlKWIA",           // RFC 6749 example refresh token
    b"abcdef.0123456789abcdef",          // kubeadm's documented bootstrap token
    // Telegram Bot API docs, "Authorizing your bot" (core.telegram.org/bots/api).
    b"110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw",
];

/// Templating and lookup syntax that means the value is filled in elsewhere.
const TEMPLATE_MARKERS: &[&[u8]] = &[
    b"${",
    b"{{",
    b"}}",
    b"$(",
    b"<%",
    b"#{",
    b"process.env",
    b"os.environ",
    b"getenv",
    b"env(",
    b"env.",
    b"secrets.",
];

/// `needle` (lowercase) occurs in `lower` (already lowercased). Candidates are located with
/// `memchr` on the needle's first byte: checking every window with a case-insensitive compare
/// cost ~9,000 instructions per candidate over the ~40 markers, more than the rest of the
/// filter chain.
fn contains_lower(lower: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    memchr::memchr_iter(first, lower).any(|i| lower[i + 1..].starts_with(rest))
}

/// True when `secret` is a placeholder, template, lookup, or a trivially structured value.
/// `before` is the byte immediately preceding the secret (if any): a `$` or `%` there means
/// a variable reference such as `$TOKEN` or `%TOKEN%`.
pub fn is_placeholder(secret: &[u8], before: Option<u8>) -> bool {
    if secret.is_empty() {
        return true;
    }
    if matches!(before, Some(b'$') | Some(b'%')) {
        return true;
    }
    // <your-token>, [TOKEN], {token}
    let (first, last) = (secret[0], secret[secret.len() - 1]);
    if matches!((first, last), (b'<', b'>') | (b'[', b']') | (b'{', b'}')) {
        return true;
    }
    if secret.starts_with(b"$") || secret.starts_with(b"%") && secret.ends_with(b"%") {
        return true;
    }
    let lower = secret.to_ascii_lowercase();
    if TEMPLATE_MARKERS.iter().any(|m| contains_lower(&lower, m)) {
        return true;
    }
    // Python %-formatting: `%(name)s`.
    if contains_lower(&lower, b"%(") && contains_lower(&lower, b")s") {
        return true;
    }
    if PLACEHOLDER_WORDS.iter().any(|w| contains_lower(&lower, w)) {
        return true;
    }
    if secret.len() < 24
        && SHORT_PLACEHOLDER_WORDS
            .iter()
            .any(|w| contains_lower(&lower, w))
    {
        return true;
    }
    if PLACEHOLDER_VALUES
        .iter()
        .any(|v| secret.eq_ignore_ascii_case(v))
        || DOCUMENTED_EXAMPLES.contains(&secret)
    {
        return true;
    }
    // A value cut short for display: `sk_live_abc...`.
    if secret.ends_with(b"...") {
        return true;
    }
    // One character repeated over most of the value (aaaaaaaa, 00000000).
    let mut counts = [0usize; 256];
    for &b in secret {
        counts[b.to_ascii_lowercase() as usize] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    if secret.len() >= 8 && max * 10 >= secret.len() * 6 {
        return true;
    }
    false
}

/// Typed sequences (`abcdefgh`, `12345678`, `98765432`, `zyxwvuts`: a run of at least 8
/// characters each one after or before the previous, digits wrapping 9→0) mark a value
/// someone typed rather than generated: a random 32-character base62 string contains such
/// a run with probability about 1 in 10^11. What it means depends on the rule, so the
/// caller decides: a generic detector drops the value, a provider rule keeps it as a
/// likely placeholder that the blast model ranks at the bottom (docs/BLAST_RADIUS.md).
pub fn looks_sequential(secret: &[u8]) -> bool {
    const RUN: usize = 8;
    let step = |a: u8, b: u8| -> i8 {
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        let same_class = (a.is_ascii_digit() && b.is_ascii_digit())
            || (a.is_ascii_lowercase() && b.is_ascii_lowercase());
        if !same_class {
            0
        } else if b == a.wrapping_add(1) || (a == b'9' && b == b'0') {
            1
        } else if a == b.wrapping_add(1) || (a == b'0' && b == b'9') {
            -1
        } else {
            0
        }
    };
    let (mut dir, mut run) = (0i8, 1usize);
    for w in secret.windows(2) {
        let d = step(w[0], w[1]);
        if d != 0 && d == dir {
            run += 1;
        } else {
            dir = d;
            run = if d == 0 { 1 } else { 2 };
        }
        if run >= RUN {
            return true;
        }
    }
    false
}

/// The part of a token after its structural prefix (`ghp_`, `sk_live_`, `xoxb-`), used for
/// placeholder checks so that a prefix word such as `sample` in a provider prefix does not
/// count, and for entropy so that a fixed prefix does not inflate it.
pub fn strip_prefix(secret: &[u8]) -> &[u8] {
    let head = &secret[..secret.len().min(16)];
    match head.iter().rposition(|&b| b == b'_' || b == b'-') {
        Some(i) if i + 1 < secret.len() && secret.len() - i > 12 => &secret[i + 1..],
        _ => secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_values() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"eG0Wx8Kvx2AZwpClk7jx2qzhdrENXs2t5pZJ") > 4.0);
    }

    #[test]
    fn placeholders() {
        for p in [
            &b"xxxxxxxxxxxxxxxxxxxx"[..],
            b"<your-token>",
            b"${GITHUB_TOKEN}",
            b"{{ secrets.TOKEN }}",
            b"AKIAIOSFODNN7EXAMPLE",
            b"changeme",
            b"********",
            b"0000000000000000",
            b"password",
            b"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            b"110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw",
            b"ghp_abc...",
            b"%(db_password)s",
            b"dummy-pass",
            b"sk_live_\xe2\x80\xa6",
            b"$TOKEN",
            b"%TOKEN%",
            b"process.env.TOKEN",
            b"deadbeef",
            b"x-CAFEBABE-1",
        ] {
            assert!(is_placeholder(p, None), "{}", String::from_utf8_lossy(p));
        }
        for real in [
            &b"eG0Wx8Kvx2AZwpClk7jx2qzhdrENXs2t5pZJ"[..],
            b"Tr0ub4dor&3",
            b"9f86d081884c7d65",
            b"Q29kZQ8xTodoZmFrZ3JhbmRvbWJ5dGVzaGVyZXRvbWFrZWl0bG9uZw",
            b"k!%(^zq8#w",
        ] {
            assert!(
                !is_placeholder(real, None),
                "{}",
                String::from_utf8_lossy(real)
            );
        }
        assert!(is_placeholder(b"TOKEN", Some(b'$')));
    }

    #[test]
    fn markers_are_lowercase() {
        // `is_placeholder` lowercases the value once and compares bytes.
        for m in PLACEHOLDER_WORDS
            .iter()
            .chain(SHORT_PLACEHOLDER_WORDS)
            .chain(TEMPLATE_MARKERS)
        {
            assert_eq!(m.to_ascii_lowercase(), *m);
        }
        assert!(contains_lower(b"abc", b""));
        assert!(contains_lower(b"xx${y}", b"${"));
        assert!(!contains_lower(b"$", b"${"));
    }

    #[test]
    fn typed_sequences() {
        for s in [
            &b"abcdefghijklmnop"[..],
            b"1234567890123456",
            b"key_1a2b3c4d5e6f7890abcdef1234567890",
            b"ZYXWVUTSRQPONMLKJIHG",
            b"9876543210",
            b"78901234",
        ] {
            assert!(looks_sequential(s), "{}", String::from_utf8_lossy(s));
        }
        for s in [
            &b"eG0Wx8Kvx2AZwpClk7jx2qzhdrENXs2t5pZJ"[..],
            b"1234567",
            b"abcdefg-hijk",
            b"a1b2c3d4e5f6g7h8",
            b"0123abcd4567",
            b"",
        ] {
            assert!(!looks_sequential(s), "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn prefix_stripping() {
        assert_eq!(
            strip_prefix(b"ghp_eG0Wx8Kvx2AZwpClk7jx2q"),
            b"eG0Wx8Kvx2AZwpClk7jx2q"
        );
        assert_eq!(strip_prefix(b"short_x"), b"short_x");
        assert_eq!(strip_prefix(b"nodelimiterhere"), b"nodelimiterhere");
    }

    proptest::proptest! {
        #[test]
        fn filters_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100), b in proptest::option::of(proptest::num::u8::ANY)) {
            let _ = is_placeholder(&bytes, b);
            let _ = entropy(&bytes);
            let _ = strip_prefix(&bytes);
            let _ = looks_sequential(&bytes);
        }
    }
}

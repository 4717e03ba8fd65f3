//! Judgement of generic `<name> = <value>` matches (validator `generic_value`).
//!
//! The generic rules' regexes only find the *shape* of an assignment: a key name containing a
//! secret stem (`password`, `secret`, `token`, `api_key`...), an operator, and a quoted or bare
//! value. Whether that is a hard-coded secret is decided here, in two steps:
//!
//! 1. The **name** (regex group `name`, when the pattern has one) must name a secret: the word
//!    holding the stem may only be followed by words such as `key`, `value`, `b64`, `prod`
//!    (`TOKEN_URL`, `password_field`, `secretName`, `tokenExpiresIn` fail), and must not be a
//!    public or bookkeeping value (`csrf_token`, `publicKey`, `nextPageToken`, `primaryKey`).
//! 2. The **value** must look like a secret: not a variable reference or code expression
//!    (`$VAR`, `ENV["X"]`, `config.password`, `getPass()`), not a path, URL, e-mail address,
//!    number, version or colour, not a placeholder pattern (`a1b2c3…`, `12345`, `qwert`,
//!    repeating chunks, the RFC 4122 example UUID), not made of dictionary-like words
//!    (`whiteduke`, `open_sesame`, `MyString`), and random enough for its length.
//!
//! The shared placeholder filter (`matcher::filter`) has already run on the value.

use crate::matcher::filter::entropy;

/// Shortest and longest value judged; shorter values are too weak to report.
const MIN_LEN: usize = 8;
const MAX_LEN: usize = 4096;

/// Stems that make a word a secret word (`password`, `dbpass`, `apikey`, `SECRETKEY`...).
const STEMS: &[&str] = &[
    "pass", "pwd", "secret", "token", "key", "cred", "auth", "access", "private",
];

/// Words that contain a stem but are not secret words.
const NOT_STEM: &[&str] = &[
    "bypass",
    "compass",
    "passenger",
    "passengers",
    "passive",
    "passage",
    "passport",
    "passthrough",
    "passed",
    "passing",
    "passes",
    "surpass",
    "encompass",
    "trespass",
    "impasse",
    "tokenizer",
    "tokenize",
    "tokenized",
    "tokenizers",
    "tokenization",
    "secretary",
    "secretaries",
    "author",
    "authors",
    "authored",
    "authority",
    "authorities",
    "authorize",
    "authorized",
    "authorizes",
    "authorizing",
    "authorization",
    "authorizations",
    "authenticate",
    "authenticated",
    "authenticates",
    "authenticating",
    "authentication",
    "authenticator",
    "authenticity",
    "authn",
    "authz",
    "authoring",
    "credit",
    "credits",
    "keyboard",
    "keyboards",
    "keyword",
    "keywords",
    "keystroke",
    "keypress",
    "keydown",
    "keyup",
    "keyframe",
    "keyframes",
    "keychain",
    "keyring",
    "keystore",
    "keytab",
    "keypair",
    "keyspace",
    "hotkey",
    "hotkeys",
    "monkey",
    "donkey",
    "turkey",
    "hockey",
    "jockey",
    "whiskey",
    "keyed",
    "keying",
    "accessor",
    "accessors",
    "accessible",
    "accessibility",
    "accessed",
    "accesses",
    "accessing",
    "privately",
    "privacy",
    "privates",
];

/// Words allowed after the last secret word: `SECRET_KEY_BASE`, `api_key_b64`, `TOKEN_PROD`.
/// Anything else describes something about the secret (`TOKEN_URL`, `password_field`,
/// `secret_name`, `token_type`, `key_id`, `password_length`) rather than holding it.
const SUFFIX_OK: &[&str] = &[
    "key",
    "keys",
    "value",
    "val",
    "str",
    "string",
    "data",
    "b64",
    "base64",
    "hex",
    "raw",
    "plain",
    "text",
    "secret",
    "secrets",
    "token",
    "tokens",
    "pass",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "base",
    "bytes",
    "bin",
    "enc",
    "encrypted",
    "encoded",
    "prod",
    "production",
    "dev",
    "development",
    "stg",
    "staging",
    "test",
    "live",
    "sandbox",
    "salt",
    "api",
    "access",
    "private",
    "auth",
];

/// Words that make any name public or non-secret wherever they appear.
const ANY_BAD: &[&str] = &[
    "csrf",
    "xsrf",
    "public",
    "publishable",
    "authenticity",
    "pubkey",
    "publickey",
];

/// Words that, right before the last secret word, make it a non-secret: `nextPageToken`,
/// `primary_key`, `cache_key`, `max_tokens`, `forgot_password`, `keyVaultToStoreSecrets`.
const BEFORE_BAD: &[&str] = &[
    "next",
    "prev",
    "previous",
    "page",
    "continuation",
    "cursor",
    "sort",
    "primary",
    "foreign",
    "partition",
    "range",
    "cache",
    "idempotency",
    "unique",
    "composite",
    "hot",
    "shortcut",
    "lookup",
    "translation",
    "i18n",
    "sync",
    "max",
    "min",
    "num",
    "total",
    "is",
    "has",
    "no",
    "use",
    "show",
    "forgot",
    "confirm",
    "verify",
    "dummy",
    "fake",
    "mock",
    "sample",
    "example",
    "placeholder",
    "store",
    "to",
    "reset",
    "pub",
];

/// Values that contain one of these (after undoing leetspeak) are human placeholders or
/// textbook weak passwords (`P@ssw0rd1`, `mysecret123`, `letmein`), when short.
const WEAK_WORDS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"secret",
    b"changeit",
    b"letmein",
    b"welcome",
    b"admin",
    b"qwerty",
    b"default",
    b"token",
    b"mypass",
];

/// File extensions: a value ending in one names a file (`server.pem`, `creds.json`).
const FILE_EXTENSIONS: &[&[u8]] = &[
    b"pem",
    b"key",
    b"json",
    b"txt",
    b"p12",
    b"pfx",
    b"crt",
    b"cer",
    b"jks",
    b"keystore",
    b"yml",
    b"yaml",
    b"xml",
    b"properties",
    b"env",
    b"conf",
    b"cfg",
    b"ini",
    b"pub",
    b"gpg",
    b"asc",
    b"der",
    b"kdbx",
    b"enc",
    b"bin",
    b"dat",
    b"db",
    b"sqlite",
    b"sqlite3",
    b"html",
    b"htm",
    b"js",
    b"ts",
    b"py",
    b"rb",
    b"php",
    b"sh",
    b"log",
    b"csv",
    b"lock",
    b"toml",
    b"md",
    b"erb",
    b"tt",
    b"go",
    b"java",
    b"cs",
    b"rs",
    b"gz",
    b"zip",
    b"tar",
];

/// Markers of a lookup or code rather than a literal (the shared filter already rejects
/// `${`, `{{`, `process.env`, `os.environ`, `getenv`, `env.`...).
const REFERENCE_MARKERS: &[&[u8]] = &[
    b"env[", b"env:", b"{env", b"vault:", b"://", b"->", b"::", b"(", b")", b"\\\"", b"\\'",
];

/// Keyboard rows: five consecutive keys are typed, not generated.
const KEYBOARD_ROWS: &[&[u8]] = &[
    b"qwertyuiop",
    b"asdfghjkl",
    b"zxcvbnm",
    b"1qaz2wsx3edc",
    b"qazwsxedc",
];

/// The most frequent English letter pairs. A run of letters whose pairs are mostly among
/// these is a word (or words glued together); in random letters they are ~19% of pairs.
const COMMON_BIGRAMS: &[&[u8; 2]] = &[
    b"th", b"he", b"in", b"er", b"an", b"re", b"on", b"at", b"en", b"nd", b"ti", b"es", b"or",
    b"te", b"of", b"ed", b"is", b"it", b"al", b"ar", b"st", b"to", b"nt", b"ng", b"se", b"ha",
    b"as", b"ou", b"io", b"le", b"ve", b"co", b"me", b"de", b"hi", b"ri", b"ro", b"ic", b"ne",
    b"ea", b"ra", b"ce", b"li", b"ch", b"ll", b"be", b"ma", b"si", b"om", b"ur", b"ca", b"el",
    b"ta", b"la", b"ns", b"di", b"fo", b"ho", b"pe", b"ec", b"pr", b"no", b"ct", b"us", b"ac",
    b"ot", b"il", b"tr", b"ly", b"nc", b"et", b"ut", b"ss", b"so", b"rs", b"un", b"lo", b"wa",
    b"ge", b"ie", b"wh", b"ee", b"wi", b"em", b"ad", b"ol", b"rt", b"po", b"we", b"na", b"ul",
    b"ni", b"ts", b"mo", b"ow", b"pa", b"im", b"mi", b"ai", b"sh", b"ir", b"su", b"id", b"os",
    b"iv", b"ia", b"am", b"fi", b"ci", b"vi", b"pl", b"ig", b"tu", b"ev", b"ld", b"ry", b"mp",
    b"fe", b"bl", b"ab", b"gh", b"ty", b"op", b"wo", b"sa", b"ay", b"ex", b"ke", b"fr", b"oo",
    b"av", b"ag", b"if", b"ap", b"gr", b"od", b"bo", b"sp", b"rd", b"do",
];

/// The RFC 4122 example UUID (`123e4567-e89b-12d3-a456-426614174000`), pasted everywhere.
const EXAMPLE_UUID: &[u8] = b"123e4567e89b12d3";

/// The judgement of a generic match: the name (if captured) names a secret and the value
/// looks like one.
pub fn generic_value(value: &[u8], name: Option<&[u8]>) -> bool {
    let password = match name {
        Some(n) => match judge_name(n) {
            Some(NameKind::Password) => true,
            Some(NameKind::Other) => false,
            None => return false,
        },
        None => false,
    };
    plausible_value(value, password)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    /// A password name (`pass`, `pwd` stems): human-chosen complex passwords are accepted.
    Password,
    Other,
}

/// Splits a key name into lowercase words: `DB_PASSWORD` → db, password; `myServiceToken` →
/// my, service, token; `HTTPClientSecret` → http, client, secret; `apiKey2` → api, key2.
fn name_words(name: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|b| !b.is_ascii_alphanumeric()) {
        let mut start = 0;
        for i in 1..part.len() {
            let (prev, cur) = (part[i - 1], part[i]);
            let next_lower = part.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            let boundary = cur.is_ascii_uppercase()
                && (prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower));
            if boundary {
                out.push(String::from_utf8_lossy(&part[start..i]).to_ascii_lowercase());
                start = i;
            }
        }
        if start < part.len() {
            out.push(String::from_utf8_lossy(&part[start..]).to_ascii_lowercase());
        }
    }
    out
}

fn without_digits(w: &str) -> &str {
    w.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn is_stem_word(w: &str) -> bool {
    let w = without_digits(w);
    !NOT_STEM.contains(&w) && STEMS.iter().any(|s| w.contains(s))
}

/// `None` when the name is not a secret's name.
fn judge_name(name: &[u8]) -> Option<NameKind> {
    let words = name_words(name);
    let last = words.iter().rposition(|w| is_stem_word(w))?;
    if words.iter().any(|w| ANY_BAD.contains(&w.as_str())) {
        return None;
    }
    let suffix_ok = |w: &String| {
        SUFFIX_OK.contains(&w.as_str())
            || SUFFIX_OK.contains(&without_digits(w))
            || w.bytes().all(|b| b.is_ascii_digit())
    };
    if !words[last + 1..].iter().all(suffix_ok) {
        return None;
    }
    if last > 0 && BEFORE_BAD.contains(&words[last - 1].as_str()) {
        return None;
    }
    // Fused words: `pubkey`, `cachekey`, `nexttoken`, `csrftoken`.
    let stem = without_digits(&words[last]);
    let fused_bad = ANY_BAD.iter().chain(BEFORE_BAD).any(|bad| {
        stem.strip_prefix(bad)
            .is_some_and(|rest| !rest.is_empty() && is_stem_word(rest))
    });
    if fused_bad {
        return None;
    }
    let password = words.iter().any(|w| {
        let w = without_digits(w);
        !NOT_STEM.contains(&w) && (w.contains("pass") || w.contains("pwd"))
    });
    Some(if password {
        NameKind::Password
    } else {
        NameKind::Other
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Character-class counts of a value.
struct Classes {
    lower: usize,
    upper: usize,
    digit: usize,
    symbol: usize,
}

impl Classes {
    fn of(v: &[u8]) -> Classes {
        let mut c = Classes {
            lower: 0,
            upper: 0,
            digit: 0,
            symbol: 0,
        };
        for &b in v {
            match b {
                b'a'..=b'z' => c.lower += 1,
                b'A'..=b'Z' => c.upper += 1,
                b'0'..=b'9' => c.digit += 1,
                _ => c.symbol += 1,
            }
        }
        c
    }

    fn count(&self) -> usize {
        [self.lower, self.upper, self.digit, self.symbol]
            .iter()
            .filter(|&&n| n > 0)
            .count()
    }
}

/// The value test, see the module documentation. `password`: the name is a password's, so a
/// human-chosen password with a complexity policy (`thisIsDog11!`) counts despite its words.
fn plausible_value(v: &[u8], password: bool) -> bool {
    let n = v.len();
    if !(MIN_LEN..=MAX_LEN).contains(&n) || !v.iter().all(u8::is_ascii_graphic) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if is_reference_or_code(v, &lower)
        || is_path_or_file(v, &lower)
        || is_number_like(v)
        || is_email(v)
        || strip_non_alnum(&lower).starts_with(EXAMPLE_UUID)
        || has_sequence(&lower)
        || is_periodic(&lower)
        || (n < 24 && has_weak_word(&lower))
    {
        return false;
    }
    if is_identifier_like(v) {
        return false;
    }
    let classes = Classes::of(v);
    // Words are not secrets, except a human password that meets a complexity policy
    // (`thisIsDog11`, `Summer2024!`) assigned to a password name.
    if is_made_of_words(v) && !(password && classes.count() >= 3) {
        return false;
    }
    random_enough(v, &classes)
}

fn random_enough(v: &[u8], c: &Classes) -> bool {
    let n = v.len();
    let h = entropy(v);
    let classes = c.count();
    if n < 12 {
        // Short: three classes and (nearly) no repeated character.
        classes >= 3 && h >= (n as f64).log2() - 0.7
    } else if n < 20 {
        classes >= 2 && h >= 3.0
    } else {
        // One class (all letters, all digits) needs its characters used evenly.
        h >= 3.0 && (classes >= 2 || h >= 3.5 || c.digit == n)
    }
}

fn is_reference_or_code(v: &[u8], lower: &[u8]) -> bool {
    // $VAR %VAR% @ivar :symbol &anchor *alias
    if matches!(v[0], b'$' | b'%' | b'@' | b':' | b'&' | b'*') {
        return true;
    }
    if REFERENCE_MARKERS.iter().any(|m| contains(lower, m)) {
        return true;
    }
    // Indexing: params[:password], ENV['X'], data["k"].
    if v.windows(2).any(|w| w[1] == b'[' && is_word(w[0])) {
        return true;
    }
    // A dotted path of identifiers: config.password, settings.API_SECRET, this.token.
    if v.contains(&b'.') {
        let code_path = v.split(|&b| b == b'.').all(|seg| {
            !seg.is_empty()
                && !seg[0].is_ascii_digit()
                && seg.iter().all(|&b| is_word(b) || b == b'$')
                && (!seg.iter().any(u8::is_ascii_digit) || word_score(seg).0 >= 0.5)
        });
        if code_path {
            return true;
        }
    }
    false
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_path_or_file(v: &[u8], lower: &[u8]) -> bool {
    if matches!(v[0], b'/' | b'~' | b'\\') || v.starts_with(b"./") || v.starts_with(b"../") {
        return true;
    }
    if v.len() > 2 && v[0].is_ascii_alphabetic() && v[1] == b':' && v[2] == b'\\' {
        return true;
    }
    match lower.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => FILE_EXTENSIONS.contains(&&lower[dot + 1..]),
        _ => false,
    }
}

/// Numbers, dates, versions and colours: `1700000000`, `2024-01-31`, `v1.2.3-rc1`, `#a1b2c3ff`.
fn is_number_like(v: &[u8]) -> bool {
    if v.iter().all(u8::is_ascii_digit) {
        // Long digit strings are random only if they use the digits evenly.
        return v.len() < 20 || entropy(v) < 3.0;
    }
    if v.iter()
        .all(|&b| b.is_ascii_digit() || b".:/_+-TZ".contains(&b))
    {
        return true;
    }
    let ver = v
        .strip_prefix(b"v")
        .or_else(|| v.strip_prefix(b"V"))
        .unwrap_or(v);
    let digits = ver.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0
        && ver.get(digits) == Some(&b'.')
        && ver.get(digits + 1).is_some_and(u8::is_ascii_digit)
    {
        return true;
    }
    v[0] == b'#' && v[1..].iter().all(u8::is_ascii_hexdigit)
}

fn is_email(v: &[u8]) -> bool {
    let Some(at) = v.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&v[..at], &v[at + 1..]);
    !local.is_empty()
        && local.iter().all(|&b| is_word(b) || b".+-".contains(&b))
        && domain.contains(&b'.')
        && domain.iter().all(|&b| is_word(b) || b".-".contains(&b))
}

fn strip_non_alnum(v: &[u8]) -> Vec<u8> {
    v.iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect()
}

/// Typed patterns (on the lowercased value): five consecutive ascending or descending
/// characters (`12345`, `abcde`, `98765`), a value mostly made of shorter runs
/// (`abc123def456`), interleaved sequences (`a1b2c3`), keyboard runs (`qwert`, `asdfg`).
fn has_sequence(l: &[u8]) -> bool {
    let step = |a: u8, b: u8, d: i16| {
        a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() && i16::from(b) - i16::from(a) == d
    };
    let (mut up, mut down, mut interleaved) = (1, 1, 0);
    // Bytes covered by ascending or descending runs of three or more.
    let mut in_runs = 0;
    for i in 1..l.len() {
        up = if step(l[i - 1], l[i], 1) { up + 1 } else { 1 };
        down = if step(l[i - 1], l[i], -1) {
            down + 1
        } else {
            1
        };
        in_runs += match up.max(down) {
            3 => 3,
            r if r > 3 => 1,
            _ => 0,
        };
        if i >= 2 {
            let (a, b) = (l[i - 2], l[i]);
            interleaved = if step(a, b, 1) || step(a, b, -1) {
                interleaved + 1
            } else {
                0
            };
        }
        if up >= 5 || down >= 5 || interleaved >= 5 {
            return true;
        }
    }
    if in_runs * 2 >= l.len() {
        return true;
    }
    KEYBOARD_ROWS
        .iter()
        .any(|row| row.windows(5).any(|run| contains(l, run)))
}

/// A short chunk repeated over the value (`abc123abc123abc123`, `xyzxyzxyz`).
fn is_periodic(l: &[u8]) -> bool {
    let l = &l[..l.len().min(128)];
    let n = l.len();
    (1..=32).take_while(|p| n >= 2 * p).any(|p| {
        let same = (0..n - p).filter(|&i| l[i] == l[i + p]).count();
        same * 4 >= (n - p) * 3
    })
}

fn has_weak_word(lower: &[u8]) -> bool {
    let plain: Vec<u8> = lower
        .iter()
        .map(|&b| match b {
            b'@' | b'4' => b'a',
            b'0' => b'o',
            b'1' | b'!' => b'i',
            b'3' => b'e',
            b'$' | b'5' => b's',
            b'7' => b't',
            other => other,
        })
        .collect();
    WEAK_WORDS.iter().any(|w| contains(&plain, w))
}

/// Share of the letter pairs that are common English pairs, over runs of letters split at
/// case changes (`thisIsDog` → this, is, dog), and the number of pairs.
fn word_score(v: &[u8]) -> (f64, usize) {
    let (mut pairs, mut common) = (0usize, 0usize);
    for i in 1..v.len() {
        let (a, b) = (v[i - 1], v[i]);
        let same_word = a.is_ascii_alphabetic()
            && b.is_ascii_alphabetic()
            && !(a.is_ascii_lowercase() && b.is_ascii_uppercase());
        if same_word {
            pairs += 1;
            let pair = [a.to_ascii_lowercase(), b.to_ascii_lowercase()];
            if COMMON_BIGRAMS.contains(&&pair) {
                common += 1;
            }
        }
    }
    if pairs == 0 {
        (0.0, 0)
    } else {
        (common as f64 / pairs as f64, pairs)
    }
}

/// Identifiers and dotted, dashed or slashed names: `DOC_Vector_5_32`, `jjwt-jackson-0.11.2`,
/// `K8S_CRED`, `posts/1-dashboard-view`: two or more segments, each a number or a word in one
/// case (`vector`, `VECTOR`, `Vector`) with at most one digit.
fn is_identifier_like(v: &[u8]) -> bool {
    const SEPARATORS: &[u8] = b"_-.:/";
    if !v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || SEPARATORS.contains(b))
    {
        return false;
    }
    let segments = v
        .split(|b| SEPARATORS.contains(b))
        .filter(|s| !s.is_empty());
    let mut count = 0;
    for seg in segments {
        count += 1;
        let digits = seg.iter().filter(|b| b.is_ascii_digit()).count();
        let letters: Vec<u8> = seg
            .iter()
            .copied()
            .filter(u8::is_ascii_alphabetic)
            .collect();
        let one_case = letters.iter().all(u8::is_ascii_lowercase)
            || letters.iter().all(u8::is_ascii_uppercase)
            || letters
                .get(1..)
                .is_some_and(|rest| rest.iter().all(u8::is_ascii_lowercase));
        let word = digits <= 1 && !letters.is_empty() && one_case;
        let number = digits == seg.len();
        if !(word || number) {
            return false;
        }
    }
    count >= 2
}

/// Words, identifiers and word+number values: `whiteduke`, `open_sesame`, `MyString`,
/// `password123`, `smtp-user`. At most one run of digits, and mostly common letter pairs.
fn is_made_of_words(v: &[u8]) -> bool {
    let digit_runs = v
        .iter()
        .enumerate()
        .filter(|&(i, b)| b.is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
        .count();
    if digit_runs > 1 {
        return false;
    }
    let (score, pairs) = word_score(v);
    if pairs >= 3 && score >= 0.5 {
        return true;
    }
    // Lowercase identifiers whatever their letters: `goodspec`, `db_host`, `ab-cd.ef`.
    v.iter()
        .all(|&b| b.is_ascii_lowercase() || b"_.-".contains(&b))
        && v[0].is_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &str) -> bool {
        plausible_value(v.as_bytes(), false)
    }

    #[test]
    fn words_of_names() {
        let w = |s: &str| name_words(s.as_bytes());
        assert_eq!(w("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(w("myServiceToken"), ["my", "service", "token"]);
        assert_eq!(w("HTTPClientSecret"), ["http", "client", "secret"]);
        assert_eq!(w("apiKey2"), ["api", "key2"]);
        assert_eq!(w("PRIVATE_KEY_B64"), ["private", "key", "b64"]);
        assert_eq!(w("--db-password"), ["db", "password"]);
        assert_eq!(
            w("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
    }

    #[test]
    fn secret_names() {
        for n in [
            "DB_PASSWORD",
            "smtpPass",
            "api_key",
            "X-API-KEY",
            "client.secret",
            "SECRET_KEY_BASE",
            "GITHUB_TOKEN",
            "myServiceToken",
            "jwtsecret",
            "PRIVATE_KEY_B64",
            "access_token2",
            "flutterwavePubKeyToken",
            "aws_secret_access_key",
            "credentials",
            "passphrase",
        ] {
            assert!(judge_name(n.as_bytes()).is_some(), "{n}");
        }
        for n in [
            "csrf_token",
            "csrf-token",
            "authenticity_token",
            "publicToken",
            "public_key",
            "pubkey",
            "nextPageToken",
            "primaryKey",
            "cache_key",
            "max_tokens",
            "TOKEN_URL",
            "token_type",
            "password_field",
            "password_confirmation",
            "secretName",
            "secret_length",
            "tokenExpiresIn",
            "key_id",
            "credentialsId",
            "keyVaultToStoreSecrets",
            "bypass",
            "tokenizer",
            "author",
            "monkey",
            "hotkey",
        ] {
            assert!(judge_name(n.as_bytes()).is_none(), "{n}");
        }
        assert_eq!(judge_name(b"DB_PASSWORD"), Some(NameKind::Password));
        assert_eq!(judge_name(b"SECRET"), Some(NameKind::Other));
    }

    #[test]
    fn secret_values() {
        for v in [
            "hBNP9o!2E5d2",
            "Tr0ub4dor&B3WC",
            "Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB",
            "cQ3oaAyYJ23UpiEmaKLEHxgMadmMH7kesszwZDAAsdQsSHsB",
            "de81dd2f26fad03037682a6b605b4fe9e0f203d1",
            "wlwwm1j0ccjylbg",
            "W0GHshoO3bOAlCgtd6UiCeeu",
            "sq0csp-K__x2p65eh6wm",
            "t1.Oi2HDs=.sY0x1AdmA3F84qZxx4eVj5LZoDTtHpqm8Cerbn1GQ594zygGC",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "73fa573c-90b0-6af7-ff46-af5be4572f04",
            "ee6282ce:32360551",
            "25130226450292771022773629319832",
            "rcHu+HzSFw89Ypyhn/896A==",
            "X7W8HTTHLVYXPPVRZJZS",
            "busyb0x@",
            "mF_9.B5f-4.1JqM",
        ] {
            assert!(ok(v), "{v}");
        }
    }

    #[test]
    fn non_secret_values() {
        for v in [
            // references and code
            "$DB_PASSWORD",
            "%APPDATA%xyz",
            "@user.password",
            "ENV['SECRET_KEY']",
            "params[:password]",
            "config.password",
            "settings.GITHUB_API_SECRET",
            "getPassword()",
            "os.getenv('X')",
            "Foo::Bar::Secret",
            "$this->password",
            // paths, files, URLs, addresses
            "/etc/ssl/private/server.key",
            "./secrets/token.txt",
            "C:\\keys\\id_rsa",
            "s_rsa1024_priv.pem",
            "https://vault.example.org/v1/secret",
            "admin@mycompany.io",
            // numbers, versions, colours
            "1700000000000",
            "2024-01-31T10:00:00",
            "v1.2.3-rc1",
            "10.0.0.12:5432",
            "#a1b2c3ff",
            // placeholders and typed patterns
            "a1b2c3d4e5f6g7h8i9j0",
            "abc123def456ghi789jkl0",
            "0987fedcba0987fedcba",
            "zyxwvutsrqponmlk",
            "qwerty456789x",
            "Asdf1234asdf1234asdf1234",
            "kd8j2h4jf9s8mf6l4k9j2h4jf9s8mf6l",
            "123e4567-e89b-12d3-a456-426614174000",
            "P@ssw0rd123",
            "super$ecret",
            "mysecret2024",
            // words and identifiers
            "whiteduke",
            "open_sesame",
            "thisismypassword",
            "MyString",
            "smtp_password",
            "specialbill_user",
            "NEXUS-GPT4-API-KEY",
            "Authentication:",
            "validations",
            "DOC_Vector_5_32",
            "jjwt-jackson-0.11.2",
            "K8S_CRED_PROD",
            "posts/1-dashboard-view",
            // too short or not random
            "abc12",
            "aaaa1111bbbb",
            "Required!",
            "foo!uucp",
            "builtin:test_00000002:0",
            "rcHu+\\\\\"/896A",
        ] {
            assert!(!ok(v), "{v}");
        }
    }

    #[test]
    fn human_passwords_only_under_password_names() {
        assert!(plausible_value(b"thisIsDog11", true));
        assert!(plausible_value(b"thisIsDog11!", true));
        assert!(!plausible_value(b"thisIsDog11!", false));
        assert!(!plausible_value(b"whiteduke", true));
        assert!(generic_value(b"thisIsDog11!", Some(b"admin_password")));
        assert!(!generic_value(b"thisIsDog11!", Some(b"api_token")));
        assert!(!generic_value(
            b"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB",
            Some(b"csrf_token")
        ));
        assert!(generic_value(
            b"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB",
            Some(b"GENERIC_TOKEN")
        ));
        assert!(generic_value(b"Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB", None));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(value in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                        name in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..60))) {
            let _ = generic_value(&value, name.as_deref());
        }

        #[test]
        fn never_panics_on_ascii(value in "[ -~]{0,300}", name in "[ -~]{0,60}") {
            let _ = generic_value(value.as_bytes(), Some(name.as_bytes()));
        }
    }
}

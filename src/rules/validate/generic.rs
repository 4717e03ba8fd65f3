//! Judgement of generic `<name> = <value>` matches (validator `generic_value`).
//!
//! The generic rules' regexes only find the *shape* of an assignment: a key name containing a
//! secret stem (`password`, `secret`, `token`, `api_key`...), an operator, and a quoted or bare
//! value. Whether that is a hard-coded secret is decided here, in two steps:
//!
//! 1. The **name** (regex group `name`, when the pattern has one) must name a secret: the word
//!    holding the stem may only be followed by words such as `key`, `value`, `b64`, `prod`
//!    (`TOKEN_URL`, `password_field`, `secretName`, `tokenExpiresIn` fail; words of unknown
//!    meaning, as in `todo_secret_do_not_commit`, ask for a strongly random value), must not be
//!    a public or bookkeeping value (`csrf_token`, `publicKey`, `nextPageToken`, `primaryKey`),
//!    and must not say the value is deliberately fake (`nonMatchingToken`, `invalid_api_key`).
//!    A UUID under a bare `key` name (`DocumentKey`) is an identifier.
//! 2. The **value** must look like a secret: not a variable reference or code expression
//!    (`$VAR`, `ENV["X"]`, `config.password`, `getPass()`), not a path, URL, e-mail address,
//!    number, version or colour, not a placeholder pattern (`a1b2c3…`, `12345`, `qwert`,
//!    repeating chunks and segments, masked runs `######`, keyboard-row mashes, the RFC 4122
//!    example UUID), not made of dictionary-like words (`whiteduke`, `open_sesame`,
//!    `MyString`), and random enough for its length *and alphabet* (hex is judged as hex).
//!
//! The URI rules capture `scheme://user:password@host` as `name`; such a password is judged as
//! a URI's: human passwords count there, a password equal to the user, a password word as the
//! password, or a documentation host (`example.com`) do not.
//!
//! These are mechanisms, not lists of known values: each check describes a way a value is
//! produced by a person or a tool rather than by a random generator, so it carries over to
//! values no test suite has seen.
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

/// Words that, anywhere before the last secret word, say the value is deliberately not a real
/// secret: `nonMatchingToken`, `invalid_api_key`, `wrongPassword`, `fake_secret`, `mock_token`
/// (test fixtures for the failure path, documentation samples).
const NEGATING: &[&str] = &[
    "non",
    "not",
    "invalid",
    "wrong",
    "bad",
    "bogus",
    "incorrect",
    "fake",
    "dummy",
    "mock",
    "sample",
    "example",
    "placeholder",
];

/// Words after the last secret word that describe something *about* the secret rather than
/// hold it: `TOKEN_URL`, `password_field`, `secret_name`, `token_type`, `key_id`,
/// `password_length`, `api_key_hash`, `tokenExpiresIn`. Words in neither this list nor
/// [`SUFFIX_OK`] (`todo_secret_do_not_commit`) are allowed only for a strongly random value.
const SUFFIX_BAD: &[&str] = &[
    "id",
    "ids",
    "identifier",
    "name",
    "names",
    "type",
    "types",
    "kind",
    "url",
    "urls",
    "uri",
    "endpoint",
    "host",
    "hostname",
    "domain",
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "dir",
    "directory",
    "location",
    "length",
    "len",
    "size",
    "count",
    "limit",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "exp",
    "timeout",
    "lifetime",
    "age",
    "field",
    "fields",
    "label",
    "header",
    "headers",
    "param",
    "params",
    "parameter",
    "prefix",
    "suffix",
    "regex",
    "regexp",
    "pattern",
    "format",
    "hash",
    "hashed",
    "digest",
    "checksum",
    "fingerprint",
    "version",
    "ref",
    "env",
    "var",
    "variable",
    "policy",
    "mode",
    "enabled",
    "enable",
    "disabled",
    "required",
    "flag",
    "option",
    "options",
    "input",
    "hint",
    "error",
    "errors",
    "message",
    "msg",
    "confirmation",
    "confirm",
    "provider",
    "manager",
    "helper",
    "class",
    "method",
    "strategy",
    "validator",
    "generator",
    "factory",
    "handler",
    "request",
    "response",
    "scope",
    "scopes",
    "audience",
    "issuer",
    "algorithm",
    "alg",
    "usage",
    "rotation",
    "index",
    "column",
    "table",
    "attribute",
    "attr",
    "property",
    "state",
    "status",
    "created",
    "updated",
    "at",
    "date",
    "time",
    "timestamp",
];

/// Words that qualify a bare `key` as a credential: `api_key`, `signing_key`, `LICENSE_KEY`.
/// Without one (`DocumentKey`, `stripe_key`, `HEX_KEY`) the name is weaker, and a UUID
/// assigned to it is an identifier (`?DocumentKey=<uuid>`, `partitionKey`, `idempotencyKey`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "account",
    "admin",
    "app",
    "application",
    "auth",
    "client",
    "consumer",
    "deploy",
    "encrypt",
    "encryption",
    "integration",
    "license",
    "master",
    "priv",
    "private",
    "secret",
    "service",
    "signing",
    "sign",
    "signature",
    "webhook",
    "hmac",
    "jwt",
    "crypto",
    "cipher",
    "aes",
    "shared",
    "root",
    "stream",
    "developer",
    "subscription",
    "ingestion",
    "write",
    "server",
    "session",
    "security",
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
    b"env[", b"env:", b"{env", b"vault:", b"://", b"->", b"::", b"\\\"", b"\\'",
];

/// Keyboard rows: five consecutive keys are typed, not generated.
const KEYBOARD_ROWS: &[&[u8]] = &[
    b"qwertyuiop",
    b"asdfghjkl",
    b"zxcvbnm",
    b"1qaz2wsx3edc",
    b"qazwsxedc",
    b"!@#$%^&*()_+",
    b"1234567890-=",
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
/// looks like one. A `name` holding `scheme://user:password@host` (the URI rules capture the
/// whole authority as `name`) is judged as a URI instead, see [`plausible_uri_password`].
pub fn generic_value(value: &[u8], name: Option<&[u8]>) -> bool {
    if let Some(uri) = name.and_then(|n| uri_parts(n, value)) {
        return plausible_uri_password(value, &uri);
    }
    let name = match name {
        Some(n) => match judge_name(n) {
            Some(j) => j,
            None => return false,
        },
        None => Name::default(),
    };
    plausible_value(value, name)
}

/// What the key name says about the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Name {
    /// A password name (`pass`, `pwd` stems): human-chosen complex passwords are accepted.
    password: bool,
    /// Words of unknown meaning follow the secret word: only a strongly random value counts.
    needs_strong: bool,
    /// The secret word is a bare `key` without a credential qualifier (`DocumentKey`).
    bare_key: bool,
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
fn judge_name(name: &[u8]) -> Option<Name> {
    let words = name_words(name);
    let last = words.iter().rposition(|w| is_stem_word(w))?;
    if words.iter().any(|w| ANY_BAD.contains(&w.as_str())) {
        return None;
    }
    if words[..last].iter().any(|w| NEGATING.contains(&w.as_str())) {
        return None;
    }
    let mut needs_strong = false;
    for w in &words[last + 1..] {
        let bare = without_digits(w);
        if SUFFIX_OK.contains(&w.as_str())
            || SUFFIX_OK.contains(&bare)
            || w.bytes().all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if SUFFIX_BAD.contains(&w.as_str()) || SUFFIX_BAD.contains(&bare) {
            return None;
        }
        needs_strong = true;
    }
    if last > 0 && BEFORE_BAD.contains(&words[last - 1].as_str()) {
        return None;
    }
    // Fused words: `pubkey`, `cachekey`, `nexttoken`, `csrftoken`, `faketoken`.
    let stem = without_digits(&words[last]);
    let fused_bad = ANY_BAD.iter().chain(BEFORE_BAD).chain(NEGATING).any(|bad| {
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
    let bare_key = matches!(stem, "key" | "keys")
        && (last == 0 || !KEY_QUALIFIERS.contains(&without_digits(&words[last - 1])));
    Some(Name {
        password,
        needs_strong,
        bare_key,
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

/// The value test, see the module documentation. `name.password`: the name is a password's,
/// so a human-chosen password with a complexity policy (`thisIsDog11!`) counts despite its
/// words.
fn plausible_value(v: &[u8], name: Name) -> bool {
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
        || has_masked_run(v)
        || has_repeated_segment(v)
        || is_keyboard_mash(v)
        || (n < 24 && has_weak_word(&lower))
        || (name.bare_key && is_uuid(v))
    {
        return false;
    }
    if is_identifier_like(v) {
        return false;
    }
    let classes = Classes::of(v);
    // Words are not secrets, except a human password that meets a complexity policy
    // (`thisIsDog11`, `Summer2024!`) assigned to a password name.
    if is_made_of_words(v) && !(name.password && classes.count() >= 3) {
        return false;
    }
    if name.needs_strong && (n < 16 || classes.count() < 2) {
        return false;
    }
    random_enough(v, &classes)
}

/// Randomness for the value's length and alphabet. Plain entropy thresholds punish small
/// alphabets: a random 16-digit hex string has 3.2 bits/char on average (against 3.8 for
/// base62), and a fixed 3.0 rejected a quarter of them. So the value's entropy is compared
/// with what a uniformly random string of the same length over the same alphabet (hex,
/// base36, base62, base64 and symbols) shows: the margin below that expectation lets about 1%
/// of truly random values fail, while repeated characters and lopsided use fail. The bar is
/// capped at the former 3.0, so only small alphabets gain.
fn random_enough(v: &[u8], c: &Classes) -> bool {
    let n = v.len();
    let h = entropy(v);
    let classes = c.count();
    if n < 12 {
        // Short: three classes and (nearly) no repeated character.
        return classes >= 3 && h >= (n as f64).log2() - 0.7;
    }
    // Never stricter than 3.0 bits/char: base64 of structured data (a JWT, `user:password`)
    // is less random than random base64 and still a secret.
    let margin = if n < 16 { 0.6 } else { 0.5 };
    let random = h >= (expected_entropy(n, alphabet_size(v, c)) - margin).min(3.0);
    if n < 20 {
        classes >= 2 && random
    } else {
        // One class (all letters) needs its characters used evenly too.
        random && (classes >= 2 || h >= 3.5 || c.digit == n)
    }
}

/// The size of the alphabet a value appears to be drawn from.
fn alphabet_size(v: &[u8], c: &Classes) -> usize {
    let hex = v.iter().all(u8::is_ascii_hexdigit)
        && !(c.lower > 0 && c.upper > 0)
        && c.lower + c.upper > 0;
    match (c.lower > 0, c.upper > 0, c.digit > 0, c.symbol > 0) {
        _ if hex => 16,
        (false, false, true, false) => 10,
        (true, false, false, false) | (false, true, false, false) => 26,
        (true, false, true, false) | (false, true, true, false) => 36,
        (true, true, false, false) => 52,
        (true, true, true, false) => 62,
        _ => 64,
    }
}

/// Expected Shannon entropy (bits/char) of `n` characters drawn uniformly from `k`:
/// log2 n − (k/n)·Σ_c P(c)·c·log2 c, with c ~ Binomial(n, 1/k) the count of one character.
/// Lengths past 256 use 256: the expectation has converged to log2 k by then.
fn expected_entropy(n: usize, k: usize) -> f64 {
    let n = n.clamp(1, 256);
    let (nf, p) = (n as f64, 1.0 / k.max(2) as f64);
    let mut pmf = (1.0 - p).powi(n as i32); // P(c = 0)
    let mut sum = 0.0;
    for c in 0..n {
        pmf *= (nf - c as f64) / (c as f64 + 1.0) * p / (1.0 - p); // now P(c + 1)
        let c1 = c as f64 + 1.0;
        sum += pmf * c1 * c1.log2();
    }
    nf.log2() - k as f64 / nf * sum
}

/// A run of one masking character (`######`, `??????`, `......`) or of one letter or digit
/// (`AAAAAAAAAA`) inside the value: a redacted or padded value, not a generated one.
fn has_masked_run(v: &[u8]) -> bool {
    let mut run = 1;
    for w in v.windows(2) {
        run = if w[0] == w[1] { run + 1 } else { 1 };
        let limit = if w[1].is_ascii_alphanumeric() { 10 } else { 6 };
        if run >= limit {
            return true;
        }
    }
    false
}

/// One segment repeated three times between separators (`xoxp-1234-1234-1234-…`,
/// `AB12_AB12_AB12`): filler for the ids of a token format, which `is_periodic` misses when
/// the rest of the value differs. Generated segments of three or more characters do not repeat.
fn has_repeated_segment(v: &[u8]) -> bool {
    let segments: Vec<&[u8]> = v
        .split(|b| b"-_.:/".contains(b))
        .filter(|s| s.len() >= 3)
        .collect();
    segments
        .iter()
        .enumerate()
        .any(|(i, s)| segments[i..].iter().filter(|t| *t == s).count() >= 3)
}

/// Letters typed along one keyboard row (`kjfhueyt9485osdfasdkljfh4lkjhakldjf`): 16 or more
/// letters, three quarters of them from one row. In random letters a row holds 27–38% of
/// them, so this fails about 1 in 10,000 random values. Hex values are exempt: `a`, `d`, `f`
/// are half of their letters.
fn is_keyboard_mash(v: &[u8]) -> bool {
    if v.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let letters: Vec<u8> = v
        .iter()
        .filter(|b| b.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    if letters.len() < 16 {
        return false;
    }
    [&b"qwertyuiop"[..], b"asdfghjkl", b"zxcvbnm"]
        .iter()
        .any(|row| {
            let on_row = letters.iter().filter(|b| row.contains(b)).count();
            on_row * 4 >= letters.len() * 3
        })
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_reference_or_code(v: &[u8], lower: &[u8]) -> bool {
    // $VAR %VAR% @ivar :symbol &anchor *alias
    if matches!(v[0], b'$' | b'%' | b'@' | b':' | b'&' | b'*') {
        return true;
    }
    if REFERENCE_MARKERS.iter().any(|m| contains(lower, m)) {
        return true;
    }
    // A call: getPassword(), os.getenv('X'), ENV.fetch("X"). A lone parenthesis is just a
    // character of a random value (`vYR)T;W`).
    if let Some(open) = v.windows(2).position(|w| is_word(w[0]) && w[1] == b'(')
        && v[open..].contains(&b')')
    {
        return true;
    }
    // Indexing: params[:password], ENV['X'], data["k"], argv[1], $cfg[$key]; not a lone `[`
    // inside a random value (`vyrVBp[$_hK4^?`).
    let indexing = v.windows(2).enumerate().any(|(i, w)| {
        if !(is_word(w[0]) && w[1] == b'[') {
            return false;
        }
        let rest = &v[i + 2..];
        match rest.first() {
            Some(b'\'' | b'"' | b':') => true,
            _ => rest.iter().position(|&b| b == b']').is_some_and(|close| {
                close > 0
                    && rest[..close]
                        .iter()
                        .all(|&b| is_word(b) || b == b'$' || b == b'.')
            }),
        }
    });
    if indexing {
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

/// The parts of a `scheme://user:password@host` authority captured as `name` by the URI
/// rules, when `value` is its password.
struct UriParts<'a> {
    user: &'a [u8],
    host: &'a [u8],
}

fn uri_parts<'a>(name: &'a [u8], value: &[u8]) -> Option<UriParts<'a>> {
    let sep = name.windows(3).position(|w| w == b"://")?;
    let rest = &name[sep + 3..];
    let at = rest.iter().rposition(|&b| b == b'@')?;
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    let colon = userinfo.iter().position(|&b| b == b':')?;
    let (user, password) = (&userinfo[..colon], &userinfo[colon + 1..]);
    (password == value).then_some(UriParts { user, host })
}

/// Hosts reserved for documentation (RFC 2606, RFC 6761): `example.com`, `db.example.org`,
/// `*.example`, `*.invalid`. Not `.test`: local development setups resolve it (`myapp.test`)
/// and their passwords are real on that machine.
fn is_documentation_host(host: &[u8]) -> bool {
    let h = host.to_ascii_lowercase();
    let h = h.strip_suffix(b".").unwrap_or(&h);
    let label_example = h.split(|&b| b == b'.').any(|label| label == b"example");
    label_example || h.ends_with(b".invalid") || h == b"invalid"
}

/// A password in a connection URI. Human passwords are common there and the URI itself says
/// it is a credential, so the word and randomness tests of [`plausible_value`] do not apply;
/// what does not count: a password equal to its user (`postgres:postgres`, `guest:guest`,
/// default accounts), a password word as the password (`cachepass`, `dbpassword`), and any
/// credential for a documentation host (`dhh:supersecret@www.example.com`).
fn plausible_uri_password(value: &[u8], uri: &UriParts) -> bool {
    if value.eq_ignore_ascii_case(uri.user) || is_documentation_host(uri.host) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    let letters_only = lower.iter().all(u8::is_ascii_alphabetic);
    let password_word = [&b"pass"[..], b"pwd", b"secret"]
        .iter()
        .any(|w| contains(&lower, w));
    !(letters_only && password_word)
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
        plausible_value(v.as_bytes(), Name::default())
    }

    const PASSWORD: Name = Name {
        password: true,
        needs_strong: false,
        bare_key: false,
    };

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
        assert!(judge_name(b"DB_PASSWORD").is_some_and(|n| n.password));
        assert!(judge_name(b"SECRET").is_some_and(|n| !n.password && !n.needs_strong));
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
        assert!(plausible_value(b"thisIsDog11", PASSWORD));
        assert!(plausible_value(b"thisIsDog11!", PASSWORD));
        assert!(!plausible_value(b"thisIsDog11!", Name::default()));
        assert!(!plausible_value(b"whiteduke", PASSWORD));
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

    #[test]
    fn negating_words_before_the_secret_word() {
        for n in [
            "nonMatchingToken",
            "invalid_api_key",
            "wrongPassword",
            "fake_secret",
            "mock_access_token",
            "EXAMPLE_SECRET_KEY",
            "faketoken",
        ] {
            assert!(judge_name(n.as_bytes()).is_none(), "{n}");
        }
        // After the secret word they are only words of unknown meaning.
        assert!(judge_name(b"todo_secret_do_not_commit").is_some_and(|n| n.needs_strong));
        assert!(judge_name(b"NOTIFY_TOKEN").is_some());
    }

    #[test]
    fn suffix_words_known_bad_unknown_and_ok() {
        for n in [
            "api_key_hash",
            "token_endpoint",
            "secret_version",
            "password_regex",
        ] {
            assert!(judge_name(n.as_bytes()).is_none(), "{n}");
        }
        for n in ["SECRET_KEY_BASE", "api_key_b64", "TOKEN_PROD", "password2"] {
            assert!(
                judge_name(n.as_bytes()).is_some_and(|j| !j.needs_strong),
                "{n}"
            );
        }
        let strong = judge_name(b"todo_secret_do_not_commit").unwrap_or_default();
        assert!(plausible_value(b"YdXajH6lbGIx83UhyQp6bAFmyF1btn", strong));
        assert!(!plausible_value(b"hBNP9o!2E5d2", strong));
        assert!(generic_value(
            b"YdXajH6lbGIx83UhyQp6bAFmyF1btn",
            Some(b"todo_secret_do_not_commit")
        ));
    }

    #[test]
    fn uuids_under_bare_key_names_are_identifiers() {
        let uuid = b"12d8d106-1137-4d7c-8bb4-3ea1faec83fa";
        assert!(judge_name(b"DocumentKey").is_some_and(|n| n.bare_key));
        assert!(judge_name(b"api_key").is_some_and(|n| !n.bare_key));
        assert!(judge_name(b"apikey").is_some_and(|n| !n.bare_key));
        assert!(!generic_value(uuid, Some(b"DocumentKey")));
        assert!(!generic_value(uuid, Some(b"stripe_key")));
        assert!(generic_value(uuid, Some(b"HEROKU_API_KEY")));
        assert!(generic_value(uuid, Some(b"auth_token")));
        // Other random values under a bare key name still count.
        assert!(generic_value(
            b"12c389a37b5929138d3c52dd85da08ed2f65d42d3764c3ed706f3a299a6ad8e9",
            Some(b"HEX_KEY")
        ));
    }

    #[test]
    fn randomness_is_relative_to_the_alphabet() {
        assert_eq!(
            alphabet_size(b"3fea6af1349166ea", &Classes::of(b"3fea6af1349166ea")),
            16
        );
        assert_eq!(
            alphabet_size(b"Zf3D0LXCM3EIMbgJ", &Classes::of(b"Zf3D0LXCM3EIMbgJ")),
            62
        );
        assert_eq!(
            alphabet_size(b"wlwwm1j0ccjylbg", &Classes::of(b"wlwwm1j0ccjylbg")),
            36
        );
        // The expectation matches simulation (hex 16: 3.21, base62 32: 4.55).
        assert!((expected_entropy(16, 16) - 3.21).abs() < 0.03);
        assert!((expected_entropy(32, 62) - 4.55).abs() < 0.03);
        assert!((expected_entropy(4096, 16) - 4.0).abs() < 0.1);
        assert!(expected_entropy(1, 10).abs() < 1e-9);
        // Random 16-digit hex with repeats (2.9 bits/char) passes; lopsided values fail.
        assert!(ok("3fea6af1349166ea"));
        assert!(!ok("3fea3fea3fea1111"));
        assert!(!ok("Aa1Aa1Aa1Aa1Aa2B"));
    }

    #[test]
    fn masked_runs_and_keyboard_mashes() {
        assert!(!ok(
            "xoxp-572370529330-573807301142-572331691188-####################"
        ));
        assert!(!ok("Ab3dE??????????"));
        assert!(!ok("kjfhueyt9485osdfasdkljfh4lkjhakldjfhalkdsjf"));
        assert!(is_keyboard_mash(b"poiuytrewqpoiuqwer12"));
        assert!(!is_keyboard_mash(
            b"de81dd2f26fad03037682a6b605b4fe9e0f203d1aaddff"
        ));
        assert!(ok("1qay@WXS??Zt"));
        // The shifted digit row.
        assert!(!ok("pwd:!@#$%^&*()_+{}[];\""));
        assert!(!has_masked_run(b"AAAAAAAAB3NzaC1yc2EAAAADAQABAAABAQ"));
        assert!(has_masked_run(b"AAAAAAAAAAB3NzaC1yc2EAAAADAQABAAABAQ"));
    }

    #[test]
    fn repeated_segments() {
        assert!(has_repeated_segment(
            b"xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"
        ));
        assert!(!ok("xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"));
        assert!(!has_repeated_segment(
            b"73fa573c-90b0-6af7-ff46-af5be4572f04"
        ));
        assert!(!has_repeated_segment(b"ab-ab-ab-Zf3D0LXCM3EIMbgJ"));
    }

    #[test]
    fn parentheses_and_brackets_inside_random_values() {
        let v = b"7`D'}/vYR)T;W\\5]EBrf;_&k>qX??]G&3CF=;@vyrVBp[$_hK4^?{qT/EglJe[FYjp:IPgl_t$%r";
        assert!(generic_value(v, Some(b"jwtsecret")));
        assert!(ok("kV9)x2Lm(Qp8"));
        for code in [
            "getPassword()",
            "os.getenv('X')",
            "ENV.fetch(\"SECRET\")",
            "argv[1]",
            "$cfg[$key]",
            "data[\"k\"]",
        ] {
            assert!(!ok(code), "{code}");
        }
    }

    #[test]
    fn uri_passwords() {
        let judge =
            |uri: &str, password: &str| generic_value(password.as_bytes(), Some(uri.as_bytes()));
        assert!(judge(
            "postgres://app_owner:2ZEDhF6vat9@db-prod.internal",
            "2ZEDhF6vat9"
        ));
        assert!(judge("amqps://admin:3eCa3P@192.168.1.10", "3eCa3P"));
        // Human passwords are fine in a URI.
        assert!(judge("mongodb://svc:blooberry@mongo-0.db", "blooberry"));
        assert!(!judge("postgres://postgres:postgres@localhost", "postgres"));
        assert!(!judge("amqp://Guest:guest@rabbit", "guest"));
        assert!(!judge(
            "postgres://cacheuser:cachepass@localhost",
            "cachepass"
        ));
        assert!(!judge(
            "http://dhh:supersecret@www.example.com",
            "supersecret"
        ));
        assert!(!judge("https://u:Zk3vQ81xLm@ci.example.org", "Zk3vQ81xLm"));
        assert!(!judge("https://u:Zk3vQ81xLm@build.invalid", "Zk3vQ81xLm"));
        assert!(judge("https://u:Zk3vQ81xLm@myapp.test", "Zk3vQ81xLm"));
        assert!(judge("https://u:Zk3vQ81xLm@examples.io", "Zk3vQ81xLm"));
        // A name that is not a URI is judged as a key name.
        assert!(uri_parts(b"DB_PASSWORD", b"x").is_none());
        assert!(uri_parts(b"https://u:other@h", b"x").is_none());
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

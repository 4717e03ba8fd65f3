//! PyPI API tokens: `pypi-` + base64url of a libmacaroons v2 binary macaroon.
//!
//! A macaroon's restrictions are its caveats, readable without the key: whether the token can
//! upload to *every* project of its owner or only named ones, and until when. Binary v2 layout
//! (libmacaroons, as written by pymacaroons for Warehouse): version byte `2`; then packets of
//! `varint type, varint length, bytes` with types location (1), identifier (2), vid (4),
//! signature (6), and a lone `0` (EOS) closing each section: the root section, then one section
//! per caveat, then an empty section, then the signature.
//!
//! Warehouse caveats are JSON in first-party caveat identifiers. Current form is an array
//! `[tag, ...]`: `[0, expires_at, not_before]`, `[1, [project names]]`, `[2, [project ids]]`,
//! `[3, user_id]`, `[4, oidc_publisher_id]` (trusted publishing). Legacy objects are still
//! accepted by Warehouse: `{"version":1,"permissions":"user"}`,
//! `{"version":1,"permissions":{"projects":[...]}}`, `{"exp":..,"nbf":..}`, `{"project_ids":[..]}`.

use super::util::{b64_decode, json_secs, lifetime_of_window, put, read_uvarint, unix_to_iso};
use super::{Environment, Facts, Privilege};
use crate::rules::{Lifetime, Scope};
use serde_json::Value;

const EOS: u64 = 0;
const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VID: u64 = 4;
const SIGNATURE: u64 = 6;
/// Hostile tokens could declare thousands of caveats; real ones have a handful.
const MAX_CAVEATS: usize = 64;

/// One parsed macaroon section.
#[derive(Debug, Default)]
struct Section<'a> {
    location: Option<&'a [u8]>,
    identifier: Option<&'a [u8]>,
    vid: Option<&'a [u8]>,
}

/// What the macaroon binary contained.
#[derive(Debug)]
struct Macaroon<'a> {
    root: Section<'a>,
    caveats: Vec<Section<'a>>,
}

/// Decodes a PyPI (or TestPyPI) API token found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some(start) = secret.find("pypi-") else {
        return facts;
    };
    let body = super::util::run_from(secret, start + "pypi-".len(), |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=')
    });
    let Some(bytes) = b64_decode(body) else {
        return facts;
    };
    let Some(mac) = parse(&bytes) else {
        return facts;
    };
    facts.decoded = true;
    facts.privilege = Some(Privilege::Write); // every PyPI token can upload
    if let Some(loc) = mac.root.location {
        let loc = String::from_utf8_lossy(loc);
        put(&mut facts, "location", &loc);
        facts.environment = match loc.as_ref() {
            "pypi.org" => Some(Environment::Production),
            "test.pypi.org" => Some(Environment::Test),
            _ => None,
        };
    }
    if let Some(id) = mac
        .root
        .identifier
        .and_then(|i| std::str::from_utf8(i).ok())
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_graphic())
    {
        // The database id of the token (not secret: PyPI shows it in the account's security log).
        put(&mut facts, "token_id", id);
    }
    let mut c = Caveats::default();
    for cav in &mac.caveats {
        if cav.vid.is_some() {
            c.third_party += 1;
            continue;
        }
        if let Some(json) = cav
            .identifier
            .and_then(|i| serde_json::from_slice::<Value>(i).ok())
        {
            c.apply(&json);
        } else {
            c.unknown += 1;
        }
    }
    c.into_facts(&mut facts);
    facts
}

#[derive(Debug, Default)]
struct Caveats {
    user_id: Option<String>,
    projects: Vec<String>,
    project_ids: Vec<String>,
    publisher: Option<String>,
    expires: Option<i64>,
    not_before: Option<i64>,
    unknown: usize,
    third_party: usize,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Caveats {
    fn apply(&mut self, json: &Value) {
        match json {
            Value::Array(items) => match items.first().and_then(Value::as_u64) {
                Some(0) => self.expiry(items.get(1), items.get(2)),
                Some(1) => self.projects.extend(strings(items.get(1))),
                Some(2) => self.project_ids.extend(strings(items.get(1))),
                Some(3) => {
                    self.user_id = items.get(1).and_then(Value::as_str).map(str::to_string);
                }
                Some(4) => {
                    self.publisher = items.get(1).and_then(Value::as_str).map(str::to_string);
                }
                _ => self.unknown += 1,
            },
            Value::Object(map) => {
                if map.get("version").and_then(Value::as_u64) == Some(1) {
                    match map.get("permissions") {
                        // User-wide: no narrowing, nothing to record.
                        Some(Value::String(s)) if s == "user" => {}
                        Some(Value::Object(p)) => self.projects.extend(strings(p.get("projects"))),
                        _ => self.unknown += 1,
                    }
                } else if map.contains_key("exp") && map.contains_key("nbf") {
                    self.expiry(map.get("exp"), map.get("nbf"));
                } else if map.contains_key("project_ids") {
                    self.project_ids.extend(strings(map.get("project_ids")));
                } else {
                    self.unknown += 1;
                }
            }
            _ => self.unknown += 1,
        }
    }

    fn expiry(&mut self, exp: Option<&Value>, nbf: Option<&Value>) {
        let exp = exp.and_then(json_secs);
        // Several expiry caveats all apply: the earliest wins.
        self.expires = match (self.expires, exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(nbf) = nbf.and_then(json_secs) {
            self.not_before = Some(self.not_before.map_or(nbf, |n| n.max(nbf)));
        }
    }

    fn into_facts(self, facts: &mut Facts) {
        if !self.projects.is_empty() {
            put(facts, "projects", &self.projects.join(", "));
        }
        if !self.project_ids.is_empty() {
            put(facts, "project_ids", &self.project_ids.join(", "));
        }
        if let Some(u) = &self.user_id {
            put(facts, "user_id", u);
        }
        if let Some(p) = &self.publisher {
            put(facts, "trusted_publisher_id", p);
        }
        if self.unknown > 0 {
            put(facts, "unknown_caveats", &self.unknown.to_string());
        }
        if self.third_party > 0 {
            put(facts, "third_party_caveats", &self.third_party.to_string());
        }
        if let Some(nbf) = self.not_before {
            put(facts, "not_before", &unix_to_iso(nbf));
        }
        facts.expires_at = self.expires;
        facts.lifetime = match (self.not_before, self.expires) {
            (Some(nbf), Some(exp)) => lifetime_of_window(nbf, exp),
            (None, Some(_)) => None,
            (_, None) if self.publisher.is_none() => Some(Lifetime::Never),
            (_, None) => None,
        };
        let project_count = self.projects.len().max(self.project_ids.len());
        if self.publisher.is_some() {
            // Minted by trusted publishing for the publisher's projects; 15 minutes.
            facts.kind = Some("PyPI trusted-publishing token".into());
            facts.scope = Some(Scope::FineGrained);
            facts.lifetime.get_or_insert(Lifetime::Short);
        } else if project_count > 0 {
            facts.kind = Some("PyPI API token (project-scoped)".into());
            facts.scope = Some(if project_count == 1 {
                Scope::SingleResource
            } else {
                Scope::FineGrained
            });
        } else {
            // A user caveat, or no restriction at all: every project the user can upload to.
            put(facts, "projects", "all projects of the token's owner");
            facts.kind = Some("PyPI API token (user-wide)".into());
            facts.scope = Some(Scope::FixedBroad);
        }
    }
}

/// Parses a v2 binary macaroon; `None` unless it is well formed up to and including the
/// signature.
fn parse(bytes: &[u8]) -> Option<Macaroon<'_>> {
    let (&version, mut rest) = bytes.split_first()?;
    if version != 2 {
        return None;
    }
    let root;
    (root, rest) = read_section(rest)?;
    root.identifier?;
    let mut caveats = Vec::new();
    loop {
        if rest.first() == Some(&0) {
            rest = rest.get(1..)?;
            break;
        }
        if caveats.len() >= MAX_CAVEATS {
            return None;
        }
        let cav;
        (cav, rest) = read_section(rest)?;
        cav.identifier?;
        caveats.push(cav);
    }
    let (kind, rest) = read_uvarint(rest)?;
    if kind != SIGNATURE {
        return None;
    }
    let (len, rest) = read_uvarint(rest)?;
    let sig = rest.get(..usize::try_from(len).ok()?)?;
    (sig.len() == 32).then_some(Macaroon { root, caveats })
}

/// Reads packets up to and including the EOS marker.
fn read_section(mut buf: &[u8]) -> Option<(Section<'_>, &[u8])> {
    let mut section = Section::default();
    loop {
        let (kind, rest) = read_uvarint(buf)?;
        if kind == EOS {
            return Some((section, rest));
        }
        let (len, rest) = read_uvarint(rest)?;
        let len = usize::try_from(len).ok()?;
        let data = rest.get(..len)?;
        buf = rest.get(len..)?;
        let slot = match kind {
            LOCATION => &mut section.location,
            IDENTIFIER => &mut section.identifier,
            VID => &mut section.vid,
            _ => return None,
        };
        if slot.replace(data).is_some() {
            return None; // duplicate field
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    fn packet(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
        out.push(kind);
        let mut n = data.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(data);
    }

    /// Builds a v2 macaroon binary by hand (the signature is zeros: nobody verifies it here).
    pub(crate) fn macaroon(location: &str, id: &str, caveats: &[&str]) -> Vec<u8> {
        let mut b = vec![2];
        packet(&mut b, 1, location.as_bytes());
        packet(&mut b, 2, id.as_bytes());
        b.push(0);
        for c in caveats {
            packet(&mut b, 2, c.as_bytes());
            b.push(0);
        }
        b.push(0);
        packet(&mut b, 6, &[0; 32]);
        b
    }

    pub(crate) fn token(location: &str, caveats: &[&str]) -> String {
        format!(
            "pypi-{}",
            URL_SAFE_NO_PAD.encode(macaroon(
                location,
                "00000000-0000-0000-0000-000000000000",
                caveats
            ))
        )
    }

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    #[test]
    fn prefix_matches_real_tokens() {
        assert!(token("pypi.org", &[]).starts_with("pypi-AgEIcHlwaS5vcmc"));
    }

    #[test]
    fn legacy_user_wide() {
        let f = decode(&token(
            "pypi.org",
            &[r#"{"version": 1, "permissions": "user"}"#],
        ));
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("PyPI API token (user-wide)"));
        assert_eq!(f.scope, Some(Scope::FixedBroad));
        assert_eq!(f.lifetime, Some(Lifetime::Never));
        assert_eq!(f.environment, Some(Environment::Production));
        assert_eq!(f.privilege, Some(Privilege::Write));
        assert_eq!(field(&f, "location"), Some("pypi.org"));
        assert_eq!(
            field(&f, "token_id"),
            Some("00000000-0000-0000-0000-000000000000")
        );
    }

    #[test]
    fn legacy_project_scoped() {
        let f = decode(&token(
            "pypi.org",
            &[r#"{"version": 1, "permissions": {"projects": ["sampleproject"]}}"#],
        ));
        assert_eq!(f.kind.as_deref(), Some("PyPI API token (project-scoped)"));
        assert_eq!(f.scope, Some(Scope::SingleResource));
        assert_eq!(field(&f, "projects"), Some("sampleproject"));
    }

    #[test]
    fn current_caveats_with_expiry() {
        let t = token(
            "pypi.org",
            &[
                r#"[1,["alpha","beta"]]"#,
                r#"[2,["id-a","id-b"]]"#,
                "[0,1893456000,1893452400]",
                r#"[3,"user-uuid"]"#,
            ],
        );
        let f = decode(&format!("password = {t}\n"));
        assert_eq!(f.scope, Some(Scope::FineGrained));
        assert_eq!(field(&f, "projects"), Some("alpha, beta"));
        assert_eq!(field(&f, "project_ids"), Some("id-a, id-b"));
        assert_eq!(field(&f, "user_id"), Some("user-uuid"));
        assert_eq!(f.expires_at, Some(1_893_456_000));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(field(&f, "not_before"), Some("2029-12-31T23:00:00Z"));
    }

    #[test]
    fn legacy_expiry_and_project_ids() {
        let t = token(
            "test.pypi.org",
            &[
                r#"{"exp": 1893456000, "nbf": 1700000000}"#,
                r#"{"project_ids": ["p1"]}"#,
            ],
        );
        let f = decode(&t);
        assert_eq!(f.environment, Some(Environment::Test));
        assert_eq!(f.scope, Some(Scope::SingleResource));
        assert_eq!(f.expires_at, Some(1_893_456_000));
        assert_eq!(f.lifetime, Some(Lifetime::Long));
    }

    #[test]
    fn trusted_publishing_token() {
        let t = token(
            "pypi.org",
            &[r#"[4,"publisher-uuid"]"#, "[0,1700000900,1700000000]"],
        );
        let f = decode(&t);
        assert_eq!(f.kind.as_deref(), Some("PyPI trusted-publishing token"));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(field(&f, "trusted_publisher_id"), Some("publisher-uuid"));
    }

    #[test]
    fn padded_encoding_and_unknown_caveats() {
        let bytes = macaroon("pypi.org", "id", &["not json", r#"[9]"#]);
        let f = decode(&format!("pypi-{}", URL_SAFE.encode(bytes)));
        assert!(f.decoded);
        assert_eq!(field(&f, "unknown_caveats"), Some("2"));
        assert_eq!(f.scope, Some(Scope::FixedBroad));
    }

    #[test]
    fn malformed() {
        let good = macaroon("pypi.org", "id", &[r#"[1,["x"]]"#]);
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            vec![2],
            good[..good.len() - 1].to_vec(),   // short signature
            [&[3u8][..], &good[1..]].concat(), // wrong version
            vec![2, 2, 0xff, 0xff, 0xff, 0xff, 0x0f], // huge length
            vec![2, 9, 1, 0],                  // unknown field type
            vec![2, 1, 1, b'x', 0],            // no identifier
        ];
        for bytes in cases {
            let f = decode(&format!("pypi-{}", URL_SAFE_NO_PAD.encode(&bytes)));
            assert!(f.is_empty(), "{bytes:?}");
        }
        assert!(decode("pypi-").is_empty());
        assert!(decode("pypi-!!!!").is_empty());
        assert!(decode("nothing").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = decode(&s);
            let _ = decode(&format!("pypi-{s}"));
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&format!("pypi-{}", URL_SAFE_NO_PAD.encode(&bytes)));
            let mut v = vec![2u8];
            v.extend(bytes);
            let _ = decode(&format!("pypi-{}", URL_SAFE_NO_PAD.encode(&v)));
        }

        #[test]
        fn never_panics_on_caveat_json(c in ".{0,60}", v in crate::introspect::util::tests::arb_json()) {
            let _ = decode(&token("pypi.org", &[&c]));
            let _ = decode(&token("pypi.org", &[&v.to_string()]));
            for tag in 0..5 {
                let arr = serde_json::json!([tag, v.clone(), v.clone()]).to_string();
                let _ = decode(&token("pypi.org", &[&arr]));
            }
            let legacy = serde_json::json!({"version": 1, "permissions": v.clone(), "exp": v.clone(),
                                            "nbf": v.clone(), "project_ids": v}).to_string();
            let _ = decode(&token("pypi.org", &[&legacy]));
        }
    }
}

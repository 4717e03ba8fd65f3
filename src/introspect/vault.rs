//! HashiCorp Vault tokens: the prefix is the token type.
//!
//! `hvs.` service tokens carry the policies of their role and, if allowed, create child
//! tokens and read dynamic-secret engines; `hvb.` batch tokens are short-lived, not renewable
//! and cannot create children; `hvr.` recovery tokens give raw storage access in recovery mode.
//! Vault < 1.10 used `s.`/`b.`/`r.`. Tokens created in an Enterprise namespace end in
//! `.<namespace id>`. Since 1.10 a long `hvs.` body is base64url of a protobuf `SignedToken`
//! {1: version = 1, 2: HMAC, 3: token}; Vault calls the internal structure volatile, so we
//! only use it as evidence the match is real and never read the token field (it is the secret).
//! Whether a token is a root token is not visible in the token.

use super::util::{b64_decode, put, read_uvarint};
use super::{Facts, Privilege};
use crate::rules::Lifetime;

/// Decodes the first Vault token found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some((prefix, body)) = find_token(secret) else {
        return facts;
    };
    let legacy = !prefix.starts_with("hv");
    let (main, namespace) = match body.rsplit_once('.') {
        Some((m, ns))
            if !ns.is_empty()
                && ns.len() <= 10
                && ns.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (m, Some(ns))
        }
        _ => (body, None),
    };
    if main.len() < 20 || main.contains('.') {
        return facts;
    }
    let suffix = if legacy { " (pre-1.10 format)" } else { "" };
    match prefix.trim_start_matches("hv").trim_end_matches('.') {
        "s" => {
            facts.kind = Some(format!("Vault service token{suffix}"));
        }
        "b" => {
            facts.kind = Some(format!("Vault batch token{suffix}"));
            facts.lifetime = Some(Lifetime::Short);
            facts.mints = Some(false);
        }
        "r" => {
            facts.kind = Some(format!("Vault recovery token{suffix}"));
            facts.lifetime = Some(Lifetime::Short);
            facts.privilege = Some(Privilege::Admin);
        }
        _ => return facts,
    }
    put(&mut facts, "prefix", prefix);
    if let Some(ns) = namespace {
        put(&mut facts, "namespace_id", ns);
    }
    if prefix == "hvs." && is_signed_token(main) {
        put(&mut facts, "format", "signed token (Vault 1.10+)");
    }
    facts.decoded = true;
    facts
}

/// (prefix, body) of the first token whose prefix starts a word.
fn find_token(secret: &str) -> Option<(&'static str, &str)> {
    const PREFIXES: [&str; 6] = ["hvs.", "hvb.", "hvr.", "s.", "b.", "r."];
    let mut best: Option<(usize, &'static str)> = None;
    for p in PREFIXES {
        for (i, _) in secret.match_indices(p) {
            let word_start = secret
                .get(..i)
                .and_then(|b| b.chars().next_back())
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'));
            if word_start {
                if best.is_none_or(|(bi, _)| i < bi) {
                    best = Some((i, p));
                }
                break;
            }
        }
    }
    let (i, p) = best?;
    let body = super::util::run_from(secret, i + p.len(), |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
    });
    Some((p, body))
}

/// Whether `main` is base64url of a `SignedToken` {1: varint 1, 2: 32-byte HMAC, 3: bytes}.
fn is_signed_token(main: &str) -> bool {
    let Some(bytes) = b64_decode(main) else {
        return false;
    };
    let mut buf = bytes.as_slice();
    let (mut version, mut hmac_len, mut token) = (None, None, false);
    while !buf.is_empty() {
        let Some((key, rest)) = read_uvarint(buf) else {
            return false;
        };
        buf = rest;
        match (key >> 3, key & 7) {
            (1, 0) => {
                let Some((v, rest)) = read_uvarint(buf) else {
                    return false;
                };
                version = Some(v);
                buf = rest;
            }
            (field @ (2 | 3), 2) => {
                let Some((len, rest)) = read_uvarint(buf) else {
                    return false;
                };
                let Some(len) = usize::try_from(len).ok().filter(|&l| l <= rest.len()) else {
                    return false;
                };
                if field == 2 {
                    hmac_len = Some(len);
                } else {
                    token = true;
                }
                buf = rest.get(len..).unwrap_or_default();
            }
            _ => return false,
        }
    }
    version == Some(1) && hmac_len == Some(32) && token
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn signed_token() -> String {
        let mut b = vec![0x08, 0x01, 0x12, 32];
        b.extend([0u8; 32]);
        b.extend([0x1a, 30]);
        b.extend([0x0a, 28]);
        b.extend(b"hvs.FAKEFAKEFAKEFAKEFAKEFAKE".iter().take(28));
        b.resize(4 + 32 + 2 + 30, b'x');
        format!("hvs.{}", URL_SAFE_NO_PAD.encode(b))
    }

    #[test]
    fn service_token() {
        let t = signed_token();
        assert!(t.starts_with("hvs.CAESI"));
        let f = decode(&format!("VAULT_TOKEN={t}"));
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Vault service token"));
        assert_eq!(
            f.fields.get("format").map(String::as_str),
            Some("signed token (Vault 1.10+)")
        );
        assert_eq!(f.lifetime, None);
    }

    #[test]
    fn batch_and_recovery_tokens() {
        let f = decode(&format!("hvb.{}", "A".repeat(140)));
        assert_eq!(f.kind.as_deref(), Some("Vault batch token"));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(f.mints, Some(false));
        let f = decode(&format!("hvr.{}", "B".repeat(24)));
        assert_eq!(f.kind.as_deref(), Some("Vault recovery token"));
        assert_eq!(f.privilege, Some(Privilege::Admin));
    }

    #[test]
    fn legacy_and_namespaced() {
        let f = decode("export VAULT_TOKEN=s.FAKEfake00000000FAKEfake.AbCd1");
        assert!(f.decoded);
        assert_eq!(
            f.kind.as_deref(),
            Some("Vault service token (pre-1.10 format)")
        );
        assert_eq!(
            f.fields.get("namespace_id").map(String::as_str),
            Some("AbCd1")
        );
        assert!(!f.fields.contains_key("format"));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "hvs.",
            "hvs.short",
            "xs.FAKEfake00000000FAKEfake",
            "hvx.AAAAAAAAAAAAAAAAAAAAAAAA",
            "a.b.c",
        ] {
            assert!(decode(bad).is_empty(), "{bad}");
        }
        assert!(!is_signed_token("!!!"));
        assert!(!is_signed_token("CAESIA"));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = decode(&s);
            let _ = decode(&format!("hvs.{s}"));
        }

        #[test]
        fn never_panics_on_protobuf_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode(&format!("hvs.{}", URL_SAFE_NO_PAD.encode(&bytes)));
        }
    }
}

//! GitHub tokens (2021 format): `gh?_` prefixes name the token type.
//!
//! The type decides the blast radius: a classic PAT (`ghp_`) acts as the user everywhere with
//! the scopes picked at creation, a fine-grained PAT (`github_pat_`) on selected repositories
//! of one owner, an installation token (`ghs_`) lives an hour, a user-to-server token (`ghu_`)
//! eight hours, and a refresh token (`ghr_`) mints new user tokens for six months. The body is
//! random apart from a CRC32 checksum in the last six characters (see
//! `rules::Validator::Crc32Base62`), which we report; the new stateless `ghs_` form carries a
//! JWT whose expiry we read.

use super::util::put;
use super::{Facts, jwt};
use crate::rules::{Lifetime, Scope, Validator};

/// Decodes the first GitHub token found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some(start) = ["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .filter_map(|p| secret.find(p))
        .min()
    else {
        return facts;
    };
    let token = super::util::run_from(secret, start, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    });
    let (prefix, body) = match token.strip_prefix("github_pat_") {
        Some(body) => ("github_pat_", body),
        None => (token.get(..4).unwrap_or(""), token.get(4..).unwrap_or("")),
    };
    if body.is_empty() {
        return facts;
    }
    facts.kind = Some(
        match prefix {
            "ghp_" => "GitHub classic personal access token",
            "github_pat_" => "GitHub fine-grained personal access token",
            "gho_" => "GitHub OAuth app access token",
            "ghu_" => "GitHub App user-to-server token",
            "ghs_" => "GitHub App installation token",
            "ghr_" => "GitHub App refresh token",
            _ => return facts,
        }
        .into(),
    );
    match prefix {
        "ghp_" | "gho_" => facts.scope = Some(Scope::UserSelected),
        "github_pat_" => facts.scope = Some(Scope::FineGrained),
        "ghu_" | "ghs_" => facts.lifetime = Some(Lifetime::Short),
        _ => {
            facts.mints = Some(true);
            facts.lifetime = Some(Lifetime::Long);
        }
    }
    put(&mut facts, "prefix", prefix);
    if prefix == "ghs_" && body.matches('.').count() == 2 {
        stateless_installation_token(body, &mut facts);
        return facts;
    }
    let alnum = body.chars().all(|c| c.is_ascii_alphanumeric());
    if matches!(prefix, "ghp_" | "gho_" | "ghu_" | "ghs_") && alnum && body.len() == 36 {
        let ok = Validator::Crc32Base62.check(token.as_bytes());
        put(&mut facts, "checksum", if ok { "valid" } else { "invalid" });
        facts.decoded = ok;
    } else if prefix == "github_pat_" {
        // `github_pat_<22>_<59>`: the checksum scheme is not public, so only the shape counts.
        let mut parts = body.split('_');
        let shape = (parts.next(), parts.next(), parts.next());
        facts.decoded = matches!(shape, (Some(a), Some(b), None)
            if a.len() == 22 && b.len() == 59
                && a.chars().chain(b.chars()).all(|c| c.is_ascii_alphanumeric()));
    } else if prefix == "ghr_" {
        facts.decoded = alnum && body.len() == 76;
    }
    facts
}

/// Stateless `ghs_` tokens embed a signed JWT; its claims date the token.
fn stateless_installation_token(body: &str, facts: &mut Facts) {
    let inner = jwt::decode(body);
    if !inner.decoded {
        return;
    }
    facts.decoded = true;
    facts.expires_at = inner.expires_at;
    facts.issued_at = inner.issued_at;
    put(facts, "format", "stateless (JWT)");
    for (k, v) in &inner.fields {
        if matches!(k.as_str(), "issuer" | "subject" | "audience") {
            put(facts, k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// A synthetic token with a correct checksum (30 chars of 'a' + CRC32 in base62).
    fn with_checksum(prefix: &str) -> String {
        let random = "a".repeat(30);
        let mut n = crc32fast::hash(random.as_bytes());
        let mut sum = [b'0'; 6];
        for slot in sum.iter_mut().rev() {
            *slot = B62[(n % 62) as usize];
            n /= 62;
        }
        format!("{prefix}{random}{}", String::from_utf8_lossy(&sum))
    }

    #[test]
    fn kinds_and_checksums() {
        let f = decode(&format!("token: {}", with_checksum("ghp_")));
        assert!(f.decoded);
        assert_eq!(
            f.kind.as_deref(),
            Some("GitHub classic personal access token")
        );
        assert_eq!(f.scope, Some(Scope::UserSelected));
        assert_eq!(f.fields.get("checksum").map(String::as_str), Some("valid"));

        let f = decode(&with_checksum("ghs_"));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(f.kind.as_deref(), Some("GitHub App installation token"));
        let f = decode(&with_checksum("ghu_"));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        let f = decode(&with_checksum("gho_"));
        assert_eq!(f.kind.as_deref(), Some("GitHub OAuth app access token"));

        let mut bad = with_checksum("ghp_");
        let last = bad.pop();
        bad.push(if last == Some('Z') { 'Y' } else { 'Z' });
        let f = decode(&bad);
        assert!(!f.decoded);
        assert_eq!(
            f.fields.get("checksum").map(String::as_str),
            Some("invalid")
        );
    }

    #[test]
    fn fine_grained_and_refresh() {
        let t = format!("github_pat_{}_{}", "A".repeat(22), "b".repeat(59));
        let f = decode(&t);
        assert!(f.decoded);
        assert_eq!(f.scope, Some(Scope::FineGrained));
        assert_eq!(
            f.kind.as_deref(),
            Some("GitHub fine-grained personal access token")
        );

        let f = decode(&format!("ghr_{}", "c".repeat(76)));
        assert!(f.decoded);
        assert_eq!(f.mints, Some(true));
        assert_eq!(f.kind.as_deref(), Some("GitHub App refresh token"));
    }

    #[test]
    fn stateless_installation_token_expiry() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
        let c = URL_SAFE_NO_PAD.encode(r#"{"exp":1700003600,"iat":1700000000,"iss":"github"}"#);
        let f = decode(&format!("ghs_{h}.{c}.sig"));
        assert!(f.decoded);
        assert_eq!(f.expires_at, Some(1_700_003_600));
        assert_eq!(
            f.fields.get("format").map(String::as_str),
            Some("stateless (JWT)")
        );
    }

    #[test]
    fn malformed() {
        for bad in ["", "ghp_", "ghx_abc", "github_pat_", "gh"] {
            assert!(decode(bad).is_empty(), "{bad}");
        }
        assert!(!decode("ghp_short").decoded);
        assert!(!decode("github_pat_a_b").decoded);
        assert!(!decode("ghs_a.b.c").decoded);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = decode(&s);
            let _ = decode(&format!("ghp_{s}"));
            let _ = decode(&format!("github_pat_{s}"));
            let _ = decode(&format!("ghs_{s}.{s}.{s}"));
        }
    }
}

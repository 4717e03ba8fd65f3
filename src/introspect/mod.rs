//! Offline introspection: what a credential reveals about itself without calling anyone.
//!
//! TruffleHog and Betterleaks learn a token's permissions by calling the provider with it;
//! we read what the token, decoded, says on its face (JWT claims, SAS parameters, macaroon
//! caveats, key-id prefixes, URI hosts) so the blast radius can be judged in a pre-commit hook
//! or on an air-gapped runner. Decoders never fail loudly: malformed input yields empty facts.
//!
//! One submodule per token family, each exposing `decode(secret: &str) -> Facts`; [`introspect`]
//! dispatches on the rule's `introspect` name. The secret is attacker-controlled text (anyone can
//! commit anything), so every decoder is total: no panics, bounded work, and decoded text copied
//! into [`Facts::fields`] is sanitised and truncated (see `util::put`). Nothing in the facts is
//! the secret itself: signatures, passwords and key material are never copied.

pub mod aws;
pub mod azure_sas;
pub mod gcp;
pub mod github;
pub mod jwt;
pub mod private_key;
pub mod pypi;
pub mod slack;
pub mod stripe;
pub mod uri;
mod util;
pub mod vault;

use crate::rules::{Lifetime, Reach, Scope};
use serde::Serialize;
use std::collections::BTreeMap;

/// Names accepted in a rule's `introspect` field.
pub const DECODERS: &[&str] = &[
    "jwt",
    "aws_key_id",
    "azure_sas",
    "pypi_macaroon",
    "stripe",
    "slack",
    "github",
    "vault",
    "gcp_service_account",
    "private_key",
    "uri",
];

/// How much power the credential's holder has within its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Administrative / bypasses row-level security / can manage credentials.
    Admin,
    Write,
    Read,
    /// Meant to be public (publishable keys, anon keys): leaking it grants little.
    Public,
}

/// Which environment the credential belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    /// Test/sandbox mode (Stripe sk_test_).
    Test,
    /// Only reachable locally (a database URI on localhost).
    Local,
}

/// What a decoder learned. Every field is optional: absent means "the token does not say".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    /// Human-readable decoded facts, e.g. ("account", "123456789012"), ("issuer", "...").
    /// Never contains the secret itself.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Unix seconds after which the credential no longer works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    /// Scope refined by what the token says (e.g. a project-scoped PyPI token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Lifetime refined by what the token says (e.g. ASIA = temporary STS credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<Lifetime>,
    /// Systems the token reaches beyond the rule's own list, when its claims say (a Supabase
    /// service_role key reaches the database; a Kubernetes service-account token the cluster).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reach: Vec<Reach>,
    /// Whether this credential can mint or refresh others, when the token says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mints: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privilege: Option<Privilege>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// A refined kind, e.g. "Supabase service_role key", "Kubernetes service-account token (legacy)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Private keys: whether the key material is encrypted with a passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// JWT with `alg: none`: anyone can forge tokens accepted by a verifier that allows it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsigned: bool,
    /// The structure decoded cleanly (evidence the match is a real credential).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decoded: bool,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }
}

/// Inputs longer than this are not decoded: no credential we decode is anywhere near it
/// (a GCP service-account JSON is ~2.4 KB, a 16384-bit PEM key ~13 KB), and the cap bounds
/// the work an adversarial file can cause.
pub const MAX_SECRET_LEN: usize = 64 * 1024;

/// Runs the named decoder on a secret value. Unknown names and undecodable input give
/// empty facts.
pub fn introspect(decoder: &str, secret: &str) -> Facts {
    if secret.len() > MAX_SECRET_LEN {
        return Facts::default();
    }
    let mut facts = match decoder {
        "jwt" => jwt::decode(secret),
        "aws_key_id" => aws::decode(secret),
        "azure_sas" => azure_sas::decode(secret),
        "pypi_macaroon" => pypi::decode(secret),
        "stripe" => stripe::decode(secret),
        "slack" => slack::decode(secret),
        "github" => github::decode(secret),
        "vault" => vault::decode(secret),
        "gcp_service_account" => gcp::decode(secret),
        "private_key" => private_key::decode(secret),
        "uri" => uri::decode(secret),
        _ => Facts::default(),
    };
    // A refined kind can quote the token (a PuTTY key's type line, a URI's scheme): the
    // same sanitising as every field, or a report would carry its control characters (the
    // fuzzer found `PuTTY-User-Key-File-2: \x01…`) and unbounded length.
    facts.kind = facts
        .kind
        .as_deref()
        .map(util::clean)
        .filter(|k| !k.is_empty());
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_listed_decoder_is_dispatched() {
        // A decoder name in DECODERS that falls through to the default arm would silently
        // yield nothing; each of these inputs is recognised by its own decoder.
        let samples = [
            ("jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            ("aws_key_id", "AKIAQAAAAAAAAAAAAAAA"),
            ("azure_sas", "sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig=abc"),
            (
                "pypi_macaroon",
                "pypi-AgEIcHlwaS5vcmcCAXgAAAYgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            ("stripe", "sk_test_0000000000000000000000000"),
            (
                "slack",
                "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx",
            ),
            ("github", "ghr_0000"),
            ("vault", "hvb.AAAAAAAAAAAAAAAAAAAAAAAA"),
            (
                "gcp_service_account",
                r#"{"type":"service_account","project_id":"p"}"#,
            ),
            (
                "private_key",
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none",
            ),
            ("uri", "postgres://u:p@localhost/db"),
        ];
        for name in DECODERS {
            let (_, secret) = samples
                .iter()
                .find(|(n, _)| n == name)
                .copied()
                .unwrap_or(("", ""));
            assert!(
                !introspect(name, secret).is_empty(),
                "{name} not dispatched"
            );
        }
        assert!(introspect("nope", "ghp_x").is_empty());
    }

    #[test]
    fn kind_is_sanitised_like_fields() {
        // Fuzzer find (introspect target): a PuTTY key's type line reached `kind` verbatim,
        // control characters included; a URI scheme reached it at any length.
        let f = introspect(
            "private_key",
            "PuTTY-User-Key-File-2: \x01\x1b[2J\0ssh-rsa\nEncryption: none\n",
        );
        let kind = f.kind.unwrap();
        assert!(!kind.chars().any(char::is_control), "{kind:?}");
        assert!(kind.starts_with("PuTTY private key ("));
        let long = format!("{}://u:p@db.example.com/x", "a".repeat(5000));
        let kind = introspect("uri", &long).kind.unwrap();
        assert!(
            kind.chars().count() <= util::MAX_FIELD_CHARS,
            "{}",
            kind.len()
        );
    }

    #[test]
    fn oversized_input_is_ignored() {
        let big = format!("sk_live_{}", "a".repeat(MAX_SECRET_LEN));
        assert!(introspect("stripe", &big).is_empty());
    }

    proptest! {
        #[test]
        fn no_decoder_panics(name in proptest::sample::select(DECODERS), s in ".{0,300}") {
            let _ = introspect(name, &s);
        }

        #[test]
        fn no_decoder_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            for name in DECODERS {
                let _ = introspect(name, &text);
            }
        }
    }
}

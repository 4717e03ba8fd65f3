//! Stripe API keys: the prefix is the whole story.
//!
//! `sk_` secret keys have full API access to the account, `rk_` restricted keys only the
//! per-resource permissions chosen at creation, `pk_` publishable keys are meant to ship in
//! web pages, and `whsec_` webhook secrets let the holder forge events to one endpoint.
//! `_live_` vs `_test_` separates real money from sandbox data. The key body is opaque.

use super::util::put;
use super::{Environment, Facts, Privilege};
use crate::rules::Scope;

/// Decodes the first Stripe key found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    if let Some(body) = after_prefix(secret, "whsec_") {
        if body.len() >= 16 {
            facts.decoded = true;
            facts.kind = Some("Stripe webhook signing secret".into());
            facts.scope = Some(Scope::SingleResource);
            put(&mut facts, "key_type", "webhook signing secret");
        }
        return facts;
    }
    for (prefix, kind, key_type) in [
        ("sk_", "Stripe secret key", "secret"),
        ("rk_", "Stripe restricted key", "restricted"),
        ("pk_", "Stripe publishable key", "publishable"),
    ] {
        for (mode, env) in [
            ("live_", Environment::Production),
            ("test_", Environment::Test),
        ] {
            let full = format!("{prefix}{mode}");
            let Some(body) = after_prefix(secret, &full) else {
                continue;
            };
            if body.len() < 16 {
                continue;
            }
            facts.decoded = true;
            facts.environment = Some(env);
            put(&mut facts, "key_type", key_type);
            put(&mut facts, "mode", mode.trim_end_matches('_'));
            let suffix = if env == Environment::Test {
                " (test mode)"
            } else {
                ""
            };
            facts.kind = Some(format!("{kind}{suffix}"));
            match key_type {
                "secret" => {
                    facts.scope = Some(Scope::FixedBroad);
                    facts.privilege = Some(Privilege::Admin);
                }
                "restricted" => facts.scope = Some(Scope::FineGrained),
                _ => facts.privilege = Some(Privilege::Public),
            }
            return facts;
        }
    }
    facts
}

/// The alphanumeric body after `prefix`, where the prefix starts a word.
fn after_prefix<'a>(secret: &'a str, prefix: &str) -> Option<&'a str> {
    secret.match_indices(prefix).find_map(|(i, _)| {
        let word_start = secret
            .get(..i)
            .and_then(|before| before.chars().next_back())
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if !word_start {
            return None;
        }
        let body = super::util::run_from(secret, i + prefix.len(), |c| {
            c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
        });
        (!body.is_empty()).then_some(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &str = "0000000000FAKE0000000000";

    #[test]
    fn secret_keys() {
        let f = decode(&format!("STRIPE_KEY=sk_live_{BODY}"));
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Stripe secret key"));
        assert_eq!(f.environment, Some(Environment::Production));
        assert_eq!(f.scope, Some(Scope::FixedBroad));
        assert_eq!(f.privilege, Some(Privilege::Admin));

        let f = decode(&format!("sk_test_{BODY}"));
        assert_eq!(f.environment, Some(Environment::Test));
        assert_eq!(f.kind.as_deref(), Some("Stripe secret key (test mode)"));
    }

    #[test]
    fn restricted_and_publishable() {
        let f = decode(&format!("rk_live_{BODY}"));
        assert_eq!(f.scope, Some(Scope::FineGrained));
        assert_eq!(f.privilege, None);
        for p in ["pk_live_", "pk_test_"] {
            let f = decode(&format!("{p}{BODY}"));
            assert_eq!(f.privilege, Some(Privilege::Public), "{p}");
        }
    }

    #[test]
    fn webhook_secret() {
        let f = decode(&format!("whsec_{BODY}"));
        assert_eq!(f.kind.as_deref(), Some("Stripe webhook signing secret"));
        assert_eq!(
            f.fields.get("key_type").map(String::as_str),
            Some("webhook signing secret")
        );
        assert_eq!(f.scope, Some(Scope::SingleResource));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "sk_live_",
            "sk_live_short",
            "ask_live_0000000000FAKE00000",
            "sk_prod_0000000000FAKE0000",
            "whsec_x",
        ] {
            assert!(decode(bad).is_empty(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = decode(&s);
            let _ = decode(&format!("sk_live_{s}"));
        }
    }
}

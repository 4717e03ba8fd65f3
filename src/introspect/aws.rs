//! AWS access key ids and IAM unique ids.
//!
//! The four-letter prefix is documented (IAM "unique ID prefixes"): `AKIA` is a long-term IAM
//! user (or root) key that works until deleted, `ASIA` a temporary STS key, `AROA`/`AIDA`/…
//! are identifiers, not credentials. The account that owns a key is also encoded in the id:
//! community research (Aidan Steele 2020, Tal Be'ery 2023, matching `sts:GetAccessKeyInfo`)
//! found that the 16 characters after the prefix are base32 (RFC 4648 alphabet) and that the
//! first 48 decoded bits, masked with `0x7fff_ffff_ff80` and shifted right by 7, are the
//! 12-digit account id. Ids whose fifth character is before `Q` (`AKIAI…`, `AKIAJ…`, issued
//! before ~2019) use an older layout that does not carry the account; we report none for them.
//! Knowing the account tells the responder whose key it is without calling AWS.

use super::util::put;
use super::{Facts, Privilege};
use crate::rules::Lifetime;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A documented unique-id prefix and what it means.
struct Prefix {
    prefix: &'static str,
    kind: &'static str,
    /// Credentials grant access; the other prefixes are identifiers.
    credential: bool,
    lifetime: Option<Lifetime>,
}

const fn credential(
    prefix: &'static str,
    kind: &'static str,
    lifetime: Option<Lifetime>,
) -> Prefix {
    Prefix {
        prefix,
        kind,
        credential: true,
        lifetime,
    }
}

const fn identifier(prefix: &'static str, kind: &'static str) -> Prefix {
    Prefix {
        prefix,
        kind,
        credential: false,
        lifetime: None,
    }
}

const PREFIXES: &[Prefix] = &[
    credential(
        "AKIA",
        "AWS IAM long-term access key",
        Some(Lifetime::Never),
    ),
    credential(
        "ASIA",
        "AWS temporary STS access key",
        Some(Lifetime::Short),
    ),
    credential(
        "ABIA",
        "AWS STS service bearer token",
        Some(Lifetime::Short),
    ),
    credential("ACCA", "AWS context-specific credential", None),
    identifier("AIDA", "AWS IAM user id (identifier, not a credential)"),
    identifier("AROA", "AWS IAM role id (identifier, not a credential)"),
    identifier("AGPA", "AWS IAM group id (identifier, not a credential)"),
    identifier(
        "AIPA",
        "AWS EC2 instance profile id (identifier, not a credential)",
    ),
    identifier(
        "ANPA",
        "AWS managed policy id (identifier, not a credential)",
    ),
    identifier(
        "ANVA",
        "AWS managed policy version id (identifier, not a credential)",
    ),
    identifier("APKA", "AWS public key id (identifier, not a credential)"),
    identifier("ASCA", "AWS certificate id (identifier, not a credential)"),
];

/// Decodes the first AWS key id / unique id found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some((id, entry)) = find_id(secret) else {
        return facts;
    };
    facts.decoded = true;
    facts.kind = Some(entry.kind.to_string());
    facts.lifetime = entry.lifetime;
    if !entry.credential {
        // Unique ids appear in ARNs, policies and CloudTrail; leaking one grants nothing.
        facts.privilege = Some(Privilege::Public);
    }
    put(&mut facts, "prefix", entry.prefix);
    match account_id(id) {
        Some(account) => put(&mut facts, "account", &format!("{account:012}")),
        None => put(
            &mut facts,
            "key_id_layout",
            "pre-2019: account not encoded (ask sts:GetAccessKeyInfo)",
        ),
    }
    facts
}

/// The first 20-character id with a known prefix and a base32 body, on word boundaries.
fn find_id(secret: &str) -> Option<(&str, &'static Prefix)> {
    let bytes = secret.as_bytes();
    (0..bytes.len()).find_map(|start| {
        let before_ok = start == 0
            || bytes
                .get(start - 1)
                .is_some_and(|b| !b.is_ascii_alphanumeric());
        let candidate = bytes.get(start..start.checked_add(20)?)?;
        let after_ok = bytes
            .get(start + 20)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if !before_ok || !after_ok {
            return None;
        }
        let entry = PREFIXES
            .iter()
            .find(|p| candidate.starts_with(p.prefix.as_bytes()))?;
        let body = candidate.get(4..)?;
        if !body.iter().all(|b| BASE32.contains(b)) {
            return None;
        }
        Some((secret.get(start..start + 20)?, entry))
    })
}

/// The 12-digit account id encoded in a 20-character key id (see module docs), or `None` for
/// ids in the older layout.
pub fn account_id(key_id: &str) -> Option<u64> {
    let body = key_id.as_bytes().get(4..20)?;
    // 16 base32 characters = 80 bits; the account lives in the first 48.
    let mut bits: u128 = 0;
    for &c in body {
        let v = BASE32.iter().position(|&a| a == c)?;
        bits = (bits << 5) | u128::try_from(v).ok()?;
    }
    let first48 = u64::try_from(bits >> 32).ok()?;
    // The top bit is set in every id of the current layout (fifth character >= 'Q').
    if first48 & 0x8000_0000_0000 == 0 {
        return None;
    }
    let account = (first48 & 0x7fff_ffff_ff80) >> 7;
    (account <= 999_999_999_999).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a key id with the current layout for a given account (inverse of `account_id`),
    /// followed by `tail` random-looking bits.
    fn synth_key_id(prefix: &str, account: u64, tail: u64) -> String {
        let first48 = 0x8000_0000_0000 | (account << 7) | (tail & 0x7f);
        let bits = (u128::from(first48) << 32) | u128::from(tail as u32);
        let body: String = (0..16)
            .rev()
            .map(|i| char::from(BASE32[((bits >> (i * 5)) & 31) as usize]))
            .collect();
        format!("{prefix}{body}")
    }

    #[test]
    fn documented_worked_examples() {
        // Key ids (not secrets) and accounts published in the write-ups cited above.
        assert_eq!(account_id("ASIAY34FZKBOKMUTVV7A"), Some(609_629_065_308));
        assert_eq!(account_id("ASIAVJ2E6QGR2WZILJFM"), Some(364_679_954_851));
        // "QAAAAAAA" is account 0 in Aidan Steele's write-up.
        assert_eq!(account_id("ASIAQAAAAAAAGMKEM7X5"), Some(0));
    }

    #[test]
    fn synthetic_round_trip() {
        for account in [0, 1, 123_456_789_012, 999_999_999_999] {
            let id = synth_key_id("AKIA", account, 0x1234_5678);
            assert_eq!(account_id(&id), Some(account), "{id}");
        }
    }

    #[test]
    fn long_term_key() {
        let id = synth_key_id("AKIA", 123_456_789_012, 42);
        let f = decode(&format!("aws_access_key_id = {id}\n"));
        assert!(f.decoded);
        assert_eq!(f.lifetime, Some(Lifetime::Never));
        assert_eq!(f.kind.as_deref(), Some("AWS IAM long-term access key"));
        assert_eq!(
            f.fields.get("account").map(String::as_str),
            Some("123456789012")
        );
        assert_eq!(f.privilege, None);
    }

    #[test]
    fn temporary_key() {
        let f = decode("ASIAY34FZKBOKMUTVV7A");
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(
            f.fields.get("account").map(String::as_str),
            Some("609629065308")
        );
    }

    #[test]
    fn identifiers_are_not_credentials() {
        let f = decode(&synth_key_id("AROA", 5, 7));
        assert_eq!(
            f.kind.as_deref(),
            Some("AWS IAM role id (identifier, not a credential)")
        );
        assert_eq!(f.privilege, Some(Privilege::Public));
        assert_eq!(f.lifetime, None);
    }

    #[test]
    fn old_layout_has_no_account() {
        // AWS's own documentation placeholder key id: fifth character 'I' (old layout).
        let f = decode("AKIAIOSFODNN7EXAMPLE");
        assert!(f.decoded);
        assert!(!f.fields.contains_key("account"));
        assert!(f.fields.contains_key("key_id_layout"));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "AKIA",
            "AKIA0000000000000000",  // 0 and 1 are not base32
            "XKIAQAAAAAAAAAAAAAAA",  // unknown prefix
            "AKIAQAAAAAAAAAAAAAAAA", // 21 characters
            "xAKIAQAAAAAAAAAAAAAAA", // not on a word boundary
            "akiaqaaaaaaaaaaaaaaa",
        ] {
            assert!(decode(bad).is_empty(), "{bad}");
        }
        assert_eq!(account_id("ASIA"), None);
        assert_eq!(account_id("ASIA000000000000000"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,100}") {
            let _ = decode(&s);
            let _ = account_id(&s);
        }

        #[test]
        fn any_base32_body_is_total(body in "[A-Z2-7]{16}") {
            let f = decode(&format!("AKIA{body}"));
            prop_assert!(f.decoded);
            if let Some(a) = account_id(&format!("AKIA{body}")) {
                prop_assert!(a <= 999_999_999_999);
            }
        }
    }
}

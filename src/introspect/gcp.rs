//! Google Cloud service-account keys (the JSON key file, or just its PEM private key).
//!
//! The key file names its project and service account; the private key signs the holder's own
//! OAuth access tokens (JWT bearer grant), so it mints credentials and never expires unless an
//! org policy forces key expiry. Default compute / App Engine service accounts get the Editor
//! role by default, which makes them broad write credentials. The private key is never copied.

use super::util::put;
use super::{Environment, Facts, Privilege};
use crate::rules::Lifetime;
use serde_json::Value;

/// Decodes a service-account key file (whole or partial JSON) or its PEM key.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let text = secret.trim();
    let object = parse_object(text);
    let field = |key: &str| -> Option<String> {
        match &object {
            Some(obj) => obj.get(key).and_then(Value::as_str).map(str::to_string),
            None => json_string_field(text, key),
        }
    };
    let typ = field("type");
    let has_pem = text.contains("PRIVATE KEY-----");
    match typ.as_deref() {
        Some("service_account") => {}
        Some("authorized_user") => {
            // gcloud application-default credentials: a user's OAuth refresh token.
            facts.decoded = field("refresh_token").is_some();
            facts.kind = Some("Google OAuth user credentials (refresh token)".into());
            facts.mints = Some(true);
            if let Some(id) = field("client_id") {
                put(&mut facts, "client_id", &id);
            }
            if let Some(p) = field("quota_project_id") {
                put(&mut facts, "project_id", &p);
            }
            return facts;
        }
        Some(_) => return facts,
        None if !has_pem && field("client_email").is_none() => return facts,
        None => {}
    }
    facts.kind = Some("GCP service-account key".into());
    facts.mints = Some(true);
    facts.lifetime = Some(Lifetime::Never);
    facts.environment = Some(Environment::Production);
    for key in ["project_id", "client_email", "private_key_id", "client_id"] {
        if let Some(v) = field(key) {
            put(&mut facts, key, &v);
        }
    }
    if let Some(email) = field("client_email") {
        let (name, domain) = email.split_once('@').unwrap_or(("", ""));
        if domain.ends_with(".iam.gserviceaccount.com") {
            put(&mut facts, "service_account", name);
            if !facts.fields.contains_key("project_id")
                && let Some(project) = domain.strip_suffix(".iam.gserviceaccount.com")
            {
                put(&mut facts, "project_id", project);
            }
        } else if domain == "developer.gserviceaccount.com"
            || domain == "appspot.gserviceaccount.com"
        {
            let which = if domain.starts_with("developer") {
                "Compute Engine default service account"
            } else {
                "App Engine default service account"
            };
            put(&mut facts, "default_service_account", which);
            // Granted the project Editor role by default.
            facts.privilege = Some(Privilege::Write);
        }
    }
    let key_ok = match &object {
        Some(obj) => obj
            .get("private_key")
            .and_then(Value::as_str)
            .is_some_and(pem_body_decodes),
        None => has_pem && pem_body_decodes(text),
    };
    facts.decoded = key_ok || (typ.is_some() && field("client_email").is_some());
    facts
}

/// The JSON object in `text`, tolerating text around it.
fn parse_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let candidate = text.get(start..=end)?;
    match serde_json::from_str::<Value>(candidate).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// `"key": "value"` anywhere in (possibly truncated) JSON text, with JSON string escapes.
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = text.find(&needle)?;
    let rest = text.get(at + needle.len()..)?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    if !rest.starts_with('"') {
        return None;
    }
    // Find the closing quote, skipping escaped characters.
    let bytes = rest.as_bytes();
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return serde_json::from_str(rest.get(..=i)?).ok(),
            _ => i += 1,
        }
    }
    None
}

/// Whether the PEM block in `text` (real or `\n`-escaped newlines) has a base64 body.
fn pem_body_decodes(text: &str) -> bool {
    let text = text.replace("\\n", "\n");
    let Some(begin) = text.find("-----BEGIN") else {
        return false;
    };
    let after = text.get(begin..).unwrap_or("");
    let body_start = after.find("KEY-----").map(|i| i + "KEY-----".len());
    let body_end = after.find("-----END");
    match (body_start, body_end) {
        (Some(s), Some(e)) if s < e => after
            .get(s..e)
            .and_then(super::util::b64_decode)
            .is_some_and(|der| der.first() == Some(&0x30)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// "MAMCAQA=" is DER for SEQUENCE { INTEGER 0 }: a placeholder, not a key.
    const FAKE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n";

    fn key_file() -> String {
        json!({
            "type": "service_account",
            "project_id": "acme-prod",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": FAKE_PEM,
            "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
            "client_id": "100000000000000000000",
        })
        .to_string()
    }

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    #[test]
    fn whole_key_file() {
        let f = decode(&key_file());
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("GCP service-account key"));
        assert_eq!(f.mints, Some(true));
        assert_eq!(f.lifetime, Some(Lifetime::Never));
        assert_eq!(field(&f, "project_id"), Some("acme-prod"));
        assert_eq!(
            field(&f, "client_email"),
            Some("deployer@acme-prod.iam.gserviceaccount.com")
        );
        assert_eq!(field(&f, "service_account"), Some("deployer"));
        assert_eq!(
            field(&f, "private_key_id"),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert!(f.fields.values().all(|v| !v.contains("MAMCAQA")));
    }

    #[test]
    fn truncated_json_still_yields_fields() {
        let text = key_file();
        let cut = text.get(..text.len() - 10).unwrap_or_default();
        let f = decode(cut);
        assert!(f.decoded);
        assert_eq!(field(&f, "project_id"), Some("acme-prod"));
    }

    #[test]
    fn bare_pem_key() {
        let f = decode(FAKE_PEM);
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("GCP service-account key"));
        let f = decode(&FAKE_PEM.replace('\n', "\\n"));
        assert!(f.decoded);
    }

    #[test]
    fn default_compute_account() {
        let text = json!({"type": "service_account",
            "client_email": "123-compute@developer.gserviceaccount.com"})
        .to_string();
        let f = decode(&text);
        assert_eq!(f.privilege, Some(Privilege::Write));
        assert_eq!(
            field(&f, "default_service_account"),
            Some("Compute Engine default service account")
        );
    }

    #[test]
    fn authorized_user() {
        let text = json!({"type": "authorized_user", "client_id": "c.apps.googleusercontent.com",
            "client_secret": "x", "refresh_token": "1//0fake"})
        .to_string();
        let f = decode(&text);
        assert!(f.decoded);
        assert_eq!(f.mints, Some(true));
        assert!(f.fields.values().all(|v| !v.contains("1//0fake")));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "{}",
            "[]",
            r#"{"type":"other"}"#,
            "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----",
        ] {
            assert!(!decode(bad).decoded, "{bad}");
        }
        assert!(decode(r#"{"type":"other"}"#).is_empty());
        assert_eq!(
            json_string_field(r#""k": "a\"b""#, "k").as_deref(),
            Some("a\"b")
        );
        assert_eq!(json_string_field(r#""k": "unterminated"#, "k"), None);
        assert_eq!(json_string_field(r#""k": "ends in \"#, "k"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = decode(&s);
            let _ = decode(&format!("{{\"type\":\"service_account\",\"client_email\":\"{s}\"}}"));
            let _ = json_string_field(&s, "k");
            let _ = decode(&format!("\"client_email\": \"{s}"));
        }
    }
}

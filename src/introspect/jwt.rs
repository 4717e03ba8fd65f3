//! JSON Web Tokens, decoded *without* verifying the signature.
//!
//! A leaked JWT is a bearer credential whose claims state who issued it, for whom, with which
//! roles and until when; the signature only matters to the verifier. So we read header and
//! claims and recognise issuers whose tokens mean something specific: Kubernetes
//! service-account tokens (legacy ones never expire), Supabase keys (`service_role` bypasses
//! row-level security, `anon` is meant to be public), Microsoft Entra ID and Auth0 access
//! tokens (the Management API audience is tenant admin). `alg: none` is flagged, since a
//! verifier that accepts it accepts forgeries. Grafana's legacy `eyJrIjoi…` API keys look like
//! a JWT but are one base64 JSON object; they are handled here too.

use super::util::{b64_decode, json_secs, json_strings, lifetime_of_window, put, unix_to_iso};
use super::{Facts, Privilege};
use crate::rules::{Lifetime, Reach, Scope};
use serde_json::{Map, Value};

type Claims = Map<String, Value>;

/// Decodes a JWT (JWS compact form, or the header of a JWE) or a Grafana legacy API key
/// found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some(token) = find_token(secret) else {
        return facts;
    };
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 1 {
        grafana_legacy(token, &mut facts);
        return facts;
    }
    let Some(header) = parts.first().and_then(|p| json_object(p)) else {
        return facts;
    };
    if let Some(alg) = header.get("alg").and_then(Value::as_str) {
        put(&mut facts, "algorithm", alg);
        if alg.eq_ignore_ascii_case("none") {
            facts.unsigned = true;
        }
    }
    if let Some(kid) = header.get("kid").and_then(Value::as_str) {
        put(&mut facts, "key_id", kid);
    }
    if parts.len() == 5 && header.contains_key("enc") {
        // JWE: the claims are encrypted; only the header is readable.
        facts.decoded = true;
        facts.kind = Some("encrypted JWT (JWE)".into());
        return facts;
    }
    let Some(claims) = parts.get(1).and_then(|p| json_object(p)) else {
        return facts;
    };
    if parts.len() != 3 {
        return facts;
    }
    facts.decoded = true;
    standard_claims(&claims, &mut facts);
    if !kubernetes(&claims, &mut facts)
        && !supabase(&claims, &mut facts)
        && !entra(&claims, &mut facts)
    {
        auth0(&claims, &mut facts);
    }
    facts
}

/// The token inside the matched text: from the first `eyJ` over base64url/base64 characters
/// and dots (a match may carry a `Bearer ` prefix or a trailing quote).
fn find_token(secret: &str) -> Option<&str> {
    let start = secret.find("eyJ")?;
    let tail = secret.get(start..)?;
    let end = tail
        .find(|c: char| {
            !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '/'))
        })
        .unwrap_or(tail.len());
    tail.get(..end).filter(|t| !t.is_empty())
}

fn json_object(segment: &str) -> Option<Claims> {
    let bytes = b64_decode(segment)?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Registered and widely used claims; also derives a lifetime class from exp/iat.
fn standard_claims(claims: &Claims, facts: &mut Facts) {
    facts.expires_at = claims.get("exp").and_then(json_secs);
    facts.issued_at = claims.get("iat").and_then(json_secs);
    if let Some(nbf) = claims.get("nbf").and_then(json_secs) {
        put(facts, "not_before", &unix_to_iso(nbf));
    }
    for (claim, field) in [
        ("iss", "issuer"),
        ("sub", "subject"),
        ("azp", "client_id"),
        ("appid", "client_id"),
        ("client_id", "client_id"),
        ("gty", "grant_type"),
        ("upn", "user"),
        ("email", "email"),
        ("role", "role"),
    ] {
        if let Some(v) = claims.get(claim).and_then(Value::as_str) {
            put(facts, field, v);
        }
    }
    if let Some(aud) = claims.get("aud").and_then(|v| json_strings(v, ", ")) {
        put(facts, "audience", &aud);
    }
    // OAuth `scope` is space-separated; Entra `scp` is space-separated; some issuers use arrays.
    let scopes: Vec<String> = ["scope", "scp"]
        .iter()
        .filter_map(|k| claims.get(*k).and_then(|v| json_strings(v, " ")))
        .collect();
    if !scopes.is_empty() {
        put(facts, "scopes", &scopes.join(" "));
    }
    if let Some(roles) = claims.get("roles").and_then(|v| json_strings(v, ", ")) {
        put(facts, "roles", &roles);
    }
    facts.lifetime = match (facts.issued_at, facts.expires_at) {
        (Some(iat), Some(exp)) => lifetime_of_window(iat, exp),
        // No `exp`: nothing in the token stops it from being accepted forever.
        (_, None) => Some(Lifetime::Never),
        (None, Some(_)) => None,
    };
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |node, key| node.get(*key))
        .and_then(Value::as_str)
}

/// Kubernetes service-account tokens: legacy secret-based ones (`kubernetes/serviceaccount`
/// issuer, flat `kubernetes.io/serviceaccount/*` claims, no exp) and bound/projected ones
/// (nested `kubernetes.io` claim with namespace, service account, pod).
fn kubernetes(claims: &Claims, facts: &mut Facts) -> bool {
    const LEGACY: &str = "kubernetes.io/serviceaccount/";
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let legacy_claims = claims.keys().any(|k| k.starts_with(LEGACY));
    if iss == "kubernetes/serviceaccount" || legacy_claims {
        for (claim, field) in [
            ("namespace", "namespace"),
            ("service-account.name", "service_account"),
            ("secret.name", "secret_name"),
        ] {
            let key = format!("{LEGACY}{claim}");
            if let Some(v) = claims.get(&key).and_then(Value::as_str) {
                put(facts, field, v);
            }
        }
        facts.reach = vec![Reach::Orchestration, Reach::SecretsStore];
        if facts.expires_at.is_none() {
            facts.lifetime = Some(Lifetime::Never);
            facts.kind = Some("Kubernetes service-account token (legacy, non-expiring)".into());
        } else {
            facts.kind = Some("Kubernetes service-account token (legacy)".into());
        }
        return true;
    }
    let Some(k8s) = claims.get("kubernetes.io").filter(|v| v.is_object()) else {
        return false;
    };
    if let Some(ns) = str_at(k8s, &["namespace"]) {
        put(facts, "namespace", ns);
    }
    if let Some(sa) = str_at(k8s, &["serviceaccount", "name"]) {
        put(facts, "service_account", sa);
    }
    if let Some(pod) = str_at(k8s, &["pod", "name"]) {
        put(facts, "pod", pod);
    }
    if let Some(node) = str_at(k8s, &["node", "name"]) {
        put(facts, "node", node);
    }
    // Bound tokens live exp - iat (default 1 h; up to a year when the API server extends them
    // for clients that do not reload, marked by `warnafter`), as classified above.
    if facts.expires_at.is_some() && facts.lifetime.is_none() {
        facts.lifetime = Some(Lifetime::Short);
    }
    facts.reach = vec![Reach::Orchestration, Reach::SecretsStore];
    facts.kind = Some("Kubernetes service-account token (bound)".into());
    true
}

/// Supabase API keys and user tokens: `role` decides everything.
fn supabase(claims: &Claims, facts: &mut Facts) -> bool {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let project_ref = claims.get("ref").and_then(Value::as_str);
    let supabase_iss =
        iss == "supabase" || iss.contains(".supabase.co") || iss.contains(".supabase.in");
    let role = claims.get("role").and_then(Value::as_str);
    if !(supabase_iss || (project_ref.is_some() && role.is_some())) {
        return false;
    }
    if let Some(r) = project_ref {
        put(facts, "project_ref", r);
    } else if let Some(host) = iss.strip_prefix("https://")
        && let Some(r) = host.split('.').next()
        && host.contains(".supabase.")
    {
        put(facts, "project_ref", r);
    }
    match role {
        Some("service_role") => {
            facts.kind = Some("Supabase service_role key".into());
            facts.reach = vec![Reach::DataStore, Reach::Identity];
            facts.privilege = Some(Privilege::Admin);
            facts.scope = Some(Scope::FixedBroad);
        }
        Some("anon") => {
            facts.kind = Some("Supabase anon key".into());
            facts.privilege = Some(Privilege::Public);
        }
        Some("authenticated") => {
            facts.kind = Some("Supabase user access token".into());
        }
        _ => facts.kind = Some("Supabase JWT".into()),
    }
    true
}

/// Microsoft Entra ID (Azure AD) v1 and v2 access/ID tokens.
fn entra(claims: &Claims, facts: &mut Facts) -> bool {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let tenant_from_iss = [
        "https://login.microsoftonline.com/",
        "https://sts.windows.net/",
    ]
    .iter()
    .find_map(|p| iss.strip_prefix(p))
    .and_then(|rest| rest.split('/').next());
    let Some(tenant_from_iss) = tenant_from_iss else {
        return false;
    };
    let tenant = claims
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or(tenant_from_iss);
    put(facts, "tenant", tenant);
    facts.reach = vec![Reach::Identity, Reach::CloudControlPlane];
    if let Some(oid) = claims.get("oid").and_then(Value::as_str) {
        put(facts, "object_id", oid);
    }
    let roles = claims.get("roles").and_then(|v| json_strings(v, " "));
    let scp = claims.get("scp").and_then(|v| json_strings(v, " "));
    facts.kind = Some(if roles.is_some() && scp.is_none() {
        "Microsoft Entra ID app-only access token".into()
    } else {
        "Microsoft Entra ID access token".into()
    });
    let all = format!("{} {}", roles.unwrap_or_default(), scp.unwrap_or_default());
    facts.privilege = privilege_of_permissions(&all);
    true
}

/// Graph-style permission names: `RoleManagement.ReadWrite.Directory`, `*.ReadWrite.All`,
/// `Directory.AccessAsUser.All` act as admin; any other `ReadWrite`/`Write`/`Manage` is write.
fn privilege_of_permissions(perms: &str) -> Option<Privilege> {
    let perms: Vec<&str> = perms.split_whitespace().collect();
    let admin = perms.iter().any(|p| {
        p.starts_with("RoleManagement.ReadWrite")
            || p.starts_with("AppRoleAssignment.ReadWrite")
            || p.starts_with("Application.ReadWrite")
            || *p == "Directory.ReadWrite.All"
            || *p == "Directory.AccessAsUser.All"
    });
    if admin {
        Some(Privilege::Admin)
    } else if perms
        .iter()
        .any(|p| p.contains("ReadWrite") || p.contains("Write") || p.contains("Manage"))
    {
        Some(Privilege::Write)
    } else if perms.iter().any(|p| p.contains("Read")) {
        Some(Privilege::Read)
    } else {
        None
    }
}

/// Auth0 access tokens; the Management API audience (`https://<tenant>/api/v2/`) is tenant
/// administration.
fn auth0(claims: &Claims, facts: &mut Facts) -> bool {
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let host = iss
        .strip_prefix("https://")
        .unwrap_or(iss)
        .trim_end_matches('/');
    if !host.ends_with(".auth0.com") {
        return false;
    }
    put(facts, "tenant", host);
    let management = claims
        .get("aud")
        .and_then(|v| json_strings(v, " "))
        .is_some_and(|aud| aud.contains("/api/v2/"));
    if management {
        facts.kind = Some("Auth0 Management API token".into());
        facts.reach = vec![Reach::Identity];
        facts.privilege = Some(Privilege::Admin);
        facts.scope = Some(Scope::FixedBroad);
    } else {
        facts.kind = Some("Auth0 access token".into());
    }
    true
}

/// Grafana legacy API key: base64 of `{"k":"<secret>","n":"<name>","id":<org id>}`.
fn grafana_legacy(token: &str, facts: &mut Facts) {
    let Some(obj) = json_object(token) else {
        return;
    };
    if !obj.get("k").is_some_and(Value::is_string) {
        return;
    }
    facts.decoded = true;
    facts.kind = Some("Grafana legacy API key".into());
    if let Some(n) = obj.get("n").and_then(Value::as_str) {
        put(facts, "name", n);
    }
    match obj.get("id") {
        Some(Value::Number(n)) => put(facts, "org_id", &n.to_string()),
        Some(Value::String(s)) => put(facts, "org_id", s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use proptest::prelude::*;
    use serde_json::json;

    fn seg(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn jwt(header: Value, claims: Value) -> String {
        format!("{}.{}.c2lnbmF0dXJl", seg(&header), seg(&claims))
    }

    fn hs256(claims: Value) -> String {
        jwt(json!({"alg": "HS256", "typ": "JWT"}), claims)
    }

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    #[test]
    fn standard_claims_are_read() {
        let t = hs256(json!({
            "iss": "https://issuer.example", "sub": "user-1", "aud": ["a", "b"],
            "exp": 1_700_003_600, "iat": 1_700_000_000, "nbf": 1_700_000_000,
            "scope": "read:x write:y"
        }));
        let f = decode(&format!("Authorization: Bearer {t}\""));
        assert!(f.decoded);
        assert!(!f.unsigned);
        assert_eq!(f.expires_at, Some(1_700_003_600));
        assert_eq!(f.issued_at, Some(1_700_000_000));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(field(&f, "issuer"), Some("https://issuer.example"));
        assert_eq!(field(&f, "subject"), Some("user-1"));
        assert_eq!(field(&f, "audience"), Some("a, b"));
        assert_eq!(field(&f, "scopes"), Some("read:x write:y"));
        assert_eq!(field(&f, "not_before"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(field(&f, "algorithm"), Some("HS256"));
    }

    #[test]
    fn padded_segments_and_long_lifetime() {
        let h = URL_SAFE.encode(json!({"alg": "RS256"}).to_string());
        let c = URL_SAFE.encode(json!({"exp": 2_000_000_000, "iat": 1_000_000_000}).to_string());
        assert!(h.ends_with('=') || c.ends_with('='));
        let f = decode(&format!("{h}.{c}.sig"));
        assert!(f.decoded);
        assert_eq!(f.lifetime, Some(Lifetime::Long));
    }

    #[test]
    fn alg_none_is_unsigned_and_no_exp_never_expires() {
        let t = format!(
            "{}.{}.",
            seg(&json!({"alg": "none"})),
            seg(&json!({"sub": "x"}))
        );
        let f = decode(&t);
        assert!(f.decoded);
        assert!(f.unsigned);
        assert_eq!(f.lifetime, Some(Lifetime::Never));
    }

    #[test]
    fn kubernetes_legacy_token() {
        let t = jwt(
            json!({"alg": "RS256", "kid": "k1"}),
            json!({
                "iss": "kubernetes/serviceaccount",
                "kubernetes.io/serviceaccount/namespace": "kube-system",
                "kubernetes.io/serviceaccount/secret.name": "deployer-token-abcde",
                "kubernetes.io/serviceaccount/service-account.name": "deployer",
                "kubernetes.io/serviceaccount/service-account.uid": "0000",
                "sub": "system:serviceaccount:kube-system:deployer"
            }),
        );
        let f = decode(&t);
        assert_eq!(
            f.kind.as_deref(),
            Some("Kubernetes service-account token (legacy, non-expiring)")
        );
        assert_eq!(f.lifetime, Some(Lifetime::Never));
        assert_eq!(field(&f, "namespace"), Some("kube-system"));
        assert_eq!(field(&f, "service_account"), Some("deployer"));
        assert_eq!(field(&f, "secret_name"), Some("deployer-token-abcde"));
    }

    #[test]
    fn kubernetes_bound_token() {
        let t = hs256(json!({
            "iss": "https://kubernetes.default.svc.cluster.local",
            "aud": ["https://kubernetes.default.svc.cluster.local"],
            "exp": 1_700_003_600, "iat": 1_700_000_000,
            "kubernetes.io": {
                "namespace": "prod",
                "serviceaccount": {"name": "api", "uid": "u"},
                "pod": {"name": "api-7d9f", "uid": "p"}
            }
        }));
        let f = decode(&t);
        assert_eq!(
            f.kind.as_deref(),
            Some("Kubernetes service-account token (bound)")
        );
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(field(&f, "namespace"), Some("prod"));
        assert_eq!(field(&f, "service_account"), Some("api"));
        assert_eq!(field(&f, "pod"), Some("api-7d9f"));
    }

    #[test]
    fn kubernetes_extended_bound_token_keeps_real_lifetime() {
        let t = hs256(json!({
            "exp": 1_731_536_000, "iat": 1_700_000_000, "warnafter": 1_700_003_600,
            "kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "api"}}
        }));
        assert_eq!(decode(&t).lifetime, Some(Lifetime::Long));
    }

    #[test]
    fn supabase_service_role_and_anon() {
        let sr = hs256(
            json!({"iss": "supabase", "ref": "abcdefghijklmnop", "role": "service_role",
                              "iat": 1_700_000_000, "exp": 2_000_000_000}),
        );
        let f = decode(&sr);
        assert_eq!(f.kind.as_deref(), Some("Supabase service_role key"));
        assert_eq!(f.privilege, Some(Privilege::Admin));
        assert_eq!(field(&f, "project_ref"), Some("abcdefghijklmnop"));
        assert_eq!(f.lifetime, Some(Lifetime::Long));

        let anon = hs256(json!({"ref": "abcdefghijklmnop", "role": "anon"}));
        let f = decode(&anon);
        assert_eq!(f.kind.as_deref(), Some("Supabase anon key"));
        assert_eq!(f.privilege, Some(Privilege::Public));

        let user = hs256(
            json!({"iss": "https://abcdefghijklmnop.supabase.co/auth/v1",
                                "role": "authenticated", "sub": "u"}),
        );
        let f = decode(&user);
        assert_eq!(f.kind.as_deref(), Some("Supabase user access token"));
        assert_eq!(field(&f, "project_ref"), Some("abcdefghijklmnop"));
    }

    #[test]
    fn entra_tokens() {
        let tid = "11111111-2222-3333-4444-555555555555";
        let app = hs256(json!({
            "iss": format!("https://sts.windows.net/{tid}/"), "tid": tid,
            "aud": "https://graph.microsoft.com", "appid": "app-1",
            "roles": ["Directory.ReadWrite.All", "User.Read.All"],
            "iat": 1_700_000_000, "exp": 1_700_004_000
        }));
        let f = decode(&app);
        assert_eq!(
            f.kind.as_deref(),
            Some("Microsoft Entra ID app-only access token")
        );
        assert_eq!(field(&f, "tenant"), Some(tid));
        assert_eq!(field(&f, "client_id"), Some("app-1"));
        assert_eq!(
            field(&f, "roles"),
            Some("Directory.ReadWrite.All, User.Read.All")
        );
        assert_eq!(f.privilege, Some(Privilege::Admin));

        let delegated = hs256(json!({
            "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "scp": "Mail.Read User.Read"
        }));
        let f = decode(&delegated);
        assert_eq!(f.kind.as_deref(), Some("Microsoft Entra ID access token"));
        assert_eq!(field(&f, "tenant"), Some(tid));
        assert_eq!(field(&f, "scopes"), Some("Mail.Read User.Read"));
        assert_eq!(f.privilege, Some(Privilege::Read));
    }

    #[test]
    fn auth0_management_token() {
        let t = hs256(json!({
            "iss": "https://acme.eu.auth0.com/", "aud": "https://acme.eu.auth0.com/api/v2/",
            "scope": "read:users update:users", "gty": "client-credentials"
        }));
        let f = decode(&t);
        assert_eq!(f.kind.as_deref(), Some("Auth0 Management API token"));
        assert_eq!(f.privilege, Some(Privilege::Admin));
        assert_eq!(field(&f, "tenant"), Some("acme.eu.auth0.com"));
        assert_eq!(field(&f, "grant_type"), Some("client-credentials"));

        let api = hs256(json!({"iss": "https://acme.auth0.com/", "aud": "https://api.acme.test"}));
        assert_eq!(decode(&api).kind.as_deref(), Some("Auth0 access token"));
    }

    #[test]
    fn grafana_legacy_key() {
        let key = STANDARD.encode(r#"{"k":"notarealsecret0000","n":"ci-deploy","id":1}"#);
        assert!(key.starts_with("eyJrIjoi"));
        let f = decode(&key);
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Grafana legacy API key"));
        assert_eq!(field(&f, "name"), Some("ci-deploy"));
        assert_eq!(field(&f, "org_id"), Some("1"));
        assert!(f.fields.values().all(|v| !v.contains("notarealsecret")));
    }

    #[test]
    fn jwe_header_only() {
        let h = seg(&json!({"alg": "RSA-OAEP", "enc": "A256GCM"}));
        let f = decode(&format!("{h}.a.b.c.d"));
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("encrypted JWT (JWE)"));
    }

    #[test]
    fn malformed_inputs_give_nothing_useful() {
        for bad in [
            "",
            "eyJ",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJIUzI1NiJ9.!!!.x",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
            "eyJhbGciOiJIUzI1NiJ9.WzFd.x",
            "eyJub3QganNvbg.eyJ4IjoxfQ.x",
            "not a token",
        ] {
            let f = decode(bad);
            assert!(!f.decoded, "{bad}");
            assert!(f.kind.is_none(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,400}") {
            let _ = decode(&s);
            let _ = decode(&format!("eyJ{s}"));
        }

        #[test]
        fn never_panics_on_arbitrary_json(claims in super::super::util::tests::arb_json(),
                                          exp in super::super::util::tests::arb_json(),
                                          k8s in super::super::util::tests::arb_json()) {
            let mut c = json!({"exp": exp, "iat": 1, "iss": "kubernetes/serviceaccount",
                               "kubernetes.io": k8s, "aud": claims.clone(), "roles": claims.clone(),
                               "ref": "r", "role": claims.clone()});
            let _ = decode(&hs256(c.clone()));
            let _ = decode(&hs256(claims.clone()));
            if let Some(obj) = c.as_object_mut() {
                obj.insert("iss".into(), json!("https://login.microsoftonline.com/t/v2.0"));
                obj.insert("scp".into(), claims.clone());
            }
            let _ = decode(&hs256(c));
            let _ = decode(&jwt(claims, json!({"iss": "https://x.auth0.com/"})));
        }

        #[test]
        fn never_panics_on_arbitrary_claims(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let t = format!("eyJhbGciOiJub25lIn0.{}.", URL_SAFE_NO_PAD.encode(&bytes));
            let _ = decode(&t);
        }
    }
}

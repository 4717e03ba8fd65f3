//! Azure Storage shared access signatures (and Service Bus / Event Hubs SAS tokens).
//!
//! A SAS is fully self-describing: its query parameters state the expiry (`se`), start (`st`),
//! permissions (`sp`), and what it covers: an *account* SAS (`ss` services, `srt` resource
//! types) reaches every container of the chosen services, a *service* SAS (`sr`) one blob,
//! container, share or file. Only `sig` is secret and it is never copied. The storage account
//! comes from the host, `<account>.<service>.core.windows.net`.

use super::util::{iso8601_to_unix, lifetime_of_window, percent_decode, put, unix_to_iso};
use super::{Environment, Facts, Privilege};
use crate::rules::{Lifetime, Scope};

/// Permission letters of `sp` (Azure "SAS permissions" reference), in documentation order.
const PERMISSIONS: &[(char, &str)] = &[
    ('r', "read"),
    ('a', "add"),
    ('c', "create"),
    ('w', "write"),
    ('d', "delete"),
    ('x', "delete version"),
    ('y', "permanent delete"),
    ('l', "list"),
    ('t', "tags"),
    ('f', "find"),
    ('m', "move"),
    ('e', "execute"),
    ('o', "ownership"),
    ('p', "process/permissions"),
    ('u', "update"),
    ('i', "set immutability policy"),
];

/// Letters that change data (anything but read/list/find/tags-read/execute).
const WRITE_LETTERS: &str = "acwdxyumoip";

/// Decodes a SAS given as a full URL, a query string, a connection-string
/// `SharedAccessSignature=` value, or a Service Bus `SharedAccessSignature sr=…` header.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let text = secret.trim().replace("&amp;", "&");
    let (url_part, query) = split_url(&text);
    let params = parse_query(query);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let Some(_sig) = get("sig") else {
        return facts;
    };

    if let Some(url) = url_part {
        host_facts(url, &mut facts);
    }
    if let Some(sv) = get("sv") {
        put(&mut facts, "version", sv);
    }
    let start = get("st").and_then(iso8601_to_unix);
    if let Some(st) = start {
        put(&mut facts, "starts", &unix_to_iso(st));
    }
    facts.expires_at = get("se").and_then(|se| {
        // Service Bus tokens carry `se` as unix seconds.
        iso8601_to_unix(se).or_else(|| se.parse::<i64>().ok())
    });
    if let (Some(st), Some(se)) = (start, facts.expires_at) {
        facts.lifetime = lifetime_of_window(st, se);
    }
    for (param, field) in [
        ("spr", "protocol"),
        ("sip", "ip_range"),
        ("skn", "key_name"),
    ] {
        if let Some(v) = get(param) {
            put(&mut facts, field, v);
        }
    }
    if get("skoid").is_some() {
        // User-delegation SAS: signed with an Entra ID user's key, at most 7 days.
        put(&mut facts, "signed_by", "user delegation key");
        if let Some(t) = get("sktid") {
            put(&mut facts, "tenant", t);
        }
        if let Some(o) = get("skoid") {
            put(&mut facts, "object_id", o);
        }
        facts.lifetime.get_or_insert(Lifetime::Short);
    }

    let sp = get("sp").unwrap_or("");
    let perms: Vec<&str> = PERMISSIONS
        .iter()
        .filter(|(c, _)| sp.contains(*c))
        .map(|(_, name)| *name)
        .collect();
    if !perms.is_empty() {
        put(&mut facts, "permissions", &perms.join(", "));
    }

    let account_sas = get("ss").is_some() || get("srt").is_some();
    if account_sas {
        account_scope(
            get("ss").unwrap_or(""),
            get("srt").unwrap_or(""),
            &mut facts,
        );
    } else if let Some(sr) = get("sr") {
        service_scope(sr, get("tn"), &mut facts);
    } else if let Some(tn) = get("tn") {
        service_scope("", Some(tn), &mut facts);
    }
    facts.privilege = privilege(sp, account_sas);
    facts.decoded = get("sv").is_some() || facts.expires_at.is_some() || !sp.is_empty();
    if facts.decoded && facts.kind.is_none() {
        facts.kind = Some("Azure Storage SAS".into());
    }
    facts
}

/// Splits into (URL before `?`, query). Handles `SharedAccessSignature=` (connection strings)
/// and `SharedAccessSignature sr=` (Service Bus) as query-only forms.
fn split_url(text: &str) -> (Option<&str>, &str) {
    if let Some(pos) = text.find("SharedAccessSignature") {
        let rest = text
            .get(pos + "SharedAccessSignature".len()..)
            .unwrap_or("");
        let rest = rest.trim_start_matches(['=', ' ']);
        let end = rest.find(';').unwrap_or(rest.len());
        let url = text
            .split(';')
            .find_map(|kv| kv.trim().strip_prefix("BlobEndpoint="));
        return (url, rest.get(..end).unwrap_or(""));
    }
    match text.split_once('?') {
        Some((url, q)) => (Some(url), q),
        None if text.contains("://") => (Some(text), ""),
        None => (None, text),
    }
}

/// `k=v&k=v` with percent-decoded values; a trailing fragment or whitespace ends the query.
fn parse_query(query: &str) -> Vec<(String, String)> {
    let end = query
        .find(|c: char| c == '#' || c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(query.len());
    query
        .get(..end)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (percent_decode(k).trim().to_string(), percent_decode(v)))
        .collect()
}

/// Storage account, service and path from `https://<account>.<service>.core.windows.net/<path>`.
fn host_facts(url: &str, facts: &mut Facts) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let after_scheme = before_sig(after_scheme);
    let (host, path) = after_scheme.split_once('/').unwrap_or((after_scheme, ""));
    let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
    let host_only = host.split(':').next().unwrap_or(&host);
    if host_only.is_empty() {
        return;
    }
    put(facts, "host", host_only);
    let labels: Vec<&str> = host_only.split('.').collect();
    if let [account, service, "core", ..] = labels.as_slice() {
        put(facts, "storage_account", account);
        put(facts, "service", service);
        facts.environment = Some(Environment::Production);
    } else if let [namespace, "servicebus", ..] = labels.as_slice() {
        put(facts, "namespace", namespace);
        facts.environment = Some(Environment::Production);
    }
    if matches!(host_only, "127.0.0.1" | "localhost" | "azurite" | "[::1]")
        || path.starts_with("devstoreaccount1")
    {
        // Azurite, the local storage emulator, uses a published well-known key.
        facts.environment = Some(Environment::Local);
    }
    let path = percent_decode(path);
    let path = before_sig(&path);
    if !path.is_empty() {
        put(facts, "path", path);
    }
}

/// The part of `s` before any `sig=` (in any case). A signature outside the query, as in a
/// mangled URL that repeats its query in the path, is still the secret: the fuzzer found
/// `host/&sig=<sig>&…?sig=…` copying the first one into the `path` fact.
fn before_sig(s: &str) -> &str {
    match s.to_ascii_lowercase().find("sig=") {
        // ASCII lowercasing keeps every byte offset, and `s` is ASCII there.
        Some(i) => s.get(..i).unwrap_or(""),
        None => s,
    }
}

fn account_scope(ss: &str, srt: &str, facts: &mut Facts) {
    let services: Vec<&str> = [('b', "blob"), ('f', "file"), ('q', "queue"), ('t', "table")]
        .iter()
        .filter(|(c, _)| ss.contains(*c))
        .map(|(_, n)| *n)
        .collect();
    let types: Vec<&str> = [('s', "service"), ('c', "container"), ('o', "object")]
        .iter()
        .filter(|(c, _)| srt.contains(*c))
        .map(|(_, n)| *n)
        .collect();
    if !services.is_empty() {
        put(facts, "services", &services.join(", "));
    }
    if !types.is_empty() {
        put(facts, "resource_types", &types.join(", "));
    }
    facts.kind = Some("Azure Storage account SAS".into());
    // Every container/share/queue/table of the chosen services; all of them = whole account.
    facts.scope = Some(if services.len() == 4 && types.len() == 3 {
        Scope::FixedBroad
    } else {
        Scope::UserSelected
    });
}

fn service_scope(sr: &str, table: Option<&str>, facts: &mut Facts) {
    let resource = match sr {
        "b" => "blob",
        "bv" => "blob version",
        "bs" => "blob snapshot",
        "c" => "container",
        "d" => "directory",
        "f" => "file",
        "s" => "share",
        "" => "table",
        // Service Bus / Event Hubs: `sr` is the resource URI.
        other => {
            put(facts, "resource", other);
            facts.kind = Some("Azure Service Bus / Event Hubs SAS token".into());
            facts.scope = Some(Scope::SingleResource);
            return;
        }
    };
    put(facts, "resource", resource);
    if let Some(tn) = table {
        put(facts, "table", tn);
    }
    facts.kind = Some("Azure Storage service SAS".into());
    facts.scope = Some(Scope::SingleResource);
}

/// Admin when the SAS grants every permission its kind can carry (read, write, delete, list,
/// add, create; plus update and process for account SAS); write when any letter changes data.
fn privilege(sp: &str, account_sas: bool) -> Option<Privilege> {
    if sp.is_empty() {
        return None;
    }
    let all = if account_sas { "rwdlacup" } else { "rwdlac" };
    if all.chars().all(|c| sp.contains(c)) {
        Some(Privilege::Admin)
    } else if sp.contains(|c| WRITE_LETTERS.contains(c)) {
        Some(Privilege::Write)
    } else {
        Some(Privilege::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    const FAKE_SIG: &str = "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";

    #[test]
    fn a_signature_in_the_path_or_host_is_never_a_fact() {
        // The fuzzer's find: a second `sig=` before the `?`, so inside the URL's path.
        let marker = "Zk3QmX9vR2tL8wPn5sYc7JhB4dFgE6aU";
        for text in [
            format!("https://a.blob.core.windows.net/c/&sig={marker}&x?sv=1&sig=x"),
            format!("https://a.blob.core.windows.net/c/%73IG={marker}?sig=x"),
            format!("a.blob.core.windows.net&Sig={marker}&x/?sig=x"),
        ] {
            let f = decode(&text);
            let json = serde_json::to_string(&f).unwrap();
            assert!(!json.contains(marker), "{text}: {json}");
        }
        let f = decode(&format!(
            "https://a.blob.core.windows.net/c/&sig={marker}?sig=x"
        ));
        assert_eq!(field(&f, "path"), Some("c/&"));
        assert_eq!(field(&f, "storage_account"), Some("a"));
    }

    #[test]
    fn service_sas_url() {
        let url = format!(
            "https://acmeprod.blob.core.windows.net/backups/db%20dump.sql?sv=2022-11-02&sr=b&sp=r\
             &st=2030-01-01T00%3A00%3A00Z&se=2030-01-01T01%3A00%3A00Z&spr=https&{FAKE_SIG}"
        );
        let f = decode(&url);
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Azure Storage service SAS"));
        assert_eq!(f.scope, Some(Scope::SingleResource));
        assert_eq!(f.expires_at, Some(1_893_459_600));
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(f.privilege, Some(Privilege::Read));
        assert_eq!(f.environment, Some(Environment::Production));
        assert_eq!(field(&f, "storage_account"), Some("acmeprod"));
        assert_eq!(field(&f, "service"), Some("blob"));
        assert_eq!(field(&f, "path"), Some("backups/db dump.sql"));
        assert_eq!(field(&f, "resource"), Some("blob"));
        assert_eq!(field(&f, "permissions"), Some("read"));
        assert_eq!(field(&f, "version"), Some("2022-11-02"));
        assert_eq!(field(&f, "protocol"), Some("https"));
        assert_eq!(field(&f, "starts"), Some("2030-01-01T00:00:00Z"));
        assert!(f.fields.values().all(|v| !v.contains("AAAAAAAA")));
    }

    #[test]
    fn account_sas_all_permissions_is_admin() {
        let q = format!(
            "?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2099-12-31T23:59:59Z&{FAKE_SIG}"
        );
        let f = decode(&q);
        assert_eq!(f.kind.as_deref(), Some("Azure Storage account SAS"));
        assert_eq!(f.scope, Some(Scope::FixedBroad));
        assert_eq!(f.privilege, Some(Privilege::Admin));
        assert_eq!(field(&f, "services"), Some("blob, file, queue, table"));
        assert_eq!(
            field(&f, "resource_types"),
            Some("service, container, object")
        );
        assert_eq!(f.lifetime, None);
    }

    #[test]
    fn account_sas_subset_is_user_selected_write() {
        let q = format!("sv=2021-06-08&ss=b&srt=co&sp=rwl&se=2031-01-01&st=2030-01-01&{FAKE_SIG}");
        let f = decode(&q);
        assert_eq!(f.scope, Some(Scope::UserSelected));
        assert_eq!(f.privilege, Some(Privilege::Write));
        assert_eq!(f.lifetime, Some(Lifetime::Long));
    }

    #[test]
    fn container_sas_full_control_and_connection_string() {
        let cs = format!(
            "BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=sv=2020-08-04&sr=c&sp=racwdl&se=2030-01-01&{FAKE_SIG}"
        );
        let f = decode(&cs);
        assert_eq!(f.scope, Some(Scope::SingleResource));
        assert_eq!(f.privilege, Some(Privilege::Admin));
        assert_eq!(field(&f, "storage_account"), Some("acme"));
        assert_eq!(field(&f, "resource"), Some("container"));
    }

    #[test]
    fn user_delegation_sas() {
        let q =
            format!("sv=2022-11-02&sr=b&sp=r&se=2030-01-01&skoid=oid-1&sktid=tenant-1&{FAKE_SIG}");
        let f = decode(&q);
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        assert_eq!(field(&f, "tenant"), Some("tenant-1"));
        assert_eq!(field(&f, "signed_by"), Some("user delegation key"));
    }

    #[test]
    fn azurite_is_local() {
        let url = format!(
            "http://127.0.0.1:10000/devstoreaccount1/c?sv=2022-11-02&sr=c&sp=rl&se=2030-01-01&{FAKE_SIG}"
        );
        assert_eq!(decode(&url).environment, Some(Environment::Local));
    }

    #[test]
    fn service_bus_token() {
        let t = format!(
            "SharedAccessSignature sr=https%3A%2F%2Facme.servicebus.windows.net%2Forders&{FAKE_SIG}&se=1893456000&skn=RootManageSharedAccessKey"
        );
        let f = decode(&t);
        assert!(f.decoded);
        assert_eq!(f.expires_at, Some(1_893_456_000));
        assert_eq!(
            f.kind.as_deref(),
            Some("Azure Service Bus / Event Hubs SAS token")
        );
        assert_eq!(
            field(&f, "resource"),
            Some("https://acme.servicebus.windows.net/orders")
        );
        assert_eq!(field(&f, "key_name"), Some("RootManageSharedAccessKey"));
    }

    #[test]
    fn html_escaped_ampersands() {
        let q = format!("sv=2022-11-02&amp;sr=b&amp;sp=rw&amp;se=2030-01-01&amp;{FAKE_SIG}");
        let f = decode(&q);
        assert_eq!(f.privilege, Some(Privilege::Write));
        assert_eq!(f.expires_at, Some(1_893_456_000));
    }

    #[test]
    fn malformed() {
        assert!(decode("").is_empty());
        assert!(decode("sv=2022-11-02&sp=r").is_empty()); // no signature: not a SAS
        assert!(decode("https://example.com/").is_empty());
        let f = decode("sig=x&se=notadate");
        assert!(!f.decoded);
        assert_eq!(f.expires_at, None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = decode(&s);
            let _ = decode(&format!("https://a.blob.core.windows.net/{s}?sig=x&{s}"));
        }

        #[test]
        fn signature_is_never_copied(sig in "[A-Za-z0-9%+/=]{8,40}", sp in "[racwdxyltfmeopui]{0,8}") {
            let marker = format!("SIG{sig}Z");
            let f = decode(&format!("https://a.blob.core.windows.net/c?sv=2022-11-02&sr=c&sp={sp}&se=2030-01-01&sig={marker}"));
            prop_assert!(f.decoded);
            prop_assert!(f.fields.values().all(|v| !v.contains(&marker)));
        }

        #[test]
        fn never_panics_on_param_soup(k in "(sv|se|st|sp|sr|ss|srt|skoid|tn)", v in "[%0-9A-Za-z:+-]{0,30}") {
            let _ = decode(&format!("sig=a&{k}={v}&sp={v}"));
        }
    }
}

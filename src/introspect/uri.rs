//! Connection URIs with embedded credentials: databases, brokers, caches, basic-auth URLs.
//!
//! The password itself says nothing, but the URI around it says where it works: a
//! `localhost` database is a developer's machine, `prod-db.…rds.amazonaws.com` is not. We read
//! scheme, hosts (IPv6, several hosts as in MongoDB/Postgres multi-host strings, `mongodb+srv`),
//! port, database and user; well-known superuser names hint at admin privilege. The password is
//! never copied. Userinfo is split at the *last* `@` before the host because real passwords
//! contain unescaped `@`, `/` and `:` more often than the RFC would like.

use super::util::{percent_decode, put};
use super::{Environment, Facts, Privilege};

/// Schemes whose first path segment is a database name (or number, for Redis).
const DATABASE_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "sqlserver",
    "mssql",
    "oracle",
    "cockroachdb",
    "clickhouse",
    "couchdb",
    "neo4j",
    "neo4j+s",
];

/// Host suffix → managed provider, for the report.
const PROVIDERS: &[(&str, &str)] = &[
    (".rds.amazonaws.com", "AWS RDS"),
    (".cache.amazonaws.com", "AWS ElastiCache"),
    (".mq.amazonaws.com", "Amazon MQ"),
    (".supabase.co", "Supabase"),
    (".supabase.com", "Supabase"),
    (".neon.tech", "Neon"),
    (".mongodb.net", "MongoDB Atlas"),
    (".database.windows.net", "Azure SQL"),
    (
        ".postgres.database.azure.com",
        "Azure Database for PostgreSQL",
    ),
    (".mysql.database.azure.com", "Azure Database for MySQL"),
    (".redis.cache.windows.net", "Azure Cache for Redis"),
    (".psdb.cloud", "PlanetScale"),
    (".cockroachlabs.cloud", "CockroachDB Cloud"),
    (".upstash.io", "Upstash"),
    (".redislabs.com", "Redis Cloud"),
    (".redis-cloud.com", "Redis Cloud"),
    (".cloudamqp.com", "CloudAMQP"),
    (".aivencloud.com", "Aiven"),
    (".elephantsql.com", "ElephantSQL"),
];

/// Decodes the first `scheme://user:password@host…` URI found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let Some(sep) = secret.find("://") else {
        return facts;
    };
    let before = secret.get(..sep).unwrap_or("");
    let scheme_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | ':')))
        .map_or(0, |i| i + 1);
    let mut scheme = before
        .get(scheme_start..)
        .unwrap_or("")
        .to_ascii_lowercase();
    // `jdbc:postgresql://…`
    if let Some(inner) = scheme.strip_prefix("jdbc:") {
        put(&mut facts, "driver", "jdbc");
        scheme = inner.to_string();
    }
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || scheme.contains(':')
    {
        return facts;
    }
    let rest = secret.get(sep + 3..).unwrap_or("");
    let rest = rest
        .get(
            ..rest
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
                .unwrap_or(rest.len()),
        )
        .unwrap_or("");
    let (userinfo, after_user) = split_userinfo(rest);
    let (hostlist, tail) =
        after_user.split_at(after_user.find(['/', '?', '#']).unwrap_or(after_user.len()));
    let hosts: Vec<(String, Option<u16>)> = hostlist.split(',').filter_map(parse_host).collect();
    if hosts.is_empty() {
        return facts;
    }
    facts.decoded = true;
    put(&mut facts, "scheme", &scheme);
    facts.kind = Some(format!("{scheme} connection URI"));
    if let Some(info) = userinfo {
        let (user, password) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        let user = percent_decode(user);
        put(&mut facts, "user", &user);
        put(
            &mut facts,
            "password",
            if password.is_some_and(|p| !p.is_empty()) {
                "present"
            } else {
                "absent"
            },
        );
        if is_superuser(&user) {
            facts.privilege = Some(Privilege::Admin);
        }
    }

    let names: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    if let [(host, port)] = hosts.as_slice() {
        put(&mut facts, "host", host);
        if let Some(p) = port {
            put(&mut facts, "port", &p.to_string());
        }
    } else {
        let joined: Vec<String> = hosts
            .iter()
            .map(|(h, p)| match p {
                Some(p) if h.contains(':') => format!("[{h}]:{p}"),
                Some(p) => format!("{h}:{p}"),
                None => h.clone(),
            })
            .collect();
        put(&mut facts, "hosts", &joined.join(","));
    }
    if scheme == "mongodb+srv" {
        put(&mut facts, "srv", "hosts come from the DNS SRV record");
    }
    if let Some(provider) = names.iter().find_map(|h| provider(h)) {
        put(&mut facts, "provider", provider);
    }
    facts.environment = Some(if names.iter().all(|h| is_local(h)) {
        Environment::Local
    } else {
        Environment::Production
    });

    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let path = path.split('#').next().unwrap_or("");
    let first_segment =
        percent_decode(path.trim_start_matches('/').split('/').next().unwrap_or(""));
    if !first_segment.is_empty() {
        if DATABASE_SCHEMES.contains(&scheme.as_str()) {
            put(&mut facts, "database", &first_segment);
        } else if scheme.starts_with("amqp") {
            put(&mut facts, "vhost", &first_segment);
        }
    }
    if let Some(q) = query {
        for (k, v) in q.split(['&', ';']).filter_map(|kv| kv.split_once('=')) {
            let key = k.to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "sslmode" | "ssl" | "tls" | "authsource" | "replicaset" | "authmechanism"
            ) {
                put(&mut facts, &key, &percent_decode(v));
            }
        }
    }
    facts
}

/// Splits `user:pass@hosts…` at the last `@` before the path; without `@`, no userinfo.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let head = rest.get(..query_at).unwrap_or(rest);
    let Some(at) = head.rfind('@') else {
        return (None, rest);
    };
    let info = rest.get(..at).unwrap_or("");
    let after = rest.get(at + 1..).unwrap_or("");
    // `http://host/path@x`: an `@` after a path with no `:` before the first `/` is not userinfo.
    if let Some(slash) = info.find('/')
        && !info.get(..slash).unwrap_or("").contains(':')
    {
        return (None, rest);
    }
    (Some(info), after)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, percent-decoded and lowercased.
fn parse_host(part: &str) -> Option<(String, Option<u16>)> {
    let part = part.trim();
    if part.is_empty() {
        return None;
    }
    let (host, port) = if let Some(v6) = part.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match part.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (part, None), // bare IPv6 without brackets
            None => (part, None),
        }
    };
    let host = percent_decode(host).to_ascii_lowercase();
    if host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '@')
    {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((host, port))
}

fn is_local(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host == "host.docker.internal"
        || host == "0.0.0.0"
        || host == "::1"
        || host == "0:0:0:0:0:0:0:1"
        || host.strip_prefix("127.").is_some_and(|r| {
            let parts: Vec<&str> = r.split('.').collect();
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
        })
        || host.starts_with("::ffff:127.")
}

fn provider(host: &str) -> Option<&'static str> {
    PROVIDERS
        .iter()
        .find(|(suffix, _)| host.ends_with(suffix))
        .map(|(_, name)| *name)
}

/// Default superuser names of common databases and brokers.
fn is_superuser(user: &str) -> bool {
    matches!(
        user.to_ascii_lowercase().as_str(),
        "root"
            | "postgres"
            | "sa"
            | "admin"
            | "administrator"
            | "rdsadmin"
            | "sys"
            | "system"
            | "supabase_admin"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    #[test]
    fn postgres_production() {
        let f = decode(
            "DATABASE_URL=postgres://app%40acme:p%40ss@prod-db.abc123.eu-west-1.rds.amazonaws.com:5432/orders?sslmode=require",
        );
        assert!(f.decoded);
        assert_eq!(f.environment, Some(Environment::Production));
        assert_eq!(field(&f, "scheme"), Some("postgres"));
        assert_eq!(
            field(&f, "host"),
            Some("prod-db.abc123.eu-west-1.rds.amazonaws.com")
        );
        assert_eq!(field(&f, "port"), Some("5432"));
        assert_eq!(field(&f, "database"), Some("orders"));
        assert_eq!(field(&f, "user"), Some("app@acme"));
        assert_eq!(field(&f, "password"), Some("present"));
        assert_eq!(field(&f, "provider"), Some("AWS RDS"));
        assert_eq!(field(&f, "sslmode"), Some("require"));
        assert!(
            f.fields
                .values()
                .all(|v| !v.contains("p@ss") && !v.contains("p%40ss"))
        );
        assert_eq!(f.privilege, None);
    }

    #[test]
    fn local_hosts() {
        for uri in [
            "mysql://root:secret@localhost/app",
            "redis://:secret@127.0.0.1:6379/0",
            "postgresql://postgres:secret@[::1]:5432/db",
            "amqp://guest:guest@host.docker.internal:5672/%2F",
            "mongodb://u:p@mongo.local:27017/db",
        ] {
            let f = decode(uri);
            assert_eq!(f.environment, Some(Environment::Local), "{uri}");
        }
        let f = decode("mysql://root:secret@localhost/app");
        assert_eq!(f.privilege, Some(Privilege::Admin));
        let f = decode("redis://:secret@127.0.0.1:6379/0");
        assert_eq!(field(&f, "database"), Some("0"));
        assert_eq!(field(&f, "user"), None);
        let f = decode("amqp://guest:guest@host.docker.internal:5672/%2F");
        assert_eq!(field(&f, "vhost"), Some("/"));
        let f = decode("postgresql://postgres:secret@[::1]:5432/db");
        assert_eq!(field(&f, "host"), Some("::1"));
    }

    #[test]
    fn unescaped_at_and_slash_in_password() {
        let f = decode("postgres://admin:p@ss/w0rd@db.example.com/main");
        assert_eq!(field(&f, "host"), Some("db.example.com"));
        assert_eq!(field(&f, "user"), Some("admin"));
        assert_eq!(field(&f, "database"), Some("main"));
    }

    #[test]
    fn mongodb_multi_host_and_srv() {
        let f = decode(
            "mongodb://u:p@a.example.com:27017,b.example.com:27018,[2001:db8::1]:27019/app?replicaSet=rs0&authSource=admin",
        );
        assert_eq!(
            field(&f, "hosts"),
            Some("a.example.com:27017,b.example.com:27018,[2001:db8::1]:27019")
        );
        assert_eq!(field(&f, "replicaset"), Some("rs0"));
        assert_eq!(field(&f, "authsource"), Some("admin"));
        assert_eq!(f.environment, Some(Environment::Production));

        let f = decode("mongodb+srv://u:p@cluster0.abcde.mongodb.net/app");
        assert_eq!(field(&f, "scheme"), Some("mongodb+srv"));
        assert_eq!(field(&f, "provider"), Some("MongoDB Atlas"));
        assert!(field(&f, "srv").is_some());
    }

    #[test]
    fn mixed_local_and_remote_is_production() {
        let f = decode("postgres://u:p@localhost,db.example.com/x");
        assert_eq!(f.environment, Some(Environment::Production));
    }

    #[test]
    fn basic_auth_and_jdbc() {
        let f = decode("https://deploy:token@registry.example.com/v2/");
        assert_eq!(field(&f, "scheme"), Some("https"));
        assert_eq!(field(&f, "database"), None);
        let f = decode("jdbc:postgresql://db.example.com:5432/x?user=u");
        assert_eq!(field(&f, "scheme"), Some("postgresql"));
        assert_eq!(field(&f, "driver"), Some("jdbc"));
        let f = decode("http://example.com/path@x");
        assert_eq!(field(&f, "host"), Some("example.com"));
        assert_eq!(field(&f, "user"), None);
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "://",
            "postgres://",
            "postgres://u:p@/db",
            "postgres://u:p@host:99999/db",
            "postgres://[::1/db",
            "1x://h",
        ] {
            assert!(!decode(bad).decoded, "{bad}");
        }
        assert!(!is_local("127.0.0.1.evil.com"));
        assert!(!is_local("localhost.evil.com"));
    }

    proptest! {
        #[test]
        fn password_is_never_copied(
            scheme in "(postgres|mysql|mongodb|redis|amqp|https)",
            user in "[a-z]{1,8}",
            password in "[A-Za-z0-9@/:%]{0,12}",
            host in "(localhost|db\\.example\\.com|\\[::1\\]|10\\.0\\.0\\.1)",
        ) {
            let marker = format!("PW{password}XQ");
            let f = decode(&format!("{scheme}://{user}:{marker}@{host}:5432/db"));
            prop_assert!(f.decoded);
            prop_assert!(f.fields.values().all(|v| !v.contains(&marker)));
            prop_assert_eq!(f.fields.get("user").map(String::as_str), Some(user.as_str()));
        }

        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = decode(&s);
            let _ = decode(&format!("postgres://{s}"));
            let _ = decode(&format!("mongodb://u:p@{s}/x"));
        }
    }
}

//! Pairs whose order any security engineer agrees on, checked end to end: the real binary
//! scans two temp trees and the first must score strictly higher than the second.

mod common;
use base64::Engine as _;
use common::*;

/// Deterministic synthetic strings (tests must not depend on randomness).
fn synth(seed: u64, alphabet: &str, n: usize) -> String {
    let a: Vec<char> = alphabet.chars().collect();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            a[((x >> 33) % a.len() as u64) as usize]
        })
        .collect()
}

const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn jwt(claims: &str, seed: u64) -> String {
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        e(r#"{"alg":"HS256","typ":"JWT"}"#),
        e(claims),
        synth(seed, B62, 43)
    )
}

/// Scans `files` in a fresh temp dir; returns the highest score among groups whose rule
/// starts with `rule_prefix`.
fn score(files: &[(&str, String)], rule_prefix: &str) -> f64 {
    let t = tempfile::tempdir().unwrap();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, b)| (*p, b.as_str())).collect();
    write_tree(t.path(), &refs);
    let (v, _) = scan_json(t.path(), &["."]);
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["rule"].as_str().unwrap().starts_with(rule_prefix))
        .map(|g| g["blast"]["score"].as_f64().unwrap())
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        .unwrap_or_else(|| panic!("no {rule_prefix} finding in {files:?}: {v}"))
}

fn higher(a: (f64, &str), b: (f64, &str)) {
    assert!(
        a.0 > b.0,
        "{} ({}) should rank above {} ({})",
        a.1,
        a.0,
        b.1,
        b.0
    );
}

#[test]
fn long_term_aws_key_above_temporary_sts_key() {
    let akia = format!("AKIA{}", synth(1, B32, 16));
    let asia = format!("ASIA{}", synth(2, B32, 16));
    let a = score(
        &[("config.ini", format!("aws_access_key_id = {akia}\n"))],
        "aws.",
    );
    let b = score(
        &[("config.ini", format!("aws_access_key_id = {asia}\n"))],
        "aws.",
    );
    higher((a, "AKIA key"), (b, "ASIA key"));
}

#[test]
fn slack_bot_token_above_single_channel_webhook() {
    let bot = format!(
        "xoxb-{}-{}-{}",
        synth(3, "0123456789", 12),
        synth(4, "0123456789", 13),
        synth(5, B62, 24)
    );
    let hook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        synth(6, B32, 10),
        synth(7, B32, 10),
        synth(8, B62, 24)
    );
    let a = score(&[("app.env", format!("SLACK_TOKEN={bot}\n"))], "slack.");
    let b = score(&[("app.env", format!("SLACK_WEBHOOK={hook}\n"))], "slack.");
    higher((a, "Slack bot token"), (b, "Slack webhook"));
}

#[test]
fn supabase_service_role_above_anon() {
    let claims = |role: &str| {
        format!(
            r#"{{"iss":"supabase","ref":"{}","role":"{role}","iat":1700000000,"exp":2100000000}}"#,
            synth(9, "abcdefghijklmnopqrstuvwxyz", 20)
        )
    };
    let a = score(
        &[(
            "app.env",
            format!("SUPABASE_KEY={}\n", jwt(&claims("service_role"), 10)),
        )],
        "",
    );
    let b = score(
        &[(
            "app.env",
            format!("SUPABASE_KEY={}\n", jwt(&claims("anon"), 11)),
        )],
        "",
    );
    higher((a, "Supabase service_role"), (b, "Supabase anon"));
}

#[test]
fn unexpired_jwt_above_the_same_jwt_expired() {
    let claims = |exp: i64| {
        format!(
            r#"{{"iss":"https://auth.acme.test/","sub":"deploy-bot","scope":"deploy:write","iat":1600000000,"exp":{exp}}}"#
        )
    };
    let a = score(
        &[(
            "client.py",
            format!("TOKEN = '{}'\n", jwt(&claims(4_100_000_000), 12)),
        )],
        "",
    );
    let b = score(
        &[(
            "client.py",
            format!("TOKEN = '{}'\n", jwt(&claims(1_600_003_600), 12)),
        )],
        "",
    );
    higher((a, "unexpired JWT"), (b, "expired JWT"));
}

#[test]
fn sprawled_pat_in_ci_above_stripe_publishable_key() {
    let mut files = vec![(
        ".github/workflows/release.yml",
        format!("env:\n  GH_TOKEN: {GHP_A}\n"),
    )];
    for p in [
        "scripts/release.sh",
        "tools/sync.py",
        "Makefile",
        "docs/notes.txt",
    ] {
        files.push((p, format!("TOKEN={GHP_A}\n")));
    }
    let a = score(&files, "github.");
    let pk = format!("pk_live_{}", synth(13, B62, 99));
    let b = score(
        &[(
            "web/checkout.js",
            format!("const stripe = Stripe('{pk}');\n"),
        )],
        "stripe.",
    );
    higher(
        (a, "GitHub PAT in CI and 4 more files"),
        (b, "Stripe publishable key"),
    );
}

#[test]
fn token_sprawled_over_five_files_above_one_file() {
    let five: Vec<(&str, String)> = ["a.py", "b.py", "c/d.py", "e.cfg", "f.sh"]
        .iter()
        .map(|p| (*p, format!("t = '{GHP_B}'\n")))
        .collect();
    let a = score(&five, "github.");
    let b = score(&[("a.py", format!("t = '{GHP_B}'\n"))], "github.");
    higher((a, "token in 5 files"), (b, "token in 1 file"));
}

#[test]
fn stripe_live_secret_above_test_secret() {
    let live = format!("sk_live_{}", synth(14, B62, 99));
    let test = format!("sk_test_{}", synth(15, B62, 99));
    let a = score(
        &[("billing.env", format!("STRIPE_SECRET_KEY={live}\n"))],
        "stripe.",
    );
    let b = score(
        &[("billing.env", format!("STRIPE_SECRET_KEY={test}\n"))],
        "stripe.",
    );
    higher((a, "sk_live"), (b, "sk_test"));
}

#[test]
fn remote_database_uri_above_localhost() {
    let pw = synth(16, B62, 16);
    let a = score(
        &[(
            "app.env",
            format!("DATABASE_URL=postgres://app:{pw}@db.prod.acme.test:5432/orders\n"),
        )],
        "generic.uri",
    );
    let b = score(
        &[(
            "app.env",
            format!("DATABASE_URL=postgres://app:{pw}@localhost:5432/orders\n"),
        )],
        "generic.uri",
    );
    higher((a, "remote DB URI"), (b, "localhost DB URI"));
}

#[test]
fn real_file_above_test_fixture() {
    let a = score(
        &[("deploy/release.sh", format!("export GH_TOKEN={GHP_A}\n"))],
        "github.",
    );
    let b = score(
        &[(
            "tests/fixtures/release.sh",
            format!("export GH_TOKEN={GHP_A}\n"),
        )],
        "github.",
    );
    higher(
        (a, "token in a deploy script"),
        (b, "token in a test fixture"),
    );
}

#[test]
fn multi_part_aws_credential_is_one_complete_credential() {
    let id = format!("AKIA{}", synth(17, B32, 16));
    let secret = synth(
        18,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        40,
    );
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[(
            ".aws/credentials",
            &format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        )],
    );
    let (v, _) = scan_json(t.path(), &["."]);
    let g = v["groups"].as_array().unwrap();
    let key = g
        .iter()
        .find(|g| g["rule"] == "aws.access_key_id")
        .expect("key id found");
    assert_eq!(
        key["companions"][0]["rule"], "aws.secret_access_key",
        "{key}"
    );
    assert!(
        key["blast"]["reasons"]
            .to_string()
            .contains("complete credential")
    );
    assert_eq!(
        key["blast"]["facts"]["lifetime"], "never",
        "{}",
        key["blast"]
    );
    assert!(key["nhi"].as_array().unwrap().iter().any(|n| n == "NHI7"));
    // Folded into the key id: the secret key is not a group of its own.
    assert!(
        !g.iter().any(|g| g["rule"] == "aws.secret_access_key"),
        "{v}"
    );
    // The same secret key also alone in another file is still a finding there.
    write_tree(
        t.path(),
        &[(
            "deploy/env.sh",
            &format!("export AWS_SECRET_ACCESS_KEY={secret}\n"),
        )],
    );
    let (v, _) = scan_json(t.path(), &["."]);
    let alone = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["rule"] == "aws.secret_access_key")
        .expect("the lone secret key is reported");
    let paths: Vec<&str> = alone["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"deploy/env.sh"), "{alone}");
    assert!(
        key["cwe"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "CWE-798")
    );
}

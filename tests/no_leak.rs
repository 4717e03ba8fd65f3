//! No output format, stream or written file carries a full secret unless --reveal-secrets.

mod common;
use common::*;

const FORMATS: &[&str] = &["human", "json", "jsonl", "sarif"];

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (
                ".env",
                &format!("GITHUB_TOKEN={GHP_A}\nOTHER={GHP_B} {GHS_A}\n"),
            ),
            (
                ".github/workflows/ci.yml",
                &format!("env:\n  TOKEN: {GHP_A}\n  O: {GHO_A}\n"),
            ),
        ],
    );
    t
}

fn assert_clean(what: &str, text: &str) {
    for tok in [GHP_A, GHP_B, GHS_A, GHO_A] {
        assert!(!text.contains(tok), "{what} leaks {tok}");
        // Nor the part after the prefix (a redaction bug could drop only the prefix).
        assert!(!text.contains(&tok[8..]), "{what} leaks the body of {tok}");
    }
}

#[test]
fn no_format_prints_a_full_secret_by_default() {
    let t = tree();
    for f in FORMATS {
        let o = run(t.path(), &["scan", "--format", f]);
        assert_eq!(code(&o), 1);
        assert_clean(&format!("{f} stdout"), &stdout(&o));
        assert_clean(&format!("{f} stderr"), &stderr(&o));
        let out = t.path().join(format!("report.{f}"));
        let o = run(
            t.path(),
            &[
                "scan",
                "--format",
                f,
                "--output",
                out.to_str().unwrap(),
                ".env",
                ".github",
            ],
        );
        assert_eq!(code(&o), 1);
        assert_clean(
            &format!("{f} file"),
            &std::fs::read_to_string(&out).unwrap(),
        );
        std::fs::remove_file(out).unwrap();
    }
}

#[test]
fn reveal_secrets_shows_them() {
    let t = tree();
    for f in FORMATS {
        let o = run(t.path(), &["scan", "--format", f, "--reveal-secrets"]);
        let out = stdout(&o);
        assert!(
            out.contains(GHP_A) && out.contains(GHO_A),
            "{f} with --reveal-secrets: {out}"
        );
    }
}

#[test]
fn keyed_fingerprints_differ_from_plain_sha256() {
    let t = tree();
    let (plain, _) = scan_json(t.path(), &[]);
    let (keyed, _) = scan_json(t.path(), &["--fingerprint-key", "team-secret"]);
    assert_eq!(keyed["fingerprint_kind"], "hmac-sha256");
    assert_eq!(plain["fingerprint_kind"], "sha256");
    let fp = |v: &serde_json::Value| {
        let mut f: Vec<String> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["fingerprint"].as_str().unwrap().to_string())
            .collect();
        f.sort();
        f
    };
    assert_ne!(fp(&plain), fp(&keyed));
    // The key itself never appears in the output.
    assert!(!keyed.to_string().contains("team-secret"));
}

/// A value found in one file and repeated, unmatched, on another file's finding line does not
/// show in that snippet (the fuzzer found this with a tar member and a sibling file).
#[test]
fn a_value_found_elsewhere_is_hidden_in_every_snippet() {
    let t = tempfile::tempdir().unwrap();
    let pw = "Zq8vLm2pXz9RtKw4sY7n";
    write_tree(
        t.path(),
        &[
            ("a/config.py", &format!("DB_PASSWORD = \"{pw}\"\n")),
            ("b/notes.txt", &format!("old {pw} new {GHP_A}\n")),
        ],
    );
    for f in FORMATS {
        let o = run(t.path(), &["scan", "--format", f]);
        assert_eq!(code(&o), 1);
        let out = stdout(&o);
        assert!(out.contains("notes.txt"), "{f}: {out}");
        assert!(
            !out.contains(pw),
            "{f} shows a value found in another file: {out}"
        );
    }
}

/// Fuzzer find (scan_blob): a UUID-shaped value's dashes passed for a provider prefix, so its
/// redacted form showed 16 characters, among them all of a shorter value found beside it.
#[test]
fn a_uuid_shaped_secret_shows_no_more_than_two_characters() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[(
            ".env",
            "HEROKU_API_KEY=5f48aa22-80c8-471a-93b3-f58110cbb6a0\n\
             SNAG_API_KEY=b5b2260c-871a\n\
             BUGSNAG_API_KEY=b5b2260c-871a-93b3-f581-10cbbk60QUe0\n",
        )],
    );
    for f in FORMATS {
        let o = run(t.path(), &["scan", "--format", f]);
        assert_eq!(code(&o), 1, "{f}");
        let out = stdout(&o);
        assert!(out.contains(".env"), "{f}: {out}");
        for part in ["5f48aa22", "b5b2260c", "b5b2260c-871a"] {
            assert!(!out.contains(part), "{f} shows {part}: {out}");
        }
    }
}

//! Encoded content with the real binary: base64 (a Kubernetes Secret), nested base64, hex,
//! escapes, percent-encoding; locations at the encoded span, the chain in `decoded`.

mod common;
use common::*;
use serde_json::Value;

fn b64(s: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// (path, rule, line, column, decoded chain) of every location.
fn locs(v: &Value) -> Vec<(String, String, u64, u64, Vec<String>)> {
    let mut out = Vec::new();
    for g in v["groups"].as_array().into_iter().flatten() {
        for l in g["locations"].as_array().into_iter().flatten() {
            let decoded = l["decoded"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d.as_str().unwrap().to_string())
                .collect();
            out.push((
                l["path"].as_str().unwrap().to_string(),
                g["rule"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
                decoded,
            ));
        }
    }
    out.sort();
    out
}

const DB_URI: &str = "postgres://orders_app:Kq7vN2xLp9Rt@db-prod.internal:5432/orders";

fn k8s_secret() -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secrets\ntype: Opaque\ndata:\n  \
         github-token: {}\n  database-url: {}\n  replicas: MwA=\n",
        b64(GHP_A.as_bytes()),
        b64(DB_URI.as_bytes())
    )
}

#[test]
fn kubernetes_secret_data_is_decoded() {
    let t = tempfile::tempdir().unwrap();
    write_tree(t.path(), &[("k8s/secret.yaml", &k8s_secret())]);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let l = locs(&v);
    let b64v = vec!["base64".to_string()];
    assert!(
        l.contains(&(
            "k8s/secret.yaml".into(),
            "github.pat.classic".into(),
            7,
            17,
            b64v.clone()
        )),
        "{l:?}"
    );
    assert!(
        l.iter().any(|(p, r, line, col, d)| p == "k8s/secret.yaml"
            && r == "generic.uri.sql"
            && (*line, *col) == (8, 17)
            && *d == b64v),
        "{l:?}"
    );
    // The encoded form is redacted in the snippet too.
    let text = stdout(&o);
    assert!(
        !text.contains(&b64(GHP_A.as_bytes())),
        "encoded secret leaked"
    );
    assert!(!text.contains(GHP_A), "secret leaked");
    assert!(v["stats"]["decoded_spans"].as_u64().unwrap() >= 2);
    // A rule matching the encoded value itself (a Secret manifest's data value) is
    // superseded by the decoded finding: one location per line.
    for line in [7, 8] {
        assert_eq!(l.iter().filter(|x| x.2 == line).count(), 1, "{l:?}");
    }
    // --decode-depth 0 turns decoding off.
    let (v, _) = scan_json(t.path(), &["--decode-depth", "0"]);
    let l = locs(&v);
    assert!(
        l.iter()
            .all(|x| x.4.is_empty() && x.1 != "github.pat.classic" && x.1 != "generic.uri.sql"),
        "{l:?}"
    );
}

#[test]
fn nested_base64_respects_the_depth() {
    let t = tempfile::tempdir().unwrap();
    let twice = b64(b64(format!("token={GHP_B}").as_bytes()).as_bytes());
    write_tree(
        t.path(),
        &[("blob.txt", &format!("payload = \"{twice}\"\n"))],
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        locs(&v),
        vec![(
            "blob.txt".into(),
            "github.pat.classic".into(),
            1,
            12,
            vec!["base64".into(), "base64".into()]
        )]
    );
    let (v, o) = scan_json(t.path(), &["--decode-depth", "1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(locs(&v).is_empty());
}

#[test]
fn hex_escapes_and_percent_encoding() {
    let t = tempfile::tempdir().unwrap();
    let hex: String = GHS_A.bytes().map(|b| format!("{b:02x}")).collect();
    let escaped: String = GHO_A[..4]
        .bytes()
        .map(|b| format!("\\u{:04x}", b))
        .chain(std::iter::once(GHO_A[4..].to_string()))
        .collect();
    let percent: String = GHP_A
        .bytes()
        .map(|b| {
            if b == b'_' || b.is_ascii_digit() {
                format!("%{b:02X}")
            } else {
                (b as char).to_string()
            }
        })
        .collect();
    write_tree(
        t.path(),
        &[
            ("a.env", &format!("BLOB={hex}\n")),
            ("b.json", &format!("{{\n  \"t\": \"{escaped}\"\n}}\n")),
            ("c.txt", &format!("url: https://x.example/cb?t={percent}\n")),
        ],
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let l = locs(&v);
    let find = |p: &str| l.iter().find(|x| x.0 == p).cloned();
    let a = find("a.env").expect("hex");
    assert_eq!(
        (a.1.as_str(), a.2, a.3, a.4.clone()),
        ("github.app.installation", 1, 6, vec!["hex".to_string()]),
        "{l:?}"
    );
    let b = find("b.json").expect("escape");
    assert_eq!((b.2, b.4.clone()), (2, vec!["escape".to_string()]), "{l:?}");
    let c = find("c.txt").expect("percent");
    assert_eq!(c.4, vec!["percent".to_string()], "{l:?}");
}

#[test]
fn literal_secrets_are_not_decoded_twice() {
    let t = tempfile::tempdir().unwrap();
    // A literal token and the same token base64-encoded on another line: two locations of
    // one value; the literal line has no decoded twin.
    write_tree(
        t.path(),
        &[(
            "mix.txt",
            &format!("plain {GHP_A}\nencoded {}\n", b64(GHP_A.as_bytes())),
        )],
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    let l = locs(&v);
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!((l[0].2, l[0].4.len()), (1, 0));
    assert_eq!((l[1].2, l[1].4.clone()), (2, vec!["base64".to_string()]));
}

#[test]
fn ordinary_source_is_not_decoded() {
    let t = tempfile::tempdir().unwrap();
    let src = "fn very_long_function_name_for_testing_purposes() {}\n\
               let hash = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\";\n\
               import { SomeVeryLongComponentNameHere } from './components/SomeVeryLongComponentNameHere';\n\
               let img = \"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\";\n";
    write_tree(t.path(), &[("main.rs", src)]);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(v["stats"]["decoded_spans"].as_u64().unwrap_or(0), 0);
}

#[test]
fn encoded_secret_inside_an_archive_member() {
    let t = tempfile::tempdir().unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(
        "deploy/secret.yaml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut w, k8s_secret().as_bytes()).unwrap();
    let z = w.finish().unwrap().into_inner();
    std::fs::write(t.path().join("chart.zip"), z).unwrap();
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        locs(&v).contains(&(
            "chart.zip!deploy/secret.yaml".into(),
            "github.pat.classic".into(),
            7,
            17,
            vec!["base64".into()]
        )),
        "{:?}",
        locs(&v)
    );
}

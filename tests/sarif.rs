//! `--format sarif`: valid against the official SARIF 2.1.0 schema and Microsoft's validator
//! (GitHub ingestion rules), one result per location, stable fingerprints, no secret values.

mod common;
use blastradius::report::sarif::{self, Limits};
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `scan --format sarif` (plus `extra`) in `dir`, parses stdout.
fn scan_sarif(dir: &Path, extra: &[&str]) -> (Value, String, std::process::Output) {
    let mut args = vec!["scan", "--format", "sarif"];
    args.extend_from_slice(extra);
    let o = run(dir, &args);
    let text = stdout(&o);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("sarif parse: {e}\nstdout: {text}\nstderr: {}", stderr(&o)));
    (v, text, o)
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Python with `jsonschema`: the test venv (tools/test.sh), else `python3`. Never skips.
fn python() -> PathBuf {
    let py = match std::env::var_os("BLASTRADIUS_TEST_VENV") {
        Some(v) => PathBuf::from(v).join("bin").join("python"),
        None => PathBuf::from("python3"),
    };
    let ok = Command::new(&py)
        .args(["-c", "import jsonschema"])
        .output()
        .map(|o| o.status.success());
    assert!(
        matches!(ok, Ok(true)),
        "{} cannot import jsonschema: run the tests with ./tools/test.sh (it sets BLASTRADIUS_TEST_VENV), \
         or `pip install jsonschema`",
        py.display()
    );
    py
}

/// Validates `text` against the official SARIF 2.1.0 JSON schema.
fn assert_schema_valid(what: &str, text: &str) {
    let schema = manifest_dir().join("../shared/reference/sarif-schema-2.1.0.json");
    assert!(
        schema.is_file(),
        "SARIF schema not found at {}",
        schema.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.sarif");
    std::fs::write(&doc, text).unwrap();
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
doc = json.load(open(sys.argv[2], encoding="utf-8"))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors[:20]:
    print("/".join(str(p) for p in e.absolute_path), ":", e.message[:300])
sys.exit(1 if errors else 0)
"#;
    let o = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(&doc)
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "{what}: not valid SARIF 2.1.0:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `sarif-multitool`: env BLASTRADIUS_SARIF_MULTITOOL (tools/test.sh), else the copy
/// tools/test.sh installs under target/test-tools. Never skips.
fn multitool() -> PathBuf {
    let p = match std::env::var_os("BLASTRADIUS_SARIF_MULTITOOL") {
        Some(p) => PathBuf::from(p),
        None => manifest_dir().join("target/test-tools/npm/node_modules/.bin/sarif-multitool"),
    };
    assert!(
        p.is_file(),
        "sarif-multitool not found at {}: run the tests with ./tools/test.sh (it installs @microsoft/sarif-multitool \
         from npm and sets BLASTRADIUS_SARIF_MULTITOOL)",
        p.display()
    );
    p
}

/// Runs Microsoft's validator with GitHub's ingestion rules; fails on any error-level result.
fn assert_multitool_clean(what: &str, text: &str) {
    let tool = multitool();
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.sarif");
    let out = dir.path().join("validation.sarif");
    std::fs::write(&doc, text).unwrap();
    let o = Command::new(&tool)
        .arg("validate")
        .arg(&doc)
        .args(["--rule-kind", "Gh", "--output"])
        .arg(&out)
        .output()
        .expect("sarif-multitool runs");
    let log = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "{what}: sarif-multitool wrote no log ({e}); exit {:?}\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let v: Value = serde_json::from_str(&log).expect("multitool log is JSON");
    let mut errors = Vec::new();
    for run in v["runs"].as_array().into_iter().flatten() {
        for r in run["results"].as_array().into_iter().flatten() {
            if r["level"] == "error" {
                errors.push(format!("{} {}", r["ruleId"], r["message"]));
            }
        }
        for inv in run["invocations"].as_array().into_iter().flatten() {
            for n in inv["toolExecutionNotifications"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if n["level"] == "error" {
                    errors.push(format!("tool error: {}", n["message"]));
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{what}: sarif-multitool (Gh rules) reports errors:\n{}",
        errors.join("\n")
    );
}

fn assert_valid(what: &str, text: &str) {
    assert_schema_valid(what, text);
    assert_multitool_clean(what, text);
}

fn the_run(v: &Value) -> &Value {
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    &runs[0]
}

fn results(v: &Value) -> &Vec<Value> {
    the_run(v)["results"].as_array().expect("results array")
}

fn rules(v: &Value) -> &Vec<Value> {
    the_run(v)["tool"]["driver"]["rules"]
        .as_array()
        .expect("driver.rules array")
}

fn uri(r: &Value) -> &str {
    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap_or_default()
}

/// Checks what every blastradius SARIF log must hold, whatever it found.
fn assert_shape(v: &Value) {
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = the_run(v);
    let d = &run["tool"]["driver"];
    assert_eq!(d["name"], "blastradius");
    assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(d["semanticVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        d["informationUri"],
        "https://github.com/blastradius-scanner/blastradius"
    );
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"].is_object());
    assert!(run["properties"]["truncated"].is_boolean());
    assert!(run["properties"]["totalResults"].is_u64());

    let mut ids = BTreeSet::new();
    for rule in rules(v) {
        let id = rule["id"].as_str().expect("rule id");
        assert!(ids.insert(id.to_string()), "rule {id} listed twice");
        assert!(
            rule["name"]
                .as_str()
                .is_some_and(|n| !n.is_empty() && !n.contains('.')),
            "{rule}"
        );
        for f in ["shortDescription", "fullDescription"] {
            let t = rule[f]["text"].as_str().unwrap_or_default();
            assert!(!t.is_empty() && t.chars().count() <= 1024, "{id} {f}");
        }
        for f in ["text", "markdown"] {
            let t = rule["help"][f].as_str().unwrap_or_default();
            assert!(!t.is_empty() && t.chars().count() <= 1024, "{id} help.{f}");
            assert!(
                t.to_lowercase().contains("revoke"),
                "{id} help.{f} says how to revoke: {t}"
            );
        }
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            tags.len() <= 10 && tags.contains(&"security") && tags.contains(&"secret"),
            "{id} {tags:?}"
        );
        let p = rule["properties"]["precision"].as_str().unwrap_or_default();
        assert!(
            ["very-high", "high", "medium", "low"].contains(&p),
            "{id} precision {p}"
        );
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev), "{id}");
        let level = rule["defaultConfiguration"]["level"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ["error", "warning", "note"].contains(&level),
            "{id} {level}"
        );
    }

    let rule_list = rules(v);
    for r in results(v) {
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(
            rule_list[idx]["id"], r["ruleId"],
            "ruleIndex points at ruleId"
        );
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap_or_default()));
        let text = r["message"]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("blast radius") && text.contains("revoke:"),
            "{text}"
        );
        let sev = r["properties"]["security-severity"]
            .as_str()
            .expect("security-severity");
        let score: f64 = sev.parse().unwrap();
        assert_eq!(sev, format!("{score:.1}"));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let reg = &loc["region"];
        for f in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(reg[f].as_u64().is_some_and(|n| n >= 1), "{f} in {reg}");
        }
        assert!(reg["snippet"]["text"].is_string());
        let fp = &r["partialFingerprints"];
        assert_eq!(fp["secretHash/v1"].as_str().map(str::len), Some(64));
        let lh = fp["primaryLocationLineHash"].as_str().unwrap_or_default();
        assert!(
            lh.split_once(':')
                .is_some_and(|(h, n)| h.len() == 16 && n.parse::<u32>().is_ok()),
            "{lh}"
        );
        for rel in r["relatedLocations"].as_array().into_iter().flatten() {
            assert_eq!(rel["message"]["text"], "same secret");
        }
    }
}

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (".env", &format!("GITHUB_TOKEN={GHP_A}\n")),
            (
                ".github/workflows/ci.yml",
                &format!("env:\n  TOKEN: {GHP_A}\n  O: {GHO_A}\n"),
            ),
            ("dir with space/ü#1.txt", &format!("x = \"{GHP_B}\"\n")),
            ("tests/conf.py", "password = \"Tr0ub4dor&3xyzzyQ\"\n"),
            (
                "src/app.py",
                &format!("# é ü\nclient = make(token=\"{GHS_A}\")\n"),
            ),
        ],
    );
    t
}

#[test]
fn directory_scan_is_valid_sarif_with_one_result_per_location() {
    let t = tree();
    let (v, text, o) = scan_sarif(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_shape(&v);
    assert_valid("directory scan", &text);

    // One result per location; the same secrets and locations as the json report.
    let (j, _) = scan_json(t.path(), &[]);
    let groups = j["groups"].as_array().unwrap();
    let total: usize = groups
        .iter()
        .map(|g| g["locations"].as_array().unwrap().len())
        .sum();
    assert_eq!(results(&v).len(), total);
    assert_eq!(the_run(&v)["properties"]["totalResults"], total);
    assert_eq!(the_run(&v)["properties"]["truncated"], false);

    // Only the rules that produced results, each once.
    let used: BTreeSet<&str> = results(&v)
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    let listed: BTreeSet<&str> = rules(&v).iter().filter_map(|r| r["id"].as_str()).collect();
    let from_groups: BTreeSet<&str> = groups.iter().filter_map(|g| g["rule"].as_str()).collect();
    assert_eq!(listed, used);
    assert_eq!(listed, from_groups);
    assert_eq!(listed.len(), rules(&v).len());

    // Each result matches its group: level, severity, region, related locations.
    for r in results(&v) {
        let fp = r["partialFingerprints"]["secretHash/v1"].as_str().unwrap();
        let g = groups
            .iter()
            .find(|g| g["fingerprint"] == fp)
            .expect("a group per secretHash");
        let level = match g["blast"]["level"].as_str().unwrap() {
            "critical" | "high" => "error",
            "medium" => "warning",
            _ => "note",
        };
        assert_eq!(r["level"], level, "level from blast level");
        let score = g["blast"]["score"].as_f64().unwrap();
        assert_eq!(r["properties"]["security-severity"], format!("{score:.1}"));
        let text = r["message"]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!(
                "blast radius {score:.1} {}",
                g["blast"]["level"].as_str().unwrap()
            )),
            "{text}"
        );
        assert!(text.contains(g["secret"].as_str().unwrap()), "{text}");
        let reg = &r["locations"][0]["physicalLocation"]["region"];
        let locs = g["locations"].as_array().unwrap();
        let l = locs
            .iter()
            .find(|l| {
                l["line"] == reg["startLine"] && l["column"] == reg["startColumn"] && {
                    let p = l["path"].as_str().unwrap();
                    let u = uri(r);
                    p == u || (p.contains(' ') && u.contains("%20"))
                }
            })
            .unwrap_or_else(|| panic!("region {reg} is one of the group's locations {locs:?}"));
        assert_eq!(reg["endLine"], l["end_line"]);
        assert_eq!(reg["endColumn"], l["end_column"]);
        assert_eq!(reg["snippet"]["text"], l["snippet"]);
        let related = r["relatedLocations"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(
            related,
            locs.len() - 1,
            "the other places of the same secret"
        );
    }

    // Escaped, repository-relative URIs.
    let uris: BTreeSet<&str> = results(&v).iter().map(uri).collect();
    assert!(
        uris.contains(".env") && uris.contains(".github/workflows/ci.yml"),
        "{uris:?}"
    );
    assert!(
        uris.contains("dir%20with%20space/%C3%BC%231.txt"),
        "{uris:?}"
    );

    // Columns in code points: the token after "é ü" lines still starts where the json says.
    let r = results(&v)
        .iter()
        .find(|r| uri(r) == "src/app.py")
        .expect("src/app.py result");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );

    // The GHP_A secret appears at two places: two results, each pointing at the other.
    let ghp_a: Vec<&Value> = results(&v)
        .iter()
        .filter(|r| r["properties"]["locationCount"] == 2)
        .collect();
    assert_eq!(ghp_a.len(), 2);
    let mut seen = BTreeSet::new();
    for r in &ghp_a {
        assert_eq!(
            r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            uri(ghp_a[if uri(r) == uri(ghp_a[0]) { 1 } else { 0 }])
        );
        seen.insert(uri(r));
    }
    assert_eq!(seen.len(), 2);

    // Rules carry what the token is, its blast radius and how to revoke it.
    let classic = rules(&v)
        .iter()
        .find(|r| r["id"] == "github.pat.classic")
        .expect("github.pat.classic rule");
    assert_eq!(
        classic["shortDescription"]["text"],
        "GitHub classic personal access token"
    );
    assert_eq!(classic["properties"]["precision"], "very-high");
    let tags: Vec<&str> = classic["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tags.contains(&"github") && tags.iter().any(|t| t.starts_with("NHI")),
        "{tags:?}"
    );
    let md = classic["help"]["markdown"].as_str().unwrap();
    for w in [
        "Scope",
        "Lifetime",
        "Mints",
        "Reaches",
        "https://github.com/settings/tokens",
    ] {
        assert!(md.contains(w), "help.markdown lacks {w}: {md}");
    }
}

#[test]
fn empty_scan_is_valid_sarif() {
    let t = tempfile::tempdir().unwrap();
    write_tree(t.path(), &[("README.md", "nothing to see\n")]);
    let (v, text, o) = scan_sarif(t.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_shape(&v);
    assert!(results(&v).is_empty());
    assert!(rules(&v).is_empty(), "no rules without results");
    assert_eq!(the_run(&v)["properties"]["totalResults"], 0);
    assert_valid("empty scan", &text);
}

#[test]
fn history_scan_is_valid_sarif_with_commit_properties() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path();
    git_init(repo);
    write_tree(
        repo,
        &[
            ("deploy/config.env", &format!("TOKEN={GHP_A}\n")),
            ("src/app.py", &format!("t = \"{GHO_A}\"\n")),
        ],
    );
    git(repo, &["add", "-A"]);
    git_at(
        repo,
        &[
            "commit",
            "-q",
            "-m",
            "add config with a secret in the message body",
        ],
        "2023-01-02T03:04:05Z",
    );
    let introducing = git(repo, &["rev-parse", "HEAD"]);
    git(repo, &["rm", "-q", "deploy/config.env"]);
    git_at(
        repo,
        &["commit", "-q", "-m", "remove config"],
        "2023-06-01T00:00:00Z",
    );

    let (v, text, o) = scan_sarif(repo, &["--git", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_shape(&v);
    assert_valid("history scan", &text);

    let removed = results(&v)
        .iter()
        .find(|r| uri(r) == "deploy/config.env")
        .expect("result for the removed file");
    let p = &removed["properties"];
    assert_eq!(p["commit"], introducing.as_str());
    assert!(
        p["commitDate"]
            .as_str()
            .unwrap_or_default()
            .starts_with("2023-01-02T03:04:05"),
        "{p}"
    );
    assert_eq!(p["atHead"], false);
    let kept = results(&v)
        .iter()
        .find(|r| uri(r) == "src/app.py")
        .expect("result for src/app.py");
    assert_eq!(kept["properties"]["atHead"], true);

    // No author or commit message in fingerprints; no email anywhere.
    for r in results(&v) {
        let fp = r["partialFingerprints"].to_string().to_lowercase();
        assert!(
            !fp.contains("alice")
                && !fp.contains("example")
                && !fp.contains("secret in the message"),
            "{fp}"
        );
    }
    assert!(!text.contains("alice@example.invalid"));
    assert!(!text.contains("secret in the message body"));
}

fn assert_clean(what: &str, text: &str) {
    for tok in [GHP_A, GHP_B, GHS_A, GHO_A] {
        assert!(!text.contains(tok), "{what} leaks {tok}");
        assert!(!text.contains(&tok[8..]), "{what} leaks the body of {tok}");
    }
}

#[test]
fn sarif_never_contains_a_full_secret() {
    let t = tree();
    let (_, text, o) = scan_sarif(t.path(), &[]);
    assert_clean("sarif stdout", &text);
    assert_clean("sarif stderr", &stderr(&o));
    let (_, text, _) = scan_sarif(t.path(), &["--fingerprint-key", "team-key"]);
    assert_clean("sarif keyed", &text);
    assert!(!text.contains("team-key"));
    let out = t.path().join("results.sarif");
    let o = run(
        t.path(),
        &[
            "scan",
            "--format",
            "sarif",
            "--output",
            out.to_str().unwrap(),
            ".env",
            ".github",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let file = std::fs::read_to_string(&out).unwrap();
    assert_clean("sarif file", &file);
    std::fs::remove_file(out).unwrap();
    // The check above can see a leak: with --reveal-secrets the values are there.
    let (_, text, _) = scan_sarif(t.path(), &["--reveal-secrets"]);
    assert!(text.contains(GHP_A), "--reveal-secrets shows the value");
}

/// (uri, secretHash, lineHash) of every result.
fn fingerprint_set(v: &Value) -> BTreeSet<(String, String, String)> {
    results(v)
        .iter()
        .map(|r| {
            let fp = &r["partialFingerprints"];
            (
                uri(r).to_string(),
                fp["secretHash/v1"].as_str().unwrap().to_string(),
                fp["primaryLocationLineHash"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_do_not_change_when_lines_are_inserted_above() {
    let t = tempfile::tempdir().unwrap();
    let body = format!("token: {GHP_A}\nother: 1\ntoken: {GHP_A}\nkey = \"{GHO_A}\"\n");
    write_tree(
        t.path(),
        &[("config.yml", &body), ("b.env", &format!("T={GHP_B}\n"))],
    );
    let (before, _, _) = scan_sarif(t.path(), &[]);
    write_tree(
        t.path(),
        &[(
            "config.yml",
            &format!("# a comment\n\n# another\nname: x\n{body}"),
        )],
    );
    let (after, _, _) = scan_sarif(t.path(), &[]);

    let lines = |v: &Value| -> Vec<u64> {
        let mut l: Vec<u64> = results(v)
            .iter()
            .filter(|r| uri(r) == "config.yml")
            .map(|r| {
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        l.sort_unstable();
        l
    };
    assert_eq!(lines(&before), vec![1, 3, 4]);
    assert_eq!(lines(&after), vec![5, 7, 8], "the secrets moved down");
    assert_eq!(fingerprint_set(&before), fingerprint_set(&after));
    assert_eq!(
        fingerprint_set(&before).len(),
        4,
        "distinct fingerprints per result"
    );

    // Two identical lines: same line hash, told apart by the occurrence index.
    let same: BTreeSet<String> = fingerprint_set(&before)
        .into_iter()
        .filter(|(u, _, _)| u == "config.yml")
        .map(|(_, _, l)| l)
        .collect();
    let stems: BTreeMap<&str, usize> = same.iter().fold(BTreeMap::new(), |mut m, l| {
        *m.entry(l.split(':').next().unwrap()).or_insert(0) += 1;
        m
    });
    assert!(stems.values().any(|&n| n == 2), "{same:?}");
}

#[test]
fn truncation_keeps_the_highest_blast_radius_and_says_so() {
    let t = tree();
    // GHP_A in four more files: 6 places, so 5 related locations per result.
    for n in 0..4 {
        write_tree(
            t.path(),
            &[(&format!("more/f{n}.txt"), &format!("k = {GHP_A}\n"))],
        );
    }
    let req = blastradius::Request {
        paths: vec![t.path().to_path_buf()],
        ..Default::default()
    };
    let report = blastradius::run(
        &req,
        std::sync::Arc::new(blastradius::scan::Progress::default()),
    )
    .unwrap();
    let total: usize = report.groups.iter().map(|g| g.locations.len()).sum();
    assert!(total >= 9, "{total}");
    let write = |limits: Limits| -> (Value, String) {
        let mut buf = Vec::new();
        sarif::write_with_limits(&report, &mut buf, limits).unwrap();
        let text = String::from_utf8(buf).unwrap();
        (serde_json::from_str(&text).unwrap(), text)
    };
    let sev = |r: &Value| {
        r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let related = |r: &Value| r["relatedLocations"].as_array().map_or(0, Vec::len);

    // Two results: the two highest-ranked locations; truncation stated; rules only for them.
    let (v, text) = write(Limits {
        max_results: 2,
        ..Limits::default()
    });
    assert_eq!(results(&v).len(), 2);
    let props = &the_run(&v)["properties"];
    assert_eq!(props["truncated"], true);
    assert_eq!(props["totalResults"], total);
    assert_eq!(props["emittedResults"], 2);
    let max = report
        .groups
        .iter()
        .map(|g| g.blast.score)
        .fold(0.0, f64::max);
    assert_eq!(sev(&results(&v)[0]), max);
    assert_eq!(sev(&results(&v)[0]), report.groups[0].blast.score);
    assert!(sev(&results(&v)[0]) >= sev(&results(&v)[1]));
    let used: BTreeSet<&str> = results(&v)
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert_eq!(rules(&v).len(), used.len());
    assert_schema_valid("truncated", &text);

    // Without caps: every location, all related locations.
    let (v, _) = write(Limits::default());
    assert_eq!(results(&v).len(), total);
    assert_eq!(the_run(&v)["properties"]["truncated"], false);
    assert_eq!(
        the_run(&v)["properties"]["relatedLocationsTruncated"],
        false
    );
    assert_eq!(results(&v).iter().map(related).max(), Some(5));

    // Related locations capped per result, then per run.
    let (v, _) = write(Limits {
        max_related_locations: 2,
        ..Limits::default()
    });
    assert_eq!(results(&v).len(), total);
    assert_eq!(results(&v).iter().map(related).max(), Some(2));
    assert_eq!(the_run(&v)["properties"]["relatedLocationsTruncated"], true);
    let (v, text) = write(Limits {
        max_related_total: 3,
        ..Limits::default()
    });
    assert_eq!(results(&v).iter().map(related).sum::<usize>(), 3);
    assert_eq!(the_run(&v)["properties"]["relatedLocationsTruncated"], true);
    assert_schema_valid("related capped", &text);

    // The default limits are GitHub's.
    let d = Limits::default();
    assert_eq!((d.max_results, d.max_related_locations), (25_000, 1_000));
}

#[test]
fn levels_follow_the_blast_level() {
    use blastradius::blast::Level;
    use serde_sarif::sarif::ResultLevel;
    assert!(matches!(
        sarif::result_level(Level::Critical),
        ResultLevel::Error
    ));
    assert!(matches!(
        sarif::result_level(Level::High),
        ResultLevel::Error
    ));
    assert!(matches!(
        sarif::result_level(Level::Medium),
        ResultLevel::Warning
    ));
    assert!(matches!(sarif::result_level(Level::Low), ResultLevel::Note));

    // And in a real log: an "error" (high) and a "warning" (medium, generic password in tests).
    let t = tree();
    let (v, _, _) = scan_sarif(t.path(), &[]);
    let levels: BTreeSet<&str> = results(&v)
        .iter()
        .filter_map(|r| r["level"].as_str())
        .collect();
    assert!(levels.contains("error") && levels.len() >= 2, "{levels:?}");
    for r in results(&v) {
        let s: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let want = if s >= 7.0 {
            "error"
        } else if s >= 4.0 {
            "warning"
        } else {
            "note"
        };
        assert_eq!(r["level"], want, "{s}");
    }
}

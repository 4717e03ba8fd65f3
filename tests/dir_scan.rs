//! Directory scans with the real binary on temp trees.

mod common;
use common::*;
use std::process::Command;

#[test]
fn dotfiles_are_scanned_and_git_dir_is_not() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (".env", &format!("GITHUB_TOKEN={GHP_A}\n")),
            (
                ".npmrc",
                &format!("//npm.pkg.github.com/:_authToken={GHP_B}\n"),
            ),
            (".aws/credentials", &format!("[default]\n# gh {GHS_A}\n")),
            (".git/config", &format!("token = {GHO_A}\n")),
        ],
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1);
    let p = paths(&v);
    assert!(p.iter().any(|(p, _)| p == ".env"), "{p:?}");
    assert!(p.iter().any(|(p, _)| p == ".npmrc"), "{p:?}");
    assert!(p.iter().any(|(p, _)| p == ".aws/credentials"), "{p:?}");
    assert!(!p.iter().any(|(p, _)| p.starts_with(".git/")), "{p:?}");
}

#[test]
fn gitignore_is_respected_unless_no_ignore() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (".gitignore", "ignored.txt\n"),
            ("ignored.txt", &format!("t={GHP_A}\n")),
            ("kept.txt", "nothing here\n"),
        ],
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(paths(&v).is_empty());
    let (v, o) = scan_json(t.path(), &["--no-ignore"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![("ignored.txt".to_string(), "github.pat.classic".to_string())]
    );
}

#[test]
fn symlinks_are_not_followed_by_default() {
    let outside = tempfile::tempdir().unwrap();
    write_tree(outside.path(), &[("secret.txt", &format!("t={GHP_A}\n"))]);
    let t = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), t.path().join("link.txt"))
        .unwrap();
    std::os::unix::fs::symlink(outside.path(), t.path().join("linkdir")).unwrap();
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 0);
    assert!(paths(&v).is_empty());
    let (v, _) = scan_json(t.path(), &["--follow-symlinks"]);
    let p = paths(&v);
    assert!(
        p.iter().any(|(p, _)| p == "link.txt") && p.iter().any(|(p, _)| p == "linkdir/secret.txt"),
        "{p:?}"
    );
}

#[test]
fn binary_files_are_skipped_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let mut bin = b"\x7fELF\x00\x01\x02".to_vec();
    bin.extend_from_slice(format!("  {GHP_A}  ").as_bytes());
    std::fs::write(t.path().join("app.bin"), &bin).unwrap();
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 0);
    assert_eq!(v["stats"]["skipped_binary"], 1);
    let (v, o) = scan_json(t.path(), &["--scan-binary"]);
    assert_eq!(code(&o), 1);
    assert_eq!(paths(&v).len(), 1);
}

#[test]
fn large_files_are_skipped_and_listed() {
    let t = tempfile::tempdir().unwrap();
    let mut big = format!("t={GHP_A}\n").into_bytes();
    big.resize(3000, b'a');
    std::fs::write(t.path().join("big.txt"), &big).unwrap();
    let (v, o) = scan_json(t.path(), &["--max-file-size", "2K"]);
    assert_eq!(code(&o), 0);
    assert_eq!(v["stats"]["skipped_too_large"], 1);
    assert_eq!(v["stats"]["skipped_too_large_paths"][0], "big.txt");
}

#[test]
fn unreadable_file_is_a_warning_and_exit_3() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            ("locked.txt", &format!("t={GHP_A}\n")),
            ("open.txt", "nothing\n"),
        ],
    );
    let locked = t.path().join("locked.txt");
    Command::new("chmod")
        .arg("000")
        .arg(&locked)
        .status()
        .unwrap();
    // Root reads anything: drop to an unprivileged user for the scan when we are root.
    let o = if is_root() {
        Command::new("chmod")
            .arg("755")
            .arg(t.path())
            .status()
            .unwrap();
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .args(["scan", "--format", "json"])
            .arg(t.path())
            .output()
            .unwrap()
    } else {
        run(t.path(), &["scan", "--format", "json", "."])
    };
    assert_eq!(code(&o), 3, "stderr: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = &v["warnings"][0];
    assert!(w["path"].as_str().unwrap().ends_with("locked.txt"), "{w}");
    assert_eq!(w["message"], "cannot open: permission denied");
    assert!(stderr(&o).contains("warning") && stderr(&o).contains("locked.txt"));
}

#[test]
fn missing_path_is_exit_2_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let o = run(t.path(), &["scan", "does-not-exist"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("does-not-exist") && err.contains("no such file"),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_usage_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    assert_eq!(code(&run(t.path(), &["scan", "--format", "xml"])), 2);
    assert_eq!(code(&run(t.path(), &["scan", "--fail-on", "severe"])), 2);
    assert_eq!(
        code(&run(t.path(), &["scan", "--max-file-size", "lots"])),
        2
    );
}

#[test]
fn fail_on_gates_the_exit_code() {
    let t = tempfile::tempdir().unwrap();
    // A short-lived installation token in a plain source file scores medium, not critical.
    write_tree(t.path(), &[("a.py", &format!("t = '{GHS_A}'\n"))]);
    let (v, o) = scan_json(t.path(), &["--fail-on", "critical"]);
    assert_eq!(v["groups"][0]["blast"]["level"], "medium");
    assert_eq!(code(&o), 0);
    let (_, o) = scan_json(t.path(), &["--fail-on", "medium"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn locations_are_one_based_code_point_columns() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[("ü.txt", &format!("first line\nnäme = \"{GHP_A}\"\n"))],
    );
    let (v, _) = scan_json(t.path(), &[]);
    let l = &v["groups"][0]["locations"][0];
    assert_eq!(l["path"], "ü.txt");
    assert_eq!(
        (l["line"].as_u64(), l["column"].as_u64()),
        (Some(2), Some(9))
    );
    assert_eq!(
        (l["end_line"].as_u64(), l["end_column"].as_u64()),
        (Some(2), Some(49))
    );
}

#[test]
fn same_value_in_several_files_is_one_group() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            ("a.env", &format!("A={GHP_A}\n")),
            ("b/c.yml", &format!("token: {GHP_A}\n")),
            ("d.txt", &format!("{GHP_B}\n")),
        ],
    );
    let (v, _) = scan_json(t.path(), &[]);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[0]["locations"].as_array().unwrap().len(),
        2,
        "sprawled value ranks first"
    );
    assert_eq!(groups[0]["fingerprint"].as_str().unwrap().len(), 64);
}

#[test]
fn several_roots_and_single_files() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_tree(a.path(), &[("x.txt", &format!("{GHP_A}\n"))]);
    write_tree(b.path(), &[("y.txt", &format!("{GHP_A}\n"))]);
    let o = run(
        a.path(),
        &[
            "scan",
            "--format",
            "json",
            a.path().to_str().unwrap(),
            b.path().join("y.txt").to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let g = &v["groups"][0];
    assert_eq!(g["locations"].as_array().unwrap().len(), 2);
    let reasons = g["blast"]["reasons"].to_string();
    assert!(
        reasons.contains("reused across 2 repositories"),
        "{reasons}"
    );
}

#[test]
fn human_output_ranks_and_summarises() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (".github/workflows/ci.yml", &format!("env:\n  T: {GHP_A}\n")),
            ("src/x.py", &format!("k = '{GHS_A}'\n")),
        ],
    );
    let o = run(t.path(), &["scan"]);
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("1.") && first.contains("GitHub classic personal access token"),
        "{out}"
    );
    assert!(
        out.contains("why:") && out.contains("in CI/CD pipeline configuration"),
        "{out}"
    );
    assert!(out.contains("2 secrets"), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
}

#[test]
fn output_file_and_rules_listing() {
    let t = tempfile::tempdir().unwrap();
    write_tree(t.path(), &[("a.txt", &format!("{GHP_A}\n"))]);
    let o = run(
        t.path(),
        &[
            "scan",
            "--format",
            "jsonl",
            "--output",
            "out.jsonl",
            "a.txt",
        ],
    );
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty());
    let text = std::fs::read_to_string(t.path().join("out.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1);
    let o = run(t.path(), &["rules"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("github.pat.classic"));
}

#[test]
fn user_rules_add_and_override() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            (
                "myrules/acme.toml",
                r#"provider = "Acme"
[[rule]]
id = "acme.key"
name = "Acme key"
kind = "api key"
description = "Acme internal key"
keywords = ["acme_"]
pattern = '\b(?P<secret>acme_[0-9a-f]{24})\b'
scope = "fixed-broad"
lifetime = "never"
lifetime_default = "never"
mints = false
reach = ["data_store"]
revoke = "ask the Acme admins"
"#,
            ),
            ("src/a.txt", "key = acme_0f1e2d3c4b5a69788796a5b4\n"),
        ],
    );
    let (v, o) = scan_json(t.path(), &["--rules", "myrules", "src"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(v["groups"][0]["rule"], "acme.key");
    write_tree(
        t.path(),
        &[("bad/x.toml", "provider = \"X\"\n[[rule]]\nid = \"x\"\n")],
    );
    let o = run(t.path(), &["scan", "--rules", "bad", "src"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad/x.toml"), "{}", stderr(&o));
}

/// Other scanners' inline allow markers count like ours (a migrating team keeps its past
/// false-positive judgements), and every one is counted as suppressed.
#[test]
fn inline_allow_markers_of_other_scanners_are_honoured_and_counted() {
    let t = tempfile::tempdir().unwrap();
    write_tree(
        t.path(),
        &[
            ("a.env", &format!("T1={GHP_A} # gitleaks:allow\n")),
            (
                "b.py",
                &format!("t = '{GHP_B}'  # pragma: allowlist secret\n"),
            ),
            ("c.go", &format!("t := \"{GHS_A}\" // trufflehog:ignore\n")),
            ("d.env", &format!("T4={GHO_A}\n")),
        ],
    );
    let (v, o) = scan_json(t.path(), &["."]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![("d.env".to_string(), "github.oauth".to_string())]
    );
    assert_eq!(v["suppressed"]["inline"], 3, "{}", v["suppressed"]);
}

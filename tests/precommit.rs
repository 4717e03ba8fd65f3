//! The real `pre-commit` client drives our hook: a commit adding a synthetic token is
//! blocked; the same commit without it passes. The client comes from the venv that
//! tools/test.sh creates (BLASTRADIUS_TEST_VENV).

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn pre_commit() -> PathBuf {
    let venv = std::env::var("BLASTRADIUS_TEST_VENV")
        .expect("BLASTRADIUS_TEST_VENV is not set: run the suite with ./tools/test.sh, which installs pre-commit");
    PathBuf::from(venv).join("bin/pre-commit")
}

#[test]
fn hooks_file_declares_both_variants() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .unwrap();
    for needle in [
        "id: blastradius\n",
        "language: rust",
        "id: blastradius-system",
        "language: system",
        "entry: blastradius scan --staged",
        "pass_filenames: false",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
}

#[test]
fn pre_commit_blocks_a_commit_that_adds_a_token() {
    let pc = pre_commit();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // pre-commit clones the hook repository at `rev`: use this checkout's HEAD.
    let rev = git(&manifest, &["rev-parse", "HEAD"]);
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    write_tree(
        d,
        &[(
            ".pre-commit-config.yaml",
            &format!(
                "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: blastradius-system\n",
                manifest.display()
            ),
        )],
    );
    git(d, &["add", ".pre-commit-config.yaml"]);
    git(d, &["commit", "-q", "-m", "config"]);
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = d.join(".pc-home");
    let run_git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(d)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .env("HOME", d)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.invalid")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.invalid")
            .output()
            .unwrap()
    };
    let o = Command::new(&pc)
        .arg("install")
        .current_dir(d)
        .env("PRE_COMMIT_HOME", &home)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pre-commit install: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    write_tree(d, &[("deploy.sh", &format!("export GH_TOKEN={GHP_A}\n"))]);
    run_git(&["add", "deploy.sh"]);
    let o = run_git(&["commit", "-m", "add deploy script"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !o.status.success(),
        "commit with a token must be blocked:\n{out}"
    );
    assert!(
        out.contains("deploy.sh:1:") && out.contains("commit blocked"),
        "{out}"
    );
    assert!(
        !out.contains(GHP_A),
        "the hook must not print the token:\n{out}"
    );

    write_tree(
        d,
        &[("deploy.sh", "export GH_TOKEN=\"$GH_TOKEN_FROM_VAULT\"\n")],
    );
    run_git(&["add", "deploy.sh"]);
    let o = run_git(&["commit", "-m", "add deploy script"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success(),
        "commit without the token must pass:\n{out}"
    );
}

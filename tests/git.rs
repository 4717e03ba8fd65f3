//! History and staged scans on real repositories built with the git CLI in temp dirs.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn commit_file(dir: &Path, path: &str, body: &str, msg: &str, date: &str) -> String {
    write_tree(dir, &[(path, body)]);
    git_at(dir, &["add", "-A"], date);
    git_at(dir, &["commit", "-q", "-m", msg], date);
    git(dir, &["rev-parse", "HEAD"])
}

fn groups(v: &serde_json::Value) -> &Vec<serde_json::Value> {
    v["groups"].as_array().unwrap()
}

#[test]
fn secret_added_then_deleted_is_reported_once_with_its_introducing_commit() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "app.cfg", "a = 1\n", "c1", "2020-01-01T00:00:00Z");
    let c2 = commit_file(
        d,
        "app.cfg",
        &format!("a = 1\ntoken = {GHP_A}\n"),
        "c2",
        "2020-02-01T00:00:00Z",
    );
    commit_file(
        d,
        "app.cfg",
        &format!("a = 2\ntoken = {GHP_A}\n"),
        "c3",
        "2020-03-01T00:00:00Z",
    );
    commit_file(
        d,
        "app.cfg",
        &format!("a = 3\ntoken = {GHP_A}\nb = 1\n"),
        "c4",
        "2020-04-01T00:00:00Z",
    );
    commit_file(d, "app.cfg", "a = 3\nb = 1\n", "c5", "2020-05-01T00:00:00Z");
    let (v, o) = scan_json(d, &["--git", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let g = groups(&v);
    assert_eq!(g.len(), 1, "{v}");
    let locs = g[0]["locations"].as_array().unwrap();
    assert_eq!(
        locs.len(),
        1,
        "one location: the introducing commit at that path: {locs:?}"
    );
    let git = &locs[0]["git"];
    assert_eq!(git["commit"], c2.as_str());
    assert_eq!(git["at_head"], false);
    assert_eq!(git["author"], "Alice Example");
    assert_eq!(git["date"], "2020-02-01T00:00:00Z");
    assert_eq!(locs[0]["path"], "app.cfg");
    assert_eq!(locs[0]["line"], 2);
    let reasons = g[0]["blast"]["reasons"].to_string();
    assert!(reasons.contains("only in history"), "{reasons}");
    // Five commits, five distinct blobs of app.cfg.
    assert_eq!(v["stats"]["commits_walked"], 5);
    assert_eq!(v["stats"]["blobs_scanned"], 5);
}

#[test]
fn secret_still_at_head_is_marked() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(
        d,
        "a.env",
        &format!("T={GHP_A}\n"),
        "c1",
        "2021-01-01T00:00:00Z",
    );
    commit_file(d, "b.txt", "x\n", "c2", "2021-01-02T00:00:00Z");
    let (v, _) = scan_json(d, &["--git", "."]);
    assert_eq!(groups(&v)[0]["locations"][0]["git"]["at_head"], true);
    assert!(
        groups(&v)[0]["blast"]["reasons"]
            .to_string()
            .contains("still present at HEAD")
    );
}

fn distinct_blobs(d: &Path) -> u64 {
    let out = Command::new("git")
        .args([
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objecttype)",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| *l == "blob")
        .count() as u64
}

#[test]
fn the_same_blob_in_three_branches_is_scanned_once() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "base.txt", "base\n", "base", "2022-01-01T00:00:00Z");
    let shared = format!("deploy_token = {GHP_B}\n");
    for (i, b) in ["b1", "b2", "b3"].iter().enumerate() {
        git(d, &["checkout", "-q", "-b", b, "main"]);
        let date = format!("2022-01-0{}T00:00:00Z", i + 2);
        write_tree(d, &[(&format!("ci/{b}.yml") as &str, &shared as &str)]);
        git_at(d, &["add", "-A"], &date);
        git_at(d, &["commit", "-q", "-m", b], &date);
    }
    git(d, &["checkout", "-q", "main"]);
    let (v, _) = scan_json(d, &["--git", "."]);
    // base.txt + one shared blob: two distinct blobs, each scanned exactly once.
    assert_eq!(distinct_blobs(d), 2);
    assert_eq!(v["stats"]["blobs_scanned"], 2, "{}", v["stats"]);
    let g = groups(&v);
    assert_eq!(g.len(), 1);
    // The one blob is attributed to each path it lives at; the first is from branch b1.
    let locs = g[0]["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 3, "{locs:?}");
    assert_eq!(locs[0]["git"]["at_head"], false);
    // --branch limits the walk.
    let (v, _) = scan_json(d, &["--git", "--branch", "main", "."]);
    assert!(groups(&v).is_empty());
    let (v, _) = scan_json(d, &["--git", "--branch", "b2", "."]);
    assert_eq!(groups(&v)[0]["locations"].as_array().unwrap().len(), 1);
}

#[test]
fn since_commit_skips_older_history() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    let c1 = commit_file(
        d,
        "old.txt",
        &format!("{GHP_A}\n"),
        "c1",
        "2020-01-01T00:00:00Z",
    );
    commit_file(
        d,
        "new.txt",
        &format!("{GHO_A}\n"),
        "c2",
        "2020-01-02T00:00:00Z",
    );
    let (v, _) = scan_json(d, &["--git", "--since-commit", &c1, "."]);
    let p = paths(&v);
    assert_eq!(p, vec![("new.txt".to_string(), "github.oauth".to_string())]);
}

#[test]
fn corrupt_object_is_a_warning_and_exit_3() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(
        d,
        "a.txt",
        "nothing secret here\n",
        "c1",
        "2020-01-01T00:00:00Z",
    );
    let blob = git(d, &["rev-parse", "HEAD:a.txt"]);
    let obj = d.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap();
    std::fs::write(&obj, b"this is not a zlib stream").unwrap();
    let (v, o) = scan_json(d, &["--git", "."]);
    assert_eq!(code(&o), 3, "stderr: {}", stderr(&o));
    let w = v["warnings"].to_string();
    assert!(w.contains("corrupt") && w.contains("a.txt"), "{w}");
}

#[test]
fn not_a_repository_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let o = run(t.path(), &["scan", "--git", "."]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not a git repository"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn staged_scans_the_index_not_the_worktree() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "readme.txt", "hello\n", "c1", "2020-01-01T00:00:00Z");
    // Only in the work tree: not reported.
    write_tree(d, &[("wt.txt", &format!("T={GHP_A}\n"))]);
    let o = run(d, &["scan", "--staged", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Only in the index (work tree copy cleaned afterwards): reported.
    write_tree(d, &[("idx.txt", &format!("T={GHP_B}\n"))]);
    git(d, &["add", "idx.txt"]);
    write_tree(d, &[("idx.txt", "T=clean\n")]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![("idx.txt".to_string(), "github.pat.classic".to_string())]
    );
    let msg = stderr(&o);
    assert!(
        msg.contains("commit blocked") && msg.contains("blastradius:allow"),
        "{msg}"
    );
    let human = stdout(&run(d, &["scan", "--staged"]));
    assert!(
        human.contains("idx.txt:1:")
            && human.contains("ghp_KF…(40)")
            && human.contains("github.pat.classic"),
        "{human}"
    );
}

#[test]
fn staged_reports_only_added_lines() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(
        d,
        "cfg.txt",
        &format!("old = {GHP_A}\n"),
        "c1",
        "2020-01-01T00:00:00Z",
    );
    write_tree(d, &[("cfg.txt", &format!("new = 1\nold = {GHP_A}\n"))]);
    git(d, &["add", "cfg.txt"]);
    let o = run(d, &["scan", "--staged", "--format", "json"]);
    assert_eq!(
        code(&o),
        0,
        "an already-committed secret on an unchanged line does not block"
    );
    write_tree(
        d,
        &[("cfg.txt", &format!("new = {GHS_A}\nold = {GHP_A}\n"))],
    );
    git(d, &["add", "cfg.txt"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![("cfg.txt".to_string(), "github.app.installation".to_string())]
    );
}

#[test]
fn staged_works_on_the_first_commit() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    write_tree(d, &[("first.txt", &format!("{GHP_A}\n"))]);
    git(d, &["add", "first.txt"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(paths(&v).len(), 1);
}

#[test]
fn staged_rename_blocks_only_on_added_lines() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    let body: String = (0..20).map(|i| format!("line {i}\n")).collect();
    commit_file(
        d,
        "old/name.cfg",
        &format!("{body}t = {GHP_A}\n"),
        "c1",
        "2020-01-01T00:00:00Z",
    );
    git(d, &["mv", "old/name.cfg", "new-name.cfg"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 0, "a moved file does not re-block: {v}");
    write_tree(
        d,
        &[("new-name.cfg", &format!("{body}t = {GHP_A}\nu = {GHS_A}\n"))],
    );
    git(d, &["add", "new-name.cfg"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![(
            "new-name.cfg".to_string(),
            "github.app.installation".to_string()
        )]
    );
}

/// `git commit <paths>` runs the hook against a temporary index named by GIT_INDEX_FILE:
/// the scan must read that index, not .git/index.
#[test]
fn staged_honours_git_index_file() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "a.txt", "hello\n", "c1", "2020-01-01T00:00:00Z");
    let alt = d.join(".git/alt-index");
    std::fs::copy(d.join(".git/index"), &alt).unwrap();
    write_tree(d, &[("b.txt", &format!("t = {GHP_B}\n"))]);
    let status = std::process::Command::new("git")
        .args(["add", "b.txt"])
        .current_dir(d)
        .env("GIT_INDEX_FILE", &alt)
        .status()
        .unwrap();
    assert!(status.success());
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 0, "the default index has no change: {v}");
    let o = std::process::Command::new(bin())
        .args(["scan", "--staged", "--format", "json"])
        .current_dir(d)
        .env("GIT_INDEX_FILE", &alt)
        .env_remove("BLASTRADIUS_FINGERPRINT_KEY")
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        paths(&v),
        vec![("b.txt".to_string(), "github.pat.classic".to_string())]
    );
}

/// Without a `git` command on PATH the staged diff comes from libgit2, with the same result.
#[test]
fn staged_without_git_on_path_uses_libgit2() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(
        d,
        "cfg.txt",
        &format!("old = {GHP_A}\n"),
        "c1",
        "2020-01-01T00:00:00Z",
    );
    write_tree(
        d,
        &[
            ("cfg.txt", &format!("new = {GHS_A}\nold = {GHP_A}\n")),
            ("added.txt", &format!("x = {GHP_B}\n")),
        ],
    );
    git(d, &["add", "-A"]);
    let empty = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(bin())
        .args(["scan", "--staged", "--format", "json"])
        .current_dir(d)
        .env("PATH", empty.path())
        .env_remove("BLASTRADIUS_FINGERPRINT_KEY")
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut p = paths(&v);
    p.sort();
    assert_eq!(
        p,
        vec![
            ("added.txt".to_string(), "github.pat.classic".to_string()),
            ("cfg.txt".to_string(), "github.app.installation".to_string()),
        ]
    );
}

/// A staged scan loads only the rules whose keywords occur in the change, counting what
/// the change's encoded spans decode to: a base64 Secret value still finds its token.
#[test]
fn staged_finds_encoded_tokens_with_selected_rules() {
    use base64::Engine as _;
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "a.txt", "hello\n", "c1", "2020-01-01T00:00:00Z");
    let b64 = base64::engine::general_purpose::STANDARD.encode(GHP_A);
    write_tree(
        d,
        &[(
            "k8s/secret.yaml",
            &format!("apiVersion: v1\nkind: Secret\ndata:\n  gh: {b64}\n"),
        )],
    );
    git(d, &["add", "-A"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![(
            "k8s/secret.yaml".to_string(),
            "github.pat.classic".to_string()
        )]
    );
}

#[test]
fn inline_allow_and_config_in_staged_mode() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    write_tree(
        d,
        &[(
            "a.txt",
            &format!("t = {GHP_A}  # blastradius:allow test fixture\n"),
        )],
    );
    git(d, &["add", "a.txt"]);
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 0);
    assert_eq!(v["suppressed"]["inline"], 1);
    // The repository's own .blastradius.toml is honoured in --staged mode.
    write_tree(d, &[("b.txt", &format!("t = {GHP_B}\n"))]);
    git(d, &["add", "b.txt"]);
    let (v, _) = scan_json(d, &["--staged"]);
    let fp = v["groups"][0]["fingerprint"].as_str().unwrap().to_string();
    write_tree(
        d,
        &[(
            ".blastradius.toml",
            &format!("[allow]\nfingerprints = [\"{fp}\"]\n"),
        )],
    );
    let (v, o) = scan_json(d, &["--staged"]);
    assert_eq!(code(&o), 0, "{v}");
    assert_eq!(v["suppressed"]["config"], 1);
}

#[test]
fn config_in_a_scanned_tree_is_not_loaded_silently() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_tree(
        d,
        &[
            ("a.txt", &format!("t = {GHP_A}\n")),
            (".blastradius.toml", "[allow]\npaths = [\"**\"]\n"),
        ],
    );
    let (v, o) = scan_json(d, &["."]);
    assert_eq!(code(&o), 1);
    assert_eq!(v["suppressed"]["config"], 0);
    let (v, o) = scan_json(d, &["--config", ".blastradius.toml", "."]);
    assert_eq!(code(&o), 0);
    assert_eq!(v["suppressed"]["config"], 1);
}

#[test]
fn baseline_survives_inserting_lines_above_a_secret() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_tree(d, &[("src/a.py", &format!("x = 1\nTOKEN = '{GHP_A}'\n"))]);
    let o = run(d, &["baseline", "--output", "base.json", "src"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let base = std::fs::read_to_string(d.join("base.json")).unwrap();
    assert!(!base.contains(GHP_A), "baseline must not store the secret");
    write_tree(
        d,
        &[(
            "src/a.py",
            &format!("import os\n\n# moved\nx = 1\n\n\nTOKEN = '{GHP_A}'\n"),
        )],
    );
    let (v, o) = scan_json(d, &["--baseline", "base.json", "src"]);
    assert_eq!(code(&o), 0, "{v}");
    assert_eq!(v["suppressed"]["baseline"], 1);
    // A new secret is still reported.
    write_tree(d, &[("src/b.py", &format!("T2 = '{GHP_B}'\n"))]);
    let (v, o) = scan_json(d, &["--baseline", "base.json", "src"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        paths(&v),
        vec![("b.py".to_string(), "github.pat.classic".to_string())]
    );
    // A keyed scan refuses an unkeyed baseline rather than silently suppressing nothing.
    let o = run(
        d,
        &[
            "scan",
            "--baseline",
            "base.json",
            "--fingerprint-key",
            "k",
            "src",
        ],
    );
    assert_eq!(code(&o), 2);
}

#[test]
fn submodules_are_not_followed_but_said() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    commit_file(d, "a.txt", "x\n", "c1", "2020-01-01T00:00:00Z");
    // A gitlink entry without cloning anything.
    let head = git(d, &["rev-parse", "HEAD"]);
    git(
        d,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{head},vendor/lib"),
        ],
    );
    git(d, &["commit", "-q", "-m", "sub"]);
    let (v, o) = scan_json(d, &["--git", "."]);
    assert_eq!(code(&o), 3);
    assert!(
        v["warnings"].to_string().contains("submodule not followed"),
        "{v}"
    );
}

/// Every location of a report as (path, commit, line, rule, at_head), sorted.
fn located(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = groups(v)
        .iter()
        .flat_map(|g| {
            let rule = g["rule"].as_str().unwrap_or_default().to_string();
            g["locations"].as_array().unwrap().iter().map(move |l| {
                format!(
                    "{} {} {} {} {}",
                    l["path"].as_str().unwrap(),
                    l["git"]["commit"].as_str().unwrap(),
                    l["line"],
                    rule,
                    l["git"]["at_head"]
                )
            })
        })
        .collect();
    out.sort();
    out
}

fn zip_of(name: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(body).unwrap();
    w.finish().unwrap().into_inner()
}

/// Packed blobs are scanned in pack order while the walk runs, before their paths are
/// known, and reported under each path afterwards: the report must be the one the same
/// history gives from loose objects (read one by one after the walk).
#[test]
fn a_packed_history_reports_what_the_loose_one_did() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    git_init(d);
    let lines: String = (0..3000)
        .map(|i| format!("line {i} of the app\n"))
        .collect();
    write_tree(
        d,
        &[
            ("ci/deploy.yml", &format!("token: {GHP_A}\n") as &str),
            ("app.txt", &lines),
        ],
    );
    git_at(d, &["add", "-A"], "2021-01-01T00:00:00Z");
    git_at(d, &["commit", "-q", "-m", "c1"], "2021-01-01T00:00:00Z");
    // The same blob at a second path, in a later commit; a delta of app.txt.
    write_tree(
        d,
        &[
            ("ci/copy.yml", &format!("token: {GHP_A}\n") as &str),
            ("app.txt", &format!("{lines}one more line\n")),
        ],
    );
    git_at(d, &["add", "-A"], "2021-02-01T00:00:00Z");
    git_at(d, &["commit", "-q", "-m", "c2"], "2021-02-01T00:00:00Z");
    // An archive member (its path is `bundle.zip!inner/.env`) and a binary file.
    std::fs::write(
        d.join("bundle.zip"),
        zip_of("inner/.env", format!("GITHUB_TOKEN={GHO_A}\n").as_bytes()),
    )
    .unwrap();
    std::fs::write(d.join("logo.bin"), [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
    git_at(d, &["add", "-A"], "2021-03-01T00:00:00Z");
    git_at(d, &["commit", "-q", "-m", "c3"], "2021-03-01T00:00:00Z");
    // A blob no commit reaches: in the pack after repacking, never reported.
    let dangling = Command::new("sh")
        .args([
            "-c",
            &format!("printf 'token = {GHS_A}\\n' | git hash-object -w --stdin"),
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(dangling.status.success());
    let dangling = String::from_utf8_lossy(&dangling.stdout).trim().to_string();

    let (loose, o) = scan_json(d, &["--git", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    git(d, &["repack", "-q", "-a", "-d"]);
    // The dangling blob in a pack of its own (repack leaves unreachable loose objects).
    let own_pack = Command::new("sh")
        .args([
            "-c",
            &format!("echo {dangling} | git pack-objects -q .git/objects/pack/pack"),
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(own_pack.status.success());
    git(d, &["prune-packed"]);
    let loose_left = Command::new("git")
        .args(["count-objects", "-v"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&loose_left.stdout).contains("count: 0\n"),
        "everything is packed"
    );
    git(d, &["cat-file", "-e", &dangling]);
    let (packed, o) = scan_json(d, &["--git", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));

    let want = located(&loose);
    assert_eq!(located(&packed), want);
    assert!(
        want.iter().any(|l| l.starts_with("ci/copy.yml ")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|l| l.starts_with("bundle.zip!inner/.env ")),
        "{want:?}"
    );
    assert!(
        !serde_json::to_string(&packed).unwrap().contains("ghs_"),
        "dangling blob"
    );
    for k in [
        "blobs_scanned",
        "bytes_scanned",
        "skipped_binary",
        "commits_walked",
    ] {
        assert_eq!(packed["stats"][k], loose["stats"][k], "{k}");
    }
    assert_eq!(packed["stats"]["blobs_scanned"], 4, "{}", packed["stats"]);
    assert_eq!(packed["stats"]["skipped_binary"], 1);
    assert_eq!(packed["warnings"], loose["warnings"]);

    // Packed and loose together: a commit after the repack.
    commit_file(
        d,
        "later.env",
        &format!("TOKEN={GHP_B}\n"),
        "c4",
        "2021-04-01T00:00:00Z",
    );
    let (mixed, _) = scan_json(d, &["--git", "."]);
    let got = located(&mixed);
    assert_eq!(got.len(), want.len() + 1, "{got:?}");
    assert!(got.iter().any(|l| l.starts_with("later.env ")), "{got:?}");
}

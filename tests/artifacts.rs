//! Archives and container images, built at test time in temp dirs and scanned with the real
//! binary: every archive format, nesting, docker-save and OCI images (layers, whiteouts,
//! config), and hostile input (bombs, traversal names, truncation, encryption).

mod common;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const GITHUB: &str = "github.pat.classic";

fn zip_with(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, body) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn zip_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(files, zip::CompressionMethod::Deflated)
}

/// A tar; names are written raw into the header (so `../evil.txt` is possible).
fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in files {
        let mut h = tar::Header::new_ustar();
        let n = name.as_bytes();
        h.as_old_mut().name[..n.len()].copy_from_slice(n);
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn bz2(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn xz(b: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(b).unwrap();
    w.finish().unwrap()
}

fn zst(b: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(b, ruzstd::encoding::CompressionLevel::Fastest)
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// All locations as (path, rule, location json).
fn locations(v: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for g in v["groups"].as_array().into_iter().flatten() {
        for l in g["locations"].as_array().into_iter().flatten() {
            out.push((
                l["path"].as_str().unwrap_or_default().to_string(),
                g["rule"].as_str().unwrap_or_default().to_string(),
                l.clone(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            format!(
                "{}: {}",
                w["path"].as_str().unwrap(),
                w["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn env_secret(tok: &str) -> Vec<u8> {
    format!("GITHUB_TOKEN={tok}\n").into_bytes()
}

#[test]
fn every_archive_format_is_opened() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let secret = env_secret(GHP_A);
    write(
        d,
        "dist/bundle.zip",
        &zip_bytes(&[("config/.env", &secret)]),
    );
    write(
        d,
        "dist/app-1.0-py3-none-any.whl",
        &zip_bytes(&[("app/settings.py", &secret)]),
    );
    write(
        d,
        "lib/service.jar",
        &zip_bytes(&[("application.properties", &secret)]),
    );
    let tar = tar_bytes(&[("proj/.env", &secret)]);
    write(d, "src.tar", &tar);
    write(d, "rel.tar.gz", &gz(&tar));
    write(d, "rel.tgz", &gz(&tar));
    write(d, "notes.txt.gz", &gz(&secret));
    write(d, "dump.sql.bz2", &bz2(&secret));
    write(d, "app.log.xz", &xz(&secret));
    write(d, "cfg.yaml.zst", &zst(&secret));
    write(d, "rel.tar.xz", &xz(&tar));
    // Detection is by magic bytes, not extension.
    write(d, "artifact.bin", &zip_bytes(&[("x/.env", &secret)]));
    let (v, o) = scan_json(d, &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let got: Vec<(String, String)> = paths(&v);
    let want = [
        "app.log.xz!app.log",
        "artifact.bin!x/.env",
        "cfg.yaml.zst!cfg.yaml",
        "dist/app-1.0-py3-none-any.whl!app/settings.py",
        "dist/bundle.zip!config/.env",
        "dump.sql.bz2!dump.sql",
        "lib/service.jar!application.properties",
        "notes.txt.gz!notes.txt",
        "rel.tar.gz!proj/.env",
        "rel.tar.xz!proj/.env",
        "rel.tgz!proj/.env",
        "src.tar!proj/.env",
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|p| (p.to_string(), GITHUB.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(warnings(&v).is_empty(), "{:?}", warnings(&v));
    assert_eq!(v["stats"]["archives_scanned"], 12);
    assert_eq!(v["stats"]["files_scanned"], 12);
    // Line and column are the member's.
    let l = &locations(&v)[0].2;
    assert_eq!(
        (l["line"].as_u64(), l["column"].as_u64()),
        (Some(1), Some(14))
    );
}

#[test]
fn nested_archives_up_to_the_depth() {
    let t = tempfile::tempdir().unwrap();
    let inner = zip_bytes(&[("conf/.env", &env_secret(GHP_A))]);
    let outer = gz(&tar_bytes(&[("inner/bundle.zip", &inner)]));
    write(t.path(), "outer.tar.gz", &outer);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![(
            "outer.tar.gz!inner/bundle.zip!conf/.env".to_string(),
            GITHUB.to_string()
        )]
    );
    // One level only: the inner zip is not opened, with a warning; nothing found → exit 3.
    let (v, o) = scan_json(t.path(), &["--archive-depth", "1"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(paths(&v).is_empty());
    let w = warnings(&v);
    assert!(
        w.iter()
            .any(|w| w.starts_with("outer.tar.gz!inner/bundle.zip: ")
                && w.contains("--archive-depth 1")),
        "{w:?}"
    );
    // 0 disables archives: the file is binary and skipped.
    let (v, o) = scan_json(t.path(), &["--archive-depth", "0"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(v["stats"]["skipped_binary"], 1);
}

#[test]
fn archives_in_git_history() {
    let t = tempfile::tempdir().unwrap();
    git_init(t.path());
    write(
        t.path(),
        "dist/site.zip",
        &zip_bytes(&[("deploy.env", &env_secret(GHP_B))]),
    );
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "add build"]);
    let (v, o) = scan_json(t.path(), &["--git", "."]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let l = locations(&v);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].0, "dist/site.zip!deploy.env");
    assert!(l[0].2["git"]["commit"].is_string());
}

/// A `docker save` tarball: layer 1 (gzip) adds etc/app/.env and app/keep.txt, layer 2
/// deletes the .env with a whiteout; the config carries a token in Env and one in history.
fn docker_image() -> (Vec<u8>, String) {
    let layer1 = gz(&tar_bytes(&[
        ("etc/app/.env", &env_secret(GHP_A)),
        ("app/keep.txt", format!("token = {GHP_B}\n").as_bytes()),
    ]));
    let layer2 = tar_bytes(&[("etc/app/.wh..env", b""), ("app/other.txt", b"hello\n")]);
    let (d1, d2) = (sha(&layer1), sha(&layer2));
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin", format!("GITHUB_TOKEN={GHS_A}")], "Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{d1}"), format!("sha256:{d2}")]},
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            {"created_by": format!("RUN |1 GH_TOKEN={GHO_A} /bin/sh -c ./build.sh")}
        ]
    })
    .to_string();
    let dc = sha(config.as_bytes());
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{dc}"),
        "RepoTags": ["acme/app:1.0"],
        "Layers": [format!("blobs/sha256/{d1}"), format!("blobs/sha256/{d2}")]
    }])
    .to_string();
    let image = tar_bytes(&[
        (&format!("blobs/sha256/{d1}"), &layer1),
        (&format!("blobs/sha256/{d2}"), &layer2),
        (&format!("blobs/sha256/{dc}"), config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
        ("repositories", b"{}"),
    ]);
    (image, d1)
}

#[test]
fn docker_save_image_layers_whiteouts_and_config() {
    let t = tempfile::tempdir().unwrap();
    let (image, d1) = docker_image();
    write(t.path(), "image.tar", &image);
    let (v, o) = scan_json(t.path(), &["image.tar"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(warnings(&v).is_empty(), "{:?}", warnings(&v));
    let l = locations(&v);
    let short = &d1[..12];
    let got: Vec<(&str, &str)> = l.iter().map(|(p, r, _)| (p.as_str(), r.as_str())).collect();
    let env_path = format!("image.tar!sha256:{short}/etc/app/.env");
    let keep_path = format!("image.tar!sha256:{short}/app/keep.txt");
    for want in [
        env_path.as_str(),
        keep_path.as_str(),
        "image.tar!config:Env[1]",
        "image.tar!config:history[1].created_by",
    ] {
        assert!(got.iter().any(|(p, _)| *p == want), "{want} not in {got:?}");
    }
    assert_eq!(got.len(), 4, "{got:?}");
    let image_of = |p: &str| l.iter().find(|(q, _, _)| q == p).unwrap().2["image"].clone();
    let deleted = image_of(&env_path);
    assert_eq!(deleted["visible_in_final_image"], false);
    assert_eq!(deleted["layer"], format!("sha256:{d1}"));
    assert_eq!(deleted["layer_index"], 0);
    let note = deleted["note"].as_str().unwrap();
    assert!(note.contains("not visible in final image"), "{note}");
    assert!(note.contains("still extractable"), "{note}");
    assert_eq!(image_of(&keep_path)["visible_in_final_image"], true);
    assert_eq!(
        image_of("image.tar!config:Env[1]")["visible_in_final_image"],
        true
    );
    // The image tar is also found by a directory walk, gzip-compressed (`docker save | gzip`).
    let t2 = tempfile::tempdir().unwrap();
    write(t2.path(), "release/image.tar.gz", &gz(&image));
    let (v, o) = scan_json(t2.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let p = paths(&v);
    assert!(
        p.iter()
            .any(|(p, _)| *p == format!("release/image.tar.gz!sha256:{short}/etc/app/.env")),
        "{p:?}"
    );
    assert_eq!(p.len(), 4, "{p:?}");
}

#[test]
fn legacy_docker_save_layout_uses_diff_ids() {
    let t = tempfile::tempdir().unwrap();
    let layer = tar_bytes(&[("root/.netrc", format!("password {GHP_A}\n").as_bytes())]);
    let diff = sha(&layer);
    let config = serde_json::json!({"config": {}, "rootfs": {"diff_ids": [format!("sha256:{diff}")]}, "history": []}).to_string();
    let manifest =
        serde_json::json!([{"Config": "cfg.json", "Layers": ["0a1b2c/layer.tar"]}]).to_string();
    let image = tar_bytes(&[
        ("0a1b2c/layer.tar", &layer),
        ("cfg.json", config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ]);
    write(t.path(), "old.tar", &image);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![(
            format!("old.tar!sha256:{}/root/.netrc", &diff[..12]),
            GITHUB.to_string()
        )]
    );
}

#[test]
fn oci_layout_directory() {
    let t = tempfile::tempdir().unwrap();
    let layer = zst(&tar_bytes(&[("srv/.env", &env_secret(GHP_A))]));
    let dl = sha(&layer);
    let config =
        serde_json::json!({"config": {"Env": ["A=1"]}, "rootfs": {"diff_ids": []}}).to_string();
    let dc = sha(config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{dc}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": format!("sha256:{dl}"), "size": layer.len()}]
    })
    .to_string();
    let dm = sha(manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{dm}"), "size": manifest.len()}]
    })
    .to_string();
    let d = t.path();
    write(
        d,
        "images/app/oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    write(d, "images/app/index.json", index.as_bytes());
    write(d, &format!("images/app/blobs/sha256/{dl}"), &layer);
    write(
        d,
        &format!("images/app/blobs/sha256/{dc}"),
        config.as_bytes(),
    );
    write(
        d,
        &format!("images/app/blobs/sha256/{dm}"),
        manifest.as_bytes(),
    );
    let want = format!("images/app!sha256:{}/srv/.env", &dl[..12]);
    let (v, o) = scan_json(d, &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // Found through the layout, and not a second time as a loose blob.
    assert_eq!(paths(&v), vec![(want, GITHUB.to_string())]);
    assert_eq!(locations(&v)[0].2["image"]["visible_in_final_image"], true);
    // The layout directory as the scan root.
    let (v, o) = scan_json(&d.join("images"), &["app"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![(
            format!("app!sha256:{}/srv/.env", &dl[..12]),
            GITHUB.to_string()
        )]
    );
}

#[test]
fn zip_bomb_is_bounded() {
    let t = tempfile::tempdir().unwrap();
    // 64 MiB of one letter compress to a few hundred bytes with bzip2: far beyond 1000:1.
    // (Text, so the scanner would want to read it all; zeros would be skipped as binary.)
    let zeros = vec![b'a'; 64 << 20];
    let bomb = zip_with(
        &[("big.bin", &zeros), ("ok.env", &env_secret(GHP_A))],
        zip::CompressionMethod::Bzip2,
    );
    assert!(bomb.len() < 64 * 1024);
    write(t.path(), "bomb.zip", &bomb);
    write(t.path(), "letters.bz2", &bz2(&zeros));
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let w = warnings(&v);
    assert!(
        w.iter()
            .any(|w| w.starts_with("bomb.zip!big.bin: ") && w.contains("compression ratio")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("letters.bz2: ") && w.contains("compression ratio")),
        "{w:?}"
    );
    // The scan went on: the other member was scanned.
    assert_eq!(
        paths(&v),
        vec![("bomb.zip!ok.env".to_string(), GITHUB.to_string())]
    );

    // The total budget: a 3 MiB member is past --max-archive-bytes 1M.
    let t = tempfile::tempdir().unwrap();
    let text: String = (0..60_000u64)
        .map(|i| format!("{i} {:x}\n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    assert!(text.len() > 1 << 20);
    let z = zip_bytes(&[("a.txt", text.as_bytes()), ("b.env", &env_secret(GHP_A))]);
    write(t.path(), "big.zip", &z);
    let (v, o) = scan_json(t.path(), &["--max-archive-bytes", "1M"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let w = warnings(&v);
    assert!(w.iter().any(|w| w.contains("--max-archive-bytes")), "{w:?}");
}

#[test]
fn path_traversal_names_are_sanitized_and_nothing_is_written() {
    let outer = tempfile::tempdir().unwrap();
    let t = outer.path().join("scan");
    std::fs::create_dir(&t).unwrap();
    let evil = tar_bytes(&[
        ("../evil.txt", &env_secret(GHP_A)),
        ("/etc/cron.d/x", b"nothing\n"),
    ]);
    write(&t, "evil.tar", &evil);
    write(
        &t,
        "evil.zip",
        &zip_bytes(&[("../../zip-evil.txt", b"x\n")]),
    );
    let list = |p: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let before = (list(outer.path()), list(&t));
    let (v, o) = scan_json(&t, &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![("evil.tar!evil.txt".to_string(), GITHUB.to_string())]
    );
    let w = warnings(&v);
    assert!(
        w.iter().any(|w| w.starts_with("evil.tar: ")
            && w.contains("'../evil.txt'")
            && w.contains("path traversal")),
        "{w:?}"
    );
    assert!(w.iter().any(|w| w.contains("'/etc/cron.d/x'")), "{w:?}");
    assert!(w.iter().any(|w| w.starts_with("evil.zip: ")), "{w:?}");
    assert_eq!((list(outer.path()), list(&t)), before);
    assert!(!outer.path().join("evil.txt").exists());
}

#[test]
fn truncated_gzip_warns_and_exits_3() {
    let t = tempfile::tempdir().unwrap();
    let body: String = (0..4000)
        .map(|i| {
            format!(
                "line {i} of a harmless log, nothing secret {}\n",
                i * 7919 % 1000
            )
        })
        .collect();
    let full = gz(&tar_bytes(&[
        ("logs/app.log", body.as_bytes()),
        ("b.txt", b"x"),
    ]));
    write(t.path(), "logs.tar.gz", &full[..full.len() / 2]);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let w = warnings(&v);
    assert!(
        w.iter()
            .any(|w| w.starts_with("logs.tar.gz: ") && w.contains("truncated or corrupt gzip")),
        "{w:?}"
    );
    // A truncated zip (no central directory) is read by its local headers.
    let z = zip_with(
        &[("a.env", &env_secret(GHP_A)), ("b.txt", &[b'x'; 5000])],
        zip::CompressionMethod::Stored,
    );
    write(t.path(), "cut.zip", &z[..z.len() - 200]);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        paths(&v).iter().any(|(p, _)| p == "cut.zip!a.env"),
        "{:?}",
        paths(&v)
    );
    assert!(warnings(&v).iter().any(|w| w.starts_with("cut.zip: ")));
}

#[test]
fn encrypted_zip_entry_warns() {
    let t = tempfile::tempdir().unwrap();
    let mut z = zip_with(
        &[("secret.env", &env_secret(GHP_A))],
        zip::CompressionMethod::Stored,
    );
    // Set the "encrypted" flag in the local header and the central directory entry.
    z[6] |= 1;
    let cd = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    z[cd + 8] |= 1;
    write(t.path(), "locked.zip", &z);
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(paths(&v).is_empty());
    let w = warnings(&v);
    assert!(
        w.iter()
            .any(|w| w.starts_with("locked.zip!secret.env: ") && w.contains("encrypted")),
        "{w:?}"
    );
}

#[test]
fn binary_members_are_skipped_like_files() {
    let t = tempfile::tempdir().unwrap();
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend_from_slice(GHP_A.as_bytes());
    write(
        t.path(),
        "mixed.zip",
        &zip_bytes(&[("a.bin", &bin), ("b.txt", b"ok\n")]),
    );
    let (v, o) = scan_json(t.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(v["stats"]["skipped_binary"], 1);
    assert_eq!(v["stats"]["archive_members_scanned"], 1);
    let (v, o) = scan_json(t.path(), &["--scan-binary"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(paths(&v)[0].0, "mixed.zip!a.bin");
}

#[test]
fn archives_over_max_file_size_are_bounded_by_the_archive_budget() {
    let t = tempfile::tempdir().unwrap();
    let filler: String = (0..400u64)
        .map(|i| format!("{:x}\n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    let z = zip_with(
        &[
            ("filler.txt", filler.as_bytes()),
            ("x.env", &env_secret(GHP_A)),
        ],
        zip::CompressionMethod::Stored,
    );
    assert!(z.len() > 2048);
    write(t.path(), "big.zip", &z);
    write(t.path(), "big.txt", filler.as_bytes());
    let (v, o) = scan_json(t.path(), &["--max-file-size", "1K"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(
        paths(&v),
        vec![("big.zip!x.env".to_string(), GITHUB.to_string())]
    );
    // The plain file is still skipped for size, and so is the too-large member.
    assert_eq!(v["stats"]["skipped_too_large"], 2);
}

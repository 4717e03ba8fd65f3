//! Container images: `docker save` tarballs (`manifest.json` with `Config` and `Layers`)
//! and OCI image layouts (`oci-layout` + `index.json`, blobs under `blobs/<alg>/`), as a
//! tar (found by [`crate::input::archive`]) or as a directory (found by the directory walk).
//!
//! Why: an image ships every layer, not just the final filesystem. A `.env` copied in one
//! layer and deleted in the next is invisible in a running container but extractable by
//! anyone who can pull the image; build arguments end up in the config's `history`. So every
//! layer is scanned (members named `image.tar!sha256:<12 hex>/etc/app/.env`), whiteouts
//! (`.wh.<name>`, `.wh..wh..opq`) of later layers decide whether a file is still visible
//! (recorded in `Location.image`), and the config's `Env`, `Cmd`, `Entrypoint`, `Labels`
//! and `history[].created_by` are scanned as `image.tar!config:Env[3]`.

use crate::input::archive::{EntryKind, Kind, LayerLog, TarEntry, Walk, sniff};
use crate::matcher::Scratch;
use crate::model::{Finding, ImageOrigin};
use crate::scan::{BlobMeta, Collector, Cx, Scanner};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};

/// Nested OCI indexes followed (an index of indexes of manifests…).
const MAX_INDEX_DEPTH: u32 = 4;
/// Manifests, configs and indexes larger than this are not JSON we want to parse.
const MAX_JSON: usize = 16 << 20;

/// Bytes of one blob: borrowed from a tar in memory, or read/mapped from a directory.
pub(crate) enum Blob<'a> {
    Slice(&'a [u8]),
    Owned(Vec<u8>),
    Map(memmap2::Mmap),
}

impl Deref for Blob<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Slice(s) => s,
            Blob::Owned(v) => v,
            Blob::Map(m) => m,
        }
    }
}

/// Where an image's files live.
trait Store {
    fn get(&self, name: &str) -> Result<Blob<'_>, String>;
}

struct TarStore<'a> {
    data: &'a [u8],
    files: HashMap<&'a str, Range<usize>>,
}

impl Store for TarStore<'_> {
    fn get(&self, name: &str) -> Result<Blob<'_>, String> {
        let name = name.trim_start_matches("./");
        self.files
            .get(name)
            .and_then(|r| self.data.get(r.clone()))
            .map(Blob::Slice)
            .ok_or_else(|| format!("'{name}' is missing from the archive"))
    }
}

struct DirStore {
    dir: PathBuf,
}

impl Store for DirStore {
    fn get(&self, name: &str) -> Result<Blob<'_>, String> {
        let (clean, bad) = crate::input::archive::sanitize(name.as_bytes());
        if bad {
            return Err(format!("'{name}' points outside the layout"));
        }
        let p = self.dir.join(&clean);
        let f = std::fs::File::open(&p)
            .map_err(|e| format!("'{clean}': {}", crate::input::fs::io_reason(&e)))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len >= 4 << 20 {
            // SAFETY: read-only map dropped after the layer is scanned; see input::fs.
            match unsafe { memmap2::Mmap::map(&f) } {
                Ok(m) => return Ok(Blob::Map(m)),
                Err(e) => return Err(format!("'{clean}': cannot map: {e}")),
            }
        }
        let mut v = Vec::with_capacity(len as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(&f, 4 << 20), &mut v)
            .map_err(|e| format!("'{clean}': {}", crate::input::fs::io_reason(&e)))?;
        Ok(Blob::Owned(v))
    }
}

/// True when a tar's entries look like a container image archive.
pub(crate) fn looks_like_image(index: &[TarEntry]) -> bool {
    let has = |n: &str| {
        index
            .iter()
            .any(|e| e.name == n && e.kind == EntryKind::File)
    };
    has("manifest.json") || (has("index.json") && has("oci-layout"))
}

/// Scans a tar in memory as an image; false when it is not one after all (the caller then
/// scans it as a plain tar).
pub(crate) fn scan_tar(
    w: &mut Walk<'_, '_>,
    data: &[u8],
    index: &[TarEntry],
    path: &str,
    depth: u32,
    out: &mut Vec<Finding>,
) -> bool {
    let files = index
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| (e.name.as_str(), e.range.clone()))
        .collect();
    let store = TarStore { data, files };
    scan_store(w, &store, path, depth.saturating_sub(1), out)
}

/// For the directory walk: a directory named `blobs` next to an `oci-layout` file is
/// scanned through its layout, not file by file.
pub fn is_oci_blobs_dir(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "blobs")
        && path.is_dir()
        && path
            .parent()
            .is_some_and(|p| p.join("oci-layout").is_file() && p.join("index.json").is_file())
}

/// Scans an OCI image layout directory (`dir` holds `oci-layout` and `index.json`).
pub fn scan_oci_dir(
    scanner: &Scanner,
    dir: &Path,
    display: &str,
    root: usize,
    root_name: &str,
    out: &Collector,
) {
    if !dir.join("index.json").is_file() {
        return;
    }
    let cx = Cx::new(&scanner.opts);
    cx.stat(|s| s.archives_scanned += 1);
    let meta = BlobMeta {
        path: display,
        root,
        root_name,
        git: None,
        decoded: &[],
    };
    let mut scratch = Scratch::default();
    let mut w = Walk {
        scanner,
        meta: &meta,
        cx: &cx,
        scratch: &mut scratch,
    };
    let mut found = Vec::new();
    let store = DirStore {
        dir: dir.to_path_buf(),
    };
    if !scan_store(
        &mut w,
        &store,
        display,
        scanner.opts.archive_depth,
        &mut found,
    ) {
        cx.warn(
            display,
            "OCI layout without a readable index.json; not scanned as an image",
        );
    }
    out.findings(found);
    for wn in cx.warnings.into_inner() {
        out.warn(wn.path, wn.message);
    }
    out.stats(&cx.stats.into_inner());
}

/// One image of an archive or layout.
struct Image {
    config: Option<String>,
    /// (blob name in the store, digest when known).
    layers: Vec<(String, Option<String>)>,
}

/// `blobs/sha256/<hex>` for a digest `sha256:<hex>`.
fn blob_path(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(alg) && ok(hex)).then(|| format!("blobs/{alg}/{hex}"))
}

/// The digest named by a blob path (`blobs/sha256/<hex>` → `sha256:<hex>`).
fn digest_of_path(p: &str) -> Option<String> {
    let rest = p.trim_start_matches("./").strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    (!hex.contains('/')).then(|| format!("{alg}:{hex}"))
}

fn parse_json(store: &dyn Store, name: &str) -> Result<Value, String> {
    let b = store.get(name)?;
    if b.len() > MAX_JSON {
        return Err(format!("'{name}' is too large for an image manifest"));
    }
    serde_json::from_slice(&b).map_err(|e| format!("'{name}' is not valid JSON: {e}"))
}

/// The images described by `manifest.json` (docker save) or `index.json` (OCI).
fn describe(store: &dyn Store) -> Result<Vec<Image>, String> {
    if let Ok(Value::Array(list)) = parse_json(store, "manifest.json") {
        let imgs: Vec<Image> = list
            .iter()
            .filter_map(|m| {
                let layers = m.get("Layers")?.as_array()?;
                Some(Image {
                    config: m.get("Config").and_then(Value::as_str).map(String::from),
                    layers: layers
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|l| (l.to_string(), digest_of_path(l)))
                        .collect(),
                })
            })
            .collect();
        if !imgs.is_empty() {
            return Ok(imgs);
        }
    }
    let index = parse_json(store, "index.json")?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    oci_index(store, &index, 0, &mut out, &mut seen)?;
    if out.is_empty() {
        return Err("index.json lists no image manifest".into());
    }
    Ok(out)
}

fn oci_index(
    store: &dyn Store,
    index: &Value,
    level: u32,
    out: &mut Vec<Image>,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    let Some(list) = index.get("manifests").and_then(Value::as_array) else {
        return Err("index has no manifests".into());
    };
    for d in list {
        let Some(digest) = d.get("digest").and_then(Value::as_str) else {
            continue;
        };
        if !seen.insert(digest.to_string()) {
            continue;
        }
        let Some(p) = blob_path(digest) else {
            continue;
        };
        let Ok(m) = parse_json(store, &p) else {
            continue; // platforms not included in the layout are normal
        };
        if m.get("manifests").is_some() {
            if level < MAX_INDEX_DEPTH {
                oci_index(store, &m, level + 1, out, seen)?;
            }
            continue;
        }
        let Some(layers) = m.get("layers").and_then(Value::as_array) else {
            continue;
        };
        let config = m
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
            .and_then(blob_path);
        out.push(Image {
            config,
            layers: layers
                .iter()
                .filter_map(|l| l.get("digest").and_then(Value::as_str))
                .filter_map(|dg| Some((blob_path(dg)?, Some(dg.to_string()))))
                .collect(),
        });
    }
    Ok(())
}

/// `sha256:<first 12 hex>`. Digests come from manifests and configs (anyone's text), so
/// this counts characters, not bytes, and bounds the algorithm name too.
fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!(
            "{}:{}",
            alg.chars().take(16).collect::<String>(),
            hex.chars().take(12).collect::<String>()
        ),
        None => digest.chars().take(19).collect(),
    }
}

/// Scans every image in `store`; `layer_depth` is the archive depth left for each layer.
fn scan_store(
    w: &mut Walk<'_, '_>,
    store: &dyn Store,
    path: &str,
    layer_depth: u32,
    out: &mut Vec<Finding>,
) -> bool {
    let images = match describe(store) {
        Ok(i) => i,
        Err(_) => return false,
    };
    let many = images.len() > 1;
    // Layers shared by several images are scanned once; their logs are kept for visibility.
    let mut logs: HashMap<String, LayerLog> = HashMap::new();
    for img in &images {
        let config = match img.config.as_deref().map(|c| parse_json(store, c)) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                w.warn(
                    path,
                    format!("image config unreadable ({e}); config not scanned"),
                );
                None
            }
            None => None,
        };
        let diff_ids: Vec<String> = config
            .as_ref()
            .and_then(|c| c.pointer("/rootfs/diff_ids"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(c) = &config {
            let label = match (&img.config, many) {
                (Some(name), true) => format!(
                    "config@{}",
                    short(&digest_of_path(name).unwrap_or_else(|| name.clone()))
                ),
                _ => "config".to_string(),
            };
            scan_config(w, c, &format!("{path}!{label}"), out);
        }
        let mut order: Vec<(String, String)> = Vec::new(); // (store name, digest)
        for (i, (name, digest)) in img.layers.iter().enumerate() {
            let digest = digest
                .clone()
                .or_else(|| diff_ids.get(i).cloned())
                .unwrap_or_else(|| name.trim_end_matches("/layer.tar").to_string());
            order.push((name.clone(), digest.clone()));
            if logs.contains_key(name) {
                continue;
            }
            let mut log = LayerLog::default();
            if w.cx.stopped.get() {
                logs.insert(name.clone(), log);
                continue;
            }
            match store.get(name) {
                Ok(blob) => {
                    let prefix = format!("{path}!{}", short(&digest));
                    scan_layer(w, &blob, &prefix, layer_depth, &mut log, out);
                }
                Err(e) => w.warn(path, format!("image layer {name} not scanned: {e}")),
            }
            logs.insert(name.clone(), log);
        }
        mark_visibility(&order, &logs, out);
    }
    true
}

fn scan_layer(
    w: &mut Walk<'_, '_>,
    blob: &[u8],
    prefix: &str,
    depth: u32,
    log: &mut LayerLog,
    out: &mut Vec<Finding>,
) {
    if depth == 0 {
        w.warn(
            prefix,
            format!(
                "image layer nested deeper than --archive-depth {}; not opened",
                w.scanner.opts.archive_depth
            ),
        );
        return;
    }
    match sniff(blob) {
        Some(Kind::Tar) => w.tar_slice(blob, prefix, "/", depth, out, Some(log), false),
        Some(k @ (Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Zstd)) => {
            w.compressed(k, blob, prefix, depth, out, Some(log))
        }
        _ if blob.iter().all(|&b| b == 0) => {} // empty layer
        _ => w.warn(prefix, "image layer is not a tar archive; not scanned"),
    }
}

/// Why a later layer hides `p`, if it does.
fn hidden_by(later: &LayerLog, p: &str) -> Option<&'static str> {
    if later.whiteouts.contains(p) {
        return Some("deleted (whiteout)");
    }
    if later.paths.contains(p) {
        return Some("overwritten");
    }
    if later.opaque.contains("") {
        return Some("deleted (opaque root)");
    }
    let mut at = 0;
    while let Some(i) = p[at..].find('/') {
        let anc = &p[..at + i];
        if later.whiteouts.contains(anc) {
            return Some("deleted (whiteout of a parent directory)");
        }
        if later.opaque.contains(anc) {
            return Some("deleted (opaque parent directory)");
        }
        if later.nondirs.contains(anc) {
            return Some("hidden (a parent directory was replaced)");
        }
        at += i + 1;
    }
    None
}

/// Fills `Location.image` for findings in layers, bottom layer first.
fn mark_visibility(
    order: &[(String, String)],
    logs: &HashMap<String, LayerLog>,
    out: &mut [Finding],
) {
    for (i, (name, digest)) in order.iter().enumerate() {
        let Some(log) = logs.get(name) else {
            continue;
        };
        for (p, range) in &log.found {
            let hidden = order
                .iter()
                .enumerate()
                .skip(i + 1)
                .find_map(|(j, (n, d))| {
                    logs.get(n)
                        .and_then(|l| hidden_by(l, p))
                        .map(|why| (j, d.as_str(), why))
                });
            let note = match hidden {
                None => format!("visible in final image (layer {i}, {})", short(digest)),
                Some((j, d, why)) => format!(
                    "not visible in final image: {why} by layer {j} ({}); still extractable from layer {i} ({})",
                    short(d),
                    short(digest)
                ),
            };
            let origin = ImageOrigin {
                layer: Some(digest.clone()),
                layer_index: Some(i),
                visible_in_final_image: hidden.is_none(),
                note,
            };
            for f in out.get_mut(range.clone()).into_iter().flatten() {
                if f.location.image.is_none() {
                    f.location.image = Some(origin.clone());
                }
            }
        }
    }
}

/// Scans the config fields that end up in `docker inspect` / `docker history`.
fn scan_config(w: &mut Walk<'_, '_>, config: &Value, prefix: &str, out: &mut Vec<Finding>) {
    let inner = config
        .get("config")
        .or_else(|| config.get("container_config"));
    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(c) = inner {
        for key in ["Env", "Cmd", "Entrypoint"] {
            if let Some(a) = c.get(key).and_then(Value::as_array) {
                for (i, v) in a.iter().enumerate() {
                    if let Some(s) = v.as_str() {
                        fields.push((format!("{key}[{i}]"), s.to_string()));
                    }
                }
            }
        }
        if let Some(m) = c.get("Labels").and_then(Value::as_object) {
            for (k, v) in m {
                if let Some(s) = v.as_str() {
                    fields.push((format!("Labels.{k}"), format!("{k}={s}")));
                }
            }
        }
    }
    if let Some(h) = config.get("history").and_then(Value::as_array) {
        for (i, e) in h.iter().enumerate() {
            if let Some(s) = e.get("created_by").and_then(Value::as_str) {
                fields.push((format!("history[{i}].created_by"), s.to_string()));
            }
        }
    }
    for (label, text) in fields {
        let start = out.len();
        w.member(text.as_bytes(), &format!("{prefix}:{label}"), 0, out);
        let note = if label.starts_with("history") {
            "image config history: visible to anyone who can pull the image (docker history)"
        } else {
            "image config: visible to anyone who can pull the image (docker inspect) and set in every container"
        };
        for f in &mut out[start..] {
            f.location.image = Some(ImageOrigin {
                layer: None,
                layer_index: None,
                visible_in_final_image: true,
                note: note.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_rules() {
        let mut l = LayerLog::default();
        l.whiteouts.insert("etc/app/.env".into());
        assert!(hidden_by(&l, "etc/app/.env").is_some());
        assert!(hidden_by(&l, "etc/app/other").is_none());
        let mut l = LayerLog::default();
        l.opaque.insert("etc".into());
        assert!(hidden_by(&l, "etc/app/.env").is_some());
        assert!(hidden_by(&l, "etcetera/x").is_none());
        let mut l = LayerLog::default();
        l.nondirs.insert("etc/app".into());
        assert!(hidden_by(&l, "etc/app/.env").is_some());
        let mut l = LayerLog::default();
        l.paths.insert("etc/app".into());
        assert!(
            hidden_by(&l, "etc/app/.env").is_none(),
            "a directory entry hides nothing"
        );
    }

    #[test]
    fn digests_and_paths() {
        assert_eq!(
            blob_path("sha256:abc123").as_deref(),
            Some("blobs/sha256/abc123")
        );
        assert_eq!(blob_path("sha256:../x"), None);
        assert_eq!(
            digest_of_path("blobs/sha256/abc").as_deref(),
            Some("sha256:abc")
        );
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
    }

    #[test]
    fn short_digest_of_any_text() {
        // A docker-save manifest's layer path or a config's diff_ids are anyone's text: a
        // multi-byte character across the 12th byte must not split (it panicked).
        let hex = format!("a{}", "é".repeat(13));
        assert_eq!(
            short(&format!("sha256:{hex}")),
            format!("sha256:a{}", "é".repeat(11))
        );
        assert!(short(&format!("{}:ab", "é".repeat(400))).chars().count() <= 40);
        assert_eq!(
            short("noséparator-and-long-long-long"),
            "noséparator-and-lon"
        );
    }
}

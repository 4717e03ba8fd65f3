//! Git inputs: every blob in history (`scan --git`), and the staged change (`scan --staged`).
//!
//! History: commits are walked parents-first from the selected refs, and each commit's tree is
//! walked skipping every subtree already seen, so a blob is met first in the commit that
//! introduced it and every distinct blob is scanned exactly once, in parallel, one blob in
//! memory per thread. Findings are attributed to the path and introducing commit, and marked
//! "at HEAD" when the same value is still in HEAD's tree (a secret removed from HEAD is still
//! in history and still extractable, but less exposed).
//!
//! Staged: the index blobs of files added or changed relative to HEAD, with findings kept only
//! on lines the change adds, so a pre-commit hook never blocks on a secret that was already
//! committed (that is a history finding) and never reads the work tree.

use crate::Error;
use crate::matcher::Scratch;
use crate::model::{Finding, GitOrigin, Stats};
use crate::report::rfc3339;
use crate::scan::{BlobMeta, Collector, Scanner, progress_add};
use git2::{
    DiffFindOptions, DiffOptions, ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult,
};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use super::fs::Root;

/// Which history to scan.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Only these branches (or any ref names git can resolve); empty = all local branches and tags.
    pub branches: Vec<String>,
    /// Scan only commits not reachable from this one.
    pub since_commit: Option<String>,
    /// Also remote-tracking refs.
    pub all_refs: bool,
}

/// Most paths recorded for one blob (copies of one file under several names).
const MAX_PATHS_PER_BLOB: usize = 8;

struct CommitMeta {
    id: Oid,
    author: String,
    time: i64,
}

struct BlobJob {
    oid: Oid,
    /// (path, index into commits) where the blob was first met, per distinct path.
    paths: Vec<(String, u32)>,
}

fn git_err(repo: &Path, what: &str, e: &git2::Error) -> Error {
    Error(format!("{}: {what}: {}", repo.display(), e.message()))
}

/// Process-wide libgit2 settings for scanning, applied once before the first repository is
/// opened: no SHA-1 re-verification of every object read (git itself does not verify on read;
/// measured 17% of a rails history scan), and bounded caches so memory stays flat on large
/// histories (the pack windows and the object cache otherwise grow to the size of the pack).
fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_hash_verification(false);
        // Every tree and blob is read once (seen sets skip repeats), so libgit2's object cache
        // only costs hashing and memory (cache_store was 4.8% of a rails history scan).
        git2::opts::enable_caching(false);
        // SAFETY: these set libgit2 globals; `call_once` runs them before any repository is
        // opened by this process's scanning code, so no other thread is inside libgit2.
        unsafe {
            let _ = git2::opts::set_mwindow_mapped_limit(256 << 20);
            let _ = git2::opts::set_cache_max_size(64 << 20);
        }
    });
}

/// Opens a repository, with a clear error when the path is not one.
pub fn open(path: &Path) -> Result<Repository, Error> {
    configure_libgit2();
    Repository::open(path).map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => Error(format!("{}: not a git repository", path.display())),
        _ => git_err(path, "cannot open repository", &e),
    })
}

/// Scans every distinct blob reachable from the selected refs of the repository at `root`.
pub fn scan_history(
    scanner: &Scanner,
    root: &Root<'_>,
    gopts: &GitOptions,
    out: &Collector,
) -> Result<(), Error> {
    let path = root.path;
    let repo = open(path)?;
    if repo.is_shallow() {
        out.warn(
            &root.name,
            "shallow clone: history before the shallow boundary is not scanned",
        );
    }
    let mut walk = repo
        .revwalk()
        .map_err(|e| git_err(path, "cannot walk history", &e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(path, "cannot sort history", &e))?;
    let pushed = push_refs(&repo, &mut walk, gopts, root, out)?;
    // 1. Walk commits parents-first; meet each tree and blob once.
    let mut commits: Vec<CommitMeta> = Vec::new();
    let mut seen_trees: HashSet<Oid> = HashSet::new();
    let mut blob_index: HashMap<Oid, usize> = HashMap::new();
    let mut jobs: Vec<BlobJob> = Vec::new();
    let mut submodules: HashSet<String> = HashSet::new();
    if let Some(since) = &gopts.since_commit {
        let commit = repo
            .revparse_single(since)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| git_err(path, &format!("--since-commit {since}"), &e))?;
        walk.hide(commit.id())
            .map_err(|e| git_err(path, "--since-commit", &e))?;
        // What the boundary commit already had is not new: mark its trees and blobs seen.
        if let Ok(tree) = commit.tree() {
            seen_trees.insert(tree.id());
            let _ = tree.walk(TreeWalkMode::PreOrder, |_, e| {
                match e.kind() {
                    Some(ObjectType::Tree) => {
                        seen_trees.insert(e.id());
                    }
                    Some(ObjectType::Blob) => {
                        blob_index.insert(e.id(), usize::MAX);
                    }
                    _ => {}
                }
                TreeWalkResult::Ok
            });
        }
    }
    if pushed {
        for step in walk.by_ref() {
            let oid = match step {
                Ok(o) => o,
                Err(e) => {
                    out.warn(&root.name, format!("history walk: {}", e.message()));
                    continue;
                }
            };
            let commit = match repo.find_commit(oid) {
                Ok(c) => c,
                Err(e) => {
                    out.warn(&root.name, format!("commit {oid}: {}", e.message()));
                    continue;
                }
            };
            let tree = match commit.tree() {
                Ok(t) => t,
                Err(e) => {
                    out.warn(&root.name, format!("tree of commit {oid}: {}", e.message()));
                    continue;
                }
            };
            let idx = commits.len() as u32;
            commits.push(CommitMeta {
                id: oid,
                author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
                time: commit.time().seconds(),
            });
            if !seen_trees.insert(tree.id()) {
                continue;
            }
            let mut ctx = TreeCtx {
                repo: &repo,
                seen_trees: &mut seen_trees,
                blob_index: &mut blob_index,
                jobs: &mut jobs,
                submodules: &mut submodules,
                commit: idx,
                out,
                root_name: &root.name,
            };
            ctx.walk(&tree, "");
        }
    }
    let mut sub: Vec<_> = submodules.into_iter().collect();
    sub.sort();
    for s in sub {
        out.warn(
            format!("{}:{s}", root.name),
            "submodule not followed (scan it as its own repository)",
        );
    }

    // 2. Blobs at HEAD, to tell "still present" from "only in history".
    let head_blobs = head_blob_set(&repo);
    let objects_dir = repo.path().join("objects");
    drop(walk);
    drop(repo);
    sort_by_pack_offset(&objects_dir, &mut jobs);

    // 3. Scan each distinct blob once, in parallel, one repository handle per thread.
    let threads = rayon::current_num_threads().max(1);
    let mut handles = Vec::with_capacity(threads);
    for _ in 0..threads {
        handles.push(Mutex::new((open(path)?, Scratch::default())));
    }
    let found: Mutex<Vec<(Finding, bool)>> = Mutex::new(Vec::new());
    let stats = Mutex::new(Stats {
        commits_walked: commits.len() as u64,
        ..Stats::default()
    });
    // Contiguous runs of the pack order per task, so each thread's delta-base cache stays warm.
    let run = (jobs.len() / (threads * 16)).clamp(1, 4096);
    jobs.par_chunks(run)
        .flat_map_iter(|c| c.iter())
        .for_each(|job| {
            let slot = rayon::current_thread_index().unwrap_or(0) % threads;
            let Ok(mut guard) = handles[slot].lock() else {
                return;
            };
            let (repo, scratch) = &mut *guard;
            let Some((first_path, first_commit)) = job.paths.first() else {
                return;
            };
            let c = &commits[*first_commit as usize];
            let display = || {
                format!(
                    "{} (blob {} in commit {})",
                    first_path,
                    short(job.oid),
                    short(c.id)
                )
            };
            let size = match repo.odb().and_then(|odb| odb.read_header(job.oid)) {
                Ok((size, _)) => size as u64,
                Err(e) => {
                    return out.warn(
                        display(),
                        format!("missing or corrupt object: {}", e.message()),
                    );
                }
            };
            if size > scanner.opts.max_file_size {
                out.warn(
                    display(),
                    format!("skipped: {size} bytes is over --max-file-size"),
                );
                if let Ok(mut s) = stats.lock() {
                    s.skipped_too_large += 1;
                }
                return;
            }
            let blob = match repo.find_blob(job.oid) {
                Ok(b) => b,
                Err(e) => {
                    return out.warn(
                        display(),
                        format!("missing or corrupt object: {}", e.message()),
                    );
                }
            };
            let data = blob.content();
            let at_head = head_blobs.contains(&job.oid);
            let mut local: Vec<(Finding, bool)> = Vec::new();
            for (i, (p, ci)) in job.paths.iter().enumerate() {
                let cm = &commits[*ci as usize];
                let origin = GitOrigin {
                    commit: cm.id.to_string(),
                    author: cm.author.clone(),
                    timestamp: cm.time,
                    date: rfc3339(cm.time),
                    at_head: false,
                    blob: Some(job.oid.to_string()),
                };
                let meta = BlobMeta {
                    path: p,
                    root: root.index,
                    root_name: &root.name,
                    git: Some(&origin),
                    decoded: &[],
                };
                match scanner.scan_blob(data, &meta, scratch) {
                    Some(fs) => local.extend(fs.into_iter().map(|f| (f, at_head))),
                    None => {
                        if let Ok(mut s) = stats.lock() {
                            s.skipped_binary += 1;
                        }
                        break;
                    }
                }
                if i == 0 {
                    if let Ok(mut s) = stats.lock() {
                        s.blobs_scanned += 1;
                        s.bytes_scanned += data.len() as u64;
                    }
                    progress_add(&out.progress, 1, data.len() as u64);
                }
            }
            if !local.is_empty()
                && let Ok(mut f) = found.lock()
            {
                f.extend(local);
            }
        });

    // 4. A value is at HEAD if any blob holding it is in HEAD's tree.
    let found = found.into_inner().unwrap_or_default();
    let at_head: HashSet<Vec<u8>> = found
        .iter()
        .filter(|(_, h)| *h)
        .map(|(f, _)| f.secret.clone())
        .collect();
    let findings: Vec<Finding> = found
        .into_iter()
        .map(|(mut f, _)| {
            if let Some(g) = f.location.git.as_mut() {
                g.at_head = at_head.contains(&f.secret);
            }
            f
        })
        .collect();
    out.findings(findings);
    out.stats(&stats.into_inner().unwrap_or_default());
    Ok(())
}

/// Reorders blobs into pack order (pack files by name, then offset), loose objects last.
///
/// Packs store each object's delta base before it (OFS_DELTA points backwards) and chains run
/// from newer to older versions, while history order meets the oldest version first; reading
/// in history order makes libgit2 resolve every delta chain from scratch. Pack order is what
/// `git cat-file --batch-all-objects --unordered` uses. Offsets come from the pack `.idx`
/// files (version 2); a missing or unreadable index just leaves the order as it was.
fn sort_by_pack_offset(objects_dir: &Path, jobs: &mut [BlobJob]) {
    let Ok(rd) = std::fs::read_dir(objects_dir.join("pack")) else {
        return;
    };
    let mut idx_files: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    idx_files.sort();
    let indexes: Vec<Vec<u8>> = idx_files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let key = |oid: &Oid| -> (usize, u64) {
        for (pi, idx) in indexes.iter().enumerate() {
            if let Some(off) = pack_idx_offset(idx, oid.as_bytes()) {
                return (pi, off);
            }
        }
        (usize::MAX, 0)
    };
    let mut keyed: Vec<((usize, u64), usize)> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (key(&j.oid), i))
        .collect();
    keyed.sort_unstable();
    // Apply the permutation without cloning jobs: cycle-walk the index order.
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut placed = vec![false; jobs.len()];
    for start in 0..jobs.len() {
        if placed[start] {
            continue;
        }
        let mut cur = start;
        loop {
            placed[cur] = true;
            let next = order[cur];
            if next == start {
                break;
            }
            jobs.swap(cur, next);
            cur = next;
        }
    }
}

/// Looks an object id up in a version-2 pack index and returns its pack offset.
fn pack_idx_offset(idx: &[u8], oid: &[u8]) -> Option<u64> {
    const HEADER: usize = 8;
    const FANOUT: usize = 256 * 4;
    if idx.get(..4)? != b"\xfftOc" || idx.get(4..8)? != [0, 0, 0, 2] || oid.len() != 20 {
        return None;
    }
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(idx.get(at..at + 4)?.try_into().ok()?))
    };
    let first = usize::from(oid[0]);
    let lo = if first == 0 {
        0
    } else {
        be32(HEADER + (first - 1) * 4)? as usize
    };
    let hi = be32(HEADER + first * 4)? as usize;
    let n = be32(HEADER + 255 * 4)? as usize;
    let names = HEADER + FANOUT;
    let (mut a, mut b) = (lo, hi);
    while a < b {
        let m = (a + b) / 2;
        let name = idx.get(names + m * 20..names + m * 20 + 20)?;
        match name.cmp(oid) {
            std::cmp::Ordering::Less => a = m + 1,
            std::cmp::Ordering::Greater => b = m,
            std::cmp::Ordering::Equal => {
                let offsets = names + n * 20 + n * 4;
                let off = be32(offsets + m * 4)?;
                if off & 0x8000_0000 == 0 {
                    return Some(u64::from(off));
                }
                let large = offsets + n * 4 + (off & 0x7fff_ffff) as usize * 8;
                return Some(u64::from_be_bytes(
                    idx.get(large..large + 8)?.try_into().ok()?,
                ));
            }
        }
    }
    None
}

fn short(oid: Oid) -> String {
    oid.to_string().chars().take(10).collect()
}

/// Pushes the selected refs onto the walk; false when there is nothing to walk (empty repo).
fn push_refs(
    repo: &Repository,
    walk: &mut git2::Revwalk<'_>,
    g: &GitOptions,
    root: &Root<'_>,
    out: &Collector,
) -> Result<bool, Error> {
    let mut pushed = false;
    if !g.branches.is_empty() {
        for b in &g.branches {
            let commit = repo
                .revparse_single(b)
                .or_else(|_| repo.revparse_single(&format!("refs/remotes/{b}")))
                .and_then(|o| o.peel_to_commit())
                .map_err(|e| git_err(root.path, &format!("--branch {b}"), &e))?;
            walk.push(commit.id())
                .map_err(|e| git_err(root.path, b, &e))?;
            pushed = true;
        }
        return Ok(pushed);
    }
    let refs = repo
        .references()
        .map_err(|e| git_err(root.path, "cannot list refs", &e))?;
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                out.warn(&root.name, format!("unreadable ref: {}", e.message()));
                continue;
            }
        };
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        let wanted = name.starts_with("refs/heads/")
            || name.starts_with("refs/tags/")
            || (g.all_refs && name.starts_with("refs/remotes/"));
        if !wanted {
            continue;
        }
        match r.peel_to_commit() {
            Ok(c) => {
                if walk.push(c.id()).is_ok() {
                    pushed = true;
                }
            }
            // Tags of trees or blobs are rare and carry no history; a broken ref is worth saying.
            Err(e)
                if e.code() != git2::ErrorCode::InvalidSpec
                    && e.class() != git2::ErrorClass::Object =>
            {
                out.warn(&root.name, format!("ref {name}: {}", e.message()));
            }
            Err(_) => {}
        }
    }
    // A detached HEAD is history too.
    if let Ok(head) = repo.head()
        && let Ok(c) = head.peel_to_commit()
        && walk.push(c.id()).is_ok()
    {
        pushed = true;
    }
    Ok(pushed)
}

struct TreeCtx<'a, 'r> {
    repo: &'r Repository,
    seen_trees: &'a mut HashSet<Oid>,
    blob_index: &'a mut HashMap<Oid, usize>,
    jobs: &'a mut Vec<BlobJob>,
    submodules: &'a mut HashSet<String>,
    commit: u32,
    out: &'a Collector,
    root_name: &'a str,
}

impl TreeCtx<'_, '_> {
    /// Records the blobs of a tree not yet seen; descends only into unseen subtrees.
    fn walk(&mut self, tree: &git2::Tree<'_>, prefix: &str) {
        for entry in tree.iter() {
            let name = String::from_utf8_lossy(entry.name_bytes());
            let path = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            };
            match entry.kind() {
                Some(ObjectType::Blob) => {
                    let oid = entry.id();
                    match self.blob_index.get(&oid) {
                        // Known before the scanned range (--since-commit).
                        Some(&usize::MAX) => {}
                        Some(&i) => {
                            let job = &mut self.jobs[i];
                            if job.paths.len() < MAX_PATHS_PER_BLOB
                                && !job.paths.iter().any(|(p, _)| *p == path)
                            {
                                job.paths.push((path, self.commit));
                            }
                        }
                        None => {
                            self.blob_index.insert(oid, self.jobs.len());
                            self.jobs.push(BlobJob {
                                oid,
                                paths: vec![(path, self.commit)],
                            });
                        }
                    }
                }
                Some(ObjectType::Tree) => {
                    if !self.seen_trees.insert(entry.id()) {
                        continue;
                    }
                    match self.repo.find_tree(entry.id()) {
                        Ok(sub) => self.walk(&sub, &path),
                        Err(e) => self.out.warn(
                            format!("{}:{path}", self.root_name),
                            format!(
                                "missing or corrupt tree {}: {}",
                                short(entry.id()),
                                e.message()
                            ),
                        ),
                    }
                }
                Some(ObjectType::Commit) => {
                    self.submodules.insert(path);
                }
                _ => {}
            }
        }
    }
}

fn head_blob_set(repo: &Repository) -> HashSet<Oid> {
    let mut set = HashSet::new();
    if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
        let _ = tree.walk(TreeWalkMode::PreOrder, |_, e| {
            if e.kind() == Some(ObjectType::Blob) {
                set.insert(e.id());
            }
            TreeWalkResult::Ok
        });
    }
    set
}

fn discover(start: &Path) -> Result<Repository, Error> {
    configure_libgit2();
    Repository::discover(start).map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => {
            Error(format!("{}: not inside a git repository", start.display()))
        }
        _ => git_err(start, "cannot open repository", &e),
    })
}

/// The staged change, read before any rule is loaded, so that a pre-commit scan can load
/// only the rules whose keywords occur in it.
pub struct Staged {
    pub workdir: std::path::PathBuf,
    pub files: Vec<StagedFile>,
}

/// One file the commit adds or changes: its index blob and the lines the change adds.
pub struct StagedFile {
    pub path: String,
    pub content: Vec<u8>,
    /// Sorted 1-based line numbers added relative to HEAD (every line of a new file).
    pub added: Vec<usize>,
}

/// One entry of the staged diff: new path, blob in the index, blob in HEAD (if any).
struct StagedEntry {
    path: String,
    new: Oid,
    old: Option<Oid>,
}

/// Reads the staged change of the repository containing `start`: the index blobs of files
/// added or modified relative to HEAD (renames and copies count only their added lines).
pub fn read_staged(start: &Path, max_file_size: u64, out: &Collector) -> Result<Staged, Error> {
    let repo = discover(start)?;
    let workdir = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let entries = match staged_entries_cli(&workdir) {
        Some(e) => e?,
        None => staged_entries_libgit2(&repo, &workdir)?,
    };
    let mut files = Vec::with_capacity(entries.len());
    for e in entries {
        let blob = match repo.find_blob(e.new) {
            Ok(b) => b,
            Err(err) => {
                out.warn(
                    &e.path,
                    format!("cannot read staged blob: {}", err.message()),
                );
                continue;
            }
        };
        if blob.size() as u64 > max_file_size {
            out.warn(
                &e.path,
                format!("skipped: {} bytes is over --max-file-size", blob.size()),
            );
            continue;
        }
        let old_blob = e.old.and_then(|o| repo.find_blob(o).ok());
        let added = match added_lines(old_blob.as_ref(), &blob) {
            Ok(a) => a,
            Err(err) => {
                out.warn(
                    &e.path,
                    format!("cannot diff staged blob: {}", err.message()),
                );
                continue;
            }
        };
        if added.is_empty() {
            continue;
        }
        files.push(StagedFile {
            path: e.path,
            content: blob.content().to_vec(),
            added,
        });
    }
    Ok(Staged { workdir, files })
}

/// The staged diff from the `git` command itself, which a pre-commit hook always has: it
/// honours everything the commit in progress does (`GIT_INDEX_FILE` for `git commit
/// <paths>`, split and sparse indexes) and skips unchanged directories with the index's
/// cache tree, so it costs ~3 ms in a 5,000-file repository where libgit2's
/// tree-to-index diff read every tree of HEAD. `None` when `git` cannot be run.
fn staged_entries_cli(workdir: &Path) -> Option<Result<Vec<StagedEntry>, Error>> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(workdir)
        .args([
            "diff",
            "--cached",
            "--raw",
            "-z",
            "-M",
            "--no-abbrev",
            "--no-color",
            "--no-ext-diff",
            "--ignore-submodules",
            "--diff-filter=AMRCT",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .ok()?;
    if !output.status.success() {
        let msg = String::from_utf8_lossy(&output.stderr);
        let msg = msg.lines().next().unwrap_or("failed").trim().to_string();
        return Some(Err(Error(format!(
            "{}: git diff --cached: {msg}",
            workdir.display()
        ))));
    }
    Some(
        parse_raw_diff(&output.stdout)
            .map_err(|m| Error(format!("{}: git diff --cached: {m}", workdir.display()))),
    )
}

/// Parses `git diff --raw -z` output: `:<mode> <mode> <old> <new> <status>\0<path>\0`, with
/// a second path for renames and copies (`R<score>\0<old path>\0<new path>\0`).
fn parse_raw_diff(raw: &[u8]) -> Result<Vec<StagedEntry>, String> {
    let mut fields = raw.split(|&b| b == 0);
    let mut out = Vec::new();
    while let Some(head) = fields.next() {
        if head.is_empty() {
            continue;
        }
        let head = std::str::from_utf8(head).map_err(|_| "unreadable diff record")?;
        let parts: Vec<&str> = head.trim_start_matches(':').split(' ').collect();
        let [_, new_mode, old, new, status] = parts[..] else {
            return Err(format!("unexpected diff record {head:?}"));
        };
        let two_paths = status.starts_with('R') || status.starts_with('C');
        let mut path = fields.next().ok_or("diff record without a path")?;
        if two_paths {
            path = fields.next().ok_or("rename without a new path")?;
        }
        // Submodules (gitlinks) and symlinks are not file content.
        if new_mode == "160000" || new_mode == "120000" {
            continue;
        }
        let new = Oid::from_str(new).map_err(|_| format!("bad object id {new:?}"))?;
        if new.is_zero() {
            continue;
        }
        let old = Oid::from_str(old).ok().filter(|o| !o.is_zero());
        out.push(StagedEntry {
            path: String::from_utf8_lossy(path).into_owned(),
            new,
            old,
        });
    }
    Ok(out)
}

/// The staged diff through libgit2, for when the `git` command is not available.
fn staged_entries_libgit2(repo: &Repository, workdir: &Path) -> Result<Vec<StagedEntry>, Error> {
    let index = repo
        .index()
        .map_err(|e| git_err(workdir, "cannot read the index", &e))?;
    let head_tree = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let mut dopts = DiffOptions::new();
    dopts.ignore_submodules(true).context_lines(0);
    let mut diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut dopts))
        .map_err(|e| git_err(workdir, "cannot diff the index against HEAD", &e))?;
    // Renames are not additions: a moved file must not re-block on lines it already had.
    let _ = diff.find_similar(Some(DiffFindOptions::new().renames(true)));
    let mut out = Vec::new();
    for delta in diff.deltas() {
        use git2::Delta::*;
        if !matches!(
            delta.status(),
            Added | Modified | Renamed | Copied | Typechange
        ) {
            continue;
        }
        let new = delta.new_file();
        if new.id().is_zero()
            || new.mode() == git2::FileMode::Commit
            || new.mode() == git2::FileMode::Link
        {
            continue;
        }
        let old = delta.old_file().id();
        out.push(StagedEntry {
            path: new
                .path_bytes()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            new: new.id(),
            old: (!old.is_zero()).then_some(old),
        });
    }
    Ok(out)
}

/// Scans the staged files, keeping findings on added lines only.
pub fn scan_staged(scanner: &Scanner, staged: &Staged, out: &Collector) {
    let root_name = staged.workdir.display().to_string();
    let mut scratch = Scratch::default();
    let mut stats = Stats::default();
    for f in &staged.files {
        let meta = BlobMeta {
            path: &f.path,
            root: 0,
            root_name: &root_name,
            git: None,
            decoded: &[],
        };
        match scanner.scan_blob(&f.content, &meta, &mut scratch) {
            Some(fs) => {
                stats.files_scanned += 1;
                stats.bytes_scanned += f.content.len() as u64;
                let kept: Vec<Finding> = fs
                    .into_iter()
                    .filter(|x| {
                        (x.location.line..=x.location.end_line)
                            .any(|l| f.added.binary_search(&l).is_ok())
                    })
                    .collect();
                out.findings(kept);
            }
            None => stats.skipped_binary += 1,
        }
    }
    out.stats(&stats);
}

/// Sorted 1-based line numbers that `new` adds relative to `old` (all lines when `old` is None).
fn added_lines(
    old: Option<&git2::Blob<'_>>,
    new: &git2::Blob<'_>,
) -> Result<Vec<usize>, git2::Error> {
    let Some(old) = old else {
        let n = new.content().iter().filter(|&&b| b == b'\n').count() + 1;
        return Ok((1..=n).collect());
    };
    let mut opts = DiffOptions::new();
    opts.context_lines(0).force_text(true);
    let patch = git2::Patch::from_blobs(old, None, new, None, Some(&mut opts))?;
    let mut lines = Vec::new();
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h)? {
            let line = patch.line_in_hunk(h, l)?;
            if line.origin() == '+'
                && let Some(n) = line.new_lineno()
            {
                lines.push(n as usize);
            }
        }
    }
    lines.sort_unstable();
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    #[test]
    fn pack_index_offsets_match_git_show_index() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q"]);
        for i in 0..20 {
            std::fs::write(
                d.join(format!("f{}.txt", i % 7)),
                format!("line {i}\n").repeat(i + 1),
            )
            .unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        git(d, &["gc", "-q", "--aggressive"]);
        let pack_dir = d.join(".git/objects/pack");
        let idx_path = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap();
        let idx = std::fs::read(&idx_path).unwrap();
        let listing = Command::new("git")
            .arg("show-index")
            .current_dir(d)
            .stdin(std::fs::File::open(&idx_path).unwrap())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&listing.stdout);
        let mut checked = 0;
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let off: u64 = parts.next().unwrap().parse().unwrap();
            let oid = Oid::from_str(parts.next().unwrap()).unwrap();
            assert_eq!(pack_idx_offset(&idx, oid.as_bytes()), Some(off), "{oid}");
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
        assert_eq!(pack_idx_offset(&idx, &[0u8; 20]), None);
        assert_eq!(pack_idx_offset(b"garbage", &[0u8; 20]), None);
        // Sorting puts jobs in pack-offset order.
        let mut jobs: Vec<BlobJob> = text
            .lines()
            .map(|l| BlobJob {
                oid: Oid::from_str(l.split_whitespace().nth(1).unwrap()).unwrap(),
                paths: vec![],
            })
            .collect();
        jobs.reverse();
        sort_by_pack_offset(&d.join(".git/objects"), &mut jobs);
        let offs: Vec<u64> = jobs
            .iter()
            .map(|j| pack_idx_offset(&idx, j.oid.as_bytes()).unwrap())
            .collect();
        assert!(offs.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[cfg(test)]
mod staged_tests {
    use super::*;

    #[test]
    fn raw_diff_records() {
        let z = "0000000000000000000000000000000000000000";
        let a = "1111111111111111111111111111111111111111";
        let b = "2222222222222222222222222222222222222222";
        let raw = format!(
            ":000000 100644 {z} {a} A\0new file.txt\0\
             :100644 100644 {a} {b} R087\0old/p.txt\0new/p.txt\0\
             :160000 160000 {a} {b} M\0sub\0\
             :100644 120000 {a} {b} T\0link\0\
             :100644 100644 {a} {b} M\0café.txt\0"
        );
        let e = parse_raw_diff(raw.as_bytes()).unwrap();
        let got: Vec<(&str, Option<String>)> = e
            .iter()
            .map(|e| (e.path.as_str(), e.old.map(|o| o.to_string())))
            .collect();
        assert_eq!(
            got,
            vec![
                ("new file.txt", None),
                ("new/p.txt", Some(a.to_string())),
                ("café.txt", Some(a.to_string())),
            ]
        );
        assert!(parse_raw_diff(b":garbage\0x\0").is_err());
        assert!(parse_raw_diff(b"").unwrap().is_empty());
    }

    /// One record of `git diff --raw -z` output: (new mode, old id, new id, status, paths).
    fn record()
    -> impl proptest::strategy::Strategy<Value = (String, String, String, String, Vec<Vec<u8>>)>
    {
        use proptest::prelude::*;
        let oid = prop_oneof![Just("0".repeat(40)), "[0-9a-f]{40}",];
        let mode = prop_oneof![
            Just("100644".to_string()),
            Just("100755".to_string()),
            Just("120000".to_string()),
            Just("160000".to_string()),
        ];
        let status = prop_oneof![
            Just("A".to_string()),
            Just("M".to_string()),
            Just("T".to_string()),
            "R[0-9]{3}",
            "C[0-9]{3}",
        ];
        // Paths are any bytes but NUL (git quotes nothing with -z).
        let path = proptest::collection::vec(1u8..=255, 1..40);
        (
            mode,
            oid.clone(),
            oid,
            status,
            proptest::collection::vec(path, 2),
        )
            .prop_map(|(m, o, n, s, p)| (m, o, n, s, p))
    }

    proptest::proptest! {
        /// Arbitrary bytes (the paths in it are anyone's): an error or entries, never a panic.
        #[test]
        fn raw_diff_total(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_raw_diff(&raw);
        }

        /// Well-formed output parses to exactly the file entries it lists, paths intact.
        #[test]
        fn raw_diff_round_trip(records in proptest::collection::vec(record(), 0..8)) {
            let mut raw = Vec::new();
            let mut want = Vec::new();
            for (mode, old, new, status, paths) in &records {
                raw.extend_from_slice(format!(":100644 {mode} {old} {new} {status}").as_bytes());
                raw.push(0);
                let two = status.starts_with('R') || status.starts_with('C');
                raw.extend_from_slice(&paths[0]);
                raw.push(0);
                if two {
                    raw.extend_from_slice(&paths[1]);
                    raw.push(0);
                }
                let path = if two { &paths[1] } else { &paths[0] };
                if mode != "160000" && mode != "120000" && new.bytes().any(|b| b != b'0') {
                    let old = (old.bytes().any(|b| b != b'0')).then(|| old.clone());
                    want.push((String::from_utf8_lossy(path).into_owned(), new.clone(), old));
                }
            }
            let got: Vec<(String, String, Option<String>)> = parse_raw_diff(&raw)
                .unwrap()
                .into_iter()
                .map(|e| (e.path, e.new.to_string(), e.old.map(|o| o.to_string())))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }
}

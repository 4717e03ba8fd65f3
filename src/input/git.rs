//! Git inputs: every blob in history (`scan --git`), and the staged change (`scan --staged`).
//!
//! History: commits are walked parents-first from the selected refs, and each commit's tree is
//! walked skipping every subtree already seen, so a blob is met first in the commit that
//! introduced it and every distinct blob is scanned exactly once, in parallel, one blob in
//! memory per thread, while the walk is still running (in batches, in pack order). Findings
//! are attributed to the path and introducing commit, and marked "at HEAD" when the same value
//! is still in HEAD's tree (a secret removed from HEAD is still in history and still
//! extractable, but less exposed).
//!
//! Staged: the index blobs of files added or changed relative to HEAD, with findings kept only
//! on lines the change adds, so a pre-commit hook never blocks on a secret that was already
//! committed (that is a history finding) and never reads the work tree.

use crate::Error;
use crate::matcher::Scratch;
use crate::model::{Finding, GitOrigin, Stats, Warning};
use crate::report::rfc3339;
use crate::scan::{BlobMeta, Collector, Scanner, progress_add};
use git2::{
    DiffFindOptions, DiffOptions, ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult,
};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

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

/// Decoded trees kept as delta bases during the history walk.
const TREE_CACHE_BYTES: usize = 8 << 20;

/// Decoded objects kept per scanning thread as delta bases for the objects that follow.
const DELTA_CACHE_BYTES: usize = 48 << 20;

/// Most paths recorded for one blob (copies of one file under several names).
const MAX_PATHS_PER_BLOB: usize = 8;

struct CommitMeta {
    id: Oid,
    tree: Oid,
    author: String,
    time: i64,
}

struct BlobJob {
    oid: Oid,
    /// (path, index into commits) where the blob was first met, per distinct path.
    paths: Vec<(String, u32)>,
    /// Scanned while the walk ran (packed blobs).
    outcome: Option<Outcome>,
}

/// Blobs the walk meets before they are handed to the scanning threads as one batch.
/// Larger batches read the packs in longer runs of pack order (warmer delta caches), smaller
/// ones leave less to scan once the walk is done.
const SCAN_BATCH: usize = 8192;

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
    history(scanner, root, gopts, out, Prescan::UntilWalk)
}

/// How long blobs are scanned in pack order before the tree walk starts (see [`prescan`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prescan {
    /// Until the revwalk gives its first commit.
    UntilWalk,
    /// Every packed blob first (tests: the outcome must not depend on the timing).
    #[cfg(test)]
    Everything,
}

fn history(
    scanner: &Scanner,
    root: &Root<'_>,
    gopts: &GitOptions,
    out: &Collector,
    mode: Prescan,
) -> Result<(), Error> {
    let path = root.path;
    let repo = open(path)?;
    if repo.is_shallow() {
        out.warn(
            &root.name,
            "shallow clone: history before the shallow boundary is not scanned",
        );
    }
    // The boundary of --since-commit, resolved before anything else so that a bad one is
    // the error and nothing runs.
    let since = match &gopts.since_commit {
        Some(since) => Some(
            repo.revparse_single(since)
                .and_then(|o| o.peel_to_commit())
                .map_err(|e| git_err(path, &format!("--since-commit {since}"), &e))?,
        ),
        None => None,
    };
    // 1. Walk commits parents-first; meet each tree and blob once. Trees come from our pack
    //    reader too (with a cache for their delta bases), loose ones from libgit2.
    let packs = super::pack::Packs::open(&repo.path().join("objects"));
    let mut tree_cache = super::pack::Cache::new(TREE_CACHE_BYTES);
    let mut commits: Vec<CommitMeta> = Vec::new();
    let mut seen_trees: OidSet = OidSet::default();
    let mut blob_index: OidMap<usize> = OidMap::default();
    let mut jobs: Vec<BlobJob> = Vec::new();
    let mut submodules: HashSet<String> = HashSet::new();
    let mut last_at: HashMap<String, Arc<Vec<u8>>> = HashMap::new();
    if let Some(commit) = &since {
        // What the boundary commit already had is not new: mark its trees and blobs seen.
        if let Ok(tree) = commit.tree() {
            seen_trees.insert(key(tree.id()));
            let _ = tree.walk(TreeWalkMode::PreOrder, |_, e| {
                match e.kind() {
                    Some(ObjectType::Tree) => {
                        seen_trees.insert(key(e.id()));
                    }
                    Some(ObjectType::Blob) => {
                        blob_index.insert(key(e.id()), usize::MAX);
                    }
                    _ => {}
                }
                TreeWalkResult::Ok
            });
        }
    }
    let hide = since.map(|c| c.id());
    // Per scanning thread: matcher scratch, pack delta cache, and the matcher's work stats.
    let threads = rayon::current_num_threads().max(1);
    let slots: Vec<Mutex<Slot>> = (0..threads)
        .map(|_| {
            Mutex::new(Slot {
                scratch: Scratch::default(),
                cache: super::pack::Cache::new(DELTA_CACHE_BYTES),
                work: Stats::default(),
            })
        })
        .collect();
    // The revwalk and commit reads (a quarter of the walk) run on a thread of their own,
    // with their own repository handle, ahead of the tree walk: on rails' history the walk
    // phase took 11.1-12.0 s on one thread.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<CommitMeta, Error>>(1024);
    // Blobs are scanned while the walk runs: every SCAN_BATCH blobs the walk meets go to the
    // scanning threads, each batch in pack order. Scanning used to wait for the walk, and
    // one core idled for most of it (rails: an 11-12 s walk, then 8 s on both cores).
    // Matching does not depend on a blob's path, so a blob is scanned once under a
    // placeholder path, and reported under each of its paths once the walk has found them
    // all. Loose blobs are left to step 3.
    // Blobs scanned before the walk began, by pack location, and the jobs that use them.
    let pre: Mutex<HashMap<super::pack::Loc, Outcome>> = Mutex::new(HashMap::new());
    let reused: Mutex<Vec<(u32, super::pack::Loc)>> = Mutex::new(Vec::new());
    let early: Vec<(u32, Outcome)> = std::thread::scope(|scope| -> Result<_, Error> {
        scope.spawn(move || {
            if let Err(e) = walk_commits(path, gopts, root, hide, out, &tx) {
                let _ = tx.send(Err(e));
            }
        });
        // On a pool thread, with that thread's slot: what it allocates stays in the heap
        // arena of the thread that goes on scanning (on the main thread, peak RSS on rails
        // was 447 MB instead of 393 MB).
        let mut prescanned = None;
        rayon::scope(|pool| {
            pool.spawn(|_| {
                let slot = rayon::current_thread_index().unwrap_or(0) % threads;
                let first = prescan(&rx, scanner, &packs, root, &slots[slot], out, &pre, mode);
                prescanned = Some((first, rx));
            })
        });
        let (first, rx) = prescanned.ok_or_else(|| {
            Error(format!(
                "{}: a scanning thread stopped unexpectedly",
                path.display()
            ))
        })?;
        let (btx, brx) = std::sync::mpsc::channel::<Vec<(u32, Oid)>>();
        // Each batch is handed to the pool without waiting for the one before: a batch
        // ends with one thread finishing its last large blobs while the other idles, and
        // after the walk (rails: its last 40%) that barrier cost 6-10% of a core.
        let scanning = scope.spawn(|| {
            let done: Mutex<Vec<(u32, Outcome)>> = Mutex::new(Vec::new());
            rayon::scope(|pool| {
                for batch in brx {
                    let (packs, slots, done) = (&packs, &slots, &done);
                    let (pre, reused) = (&pre, &reused);
                    pool.spawn(move |_| {
                        let mut batch = in_pack_order(packs, batch);
                        // Blobs scanned before the walk began are not scanned again.
                        if let Ok(pre) = pre.lock()
                            && !pre.is_empty()
                            && let Ok(mut reused) = reused.lock()
                        {
                            batch.retain(|&(loc, i)| {
                                let known = pre.contains_key(&loc);
                                if known {
                                    reused.push((i, loc));
                                }
                                !known
                            });
                        }
                        // Contiguous runs of the pack order per task, so each thread's
                        // delta-base cache stays warm.
                        let run = (batch.len() / (threads * 4)).clamp(1, 4096);
                        let scanned: Vec<(u32, Outcome)> = batch
                            .par_chunks(run)
                            .flat_map_iter(|c| c.iter())
                            .filter_map(|&(loc, i)| {
                                let slot = rayon::current_thread_index().unwrap_or(0) % threads;
                                let mut guard = slots[slot].lock().ok()?;
                                Some((i, scan_packed(scanner, packs, loc, root, &mut guard, out)))
                            })
                            .collect();
                        if let Ok(mut d) = done.lock() {
                            d.extend(scanned);
                        }
                    });
                }
            });
            done.into_inner().unwrap_or_default()
        });
        let mut sent = 0;
        let send = |jobs: &[BlobJob], sent: &mut usize| {
            let batch = (*sent..jobs.len())
                .map(|i| (i as u32, jobs[i].oid))
                .collect();
            *sent = jobs.len();
            let _ = btx.send(batch);
        };
        for msg in first.into_iter().chain(rx.iter()) {
            let meta = msg?;
            let tree_id = meta.tree;
            let oid = meta.id;
            let idx = commits.len() as u32;
            commits.push(meta);
            if !seen_trees.insert(key(tree_id)) {
                continue;
            }
            let mut ctx = TreeCtx {
                repo: &repo,
                packs: &packs,
                cache: &mut tree_cache,
                seen_trees: &mut seen_trees,
                blob_index: &mut blob_index,
                jobs: &mut jobs,
                submodules: &mut submodules,
                last_at: &mut last_at,
                commit: idx,
                out,
                root_name: &root.name,
            };
            match ctx.read_tree(tree_id) {
                Ok(tree) => ctx.walk(tree, ""),
                Err(e) => out.warn(&root.name, format!("tree of commit {oid}: {e}")),
            }
            if jobs.len() - sent >= SCAN_BATCH {
                send(&jobs, &mut sent);
            }
        }
        send(&jobs, &mut sent);
        drop(btx);
        scanning.join().map_err(|_| {
            Error(format!(
                "{}: a scanning thread stopped unexpectedly",
                path.display()
            ))
        })
    })?;
    for (i, outcome) in early {
        if let Some(job) = jobs.get_mut(i as usize) {
            job.outcome = Some(outcome);
        }
    }
    let mut pre = pre.into_inner().unwrap_or_default();
    for (i, loc) in reused.into_inner().unwrap_or_default() {
        if let Some(job) = jobs.get_mut(i as usize) {
            job.outcome = pre.remove(&loc);
        }
    }
    drop(pre);
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
    drop(tree_cache);
    drop(last_at);
    drop(repo);

    // 3. Report each distinct blob under its paths: scanned above, or read and scanned now
    //    through libgit2 (loose blobs, and those the pack reader gave up on), one repository
    //    handle per thread.
    let mut repos = Vec::with_capacity(threads);
    for _ in 0..threads {
        repos.push(Mutex::new(open(path)?));
    }
    let found: Mutex<Vec<(Finding, bool)>> = Mutex::new(Vec::new());
    jobs.par_iter().for_each(|job| {
        let slot = rayon::current_thread_index().unwrap_or(0) % threads;
        let Ok(mut guard) = slots[slot].lock() else {
            return;
        };
        let now: Outcome;
        let outcome: &Outcome = match &job.outcome {
            Some(o) if !matches!(o, Outcome::Unread) => o,
            // Loose, or the pack reader gave up: libgit2 reads it (or says what is wrong).
            _ => {
                let Ok(repo) = repos[slot].lock() else {
                    return;
                };
                now = scan_loose(scanner, &repo, job.oid, root, &mut guard, out);
                &now
            }
        };
        let at_head = head_blobs.contains(&job.oid);
        let local = report(job, &commits, outcome, at_head, out, &mut guard.work);
        if !local.is_empty()
            && let Ok(mut f) = found.lock()
        {
            f.extend(local);
        }
    });
    let mut stats = Stats {
        commits_walked: commits.len() as u64,
        ..Stats::default()
    };
    for s in slots {
        if let Ok(s) = s.into_inner() {
            stats.merge(&s.work);
        }
    }
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
    out.stats(&stats);
    Ok(())
}

/// Scans packed blobs in pack order until the revwalk gives its first commit (or, in tests,
/// all of them first), and returns that commit.
///
/// A parents-first revwalk must meet every commit before it can give the oldest one; on
/// rails' history that took 0.7 s, during which the tree walk had nothing to do and one of
/// two cores idled. Scanning does not depend on paths or commits, so blobs are scanned then
/// in pack order (git writes the newest first, so most are reachable). Those the walk then
/// meets are not scanned again; the others are dropped unreported, like any blob the walk
/// never reaches.
#[allow(clippy::too_many_arguments)]
fn prescan(
    rx: &std::sync::mpsc::Receiver<Result<CommitMeta, Error>>,
    scanner: &Scanner,
    packs: &super::pack::Packs,
    root: &Root<'_>,
    slot: &Mutex<Slot>,
    out: &Collector,
    pre: &Mutex<HashMap<super::pack::Loc, Outcome>>,
    mode: Prescan,
) -> Option<Result<CommitMeta, Error>> {
    let mut found = HashMap::new();
    let mut first = None;
    if let Ok(mut slot) = slot.lock() {
        let mut buf = Vec::new();
        for loc in packs.locations() {
            if mode == Prescan::UntilWalk {
                match rx.try_recv() {
                    Ok(msg) => {
                        first = Some(msg);
                        break;
                    }
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    Err(std::sync::mpsc::TryRecvError::Empty) => {}
                }
            }
            if packs.kind(loc, &mut buf) != Some(super::pack::Kind::Blob) {
                continue;
            }
            match scan_packed(scanner, packs, loc, root, &mut slot, out) {
                Outcome::Unread => {}
                outcome => {
                    found.insert(loc, outcome);
                }
            }
        }
    }
    if let Ok(mut pre) = pre.lock() {
        *pre = found;
    }
    first.or_else(|| rx.recv().ok())
}

/// Stands for a blob's path while it is scanned before its paths are known. A real path
/// never holds a NUL (git tree entry names cannot), so only placeholders are rewritten.
const UNPLACED: &str = "\0";

/// Per-thread scanning state.
struct Slot {
    scratch: Scratch,
    cache: super::pack::Cache,
    /// This thread's counts: the matcher's work (regex window bytes, decoded spans, …) where
    /// it is done, and the blobs it reported.
    work: Stats,
}

/// One blob's scan, before it is reported under each of its paths.
enum Outcome {
    Scanned {
        size: u64,
        /// `None` (the common case) when the blob gave nothing to report.
        found: Option<Box<Found>>,
    },
    Binary,
    TooLarge(u64),
    /// The pack reader gave up (or it is not a blob there): libgit2 reads it.
    Unread,
    /// libgit2 could not read it either.
    Failed(String),
}

/// What a scanned blob reports, paths given as [`UNPLACED`] (plus `!member` inside archives).
struct Found {
    findings: Vec<Finding>,
    warnings: Vec<Warning>,
    /// Archive members skipped for size, reported under the blob's first path.
    too_large: Vec<String>,
    too_large_count: u64,
}

/// `path` with its placeholder replaced by the real path `real`.
fn place(path: &str, real: &str) -> String {
    match path.strip_prefix(UNPLACED) {
        Some(rest) => format!("{real}{rest}"),
        None => path.to_string(),
    }
}

/// Reads one packed object and, if it is a blob, scans it.
fn scan_packed(
    scanner: &Scanner,
    packs: &super::pack::Packs,
    loc: super::pack::Loc,
    root: &Root<'_>,
    slot: &mut Slot,
    out: &Collector,
) -> Outcome {
    match packs.read(loc, scanner.opts.max_file_size, &mut slot.cache) {
        Ok((super::pack::Kind::Blob, data)) => scan_data(scanner, &data, root, slot, out),
        Ok(_) | Err(super::pack::ReadError::Corrupt(_)) => Outcome::Unread,
        Err(super::pack::ReadError::TooLarge(size)) => Outcome::TooLarge(size),
    }
}

/// Reads one blob through libgit2 (loose, or in a pack our reader gave up on) and scans it.
fn scan_loose(
    scanner: &Scanner,
    repo: &Repository,
    oid: Oid,
    root: &Root<'_>,
    slot: &mut Slot,
    out: &Collector,
) -> Outcome {
    let failed = |e: git2::Error| Outcome::Failed(e.message().to_string());
    let size = match repo.odb().and_then(|odb| odb.read_header(oid)) {
        Ok((size, _)) => size as u64,
        Err(e) => return failed(e),
    };
    if size > scanner.opts.max_file_size {
        return Outcome::TooLarge(size);
    }
    match repo.find_blob(oid) {
        Ok(b) => scan_data(scanner, b.content(), root, slot, out),
        Err(e) => failed(e),
    }
}

fn scan_data(
    scanner: &Scanner,
    data: &[u8],
    root: &Root<'_>,
    slot: &mut Slot,
    out: &Collector,
) -> Outcome {
    progress_add(&out.progress, 1, data.len() as u64);
    let meta = BlobMeta {
        path: UNPLACED,
        root: root.index,
        root_name: &root.name,
        git: None,
        decoded: &[],
    };
    let (r, warnings, mut work) = scanner.scan_blob_detached(data, &meta, &mut slot.scratch);
    let too_large = std::mem::take(&mut work.skipped_too_large_paths);
    let too_large_count = std::mem::take(&mut work.skipped_too_large);
    slot.work.merge(&work);
    let Some(findings) = r else {
        return Outcome::Binary;
    };
    let found = (!findings.is_empty() || !warnings.is_empty() || too_large_count > 0).then(|| {
        Box::new(Found {
            findings,
            warnings,
            too_large,
            too_large_count,
        })
    });
    Outcome::Scanned {
        size: data.len() as u64,
        found,
    }
}

/// A blob's outcome reported under each of its (path, commit): its findings once per path
/// (each marked with whether the blob is in HEAD's tree), its warnings and counts once.
fn report(
    job: &BlobJob,
    commits: &[CommitMeta],
    outcome: &Outcome,
    at_head: bool,
    out: &Collector,
    stats: &mut Stats,
) -> Vec<(Finding, bool)> {
    let Some((first_path, first_commit)) = job.paths.first() else {
        return Vec::new();
    };
    let display = || {
        let c = commits.get(*first_commit as usize).map(|c| short(c.id));
        format!(
            "{} (blob {} in commit {})",
            first_path,
            short(job.oid),
            c.unwrap_or_default()
        )
    };
    let (size, found) = match outcome {
        Outcome::Scanned { size, found } => (*size, found),
        Outcome::Binary => {
            stats.skipped_binary += 1;
            return Vec::new();
        }
        Outcome::TooLarge(size) => {
            out.warn(
                display(),
                format!("skipped: {size} bytes is over --max-file-size"),
            );
            stats.skipped_too_large += 1;
            return Vec::new();
        }
        Outcome::Unread => {
            out.warn(display(), "missing or corrupt object");
            return Vec::new();
        }
        Outcome::Failed(e) => {
            out.warn(display(), format!("missing or corrupt object: {e}"));
            return Vec::new();
        }
    };
    stats.blobs_scanned += 1;
    stats.bytes_scanned += size;
    let Some(found) = found else {
        return Vec::new();
    };
    for w in &found.warnings {
        out.warn(place(&w.path, first_path), w.message.clone());
    }
    stats.skipped_too_large += found.too_large_count;
    for p in &found.too_large {
        if stats.skipped_too_large_paths.len() < 100 {
            stats.skipped_too_large_paths.push(place(p, first_path));
        }
    }
    let mut local = Vec::with_capacity(found.findings.len() * job.paths.len());
    for (p, ci) in &job.paths {
        let Some(cm) = commits.get(*ci as usize) else {
            continue;
        };
        let origin = GitOrigin {
            commit: cm.id.to_string(),
            author: cm.author.clone(),
            timestamp: cm.time,
            date: rfc3339(cm.time),
            at_head: false,
            blob: Some(job.oid.to_string()),
        };
        for f in &found.findings {
            let mut f = f.clone();
            f.location.path = place(&f.location.path, p);
            f.location.git = Some(origin.clone());
            local.push((f, at_head));
        }
    }
    local
}

/// A batch of blobs (job index, id) in pack order (pack files by name, then offset), each with
/// where it is; loose ones are left out.
///
/// Packs store each object's delta base before it (OFS_DELTA points backwards) and chains run
/// from newer to older versions, while history order meets the oldest version first; reading
/// in history order resolves every delta chain from scratch. Pack order is what `git cat-file
/// --batch-all-objects --unordered` uses, and what keeps the per-thread delta cache warm.
fn in_pack_order(
    packs: &super::pack::Packs,
    batch: Vec<(u32, Oid)>,
) -> Vec<(super::pack::Loc, u32)> {
    let mut out: Vec<_> = batch
        .into_iter()
        .filter_map(|(i, oid)| packs.locate(oid.as_bytes()).map(|l| (l, i)))
        .collect();
    out.sort_unstable();
    out
}

fn short(oid: Oid) -> String {
    oid.to_string().chars().take(10).collect()
}

/// Pushes the selected refs onto the walk; false when there is nothing to walk (empty repo).
/// Sends the selected commits parents-first (their tree, author and time) to the tree walk.
fn walk_commits(
    path: &Path,
    gopts: &GitOptions,
    root: &Root<'_>,
    hide: Option<Oid>,
    out: &Collector,
    tx: &std::sync::mpsc::SyncSender<Result<CommitMeta, Error>>,
) -> Result<(), Error> {
    let repo = open(path)?;
    let mut walk = repo
        .revwalk()
        .map_err(|e| git_err(path, "cannot walk history", &e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(path, "cannot sort history", &e))?;
    if !push_refs(&repo, &mut walk, gopts, root, out)? {
        return Ok(());
    }
    if let Some(h) = hide {
        walk.hide(h)
            .map_err(|e| git_err(path, "--since-commit", &e))?;
    }
    for step in walk {
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
        let meta = CommitMeta {
            id: oid,
            tree: commit.tree_id(),
            author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
            time: commit.time().seconds(),
        };
        if tx.send(Ok(meta)).is_err() {
            break; // the tree walk stopped
        }
    }
    Ok(())
}

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
    packs: &'a super::pack::Packs,
    cache: &'a mut super::pack::Cache,
    seen_trees: &'a mut OidSet,
    blob_index: &'a mut OidMap<usize>,
    jobs: &'a mut Vec<BlobJob>,
    submodules: &'a mut HashSet<String>,
    /// The tree last walked at each path: a new version of a directory is walked as a diff
    /// against it, since its unchanged entries were recorded then.
    last_at: &'a mut HashMap<String, Arc<Vec<u8>>>,
    commit: u32,
    out: &'a Collector,
    root_name: &'a str,
}

/// Trees are never larger than this (the largest in linux.git is a few hundred KB).
const MAX_TREE_BYTES: u64 = 64 << 20;

impl TreeCtx<'_, '_> {
    /// A tree's raw entries: from the packs, else (loose, or the pack reader gave up) libgit2.
    fn read_tree(&mut self, oid: Oid) -> Result<Arc<Vec<u8>>, String> {
        if let Some(loc) = self.packs.locate(oid.as_bytes())
            && let Ok((super::pack::Kind::Tree, data)) =
                self.packs.read(loc, MAX_TREE_BYTES, self.cache)
        {
            return Ok(data);
        }
        let odb = self.repo.odb().map_err(|e| e.message().to_string())?;
        let obj = odb.read(oid).map_err(|e| e.message().to_string())?;
        if obj.kind() != ObjectType::Tree {
            return Err(format!("object {} is not a tree", short(oid)));
        }
        Ok(Arc::new(obj.data().to_vec()))
    }

    /// Records the blobs of a tree not yet seen; descends only into unseen subtrees.
    ///
    /// A commit changes a few files, yet each changed directory's new tree lists all its
    /// entries again: those identical (mode, name, id) to the tree last walked at the same
    /// path are skipped without a lookup (their paths were recorded when that tree was
    /// walked). Both lists are in git's order, so one merge pass pairs them; on a tree out of
    /// order entries merely fail to pair and are handled in full.
    fn walk(&mut self, tree: Arc<Vec<u8>>, prefix: &str) {
        let old = self.last_at.insert(prefix.to_owned(), tree.clone());
        let mut old_entries = old
            .as_deref()
            .map(|o| super::pack::tree_entries(o).map_while(Result::ok))
            .into_iter()
            .flatten()
            .peekable();
        let join = |name: &[u8]| {
            let name = String::from_utf8_lossy(name);
            if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            }
        };
        for entry in super::pack::tree_entries(&tree) {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = if prefix.is_empty() { "/" } else { prefix };
                    self.out.warn(
                        format!("{}:{at}", self.root_name),
                        format!("{e}; rest of the tree skipped"),
                    );
                    return;
                }
            };
            while old_entries
                .next_if(|o| git_order(o, &entry) == std::cmp::Ordering::Less)
                .is_some()
            {}
            if old_entries.next_if(|o| o == &entry).is_some() {
                continue;
            }
            let id = entry.id;
            if entry.is_blob() {
                match self.blob_index.get(&id) {
                    // Known before the scanned range (--since-commit).
                    Some(&usize::MAX) => {}
                    Some(&i) => {
                        let job = &mut self.jobs[i];
                        // A blob met again (an unchanged sibling of a changed file) is
                        // the common case: compare its path without building it.
                        if job.paths.len() < MAX_PATHS_PER_BLOB
                            && !job
                                .paths
                                .iter()
                                .any(|(p, _)| is_path(p, prefix, entry.name))
                        {
                            job.paths.push((join(entry.name), self.commit));
                        }
                    }
                    None => {
                        let Ok(oid) = Oid::from_bytes(&id) else {
                            continue;
                        };
                        self.blob_index.insert(id, self.jobs.len());
                        self.jobs.push(BlobJob {
                            oid,
                            paths: vec![(join(entry.name), self.commit)],
                            outcome: None,
                        });
                    }
                }
            } else if entry.is_tree() {
                if !self.seen_trees.insert(id) {
                    continue;
                }
                let path = join(entry.name);
                let Ok(oid) = Oid::from_bytes(&id) else {
                    continue;
                };
                match self.read_tree(oid) {
                    Ok(sub) => self.walk(sub, &path),
                    Err(e) => self.out.warn(
                        format!("{}:{path}", self.root_name),
                        format!("missing or corrupt tree {}: {e}", short(oid)),
                    ),
                }
            } else if entry.is_submodule() {
                self.submodules.insert(join(entry.name));
            }
        }
    }
}

/// Git's tree order: by name, a tree's name compared as if it ended in `/`.
fn git_order(a: &super::pack::TreeEntry<'_>, b: &super::pack::TreeEntry<'_>) -> std::cmp::Ordering {
    let n = a.name.len().min(b.name.len());
    a.name[..n].cmp(&b.name[..n]).then_with(|| {
        let end = |e: &super::pack::TreeEntry<'_>| if e.is_tree() { b'/' } else { 0 };
        let ca = a.name.get(n).copied().unwrap_or_else(|| end(a));
        let cb = b.name.get(n).copied().unwrap_or_else(|| end(b));
        ca.cmp(&cb).then(a.name.len().cmp(&b.name.len()))
    })
}

/// `path == prefix + "/" + name` (or `name` at the root), without allocating.
/// (Names that are not UTF-8 were stored lossily: they never compare equal here, so such a
/// blob may record the same path twice, never a wrong one.)
fn is_path(path: &str, prefix: &str, name: &[u8]) -> bool {
    let path = path.as_bytes();
    if prefix.is_empty() {
        return path == name;
    }
    path.len() == prefix.len() + 1 + name.len()
        && path.starts_with(prefix.as_bytes())
        && path[prefix.len()] == b'/'
        && path.ends_with(name)
}

/// Object ids as hash keys: the raw 20 bytes, hashed by their first 8 (ids are uniformly
/// random), compared inline. `git2::Oid` hashes with SipHash and compares through an FFI
/// call: together with the map work they were a third of the history walk.
type OidKey = [u8; 20];
type OidSet = HashSet<OidKey, std::hash::BuildHasherDefault<OidHasher>>;
type OidMap<V> = HashMap<OidKey, V, std::hash::BuildHasherDefault<OidHasher>>;

fn key(oid: Oid) -> OidKey {
    let mut k = [0u8; 20];
    k.copy_from_slice(oid.as_bytes());
    k
}

#[derive(Default)]
struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 20]` hashes as its length, then its bytes: the bytes overwrite the length.
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 = u64::from_le_bytes(b) ^ self.0.rotate_left(5);
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = n as u64;
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
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` with a fixed identity; panics unless it succeeds.
    pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
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

    /// `git show-index` of the repository's one pack: `offset oid (crc)` lines.
    fn show_index(d: &Path) -> String {
        let idx_path = std::fs::read_dir(d.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .unwrap();
        let listing = Command::new("git")
            .arg("show-index")
            .current_dir(d)
            .stdin(std::fs::File::open(&idx_path).unwrap())
            .output()
            .unwrap();
        String::from_utf8_lossy(&listing.stdout).into_owned()
    }

    /// Enough objects that every fan-out bucket holds many: the interpolating search runs.
    #[test]
    fn locate_finds_every_object_of_a_large_pack() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q"]);
        let mut stream = String::new();
        for i in 0..6000 {
            let body = format!("blob number {i}\n");
            stream.push_str(&format!("blob\ndata {}\n{body}\n", body.len()));
        }
        let mut child = Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(d)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stream.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        let packs = super::super::pack::Packs::open(&d.join(".git/objects"));
        let text = show_index(d);
        let mut n = 0;
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let offset: u64 = f.next().unwrap().parse().unwrap();
            let oid = Oid::from_str(f.next().unwrap()).unwrap();
            assert_eq!(packs.locate(oid.as_bytes()).map(|l| l.offset), Some(offset));
            // Ids next to a present one are absent.
            for flip in [0usize, 7, 8, 19] {
                let mut other = key(oid);
                other[flip] ^= 1;
                if text.contains(&Oid::from_bytes(&other).unwrap().to_string()) {
                    continue;
                }
                assert!(packs.locate(&other).is_none(), "{oid} flipped at {flip}");
            }
            n += 1;
        }
        assert_eq!(n, 6000);
    }

    #[test]
    fn git_order_is_the_order_git_writes() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q"]);
        // Names where a tree sorts differently from a file of the same name.
        for f in [
            "a.c", "a0", "a-b", "b", "a/x", "ab/y", "a.d/z", "A", "_", "a~",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f).unwrap();
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "x"]);
        let repo = Repository::open(d).unwrap();
        let tree = repo.head().unwrap().peel_to_tree().unwrap();
        let raw = repo.odb().unwrap().read(tree.id()).unwrap().data().to_vec();
        let entries: Vec<_> = super::super::pack::tree_entries(&raw)
            .map(Result::unwrap)
            .collect();
        assert_eq!(entries.len(), 10);
        for w in entries.windows(2) {
            assert_eq!(
                git_order(&w[0], &w[1]),
                std::cmp::Ordering::Less,
                "{:?} before {:?}",
                String::from_utf8_lossy(w[0].name),
                String::from_utf8_lossy(w[1].name)
            );
            assert_eq!(git_order(&w[1], &w[0]), std::cmp::Ordering::Greater);
        }
    }

    /// Blobs scanned in pack order before the walk (all of them, here) give the same report
    /// as blobs scanned as the walk meets them; a packed blob no ref reaches is not reported.
    #[test]
    fn prescanned_blobs_report_as_the_walk_finds_them() {
        use crate::scan::{Progress, ScanOptions};
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q", "-b", "main"]);
        let token = |n: u32| format!("ghp_{:0>36}", n); // checksum fails: generic rules only
        for i in 0..12u32 {
            std::fs::write(
                d.join(format!("f{}.env", i % 4)),
                format!("DB_PASSWORD=Qx7fT2mLp9aZ{i}\nold={}\n", token(i)),
            )
            .unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        // A secret on a branch that is then deleted: packed, but unreachable.
        git(d, &["checkout", "-q", "-b", "gone"]);
        std::fs::write(d.join("gone.env"), "API_PASSWORD=Hn4vW9sKq2Lr7Tz\n").unwrap();
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "gone"]);
        git(d, &["checkout", "-q", "main"]);
        git(d, &["repack", "-a", "-d", "-q"]);
        git(d, &["branch", "-q", "-D", "gone"]);
        let engine = std::sync::Arc::new(
            crate::matcher::Engine::new(&crate::rules::RuleSet::embedded().unwrap()).unwrap(),
        );
        let scanner = Scanner::new(engine, ScanOptions::default());
        let root = Root {
            path: d,
            index: 0,
            name: "repo".into(),
        };
        let run = |mode| {
            let out = Collector::new(std::sync::Arc::new(Progress::default()));
            history(&scanner, &root, &GitOptions::default(), &out, mode).unwrap();
            let (mut f, w, s) = out.into_parts();
            f.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            let secrets: Vec<String> = f
                .iter()
                .map(|f| String::from_utf8_lossy(&f.secret).into_owned())
                .collect();
            (
                secrets,
                format!("{f:?}"),
                format!("{w:?}"),
                s.blobs_scanned,
                s.bytes_scanned,
            )
        };
        let walked = run(Prescan::UntilWalk);
        let prescanned = run(Prescan::Everything);
        assert_eq!(prescanned, walked);
        assert!(
            walked.0.iter().any(|s| s == "Qx7fT2mLp9aZ11"),
            "{:?}",
            walked.0
        );
        assert!(
            !walked.0.iter().any(|s| s.contains("Hn4vW9sKq2Lr7Tz")),
            "{:?}",
            walked.0
        );
        // The deleted branch's blob is still in the pack (so the prescan met it).
        let show = git(d, &["cat-file", "--batch-all-objects", "--batch-check"]);
        assert!(
            show.lines().filter(|l| l.contains(" blob ")).count() > 12,
            "{show}"
        );
    }

    #[test]
    fn pack_reader_matches_git() {
        use crate::input::pack::{Cache, Kind, Packs};
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        git(d, &["init", "-q"]);
        for i in 0..30 {
            std::fs::write(
                d.join(format!("f{}.txt", i % 7)),
                format!("line {i} of a file that changes a little\n").repeat(i * 3 + 1),
            )
            .unwrap();
            std::fs::create_dir_all(d.join(format!("dir{}", i % 3))).unwrap();
            std::fs::write(d.join(format!("dir{}/g.txt", i % 3)), format!("{i}\n")).unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", &format!("c{i}")]);
        }
        // An author name that is not ASCII and a date before 1970, for the commit parser.
        std::fs::write(d.join("late.txt"), "late\n").unwrap();
        git(d, &["add", "-A"]);
        git(
            d,
            &[
                "commit",
                "-q",
                "-m",
                "late",
                "--author",
                "Zoë  O'Brien-Łukasz <z@example.invalid>",
                "--date",
                "1969-07-20T20:17:40+0130",
            ],
        );
        // Deltas (OFS_DELTA) and deep chains.
        git(d, &["gc", "-q", "--aggressive"]);
        let packs = Packs::open(&d.join(".git/objects"));
        assert!(!packs.is_empty());
        let text = show_index(d);
        let mut by_offset: Vec<(u64, Oid)> = text
            .lines()
            .map(|l| {
                let mut p = l.split_whitespace();
                let off: u64 = p.next().unwrap().parse().unwrap();
                (off, Oid::from_str(p.next().unwrap()).unwrap())
            })
            .collect();
        assert!(by_offset.len() > 90, "{}", by_offset.len());
        let repo = Repository::open(d).unwrap();
        let mut cache = Cache::new(1 << 16);
        by_offset.sort();
        for (off, oid) in &by_offset {
            let loc = packs.locate(oid.as_bytes()).unwrap();
            assert_eq!(loc.offset, *off, "{oid}");
            let (kind, data) = packs.read(loc, 1 << 30, &mut cache).unwrap();
            let obj = repo.find_object(*oid, None).unwrap();
            let want = match obj.kind().unwrap() {
                ObjectType::Blob => Kind::Blob,
                ObjectType::Tree => Kind::Tree,
                ObjectType::Commit => Kind::Commit,
                _ => Kind::Tag,
            };
            assert_eq!(kind, want, "{oid}");
            // The type from the headers alone (through the delta bases) agrees.
            assert_eq!(packs.kind(loc, &mut Vec::new()), Some(want), "{oid}");
            let odb = repo.odb().unwrap();
            assert_eq!(&*data, odb.read(*oid).unwrap().data(), "{oid}");
            if data.len() > 1 {
                let small = packs.read(loc, data.len() as u64 - 1, &mut Cache::new(0));
                assert_eq!(
                    small.map(|_| ()),
                    Err(crate::input::pack::ReadError::TooLarge(data.len() as u64)),
                    "{oid}"
                );
            }
        }
        assert!(packs.locate(&[0u8; 20]).is_none());
        // Every object, in pack order.
        let all: Vec<u64> = packs.locations().map(|l| l.offset).collect();
        let want: Vec<u64> = by_offset.iter().map(|(o, _)| *o).collect();
        assert_eq!(all, want);
        // A batch in history order comes back in pack-offset order, every blob located.
        let batch: Vec<(u32, Oid)> = by_offset
            .iter()
            .rev()
            .enumerate()
            .map(|(i, (_, oid))| (i as u32, *oid))
            .collect();
        let sorted = in_pack_order(&packs, batch);
        assert_eq!(sorted.len(), by_offset.len());
        let offs: Vec<u64> = sorted.iter().map(|(l, _)| l.offset).collect();
        assert!(offs.windows(2).all(|w| w[0] <= w[1]));
        let n = by_offset.len() as u32;
        assert!(sorted.iter().all(|(_, i)| *i < n));
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

//! Hostile input (issue 8): every case runs the real binary on input generated here, in a
//! temp dir, under a 60 s hang guard, and reads its peak memory from /proc while it runs.
//! Each asserts the finding or the one-line warning, the exit code (0 none, 1 findings,
//! 3 incomplete with nothing found) and a generous memory bound; no timing assertions
//! (linearity is checked on the matcher's work counter, `stats.regex_window_bytes`). Run with
//! `--nocapture` to print the table in docs/HOSTILE.md (`HOSTILE |` lines).

mod common;
use common::*;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The scan is killed and the test fails past this.
const HANG_GUARD: Duration = Duration::from_secs(60);
/// Peak anonymous memory (heap) allowed for any case.
const ANON_LIMIT_KB: u64 = 500 * 1024;

struct Run {
    out: Output,
    wall: Duration,
    /// Peak resident set (VmHWM), including mapped file pages.
    hwm_kb: u64,
    /// Largest sampled anonymous resident memory (RssAnon): the heap, without mapped files.
    anon_kb: u64,
    /// User + system CPU time of the whole process.
    cpu_ms: u64,
}

impl Run {
    fn code(&self) -> i32 {
        code(&self.out)
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout).unwrap_or_else(|e| {
            panic!(
                "json: {e}\nstdout: {}\nstderr: {}",
                head(&stdout(&self.out)),
                stderr(&self.out)
            )
        })
    }
    fn stderr(&self) -> String {
        stderr(&self.out)
    }
    /// Prints one row of the table and checks the memory bound.
    fn row(&self, case: &str, outcome: &str) {
        eprintln!(
            "HOSTILE | {case} | {outcome}, exit {} | {:.2} s | {} MB (heap {} MB) |",
            self.code(),
            self.wall.as_secs_f64(),
            self.hwm_kb / 1024,
            self.anon_kb / 1024
        );
        assert!(
            self.anon_kb < ANON_LIMIT_KB,
            "{case}: heap {} MB",
            self.anon_kb / 1024
        );
    }
}

fn head(s: &str) -> &str {
    &s[..s.len().min(2000)]
}

fn proc_status(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("RssAnon:"))
}

/// (state, utime + stime in ms) from /proc/PID/stat; a zombie still has its final times.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration we run on.
    Some((f[0].chars().next()?, ticks * 10))
}

/// Runs a command under the hang guard, sampling its memory every few milliseconds.
fn guarded(mut cmd: Command, case: &str) -> Run {
    let out_f = tempfile::tempfile().unwrap();
    let err_f = tempfile::tempfile().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out_f.try_clone().unwrap())
        .stderr(err_f.try_clone().unwrap());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let pid = child.id();
    let (mut hwm, mut anon, mut cpu) = (0, 0, 0);
    let status = loop {
        let (h, a) = proc_status(pid);
        hwm = hwm.max(h);
        anon = anon.max(a);
        if let Some((state, ms)) = proc_stat(pid) {
            cpu = cpu.max(ms);
            if state != 'Z' {
                std::thread::sleep(Duration::from_millis(5));
                if start.elapsed() > HANG_GUARD {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{case}: still running after {HANG_GUARD:?}: killed");
                }
                continue;
            }
        }
        break child.wait().unwrap();
    };
    let wall = start.elapsed();
    let read = |mut f: std::fs::File| {
        let mut v = Vec::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        std::io::Read::read_to_end(&mut f, &mut v).unwrap();
        v
    };
    Run {
        out: Output {
            status,
            stdout: read(out_f),
            stderr: read(err_f),
        },
        wall,
        hwm_kb: hwm,
        anon_kb: anon,
        cpu_ms: cpu,
    }
}

fn scan(dir: &Path, args: &[&str], case: &str) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("BLASTRADIUS_FINGERPRINT_KEY")
        .env("NO_COLOR", "1");
    guarded(cmd, case)
}

/// Runs the scan as `nobody` when we are root (root reads everything), as tests/dir_scan.rs.
fn scan_unprivileged(dir: &Path, args: &[&str], case: &str) -> Run {
    if !is_root() {
        return scan(dir, args, case);
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("BLASTRADIUS_FINGERPRINT_KEY")
        .env("NO_COLOR", "1");
    guarded(cmd, case)
}

fn locations(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["locations"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn warnings(v: &serde_json::Value) -> Vec<String> {
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

/// Every warning printed on stderr is one line.
fn one_line_warnings(r: &Run) {
    for l in r.stderr().lines() {
        assert!(
            l.starts_with("blastradius: "),
            "stray stderr line: {l:?}\n{}",
            r.stderr()
        );
    }
}

/// Writes `unit` repeated to `size` bytes, in large buffers.
fn write_repeated(path: &Path, unit: &[u8], size: usize) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let block: Vec<u8> = unit.repeat((1 << 20) / unit.len().max(1) + 1);
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

fn env_line(tok: &str) -> String {
    format!("GITHUB_TOKEN={tok}\n")
}

#[test]
fn sparse_2gb_file_is_skipped_by_default_and_mapped_when_allowed() {
    let t = tempfile::tempdir().unwrap();
    let big = t.path().join("big.log");
    {
        let mut f = std::fs::File::create(&big).unwrap();
        f.write_all(&b"2024-01-01 service started\n".repeat(400))
            .unwrap();
        f.set_len(2 << 30).unwrap();
        let tail = env_line(GHP_A);
        f.seek(SeekFrom::Start((2 << 30) - tail.len() as u64 - 1))
            .unwrap();
        f.write_all(format!("\n{tail}").as_bytes()).unwrap();
    }
    std::fs::write(t.path().join("small.txt"), "nothing here\n").unwrap();

    let r = scan(t.path(), &["scan", "--format", "json", "."], "2 GB sparse");
    r.row(
        "2 GB sparse file, default --max-file-size 50M",
        "skipped, listed in stats",
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v = r.json();
    assert_eq!(v["stats"]["skipped_too_large"], 1);
    assert_eq!(v["stats"]["skipped_too_large_paths"][0], "big.log");
    assert_eq!(v["stats"]["files_scanned"], 1);
    assert!(r.hwm_kb < ANON_LIMIT_KB);

    let r = scan(
        t.path(),
        &["scan", "--format", "json", "--max-file-size", "3G", "."],
        "2 GB sparse mapped",
    );
    r.row(
        "2 GB sparse file, --max-file-size 3G",
        "scanned via mmap, token at the end found",
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let v = r.json();
    let l = locations(&v);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["path"], "big.log");
    assert_eq!(l[0]["column"], 14);
    assert_eq!(
        v["stats"]["bytes_scanned"].as_u64().unwrap(),
        (2 << 30) + 13
    );
}

#[test]
fn hundred_mb_line_with_a_token_at_the_end() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("min.js");
    let n = 100 << 20;
    write_repeated(&p, b"var a=1;", n);
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(format!("t=\"{GHP_A}\"").as_bytes()).unwrap();
    drop(f);
    let r = scan(
        t.path(),
        &["scan", "--format", "json", "--max-file-size", "200M", "."],
        "100 MB line",
    );
    r.row(
        "one 100 MB line, no newline, token at the end",
        "found, snippet capped",
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let l = &locations(&r.json())[0];
    assert_eq!(l["line"], 1);
    assert_eq!(l["column"].as_u64().unwrap(), n as u64 + 4);
    let snippet = l["snippet"].as_str().unwrap();
    assert!(snippet.chars().count() <= 202, "{snippet}");
    assert!(
        snippet.starts_with('…') && snippet.contains("t=\"ghp_"),
        "{snippet}"
    );
}

#[test]
fn thousands_of_tokens_on_one_long_line_stay_linear() {
    // Each finding used to copy and count its whole line: 2,000 findings on a 48 MB line
    // took minutes. Under the default size cap, so the file is read, not mapped.
    let t = tempfile::tempdir().unwrap();
    let mut unit = "x".repeat(24 << 10);
    unit.push_str(&format!(" {GHP_A} "));
    write_repeated(
        &t.path().join("one.txt"),
        unit.as_bytes(),
        unit.len() * 2000,
    );
    let r = scan(
        t.path(),
        &["scan", "--format", "json", "."],
        "tokens on a line",
    );
    r.row("2,000 tokens on one 48 MB line", "all found, columns exact");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let l = locations(&r.json());
    assert_eq!(l.len(), 2000);
    let mut cols: Vec<u64> = l.iter().map(|l| l["column"].as_u64().unwrap()).collect();
    cols.sort_unstable();
    assert_eq!(cols[1999], 1999 * unit.len() as u64 + (24 << 10) + 2);
}

/// Runs a case at two sizes and checks that the matcher's work grows no faster than the
/// input: `stats.regex_window_bytes` (the bytes the regexes ran over, a count, not a time)
/// may grow at most 1.5x as fast as the input. The regex engine is linear in what it runs
/// over, and the keyword pass is linear by construction, so this bounds the scan's time
/// without a timing assertion. CPU times are printed for the table.
fn linear(case: &str, dir: &Path, small: &str, large: &str, factor: f64, args: &[&str]) -> Run {
    let mut a = vec!["scan", "--format", "json", "--max-file-size", "1G"];
    a.extend_from_slice(args);
    let run = |f: &str| {
        let mut a = a.clone();
        a.push(f);
        scan(dir, &a, case)
    };
    let s = run(small);
    let l = run(large);
    let work = |r: &Run| {
        r.json()["stats"]["regex_window_bytes"]
            .as_u64()
            .unwrap_or(0)
    };
    let input = |r: &Run| r.json()["stats"]["bytes_scanned"].as_u64().unwrap_or(0);
    let (ws, wl) = (work(&s), work(&l));
    let ratio = wl as f64 / ws.max(1) as f64;
    let input_ratio = input(&l) as f64 / input(&s).max(1) as f64;
    eprintln!(
        "HOSTILE-LINEAR | {case} | regex window bytes {ws} -> {wl} ({ratio:.2}x) for {input_ratio:.2}x input | cpu {} ms -> {} ms",
        s.cpu_ms, l.cpu_ms
    );
    assert!(
        (input_ratio - factor).abs() < factor * 0.1,
        "{case}: the inputs are not {factor}x apart"
    );
    assert!(
        ratio <= input_ratio * 1.5,
        "{case}: {input_ratio:.2}x input made {ratio:.2}x the regex work ({ws} -> {wl} bytes)"
    );
    l
}

#[test]
fn ten_million_keyword_hits_without_a_secret() {
    let t = tempfile::tempdir().unwrap();
    write_repeated(&t.path().join("half.txt"), b"token=", 6 * 5_000_000);
    write_repeated(&t.path().join("full.txt"), b"token=", 6 * 10_000_000);
    let r = linear("keyword flood", t.path(), "half.txt", "full.txt", 2.0, &[]);
    r.row(
        "10 million `token=` hits (60 MB), no secret",
        "nothing found, linear",
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.hwm_kb < ANON_LIMIT_KB);
}

#[test]
fn dense_matches_and_encoded_secrets_stay_linear() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    // Every line a match of a generic flag rule: tens of thousands of candidates.
    write_repeated(&d.join("flags1.txt"), b"--db-password\n", 2 << 20);
    write_repeated(&d.join("flags4.txt"), b"--db-password\n", 8 << 20);
    let r = linear("flag flood", d, "flags1.txt", "flags4.txt", 4.0, &[]);
    r.row("600,000 lines `--db-password` (8 MB)", "bounded, linear");
    assert!(matches!(r.code(), 0 | 1), "{}", r.stderr());

    // 400,000 findings of one token: overlap resolution used to be quadratic in matches.
    write_repeated(
        &d.join("tok1.txt"),
        env_line(GHP_A).as_bytes(),
        100_000 * 54,
    );
    write_repeated(
        &d.join("tok4.txt"),
        env_line(GHP_A).as_bytes(),
        400_000 * 54,
    );
    let r = linear("token flood", d, "tok1.txt", "tok4.txt", 4.0, &[]);
    r.row(
        "400,000 copies of one token (21 MB)",
        "one group, 10,000 listed, the rest counted, one warning, linear",
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let v = r.json();
    assert_eq!(v["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(locations(&v).len(), 10_000);
    assert_eq!(v["stats"]["occurrences_not_listed"], 390_000);
    assert!(
        warnings(&v)
            .iter()
            .any(|w| w.contains("390000 more occurrences")),
        "{:?}",
        warnings(&v)
    );

    // 80,000 base64-encoded tokens: every decoded span was checked against all others.
    let b64 = "R0lUSFVCX1RPS0VOPWdocF9lRzBXeDhLdngyQVp3cENsazdqeDJxemhkckVOWHMydDVwWko=";
    let line = format!("v: {b64}\n");
    write_repeated(&d.join("b64_1.txt"), line.as_bytes(), 20_000 * line.len());
    write_repeated(&d.join("b64_4.txt"), line.as_bytes(), 80_000 * line.len());
    let r = linear("encoded flood", d, "b64_1.txt", "b64_4.txt", 4.0, &[]);
    r.row("80,000 base64-encoded tokens (6 MB)", "found, linear");
    assert_eq!(r.code(), 1);
}

#[test]
fn binary_files_are_skipped_unless_asked() {
    let t = tempfile::tempdir().unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0".to_vec();
    elf.extend((0..20_000u32).flat_map(|i| i.to_le_bytes()));
    elf.extend(format!("\0{GHP_A}\0").as_bytes());
    std::fs::write(t.path().join("app"), &elf).unwrap();
    let r = scan(t.path(), &["scan", "--format", "json", "."], "binary");
    r.row("ELF-like binary with a token inside", "skipped as binary");
    assert_eq!(r.code(), 0);
    assert_eq!(r.json()["stats"]["skipped_binary"], 1);
    let r = scan(
        t.path(),
        &["scan", "--format", "json", "--scan-binary", "."],
        "binary",
    );
    r.row("same, --scan-binary", "found");
    assert_eq!(r.code(), 1);
}

#[test]
fn invalid_utf8_and_utf16_text_with_tokens() {
    let t = tempfile::tempdir().unwrap();
    // Latin-1 text (lone continuation bytes, a lead byte without its continuation).
    let mut latin1 = b"# caf\xe9 \xa9 2024 \xb0C\n\x80\x80 \xe2\x82 ".to_vec();
    latin1.extend(env_line(GHP_A).as_bytes());
    std::fs::write(t.path().join("latin1.conf"), &latin1).unwrap();
    let text = format!("# settings\n{}", env_line(GHP_B));
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        le.extend(u.to_le_bytes());
        be.extend(u.to_be_bytes());
    }
    std::fs::write(t.path().join("le.txt"), &le).unwrap();
    std::fs::write(t.path().join("be.txt"), &be).unwrap();
    let r = scan(t.path(), &["scan", "--format", "json", "."], "encodings");
    r.row(
        "invalid UTF-8 (Latin-1), UTF-16 LE and BE with BOM",
        "all found, columns as displayed",
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let mut got: Vec<(String, u64, u64)> = locations(&r.json())
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    // Latin-1 line 2: each invalid byte is one character, as an editor shows U+FFFD.
    let prefix = String::from_utf8_lossy(b"\x80\x80 \xe2\x82 GITHUB_TOKEN=")
        .chars()
        .count();
    assert_eq!(
        got,
        vec![
            ("be.txt".to_string(), 2, 14),
            ("latin1.conf".to_string(), 2, prefix as u64 + 1),
            ("le.txt".to_string(), 2, 14),
        ]
    );
}

#[test]
fn permission_denied_files_and_directories() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_tree(
        d,
        &[
            ("locked.env", &env_line(GHP_A)),
            ("closed/inner.env", &env_line(GHP_B)),
            ("open.txt", "nothing\n"),
        ],
    );
    let chmod = |mode: &str, p: &Path| {
        assert!(
            Command::new("chmod")
                .arg(mode)
                .arg(p)
                .status()
                .unwrap()
                .success()
        );
    };
    chmod("755", d);
    chmod("000", &d.join("locked.env"));
    chmod("000", &d.join("closed"));
    let r = scan_unprivileged(d, &["scan", "--format", "json", "."], "permissions");
    chmod("755", &d.join("closed"));
    r.row(
        "unreadable file and directory (as nobody)",
        "one warning each",
    );
    assert_eq!(r.code(), 3, "{}", r.stderr());
    let v = r.json();
    let w = warnings(&v);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w.iter()
            .any(|w| w == "locked.env: cannot open: permission denied"),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("closed") && w.contains("ermission denied")),
        "{w:?}"
    );
    one_line_warnings(&r);
    assert_eq!(r.stderr().lines().count(), 2, "{}", r.stderr());
}

#[test]
fn symlink_loops_with_follow_symlinks() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_tree(d, &[("a/b/.env", &env_line(GHP_A))]);
    use std::os::unix::fs::symlink;
    symlink("../..", d.join("a/b/up")).unwrap(); // loop to an ancestor
    symlink("self", d.join("self")).unwrap(); // a link to itself
    symlink("pong", d.join("ping")).unwrap(); // two links to each other
    symlink("ping", d.join("pong")).unwrap();
    let r = scan(
        d,
        &["scan", "--format", "json", "--follow-symlinks", "."],
        "symlink loops",
    );
    r.row(
        "symlink loops (ancestor, self, pair), --follow-symlinks",
        "warnings, no hang, token found",
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let v = r.json();
    assert_eq!(locations(&v).len(), 1);
    let w = warnings(&v);
    assert!(w.iter().any(|w| w.contains("a/b/up")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("self")), "{w:?}");
    assert!(
        w.iter().any(|w| w.contains("ping") || w.contains("pong")),
        "{w:?}"
    );
    one_line_warnings(&r);
    // Not following: the links are not entered at all.
    let r = scan(d, &["scan", "--format", "json", "."], "symlink loops");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(warnings(&r.json()).is_empty());
}

#[test]
fn fifos_and_devices_never_block() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write_tree(d, &[("app/.env", &env_line(GHP_A))]);
    let mkfifo = |p: &Path| assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
    mkfifo(&d.join("app/pipe"));
    mkfifo(&d.join("named"));
    std::os::unix::fs::symlink("/dev/zero", d.join("app/zero")).unwrap();
    for follow in [false, true] {
        let mut args = vec!["scan", "--format", "json", "app"];
        if follow {
            args.push("--follow-symlinks");
        }
        let r = scan(d, &args, "fifo in tree");
        r.row(
            if follow {
                "FIFO and a /dev/zero link in the tree, --follow-symlinks"
            } else {
                "FIFO in the tree"
            },
            "not opened; the rest scanned",
        );
        assert_eq!(r.code(), 1, "{}", r.stderr());
    }
    for named in ["named", "/dev/zero"] {
        let r = scan(
            d,
            &["scan", "--format", "json", named],
            "named special file",
        );
        r.row(
            &format!("`{named}` named on the command line"),
            "one warning",
        );
        assert_eq!(r.code(), 3, "{}", r.stderr());
        assert_eq!(
            warnings(&r.json()),
            vec![format!("{named}: not a regular file; skipped")]
        );
        one_line_warnings(&r);
    }
}

#[test]
fn files_deleted_or_truncated_during_the_scan() {
    // Files over the old 4 MiB mmap threshold: a mapped file truncated meanwhile killed the
    // scanner with SIGBUS. They are read now (mmap only above 64 MiB), so this is safe.
    let t = tempfile::tempdir().unwrap();
    let d = t.path().to_path_buf();
    let body = "2024-01-01 INFO request served in 3 ms\n".repeat(150_000); // ~6 MB
    let n = 24;
    let mut worst = None::<Run>;
    for round in 0..3 {
        for i in 0..n {
            let mut b = body.clone();
            if i % 4 == 0 {
                b.push_str(&env_line(GHP_A));
            }
            std::fs::write(d.join(format!("f{i:02}.log")), b).unwrap();
        }
        let dd = d.clone();
        let vandal = std::thread::spawn(move || {
            for i in (0..n).rev() {
                std::thread::sleep(Duration::from_millis(3));
                let p = dd.join(format!("f{i:02}.log"));
                if (i + round) % 2 == 0 {
                    let _ = std::fs::remove_file(&p);
                } else if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) {
                    let _ = f.set_len(100);
                }
            }
        });
        let r = scan(&d, &["scan", "--format", "json", "-j", "2", "."], "vandal");
        vandal.join().unwrap();
        assert!(
            matches!(r.code(), 0 | 1 | 3),
            "killed or failed: {:?}\n{}",
            r.out.status,
            r.stderr()
        );
        let v = r.json();
        for w in warnings(&v) {
            assert!(w.contains("deleted during the scan"), "{w}");
        }
        worst = Some(r);
    }
    worst.unwrap().row(
        "24 × 6 MB files deleted or truncated during the scan (3 rounds)",
        "no crash; warnings for vanished files",
    );
}

#[test]
fn a_hundred_thousand_small_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for dir in 0..100 {
        let sub = d.join(format!("d{dir:03}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..1000 {
            std::fs::write(sub.join(format!("f{f:04}.txt")), "k = v\n").unwrap();
        }
    }
    std::fs::write(d.join("d042/f0042.txt"), env_line(GHP_A)).unwrap();
    let r = scan(d, &["scan", "--format", "json", "."], "100k files");
    r.row("100,000 small files", "all scanned, token found");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let v = r.json();
    assert_eq!(v["stats"]["files_scanned"], 100_000);
    assert_eq!(locations(&v)[0]["path"], "d042/f0042.txt");
    assert!(r.hwm_kb < ANON_LIMIT_KB);
}

#[test]
fn two_hundred_deep_directories() {
    let t = tempfile::tempdir().unwrap();
    let rel: String = (0..200).map(|i| format!("d{i}/")).collect();
    let deep = t.path().join(&rel);
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join(".env"), env_line(GHP_A)).unwrap();
    let r = scan(t.path(), &["scan", "--format", "json", "."], "deep dirs");
    r.row("200 nested directories", "found at depth 200");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(locations(&r.json())[0]["path"], format!("{rel}.env"));
}

fn repo_with_history(d: &Path) {
    git_init(d);
    for i in 0..5 {
        let body: String = (0..4000)
            .map(|l| format!("commit {i} line {l}\n"))
            .collect();
        std::fs::write(d.join(format!("f{i}.txt")), body).unwrap();
        git(d, &["add", "."]);
        git(d, &["commit", "-qm", &format!("c{i}")]);
    }
    std::fs::write(d.join(".env"), env_line(GHP_A)).unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "token"]);
}

#[test]
fn corrupt_and_truncated_packfiles() {
    for (case, cut) in [("truncated", true), ("bytes flipped", false)] {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        repo_with_history(d);
        git(d, &["gc", "-q"]);
        let pack = std::fs::read_dir(d.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pack"))
            .unwrap();
        let mut bytes = std::fs::read(&pack).unwrap();
        if cut {
            bytes.truncate(bytes.len() * 3 / 4);
        } else {
            let n = bytes.len();
            for b in &mut bytes[n / 3..n / 3 + 64] {
                *b ^= 0x5A;
            }
        }
        let mut perms = std::fs::metadata(&pack).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&pack, perms).unwrap();
        std::fs::write(&pack, bytes).unwrap();
        let r = scan(d, &["scan", "--git", "--format", "json", "."], "packfile");
        r.row(
            &format!("git history, packfile {case}"),
            "warnings, exit 3 (or the readable blobs' findings)",
        );
        assert!(matches!(r.code(), 1 | 3), "{case}: {}", r.stderr());
        assert!(!warnings(&r.json()).is_empty(), "{case}");
        one_line_warnings(&r);
    }
}

#[test]
fn shallow_clone_warns_that_history_is_cut() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    std::fs::create_dir(&src).unwrap();
    repo_with_history(&src);
    let url = format!("file://{}", src.display());
    git(t.path(), &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let r = scan(
        &t.path().join("shallow"),
        &["scan", "--git", "--format", "json", "."],
        "shallow",
    );
    r.row("shallow clone (`--depth 1`)", "warning; HEAD still scanned");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let w = warnings(&r.json());
    assert!(w.iter().any(|w| w.contains("shallow clone")), "{w:?}");
    assert_eq!(r.json()["stats"]["commits_walked"], 1);
}

/// Garbage for every decoder: truncated, mis-padded, deeply nested, oversized.
fn garbage() -> Vec<String> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut v = vec![
        String::new(),
        "eyJ".into(),
        "eyJ.eyJ.".into(),
        "eyJhbGciOiJub25lIn0".into(),
        "eyJhbGciOiJub25lIn0..".into(),
        format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(deep.as_bytes())),
        format!("{}.{}.x", b64(br#"{"alg":1e999999}"#), b64(br#"{"exp":1e308,"iat":-1e308,"nbf":"x"}"#)),
        format!("{}.{}.x", b64(b"\xff\xfe\x00"), b64(b"{\"exp\":99999999999999999999999999}")),
        format!("eyJ{}", "A".repeat(60_000)),
        "pypi-".into(),
        "pypi-AgEIcHlwaS5vcmc".into(),
        format!("pypi-{}", b64(&[0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
        format!("pypi-AgEIcHlwaS5vcmc{}", "A".repeat(5000)),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----".into(),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----", "MIIB".repeat(3000)),
        "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n".into(),
        "postgres://%zz:%@[::1/%%".into(),
        format!("mongodb+srv://{}@{}", "u:".repeat(10_000), "h.".repeat(10_000)),
        "sv=&se=9999999999-99-99&sig=%".into(),
        "se=2030-13-45T99:99:99Z&sp=".into(),
        r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\n"#.into(),
        "{\"type\":".repeat(1000),
        "AKIA".into(),
        "ASIA\u{0}\u{0}\u{0}".into(),
        "xoxb-".into(),
        "xoxe.xoxp-1-".into(),
        "hvs.".into(),
        "sk_live_".into(),
        "\u{202e}\u{0}\u{1b}[31m".repeat(100),
    ];
    v.push("é".repeat(30_000));
    v
}

#[test]
fn every_decoder_survives_garbage() {
    for g in garbage() {
        for name in blastradius::introspect::DECODERS {
            let facts = blastradius::introspect::introspect(name, &g);
            // Whatever was read serialises and does not echo long input back.
            let json = serde_json::to_string(&facts).unwrap();
            assert!(
                json.len() < 64 * 1024,
                "{name}: {} bytes of facts",
                json.len()
            );
        }
    }
}

#[test]
fn a_file_full_of_jwt_like_junk() {
    let t = tempfile::tempdir().unwrap();
    let mut s = String::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while s.len() < 8 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x % 300) as usize + 10;
        let seg: String = (0..n)
            .map(|i| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                    [((x >> (i % 50)) % 64) as usize] as char
            })
            .collect();
        match x % 4 {
            0 => s.push_str(&format!("token: eyJ{seg}.eyJ{seg}.{seg}\n")),
            1 => s.push_str(&format!("eyJhbGciOiJIUzI1NiJ9.eyJ{seg}.\n")),
            2 => s.push_str(&format!("pypi-AgEIcHlwaS5vcmc{seg}\n")),
            _ => s.push_str(&format!("auth=eyJ{seg} eyJ{seg}==\n")),
        }
    }
    std::fs::write(t.path().join("junk.txt"), &s).unwrap();
    let r = scan(t.path(), &["scan", "--format", "json", "."], "jwt junk");
    r.row("8 MB of eyJ…/pypi-… junk", "no crash, bounded");
    assert!(matches!(r.code(), 0 | 1), "{}", r.stderr());
    one_line_warnings(&r);
}

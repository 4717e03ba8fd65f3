//! A whole buffer through `Scanner::scan_blob`, as every input delivers one: archive sniffing
//! and readers (zip, tar, gzip, bzip2, xz, zstd, nested, truncated), container images
//! (`docker save` and OCI layout tars: manifests, configs, layers, whiteouts), UTF-16,
//! binary detection, encoded spans (base64, hex, percent, escapes) re-scanned, line/column
//! and snippet building; then the findings through `report::build` (grouping, companions,
//! introspection, blast scoring) and every writer (JSON, SARIF, human).
//!
//! Checks beyond "no panic": locations are sane (1-based, end after start, snippets capped),
//! no snippet carries a found secret of 12+ bytes, the JSON report carries no such secret
//! anywhere except in paths and warnings (which name archive members, chosen by whoever
//! built the archive), and the human report and warnings (what reaches a terminal) carry no
//! control character but newlines.
#![no_main]

use blastradius::matcher::{Engine, Scratch};
use blastradius::report::{self, ReportOptions, Suppressed};
use blastradius::rules::RuleSet;
use blastradius::scan::{BlobMeta, Collector, Progress, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};

static ENGINE: LazyLock<Arc<Engine>> =
    LazyLock::new(|| Arc::new(Engine::new(&RuleSet::embedded().unwrap()).unwrap()));

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    Scanner::new(
        ENGINE.clone(),
        ScanOptions {
            threads: 1,
            // Bounds small enough that a bomb costs milliseconds, not the fuzzer's timeout.
            max_archive_bytes: 16 << 20,
            ..ScanOptions::default()
        },
    )
});

fuzz_target!(|data: &[u8]| {
    let meta = BlobMeta {
        path: "fuzz.bin",
        root: 0,
        root_name: "fuzz",
        git: None,
        decoded: &[],
    };
    let mut scratch = Scratch::default();
    let Some(found) = SCANNER.scan_blob(data, &meta, &mut scratch) else {
        return;
    };
    let mut secrets: Vec<String> = Vec::new();
    for f in &found {
        let l = &f.location;
        assert!(l.line >= 1 && l.column >= 1 && l.end_line >= l.line);
        assert!(l.end_line > l.line || l.end_column >= l.column);
        assert!(l.snippet.chars().count() <= 202, "snippet not capped");
        if f.secret.len() >= 12 {
            let s = String::from_utf8_lossy(&f.secret).into_owned();
            assert!(!l.snippet.contains(&s), "snippet leaks the secret");
            secrets.push(s);
        }
    }
    let collector = Collector::new(Arc::new(Progress::default()));
    SCANNER.drain_into(&collector);
    let (_, warnings, stats) = collector.into_parts();
    let opts = ReportOptions {
        now: Some(1_700_000_000),
        ..ReportOptions::default()
    };
    let mut rep = report::build(
        &ENGINE,
        found,
        warnings,
        stats,
        Suppressed::default(),
        &opts,
    );
    let mut sink = Vec::new();
    report::sarif::write(&rep, &mut sink).unwrap();
    report::json::write_jsonl(&rep, &mut sink).unwrap();
    // What reaches a terminal: the human report and the warnings (stderr).
    let mut human = Vec::new();
    report::human::write(&rep, &report::human::Style { color: false }, &mut human).unwrap();
    for w in &rep.warnings {
        human.extend_from_slice(w.to_string().as_bytes());
    }
    let human = String::from_utf8(human).expect("human output is UTF-8");
    assert!(
        !human.chars().any(|c| c.is_control() && c != '\n'),
        "control character in terminal output: {human:?}"
    );
    // Paths and warnings name members (attacker-chosen text), not findings: blank them.
    rep.warnings.clear();
    for g in &mut rep.groups {
        for l in &mut g.locations {
            l.path.clear();
        }
        for c in &mut g.companions {
            c.locations.clear();
        }
    }
    let mut json = Vec::new();
    report::json::write_json(&rep, &mut json).unwrap();
    let json = String::from_utf8_lossy(&json);
    for s in &secrets {
        let escaped = serde_json::to_string(s).unwrap();
        let escaped = &escaped[1..escaped.len() - 1];
        assert!(!json.contains(escaped), "report leaks a secret: {s:?}");
    }
});

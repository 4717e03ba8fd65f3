//! A whole buffer through `Scanner::scan_blob`, as every input delivers one: archive sniffing
//! and readers (zip, tar, gzip, bzip2, xz, zstd, nested), UTF-16, binary detection, encoded
//! spans (base64, hex, percent, escapes), line/column and snippet building. No panic, and no
//! snippet carries a full secret.
#![no_main]

use blastradius::matcher::{Engine, Scratch};
use blastradius::rules::RuleSet;
use blastradius::scan::{BlobMeta, ScanOptions, Scanner};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};

static SCANNER: LazyLock<Scanner> = LazyLock::new(|| {
    let engine = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
    Scanner::new(
        Arc::new(engine),
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
    if let Some(found) = SCANNER.scan_blob(data, &meta, &mut scratch) {
        for f in &found {
            let l = &f.location;
            assert!(l.line >= 1 && l.column >= 1 && l.end_line >= l.line);
            assert!(l.snippet.chars().count() <= 202, "snippet not capped");
            if f.secret.len() >= 12 {
                let s = String::from_utf8_lossy(&f.secret);
                assert!(!l.snippet.contains(s.as_ref()), "snippet leaks the secret");
            }
        }
    }
});

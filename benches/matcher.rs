//! Matcher throughput (MB/s) with the embedded rules, on three inputs:
//! - `source`: this repository's own Rust sources and docs, concatenated to ~8 MB (realistic
//!   code with few secrets);
//! - `source+secrets`: the same with a synthetic token every ~4 KB (dense findings);
//! - `keyword-dense`: `token=` / `password: ` / `api_key` repeated with no secret
//!   (adversarial: every few bytes opens a regex window).
//!
//! `cargo bench --bench matcher` for full runs; `cargo bench --bench matcher -- --quick` is
//! the CI smoke run. Timings never appear in `cargo test`.

use blastradius::matcher::{Engine, Scratch};
use blastradius::rules::RuleSet;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

const TARGET_BYTES: usize = 8 << 20;

fn read_tree(dir: &Path, out: &mut Vec<u8>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs" || e == "md")
            && let Ok(b) = std::fs::read(&p)
        {
            out.extend_from_slice(&b);
        }
    }
}

fn source_text() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut one = Vec::new();
    read_tree(&root.join("src"), &mut one);
    read_tree(&root.join("docs"), &mut one);
    let mut out = Vec::with_capacity(TARGET_BYTES + one.len());
    while out.len() < TARGET_BYTES {
        out.extend_from_slice(&one);
    }
    out
}

fn with_secrets(base: &[u8]) -> Vec<u8> {
    // Synthetic, checksum-valid GitHub token (tools/synth_token.py); never issued.
    let token = b"\nGITHUB_TOKEN=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\n";
    let mut out = Vec::with_capacity(base.len() + base.len() / 64);
    for chunk in base.chunks(4096) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(token);
    }
    out
}

fn keyword_dense() -> Vec<u8> {
    let unit = b"token= password: api_key secret=x ";
    unit.iter().copied().cycle().take(TARGET_BYTES).collect()
}

fn bench(c: &mut Criterion) {
    let set = RuleSet::embedded().expect("embedded rules");
    let engine = Engine::new(&set).expect("engine");
    engine.compile_all().expect("patterns compile");
    let source = source_text();
    let inputs = [
        ("source", source.clone()),
        ("source+secrets", with_secrets(&source)),
        ("keyword-dense", keyword_dense()),
    ];
    let mut g = c.benchmark_group("matcher");
    g.sample_size(10);
    for (name, data) in &inputs {
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(*name, |b| {
            let mut scratch = Scratch::default();
            b.iter(|| black_box(engine.scan(black_box(data), &mut scratch)).len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

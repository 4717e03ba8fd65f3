//! Differential: the keyword prefilter (`matcher::keywords`, our own Aho-Corasick DFA walked
//! in 4 lanes, block by block) against the `aho-corasick` crate's overlapping iterator, on
//! fuzzer-chosen keywords and haystacks. Every occurrence must be reported exactly once (no
//! misses at lane or block boundaries, no duplicates), with the right keyword and span, and
//! each block's hits in ascending end position.
//!
//! Input: `[n] ([len] keyword bytes){n} [size] haystack`. `n` keywords (1..=16) of 1..=32
//! bytes, deduplicated ASCII case-insensitively as `Engine::new` does; `size` picks how the
//! haystack is tiled (as is, around the 4-lane threshold of 4096 bytes, larger, or past one
//! 1 MiB block), so the multi-lane and multi-block paths are reached from small inputs.
#![no_main]

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use blastradius::matcher::keywords::{BLOCK, Hit, Keywords, LANES};
use libfuzzer_sys::fuzz_target;

fn parse(data: &[u8]) -> Option<(Vec<Vec<u8>>, Vec<u8>)> {
    let (&n, mut rest) = data.split_first()?;
    let n = 1 + n as usize % 16;
    let mut kws: Vec<Vec<u8>> = Vec::new();
    for _ in 0..n {
        let (&len, r) = rest.split_first()?;
        let len = 1 + len as usize % 32;
        let kw = r.get(..len)?.to_vec();
        rest = &r[len..];
        let lower = kw.to_ascii_lowercase();
        if !kws.iter().any(|k| *k == lower) {
            kws.push(lower);
        }
    }
    let (&size, hay) = rest.split_first().unwrap_or((&0, &[]));
    let target = match size % 16 {
        0..=7 => hay.len(),
        8 => LANES * 1024 - 1,
        9 => LANES * 1024,
        10 => LANES * 1024 + 1 + size as usize / 16,
        11 | 12 => 5000 + 97 * (size as usize / 16),
        13 | 14 => 40_000 + 1009 * (size as usize / 16),
        // Past one block (costly: 1 in 256 inputs at most).
        _ if size == 255 => BLOCK + 4093,
        _ => 100_000,
    };
    let unit: &[u8] = if hay.is_empty() { &kws[0] } else { hay };
    let mut h = Vec::with_capacity(target);
    while h.len() < target {
        let take = unit.len().min(target - h.len());
        h.extend_from_slice(&unit[..take]);
    }
    if target < hay.len() {
        h = hay.to_vec();
    }
    Some((kws, h))
}

fuzz_target!(|data: &[u8]| {
    let Some((kws, hay)) = parse(data) else {
        return;
    };
    let ours = Keywords::new(&kws).expect("non-empty, deduplicated keywords");
    let mut lanes: [Vec<Hit>; LANES] = Default::default();
    let mut buf = Vec::new();
    let mut got: Vec<Hit> = Vec::new();
    ours.for_each_block(&hay, &mut lanes, &mut buf, |hits| {
        assert!(
            hits.windows(2).all(|w| w[0].end <= w[1].end),
            "hits of a block out of order"
        );
        assert!(
            got.last()
                .is_none_or(|l| hits.first().is_none_or(|h| l.end <= h.end)),
            "blocks out of order"
        );
        for h in hits {
            let kw = &kws[h.keyword as usize];
            assert!(h.end <= hay.len() && h.end - h.start == kw.len());
            assert!(hay[h.start..h.end].eq_ignore_ascii_case(kw));
        }
        got.extend_from_slice(hits);
    });
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&kws)
        .expect("aho-corasick builds");
    let mut want: Vec<Hit> = ac
        .find_overlapping_iter(&hay)
        .map(|m| Hit {
            keyword: m.pattern().as_u32(),
            start: m.start(),
            end: m.end(),
        })
        .collect();
    let key = |h: &Hit| (h.end, h.keyword);
    got.sort_by_key(key);
    want.sort_by_key(key);
    if got != want {
        let first = got
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "keywords {kws:?}, haystack {} bytes: {} hits, aho-corasick {}; first difference at #{first}: ours {:?}, theirs {:?}",
            hay.len(),
            got.len(),
            want.len(),
            got.get(first),
            want.get(first)
        );
    }
});

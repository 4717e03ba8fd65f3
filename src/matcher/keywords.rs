//! The keyword prefilter: every occurrence of every rule keyword, ASCII case-insensitive,
//! overlapping, in one pass over the bytes.
//!
//! This is the only code that touches every byte of the input, so its speed is the scanner's
//! speed. A DFA walk is a chain of dependent loads (the next state needs the current one), so
//! a single walk runs at the machine's load latency, not its bandwidth: on the project's
//! 2-core machine `aho-corasick`'s DFA and a bare dependent table walk both ran at ~460 MB/s.
//! We therefore take the automaton `aho-corasick` builds, flatten it into our own table
//! (byte classes, premultiplied state ids, match states numbered last so that "is this a
//! match?" is one comparison), and walk [`LANES`] independent slices of the buffer in one
//! loop. The walks share no data dependency, so the CPU overlaps their loads.
//!
//! Correctness of the split: a keyword occurrence ending at byte `p` starts at or after
//! `p + 1 - max_len`, so a lane that starts walking `max_len - 1` bytes before its own
//! region (from the start state) sees every occurrence that ends inside its region; it
//! reports only those, so each occurrence is reported exactly once, by the lane whose region
//! holds its last byte. Hits come out in ascending end position.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind, dfa};

/// Independent DFA walks per buffer.
pub const LANES: usize = 4;
/// Hits are handed over per block of this many bytes.
pub const BLOCK: usize = 1 << 20;
/// Below this many bytes per lane, one walk is as fast and simpler.
const MIN_LANE_BYTES: usize = 1024;

/// One keyword occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index of the keyword in the list given to [`Keywords::new`].
    pub keyword: u32,
    pub start: usize,
    pub end: usize,
}

/// The flattened automaton, shared read-only by every thread.
#[derive(Debug, Clone)]
pub struct Keywords {
    /// Byte → class offset (0..stride).
    classes: [u32; 256],
    /// `trans[state + class]` = next state; state ids are premultiplied by `stride`.
    trans: Vec<u32>,
    /// States at or above this id are match states.
    first_match: u32,
    /// For match state `(id - first_match) / stride`: its range in `outputs`.
    output_ranges: Vec<(u32, u32)>,
    /// Number of byte classes: the width of one state's row in `trans`.
    stride: u32,
    /// Keyword indices, grouped per match state.
    outputs: Vec<u32>,
    lens: Vec<u32>,
    max_len: usize,
    start: u32,
}

impl Keywords {
    /// Builds the automaton over `keywords` (matched ASCII case-insensitively).
    pub fn new(keywords: &[Vec<u8>]) -> Result<Keywords, String> {
        let lens: Vec<u32> = keywords.iter().map(|k| k.len() as u32).collect();
        if keywords.iter().any(|k| k.is_empty()) {
            return Err("empty keyword".into());
        }
        let dfa = dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .byte_classes(true)
            .build(keywords)
            .map_err(|e| format!("cannot build keyword automaton: {e}"))?;

        // Byte classes: every byte that occurs in a keyword (case folded) is its own class;
        // every other byte behaves the same everywhere (class 0).
        let mut class_of = [0u32; 256];
        let mut assigned = [false; 256];
        let mut reps: Vec<u8> = vec![0];
        for &b in keywords.iter().flatten() {
            let lo = b.to_ascii_lowercase();
            if !assigned[lo as usize] {
                assigned[lo as usize] = true;
                class_of[lo as usize] = reps.len() as u32;
                reps.push(lo);
            }
        }
        for b in b'A'..=b'Z' {
            class_of[b as usize] = class_of[b.to_ascii_lowercase() as usize];
            assigned[b as usize] = assigned[b.to_ascii_lowercase() as usize];
        }
        // Class 0's representative: any byte no keyword contains (if every byte occurs in
        // some keyword, class 0 has no members and its row is never read).
        reps[0] = (0..=255u8).find(|&b| !assigned[b as usize]).unwrap_or(0);
        let stride = reps.len();

        // Discover the reachable states breadth first.
        let start_sid = dfa
            .start_state(Anchored::No)
            .map_err(|e| format!("cannot build keyword automaton: {e}"))?;
        let mut order = vec![start_sid];
        let mut index = std::collections::HashMap::new();
        index.insert(start_sid, 0usize);
        let mut next_raw: Vec<u32> = Vec::new(); // order index per (state, class)
        let mut i = 0;
        while i < order.len() {
            let sid = order[i];
            for &rep in &reps {
                let n = dfa.next_state(Anchored::No, sid, rep);
                let idx = *index.entry(n).or_insert_with(|| {
                    order.push(n);
                    order.len() - 1
                });
                next_raw.push(idx as u32);
            }
            i += 1;
        }
        // Renumber: non-match states first, match states last.
        let n = order.len();
        let mut new_id = vec![0u32; n];
        let (mut plain, mut matching): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&s| !dfa.is_match(order[s]));
        // Discovery order is kept within each part, so the start state stays first.
        plain.sort_unstable();
        matching.sort_unstable();
        let ranked: Vec<usize> = plain.iter().chain(matching.iter()).copied().collect();
        for (new, &old) in ranked.iter().enumerate() {
            new_id[old] = (new * stride) as u32;
        }
        let mut trans = vec![0u32; n * stride];
        for (old, &nid) in new_id.iter().enumerate() {
            for c in 0..stride {
                trans[nid as usize + c] = new_id[next_raw[old * stride + c] as usize];
            }
        }
        let first_match = (plain.len() * stride) as u32;
        let mut output_ranges = Vec::with_capacity(matching.len());
        let mut outputs = Vec::new();
        for &old in &matching {
            let sid = order[old];
            let from = outputs.len() as u32;
            for j in 0..dfa.match_len(sid) {
                outputs.push(dfa.match_pattern(sid, j).as_u32());
            }
            output_ranges.push((from, outputs.len() as u32));
        }
        Ok(Keywords {
            classes: class_of,
            stride: stride as u32,
            trans,
            first_match,
            output_ranges,
            outputs,
            max_len: lens.iter().copied().max().unwrap_or(1) as usize,
            lens,
            start: new_id[0],
        })
    }

    /// Number of automaton states (for diagnostics).
    pub fn states(&self) -> usize {
        self.trans.len() / self.stride as usize
    }

    /// Length of the longest keyword.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Calls `f` with every occurrence in `hay`, block by block ([`BLOCK`] bytes), each
    /// block's hits in ascending end position: memory stays bounded by one block's hits
    /// (a file of 10 million keyword hits must not hold them all).
    pub fn for_each_block(
        &self,
        hay: &[u8],
        lanes: &mut [Vec<Hit>; LANES],
        out: &mut Vec<Hit>,
        mut f: impl FnMut(&[Hit]),
    ) {
        let mut lo = 0;
        while lo < hay.len() {
            let hi = (lo + BLOCK).min(hay.len());
            out.clear();
            self.find_in(hay, lo, hi, lanes, out);
            f(out);
            lo = hi;
        }
        out.clear();
    }

    /// Appends the occurrences that end inside `hay[lo..hi]` to `out`, in ascending end
    /// position (the walk may start before `lo`, to see occurrences that began earlier).
    fn find_in(
        &self,
        hay: &[u8],
        lo: usize,
        hi: usize,
        lanes: &mut [Vec<Hit>; LANES],
        out: &mut Vec<Hit>,
    ) {
        let overhang = self.max_len - 1;
        if hi - lo < LANES * MIN_LANE_BYTES {
            self.walk(hay, lo.saturating_sub(overhang), hi, lo, out);
            return;
        }
        let region = (hi - lo) / LANES;
        let mut bounds = [(0usize, 0usize, 0usize); LANES]; // (walk from, region start, end)
        for (l, b) in bounds.iter_mut().enumerate() {
            let rs = lo + l * region;
            let re = if l + 1 == LANES { hi } else { rs + region };
            *b = (rs.saturating_sub(overhang), rs, re);
        }
        for v in lanes.iter_mut() {
            v.clear();
        }
        let common = bounds.iter().map(|&(f, _, e)| e - f).min().unwrap_or(0);
        let (t, c) = (&self.trans[..], &self.classes);
        let fm = self.first_match;
        let mut st = [self.start; LANES];
        let f = bounds.map(|(from, _, _)| from);
        let (h0, h1, h2, h3) = (
            &hay[f[0]..f[0] + common],
            &hay[f[1]..f[1] + common],
            &hay[f[2]..f[2] + common],
            &hay[f[3]..f[3] + common],
        );
        let step = |s: u32, b: u8| t[(s + c[b as usize]) as usize];
        for (k, (((&b0, &b1), &b2), &b3)) in h0.iter().zip(h1).zip(h2).zip(h3).enumerate() {
            st = [
                step(st[0], b0),
                step(st[1], b1),
                step(st[2], b2),
                step(st[3], b3),
            ];
            if (st[0] >= fm) | (st[1] >= fm) | (st[2] >= fm) | (st[3] >= fm) {
                for l in 0..LANES {
                    if st[l] >= fm && f[l] + k >= bounds[l].1 {
                        self.emit(st[l], f[l] + k, &mut lanes[l]);
                    }
                }
            }
        }
        // Each lane's remainder, one at a time.
        for l in 0..LANES {
            let (from, rs, re) = bounds[l];
            let mut s = st[l];
            for (p, &b) in hay.iter().enumerate().take(re).skip(from + common) {
                s = t[(s + c[b as usize]) as usize];
                if s >= fm && p >= rs {
                    self.emit(s, p, &mut lanes[l]);
                }
            }
        }
        for v in lanes.iter() {
            out.extend_from_slice(v);
        }
    }

    /// One walk over `hay[from..end]`, reporting occurrences ending at or after `report_from`.
    fn walk(&self, hay: &[u8], from: usize, end: usize, report_from: usize, out: &mut Vec<Hit>) {
        let (t, c, fm) = (&self.trans[..], &self.classes, self.first_match);
        let mut s = self.start;
        for (p, &b) in hay.iter().enumerate().take(end).skip(from) {
            s = t[(s + c[b as usize]) as usize];
            if s >= fm && p >= report_from {
                self.emit(s, p, out);
            }
        }
    }

    #[inline]
    fn emit(&self, state: u32, last: usize, out: &mut Vec<Hit>) {
        let row = ((state - self.first_match) / self.stride) as usize;
        let (a, b) = self.output_ranges[row];
        for &k in &self.outputs[a as usize..b as usize] {
            let len = self.lens[k as usize] as usize;
            out.push(Hit {
                keyword: k,
                start: last + 1 - len,
                end: last + 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

    fn reference(kws: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let ac: AhoCorasick = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(kws)
            .unwrap();
        let mut v: Vec<Hit> = ac
            .find_overlapping_iter(hay)
            .map(|m| Hit {
                keyword: m.pattern().as_u32(),
                start: m.start(),
                end: m.end(),
            })
            .collect();
        v.sort_by_key(|h| (h.end, h.keyword));
        v
    }

    fn ours(kws: &[Vec<u8>], hay: &[u8]) -> Vec<Hit> {
        let k = Keywords::new(kws).unwrap();
        let mut lanes: [Vec<Hit>; LANES] = Default::default();
        let mut buf = Vec::new();
        let mut out: Vec<Hit> = Vec::new();
        k.for_each_block(hay, &mut lanes, &mut buf, |hits| {
            // Ascending end position within a block, blocks in order.
            assert!(hits.windows(2).all(|w| w[0].end <= w[1].end));
            assert!(
                out.last()
                    .is_none_or(|l| hits.first().is_none_or(|h| l.end <= h.end))
            );
            out.extend_from_slice(hits);
        });
        out.sort_by_key(|h| (h.end, h.keyword));
        out
    }

    fn kws(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn overlapping_and_case_insensitive() {
        let k = kws(&["pass", "password", "word", "ghp_", "sword"]);
        let hay = b"xx PASSWORD ghp_abc Sword passpass";
        assert_eq!(ours(&k, hay), reference(&k, hay));
        assert_eq!(ours(&k, hay).len(), 9);
    }

    #[test]
    fn occurrences_across_lane_boundaries_are_found_once() {
        let k = kws(&["secret_access_key", "key", "token"]);
        for len in [
            LANES * MIN_LANE_BYTES - 1,
            LANES * MIN_LANE_BYTES,
            LANES * MIN_LANE_BYTES + 3,
            50_000,
            BLOCK + 777,
            3 * BLOCK,
        ] {
            // A keyword at every offset near each lane boundary.
            let mut hay = vec![b'.'; len];
            let region = len / LANES;
            for l in 1..LANES {
                for d in 0..20 {
                    let at = (l * region + d).saturating_sub(17 + d);
                    let kw = if d % 2 == 0 {
                        &b"secret_access_key"[..]
                    } else {
                        b"TOKEN"
                    };
                    if at + kw.len() <= len {
                        hay[at..at + kw.len()].copy_from_slice(kw);
                    }
                }
            }
            assert_eq!(ours(&k, &hay), reference(&k, &hay), "len {len}");
        }
    }

    #[test]
    fn keywords_with_nul_and_high_bytes() {
        let k = vec![b"\0\0a".to_vec(), b"\xff\xfe".to_vec(), b"a\0".to_vec()];
        let hay = b"\0\0a\0 \xff\xfe\xff\xfe \0\0A\0";
        assert_eq!(ours(&k, hay), reference(&k, hay));
    }

    #[test]
    fn empty_keyword_is_an_error() {
        assert!(Keywords::new(&[b"a".to_vec(), Vec::new()]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn same_hits_as_aho_corasick(
            words in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(b"abAB_-=\0\xff".to_vec()), 1..6), 1..12),
            hay in proptest::collection::vec(proptest::sample::select(b"abAB_-=\0\xffxy".to_vec()), 0..9000),
        ) {
            proptest::prop_assert_eq!(ours(&words, &hay), reference(&words, &hay));
        }
    }
}

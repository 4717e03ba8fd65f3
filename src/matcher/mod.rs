//! The matching engine: one keyword automaton, regexes only in windows around its hits.
//!
//! Running 200 regexes over every byte would cost 200 passes; instead one Aho-Corasick pass
//! over the buffer finds every rule keyword (ASCII case-insensitive), and a rule's regex runs
//! only inside the window its keyword hits open (`lookbehind` bytes before, `window` after,
//! merged when they overlap). Keywords are chosen rare (`ghp_`, `xoxb-`, `AKIA`), so most
//! buffers run no regex at all. The compiled engine is immutable and shared by all threads;
//! regexes compile lazily on first use, so a pre-commit scan of one file compiles only the
//! rules whose keywords occur in it.

pub mod filter;
pub mod keywords;

use crate::rules::{Rule, RuleSet};
use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Input, PatternID};
use regex_syntax::hir::{Class, Hir, HirKind};
use std::ops::Range;
use std::sync::OnceLock;

/// A candidate that passed the regex, the filters and the validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMatch {
    /// Index of the rule in the engine's rule set.
    pub rule: usize,
    /// Byte range of the secret in the scanned buffer.
    pub secret: Range<usize>,
    /// Byte range of the whole regex match.
    pub whole: Range<usize>,
    /// The rule has a checksum/structure validator and it held (not set by the heuristic
    /// `generic_value` validator).
    pub validated: bool,
}

struct CompiledRule {
    rule: Rule,
    regex: OnceLock<Result<Pattern, String>>,
}

/// A rule's compiled regex and the capture groups the matcher reads.
struct Pattern {
    re: Regex,
    /// Group `secret`, then each `secret_*` group in pattern order: the first that took
    /// part is the secret (a value that can be written several ways, quoted or bare, names
    /// each alternative's group; group names must be unique).
    secret_groups: Vec<usize>,
    /// Group `name` (the assigned name, for validators), if the pattern has one.
    name_group: Option<usize>,
    /// Bytes before and after a keyword hit that its window spans.
    lookbehind: usize,
    window: usize,
    /// A byte every match contains (the rarest such, see [`required_byte`]): a window
    /// without it cannot hold a match, and its regex does not run.
    required: Option<u8>,
    /// Where a match can start, when the pattern says (see [`Anchor`]).
    anchor: Anchor,
}

/// Where a rule's matches can start, read from the pattern's structure.
///
/// An unanchored search has to try every start in its window: the lazy DFA runs over the
/// whole window even where nothing matches, which is nearly everywhere. On rails' history
/// that was 1.3 GB of window bytes and 12-14% of the scan's CPU. Where the pattern fixes the
/// start, the regex runs anchored there instead and gives up within a few bytes.
enum Anchor {
    /// Any start in the window: one unanchored search per merged window.
    Any,
    /// Every match begins with this literal (`ion_`, `pat`): an anchored search at each of
    /// its occurrences in the merged windows. The leftmost match begins at one of them, so
    /// this finds exactly what the unanchored search finds.
    Literal(Box<memchr::memmem::Finder<'static>>),
    /// The pattern begins with an unbounded run of a byte class (`[\w.-]*` in
    /// `(?P<name>[\w.-]*(?i:pass|pwd)[\w.-]*)...`) followed by something that starts with
    /// a byte of that class: a match starts where the run of class bytes holding it begins.
    /// One anchored search per keyword hit, at the start of the run that leads up to the hit
    /// (at most `lookbehind` bytes back). A match must hold its rule's keyword in that run,
    /// which is what the generic assignment rules mean (a windowed search also found a match
    /// whose own name held no keyword, when another hit happened to be within reach).
    Run([u64; 4]),
}

impl CompiledRule {
    /// (lookbehind, window) around a keyword hit (see [`prefix_bound`]), and the class of an
    /// [`Anchor::Run`] rule.
    fn placement(&self) -> (usize, usize, Option<&[u64; 4]>) {
        match self.regex() {
            Ok(p) => (
                p.lookbehind,
                p.window,
                match &p.anchor {
                    Anchor::Run(class) => Some(class),
                    _ => None,
                },
            ),
            Err(_) => (self.rule.lookbehind(), self.rule.window(), None),
        }
    }

    fn regex(&self) -> Result<&Pattern, &str> {
        self.regex
            .get_or_init(|| compile(&self.rule))
            .as_ref()
            .map_err(|e| e.as_str())
    }
}

fn compile(rule: &Rule) -> Result<Pattern, String> {
    // ASCII semantics for \w, \b, \s and `.`: tokens are ASCII, and Unicode word
    // boundaries would make the lazy DFA give up on any non-ASCII text (PikeVM fallback).
    // No prefilter: a regex runs only inside a keyword window of a few hundred bytes, where
    // scanning for its literals first saves little, while extracting them was 29% of the
    // compile cost (and compiling was 19% of a rails checkout scan's instructions).
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .nest_limit(250)
        .build()
        .parse(&rule.pattern)
        .map_err(|e| format!("rule {}: bad pattern: {e}", rule.id))?;
    let (lookbehind, window) = match prefix_bound(rule, &hir) {
        Some(max) => (0, rule.window().min(max)),
        None => (rule.lookbehind(), rule.window()),
    };
    let re = Regex::builder()
        .configure(
            Regex::config()
                .utf8_empty(false)
                .auto_prefilter(false)
                .nfa_size_limit(Some(32 << 20))
                .hybrid_cache_capacity(16 << 20),
        )
        .build_from_hir(&hir)
        .map_err(|e| format!("rule {}: bad pattern: {e}", rule.id))?;
    let names: Vec<Option<&str>> = re.group_info().pattern_names(PatternID::ZERO).collect();
    let index = |want: &dyn Fn(&str) -> bool| -> Vec<usize> {
        names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_some_and(want))
            .map(|(i, _)| i)
            .collect()
    };
    let mut secret_groups = index(&|n| n == "secret");
    if secret_groups.is_empty() {
        return Err(format!("rule {}: pattern has no 'secret' group", rule.id));
    }
    secret_groups.extend(index(&|n| n.starts_with("secret_")));
    let name_group = index(&|n| n == "name").first().copied();
    let anchor = match (leading_literal(&hir), leading_run(&hir)) {
        (Some(lit), _) => Anchor::Literal(Box::new(memchr::memmem::Finder::new(lit).into_owned())),
        (None, Some(class)) => Anchor::Run(class),
        (None, None) => Anchor::Any,
    };
    Ok(Pattern {
        re,
        secret_groups,
        name_group,
        lookbehind,
        window,
        required: required_byte(&hir),
        anchor,
    })
}

/// The rarest byte that every match of `hir` contains, if there is one: `@` in
/// `scheme://user:password@host`. The URI rules share the keyword `://`, which every URL
/// has; on a rails checkout their windows were 28% of all regex window bytes, and few
/// hold an `@`. A `memchr` over a window is far cheaper than running a regex over it.
fn required_byte(hir: &Hir) -> Option<u8> {
    /// Bytes in every match, as a 256-bit set.
    fn required(hir: &Hir) -> [u64; 4] {
        let one = |b: u8| {
            let mut set = [0u64; 4];
            set[usize::from(b >> 6)] |= 1 << (b & 63);
            set
        };
        match hir.kind() {
            HirKind::Literal(lit) => lit.0.iter().fold([0; 4], |mut acc, &b| {
                let o = one(b);
                for (a, x) in acc.iter_mut().zip(o) {
                    *a |= x;
                }
                acc
            }),
            HirKind::Class(Class::Bytes(c)) => match c.ranges() {
                [r] if r.start() == r.end() => one(r.start()),
                _ => [0; 4],
            },
            HirKind::Repetition(r) if r.min > 0 => required(&r.sub),
            HirKind::Capture(c) => required(&c.sub),
            HirKind::Concat(items) => items.iter().fold([0; 4], |mut acc, h| {
                for (a, x) in acc.iter_mut().zip(required(h)) {
                    *a |= x;
                }
                acc
            }),
            HirKind::Alternation(items) => items.iter().fold([u64::MAX; 4], |mut acc, h| {
                for (a, x) in acc.iter_mut().zip(required(h)) {
                    *a &= x;
                }
                acc
            }),
            _ => [0; 4],
        }
    }
    // From rarest to most common in source code and config; bytes not listed are not used
    // (letters and digits are in nearly every window anyway).
    const RARE_FIRST: &[u8] = b"@~^|`\\$#%&!?+;*<>[]{}()'\"/:=,-_.";
    let set = required(hir);
    RARE_FIRST
        .iter()
        .copied()
        .find(|&b| set[usize::from(b >> 6)] & (1 << (b & 63)) != 0)
}

/// The longest match of `hir`, if every match begins with one of `rule`'s keywords.
///
/// A rule's window spans its declared `lookbehind` and `window` around each keyword hit.
/// When the pattern itself starts with a keyword (`\b(?P<secret>ion_[A-Za-z0-9]{42})\b`)
/// and bounds its length, a match starts at a hit and ends within `max` bytes of it, so
/// (0, max) covers it. On a rails checkout the `ion_` keyword of one such rule opened a
/// quarter of all regex window bytes (`action_`, `version_`, ...). The check reads the
/// pattern's structure (looks, then the first literal, through capture groups) rather than
/// extracting its literal prefixes, which cost a third as much as compiling it.
fn prefix_bound(rule: &Rule, hir: &Hir) -> Option<usize> {
    let max = hir.properties().maximum_len()?;
    let lit = leading_literal(hir)?;
    rule.keywords
        .iter()
        .any(|k| {
            let k = k.as_bytes();
            !k.is_empty() && lit.len() >= k.len() && lit[..k.len()].eq_ignore_ascii_case(k)
        })
        .then_some(max)
}

/// The literal every match of `hir` begins with (after zero-width assertions such as `\b`),
/// read through capture groups.
fn leading_literal(hir: &Hir) -> Option<&[u8]> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(&lit.0),
        HirKind::Capture(c) => leading_literal(&c.sub),
        HirKind::Concat(items) => items
            .iter()
            .find(|h| !matches!(h.kind(), HirKind::Look(_)))
            .and_then(leading_literal),
        _ => None,
    }
}

/// The byte class `C` when `hir` begins with an unbounded repetition of `C` followed by an
/// item that cannot match empty and whose first byte is always in `C` (see [`Anchor::Run`]).
/// Then the bytes from a match's start up to that item are all in `C`, so the match starts
/// inside the run of `C` bytes before its keyword, and the repetition can absorb the rest of
/// the run: an anchored search at the run's start finds it.
fn leading_run(hir: &Hir) -> Option<[u64; 4]> {
    match hir.kind() {
        HirKind::Capture(c) => leading_run(&c.sub),
        HirKind::Concat(items) => match items.first()?.kind() {
            HirKind::Repetition(r) if r.max.is_none() => {
                let HirKind::Class(Class::Bytes(c)) = r.sub.kind() else {
                    return None;
                };
                let mut class = [0u64; 4];
                for range in c.ranges() {
                    for b in range.start()..=range.end() {
                        class[usize::from(b >> 6)] |= 1 << (b & 63);
                    }
                }
                let (first, nullable) = first_bytes(items.get(1)?)?;
                let inside = first.iter().zip(class).all(|(f, c)| f & !c == 0);
                (!nullable && inside).then_some(class)
            }
            HirKind::Capture(_) | HirKind::Concat(_) => leading_run(&items[0]),
            _ => None,
        },
        _ => None,
    }
}

/// The bytes a match of `hir` can begin with, and whether it can match empty (looks count
/// as empty). `None` for what this does not read (Unicode classes).
fn first_bytes(hir: &Hir) -> Option<([u64; 4], bool)> {
    let union = |a: &mut [u64; 4], b: [u64; 4]| a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => ([0; 4], true),
        HirKind::Literal(lit) => {
            let b = *lit.0.first()?;
            let mut set = [0u64; 4];
            set[usize::from(b >> 6)] |= 1 << (b & 63);
            (set, false)
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut set = [0u64; 4];
            for range in c.ranges() {
                for b in range.start()..=range.end() {
                    set[usize::from(b >> 6)] |= 1 << (b & 63);
                }
            }
            (set, false)
        }
        HirKind::Class(Class::Unicode(_)) => return None,
        HirKind::Repetition(r) => {
            let (set, nullable) = first_bytes(&r.sub)?;
            (set, nullable || r.min == 0)
        }
        HirKind::Capture(c) => first_bytes(&c.sub)?,
        HirKind::Concat(items) => {
            let mut set = [0u64; 4];
            for item in items {
                let (s, nullable) = first_bytes(item)?;
                union(&mut set, s);
                if !nullable {
                    return Some((set, false));
                }
            }
            (set, true)
        }
        HirKind::Alternation(items) => {
            let mut set = [0u64; 4];
            let mut any_nullable = false;
            for item in items {
                let (s, nullable) = first_bytes(item)?;
                union(&mut set, s);
                any_nullable |= nullable;
            }
            (set, any_nullable)
        }
    })
}

fn in_class(class: &[u64; 4], b: u8) -> bool {
    class[usize::from(b >> 6)] & (1 << (b & 63)) != 0
}

/// The compiled, shareable matcher.
pub struct Engine {
    rules: Vec<CompiledRule>,
    keywords: keywords::Keywords,
    /// Keyword pattern id → rules that use it.
    keyword_rules: Vec<Vec<usize>>,
}

/// Per-thread scratch space, reused across buffers to avoid allocation per file.
#[derive(Default)]
pub struct Scratch {
    windows: Vec<Vec<Range<usize>>>,
    touched: Vec<usize>,
    candidates: Vec<RawMatch>,
    hits: Vec<keywords::Hit>,
    lanes: [Vec<keywords::Hit>; keywords::LANES],
    /// Bytes of regex windows run since the last [`Scratch::take_window_bytes`].
    window_bytes: u64,
}

impl Scratch {
    /// The bytes the regexes ran over since the last call (see `Stats::regex_window_bytes`).
    pub fn take_window_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.window_bytes)
    }
}

/// How far past a window's end we keep reading while we are inside a word, so that `\b`
/// at a pattern's end sees the real next byte rather than the window edge.
const WORD_EXTENSION: usize = 512;

impl Engine {
    /// Builds the automaton over every rule's keywords. Regexes compile lazily.
    pub fn new(set: &RuleSet) -> Result<Engine, String> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        for (i, rule) in set.rules().iter().enumerate() {
            for kw in &rule.keywords {
                let kw = kw.as_bytes().to_ascii_lowercase();
                match index.get(&kw) {
                    Some(&p) => {
                        if !keyword_rules[p].contains(&i) {
                            keyword_rules[p].push(i);
                        }
                    }
                    None => {
                        index.insert(kw.clone(), keywords.len());
                        keywords.push(kw);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let automaton = keywords::Keywords::new(&keywords)?;
        let rules = set
            .rules()
            .iter()
            .map(|r| CompiledRule {
                rule: r.clone(),
                regex: OnceLock::new(),
            })
            .collect();
        Ok(Engine {
            rules,
            keywords: automaton,
            keyword_rules,
        })
    }

    pub fn rule(&self, idx: usize) -> &Rule {
        &self.rules[idx].rule
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Compiles every regex now; returns the first error. Used when loading user rules and
    /// by the test suite, so a broken pattern is reported up front rather than mid-scan.
    pub fn compile_all(&self) -> Result<(), String> {
        for r in &self.rules {
            r.regex().map_err(str::to_string)?;
        }
        Ok(())
    }

    /// Finds every secret in `hay`. Matches are sorted by position and do not overlap.
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<RawMatch> {
        let mut out = Vec::new();
        self.scan_into(hay, scratch, &mut out);
        out
    }

    /// Like [`Engine::scan`], appending to `out`.
    pub fn scan_into(&self, hay: &[u8], scratch: &mut Scratch, out: &mut Vec<RawMatch>) {
        self.scan_anchored(hay, scratch, out, true);
    }

    /// [`Engine::scan_into`]; with `anchors` false every regex runs unanchored over merged
    /// windows, as before anchors existed (the tests' reference).
    fn scan_anchored(
        &self,
        hay: &[u8],
        scratch: &mut Scratch,
        out: &mut Vec<RawMatch>,
        anchors: bool,
    ) {
        if scratch.windows.len() < self.rules.len() {
            scratch.windows.resize_with(self.rules.len(), Vec::new);
        }
        scratch.touched.clear();
        scratch.candidates.clear();

        // 1. One pass of the keyword automaton; open (and merge) windows per rule. A rule
        //    anchored on runs (`Anchor::Run`) keeps one window per run start instead.
        let (rules, keyword_rules) = (&self.rules, &self.keyword_rules);
        let (windows, touched) = (&mut scratch.windows, &mut scratch.touched);
        self.keywords
            .for_each_block(hay, &mut scratch.lanes, &mut scratch.hits, |hits| {
                for m in hits {
                    for &ri in &keyword_rules[m.keyword as usize] {
                        let (lookbehind, window, run) = rules[ri].placement();
                        let run = run.filter(|_| anchors);
                        let floor = m.start.saturating_sub(lookbehind);
                        let start = match run {
                            Some(class) => {
                                let mut s = m.start;
                                while s > floor && in_class(class, hay[s - 1]) {
                                    s -= 1;
                                }
                                s
                            }
                            None => floor,
                        };
                        let end = m.end.saturating_add(window).min(hay.len());
                        let wins = &mut windows[ri];
                        match wins.last_mut() {
                            Some(last) if run.is_some() && start == last.start => {
                                last.end = last.end.max(end);
                            }
                            Some(last)
                                if run.is_none() && start <= last.end && start >= last.start =>
                            {
                                last.end = last.end.max(end);
                            }
                            _ => {
                                if wins.is_empty() {
                                    touched.push(ri);
                                }
                                wins.push(start..end);
                            }
                        }
                    }
                }
            });

        // 2. Each touched rule's regex, inside its merged windows only.
        for &ri in &scratch.touched {
            let mut wins = std::mem::take(&mut scratch.windows[ri]);
            let cr = &self.rules[ri];
            if let Ok(pat) = cr.regex() {
                let mut caps = pat.re.create_captures();
                let mut run = Runner {
                    rule: &cr.rule,
                    pat,
                    hay,
                    caps: &mut caps,
                    cands: &mut scratch.candidates,
                };
                if anchors && let Anchor::Run(_) = pat.anchor {
                    wins.sort_unstable_by_key(|w| w.start);
                    scratch.window_bytes += run.runs(ri, &wins);
                } else {
                    wins = merge(wins);
                    for w in &wins {
                        let end = word_end(hay, w.end);
                        if let Some(b) = pat.required
                            && memchr::memchr(b, &hay[w.start..end]).is_none()
                        {
                            continue;
                        }
                        scratch.window_bytes += w.len() as u64;
                        match &pat.anchor {
                            Anchor::Literal(lit) if anchors => {
                                let mut at = w.start;
                                while at < end
                                    && let Some(off) = lit.find(&hay[at..end])
                                {
                                    let pos = at + off;
                                    at = run.once(ri, pos..end, true).unwrap_or(pos + 1);
                                }
                            }
                            _ => {
                                run.all(ri, w.start..end);
                            }
                        }
                    }
                }
            }
            wins.clear();
            scratch.windows[ri] = wins;
        }

        // 3. Resolve overlaps between rules.
        resolve_overlaps(&mut scratch.candidates, &self.rules, out);
    }
}

/// Past a window's end while inside a word, so that `\b` at a pattern's end sees the real
/// next byte rather than the window edge.
fn word_end(hay: &[u8], end: usize) -> usize {
    let limit = end.saturating_add(WORD_EXTENSION).min(hay.len());
    let mut end = end;
    while end < limit && is_word_byte(hay[end]) {
        end += 1;
    }
    end
}

/// One rule's regex over one buffer: searches, then the filters and the validator.
struct Runner<'a> {
    rule: &'a Rule,
    pat: &'a Pattern,
    hay: &'a [u8],
    caps: &'a mut Captures,
    cands: &'a mut Vec<RawMatch>,
}

impl Runner<'_> {
    /// Every match in window `w` (its end already extended to the end of a word).
    /// Returns where the search after the last match would start, if anything matched.
    fn all(&mut self, ri: usize, w: Range<usize>) -> Option<usize> {
        let (mut at, mut last) = (w.start, None);
        while at <= w.end {
            match self.once(ri, at..w.end, false) {
                Some(next) => {
                    at = next;
                    last = Some(next);
                }
                None => break,
            }
        }
        last
    }

    /// The windows of an [`Anchor::Run`] rule, sorted by start (each one's start is a run
    /// start): one anchored search each, unless a cluster of overlapping windows is so dense
    /// that searching each would cost more than twice one unanchored search over the
    /// cluster (`password=password=...`); then that one search, which keeps the work linear.
    /// Returns the cluster bytes, the windows' merged size.
    fn runs(&mut self, ri: usize, wins: &[Range<usize>]) -> u64 {
        let mut bytes = 0;
        let mut last_end = 0;
        let mut i = 0;
        while i < wins.len() {
            let (start, mut end, mut sum) = (wins[i].start, wins[i].end, wins[i].len());
            let mut j = i + 1;
            while j < wins.len() && wins[j].start <= end {
                end = end.max(wins[j].end);
                sum += wins[j].len();
                j += 1;
            }
            bytes += (end - start) as u64;
            if sum <= 2 * (end - start) {
                for w in &wins[i..j] {
                    let from = w.start.max(last_end);
                    if from < w.end
                        && let Some(next) = self.once(ri, from..word_end(self.hay, w.end), true)
                    {
                        last_end = next;
                    }
                }
            } else if let Some(next) = self.all(ri, start.max(last_end)..word_end(self.hay, end)) {
                last_end = next;
            }
            i = j;
        }
        bytes
    }

    /// One search in `range` (anchored at its start or not). `None` when nothing matched;
    /// else where the next search starts (after the match), whether or not the match passed
    /// the filters and became a candidate.
    fn once(&mut self, ri: usize, range: Range<usize>, anchored: bool) -> Option<usize> {
        let (rule, pat, hay) = (self.rule, self.pat, self.hay);
        let mut input = Input::new(&hay[..range.end]).range(range);
        if anchored {
            input = input.anchored(regex_automata::Anchored::Yes);
        }
        pat.re.search_captures(&input, self.caps);
        let whole = self.caps.get_match()?.range();
        let next = if whole.end > whole.start {
            whole.end
        } else {
            whole.end + 1
        };
        let Some(sec) = pat
            .secret_groups
            .iter()
            .find_map(|&g| self.caps.get_group(g))
        else {
            return Some(next);
        };
        let sec = sec.range();
        let secret = &hay[sec.clone()];
        let before = sec.start.checked_sub(1).map(|i| hay[i]);
        if filter::is_placeholder(secret, before) {
            return Some(next);
        }
        // A typed sequence is no secret to a generic detector; a provider rule keeps it
        // (its format and context matched) as a likely placeholder, ranked low by the
        // blast model, and its entropy says nothing more.
        let sequential = filter::looks_sequential(filter::strip_prefix(secret));
        if sequential && rule.generic {
            return Some(next);
        }
        if !sequential
            && let Some(min) = rule.min_entropy
            && filter::entropy(filter::strip_prefix(secret)) < min
        {
            return Some(next);
        }
        let name = pat
            .name_group
            .and_then(|g| self.caps.get_group(g))
            .map(|m| &hay[m.range()]);
        let validated = match rule.validator {
            Some(v) if !v.check_with_name(secret, name) => return Some(next),
            Some(v) => v.proves_format(),
            None => false,
        };
        self.cands.push(RawMatch {
            rule: ri,
            secret: sec,
            whole,
            validated,
        });
        Some(next)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn merge(mut wins: Vec<Range<usize>>) -> Vec<Range<usize>> {
    wins.sort_unstable_by_key(|w| w.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(wins.len());
    for w in wins {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// Keeps, among candidates whose secrets overlap, the best one: a specific rule beats a
/// generic one, a provider's rule beats a Generic-provider one (so `.npmrc` auth lines go to
/// the npm rule, not to the generic assignment detector), then the longer secret, then a
/// validated match, then the earlier rule.
/// Identical matches from the same rule (found in two windows) collapse to one.
fn resolve_overlaps(cands: &mut Vec<RawMatch>, rules: &[CompiledRule], out: &mut Vec<RawMatch>) {
    if cands.is_empty() {
        return;
    }
    let rank = |m: &RawMatch| {
        let r = &rules[m.rule].rule;
        (
            !r.generic,
            r.provider != "Generic",
            m.secret.len(),
            m.validated,
            std::cmp::Reverse(m.rule),
        )
    };
    // Best first, so a greedy sweep keeps the best of each overlapping cluster.
    cands.sort_unstable_by(|a, b| {
        rank(b)
            .cmp(&rank(a))
            .then(a.secret.start.cmp(&b.secret.start))
    });
    // Kept secrets never overlap, so in (start, end) order their ends ascend too: the kept
    // secret starting last before a candidate's end is the only one that can overlap it.
    // (A scan of every kept match per candidate was quadratic: a file of 100,000 tokens
    // took seconds, of 1,000,000 minutes.)
    let mut kept: Vec<RawMatch> = Vec::new();
    let mut taken: std::collections::BTreeSet<(usize, usize)> = Default::default();
    for c in cands.drain(..) {
        let overlaps = taken
            .range(..(c.secret.end, 0))
            .next_back()
            .is_some_and(|&(_, end)| c.secret.start < end);
        if !overlaps {
            taken.insert((c.secret.start, c.secret.end));
            kept.push(c);
        }
    }
    kept.sort_unstable_by_key(|m| (m.secret.start, m.rule));
    out.extend(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{DEFAULT_LOOKBEHIND, DEFAULT_WINDOW};

    /// A rule set of `[[rule]]` blocks made by [`rule`].
    fn set(rules: &[String]) -> RuleSet {
        let mut s = RuleSet::default();
        s.add_file("t.toml", &format!("provider = \"T\"\n{}", rules.concat()))
            .unwrap();
        s
    }

    /// A rule with placeholder metadata: `extra` holds any further TOML lines.
    fn rule(id: &str, keyword: &str, extra: &str, pattern: &str) -> String {
        format!(
            "[[rule]]\nid = \"{id}\"\nname = \"n\"\nkind = \"k\"\ndescription = \"d\"\n\
             keywords = [\"{keyword}\"]\n{extra}\npattern = '{pattern}'\nscope = \"fixed-broad\"\n\
             lifetime = \"never\"\nlifetime_default = \"x\"\nmints = false\nreach = [\"chat\"]\n\
             revoke = \"r\"\n"
        )
    }

    /// A provider rule and a generic one.
    fn two_rules() -> RuleSet {
        set(&[
            rule(
                "t.specific",
                "tok_",
                "",
                r"\b(?P<secret>tok_[a-z0-9]{10})\b",
            ),
            rule(
                "t.generic",
                "secret",
                "generic = true",
                r"secret\s*=\s*(?P<secret>[a-z0-9_]{8,})",
            ),
        ])
    }

    #[test]
    fn specific_beats_generic_and_windows_merge() {
        let e = Engine::new(&two_rules()).unwrap();
        let mut s = Scratch::default();
        let hay = b"secret = tok_a1b2c3d4e5\nTOK_ tok_z9y8x7w6v5 secret=qwpoeiruty12";
        let ms = e.scan(hay, &mut s);
        let ids: Vec<_> = ms.iter().map(|m| e.rule(m.rule).id.as_str()).collect();
        assert_eq!(ids, ["t.specific", "t.specific", "t.generic"]);
        assert_eq!(&hay[ms[0].secret.clone()], b"tok_a1b2c3d4e5");
    }

    fn named_groups() -> RuleSet {
        set(&[rule(
            "t.assign",
            "token",
            "generic = true\nvalidator = \"generic_value\"",
            r#"(?P<name>\w*(?i:token)\w*)\s*=\s*(?:"(?P<secret>[^"]+)"|(?P<secret_bare>[^\s"]+))"#,
        )])
    }

    #[test]
    fn alternative_secret_groups_and_name_reach_the_validator() {
        let e = Engine::new(&named_groups()).unwrap();
        let mut s = Scratch::default();
        let hay = b"API_TOKEN = \"Zf3D0LXCM3EIMbgJpUNnkRtO\"\nBOT_TOKEN = xq8M2nV7pL0sK4rT9wY3\n\
                    csrf_token = Zf3D0LXCM3EIMbgJpUNnkRtO\ntoken = config.api_token\n";
        let ms = e.scan(hay, &mut s);
        let found: Vec<&[u8]> = ms.iter().map(|m| &hay[m.secret.clone()]).collect();
        assert_eq!(
            found,
            [&b"Zf3D0LXCM3EIMbgJpUNnkRtO"[..], b"xq8M2nV7pL0sK4rT9wY3"]
        );
        // A heuristic judgement is not a checksum.
        assert!(ms.iter().all(|m| !m.validated));
    }

    /// A token found near a keyword that is not part of it, and a case-insensitive one.
    fn context_keyword() -> RuleSet {
        set(&[
            rule("t.context", "nuget", "", r"\b(?P<secret>oy2[a-z0-9]{43})\b"),
            rule(
                "t.caseless",
                "tok_",
                "",
                r"(?i)\b(?P<secret>tok_[a-z0-9]{10})\b",
            ),
        ])
    }

    #[test]
    fn windows_shrink_only_where_every_match_starts_with_a_keyword() {
        let e = Engine::new(&two_rules()).unwrap();
        // `\b(?P<secret>tok_[a-z0-9]{10})\b`: starts at its keyword, at most 14 bytes.
        let bounds = |r: &CompiledRule| {
            let (lookbehind, window, _) = r.placement();
            (lookbehind, window)
        };
        assert_eq!(bounds(&e.rules[0]), (0, 14));
        // Starts with its keyword but has no maximum length: declared bounds.
        assert_eq!(bounds(&e.rules[1]), (DEFAULT_LOOKBEHIND, DEFAULT_WINDOW));
        let e = Engine::new(&context_keyword()).unwrap();
        // The keyword is context before the token, not part of it.
        assert_eq!(bounds(&e.rules[0]), (DEFAULT_LOOKBEHIND, DEFAULT_WINDOW));
        // Case-insensitive: the pattern starts with classes, not a literal.
        assert_eq!(bounds(&e.rules[1]), (DEFAULT_LOOKBEHIND, DEFAULT_WINDOW));
    }

    #[test]
    fn required_bytes_are_found_in_every_branch_and_only_there() {
        let req = |p: &str| {
            let hir = regex_syntax::ParserBuilder::new()
                .unicode(false)
                .utf8(false)
                .build()
                .parse(p)
                .unwrap();
            required_byte(&hir)
        };
        assert_eq!(
            req(r"(?i)\b(?:redis|amqp)://[^:@]*:(?P<secret>[^@]+)@\w+"),
            Some(b'@')
        );
        // Rarest first: `@` before `:` and `/`.
        assert_eq!(req(r"[a-z]+://\w+:\w+@\w+"), Some(b'@'));
        // One branch lacks it: only what both have.
        assert_eq!(req(r"(?:\w+@\w+:x|\w+:y)"), Some(b':'));
        // Optional: not required.
        assert_eq!(req(r"\w+(?:@\w+)?"), None);
        assert_eq!(req(r"\w+(?:@\w+)+"), Some(b'@'));
        // Letters are not worth a memchr.
        assert_eq!(req(r"secret\w+"), None);
    }

    #[test]
    fn a_window_without_the_required_byte_is_skipped_and_one_with_it_is_not() {
        let e = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
        let mut s = Scratch::default();
        let hay = b"see https://example.org/docs and\nredis://default:Qx7fT2mLp9aZ@cache.internal:6379/0\n";
        let ms = e.scan(hay, &mut s);
        let found: Vec<&[u8]> = ms.iter().map(|m| &hay[m.secret.clone()]).collect();
        assert_eq!(found, [&b"Qx7fT2mLp9aZ"[..]]);
    }

    #[test]
    fn a_window_that_starts_at_the_hit_still_sees_the_byte_before_it() {
        let e = Engine::new(&two_rules()).unwrap();
        let mut s = Scratch::default();
        // `\b` before the token looks at the byte before the window: `x` is a word byte.
        let hay = b"xtok_a1b2c3d4e5 tok_a1b2c3d4e6 tok_a1b2c3d4e7x";
        let ms = e.scan(hay, &mut s);
        let found: Vec<&[u8]> = ms.iter().map(|m| &hay[m.secret.clone()]).collect();
        assert_eq!(found, [&b"tok_a1b2c3d4e6"[..]]);
        // At the very start and end of the buffer.
        let ms = e.scan(b"tok_a1b2c3d4e5", &mut s);
        assert_eq!(ms.len(), 1);
    }

    #[test]
    fn word_boundary_at_window_edge() {
        let e = Engine::new(&two_rules()).unwrap();
        let mut s = Scratch::default();
        // The keyword hit's window (256 bytes) ends inside a long word: no false match.
        let mut hay = b"tok_".to_vec();
        hay.extend(std::iter::repeat_n(b'a', 300));
        assert!(e.scan(&hay, &mut s).is_empty());
    }

    #[test]
    fn dense_keywords_stay_linear_and_find_nothing() {
        let e = Engine::new(&two_rules()).unwrap();
        let mut s = Scratch::default();
        let hay = b"secret=".repeat(100_000);
        assert!(e.scan(&hay, &mut s).is_empty());
    }

    /// The interval check keeps exactly what the all-pairs check kept.
    #[test]
    fn overlap_resolution_matches_all_pairs() {
        let e = Engine::new(&two_rules()).unwrap();
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..500 {
            let mut cands: Vec<RawMatch> = (0..next(12))
                .map(|_| {
                    let start = next(40);
                    RawMatch {
                        rule: next(2),
                        secret: start..start + next(8),
                        whole: 0..0,
                        validated: next(2) == 0,
                    }
                })
                .collect();
            let mut sorted = cands.clone();
            let rank = |m: &RawMatch| {
                let r = &e.rules[m.rule].rule;
                (
                    !r.generic,
                    r.provider != "Generic",
                    m.secret.len(),
                    m.validated,
                    std::cmp::Reverse(m.rule),
                )
            };
            sorted.sort_unstable_by(|a, b| {
                rank(b)
                    .cmp(&rank(a))
                    .then(a.secret.start.cmp(&b.secret.start))
            });
            let mut want: Vec<RawMatch> = Vec::new();
            for c in sorted {
                if !want
                    .iter()
                    .any(|k| k.secret.start < c.secret.end && c.secret.start < k.secret.end)
                {
                    want.push(c);
                }
            }
            want.sort_unstable_by_key(|m| (m.secret.start, m.rule));
            let mut got = Vec::new();
            resolve_overlaps(&mut cands, &e.rules, &mut got);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn anchors_are_read_from_the_pattern() {
        let kind = |p: &str| {
            let r = rule("t.x", "tok", "", p);
            let e = Engine::new(&set(&[r])).unwrap();
            match &e.rules[0].regex().unwrap().anchor {
                Anchor::Any => "any",
                Anchor::Literal(_) => "literal",
                Anchor::Run(_) => "run",
            }
        };
        assert_eq!(kind(r"\b(?P<secret>ion_[A-Za-z0-9]{42})\b"), "literal");
        assert_eq!(kind(r"(?P<secret>xoxb-[0-9]+)"), "literal");
        // A run of name bytes, then what starts with a name byte.
        assert_eq!(
            kind(r"(?P<name>[\w.-]*(?i:pass|pwd)[\w.-]*)=(?P<secret>\w+)"),
            "run"
        );
        assert_eq!(kind(r"(?i)[a-z]*token=(?P<secret>\w+)"), "run");
        // What follows the run may start outside it, or be empty: no anchor.
        assert_eq!(kind(r"[\w]*(?:=|pass)(?P<secret>\w+)"), "any");
        assert_eq!(kind(r"[\w]*(?:pass)?=(?P<secret>\w+)"), "any");
        // A bounded run, a leading class, a case-insensitive word: no anchor.
        assert_eq!(kind(r"[\w]{0,8}pass=(?P<secret>\w+)"), "any");
        assert_eq!(kind(r"(?i)token=(?P<secret>\w+)"), "any");
        let embedded = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
        let of = |id: &str| {
            let i = embedded.rules.iter().position(|r| r.rule.id == id).unwrap();
            match &embedded.rules[i].regex().unwrap().anchor {
                Anchor::Any => "any",
                Anchor::Literal(_) => "literal",
                Anchor::Run(_) => "run",
            }
        };
        for id in [
            "generic.password",
            "generic.secret",
            "generic.token",
            "generic.key",
        ] {
            assert_eq!(of(id), "run", "{id}");
        }
        // `nimble SECRET value`: the name starts a word before the keyword, past a space.
        assert_eq!(of("generic.keyword_value"), "any");
        assert_eq!(of("ionic.personal_access_token"), "literal");
    }

    /// Anchored searches find what unanchored searches over the merged windows find, on
    /// every rule example of the embedded set.
    #[test]
    fn anchored_and_unanchored_agree_on_every_rule_example() {
        let e = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
        let mut s = Scratch::default();
        for r in &e.rules {
            for ex in r.rule.examples.iter().chain(&r.rule.negative_examples) {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                e.scan_anchored(ex.as_bytes(), &mut s, &mut a, true);
                e.scan_anchored(ex.as_bytes(), &mut s, &mut b, false);
                assert_eq!(a, b, "rule {}: {ex:?}", r.rule.id);
            }
        }
    }

    /// Texts built from keyword, name, operator and value pieces, dense enough that windows
    /// overlap, anchored runs cluster and matches run into each other.
    fn assignment_text() -> impl proptest::strategy::Strategy<Value = String> {
        let piece = proptest::sample::select(vec![
            "password",
            "pass",
            "PWD",
            "db_",
            "secret",
            "Token",
            "api_key",
            "key",
            "ion_",
            "pat",
            "x.",
            "-",
            "_",
            "=",
            " = ",
            ": ",
            ":=",
            "=>",
            "\"",
            "'",
            "`",
            " ",
            "\t",
            "\n",
            "(",
            ",",
            ";",
            "value: ",
            "hBNP9o!2E5d2",
            "Qx7fT2mLp9aZ",
            "aB3dE6gH9jK2mN5p",
            "0123abcdABCD7890wxyzWXYZ4567efgh",
            "q",
            "Z9",
        ]);
        use proptest::strategy::Strategy;
        proptest::collection::vec(piece, 0..80).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn anchored_and_unanchored_agree(text in assignment_text()) {
            let e = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
            let mut s = Scratch::default();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            e.scan_anchored(text.as_bytes(), &mut s, &mut a, true);
            e.scan_anchored(text.as_bytes(), &mut s, &mut b, false);
            proptest::prop_assert_eq!(a, b);
        }
    }

    proptest::proptest! {
        #[test]
        fn engine_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let e = Engine::new(&RuleSet::embedded().unwrap()).unwrap();
            let mut s = Scratch::default();
            for m in e.scan(&bytes, &mut s) {
                proptest::prop_assert!(m.secret.end <= bytes.len());
            }
        }
    }
}

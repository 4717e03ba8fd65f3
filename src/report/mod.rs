//! The report model: findings grouped by secret value, scored, ranked.
//!
//! One leaked value is one thing to revoke, wherever it appears, so the unit of the report is
//! the *group* (a value, its locations, its blast radius), not the match. The value itself is
//! never stored in a report: groups carry a redacted form and a fingerprint (SHA-256, or
//! HMAC-SHA-256 under a user key so a published baseline cannot be used to test guesses),
//! unless the user asks for `--reveal-secrets`.

pub mod human;
pub mod json;
pub mod sarif;

use crate::blast::{self, Blast, Level};
use crate::introspect;
use crate::matcher::Engine;
use crate::model::{Finding, Location, Stats, Warning};
use hmac::{KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Shows a secret's structural prefix and a couple of characters, then its length:
/// `ghp_eG…(40)`. Short values show nothing but their length.
pub fn redact(secret: &[u8]) -> String {
    let s = String::from_utf8_lossy(secret);
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n < 12 {
        return format!("…({n})");
    }
    // The prefix is ASCII: its byte length is its length in chars.
    let prefix_chars = provider_prefix_len(secret);
    // Never show more than a tenth of the value beyond a provider prefix, at most 2 chars.
    let show = prefix_chars + ((n - prefix_chars) / 10).min(2);
    let shown: String = chars[..show.min(n / 2)].iter().collect();
    format!("{shown}…({n})")
}

/// Length of a provider prefix worth showing (`ghp_`, `sk_live_`, `xoxb-`, `github_pat_`):
/// letters and `_`/`-` only, ending in a separator, within the first 16 bytes, with more than
/// 12 bytes after it. A value that merely has a dash early has none: a UUID's first groups
/// are secret (the fuzzer found `b5b2260c-871a-93…(40)` showing 16 characters, among them
/// all of another value found beside it).
fn provider_prefix_len(secret: &[u8]) -> usize {
    let mut end = 0;
    for (i, &b) in secret.iter().take(16).enumerate() {
        match b {
            b'_' | b'-' => end = i + 1,
            b if b.is_ascii_alphabetic() => {}
            _ => break,
        }
    }
    if secret.len() - end > 12 { end } else { 0 }
}

/// Hex SHA-256 of the value, or HMAC-SHA-256 when a key is given.
pub fn fingerprint(secret: &[u8], key: Option<&[u8]>) -> String {
    let bytes: Vec<u8> = match key {
        Some(k) => match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(k) {
            Ok(mut mac) => {
                mac.update(secret);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Sha256::digest(secret).to_vec(),
        },
        None => Sha256::digest(secret).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3339 UTC timestamp for seconds since the epoch (civil-from-days, no time crate).
pub fn rfc3339(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// One secret value: what it is, how bad, where.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub fingerprint: String,
    pub rule: String,
    pub name: String,
    pub provider: String,
    pub kind: String,
    /// Redacted unless `--reveal-secrets`.
    pub secret: String,
    pub confidence: crate::rules::Confidence,
    pub validated: bool,
    pub blast: Blast,
    pub nhi: Vec<&'static str>,
    pub cwe: Vec<&'static str>,
    pub remediation: String,
    /// Other parts of the same credential found next to it (e.g. AWS key id + secret).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<Companion>,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Companion {
    pub rule: String,
    pub fingerprint: String,
    pub secret: String,
    /// Where the companion part was found (`path:line`), all of its locations.
    pub locations: Vec<String>,
}

/// Counts of findings that suppression removed, by mechanism.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Suppressed {
    pub inline: u64,
    pub baseline: u64,
    pub config: u64,
}

impl Suppressed {
    pub fn total(&self) -> u64 {
        self.inline + self.baseline + self.config
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// The whole result of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: Tool,
    /// `sha256` or `hmac-sha256`.
    pub fingerprint_kind: &'static str,
    pub stats: Stats,
    pub summary: BTreeMap<&'static str, usize>,
    pub suppressed: Suppressed,
    pub warnings: Vec<Warning>,
    pub groups: Vec<Group>,
    /// The rules that produced groups, in first-group order (for SARIF's rule metadata).
    #[serde(skip)]
    pub rules: Vec<crate::rules::Rule>,
}

/// How to build a report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub reveal: bool,
    pub fingerprint_key: Option<Vec<u8>>,
    /// Seconds since the epoch (`None`: now).
    pub now: Option<i64>,
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// (line, rule index, value) of a finding, indexed by (root, path) for companion pairing.
type NearFinding<'a> = (usize, usize, &'a [u8]);

/// Lines within which parts of one credential (key id + secret) are paired.
const COMPANION_LINES: usize = 5;

/// Groups findings by value, introspects and scores each group, and ranks them.
pub fn build(
    engine: &Engine,
    findings: Vec<Finding>,
    warnings: Vec<Warning>,
    stats: Stats,
    suppressed: Suppressed,
    opts: &ReportOptions,
) -> Report {
    let now = opts.now.unwrap_or_else(now_secs);
    let key = opts.fingerprint_key.as_deref();

    // Group by value; keep the best rule seen for it (a specific rule over a generic one).
    let mut by_value: HashMap<Vec<u8>, Vec<Finding>> = HashMap::new();
    for f in findings {
        by_value.entry(f.secret.clone()).or_default().push(f);
    }

    // Index of (root, path, line) → (rule, value) for companion pairing.
    let mut near: HashMap<(usize, &str), Vec<NearFinding<'_>>> = HashMap::new();
    for (value, fs) in &by_value {
        for f in fs {
            near.entry((f.location.root, f.location.path.as_str()))
                .or_default()
                .push((f.location.line, f.rule, value.as_slice()));
        }
    }

    // Decoded facts quote parts of a match (a SAS's key name, a URI's user, a key's
    // comment) and can thus quote another found value verbatim, and a snippet can show a
    // value found in another file: those are redacted there too.
    let scrubber = (!opts.reveal).then(|| Scrubber::new(by_value.keys()));

    let mut groups: Vec<Group> = Vec::with_capacity(by_value.len());
    for (value, mut fs) in by_value.iter().map(|(v, f)| (v, f.clone())) {
        let best = fs
            .iter()
            .max_by_key(|f| {
                let r = engine.rule(f.rule);
                (!r.generic, f.validated, std::cmp::Reverse(f.rule))
            })
            .map(|f| f.rule)
            .unwrap_or(0);
        let rule = engine.rule(best);
        let validated = fs.iter().any(|f| f.validated && f.rule == best);
        // One location per place: for history, per path, keeping the introducing (earliest)
        // commit, since later commits that merely kept the line are not new leaks.
        fs.sort_by(|a, b| {
            let (la, lb) = (&a.location, &b.location);
            let ta = la.git.as_ref().map(|g| g.timestamp);
            let tb = lb.git.as_ref().map(|g| g.timestamp);
            (la.root, &la.path, ta.is_some(), ta, la.line, la.column).cmp(&(
                lb.root,
                &lb.path,
                tb.is_some(),
                tb,
                lb.line,
                lb.column,
            ))
        });
        fs.dedup_by(|later, first| {
            let (a, b) = (&later.location, &first.location);
            a.root == b.root
                && a.path == b.path
                && match (&a.git, &b.git) {
                    (Some(_), Some(_)) => true,
                    (None, None) => a.line == b.line && a.column == b.column,
                    _ => false,
                }
        });
        // Introspection: the secret, or the whole match when the decoder needs context.
        let facts = match &rule.introspect {
            Some(d) => {
                let f = fs.iter().find(|f| f.rule == best).unwrap_or(&fs[0]);
                let secret = String::from_utf8_lossy(&f.secret);
                let context = String::from_utf8_lossy(&f.context);
                // Decoders that read fields around the secret (a service-account JSON around
                // its key) get the whole match first; others the secret, then the match.
                let (first, second) = if d == "gcp_service_account" {
                    (&context, &secret)
                } else {
                    (&secret, &context)
                };
                let mut facts = introspect::introspect(d, first);
                if facts.is_empty() {
                    facts = introspect::introspect(d, second);
                }
                if let Some(s) = &scrubber {
                    s.scrub(&mut facts);
                }
                facts
            }
            None => introspect::Facts::default(),
        };

        // Companions: other parts of one credential within a few lines.
        let mut companions: Vec<Companion> = Vec::new();
        if !rule.companions.is_empty() {
            for f in &fs {
                let Some(list) = near.get(&(f.location.root, f.location.path.as_str())) else {
                    continue;
                };
                for &(line, ri, other) in list {
                    let other_rule = engine.rule(ri);
                    if rule.companions.contains(&other_rule.id)
                        && line.abs_diff(f.location.line) <= COMPANION_LINES
                        && other != value.as_slice()
                        && !companions.iter().any(|c| c.rule == other_rule.id)
                    {
                        companions.push(Companion {
                            rule: other_rule.id.clone(),
                            fingerprint: fingerprint(other, key),
                            secret: show(other, opts.reveal),
                            locations: Vec::new(),
                        });
                    }
                }
            }
        }
        let companion_names: Vec<String> = companions
            .iter()
            .map(|c| engine_rule_name(engine, &c.rule))
            .collect();

        let mut locations: Vec<Location> = fs.into_iter().map(|f| f.location).collect();
        // A snippet hides the values found in its own buffer; one found in another file (or
        // archive member) and repeated unmatched on this line is hidden here.
        if let Some(s) = &scrubber {
            for l in &mut locations {
                if let Some(clean) = s.text(&l.snippet) {
                    l.snippet = clean;
                }
            }
        }
        let typed_sequence =
            crate::matcher::filter::looks_sequential(crate::matcher::filter::strip_prefix(value));
        let blast = blast::assess(&blast::Input {
            rule,
            facts: &facts,
            locations: &locations,
            validated,
            companions: &companion_names,
            typed_sequence,
            now,
        });
        let nhi = blast::nhi_ids(rule, &blast, &locations);
        groups.push(Group {
            fingerprint: fingerprint(value, key),
            rule: rule.id.clone(),
            name: facts.kind.clone().unwrap_or_else(|| rule.name.clone()),
            provider: rule.provider.clone(),
            kind: rule.kind.clone(),
            secret: show(value, opts.reveal),
            confidence: if typed_sequence {
                crate::rules::Confidence::Low
            } else {
                rule.confidence
            },
            validated,
            nhi,
            cwe: blast::cwe_ids(rule),
            remediation: rule.revoke.clone(),
            blast,
            companions,
            locations,
        });
    }

    fold_companions(&mut groups, engine);
    groups.sort_by(|a, b| {
        b.blast
            .score
            .total_cmp(&a.blast.score)
            .then(b.locations.len().cmp(&a.locations.len()))
            .then(a.rule.cmp(&b.rule))
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    let mut rules: Vec<crate::rules::Rule> = Vec::new();
    for g in &groups {
        if !rules.iter().any(|r| r.id == g.rule)
            && let Some(r) = (0..engine.rule_count())
                .map(|i| engine.rule(i))
                .find(|r| r.id == g.rule)
        {
            rules.push(r.clone());
        }
    }
    let mut summary = BTreeMap::new();
    for l in [Level::Critical, Level::High, Level::Medium, Level::Low] {
        summary.insert(
            l.as_str(),
            groups.iter().filter(|g| g.blast.level == l).count(),
        );
    }
    Report {
        tool: Tool {
            name: "blastradius",
            version: env!("CARGO_PKG_VERSION"),
        },
        fingerprint_kind: if key.is_some() {
            "hmac-sha256"
        } else {
            "sha256"
        },
        stats,
        summary,
        suppressed,
        warnings,
        groups,
        rules,
    }
}

/// Multi-part credentials (key id + secret, SID + token) are one thing to revoke: the part
/// whose rule comes first in the rule set absorbs the others that were found next to it; they
/// stay visible as its `companions`, with their own fingerprints and locations.
fn fold_companions(groups: &mut Vec<Group>, engine: &Engine) {
    let position = |id: &str| {
        (0..engine.rule_count())
            .position(|i| engine.rule(i).id == id)
            .unwrap_or(usize::MAX)
    };
    let by_fp: HashMap<String, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.fingerprint.clone(), i))
        .collect();
    let mut absorbed = vec![false; groups.len()];
    for a in 0..groups.len() {
        if absorbed[a] {
            continue;
        }
        for c in 0..groups[a].companions.len() {
            let Some(&b) = by_fp.get(&groups[a].companions[c].fingerprint) else {
                continue;
            };
            if b == a || absorbed[b] || position(&groups[b].rule) < position(&groups[a].rule) {
                continue;
            }
            // Fold only when every occurrence of the part sits next to this credential: an
            // AWS secret key also found alone in another file is still a finding there.
            let paired = groups[b].locations.iter().all(|l| {
                groups[a].locations.iter().any(|m| {
                    m.root == l.root
                        && m.path == l.path
                        && m.line.abs_diff(l.line) <= COMPANION_LINES
                })
            });
            if !paired {
                continue;
            }
            absorbed[b] = true;
            let locs: Vec<String> = groups[b]
                .locations
                .iter()
                .map(|l| format!("{}:{}", l.path, l.line))
                .collect();
            groups[a].companions[c].locations = locs;
        }
    }
    let mut i = 0;
    groups.retain(|_| {
        i += 1;
        !absorbed[i - 1]
    });
}

fn engine_rule_name(engine: &Engine, id: &str) -> String {
    (0..engine.rule_count())
        .map(|i| engine.rule(i))
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Shortest found value redacted inside facts (shorter ones redact to nothing but a length).
const MIN_SCRUBBED: usize = 12;

/// Finds the report's secret values inside decoded text, in one pass per text.
struct Scrubber<'v> {
    values: Vec<&'v [u8]>,
    ac: Option<aho_corasick::AhoCorasick>,
}

impl<'v> Scrubber<'v> {
    fn new(values: impl Iterator<Item = &'v Vec<u8>>) -> Scrubber<'v> {
        let values: Vec<&[u8]> = values
            .map(Vec::as_slice)
            .filter(|v| v.len() >= MIN_SCRUBBED)
            .collect();
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&values)
            .ok();
        Scrubber { values, ac }
    }

    fn text(&self, s: &str) -> Option<String> {
        let ac = self.ac.as_ref()?;
        let mut out: Vec<u8> = Vec::new();
        let mut at = 0;
        for m in ac.find_iter(s) {
            out.extend_from_slice(&s.as_bytes()[at..m.start()]);
            out.extend_from_slice(redact(self.values[m.pattern().as_usize()]).as_bytes());
            at = m.end();
        }
        if at == 0 {
            return None;
        }
        out.extend_from_slice(&s.as_bytes()[at..]);
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    fn scrub(&self, facts: &mut introspect::Facts) {
        for v in facts.fields.values_mut() {
            if let Some(clean) = self.text(v) {
                *v = clean;
            }
        }
        if let Some(k) = facts.kind.as_mut()
            && let Some(clean) = self.text(k)
        {
            *k = clean;
        }
    }
}

fn show(secret: &[u8], reveal: bool) -> String {
    if reveal {
        String::from_utf8_lossy(secret).into_owned()
    } else {
        redact(secret)
    }
}

impl Report {
    /// Groups at or above `level`.
    pub fn count_at_least(&self, level: Level) -> usize {
        self.groups
            .iter()
            .filter(|g| g.blast.level >= level)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_body() {
        assert_eq!(
            redact(b"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"),
            "ghp_eG…(40)"
        );
        assert_eq!(redact(b"hunter2"), "…(7)");
        assert_eq!(
            redact(b"sk_live_51H8abcdefghijklmnopqrstuv"),
            "sk_live_51…(34)"
        );
        assert_eq!(
            redact(b"xoxb-1234567890-0987654321-abcdefghijkl"),
            "xoxb-12…(39)"
        );
        // A UUID-shaped value has no provider prefix: two characters show, no more.
        assert_eq!(redact(b"b5b2260c-871a-93b3-f581-10cbbk60QUe0"), "b5…(36)");
        let r = redact(b"Tr0ub4dor&3xyzzy");
        assert!(r.ends_with("…(16)") && r.chars().count() <= 8, "{r}");
        assert_eq!(
            redact("pässwörd-ünïcode-long".as_bytes()).chars().last(),
            Some(')')
        );
    }

    /// Fuzzer find (scan_blob): a SAS whose `skn` (key name, copied into the facts) held a
    /// value found as a secret elsewhere put that value in the report verbatim.
    #[test]
    fn facts_never_quote_a_found_value() {
        let set = crate::rules::RuleSet::embedded().unwrap();
        let engine = std::sync::Arc::new(Engine::new(&set).unwrap());
        let scanner = crate::scan::Scanner::new(engine.clone(), Default::default());
        let tok = "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";
        let data = format!(
            "GITHUB_TOKEN={tok}\nAuthorization: SharedAccessSignature sr=https%3A%2F%2Facme-orders.servicebus.windows.net%2Forders&sig=ECHTfhxYzpFbjnAvLhMLDN%2BM3tpZkpRXl2qeckbq%2BhA%3D&se=1767225600&skn=x{tok}\n"
        );
        let meta = crate::scan::BlobMeta {
            path: "x",
            root: 0,
            root_name: "r",
            git: None,
            decoded: &[],
        };
        let found = scanner
            .scan_blob(data.as_bytes(), &meta, &mut Default::default())
            .unwrap();
        let opts = ReportOptions::default();
        let rep = build(
            &engine,
            found,
            vec![],
            Default::default(),
            Default::default(),
            &opts,
        );
        let sas = rep.groups.iter().find(|g| g.rule == "azure.servicebus.sas");
        let key_name = sas.and_then(|g| g.blast.facts.fields.get("key_name"));
        assert_eq!(key_name.map(String::as_str), Some("xghp_eG…(40)"));
        let json = serde_json::to_string(&rep).unwrap();
        assert!(!json.contains(tok));
        let revealed = ReportOptions {
            reveal: true,
            ..ReportOptions::default()
        };
        let found = scanner
            .scan_blob(data.as_bytes(), &meta, &mut Default::default())
            .unwrap();
        let rep = build(
            &engine,
            found,
            vec![],
            Default::default(),
            Default::default(),
            &revealed,
        );
        assert!(serde_json::to_string(&rep).unwrap().contains(tok));
    }

    #[test]
    fn fingerprints() {
        let plain = fingerprint(b"abc", None);
        assert_eq!(
            plain,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let keyed = fingerprint(b"abc", Some(b"k"));
        assert_ne!(plain, keyed);
        assert_eq!(keyed.len(), 64);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}

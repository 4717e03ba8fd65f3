//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).
//!
//! Mapping from the report model:
//!
//! - **One result per location.** A group (one secret value) found in three places gives three
//!   results, each pointing at its place and listing the other places as `relatedLocations`
//!   ("same secret"), so every place shows up in code scanning and each can be fixed and closed.
//! - **Severity.** A result's `level` comes from the group's blast level (critical/high →
//!   `error`, medium → `warning`, low → `note`); its `properties["security-severity"]` is the
//!   group's blast score ("8.4"), which GitHub turns into its Critical/High/Medium/Low label.
//! - **Rules.** Only the rules that produced results are listed, once each. A rule's default
//!   `security-severity` (and `defaultConfiguration.level`) is the blast model applied to the
//!   rule's metadata alone — scope, lifetime, minting, reach, confidence and, for rules with an
//!   offline checksum, evidence — with no location, introspection or history facts; a result's
//!   own score can be higher or lower. `precision` is `very-high` for rules with an offline
//!   validator or high confidence (and a provider-specific pattern), `high` for high-confidence
//!   generic patterns, else the rule's confidence (`medium`, `low`).
//! - **Fingerprints.** `secretHash/v1` is the group fingerprint (SHA-256 of the value, or
//!   HMAC-SHA-256 under `--fingerprint-key`): location-independent. `primaryLocationLineHash` is
//!   a hash of the redacted line text (whitespace removed) plus an occurrence index among
//!   results in the same file with the same hash (`<16 hex>:<n>`): it does not contain the line
//!   number, so inserting lines above a secret does not change it. Neither has author names,
//!   emails or commit messages in it.
//! - **Paths.** `artifactLocation.uri` is the location's path joined to its scan root as given
//!   on the command line (so `scan src` gives `src/main.rs`), percent-escaped per RFC 3986 and
//!   relative to `%SRCROOT%` (the directory blastradius ran in, normally the checkout). Absolute
//!   paths become `file://` URIs, which GitHub makes relative to the checkout.
//! - **Caps.** At most [`MAX_RESULTS`] results per run, highest blast radius first (the
//!   groups are already ranked), with `run.properties.truncated`/`totalResults` and one line on
//!   stderr when cut; at most [`MAX_RELATED_LOCATIONS`] related locations per result and
//!   [`MAX_RELATED_TOTAL`] per run (a value copied into thousands of files would otherwise
//!   make the log quadratic in size; `run.properties.relatedLocationsTruncated` says so); rule
//!   text fields at most [`MAX_RULE_TEXT`] characters; at most [`MAX_TAGS`] tags per rule.
//!
//! Nothing here reads a secret value: results carry the group's redacted `secret` and the
//! location's redacted `snippet` (both full only when the report was built with
//! `--reveal-secrets`).

use super::{Group, Report};
use crate::blast::{self, Level};
use crate::introspect::Facts;
use crate::model::Location as Loc;
use crate::rules::{Confidence, Rule, Scope};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactContent, ArtifactLocation, Invocation, Location, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/blastradius-scanner/blastradius";
/// GitHub code scanning accepts at most 25,000 results per run.
pub const MAX_RESULTS: usize = 25_000;
/// GitHub code scanning keeps at most 1,000 related locations per result.
pub const MAX_RELATED_LOCATIONS: usize = 1_000;
/// Related locations in a whole run: keeps the log well under GitHub's 10 MB (gzip) upload cap.
pub const MAX_RELATED_TOTAL: usize = 100_000;
/// GitHub truncates rule descriptions beyond 1,024 characters.
pub const MAX_RULE_TEXT: usize = 1_024;
/// GitHub keeps at most 10 tags per rule.
pub const MAX_TAGS: usize = 10;
/// Tool notifications (scan warnings) listed in the run's invocation.
pub const MAX_NOTIFICATIONS: usize = 1_000;
/// The base every relative result URI is resolved against.
pub const SRCROOT: &str = "%SRCROOT%";
/// Reasons quoted in a result message.
const TOP_REASONS: usize = 4;

/// Caps applied while writing; [`Limits::default`] holds GitHub's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_results: usize,
    pub max_related_locations: usize,
    pub max_related_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_results: MAX_RESULTS,
            max_related_locations: MAX_RELATED_LOCATIONS,
            max_related_total: MAX_RELATED_TOTAL,
        }
    }
}

/// How many results a log holds and how many the report had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub emitted: usize,
    pub total: usize,
    /// Whether some result lists fewer related locations than its secret has other places.
    pub related_truncated: bool,
}

impl Counts {
    pub fn truncated(&self) -> bool {
        self.emitted < self.total
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_with_limits(report, out, Limits::default())
}

/// Writes the SARIF log under `limits`; says on stderr when results were cut.
pub fn write_with_limits(report: &Report, out: &mut dyn Write, limits: Limits) -> io::Result<()> {
    let (log, counts) = to_sarif(report, limits);
    if counts.truncated() {
        eprintln!(
            "blastradius: warning: SARIF holds the {} highest-ranked of {} results (code scanning accepts at most {} per run); use --format json for all",
            counts.emitted, counts.total, limits.max_results
        );
    }
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}

/// Builds the SARIF log for `report`.
pub fn to_sarif(report: &Report, limits: Limits) -> (Sarif, Counts) {
    let total: usize = report.groups.iter().map(|g| g.locations.len()).sum();

    // The (group, location) pairs that fit, highest blast radius first.
    let mut picked: Vec<(&Group, usize)> = Vec::new();
    'groups: for g in &report.groups {
        for i in 0..g.locations.len() {
            if picked.len() >= limits.max_results {
                break 'groups;
            }
            picked.push((g, i));
        }
    }
    let mut counts = Counts {
        emitted: picked.len(),
        total,
        related_truncated: false,
    };

    // Rules that produced the emitted results, in first-result order.
    let mut rule_ids: Vec<&str> = Vec::new();
    for (g, _) in &picked {
        if !rule_ids.contains(&g.rule.as_str()) {
            rule_ids.push(g.rule.as_str());
        }
    }
    let rule_index: HashMap<&str, usize> = rule_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let descriptors: Vec<ReportingDescriptor> = rule_ids
        .iter()
        .map(|id| {
            let groups: Vec<&Group> = report.groups.iter().filter(|g| g.rule == *id).collect();
            match report.rules.iter().find(|r| r.id == *id) {
                Some(rule) => rule_descriptor(rule, &groups),
                None => fallback_descriptor(id, &groups),
            }
        })
        .collect();

    // primaryLocationLineHash occurrence indices: per file and line hash, in file order.
    let uris: Vec<(String, bool)> = picked
        .iter()
        .map(|(g, i)| artifact_uri(&g.locations[*i]))
        .collect();
    let line_hashes: Vec<String> = picked
        .iter()
        .map(|(g, i)| line_hash(&g.locations[*i].snippet))
        .collect();
    let mut order: Vec<usize> = (0..picked.len()).collect();
    order.sort_by(|&a, &b| {
        let (la, lb) = (
            &picked[a].0.locations[picked[a].1],
            &picked[b].0.locations[picked[b].1],
        );
        (&uris[a], &line_hashes[a], la.line, la.column, commit_of(la))
            .cmp(&(&uris[b], &line_hashes[b], lb.line, lb.column, commit_of(lb)))
            .then(a.cmp(&b))
    });
    let mut occurrence = vec![0usize; picked.len()];
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for &k in &order {
        let n = seen
            .entry((uris[k].0.as_str(), line_hashes[k].as_str()))
            .or_insert(0);
        *n += 1;
        occurrence[k] = *n;
    }

    let mut related_budget = limits.max_related_total;
    let results: Vec<SarifResult> = picked
        .iter()
        .enumerate()
        .map(|(k, (g, i))| {
            let others = g.locations.len() - 1;
            let related = others.min(limits.max_related_locations).min(related_budget);
            related_budget -= related;
            counts.related_truncated |= related < others;
            let rule = report.rules.iter().find(|r| r.id == g.rule);
            let fp = BTreeMap::from([
                ("secretHash/v1".to_string(), g.fingerprint.clone()),
                (
                    "primaryLocationLineHash".to_string(),
                    format!("{}:{}", line_hashes[k], occurrence[k]),
                ),
            ]);
            result(
                g,
                *i,
                rule,
                rule_index.get(g.rule.as_str()).copied().unwrap_or(0),
                fp,
                related,
            )
        })
        .collect();

    let driver = ToolComponent::builder()
        .name(report.tool.name)
        .version(report.tool.version)
        .semantic_version(report.tool.version)
        .information_uri(INFORMATION_URI)
        .rules(descriptors)
        .build();

    let notifications: Vec<Notification> = report
        .warnings
        .iter()
        .take(MAX_NOTIFICATIONS)
        .map(|w| {
            Notification::builder()
                .message(Message::builder().text(w.to_string()).build())
                .level(json!("warning"))
                .build()
        })
        .collect();
    let mut invocation = Invocation::builder().execution_successful(true).build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }

    let base = ArtifactLocation::builder()
        .description(
            Message::builder()
                .text("The directory blastradius ran in (normally the repository checkout); result paths are relative to it.")
                .build(),
        )
        .build();

    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .original_uri_base_ids(BTreeMap::from([(SRCROOT.to_string(), base)]))
        .column_kind(json!("unicodeCodePoints"))
        .results(results)
        .properties(run_properties(report, counts))
        .build();

    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    (log, counts)
}

fn run_properties(report: &Report, counts: Counts) -> PropertyBag {
    let s = &report.stats;
    let mut p: BTreeMap<String, Value> = BTreeMap::new();
    p.insert("truncated".into(), json!(counts.truncated()));
    p.insert("totalResults".into(), json!(counts.total));
    p.insert("emittedResults".into(), json!(counts.emitted));
    p.insert(
        "relatedLocationsTruncated".into(),
        json!(counts.related_truncated),
    );
    p.insert("secrets".into(), json!(report.groups.len()));
    p.insert("summary".into(), json!(report.summary));
    p.insert("fingerprintKind".into(), json!(report.fingerprint_kind));
    p.insert(
        "stats".into(),
        json!({
            "filesScanned": s.files_scanned,
            "bytesScanned": s.bytes_scanned,
            "blobsScanned": s.blobs_scanned,
            "commitsWalked": s.commits_walked,
            "skippedBinary": s.skipped_binary,
            "skippedTooLarge": s.skipped_too_large,
            "elapsedMs": s.elapsed_ms,
        }),
    );
    p.insert(
        "suppressed".into(),
        json!({
            "inline": report.suppressed.inline,
            "baseline": report.suppressed.baseline,
            "config": report.suppressed.config,
        }),
    );
    p.insert("warnings".into(), json!(report.warnings.len()));
    PropertyBag::builder().additional_properties(p).build()
}

/// GitHub's result level for a blast level.
pub fn result_level(level: Level) -> ResultLevel {
    match level {
        Level::Critical | Level::High => ResultLevel::Error,
        Level::Medium => ResultLevel::Warning,
        Level::Low => ResultLevel::Note,
    }
}

fn level_str(level: Level) -> &'static str {
    match result_level(level) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// A score as GitHub's `security-severity` string: one decimal.
fn severity(score: f64) -> String {
    format!("{:.1}", score.clamp(0.0, 10.0))
}

/// The blast model applied to a rule's metadata alone: its default severity.
pub fn rule_default_score(rule: &Rule) -> f64 {
    let facts = Facts::default();
    blast::assess(&blast::Input {
        rule,
        facts: &facts,
        locations: &[],
        validated: rule.validator.is_some(),
        companions: &[],
        typed_sequence: false,
        now: 0,
    })
    .score
}

/// `precision` for a rule: how often its matches are real credentials of that kind.
pub fn precision(rule: &Rule) -> &'static str {
    if rule.validator.is_some() {
        return "very-high";
    }
    match rule.confidence {
        Confidence::High if !rule.generic => "very-high",
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// `github.pat.classic` → `GithubPatClassic`.
pub fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// At most `max` characters, ending in an ellipsis when cut.
pub fn cap(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn tag_word(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

const ROTATE: &str = "Issue a replacement with the narrowest scope and shortest lifetime that works, keep it in a secrets manager or CI secret (not in the repository), and check the provider's audit log for use since the leak. Deleting the file or rewriting history does not revoke it.";

const ROTATE_SHORT: &str = "Replace it with a narrowly scoped, short-lived credential kept out of the repository, and check the provider's audit log for use since the leak.";

fn too_long(text: &str, md: &str) -> bool {
    text.chars().count() > MAX_RULE_TEXT || md.chars().count() > MAX_RULE_TEXT
}

/// A rule's help as plain text and as Markdown, without references.
fn help_bodies(
    rule: &Rule,
    description: &str,
    rotate: &str,
    score: f64,
    reach: &[&str],
) -> (String, String) {
    let level = Level::from_score(score);
    let text = format!(
        "{} ({}, {}). {}\n\nBlast radius: scope {} ({}); lifetime {} ({}); mints other credentials: {}; reaches {}. Default severity {} ({}).\n\nRevoke: {}. Then rotate: {rotate}",
        rule.name,
        rule.provider,
        rule.kind,
        description,
        rule.scope,
        scope_words(rule.scope),
        rule.lifetime,
        rule.lifetime_default,
        yes_no(rule.mints),
        reach.join(", "),
        severity(score),
        level.as_str(),
        rule.revoke.trim_end_matches('.'),
    );
    let md = format!(
        "**{}** ({}, {})\n\n{}\n\n**Blast radius** (default severity {}, {})\n\n- Scope: {} — {}\n- Lifetime: {} — {}\n- Mints other credentials: {}\n- Reaches: {}\n\n**Revoke and rotate**\n\n1. {}\n2. {rotate}",
        md_escape(&rule.name),
        md_escape(&rule.provider),
        md_escape(&rule.kind),
        md_escape(description),
        severity(score),
        level.as_str(),
        rule.scope,
        scope_words(rule.scope),
        rule.lifetime,
        md_escape(&rule.lifetime_default),
        yes_no(rule.mints),
        reach.join(", "),
        md_escape(&rule.revoke),
    );
    (text, md)
}

fn scope_words(s: Scope) -> &'static str {
    match s {
        Scope::FixedBroad => "full access of its account, cannot be narrowed",
        Scope::UserSelected => "scopes chosen at creation, often broad",
        Scope::FineGrained => "limited to selected resources and permissions",
        Scope::SingleResource => "limited to a single resource",
    }
}

fn rule_descriptor(rule: &Rule, groups: &[&Group]) -> ReportingDescriptor {
    let score = rule_default_score(rule);
    let level = Level::from_score(score);

    let mut reach = rule.reach.clone();
    reach.sort_by(|a, b| blast::reach_weight(*b).total_cmp(&blast::reach_weight(*a)));
    reach.dedup();
    let reach_words: Vec<&str> = reach.iter().map(|r| blast::reach_words(*r)).collect();

    let mut tags: Vec<String> = vec!["security".into(), "secret".into(), tag_word(&rule.provider)];
    for r in reach.iter().take(3) {
        tags.push(format!("reach/{}", r.to_string().replace('_', "-")));
    }
    let mut nhi: Vec<&str> = groups.iter().flat_map(|g| g.nhi.iter().copied()).collect();
    nhi.sort_unstable();
    nhi.dedup();
    tags.extend(nhi.iter().map(|s| s.to_string()));
    for c in blast::cwe_ids(rule) {
        tags.push(format!("external/cwe/{}", c.to_ascii_lowercase()));
    }
    let mut uniq: Vec<String> = Vec::new();
    for t in tags {
        if !t.is_empty() && !uniq.contains(&t) && uniq.len() < MAX_TAGS {
            uniq.push(t);
        }
    }

    // Everything but the references must fit: shorten the rotation advice, then the
    // description, before anything else is cut.
    let (mut help_text, mut md) = help_bodies(rule, &rule.description, ROTATE, score, &reach_words);
    if too_long(&help_text, &md) {
        (help_text, md) = help_bodies(rule, &rule.description, ROTATE_SHORT, score, &reach_words);
    }
    if too_long(&help_text, &md) {
        let over =
            (help_text.chars().count().max(md.chars().count())).saturating_sub(MAX_RULE_TEXT);
        let keep = rule.description.chars().count().saturating_sub(over + 8);
        let desc = cap(&rule.description, keep);
        (help_text, md) = help_bodies(rule, &desc, ROTATE_SHORT, score, &reach_words);
    }
    // References while they fit.
    let mut refs_text = String::new();
    let mut refs_md = String::new();
    for r in &rule.references {
        let t = format!(
            "{}{}",
            if refs_text.is_empty() {
                "\n\nReferences: "
            } else {
                ", "
            },
            r
        );
        let m = format!(
            "{}<{}>",
            if refs_md.is_empty() {
                "\n\n**References:** "
            } else {
                ", "
            },
            r
        );
        if help_text.chars().count() + refs_text.chars().count() + t.chars().count()
            <= MAX_RULE_TEXT
        {
            refs_text.push_str(&t);
        }
        if md.chars().count() + refs_md.chars().count() + m.chars().count() <= MAX_RULE_TEXT {
            refs_md.push_str(&m);
        }
    }
    help_text.push_str(&refs_text);
    md.push_str(&refs_md);

    let mut props: BTreeMap<String, Value> = BTreeMap::new();
    props.insert("precision".into(), json!(precision(rule)));
    props.insert("security-severity".into(), json!(severity(score)));
    props.insert("provider".into(), json!(rule.provider));
    props.insert("kind".into(), json!(rule.kind));
    props.insert("scope".into(), json!(rule.scope.to_string()));
    props.insert("lifetime".into(), json!(rule.lifetime.to_string()));
    props.insert("mints".into(), json!(rule.mints));
    props.insert(
        "reach".into(),
        json!(reach.iter().map(|r| r.to_string()).collect::<Vec<_>>()),
    );
    props.insert("cwe".into(), json!(blast::cwe_ids(rule)));

    let mut d = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(pascal_case(&rule.id))
        .short_description(text(&rule.name))
        .full_description(text(&rule.description))
        .help(
            MultiformatMessageString::builder()
                .text(cap(&help_text, MAX_RULE_TEXT))
                .markdown(cap(&md, MAX_RULE_TEXT))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_str(level)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(uniq)
                .additional_properties(props)
                .build(),
        )
        .build();
    if let Some(r) = rule.references.first() {
        d.help_uri = Some(r.clone());
    }
    d
}

/// A descriptor from group fields alone, for a rule the report did not carry.
fn fallback_descriptor(id: &str, groups: &[&Group]) -> ReportingDescriptor {
    let g = groups.first();
    let name = g.map(|g| g.name.clone()).unwrap_or_else(|| id.to_string());
    let provider = g.map(|g| g.provider.clone()).unwrap_or_default();
    let revoke = g.map(|g| g.remediation.clone()).unwrap_or_default();
    let help = format!("{name}. Revoke: {revoke}. Then rotate: {ROTATE}");
    let mut tags = vec!["security".to_string(), "secret".to_string()];
    if !provider.is_empty() {
        tags.push(tag_word(&provider));
    }
    ReportingDescriptor::builder()
        .id(id.to_string())
        .name(pascal_case(id))
        .short_description(text(&name))
        .full_description(text(&name))
        .help(
            MultiformatMessageString::builder()
                .text(cap(&help, MAX_RULE_TEXT))
                .markdown(cap(&md_escape(&help), MAX_RULE_TEXT))
                .build(),
        )
        .properties(PropertyBag::builder().tags(tags).build())
        .build()
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder()
        .text(cap(s, MAX_RULE_TEXT))
        .build()
}

/// Escapes characters Markdown would interpret in rule text, leaving URLs intact so they
/// still autolink.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_url = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            in_url = false;
        } else if !in_url && (s[i..].starts_with("https://") || s[i..].starts_with("http://")) {
            in_url = true;
        }
        if !in_url
            && matches!(
                c,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn commit_of(l: &Loc) -> &str {
    l.git.as_ref().map(|g| g.commit.as_str()).unwrap_or("")
}

fn result(
    g: &Group,
    i: usize,
    rule: Option<&Rule>,
    rule_index: usize,
    fingerprints: BTreeMap<String, String>,
    max_related: usize,
) -> SarifResult {
    let loc = &g.locations[i];
    let related: Vec<Location> = g
        .locations
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .take(max_related)
        .enumerate()
        .map(|(n, (_, l))| {
            let mut rl = location(l);
            rl.id = Some(n as i64 + 1);
            rl.message = Some(Message::builder().text("same secret").build());
            rl
        })
        .collect();

    let mut props: BTreeMap<String, Value> = BTreeMap::new();
    props.insert("security-severity".into(), json!(severity(g.blast.score)));
    props.insert("blastScore".into(), json!(g.blast.score));
    props.insert("blastLevel".into(), json!(g.blast.level.as_str()));
    props.insert("reasons".into(), json!(g.blast.reasons));
    props.insert("secret".into(), json!(g.secret));
    props.insert("provider".into(), json!(g.provider));
    props.insert("kind".into(), json!(g.kind));
    props.insert("confidence".into(), json!(g.confidence));
    props.insert("validated".into(), json!(g.validated));
    props.insert("nhi".into(), json!(g.nhi));
    props.insert("cwe".into(), json!(g.cwe));
    props.insert("locationCount".into(), json!(g.locations.len()));
    if !g.companions.is_empty() {
        props.insert("companions".into(), json!(g.companions));
    }
    if !loc.decoded.is_empty() {
        props.insert("decoded".into(), json!(loc.decoded));
    }
    if let Some(gi) = &loc.git {
        props.insert("commit".into(), json!(gi.commit));
        props.insert("commitDate".into(), json!(gi.date));
        props.insert("atHead".into(), json!(gi.at_head));
        props.insert("author".into(), json!(author_name(&gi.author)));
    }

    let mut r = SarifResult::builder()
        .message(Message::builder().text(message(g, loc, rule)).build())
        .rule_id(g.rule.clone())
        .rule_index(rule_index as i64)
        .level(result_level(g.blast.level))
        .rank((g.blast.score * 10.0).clamp(0.0, 100.0))
        .locations(vec![location(loc)])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    if !related.is_empty() {
        r.related_locations = Some(related);
    }
    r
}

/// An author's name without any `<email>` part.
fn author_name(a: &str) -> String {
    match a.find('<') {
        Some(i) => a[..i].trim().to_string(),
        None => a.trim().to_string(),
    }
}

fn message(g: &Group, loc: &Loc, rule: Option<&Rule>) -> String {
    let reasons: Vec<&str> = g
        .blast
        .reasons
        .iter()
        .filter(|r| r.weight > 0.0 || r.weight < -0.25)
        .take(TOP_REASONS)
        .map(|r| r.detail.as_str())
        .collect();
    let mut m = format!(
        "{} ({}) — blast radius {} {}",
        g.name,
        g.secret,
        severity(g.blast.score),
        g.blast.level.as_str()
    );
    if !reasons.is_empty() {
        m.push_str(": ");
        m.push_str(&reasons.join("; "));
    }
    if g.locations.len() > 1 {
        m.push_str(&format!("; same secret at {} locations", g.locations.len()));
    }
    if let Some(gi) = &loc.git {
        let short: String = gi.commit.chars().take(12).collect();
        let date: String = gi.date.chars().take(10).collect();
        m.push_str(&format!(
            "; introduced in commit {short} ({date}){}",
            if gi.at_head {
                ""
            } else {
                ", removed from HEAD but still in history"
            }
        ));
    }
    let revoke = rule
        .map(|r| r.revoke.as_str())
        .unwrap_or(g.remediation.as_str());
    if !revoke.is_empty() {
        m.push_str("; revoke: ");
        m.push_str(revoke);
    }
    m
}

fn location(l: &Loc) -> Location {
    let (uri, absolute) = artifact_uri(l);
    let mut al = ArtifactLocation::builder().uri(uri).build();
    if !absolute {
        al.uri_base_id = Some(SRCROOT.to_string());
    }
    let start_line = l.line.max(1);
    let start_col = l.column.max(1);
    let end_line = l.end_line.max(start_line);
    let mut end_col = l.end_column.max(1);
    if end_line == start_line && end_col < start_col {
        end_col = start_col;
    }
    let region = Region::builder()
        .start_line(start_line as i64)
        .start_column(start_col as i64)
        .end_line(end_line as i64)
        .end_column(end_col as i64)
        .snippet(ArtifactContent::builder().text(l.snippet.clone()).build())
        .build();
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(al)
                .region(region)
                .build(),
        )
        .build()
}

/// The location's path as a URI and whether it is absolute (`file://`) rather than
/// relative to `%SRCROOT%`.
pub fn artifact_uri(l: &Loc) -> (String, bool) {
    let path = l.path.replace('\\', "/");
    let root = l.root_name.replace('\\', "/");
    // A file given on the command line (or a member of it) already carries its root.
    let is_file_root = path == root || path.starts_with(&format!("{root}!"));
    let full = if path.starts_with('/') || is_file_root || root.is_empty() {
        path
    } else {
        format!("{}/{}", root.trim_end_matches('/'), path)
    };
    let absolute = full.starts_with('/');
    let segments: Vec<&str> = full
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let escaped: Vec<String> = segments.iter().map(|s| escape_segment(s)).collect();
    if absolute {
        (format!("file:///{}", escaped.join("/")), true)
    } else {
        (escaped.join("/"), false)
    }
}

/// Percent-encodes one path segment (RFC 3986): keeps unreserved characters and the
/// sub-delimiters and `@`; escapes everything else, non-ASCII as UTF-8 bytes. `:` is escaped
/// too, so a first segment cannot read as a URI scheme.
pub fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// First 16 hex digits of SHA-256 over the redacted line with whitespace removed.
pub fn line_hash(snippet: &str) -> String {
    let squeezed: String = snippet.chars().filter(|c| !c.is_whitespace()).collect();
    let d = Sha256::digest(squeezed.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(path: &str, root: &str) -> Loc {
        Loc {
            path: path.into(),
            line: 3,
            column: 5,
            end_line: 3,
            end_column: 45,
            snippet: "t = ghp_eG…(40)".into(),
            root: 0,
            root_name: root.into(),
            git: None,
            decoded: vec![],
            image: None,
        }
    }

    #[test]
    fn uris_are_escaped_and_joined_to_their_root() {
        assert_eq!(artifact_uri(&loc(".env", ".")), (".env".into(), false));
        assert_eq!(
            artifact_uri(&loc("a b/c#d?e%f.txt", ".")),
            ("a%20b/c%23d%3Fe%25f.txt".into(), false)
        );
        assert_eq!(
            artifact_uri(&loc("über/ß.txt", "src")),
            ("src/%C3%BCber/%C3%9F.txt".into(), false)
        );
        assert_eq!(
            artifact_uri(&loc("./x/y.txt", "./x/y.txt")),
            ("x/y.txt".into(), false)
        );
        assert_eq!(
            artifact_uri(&loc("a.zip!inner/k.txt", "a.zip")),
            ("a.zip!inner/k.txt".into(), false)
        );
        assert_eq!(
            artifact_uri(&loc("k.txt", "/tmp/r p")),
            ("file:///tmp/r%20p/k.txt".into(), true)
        );
        assert_eq!(artifact_uri(&loc("c:d", ".")), ("c%3Ad".into(), false));
    }

    #[test]
    fn helpers() {
        assert_eq!(pascal_case("github.pat.classic"), "GithubPatClassic");
        assert_eq!(pascal_case("aws.access_key-id"), "AwsAccessKeyId");
        assert_eq!(cap("abcdef", 4), "abc…");
        assert_eq!(cap("abc", 4), "abc");
        assert_eq!(severity(8.44), "8.4");
        assert_eq!(line_hash("a = b"), line_hash("  a=b\t"));
        assert_eq!(line_hash("x").len(), 16);
        assert_eq!(
            author_name("Alice Example <a@example.invalid>"),
            "Alice Example"
        );
        assert!(matches!(result_level(Level::Critical), ResultLevel::Error));
        assert!(matches!(result_level(Level::High), ResultLevel::Error));
        assert!(matches!(result_level(Level::Medium), ResultLevel::Warning));
        assert!(matches!(result_level(Level::Low), ResultLevel::Note));
    }

    #[test]
    fn markdown_is_escaped_but_urls_stay_links() {
        assert_eq!(
            md_escape("a *b* [c] at https://x.test/a_b*c, then d_e"),
            "a \\*b\\* \\[c\\] at https://x.test/a_b*c, then d\\_e"
        );
    }

    #[test]
    fn every_embedded_rule_fits_github_limits() {
        let set = match crate::rules::RuleSet::embedded() {
            Ok(s) => s,
            Err(e) => panic!("embedded rules: {e}"),
        };
        for r in set.rules() {
            let d = rule_descriptor(r, &[]);
            let v = serde_json::to_value(&d).unwrap_or_default();
            for f in [
                "/shortDescription/text",
                "/fullDescription/text",
                "/help/text",
                "/help/markdown",
            ] {
                let s = v.pointer(f).and_then(Value::as_str).unwrap_or_default();
                assert!(
                    !s.is_empty() && s.chars().count() <= MAX_RULE_TEXT,
                    "{} {f}: {}",
                    r.id,
                    s.len()
                );
            }
            for f in ["/help/text", "/help/markdown"] {
                let s = v.pointer(f).and_then(Value::as_str).unwrap_or_default();
                assert!(!s.ends_with('…'), "{} {f} was cut: {s}", r.id);
            }
            let tags = v
                .pointer("/properties/tags")
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            assert!((3..=MAX_TAGS).contains(&tags), "{}", r.id);
            let sev: f64 = v
                .pointer("/properties/security-severity")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(-1.0);
            assert!((0.0..=10.0).contains(&sev), "{}", r.id);
        }
    }
}

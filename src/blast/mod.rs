//! Blast radius: what a leaked secret can reveal or activate, judged offline.
//!
//! Each factor (scope, lifetime, minting, reach, context, sprawl, exposure, evidence,
//! privilege) contributes a signed weight with a reason in words; the score is their sum,
//! clamped to 0–10, with caps for things that make a credential nearly harmless (expired,
//! publishable, test mode). The weights and the reasoning behind them are documented in
//! `docs/BLAST_RADIUS.md`; the reasons are reported so a reader can disagree with a weight
//! rather than with a black box.

pub mod context;

use crate::introspect::{Environment, Facts, Privilege};
use crate::model::Location;
use crate::rules::{Confidence, Lifetime, Reach, Rule, Scope};
use context::Context;
use serde::Serialize;
use std::collections::BTreeSet;

/// A blast-radius factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Scope,
    Lifetime,
    Minting,
    Reach,
    Privilege,
    Context,
    Sprawl,
    Exposure,
    Evidence,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub factor: Factor,
    pub detail: String,
    pub weight: f64,
}

/// GitHub's security-severity bands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn from_score(score: f64) -> Level {
        if score >= 9.0 {
            Level::Critical
        } else if score >= 7.0 {
            Level::High
        } else if score >= 4.0 {
            Level::Medium
        } else {
            Level::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Level::Low),
            "medium" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            _ => Err(format!(
                "unknown level '{s}' (expected low, medium, high or critical)"
            )),
        }
    }
}

/// The assessment of one secret (one group of locations).
#[derive(Debug, Clone, Serialize)]
pub struct Blast {
    pub score: f64,
    pub level: Level,
    /// Strongest first (by absolute weight).
    pub reasons: Vec<Reason>,
    /// What offline introspection decoded.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

/// Everything the model looks at for one secret.
pub struct Input<'a> {
    pub rule: &'a Rule,
    pub facts: &'a Facts,
    pub locations: &'a [Location],
    /// A checksum or structure validator held.
    pub validated: bool,
    /// Names of companion parts found next to it (AWS secret key next to its key id).
    pub companions: &'a [String],
    /// The value contains a typed sequence (`12345678`, `abcdefgh`): likely a placeholder
    /// that a provider rule's format and context matched (`matcher::filter::looks_sequential`).
    pub typed_sequence: bool,
    /// Seconds since the epoch, for expiry and age.
    pub now: i64,
}

fn scope_weight(s: Scope) -> (f64, &'static str) {
    match s {
        Scope::FixedBroad => (2.5, "full access of its account; cannot be narrowed"),
        Scope::UserSelected => (2.0, "scopes chosen at creation, often broad"),
        Scope::FineGrained => (
            1.2,
            "fine-grained: limited to selected resources and permissions",
        ),
        Scope::SingleResource => (0.5, "limited to a single resource"),
    }
}

fn lifetime_weight(l: Lifetime) -> (f64, &'static str) {
    match l {
        Lifetime::Never => (2.0, "never expires"),
        Lifetime::Long => (1.6, "long-lived"),
        Lifetime::Configurable => (1.3, "expiry set by its creator"),
        Lifetime::Short => (0.3, "short-lived"),
    }
}

/// Reach weights: systems that hold other secrets or trigger automation weigh most.
pub fn reach_weight(r: Reach) -> f64 {
    match r {
        Reach::SecretsStore | Reach::CloudControlPlane => 2.5,
        Reach::CiCd | Reach::Identity => 2.2,
        Reach::Orchestration => 2.0,
        Reach::SourceCode | Reach::PackageRegistry | Reach::DataStore | Reach::Payments => 1.8,
        Reach::Chat | Reach::EmailSms => 1.2,
        Reach::AiApi | Reach::Ticketing => 1.0,
        Reach::Observability => 0.8,
    }
}

pub fn reach_words(r: Reach) -> &'static str {
    match r {
        Reach::SourceCode => "source code",
        Reach::CiCd => "CI/CD",
        Reach::SecretsStore => "a secrets store",
        Reach::CloudControlPlane => "a cloud control plane",
        Reach::Identity => "identity",
        Reach::Chat => "chat",
        Reach::Ticketing => "ticketing",
        Reach::DataStore => "data stores",
        Reach::Payments => "payments",
        Reach::EmailSms => "email/SMS",
        Reach::Observability => "observability",
        Reach::PackageRegistry => "a package registry",
        Reach::Orchestration => "orchestration",
        Reach::AiApi => "an AI API",
    }
}

fn fmt_date(ts: i64) -> String {
    crate::report::rfc3339(ts).chars().take(10).collect()
}

/// Scores one secret. Pure: the same input gives the same output.
pub fn assess(inp: &Input<'_>) -> Blast {
    let rule = inp.rule;
    let facts = inp.facts;
    let mut reasons: Vec<Reason> = Vec::new();
    let mut push = |factor, detail: String, weight: f64| {
        reasons.push(Reason {
            factor,
            detail,
            weight,
        })
    };

    // 1. Scope (refined by introspection).
    let scope = facts.scope.unwrap_or(rule.scope);
    let (w, d) = scope_weight(scope);
    push(Factor::Scope, d.to_string(), w);

    // 2. Lifetime, with decoded expiry.
    let lifetime = facts.lifetime.unwrap_or(rule.lifetime);
    let expired = facts.expires_at.is_some_and(|e| e <= inp.now);
    match facts.expires_at {
        Some(e) if expired => push(Factor::Lifetime, format!("expired on {}", fmt_date(e)), 0.0),
        Some(e) => {
            let days = (e - inp.now) / 86_400;
            let w = if days > 365 {
                2.0
            } else if days > 30 {
                1.4
            } else if days > 1 {
                0.8
            } else {
                0.3
            };
            push(
                Factor::Lifetime,
                format!("valid until {} ({days} days left)", fmt_date(e)),
                w,
            );
        }
        None => {
            let (w, d) = lifetime_weight(lifetime);
            push(
                Factor::Lifetime,
                format!("{d} ({})", rule.lifetime_default),
                w,
            );
        }
    }

    // 3. Minting.
    if facts.mints.unwrap_or(rule.mints) {
        push(
            Factor::Minting,
            "mints or refreshes other credentials, so revoking issued tokens is not enough".into(),
            1.0,
        );
    }

    // 4. Reach: the strongest category, plus a little for each further strong one.
    let mut reach: Vec<Reach> = rule.reach.clone();
    reach.extend(facts.reach.iter().copied());
    reach.sort_by(|a, b| reach_weight(*b).total_cmp(&reach_weight(*a)).then(a.cmp(b)));
    reach.dedup();
    if let Some(&top) = reach.first() {
        let extra = reach
            .iter()
            .skip(1)
            .filter(|r| reach_weight(**r) >= 1.8)
            .count()
            .min(3) as f64
            * 0.3;
        let words: Vec<&str> = reach.iter().take(4).map(|r| reach_words(*r)).collect();
        push(
            Factor::Reach,
            format!("reaches {}", words.join(", ")),
            reach_weight(top) + extra,
        );
    }

    // Privilege and environment from introspection.
    match facts.privilege {
        Some(Privilege::Admin) => push(Factor::Privilege, "administrative privilege".into(), 0.8),
        Some(Privilege::Read) => push(Factor::Privilege, "read-only".into(), -0.5),
        _ => {}
    }
    if facts.unsigned {
        push(
            Factor::Evidence,
            "JWT with alg 'none': forgeable where verifiers accept it".into(),
            0.5,
        );
    }
    if facts.encrypted == Some(true) {
        push(
            Factor::Privilege,
            "private key is passphrase-encrypted".into(),
            -2.0,
        );
    }

    // 5. Context: the most operational place it was found, and whether all are tests/docs.
    let contexts: BTreeSet<Context> = inp
        .locations
        .iter()
        .map(|l| context::classify(&l.path))
        .collect();
    let operational: Vec<Context> = contexts
        .iter()
        .copied()
        .filter(|c| c.is_operational())
        .collect();
    if let Some(&c) = operational.first() {
        let w = match c {
            Context::CiConfig => 1.0,
            Context::Infrastructure | Context::DeployScript | Context::CredentialsFile => 0.8,
            _ => 0.5,
        };
        push(Factor::Context, c.describe().to_string(), w);
    } else if !contexts.is_empty()
        && contexts
            .iter()
            .all(|c| matches!(c, Context::Test | Context::Docs))
    {
        let c = *contexts.iter().next().unwrap_or(&Context::Test);
        push(Factor::Context, c.describe().to_string(), -1.5);
    }

    // 6. Sprawl: distinct files and roots (repositories).
    let files: BTreeSet<(usize, &str)> = inp
        .locations
        .iter()
        .map(|l| (l.root, l.path.as_str()))
        .collect();
    let roots: BTreeSet<usize> = inp.locations.iter().map(|l| l.root).collect();
    if files.len() > 1 {
        let w = (0.35 * (files.len() as f64).log2()).min(1.0);
        push(
            Factor::Sprawl,
            format!("same value in {} files", files.len()),
            w,
        );
    }
    if roots.len() > 1 {
        push(
            Factor::Sprawl,
            format!("reused across {} repositories or scan roots", roots.len()),
            0.7,
        );
    }

    let envs = environments(inp.locations);
    if envs.len() > 1 {
        push(
            Factor::Sprawl,
            format!("reused across environments ({})", envs.join(", ")),
            0.5,
        );
    }

    // 7. Exposure: still at HEAD vs history only, and for how long.
    let git: Vec<_> = inp
        .locations
        .iter()
        .filter_map(|l| l.git.as_ref())
        .collect();
    if !git.is_empty() {
        if git.iter().any(|g| g.at_head) {
            push(Factor::Exposure, "still present at HEAD".into(), 0.3);
        } else {
            push(
                Factor::Exposure,
                "only in history (removed from HEAD, still extractable)".into(),
                -0.3,
            );
        }
        if let Some(first) = git.iter().map(|g| g.timestamp).min() {
            let years = (inp.now - first) as f64 / (365.25 * 86_400.0);
            if years >= 1.0 {
                push(
                    Factor::Exposure,
                    format!("in history for {years:.1} years"),
                    0.3,
                );
            }
        }
    }

    // 8. Evidence it is real.
    if inp.validated {
        push(
            Factor::Evidence,
            "checksum or structure verified offline".into(),
            0.3,
        );
    } else if facts.decoded {
        push(Factor::Evidence, "structure decodes".into(), 0.2);
    }
    match rule.confidence {
        Confidence::Low => push(
            Factor::Evidence,
            "generic pattern: lower confidence".into(),
            -1.0,
        ),
        Confidence::Medium => push(
            Factor::Evidence,
            "pattern needs context: medium confidence".into(),
            -0.4,
        ),
        Confidence::High => {}
    }
    if !inp.companions.is_empty() {
        push(
            Factor::Scope,
            format!(
                "complete credential: found with {}",
                inp.companions.join(", ")
            ),
            0.5,
        );
    }

    let raw: f64 = reasons.iter().map(|r| r.weight).sum();
    let mut score = raw.clamp(0.0, 10.0);

    // Caps: things that make a credential nearly harmless whatever else holds.
    let mut cap = |limit: f64, factor: Factor, detail: &str, reasons: &mut Vec<Reason>| {
        if score > limit {
            reasons.push(Reason {
                factor,
                detail: detail.to_string(),
                weight: limit - score,
            });
            score = limit;
        }
    };
    if expired {
        cap(
            2.0,
            Factor::Lifetime,
            "expired: cannot be used (still rotate it)",
            &mut reasons,
        );
    }
    if inp.typed_sequence {
        cap(
            1.5,
            Factor::Evidence,
            "value contains a typed sequence (12345678, abcdefgh): likely a placeholder",
            &mut reasons,
        );
    }
    if facts.privilege == Some(Privilege::Public) {
        cap(
            2.5,
            Factor::Privilege,
            "publishable by design: grants no secret access",
            &mut reasons,
        );
    }
    match facts.environment {
        Some(Environment::Test) => cap(3.5, Factor::Privilege, "test/sandbox mode", &mut reasons),
        Some(Environment::Local) => cap(
            3.0,
            Factor::Exposure,
            "points at a local-only host",
            &mut reasons,
        ),
        _ => {}
    }

    reasons.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let score = (score * 10.0).round() / 10.0;
    Blast {
        score,
        level: Level::from_score(score),
        reasons,
        facts: facts.clone(),
    }
}

/// Deployment environments named by the paths a value was found in (`.env.production`,
/// `deploy/staging/values.yaml`), deduplicated and sorted.
pub fn environments(locations: &[Location]) -> Vec<&'static str> {
    let mut envs: Vec<&'static str> = Vec::new();
    for l in locations {
        let lower = l.path.to_ascii_lowercase();
        for word in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
            let env = match word {
                "prod" | "production" | "prd" | "live" => "production",
                "staging" | "stage" | "stg" | "preprod" => "staging",
                "dev" | "development" | "local" => "development",
                "qa" | "uat" => "qa",
                _ => continue,
            };
            if !envs.contains(&env) {
                envs.push(env);
            }
        }
    }
    envs.sort_unstable();
    envs
}

/// OWASP NHI Top 10 (2025) ids that apply.
pub fn nhi_ids(rule: &Rule, blast: &Blast, locations: &[Location]) -> Vec<&'static str> {
    let mut ids = vec!["NHI2"];
    let scope = blast.facts.scope.unwrap_or(rule.scope);
    let legacy =
        rule.id.contains("legacy") || blast.facts.unsigned || rule.id.contains("basic_auth");
    if rule.id.contains("oauth") || rule.kind.to_ascii_lowercase().contains("oauth") {
        ids.push("NHI3");
    }
    if legacy {
        ids.push("NHI4");
    }
    if matches!(scope, Scope::FixedBroad | Scope::UserSelected)
        || blast.facts.privilege == Some(Privilege::Admin)
    {
        ids.push("NHI5");
    }
    let cloud = rule.reach.contains(&Reach::CloudControlPlane)
        || blast.facts.reach.contains(&Reach::CloudControlPlane);
    let in_ci = locations.iter().any(|l| {
        matches!(
            context::classify(&l.path),
            Context::CiConfig | Context::DeployScript | Context::Infrastructure
        )
    });
    if cloud && in_ci {
        ids.push("NHI6");
    }
    let lifetime = blast.facts.lifetime.unwrap_or(rule.lifetime);
    if matches!(lifetime, Lifetime::Never | Lifetime::Long)
        || blast.facts.mints.unwrap_or(rule.mints)
    {
        ids.push("NHI7");
    }
    if environments(locations).len() > 1 {
        ids.push("NHI8");
    }
    let roots: BTreeSet<usize> = locations.iter().map(|l| l.root).collect();
    if roots.len() > 1 {
        ids.push("NHI9");
    }
    ids
}

/// CWE ids: 798 always, refined by kind.
pub fn cwe_ids(rule: &Rule) -> Vec<&'static str> {
    let mut ids = vec!["CWE-798"];
    let k = format!("{} {}", rule.id, rule.kind).to_ascii_lowercase();
    if k.contains("private key")
        || k.contains("private_key")
        || k.contains("signing")
        || k.contains("age.")
    {
        ids.push("CWE-321");
    } else if k.contains("password")
        || k.contains("uri")
        || k.contains("netrc")
        || k.contains("basic")
    {
        ids.push("CWE-259");
    }
    ids
}

#[cfg(test)]
mod tests;

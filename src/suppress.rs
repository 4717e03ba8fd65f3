//! Suppression that does not churn: inline `blastradius:allow`, a baseline keyed by secret
//! fingerprint, and a config file.
//!
//! A baseline keyed by line numbers breaks whenever code moves; keyed by the value's
//! fingerprint it survives edits, renames and reformatting, and it only ever matches that
//! exact value. Suppression files are read from the scanned tree only when named on the
//! command line (or from the repository root in `--staged` mode, where the tree is the user's
//! own): a scanned repository must not be able to silence its own findings.

use crate::Error;
use crate::model::Finding;
use crate::report::{Report, Suppressed, fingerprint};
use crate::rules::RuleSet;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Inline markers: a finding on a line containing one is suppressed (and counted as
/// `suppressed.inline`). Ours, and the ones teams moving from gitleaks, detect-secrets or
/// TruffleHog already have in their code, so a migration does not resurface every finding
/// they once judged a false positive.
pub const INLINE_MARKERS: &[&str] = &[
    "blastradius:allow",
    "gitleaks:allow",
    "pragma: allowlist secret",
    "trufflehog:ignore",
];

/// `.blastradius.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub allow: AllowConfig,
    #[serde(default)]
    pub rules: RulesConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowConfig {
    /// Secret fingerprints (as in reports and baselines) that are not findings.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// Glob patterns of paths to exclude (matched against report paths, e.g. `vendor/**`).
    #[serde(default)]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// When non-empty, only these rule ids (or id prefixes ending in '.') run.
    #[serde(default)]
    pub enable: Vec<String>,
    /// These rule ids (or id prefixes ending in '.') never run.
    #[serde(default)]
    pub disable: Vec<String>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error(format!("{}: cannot read: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            Error(format!(
                "{}: {}",
                path.display(),
                e.to_string().trim().replace('\n', " ")
            ))
        })
    }

    /// Applies `[rules] enable/disable` to a rule set.
    pub fn apply_rules(&self, set: &mut RuleSet) {
        let hit = |list: &[String], id: &str| {
            list.iter()
                .any(|p| p == id || (p.ends_with('.') && id.starts_with(p.as_str())))
        };
        let (enable, disable) = (&self.rules.enable, &self.rules.disable);
        set.retain(|r| (enable.is_empty() || hit(enable, &r.id)) && !hit(disable, &r.id));
    }
}

/// A baseline: the fingerprints of secrets that were known when it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub blastradius_baseline: u32,
    pub fingerprint_kind: String,
    pub secrets: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    /// Redacted, for humans reviewing the file.
    pub secret: String,
    /// Where it was first seen when the baseline was made (informational only).
    pub first_seen: String,
}

impl Baseline {
    pub fn from_report(report: &Report) -> Baseline {
        Baseline {
            blastradius_baseline: 1,
            fingerprint_kind: report.fingerprint_kind.to_string(),
            secrets: report
                .groups
                .iter()
                .map(|g| BaselineEntry {
                    fingerprint: g.fingerprint.clone(),
                    rule: g.rule.clone(),
                    secret: g.secret.clone(),
                    first_seen: g
                        .locations
                        .first()
                        .map(|l| format!("{}:{}", l.path, l.line))
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    pub fn load(path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error(format!("{}: cannot read: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            Error(format!(
                "{}: not a blastradius baseline: {e}",
                path.display()
            ))
        })
    }
}

/// Everything that can suppress a finding, ready to apply.
#[derive(Default)]
pub struct Suppressor {
    baseline: HashSet<String>,
    allowed: HashSet<String>,
    paths: Option<GlobSet>,
    key: Option<Vec<u8>>,
}

impl Suppressor {
    pub fn new(
        config: Option<&Config>,
        baseline: Option<&Baseline>,
        key: Option<&[u8]>,
    ) -> Result<Suppressor, Error> {
        let mut s = Suppressor {
            key: key.map(<[u8]>::to_vec),
            ..Suppressor::default()
        };
        if let Some(b) = baseline {
            let kind = if key.is_some() {
                "hmac-sha256"
            } else {
                "sha256"
            };
            if b.fingerprint_kind != kind {
                return Err(Error(format!(
                    "baseline fingerprints are {} but this scan's are {kind}: use the same --fingerprint-key as when the baseline was made",
                    b.fingerprint_kind
                )));
            }
            s.baseline = b.secrets.iter().map(|e| e.fingerprint.clone()).collect();
        }
        if let Some(c) = config {
            s.allowed = c.allow.fingerprints.iter().cloned().collect();
            if !c.allow.paths.is_empty() {
                let mut b = GlobSetBuilder::new();
                for p in &c.allow.paths {
                    b.add(
                        Glob::new(p)
                            .map_err(|e| Error(format!("config allow.paths '{p}': {e}")))?,
                    );
                }
                s.paths = Some(
                    b.build()
                        .map_err(|e| Error(format!("config allow.paths: {e}")))?,
                );
            }
        }
        Ok(s)
    }

    /// Drops suppressed findings and counts them by mechanism.
    pub fn apply(&self, findings: Vec<Finding>, counts: &mut Suppressed) -> Vec<Finding> {
        let mut fp_cache: HashMap<Vec<u8>, String> = HashMap::new();
        let mut kept = Vec::with_capacity(findings.len());
        for f in findings {
            if f.inline_allowed {
                counts.inline += 1;
                continue;
            }
            if self
                .paths
                .as_ref()
                .is_some_and(|g| g.is_match(&f.location.path))
            {
                counts.config += 1;
                continue;
            }
            if !self.baseline.is_empty() || !self.allowed.is_empty() {
                let fp = fp_cache
                    .entry(f.secret.clone())
                    .or_insert_with(|| fingerprint(&f.secret, self.key.as_deref()));
                if self.baseline.contains(fp.as_str()) {
                    counts.baseline += 1;
                    continue;
                }
                if self.allowed.contains(fp.as_str()) {
                    counts.config += 1;
                    continue;
                }
            }
            kept.push(f);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_enable_disable_with_prefixes() {
        let mut set = RuleSet::embedded().unwrap();
        let n = set.len();
        let c: Config = toml::from_str("[rules]\ndisable = [\"github.\"]").unwrap();
        c.apply_rules(&mut set);
        assert!(set.get("github.pat.classic").is_none());
        assert!(set.len() < n);
        let mut set = RuleSet::embedded().unwrap();
        let c: Config = toml::from_str("[rules]\nenable = [\"github.pat.classic\"]").unwrap();
        c.apply_rules(&mut set);
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn config_rejects_unknown_keys() {
        assert!(toml::from_str::<Config>("[allow]\nfingerprint = []").is_err());
    }

    #[test]
    fn baseline_kind_must_match_key() {
        let b = Baseline {
            blastradius_baseline: 1,
            fingerprint_kind: "sha256".into(),
            secrets: vec![],
        };
        assert!(Suppressor::new(None, Some(&b), Some(b"k")).is_err());
        assert!(Suppressor::new(None, Some(&b), None).is_ok());
    }
}

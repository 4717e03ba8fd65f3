//! Rules are data: `rules/*.toml`, one file per provider, embedded at build time.
//!
//! A rule says how to *find* a credential (keywords for the prefilter, a regex with a `secret`
//! group, optional entropy floor and offline checksum) and what it *means* if stolen (scope,
//! lifetime, whether it mints other credentials, which systems it reaches, how to revoke it).
//! Keeping both in one reviewed data file, with examples the test suite runs, is what lets the
//! rule set grow to hundreds of providers without the engine changing.
//! See `docs/RULES.md` for the format.

pub mod validate;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use validate::Validator;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// How much of an account a credential can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Everything the account can do; cannot be narrowed.
    FixedBroad,
    /// Scopes picked at creation, often broad.
    UserSelected,
    /// Per-resource, per-permission.
    FineGrained,
    /// One channel, project, bucket or endpoint.
    SingleResource,
}

/// How long a credential works if nobody revokes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lifetime {
    Never,
    Long,
    Configurable,
    Short,
}

/// What kind of system a credential reaches (fixed vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    SourceCode,
    CiCd,
    SecretsStore,
    CloudControlPlane,
    Identity,
    Chat,
    Ticketing,
    DataStore,
    Payments,
    EmailSms,
    Observability,
    PackageRegistry,
    Orchestration,
    AiApi,
}

/// How sure a match is to be a real credential of this kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    #[default]
    High,
}

macro_rules! display_via_serde {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(s)) => f.write_str(&s),
                    _ => write!(f, "{self:?}"),
                }
            }
        }
    )*};
}
display_via_serde!(Scope, Lifetime, Reach, Confidence);

/// One rule as written in a rules file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    /// Filled from the file's `provider` when the rule does not set it.
    #[serde(default)]
    pub provider: String,
    pub kind: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub pattern: String,
    #[serde(default)]
    pub validator: Option<Validator>,
    #[serde(default)]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub generic: bool,
    #[serde(default)]
    pub confidence: Confidence,
    #[serde(default)]
    pub window: Option<usize>,
    #[serde(default)]
    pub lookbehind: Option<usize>,
    #[serde(default)]
    pub introspect: Option<String>,
    #[serde(default)]
    pub companions: Vec<String>,
    pub scope: Scope,
    pub lifetime: Lifetime,
    pub lifetime_default: String,
    pub mints: bool,
    pub reach: Vec<Reach>,
    pub revoke: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// Bytes scanned after a keyword hit unless the rule says otherwise.
pub const DEFAULT_WINDOW: usize = 256;
/// Bytes scanned before a keyword hit unless the rule says otherwise.
pub const DEFAULT_LOOKBEHIND: usize = 160;

impl Rule {
    pub fn window(&self) -> usize {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }
    pub fn lookbehind(&self) -> usize {
        self.lookbehind.unwrap_or(DEFAULT_LOOKBEHIND)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    provider: String,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

/// An error in a rules file, with the file (and rule) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub origin: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for RuleError {}

/// The loaded, checked rule set. Order is stable: embedded files sorted by name, then
/// `--rules` files sorted by name; an override keeps the position of the rule it replaces.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn embedded() -> Result<RuleSet, RuleError> {
        // The files are parsed in parallel (parsing TOML was 6% of the instructions of a
        // scan of git.git's 48 MB tree, all of it before the first file is read), then
        // merged in their fixed order.
        use rayon::prelude::*;
        let files: Vec<(String, RuleFile)> = EMBEDDED_RULES
            .par_iter()
            .map(|(name, text)| {
                let origin = format!("rules/{name}");
                parse_file(&origin, text).map(|f| (origin, f))
            })
            .collect::<Result<_, _>>()?;
        let mut set = RuleSet::default();
        for (origin, file) in files {
            set.merge_file(&origin, file)?;
        }
        Ok(set)
    }

    /// The embedded rules of the files with a keyword that occurs (ASCII case-insensitively)
    /// in one of `texts`: the rules a scan of exactly these texts can need. The keyword
    /// index is built at compile time, so the other files are not even parsed.
    pub fn embedded_for(texts: &[&[u8]]) -> Result<RuleSet, RuleError> {
        let mut flat: Vec<&str> = Vec::new();
        let mut file_of: Vec<usize> = Vec::new();
        let mut needed = vec![false; EMBEDDED_RULES.len()];
        for (i, kws) in EMBEDDED_KEYWORDS.iter().enumerate() {
            match kws {
                Some(kws) => {
                    flat.extend_from_slice(kws);
                    file_of.extend(std::iter::repeat_n(i, kws.len()));
                }
                None => needed[i] = true,
            }
        }
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&flat)
            .map_err(|e| RuleError {
                origin: "rules".into(),
                message: format!("cannot build keyword index: {e}"),
            })?;
        for t in texts {
            for m in ac.find_overlapping_iter(*t) {
                needed[file_of[m.pattern().as_usize()]] = true;
            }
        }
        let mut set = RuleSet::default();
        for ((name, text), _) in EMBEDDED_RULES.iter().zip(&needed).filter(|(_, n)| **n) {
            set.add_file(&format!("rules/{name}"), text)?;
        }
        Ok(set)
    }

    /// Adds (or overrides by id) every `*.toml` rule file in `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), RuleError> {
        let err = |message: String| RuleError {
            origin: dir.display().to_string(),
            message,
        };
        let rd =
            std::fs::read_dir(dir).map_err(|e| err(format!("cannot read rules directory: {e}")))?;
        let mut files: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(err("no *.toml rule files in it".into()));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| RuleError {
                origin: f.display().to_string(),
                message: format!("cannot read: {e}"),
            })?;
            self.add_file(&f.display().to_string(), &text)?;
        }
        Ok(())
    }

    /// Parses one rules file and adds its rules, replacing rules with the same id.
    pub fn add_file(&mut self, origin: &str, text: &str) -> Result<(), RuleError> {
        let file = parse_file(origin, text)?;
        self.merge_file(origin, file)
    }

    fn merge_file(&mut self, origin: &str, file: RuleFile) -> Result<(), RuleError> {
        for mut rule in file.rules {
            if rule.provider.is_empty() {
                rule.provider = file.provider.clone();
            }
            check_rule(&rule).map_err(|message| RuleError {
                origin: format!("{origin} [{}]", rule.id),
                message,
            })?;
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(slot) => *slot = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(())
    }

    /// Keeps only rules for which `keep` is true (e.g. config enable/disable lists).
    pub fn retain(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rule counts per provider, for `blastradius rules`.
    pub fn providers(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for r in &self.rules {
            *m.entry(r.provider.as_str()).or_insert(0) += 1;
        }
        m
    }
}

/// Structural checks that do not need the regex engine; the matcher compiles patterns.
fn check_rule(rule: &Rule) -> Result<(), String> {
    let id_ok = !rule.id.is_empty()
        && rule
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !id_ok {
        return Err("id must be lowercase letters, digits, '.', '_' or '-'".into());
    }
    for (field, value) in [
        ("name", &rule.name),
        ("provider", &rule.provider),
        ("kind", &rule.kind),
        ("description", &rule.description),
        ("lifetime_default", &rule.lifetime_default),
        ("revoke", &rule.revoke),
    ] {
        if value.trim().is_empty() {
            return Err(format!("{field} is empty"));
        }
    }
    if rule.keywords.is_empty() || rule.keywords.iter().any(|k| k.len() < 2) {
        return Err("needs at least one keyword, each at least 2 bytes".into());
    }
    if rule.reach.is_empty() {
        return Err("reach is empty".into());
    }
    if !rule.pattern.contains("(?P<secret>") && !rule.pattern.contains("(?<secret>") {
        return Err("pattern has no named group 'secret'".into());
    }
    if let Some(d) = &rule.introspect
        && !crate::introspect::DECODERS.contains(&d.as_str())
    {
        return Err(format!("unknown introspect decoder '{d}'"));
    }
    Ok(())
}

fn parse_file(origin: &str, text: &str) -> Result<RuleFile, RuleError> {
    toml::from_str(text).map_err(|e| RuleError {
        origin: origin.to_string(),
        message: e.to_string().trim().replace('\n', " "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load() {
        let set = RuleSet::embedded().unwrap();
        assert!(set.get("github.pat.classic").is_some());
    }

    #[test]
    fn embedded_for_loads_only_files_whose_keywords_occur() {
        let set = RuleSet::embedded_for(&[b"export GH=GHP_abc".as_slice()]).unwrap();
        assert!(set.get("github.pat.classic").is_some());
        assert!(set.get("stripe.secret_key.live").is_none());
        assert!(set.len() < RuleSet::embedded().unwrap().len() / 4);
        // Every embedded file is indexed: all texts together need every file.
        let all: Vec<&[u8]> = EMBEDDED_KEYWORDS
            .iter()
            .flatten()
            .flat_map(|k| k.iter().map(|s| s.as_bytes()))
            .collect();
        assert_eq!(
            RuleSet::embedded_for(&all).unwrap().len(),
            RuleSet::embedded().unwrap().len()
        );
        assert_eq!(RuleSet::embedded_for(&[]).unwrap().len(), 0);
    }

    #[test]
    fn override_by_id_keeps_position() {
        let mut set = RuleSet::embedded().unwrap();
        let pos = set
            .rules()
            .iter()
            .position(|r| r.id == "github.pat.classic")
            .unwrap();
        let text = r#"
provider = "Mine"
[[rule]]
id = "github.pat.classic"
name = "n"
kind = "k"
description = "d"
keywords = ["ghp_"]
pattern = '(?P<secret>ghp_[a-z]{3})'
scope = "fixed-broad"
lifetime = "never"
lifetime_default = "never"
mints = false
reach = ["source_code"]
revoke = "r"
"#;
        set.add_file("mine.toml", text).unwrap();
        assert_eq!(set.rules()[pos].provider, "Mine");
    }

    #[test]
    fn errors_name_file_and_rule() {
        let mut set = RuleSet::default();
        let e = set.add_file("x.toml", "provider = 1").unwrap_err();
        assert_eq!(e.origin, "x.toml");
        let text = r#"
provider = "P"
[[rule]]
id = "BAD ID"
name = "n"
kind = "k"
description = "d"
keywords = ["ab"]
pattern = '(?P<secret>a)'
scope = "fixed-broad"
lifetime = "never"
lifetime_default = "x"
mints = false
reach = ["chat"]
revoke = "r"
"#;
        let e = set.add_file("y.toml", text).unwrap_err();
        assert!(e.to_string().starts_with("y.toml [BAD ID]"), "{e}");
    }
}

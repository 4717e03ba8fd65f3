//! Every rule's examples, run through the real engine (keywords, windows, filters,
//! validators): each positive example must yield a finding of that rule, each negative
//! example none of that rule. Also checks that every rule carries complete metadata.

use blastradius::matcher::Engine;
use blastradius::rules::RuleSet;

fn engine() -> (RuleSet, Engine) {
    let set = RuleSet::embedded().expect("embedded rules load");
    let engine = Engine::new(&set).expect("engine builds");
    (set, engine)
}

#[test]
fn every_pattern_compiles() {
    let (_, engine) = engine();
    engine.compile_all().expect("all rule patterns compile");
}

#[test]
fn examples_match_negatives_do_not_and_metadata_is_complete() {
    let (set, engine) = engine();
    let failures = blastradius::check_rules(&set, &engine);
    assert!(
        failures.is_empty(),
        "{} rule failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_ids_are_unique_across_files() {
    // RuleSet::embedded overrides by id, so count ids in the raw files.
    let mut seen = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: toml::Value = toml::from_str(&text).unwrap();
            for r in doc
                .get("rule")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let id = r
                    .get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                if let Some(prev) = seen.insert(id.clone(), path.display().to_string()) {
                    panic!("rule id {id} defined in both {prev} and {}", path.display());
                }
            }
        }
    }
    assert!(seen.len() >= 6);
}

mod common;

/// `blastradius rules --check --rules DIR`: what a rule author runs. A rule whose positive
/// example does not match fails with its id and exit 1; a correct one passes.
#[test]
fn rules_check_command_reports_a_broken_user_rule() {
    let t = tempfile::tempdir().unwrap();
    let rule = |pattern: &str| {
        format!(
            r#"provider = "Acme"
[[rule]]
id = "acme.deploy_key"
name = "Acme deploy key"
kind = "API key"
description = "Acme deploy key."
keywords = ["acmd_"]
pattern = '''\b(?P<secret>{pattern})\b'''
scope = "fixed-broad"
lifetime = "never"
lifetime_default = "no expiry"
mints = false
reach = ["ci_cd"]
revoke = "delete it in the Acme console"
references = ["https://acme.invalid/docs"]
examples = ['ACME_KEY=acmd_Zf3D0LXCM3EIMbgJpUNnkRtO', 'key: acmd_q8M2nV7pL0sK4rT9wY3xB6cE']
negative_examples = ['ACME_KEY=acmd_short', 'ACME_KEY=acmd_xxxxxxxxxxxxxxxxxxxxxxxx']
"#
        )
    };
    std::fs::write(t.path().join("acme.toml"), rule("acmd_[A-Za-z0-9]{24}")).unwrap();
    let dir = t.path().to_str().unwrap();
    let ok = common::run(t.path(), &["rules", "--check", "--rules", dir]);
    assert_eq!(common::code(&ok), 0, "{}", common::stdout(&ok));
    assert!(common::stdout(&ok).contains("all pass"));

    std::fs::write(t.path().join("acme.toml"), rule("acmd_[A-Za-z0-9]{30}")).unwrap();
    let bad = common::run(t.path(), &["rules", "--check", "--rules", dir]);
    assert_eq!(common::code(&bad), 1, "{}", common::stdout(&bad));
    let out = common::stdout(&bad);
    assert!(
        out.contains("acme.deploy_key: positive example not found"),
        "{out}"
    );
    assert!(out.contains("2 failures"), "{out}");
}

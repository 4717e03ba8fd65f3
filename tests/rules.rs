//! Every rule's examples, run through the real engine (keywords, windows, filters,
//! validators): each positive example must yield a finding of that rule, each negative
//! example none of that rule. Also checks that every rule carries complete metadata.

use blastradius::matcher::{Engine, Scratch};
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
fn examples_match_and_negatives_do_not() {
    let (set, engine) = engine();
    let mut scratch = Scratch::default();
    let mut failures = Vec::new();
    for (ri, rule) in set.rules().iter().enumerate() {
        for ex in &rule.examples {
            let found = engine.scan(ex.as_bytes(), &mut scratch);
            if !found.iter().any(|m| m.rule == ri) {
                let others: Vec<&str> = found
                    .iter()
                    .map(|m| set.rules()[m.rule].id.as_str())
                    .collect();
                failures.push(format!(
                    "{}: positive example not found (found instead: {others:?}): {ex}",
                    rule.id
                ));
            }
        }
        for ex in &rule.negative_examples {
            let found = engine.scan(ex.as_bytes(), &mut scratch);
            if let Some(m) = found.iter().find(|m| m.rule == ri) {
                let secret = String::from_utf8_lossy(&ex.as_bytes()[m.secret.clone()]);
                failures.push(format!(
                    "{}: negative example matched '{secret}': {ex}",
                    rule.id
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} example failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_metadata_and_examples() {
    let (set, _) = engine();
    let mut failures = Vec::new();
    for r in set.rules() {
        if r.examples.len() < 2 {
            failures.push(format!("{}: needs at least 2 positive examples", r.id));
        }
        if r.negative_examples.len() < 2 {
            failures.push(format!("{}: needs at least 2 negative examples", r.id));
        }
        if r.references.is_empty() {
            failures.push(format!("{}: needs at least one reference", r.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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

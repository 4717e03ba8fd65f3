//! Every validator used by an embedded rule (checksums, JWT structure, bech32...) on
//! arbitrary bytes: no panic.
#![no_main]

use blastradius::rules::RuleSet;
use blastradius::rules::validate::Validator;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static VALIDATORS: LazyLock<Vec<Validator>> = LazyLock::new(|| {
    let mut v: Vec<Validator> = RuleSet::embedded()
        .unwrap()
        .rules()
        .iter()
        .filter_map(|r| r.validator)
        .collect();
    v.dedup();
    v.sort_by_key(|v| format!("{v:?}"));
    v.dedup();
    v
});

fuzz_target!(|data: &[u8]| {
    for v in VALIDATORS.iter() {
        let _ = v.check(data);
    }
});

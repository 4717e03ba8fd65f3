//! The keyword automaton and windowed regexes of every embedded rule on arbitrary bytes:
//! no panic, and matches in bounds, sorted and not overlapping.
#![no_main]

use blastradius::matcher::{Engine, Scratch};
use blastradius::rules::RuleSet;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::new(&RuleSet::embedded().unwrap()).unwrap());

fuzz_target!(|data: &[u8]| {
    let mut scratch = Scratch::default();
    let ms = ENGINE.scan(data, &mut scratch);
    let mut last_end = 0;
    for m in &ms {
        assert!(m.secret.start <= m.secret.end && m.secret.end <= data.len());
        assert!(m.whole.start <= m.secret.start && m.secret.end <= m.whole.end);
        assert!(m.whole.end <= data.len());
        assert!(m.secret.start >= last_end, "overlapping matches");
        last_end = m.secret.end;
        assert!(m.rule < ENGINE.rule_count());
    }
});

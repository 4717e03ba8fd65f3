//! The files a user points the scanner at: `.blastradius.toml` (`--config`, including its
//! path globs), a baseline (`--baseline`, JSON) and a rules file (`--rules DIR`, TOML, whose
//! patterns are compiled). The first byte picks the loader. Errors are fine; panics are not.
#![no_main]

use blastradius::rules::RuleSet;
use blastradius::suppress::{Baseline, Config, Suppressor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match pick % 3 {
        0 => {
            if let Ok(c) = toml::from_str::<Config>(text) {
                let mut set = RuleSet::embedded().unwrap();
                c.apply_rules(&mut set);
                let _ = Suppressor::new(Some(&c), None, None);
            }
        }
        1 => {
            if let Ok(b) = serde_json::from_str::<Baseline>(text) {
                let _ = Suppressor::new(None, Some(&b), None);
                let _ = Suppressor::new(None, Some(&b), Some(b"k"));
            }
        }
        _ => {
            let mut set = RuleSet::default();
            if set.add_file("fuzz.toml", text).is_ok()
                && let Ok(e) = blastradius::build_engine(&set, true)
            {
                let _ = e.scan(text.as_bytes(), &mut Default::default());
            }
        }
    }
});

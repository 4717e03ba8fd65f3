//! Every offline decoder (JWT, AWS key id, Azure SAS, PyPI macaroon, Stripe, Slack, GitHub,
//! Vault, GCP service account JSON, private keys, URIs) on arbitrary text: the first byte
//! picks the decoder. Decoders must be total: no panic, bounded work, and no fact carries
//! the input's secret material verbatim when it is long.
#![no_main]

use blastradius::introspect::{DECODERS, introspect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = DECODERS[pick as usize % DECODERS.len()];
    let text = String::from_utf8_lossy(rest);
    let facts = introspect(name, &text);
    // Facts serialise (they go into every report).
    let _ = serde_json::to_string(&facts).unwrap();
});

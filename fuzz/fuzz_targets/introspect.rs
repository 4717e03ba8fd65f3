//! Every offline decoder (JWT, AWS key id, Azure SAS, PyPI macaroon, Stripe, Slack, GitHub,
//! Vault, GCP service account JSON, private keys, URIs) on arbitrary text. Decoders must be
//! total: no panic, bounded work, facts that serialise, and every field sanitised as
//! `util::put` promises (no control characters, at most 200 characters; `kind` bounded too).
//!
//! Leak oracle: first byte >= 0xF0 builds a token around a marker placed where only secret
//! material goes (a JWT's signature, a URI's password, a SAS's `sig`), the rest of the token
//! fuzzer-chosen; the marker must not appear anywhere in the serialised facts.
//! Otherwise the first byte picks the decoder and the rest is the text.
#![no_main]

use base64::Engine as _;
use blastradius::introspect::{DECODERS, Facts, introspect};
use libfuzzer_sys::fuzz_target;

const MARKER: &str = "Zk3QmX9vR2tL8wPn5sYc7JhB4dFgE6aU";

fn b64u(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn check(facts: &Facts) -> String {
    let json = serde_json::to_string(facts).expect("facts serialise");
    for (k, v) in &facts.fields {
        assert!(!k.is_empty());
        assert!(
            v.chars().count() <= 200,
            "field {k} not truncated: {} chars",
            v.chars().count()
        );
        assert!(
            !v.chars().any(char::is_control),
            "field {k} has control characters"
        );
    }
    if let Some(kind) = &facts.kind {
        assert!(
            kind.chars().count() <= 300,
            "kind not bounded: {} chars",
            kind.chars().count()
        );
        assert!(
            !kind.chars().any(char::is_control),
            "kind has control characters"
        );
    }
    json
}

fn leak_case(which: u8, rest: &[u8]) -> Option<(&'static str, String)> {
    let cut = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let (a, b) = (&rest[..cut], rest.get(cut + 1..).unwrap_or(&[]));
    let (sa, sb) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    if sa.contains(MARKER) || sb.contains(MARKER) {
        return None;
    }
    Some(match which % 3 {
        // header JSON . payload JSON . signature
        0 => ("jwt", format!("{}.{}.{MARKER}", b64u(a), b64u(b))),
        // scheme://user:password@host...
        1 => {
            let scheme: String = sa
                .chars()
                .take_while(|&c| c != ' ')
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
                .collect();
            let user: String = sa
                .chars()
                .skip_while(|&c| c != ' ')
                .filter(|c| !c.is_whitespace() && !matches!(c, ':' | '@' | '/' | '?' | '#'))
                .collect();
            ("uri", format!("{scheme}://{user}:{MARKER}@{sb}"))
        }
        // ...&sig=<signature>&...
        _ => ("azure_sas", format!("{sa}&sig={MARKER}&{sb}")),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick >= 0xF0 {
        if let Some((name, text)) = leak_case(pick, rest) {
            let json = check(&introspect(name, &text));
            assert!(
                !json.contains(MARKER),
                "{name} facts copy secret material: {json}"
            );
        }
        return;
    }
    let name = DECODERS[pick as usize % DECODERS.len()];
    let text = String::from_utf8_lossy(rest);
    check(&introspect(name, &text));
});

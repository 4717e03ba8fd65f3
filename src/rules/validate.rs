//! Offline validators: checksums and structure that a token carries in itself.
//!
//! A checksum that holds is strong evidence a match is a real token rather than a look-alike
//! (the chance of a random 36-char string passing GitHub's CRC32 is 1 in 62^6), and a
//! checksum that fails means it is *not* a token of that kind, so the match is dropped.
//! None of these touch the network.
//!
//! One validator is not a checksum: `generic_value` judges the value (and the key name) of a
//! generic `<name> = <value>` match, see [`generic`].

pub mod generic;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    /// `<prefix>_<30 random><6 chars: CRC32 of the random part, base62, zero-padded>`
    /// (GitHub ghp_/gho_/ghu_/ghs_, npm_).
    Crc32Base62,
    /// GitLab routable tokens: the last 7 chars are the CRC32 of everything before them,
    /// lowercase base36, zero-padded.
    GitlabCrc32Base36,
    /// Grafana `glsa_<32>_<8 hex>`: CRC32 of `glsa_<32>` as 4 little-endian bytes in hex.
    GrafanaCrc32Hex,
    /// A JWT whose header and payload are base64url JSON objects, header with `alg`.
    Jwt,
    /// A bech32 string whose checksum holds (age secret keys).
    Bech32,
    /// Not a checksum: the value of a generic assignment looks like a secret (not a reference,
    /// code, path, number, word, placeholder or low-randomness string) and the key name, when
    /// the pattern captures it as `name`, is a secret name (not `csrf_token`, `token_url`...).
    GenericValue,
}

impl Validator {
    pub fn check(self, secret: &[u8]) -> bool {
        self.check_with_name(secret, None)
    }

    /// Like [`Validator::check`], with the key name the pattern captured (group `name`), for
    /// validators that judge it (`generic_value`); the others ignore it.
    pub fn check_with_name(self, secret: &[u8], name: Option<&[u8]>) -> bool {
        match self {
            Validator::Crc32Base62 => crc32_base62(secret),
            Validator::GitlabCrc32Base36 => gitlab_crc32_base36(secret),
            Validator::GrafanaCrc32Hex => grafana_crc32_hex(secret),
            Validator::Jwt => jwt_structure(secret),
            Validator::Bech32 => bech32(secret),
            Validator::GenericValue => generic::generic_value(secret, name),
        }
    }

    /// True when a match that passed this validator is proven to have the token's format
    /// (a checksum or a decoded structure), false for heuristic judgement (`generic_value`).
    pub fn proves_format(self) -> bool {
        !matches!(self, Validator::GenericValue)
    }
}

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Encodes `n` in the given alphabet, left-padded with the alphabet's zero to `width`.
fn encode_fixed(mut n: u32, alphabet: &[u8], width: usize) -> Vec<u8> {
    let base = alphabet.len() as u32;
    let mut out = vec![alphabet[0]; width];
    for slot in out.iter_mut().rev() {
        *slot = alphabet[(n % base) as usize];
        n /= base;
    }
    out
}

fn crc32_base62(token: &[u8]) -> bool {
    // The random part sits between the prefix's last '_' and the 6-char checksum.
    let Some(us) = token.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let body = &token[us + 1..];
    if body.len() < 7 {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    encode_fixed(crc32fast::hash(random), B62, 6) == check
}

fn gitlab_crc32_base36(token: &[u8]) -> bool {
    if token.len() < 8 {
        return false;
    }
    let (head, check) = token.split_at(token.len() - 7);
    encode_fixed(crc32fast::hash(head), B36, 7) == check
}

fn grafana_crc32_hex(token: &[u8]) -> bool {
    let Some(us) = token.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let (head, check) = (&token[..us], &token[us + 1..]);
    if check.len() != 8 {
        return false;
    }
    let le = crc32fast::hash(head).to_le_bytes();
    let hex: String = le.iter().map(|b| format!("{b:02x}")).collect();
    hex.as_bytes() == check.to_ascii_lowercase()
}

/// Decodes base64url with or without padding (JWT segments omit it).
pub fn b64url(seg: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = seg.iter().copied().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
}

fn jwt_structure(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let json = |seg: &[u8]| -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(&b64url(seg)?).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    match (json(h), json(p)) {
        (Some(header), Some(_)) => header.contains_key("alg"),
        _ => false,
    }
}

const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some(sep) = lower.iter().rposition(|&b| b == b'1') else {
        return false;
    };
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.iter().map(|b| b >> 5));
    values.push(0);
    values.extend(hrp.iter().map(|b| b & 31));
    for &c in data {
        match BECH32_CHARSET.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic tokens from tools/synth_token.py (never issued by any provider).
    #[test]
    fn github_and_npm_checksum() {
        assert!(crc32_base62(b"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"));
        assert!(!crc32_base62(b"ghp_eG0Wx8Kvx2AZwpClk7jx2qzhdrENXs2t5pZK"));
        assert!(!crc32_base62(b"ghp_"));
        assert!(!crc32_base62(b"nounderscore"));
    }

    #[test]
    fn gitlab_routable_checksum() {
        assert!(gitlab_crc32_base36(
            b"glpat-bzox79Of-KE9FD2LjoXXF4CvyxA.0r03gxo7s"
        ));
        assert!(gitlab_crc32_base36(
            b"glpat-e-3j8EoACmqdZLQB1Dmvs85ksyY.01.0r0xfk7p9"
        ));
        assert!(!gitlab_crc32_base36(
            b"glpat-bzox79Of-KE9FD2LjoXXF4CvyxA.0r03gxo7t"
        ));
        assert!(!gitlab_crc32_base36(b"short"));
    }

    #[test]
    fn grafana_checksum() {
        assert!(grafana_crc32_hex(
            b"glsa_TYK7fskLFaQGuyDkg45NcggXpfnnGx51_07729332"
        ));
        assert!(!grafana_crc32_hex(
            b"glsa_TYK7fskLFaQGuyDkg45NcggXpfnnGx51_07729333"
        ));
        assert!(!grafana_crc32_hex(b"glsa_x_123"));
    }

    #[test]
    fn jwt_structure_check() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1"} . sig
        let t = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert!(jwt_structure(t));
        assert!(!jwt_structure(b"eyJub3Rqc29u.eyJzdWIiOiIxIn0.sig"));
        assert!(!jwt_structure(b"eyJhbGciOiJIUzI1NiJ9"));
    }

    #[test]
    fn bech32_checksum() {
        // BIP-173 test vectors.
        assert!(bech32(b"A12UEL5L"));
        assert!(bech32(b"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"));
        assert!(!bech32(b"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx"));
        assert!(!bech32(b"noseparator"));
    }

    #[test]
    fn encode_fixed_pads() {
        assert_eq!(encode_fixed(0, B62, 6), b"000000");
        assert_eq!(encode_fixed(61, B62, 2), b"0z");
        assert_eq!(encode_fixed(36, B36, 3), b"010");
    }

    proptest::proptest! {
        #[test]
        fn validators_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for v in [Validator::Crc32Base62, Validator::GitlabCrc32Base36, Validator::GrafanaCrc32Hex, Validator::Jwt, Validator::Bech32, Validator::GenericValue] {
                let _ = v.check(&bytes);
                let _ = v.check_with_name(&bytes, Some(&bytes));
            }
        }
    }
}

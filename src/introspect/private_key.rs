//! Private keys: PEM (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8), OpenSSH, PGP and PuTTY.
//!
//! A leaked private key never expires; what matters is what kind it is, how strong, and above
//! all whether it is passphrase-protected (an encrypted key still needs the passphrase, so the
//! leak is far less urgent). All of that is in the container: PEM `Proc-Type: 4,ENCRYPTED` or
//! `BEGIN ENCRYPTED PRIVATE KEY`, the OpenSSH `openssh-key-v1` header's cipher name, the PGP
//! secret-key packet's S2K usage octet, PuTTY's `Encryption:` line. We read just enough DER /
//! SSH wire format / OpenPGP packets to name the key type, curve and RSA size, and an OpenSSH
//! key's comment (often `user@host`, which says whose machine it came from). Key material is
//! never copied.

use super::Facts;
use super::util::{b64_decode, put};

/// Decodes the first private key found in `secret` (real or `\n`-escaped newlines).
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    let text = secret
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace('\r', "");
    if let Some(pos) = text.find("PuTTY-User-Key-File-") {
        putty(text.get(pos..).unwrap_or(""), &mut facts);
        return facts;
    }
    let Some(block) = pem_block(&text) else {
        return facts;
    };
    match block.label {
        "OPENSSH PRIVATE KEY" => openssh(&block, &mut facts),
        "PGP PRIVATE KEY BLOCK" => pgp(&block, &mut facts),
        "SSH2 ENCRYPTED PRIVATE KEY" => {
            // ssh.com / SECSH format: always written encrypted or with cipher "none" inside;
            // the label is the only cheap signal.
            facts.decoded = block.der.is_some();
            put(&mut facts, "format", "SSH.com (SECSH)");
            facts.kind = Some("SSH.com private key".into());
        }
        label => pem_der(label, &block, &mut facts),
    }
    facts
}

/// A PEM / armor block: label, `Key: value` headers and the decoded body.
struct Block<'a> {
    label: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    der: Option<Vec<u8>>,
}

fn pem_block(text: &str) -> Option<Block<'_>> {
    let begin = text.find("-----BEGIN ")?;
    let after = text.get(begin + "-----BEGIN ".len()..)?;
    let label_end = after.find("-----")?;
    let label = after.get(..label_end)?.trim();
    if !label.contains("PRIVATE KEY") {
        return None;
    }
    let body = after.get(label_end + 5..)?;
    let body = body.get(..body.find("-----END").unwrap_or(body.len()))?;
    let mut headers = Vec::new();
    let mut b64 = String::new();
    for line in body.lines().map(str::trim) {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim(), v.trim()));
        } else if line.starts_with('=') && line.len() == 5 {
            break; // OpenPGP armor checksum
        } else {
            b64.push_str(line);
        }
    }
    Some(Block {
        label,
        headers,
        der: b64_decode(&b64),
    })
}

// ---------------------------------------------------------------------------------------------
// DER

/// One DER TLV: (tag, contents, rest). Definite lengths up to 4 bytes only.
fn read_tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        rest = rest.get(n..)?;
        bytes.iter().try_fold(0usize, |acc, &b| {
            acc.checked_mul(256)?.checked_add(usize::from(b))
        })?
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// Contents of a SEQUENCE.
fn der_seq(buf: &[u8]) -> Option<&[u8]> {
    match read_tlv(buf)? {
        (0x30, body, _) => Some(body),
        _ => None,
    }
}

/// Bit length of a big-endian unsigned integer (leading zero bytes ignored).
fn bit_len(int: &[u8]) -> usize {
    let mut it = int.iter().skip_while(|&&b| b == 0);
    match it.next() {
        None => 0,
        Some(&first) => {
            let rest = it.count();
            rest * 8 + (8 - first.leading_zeros() as usize)
        }
    }
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];

fn algorithm_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        OID_RSA => "RSA",
        OID_RSA_PSS => "RSA-PSS",
        OID_EC => "EC",
        OID_DSA => "DSA",
        [0x2b, 0x65, 0x70] => "Ed25519",
        [0x2b, 0x65, 0x71] => "Ed448",
        [0x2b, 0x65, 0x6e] => "X25519",
        [0x2b, 0x65, 0x6f] => "X448",
        _ => return None,
    })
}

fn curve_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => "P-256",
        [0x2b, 0x81, 0x04, 0x00, 0x22] => "P-384",
        [0x2b, 0x81, 0x04, 0x00, 0x23] => "P-521",
        [0x2b, 0x81, 0x04, 0x00, 0x0a] => "secp256k1",
        _ => return None,
    })
}

fn cipher_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02] => "aes-128-cbc",
        [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16] => "aes-192-cbc",
        [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a] => "aes-256-cbc",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07] => "des-ede3-cbc",
        _ => return None,
    })
}

fn kdf_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c] => "PBKDF2",
        [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b] => "scrypt",
        _ => return None,
    })
}

/// `AlgorithmIdentifier ::= SEQUENCE { OID, params }` → (oid, params).
fn alg_id(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = der_seq(buf)?;
    match read_tlv(body)? {
        (0x06, oid, params) => Some((oid, params)),
        _ => None,
    }
}

/// RSAPrivateKey (PKCS#1): SEQUENCE { version, modulus, ... } → modulus bits.
fn rsa_bits(buf: &[u8]) -> Option<usize> {
    let body = der_seq(buf)?;
    let (tag, _, rest) = read_tlv(body)?;
    if tag != 0x02 {
        return None;
    }
    match read_tlv(rest)? {
        (0x02, n, _) => Some(bit_len(n)),
        _ => None,
    }
}

/// ECPrivateKey (SEC1): SEQUENCE { 1, OCTET STRING, [0] OID curve OPTIONAL, ... } → curve.
fn sec1_curve(buf: &[u8]) -> Option<Option<&'static str>> {
    let body = der_seq(buf)?;
    let (tag, _, rest) = read_tlv(body)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, _, mut rest) = read_tlv(rest)?;
    if tag != 0x04 {
        return None;
    }
    while let Some((tag, content, next)) = read_tlv(rest) {
        if tag == 0xa0 {
            return Some(match read_tlv(content) {
                Some((0x06, oid, _)) => curve_name(oid),
                _ => None,
            });
        }
        rest = next;
    }
    Some(None)
}

/// DSAPrivateKey (OpenSSL): SEQUENCE { version, p, ... } → p bits.
fn dsa_bits(buf: &[u8]) -> Option<usize> {
    rsa_bits(buf)
}

fn pem_der(label: &str, block: &Block, facts: &mut Facts) {
    let proc_encrypted = block
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"));
    if proc_encrypted {
        // Legacy OpenSSL encryption: the body is ciphertext, the DEK-Info names the cipher.
        facts.encrypted = Some(true);
        if let Some((_, v)) = block
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("DEK-Info"))
        {
            put(facts, "cipher", v.split(',').next().unwrap_or(""));
        }
    }
    let der = block.der.as_deref();
    let (key_type, format) = match label {
        "RSA PRIVATE KEY" => ("RSA", "PKCS#1"),
        "EC PRIVATE KEY" => ("EC", "SEC1"),
        "DSA PRIVATE KEY" => ("DSA", "OpenSSL DSA"),
        "PRIVATE KEY" => ("", "PKCS#8"),
        "ENCRYPTED PRIVATE KEY" => ("", "encrypted PKCS#8"),
        _ => ("", "PEM"),
    };
    put(facts, "format", format);
    if proc_encrypted {
        facts.decoded = der.is_some();
        put(facts, "key_type", key_type);
        facts.kind = Some(kind(key_type, format));
        return;
    }
    let Some(der) = der else {
        facts.kind = Some(kind(key_type, format));
        if !key_type.is_empty() {
            put(facts, "key_type", key_type);
        }
        return;
    };
    let mut key_type = key_type.to_string();
    match label {
        "RSA PRIVATE KEY" => {
            if let Some(bits) = rsa_bits(der) {
                facts.decoded = true;
                put(facts, "bits", &bits.to_string());
            }
            facts.encrypted = Some(false);
        }
        "DSA PRIVATE KEY" => {
            if let Some(bits) = dsa_bits(der) {
                facts.decoded = true;
                put(facts, "bits", &bits.to_string());
            }
            facts.encrypted = Some(false);
        }
        "EC PRIVATE KEY" => {
            if let Some(curve) = sec1_curve(der) {
                facts.decoded = true;
                if let Some(c) = curve {
                    put(facts, "curve", c);
                }
            }
            facts.encrypted = Some(false);
        }
        "PRIVATE KEY" => {
            if let Some(t) = pkcs8(der, facts) {
                facts.decoded = true;
                key_type = t.to_string();
            }
            facts.encrypted = Some(false);
        }
        "ENCRYPTED PRIVATE KEY" => {
            facts.encrypted = Some(true);
            facts.decoded = encrypted_pkcs8(der, facts).is_some();
        }
        _ => {}
    }
    if !key_type.is_empty() {
        put(facts, "key_type", &key_type);
    }
    facts.kind = Some(kind(&key_type, format));
}

fn kind(key_type: &str, format: &str) -> String {
    if key_type.is_empty() {
        format!("private key ({format})")
    } else {
        format!("{key_type} private key ({format})")
    }
}

/// PrivateKeyInfo: SEQUENCE { version, AlgorithmIdentifier, OCTET STRING key, ... }.
fn pkcs8(der: &[u8], facts: &mut Facts) -> Option<&'static str> {
    let body = der_seq(der)?;
    let (tag, _, rest) = read_tlv(body)?;
    if tag != 0x02 {
        return None;
    }
    let (alg_tag, alg_body, rest) = read_tlv(rest)?;
    if alg_tag != 0x30 {
        return None;
    }
    let (oid, params) = match read_tlv(alg_body)? {
        (0x06, oid, params) => (oid, params),
        _ => return None,
    };
    let name = algorithm_name(oid)?;
    let key = match read_tlv(rest)? {
        (0x04, key, _) => key,
        _ => return None,
    };
    match name {
        "RSA" | "RSA-PSS" => {
            if let Some(bits) = rsa_bits(key) {
                put(facts, "bits", &bits.to_string());
            }
        }
        "EC" => {
            if let Some((0x06, curve, _)) = read_tlv(params)
                && let Some(c) = curve_name(curve)
            {
                put(facts, "curve", c);
            }
        }
        "DSA" => {
            // Parameters are SEQUENCE { p, q, g }.
            if let Some((0x02, p, _)) = der_seq(params).and_then(read_tlv) {
                put(facts, "bits", &bit_len(p).to_string());
            }
        }
        _ => {}
    }
    Some(name)
}

/// EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }; for PBES2 the
/// parameters name the KDF and cipher.
fn encrypted_pkcs8(der: &[u8], facts: &mut Facts) -> Option<()> {
    let body = der_seq(der)?;
    let (oid, params) = alg_id(body)?;
    if oid != OID_PBES2 {
        put(facts, "cipher", "legacy PBES1/PKCS#12 scheme");
        return Some(());
    }
    let pbes2 = der_seq(params)?;
    let (kdf_oid, _) = alg_id(pbes2)?;
    let (_, _, enc) = read_tlv(pbes2)?;
    let (enc_oid, _) = alg_id(enc)?;
    put(facts, "kdf", kdf_name(kdf_oid).unwrap_or("unknown"));
    put(facts, "cipher", cipher_name(enc_oid).unwrap_or("unknown"));
    Some(())
}

// ---------------------------------------------------------------------------------------------
// SSH wire format (RFC 4251 strings: u32 length + bytes)

fn ssh_string(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    let data = buf.get(4..4usize.checked_add(len)?)?;
    Some((data, buf.get(4 + len..)?))
}

/// Key type, RSA/DSA bits and curve from an SSH public-key blob.
fn ssh_public_key(blob: &[u8], facts: &mut Facts) -> Option<String> {
    let (typ, rest) = ssh_string(blob)?;
    let typ = String::from_utf8_lossy(typ).into_owned();
    match typ.as_str() {
        "ssh-rsa" => {
            let (_e, rest) = ssh_string(rest)?;
            let (n, _) = ssh_string(rest)?;
            put(facts, "bits", &bit_len(n).to_string());
        }
        "ssh-dss" => {
            let (p, _) = ssh_string(rest)?;
            put(facts, "bits", &bit_len(p).to_string());
        }
        t if t.starts_with("ecdsa-sha2-") || t.starts_with("sk-ecdsa-sha2-") => {
            let (curve, _) = ssh_string(rest)?;
            put(facts, "curve", &String::from_utf8_lossy(curve));
        }
        _ => {}
    }
    put(facts, "key_type", &typ);
    Some(typ)
}

/// Number of SSH strings in an unencrypted private-key entry between the key type and the
/// comment (OpenSSH PROTOCOL.key); `None` for types with non-string fields (security keys).
fn private_fields(typ: &str) -> Option<usize> {
    match typ {
        "ssh-ed25519" => Some(2),
        "ssh-rsa" => Some(6),
        "ssh-dss" => Some(5),
        t if t.starts_with("ecdsa-sha2-") => Some(3),
        _ => None,
    }
}

fn openssh(block: &Block, facts: &mut Facts) {
    put(facts, "format", "OpenSSH");
    facts.kind = Some("OpenSSH private key".into());
    let Some(bin) = block.der.as_deref() else {
        return;
    };
    let Some(rest) = bin.strip_prefix(b"openssh-key-v1\0") else {
        return;
    };
    let parsed = (|| {
        let (cipher, rest) = ssh_string(rest)?;
        let (kdf, rest) = ssh_string(rest)?;
        let (_kdf_opts, rest) = ssh_string(rest)?;
        let nkeys = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        let rest = rest.get(4..)?;
        let (pubkey, rest) = ssh_string(rest)?;
        Some((cipher, kdf, nkeys, pubkey, rest))
    })();
    let Some((cipher, kdf, nkeys, pubkey, rest)) = parsed else {
        return;
    };
    let cipher = String::from_utf8_lossy(cipher);
    let encrypted = cipher != "none";
    facts.encrypted = Some(encrypted);
    facts.decoded = true;
    if encrypted {
        put(facts, "cipher", &cipher);
        put(facts, "kdf", &String::from_utf8_lossy(kdf));
    }
    if nkeys != 1 {
        put(facts, "keys", &nkeys.to_string());
    }
    let Some(typ) = ssh_public_key(pubkey, facts) else {
        return;
    };
    facts.kind = Some(format!("OpenSSH private key ({typ})"));
    if !encrypted && let Some(comment) = openssh_comment(rest, &typ) {
        put(facts, "comment", &comment);
    }
}

/// The comment of the first key in the unencrypted private section.
fn openssh_comment(section: &[u8], typ: &str) -> Option<String> {
    let (private, _) = ssh_string(section)?;
    let check1 = private.get(..4)?;
    let check2 = private.get(4..8)?;
    if check1 != check2 {
        return None;
    }
    let (entry_type, mut rest) = ssh_string(private.get(8..)?)?;
    if entry_type != typ.as_bytes() {
        return None;
    }
    for _ in 0..private_fields(typ)? {
        rest = ssh_string(rest)?.1;
    }
    let (comment, _) = ssh_string(rest)?;
    Some(String::from_utf8_lossy(comment).into_owned())
}

fn putty(text: &str, facts: &mut Facts) {
    let mut lines = text.lines().map(str::trim);
    let header = lines.next().unwrap_or("");
    let Some((version, typ)) = header
        .strip_prefix("PuTTY-User-Key-File-")
        .and_then(|h| h.split_once(':'))
    else {
        return;
    };
    let typ = typ.trim();
    put(facts, "format", &format!("PuTTY v{}", version.trim()));
    put(facts, "key_type", typ);
    facts.kind = Some(format!("PuTTY private key ({typ})"));
    facts.decoded = !typ.is_empty();
    let mut public_lines = 0usize;
    let mut public_b64 = String::new();
    for line in lines {
        if public_lines > 0 {
            public_b64.push_str(line);
            public_lines -= 1;
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Encryption" => {
                facts.encrypted = Some(v != "none");
                if v != "none" {
                    put(facts, "cipher", v);
                }
            }
            "Comment" => put(facts, "comment", v),
            "Key-Derivation" => put(facts, "kdf", v),
            "Public-Lines" => public_lines = v.parse::<usize>().unwrap_or(0).min(64),
            _ => {}
        }
    }
    if let Some(blob) = b64_decode(&public_b64) {
        let _ = ssh_public_key(&blob, facts);
    }
}

// ---------------------------------------------------------------------------------------------
// OpenPGP (RFC 4880 / RFC 9580)

/// One packet: (tag, body, rest). Partial (streamed) lengths are not supported.
fn pgp_packet(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&h, rest) = buf.split_first()?;
    if h & 0x80 == 0 {
        return None;
    }
    let (tag, len, rest) = if h & 0x40 != 0 {
        let (&o1, rest) = rest.split_first()?;
        match o1 {
            0..=191 => (h & 0x3f, usize::from(o1), rest),
            192..=223 => {
                let (&o2, rest) = rest.split_first()?;
                (
                    h & 0x3f,
                    (usize::from(o1) - 192) * 256 + usize::from(o2) + 192,
                    rest,
                )
            }
            255 => {
                let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
                (h & 0x3f, usize::try_from(n).ok()?, rest.get(4..)?)
            }
            _ => return None,
        }
    } else {
        let tag = (h >> 2) & 0x0f;
        match h & 3 {
            0 => {
                let (&l, rest) = rest.split_first()?;
                (tag, usize::from(l), rest)
            }
            1 => {
                let n = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
                (tag, usize::from(n), rest.get(2..)?)
            }
            2 => {
                let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
                (tag, usize::try_from(n).ok()?, rest.get(4..)?)
            }
            _ => (tag, rest.len(), rest),
        }
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// An OpenPGP MPI: (bit count, rest).
fn mpi(buf: &[u8]) -> Option<(usize, &[u8])> {
    let bits = usize::from(u16::from_be_bytes(buf.get(..2)?.try_into().ok()?));
    let bytes = bits.div_ceil(8);
    Some((bits, buf.get(2usize.checked_add(bytes)?..)?))
}

/// A length-prefixed curve OID (1-byte length).
fn pgp_oid(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = buf.split_first()?;
    let len = usize::from(len);
    Some((rest.get(..len)?, rest.get(len..)?))
}

fn pgp(block: &Block, facts: &mut Facts) {
    put(facts, "format", "OpenPGP");
    facts.kind = Some("PGP private key".into());
    let Some(mut buf) = block.der.as_deref() else {
        return;
    };
    let mut seen_key = false;
    for _ in 0..16 {
        let Some((tag, body, rest)) = pgp_packet(buf) else {
            break;
        };
        buf = rest;
        match tag {
            5 if !seen_key => {
                seen_key = true;
                if pgp_secret_key(body, facts).is_some() {
                    facts.decoded = true;
                }
            }
            13 if seen_key => {
                put(facts, "user_id", &String::from_utf8_lossy(body));
                break;
            }
            _ => {}
        }
    }
}

/// Secret-key packet: public part, then the S2K usage octet (0 = not encrypted).
fn pgp_secret_key(body: &[u8], facts: &mut Facts) -> Option<()> {
    let (&version, rest) = body.split_first()?;
    let rest = rest.get(4..)?; // creation time
    let (&algo, mut rest) = rest.split_first()?;
    if version == 5 || version == 6 {
        // Octet count of the public key material, then the material.
        let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        let n = usize::try_from(n).ok()?;
        rest = rest.get(4..)?;
        pgp_public_material(algo, rest.get(..n)?, facts);
        rest = rest.get(n..)?;
    } else if version == 4 {
        rest = pgp_public_material(algo, rest, facts)?;
    } else {
        return None;
    }
    let (&usage, _) = rest.split_first()?;
    facts.encrypted = Some(usage != 0);
    if usage != 0 {
        put(facts, "cipher", "OpenPGP S2K");
    }
    Some(())
}

/// Names the algorithm (and RSA/DSA bits) and returns what follows the public material.
fn pgp_public_material<'a>(algo: u8, buf: &'a [u8], facts: &mut Facts) -> Option<&'a [u8]> {
    let (name, rest) = match algo {
        1..=3 => {
            let (bits, rest) = mpi(buf)?;
            put(facts, "bits", &bits.to_string());
            let (_, rest) = mpi(rest)?;
            ("RSA", rest)
        }
        16 => {
            let mut rest = buf;
            for _ in 0..3 {
                rest = mpi(rest)?.1;
            }
            ("Elgamal", rest)
        }
        17 => {
            let (bits, mut rest) = mpi(buf)?;
            put(facts, "bits", &bits.to_string());
            for _ in 0..3 {
                rest = mpi(rest)?.1;
            }
            ("DSA", rest)
        }
        18 | 19 | 22 => {
            let (oid, rest) = pgp_oid(buf)?;
            let (_, mut rest) = mpi(rest)?;
            if algo == 18 {
                rest = pgp_oid(rest)?.1; // KDF parameters
            }
            let name = match oid {
                [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01] => "Ed25519",
                [0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01] => "Curve25519",
                _ => match algo {
                    18 => "ECDH",
                    19 => "ECDSA",
                    _ => "EdDSA",
                },
            };
            if let Some(c) = curve_name(oid) {
                put(facts, "curve", c);
            }
            (name, rest)
        }
        25 => ("X25519", buf.get(32..)?),
        26 => ("X448", buf.get(56..)?),
        27 => ("Ed25519", buf.get(32..)?),
        28 => ("Ed448", buf.get(57..)?),
        _ => return None,
    };
    put(facts, "key_type", name);
    facts.kind = Some(format!("PGP private key ({name})"));
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    fn pem(label: &str, headers: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        format!(
            "-----BEGIN {label}-----\n{headers}{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// A structurally valid RSAPrivateKey with a `bits`-bit modulus of 0xff bytes (not a key).
    fn fake_rsa(bits: usize) -> Vec<u8> {
        let mut n = vec![0x00];
        n.extend(vec![0xff; bits / 8]);
        seq(&[tlv(0x02, &[0]), tlv(0x02, &n), tlv(0x02, &[1, 0, 1])])
    }

    #[test]
    fn pkcs1_rsa_plain_and_encrypted() {
        let f = decode(&pem("RSA PRIVATE KEY", "", &fake_rsa(2048)));
        assert!(f.decoded);
        assert_eq!(f.encrypted, Some(false));
        assert_eq!(field(&f, "bits"), Some("2048"));
        assert_eq!(f.kind.as_deref(), Some("RSA private key (PKCS#1)"));

        let headers =
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n";
        let f = decode(&pem("RSA PRIVATE KEY", headers, &[0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(f.encrypted, Some(true));
        assert_eq!(field(&f, "cipher"), Some("AES-128-CBC"));
        assert_eq!(f.kind.as_deref(), Some("RSA private key (PKCS#1)"));
    }

    #[test]
    fn escaped_newlines_as_in_json() {
        let text = pem("RSA PRIVATE KEY", "", &fake_rsa(1024)).replace('\n', "\\n");
        let f = decode(&format!("\"private_key\": \"{text}\""));
        assert_eq!(field(&f, "bits"), Some("1024"));
    }

    #[test]
    fn sec1_ec_key() {
        let curve = tlv(0x06, &[0x2b, 0x81, 0x04, 0x00, 0x22]);
        let der = seq(&[tlv(0x02, &[1]), tlv(0x04, &[7; 48]), tlv(0xa0, &curve)]);
        let f = decode(&pem("EC PRIVATE KEY", "", &der));
        assert!(f.decoded);
        assert_eq!(field(&f, "curve"), Some("P-384"));
        assert_eq!(f.kind.as_deref(), Some("EC private key (SEC1)"));
    }

    #[test]
    fn pkcs8_rsa_ec_ed25519() {
        let rsa_alg = seq(&[tlv(0x06, OID_RSA), tlv(0x05, &[])]);
        let der = seq(&[tlv(0x02, &[0]), rsa_alg, tlv(0x04, &fake_rsa(3072))]);
        let f = decode(&pem("PRIVATE KEY", "", &der));
        assert_eq!(f.kind.as_deref(), Some("RSA private key (PKCS#8)"));
        assert_eq!(field(&f, "bits"), Some("3072"));
        assert_eq!(f.encrypted, Some(false));

        let p256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let ec_alg = seq(&[tlv(0x06, OID_EC), tlv(0x06, &p256)]);
        let der = seq(&[tlv(0x02, &[0]), ec_alg, tlv(0x04, &[0; 10])]);
        let f = decode(&pem("PRIVATE KEY", "", &der));
        assert_eq!(field(&f, "curve"), Some("P-256"));
        assert_eq!(field(&f, "key_type"), Some("EC"));

        let ed_alg = seq(&[tlv(0x06, &[0x2b, 0x65, 0x70])]);
        let der = seq(&[tlv(0x02, &[0]), ed_alg, tlv(0x04, &tlv(0x04, &[0; 32]))]);
        let f = decode(&pem("PRIVATE KEY", "", &der));
        assert_eq!(f.kind.as_deref(), Some("Ed25519 private key (PKCS#8)"));
    }

    #[test]
    fn encrypted_pkcs8() {
        let kdf = seq(&[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c],
            ),
            seq(&[tlv(0x04, &[0; 8]), tlv(0x02, &[8, 0])]),
        ]);
        let enc = seq(&[
            tlv(
                0x06,
                &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a],
            ),
            tlv(0x04, &[0; 16]),
        ]);
        let alg = seq(&[tlv(0x06, OID_PBES2), seq(&[kdf, enc])]);
        let der = seq(&[alg, tlv(0x04, &[0; 64])]);
        let f = decode(&pem("ENCRYPTED PRIVATE KEY", "", &der));
        assert!(f.decoded);
        assert_eq!(f.encrypted, Some(true));
        assert_eq!(field(&f, "kdf"), Some("PBKDF2"));
        assert_eq!(field(&f, "cipher"), Some("aes-256-cbc"));
    }

    fn s(data: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(data.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(data);
        out
    }

    fn openssh_key(cipher: &str, comment: &str) -> Vec<u8> {
        let public = [s(b"ssh-ed25519"), s(&[1; 32])].concat();
        let mut private = [
            vec![9, 9, 9, 9, 9, 9, 9, 9],
            s(b"ssh-ed25519"),
            s(&[1; 32]),
            s(&[2; 64]),
            s(comment.as_bytes()),
        ]
        .concat();
        private.extend([1, 2, 3]);
        let kdf = if cipher == "none" { "none" } else { "bcrypt" };
        [
            b"openssh-key-v1\0".to_vec(),
            s(cipher.as_bytes()),
            s(kdf.as_bytes()),
            s(b""),
            1u32.to_be_bytes().to_vec(),
            s(&public),
            s(&private),
        ]
        .concat()
    }

    #[test]
    fn openssh_unencrypted_with_comment() {
        let f = decode(&pem(
            "OPENSSH PRIVATE KEY",
            "",
            &openssh_key("none", "deploy@build-01"),
        ));
        assert!(f.decoded);
        assert_eq!(f.encrypted, Some(false));
        assert_eq!(f.kind.as_deref(), Some("OpenSSH private key (ssh-ed25519)"));
        assert_eq!(field(&f, "comment"), Some("deploy@build-01"));
    }

    #[test]
    fn openssh_encrypted_and_rsa_bits() {
        let f = decode(&pem(
            "OPENSSH PRIVATE KEY",
            "",
            &openssh_key("aes256-ctr", "x"),
        ));
        assert_eq!(f.encrypted, Some(true));
        assert_eq!(field(&f, "cipher"), Some("aes256-ctr"));
        assert_eq!(field(&f, "kdf"), Some("bcrypt"));
        assert_eq!(field(&f, "comment"), None);

        let mut n = vec![0];
        n.extend([0xff; 512]);
        let blob = [s(b"ssh-rsa"), s(&[1, 0, 1]), s(&n)].concat();
        let mut facts = Facts::default();
        assert_eq!(
            ssh_public_key(&blob, &mut facts).as_deref(),
            Some("ssh-rsa")
        );
        assert_eq!(field(&facts, "bits"), Some("4096"));
    }

    #[test]
    fn putty_keys() {
        let public = STANDARD.encode([s(b"ssh-ed25519"), s(&[1; 32])].concat());
        let text = format!(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: aes256-cbc\nComment: alice@laptop\n\
             Public-Lines: 1\n{public}\nKey-Derivation: Argon2id\nPrivate-Lines: 1\nAAAA\n"
        );
        let f = decode(&text);
        assert!(f.decoded);
        assert_eq!(f.encrypted, Some(true));
        assert_eq!(field(&f, "comment"), Some("alice@laptop"));
        assert_eq!(field(&f, "kdf"), Some("Argon2id"));
        assert_eq!(f.kind.as_deref(), Some("PuTTY private key (ssh-ed25519)"));

        let f = decode("PuTTY-User-Key-File-2: ssh-rsa\\nEncryption: none\\nComment: x");
        assert_eq!(f.encrypted, Some(false));
    }

    fn pgp_armor(packets: &[u8]) -> String {
        format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: synthetic\n\n{}\n=AAAA\n-----END PGP PRIVATE KEY BLOCK-----\n",
            STANDARD.encode(packets)
        )
    }

    fn pgp_rsa_secret_key(usage: u8) -> Vec<u8> {
        let mut body = vec![4, 0, 0, 0, 0, 1];
        body.extend([0x08, 0x00]); // 2048-bit n
        body.extend([0x80; 256]);
        body.extend([0x00, 0x11, 0x01, 0x00, 0x01]); // e = 65537
        body.push(usage);
        body.extend([0; 20]);
        let mut pkt = vec![
            0xc5,
            192 + ((body.len() - 192) >> 8) as u8,
            ((body.len() - 192) & 0xff) as u8,
        ];
        pkt.extend(body);
        pkt.extend([0xcd, 9]);
        pkt.extend(b"Alice <a>");
        pkt
    }

    #[test]
    fn pgp_keys() {
        let f = decode(&pgp_armor(&pgp_rsa_secret_key(0)));
        assert!(f.decoded);
        assert_eq!(f.encrypted, Some(false));
        assert_eq!(field(&f, "bits"), Some("2048"));
        assert_eq!(field(&f, "user_id"), Some("Alice <a>"));
        assert_eq!(f.kind.as_deref(), Some("PGP private key (RSA)"));

        let f = decode(&pgp_armor(&pgp_rsa_secret_key(254)));
        assert_eq!(f.encrypted, Some(true));

        // Old-format header, v4 EdDSA key.
        let oid = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
        let mut body = vec![4, 0, 0, 0, 0, 22, oid.len() as u8];
        body.extend(oid);
        body.extend([0x01, 0x07, 0x40]);
        body.extend([0; 32]);
        body.push(0);
        let mut pkt = vec![0x94, body.len() as u8];
        pkt.extend(body);
        let f = decode(&pgp_armor(&pkt));
        assert_eq!(f.kind.as_deref(), Some("PGP private key (Ed25519)"));
        assert_eq!(f.encrypted, Some(false));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----",
            "-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----",
            "PuTTY-User-Key-File-",
        ] {
            assert!(!decode(bad).decoded, "{bad}");
        }
        assert_eq!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(read_tlv(&[0x30, 0x80]), None);
        assert_eq!(read_tlv(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(bit_len(&[0, 0, 1]), 1);
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(pgp_packet(&[0xff, 0xe0]), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in ".{0,300}") {
            let _ = decode(&text);
            let _ = decode(&format!("PuTTY-User-Key-File-2: {text}"));
        }

        #[test]
        fn never_panics_on_bodies(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            for label in ["RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "PRIVATE KEY",
                          "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK"] {
                let _ = decode(&pem(label, "", &bytes));
            }
            let mut ssh = b"openssh-key-v1\0".to_vec();
            ssh.extend(&bytes);
            let _ = decode(&pem("OPENSSH PRIVATE KEY", "", &ssh));
            let mut pkcs8 = vec![0x30, 0x82, 0x01, 0x00];
            pkcs8.extend(&bytes);
            let _ = decode(&pem("PRIVATE KEY", "", &pkcs8));
        }
    }
}

#!/usr/bin/env python3
"""Writes seed corpora into fuzz/corpus/<target>/ (never committed: see .gitignore).

Run from anywhere: `python3 fuzz/seed.py`. Idempotent: files are named by content hash.
Seeds come from the rules' own examples (every rule has positive and negative ones) and
from small archives, images and encoded files built here, so the fuzzers start past the
magic bytes and checksums they would take hours to guess.
"""

import base64
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.parse
import warnings
import zipfile

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")

# Order of blastradius::introspect::DECODERS (the introspect target's first byte).
DECODERS = ["jwt", "aws_key_id", "azure_sas", "pypi_macaroon", "stripe", "slack",
            "github", "vault", "gcp_service_account", "private_key", "uri"]


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rules():
    for fn in sorted(os.listdir(os.path.join(ROOT, "rules"))):
        if fn.endswith(".toml"):
            with open(os.path.join(ROOT, "rules", fn), "rb") as f:
                yield fn, tomllib.load(f)


def secrets_of(rule):
    """(example text, secret or None) for each example, using Python's re where it can."""
    try:
        pat = re.compile(rule["pattern"].replace("(?-u)", ""))
    except re.error:
        pat = None
    for ex in rule.get("examples", []) + rule.get("negative_examples", []):
        sec = None
        if pat is not None:
            m = pat.search(ex)
            if m and "secret" in m.groupdict() and m.group("secret"):
                sec = m.group("secret")
        yield ex, sec


def tar_bytes(members, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                       compress_type=method)
    return buf.getvalue()


def zstd_bytes(data):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(header, payload, sig=b"\x01" * 32):
    h = b64u(json.dumps(header).encode())
    p = b64u(json.dumps(payload).encode())
    return f"{h}.{p}.{b64u(sig)}"


def main():
    texts = []  # small text files that carry secrets
    by_decoder = {d: [] for d in DECODERS}
    validator_inputs = []
    for fn, doc in rules():
        # The config target's third loader: a rules file (first byte 2).
        with open(os.path.join(ROOT, "rules", fn), "rb") as f:
            raw = f.read()
        if len(raw) < 20000:
            put("config", b"\x02" + raw)
        for rule in doc.get("rule", []):
            for ex, sec in secrets_of(rule):
                texts.append(ex)
                put("engine", ex)
                if sec:
                    if rule.get("validator"):
                        validator_inputs.append(sec)
                    if rule.get("introspect") in by_decoder:
                        by_decoder[rule["introspect"]].append(sec)
                    if rule.get("validator"):
                        put("validate", sec)

    # JWTs of the families the decoder knows.
    now = 1_700_000_000
    jwts = [
        jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1", "exp": now, "iat": now - 60}),
        jwt({"alg": "none"}, {"role": "service_role", "ref": "abcdefghijklmnop", "iss": "supabase"}, b""),
        jwt({"alg": "RS256", "kid": "k1"}, {"iss": "kubernetes/serviceaccount",
             "kubernetes.io/serviceaccount/namespace": "kube-system",
             "kubernetes.io/serviceaccount/service-account.name": "admin"}),
        jwt({"alg": "RS256"}, {"iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
             "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "oid": "x", "scp": "User.Read Mail.Send",
             "roles": ["Admin"], "aud": ["a", "b"], "nbf": now}),
        jwt({"alg": "ES256"}, {"iss": "https://kubernetes.default.svc", "kubernetes.io":
             {"namespace": "default", "serviceaccount": {"name": "sa"}, "pod": {"name": "p"}}}),
    ]
    by_decoder["jwt"] += jwts
    by_decoder["azure_sas"] += [
        "https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx"
        "&se=2030-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
        "sv=2020-08-04&sr=b&sp=r&se=2021-06-01T12:00Z&skoid=o&sktid=t&sig=abc%2Bdef%3D",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=" + "A" * 43 + "=",
    ]
    by_decoder["uri"] += [
        "postgres://admin:hunter2hunter2@db.internal:5432/prod?sslmode=require",
        "mongodb+srv://u:p%40ss%3Aword@cluster0.mongodb.net/",
        "redis://:s3cr3tpassw0rd@127.0.0.1:6379/0",
        "amqp://guest:guestguest@[::1]:5672/vhost",
    ]
    sa = {"type": "service_account", "project_id": "proj-123", "private_key_id": "a" * 40,
          "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          "client_email": "sa@proj-123.iam.gserviceaccount.com", "client_id": "1234567890"}
    by_decoder["gcp_service_account"] += [json.dumps(sa), json.dumps(sa, indent=2)]
    # Private keys: the crate's own test fixtures, when present.
    for dirpath, _, files in os.walk(os.path.join(ROOT, "tests")):
        for fn in files:
            p = os.path.join(dirpath, fn)
            try:
                t = open(p, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            for m in re.finditer(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
                                 t, re.S):
                if len(m.group(0)) < 8000:
                    by_decoder["private_key"].append(m.group(0).replace("\\n", "\n"))
    # Long string literals of the introspect modules' tests (real token shapes).
    for fn in os.listdir(os.path.join(ROOT, "src", "introspect")):
        t = open(os.path.join(ROOT, "src", "introspect", fn), encoding="utf-8").read()
        name = fn[:-3]
        dec = {"aws": "aws_key_id", "gcp": "gcp_service_account", "pypi": "pypi_macaroon",
               "azure_sas": "azure_sas"}.get(name, name)
        if dec not in by_decoder:
            continue
        for m in re.finditer(r'"((?:[^"\\\n]|\\.){16,4000})"', t):
            s = m.group(1).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            by_decoder[dec].append(s)
    for i, d in enumerate(DECODERS):
        for s in by_decoder[d]:
            put("introspect", bytes([i]) + s.encode())

    # Validators.
    for s in validator_inputs + jwts:
        put("validate", s)

    # Keywords target: [n keywords][len, bytes]...[repeat][haystack].
    put("keywords", bytes([3, 4]) + b"pass" + bytes([8]) + b"password" + bytes([4]) + b"word" + bytes([0]) +
        b"xx PASSWORD ghp_abc Sword passpass")
    put("keywords", bytes([2, 4]) + b"AKIA" + bytes([3]) + b"key" + bytes([40]) + b"AKIA key=AKIAxx")

    # Decode target: encoded secrets of each kind.
    tok = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    line = f"GITHUB_TOKEN={tok}"
    dec_seeds = [
        base64.b64encode(line.encode()).decode(),
        base64.urlsafe_b64encode(("\xff>" + line).encode()).decode(),
        line.encode().hex(), line.encode().hex().upper(),
        urllib.parse.quote(line, safe=""), "token%3D" + tok + "%20",
        json.dumps("\u00e9" + line + "\U0001F600")[1:-1].encode("ascii", "backslashreplace").decode(),
        "".join(f"\\x{b:02x}" for b in line.encode()),
        "\\u0067\\u0068\\u0070\\u005f" + tok[4:] + "\\ud83d\\ude00\\n\\t\\/",
    ]
    for s in dec_seeds:
        put("decode", s)
        texts.append(s)

    # scan_blob: text, encoded files, UTF-16, archives, images.
    k8s = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
           f"  token: {base64.b64encode(tok.encode()).decode()}\n"
           f"  url: {base64.b64encode(b'postgres://app:Sup3rS3cretPw@db:5432/app').decode()}\n")
    env = "\n".join(texts[:40]) + "\n"
    blobs = [k8s, env, "\ufeff" + line, line.encode("utf-16"), line.encode("utf-16-be")]
    for b in blobs:
        put("scan_blob", b)
    for t in texts[:400]:
        put("scan_blob", t)

    k8s_b, env_b = k8s.encode(), env.encode()
    tar = tar_bytes([("app/.env", env_b), ("k8s/secret.yaml", k8s_b)])
    gnu = tar_bytes([("a/" * 60 + "long.env", env_b)], fmt=tarfile.GNU_FORMAT)
    pax = tar_bytes([("päx/ünïcode.env", env_b)], fmt=tarfile.PAX_FORMAT)
    zipped = zip_bytes([("config/.env", env_b), ("../evil/secret.yaml", k8s_b)])
    stored = zip_bytes([("a.txt", line.encode())], method=zipfile.ZIP_STORED)
    inner = zip_bytes([("settings.py", b"SECRET_KEY = '" + tok.encode() + b"'\n")])
    nested = gzip.compress(tar_bytes([("dist/app.whl", inner), ("x.tar.gz", gzip.compress(tar))]), mtime=0)
    archives = [
        tar, gnu, pax, zipped, stored, nested,
        gzip.compress(tar, mtime=0), gzip.compress(env_b, mtime=0),
        bz2.compress(tar), bz2.compress(k8s_b),
        lzma.compress(tar, format=lzma.FORMAT_XZ), lzma.compress(env_b, format=lzma.FORMAT_XZ),
        zip_bytes([("w.zip", zipped), ("t.tar", tar)], method=zipfile.ZIP_STORED),
        zipped[: len(zipped) // 2],  # truncated: no central directory
        gzip.compress(tar, mtime=0)[:200],
    ]
    # Stored (level 0) gzip: the tar inside stays mutable plaintext for the fuzzer.
    longname = tar_bytes([("x" * 63 + "\u00e9" + "/manifest.json", env_b), ("b.env", env_b)],
                         fmt=tarfile.GNU_FORMAT)
    archives += [gzip.compress(tar, compresslevel=0, mtime=0),
                 gzip.compress(longname, compresslevel=0, mtime=0)]
    zs = zstd_bytes(tar)
    if zs:
        archives.append(zs)
    # gzip with a stored file name.
    gz = io.BytesIO()
    with gzip.GzipFile(filename="creds.env", mode="wb", fileobj=gz, mtime=0) as g:
        g.write(env_b)
    archives.append(gz.getvalue())

    # A docker-save image: config with Env/history, two layers, a whiteout.
    layer1 = tar_bytes([("etc/app/.env", env_b), ("srv/secret.yaml", k8s_b)])
    layer2 = tar_bytes([("etc/app/.wh..env", b""), ("srv/.wh..wh..opq", b"")])
    l1 = hashlib.sha256(layer1).hexdigest()
    l2 = hashlib.sha256(layer2).hexdigest()
    cfg = json.dumps({"config": {"Env": ["PATH=/bin", line], "Cmd": ["sh", "-c", "echo " + tok],
                                 "Labels": {"token": tok}},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l1, "sha256:" + l2]},
                      "history": [{"created_by": "RUN export " + line}]}).encode()
    ch = hashlib.sha256(cfg).hexdigest()
    manifest = json.dumps([{"Config": f"{ch}.json", "RepoTags": ["x:1"],
                            "Layers": [f"{l1}/layer.tar", f"{l2}/layer.tar"]}]).encode()
    docker = tar_bytes([(f"{ch}.json", cfg), (f"{l1}/layer.tar", layer1),
                        (f"{l2}/layer.tar", layer2), ("manifest.json", manifest)])
    archives += [docker, gzip.compress(docker, mtime=0)]
    # An OCI layout tar: index.json -> manifest -> config + gzip layer.
    glayer = gzip.compress(layer1, mtime=0)
    gl = hashlib.sha256(glayer).hexdigest()
    m = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + ch},
                    "layers": [{"digest": "sha256:" + gl}]}).encode()
    mh = hashlib.sha256(m).hexdigest()
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": "sha256:" + mh}]}).encode()
    oci = tar_bytes([("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                     (f"blobs/sha256/{mh}", m), (f"blobs/sha256/{ch}", cfg),
                     (f"blobs/sha256/{gl}", glayer)])
    archives += [oci]
    for a in archives:
        put("scan_blob", a)

    # Config target: .blastradius.toml (0), baseline JSON (1).
    put("config", b"\x00" + b'[allow]\nfingerprints = ["sha256:00"]\npaths = ["vendor/**", "*.{md,txt}", "[a-"]\n'
        b'[rules]\nenable = ["aws.", "github.pat"]\ndisable = ["generic."]\n')
    put("config", b"\x01" + json.dumps({"blastradius_baseline": 1, "fingerprint_kind": "sha256",
                                        "secrets": [{"fingerprint": "sha256:ab", "rule": "r",
                                                     "secret": "gh…", "first_seen": "a:1"}]}).encode())
    put("config", b"\x01" + json.dumps({"blastradius_baseline": 1, "fingerprint_kind": "hmac-sha256",
                                        "secrets": []}).encode())
    for t in sorted(os.listdir(CORPUS)):
        print(f"{t}: {len(os.listdir(os.path.join(CORPUS, t)))} seeds")


if __name__ == "__main__":
    sys.exit(main())

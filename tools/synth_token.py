#!/usr/bin/env python3
"""Generate synthetic tokens for rule examples and tests.

Every token this prints is random: it was never issued by any provider. Formats with an
offline checksum get a valid checksum, so the scanner's validators accept them.

    python3 tools/synth_token.py github ghp_        # ghp_ + 30 random + CRC32/base62
    python3 tools/synth_token.py npm                # npm_ + 30 random + CRC32/base62
    python3 tools/synth_token.py gitlab glpat-      # routable glpat- with CRC32/base36
    python3 tools/synth_token.py grafana            # glsa_<32>_<crc32 LE hex>
    python3 tools/synth_token.py random 40 [ALPHABET] [PREFIX]
"""
import random
import secrets
import string
import sys
import zlib

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B36 = string.digits + string.ascii_lowercase


def rand(n, alphabet=string.ascii_letters + string.digits):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def base(n, alphabet, width):
    out = ""
    while n:
        n, r = divmod(n, len(alphabet))
        out = alphabet[r] + out
    return out.rjust(width, alphabet[0])


def github(prefix="ghp_"):
    body = rand(30)
    return prefix + body + base(zlib.crc32(body.encode()), B62, 6)


def npm():
    return github("npm_")


def gitlab(prefix="glpat-", payload_len=None, version=None):
    """Routable GitLab token: <prefix><payload>.<version>.<len><crc7> (version optional)."""
    payload_len = payload_len or 27
    payload = rand(payload_len, string.ascii_letters + string.digits + "_-")
    length = base(payload_len, B36, 2)
    head = prefix + payload + "." + (f"{version}." if version else "") + length
    return head + base(zlib.crc32(head.encode()), B36, 7)


def grafana():
    head = "glsa_" + rand(32)
    crc = zlib.crc32(head.encode())
    return head + "_" + crc.to_bytes(4, "little").hex()


def main(argv):
    if not argv:
        sys.exit(__doc__)
    kind, args = argv[0], argv[1:]
    if kind == "github":
        print(github(*args))
    elif kind == "npm":
        print(npm())
    elif kind == "gitlab":
        prefix = args[0] if args else "glpat-"
        print(gitlab(prefix, version=args[1] if len(args) > 1 else None))
    elif kind == "grafana":
        print(grafana())
    elif kind == "random":
        n = int(args[0])
        alphabet = args[1] if len(args) > 1 else string.ascii_letters + string.digits
        prefix = args[2] if len(args) > 2 else ""
        print(prefix + rand(n, alphabet))
    else:
        sys.exit(f"unknown kind {kind!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])

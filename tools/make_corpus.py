#!/usr/bin/env python3
"""Regenerate corpus/: a realistic platform repository and a worker repository, seeded with
synthetic credentials in the places they really leak (CI configs, deploy scripts, .env files,
Kubernetes manifests, Terraform, docs, test fixtures). Nothing here was ever issued by a
provider; checksummed formats get valid checksums. Deterministic for a given --seed.

    python3 tools/make_corpus.py            # rewrites corpus/acme-platform and corpus/acme-worker
"""
import argparse, base64, json, os, random, shutil, string, subprocess, sys, tempfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth_token as st  # noqa: E402

R = random.Random()
ALNUM = string.ascii_letters + string.digits


def rnd(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))


def github(prefix="ghp_"):
    body = rnd(30)
    return prefix + body + st.base(zlib.crc32(body.encode()), st.B62, 6)


def gitlab_routable():
    payload = rnd(27, ALNUM + "_-")
    head = "glpat-" + payload + ".01." + st.base(27, st.B36, 2)
    return head + st.base(zlib.crc32(head.encode()), st.B36, 7)


def b64u(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def jwt(claims, alg="HS256"):
    return b64u({"alg": alg, "typ": "JWT"}) + "." + b64u(claims) + "." + rnd(43, ALNUM + "-_")


def rsa_pem():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p],
                       check=True, capture_output=True)
        return open(p).read()


def openssh_key():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "id")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy@ci", "-f", p], check=True)
        return open(p).read()


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "corpus"))
    a = ap.parse_args()
    R.seed(a.seed)
    plat = os.path.join(a.out, "acme-platform")
    work = os.path.join(a.out, "acme-worker")
    for d in (plat, work):
        shutil.rmtree(d, ignore_errors=True)

    gh_pat = github()
    gh_test = github()
    gl_pat = gitlab_routable()
    akia = "AKIA" + rnd(16, string.ascii_uppercase + "234567")
    aws_secret = rnd(40, ALNUM + "+/")
    vault = "hvs." + rnd(90, ALNUM + "_-")
    stripe_live = "sk_live_51" + rnd(97)
    stripe_pk = "pk_live_51" + rnd(97)
    openai = "sk-proj-" + rnd(74, ALNUM + "_-") + "T3BlbkFJ" + rnd(74, ALNUM + "_-")
    anthropic = "sk-ant-api03-" + rnd(93, ALNUM + "_-") + "AA"
    slack_bot = "xoxb-" + rnd(12, string.digits) + "-" + rnd(13, string.digits) + "-" + rnd(24)
    slack_hook = "https://hooks.slack.com/services/T" + rnd(10, string.ascii_uppercase + string.digits) + "/B" + \
        rnd(10, string.ascii_uppercase + string.digits) + "/" + rnd(24)
    db_pw = rnd(20)
    datadog = rnd(32, "0123456789abcdef")
    az_key = base64.b64encode(R.randbytes(64)).decode()
    k8s_sa = jwt({"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "ci",
                  "kubernetes.io/serviceaccount/secret.name": "deployer-token-x7k2p",
                  "kubernetes.io/serviceaccount/service-account.name": "deployer",
                  "sub": "system:serviceaccount:ci:deployer"}, alg="RS256")
    supa_service = jwt({"iss": "supabase", "ref": rnd(20, string.ascii_lowercase), "role": "service_role",
                        "iat": 1735689600, "exp": 2051222400})
    expired = jwt({"iss": "https://auth.acme.test/", "sub": "fixture-user", "iat": 1600000000, "exp": 1600003600})
    pem = rsa_pem()
    ssh = openssh_key()
    client_cert_key = base64.b64encode(rsa_pem().encode()).decode()

    write(plat, ".github/workflows/deploy.yml", f"""name: deploy
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      GH_TOKEN: {gh_pat}
      AWS_ACCESS_KEY_ID: {akia}
      AWS_SECRET_ACCESS_KEY: {aws_secret}
      AWS_REGION: eu-west-1
    steps:
      - uses: actions/checkout@v4
      - run: ./scripts/deploy.sh production
""")
    write(plat, ".gitlab-ci.yml", f"""stages: [build, deploy]
variables:
  GITLAB_TOKEN: "{gl_pat}"
  VAULT_ADDR: https://vault.acme.test:8200
  VAULT_TOKEN: "{vault}"
deploy:
  stage: deploy
  script:
    - ./scripts/deploy.sh production
""")
    write(plat, "scripts/deploy.sh", f"""#!/usr/bin/env bash
set -euo pipefail
export GH_TOKEN="{gh_pat}"
export VAULT_TOKEN="{vault}"
gh release create "v$(date +%Y%m%d)" --notes "automated"
vault kv get -field=password secret/prod/db
""")
    write(plat, "scripts/backup.sh", f"""#!/usr/bin/env bash
pg_dump "postgres://backup:{db_pw}@db.prod.acme.test:5432/orders" | gzip > /backups/orders.sql.gz
""")
    write(plat, ".env", f"""# local development
STRIPE_SECRET_KEY={stripe_live}
OPENAI_API_KEY={openai}
SLACK_BOT_TOKEN={slack_bot}
DATABASE_URL=postgres://dev:{rnd(12)}@localhost:5432/orders_dev
""")
    write(plat, ".env.production", f"""STRIPE_SECRET_KEY={stripe_live}
ANTHROPIC_API_KEY={anthropic}
DATABASE_URL=${{DATABASE_URL}}
""")
    write(plat, "k8s/secret.yaml", f"""apiVersion: v1
kind: Secret
metadata:
  name: app-secrets
  namespace: prod
type: Opaque
stringData:
  slack-token: {slack_bot}
  ci-deployer-token: {k8s_sa}
""")
    write(plat, "k8s/deployment.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: registry.acme.test/api:1.4.2
          env:
            - name: DD_API_KEY
              value: "{datadog}"
""")
    write(plat, "infra/terraform.tfvars", f"""storage_connection_string = "DefaultEndpointsProtocol=https;AccountName=acmeprodlogs;AccountKey={az_key};EndpointSuffix=core.windows.net"
""")
    sa = {"type": "service_account", "project_id": "acme-prod-4821", "private_key_id": rnd(40, "0123456789abcdef"),
          "private_key": pem, "client_email": "deployer@acme-prod-4821.iam.gserviceaccount.com",
          "client_id": rnd(21, string.digits), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token"}
    write(plat, "infra/gcp-deployer.json", json.dumps(sa, indent=2) + "\n")
    write(plat, "config/kubeconfig", f"""apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://k8s.prod.acme.test:6443
users:
  - name: admin
    user:
      client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
      client-key-data: {client_cert_key}
contexts:
  - name: prod
    context: {{cluster: prod, user: admin}}
current-context: prod
""")
    write(plat, "deploy/id_deploy", ssh)
    write(plat, "src/app/settings.py", f"""import os

SLACK_ALERTS_WEBHOOK = "{slack_hook}"
SUPABASE_URL = "https://{rnd(20, string.ascii_lowercase)}.supabase.co"
SUPABASE_SERVICE_KEY = "{supa_service}"
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
""")
    write(plat, "web/checkout.js", f"""const stripe = Stripe('{stripe_pk}');
export default stripe;
""")
    write(plat, "docs/setup.md", f"""# Setup

Create a token at https://github.com/settings/tokens and export it:

    export GH_TOKEN={github()}

AWS keys look like `AKIAIOSFODNN7EXAMPLE` (the documented example key, not a finding).
""")
    write(plat, "tests/fixtures/auth.json", json.dumps({"token": expired, "github": gh_test}, indent=2) + "\n")
    write(plat, "README.md", "# acme-platform\n\nSynthetic demo repository for blastradius: every credential here is fake.\n")

    write(work, "Jenkinsfile", f"""pipeline {{
  agent any
  environment {{
    GH_TOKEN = '{gh_pat}'
  }}
  stages {{
    stage('sync') {{ steps {{ sh './sync.sh' }} }}
  }}
}}
""")
    write(work, "sync.sh", f"""#!/bin/sh
curl -s -H "Authorization: token {gh_pat}" https://api.github.com/orgs/acme/repos
curl -s -X POST -d '{{"text":"synced"}}' {slack_hook}
""")
    write(work, "README.md", "# acme-worker\n\nSynthetic demo repository for blastradius: every credential here is fake.\n")


if __name__ == "__main__":
    main()

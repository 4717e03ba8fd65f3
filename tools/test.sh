#!/usr/bin/env bash
# The project's test command (README.md, .ci/run): installs what the tests need that a fresh
# machine lacks, then runs the whole suite. Idempotent; tools go under target/test-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/target/test-tools"
mkdir -p "$TOOLS"

# Python tools for the tests: the real pre-commit client and a JSON-schema validator.
if [ ! -x "$TOOLS/venv/bin/pre-commit" ] || [ ! -x "$TOOLS/venv/bin/python" ] || ! "$TOOLS/venv/bin/python" -c "import jsonschema" 2>/dev/null; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check pre-commit jsonschema
fi
export BLASTRADIUS_TEST_VENV="$TOOLS/venv"

# Microsoft's SARIF validator (GitHub ingestion rules), from npm. A fresh machine may lack
# Node.js: install Debian's when we can (CI runs as root).
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null) || echo "warning: could not install npm" >&2
fi
# The multitool is a .NET program: without ICU it needs invariant globalization.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
if command -v npm >/dev/null 2>&1; then
  if [ ! -x "$TOOLS/npm/node_modules/.bin/sarif-multitool" ]; then
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" @microsoft/sarif-multitool >/dev/null 2>&1 \
      || echo "warning: could not install @microsoft/sarif-multitool; the multitool test will fail" >&2
  fi
  export BLASTRADIUS_SARIF_MULTITOOL="$TOOLS/npm/node_modules/.bin/sarif-multitool"
fi

cargo test --release --locked "$@"

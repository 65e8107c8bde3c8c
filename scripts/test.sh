#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: on SQLite, and on
# PostgreSQL too when CRM_TEST_DATABASE_URL is set or a server answers on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# A real browser for the UI tests: Debian's Chromium (Playwright's download is not used).
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# A real OpenID provider for the SSO tests: oidc-provider from npm, pinned with its
# lockfile in tests/oidc (Node.js 20.19 or later).
if ! command -v npm >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

if [ -z "${CRM_TEST_DATABASE_URL:-}" ] && .venv/bin/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
then
  export CRM_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test"
fi

.venv/bin/ruff check .

echo "== SQLite =="
env -u CRM_TEST_DATABASE_URL .venv/bin/python -m pytest "$@"
if [ -n "${CRM_TEST_DATABASE_URL:-}" ]; then
  echo "== PostgreSQL =="
  .venv/bin/python -m pytest "$@"
else
  echo "PostgreSQL: no server on 127.0.0.1:5432 and CRM_TEST_DATABASE_URL unset; skipped."
fi

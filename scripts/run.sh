#!/usr/bin/env bash
# Run the CRM with demo data on the embedded default database (SQLite under instance/).
# Creates .venv, installs, migrates, loads the demo and serves on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

.venv/bin/crm init
.venv/bin/crm demo

password=${CRM_DEMO_PASSWORD:-demo}
cat <<TXT

  Contact register CRM: http://${CRM_HOST:-127.0.0.1}:${CRM_PORT:-5000}/
  Demo logins (password: ${password}):
    sales  marketing  comms  ar  support  privacy  dpo  admin  maintainer

TXT
exec .venv/bin/crm serve --host "${CRM_HOST:-127.0.0.1}" --port "${CRM_PORT:-5000}"

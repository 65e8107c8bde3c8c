#!/usr/bin/env bash
# Run the CRM with demo data on the embedded default database (SQLite under instance/).
# Creates .venv, installs, migrates, loads the demo and serves on http://127.0.0.1:5000.
# With Node.js present it also starts the development identity provider on
# http://127.0.0.1:5556 (scripts/dev-idp.sh) and offers sign-in through it; set
# CRM_DEV_IDP=off to skip it, or CRM_OIDC_ISSUER to use a provider of your own.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

.venv/bin/crm init
.venv/bin/crm demo

host=${CRM_HOST:-127.0.0.1}
port=${CRM_PORT:-5000}
export CRM_BASE_URL=${CRM_BASE_URL:-http://127.0.0.1:${port}}
password=${CRM_DEMO_PASSWORD:-demo}

# The development identity provider, for this served CRM only (never production).
sso_env=()
idp_pid=""
sso_note="  SSO: off (no Node.js, CRM_DEV_IDP=off, or CRM_OIDC_ISSUER set by you)"
trap '[ -z "$idp_pid" ] || kill "$idp_pid" 2>/dev/null || true' EXIT
if [ -z "${CRM_OIDC_ISSUER:-}" ] && [ "${CRM_DEV_IDP:-on}" != off ] && command -v node >/dev/null \
   && { [ -d tests/oidc/node_modules/oidc-provider ] \
        || npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error; }; then
  idp_port=${CRM_DEV_IDP_PORT:-5556}
  idp_url="http://127.0.0.1:${idp_port}"
  CRM_DEV_IDP_PORT=$idp_port scripts/dev-idp.sh >instance/dev-idp.log 2>&1 &
  idp_pid=$!
  ready=""
  for _ in $(seq 50); do
    if .venv/bin/python -c "import urllib.request as u; u.urlopen('${idp_url}/.well-known/openid-configuration', timeout=1)" 2>/dev/null; then
      ready=1; break
    fi
    kill -0 "$idp_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -n "$ready" ]; then
    read -r client_id client_secret idp_name < <(.venv/bin/python -c \
      'import json; d = json.load(open("devtools/dev-idp.json")); print(d["client_id"], d["client_secret"], d["name"])')
    sso_env=(CRM_OIDC_ISSUER="$idp_url" CRM_OIDC_CLIENT_ID="$client_id"
             CRM_OIDC_CLIENT_SECRET="$client_secret" CRM_OIDC_DISPLAY_NAME="$idp_name"
             CRM_LOCAL_LOGIN="${CRM_LOCAL_LOGIN:-on}")
    sso_note="  SSO: \"${idp_name}\" at ${idp_url}; log in there as myynti, markkinointi, viestinta,
    reskontra, asiakastuki, tietosuoja, tsv, yllapito, huolto, moni or eiryhmaa
    (any password; see README, \"Sign-in through the identity provider\")"
  else
    echo "The development identity provider did not start (see instance/dev-idp.log)." >&2
    kill "$idp_pid" 2>/dev/null || true
    idp_pid=""
  fi
fi

cat <<TXT

  Contact register CRM: ${CRM_BASE_URL}/
  Demo logins (password: ${password}):
    sales  marketing  comms  ar  support  privacy  dpo  admin  maintainer
${sso_note}

TXT
env ${sso_env[@]+"${sso_env[@]}"} .venv/bin/crm serve --host "$host" --port "$port"

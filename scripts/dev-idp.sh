#!/usr/bin/env bash
# The development identity provider: oidc-provider (the npm package the SSO tests use)
# on http://127.0.0.1:${CRM_DEV_IDP_PORT:-5556}, with the demo accounts of
# devtools/dev-idp.json, registered for the CRM at ${CRM_BASE_URL:-http://127.0.0.1:5000}.
# Its login page takes an account's login (e.g. `myynti`) and any password.
#
# Development only. scripts/run.sh starts it; production never does, and the CRM
# refuses an http:// issuer when CRM_ENV=production.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "dev-idp: Node.js is not installed" >&2; exit 1; }
[ -d tests/oidc/node_modules/oidc-provider ] \
  || npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

PYTHON=.venv/bin/python; [ -x "$PYTHON" ] || PYTHON=python3
mkdir -p instance
config=instance/dev-idp-config.json
CRM_BASE_URL=${CRM_BASE_URL:-http://127.0.0.1:5000} CRM_DEV_IDP_PORT=${CRM_DEV_IDP_PORT:-5556} \
"$PYTHON" - >"$config" <<'PY'
import json, os

with open("devtools/dev-idp.json", encoding="utf-8") as f:
    dev = json.load(f)
base = os.environ["CRM_BASE_URL"].rstrip("/")
port = int(os.environ["CRM_DEV_IDP_PORT"])
print(json.dumps({
    "port": port,
    "issuer": f"http://127.0.0.1:{port}",
    "name": dev["name"],
    "accounts": dev["accounts"],
    "clients": [{
        "client_id": dev["client_id"],
        "client_secret": dev["client_secret"],
        "client_name": "Yhteystietorekisteri (development)",
        "redirect_uris": [f"{base}/oauth-authorized/sso"],
        "post_logout_redirect_uris": [f"{base}/login/"],
        "backchannel_logout_uri": f"{base}/oidc/backchannel-logout",
        "backchannel_logout_session_required": True,
        "token_endpoint_auth_method": "client_secret_basic",
    }],
}))
PY
exec node tests/oidc/provider.mjs "$config"

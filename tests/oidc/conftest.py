"""SSO test fixtures: a real provider (oidc-provider in Node.js) and a misbehaving one.

Each provider gets its own CRM app on the session's test database, configured for
SSO with local login off. The real provider talks to the CRM over HTTP (it sends
back-channel logouts), so that CRM is served on a loopback port; the tests drive
both with `requests`, or Chromium, as a browser would. The misbehaving provider
never calls the CRM, so its CRM is reached through the Flask test client.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from config import TestConfig
from crm import create_app
from tests.conftest import OUTPUT_DIR, IsolatedClient
from tests.oidc.fake_provider import FakeProvider, QuietHandler

HERE = Path(__file__).parent
CLIENT_ID = "crm"
CLIENT_SECRET = "test-client-secret-" + "x" * 32
DISPLAY_NAME = "Testi-IdP"


def sso_config(db_url: str, issuer: str, base_url: str) -> TestConfig:
    """The CRM's settings for SSO against `issuer`, served at `base_url`."""
    config = TestConfig(db_url)
    config.CRM_BASE_URL = base_url
    config.CRM_OIDC_ISSUER = issuer
    config.CRM_OIDC_CLIENT_ID = CLIENT_ID
    config.CRM_OIDC_CLIENT_SECRET = CLIENT_SECRET
    config.CRM_OIDC_DISPLAY_NAME = DISPLAY_NAME
    config.CRM_LOCAL_LOGIN = False
    config.CRM_OIDC_JWKS_REFETCH_SECONDS = 0
    return config


# ---------------------------------------------------------------------------
# The misbehaving provider
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fake_provider():
    provider = FakeProvider(CLIENT_ID, CLIENT_SECRET)
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def fake_app(app, db_url, fake_provider):
    """A CRM signing in through the fake provider (the `app` fixture migrated the database)."""
    fake_app = create_app(sso_config(db_url, fake_provider.issuer, "http://localhost"))
    fake_app.test_client_class = IsolatedClient
    return fake_app


@pytest.fixture
def fake(fake_provider):
    fake_provider.reset()
    return fake_provider


def fake_sign_in(client, fake: FakeProvider):
    """Run the whole sign-in through the fake provider; return the CRM's last answer."""
    start = client.get("/login/sso")
    assert start.status_code == 302, start.get_data(as_text=True)
    # This hop is the browser's, not the CRM's: keep its URL (state, nonce) out of the
    # log records that tests inspect for leaks.
    browser_log = logging.getLogger("urllib3.connectionpool")
    browser_log.disabled = True
    try:
        at_provider = requests.get(start.headers["Location"], allow_redirects=False,
                                   timeout=10)
    finally:
        browser_log.disabled = False
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


# ---------------------------------------------------------------------------
# The real provider: oidc-provider 9 (npm), with the CRM served on loopback
# ---------------------------------------------------------------------------

class _Dispatch:
    """WSGI app forwarding to an app made after the server (which needs its port)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@dataclass
class Idp:
    """The running provider and the CRM signing in through it."""

    issuer: str
    crm_url: str
    app: object
    admin_token: str

    def _admin(self, method: str, path: str, body) -> None:
        response = requests.request(method, f"{self.issuer}/__admin/{path}", json=body,
                                    timeout=10,
                                    headers={"Authorization": f"Bearer {self.admin_token}"})
        assert response.status_code == 204, response.text

    def set_accounts(self, accounts: dict[str, dict]) -> None:
        """Replace the provider's accounts: login (= sub) -> claims, groups among them."""
        self._admin("PUT", "accounts", accounts)

    def backchannel_logout(self, sub: str, sid: str) -> None:
        """Make the provider send this client a back-channel logout token."""
        self._admin("POST", "backchannel-logout", {"client_id": CLIENT_ID, "sub": sub,
                                                   "sid": sid})


def _form(html: str, base_url: str, form_id: str | None = None) -> tuple[str, dict]:
    """Return the action URL and hidden fields of the (first or named) form in `html`."""
    pattern = r"<form\b[^>]*>.*?</form>"
    forms = re.findall(pattern, html, re.S)
    form = next(f for f in forms if form_id is None or f'id="{form_id}"' in f)
    action = re.search(r'action="([^"]*)"', form).group(1).replace("&amp;", "&")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return urljoin(base_url, action), fields


def sign_in(http: requests.Session, idp: Idp, login: str) -> requests.Response:
    """Sign in at the CRM through the provider's login page; return the CRM's last answer."""
    page = http.get(f"{idp.crm_url}/login/sso", timeout=10)
    assert page.url.startswith(idp.issuer), page.url
    action, fields = _form(page.text, page.url)
    fields.update(login=login, password="any password")
    return http.post(action, data=fields, timeout=10)


def provider_logout(http: requests.Session, page: requests.Response) -> requests.Response:
    """Answer the provider's "sign out?" page with yes; return the last answer."""
    action, fields = _form(page.text, page.url, "op.logoutForm")
    return http.post(action, data={**fields, "logout": "yes"}, timeout=10)


@pytest.fixture(scope="session")
def idp(app, db_url):
    """oidc-provider on a free port, and a CRM served on another one, introduced."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the SSO tests (scripts/test.sh checks it)",
                    pytrace=False)
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: npm ci --prefix tests/oidc",
                    pytrace=False)

    dispatch = _Dispatch()
    server = make_server("127.0.0.1", 0, dispatch, threaded=True, request_handler=QuietHandler)
    crm_url = f"http://127.0.0.1:{server.server_port}"
    admin_token = secrets.token_urlsafe(16)
    config = {
        "name": DISPLAY_NAME, "adminToken": admin_token, "accounts": {},
        "clients": [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{crm_url}/oauth-authorized/sso"],
            "post_logout_redirect_uris": [f"{crm_url}/login/"],
            "backchannel_logout_uri": f"{crm_url}/oidc/backchannel-logout",
            "backchannel_logout_session_required": True,
            "token_endpoint_auth_method": "client_secret_basic",
        }],
    }
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    log = (OUTPUT_DIR / "oidc-provider.log").open("w")
    process = subprocess.Popen([node, str(HERE / "provider.mjs")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    process.stdin.write(json.dumps(config))
    process.stdin.close()
    ready = None
    for line in process.stdout:
        if line.startswith("OIDC-PROVIDER-READY "):
            ready = json.loads(line.split(" ", 1)[1])
            break
        log.write(line)
    if ready is None:
        process.kill()
        pytest.fail(f"oidc-provider did not start; see {log.name}", pytrace=False)
    # Keep reading its output, so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [log.write(line) for line in process.stdout],
                     daemon=True).start()

    dispatch.app = create_app(sso_config(db_url, ready["issuer"], crm_url))
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="sso-crm")
    thread.start()
    try:
        yield Idp(ready["issuer"], crm_url, dispatch.app, admin_token)
    finally:
        server.shutdown()
        server.server_close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

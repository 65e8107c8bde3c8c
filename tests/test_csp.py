"""The Content Security Policy runs a page's own inline scripts, by a nonce fresh on every
response, and no other inline script (DESIGN §11): an injected one carries no nonce.

The browser's side (every role's pages run under it without a violation) is
tests/test_browser_csp.py.
"""

from __future__ import annotations

import re

from crm.security.headers import content_security_policy


def directives(policy: str) -> dict[str, str]:
    """Return a policy's directives: name -> its sources."""
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def page_nonce(response) -> str:
    """Return the nonce a page's policy gives its scripts, after checking the policy
    allows no other inline script and leaves styles as they were."""
    policy = directives(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["style-src"] == "'self' 'unsafe-inline'"  # no nonce: it would void this
    match = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{22,})'", policy["script-src"])
    assert match, policy["script-src"]
    return match.group(1)


def test_a_pages_scripts_carry_the_nonce_of_its_policy_fresh_each_time(signed_in):
    client = signed_in("sales")
    for path in ("/", "/contactview/list/", "/contactview/add"):
        first, second = client.get(path), client.get(path)
        nonce = page_nonce(first)
        assert nonce != page_nonce(second), path
        scripts = re.findall(r"<script\b[^>]*>", first.get_data(as_text=True))
        assert scripts, path
        assert [tag for tag in scripts if f'nonce="{nonce}"' not in tag] == [], path


def test_the_sign_in_page_has_a_nonce_and_files_need_none(client):
    page = client.get("/login/")
    nonce = page_nonce(page)
    assert f'nonce="{nonce}"' in page.get_data(as_text=True)
    stylesheet = client.get("/static/crm.css")
    assert stylesheet.status_code == 200
    assert directives(stylesheet.headers["Content-Security-Policy"])["script-src"] == "'self'"


def test_with_sso_forms_may_still_lead_to_the_identity_provider():
    policy = directives(content_security_policy(
        {"CRM_OIDC_ISSUER": "https://login.example.com/realms/crm"}, "abc123"))
    assert policy["form-action"] == "'self' https://login.example.com"
    assert policy["script-src"] == "'self' 'nonce-abc123'"

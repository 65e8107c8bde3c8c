"""Local username+password login: it works, it refuses wrong passwords, it is rate-limited."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import pytest
from flask_babel import force_locale, gettext

from config import TestConfig
from crm import create_app
from tests.conftest import PASSWORD, csrf_token, logout


def _post_login(client, username, password):
    token = csrf_token(client, "/login/")
    return client.post("/login/", data={"username": username, "password": password,
                                        "csrf_token": token})


def test_right_password_signs_in(client):
    response = _post_login(client, "sales", PASSWORD)
    assert response.status_code == 302
    assert client.get("/contactview/list/").status_code == 200


def test_wrong_password_is_refused(client):
    response = _post_login(client, "sales", "not-the-password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/contactview/list/").status_code != 200


def test_login_without_csrf_token_is_refused(client):
    client.post("/login/", data={"username": "sales", "password": PASSWORD})
    assert client.get("/contactview/list/").status_code != 200


@pytest.fixture
def limited_app(db_url):
    config = TestConfig(db_url)
    config.RATELIMIT_ENABLED = True
    config.AUTH_RATE_LIMITED = True
    config.AUTH_RATE_LIMIT = "5 per minute"
    return create_app(config)


def test_login_is_rate_limited(limited_app):
    client = limited_app.test_client()
    statuses = [_post_login(client, "sales", "wrong").status_code for _ in range(5)]
    assert 429 not in statuses
    # The sixth attempt within the minute is refused, even with the right password.
    assert _post_login(client, "sales", PASSWORD).status_code == 429


@pytest.mark.parametrize(("next_url", "lands_on", "warns"), [
    (None, "/", False),
    ("/contactview/list/", "/contactview/list/", False),
    ("https://evil.example.test/", "/", True),
])
def test_password_sign_in_follows_only_a_safe_next_page(client, caplog, next_url, lands_on,
                                                        warns):
    """A next page on this site is followed, another site's is not and is logged; a plain
    sign-in (no next page) logs no redirect warning that would drown the real ones."""
    token = csrf_token(client, "/login/")
    path = "/login/" if next_url is None else f"/login/?next={next_url}"
    with caplog.at_level(logging.WARNING):
        response = client.post(path, data={"username": "sales", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    assert location.netloc in ("", "localhost") and location.path == lands_on
    assert any("Invalid redirect" in r.getMessage() for r in caplog.records) is warns


def _translated(app, locale: str, text: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(text)


def _signed_out_note(app, locale: str) -> str:
    return _translated(app, locale, "You have been signed out.")


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_signing_out_says_so_on_the_sign_in_page_in_the_readers_language(app, client,
                                                                          locale):
    _post_login(client, "sales", PASSWORD)
    client.get(f"/lang/{locale}")
    response = logout(client, follow_redirects=True)
    page = response.get_data(as_text=True)
    # The home page offering to sign in again (with SSO: the sign-in page, back from
    # the provider), in the language the reader had chosen, which signing out keeps ...
    assert response.request.path == "/"
    assert _signed_out_note(app, locale) in page
    assert _translated(app, locale, "Sign in") in page
    assert _translated(app, "en" if locale == "fi" else "fi", "Sign in") not in page
    # ... but nothing else: the user is gone, and the note is said once.
    assert client.get("/contactview/list/").status_code != 200
    assert _signed_out_note(app, locale) not in client.get("/login/").get_data(as_text=True)


def test_no_note_for_a_sign_in_page_not_reached_by_signing_out(app, client):
    client.get("/logout/")  # nobody was signed in
    page = client.get("/login/").get_data(as_text=True)
    assert _signed_out_note(app, "fi") not in page

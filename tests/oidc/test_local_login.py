"""Username+password login: refused everywhere when off; rate-limited and audited when on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from config import TestConfig
from crm import create_app
from crm.models import AuditEvent, OidcIdentity
from tests.conftest import PASSWORD, IsolatedClient, csrf_token
from tests.oidc.conftest import DISPLAY_NAME, fake_sign_in, sso_config

API_LOGIN = "/api/v1/security/login"


def _audit(session, action: str) -> list[str | None]:
    session.expire_all()
    return [e.detail for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action))]


def _api_login(client, username="sales", password=PASSWORD):
    return client.post(API_LOGIN, json={"username": username, "password": password,
                                        "provider": "db", "refresh": True})


# Local login off (the SSO app) ---------------------------------------------------

def test_login_page_offers_only_the_provider(fake_app):
    page = fake_app.test_client().get("/login/").get_data(as_text=True)
    assert 'id="sso-login"' in page and DISPLAY_NAME in page
    assert 'name="password"' not in page


def _valid_csrf_token(app, client) -> str:
    """Plant a CSRF token in the client's session, as a form page would have."""
    from itsdangerous import URLSafeTimedSerializer

    raw = "a" * 40
    with client.session_transaction() as browser_session:
        browser_session["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def test_password_form_post_is_refused(fake_app, session):
    client = fake_app.test_client()
    token = _valid_csrf_token(fake_app, client)
    response = client.post("/login/", data={"username": "sales", "password": PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 403
    assert 'data-reason="local_login_off"' in response.get_data(as_text=True)
    assert client.get("/contactview/list/").status_code != 200
    assert _audit(session, "login_refused") == ["local_login_off"]


def test_api_login_is_refused(fake_app, session):
    client = fake_app.test_client()
    response = _api_login(client)
    assert response.status_code == 403
    assert "access_token" not in response.get_json()
    assert client.post("/api/v1/security/refresh").status_code == 403
    assert _audit(session, "login_refused") == ["local_login_off"]


# Local login on (the default test app, SSO off) ------------------------------------

def test_api_login_works_and_is_audited(client, session):
    response = _api_login(client)
    assert response.status_code == 200 and response.get_json()["access_token"]
    assert _api_login(client, password="wrong").status_code == 401
    assert _audit(session, "login") == ["api"]
    assert _audit(session, "login_failed") == ["password_api"]


def test_a_failed_password_login_is_audited_without_the_username(client, session):
    token = csrf_token(client, "/login/")
    client.post("/login/", data={"username": "sales", "password": "wrong", "csrf_token": token})
    session.expire_all()
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login_failed"))
    assert event.detail == "password" and event.object_id is None
    assert "sales" not in (event.actor or "")


@pytest.fixture
def limited_app(db_url):
    config = TestConfig(db_url)
    config.RATELIMIT_ENABLED = True
    config.AUTH_RATE_LIMITED = True
    config.AUTH_RATE_LIMIT = "3 per minute"
    return create_app(config)


def test_api_login_is_rate_limited(limited_app):
    client = limited_app.test_client()
    assert [_api_login(client, password="wrong").status_code for _ in range(3)] == [401] * 3
    assert _api_login(client).status_code == 429


@pytest.fixture
def both_app(db_url, fake_provider):
    config = sso_config(db_url, fake_provider.issuer, "http://localhost")
    config.CRM_LOCAL_LOGIN = True
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


def test_with_both_on_the_page_shows_both(both_app):
    page = both_app.test_client().get("/login/").get_data(as_text=True)
    assert 'id="sso-login"' in page and 'name="password"' in page


def test_an_account_made_by_the_provider_never_signs_in_with_a_password(both_app, fake,
                                                                        session):
    assert fake_sign_in(both_app.test_client(), fake).status_code == 302
    user = session.scalar(sa.select(OidcIdentity)).user
    user.password = generate_password_hash("set-by-someone")
    session.commit()
    client = both_app.test_client()
    token = csrf_token(client, "/login/")
    response = client.post("/login/", data={"username": user.username,
                                            "password": "set-by-someone", "csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/contactview/list/").status_code != 200
    assert _api_login(client, user.username, "set-by-someone").status_code == 401

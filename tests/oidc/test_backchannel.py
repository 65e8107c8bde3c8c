"""Back-channel logout tokens: a valid one ends the sessions it names, any other is refused."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from crm.models import AuditEvent, UserSession
from tests.oidc.conftest import fake_sign_in
from tests.oidc.fake_provider import REMOVE

NOW = int(time.time())
PATH = "/oidc/backchannel-logout"


@pytest.fixture
def signed_in(fake_app, fake):
    """A browser signed in through the fake provider (its session's sid: fake-sid-1)."""
    client = fake_app.test_client()
    assert fake_sign_in(client, fake).status_code == 302
    return client


def _sessions(session) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id.is_not(None)))


def _post(fake_app, token):
    return fake_app.test_client().post(PATH, data={"logout_token": token})


@pytest.mark.parametrize("changes", [{}, {"sid": REMOVE}], ids=["by sid", "by sub"])
def test_a_valid_logout_token_ends_the_session(fake_app, fake, signed_in, session, changes):
    assert _sessions(session) == 1
    response = _post(fake_app, fake.logout_token(**changes))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert _sessions(session) == 0
    assert signed_in.get("/contactview/list/").status_code != 200
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "logout"))
    assert event.detail == "backchannel" and event.object_id is not None


def test_a_logout_token_for_another_session_ends_nothing_else(fake_app, fake, signed_in,
                                                             session):
    assert _post(fake_app, fake.logout_token(sid="some-other-sid")).status_code == 200
    assert _sessions(session) == 1


BAD_TOKENS = {
    # name: (how the token is made, reason)
    "bad signature": ({"signing": "other_key"}, "signature"),
    "alg none": ({"signing": "none"}, "alg"),
    "HS256 with the client secret": ({"signing": "hs256"}, "alg"),
    "wrong iss": ({"iss": "https://evil.example.test"}, "iss"),
    "aud is another client": ({"aud": "another-client"}, "aud"),
    "aud another client, azp ours": ({"aud": "another-client", "azp": "crm"}, "aud"),
    "no iat": ({"iat": REMOVE}, "iat"),
    "expired": ({"iat": NOW - 7200, "exp": NOW - 3600}, "expired"),
    "no events claim": ({"events": REMOVE}, "events"),
    "another event": ({"events": {"http://schemas.openid.net/event/other": {}}}, "events"),
    "a nonce (an ID token, not a logout token)": ({"nonce": "n-0S6_WzA2Mj"}, "nonce"),
    "neither sid nor sub": ({"sid": REMOVE, "sub": REMOVE}, "sid_sub"),
    "no jti": ({"jti": REMOVE}, "jti"),
}


@pytest.mark.parametrize("bad", list(BAD_TOKENS))
def test_a_bad_logout_token_is_refused(fake_app, fake, signed_in, session, bad):
    changes, reason = BAD_TOKENS[bad]
    changes = dict(changes)
    response = _post(fake_app, fake.logout_token(signing=changes.pop("signing", "key"),
                                                 **changes))
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_request", "error_description": reason}
    assert response.headers["Cache-Control"] == "no-store"
    assert _sessions(session) == 1


@pytest.mark.parametrize("data", [{}, {"logout_token": "not-a-jwt"}])
def test_a_missing_or_garbled_token_is_refused(fake_app, fake, signed_in, session, data):
    response = fake_app.test_client().post(PATH, data=data)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert _sessions(session) == 1


def test_the_endpoint_is_not_there_without_sso(client):
    assert client.post(PATH, data={"logout_token": "x"}).status_code == 404


def test_the_apps_csrf_protection_leaves_the_endpoint_open(db_url, fake_provider, fake,
                                                          session):
    from crm import create_app
    from tests.oidc.conftest import sso_config

    app = create_app(sso_config(db_url, fake_provider.issuer, "http://localhost"))
    assert "csrf" in app.extensions  # CSRFProtect guards every other POST
    response = app.test_client().post(PATH, data={"logout_token": fake.logout_token()})
    assert response.status_code == 200
    assert app.test_client().post("/login/", data={}).status_code == 400  # CSRF does work

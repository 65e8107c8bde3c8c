"""Server-side sessions: the cookie is a key, and logout, timeouts and changes end them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import UserSession
from crm.models.base import utcnow
from crm.security.sessions import _hash
from tests.conftest import login, logout

COOKIE = "crm_session"


def _key(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _signed_in(client) -> bool:
    return client.get("/contactview/list/").status_code == 200


def _rows(session, username):
    session.expire_all()
    user = session.scalar(sa.select(User).where(User.username == username))
    return session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).all()


def test_cookie_holds_only_a_key_and_the_table_only_its_hash(client, session):
    login(client, "sales")
    key = _key(client)
    rows = _rows(session, "sales")
    assert len(rows) == 1
    assert rows[0].key_hash == _hash(key) and key not in rows[0].key_hash
    assert _signed_in(client)


def test_sign_in_gives_a_new_key(client):
    client.get("/login/")  # an anonymous session with a CSRF token
    before = _key(client)
    assert before is not None
    login(client, "sales")
    assert _key(client) not in (None, before)


def test_logout_ends_the_session_on_the_server(client, session):
    login(client, "sales")
    key = _key(client)
    logout(client)
    assert _rows(session, "sales") == []
    # The old cookie, replayed, opens nothing.
    client.set_cookie(COOKIE, key)
    assert not _signed_in(client)


@pytest.mark.parametrize("column, age", [("last_seen_at", timedelta(minutes=31)),
                                         ("expires_at", timedelta(seconds=1))])
def test_idle_and_absolute_timeouts_end_the_session(client, session, column, age):
    login(client, "sales")
    row = _rows(session, "sales")[0]
    setattr(row, column, utcnow() - age)
    session.commit()
    assert not _signed_in(client)
    assert _rows(session, "sales") == []


def test_session_within_the_idle_time_survives(client, session):
    login(client, "sales")
    row = _rows(session, "sales")[0]
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    session.commit()
    assert _signed_in(client)


def test_disabling_a_user_ends_their_sessions(client, session):
    login(client, "support")
    user = session.scalar(sa.select(User).where(User.username == "support"))
    user.active = False
    session.commit()
    assert _rows(session, "support") == []
    assert not _signed_in(client)
    user.active = True
    session.commit()


def test_a_role_change_ends_the_users_sessions(client, session, app):
    login(client, "marketing")
    user = session.scalar(sa.select(User).where(User.username == "marketing"))
    original = list(user.roles)
    user.roles = [app.appbuilder.sm.find_role("Communications")]
    session.commit()
    assert _rows(session, "marketing") == []
    assert not _signed_in(client)
    user.roles = original
    session.commit()


def _all_rows(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(UserSession))


@pytest.mark.parametrize("cookie", [None, "random", "forged.signed.value"])
@pytest.mark.parametrize("path", ["/health", "/static/crm.css", "/contact", "/login/",
                                  "/privacy", "/contactview/list/"])
def test_visitors_not_signed_in_fill_no_session_table(app, session, path, cookie):
    """Anyone can send requests: only a sign-in makes a session the server keeps."""
    before = _all_rows(session)
    for n in range(5):
        client = app.test_client()
        if cookie:
            client.set_cookie(COOKIE, f"{cookie}{n}")
        assert client.get(path).status_code in (200, 302)
    assert _all_rows(session) == before


def test_a_visitors_form_still_works_from_the_cookie_alone(client, session):
    """The sign-in form's CSRF token and the language chosen before it survive with no
    row stored; signing in then stores the one row, under a new key."""
    before = _all_rows(session)
    client.get("/lang/en")
    assert '<html lang="en">' in client.get("/login/").get_data(as_text=True)
    assert _all_rows(session) == before
    visitor = _key(client)
    login(client, "sales")
    assert _key(client) != visitor and len(_rows(session, "sales")) == 1
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # still English


def test_a_random_cookie_writes_no_cookie_back(client):
    client.set_cookie(COOKIE, "made-up-key")
    response = client.get("/health")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_a_visitors_cookie_cannot_claim_a_user(app, client):
    """A visitor's signed cookie never signs anyone in, even one signed with the key."""
    with app.test_request_context():
        forged = app.session_interface._signer(app).dumps({"_user_id": "1", "_fresh": True})
    client.set_cookie(COOKIE, forged)
    assert not _signed_in(client)

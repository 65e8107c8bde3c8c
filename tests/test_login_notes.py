"""Review C: what the sign-in page says to whoever is sent to it from a page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale
from markupsafe import escape

from crm.models import UserSession
from crm.models.base import utcnow
from crm.security.login import SESSION_ENDED
from tests.conftest import login


def _sent_to_sign_in(client) -> str:
    response = client.get("/contactview/list/", follow_redirects=True)
    assert response.request.path == "/login/"
    return response.get_data(as_text=True)


def _age_sessions(session, username: str, column: str, age: timedelta) -> None:
    session.expire_all()
    user_id = session.scalar(sa.select(User.id).where(User.username == username))
    for row in session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)):
        setattr(row, column, utcnow() - age)
    session.commit()


def test_a_visitor_not_signed_in_is_asked_to_sign_in_not_told_access_is_denied(client):
    client.get("/lang/en")
    html = _sent_to_sign_in(client)
    assert "Sign in to see the page." in html
    assert "Access is Denied" not in html and "session has ended" not in html


@pytest.mark.parametrize("column, age", [("last_seen_at", timedelta(minutes=31)),
                                         ("expires_at", timedelta(seconds=1))],
                         ids=["idle", "absolute"])
def test_an_ended_session_is_said_to_have_ended_in_the_readers_language(
        client, session, column, age):
    login(client, "sales")
    client.get("/lang/en")
    _age_sessions(session, "sales", column, age)
    html = _sent_to_sign_in(client)
    # Still in English: the language outlives the session, as it does a sign-out.
    assert "Your session has ended. Sign in again to continue." in html
    assert "Access is Denied" not in html
    # Said once: the next visit to the sign-in page is a plain one.
    assert "session has ended" not in client.get("/login/").get_data(as_text=True)


def test_a_session_ended_elsewhere_is_said_to_have_ended(app, client, session):
    login(client, "sales")
    session.expire_all()
    session.execute(sa.delete(UserSession))  # as the purge job or a logout elsewhere
    session.commit()
    html = _sent_to_sign_in(client)  # in Finnish: the old session's language is gone
    with app.test_request_context(), force_locale("fi"):
        assert escape(str(SESSION_ENDED)) in html
        assert escape(str(FLAMSG_ERR_SEC_ACCESS_DENIED)) not in html

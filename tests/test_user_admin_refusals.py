"""The user screen refuses a username or email another account has as the CRM's own
screens do (crm.views.save_refusals): beside its field, in the reader's language; and
what the database still refuses (two administrators saving the same email at once) is
rolled back with a plain message, logged by its constraint only, never with the email.

FAB's data interface said "Already exists." in English, and a clash the database found
was logged with its DETAIL line (the email) and flashed with the SQL statement.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.extensions import db
from tests.conftest import csrf_token
from tests.test_contact_forms import field_errors, form_data
from tests.test_save_refusals import (
    MESSAGES,
    SQL_WORDS,
    _client,
    _messages,
    _no_values_logged,
    _posted_value,
    form_check_missed,  # noqa: F401  (a fixture)
)
from tests.test_user_admin_grants import _role_id, _user

TAKEN = {
    "en": {"username": "User Name is already in use in another record.",
           "email": "Email is already in use in another record."},
    "fi": {"username": "Käyttäjätunnus on jo käytössä toisessa tietueessa.",
           "email": "Sähköposti on jo käytössä toisessa tietueessa."},
}
NEW = {"username": "varatili", "email": "varatili@esimerkki.invalid"}


def _accounts() -> list[tuple[str, str]]:
    db.session.remove()
    return sorted(db.session.execute(sa.select(User.username, User.email)).tuples())


def _add(client, session, **values):
    data = {"csrf_token": csrf_token(client, "/users/add"), "first_name": "Aapo",
            "last_name": "Apulainen", "active": "y", "password": "Apu-salasana-9",
            "conf_password": "Apu-salasana-9", "roles": [str(_role_id(session, "Admin"))],
            **NEW, **values}
    return client.post("/users/add", data=data)


@pytest.mark.parametrize("locale", ["en", "fi"])
@pytest.mark.parametrize("field", ["username", "email"])
def test_a_username_or_email_another_account_has_is_refused_beside_its_field(
        login_as, session, caplog, locale, field):
    taken = getattr(_user(session, "sales"), field)
    before = _accounts()
    client = _client(login_as, "admin", locale)
    with caplog.at_level(logging.DEBUG):
        response = _add(client, session, **{field: taken})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_errors(html, field) == [TAKEN[locale][field]]
    assert "Already exists." not in html
    assert _posted_value(html, field) == taken
    assert _accounts() == before
    _no_values_logged(caplog, taken)
    # Another value is saved.
    assert _add(client, session).status_code == 302
    assert (NEW["username"], NEW["email"]) in _accounts()


def _edit_sales_to_supports_email(client, session, caplog):
    """Post sales' account with support's email; return the edit path, the email taken,
    sales' own and the answer (logs kept in `caplog`)."""
    sales, support = _user(session, "sales"), _user(session, "support")
    path = f"/users/edit/{sales.id}"
    page = client.get(path).get_data(as_text=True)
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, data=form_data(page, email=support.email))
    return path, support.email, sales.email, response


def test_an_account_edited_to_another_accounts_email_is_refused(login_as, session, caplog):
    client = _client(login_as, "admin", "fi")
    path, taken, kept, response = _edit_sales_to_supports_email(client, session, caplog)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_errors(html, "email") == [TAKEN["fi"]["email"]]
    assert ("sales", kept) in _accounts()
    _no_values_logged(caplog, taken)
    # Saving the account unchanged is no clash with itself.
    page = client.get(path).get_data(as_text=True)
    assert client.post(path, data=form_data(page)).status_code == 302


@pytest.mark.parametrize("locale", ["en", "fi"])
def test_an_email_the_database_refuses_keeps_the_form_and_logs_no_email(
        login_as, session, form_check_missed, caplog, locale):  # noqa: F811
    taken = _user(session, "sales").email
    before = _accounts()
    client = _client(login_as, "admin", locale)
    with caplog.at_level(logging.DEBUG):
        response = _add(client, session, email=taken)
    html = response.get_data(as_text=True)
    # The form again, as it was sent, with a plain message and no SQL.
    assert response.status_code == 200
    assert _posted_value(html, "username") == NEW["username"]
    assert _posted_value(html, "email") == taken
    assert MESSAGES[locale]["conflict"] in " ".join(_messages(html))
    assert "Already exists." not in html
    assert not any(word in html for word in SQL_WORDS)
    assert _accounts() == before
    _no_values_logged(caplog, taken)
    # What was refused, by the constraint's name (PostgreSQL) or column (SQLite).
    [logged] = [r.getMessage() for r in caplog.records if "refused to add" in r.getMessage()]
    assert "User" in logged and "email" in logged
    # The form still works: the account with its own email is saved.
    assert _add(client, session).status_code == 302
    assert (NEW["username"], NEW["email"]) in _accounts()


def test_an_edit_the_database_refuses_changes_nothing_and_logs_no_email(
        login_as, session, form_check_missed, caplog):  # noqa: F811
    client = _client(login_as, "admin", "en")
    path, taken, kept, response = _edit_sales_to_supports_email(client, session, caplog)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _posted_value(html, "email") == taken
    assert MESSAGES["en"]["conflict"] in " ".join(_messages(html))
    assert not any(word in html for word in SQL_WORDS)
    assert ("sales", kept) in _accounts()
    _no_values_logged(caplog, taken)

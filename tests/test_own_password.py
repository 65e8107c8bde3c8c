"""One's own password ("Reset my password"), only for accounts that may hold one.

An account whose roles open personal data signs in through the company's sign-in
service and never has a password in the CRM (DESIGN §6, §7): its user menu offers no
password page, and the page, opened anyway, says so up front with no form to fill in.
A break-glass account (Admin, Maintainer) finds the page in its user menu, and the
form's help texts and errors are tied to their inputs for screen readers.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from werkzeug.security import check_password_hash

from crm.services.demo import DEMO_USERS
from tests.conftest import PASSWORD, csrf_token, session_csrf_token

#: The demo accounts that may hold a password: their roles open no personal data.
WITH_PASSWORD = {"admin", "maintainer"}
WITHOUT_PASSWORD = sorted(set(DEMO_USERS) - WITH_PASSWORD)
PAGE = "/resetmypassword/form"


def _text(response) -> str:
    return " ".join(unescape(response.get_data(as_text=True)).split())


def _password_of(session, username: str) -> str:
    session.rollback()
    return session.scalar(sa.select(User.password).where(User.username == username))


@pytest.mark.parametrize("user", sorted(DEMO_USERS))
def test_the_user_menu_offers_the_password_page_only_to_who_may_hold_a_password(
        signed_in, user):
    menu = _text(signed_in(user).get("/"))
    menu = menu[menu.index("navbar-right"):]
    assert (f'href="{PAGE}"' in menu) is (user in WITH_PASSWORD)
    assert ("Reset my password" in menu) is (user in WITH_PASSWORD)


@pytest.mark.parametrize("user", WITHOUT_PASSWORD)
def test_an_account_with_personal_data_roles_is_told_up_front_with_no_form(
        signed_in, user):
    response = signed_in(user).get(PAGE)
    assert response.status_code == 200
    page = _text(response)
    assert "Your account signs in through the company's sign-in service" in page
    assert "no password in the CRM to change" in page
    assert 'name="password"' not in page and 'name="conf_password"' not in page
    assert 'id="model_form"' not in page


@pytest.mark.parametrize("user", ["privacy", "comms"])
def test_a_post_for_such_an_account_sets_nothing_and_says_why(session, signed_in, user):
    client = signed_in(user)
    before = _password_of(session, user)
    response = client.post(PAGE, data={"password": "Uusi-salasana-9",
                                       "conf_password": "Uusi-salasana-9",
                                       "csrf_token": session_csrf_token(client)})
    assert response.status_code == 200
    assert "Your account signs in through the company's sign-in service" in _text(response)
    assert _password_of(session, user) == before
    assert check_password_hash(before, PASSWORD)


def _described(page: str, field_id: str) -> list[str]:
    """Return the texts the input `field_id` is described by (aria-describedby)."""
    field = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', page)
    assert field, f"no input {field_id}"
    ids = re.search(r'aria-describedby="([^"]*)"', field.group(0))
    assert ids, f"{field_id} is described by nothing"
    texts = []
    for ref in ids.group(1).split():
        element = re.search(rf'<(\w+)[^>]*\bid="{ref}"[^>]*>(.*?)</\1>', page, re.S)
        assert element, f"{field_id} is described by {ref}, which is not on the page"
        texts.append(" ".join(re.sub(r"<[^>]+>", " ", element.group(2)).split()))
    return texts


@pytest.mark.parametrize("user", sorted(WITH_PASSWORD))
def test_a_break_glass_accounts_form_ties_help_and_errors_to_the_inputs(signed_in,
                                                                        session, user):
    client = signed_in(user)
    page = _text(client.get(PAGE))
    assert _described(page, "password") == [
        "Please use a good password policy, this application does not check this for you"]
    assert _described(page, "conf_password") == ["Please rewrite the password to confirm"]
    assert 'aria-invalid' not in page
    # Refused: the error is read with the field it is about, which is marked invalid.
    before = _password_of(session, user)
    response = client.post(PAGE, data={"password": "Uusi-salasana-9",
                                       "conf_password": "Toinen-sana-9",
                                       "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 200
    page = _text(response)
    assert _described(page, "conf_password") == ["Please rewrite the password to confirm",
                                                 "Passwords must match"]
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="conf_password"', page)
    assert not re.search(r'<input[^>]*aria-invalid="true"[^>]*id="password"', page)
    assert _password_of(session, user) == before

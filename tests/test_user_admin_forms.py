"""Review C: the user screen as an administrator reads it."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User


def _id(session, username: str) -> int:
    return session.scalar(sa.select(User.id).where(User.username == username))


def test_the_user_screens_leave_out_fabs_unused_groups(login_as, session):
    client = login_as("admin")
    listing = client.get("/users/list/").get_data(as_text=True)
    assert "Ryhmät" not in listing and "<td>[]</td>" not in re.sub(r"\s+", "", listing)
    edit = client.get(f"/users/edit/{_id(session, 'sales')}").get_data(as_text=True)
    assert 'name="groups"' not in edit and "Ryhmät" not in edit
    add = client.get("/users/add").get_data(as_text=True)
    assert 'name="groups"' not in add


def test_the_role_choices_are_named_as_on_the_list(login_as, session):
    client = login_as("admin")
    edit = client.get(f"/users/edit/{_id(session, 'sales')}").get_data(as_text=True)
    options = dict((label, pk) for pk, label in
                   re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', edit))
    assert "Myynti" in options and "Tietosuojavastaava" in options
    assert "Sales" not in options


def test_the_roles_field_says_sso_roles_come_from_the_groups(signed_in, session):
    client = signed_in("admin")
    edit = client.get(f"/users/edit/{_id(session, 'sales')}").get_data(as_text=True)
    assert "replaced at every sign-in" in edit
    assert "LDAP" not in edit and "OpenID" not in edit

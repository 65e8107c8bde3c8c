"""Your own account's page ("Profiili", FAB's user info) speaks the page's language:
a flag as Kyllä/Ei (Yes/No), roles by their names as the rest of the CRM names them."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.security.roles import ROLES, role_label

PROFILE = "/users/userinfo/"


def _shown(html: str, label: str) -> str:
    """Return the value the record page shows beside `label`."""
    match = re.search(rf"<th[^>]*>\s*{re.escape(label)}\s*</th>\s*<td[^>]*>(.*?)</td>", html,
                      re.S)
    assert match, f"no {label} on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


@pytest.mark.parametrize(("lang", "active_label", "roles_label", "active", "roles"), [
    ("fi", "Aktiivinen?", "Rooli", "Kyllä", "Myynti"),
    ("en", "Is Active?", "Role", "Yes", "Sales"),
])
def test_profile_says_yes_and_names_roles_in_the_pages_language(login_as, lang, active_label,
                                                                roles_label, active, roles):
    client = login_as("sales")
    client.get(f"/lang/{lang}")
    response = client.get(PROFILE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _shown(html, active_label) == active
    assert _shown(html, roles_label) == roles
    assert "True" not in html and "[Sales]" not in html


def test_several_roles_are_listed_by_name(login_as, session, app):
    user = app.appbuilder.sm.find_user(username="dpo")
    user.roles = [app.appbuilder.sm.find_role("Privacy"), app.appbuilder.sm.find_role("DPO")]
    session.commit()
    client = login_as("dpo")
    client.get("/lang/en")
    assert _shown(client.get(PROFILE).get_data(as_text=True), "Role") == "DPO, Privacy"


def test_the_user_screen_shows_the_same(login_as):
    client = login_as("admin")
    client.get("/lang/en")
    html = client.get("/users/list/").get_data(as_text=True)
    assert "[Admin]" not in html and ">True<" not in html.replace(" ", "").replace("\n", "")


def test_every_role_has_a_finnish_name(app):
    with app.test_request_context("/"):
        from flask_babel import force_locale

        with force_locale("fi"):
            names = {role: role_label(role) for role in ROLES}
    assert names == {"Sales": "Myynti", "Marketing": "Markkinointi",
                     "Communications": "Viestintä", "Receivables": "Reskontra",
                     "Support": "Asiakastuki", "Privacy": "Tietosuoja",
                     "DPO": "Tietosuojavastaava", "Admin": "Pääkäyttäjä",
                     "Maintainer": "Palvelun ylläpitäjä"}

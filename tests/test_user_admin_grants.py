"""Roles that open personal data come only from the identity provider's groups.

A DPO review found that Admin could make a password account with the role Privacy and
read contacts with it. Every path is closed: the add and edit forms, the password pages,
FAB's commands and its REST API; what Admin may still do by hand is audited as a change
of roles, which the DPO sees.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_appbuilder.cli import create_admin, create_user
from flask_appbuilder.cli import reset_password as reset_password_command
from flask_appbuilder.security.sqla.models import Role, User
from werkzeug.security import check_password_hash

from crm.models import AuditEvent
from crm.security import roles
from crm.security.user_views import PasswordRoleRefused
from tests.conftest import PASSWORD, csrf_token, field_errors, login, session_csrf_token

#: The roles opening personal data, by name, as §6 has them today.
PERSONAL = ["Communications", "DPO", "Marketing", "Privacy", "Receivables", "Sales",
            "Support"]
LABELS_FI = {"Communications": "Viestintä", "DPO": "Tietosuojavastaava",
             "Marketing": "Markkinointi", "Privacy": "Tietosuoja", "Receivables": "Reskontra",
             "Sales": "Myynti", "Support": "Asiakastuki"}
REFUSED_FI = ("Roolit: roolia {roles} ei voi antaa käsin. Henkilötietoihin pääsyn antavat "
              "roolit tulevat vain henkilön ryhmistä tunnistuspalvelussa "
              "kirjautumisen yhteydessä.")
REFUSED_EN = ("Roles: {roles} cannot be granted by hand. Roles that give access to "
              "personal data come only from the person's groups at the identity provider, "
              "at sign-in.")


def _user(session, username) -> User | None:
    session.expire_all()
    return session.scalar(sa.select(User).where(User.username == username))


def _role_id(session, name: str) -> int:
    return session.scalar(sa.select(Role.id).where(Role.name == name))


def _add(client, session, username: str, role_names: list[str], password="Apu-salasana-9"):
    data = {"csrf_token": csrf_token(client, "/users/add"), "first_name": "Aapo",
            "last_name": "Apulainen", "username": username,
            "email": f"{username}@esimerkki.invalid", "active": "y",
            "password": password, "conf_password": password,
            "roles": [str(_role_id(session, name)) for name in role_names]}
    return client.post("/users/add", data=data)


def _edit(client, user: User, role_ids: list[int], active: bool = True):
    path = f"/users/edit/{user.id}"
    data = {"csrf_token": csrf_token(client, path), "first_name": user.first_name,
            "last_name": user.last_name, "username": user.username, "email": user.email,
            "roles": [str(r) for r in role_ids]}
    if active:
        data["active"] = "y"
    return client.post(path, data=data)


def _user_events(session) -> list[tuple[str, str | None]]:
    return [(e.action, e.detail) for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "User",
                                    AuditEvent.action != "login").order_by(AuditEvent.id))]


# The set of roles ---------------------------------------------------------------------


def test_the_roles_opening_personal_data_are_read_from_the_matrix(monkeypatch):
    assert sorted(roles.PERSONAL_DATA_ROLES) == PERSONAL
    # A future role reading contacts is covered without naming it anywhere else.
    monkeypatch.setitem(roles.MATRIX, roles.CONTACT, {**roles.MATRIX[roles.CONTACT],
                                                      "Analyst": "R"})
    assert roles.gives_personal_data("Analyst")
    assert not roles.gives_personal_data("Admin")
    assert not roles.gives_personal_data("Maintainer")


# The add form -------------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAL)
def test_admin_cannot_make_a_password_account_with_a_personal_data_role(
        login_as, session, role):
    client = login_as("admin")
    response = _add(client, session, "apu", [role])
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "roles") == [
        REFUSED_FI.format(roles=LABELS_FI[role])]
    assert _user(session, "apu") is None
    assert _user_events(session) == []
    # The person would not have signed in, let alone read a contact.
    refused = client.application.test_client()
    token = csrf_token(refused, "/login/")
    refused.post("/login/", data={"username": "apu", "password": "Apu-salasana-9",
                                  "csrf_token": token})
    assert refused.get("/contactview/list/").status_code != 200


def test_the_refusal_is_in_english_for_an_english_reader(signed_in, session):
    client = signed_in("admin")
    response = _add(client, session, "apu", ["Maintainer", "Privacy", "Sales"])
    assert field_errors(response.get_data(as_text=True), "roles") == [
        REFUSED_EN.format(roles="Privacy, Sales")]
    assert _user(session, "apu") is None


def test_admin_may_make_a_break_glass_account_and_the_dpo_sees_the_roles_given(
        login_as, session):
    response = _add(login_as("admin"), session, "apu", ["Maintainer"])
    assert response.status_code == 302
    apu = _user(session, "apu")
    assert [r.name for r in apu.roles] == ["Maintainer"]
    assert _user_events(session) == [("create", "Maintainer"), ("role_change", "+Maintainer")]
    dpo = login_as("dpo")
    trail = " ".join(dpo.get("/auditeventview/list/").get_data(as_text=True).split())
    assert "Roolit muutettu" in trail and "+Palvelun ylläpitäjä" in trail
    home = dpo.get("/").get_data(as_text=True).replace("</a>", "<")
    assert "admin: Roolit muutettu (Käyttäjä)<" in home
    # The break-glass account signs in and sees no contact.
    apu_client = login(dpo.application.test_client(), "apu", "Apu-salasana-9")
    assert apu_client.get("/contactview/list/").status_code == 403


# The edit form ------------------------------------------------------------------------


@pytest.mark.parametrize("role", PERSONAL)
def test_admin_cannot_add_a_personal_data_role_to_an_account(login_as, session, role):
    maintainer = _user(session, "maintainer")
    client = login_as("admin")
    client.get("/lang/en")
    ids = [_role_id(session, "Maintainer"), _role_id(session, role)]
    response = _edit(client, maintainer, ids)
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "roles") == [
        REFUSED_EN.format(roles=role)]
    assert [r.name for r in _user(session, "maintainer").roles] == ["Maintainer"]
    assert _user_events(session) == []


def test_admin_may_keep_take_away_or_swap_for_a_role_without_personal_data(
        login_as, session):
    client = login_as("admin")
    sales = _user(session, "sales")
    # Deactivating keeps the roles the account holds.
    assert _edit(client, sales, [_role_id(session, "Sales")], active=False).status_code == 302
    assert [r.name for r in _user(session, "sales").roles] == ["Sales"]
    assert not _user(session, "sales").active
    # Taking Sales away for Maintainer is a change of roles, audited with both names.
    sales = _user(session, "sales")
    assert _edit(client, sales, [_role_id(session, "Maintainer")]).status_code == 302
    assert [r.name for r in _user(session, "sales").roles] == ["Maintainer"]
    assert _user_events(session) == [("update", "Sales"), ("update", "Maintainer"),
                                     ("role_change", "+Maintainer -Sales")]
    dpo = login_as("dpo")
    dpo.get("/lang/en")
    trail = " ".join(dpo.get("/auditeventview/list/").get_data(as_text=True).split())
    assert "Roles changed" in trail and "+Maintainer, -Sales" in trail


# The role picker and forged posts -----------------------------------------------------


def test_the_role_picker_offers_only_the_crms_roles(login_as, session):
    client = login_as("admin")
    for path in ("/users/add", f"/users/edit/{_user(session, 'sales').id}"):
        page = client.get(path).get_data(as_text=True)
        select = re.search(r'<select[^>]*name="roles".*?</select>', page, re.S).group(0)
        offered = {int(pk) for pk in re.findall(r'value="(\d+)"', select)}
        assert offered == {_role_id(session, name) for name in roles.ROLES}, path
        assert "FabInternalNoUsers" not in select and "Public" not in select


@pytest.mark.parametrize("internal", ["FabInternalNoUsers", "Public"])
def test_a_forged_post_naming_an_internal_role_is_refused(login_as, session, internal):
    client = login_as("admin")
    response = _add(client, session, "apu", [internal])
    assert response.status_code == 200
    refusal = [f"Roolit: {internal} ei ole CRM:n rooli."]
    assert field_errors(response.get_data(as_text=True), "roles") == refusal
    assert _user(session, "apu") is None
    maintainer = _user(session, "maintainer")
    response = _edit(client, maintainer, [_role_id(session, "Maintainer"),
                                          _role_id(session, internal)])
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "roles") == refusal
    assert [r.name for r in _user(session, "maintainer").roles] == ["Maintainer"]


def test_an_account_without_roles_is_refused_beside_the_roles(login_as, session):
    response = _add(login_as("admin"), session, "apu", [])
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "roles") == [
        "Pakollinen."]
    assert _user(session, "apu") is None


# The password pages -------------------------------------------------------------------


def test_no_password_is_set_on_an_account_with_a_personal_data_role(app, login_as, session):
    privacy = _user(session, "privacy")
    # FAB's page for setting another account's password is granted to no one.
    admin = login_as("admin")
    assert admin.get(f"/resetpassword/form?pk={privacy.id}").status_code == 403
    token = csrf_token(admin, "/resetmypassword/form")
    response = admin.post(f"/resetpassword/form?pk={privacy.id}", data={
        "password": "Uusi-salasana-9", "conf_password": "Uusi-salasana-9",
        "csrf_token": token})
    assert response.status_code == 403
    # Nor through the security manager, which FAB's pages and commands call.
    with pytest.raises(PasswordRoleRefused):
        app.appbuilder.sm.reset_password(privacy.id, "Uusi-salasana-9")
    # Nor on one's own account ("Reset my password"), whose page offers no form to such
    # an account (tests/test_own_password.py): a post gets the same page, and sets nothing.
    own = login_as("privacy")
    own.get("/lang/en")
    response = own.post("/resetmypassword/form", data={
        "password": "Uusi-salasana-9", "conf_password": "Uusi-salasana-9",
        "csrf_token": session_csrf_token(own)})
    assert response.status_code == 200
    page = " ".join(response.get_data(as_text=True).split())
    assert "signs in through the company's sign-in service" in page
    assert 'name="password"' not in page
    assert check_password_hash(_user(session, "privacy").password, PASSWORD)


def test_a_break_glass_account_may_still_change_its_password(app, login_as, session):
    own = login_as("maintainer")
    try:
        response = own.post("/resetmypassword/form", data={
            "password": "Uusi-salasana-9", "conf_password": "Uusi-salasana-9",
            "csrf_token": csrf_token(own, "/resetmypassword/form")})
        assert response.status_code == 302
        assert check_password_hash(_user(session, "maintainer").password, "Uusi-salasana-9")
    finally:
        app.appbuilder.sm.reset_password(_user(session, "maintainer").id, PASSWORD)


# FAB's commands and REST API ----------------------------------------------------------


@pytest.mark.parametrize("role", [*PERSONAL, "FabInternalNoUsers", "Public"])
def test_fabs_create_user_command_refuses_the_role(app, session, role):
    result = app.test_cli_runner().invoke(create_user, [
        "--role", role, "--username", "apu", "--firstname", "Aapo", "--lastname",
        "Apulainen", "--email", "apu@esimerkki.invalid", "--password", "Apu-salasana-9"])
    assert isinstance(result.exception, PasswordRoleRefused)
    # The commands speak the default language, Finnish.
    assert str(result.exception).startswith("Käyttäjää ei luotu: rooleja ")
    assert "tulevat vain tunnistuspalvelun ryhmistä" in str(result.exception)
    assert _user(session, "apu") is None


def test_fabs_create_admin_command_is_refused_its_internal_role(app, session):
    result = app.test_cli_runner().invoke(create_admin, [
        "--username", "apu", "--firstname", "Aapo", "--lastname", "Apulainen",
        "--email", "apu@esimerkki.invalid", "--password", "Apu-salasana-9"])
    assert isinstance(result.exception, PasswordRoleRefused)
    assert _user(session, "apu") is None


def test_fabs_commands_still_make_and_reset_break_glass_accounts(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(create_user, [
        "--role", "Maintainer", "--username", "apu", "--firstname", "Aapo", "--lastname",
        "Apulainen", "--email", "apu@esimerkki.invalid", "--password", "Apu-salasana-9"])
    assert result.exit_code == 0 and "User apu created." in result.output
    result = runner.invoke(reset_password_command, ["--username", "apu", "--password",
                                                    "Uusi-salasana-9"])
    assert result.exit_code == 0
    assert check_password_hash(_user(session, "apu").password, "Uusi-salasana-9")
    # ... but not the password of an account holding a personal-data role.
    result = runner.invoke(reset_password_command, ["--username", "privacy", "--password",
                                                    "Uusi-salasana-9"])
    assert isinstance(result.exception, PasswordRoleRefused)
    assert check_password_hash(_user(session, "privacy").password, PASSWORD)


def test_fabs_user_rest_api_is_not_there(login_as, session):
    client = login_as("admin")
    assert client.get("/api/v1/security/users/").status_code == 404
    response = client.post("/api/v1/security/users/", json={
        "username": "apu", "first_name": "Aapo", "last_name": "Apulainen",
        "email": "apu@esimerkki.invalid", "password": "Apu-salasana-9",
        "roles": [_role_id(session, "Privacy")], "active": True})
    assert response.status_code in (400, 404)
    assert _user(session, "apu") is None

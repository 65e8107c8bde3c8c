"""The roles page (/roles/): the CRM's roles as Admin and the DPO read them (DESIGN §6, §7).

What the reader sees: each CRM role by its name in their language, the groups that give
it, how many active users hold it, and what it may do in words; never FAB's internal
roles or its raw permission strings, and nothing to edit.
"""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role, User

from crm.security import roles
from crm.security.sync import sync_roles
from crm.services.demo import DEMO_USERS
from tests.conftest import session_csrf_token

ROLE_READERS = ("admin", "dpo")
REFUSED = [user for user in DEMO_USERS if user not in ROLE_READERS]


def words(fragment: str) -> str:
    """Return the text of an HTML fragment as a reader sees it: no tags, one space."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def roles_page(client) -> str:
    response = client.get("/roles/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _row_html(page: str, role: str) -> str:
    match = re.search(rf'<tr data-role="{role}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {role}"
    return match.group(1)


def role_row(page: str, role: str) -> str:
    """Return the text of `role`'s row in the table of roles."""
    return words(_row_html(page, role))


def grants(page: str, role: str) -> list[str]:
    """Return the lines of "what it may do" of `role`'s row."""
    return [words(item) for item in re.findall(r"<li>(.*?)</li>", _row_html(page, role), re.S)]


def matrix(page: str) -> dict[str, list[str]]:
    """Return the resources × roles table: resource -> its cells, in the roles' order."""
    table = re.search(r'<table[^>]*crm-role-matrix.*?</table>', page, re.S).group(0)
    result = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        head = re.search(r"<th>(.*?)</th>", row, re.S)
        if head and words(head.group(1)):
            result[words(head.group(1))] = [words(c) for c in
                                            re.findall(r"<td>(.*?)</td>", row, re.S)]
    return result


def test_admin_reads_the_roles_in_finnish(login_as):
    page = roles_page(login_as("admin"))
    sales = role_row(page, "Sales")
    assert sales.startswith("Myynti crm-sales")
    assert "Yhteyshenkilöt: luku, lisäys, muokkaus" in grants(page, "Sales")
    assert "Tietosuojavastaava" in role_row(page, "DPO")
    # Roles are not edited here: the page says why.
    assert "määritelty CRM:n koodissa" in words(page)
    assert "rooleja ei muokata täällä" in words(page)


def test_the_page_speaks_english_to_an_english_reader(signed_in):
    page = roles_page(signed_in("admin"))
    assert role_row(page, "Sales").startswith("Sales crm-sales 1 ")
    assert grants(page, "Sales")[:2] == ["Organisations: read, add, edit",
                                         "Contacts: read, add, edit"]
    assert "Job runs: read, run" in grants(page, "Privacy")
    assert "Marketing audience: export" in grants(page, "Communications")
    assert grants(page, "Maintainer") == ["Job runs: read"]
    assert "defined in the CRM's code" in words(page)
    assert "not edited here" in words(page)


def test_every_crm_role_is_shown_and_nothing_else(signed_in, session, app):
    session.add(Role(name="StrayRole"))
    session.commit()
    page = roles_page(signed_in("dpo"))
    shown = re.findall(r'<tr data-role="([^"]+)">', page)
    assert shown == list(roles.ROLES)
    sm = app.appbuilder.sm
    for hidden in (sm.auth_role_admin, sm.auth_role_public, "StrayRole"):
        assert hidden not in words(page)
    # No permission string or resource code of FAB's screen or the CRM's definitions.
    for raw in ("can_list", "can_read", "menu_access", "RoleModelView", "UserDBModelView",
                "ContactView", "UserAdmin", "CallbackRequest", "DataSubjectRequest"):
        assert raw not in page


def test_every_resource_has_a_name_the_reader_can_read(signed_in):
    assert set(roles.RESOURCE_LABELS) == set(roles.MATRIX)
    table = matrix(roles_page(signed_in("admin")))
    assert list(table) == [
        "Organisations", "Contacts", "Identifiers", "Provenance", "Consents", "Activities",
        "Callback requests", "Sources and purchased lists", "Purchased-list import",
        "Marketing audience", "Data subject requests", "Retention policies and legal holds",
        "Job runs", "Recipients and processors", "Audit trail", "Change history",
        "Record of processing", "User accounts", "Organisation details",
        "Customer relationship", "Invoicing", "Marketing status"]
    column = {role: i for i, role in enumerate(roles.ROLES)}
    assert table["Contacts"][column["Sales"]] == "read, add, edit"
    assert table["Contacts"][column["Admin"]] == "–"
    assert table["Identifiers"][column["Privacy"]] == "read, add, edit, delete"
    assert table["User accounts"][column["Admin"]] == "read, add, edit"
    assert table["User accounts"][column["DPO"]] == "read"
    assert table["Invoicing"][column["Receivables"]] == "read, edit"


def test_the_groups_come_from_the_configured_mapping(signed_in, app, monkeypatch):
    mapping = {**app.config["CRM_ROLE_MAPPING"], "crm-extra-team": ["Support", "Sales"],
               "crm-typo": ["Slaes"]}
    del mapping["crm-maintainers"]
    monkeypatch.setitem(app.config, "CRM_ROLE_MAPPING", mapping)
    page = roles_page(signed_in("admin"))
    assert role_row(page, "Sales").startswith("Sales crm-extra-team crm-sales ")
    assert role_row(page, "Support").startswith("Support crm-extra-team crm-support ")
    assert "crm-extra-team" not in role_row(page, "Marketing")
    assert "nobody gets this role at sign-in" in role_row(page, "Maintainer")
    # A role the CRM does not have is named, so the typo is seen.
    unknown = re.search(r'id="roles-unknown">(.*?)</div>', page, re.S)
    assert unknown and "crm-typo → Slaes" in words(unknown.group(1))


def test_the_counts_are_of_active_users_holding_the_role(signed_in, session, app):
    sales, dpo = app.appbuilder.sm.find_role("Sales"), app.appbuilder.sm.find_role("DPO")
    session.add_all([
        User(first_name="Toinen", last_name="Myyjä", username="sales2",
             email="sales2@crm-demo.example", active=True, roles=[sales, dpo]),
        User(first_name="Entinen", last_name="Myyjä", username="sales3",
             email="sales3@crm-demo.example", active=False, roles=[sales]),
    ])
    session.commit()
    session.execute(sa.update(User).where(User.username == "marketing").values(active=False))
    session.commit()
    page = roles_page(signed_in("admin"))
    counts = dict(re.findall(r'<tr data-role="([^"]+)">.*?data-active-users="(\d+)"', page,
                             re.S))
    assert counts == {"Sales": "2", "Marketing": "0", "Communications": "1",
                      "Receivables": "1", "Support": "1", "Privacy": "1", "DPO": "2",
                      "Admin": "1", "Maintainer": "1"}


@pytest.mark.parametrize("user", ROLE_READERS)
def test_admin_and_the_dpo_find_the_page_in_the_menu(login_as, user):
    client = login_as(user)
    page = roles_page(client)
    links = re.findall(r'<a[^>]*href="/roles/"[^>]*>(.*?)</a>', page, re.S)
    assert [words(link) for link in links] == ["Roolit"]
    assert 'href="/roles/list/"' not in page


def test_the_english_menu_names_the_screens_not_fabs_list_actions(login_as):
    client = login_as("admin")
    client.get("/lang/en")
    page = roles_page(client)
    links = re.findall(r'<a[^>]*href="/roles/"[^>]*>(.*?)</a>', page, re.S)
    assert [words(link) for link in links] == ["Roles"]
    users = re.findall(r'<a[^>]*href="/users/list/"[^>]*>(.*?)</a>', page, re.S)
    assert [words(link) for link in users] == ["Users"]
    assert "List Roles" not in page and "List Users" not in page


@pytest.mark.parametrize("user", REFUSED)
def test_every_other_role_is_refused(login_as, user):
    client = login_as(user)
    response = client.get("/roles/")
    assert response.status_code == 403
    assert "crm-sales" not in response.get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/roles/' not in home


def test_someone_not_signed_in_is_sent_to_sign_in(client):
    response = client.get("/roles/")
    assert response.status_code == 302
    assert "/login/" in response.location


@pytest.mark.parametrize("user", ROLE_READERS)
def test_fabs_role_screens_are_gone(login_as, session, user):
    client = login_as(user)
    pk = session.scalar(sa.select(Role.id).where(Role.name == "Sales"))
    for path in ("/roles/list/", f"/roles/show/{pk}", "/roles/add", f"/roles/edit/{pk}"):
        assert client.get(path).status_code == 404, path
    before = session.scalar(sa.select(sa.func.count()).select_from(Role))
    token = session_csrf_token(client)
    for path in ("/roles/add", f"/roles/edit/{pk}", f"/roles/delete/{pk}",
                 "/roles/action_post"):
        response = client.post(path, data={"name": "Uusi", "action": "copyrole",
                                           "rowid": str(pk), "csrf_token": token})
        assert response.status_code in (404, 405), path
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Role)) == before
    assert session.get(Role, pk).name == "Sales"


def grants_in_database(session) -> set[tuple[str, str, str]]:
    """Return every (role, permission, resource) the database holds, by plain SQL."""
    session.expire_all()
    return set(session.execute(sa.text(
        "SELECT r.name, p.name, v.name FROM ab_role r"
        " JOIN ab_permission_view_role pvr ON pvr.role_id = r.id"
        " JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id"
        " JOIN ab_permission p ON p.id = pv.permission_id"
        " JOIN ab_view_menu v ON v.id = pv.view_menu_id")).tuples())


def test_crm_init_gives_the_page_to_admin_and_the_dpo_only(app, session):
    before = grants_in_database(session)  # as the suite's `crm init` left them
    sync_roles(app.appbuilder)
    granted = grants_in_database(session)
    assert granted == before  # a second sync changes nothing
    assert {r for r, p, v in granted if (p, v) == ("menu_access", "List Roles")} == {
        "Admin", "DPO"}
    assert {r for r, p, v in granted if (p, v) == (roles.READ, roles.USER_ADMIN)} == {
        "Admin", "DPO"}
    # FAB's roles screen is not registered, and nobody holds a permission on it.
    assert not {r for r, p, v in granted if v == "RoleModelView"}

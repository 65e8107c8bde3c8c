"""A number no record can have (past a 64-bit integer, or negative) in an address, a
list's filter or a form is "not found" or "no match", never the error page."""

from __future__ import annotations

import pytest
from flask_appbuilder.baseviews import BaseCRUDView

from crm.services.demo import DEMO_USERS
from crm.views.audit_filters import CONTACT_FILTER
from tests.conftest import session_csrf_token
from tests.factories import make_contact, make_request

#: Past SQLite's and PostgreSQL's largest integer; the largest plus one; negative.
OUT_OF_RANGE = ["99999999999999999999", "9223372036854775808", "-1"]


def _record_routes(app, method: str = "GET") -> list[tuple[str, str]]:
    """Return (rule, argument) of every `method` route that names a record by a number."""
    routes = []
    for rule in app.url_map.iter_rules():
        numbered = [name for name, converter in rule._converters.items()
                    if name == "pk" or type(converter).__name__.endswith("IntegerConverter")
                    or "Id" in type(converter).__name__]
        if numbered and method in rule.methods:
            routes.append((rule.rule, numbered[0]))
    return sorted(routes)


def _path(rule: str, argument: str, value: str) -> str:
    path = rule
    for part in rule.split("<")[1:]:
        whole = "<" + part.split(">")[0] + ">"
        name = whole.strip("<>").split(":")[-1]
        path = path.replace(whole, value if name == argument else "x")
    return path


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("user", sorted(DEMO_USERS))
def test_a_record_address_with_an_impossible_number_is_not_found(app, login_as, user,
                                                                 value):
    client = login_as(user)
    routes = _record_routes(app)
    assert ("/contactview/show/<pk>", "pk") in routes
    for rule, argument in routes:
        response = client.get(_path(rule, argument, value), headers={"Accept": "text/html"})
        assert response.status_code in (302, 403, 404), (rule, response.status_code)


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_post_to_a_record_with_an_impossible_number_is_not_found(app, login_as, value):
    client = login_as("privacy")
    token = session_csrf_token(client)
    routes = _record_routes(app, "POST")
    assert ("/requests/<int:pk>/verify", "pk") in routes
    for rule, argument in routes:
        response = client.post(_path(rule, argument, value), data={"csrf_token": token},
                               headers={"Accept": "text/html"})
        assert response.status_code in (403, 404), (rule, response.status_code)


def _list_filters(app) -> list[tuple[str, str, int]]:
    """Return (list address, column, filter's place) of every filter that reads a number:
    on a link to another record, on a whole-number column, the audit trail's contact."""
    found = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, BaseCRUDView):
            continue
        model = view.datamodel
        for column, filters in view._filters.get_search_filters().items():
            if (column in model.list_columns and model.is_integer(column)) \
                    or model.is_relation(column) or column == CONTACT_FILTER:
                found += [(f"/{view.route_base.strip('/')}/list/", column, index)
                          for index in range(len(filters))]
    return found


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_list_filtered_by_an_impossible_number_finds_nothing(app, session, login_as,
                                                                value):
    make_contact(session)
    session.commit()
    clients = [login_as(user) for user in ("admin", "privacy", "sales")]
    filters = _list_filters(app)
    assert ("/auditeventview/list/", CONTACT_FILTER, 0) in filters
    assert ("/provenanceview/list/", "source", 0) in filters
    assert ("/retentionpolicyview/list/", "period_days", 0) in filters
    shown = set()
    for path, column, index in filters:
        answers = [client.get(path, query_string={f"_flt_{index}_{column}": value},
                              headers={"Accept": "text/html"}) for client in clients]
        assert 500 not in [a.status_code for a in answers], (path, column, index)
        shown.update(path for answer in answers if answer.status_code == 200)
    assert {"/auditeventview/list/", "/provenanceview/list/", "/users/list/"} <= shown


@pytest.mark.parametrize("value", OUT_OF_RANGE[:2])
def test_the_audit_trail_of_an_impossible_contact_number_is_empty(session, login_as, value):
    contact = make_contact(session)
    session.commit()
    client = login_as("privacy")
    client.get(f"/contactview/show/{contact.id}")  # an event of another contact
    page = client.get("/auditeventview/list/", query_string={"_flt_0_contact": value})
    assert page.status_code == 200
    assert f"/contactview/show/{contact.id}" not in page.get_data(as_text=True)
    export = client.get("/auditeventview/export.csv",
                        query_string={"_flt_0_contact": value})
    assert export.status_code == 200
    assert export.get_data(as_text=True).count("\n") <= 1  # the header row alone


@pytest.mark.parametrize("value", OUT_OF_RANGE[:2])
def test_linking_a_request_to_an_impossible_contact_number_is_refused(session, login_as,
                                                                       value):
    dsr = make_request(session)
    session.commit()
    client = login_as("privacy")
    response = client.post(f"/requests/{dsr.id}/link", follow_redirects=True, data={
        "contact_id": value, "csrf_token": session_csrf_token(client)})
    assert response.status_code == 200
    session.expire_all()
    assert session.get(type(dsr), dsr.id).contact_id is None


@pytest.mark.parametrize("pk", [10**20, 2**63, -1])
def test_a_page_key_with_an_impossible_record_number_is_ignored(session, login_as, pk):
    from crm.views.keyset import Seek
    from tests.test_list_keyset import next_seek

    for n in range(6):
        make_contact(session, last_name=f"Aalto{n}")
    session.commit()
    sales = login_as("sales")
    digest = Seek.decode(next_seek(sales, "/contactview/list/?psize_ContactView=4")).digest
    forged = Seek("last_name", "asc", 1, 4, digest, True, "Aalto1", pk)
    response = sales.get("/contactview/list/", query_string={
        "psize_ContactView": 4, "page_ContactView": 1, "seek_ContactView": forged.encode()})
    assert response.status_code == 200

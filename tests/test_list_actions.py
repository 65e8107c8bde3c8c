"""A list's bulk actions (FAB's `action_post`) and a record's (`action`): the CRM defines
none, so an action named in a post is unknown. It is answered "not found" to a reader of
the screen and "no access" to anyone else, never with an error page (a 500)."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token, session_csrf_token
from tests.factories import make_contact


def _action_routes(app) -> list[str]:
    """Every screen's bulk-action address, as the app routes it."""
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.endswith(".action_post"))


def _post(client, path: str, action: str = "nosuch", rowid: str = "1"):
    token = session_csrf_token(client)
    return client.post(path, data={"action": action, "rowid": rowid, "csrf_token": token},
                       headers={"Accept": "text/html"})


@pytest.mark.parametrize("user", ["sales", "privacy", "admin"])
def test_an_unknown_bulk_action_is_never_an_error_page(app, login_as, user):
    client = login_as(user)
    routes = _action_routes(app)
    assert "/contactview/action_post" in routes and "/users/action_post" in routes
    for path in routes:
        response = _post(client, path)
        assert response.status_code in (403, 404), (path, response.status_code)


@pytest.mark.parametrize(("user", "path", "status"), [
    # A reader of the screen: there is no such action.
    ("sales", "/contactview/action_post", 404),
    ("privacy", "/datasubjectrequestview/action_post", 404),
    ("admin", "/users/action_post", 404),
    # Not a reader of the screen: refused, as the screen itself is.
    ("admin", "/contactview/action_post", 403),
    ("sales", "/datasubjectrequestview/action_post", 403),
    ("sales", "/users/action_post", 403),
])
def test_an_unknown_bulk_action_is_not_found_or_refused(session, login_as, user, path,
                                                        status):
    contact = make_contact(session)
    session.commit()
    response = _post(login_as(user), path, rowid=str(contact.id))
    assert response.status_code == status


@pytest.mark.parametrize(("user", "status"), [("sales", 404), ("admin", 403)])
def test_an_unknown_action_of_one_record_is_not_found_or_refused(session, login_as, user,
                                                                 status):
    contact = make_contact(session)
    session.commit()
    client = login_as(user)
    token = session_csrf_token(client)
    response = client.post(f"/contactview/action/nosuch/{contact.id}",
                           data={"csrf_token": token})
    assert response.status_code == status


def test_an_unknown_action_gets_the_crms_not_found_page(login_as):
    client = login_as("sales")
    client.get("/lang/en")
    response = _post(client, "/contactview/action_post")
    assert response.status_code == 404
    assert "There is no such page or record" in response.get_data(as_text=True)


def test_who_is_not_signed_in_is_sent_to_sign_in(client):
    token = csrf_token(client, "/login/")
    response = client.post("/contactview/action_post", data={
        "action": "nosuch", "rowid": "1", "csrf_token": token})
    assert response.status_code == 302
    assert "/login/" in response.location

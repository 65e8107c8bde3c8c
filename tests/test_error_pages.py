"""Error pages in the reader's language (crm.views.errors), status codes kept."""

from __future__ import annotations

import pytest


def _switch(client, locale: str) -> None:
    assert client.get(f"/lang/{locale}").status_code == 302


def test_a_role_without_access_gets_a_finnish_page_that_says_why(login_as):
    response = login_as("comms").get("/imports/", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'data-status="403"' in page and "Ei käyttöoikeutta" in page
    assert "Roolisi ei anna pääsyä tälle sivulle" in page
    # Roles come from the sign-in service's groups: not the privacy officer's to give.
    assert "esihenkilöltäsi tai IT-palvelupisteestä" in page and "Tietosuoja-rooli" not in page
    assert "Forbidden" not in page


@pytest.mark.parametrize("locale, title, text", [
    ("fi", "Ei löytynyt", "Sivua tai tietuetta ei ole"),
    ("en", "Not found", "There is no such page or record"),
])
def test_a_missing_record_is_said_in_the_readers_language(login_as, locale, title, text):
    client = login_as("privacy")
    _switch(client, locale)
    response = client.get("/jobrunview/show/999999", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert title in page and text in page and 'id="error-home"' in page
    assert "The requested URL was not found" not in page


def test_programs_keep_the_short_answers(client):
    """The webhook and anything asking for neither HTML nor JSON get Werkzeug's answer."""
    response = client.get("/no-such-page", headers={"Accept": "text/plain"})
    assert response.status_code == 404 and "crm-error" not in response.get_data(as_text=True)
    response = client.get("/webhooks/no-such-hook", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "crm-error" not in response.get_data(as_text=True)


@pytest.mark.parametrize("accept", ["text/html", "*/*", None])
def test_the_api_answers_a_missing_address_in_json(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/api/v1/no-such-thing", headers=headers)
    assert response.status_code == 404
    assert response.is_json and response.get_json() == {"message": "Not Found"}


def test_the_api_answers_a_wrong_method_in_json_and_says_which_are_allowed(client):
    response = client.delete("/api/v1/menu/")
    assert response.status_code == 405
    assert response.get_json() == {"message": "Method Not Allowed"}
    assert "GET" in response.headers["Allow"]


def test_a_caller_asking_for_json_gets_json(login_as):
    response = login_as("privacy").get("/jobrunview/show/999999",
                                       headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json() == {"message": "Not Found"}


def test_the_apis_own_answers_stay_its_own(client):
    """FAB's API answers its errors itself (JSON with its own message): left as it is."""
    response = client.get("/api/v1/menu/")
    assert response.status_code == 401 and response.is_json


@pytest.mark.parametrize("user, path", [("admin", "/users/edit/1"),
                                        ("sales", "/contactview/edit/1")])
def test_a_form_sent_without_its_token_gets_the_expired_form_page(login_as, user, path):
    """A session that ended while a form was open: Flask-WTF refuses the post before FAB
    knows the user, and the page's menu must not need them."""
    response = login_as(user).post(path, data={"first_name": "x"},
                                   headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "Lomake on ehkä vanhentunut" in response.get_data(as_text=True)


@pytest.mark.parametrize("locale, title, text", [
    ("fi", "Osoitetta ei voi avata näin", "Palaa sivulle ja käytä sen painiketta"),
    ("en", "This address cannot be opened like this", "Go back to the page and use its button"),
])
def test_an_address_only_a_button_posts_to_gets_the_crms_page(login_as, locale, title, text):
    """The DPO opening a request's export address (POST only) reads why, not Werkzeug's
    English "Method Not Allowed"; the status and the Allow header stay."""
    client = login_as("dpo")
    _switch(client, locale)
    response = client.get("/requests/1/export", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert 'data-status="405"' in page and title in page and text in page
    assert 'id="error-home"' in page
    assert "Method Not Allowed" not in page and "not allowed for the requested URL" not in page

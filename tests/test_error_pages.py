"""Error pages in the reader's language (crm.views.errors), status codes kept."""

from __future__ import annotations

import pytest


def _switch(client, locale: str) -> None:
    assert client.get(f"/lang/{locale}").status_code == 302


def test_a_role_without_access_gets_a_finnish_page_that_says_why(login_as):
    response = login_as("comms").get("/imports/", headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'data-status="403"' in page and "Ei pääsyä" in page
    assert "Roolisi ei anna pääsyä tälle sivulle" in page
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
    """The webhook and anything not asking for HTML get Werkzeug's plain answer."""
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and "crm-error" not in response.get_data(as_text=True)
    response = client.get("/webhooks/no-such-hook", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "crm-error" not in response.get_data(as_text=True)

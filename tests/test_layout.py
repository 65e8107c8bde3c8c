"""The page frame the CRM puts around FAB's: <html lang>, the favicon, FAB's dialogs."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_contact


@pytest.mark.parametrize("locale", ["fi", "en"])
def test_pages_name_their_language_and_their_icon(login_as, locale):
    client = login_as("sales")
    client.get(f"/lang/{locale}")
    for path in ["/", "/contactview/list/"]:
        page = client.get(path).get_data(as_text=True)
        assert f'<html lang="{locale}">' in page, path
        assert re.search(r'<link rel="icon" href="/favicon.ico"', page), path


def test_the_login_page_names_its_language(client):
    page = client.get("/login/").get_data(as_text=True)
    assert re.search(r'<html lang="(fi|en)">', page)


def test_the_favicon_is_served_from_the_crm_and_cached(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert response.cache_control.max_age == 86400
    # The policy still stands; the icon is the CRM's own ('self'), so it allows it.
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self'" in csp and "default-src 'self'" in csp


def test_the_delete_confirmation_speaks_finnish(session, login_as):
    contact = make_contact(session)
    session.commit()
    client = login_as("sales")
    client.get("/lang/fi")
    for path in ["/contactview/list/", f"/contactview/show/{contact.id}"]:
        page = client.get(path).get_data(as_text=True)
        dialog = page[page.index('id="modal-confirm"'):page.index('id="modal-alert"')]
        assert re.search(r">\s*Peruuta\s*<", dialog), path
        assert ">Cancel<" not in page, path

"""Signing out is a post with the CSRF token (DESIGN §11: no state change on GET)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from playwright.sync_api import Page, expect

from crm.models import AuditEvent, UserSession
from tests.conftest import csrf_token, login, logout
from tests.test_browser import sign_in


def _signed_in(client) -> bool:
    return client.get("/contactview/list/").status_code == 200


def _sessions(session, username: str) -> int:
    session.rollback()
    user_id = session.scalar(sa.select(User.id).where(User.username == username))
    return session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                          .where(UserSession.user_id == user_id))


def _logouts(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "logout"))


def test_opening_the_logout_address_signs_nobody_out(client, session):
    """A link from another site (or an image pointing at it) only shows the button."""
    login(client, "sales")
    response = client.get("/logout/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<form method="post" action="/logout/">', html)
    assert 'id="sign-out-button"' in html
    assert _signed_in(client) and _sessions(session, "sales") == 1
    assert _logouts(session) == 0


def test_a_post_without_the_token_signs_nobody_out(client, session):
    """A form on another site can post, but cannot know the token."""
    login(client, "sales")
    assert client.post("/logout/").status_code == 400
    assert _signed_in(client) and _sessions(session, "sales") == 1


def test_the_button_signs_out_here(client, session):
    login(client, "sales")
    response = logout(client)
    assert response.status_code == 303
    assert not _signed_in(client) and _sessions(session, "sales") == 0
    assert _logouts(session) == 1


def test_the_user_menu_signs_out_with_a_post(client):
    login(client, "sales")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/logout/"' not in html
    menu = re.search(r'<form method="post" action="/logout/" class="crm-menu-form">(.*?)'
                     r'</form>', html, re.S)
    assert menu and 'name="csrf_token"' in menu.group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', menu.group(1))
    assert client.post("/logout/", data={"csrf_token": token.group(1)}).status_code == 303
    assert not _signed_in(client)


def test_the_logout_address_sends_a_visitor_to_sign_in(client):
    response = client.get("/logout/")
    assert response.status_code == 302 and response.location.endswith("/login/")
    assert csrf_token(client, "/login/")  # the sign-in form, working


@pytest.mark.browser
def test_the_user_menus_logout_signs_out_in_chromium(page: Page, session, screenshot_dir):
    sign_in(page, "sales")
    page.goto("/")
    page.click("a.dropdown-toggle:has(.fa-user)")
    item = page.locator("#logout-menu-item")
    expect(item).to_be_visible()
    expect(item).to_have_text(re.compile("Kirjaudu ulos"))
    page.screenshot(path=str(screenshot_dir / "logout-menu.png"))
    item.click()
    page.wait_for_load_state()
    assert _sessions(session, "sales") == 0
    page.goto("/contactview/list/")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("input#password")).to_have_count(1)


def test_a_stale_sign_out_button_after_the_session_ended_goes_to_sign_in(client, session):
    login(client, "sales")
    token = csrf_token(client, "/logout/")
    session.execute(sa.delete(UserSession))  # timed out, or ended elsewhere
    session.commit()
    response = client.post("/logout/", data={"csrf_token": token})
    assert response.status_code == 303 and response.location.endswith("/login/")


def test_a_stale_sign_out_button_while_signed_in_offers_the_button_again(app, client,
                                                                          session):
    login(client, "sales")
    stale = csrf_token(client, "/logout/")
    logout(client)
    login(client, "sales")  # another tab signed out and in: the token is another's
    response = client.post("/logout/", data={"csrf_token": stale})
    assert response.status_code == 400 and 'id="sign-out-button"' in response.get_data(
        as_text=True)
    assert _signed_in(client)
    assert logout(client).status_code == 303 and not _signed_in(client)

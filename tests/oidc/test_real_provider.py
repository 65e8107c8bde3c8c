"""Against a real, certified provider (oidc-provider 9): sign-in, roles, logout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale, gettext

from crm.models import AuditEvent, OidcIdentity, UserSession
from tests.oidc.conftest import CLIENT_ID, DISPLAY_NAME, provider_logout, sign_in

#: group -> (role, a screen the role opens, a screen it may not open)
GROUPS = {
    "crm-sales": ("Sales", "/contactview/list/", "/auditeventview/list/"),
    "crm-marketing": ("Marketing", "/sourceview/list/", "/datasubjectrequestview/list/"),
    "crm-communications": ("Communications", "/contactview/list/", "/activityview/list/"),
    "crm-receivables": ("Receivables", "/organisationview/list/", "/callbackrequestview/list/"),
    "crm-support": ("Support", "/activityview/list/", "/consentview/list/"),
    "crm-privacy": ("Privacy", "/datasubjectrequestview/list/", "/users/list/"),
    "crm-dpo": ("DPO", "/auditeventview/list/", "/contactview/add"),
    "crm-admins": ("Admin", "/users/list/", "/contactview/list/"),
    "crm-maintainers": ("Maintainer", "/jobrunview/list/", "/contactview/list/"),
}


def account(*groups: str) -> dict:
    return {"given_name": "Aino", "family_name": "Testaaja", "name": "Aino Testaaja",
            "email": "aino.testaaja@example.test", "groups": list(groups)}


def _user(session, idp, login: str) -> User | None:
    session.expire_all()
    identity = session.scalar(sa.select(OidcIdentity).where(
        OidcIdentity.issuer == idp.issuer, OidcIdentity.subject == login))
    return identity.user if identity else None


def _opens(http: requests.Session, idp, path: str) -> bool:
    return http.get(idp.crm_url + path, allow_redirects=False, timeout=10).status_code == 200


def _signed_in(http: requests.Session, idp) -> bool:
    return _opens(http, idp, "/users/userinfo/")


def _sessions(session, user_id: int) -> list[UserSession]:
    session.expire_all()
    return list(session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)))


def _audit(session, action: str) -> list[str | None]:
    session.expire_all()
    return [e.detail for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_mapped_group_gives_its_role_and_screens(idp, session, group):
    role, allowed, denied = GROUPS[group]
    idp.set_accounts({"aino": account(group)})
    http = requests.Session()
    home = sign_in(http, idp, "aino")
    assert home.status_code == 200 and home.url == idp.crm_url + "/"
    assert "Aino" in home.text
    user = _user(session, idp, "aino")
    assert [r.name for r in user.roles] == [role]
    assert (user.first_name, user.last_name, user.email) == (
        "Aino", "Testaaja", "aino.testaaja@example.test")
    assert _opens(http, idp, allowed)
    assert not _opens(http, idp, denied)
    assert _audit(session, "login") == ["sso"]
    # The server session knows the provider's session, for back-channel logout.
    [row] = _sessions(session, user.id)
    assert (row.oidc_issuer, row.oidc_sub) == (idp.issuer, "aino") and row.oidc_sid


def test_a_person_in_no_mapped_group_is_refused(idp, session):
    idp.set_accounts({"olli": account("crm-cafeteria", "all-staff")})
    http = requests.Session()
    page = sign_in(http, idp, "olli")
    assert page.status_code == 403
    assert 'data-reason="no_mapped_group"' in page.text and DISPLAY_NAME in page.text
    assert _user(session, idp, "olli") is None  # no account, no role
    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id.is_not(None))) == 0
    assert not _signed_in(http, idp)
    assert _audit(session, "login_refused") == ["no_mapped_group"]


def test_removing_a_group_takes_effect_at_the_next_sign_in(idp, session):
    idp.set_accounts({"aino": account("crm-sales", "crm-marketing")})
    first = requests.Session()
    sign_in(first, idp, "aino")
    user = _user(session, idp, "aino")
    assert sorted(r.name for r in user.roles) == ["Marketing", "Sales"]
    assert _opens(first, idp, "/callbackrequestview/list/")

    idp.set_accounts({"aino": account("crm-marketing")})
    second = requests.Session()
    sign_in(second, idp, "aino")
    user = _user(session, idp, "aino")
    assert [r.name for r in user.roles] == ["Marketing"]
    assert _audit(session, "role_change") == ["-Sales"]
    assert not _opens(second, idp, "/organisationview/add")  # Sales' right, gone
    # The role change ended the session signed in with the old roles.
    assert not _signed_in(first, idp)
    assert len(_sessions(session, user.id)) == 1

    idp.set_accounts({"aino": account()})
    third = requests.Session()
    assert sign_in(third, idp, "aino").status_code == 403
    user = _user(session, idp, "aino")
    assert user.roles == []
    assert _sessions(session, user.id) == []
    assert not _signed_in(second, idp)


def test_logout_ends_the_session_here_and_at_the_provider(idp, session):
    idp.set_accounts({"aino": account("crm-support")})
    http = requests.Session()
    sign_in(http, idp, "aino")
    user = _user(session, idp, "aino")
    assert _signed_in(http, idp)

    # The sign-out page's button posts with the CSRF token; opening it signs nobody out.
    page = http.get(idp.crm_url + "/logout/", timeout=10)
    assert page.url == idp.crm_url + "/logout/" and _signed_in(http, idp)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)[1]
    confirm = http.post(idp.crm_url + "/logout/", data={"csrf_token": token}, timeout=10)
    # The CRM sent the browser to the provider's end-session endpoint ...
    to_provider = urlsplit(confirm.history[-1].headers["Location"])
    asked = parse_qs(to_provider.query)
    assert confirm.url.startswith(idp.issuer)
    assert asked["post_logout_redirect_uri"] == [idp.crm_url + "/login/"]
    assert asked["client_id"] == [CLIENT_ID] and asked["id_token_hint"][0].count(".") == 2
    # ... after ending its own session.
    assert _sessions(session, user.id) == []
    assert not _signed_in(http, idp)
    assert _audit(session, "logout") == ["sso"]

    back = provider_logout(http, confirm)
    assert back.url.startswith(idp.crm_url + "/login/?")
    with idp.app.test_request_context(), force_locale("fi"):
        assert gettext("You have been signed out.") in back.text  # the default language
    # The provider's session is gone too: signing in asks for the login again.
    again = http.get(idp.crm_url + "/login/sso", timeout=10)
    assert again.url.startswith(idp.issuer + "/interaction/")
    assert 'name="login"' in again.text


def test_a_back_channel_logout_from_the_provider_ends_the_crm_session(idp, session):
    idp.set_accounts({"aino": account("crm-dpo")})
    http = requests.Session()
    sign_in(http, idp, "aino")
    user = _user(session, idp, "aino")
    assert _signed_in(http, idp) and len(_sessions(session, user.id)) == 1

    # The person signs out at the provider itself (or another application did it for
    # them): the provider tells the CRM over the back channel.
    confirm = http.get(idp.issuer + "/session/end", timeout=10)
    provider_logout(http, confirm)
    assert _sessions(session, user.id) == []
    assert not _signed_in(http, idp)
    assert _audit(session, "logout") == ["backchannel"]


def test_a_back_channel_logout_names_one_session_by_its_sid(idp, session):
    idp.set_accounts({"aino": account("crm-sales")})
    laptop, phone = requests.Session(), requests.Session()
    sign_in(laptop, idp, "aino")
    sign_in(phone, idp, "aino")
    user = _user(session, idp, "aino")
    rows = _sessions(session, user.id)
    assert len(rows) == 2 and rows[0].oidc_sid != rows[1].oidc_sid
    laptop_sid = session.scalar(sa.select(UserSession.oidc_sid).where(
        UserSession.user_id == user.id).order_by(UserSession.created_at))

    idp.backchannel_logout("aino", laptop_sid)
    [left] = _sessions(session, user.id)
    assert left.oidc_sid != laptop_sid
    assert not _signed_in(laptop, idp) and _signed_in(phone, idp)


@pytest.mark.browser
def test_sign_in_through_the_providers_login_page_in_chromium(idp, browser, screenshot_dir,
                                                             session):
    idp.set_accounts({"aino": account("crm-privacy")})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    # The provider's development pages ask for web fonts; nothing leaves loopback here.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    try:
        page.goto(idp.crm_url + "/login/")
        assert page.locator("#password-login").count() == 0  # local login is off
        page.screenshot(path=str(screenshot_dir / "sso-1-crm-login.png"))
        page.click("#sso-login")
        page.wait_for_url(idp.issuer + "/interaction/**")
        page.fill("input[name=login]", "aino")
        page.fill("input[name=password]", "whatever")
        page.screenshot(path=str(screenshot_dir / "sso-2-provider-login.png"))
        page.click("button[type=submit]")
        page.wait_for_url(idp.crm_url + "/")
        assert "Aino" in page.inner_text("h1")
        page.screenshot(path=str(screenshot_dir / "sso-3-signed-in.png"))
        page.goto(idp.crm_url + "/datasubjectrequestview/list/")
        assert page.url.endswith("/datasubjectrequestview/list/")

        page.goto(idp.crm_url + "/logout/")
        page.click("#sign-out-button")
        page.wait_for_url(idp.issuer + "/session/end**")
        page.click("button[value=yes]")
        page.wait_for_url(idp.crm_url + "/login/**")
        page.screenshot(path=str(screenshot_dir / "sso-4-signed-out.png"))
        assert _sessions(session, _user(session, idp, "aino").id) == []
    finally:
        context.close()


@pytest.mark.browser
def test_back_from_the_providers_logout_the_sign_in_page_says_so_in_chromium(
        idp, browser, screenshot_dir):
    idp.set_accounts({"aino": account("crm-sales")})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    try:
        page.goto(idp.crm_url + "/login/sso")
        page.wait_for_url(idp.issuer + "/interaction/**")
        page.fill("input[name=login]", "aino")
        page.fill("input[name=password]", "whatever")
        page.click("button[type=submit]")
        page.wait_for_url(idp.crm_url + "/")
        page.goto(idp.crm_url + "/lang/en?next=/")  # the reader reads English

        page.goto(idp.crm_url + "/logout/")
        page.click("#sign-out-button")
        page.wait_for_url(idp.issuer + "/session/end**")
        page.click("button[value=yes]")
        page.wait_for_url(idp.crm_url + "/login/**")
        note = page.locator(".alert", has_text="You have been signed out.")
        assert note.is_visible()
        # The sign-in page in the reader's language still, offering to sign in again.
        assert page.locator("#sso-login").inner_text().strip() == f"Sign in with {DISPLAY_NAME}"
        page.screenshot(path=str(screenshot_dir / "sso-5-signed-out-note.png"))
        page.reload()  # said once
        assert page.locator(".alert", has_text="You have been signed out.").count() == 0
    finally:
        context.close()

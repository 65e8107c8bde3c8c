"""Signing in, with a password or through the provider, hardened (DESIGN §7, §11):

* a `next` page with a control character in it (a CR/LF that would split the Location
  header) is not followed: the user lands on the home page, signed in, instead of
  getting an error page (a 500);
* the CSRF secret changes at sign-in: a token handed out before it (to the sign-in
  page, the public callback form) is refused after it, and a fresh one works;
* too many sign-in attempts get the CRM's own page, in the reader's language, with a
  Retry-After header, not Werkzeug's bare English one.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests
import sqlalchemy as sa

from config import TestConfig
from crm import create_app
from crm.extensions import db
from crm.models import Identifier
from tests.conftest import PASSWORD, csrf_token
from tests.factories import make_contact

#: `next` pages a browser would read as a header break or another site, as sent.
BAD_NEXT_PAGES = ["/%0d%0aSet-Cookie:%20x=1", "/%0aSet-Cookie:%20x=1",
                  "/contactview/list/%0d%0aX-Injected:%201", "/%09/evil.example/",
                  "/%7f"]


def _password_sign_in(client, path: str = "/login/"):
    token = csrf_token(client, "/login/")
    return client.post(path, data={"username": "sales", "password": PASSWORD,
                                   "csrf_token": token})


def _lands_on(response) -> str:
    assert response.status_code == 302, response.status_code
    location = urlparse(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    return location.path


def _no_injected_header(response) -> None:
    assert "x=1" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert "X-Injected" not in response.headers


def _signed_in(client) -> bool:
    return client.get("/contactview/list/").status_code == 200


# -- next pages ---------------------------------------------------------------------


@pytest.mark.parametrize("next_page", BAD_NEXT_PAGES)
def test_a_password_sign_in_with_a_control_character_in_next_lands_home(client, next_page):
    response = _password_sign_in(client, f"/login/?next={next_page}")
    assert _lands_on(response) == "/"
    _no_injected_header(response)
    assert _signed_in(client)
    # Opening the sign-in page again, signed in, goes home too.
    again = client.get(f"/login/?next={next_page}")
    assert _lands_on(again) == "/"
    _no_injected_header(again)


def test_the_page_asked_for_before_signing_in_still_opens_after_it(client):
    """FAB sends whoever must sign in first to the sign-in page with the page's full
    address (http://localhost/contactview/list/): it is this site's, so it is followed."""
    sent = client.get("/contactview/list/?_flt_0_last_name=x")
    assert sent.status_code == 302 and "/login/" in sent.headers["Location"]
    login_page = urlparse(sent.headers["Location"])
    response = _password_sign_in(client, f"{login_page.path}?{login_page.query}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/contactview/list/?_flt_0_last_name=x")


@pytest.mark.parametrize("next_page", BAD_NEXT_PAGES[:3])
def test_an_sso_sign_in_with_a_control_character_in_next_lands_home(fake_app, fake,
                                                                   next_page):
    client = fake_app.test_client()
    start = client.get(f"/login/sso?next={next_page}")
    assert start.status_code == 302
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    done = client.get(back.headers["Location"].split("localhost", 1)[1])
    assert _lands_on(done) == "/"
    _no_injected_header(done)
    # Signed in, the provider's sign-in address with such a next page goes home too.
    again = client.get(f"/login/sso?next={next_page}")
    assert _lands_on(again) == "/"
    _no_injected_header(again)
    assert _signed_in(client)


# -- the CSRF secret ------------------------------------------------------------------


def _add_identifier(client, contact_id: int, token: str, identifier: str):
    return client.post(f"/identifierview/add?_flt_0_contact={contact_id}",
                       data={"system": "Portal", "identifier": identifier,
                             "csrf_token": token})


def _identifiers() -> list[str]:
    db.session.remove()
    return sorted(db.session.scalars(sa.select(Identifier.identifier)))


def _check_token_rotated(client, session, old_token: str) -> None:
    contact = make_contact(session)
    session.commit()
    refused = _add_identifier(client, contact.id, old_token, "before")
    assert refused.status_code == 400
    assert _identifiers() == []
    fresh = csrf_token(client, f"/identifierview/add?_flt_0_contact={contact.id}")
    assert fresh != old_token
    assert _add_identifier(client, contact.id, fresh, "after").status_code == 302
    assert _identifiers() == ["after"]


def test_a_csrf_token_from_before_a_password_sign_in_is_refused_after_it(client, session):
    old_token = csrf_token(client, "/login/")
    response = client.post("/login/", data={"username": "sales", "password": PASSWORD,
                                            "csrf_token": old_token})
    assert response.status_code == 302 and _signed_in(client)
    _check_token_rotated(client, session, old_token)


def test_a_csrf_token_from_before_an_sso_sign_in_is_refused_after_it(fake_app, fake,
                                                                     session):
    from tests.oidc.conftest import fake_sign_in

    client = fake_app.test_client()
    old_token = csrf_token(client, "/contact")  # the public callback form's
    assert fake_sign_in(client, fake).status_code == 302 and _signed_in(client)
    _check_token_rotated(client, session, old_token)


# -- too many attempts ------------------------------------------------------------------


def _limited_app(db_url: str, headers: bool):
    config = TestConfig(db_url)
    config.RATELIMIT_ENABLED = True
    config.AUTH_RATE_LIMITED = True
    config.AUTH_RATE_LIMIT = "2 per minute"
    # Flask-Limiter's own headers (Retry-After among them) are the operator's choice.
    config.RATELIMIT_HEADERS_ENABLED = headers
    return create_app(config)


@pytest.mark.parametrize(("locale", "title", "headers"), [
    ("en", "Too many attempts", True),
    ("en", "Too many attempts", False),
    ("fi", "Liian monta yritystä", True),
])
def test_too_many_sign_in_attempts_get_the_crms_page_with_retry_after(db_url, locale, title,
                                                                      headers):
    client = _limited_app(db_url, headers).test_client()
    client.get(f"/lang/{locale}")

    def attempt():
        token = csrf_token(client, "/login/")
        return client.post("/login/", data={"username": "sales", "password": "wrong",
                                            "csrf_token": token},
                           headers={"Accept": "text/html"})  # as a browser asks

    assert [attempt().status_code for _ in range(2)] == [302, 302]
    response = attempt()
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # seconds, within the minute
    page = response.get_data(as_text=True)
    assert f'<html lang="{locale}"' in page
    assert title in page
    assert "Too Many Requests" not in page and "per 1 minute" not in page

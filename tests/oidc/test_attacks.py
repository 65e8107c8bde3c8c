"""Against a misbehaving provider: every bad answer is refused, clearly and on record."""

from __future__ import annotations

import logging
import time

import pytest
import requests
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import AuditEvent, OidcIdentity, UserSession
from crm.security.oidc import METADATA_TTL, sso
from tests.oidc.conftest import CLIENT_ID, DISPLAY_NAME, fake_sign_in
from tests.oidc.fake_provider import REMOVE

NOW = int(time.time())


def _events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _nobody_signed_in(session, client) -> None:
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(OidcIdentity)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id.is_not(None))) == 0
    assert client.get("/contactview/list/").status_code != 200


def test_a_good_answer_signs_in(fake_app, fake, session):
    client = fake_app.test_client()
    response = fake_sign_in(client, fake)
    assert response.status_code == 302
    assert client.get("/contactview/list/").status_code == 200
    identity = session.scalar(sa.select(OidcIdentity))
    assert (identity.issuer, identity.subject) == (fake.issuer, "fake-user-1")
    assert [r.name for r in identity.user.roles] == ["Sales"]
    assert [e.detail for e in _events(session, "login")] == ["sso"]
    # The CRM asked properly: PKCE S256, state and nonce (the fake refuses otherwise).
    asked = fake.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["scope"].startswith("openid")


ATTACKS = {
    # name: (what the provider does, reason code)
    "aud is another client while azp is ours": (
        {"id_token_claims": {"aud": "another-client", "azp": CLIENT_ID}}, "aud"),
    "aud lists us among others without azp": (
        {"id_token_claims": {"aud": [CLIENT_ID, "another-client"]}}, "azp"),
    "azp names another client": ({"id_token_claims": {"azp": "another-client"}}, "azp"),
    "wrong iss": ({"id_token_claims": {"iss": "https://evil.example.test"}}, "iss"),
    "alg none": ({"signing": "none"}, "alg"),
    "HS256 with the client secret": ({"signing": "hs256"}, "alg"),
    "an algorithm the provider does not announce": (
        {"id_token_header": {"alg": "PS256"}}, "alg"),
    "bad signature": ({"signing": "other_key"}, "signature"),
    "a key id nobody published": ({"id_token_header": {"kid": "no-such-key"}}, "unknown_key"),
    "wrong nonce": ({"id_token_claims": {"nonce": "not-the-nonce-we-sent"}}, "nonce"),
    "no nonce": ({"id_token_claims": {"nonce": REMOVE}}, "nonce"),
    "expired token": ({"id_token_claims": {"exp": NOW - 3600, "iat": NOW - 7200}}, "expired"),
    "no exp": ({"id_token_claims": {"exp": REMOVE}}, "exp"),
    "token without iat": ({"id_token_claims": {"iat": REMOVE}}, "iat"),
    "iat in the future": ({"id_token_claims": {"iat": NOW + 3600}}, "iat"),
    "at_hash of another access token": ({"id_token_claims": {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}},
                                        "at_hash"),
    "userinfo sub differs": ({"userinfo_claims": {"sub": "somebody-else"}}, "userinfo_sub"),
    "authorization response from another issuer (mix-up)": (
        {"authorization_iss": "https://evil.example.test"}, "iss"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_bad_answer_is_refused_with_a_page_and_an_audit_event(fake_app, fake, session, attack):
    setup, reason = ATTACKS[attack]
    for name, value in setup.items():
        setattr(fake, name, value)
    client = fake_app.test_client()
    response = fake_sign_in(client, fake)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert 'id="sign-in-refused"' in page and f'data-reason="{reason}"' in page
    assert DISPLAY_NAME in page
    assert [e.detail for e in _events(session, "login_failed")] == [reason]
    assert _events(session, "login") == []
    _nobody_signed_in(session, client)


def test_refusal_page_speaks_finnish_and_english(fake_app, fake):
    fake.id_token_claims = {"iss": "https://evil.example.test"}
    client = fake_app.test_client()
    finnish = fake_sign_in(client, fake).get_data(as_text=True)
    assert "Kirjautuminen epäonnistui" in finnish
    client.get("/lang/en")
    english = fake_sign_in(client, fake).get_data(as_text=True)
    assert "Signing in failed" in english


def test_a_rotated_signing_key_with_a_new_kid_is_accepted(fake_app, fake, session):
    assert fake_sign_in(fake_app.test_client(), fake).status_code == 302  # keys now cached
    old_kid = fake.keys[0].kid
    fake.rotate_key()
    assert fake.keys[0].kid != old_kid
    client = fake_app.test_client()
    assert fake_sign_in(client, fake).status_code == 302
    assert client.get("/contactview/list/").status_code == 200
    assert _events(session, "login_failed") == []


def test_a_key_the_provider_withdrew_is_not_trusted_once_the_cache_expires(fake_app, fake,
                                                                           session):
    assert fake_sign_in(fake_app.test_client(), fake).status_code == 302  # keys now cached
    fake.withdrawn = {fake.keys[0].kid}
    provider = sso(fake_app).provider
    provider._jwks_at -= METADATA_TTL + 1
    response = fake_sign_in(fake_app.test_client(), fake)
    assert response.status_code == 401
    assert [e.detail for e in _events(session, "login_failed")] == ["unknown_key"]


def test_a_replayed_answer_is_refused(fake_app, fake, session):
    client = fake_app.test_client()
    start = client.get("/login/sso")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    path = back.headers["Location"].split("localhost", 1)[1]
    assert client.get(path).status_code == 302
    client.get("/logout/")
    replay = client.get(path)
    assert replay.status_code == 401 and 'data-reason="state"' in replay.get_data(as_text=True)


def test_an_answer_to_another_browser_is_refused(fake_app, fake, session):
    """The state ties the answer to the browser that asked (login CSRF)."""
    victim, attacker = fake_app.test_client(), fake_app.test_client()
    start = attacker.get("/login/sso")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    response = victim.get(back.headers["Location"].split("localhost", 1)[1])
    assert response.status_code == 401
    assert [e.detail for e in _events(session, "login_failed")] == ["state"]


def test_nothing_secret_or_personal_reaches_the_logs(fake_app, fake, session, caplog):
    caplog.set_level(logging.DEBUG)
    client = fake_app.test_client()
    assert fake_sign_in(client, fake).status_code == 302
    fake.id_token_claims = {"aud": "another-client", "azp": CLIENT_ID}
    assert fake_sign_in(fake_app.test_client(), fake).status_code == 401
    client.get("/logout/")
    text = caplog.text
    assert "login_failed" in text or "SSO sign-in failed: aud" in text  # the logs did run
    secrets = fake.issued_tokens + [fake.account["email"], fake.account["given_name"],
                                    fake.account["family_name"], fake.account["sub"]]
    secrets += [request["nonce"] for request in fake.authorize_requests]
    secrets += [request["code_challenge"] for request in fake.authorize_requests]
    leaked = [s for s in secrets if s in text]
    assert leaked == []
    for event in session.scalars(sa.select(AuditEvent)):
        assert not any(s in str(event.detail or "") for s in secrets)


def test_the_account_is_the_issuer_and_sub_never_the_email(fake_app, fake, session):
    # A break-glass account holds the email address the provider sends.
    sales = session.scalar(sa.select(User).where(User.username == "sales"))
    original_email = sales.email
    fake.account["email"] = sales.email
    fake.account["preferred_username"] = "sales"
    client = fake_app.test_client()
    assert fake_sign_in(client, fake).status_code == 302
    session.expire_all()
    identity = session.scalar(sa.select(OidcIdentity))
    assert identity.user_id != sales.id
    assert identity.user.username != "sales"
    assert identity.user.email != original_email  # not copied: it is someone else's
    assert session.get(User, sales.id).email == original_email


@pytest.mark.parametrize("next_url, lands_on", [("/contactview/list/", "/contactview/list/"),
                                                ("https://evil.example.test/", "/")])
def test_after_sign_in_only_a_safe_next_page_is_followed(fake_app, fake, next_url, lands_on):
    client = fake_app.test_client()
    page = client.get(f"/login/?next={next_url}").get_data(as_text=True)
    assert "/login/sso?next=" in page
    start = client.get(f"/login/sso?next={next_url}")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    done = client.get(back.headers["Location"].split("localhost", 1)[1])
    assert done.status_code == 302 and done.headers["Location"] == lands_on


def test_a_disabled_account_is_refused(fake_app, fake, session):
    assert fake_sign_in(fake_app.test_client(), fake).status_code == 302
    user = session.scalar(sa.select(OidcIdentity)).user
    user.active = False
    session.commit()
    client = fake_app.test_client()
    response = fake_sign_in(client, fake)
    assert response.status_code == 403
    assert 'data-reason="disabled"' in response.get_data(as_text=True)
    [event] = _events(session, "login_refused")
    assert (event.detail, event.object_id) == ("disabled", str(user.id))
    assert client.get("/contactview/list/").status_code != 200

"""Accounts from the provider's claims: made once per (issuer, sub), refreshed every time."""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from config import DEFAULT_ROLE_MAPPING
from crm.models import AuditEvent, OidcIdentity
from crm.services.identities import groups_of, sign_in

ISSUER = "https://idp.example.test"


def _claims(sub="s-1", **changes) -> dict:
    return {"sub": sub, "preferred_username": "aino", "given_name": "Aino",
            "family_name": "Testaaja", "email": "aino@example.test", **changes}


def _sign_in(session, claims, *groups, issuer=ISSUER):
    return sign_in(session, issuer=issuer, claims=claims, groups=list(groups),
                   mapping=DEFAULT_ROLE_MAPPING)


def test_first_sign_in_makes_the_account_later_ones_refresh_it(session):
    first = _sign_in(session, _claims(), "crm-sales")
    assert first.refused is None and first.user.username == "aino"
    again = _sign_in(session, _claims(given_name="Aina", email="aina@example.test"),
                     "crm-sales", "crm-support")
    assert again.user.id == first.user.id
    assert (again.user.first_name, again.user.email) == ("Aina", "aina@example.test")
    assert sorted(r.name for r in again.user.roles) == ["Sales", "Support"]
    assert session.scalar(sa.select(sa.func.count()).select_from(OidcIdentity)) == 1
    [change] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "role_change"))
    assert change.detail == "+Support" and change.object_id == str(first.user.id)


def test_same_sub_at_another_issuer_is_another_person(session):
    one = _sign_in(session, _claims(), "crm-sales").user
    other = _sign_in(session, _claims(email="someone@example.test"), "crm-sales",
                     issuer="https://other-idp.example.test").user
    assert other.id != one.id and other.username == "aino-2"


def test_an_email_held_by_another_account_links_nothing(session):
    one = _sign_in(session, _claims(sub="s-1"), "crm-sales").user
    other = _sign_in(session, _claims(sub="s-2"), "crm-support").user
    assert other.id != one.id
    assert one.email == "aino@example.test" and other.email.endswith("@sso.invalid")
    assert [r.name for r in one.roles] == ["Sales"]


def test_usernames_from_claims_are_made_safe_and_never_reuse_one(session):
    user = _sign_in(session, _claims(preferred_username="../Admin"), "crm-dpo").user
    # Lower case, stripped, and not the break-glass account `admin` that already exists.
    assert user.username == "admin-2"
    assert session.scalar(sa.select(User).where(User.username == "admin")).id != user.id


def test_no_mapped_group_makes_no_account(session):
    outcome = _sign_in(session, _claims(), "crm-cafeteria")
    assert outcome.refused == "no_mapped_group" and outcome.user is None
    assert session.scalar(sa.select(sa.func.count()).select_from(OidcIdentity)) == 0


def test_a_disabled_account_stays_disabled(session):
    user = _sign_in(session, _claims(), "crm-sales").user
    user.active = False
    session.commit()
    outcome = _sign_in(session, _claims(), "crm-sales")
    assert outcome.refused == "disabled" and not outcome.user.active


def test_groups_claim_may_be_one_string_or_missing():
    assert groups_of({"groups": "crm-sales"}, "groups") == ["crm-sales"]
    assert groups_of({"groups": ["crm-sales", 7, None]}, "groups") == ["crm-sales"]
    assert groups_of({}, "groups") == []
    assert groups_of({"roles": ["crm-dpo"]}, "roles") == ["crm-dpo"]

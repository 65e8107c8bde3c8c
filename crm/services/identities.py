"""Accounts of people who sign in through the identity provider (DESIGN §7).

A person is the pair (issuer, `sub`). Their first sign-in makes the account; each
sign-in refreshes the name and email and replaces the roles with those their
groups map to. An email address never links two accounts: the username is made
up here and an email already held by another account is not copied.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.models import OidcIdentity
from crm.models.base import utcnow
from crm.services.audit import record_event

log = logging.getLogger(__name__)

#: The actor named in the audit trail for changes the identity provider's groups make.
PROVIDER_ACTOR = (None, "identity provider")
PLACEHOLDER_EMAIL_DOMAIN = "sso.invalid"


@dataclass(frozen=True)
class SignIn:
    """The outcome: the account, and the reason code when it may not sign in.

    On a refusal `user` is the account when one exists, for the audit trail.
    """

    user: User | None
    refused: str | None = None


def groups_of(claims: Mapping, claim: str) -> list[str]:
    """Return the group names in `claims[claim]` (a list, or one string)."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [g for g in value if isinstance(g, str)]


def mapped_roles(groups: Iterable[str], mapping: Mapping[str, list[str]]) -> set[str]:
    """Return the CRM role names the groups map to."""
    return {role for group in groups for role in mapping.get(group, [])}


def sign_in(session: Session, *, issuer: str, claims: Mapping, groups: Iterable[str],
            mapping: Mapping[str, list[str]]) -> SignIn:
    """Find or make the account of (issuer, sub), refresh it and set its roles.

    :param claims: the checked ID token's claims, with userinfo's.
    :return: the outcome; refusals are `no_mapped_group` and `disabled`.
    """
    role_names = mapped_roles(groups, mapping)
    roles = list(session.scalars(sa.select(Role).where(Role.name.in_(role_names)))
                 ) if role_names else []
    unknown = role_names - {role.name for role in roles}
    if unknown:
        log.warning("CRM_ROLE_MAPPING names roles that do not exist: %s", sorted(unknown))
    identity = _identity(session, issuer, claims["sub"])
    if identity is None:
        if not roles:
            # Nobody without a mapped group gets an account, so none of their data is kept.
            return SignIn(None, "no_mapped_group")
        for _ in range(3):
            # None: a concurrent first sign-in made the identity, or took the username.
            identity = _create(session, issuer, claims, roles) or _identity(
                session, issuer, claims["sub"])
            if identity is not None:
                break
        else:
            raise RuntimeError("could not create the account")
    user = identity.user
    _refresh_profile(session, user, claims)
    _replace_roles(session, user, roles)
    if not user.active:
        session.commit()
        return SignIn(user, "disabled")
    if not roles:
        session.commit()
        return SignIn(user, "no_mapped_group")
    identity.last_login_at = utcnow()
    user.last_login = datetime.now()
    user.login_count = (user.login_count or 0) + 1
    user.fail_login_count = 0
    session.commit()
    return SignIn(user)


def _identity(session: Session, issuer: str, subject: str) -> OidcIdentity | None:
    return session.scalar(sa.select(OidcIdentity).where(
        OidcIdentity.issuer == issuer, OidcIdentity.subject == subject))


def _create(session: Session, issuer: str, claims: Mapping, roles: list[Role]
            ) -> OidcIdentity | None:
    username = _free_username(session, claims)
    user = User(username=username, first_name="", last_name="",
                email=f"{username}@{PLACEHOLDER_EMAIL_DOMAIN}", active=True, roles=roles)
    identity = OidcIdentity(issuer=issuer, subject=claims["sub"], user=user)
    session.add_all([user, identity])
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    record_event("create", user, fields=["roles"], actor=PROVIDER_ACTOR, detail="sso",
                 session=session, commit=False)
    return identity


def _free_username(session: Session, claims: Mapping) -> str:
    """Return a username not yet taken, readable but never trusted for linking."""
    hint = claims.get("preferred_username") or str(claims.get("email") or "").split("@")[0]
    base = re.sub(r"[^a-z0-9._-]+", "", str(hint).lower())[:50].strip("._-") or "user"
    taken = set(session.scalars(sa.select(User.username).where(
        (User.username == base) | User.username.like(f"{base}-%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _refresh_profile(session: Session, user: User, claims: Mapping) -> None:
    given, family = claims.get("given_name"), claims.get("family_name")
    name = claims.get("name")
    if not (isinstance(given, str) or isinstance(family, str)) and isinstance(name, str):
        given, _, family = name.strip().partition(" ")
    user.first_name = (given if isinstance(given, str) else "")[:64]
    user.last_name = (family if isinstance(family, str) else "")[:64]
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return
    held_by = session.scalar(sa.select(User.id).where(
        sa.func.lower(User.email) == email.lower(), User.id != user.id))
    if held_by is None:
        user.email = email
    else:
        # Another account holds it: the two are not linked, this one keeps its own.
        log.info("sign-in email held by another account; not copied (user %s)", user.id)


def _replace_roles(session: Session, user: User, roles: list[Role]) -> None:
    old = {role.name for role in user.roles}
    new = {role.name for role in roles}
    if old == new:
        return
    user.roles = roles  # the sessions of the user end with this (crm.security.sessions)
    changes = [f"+{name}" for name in sorted(new - old)] + [f"-{name}" for name in
                                                            sorted(old - new)]
    record_event("role_change", user, fields=["roles"], detail=" ".join(changes)[:200],
                 actor=PROVIDER_ACTOR, session=session, commit=False)

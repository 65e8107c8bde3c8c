"""Naming the CRM's users on its screens as the users screen lists them."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app

from crm.extensions import db


def user_text(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """Return a user as the users screen lists them: name, then username ("Anna Esimerkki
    (anna)")."""
    name = " ".join(part for part in (first_name, last_name) if part)
    if name and username:
        return f"{name} ({username})"
    return name or username or ""


def user_texts(ids: Iterable[int | None]) -> dict[int, str]:
    """Return user id -> `user_text` of the users with those ids (one query; an id of no
    user, say a deleted account, is left out)."""
    wanted = {user_id for user_id in ids if user_id is not None}
    if not wanted:
        return {}
    user_model = current_app.appbuilder.sm.user_model
    return {row.id: user_text(row.first_name, row.last_name, row.username)
            for row in db.session.execute(
                sa.select(user_model.id, user_model.first_name, user_model.last_name,
                          user_model.username).where(user_model.id.in_(wanted)))}

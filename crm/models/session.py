"""Server-side sign-in sessions (DESIGN §7): the cookie holds only a random key."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import AwareDateTime, utcnow


class UserSession(Model):
    """One browser session; the key is stored hashed, so a copy of the table opens nothing."""

    __tablename__ = "user_session"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ab_user.id", ondelete="CASCADE"), index=True
    )
    #: The session dict in Flask's tagged JSON (keeps tuples, dates, markup).
    data: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime, index=True)
    # For OIDC back-channel logout: the provider names sessions by (iss, sid) or (iss, sub).
    oidc_issuer: Mapped[str | None] = mapped_column(sa.String(300))
    oidc_sub: Mapped[str | None] = mapped_column(sa.String(255))
    oidc_sid: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (
        sa.Index("ix_user_session_oidc_sid", "oidc_issuer", "oidc_sid"),
        sa.Index("ix_user_session_oidc_sub", "oidc_issuer", "oidc_sub"),
    )

    def __repr__(self) -> str:
        return f"<UserSession user={self.user_id}>"

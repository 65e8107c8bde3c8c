"""Sessions kept on the server, so that logout, disabling a user and role changes end them.

The browser's cookie holds a random key; the table keeps its SHA-256, the session's
data, the user it belongs to, and the idle and absolute deadlines. Sessions are
read and written on their own connection, apart from the request's ORM session,
so a request that rolls back never loses the sign-in and vice versa.

Only a signed-in user's session gets a row. What a visitor who has not signed in
needs kept (the CSRF secret of the sign-in or callback form, the language, the
sign-in's OIDC state, a note for the next page) travels in the cookie itself, signed
with the secret key, as Flask's own sessions do: it holds nobody's identity, and
nothing a visitor sends (pages read, random cookies) can fill the table. A cookie is
written only when the session changed: reading `/health` or a stylesheet, with or
without a cookie, writes nothing anywhere.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Request, Response
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from flask_login import user_logged_in, user_logged_out
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from crm.models import UserSession
from crm.models.base import utcnow

log = logging.getLogger(__name__)

TABLE = UserSession.__table__
#: Write `last_seen_at` at most this often: idle timeouts are counted in minutes.
TOUCH_EVERY = timedelta(seconds=60)
#: What signing out keeps of the session, for the pages after it: the language they
#: are read in. Everything else (the user, the tokens, the CSRF secret) goes.
KEPT_AT_LOGOUT = ("locale",)
#: Set in the new session of a browser whose session ended, so the sign-in page can
#: say so (crm.security.login) rather than FAB's "Access is Denied".
ENDED_KEY = "_crm_session_ended"
#: Flask's own session serializer: keeps tuples, bytes, dates and lazy (Markup) strings.
SERIALIZER = TaggedJSONSerializer()
#: Where Flask-Login keeps the signed-in user: a session holding it lives on the server.
USER_KEY = "_user_id"
#: A server session's key is URL-safe base64; a visitor's signed cookie has dots in it.
SIGNED_SEPARATOR = "."
#: Browsers keep cookies of up to 4 kB; a longer one is refused, not stored.
MAX_COOKIE = 4000


def _dump(session: dict) -> str:
    return SERIALIZER.dumps(dict(session))


def _load(text: str | None) -> dict:
    return SERIALIZER.loads(text) if text else {}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    """The session dict; knows its key and whether it must get a new one."""

    def __init__(self, initial=None, key: str | None = None, row: dict | None = None):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.key = key
        self.row = row or {}
        self.modified = False
        self.regenerate = False
        self.ended = False
        self.oidc: dict[str, str] | None = None


class ServerSessionInterface(SessionInterface):
    """Flask session interface storing sessions in the `user_session` table."""

    def __init__(self, engine_getter) -> None:
        self._engine = engine_getter

    def _limits(self, app: Flask) -> tuple[timedelta, timedelta]:
        return (timedelta(seconds=app.config["CRM_SESSION_IDLE_SECONDS"]),
                timedelta(seconds=app.config["CRM_SESSION_ABSOLUTE_SECONDS"]))

    def _signer(self, app: Flask) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(app.secret_key, salt="crm-visitor-session",
                                      serializer=SERIALIZER,
                                      signer_kwargs={"key_derivation": "hmac",
                                                     "digest_method": hashlib.sha256})

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        key = request.cookies.get(self.get_cookie_name(app))
        if not key or len(key) > MAX_COOKIE:
            return ServerSession()
        if SIGNED_SEPARATOR in key:  # a visitor's session, not signed in
            _, absolute = self._limits(app)
            try:
                data = self._signer(app).loads(key, max_age=absolute.total_seconds())
            except BadSignature:  # forged, or signed with a key since changed
                return ServerSession()
            if not isinstance(data, dict) or USER_KEY in data:
                return ServerSession()
            return ServerSession(data)
        if len(key) > 100:
            return ServerSession()
        with self._engine().connect() as conn:
            row = conn.execute(sa.select(TABLE).where(TABLE.c.key_hash == _hash(key))
                               ).mappings().first()
        if row is None:  # ended: signed out elsewhere, disabled, or expired and purged
            return ServerSession({ENDED_KEY: True})
        idle, _ = self._limits(app)
        now = utcnow()
        if row["expires_at"] <= now or row["last_seen_at"] + idle <= now:
            self._delete(key)
            data = _load(row["data"])
            ended = ServerSession({**{k: data[k] for k in KEPT_AT_LOGOUT if k in data},
                                   ENDED_KEY: True})
            ended.modified = True  # the row is gone: what is kept moves to the cookie
            return ended
        return ServerSession(_load(row["data"]), key=key, row=dict(row))

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        cookie = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                      secure=self.get_cookie_secure(app), httponly=True,
                      samesite=self.get_cookie_samesite(app))
        if session.key and (session.ended or USER_KEY not in session):
            # Signed out (or a session that holds no user, say one stored before visitors'
            # sessions moved to the cookie): the row goes, and anything kept for the
            # next pages (the language, the note that says so) goes to the cookie.
            self._delete(session.key)
            session.key, session.modified = None, True
        if USER_KEY not in session:
            self._save_visitor(app, session, response, name, cookie)
            return
        now = utcnow()
        if session.regenerate and session.key:
            # A new key at sign-in: a key planted before it is worth nothing after it.
            self._delete(session.key)
            session.key = None
        if session.key is None:
            session.key = secrets.token_urlsafe(32)
            _, absolute = self._limits(app)
            values = self._row_values(session, now)
            values.update(key_hash=_hash(session.key), created_at=now, expires_at=now + absolute)
            with self._engine().begin() as conn:
                conn.execute(TABLE.insert().values(**values))
        elif session.modified or now - session.row["last_seen_at"] >= TOUCH_EVERY:
            with self._engine().begin() as conn:
                conn.execute(TABLE.update().where(TABLE.c.key_hash == _hash(session.key))
                             .values(**self._row_values(session, now)))
        else:
            return
        response.set_cookie(name, session.key, expires=None, **cookie)
        response.vary.add("Cookie")

    def _save_visitor(self, app: Flask, session: ServerSession, response: Response,
                      name: str, cookie: dict) -> None:
        """Keep a session with no user in the signed cookie; only when it changed."""
        if not session.modified:
            return
        value = self._signer(app).dumps(dict(session)) if session else None
        if value is None or len(value) > MAX_COOKIE:
            if value is not None:
                log.warning("a visitor's session of %d characters was not kept", len(value))
            response.delete_cookie(name, **{k: cookie[k] for k in ("domain", "path")})
            return
        response.set_cookie(name, value, expires=None, **cookie)
        response.vary.add("Cookie")

    def _row_values(self, session: ServerSession, now: datetime) -> dict:
        user_id = session.get("_user_id")
        values = {"data": _dump(session), "last_seen_at": now,
                  "user_id": int(user_id) if user_id is not None else None}
        if session.oidc is not None:
            values.update(oidc_issuer=session.oidc.get("iss"), oidc_sub=session.oidc.get("sub"),
                          oidc_sid=session.oidc.get("sid"))
        return values

    def _delete(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(TABLE.delete().where(TABLE.c.key_hash == _hash(key)))


def end_user_sessions(connection, user_id: int) -> int:
    """End every session of a user (disabled, roles changed); return how many ended."""
    return connection.execute(TABLE.delete().where(TABLE.c.user_id == user_id)).rowcount


def end_oidc_sessions(connection, issuer: str, sid: str | None, sub: str | None) -> int:
    """End the sessions a back-channel logout names, by `sid` when given, else by `sub`."""
    where = TABLE.c.oidc_issuer == issuer
    where &= TABLE.c.oidc_sid == sid if sid else TABLE.c.oidc_sub == sub
    return connection.execute(TABLE.delete().where(where)).rowcount


def purge_expired(connection, app: Flask) -> int:
    """Delete sessions past either deadline; the scheduler calls this."""
    idle = timedelta(seconds=app.config["CRM_SESSION_IDLE_SECONDS"])
    now = utcnow()
    return connection.execute(TABLE.delete().where(
        (TABLE.c.expires_at <= now) | (TABLE.c.last_seen_at <= now - idle))).rowcount


def _user_changed(mapper, connection, user) -> None:
    """A user disabled or given other roles keeps no session made before the change."""
    state = sa.inspect(user)
    disabled = state.attrs.active.history.deleted == [True] and not user.active
    if disabled or state.attrs.roles.history.has_changes():
        end_user_sessions(connection, user.id)


def init_app(app: Flask) -> None:
    """Install the server-side sessions and end sessions at sign-in and sign-out."""
    from crm.extensions import db

    app.config.setdefault("CRM_SESSION_IDLE_SECONDS", 30 * 60)
    app.config.setdefault("CRM_SESSION_ABSOLUTE_SECONDS", 8 * 3600)
    app.session_interface = ServerSessionInterface(lambda: db.engine)
    from flask_appbuilder.security.sqla.models import User

    if not sa.event.contains(User, "after_update", _user_changed):
        sa.event.listen(User, "after_update", _user_changed)

    @user_logged_in.connect_via(app)
    def _rotate(sender, user, **extra):
        from flask import g, session

        if isinstance(session, ServerSession):
            session.regenerate = True
        # So does the CSRF secret (Flask-WTF's, in the session and this request's `g`): a
        # token handed out before the sign-in, say to the sign-in page, is refused after it.
        csrf_key = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        session.pop(csrf_key, None)
        g.pop(csrf_key, None)

    @user_logged_out.connect_via(app)
    def _end(sender, user, **extra):
        from flask import session

        if isinstance(session, ServerSession):
            kept = {k: session[k] for k in KEPT_AT_LOGOUT if k in session}
            session.clear()
            session.update(kept)
            session.ended, session.oidc = True, None

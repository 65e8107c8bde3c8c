"""OIDC Back-Channel Logout: the provider tells us a session ended there (DESIGN §7).

The provider POSTs a signed logout token to `/oidc/backchannel-logout`; when it
passes every check, the CRM sessions it names (by `sid`, else by `sub`) end.
The request comes from the provider, not a browser: no cookie, no CSRF token.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify, request

from crm.extensions import db
from crm.models import OidcIdentity
from crm.security.oidc import OidcError, sso, validate_logout_token
from crm.security.sessions import end_oidc_sessions
from crm.services.audit import record_event

log = logging.getLogger(__name__)

bp = Blueprint("oidc_backchannel", __name__)


def _answer(status: int, **body):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oidc/backchannel-logout")
def backchannel_logout():
    """End the sessions a valid logout token names: 200, or 400 with an error."""
    sso_ = sso()
    if sso_ is None:
        return _answer(404, error="not_found")
    token = request.form.get("logout_token")
    if not token:
        return _answer(400, error="invalid_request", error_description="logout_token missing")
    try:
        claims = validate_logout_token(sso_.provider, token)
    except OidcError as exc:
        log.warning("back-channel logout refused: %s", exc.reason)
        return _answer(400, error="invalid_request", error_description=exc.reason)
    issuer = sso_.provider.issuer
    sid, sub = claims.get("sid"), claims.get("sub")
    with db.engine.begin() as connection:
        ended = end_oidc_sessions(connection, issuer, sid, sub)
    user_id = None
    if sub:
        user_id = db.session.scalar(sa.select(OidcIdentity.user_id).where(
            OidcIdentity.issuer == issuer, OidcIdentity.subject == sub))
    record_event("logout", object_type="User", object_id=user_id, detail="backchannel",
                 actor=(None, "identity provider"))
    log.info("back-channel logout ended %d session(s)", ended)
    return _answer(200)


def init_app(app: Flask, csrf) -> None:
    app.register_blueprint(bp)
    # The provider's server-to-server POST carries no CSRF token: the logout token is
    # its proof, validated above.
    csrf.exempt(bp)

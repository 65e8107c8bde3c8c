"""Signing in and out (DESIGN §7): through the identity provider, or with a password.

The login page offers the provider (`/login/sso`) and, only while `CRM_LOCAL_LOGIN`
is on, the password form for break-glass accounts. The provider sends the browser
back to `/oauth-authorized/sso`, where the answer is checked (`crm.security.oidc`),
the account is refreshed from the claims (`crm.services.identities`) and a server
session starts. Logging out ends the session here and at the provider.
"""

from __future__ import annotations

import logging

from flask import current_app, flash, g, make_response, redirect, request, session, url_for
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.api import safe
from flask_appbuilder.const import (
    API_SECURITY_ACCESS_TOKEN_KEY,
    API_SECURITY_PROVIDER_DB,
    API_SECURITY_REFRESH_TOKEN_KEY,
    FLAMSG_ERR_SEC_ACCESS_DENIED,
)
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.security.utils import is_null_password
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.limit import Limit
from flask_appbuilder.views import expose
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.security import check_password_hash

from crm.extensions import db
from crm.forms import with_crm_messages
from crm.models import OidcIdentity
from crm.security.oidc import OidcError, finish_authorization, sso
from crm.security.redirects import own_page
from crm.security.sessions import ENDED_KEY, ServerSession
from crm.services.audit import record_event
from crm.services.identities import groups_of, sign_in

log = logging.getLogger(__name__)

#: FAB's password form, with WTForms' messages in the CRM's words.
LoginForm = with_crm_messages(LoginForm_db)
ID_TOKEN_KEY = "_crm_oidc_id_token"
NEXT_KEY = "_crm_sso_next"

#: Sign-ins begun and not finished (other tabs, retries) whose OIDC state the session
#: keeps: a visitor's session travels in the cookie (crm.security.sessions), which has
#: room for a few.
PENDING_SIGN_INS = 3

SIGNED_OUT = _l("You have been signed out.")
#: Said instead of FAB's "Access is Denied" to whoever is sent here from a page.
SIGN_IN_FIRST = _l("Sign in to see the page.")
SESSION_ENDED = _l("Your session has ended. Sign in again to continue.")
#: reason -> (HTTP status, message) for sign-ins refused although the provider vouched.
REFUSALS = {
    "no_mapped_group": (403, _l(
        "Your account at %(provider)s is in no group that gives access to the contact "
        "register, so you cannot sign in. Ask your manager or the IT service desk for "
        "access.")),
    "disabled": (403, _l("Your account in the contact register has been disabled. Contact "
                         "the system administrator.")),
    "local_login_off": (403, _l("Signing in with a username and password is switched off. "
                                "Sign in with %(provider)s.")),
}
#: reason -> (HTTP status, message) for answers from the provider that fail a check.
FAILURES = {
    "cancelled": (401, _l("Signing in was cancelled or refused at %(provider)s.")),
    "unavailable": (503, _l("%(provider)s cannot be reached right now. Try again in a "
                            "moment.")),
}
FAILED = (401, _l("Signing in failed: the answer from %(provider)s did not pass the checks, "
                  "so you were not signed in. Try again; if this keeps happening, give the "
                  "reason code below to the IT service desk."))


def local_login_allowed() -> bool:
    return bool(current_app.config.get("CRM_LOCAL_LOGIN"))


def local_password_user(sm, username: str | None, password: str | None):
    """Return the user the username and password identify, for local login only.

    Accounts made by the identity provider never sign in with a password, even if
    one was set for them: their roles come from the provider's groups.
    """
    if not username or is_null_password(password):
        return None
    user = sm.find_user(username=username)
    usable = (user is not None and user.is_active and user.password
              and db.session.query(OidcIdentity.id).filter_by(user_id=user.id).first() is None)
    if not usable:
        # As long as a real check, so timing does not tell which usernames exist.
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
        return None
    ok = check_password_hash(user.password, password)
    sm.update_user_auth_stat(user, ok)
    return user if ok else None


def reword_access_denied() -> None:
    """Say why the sign-in page is shown, not FAB's "Access is Denied".

    FAB sends someone who is not signed in here from a page with that note, which
    reads as if their rights were lacking; it was their session that had ended
    (idle or absolute timeout, signed out elsewhere), or they had not signed in.
    """
    ended = session.pop(ENDED_KEY, False)
    flashes = session.get("_flashes")
    denied = str(FLAMSG_ERR_SEC_ACCESS_DENIED)
    if not flashes or all(message != denied for _, message in flashes):
        return
    note = str(SESSION_ENDED if ended else SIGN_IN_FIRST)
    session["_flashes"] = [("info", note) if message == denied else (category, message)
                           for category, message in flashes]


def _safe_next(next_arg: str | None) -> str:
    """Where to go after signing in: `next` if it is a page of this site, else the home page.

    FAB's check (`get_safe_redirect`) let a newline through into the Location header,
    which Werkzeug then refused with a 500; `own_page` refuses any control character.
    The warning is logged only for a `next` that is there, and without it.
    """
    target = own_page(next_arg)
    if next_arg and target is None:
        log.warning("Invalid redirect detected, falling back to the home page")
    return target or current_app.appbuilder.get_url_for_index


def _forget_old_sign_ins() -> None:
    """Keep the OIDC state of the newest sign-ins begun only (Authlib's `_state_` keys)."""
    pending = sorted((key for key in session if key.startswith("_state_")),
                     key=lambda key: (session[key] or {}).get("exp") or 0)
    for key in pending[:max(len(pending) - (PENDING_SIGN_INS - 1), 0)]:
        session.pop(key)


def _provider_name() -> str:
    sso_ = sso()
    return sso_.display_name if sso_ else ""


class CrmAuthDBView(AuthDBView):
    """FAB's login view with the identity provider added and local login switchable."""

    login_template = "security/login.html"
    refused_template = "security/refused.html"
    logout_template = "security/logout.html"

    def _get_safe_next_url(self) -> str:
        # Where a signed-in user opening a sign-in page goes: FAB's check, as `_safe_next`.
        return _safe_next(request.args.get("next"))

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        if request.method == "POST" and not local_login_allowed():
            return self._refuse("local_login_off")
        form = LoginForm() if local_login_allowed() else None
        if form is not None and form.validate_on_submit():
            next_url = _safe_next(request.args.get("next"))
            user = local_password_user(self.appbuilder.sm, form.username.data,
                                       form.password.data)
            if user is None:
                record_event("login_failed", object_type="User", detail="password",
                             actor=(None, None))
                flash(as_unicode(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            record_event("login", user, detail="password", actor=(user.id, user.username))
            return redirect(next_url)
        reword_access_denied()
        next_arg = request.args.get("next")
        sso_url = url_for(".login_sso", next=next_arg) if sso() else None
        return self.render_template(self.login_template, title=self.title, form=form,
                                    sso=sso(), sso_url=sso_url, appbuilder=self.appbuilder)

    @expose("/login/sso")
    @no_cache
    def login_sso(self):
        """Send the browser to the provider, with state, nonce and a PKCE challenge."""
        sso_ = sso()
        if sso_ is None:
            return redirect(self.appbuilder.get_url_for_login)
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        next_arg = request.args.get("next")
        session[NEXT_KEY] = _safe_next(next_arg) if next_arg else None
        redirect_uri = current_app.config["CRM_BASE_URL"] + "/oauth-authorized/sso"
        _forget_old_sign_ins()
        try:
            return sso_.client.authorize_redirect(redirect_uri)
        except OidcError as exc:
            return self._fail(exc.reason)

    @expose("/oauth-authorized/sso")
    @no_cache
    def oauth_authorized_sso(self):
        """The provider's answer: check it all, then sign in or refuse."""
        sso_ = sso()
        if sso_ is None:
            return redirect(self.appbuilder.get_url_for_login)
        framework, state = sso_.client.framework, request.args.get("state")
        state_data = framework.get_state_data(session, state) if state else None
        if state:
            framework.clear_state_data(session, state)
        if not state_data:
            return self._fail("state")
        if request.args.get("error"):
            return self._fail("cancelled" if request.args["error"] in (
                "access_denied", "login_required", "interaction_required") else "provider_error")
        # RFC 9207: the answer names who sent it; a mix-up with another provider shows here.
        iss = request.args.get("iss")
        try:
            iss_required = sso_.provider.metadata().get(
                "authorization_response_iss_parameter_supported")
        except OidcError as exc:
            return self._fail(exc.reason)
        if (iss is not None or iss_required) and iss != sso_.provider.issuer:
            return self._fail("iss")
        code = request.args.get("code")
        if not code:
            return self._fail("code")
        try:
            claims, id_token = finish_authorization(sso_, code, state_data)
        except OidcError as exc:
            return self._fail(exc.reason)
        config = current_app.config
        outcome = sign_in(db.session, issuer=sso_.provider.issuer, claims=claims,
                          groups=groups_of(claims, config["CRM_OIDC_GROUPS_CLAIM"]),
                          mapping=config["CRM_ROLE_MAPPING"])
        if outcome.refused:
            return self._refuse(outcome.refused, outcome.user)
        user = outcome.user
        login_user(user, remember=False)
        server_session = session._get_current_object()
        if isinstance(server_session, ServerSession):
            sid = claims.get("sid")
            server_session.oidc = {"iss": sso_.provider.issuer, "sub": claims["sub"],
                                   "sid": sid if isinstance(sid, str) and len(sid) <= 255
                                   else None}
        session[ID_TOKEN_KEY] = id_token  # for the logout at the provider (id_token_hint)
        record_event("login", user, detail="sso", actor=(user.id, user.username))
        # Checked when kept (`login_sso`), and again here: the header takes no CR/LF.
        return redirect(own_page(session.pop(NEXT_KEY, None))
                        or self.appbuilder.get_url_for_index)

    @expose("/logout/", methods=["GET", "POST"])
    @no_cache
    def logout(self):
        """End the session here, then at the provider (RP-initiated logout).

        Only a post does (with the CSRF token the app checks for every post): a link
        from another site, or an address opened, shows a page with the button instead.
        """
        if request.method != "POST":
            if g.user is None or not g.user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template(self.logout_template, appbuilder=self.appbuilder)
        user = self._get_authenticated_user()
        id_token = session.get(ID_TOKEN_KEY)
        logout_user()  # the server session is deleted (crm.security.sessions)
        if user is not None:
            self.appbuilder.sm.on_user_logout(user)
            record_event("logout", user, detail="sso" if id_token else "password",
                         actor=(user.id, user.username))
            # Shown on the next page, back from the provider or not: the sign-in page.
            flash(as_unicode(SIGNED_OUT), "info")
        sso_ = sso()
        if id_token and sso_ is not None:
            try:
                url = sso_.client.create_logout_url(
                    post_logout_redirect_uri=current_app.config["CRM_BASE_URL"] + "/login/",
                    id_token_hint=id_token, client_id=sso_.provider.client_id)["url"]
            except (OidcError, RuntimeError):
                log.warning("the provider offers no logout endpoint; signed out here only")
            else:
                return redirect(url, 303)
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL",
                                               self.appbuilder.get_url_for_index), 303)

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        blueprint = super().create_blueprint(appbuilder, endpoint=endpoint,
                                             static_folder=static_folder)
        blueprint.register_error_handler(CSRFError, self._csrf_refused)
        return blueprint

    def _csrf_refused(self, error: CSRFError):
        """A sign-out posted with a stale token (the session ended while the page was
        open, or another tab signed out and in): nobody to sign out, or the sign-out page
        again, whose button works. Any other post of these pages: the app's 400 page."""
        if request.endpoint != f"{self.endpoint}.logout":
            from crm.views.errors import _error_page  # imports this module

            return _error_page(error)
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login, 303)
        g.user = current_user  # refused before FAB's own before_request set it
        return make_response(self.render_template(self.logout_template,
                                                  appbuilder=self.appbuilder), 400)

    # Refusals ----------------------------------------------------------------

    def _fail(self, reason: str):
        """The provider's answer failed a check: nobody is signed in."""
        log.warning("SSO sign-in failed: %s", reason)
        record_event("login_failed", object_type="User", detail=reason, actor=(None, None))
        status, message = FAILURES.get(reason, FAILED)
        return self._page(status, _l("Signing in failed"), message, reason)

    def _refuse(self, reason: str, user=None):
        """A known person who may not sign in (no mapped group, disabled, password login off)."""
        log.info("sign-in refused: %s", reason)
        record_event("login_refused", user, object_type="User", detail=reason,
                     actor=(None, None))
        status, message = REFUSALS[reason]
        return self._page(status, _l("Signing in refused"), message, reason)

    def _page(self, status: int, heading, message, reason: str):
        session.pop(NEXT_KEY, None)
        html = self.render_template(self.refused_template, appbuilder=self.appbuilder,
                                    heading=heading, reason=reason,
                                    message=as_unicode(message) % {"provider": _provider_name()})
        return make_response(html, status)


class CrmSecurityApi(SecurityApi):
    """FAB's API login: refused while local login is off, rate-limited while it is on."""

    def __init__(self) -> None:
        self.limits = [Limit(
            limit_value=lambda: current_app.config["AUTH_RATE_LIMIT"],
            key_func=get_remote_address, methods=("POST",),
            exempt_when=lambda: not current_app.config.get("AUTH_RATE_LIMITED"))]
        super().__init__()

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        if not local_login_allowed():
            record_event("login_refused", object_type="User", detail="local_login_off",
                         actor=(None, None))
            return self.response(403, message="Password sign-in is switched off")
        try:
            payload = login_post.load(request.get_json(silent=True) or {})
        except ValidationError as error:
            return self.response_400(message=error.messages)
        user = None
        if payload["provider"] == API_SECURITY_PROVIDER_DB:
            user = local_password_user(self.appbuilder.sm, payload["username"],
                                       payload["password"])
        if user is None:
            record_event("login_failed", object_type="User", detail="password_api",
                         actor=(None, None))
            return self.response_401()
        record_event("login", user, detail="api", actor=(user.id, user.username))
        tokens = {API_SECURITY_ACCESS_TOKEN_KEY: create_access_token(identity=str(user.id),
                                                                     fresh=True)}
        if payload.get("refresh"):
            tokens[API_SECURITY_REFRESH_TOKEN_KEY] = create_refresh_token(identity=str(user.id))
        return self.response(200, **tokens)

    @expose("/refresh", methods=["POST"])
    @safe
    def refresh(self):
        if not local_login_allowed():
            return self.response(403, message="Password sign-in is switched off")
        return SecurityApi.refresh(self)

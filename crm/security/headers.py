"""Security headers on every response (DESIGN §11)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, g, request

#: No inline script runs but a rendered page's own, which carry its nonce (`{scripts}`):
#: an injected one has none. Styles may be inline: FAB's templates and widgets set
#: style attributes everywhere, and a nonce in style-src would make browsers ignore
#: 'unsafe-inline'.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'{scripts}; frame-ancestors 'none'; form-action 'self'{forms}; "
       "base-uri 'self'; object-src 'none'")


def content_security_policy(config, nonce: str | None = None) -> str:
    """Return the CSP, allowing the inline scripts that carry `nonce` when given.

    With SSO, forms may also lead to the identity provider: the user menu's sign-out
    posts here and is sent on to the provider's logout (a browser holds a form's
    redirects to its `form-action` too).
    """
    issuer = config.get("CRM_OIDC_ISSUER")
    parts = urlsplit(issuer) if issuer else None
    return CSP.format(scripts=f" 'nonce-{nonce}'" if nonce else "",
                      forms=f" {parts.scheme}://{parts.netloc}" if parts else "")


def csp_nonce() -> str:
    """Return this request's nonce for inline scripts, made on first use (FAB's
    `baselib.get_nonce()` calls this Jinja global)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_app(app: Flask) -> None:
    """Send the security headers with every response; give templates `csp_nonce()`."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_headers(response):
        # A page gets the nonce its scripts carry; files and data need none.
        nonce = csp_nonce() if response.mimetype == "text/html" else None
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(app.config, nonce))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        # Pages of the CRM show personal data: never keep them in a cache. Static files
        # and the icon hold none and keep their own caching.
        if not request.path.startswith(("/static/", "/appbuilder/", "/favicon.ico")):
            response.headers["Cache-Control"] = "no-store"
        return response

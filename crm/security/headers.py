"""Security headers on every response (DESIGN §11)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'self'; object-src 'none'")


def content_security_policy(config) -> str:
    """Return the CSP; with SSO, forms may also lead to the identity provider: the user
    menu's sign-out posts here and is sent on to the provider's logout (a browser holds
    a form's redirects to its `form-action` too)."""
    issuer = config.get("CRM_OIDC_ISSUER")
    if not issuer:
        return CSP
    parts = urlsplit(issuer)
    return CSP.replace("form-action 'self'",
                       f"form-action 'self' {parts.scheme}://{parts.netloc}")


def init_app(app: Flask) -> None:
    csp = content_security_policy(app.config)

    @app.after_request
    def set_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
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

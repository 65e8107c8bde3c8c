"""OpenID Connect with the company's identity provider (DESIGN §7).

Authlib's Flask client sends the browser to the provider (state, nonce, PKCE S256)
and exchanges the code. Everything it would check in the answer is checked here
instead, rule by rule: Authlib 1.9 accepts an ID token whose `aud` names another
client when `azp` names us, and its `claims_options` replace its own `iss` check.

The provider's discovery document and keys are cached per process; a token signed
with a key id we do not know makes us fetch the keys again (the provider rotated
them), at most once every `CRM_OIDC_JWKS_REFETCH_SECONDS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app
from joserfc import jwk, jws
from joserfc.errors import JoseError

log = logging.getLogger(__name__)

#: Asymmetric algorithms only: never `none`, never HMAC with the client secret.
SAFE_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                             "ES256", "ES384", "ES512", "EdDSA", "Ed25519"})
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
#: Seconds of clock difference tolerated in exp, iat and nbf.
LEEWAY = 60
#: Seconds the discovery document and the keys are cached; a key the provider withdrew
#: is not trusted for longer than this.
METADATA_TTL = 3600
HTTP_TIMEOUT = 10
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcError(Exception):
    """The provider's answer is refused; `reason` is a short code for logs and the audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Provider:
    """The identity provider as the CRM sees it: its discovery document and its keys."""

    def __init__(self, issuer: str, client_id: str, *, refetch_seconds: float = 10) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.refetch_seconds = refetch_seconds
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: list[dict] = []
        self._jwks_at: float | None = None

    def _get_json(self, url: str, reason: str) -> dict:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT,
                                    headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("identity provider request failed (%s): %s", reason, type(exc).__name__)
            raise OidcError(reason) from exc
        if not isinstance(data, dict):
            raise OidcError(reason)
        return data

    def metadata(self) -> dict[str, Any]:
        """Return the discovery document, whose `issuer` must be exactly ours."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                data = self._get_json(url, "unavailable")
                if data.get("issuer") != self.issuer:
                    log.warning("discovery names another issuer: refused")
                    raise OidcError("discovery")
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(data.get(name), str):
                        raise OidcError("discovery")
                self._metadata, self._metadata_at = data, time.monotonic()
            return dict(self._metadata)

    def algorithms(self) -> frozenset[str]:
        """Return the signing algorithms the provider announces that we also accept."""
        announced = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        return frozenset(announced) & SAFE_ALGORITHMS

    def _keys(self, refetch: bool) -> list[dict]:
        with self._lock:
            age = None if self._jwks_at is None else time.monotonic() - self._jwks_at
            stale = age is None or age > METADATA_TTL or (refetch and age >= self.refetch_seconds)
            jwks_uri = self._metadata["jwks_uri"] if self._metadata else None
        if stale:
            jwks_uri = jwks_uri or self.metadata()["jwks_uri"]
            keys = self._get_json(jwks_uri, "unavailable").get("keys")
            if not isinstance(keys, list):
                raise OidcError("unavailable")
            with self._lock:
                self._jwks = [k for k in keys if isinstance(k, dict)]
                self._jwks_at = time.monotonic()
        return self._jwks

    def _candidates(self, header: dict, refetch: bool) -> list[dict]:
        kty = KEY_TYPES.get(header["alg"][:2])
        kid = header.get("kid")
        return [key for key in self._keys(refetch)
                if key.get("kty") == kty and key.get("use") in (None, "sig")
                and key.get("alg") in (None, header["alg"])
                and (kid is None or key.get("kid") == kid)]

    def verify(self, token: str) -> tuple[dict, dict]:
        """Check the token's algorithm and signature; return its header and claims."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise OidcError("malformed")
        try:
            header = json.loads(_b64decode(token.split(".", 1)[0]))
        except ValueError as exc:
            raise OidcError("malformed") from exc
        alg = header.get("alg") if isinstance(header, dict) else None
        if not isinstance(alg, str) or alg not in self.algorithms():
            raise OidcError("alg")
        candidates = self._candidates(header, refetch=False) or self._candidates(
            header, refetch=True)
        if not candidates:
            raise OidcError("unknown_key")
        for candidate in candidates:
            try:
                verified = jws.deserialize_compact(token, jwk.import_key(candidate),
                                                   algorithms=[header["alg"]])
            except (JoseError, ValueError, TypeError):
                continue
            try:
                claims = json.loads(verified.payload)
            except ValueError as exc:
                raise OidcError("malformed") from exc
            if not isinstance(claims, dict):
                raise OidcError("malformed")
            return header, claims
        raise OidcError("signature")

    def userinfo(self, access_token: str) -> dict:
        """Return the userinfo response (JSON) for the access token."""
        url = self.metadata().get("userinfo_endpoint")
        if not url:
            return {}
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError("userinfo") from exc
        if not isinstance(data, dict):
            raise OidcError("userinfo")
        return data


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _number(claims: dict, name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _check_registered_claims(provider: Provider, claims: dict, now: float) -> None:
    """iss, aud, azp, exp, iat and nbf: the rules both ID and logout tokens follow."""
    if claims.get("iss") != provider.issuer:
        raise OidcError("iss")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or provider.client_id not in audiences:
        raise OidcError("aud")
    # An azp, or several audiences, must name us as the party the token is for.
    if ("azp" in claims or len(audiences) > 1) and claims.get("azp") != provider.client_id:
        raise OidcError("azp")
    exp = _number(claims, "exp")
    if exp is not None and exp + LEEWAY < now:
        raise OidcError("expired")
    iat = _number(claims, "iat")
    if iat is None or iat - LEEWAY > now:
        raise OidcError("iat")
    nbf = claims.get("nbf")
    if nbf is not None and (_number(claims, "nbf") is None or nbf - LEEWAY > now):
        raise OidcError("nbf")


def _hash_half(value: str, alg: str) -> str:
    bits = alg[-3:] if alg[-3:] in ("256", "384", "512") else "512"  # EdDSA: SHA-512
    digest = hashlib.new(f"sha{bits}", value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def validate_id_token(provider: Provider, token: str, *, nonce: str,
                      access_token: str | None = None, now: float | None = None) -> dict:
    """Return the claims of an ID token that passes every check, else raise `OidcError`."""
    header, claims = provider.verify(token)
    now = time.time() if now is None else now
    if _number(claims, "exp") is None:
        raise OidcError("exp")
    _check_registered_claims(provider, claims, now)
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            claims["nonce"], nonce):
        raise OidcError("nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        raise OidcError("sub")
    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None and not hmac.compare_digest(
            str(at_hash), _hash_half(access_token, header["alg"])):
        raise OidcError("at_hash")
    return claims


def validate_logout_token(provider: Provider, token: str, *, now: float | None = None) -> dict:
    """Return the claims of a back-channel logout token that passes every check."""
    _, claims = provider.verify(token)
    _check_registered_claims(provider, claims, time.time() if now is None else now)
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise OidcError("events")
    if "nonce" in claims:
        raise OidcError("nonce")
    sid, sub = claims.get("sid"), claims.get("sub")
    if not (isinstance(sid, str) and sid) and not (isinstance(sub, str) and sub):
        raise OidcError("sid_sub")
    if not isinstance(claims.get("jti"), str):
        raise OidcError("jti")
    return claims


class SsoClient(FlaskOAuth2App):
    """Authlib's client, reading the provider's endpoints from our checked discovery."""

    provider: Provider

    def load_server_metadata(self) -> dict:
        return self.provider.metadata()


@dataclass(frozen=True)
class Sso:
    provider: Provider
    client: SsoClient
    display_name: str


def sso(app: Flask | None = None) -> Sso | None:
    """Return the app's SSO set-up, or None when `CRM_OIDC_ISSUER` is unset."""
    return (app or current_app).extensions.get("crm_oidc")


def finish_authorization(sso_: Sso, code: str, state_data: dict) -> tuple[dict, str]:
    """Exchange the code and check the answer; return (claims, raw ID token).

    The claims are the ID token's, with the userinfo response's added; userinfo must
    describe the same `sub`.
    """
    try:
        token = sso_.client.fetch_access_token(
            redirect_uri=state_data["redirect_uri"], code=code,
            code_verifier=state_data["code_verifier"])
    except Exception as exc:  # any failure of the exchange is a refusal
        log.warning("code exchange failed: %s", type(exc).__name__)
        raise OidcError("token") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("no_id_token")
    access_token = token.get("access_token")
    claims = validate_id_token(sso_.provider, id_token, nonce=state_data["nonce"],
                               access_token=access_token)
    if access_token:
        userinfo = sso_.provider.userinfo(access_token)
        if userinfo and userinfo.get("sub") != claims["sub"]:
            raise OidcError("userinfo_sub")
        protected = {"iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "sid", "sub"}
        claims = {**claims, **{k: v for k, v in userinfo.items() if k not in protected}}
    return claims, id_token


def init_app(app: Flask) -> None:
    """Register the `sso` client when `CRM_OIDC_ISSUER` is set."""
    # Authlib logs the PKCE code verifier at DEBUG level: keep it out of every log.
    logging.getLogger("authlib").setLevel(max(logging.INFO,
                                              logging.getLogger("authlib").level))
    issuer = app.config.get("CRM_OIDC_ISSUER")
    if not issuer:
        return
    client_id = app.config.get("CRM_OIDC_CLIENT_ID")
    if not client_id or not app.config.get("CRM_OIDC_CLIENT_SECRET"):
        raise RuntimeError("CRM_OIDC_ISSUER is set: CRM_OIDC_CLIENT_ID and "
                           "CRM_OIDC_CLIENT_SECRET must be set too")
    provider = Provider(issuer, client_id,
                        refetch_seconds=app.config.get("CRM_OIDC_JWKS_REFETCH_SECONDS", 10))
    oauth = OAuth(app)
    client = oauth.register(
        "sso", client_cls=SsoClient, client_id=client_id,
        client_secret=app.config["CRM_OIDC_CLIENT_SECRET"],
        client_kwargs={
            "scope": app.config.get("CRM_OIDC_SCOPES", "openid profile email"),
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": app.config.get("CRM_OIDC_TOKEN_AUTH_METHOD",
                                                         "client_secret_basic"),
            "default_timeout": HTTP_TIMEOUT,
        })
    client.provider = provider
    app.extensions["crm_oidc"] = Sso(provider, client,
                                     app.config.get("CRM_OIDC_DISPLAY_NAME", "Company SSO"))

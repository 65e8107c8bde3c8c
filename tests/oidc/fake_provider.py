"""A deliberately misbehaving OpenID provider, to prove the CRM refuses what it should.

It serves discovery, keys, an authorization endpoint that signs the user in at once,
a token endpoint and userinfo, all on a free loopback port in a thread. Each test
tells it how to misbehave: which claims the ID token gets or lacks, how it is signed,
what userinfo says. It checks the CRM's side of the protocol too (PKCE S256, state,
nonce, client authentication), so a CRM that skipped them would fail here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jws
from joserfc.jwk import OctKey, RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

#: Put this as a claim's value to leave the claim out.
REMOVE = object()
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class QuietHandler(WSGIRequestHandler):
    """No access log: query strings hold the state, nonce and code of the flow."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig",
                                                 "alg": "RS256"})


class FakeProvider:
    """The provider; `reset()` before each test, then set the misbehaviour wanted."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.keys = [new_key()]
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True,
                                   request_handler=QuietHandler)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-oidc-provider")
        self._thread.start()
        self.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.account: dict[str, Any] = {
            "sub": "fake-user-1", "preferred_username": "ville.virhe",
            "given_name": "Ville", "family_name": "Virhe",
            "email": "ville.virhe@example.test", "groups": ["crm-sales"]}
        #: Claims of the next ID token to change (REMOVE leaves one out).
        self.id_token_claims: dict[str, Any] = {}
        #: Header parameters of the next ID token to change.
        self.id_token_header: dict[str, Any] = {}
        #: "key" (the published key), "none", "hs256" (client secret), "other_key".
        self.signing = "key"
        self.userinfo_claims: dict[str, Any] = {}
        #: The `iss` parameter of the authorization response (RFC 9207).
        self.authorization_iss: Any = None
        self.algorithms = ["RS256", "none", "HS256"]  # it even announces `none`
        #: Key ids left out of the JWKS (withdrawn), though the provider still signs.
        self.withdrawn: set[str] = set()
        self.codes: dict[str, dict] = {}
        self.authorize_requests: list[dict] = []
        self.issued_tokens: list[str] = []
        self._access_token = None

    def rotate_key(self) -> None:
        """Sign with a new key under a new kid; the old key disappears from the JWKS."""
        self.keys = [new_key()]

    # Tokens ----------------------------------------------------------------

    def sign(self, claims: dict, header: dict | None = None, signing: str | None = None
             ) -> str:
        signing = signing or self.signing
        key = self.keys[0]
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT", **(header or {})}
        payload = json.dumps(claims).encode()
        if signing == "none":
            header["alg"] = "none"
            header.pop("kid", None)
            return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}."
        if signing == "hs256":
            header["alg"] = "HS256"
            header.pop("kid", None)
            return jws.serialize_compact(header, payload, OctKey.import_key(self.client_secret),
                                         algorithms=["HS256"])
        if signing == "other_key":
            key = RSAKey.generate_key(2048)  # same kid, a key nobody published
        elif header["alg"] != "RS256":  # the published key, with an algorithm it is not for
            params = key.as_dict(private=True)
            key = RSAKey.import_key({k: v for k, v in params.items() if k != "alg"})
        return jws.serialize_compact(header, payload, key, algorithms=[header["alg"]])

    def id_token(self, nonce: str, access_token: str) -> str:
        now = int(time.time())
        at_hash = b64url(hashlib.sha256(access_token.encode()).digest()[:16])
        claims = {"iss": self.issuer, "sub": self.account["sub"], "aud": self.client_id,
                  "exp": now + 300, "iat": now, "auth_time": now, "nonce": nonce,
                  "sid": "fake-sid-1", "at_hash": at_hash}
        claims = _apply(claims, self.id_token_claims)
        return self.sign(claims, self.id_token_header)

    def logout_token(self, signing: str = "key", header: dict | None = None, **changes
                     ) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.account["sub"], "aud": self.client_id,
                  "iat": now, "exp": now + 120, "jti": secrets.token_hex(8),
                  "sid": "fake-sid-1", "events": {BACKCHANNEL_EVENT: {}}}
        return self.sign(_apply(claims, changes), {"typ": "logout+jwt", **(header or {})},
                         signing)

    # The HTTP side -----------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        routes = {"/.well-known/openid-configuration": self._discovery, "/jwks": self._jwks,
                  "/authorize": self._authorize, "/token": self._token,
                  "/userinfo": self._userinfo, "/end_session": self._end_session}
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    def _discovery(self, request: Request) -> Response:
        return _json({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/end_session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": self.algorithms,
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })

    def _jwks(self, request: Request) -> Response:
        return _json({"keys": [key.as_dict(private=False) for key in self.keys
                               if key.kid not in self.withdrawn]})

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        problems = [name for name, ok in [
            ("response_type", args.get("response_type") == "code"),
            ("client_id", args.get("client_id") == self.client_id),
            ("scope", "openid" in args.get("scope", "").split()),
            ("state", len(args.get("state", "")) >= 16),
            ("nonce", len(args.get("nonce", "")) >= 16),
            ("code_challenge_method", args.get("code_challenge_method") == "S256"),
            ("code_challenge", len(args.get("code_challenge", "")) >= 43),
        ] if not ok]
        if problems:
            return Response(f"bad authorization request: {problems}", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = args
        answer = {"code": code, "state": args["state"]}
        if self.authorization_iss is not REMOVE:
            answer["iss"] = self.authorization_iss or self.issuer
        return Response(status=302, headers={
            "Location": f"{args['redirect_uri']}?{urlencode(answer)}"})

    def _token(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.client_id,
                                                              self.client_secret):
            return _json({"error": "invalid_client"}, 401)
        asked = self.codes.pop(request.form.get("code", ""), None)
        if asked is None or request.form.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        verifier = request.form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != asked["code_challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        if request.form.get("redirect_uri") != asked["redirect_uri"]:
            return _json({"error": "invalid_grant"}, 400)
        access_token = secrets.token_urlsafe(24)
        id_token = self.id_token(asked["nonce"], access_token)
        self.issued_tokens += [access_token, id_token, verifier]
        self._access_token = access_token
        return _json({"access_token": access_token, "token_type": "Bearer",
                      "expires_in": 300, "id_token": id_token})

    def _userinfo(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self._access_token}":
            return _json({"error": "invalid_token"}, 401)
        return _json(_apply(dict(self.account), self.userinfo_claims))

    def _end_session(self, request: Request) -> Response:
        return Response("signed out", 200)


def _apply(claims: dict, changes: dict) -> dict:
    claims = {**claims, **changes}
    return {k: v for k, v in claims.items() if v is not REMOVE}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")

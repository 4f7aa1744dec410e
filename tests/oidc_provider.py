"""A minimal OpenID Connect provider on loopback for the single sign-on tests. It speaks the real protocol: a
discovery document, a JWKS with an RSA key, ``/authorize`` (authorisation code, PKCE S256 required), ``/token``
(code and refresh-token grants, client secret, PKCE verifier checked, RS256-signed ID token) and ``/userinfo``.

``with OidcProvider(client_id=..., client_secret=...) as provider:`` starts it on a free port. People are added with
``provider.add_user(sub, groups=[...], email=...)``; the next ``/authorize`` signs in ``provider.signed_in`` (the
provider's own browser session, which a real provider keeps in a cookie). ``provider.tamper`` spoils the next ID
token on purpose: ``"signature"``, ``"nonce"``, ``"audience"``, ``"issuer"`` or ``"key"`` (signed with a key that is
not in the JWKS). ``provider.issue_refresh_tokens = False`` leaves refresh tokens out. ``provider.requests`` lists the ``(method, path)`` of every request received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.http_receiver import LoopbackServer


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


class OidcProvider(LoopbackServer):
    def __init__(self, *, client_id: str, client_secret: str):
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.users: dict[str, dict] = {}
        self.signed_in: str | None = None
        self.tamper: str | None = None
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.id_token_lifetime = 300
        self.issue_refresh_tokens = True
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider._handle(self, "GET", b"")

            def do_POST(self):
                provider._handle(self, "POST", self.rfile.read(int(self.headers.get("Content-Length", 0))))

        self._serve(Handler)
        self.issuer = self.base_url

    # --- people -------------------------------------------------------------------------------------------------

    def add_user(self, sub: str, *, groups: list[str], email: str, given_name: str = "", family_name: str = ""):
        self.users[sub] = {
            "sub": sub,
            "email": email,
            "email_verified": True,
            "preferred_username": email.partition("@")[0],
            "given_name": given_name,
            "family_name": family_name,
            "groups": list(groups),
            "active": True,
        }
        return self.users[sub]

    def claims(self, sub: str) -> dict:
        user = self.users[sub]
        return {k: v for k, v in user.items() if k != "active"}

    # --- HTTP ---------------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        url = urlsplit(handler.path)
        self.requests.append((method, url.path))
        routes = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
        }
        route = routes.get((method, url.path))
        if route is None:
            status, headers, payload = 404, {}, b""
        else:
            params = {k: v[0] for k, v in parse_qs(url.query if method == "GET" else body.decode()).items()}
            status, headers, payload = route(params, handler.headers)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _json(status: int, data: dict):
        return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(data).encode()

    def _discovery(self, params, headers):
        return self._json(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
            },
        )

    def _jwks(self, params, headers):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return self._json(200, {"keys": [jwk]})

    def _authorize(self, params, headers):
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri:
            return self._json(400, {"error": "invalid_request"})

        def back(**answer):
            return 302, {"Location": f"{redirect_uri}?{urlencode(answer)}"}, b""

        state = params.get("state", "")
        if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
            return back(error="invalid_request", state=state)
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return back(error="invalid_request", error_description="PKCE S256 required", state=state)
        sub = self.signed_in
        if sub is None or not self.users[sub]["active"]:
            return back(error="login_required" if params.get("prompt") == "none" else "access_denied", state=state)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "sub": sub,
            "redirect_uri": redirect_uri,
            "nonce": params.get("nonce"),
            "challenge": params["code_challenge"],
        }
        return back(code=code, state=state)

    def _token(self, params, headers):
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return self._json(401, {"error": "invalid_client"})
        grant = params.get("grant_type")
        if grant == "authorization_code":
            issued = self.codes.pop(params.get("code", ""), None)  # single use
            if issued is None or issued["redirect_uri"] != params.get("redirect_uri"):
                return self._json(400, {"error": "invalid_grant"})
            if pkce_s256(params.get("code_verifier", "")) != issued["challenge"]:
                return self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
            sub, nonce = issued["sub"], issued["nonce"]
        elif grant == "refresh_token":
            sub = self.refresh_tokens.pop(params.get("refresh_token", ""), None)  # rotated on every use
            if sub is None:
                return self._json(400, {"error": "invalid_grant"})
            nonce = None
        else:
            return self._json(400, {"error": "unsupported_grant_type"})
        if not self.users[sub]["active"]:
            return self._json(400, {"error": "invalid_grant", "error_description": "account disabled"})
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = sub
        answer = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(sub, nonce=nonce),
        }
        if self.issue_refresh_tokens:
            answer["refresh_token"] = secrets.token_urlsafe(24)
            self.refresh_tokens[answer["refresh_token"]] = sub
        return self._json(200, answer)

    def _userinfo(self, params, headers):
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        sub = self.access_tokens.get(token)
        if sub is None or not self.users[sub]["active"]:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b""
        return self._json(200, self.claims(sub))

    # --- ID tokens ----------------------------------------------------------------------------------------------

    def id_token(self, sub: str, *, nonce: str | None) -> str:
        tamper, self.tamper = self.tamper, None
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + self.id_token_lifetime,
            "auth_time": now,
            **{k: v for k, v in self.claims(sub).items() if k in {"email", "groups", "preferred_username"}},
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if tamper == "nonce":
            claims["nonce"] = "not-the-nonce-we-were-given"
        if tamper == "audience":
            claims["aud"] = "some-other-client"
        if tamper == "issuer":
            claims["iss"] = "https://impostor.example.test"
        key = self.stranger_key if tamper == "key" else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        if tamper == "signature":
            header, payload, signature = token.split(".")
            # Change the claims after signing (a different subject), keeping the original signature.
            forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            forged["groups"] = ["helpdesk-admins"]
            token = f"{header}.{_b64url(json.dumps(forged).encode())}.{signature}"
        return token

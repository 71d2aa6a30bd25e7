"""A small but real OpenID Connect provider for the tests, run as its own process on 127.0.0.1.

    python tests/oidc_provider.py --port 9000 --users users.json --client-id catalog --client-secret s3cret \\
        --redirect-uri http://127.0.0.1:8000/signin/oidc/callback

It serves discovery (``/.well-known/openid-configuration``), its signing keys (``/jwks``, RS256, a fresh key per
start), ``/authorize`` (a login form; a browser that signed in before is signed in again at once, as a real single
sign-on does), ``/token`` (authorization code, one use, PKCE S256 required, client secret by HTTP Basic or form) and
``/end_session`` (ends the provider's own session, back to ``post_logout_redirect_uri``). Users and their groups are
read from the ``--users`` JSON file at every sign-in, so a test removes someone's group by rewriting that file:
``{"lan": {"password": "...", "sub": "...", "name": "...", "groups": ["..."], "department": "..."}}``; a user's
``"id_token_mode"`` makes their next ID token ``forged`` (signed with another key under the provider's kid),
``expired`` or for a ``wrong-audience``, for the tests of the catalog's refusals.

Authlib's components make the random values and check PKCE; joserfc (Authlib's JOSE library) signs the ID tokens.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any

import uvicorn
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

SSO_COOKIE = "provider_sso"


def build_app(issuer: str, users_file: Path, client_id: str, client_secret: str, redirect_uri: str) -> Starlette:
    key = RSAKey.generate_key(2048, parameters={"kid": generate_token(8), "use": "sig", "alg": "RS256"})
    codes: dict[str, dict[str, Any]] = {}  # code -> the sign-in it stands for (one use)
    sso: dict[str, str] = {}  # provider session cookie -> user name

    def users() -> dict[str, Any]:
        return json.loads(users_file.read_text(encoding="utf-8"))

    def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "end_session_endpoint": f"{issuer}/end_session",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "profile", "email"],
            }
        )

    def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    def issue(params: dict[str, str], name: str) -> Response:
        code = generate_token(32)
        codes[code] = {**params, "user": name, "at": time.time()}
        sep = "&" if "?" in params["redirect_uri"] else "?"
        query = urllib.parse.urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(params["redirect_uri"] + sep + query, status_code=302)

    def login_form(params: dict[str, str], error: str = "") -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
        )
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>City SSO</title></head><body>"
            "<h1>City single sign-on (test provider)</h1>"
            + (f"<p id='error'>{html.escape(error)}</p>" if error else "")
            + "<form method='post' action='/authorize'>"
            + hidden
            + "<label>User <input id='username' name='username'></label>"
            + "<label>Password <input id='password' name='password' type='password'></label>"
            + "<button id='login' type='submit'>Sign in</button></form></body></html>"
        )
        return HTMLResponse(page, status_code=401 if error else 200)

    def check_request(params: dict[str, str]) -> str:
        if params.get("client_id") != client_id:
            return "unknown client"
        if params.get("redirect_uri") != redirect_uri:
            return "redirect_uri not registered"
        if params.get("response_type") != "code" or "openid" not in params.get("scope", "").split():
            return "unsupported request"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE (S256) required"
        return ""

    async def authorize(request: Request) -> Response:
        keys = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge")
        if request.method == "GET":
            params = {k: request.query_params.get(k, "") for k in (*keys, "code_challenge_method")}
        else:
            form = await request.form()
            params = {k: str(form.get(k, "")) for k in (*keys, "code_challenge_method")}
        problem = check_request(params)
        if problem:
            return HTMLResponse(f"<p id='error'>{html.escape(problem)}</p>", status_code=400)
        if request.method == "GET":
            name = sso.get(request.cookies.get(SSO_COOKIE, ""))
            if name and name in users():
                return issue(params, name)
            return login_form(params)
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        user = users().get(name)
        if not user or not secrets.compare_digest(user["password"], password):
            return login_form(params, "wrong user name or password")
        response = issue(params, name)
        session = generate_token(32)
        sso[session] = name
        response.set_cookie(SSO_COOKIE, session, httponly=True, samesite="lax", path="/")
        return response

    async def token(request: Request) -> Response:
        form = await request.form()
        cid, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            cid, _, secret = (urllib.parse.unquote(p) for p in pair.partition(":"))
        if cid != client_id or not secrets.compare_digest(secret, client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None or time.time() - grant["at"] > 60:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if create_s256_code_challenge(str(form.get("code_verifier", ""))) != grant["code_challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        user = users()[grant["user"]]
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": user["sub"],
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "preferred_username": grant["user"],
            "name": user.get("name", grant["user"]),
            "groups": user.get("groups", []),
            "department": user.get("department", ""),
        }
        mode = user.get("id_token_mode", "")  # a test asks for a bad ID token: the catalog must refuse it
        signer = key
        if mode == "forged":  # the provider's kid, someone else's key
            signer = RSAKey.generate_key(2048, parameters={"kid": key.kid})
        elif mode == "expired":
            claims |= {"iat": now - 3600, "exp": now - 1800}
        elif mode == "wrong-audience":
            claims["aud"] = "another-application"
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, signer)
        return JSONResponse(
            {"access_token": generate_token(32), "token_type": "Bearer", "expires_in": 300, "id_token": id_token},
            headers={"Cache-Control": "no-store"},
        )

    def end_session(request: Request) -> Response:
        sso.pop(request.cookies.get(SSO_COOKIE, ""), None)
        back = request.query_params.get("post_logout_redirect_uri", "")
        base = redirect_uri.split("/signin/")[0] + "/"
        if request.query_params.get("client_id") == client_id and back.startswith(base):
            response: Response = RedirectResponse(back, status_code=302)
        else:
            response = HTMLResponse("<p id='signed-out'>Signed out of the city single sign-on.</p>")
        response.delete_cookie(SSO_COOKIE, path="/")
        return response

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize, methods=["GET", "POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/end_session", end_session),
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", type=Path, required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--redirect-uri", required=True)
    a = p.parse_args()
    issuer = f"http://127.0.0.1:{a.port}"
    app = build_app(issuer, a.users, a.client_id, a.client_secret, a.redirect_uri)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning")


if __name__ == "__main__":
    main()

"""OpenID Connect sign-in (authorization code flow with PKCE): the relying party the web UI uses.

- **Discovery.** The provider's ``{issuer}/.well-known/openid-configuration`` is read (and kept for an hour; read
  again when it fails); its ``issuer`` must equal the configured one. Every URL of the provider must be https, except
  http://127.0.0.1 / localhost when ``oidc_allow_http_loopback`` (or demo mode) allows it.
- **Start** (:meth:`OidcClient.begin`): discovery read again (a provider that is down is reported on the catalog's
  own sign-in page, not by a browser error at the provider's address); fresh ``state`` (the key of a one-time record ``oidc-pending/<sha256>`` with
  the nonce, the PKCE verifier and where to go next; 10 minutes) and ``nonce``; the browser also gets the state in a
  cookie, so a callback is accepted only in the browser that started it. The authorization URL carries
  ``code_challenge`` (S256), never a token.
- **Callback** (:meth:`OidcClient.finish`): the state must match the cookie and a pending record, which is deleted
  before anything else (a replayed state is refused); the code is exchanged at the token endpoint with the verifier
  and the client's credentials; the ID token's signature is checked against the provider's JWKS (asymmetric
  algorithms only; keys read again once for an unknown ``kid``), and its ``iss``, ``aud`` (and ``azp`` with several
  audiences), ``exp``, ``iat`` (``oidc_clock_skew_seconds`` of tolerance) and ``nonce``. Tokens are kept nowhere
  and never logged: what the catalog keeps is the session it opens.
- **Sign-out**: the provider's ``end_session_endpoint``, when it has one, with ``client_id`` and
  ``post_logout_redirect_uri`` (no ID token in the URL).

Authlib makes the PKCE pair and the random values; joserfc (Authlib's JOSE library) verifies the ID token. The
provider is reached with the standard library's HTTP client (a bounded response, ``oidc_timeout_seconds``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from catalog.errors import CatalogError
from catalog.i18n import msg
from catalog.settings import Settings
from catalog.store.base import WriteContext

PENDING = "oidc-pending"
PENDING_MINUTES = 10
DISCOVERY_SECONDS = 3600
MAX_RESPONSE = 1_000_000  # bytes read from the provider at most
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

Fetch = Callable[[str, dict[str, str] | None, dict[str, str] | None], dict[str, Any]]


class SignInFailed(CatalogError):
    """The provider's answer was not accepted (401); ``reason`` is the code logged (never a token)."""

    status = 401
    code = "oidc-refused"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(msg("oidc-refused"))


class ProviderDown(CatalogError):
    """The provider could not be reached or answered nonsense (503); local accounts still work."""

    status = 503
    code = "oidc-provider-down"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(msg("oidc-provider-down"))


class NotConfigured(CatalogError):
    status = 404
    code = "oidc-not-configured"

    def __init__(self) -> None:
        super().__init__(msg("oidc-not-configured"))


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    algorithms: tuple[str, ...]
    token_auth: str  # client_secret_basic or client_secret_post


@dataclass(frozen=True)
class Verified:
    """A sign-in the provider vouched for: the ID token's verified claims and where the user was going."""

    claims: dict[str, Any]
    next: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def allowed_url(url: Any, settings: Settings) -> bool:
    """Whether a provider URL may be used: https, or http to the loopback when the settings allow it."""
    return settings.provider_url_allowed(url)


def http_json(url: str, form: dict[str, str] | None, headers: dict[str, str] | None, timeout: float) -> dict:
    """GET (or POST ``form``) ``url`` and parse its JSON object; ProviderDown on any failure (the reason names the
    kind of failure, never the body)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, headers={"Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # the URL was checked: https or allowed loopback
            body = resp.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 401):  # the provider refused the code or the client: not "down"
            raise SignInFailed(f"token-endpoint-{exc.code}") from None
        raise ProviderDown(f"http-{exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ProviderDown(type(exc).__name__) from None
    if len(body) > MAX_RESPONSE:
        raise ProviderDown("response-too-large")
    try:
        doc = json.loads(body)
    except ValueError:
        raise ProviderDown("not-json") from None
    if not isinstance(doc, dict):
        raise ProviderDown("not-json")
    return doc


class OidcClient:
    """The catalog as an OpenID Connect relying party (one per app: ``app.state.oidc``). ``fetch`` and ``now`` can be
    replaced (tests); by default the provider is reached over HTTP and the clock is the system's."""

    def __init__(self, settings: Settings, fetch: Fetch | None = None, now: Callable[[], float] | None = None):
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise NotConfigured()
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret is not None else None
        self.fetch: Fetch = fetch or (lambda u, f, h: http_json(u, f, h, settings.oidc_timeout_seconds))
        self.now = now or time.time
        self._lock = threading.Lock()
        self._provider: tuple[float, Provider] | None = None
        self._keys: KeySet | None = None

    # --- the provider --------------------------------------------------------------------------------------------
    def provider(self, refresh: bool = False) -> Provider:
        """The provider's endpoints by discovery (kept for an hour; ``refresh``: read now); ProviderDown when it
        cannot be read."""
        with self._lock:
            if not refresh and self._provider is not None and self.now() - self._provider[0] < DISCOVERY_SECONDS:
                return self._provider[1]
        if not allowed_url(self.issuer, self.settings):
            raise ProviderDown("issuer-not-https")
        doc = self.fetch(self.issuer + "/.well-known/openid-configuration", None, None)
        if doc.get("issuer", "").rstrip("/") != self.issuer:
            raise ProviderDown("issuer-mismatch")
        urls = {k: doc.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        for key, url in urls.items():
            if not allowed_url(url, self.settings):
                raise ProviderDown(f"{key}-not-https")
        end = doc.get("end_session_endpoint")
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in offered if a in ALGORITHMS) if isinstance(offered, list) else ("RS256",)
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        basic = not isinstance(methods, list) or "client_secret_basic" in methods
        provider = Provider(
            issuer=self.issuer,
            authorization_endpoint=str(urls["authorization_endpoint"]),
            token_endpoint=str(urls["token_endpoint"]),
            jwks_uri=str(urls["jwks_uri"]),
            end_session_endpoint=end if allowed_url(end, self.settings) else None,
            algorithms=algorithms or ("RS256",),
            token_auth="client_secret_basic" if basic else "client_secret_post",
        )
        with self._lock:
            self._provider = (self.now(), provider)
        return provider

    def keys(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        doc = self.fetch(self.provider().jwks_uri, None, None)
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderDown("jwks-unreadable") from None
        with self._lock:
            self._keys = keys
        return keys

    # --- the flow ------------------------------------------------------------------------------------------------
    def begin(self, store: Any, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """(the provider's authorization URL, the state for the browser's cookie); the pending sign-in is kept in
        the store for :data:`PENDING_MINUTES`."""
        provider = self.provider(refresh=True)  # a provider that is down is said so here, not by the browser
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        ctx = WriteContext(actor="oidc")
        self._forget_stale(store, ctx)
        store.put_record(
            PENDING,
            _sha256(state),
            {
                "nonce": nonce,
                "verifier": verifier,
                "next": next_url,
                "redirect_uri": redirect_uri,
                "created": self.now(),
            },
            ctx,
            expected_version=0,
            log=False,
        )
        scopes = self.settings.oidc_scopes.split()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(["openid", *[s for s in scopes if s != "openid"]]),
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        sep = "&" if "?" in provider.authorization_endpoint else "?"
        return provider.authorization_endpoint + sep + urllib.parse.urlencode(query), state

    def _forget_stale(self, store: Any, ctx: WriteContext) -> None:
        """Delete pending sign-ins older than :data:`PENDING_MINUTES` (abandoned at the provider)."""
        limit = self.now() - PENDING_MINUTES * 60
        for rec in store.list_records(PENDING, limit=200):
            created = rec.data.get("created")
            if not isinstance(created, (int, float)) or created < limit:
                try:
                    store.delete_record(PENDING, rec.key, ctx, log=False)
                except CatalogError:
                    pass

    def finish(self, store: Any, state: str, code: str, cookie_state: str) -> Verified:
        """Check the callback and the ID token; the verified claims, or SignInFailed naming why (ProviderDown when
        the provider cannot be reached)."""
        if not state or len(state) > 200 or not code or len(code) > 2000:
            raise SignInFailed("callback-malformed")
        key = _sha256(state)
        pending = store.get_record(PENDING, key)
        if pending is None:
            raise SignInFailed("state-unknown-or-used")
        try:  # one use only: gone before anything else is looked at
            store.delete_record(PENDING, key, WriteContext(actor="oidc"), expected_version=pending.version, log=False)
        except CatalogError:
            raise SignInFailed("state-unknown-or-used") from None
        if not cookie_state or _sha256(cookie_state) != key:
            raise SignInFailed("state-not-this-browser")
        data = pending.data
        if not isinstance(data.get("created"), (int, float)) or self.now() - data["created"] > PENDING_MINUTES * 60:
            raise SignInFailed("state-expired")
        provider = self.provider()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": data["redirect_uri"],
            "code_verifier": data["verifier"],
            "client_id": self.client_id,
        }
        headers: dict[str, str] = {}
        if self.client_secret and provider.token_auth == "client_secret_basic":
            pair = f"{urllib.parse.quote(self.client_id, safe='')}:{urllib.parse.quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif self.client_secret:
            form["client_secret"] = self.client_secret
        answer = self.fetch(provider.token_endpoint, form, headers)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise SignInFailed("no-id-token")
        claims = self.verify_id_token(id_token, data["nonce"])
        return Verified(claims, str(data.get("next") or "/"))

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token whose signature, issuer, audience, dates and nonce check out."""
        provider = self.provider()
        if len(id_token) > 100_000:
            raise SignInFailed("id-token-too-large")
        try:
            token = jwt.decode(id_token, self.keys(), algorithms=list(provider.algorithms))
        except InvalidKeyIdError:
            try:  # a key the provider has rolled in since the keys were read
                token = jwt.decode(id_token, self.keys(refresh=True), algorithms=list(provider.algorithms))
            except JoseError:
                raise SignInFailed("id-token-signature") from None
        except JoseError:
            raise SignInFailed("id-token-signature") from None
        except (ValueError, TypeError):
            raise SignInFailed("id-token-malformed") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.now()),
            leeway=self.settings.oidc_clock_skew_seconds,
            iss={"essential": True, "value": provider.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInFailed(f"id-token-{getattr(exc, 'claim', '') or 'claims'}".rstrip("-")) from None
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat > self.now() + self.settings.oidc_clock_skew_seconds:
            raise SignInFailed("id-token-iat")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInFailed("id-token-azp")
        if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
            raise SignInFailed("id-token-nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
            raise SignInFailed("id-token-sub")
        return dict(claims)

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (None: the provider has no such endpoint or
        cannot be reached now)."""
        try:
            end = self.provider().end_session_endpoint
        except CatalogError:
            return None
        if not end:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        return end + ("&" if "?" in end else "?") + urllib.parse.urlencode(query)


__all__ = [
    "ALGORITHMS",
    "NotConfigured",
    "OidcClient",
    "Provider",
    "ProviderDown",
    "SignInFailed",
    "Verified",
    "allowed_url",
    "http_json",
]

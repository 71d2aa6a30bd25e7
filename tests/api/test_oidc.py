"""OpenID Connect sign-in, in process: the callback handler refuses every ID token and state it must refuse (a forged
signature, an expired token, a wrong audience, a wrong nonce, a replayed state, a state from another browser), the
claim mapping decides role and organisation and logs why, users follow the provider at every sign-in, a user the
mapping no longer admits is refused and their sessions end, a local account is never taken over, https is required,
local sign-in can be limited to administrators, and API tokens are listed, created (shown once) and revoked on
/account. The provider here is a fake whose keys and answers the test controls; tests/web/test_oidc.py runs the
whole flow in a browser against a real provider process."""

from __future__ import annotations

import logging
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from api.app import create_app
from api.oidc import OidcClient, ProviderDown, SignInFailed, allowed_url
from catalog.accounts import Accounts
from catalog.claims import load_mapping, parse_mapping
from catalog.errors import ValidationFailed
from catalog.settings import Settings
from catalog.store import open_store

ISSUER = "https://sso.hcm.example"
CLIENT = "ioc-catalog"
MAPPING = Path(__file__).resolve().parents[2] / "docs" / "oidc-claims.example.yaml"


@dataclass
class FakeProvider:
    """Discovery, keys and a token endpoint whose next ID token the test writes (``claims``, ``key``)."""

    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    claims: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    down: bool = False
    calls: list[str] = field(default_factory=list)

    def fetch(self, url: str, form: dict[str, str] | None, headers: dict[str, str] | None) -> dict[str, Any]:
        self.calls.append(url)
        if self.down:
            raise ProviderDown("URLError")
        if url.endswith("/.well-known/openid-configuration"):
            return {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "end_session_endpoint": f"{ISSUER}/logout",
                "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
            }
        if url.endswith("/jwks"):
            return {"keys": [self.key.as_dict(private=False)]}
        assert url.endswith("/token") and form is not None
        assert form["grant_type"] == "authorization_code" and len(form["code_verifier"]) >= 43
        assert headers and headers["Authorization"].startswith("Basic ")  # the secret never in a form or URL
        key = self.sign_with or self.key
        return {"id_token": jwt.encode({"alg": "RS256", "kid": key.kid or "k1"}, self.claims, key)}


def claims_for(nonce: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "sub-lan-0001",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "preferred_username": "lan.nguyen",
        "name": "Nguyễn Thị Lan",
        "email": "lan.nguyen@hcm.example",
        "groups": ["ioc-editors-skhcn"],
    }
    return {**base, **over}


@dataclass
class Sso:
    client: TestClient
    provider: FakeProvider
    store: Any
    settings: Settings

    def start(self, client: TestClient | None = None) -> tuple[str, str]:
        """GET /signin/oidc: (state, nonce) of the authorization request."""
        c = client or self.client
        r = c.get("/signin/oidc?next=/my-org", follow_redirects=False)
        assert r.status_code == 303, r.text[-500:]
        url = r.headers["location"]
        assert url.startswith(f"{ISSUER}/authorize?")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
        assert "scope" in q and q["scope"].split()[0] == "openid" and "token" not in url.lower().replace("code", "")
        return q["state"], q["nonce"]

    def callback(self, state: str, client: TestClient | None = None) -> Any:
        c = client or self.client
        return c.get(f"/signin/oidc/callback?code=c0de&state={state}", follow_redirects=False)

    def sign_in(self, client: TestClient | None = None, **over: Any) -> Any:
        state, nonce = self.start(client)
        self.provider.claims = claims_for(nonce, **over)
        return self.callback(state, client)


@pytest.fixture
def sso(tmp_path: Path, template_catalog: tuple[Path, dict[str, str]]) -> Iterator[Sso]:
    template, _ = template_catalog
    shutil.copyfile(template, tmp_path / "catalog.db")
    store = open_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    settings = Settings(
        demo=True,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT,
        oidc_client_secret="client-secret-for-tests",
        oidc_claims_mapping=str(MAPPING),
    )
    provider = FakeProvider()
    app = create_app(settings, store=store)
    app.state.oidc = OidcClient(settings, fetch=provider.fetch)
    try:
        with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
            yield Sso(client, provider, store, settings)
    finally:
        store.close()


def signed_in_as(client: TestClient) -> str:
    r = client.get("/api/v1/me")
    assert r.status_code == 200, r.text
    return r.json()["name"] if r.json().get("role") else ""


# --- the callback handler refuses what it must --------------------------------------------------------------------


def test_a_good_sign_in_lands_as_the_mapped_editor(sso: Sso, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "ioc_catalog.auth")
    r = sso.sign_in()
    assert r.status_code == 303 and r.headers["location"] == "/my-org"
    me = sso.client.get("/api/v1/me").json()
    assert (me["name"], me["role"], me["org"]) == ("lan.nguyen", "editor", "organization:hcm-skhcn")
    user = Accounts(sso.store).get_user("lan.nguyen")
    assert user.issuer == ISSUER and user.display == "Nguyễn Thị Lan" and user.email == "lan.nguyen@hcm.example"
    logged = [r.getMessage() for r in caplog.records]
    assert any("mapping admitted" in m and "ioc-editors-skhcn" in m and "role=editor" in m for m in logged), logged
    assert not any(sso.provider.claims["nonce"] in m or "eyJ" in m for m in logged)  # no token, no nonce


@pytest.mark.parametrize(
    ("case", "over"),
    [
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("wrong audience", {"aud": "another-app"}),
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("wrong nonce", {"nonce": "not-the-one-sent"}),
        ("issued in the future", {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}),
        ("several audiences, no azp", {"aud": [CLIENT, "another-app"]}),
        ("no subject", {"sub": ""}),
    ],
)
def test_a_bad_id_token_is_refused(sso: Sso, case: str, over: dict[str, Any]) -> None:
    state, nonce = sso.start()
    sso.provider.claims = {**claims_for(nonce), **over}
    r = sso.callback(state)
    assert r.status_code == 401, case
    assert "ioc_session" not in r.cookies
    assert "Không xác minh được phản hồi" in r.text  # the page's language (vi by default)
    assert sso.store.get_record("user", "lan.nguyen") is None


def test_a_forged_id_token_signed_with_another_key_is_refused(sso: Sso) -> None:
    sso.provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, not the provider's key
    r = sso.sign_in()
    assert r.status_code == 401 and "ioc_session" not in r.cookies
    sso.provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "rogue"})  # an unknown kid: keys re-read
    before = sso.provider.calls.count(f"{ISSUER}/jwks")
    r = sso.sign_in()
    assert r.status_code == 401 and sso.provider.calls.count(f"{ISSUER}/jwks") == before + 1


def test_a_replayed_state_is_refused(sso: Sso) -> None:
    state, nonce = sso.start()
    sso.provider.claims = claims_for(nonce)
    assert sso.callback(state).status_code == 303
    sso.client.cookies.delete("ioc_session")
    r = sso.callback(state)  # the same callback URL again, same browser (its state cookie is gone: set it back)
    assert r.status_code == 401
    sso.client.cookies.set("ioc_oidc_state", state, path="/signin/oidc")
    r = sso.callback(state)
    assert r.status_code == 401 and "ioc_session" not in r.cookies


def test_a_state_started_in_another_browser_is_refused(sso: Sso) -> None:
    state, nonce = sso.start()
    sso.provider.claims = claims_for(nonce)
    with TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1") as other:
        r = sso.callback(state, other)  # login CSRF: someone else's callback URL opened in this browser
    assert r.status_code == 401 and "ioc_session" not in r.cookies
    assert sso.callback(state).status_code == 401  # and that state is spent


def test_the_provider_refusing_or_being_down_is_shown_and_local_admins_still_sign_in(
    sso: Sso, template_catalog: tuple[Path, dict[str, str]]
) -> None:
    r = sso.client.get("/signin/oidc/callback?error=access_denied&state=x", follow_redirects=False)
    assert r.status_code == 401 and "không cho bạn đăng nhập" in r.text
    sso.client.app.state.oidc = OidcClient(sso.settings, fetch=FakeProvider(down=True).fetch)
    r = sso.client.get("/signin/oidc?lang=en", follow_redirects=False)
    assert r.status_code == 424 and "cannot be reached now" in r.text and "local account" in r.text
    page = sso.client.get("/signin?lang=en")
    assert page.status_code == 200 and 'id="signin-local"' in page.text and 'id="signin-sso"' in page.text


# --- who is who: the mapping, just in time --------------------------------------------------------------------------


def test_the_role_follows_the_provider_and_a_user_no_longer_admitted_loses_their_sessions(
    sso: Sso, caplog: pytest.LogCaptureFixture
) -> None:
    assert sso.sign_in().status_code == 303
    old = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    old.cookies.set("ioc_session", sso.client.cookies["ioc_session"])
    assert old.get("/api/v1/me").json()["role"] == "editor"
    token = Accounts(sso.store).create_token("lan.nguyen", "script").secret

    fresh = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert sso.sign_in(fresh, groups=["ioc-architects"]).status_code == 303  # moved to the architects' group
    assert fresh.get("/api/v1/me").json()["role"] == "architect"
    assert old.get("/api/v1/me").json()["role"] == "architect"  # the role is the user's, now

    caplog.set_level(logging.INFO, "ioc_catalog.auth")
    again = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    r = sso.sign_in(again, groups=["some-other-group"])
    assert r.status_code == 403 and "ioc_session" not in r.cookies
    assert "không có quyền vào danh mục" in r.text
    assert old.get("/api/v1/me").status_code == 401  # the old sessions end
    assert fresh.get("/api/v1/me").status_code == 401
    assert sso.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "mapping refused" in logged and "no-rule-matched" in logged and "not-admitted-sessions-ended" in logged

    back = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert sso.sign_in(back).status_code == 303  # in the group again: let in again
    assert back.get("/api/v1/me").json()["role"] == "editor"


def test_a_local_account_is_never_taken_over_and_an_admins_disabling_stands(sso: Sso) -> None:
    r = sso.sign_in(preferred_username="admin", groups=["ioc-admins"], sub="someone-else")
    assert r.status_code == 403 and "ioc_session" not in r.cookies
    assert Accounts(sso.store).get_user("admin").issuer is None
    assert sso.sign_in().status_code == 303
    Accounts(sso.store).set_disabled("lan.nguyen")  # an administrator's decision
    c = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert sso.sign_in(c).status_code == 403


def test_an_editor_of_an_organisation_the_catalog_lacks_is_refused(sso: Sso, tmp_path: Path) -> None:
    assert sso.sign_in().status_code == 303  # signed in as the editor of hcm-skhcn
    path = tmp_path / "m.yaml"
    path.write_text("rules:\n  - group: g\n    role: editor\n    org: organization:nowhere\n", encoding="utf-8")
    sso.client.app.state.oidc_mapping = load_mapping(path)
    other = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert sso.sign_in(other, groups=["g"]).status_code == 403
    assert sso.client.get("/api/v1/me").status_code == 401  # and the earlier session ends


def test_the_mapping_file_is_checked_with_every_fault_named() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_mapping(
            {
                "claims": {"groups": ""},
                "rules": [{"role": "editor", "grup": "x"}, {"group": "y", "role": "owner"}],
                "default": "admin",
            }
        )
    where = sorted(e.location for e in err.value.errors)
    assert where == ["claims.groups", "default", "rules[1]", "rules[1].grup", "rules[1].org", "rules[2].role"]
    m = parse_mapping({"rules": [{"department": "Sở Tài chính", "role": "viewer"}], "default": "viewer"})
    assert m.decide({"sub": "x", "preferred_username": "a1", "department": "Sở Tài chính"}).rule.startswith("rule 1")
    assert m.decide({"sub": "x", "preferred_username": "a1", "groups": "nope"}).reason == "default"


# --- secure defaults ------------------------------------------------------------------------------------------------


def test_https_is_required_outside_demo_mode_unless_loopback_http_is_allowed() -> None:
    strict = Settings(demo=False, secret_key="k" * 40)
    assert allowed_url("https://sso.example/x", strict)
    assert not allowed_url("http://sso.example/x", strict)
    assert not allowed_url("http://127.0.0.1:9000", strict)
    assert allowed_url("http://127.0.0.1:9000", Settings(demo=False, oidc_allow_http_loopback=True))
    assert not allowed_url("http://10.0.0.1:9000", Settings(demo=False, oidc_allow_http_loopback=True))
    client = OidcClient(
        Settings(demo=False, oidc_issuer="http://sso.example", oidc_client_id="c"), fetch=FakeProvider().fetch
    )
    with pytest.raises(ProviderDown):
        client.provider()


def test_clock_skew_is_bounded() -> None:
    provider = FakeProvider()
    settings = Settings(demo=True, oidc_issuer=ISSUER, oidc_client_id=CLIENT, oidc_clock_skew_seconds=60)
    client = OidcClient(settings, fetch=provider.fetch)
    now = int(time.time())
    late = jwt.encode({"alg": "RS256", "kid": "k1"}, claims_for("n", exp=now - 30), provider.key)
    assert client.verify_id_token(late, "n")["sub"] == "sub-lan-0001"  # 30 s late: within the skew
    too_late = jwt.encode({"alg": "RS256", "kid": "k1"}, claims_for("n", exp=now - 120), provider.key)
    with pytest.raises(SignInFailed):
        client.verify_id_token(too_late, "n")
    with pytest.raises(ValueError):
        Settings(oidc_clock_skew_seconds=3600)


def test_local_sign_in_can_be_kept_for_administrators_only(
    tmp_path: Path, template_catalog: tuple[Path, dict[str, str]]
) -> None:
    template, _ = template_catalog
    shutil.copyfile(template, tmp_path / "c.db")
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        Accounts(store).set_password("admin", "admin-password-1")
        Accounts(store).set_password("architect", "architect-pass-1")
        for policy, admin_ok, architect_ok in (("admins", True, False), ("none", False, False)):
            app = create_app(Settings(demo=True, local_signin=policy), store=store)
            with TestClient(app, raise_server_exceptions=False) as c:
                csrf = _csrf(c)
                r = c.post("/signin", data={"csrf": csrf, "name": "architect", "password": "architect-pass-1"})
                assert (r.status_code in (200, 303) and "ioc_session" in c.cookies) == architect_ok, policy
                r = c.post(
                    "/signin",
                    data={"csrf": csrf, "name": "admin", "password": "admin-password-1"},
                    follow_redirects=False,
                )
                assert (r.status_code == 303) == admin_ok, policy
    finally:
        store.close()


def _csrf(c: TestClient) -> str:
    """The CSRF token of this browser, as the server's forms carry it (the cookie is set by the first page)."""
    import hashlib
    import hmac

    c.get("/signin")
    secret = c.app.state.settings.secret_key.get_secret_value().encode()  # type: ignore[attr-defined]
    return hmac.new(secret, b"csrf:" + c.cookies["ioc_csrf"].encode(), hashlib.sha256).hexdigest()


# --- machines keep tokens: the account page -------------------------------------------------------------------------


def test_the_account_page_lists_creates_once_and_revokes_tokens(sso: Sso) -> None:
    assert sso.sign_in().status_code == 303
    page = sso.client.get("/account?lang=en")
    assert page.status_code == 200 and "the city&#39;s single sign-on" in page.text and "No API tokens." in page.text
    csrf = _csrf(sso.client)
    r = sso.client.post("/account/tokens", data={"csrf": csrf, "label": "nightly export", "expires_days": "30"})
    assert r.status_code == 200 and 'id="token-secret"' in r.text and r.headers["cache-control"] == "no-store"
    secret = r.text.split('id="token-secret">')[1].split("<")[0]
    me = sso.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, cookies={})
    assert (me.json()["name"], me.json()["role"], me.json()["org"]) == (
        "lan.nguyen",
        "editor",
        "organization:hcm-skhcn",
    )
    again = sso.client.get("/account")
    assert "nightly export" in again.text and secret not in again.text  # shown once
    token_id = secret.split("_")[1]
    assert sso.client.post("/account/tokens", data={"csrf": csrf, "expires_days": "9999"}).status_code == 422
    others = Accounts(sso.store).create_token("architect", "theirs").id
    assert sso.client.post("/account/tokens/revoke", data={"csrf": csrf, "id": others}).status_code == 404
    r = sso.client.post("/account/tokens/revoke", data={"csrf": csrf, "id": token_id}, follow_redirects=False)
    assert r.status_code == 303
    assert sso.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert {t["id"] for t in Accounts(sso.store).list_tokens()} >= {others}
    Accounts(sso.store).set_password("admin", "admin-password-1")  # an administrator sees and revokes everyone's
    admin = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    admin_csrf = _csrf(admin)
    signed = admin.post("/signin", data={"csrf": admin_csrf, "name": "admin", "password": "admin-password-1"})
    assert signed.status_code == 200 and "ioc_session" in admin.cookies
    listed = admin.get("/account?lang=en")
    assert f'data-token="{others}"' in listed.text and "Owner" in listed.text
    r = admin.post("/account/tokens/revoke", data={"csrf": admin_csrf, "id": others}, follow_redirects=False)
    assert r.status_code == 303 and others not in {t["id"] for t in Accounts(sso.store).list_tokens()}
    anon = TestClient(sso.client.app, raise_server_exceptions=False, base_url="http://127.0.0.1")
    assert anon.get("/account", follow_redirects=False).status_code == 303


def test_refused_callbacks_count_against_the_address(sso: Sso) -> None:
    settings = sso.settings.model_copy(update={"signin_failures_per_address": 2})
    app = create_app(settings, store=sso.store)
    app.state.oidc = OidcClient(settings, fetch=sso.provider.fetch)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        for _ in range(2):
            assert c.get("/signin/oidc/callback?code=x&state=forged", follow_redirects=False).status_code == 401
        r = c.get("/signin/oidc/callback?code=x&state=forged&lang=en", follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0 and "Try again in" in r.text


def test_a_single_sign_on_set_up_halfway_refuses_to_serve_naming_each_fault(tmp_path: Path) -> None:
    bad = tmp_path / "claims.yaml"
    bad.write_text("rules:\n  - group: g\n    role: owner\n", encoding="utf-8")
    settings = Settings(
        demo=False,
        secret_key="k" * 40,
        oidc_issuer="http://sso.example",
        oidc_redirect_url="http://catalog.example/signin/oidc/callback",
        oidc_claims_mapping=str(bad),
    )
    with pytest.raises(ValidationFailed) as err:
        settings.check_secrets()
    where = [e.location for e in err.value.errors]
    assert where == [
        "IOC_CATALOG_OIDC_ISSUER",
        "IOC_CATALOG_OIDC_REDIRECT_URL",
        "IOC_CATALOG_OIDC_CLIENT_ID",
        f"{bad}: rules[1].role",
    ], where
    assert "https" in err.value.errors[0].reason.text("en")
    Settings(
        demo=False,
        secret_key="k" * 40,
        oidc_issuer="https://sso.example/realms/hcm",
        oidc_client_id="ioc-catalog",
        oidc_claims_mapping=str(MAPPING),
    ).check_secrets()  # complete: serves

"""Sign in with the city's identity provider, in headless Chromium, against a real OpenID Connect provider process
(tests/oidc_provider.py on 127.0.0.1) and the real server (``ioc-catalog serve``) configured for it with the claim
mapping of docs/oidc-claims.example.yaml.

- A department editor signs in through the provider, lands as editor of organization:hcm-skhcn by the claim mapping,
  edits their system, and signs out of the catalog and of the provider.
- A user whose group is removed at the provider is refused at the next sign-in, and an old session of theirs stops
  working.
- The sign-in page offers both doors in the page's language; local accounts still sign in.

- An ID token the provider forges (another key under its kid), an expired one and one for another audience are each
  refused, and so is a replayed callback URL; more refusals (nonce, issuer, iat, azp, a state from another browser)
  are in tests/api/test_oidc.py with tokens the test signs itself.
- With the provider down, the sign-in page says so and local accounts still sign in.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web.test_labels import _problems
from web.uitest import PASSWORD, ROOT, Session, _free_port, build_catalog

CLIENT_ID, CLIENT_SECRET = "ioc-catalog", "provider-test-secret-" + secrets.token_hex(8)
EDITOR, EDITOR_PASSWORD = "lan.nguyen", "lan-provider-password"
SYSTEM = "system:hcm-cong-1022"  # owned by organization:hcm-skhcn in the sample


@dataclass
class Sso:
    base: str
    provider: str
    users: Path
    log: Path
    provider_proc: subprocess.Popen

    def set_groups(self, name: str, groups: list[str]) -> None:
        self.set(name, groups=groups)

    def set(self, name: str, **values: object) -> None:
        doc = json.loads(self.users.read_text(encoding="utf-8"))
        doc[name].update(values)
        self.users.write_text(json.dumps(doc), encoding="utf-8")


def _start(cmd: list[str], env: dict[str, str], log: Path, health: str) -> subprocess.Popen:
    out = log.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(health, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{cmd[1]} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sso]:
    tmp = tmp_path_factory.mktemp("oidc")
    url = build_catalog(tmp / "catalog.db")
    port, provider_port = _free_port(), _free_port()
    base, provider = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{provider_port}"
    users = tmp / "provider-users.json"
    users.write_text(
        json.dumps(
            {
                EDITOR: {
                    "password": EDITOR_PASSWORD,
                    "sub": "5f0c1d2e-lan",
                    "name": "Nguyễn Thị Lan",
                    "groups": ["ioc-editors-skhcn", "staff"],
                    "department": "Văn phòng Sở",  # no rule of the mapping matches it: the group alone lets Lan in
                }
            }
        ),
        encoding="utf-8",
    )
    provider_proc = _start(
        [
            sys.executable,
            "tests/oidc_provider.py",
            "--port",
            str(provider_port),
            "--users",
            str(users),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            f"{base}/signin/oidc/callback",
        ],
        dict(os.environ),
        tmp / "provider.log",
        f"{provider}/.well-known/openid-configuration",
    )
    env = {
        **os.environ,
        "IOC_CATALOG_SECRET_KEY": secrets.token_hex(32),
        "NO_COLOR": "1",
        "IOC_CATALOG_OIDC_ISSUER": provider,
        "IOC_CATALOG_OIDC_CLIENT_ID": CLIENT_ID,
        "IOC_CATALOG_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "IOC_CATALOG_OIDC_CLAIMS_MAPPING": str(ROOT / "docs" / "oidc-claims.example.yaml"),
        "IOC_CATALOG_OIDC_ALLOW_HTTP_LOOPBACK": "true",
    }
    env.pop("IOC_CATALOG_DEMO", None)
    server_log = tmp / "server.log"
    server_proc = _start(
        [sys.executable, "-m", "api.cli", "serve", "--store", url, "--port", str(port)],
        env,
        server_log,
        f"{base}/api/v1/health",
    )
    try:
        yield Sso(base, provider, users, server_log, provider_proc)
    finally:
        _stop(server_proc)
        _stop(provider_proc)
        text = server_log.read_text()
        assert CLIENT_SECRET not in text and EDITOR_PASSWORD not in text and "eyJ" not in text, "a secret was logged"


def _sso_sign_in(s: Session, sso: Sso, first_time: bool = True) -> None:
    """Click the single sign-on button; at the provider, fill its login form the first time (after that the
    provider's own session signs the browser in at once)."""
    s.goto("/signin")
    s.page.click("#signin-sso-go")
    if first_time:
        s.page.wait_for_url(f"{sso.provider}/authorize**")
        s.page.fill("#username", EDITOR)
        s.page.fill("#password", EDITOR_PASSWORD)
        s.page.click("#login")
    s.page.wait_for_url(f"{sso.base}/**")


def test_a_department_editor_signs_in_through_the_provider_edits_their_system_and_signs_out(
    browser: object, sso: Sso
) -> None:
    s = Session(browser, sso.base, None, "oidc_editor")
    try:
        s.goto("/signin")  # both doors, in Vietnamese (the page's language)
        assert s.page.inner_text("#signin-sso-go") == "Đăng nhập một lần của thành phố"
        assert s.page.inner_text("#signin-local h2") == "Tài khoản riêng của danh mục"
        assert s.page.evaluate("document.documentElement.scrollWidth") <= 1280
        s.shot("signin")
        s.page.set_viewport_size({"width": 390, "height": 844})
        s.goto("/signin?lang=en")
        assert s.page.inner_text("#signin-sso-go") == "Sign in with the city's single sign-on"
        assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
        s.shot("signin-phone-en")
        s.page.set_viewport_size({"width": 1280, "height": 860})
        s.goto("/signin?lang=vi")

        s.page.click("#signin-sso-go")
        s.page.wait_for_url(f"{sso.provider}/authorize**")  # at the provider: PKCE, no token in the URL
        assert "code_challenge_method=S256" in s.page.url and "id_token" not in s.page.url
        s.page.fill("#username", EDITOR)
        s.page.fill("#password", EDITOR_PASSWORD)
        s.page.click("#login")
        s.page.wait_for_url(f"{sso.base}/")
        assert "code=" not in s.page.url and "state=" not in s.page.url
        who = s.page.inner_text("#who")
        assert EDITOR in who and "Biên tập viên" in who and "Sở Khoa học và Công nghệ" in who, who

        s.goto(f"/entities/{SYSTEM}/edit")  # their department's system
        s.page.fill("#attr_vendor", "Công ty phần mềm Quang Trung")
        s.page.click("#save")
        s.page.wait_for_url(f"**/entities/{SYSTEM}?**")
        assert "Công ty phần mềm Quang Trung" in s.page.inner_text("#attributes")
        assert EDITOR in s.page.inner_text("#history")  # the change is theirs
        s.shot("edited")

        s.goto("/account")
        assert s.page.inner_text("#account-source") == "đăng nhập một lần của thành phố"
        s.page.fill("#token-label", "báo cáo hằng đêm")
        s.page.click("#token-create button[type=submit]")
        secret = s.page.inner_text("#token-secret")
        me = httpx.get(f"{sso.base}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
        assert (me["name"], me["role"], me["org"]) == (EDITOR, "editor", "organization:hcm-skhcn")
        s.shot("account")
        s.page.set_viewport_size({"width": 390, "height": 844})
        s.goto("/account?lang=en")
        assert "báo cáo hằng đêm" in s.page.inner_text("#tokens")  # listed; its secret is not shown again
        assert secret not in s.page.content() and s.page.locator("#token-secret").count() == 0
        assert s.page.evaluate("document.documentElement.scrollWidth") <= 390
        theirs = set("báo cáo hằng đêm nguyễn thị lan".split())  # the user's own words: their name, their label
        assert _problems(s, "en", (theirs, set())) == []  # one language, labels not raw values
        s.shot("account-phone-en")
        s.page.set_viewport_size({"width": 1280, "height": 860})
        s.goto("/account?lang=vi")  # back to Vietnamese (the switch is remembered)
        assert _problems(s, "vi", (set(), set())) == []

        with s.page.expect_navigation(url=f"{sso.base}/signin?signed_out=1"):
            s.page.click("header form.signout button")  # out of the catalog, then of the provider, and back
        assert "đăng xuất khỏi danh mục và khỏi hệ thống đăng nhập một lần" in s.page.inner_text("#signin-notice")
        assert s.page.locator("#who").count() == 0
        s.page.click("#signin-sso-go")  # the provider's session ended too: its login form again
        s.page.wait_for_url(f"{sso.provider}/authorize**")
        assert s.page.is_visible("#username")
        assert s.dialogs == [] and s.console_errors == []
    finally:
        s.context.close()


def test_a_user_whose_group_is_removed_is_refused_and_their_old_session_ends(browser: object, sso: Sso) -> None:
    old = Session(browser, sso.base, None, "oidc_removed_old")
    new = Session(browser, sso.base, None, "oidc_removed_new")
    try:
        _sso_sign_in(old, sso)
        assert EDITOR in old.page.inner_text("#who")
        session = next(c for c in old.context.cookies() if c["name"] == "ioc_session")
        sso.set_groups(EDITOR, ["staff"])  # the city's IT removes Lan from ioc-editors-skhcn
        _sso_sign_in(new, sso)
        assert new.page.inner_text("#signin-error").startswith("Tài khoản đăng nhập một lần của bạn không có quyền")
        assert not any(c["name"] == "ioc_session" for c in new.context.cookies())
        new.shot("refused")
        old.goto("/account")  # the old session is over: sent to sign in
        assert "/signin" in old.page.url and old.page.locator("#who").count() == 0
        with httpx.Client(base_url=sso.base, cookies={"ioc_session": session["value"]}) as c:
            assert c.get("/api/v1/me").status_code == 401
        log = sso.log.read_text()
        assert "mapping refused" in log and "no-rule-matched" in log
        sso.set_groups(EDITOR, ["ioc-editors-skhcn"])  # back in the group: let in again
        again = Session(browser, sso.base, None, "oidc_removed_again")
        try:
            _sso_sign_in(again, sso)
            assert "Biên tập viên" in again.page.inner_text("#who")
        finally:
            again.context.close()
    finally:
        old.context.close()
        new.context.close()


def test_a_replayed_callback_is_refused_and_local_accounts_still_sign_in(browser: object, sso: Sso) -> None:
    s = Session(browser, sso.base, None, "oidc_replay")
    try:
        callbacks: list[str] = []
        s.page.on("request", lambda r: callbacks.append(r.url) if "/signin/oidc/callback" in r.url else None)
        _sso_sign_in(s, sso)
        assert callbacks and "#who" and s.page.locator("#who").count() == 1
        s.context.clear_cookies()
        s.page.goto(callbacks[0])  # the same code and state again
        assert s.page.inner_text("#signin-error").startswith("Không xác minh được phản hồi")
        assert s.page.locator("#who").count() == 0
        s.sign_in("architect", PASSWORD)  # the catalog's own accounts keep working beside the provider
        assert "architect" in s.page.inner_text("#who")
    finally:
        s.context.close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("forged", "id-token-signature"), ("expired", "id-token-exp"), ("wrong-audience", "id-token-aud")],
)
def test_a_bad_id_token_from_the_provider_is_refused(browser: object, sso: Sso, mode: str, reason: str) -> None:
    sso.set(EDITOR, id_token_mode=mode)
    s = Session(browser, sso.base, None, f"oidc_bad_{mode}")
    try:
        _sso_sign_in(s, sso)
        assert s.page.inner_text("#signin-error").startswith("Không xác minh được phản hồi")
        assert s.page.locator("#who").count() == 0
        assert not any(c["name"] == "ioc_session" for c in s.context.cookies())
        assert f"door=oidc user=- client=127.0.0.1 reason={reason}" in sso.log.read_text()
    finally:
        sso.set(EDITOR, id_token_mode="")
        s.context.close()


def test_when_the_provider_is_down_the_page_says_so_and_local_accounts_still_sign_in(browser: object, sso: Sso) -> None:
    """Last in this module: it stops the provider."""
    _stop(sso.provider_proc)
    s = Session(browser, sso.base, None, "oidc_down")
    try:
        s.goto("/signin?lang=en")  # the page itself does not need the provider
        s.page.click("#signin-sso-go")
        s.page.wait_for_selector("#signin-error")
        assert s.page.url.startswith(sso.base)
        error = s.page.inner_text("#signin-error")
        assert "cannot be reached now" in error and "administrators can sign in with their local account" in error
        s.shot("provider-down")
        s.sign_in("architect", PASSWORD)
        assert "architect" in s.page.inner_text("#who")
        assert "provider down" in sso.log.read_text()
    finally:
        s.context.close()

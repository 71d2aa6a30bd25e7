"""The web UI's security and error handling over HTTP (no browser): cookies, CSRF, redirects, headers, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web.uitest import PASSWORD, build_catalog

from api.app import create_app
from catalog.settings import Settings
from catalog.store import CatalogStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    from catalog.store import open_store

    url = build_catalog(tmp_path_factory.mktemp("pages") / "catalog.db")
    s = open_store(url)
    yield s
    s.close()


def client(store: CatalogStore, https: bool = False, **settings: object) -> TestClient:
    app = create_app(Settings(demo=True, **settings), store=store)  # type: ignore[arg-type]
    return TestClient(app, base_url="https://testserver" if https else "http://testserver")


def csrf(c: TestClient, path: str = "/signin") -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get(path).text).group(1)  # type: ignore[union-attr]


def sign_in(c: TestClient, name: str, next_: str = "/") -> object:
    return c.post(
        "/signin", data={"csrf": csrf(c), "name": name, "password": PASSWORD, "next": next_}, follow_redirects=False
    )


def test_session_cookie_is_httponly_lax_and_secure_over_https(store: CatalogStore) -> None:
    with client(store, https=True) as c:
        r = sign_in(c, "architect")
        assert r.status_code == 303
        cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("ioc_session=")][0]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    with client(store) as c:
        cookie = [h for h in sign_in(c, "architect").headers.get_list("set-cookie") if h.startswith("ioc_session=")][0]
        assert "Secure" not in cookie


def test_forms_need_the_csrf_token(store: CatalogStore) -> None:
    with client(store) as c:
        r = c.post("/signin", data={"name": "architect", "password": PASSWORD})
        assert (
            r.status_code == 403
            and "Biểu mẫu đã hết hạn" in r.text
            and "ioc_session" not in r.headers.get("set-cookie", "")
        )
        r = c.post("/signin", data={"csrf": "0" * 64, "name": "architect", "password": PASSWORD})
        assert r.status_code == 403
        assert sign_in(c, "architect").status_code == 303
        token = csrf(c, "/new")
        assert c.post("/new", data={"kind": "system", "code": "x-1", "name_vi": "x"}).status_code == 403
        other = TestClient(c.app, base_url="http://testserver", cookies={"ioc_session": c.cookies["ioc_session"]})
        assert other.post("/new", data={"csrf": token, "kind": "system", "code": "x-1"}).status_code == 403
        assert store.find_entity("system:x-1") is None


def test_sign_in_redirects_only_inside_the_site(store: CatalogStore) -> None:
    with client(store) as c:
        assert sign_in(c, "auditor", "//evil.example/x").headers["location"] == "/"
        assert sign_in(c, "auditor", "https://evil.example/").headers["location"] == "/"
        assert sign_in(c, "auditor", "/changes").headers["location"] == "/changes"
        wrong = c.post("/signin", data={"csrf": csrf(c), "name": "auditor", "password": "not-it-at-all"})
        assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.text


def test_sign_in_required_when_anonymous_role_is_none(store: CatalogStore) -> None:
    with client(store, anonymous_role="none") as c:
        r = c.get("/entities/system:hcm-bao-cao", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/entities/system%3Ahcm-bao-cao"
        assert c.get("/search.json", params={"q": "ioc"}, follow_redirects=False).status_code == 303
    with client(store) as c:  # the default: anonymous visitors browse read-only
        assert c.get("/entities/system:hcm-bao-cao").status_code == 200
        r = c.get("/new")
        assert r.status_code == 403 and "Bạn không có quyền" in r.text
        assert c.get("/download/bundle.zip").status_code == 403


def test_pages_carry_security_headers_and_errors_are_pages(store: CatalogStore) -> None:
    with client(store) as c:
        r = c.get("/")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        svg = c.get("/download/diagram/context.svg", params={"ref": "system:hcm-bao-cao", "inline": 1})
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.headers["content-security-policy"].startswith("default-src 'none'")
        r = c.get("/entities/system:nope", params={"lang": "en"})
        assert r.status_code == 404 and "Not found" in r.text and "system:nope does not exist" in r.text
        r = c.get("/asof", params={"date": "30/06/2025", "lang": "en"})
        assert r.status_code == 422 and "is not a date YYYY-MM-DD" in r.text and "<html" in r.text
        assert c.get("/static/ui.css").status_code == 200
        assert c.get("/static/..%2Fapp.py").status_code == 404
        assert c.cookies.get("ioc_lang") == "en"  # ?lang=en above is remembered
        assert "Tìm trong danh mục" in c.get("/", params={"lang": "vi"}).text and c.cookies.get("ioc_lang") == "vi"


def test_a_stale_edit_is_refused_not_overwritten(store: CatalogStore) -> None:
    with client(store) as c:
        sign_in(c, "editor-skhcn")
        page = c.get("/entities/system:hcm-cong-1022/edit").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
        current = store.get_entity("system:hcm-cong-1022")
        r = c.post(
            "/entities/system:hcm-cong-1022/edit",
            data={
                "csrf": token,
                "version": str(current.version - 1 if current.version > 1 else 999),
                "name_vi": "Tên mới",
                "owner": "organization:hcm-skhcn",
                "attr_lifecycle": "production",
            },
        )
        assert r.status_code == 409 and "Có người khác vừa sửa mục này" in r.text
        assert store.get_entity("system:hcm-cong-1022").name.vi == current.name.vi


def _form_values(html: str) -> dict[str, str]:
    """What a browser would submit from the edit form as rendered (text inputs, selected options, textareas)."""
    import html as html_lib

    values = {
        m.group(1): html_lib.unescape(m.group(2))
        for m in re.finditer(r'<input type="(?:hidden|text|date)"[^>]*? name="([^"]+)" value="([^"]*)"', html)
    }
    for m in re.finditer(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', m.group(2))
        values[m.group(1)] = chosen.group(1) if chosen else ""
    for m in re.finditer(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[m.group(1)] = html_lib.unescape(m.group(2))
    return values


def test_editing_a_system_of_a_merged_department_keeps_its_owner(store: CatalogStore) -> None:
    """District 1 was merged away in the sample: its camera system still belongs to it until an event moves it, so
    the form must offer that owner and saving another field must not lose it."""
    before = store.get_entity("system:hcm-quan-1-camera")
    assert before.owner == "organization:hcm-quan1"
    with client(store) as c:
        sign_in(c, "architect")
        values = _form_values(c.get("/entities/system:hcm-quan-1-camera/edit").text)
        assert values["owner"] == "organization:hcm-quan1"
        r = c.post(
            "/entities/system:hcm-quan-1-camera/edit",
            data={**values, "attr_vendor": "Nhà thầu mới"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:2000]
    after = store.get_entity("system:hcm-quan-1-camera")
    assert after.attributes["vendor"] == "Nhà thầu mới" and after.owner_history == before.owner_history
    assert {k: v for k, v in after.attributes.items() if k != "vendor"} == {
        k: v for k, v in before.attributes.items() if k != "vendor"
    }
    assert (after.name, after.description, after.tags, after.valid_from, after.valid_to) == (
        before.name,
        before.description,
        before.tags,
        before.valid_from,
        before.valid_to,
    )  # the form round-trips


def test_allowed_values_read_as_labels_in_the_users_language(store: CatalogStore) -> None:
    with client(store) as c:
        vi = c.get("/entities/system:hcm-bao-cao").text
        en = c.get("/entities/system:hcm-bao-cao", params={"lang": "en"}).text
        assert "<td>Đang vận hành</td>" in vi and "<td>In production</td>" in en
        sign_in(c, "architect")
        form = c.get("/entities/system:hcm-bao-cao/edit", params={"lang": "vi"}).text
        assert '<option value="production" selected>Đang vận hành</option>' in form


def test_compliance_page_on_a_valid_on_date(store: CatalogStore) -> None:
    """The compliance page checks the catalog as the world stood on a valid-on date: before the 2025 mergers the
    merged departments still stand, so the findings differ from today's; its links and downloads keep the date."""
    with client(store) as c:
        sign_in(c, "auditor")
        today = c.get("/compliance", params={"lang": "en"})
        past = c.get("/compliance", params={"lang": "en", "valid_on": "2025-02-01"})
        assert today.status_code == past.status_code == 200
        assert 'id="valid_on" name="valid_on" value="2025-02-01"' in past.text
        assert (
            "valid_on=2025-02-01" in past.text
            and "/download/compliance.csv?lang=en&amp;valid_on=2025-02-01" in past.text
        )
        counts = [re.search(r"Checked on [^·]*· ([\d,]+) finding", r.text) for r in (today, past)]
        assert all(counts) and counts[0].group(1) != counts[1].group(1)  # type: ignore[union-attr]
        bad = c.get("/compliance", params={"lang": "en", "valid_on": "30/06/2025"})
        assert bad.status_code == 422 and "is not a date YYYY-MM-DD" in bad.text


def test_compliance_page_as_recorded_at_a_day(store: CatalogStore) -> None:
    today = store.clock().date().isoformat()
    with client(store) as c:
        now = c.get("/compliance", params={"lang": "en"})
        rec = c.get("/compliance", params={"lang": "en", "recorded_at": today})
        assert rec.status_code == 200 and 'id="recorded_at" name="recorded_at" value="' + today in rec.text
        assert "as recorded at" in rec.text and f"recorded_at={today}" in rec.text  # kept in the links and downloads
        count = re.compile(r"(\d+) findings?")
        assert count.search(rec.text).group(1) == count.search(now.text).group(1)  # nothing recorded since
        before = c.get("/compliance", params={"lang": "en", "recorded_at": "2000-01-01"})
        assert before.status_code in (404, 422) and "recorded" in before.text and "Traceback" not in before.text
